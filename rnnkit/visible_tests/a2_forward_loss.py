"""The visible tests of a2-forward-loss: what each visible test cell checks, on small fixed examples.

Each function returns the problems it finds (an empty list: the tests pass). Its parameters are the
notebook functions it runs, found by name in the notebook; :func:`rnnkit.selfcheck.check` runs it
together with the hidden tests' checks of the same function."""
from __future__ import annotations

import numpy as np


from . import visible

ASSIGNMENT = "a2-forward-loss"

#: grade_id -> points of every hidden test cell, in notebook order (tests/grading/test_visible_tests.py
#: checks this table against the notebook's nbgrader metadata).
POINTS = {"test_softmax": 1, "test_sequence_nll": 2, "test_hidden_to_hidden_forward": 2, "test_output_to_hidden_forward": 2, "test_sequence_to_one_forward": 1}


@visible("softmax", 'two classes with equal logits, a known value, and a large logit.')
def softmax_tests(softmax):
    problems = []
    P = softmax(np.array([[0.0, 0.0], [np.log(3.0), 0.0]]))
    if np.shape(P) != (2, 2):
        problems.append(f"P has shape {np.shape(P)}, expected (2, 2)")
    else:
        if not np.allclose(P[0], [0.5, 0.5]):
            problems.append(f"equal logits give equal probabilities, got {P[0]}")
        if not np.allclose(P[1], [0.75, 0.25]):
            problems.append(f"logits (log 3, 0) give (3/4, 1/4), got {P[1]}")
    P = softmax(np.array([[1000.0, 0.0]]))
    if not (np.all(np.isfinite(P)) and np.allclose(P, [[1.0, 0.0]])):
        problems.append(f"softmax([1000, 0]) should be [1, 0], got {P}")
    return problems


@visible("sequence_nll", 'uniform predictions over K classes cost log K per target.')
def sequence_nll_tests(sequence_nll):
    problems = []
    T, B, K = 3, 2, 4
    L = sequence_nll(np.zeros((T, B, K)), np.zeros((T, B), dtype=int))
    if np.ndim(L) != 0:
        problems.append(f"L must be a single number, got shape {np.shape(L)}")
    elif not np.isclose(L, T * B * np.log(K)):
        problems.append(f"L = {L}, expected T*B*log K = {T * B * np.log(K)}")
    L = sequence_nll(np.array([[[1000.0, 0.0]]]), np.array([[1]]))
    if not (np.ndim(L) == 0 and np.isclose(L, 1000.0)):
        problems.append(f"a target 1000 nats below the best class costs 1000, got {L}")
    return problems


@visible("hidden_to_hidden_forward", 'shape, and the first step by hand.')
def hidden_to_hidden_forward_tests(hidden_to_hidden_forward):
    problems = []
    rng = np.random.default_rng(0)
    T, B, D, H, K = 4, 2, 3, 5, 6
    X, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    Wx, Ws, b = rng.standard_normal((H, D)), rng.standard_normal((H, H)) / 2, rng.standard_normal(H)
    Wy, c = rng.standard_normal((K, H)), rng.standard_normal(K)
    O = hidden_to_hidden_forward(X, h0, Wx, Ws, b, Wy, c)
    h1 = np.tanh(b + h0 @ Ws.T + X[0] @ Wx.T)
    if np.shape(O) != (T, B, K):
        problems.append(f"O has shape {np.shape(O)}, expected (T, B, K) = {(T, B, K)}")
    elif not np.allclose(O[0], c + h1 @ Wy.T):
        problems.append("O[0] must be c + Wy h(1), with h(1) computed from h0 and X[0]")
    return problems


@visible("output_to_hidden_forward", 'shape, and a step computed by hand.')
def output_to_hidden_forward_tests(output_to_hidden_forward):
    problems = []
    rng = np.random.default_rng(1)
    T, B, D, H, K = 3, 2, 3, 5, 4
    X = rng.standard_normal((T, B, D))
    Y = rng.integers(0, K, size=(T, B))
    Yprev = np.concatenate([np.zeros((1, B, K)), np.eye(K)[Y[:-1]]])
    Wx, Wo, b = rng.standard_normal((H, D)), rng.standard_normal((H, K)), rng.standard_normal(H)
    Wy, c = rng.standard_normal((K, H)), rng.standard_normal(K)
    O = output_to_hidden_forward(X, Yprev, Wx, Wo, b, Wy, c)
    h2 = np.tanh(b + Wo[:, Y[1, 0]] + Wx @ X[2, 0])   # step t=2 (0-based) of sequence 0 receives y(1)
    if np.shape(O) != (T, B, K):
        problems.append(f"O has shape {np.shape(O)}, expected (T, B, K) = {(T, B, K)}")
    elif not np.allclose(O[2, 0], c + Wy @ h2):
        problems.append("O[2] must use Yprev[2], the one-hot target of step 1")
    return problems


@visible("sequence_to_one_forward", 'shape, and agreement with the last output of family (a).')
def sequence_to_one_forward_tests(hidden_to_hidden_forward, sequence_to_one_forward):
    problems = []
    rng = np.random.default_rng(2)
    T, B, D, H, K = 5, 3, 2, 4, 6
    X, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    Wx, Ws, b = rng.standard_normal((H, D)), rng.standard_normal((H, H)) / 2, rng.standard_normal(H)
    Wy, c = rng.standard_normal((K, H)), rng.standard_normal(K)
    o = sequence_to_one_forward(X, h0, Wx, Ws, b, Wy, c)
    if np.shape(o) != (B, K):
        problems.append(f"o has shape {np.shape(o)}, expected (B, K) = {(B, K)}")
    elif not np.allclose(o, hidden_to_hidden_forward(X, h0, Wx, Ws, b, Wy, c)[-1]):
        problems.append("o must equal the last output of family (a) with the same weights")
    return problems
