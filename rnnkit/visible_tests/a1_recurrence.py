"""The visible tests of a1-recurrence: what each visible test cell checks, on small fixed examples.

Each function returns the problems it finds (an empty list: the tests pass). Its parameters are the
notebook functions it runs, found by name in the notebook; :func:`rnnkit.selfcheck.check` runs it
together with the hidden tests' checks of the same function."""
from __future__ import annotations

import numpy as np


from . import visible

ASSIGNMENT = "a1-recurrence"

#: grade_id -> points of every hidden test cell, in notebook order (tests/grading/test_visible_tests.py
#: checks this table against the notebook's nbgrader metadata).
POINTS = {"test_recurrence_step": 2, "test_unroll": 3, "test_rnn_parameter_count": 1}


@visible("recurrence_step", 'one value worked out by hand, and the shape for a batch.')
def recurrence_step_tests(recurrence_step):
    problems = []
    s = recurrence_step(np.array([[1.0]]), np.array([[2.0, -1.0]]), np.array([[0.5, 0.25]]), np.array([[-0.5]]),
                        np.array([0.25]))
    # a = 0.25 + (-0.5)(1.0) + 0.5*2.0 + 0.25*(-1.0) = 0.5
    if np.shape(s) != (1, 1):
        problems.append(f"s has shape {np.shape(s)}, expected (B, H) = (1, 1)")
    elif not np.isclose(s[0, 0], np.tanh(0.5)):
        problems.append(f"s = {s[0, 0]}, expected tanh(0.5) = {np.tanh(0.5)}")
    rng = np.random.default_rng(0)
    s = recurrence_step(rng.standard_normal((3, 5)), rng.standard_normal((3, 4)), rng.standard_normal((5, 4)),
                        rng.standard_normal((5, 5)), rng.standard_normal(5))
    if np.shape(s) != (3, 5):
        problems.append(f"s has shape {np.shape(s)}, expected (B, H) = (3, 5)")
    return problems


@visible("unroll", 'a counter as the transition (s_t = s_{t-1} + x_t gives running sums), then the tanh layer.')
def unroll_tests(recurrence_step, unroll):
    problems = []
    X = np.arange(1.0, 5.0).reshape(4, 1, 1)          # T=4, B=1, D=1: inputs 1, 2, 3, 4
    S = unroll(lambda s, x: s + x, X, np.zeros((1, 1)))
    if np.shape(S) != (4, 1, 1):
        problems.append(f"S has shape {np.shape(S)}, expected (T, B, H) = (4, 1, 1)")
    elif not np.allclose(np.ravel(S), [1, 3, 6, 10]):
        problems.append(f"running sums expected [1, 3, 6, 10], got {np.ravel(S)}")
    rng = np.random.default_rng(1)
    Wx, Ws, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 3)), rng.standard_normal(3)
    X, s0 = rng.standard_normal((5, 2, 2)), rng.standard_normal((2, 3))
    S = unroll(lambda s, x: recurrence_step(s, x, Wx, Ws, b), X, s0)
    if np.shape(S) != (5, 2, 3):
        problems.append(f"S has shape {np.shape(S)}, expected (T, B, H) = (5, 2, 3)")
    elif not np.allclose(S[1], recurrence_step(S[0], X[1], Wx, Ws, b)):
        problems.append("S[1] must come from S[0] and X[1]")
    return problems


@visible("rnn_parameter_count", 'a tiny network counted by hand, D=1, H=1, K=1: Wx, Ws, b, Wy, c are one number each.')
def rnn_parameter_count_tests(rnn_parameter_count):
    problems = []
    n = rnn_parameter_count(1, 1, 1)
    if n != 5:
        problems.append(f"rnn_parameter_count(1, 1, 1) returned {n}, expected 5")
    return problems
