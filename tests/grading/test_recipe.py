"""The instructor guide's recipe *Adding a graded function* (book/instructor-guide.md) is true.

Its Python code blocks are run as written: the first is the specification, saved as a new module of a
temporary assignment package whose ``__init__`` is the two lines every assignment ends with; the second is the
bug-table rows, whose graders (``by_id``) reach the new cell through ``rnnkit.grading.registry``. Each valid row
must get full marks and each buggy row must fail with its text, on three seeds.

It fails when the recipe stops being true: a field or name of the engine's API that the recipe uses is renamed or
removed (the block raises), ``checks_in`` no longer finds a spec in a new module without registering it, the
sandbox's withheld names miss the spec's, a row's diagnosis is no longer named, a function that writes into an
argument but returns right values loses points, the printed grading seed does not replay the same verdict, or
the section loses its code blocks.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from grading_bugs import by_id
from rnnkit.grading import registry

GUIDE = Path(__file__).resolve().parents[2] / "book" / "instructor-guide.md"


def recipe_blocks() -> list[str]:
    text = GUIDE.read_text()
    section = text[text.index("## Adding a graded function"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.fixture
def toy_assignment(tmp_path, monkeypatch):
    """A temporary assignment package holding only the recipe's specification, known to the registry."""
    spec, _ = recipe_blocks()
    package = tmp_path / "toy_assignment"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from rnnkit.grading.engine import checks_in, withheld_by\n"
        "CHECKS = checks_in(__name__)\nSANDBOX_EXPORTS = ()\nSANDBOX_WITHHELD = withheld_by(CHECKS)\n")
    (package / "relu_step.py").write_text(spec)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [n for n in sys.modules if n.startswith("toy_assignment")]:
        monkeypatch.delitem(sys.modules, name)
    import toy_assignment
    monkeypatch.setitem(sys.modules, "rnnkit.grading.assignments.toy_assignment", toy_assignment)
    monkeypatch.setitem(registry.MODULES, "toy-assignment", "toy_assignment")
    return toy_assignment


def test_the_recipe_has_its_code_blocks():
    assert len(recipe_blocks()) == 2


def test_a_new_spec_module_is_found_without_registering_it(toy_assignment):
    assert list(toy_assignment.CHECKS) == ["test_relu_step_forward"]
    assert toy_assignment.SANDBOX_WITHHELD == ("relu_rnn_step_forward",)
    assert registry.find_check("test_relu_step_forward") is toy_assignment.CHECKS["test_relu_step_forward"]


@pytest.mark.parametrize("seed", range(3))
def test_the_recipes_rows_keep_their_verdicts(toy_assignment, seed):
    _, rows = recipe_blocks()
    namespace = {"np": np, "by_id": by_id}
    exec(compile(rows, "recipe rows", "exec"), namespace)
    assert len(namespace["CASES"]) >= 3
    for grader, label, fn, expected in namespace["CASES"]:
        verdict = grader(fn, rng=np.random.default_rng(seed))
        if expected is None:
            assert verdict.passed, f"{label}: {verdict.message}"
        else:
            assert not verdict.passed and expected in verdict.message, f"{label}: {verdict.message}"
        if label.startswith("writes into"):
            assert "modified its argument(s) b in place. That costs no points" in verdict.message, verdict.message


def test_the_printed_seed_replays_the_verdict(toy_assignment):
    _, rows = recipe_blocks()
    namespace = {"np": np, "by_id": by_id}
    exec(compile(rows, "recipe rows", "exec"), namespace)
    check = registry.find_check("test_relu_step_forward")
    first = check.grade(namespace["relu_missing"])
    seed = int(re.search(r"Grading seed (\d+)", first.message).group(1))
    assert check.grade(namespace["relu_missing"], seed=seed).message == first.message
