"""The visible tests of a3-bptt: what each visible test cell checks, on small fixed examples.

Each function returns the problems it finds (an empty list: the tests pass). Its parameters are the
notebook functions it runs, found by name in the notebook; :func:`rnnkit.selfcheck.check` runs it
together with the hidden tests' checks of the same function."""
from __future__ import annotations

import numpy as np

from . import gradient_problems, visible

ASSIGNMENT = "a3-bptt"

#: grade_id -> points of every hidden test cell, in notebook order (tests/grading/test_visible_tests.py
#: checks this table against the notebook's nbgrader metadata).
POINTS = {"test_rnn_step_forward": 2, "test_rnn_step_backward": 3, "test_rnn_forward": 2, "test_rnn_backward_parameters": 3, "test_rnn_backward_inputs": 2, "test_output_backward": 2}


@visible("rnn_step_forward", 'shapes and one value worked out by hand.')
def rnn_step_forward_tests(rnn_step_forward):
    problems = []
    x = np.array([[1.0, 0.0]])            # B=1, D=2
    h_prev = np.array([[0.5]])            # H=1
    Wx = np.array([[0.2, -0.1]])
    Ws = np.array([[0.3]])
    b = np.array([0.1])
    h, cache = rnn_step_forward(x, h_prev, Wx, Ws, b)
    # a = 0.1 + 0.3*0.5 + 0.2*1.0 - 0.1*0.0 = 0.45
    if np.shape(h) != (1, 1):
        problems.append(f"h has shape {np.shape(h)}, expected (B, H) = (1, 1)")
    elif not np.isclose(h[0, 0], np.tanh(0.45)):
        problems.append(f"h = {h[0, 0]}, expected tanh(0.45) = {np.tanh(0.45)}")
    rng = np.random.default_rng(0)
    h, cache = rnn_step_forward(rng.standard_normal((3, 4)), rng.standard_normal((3, 5)),
                                rng.standard_normal((5, 4)), rng.standard_normal((5, 5)), rng.standard_normal(5))
    if np.shape(h) != (3, 5):
        problems.append(f"h has shape {np.shape(h)}, expected (B, H) = (3, 5)")
    return problems


@visible("rnn_step_backward", 'shapes, then your gradients against central differences of your own forward step.')
def rnn_step_backward_tests(rnn_step_forward, rnn_step_backward):
    rng = np.random.default_rng(1)
    B, D, H = 2, 3, 4
    x, h_prev = rng.standard_normal((B, D)), rng.standard_normal((B, H))
    Wx, Ws, b = rng.standard_normal((H, D)), rng.standard_normal((H, H)) / 2, rng.standard_normal(H)
    dh = rng.standard_normal((B, H))
    h, cache = rnn_step_forward(x, h_prev, Wx, Ws, b)
    grads = rnn_step_backward(dh, cache)
    names = ["dx", "dh_prev", "dWx", "dWs", "db"]
    inputs = [x, h_prev, Wx, Ws, b]

    def loss():
        return np.sum(rnn_step_forward(x, h_prev, Wx, Ws, b)[0] * dh)

    return gradient_problems(loss, names, grads, inputs)


@visible("rnn_forward", 'shape, the first step, and the recurrence between two steps.')
def rnn_forward_tests(rnn_forward):
    problems = []
    rng = np.random.default_rng(2)
    T, B, D, H = 4, 2, 3, 5
    X, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    Wx, Ws, b = rng.standard_normal((H, D)), rng.standard_normal((H, H)) / 2, rng.standard_normal(H)
    Hs, cache = rnn_forward(X, h0, Wx, Ws, b)
    if np.shape(Hs) != (T, B, H):
        problems.append(f"Hs has shape {np.shape(Hs)}, expected (T, B, H) = {(T, B, H)}")
    else:
        if not np.allclose(Hs[0], np.tanh(X[0] @ Wx.T + h0 @ Ws.T + b)):
            problems.append("Hs[0] must be the state after reading X[0]")
        if not np.allclose(Hs[2], np.tanh(X[2] @ Wx.T + Hs[1] @ Ws.T + b)):
            problems.append("Hs[2] must be computed from Hs[1]")
    return problems


@visible("rnn_backward", 'shapes, then every gradient against central differences of your own rnn_forward.')
def rnn_backward_tests(rnn_forward, rnn_backward):
    rng = np.random.default_rng(3)
    T, B, D, H = 3, 2, 3, 4
    X, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    Wx, Ws, b = rng.standard_normal((H, D)), rng.standard_normal((H, H)) / 2, rng.standard_normal(H)
    dHs = rng.standard_normal((T, B, H))
    Hs, cache = rnn_forward(X, h0, Wx, Ws, b)
    grads = rnn_backward(dHs, cache)
    names = ["dX", "dh0", "dWx", "dWs", "db"]
    inputs = [X, h0, Wx, Ws, b]

    def loss():
        return np.sum(rnn_forward(X, h0, Wx, Ws, b)[0] * dHs)

    return gradient_problems(loss, names, grads, inputs)


@visible("output_backward", 'shapes, then the gradients against central differences.')
def output_backward_tests(output_backward):
    rng = np.random.default_rng(4)
    T, B, H, K = 3, 2, 4, 5
    Hs, Wy, c = rng.standard_normal((T, B, H)), rng.standard_normal((K, H)), rng.standard_normal(K)
    dO = rng.standard_normal((T, B, K))
    grads = output_backward(dO, Hs, Wy)
    names = ["dHs", "dWy", "dc"]
    inputs = [Hs, Wy, c]

    def loss():
        return np.sum((Hs @ Wy.T + c) * dO)

    return gradient_problems(loss, names, grads, inputs)
