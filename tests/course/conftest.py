"""The course tier: the book build, the notebooks and real nbgrader runs (minutes each).

Every test collected under this folder is marked ``slow``, so ``pytest -m "not slow"`` leaves the
whole tier out even when it is named on the command line; ``make test-fast`` does not collect it at all.
"""
from pathlib import Path

import pytest

COURSE_TIER = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    # A conftest's hook sees every collected item, not only this folder's: select by path.
    for item in items:
        if COURSE_TIER in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.slow)
