"""No module of rnnkit/ is longer than a maintainer can read in one sitting (issue 12: about 450 lines).

A module that grows past the limit is split along a real seam (see rnnkit/grading/a6_lstm/ for the
shape: cases, variants, probes, checks), not trimmed of its comments.
"""
from __future__ import annotations

from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rnnkit"
MAX_LINES = 450
MODULES = sorted(PACKAGE.rglob("*.py"))


def test_the_package_is_found():
    assert len(MODULES) > 20 and (PACKAGE / "casefile.py") in MODULES


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_module_is_at_most_450_lines(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"rnnkit/{path.relative_to(PACKAGE)} has {n} lines (at most {MAX_LINES}): split it"
