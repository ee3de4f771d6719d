"""Static checks of chapters 6 and 8 (no execution: the chapters train for tens of seconds).

* They share one copy-task protocol; chapter 6 says chapter 8 runs "exactly this protocol". The
  settings that define it (hidden size, batch size, seeds, learning rate, budget, scoring
  interval, delay, held-out sequences) must be the same in both, so that editing one chapter
  without the other fails here instead of silently breaking the cross-reference.
* Figures fit a phone (at most 6.5 in wide, no text below 10 pt), every assert says what it
  claims, and no caption or alt text (static YAML, written before the run) states an outcome of
  a training run: those belong in glued text.
"""
import ast
import re
from pathlib import Path

import jupytext
import pytest

BOOK = Path(__file__).resolve().parents[2] / "book"
CHAPTERS = ["06-vanishing-exploding.md", "08-lstm.md"]


def _code(name: str) -> str:
    notebook = jupytext.read(BOOK / name)
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


@pytest.fixture(scope="module")
def chapters():
    return _code("06-vanishing-exploding.md"), _code("08-lstm.md")


def _one(pattern: str, text: str, what: str) -> str:
    found = re.findall(pattern, text)
    assert len(set(found)) == 1, f"expected one value for {what}, found {found}"
    return found[0]


def test_sizes_and_seeds_agree(chapters):
    ch6, ch8 = chapters
    six = _one(r"n_symbols, H_copy, batch_copy, SEEDS = (\d+), (\d+), (\d+), (range\(\d+\))", ch6, "ch6 sizes")
    eight = _one(r"N_SYMBOLS, DELAY, H_copy, BATCH, SEEDS = (\d+), \d+, (\d+), (\d+), (range\(\d+\))", ch8, "ch8 sizes")
    assert six == eight, f"(symbols, H, batch, seeds): chapter 6 {six}, chapter 8 {eight}"
    assert six[3] == "range(10)", "ten seeds per arm, the same in both chapters"


def test_training_settings_agree(chapters):
    ch6, ch8 = chapters
    # chapter 6's defaults of train_on_copy_task and chapter 8's call of rk.train_until_solved
    six = _one(r'def train_on_copy_task\(cell, delay, \*, init="uniform", lr=([\de.-]+), k=None, '
               r'steps=(\d+), every=(\d+)\)', ch6, "ch6 protocol")
    eight = _one(r"recall_accuracy, steps=(\d+), every=(\d+), lr=([\de.-]+)", ch8, "ch8 protocol")
    assert (float(six[0]), six[1], six[2]) == (float(eight[2]), eight[0], eight[1]), \
        f"(lr, steps, every): chapter 6 {six}, chapter 8 {eight}"
    # both leave train_until_solved's clipping at its default, norm 1
    trainer6 = re.search(r"def train_on_copy_task\(.*?\n\n\n", ch6, re.S).group(0)
    trainer8 = re.search(r"def train_on_copy_task\(.*?\n\n\n", ch8, re.S).group(0)
    assert "max_norm" not in trainer6 and "max_norm" not in trainer8


def test_delay_and_held_out_sequences_agree(chapters):
    ch6, ch8 = chapters
    delay6 = _one(r"\nDELAY = (\d+)", "\n" + ch6, "ch6 delay")
    delay8 = _one(r"N_SYMBOLS, DELAY, H_copy, BATCH, SEEDS = \d+, (\d+),", ch8, "ch8 delay")
    assert delay6 == delay8
    held6 = _one(r"rk\.copy_task\(np\.random\.default_rng\((\d+)\), (\d+), length=1", ch6, "ch6 held-out")
    held8 = _one(r"rk\.copy_task\(np\.random\.default_rng\((\d+)\), (\d+), length=1", ch8, "ch8 held-out")
    assert held6 == held8, f"held-out sequences (rng seed, count): chapter 6 {held6}, chapter 8 {held8}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_figures_fit_a_phone_and_asserts_say_what_they_claim(name):
    for cell in jupytext.read(BOOK / name).cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
        for width in re.findall(r"figsize=\(\s*([0-9.]+)\s*,", source):
            assert float(width) <= 6.5, f"{name}: a figure {width} in wide"
        for size in re.findall(r"fontsize=([0-9.]+)", source):
            assert float(size) >= 10, f"{name}: text at {size} pt"
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Assert):
                assert node.msg is not None, f"{name}: bare {ast.get_source_segment(source, node)!r}"


# Words that report how a training run went ("solves 2 of 5", "reach 1 at steps 600 and 800").
_COUNT = r"(\d+|none|one|two|three|four|five|six|seven|eight|nine|ten|all)"
OUTCOME = re.compile(rf"\b{_COUNT} of (the )?(five|ten|\d+)\b|\b(at|by) steps? \d+", re.I)


@pytest.mark.parametrize("name", CHAPTERS)
def test_captions_and_alt_texts_state_no_run_outcome(name):
    for cell in jupytext.read(BOOK / name).cells:
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        texts = [figure.get("caption", ""), cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")]
        for text in texts:
            found = OUTCOME.search(text)
            assert found is None, f"{name}, figure {figure.get('name')}: {found.group(0)!r} in a caption or alt text"
