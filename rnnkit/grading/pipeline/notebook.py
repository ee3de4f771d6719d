"""What the grading steps share: the pipeline's state in nbconvert's resources, and how a cell of an
nbgrader notebook is recognised (solution, hidden test, visible test)."""
from __future__ import annotations

import re

from nbgrader.coursedir import CourseDirectory


#: Key of this pipeline's data in nbconvert's ``resources``.
KEY = "rnnkit_grading"


def nbgrader_meta(cell) -> dict:
    """The cell's nbgrader metadata (``{}`` when it has none)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_solution(cell) -> bool:
    """A code cell the learner writes (nbgrader ``solution``)."""
    return bool(nbgrader_meta(cell).get("solution")) and cell.get("cell_type") == "code"


def is_hidden_test(cell) -> bool:
    """A graded code cell with points: a hidden test, run in the sandbox."""
    m = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and float(m.get("points", 0) or 0) > 0 \
        and not m.get("solution")


def is_visible_test(cell) -> bool:
    """A graded code cell without points: a visible test, not run when grading."""
    m = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and not is_hidden_test(cell) \
        and not m.get("solution")


def defined_functions(source: str) -> set[str]:
    """Names of the top-level functions ``source`` defines."""
    return set(re.findall(r"^def\s+([A-Za-z_]\w*)\s*\(", source, flags=re.M))


def course_directory(config) -> CourseDirectory:
    """nbgrader's course directory for ``config``."""
    return CourseDirectory(config=config)


def pipeline_state(resources) -> dict:
    """This pipeline's data in nbconvert's ``resources`` (created on first use)."""
    return resources.setdefault(KEY, {"notes": [], "cell_notes": {}, "events": {}, "cases": {}, "verdicts": {}})
