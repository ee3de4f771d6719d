"""Static checks of the code in chapters 1-5, 7, 9 and 10 (no execution, so they run in a second).

* Figures fit a phone: a figure made with ``figsize`` is at most 6.5 inches wide (the page width
  at which 10-point text stays readable when the page is scaled to a 390-pixel screen), and no
  text is set below 10 points.
* Every ``assert`` in a chapter carries a message that says what was claimed, so a failed build
  on another machine reports more than a bare ``AssertionError``.
"""
import ast
import re
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")

BOOK = Path(__file__).resolve().parents[2] / "book"
CHAPTERS = ["01", "02", "03", "04", "05", "07", "09", "10"]
MAX_WIDTH_IN, MIN_POINTS = 6.5, 10


def _code_cells(number):
    path, = BOOK.glob(f"{number}-*.md")
    for cell in jupytext.read(path).cells:
        if cell.cell_type == "code":
            yield "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))


@pytest.mark.parametrize("number", CHAPTERS)
def test_figures_fit_a_phone(number):
    for source in _code_cells(number):
        for width in re.findall(r"figsize=\(\s*([0-9.]+)\s*,", source):
            assert float(width) <= MAX_WIDTH_IN, f"chapter {number}: a figure {width} in wide"
        for size in re.findall(r"fontsize=([0-9.]+)", source):
            assert float(size) >= MIN_POINTS, f"chapter {number}: text at {size} pt"


@pytest.mark.parametrize("number", CHAPTERS)
def test_every_assert_says_what_it_claims(number):
    for source in _code_cells(number):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Assert):
                assert node.msg is not None, f"chapter {number}: bare {ast.get_source_segment(source, node)!r}"
