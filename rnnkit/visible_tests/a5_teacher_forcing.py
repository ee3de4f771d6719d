"""The visible tests of a5-teacher-forcing: what each visible test cell checks, on small fixed examples.

Each function returns the problems it finds (an empty list: the tests pass). Its parameters are the
notebook functions it runs, found by name in the notebook; :func:`rnnkit.selfcheck.check` runs it
together with the hidden tests' checks of the same function."""
from __future__ import annotations

import numpy as np

from . import gradient_problems, visible

ASSIGNMENT = "a5-teacher-forcing"

#: grade_id -> points of every hidden test cell, in notebook order (tests/grading/test_visible_tests.py
#: checks this table against the notebook's nbgrader metadata).
POINTS = {"test_teacher_forcing_inputs": 1, "test_output_rnn_forward": 2, "test_output_rnn_backward": 3, "test_generate_closed_loop": 2, "test_scheduled_feedback": 2}


@visible("teacher_forcing_inputs", 'the targets shifted one step, -1 (no token) first; Y left as it was.')
def teacher_forcing_inputs_tests(teacher_forcing_inputs):
    Y = np.array([[2, 0], [1, 1], [0, 2]])
    Y_before = Y.copy()
    fb = teacher_forcing_inputs(Y)
    problems = []
    if np.shape(fb) != (3, 2):
        problems.append(f"shape {np.shape(fb)}, expected (T, B) = (3, 2)")
    elif not np.array_equal(fb, [[-1, -1], [2, 0], [1, 1]]):
        problems.append(f"got {np.asarray(fb).tolist()}, expected [[-1, -1], [2, 0], [1, 1]]")
    if not np.array_equal(Y, Y_before):
        problems.append("Y was changed: build the feedback in a new array and leave the targets as they are")
    return problems


@visible("output_rnn_forward", 'shape, and one step by hand.')
def output_rnn_forward_tests(output_rnn_forward):
    rng = np.random.default_rng(0)
    T, B, D, H, K = 4, 2, 3, 5, 6
    X = rng.standard_normal((T, B, D))
    Wx, Wo, b = rng.standard_normal((H, D)), rng.standard_normal((H, K)), rng.standard_normal(H)
    Wy, c = rng.standard_normal((K, H)), rng.standard_normal(K)
    feedback = np.array([[-1, -1], [3, 0], [1, 5], [2, 2]])
    O, cache = output_rnn_forward(X, feedback, Wx, Wo, b, Wy, c)
    problems = []
    if np.shape(O) != (T, B, K):
        problems.append(f"O has shape {np.shape(O)}, expected (T, B, K) = {(T, B, K)}")
    else:
        if not np.allclose(O[0, 0], c + Wy @ np.tanh(b + Wx @ X[0, 0])):
            problems.append("step 0 receives nothing (feedback -1: a zero vector)")
        if not np.allclose(O[1, 0], c + Wy @ np.tanh(b + Wx @ X[1, 0] + Wo[:, 3])):
            problems.append("step 1 of sequence 0 receives token 3 (column 3 of Wo)")
    return problems


@visible("output_rnn_backward", 'shapes, then every gradient against central differences of your forward pass.')
def output_rnn_backward_tests(output_rnn_forward, output_rnn_backward):
    rng = np.random.default_rng(1)
    T, B, D, H, K = 3, 2, 3, 4, 5
    X = rng.standard_normal((T, B, D))
    Wx, Wo, b = rng.standard_normal((H, D)), rng.standard_normal((H, K)), rng.standard_normal(H)
    Wy, c = rng.standard_normal((K, H)), rng.standard_normal(K)
    feedback = np.array([[-1, -1], [4, 0], [1, 3]])
    dO = rng.standard_normal((T, B, K))
    O, cache = output_rnn_forward(X, feedback, Wx, Wo, b, Wy, c)
    grads = output_rnn_backward(dO, cache)
    names, inputs = ["dX", "dWx", "dWo", "db", "dWy", "dc"], [X, Wx, Wo, b, Wy, c]

    def loss():
        return np.sum(output_rnn_forward(X, feedback, Wx, Wo, b, Wy, c)[0] * dO)

    return gradient_problems(loss, names, grads, inputs)


@visible("generate_closed_loop", 'shape, and a model whose feedback decides everything (no input, strong Wo).')
def generate_closed_loop_tests(generate_closed_loop):
    T, B, D, H, K = 5, 1, 2, 3, 3
    X = np.zeros((T, B, D))
    Wx, b = np.zeros((H, D)), np.zeros(H)
    Wo = 5 * np.eye(H, K)
    Wy = np.roll(np.eye(K, H), 1, axis=0)   # state j votes for class j+1 (mod 3)
    c = np.array([0.1, 0.0, 0.0])             # with nothing fed, class 0 wins
    tokens = generate_closed_loop(X, Wx, Wo, b, Wy, c)
    problems = []
    if np.shape(tokens) != (T, B):
        problems.append(f"tokens have shape {np.shape(tokens)}, expected (T, B) = {(T, B)}")
    elif np.asarray(tokens)[:, 0].tolist() != [0, 1, 2, 0, 1]:
        problems.append(f"expected the cycle 0, 1, 2, 0, 1; got {np.asarray(tokens)[:, 0].tolist()}")
    return problems


@visible("scheduled_feedback", "p_truth = 1 is teacher forcing; p_truth = 0 feeds the model's own greedy choices.")
def scheduled_feedback_tests(teacher_forcing_inputs, generate_closed_loop, scheduled_feedback):
    rng = np.random.default_rng(2)
    T, B, D, H, K = 6, 3, 2, 4, 5
    X, Y = rng.standard_normal((T, B, D)), rng.integers(0, K, size=(T, B))
    params = dict(Wx=rng.standard_normal((H, D)), Wo=rng.standard_normal((H, K)), b=rng.standard_normal(H),
                  Wy=rng.standard_normal((K, H)), c=rng.standard_normal(K))
    problems = []
    fb = scheduled_feedback(X, Y, 1.0, params, np.random.default_rng(0))
    if not np.array_equal(fb, teacher_forcing_inputs(Y)):
        problems.append("with p_truth = 1 the feedback is teacher forcing")
    fb = scheduled_feedback(X, Y, 0.0, params, np.random.default_rng(0))
    free = generate_closed_loop(X, *(params[k] for k in ("Wx", "Wo", "b", "Wy", "c")))
    if np.shape(fb) != (T, B) or not np.array_equal(np.asarray(fb)[1:], free[:-1]):
        problems.append("with p_truth = 0 each step is fed the model's previous choice")
    return problems
