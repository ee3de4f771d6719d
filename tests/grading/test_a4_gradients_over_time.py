"""a4-gradients-over-time's specifications: their references against central differences, and every named
mistake visible on the cases the cell draws (a mistake no case can show could never be named)."""
from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from grading_bugs.numerical_backward import truncated_bptt_loss
from rnnkit.gradcheck import numerical_gradient
from rnnkit.grading.assignments.a4_gradients_over_time import clipping, jacobian, tbptt
from rnnkit.grading.engine import cases_of


def numerical_jacobian(X, h_t, Wx, Ws, b, t, eps=1e-6):
    """Central differences of h(T) with respect to h(t): steps t+1 ... T rerun from a perturbed h(t)."""
    B, H = h_t.shape

    def last(h):
        for k in range(t, X.shape[0]):
            h = np.tanh(X[k] @ Wx.T + h @ Ws.T + b)
        return h
    J = np.zeros((B, H, H))
    for j in range(H):
        step = np.zeros((B, H))
        step[:, j] = eps          # sequences are independent: perturb column j of every row at once
        J[:, :, j] = (last(h_t + step) - last(h_t - step)) / (2 * eps)
    return J


@pytest.mark.parametrize("seed", range(5))
def test_jacobian_reference_matches_central_differences(seed):
    """The reference the Jacobian cell uses (read from rnnkit.rnn_backward) agrees with central differences."""
    rng = np.random.default_rng(seed)
    T, B, D, H = 5, 3, 2, 4
    X, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    Wx, Ws, b = rng.standard_normal((H, D)), rng.standard_normal((H, H)), rng.standard_normal(H)
    Hs, _ = rnnkit.rnn_forward(X, h0, Wx, Ws, b)
    for t in range(T + 1):
        num = numerical_jacobian(X, h0 if t == 0 else Hs[t - 1], Wx, Ws, b, t)
        # central differences with eps=1e-6 on O(1) states: absolute error ~1e-9
        assert np.max(np.abs(jacobian.jacobian_to_last_reference(Hs, Ws, t) - num)) < 1e-7, t


def test_truncated_bptt_reference_matches_central_differences():
    """The exact gradients of the truncated-BPTT cell (its probe and large cases use them) agree with central
    differences of the sum of the chunks' losses."""
    rng = np.random.default_rng(11)
    T, B, D, H, k = 7, 2, 3, 4, 3
    X, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    Wx, Ws, b = rng.standard_normal((H, D)) / 2, rng.standard_normal((H, H)) / 2, rng.standard_normal(H)
    dHs = rng.standard_normal((T, B, H))
    Hs, _ = rnnkit.rnn_forward(X, h0, Wx, Ws, b)
    exact = tbptt.truncated_bptt(X, h0, Hs, Wx, Ws, dHs, k)
    for name, arr in (("dX", X), ("dWx", Wx), ("dWs", Ws), ("db", b)):
        num = numerical_gradient(lambda: truncated_bptt_loss(X, h0, Hs, Wx, Ws, b, dHs, k), arr, 1e-6)
        assert np.max(np.abs(exact[name] - num)) < 1e-7, name


def _differs(a, b) -> bool:
    if isinstance(a, dict):
        return any(_differs(a[key], b[key]) for key in a)
    return np.shape(a) != np.shape(b) or not np.allclose(a, b, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("spec", [jacobian.JACOBIAN_TO_LAST, clipping.CLIP_BY_VALUE, clipping.CLIP_BY_GLOBAL_NORM,
                                  tbptt.TBPTT_BACKWARD], ids=lambda s: s.function)
def test_every_mistake_shows_on_some_case(spec):
    """Each named mistake gives outputs other than the reference's on at least one of the cell's cases."""
    cases = cases_of(spec, np.random.default_rng(0))
    per_case = [spec.mistakes(c) if callable(spec.mistakes) else spec.mistakes for c in cases]
    for j, mistake in enumerate(per_case[0]):
        assert any(_differs(out, spec.reference(c)[name]) for c, mistakes in zip(cases, per_case)
                   for name, out in mistakes[j].outputs(c).items()), mistake.name
