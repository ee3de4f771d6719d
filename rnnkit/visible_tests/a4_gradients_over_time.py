"""The visible tests of a4-gradients-over-time: what each visible test cell checks, on small fixed examples.

Each function returns the problems it finds (an empty list: the tests pass). Its parameters are the
notebook functions it runs, found by name in the notebook; :func:`rnnkit.selfcheck.check` runs it
together with the hidden tests' checks of the same function."""
from __future__ import annotations

import numpy as np

import rnnkit

from . import visible

ASSIGNMENT = "a4-gradients-over-time"

#: grade_id -> points of every hidden test cell, in notebook order (tests/grading/test_visible_tests.py
#: checks this table against the notebook's nbgrader metadata).
POINTS = {"test_jacobian_to_last": 3, "test_clip_by_value": 1, "test_clip_by_global_norm": 2, "test_tbptt_backward": 3}


@visible("jacobian_to_last", 't = T gives the identity; one step back gives diag(1 - h(T)^2) Ws; and the whole product against finite differences on a small example.')
def jacobian_to_last_tests(jacobian_to_last):
    rng = np.random.default_rng(0)
    T, B, D, H = 4, 2, 3, 5
    X, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    Wx, Ws, b = rng.standard_normal((H, D)), rng.standard_normal((H, H)) / 2, rng.standard_normal(H)
    Hs, _ = rnnkit.rnn_forward(X, h0, Wx, Ws, b)
    problems = []
    J = jacobian_to_last(Hs, Ws, T)
    if np.shape(J) != (B, H, H):
        problems.append(f"J has shape {np.shape(J)}, expected (B, H, H) = {(B, H, H)}")
    else:
        if not np.allclose(J, np.eye(H)):
            problems.append("for t = T the Jacobian is the identity")
        J = jacobian_to_last(Hs, Ws, T - 1)
        if not np.allclose(J[0], np.diag(1 - Hs[-1, 0] ** 2) @ Ws):
            problems.append("one step back (t = T - 1), J[b] is diag(1 - h(T)^2) Ws")
        J = jacobian_to_last(Hs, Ws, 1)
        eps, j = 1e-6, 2
        h_plus, h_minus = Hs[0].copy(), Hs[0].copy()
        h_plus[:, j] += eps
        h_minus[:, j] -= eps
        last = lambda h: rnnkit.rnn_forward(X[1:], h, Wx, Ws, b)[0][-1]
        column = (last(h_plus) - last(h_minus)) / (2 * eps)
        if not np.allclose(J[:, :, j], column, atol=1e-6):
            problems.append(f"for t = 1, column j = {j} of J must match finite differences")
    return problems


@visible("clip_by_value", 'every entry clipped into [-1, 1], the input left as it was.')
def clip_by_value_tests(clip_by_value):
    grads = {"W": np.array([[3.0, -0.5], [-4.0, 1.0]]), "b": np.array([0.2, -2.0])}
    out = clip_by_value(grads, 1.0)
    problems = []
    if not isinstance(out, dict) or set(out) != {"W", "b"}:
        problems.append(f"expected a dict with the input's keys W and b, got {type(out).__name__} "
                        f"{sorted(out) if isinstance(out, dict) else ''}")
    else:
        if np.shape(out["W"]) != (2, 2) or not np.allclose(out["W"], [[1.0, -0.5], [-1.0, 1.0]]):
            problems.append(f"W clipped into [-1, 1] is [[1, -0.5], [-1, 1]], got {out['W']}")
        if np.shape(out["b"]) != (2,) or not np.allclose(out["b"], [0.2, -1.0]):
            problems.append(f"b clipped into [-1, 1] is [0.2, -1], got {out['b']}")
    if grads["W"][0, 0] != 3.0 or grads["b"][1] != -2.0:
        problems.append("the input must not be modified")
    return problems


@visible("clip_by_global_norm", 'a 3-4-12 example, global norm 13.')
def clip_by_global_norm_tests(clip_by_global_norm):
    grads = {"a": np.array([3.0, 4.0]), "b": np.array([[12.0]])}
    problems = []
    clipped, norm = clip_by_global_norm(grads, 6.5)
    if not np.isclose(norm, 13.0):
        problems.append(f"norm = {norm}, expected sqrt(9 + 16 + 144) = 13")
    if not (np.shape(clipped["a"]) == (2,) and np.allclose(clipped["a"], [1.5, 2.0])
            and np.shape(clipped["b"]) == (1, 1) and np.allclose(clipped["b"], [[6.0]])):
        problems.append(f"above the threshold every array is scaled by 6.5 / 13: expected a = [1.5, 2], b = [[6]], "
                        f"got {clipped}")
    clipped, norm = clip_by_global_norm(grads, 100.0)
    if not (np.allclose(clipped["a"], [3.0, 4.0]) and np.allclose(clipped["b"], [[12.0]])):
        problems.append(f"below the threshold nothing changes, got {clipped}")
    if grads["a"][0] != 3.0 or grads["b"][0, 0] != 12.0:
        problems.append("the input must not be modified")
    return problems


@visible("tbptt_backward", 'with k >= T nothing is cut (full BPTT); with k = 1 nothing is carried.')
def tbptt_backward_tests(tbptt_backward):
    rng = np.random.default_rng(1)
    T, B, D, H = 5, 2, 3, 4
    X, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    Wx, Ws, b = rng.standard_normal((H, D)), rng.standard_normal((H, H)) / 2, rng.standard_normal(H)
    dHs = rng.standard_normal((T, B, H))
    Hs, ref_cache = rnnkit.rnn_forward(X, h0, Wx, Ws, b)
    cache = (X, h0, Hs, Wx, Ws)
    problems = []
    dX, dWx, dWs, db = tbptt_backward(dHs, cache, T)
    full = rnnkit.rnn_backward(dHs, ref_cache)
    for name, got, want in zip(["dX", "dWx", "dWs", "db"], [dX, dWx, dWs, db], [full[0], full[2], full[3], full[4]]):
        if np.shape(got) != np.shape(want):
            problems.append(f"{name} has shape {np.shape(got)}, expected {np.shape(want)}")
        elif not np.allclose(got, want):
            problems.append(f"with k >= T, {name} must equal full BPTT")
    dX, dWx, dWs, db = tbptt_backward(dHs, cache, 1)
    delta = dHs * (1 - Hs ** 2)
    if np.shape(db) != (H,) or not np.allclose(db, delta.sum(axis=(0, 1))):
        problems.append("with k = 1 each step only sees its own dHs[t]: db = the sum of dHs[t] * (1 - h(t)^2)")
    return problems
