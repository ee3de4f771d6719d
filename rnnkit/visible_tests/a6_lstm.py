"""The visible tests of a6-lstm: what each visible test cell checks, on small fixed examples.

Each function returns the problems it finds (an empty list: the tests pass). Its parameters are the
notebook functions it runs, found by name in the notebook; :func:`rnnkit.selfcheck.check` runs it
together with the hidden tests' checks of the same function."""
from __future__ import annotations

import numpy as np

from rnnkit import sigmoid

from . import gradient_problems, visible

ASSIGNMENT = "a6-lstm"

#: grade_id -> points of every hidden test cell, in notebook order (tests/grading/test_visible_tests.py
#: checks this table against the notebook's nbgrader metadata).
POINTS = {"test_lstm_step_forward": 2, "test_lstm_step_backward": 4, "test_lstm_forward": 2, "test_lstm_backward_parameters": 3, "test_lstm_backward_inputs": 2}


@visible("lstm_step_forward", 'shapes, and a case worked out by hand (all weights zero: every gate is sigmoid(b)).')
def lstm_step_forward_tests(lstm_step_forward):
    problems = []
    B, D, H = 2, 3, 4
    x, h_prev, c_prev = np.ones((B, D)), np.zeros((B, H)), np.full((B, H), 2.0)
    W = np.zeros((4 * H, H + D))
    b = np.concatenate([np.zeros(H), np.full(H, 100.0), np.zeros(H), np.zeros(H)])  # forget gate wide open
    h, c, cache = lstm_step_forward(x, h_prev, c_prev, W, b)
    # i = o = 0.5, f = 1, g = tanh(0) = 0  =>  c = c_prev = 2 and h = 0.5 * tanh(2)
    if np.shape(c) != (B, H):
        problems.append(f"c has shape {np.shape(c)}, expected (B, H) = {(B, H)}")
    elif not np.allclose(c, 2.0):
        problems.append(f"c = {c[0, 0]}, expected f * c_prev + i * g = 1 * 2 + 0.5 * 0 = 2")
    if np.shape(h) != (B, H):
        problems.append(f"h has shape {np.shape(h)}, expected (B, H) = {(B, H)}")
    elif not np.allclose(h, 0.5 * np.tanh(2.0)):
        problems.append(f"h = {h[0, 0]}, expected o * tanh(c) = 0.5 * tanh(2) = {0.5 * np.tanh(2.0)}")
    return problems


@visible("lstm_step_backward", 'shapes, then every gradient against central differences of your own forward step.')
def lstm_step_backward_tests(lstm_step_forward, lstm_step_backward):
    rng = np.random.default_rng(1)
    B, D, H = 2, 3, 4
    x, h_prev, c_prev = rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    W, b = rng.standard_normal((4 * H, H + D)) / 2, rng.standard_normal(4 * H) / 2
    dh, dc = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    h, c, cache = lstm_step_forward(x, h_prev, c_prev, W, b)
    grads = lstm_step_backward(dh, dc, cache)
    names, inputs = ["dx", "dh_prev", "dc_prev", "dW", "db"], [x, h_prev, c_prev, W, b]

    def loss():
        h, c, _ = lstm_step_forward(x, h_prev, c_prev, W, b)
        return np.sum(h * dh) + np.sum(c * dc)

    return gradient_problems(loss, names, grads, inputs)


@visible("lstm_forward", 'shape, and the first two steps against your step function.')
def lstm_forward_tests(lstm_step_forward, lstm_forward):
    problems = []
    rng = np.random.default_rng(2)
    T, B, D, H = 4, 2, 3, 5
    X, h0, c0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    W, b = rng.standard_normal((4 * H, H + D)) / 2, rng.standard_normal(4 * H) / 2
    Hs, caches = lstm_forward(X, h0, c0, W, b)
    if len(caches) != T:
        problems.append(f"expected {T} step caches, got {len(caches)}")
    if np.shape(Hs) != (T, B, H):
        problems.append(f"Hs has shape {np.shape(Hs)}, expected (T, B, H) = {(T, B, H)}")
    else:
        h1, c1, _ = lstm_step_forward(X[0], h0, c0, W, b)
        h2, c2, _ = lstm_step_forward(X[1], h1, c1, W, b)
        if not (np.allclose(Hs[0], h1) and np.allclose(Hs[1], h2)):
            problems.append("Hs[t] must be the state after reading X[t], carrying h and c")
    return problems


@visible("lstm_backward", 'shapes, then every gradient against central differences of your own lstm_forward.')
def lstm_backward_tests(lstm_forward, lstm_backward):
    rng = np.random.default_rng(3)
    T, B, D, H = 3, 2, 3, 4
    X, h0, c0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    W, b = rng.standard_normal((4 * H, H + D)) / 2, rng.standard_normal(4 * H) / 2
    dHs = rng.standard_normal((T, B, H))
    Hs, caches = lstm_forward(X, h0, c0, W, b)
    grads = lstm_backward(dHs, caches)
    names, inputs = ["dX", "dh0", "dc0", "dW", "db"], [X, h0, c0, W, b]

    def loss():
        return np.sum(lstm_forward(X, h0, c0, W, b)[0] * dHs)

    return gradient_problems(loss, names, grads, inputs)
