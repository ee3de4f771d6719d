"""The visible tests of the seven assignments: small fixed examples a learner can read, one module per assignment.

A visible test is a function decorated with :func:`visible`: its parameters are the notebook functions it runs
(found by name in the learner's notebook by :func:`rnnkit.selfcheck.check`), and it returns the problems it
finds as sentences (an empty list: it passes). Each module also holds ``POINTS``, the points of every hidden
test cell of its notebook (checked against the notebook's nbgrader metadata by tests/grading/test_visible_tests.py).
Nothing here imports rnnkit's grading code: these modules load quickly in a learner's kernel.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Callable

import numpy as np

from ..gradcheck import numerical_gradient

#: assignment -> its module here (the same names as rnnkit.grading.registry.MODULES, checked by a test).
MODULES = {
    "a1-recurrence": "a1_recurrence",
    "a2-forward-loss": "a2_forward_loss",
    "a3-bptt": "a3_bptt",
    "a4-gradients-over-time": "a4_gradients_over_time",
    "a5-teacher-forcing": "a5_teacher_forcing",
    "a6-lstm": "a6_lstm",
    "a7-char-lm": "a7_char_lm",
}

__all__ = ["MODULES", "gradient_problems", "module_of", "tests_of", "visible"]


def visible(function: str, what: str) -> Callable:
    """Mark a visible test of the notebook function ``function``; ``what`` says in one line what it checks."""
    def mark(test: Callable) -> Callable:
        test.function, test.what = function, what
        return test
    return mark


def module_of(assignment: str) -> ModuleType:
    """The module of ``assignment``'s visible tests (a clear error for an unknown assignment)."""
    if assignment not in MODULES:
        raise KeyError(f"no visible tests for assignment {assignment!r}; known: {', '.join(MODULES)}")
    return importlib.import_module(f"{__name__}.{MODULES[assignment]}")


def tests_of(assignment: str) -> dict:
    """notebook function name -> its visible test, in notebook order."""
    module = module_of(assignment)
    return {t.function: t for t in vars(module).values() if callable(t) and hasattr(t, "what")}


def gradient_problems(loss: Callable[[], float], names, grads, inputs) -> list:
    """The problems of a learner's gradients ``grads`` of ``loss()`` with respect to ``inputs`` (named
    ``names``): a shape unlike its input's, or a relative error above 1e-6 against central differences.

    On these small float64 examples central differences agree with a correct gradient to ~1e-9 relative;
    the classic mistakes are off by 1e-2 or more, so 1e-6 separates them with a wide margin both ways.
    """
    problems = []
    for name, grad, inp in zip(names, grads, inputs):
        if np.shape(grad) != inp.shape:
            problems.append(f"{name} has shape {np.shape(grad)}, expected {inp.shape}")
            continue
        num = numerical_gradient(loss, inp)
        err = np.max(np.abs(grad - num)) / max(np.max(np.abs(num)), 1e-8)
        if not err < 1e-6:
            problems.append(f"{name} differs from central differences (relative error {err:.1e})")
    return problems
