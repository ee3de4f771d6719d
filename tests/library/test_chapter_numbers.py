"""Facts that chapters 6-9 state and build on, checked quickly outside the book build.

The chapters assert the same facts at build time; these tests catch a library change that
would break a chapter without waiting for a full (slow) book build. The training-based
results of the chapters (RNN vs LSTM on the copy task, exposure bias) are deliberately not
repeated here: they take tens of seconds and are asserted in the chapters themselves.
"""
import numpy as np
import pytest

import rnnkit as rk


def _flat(grads):
    return np.concatenate([grads[k].ravel() for k in sorted(grads)])


def test_tbptt_with_k_equal_T_is_full_bptt_bit_for_bit(rng):
    # Chapter 6 asserts array_equal, not allclose: with one chunk the computation is identical.
    X, Y = rk.delayed_recall(rng, 4, 12, lag=3)
    model = rk.HiddenToHiddenRNN(X.shape[2], 6, 5, rng=rng)
    loss, grads = model.loss_and_grads(X, Y)
    loss_k, grads_k = rk.tbptt_loss_and_grads(model, X, Y, k=12)
    assert loss_k == loss
    for name in grads:
        assert np.array_equal(grads_k[name], grads[name]), f"k = T differs from full BPTT in d{name}"


def test_tbptt_with_short_chunks_changes_the_gradient_but_not_the_loss(rng):
    X, Y = rk.delayed_recall(rng, 4, 12, lag=3)
    model = rk.HiddenToHiddenRNN(X.shape[2], 6, 5, rng=rng)
    loss, grads = model.loss_and_grads(X, Y)
    loss_k, grads_k = rk.tbptt_loss_and_grads(model, X, Y, k=2)
    assert np.isclose(loss_k, loss, rtol=1e-12), "truncation must not change the forward pass"
    # The Ws gradient loses every path longer than the chunk; a change of 1e-6 relative would
    # already be far above rounding (1e-15), so this cannot pass by accident.
    assert np.linalg.norm(grads_k["Ws"] - grads["Ws"]) > 1e-6 * np.linalg.norm(grads["Ws"])


def test_norm_clipping_keeps_direction_value_clipping_turns_it(rng):
    grads = {"a": rng.standard_normal((5, 5)) * 10.0, "b": rng.standard_normal(5)}
    true = _flat(grads)
    by_norm = _flat(rk.clip_by_global_norm(grads, 1.0)[0])
    by_value = _flat(rk.clip_by_value(grads, 0.5))
    cosine = lambda u, v: u @ v / (np.linalg.norm(u) * np.linalg.norm(v))  # noqa: E731
    assert abs(cosine(by_norm, true) - 1.0) < 1e-12
    assert cosine(by_value, true) < 0.99


def test_teacher_forced_steps_are_independent(rng):
    # Chapter 7: shuffling the time steps (with their fed-back tokens) leaves loss and gradients unchanged.
    T, B, D, H, K = 9, 3, 2, 5, 4
    model = rk.OutputToHiddenRNN(D, H, K, rng=rng)
    X = rng.standard_normal((T, B, D))
    Y = rng.integers(0, K, size=(T, B))
    feedback = model.teacher_feedback(Y)
    order = rng.permutation(T)
    loss, grads = model.loss_and_grads(X, Y, feedback=feedback)
    loss_p, grads_p = model.loss_and_grads(X[order], Y[order], feedback=feedback[order])
    assert np.isclose(loss, loss_p, rtol=1e-12)
    for name in grads:
        np.testing.assert_allclose(grads_p[name], grads[name], rtol=1e-10, atol=1e-14)


def test_lstm_forget_bias_starts_at_one(rng):
    # Chapter 8 relies on this initialisation (Gers et al., 2000).
    H = 7
    model = rk.HiddenToHiddenRNN(3, H, 2, rng=rng, cell="lstm")
    b = model.params["b"]
    assert np.all(b[H:2 * H] == 1.0) and np.all(b[:H] == 0.0) and np.all(b[2 * H:] == 0.0)


@pytest.mark.parametrize("cell, expected", [("rnn", lambda H, D: H * (H + D) + H),
                                            ("lstm", lambda H, D: 4 * H * (H + D) + 4 * H),
                                            ("gru", lambda H, D: 3 * H * (H + D) + 6 * H)])
def test_recurrent_parameter_counts_of_chapter_8(rng, cell, expected):
    D, H = 6, 32
    model = rk.HiddenToHiddenRNN(D, H, 5, rng=rng, cell=cell)
    count = sum(v.size for k, v in model.params.items() if k not in ("Wy", "c"))
    assert count == expected(H, D)


def test_reber_entropy_rate_matches_long_run_oracle_loss():
    # Chapter 9 compares the model with both numbers. Each symbol costs 0 or log 2 nats, so over
    # ~50,000 symbols the mean is within 0.01 of its expectation with a wide margin.
    grammar = rk.ReberGrammar(embedded=True)
    stream = grammar.stream(np.random.default_rng(2), 4000)
    assert abs(grammar.oracle_nll(stream) - grammar.entropy_rate()) < 0.01
    assert 0.35 < grammar.entropy_rate() < 0.45


def test_temperature_raises_entropy_monotonically(rng):
    logits = rng.standard_normal((1, 20)) * 3.0
    entropies = []
    for tau in (0.25, 0.5, 1.0, 2.0, 4.0):
        p = rk.softmax(logits / tau)[0]
        entropies.append(-np.sum(p * np.log(p)))
    assert np.all(np.diff(entropies) > 0)
    assert entropies[-1] < np.log(20)


# ---------------------------------------------------------------------------------------------
# Chapters 3, 5, 7, 9 and 10: facts the prose states (the chapters assert them too).

def test_adam_first_step_moves_every_entry_by_about_the_learning_rate():
    # Chapter 3 explains Adam with this property; plain gradient descent moves by eta * g.
    g = np.array([50.0, -0.002, 3.0])
    plain, adaptive = {"w": np.zeros(3)}, {"w": np.zeros(3)}
    rk.SGD(lr=0.02).step(plain, {"w": g})
    rk.Adam(lr=0.02).step(adaptive, {"w": g})
    np.testing.assert_allclose(plain["w"], -0.02 * g)
    np.testing.assert_allclose(adaptive["w"], -0.02 * np.sign(g), rtol=1e-4)


def test_machine_epsilon_and_unit_roundoff_of_chapter_5():
    assert np.finfo(np.float64).eps == 2.0 ** -52 and np.finfo(np.float32).eps == 2.0 ** -23
    assert abs(np.finfo(np.float32).eps / 2 - 6.0e-8) < 0.1e-8      # the unit roundoff, not the epsilon


def test_bayes_error_at_the_first_step_of_chapter_7():
    # Largest of e_y + N(0, 1) noise in 4 dimensions is wrong with probability 44.8 %.
    from math import erf, sqrt
    z = np.linspace(-12, 12, 240001)
    density = np.exp(-z ** 2 / 2) / np.sqrt(2 * np.pi)
    distribution = 0.5 * (1 + np.vectorize(erf)((z + 1) / sqrt(2)))
    exact = 1 - np.sum(density * distribution ** 3) * (z[1] - z[0])
    assert abs(exact - 0.448) < 0.0005
    rng = np.random.default_rng(0)
    X = np.eye(4)[np.zeros(200_000, dtype=int)] + rng.standard_normal((200_000, 4))
    assert abs(np.mean(X.argmax(axis=1) != 0) - exact) < 0.005


def test_course_corpus_is_fixed_ascii_and_split_by_file():
    import hashlib
    from importlib import resources
    texts = {part: rk.load_corpus(part) for part in rk.CORPUS_PARTS}
    for part, digest in rk.CORPUS_PARTS.items():
        data = resources.files("rnnkit").joinpath("corpus").joinpath(f"{part}.txt").read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
        assert data.isascii()
    assert len(texts["train"]) > 70_000 and all(len(texts[p]) > 5_000 for p in ("valid", "test"))
    assert set(texts["valid"] + texts["test"]) <= set(texts["train"]), "no unseen characters in held-out text"
    # the held-out pieces are new text: no line of them occurs in the training part
    train_lines = {line for line in texts["train"].splitlines() if len(line) > 30}
    for part in ("valid", "test"):
        assert not [line for line in texts[part].splitlines() if len(line) > 30 and line in train_lines]
    readme = resources.files("rnnkit").joinpath("corpus").joinpath("README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in readme


def test_course_corpus_is_not_the_book_prose():
    # Chapter 9 must not train on its own text: no 8-word sequence of the corpus occurs in the book.
    from pathlib import Path
    book = " ".join(p.read_text(encoding="utf-8") for p in (Path(__file__).parents[2] / "book").glob("*.md"))
    book_words = book.lower().split()
    book_grams = {" ".join(book_words[i:i + 8]) for i in range(len(book_words) - 7)}
    corpus_words = " ".join(rk.load_corpus(p) for p in rk.CORPUS_PARTS).lower().split()
    shared = [" ".join(corpus_words[i:i + 8]) for i in range(len(corpus_words) - 7)
              if " ".join(corpus_words[i:i + 8]) in book_grams]
    assert not shared, shared[:3]


def test_load_corpus_rejects_unknown_parts():
    with pytest.raises(ValueError, match="load_corpus: argument 'part'"):
        rk.load_corpus("training")


def test_irnn_jacobian_norm_is_one_after_warm_up():
    # Chapter 6: ReLU units with Ws = I pass the gradient on unchanged along the units that stay active.
    rng = np.random.default_rng(5)
    T, D, H = 40, 4, 16
    X = rng.standard_normal((T, 1, D))
    Wx = rng.normal(0.0, 0.5, size=(H, D))
    Hs, _ = rk.relu_rnn_forward(X, np.zeros((1, H)), Wx, np.eye(H), np.zeros(H))
    active_throughout = np.all(Hs[10:, 0] > 0, axis=0)
    assert active_throughout.any(), "some unit must stay active for the norm to be 1"
    _, cache = rk.relu_rnn_forward(X[10:], Hs[9], Wx, np.eye(H), np.zeros(H))
    dHs = np.zeros((T - 10, 1, H))
    dHs[-1] = 1.0
    dh_start = rk.relu_rnn_backward(dHs, cache)[1][0]
    np.testing.assert_array_equal(dh_start, active_throughout.astype(float))


@pytest.mark.parametrize("k, T", [(8, 48), (5, 20)])
def test_tbptt_cuts_one_lag_one_term_per_chunk_border(rng, k, T):
    # Chapter 6: with non-overlapping chunks, the lag-1 term whose loss step opens a chunk is lost.
    X, Y = rk.delayed_recall(rng, 1, T, lag=1)
    model = rk.HiddenToHiddenRNN(X.shape[2], 4, int(Y.max()) + 1, rng=rng)
    cut = sum((t - 1) // k != t // k for t in range(1, T))
    assert cut == T // k - (T % k == 0)
    full = model.loss_and_grads(X, Y)[1]["Ws"]
    assert not np.allclose(rk.tbptt_loss_and_grads(model, X, Y, k)[1]["Ws"], full)
