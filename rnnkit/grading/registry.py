"""Which checks grade which assignment: one specification module of :mod:`rnnkit.grading.assignments` per
assignment."""
from __future__ import annotations

import importlib
from types import ModuleType

#: assignment id -> module of rnnkit.grading.assignments that holds its ``CHECKS`` and sandbox allowances.
MODULES = {
    "a1-recurrence": "a1_recurrence",
    "a2-forward-loss": "a2_forward_loss",
    "a3-bptt": "a3_bptt",
    "a4-gradients-over-time": "a4_gradients_over_time",
    "a5-teacher-forcing": "a5_teacher_forcing",
    "a6-lstm": "a6_lstm",
    "a7-char-lm": "a7_char_lm",
}


def module_for(assignment: str) -> ModuleType:
    """The grading module of ``assignment`` (a clear error for an unknown one)."""
    try:
        name = MODULES[assignment]
    except KeyError:
        raise KeyError(f"no checks for assignment {assignment!r}; known: {', '.join(MODULES)}") from None
    return importlib.import_module(f"rnnkit.grading.assignments.{name}")


def checks_for(assignment: str) -> dict:
    """``grade_id -> Check`` for every hidden test cell of ``assignment``."""
    return dict(module_for(assignment).CHECKS)


def find_check(grade_id: str):
    """The check of a hidden test cell, whichever assignment it belongs to (grade_ids are unique)."""
    for assignment in MODULES:
        checks = checks_for(assignment)
        if grade_id in checks:
            return checks[grade_id]
    raise KeyError(f"no check has grade_id {grade_id!r}")
