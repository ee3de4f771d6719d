"""Every buggy implementation loses its points with its named diagnosis; every valid one gets them.

Runs the checks of rnnkit.grading directly (no notebook, no nbgrader): fast.
Each case runs on three different generator seeds, so a diagnosis that only
works for some sizes would show up.
"""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from rnnkit.grading import Verdict
from grading_bugs import CASES

SEEDS = [0, 1, 2]


@pytest.mark.parametrize("grader, label, fn, expected", CASES,
                         ids=[f"{getattr(g, '__name__', getattr(getattr(g, 'func', None), '__name__', 'grade'))}"
                              f"-{label}" for g, label, _, _ in CASES])
@pytest.mark.parametrize("seed", SEEDS)
def test_case(grader, label, fn, expected, seed):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        verdict = grader(fn, rng=np.random.default_rng(seed))
    assert isinstance(verdict, Verdict)
    assert err.getvalue() == "", f"a check wrote to stderr: {err.getvalue()!r}"
    if expected is None:
        assert verdict.passed is True, f"valid implementation '{label}' failed:\n{verdict.message}"
    else:
        assert verdict.passed is False, f"buggy implementation '{label}' passed"
        assert expected in verdict.message, f"'{label}': diagnosis {expected!r} missing from:\n{verdict.message}"


def test_table_size():
    """The table covers every graded function with bugs and valid alternatives."""
    valid = sum(1 for c in CASES if c[3] is None)
    buggy = len(CASES) - valid
    assert valid >= 10 and buggy >= 40, (valid, buggy)


@pytest.mark.parametrize("seed", range(5))
def test_jacobian_reference_matches_central_differences(seed):
    """The product the Jacobian check uses as ground truth agrees with central differences."""
    import rnnkit
    from rnnkit.grading.gradients import _jacobian, numerical_jacobian
    rng = np.random.default_rng(seed)
    T, B, D, H = 5, 3, 2, 4
    X, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    Wx, Ws, b = rng.standard_normal((H, D)), rng.standard_normal((H, H)), rng.standard_normal(H)
    Hs, _ = rnnkit.rnn_forward(X, h0, Wx, Ws, b)
    for t in range(T + 1):
        num = numerical_jacobian(X, h0 if t == 0 else Hs[t - 1], Wx, Ws, b, t)
        # central differences with eps=1e-6 on O(1) states: absolute error ~1e-9
        assert np.max(np.abs(_jacobian(Hs, Ws, t) - num)) < 1e-7, t
