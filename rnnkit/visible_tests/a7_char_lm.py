"""The visible tests of a7-char-lm: what each visible test cell checks, on small fixed examples.

Each function returns the problems it finds (an empty list: the tests pass). Its parameters are the
notebook functions it runs, found by name in the notebook; :func:`rnnkit.selfcheck.check` runs it
together with the hidden tests' checks of the same function."""
from __future__ import annotations

import numpy as np

from rnnkit import HiddenToHiddenRNN, Vocab, one_hot, softmax

from . import visible

ASSIGNMENT = "a7-char-lm"

#: grade_id -> points of every hidden test cell, in notebook order (tests/grading/test_visible_tests.py
#: checks this table against the notebook's nbgrader metadata).
POINTS = {"test_make_batches": 2, "test_train_step": 3, "test_sample_with_temperature": 2}


@visible("make_batches", '0 .. 12 in two streams of 6, windows of 3.')
def make_batches_tests(make_batches):
    problems = []
    batches = make_batches(np.arange(13), B=2, T=3)
    if len(batches) != 2:
        problems.append(f"expected 2 windows, got {len(batches)}")
    else:
        x0, y0 = batches[0]
        if np.shape(x0) != (3, 2) or np.shape(y0) != (3, 2):
            problems.append(f"inputs and targets have shapes {np.shape(x0)}, {np.shape(y0)}; expected (T, B) = (3, 2)")
        else:
            if x0[:, 0].tolist() != [0, 1, 2] or x0[:, 1].tolist() != [6, 7, 8]:
                problems.append(f"first window: the streams are {x0.T.tolist()}, expected [[0, 1, 2], [6, 7, 8]]")
            if y0[:, 0].tolist() != [1, 2, 3]:
                problems.append(f"targets are the next ids: stream 0 should have [1, 2, 3], got {y0[:, 0].tolist()}")
            if np.shape(batches[1][0]) == (3, 2) and batches[1][0][:, 0].tolist() != [3, 4, 5]:
                problems.append(f"window 1 of stream 0 continues window 0: expected [3, 4, 5], "
                                f"got {batches[1][0][:, 0].tolist()}")
    # 0 .. 13 in two streams of L = 13 // 2 = 6: one full window of 4, the 2 steps left over are dropped
    n = len(make_batches(np.arange(14), B=2, T=4))
    if n != 1:
        problems.append(f"N=14, B=2, T=4: L = 6 ids per stream hold one full window of 4; got {n} windows")
    return problems


@visible("train_step", 'a few steps on a repetitive text lower the loss; the state is carried; clipping is global.')
def train_step_tests(make_batches, train_step):
    problems = []
    text = "abcabcabcabcabcabcabcabcabcabcabcabc"
    vocab = Vocab.from_text(text)
    K = len(vocab)
    model = HiddenToHiddenRNN(K, 8, K, rng=np.random.default_rng(0))
    batches = make_batches(vocab.encode(text), B=2, T=5)
    losses = []
    for epoch in range(20):
        state = np.zeros((2, 8))
        for inputs, targets in batches:
            loss, state = train_step(model, one_hot(inputs, K), targets, state, lr=0.5, max_norm=5.0)
            losses.append(float(loss))
    if np.shape(state) != (2, 8):
        problems.append(f"new_state has shape {np.shape(state)}, expected (B, H) = (2, 8)")
    if not losses[-1] < 0.5 * losses[0]:
        problems.append(f"the loss should fall on this easy text: {losses[0]:.3f} -> {losses[-1]:.3f}")
    # a tiny max_norm: the whole step has norm lr * max_norm (all gradients rescaled together)
    model = HiddenToHiddenRNN(K, 8, K, rng=np.random.default_rng(1))
    before = {name: p.copy() for name, p in model.params.items()}
    inputs, targets = batches[0]
    train_step(model, one_hot(inputs, K), targets, np.zeros((2, 8)), lr=0.1, max_norm=1e-3)
    step = np.sqrt(sum(np.sum((model.params[name] - before[name]) ** 2) for name in before))
    if not np.isclose(step, 0.1 * 1e-3, rtol=1e-4):
        problems.append(f"with lr=0.1 and max_norm=1e-3 the step should have norm lr * max_norm = 1e-4, got {step:.3g}")
    return problems


@visible("sample_with_temperature", 'frequencies follow the probabilities; a low temperature concentrates on the best class; logits near 1000 must not overflow.')
def sample_with_temperature_tests(sample_with_temperature):
    problems = []
    logits = np.tile(np.log([0.5, 0.3, 0.2]), (20000, 1))
    draws = sample_with_temperature(logits, 1.0, np.random.default_rng(0))
    if np.shape(draws) != (20000,):
        problems.append(f"shape {np.shape(draws)}, expected (B,) = (20000,)")
    else:
        freq = np.bincount(draws, minlength=3) / draws.size
        if not np.allclose(freq, [0.5, 0.3, 0.2], atol=0.02):
            problems.append(f"frequencies {freq} should be close to 0.5, 0.3, 0.2")
    cold = sample_with_temperature(logits, 0.05, np.random.default_rng(1))
    if not np.mean(cold == 0) > 0.99:
        problems.append("at temperature 0.05 nearly every draw should be the most likely class")
    big = np.tile([1000.0, 1000.0 + np.log(3.0)], (20000, 1))
    freq = np.bincount(sample_with_temperature(big, 1.0, np.random.default_rng(2)), minlength=2) / 20000
    if not np.allclose(freq, [0.25, 0.75], atol=0.02):
        problems.append(f"on logits near 1000 the frequencies are {freq}, expected 0.25, 0.75: does exp overflow?")
    return problems
