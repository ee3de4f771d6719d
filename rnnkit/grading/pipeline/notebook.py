"""What the grading steps share: the pipeline's state in nbconvert's resources, and how a cell of an
nbgrader notebook is recognised (solution, hidden test, visible test)."""
from __future__ import annotations

import re

from nbgrader.coursedir import CourseDirectory


#: Key of this pipeline's data in nbconvert's ``resources``.
KEY = "rnnkit_grading"


def _nb_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_solution(cell) -> bool:
    return bool(_nb_meta(cell).get("solution")) and cell.get("cell_type") == "code"


def _is_hidden_test(cell) -> bool:
    m = _nb_meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and float(m.get("points", 0) or 0) > 0 \
        and not m.get("solution")


def _is_visible_test(cell) -> bool:
    m = _nb_meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and not _is_hidden_test(cell) \
        and not m.get("solution")


def _defined_functions(source: str) -> set[str]:
    return set(re.findall(r"^def\s+([A-Za-z_]\w*)\s*\(", source, flags=re.M))


def _course(config) -> CourseDirectory:
    return CourseDirectory(config=config)


def _state(resources) -> dict:
    return resources.setdefault(KEY, {"notes": [], "cell_notes": {}, "events": {}, "cases": {}, "verdicts": {}})
