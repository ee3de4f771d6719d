"""a5-teacher-forcing: learner-style mistakes and valid alternatives, each bug with the phrase that names it.

Collected in course order by ``grading_bugs`` (tests/grading/grading_bugs/__init__.py, which gives the
format ``(grader, label, fn, expected)``; ``expected=None`` for a valid implementation).

Each buggy function is written the way a learner would write it (none calls the grader's variants);
``expected`` is the phrase the failure message must contain. The first part has the classic bugs of
each graded function; bugs outside the grader's catalogue are named by the probe cases (the part of the model
at fault).
"""
from __future__ import annotations

import numpy as np

from . import by_id

TF, ORF, ORB = by_id("test_teacher_forcing_inputs"), by_id("test_output_rnn_forward"), by_id("test_output_rnn_backward")
GCL, SS = by_id("test_generate_closed_loop"), by_id("test_scheduled_feedback")


# ---------------------------------------------------------------------------
# teacher forcing
# ---------------------------------------------------------------------------

def _oh(tokens, K):
    tokens = np.asarray(tokens)
    F = np.zeros(tokens.shape + (K,))
    fed = tokens >= 0
    F[fed, tokens[fed]] = 1.0
    return F


def tf_ok(Y):
    return np.concatenate([-np.ones((1, Y.shape[1]), dtype=Y.dtype), Y[:-1]])


def tf_ok_roll(Y):
    fb = np.roll(Y, 1, axis=0)
    fb[0] = -1
    return fb


def tf_unshifted(Y):
    return Y.copy()


def tf_zero_first(Y):
    return np.concatenate([np.zeros((1, Y.shape[1]), dtype=Y.dtype), Y[:-1]])


def tf_float(Y):
    return tf_ok(Y).astype(float)


def orf_ok(X, feedback, Wx, Wo, b, Wy, c):
    F = _oh(feedback, Wy.shape[0])
    Hs = np.tanh(b + X @ Wx.T + F @ Wo.T)
    return c + Hs @ Wy.T, (X, F, Hs, Wx, Wo, Wy)


def orf_ok_loop(X, feedback, Wx, Wo, b, Wy, c):
    K = Wy.shape[0]
    F = _oh(feedback, K)
    Hs = np.stack([np.tanh(b + x @ Wx.T + f @ Wo.T) for x, f in zip(X, F)])
    O = np.stack([c + h @ Wy.T for h in Hs])
    return O, (X, F, Hs, Wx, Wo, Wy)


def orf_loop_no_cache(X, feedback, Wx, Wo, b, Wy, c):
    K = Wy.shape[0]
    O = np.stack([c + np.tanh(b + x @ Wx.T + _oh(f, K) @ Wo.T) @ Wy.T for x, f in zip(X, feedback)])
    return O, None


def orf_minus_one_as_last_class(X, feedback, Wx, Wo, b, Wy, c):
    K = Wy.shape[0]
    F = np.eye(K)[feedback]   # -1 indexes the last row: class K-1
    return c + np.tanh(b + X @ Wx.T + F @ Wo.T) @ Wy.T, None


def orf_no_feedback(X, feedback, Wx, Wo, b, Wy, c):
    return c + np.tanh(b + X @ Wx.T) @ Wy.T, None


def orb_ok(dO, cache):
    X, F, Hs, Wx, Wo, Wy = cache
    d = (dO @ Wy) * (1 - Hs ** 2)
    return (d @ Wx, np.einsum("tbh,tbd->hd", d, X), np.einsum("tbh,tbk->hk", d, F), d.sum((0, 1)),
            np.einsum("tbk,tbh->kh", dO, Hs), dO.sum((0, 1)))


def orb_ok_loop(dO, cache):
    X, F, Hs, Wx, Wo, Wy = cache
    out = [np.zeros((X.shape[0],) + X.shape[1:]), np.zeros_like(Wx), np.zeros_like(Wo), np.zeros(Wx.shape[0]),
           np.zeros_like(Wy), np.zeros(Wy.shape[0])]
    for t in range(X.shape[0]):
        d = (dO[t] @ Wy) * (1 - Hs[t] ** 2)
        out[0][t] = d @ Wx
        out[1] += d.T @ X[t]
        out[2] += d.T @ F[t]
        out[3] += d.sum(0)
        out[4] += dO[t].T @ Hs[t]
        out[5] += dO[t].sum(0)
    return tuple(out)


def orb_no_tanh_prime(dO, cache):
    X, F, Hs, Wx, Wo, Wy = cache
    d = dO @ Wy
    return (d @ Wx, np.einsum("tbh,tbd->hd", d, X), np.einsum("tbh,tbk->hk", d, F), d.sum((0, 1)),
            np.einsum("tbk,tbh->kh", dO, Hs), dO.sum((0, 1)))


def orb_last_step(dO, cache):
    X, F, Hs, Wx, Wo, Wy = cache
    g = orb_ok(dO, cache)
    d = (dO[-1] @ Wy) * (1 - Hs[-1] ** 2)
    return g[0], d.T @ X[-1], d.T @ F[-1], d.sum(0), dO[-1].T @ Hs[-1], dO[-1].sum(0)


def orb_transposed_wo(dO, cache):
    g = orb_ok(dO, cache)
    return g[0], g[1], g[2].T, g[3], g[4], g[5]


def gcl_ok(X, Wx, Wo, b, Wy, c):
    T, B, _ = X.shape
    K = Wy.shape[0]
    tokens = np.zeros((T, B), dtype=int)
    fed = np.full(B, -1)
    for t in range(T):
        o = c + np.tanh(b + X[t] @ Wx.T + _oh(fed, K) @ Wo.T) @ Wy.T
        tokens[t] = fed = o.argmax(1)
    return tokens


def gcl_start_zero(X, Wx, Wo, b, Wy, c):
    T, B, _ = X.shape
    K = Wy.shape[0]
    tokens = np.zeros((T, B), dtype=int)
    fed = np.zeros(B, dtype=int)
    for t in range(T):
        o = c + np.tanh(b + X[t] @ Wx.T + _oh(fed, K) @ Wo.T) @ Wy.T
        tokens[t] = fed = o.argmax(1)
    return tokens


def gcl_no_feedback(X, Wx, Wo, b, Wy, c):
    return (c + np.tanh(b + X @ Wx.T) @ Wy.T).argmax(-1)


def ss_ok(X, Y, p_truth, params, rng):
    Wx, Wo, b, Wy, c = (params[k] for k in ("Wx", "Wo", "b", "Wy", "c"))
    T, B, _ = X.shape
    K = Wy.shape[0]
    fb = -np.ones((T, B), dtype=int)
    for t in range(1, T):
        pred = (c + np.tanh(b + X[t - 1] @ Wx.T + _oh(fb[t - 1], K) @ Wo.T) @ Wy.T).argmax(1)
        fb[t] = np.where(rng.random(B) < p_truth, Y[t - 1], pred)
    return fb


def ss_inverted(X, Y, p_truth, params, rng):
    return ss_ok(X, Y, 1.0 - p_truth + 0.0, params, _InvertedRng(rng))


class _InvertedRng:
    """Feeds the truth where the draw is above p_truth (a common slip), via u -> 1 - u."""
    def __init__(self, rng):
        self.rng = rng

    def random(self, n):
        return 1.0 - self.rng.random(n)


def ss_teacher_forced_predictions(X, Y, p_truth, params, rng):
    Wx, Wo, b, Wy, c = (params[k] for k in ("Wx", "Wo", "b", "Wy", "c"))
    T, B, _ = X.shape
    K = Wy.shape[0]
    teacher = tf_ok(Y)
    fb = -np.ones((T, B), dtype=int)
    for t in range(1, T):
        pred = (c + np.tanh(b + X[t - 1] @ Wx.T + _oh(teacher[t - 1], K) @ Wo.T) @ Wy.T).argmax(1)
        fb[t] = np.where(rng.random(B) < p_truth, Y[t - 1], pred)
    return fb


CASES = [
    (TF, "concatenate", tf_ok, None),
    (TF, "roll", tf_ok_roll, None),
    (TF, "unshifted", tf_unshifted, "fed unshifted"),
    (TF, "class 0 first", tf_zero_first, "not class 0"),
    (TF, "float tokens", tf_float, "must be an integer numpy array"),
    (ORF, "vectorised", orf_ok, None),
    (ORF, "loop over time", orf_ok_loop, None),
    (ORF, "-1 read as the last class", orf_minus_one_as_last_class, "must give a zero vector"),
    (ORF, "no feedback", orf_no_feedback, "feedback is missing"),
    (ORB, "einsum", orb_ok, None),
    (ORB, "loop over time", orb_ok_loop, None),
    (ORB, "missing tanh'", orb_no_tanh_prime, "tanh′ factor"),
    (ORB, "last step only", orb_last_step, "only the last step"),
    (ORB, "transposed dWo", orb_transposed_wo, "dWo is transposed"),
    (GCL, "greedy loop", gcl_ok, None),
    (GCL, "starts from class 0", gcl_start_zero, "not class 0"),
    (GCL, "no feedback", gcl_no_feedback, "not fed back"),
    (SS, "loop", ss_ok, None),
    (SS, "inverted coin", ss_inverted, "coin is inverted"),
    (SS, "teacher-forced predictions", ss_teacher_forced_predictions, "actually fed"),
]


# ---------------------------------------------------------------------------
# more valid alternatives
# ---------------------------------------------------------------------------

def gcl_ok_indexing(X, Wx, Wo, b, Wy, c):
    T, B, _ = X.shape
    tokens = np.zeros((T, B), dtype=np.int64)
    fed = None
    for t in range(T):
        a = b + X[t] @ Wx.T
        if fed is not None:
            a = a + Wo[:, fed].T       # column of Wo for each sequence's previous token
        tokens[t] = fed = np.argmax(c + np.tanh(a) @ Wy.T, axis=1)
    return tokens


def ss_ok_draws_first(X, Y, p_truth, params, rng):
    T, B, _ = X.shape
    coins = [rng.random(B) < p_truth for _ in range(1, T)]   # same draws, same order
    Wx, Wo, b, Wy, c = (params[k] for k in ("Wx", "Wo", "b", "Wy", "c"))
    fb = np.full((T, B), -1)
    for t in range(1, T):
        a = b + X[t - 1] @ Wx.T + np.where(fb[t - 1][:, None] >= 0, Wo[:, fb[t - 1]].T, 0.0)
        pred = np.argmax(c + np.tanh(a) @ Wy.T, axis=1)
        fb[t] = np.where(coins[t - 1], Y[t - 1], pred)
    return fb


CASES += [
    (GCL, "columns of Wo instead of one-hot", gcl_ok_indexing, None),
    (SS, "all coins drawn first", ss_ok_draws_first, None),
]


# ===========================================================================
# More mistakes and valid alternatives, graded function by graded function
# ===========================================================================

def one_hot_feedback(tokens, K):
    """The notebook's setup-cell helper."""
    tokens = np.asarray(tokens)
    F = np.zeros(tokens.shape + (K,))
    fed = tokens >= 0
    F[fed, tokens[fed]] = 1.0
    return F


# ---------------------------------------------------------------------------
# teacher_forcing_inputs
# ---------------------------------------------------------------------------

def tf_ok_pad(Y):
    return np.pad(Y[:-1], ((1, 0), (0, 0)), constant_values=-1)


def tf_ok_loop_backwards(Y):
    fb = Y.copy()
    for t in range(Y.shape[0] - 1, 0, -1):
        fb[t] = fb[t - 1]
    fb[0] = -1
    return fb


def tf_in_place(Y):
    Y[1:] = Y[:-1].copy()        # shifts the caller's targets
    Y[0] = -1
    return Y


def tf_in_place_forward_loop(Y):
    for t in range(1, Y.shape[0]):
        Y[t] = Y[t - 1]          # overwrites Y[t] before it is read: every row becomes Y[0]
    Y[0] = -1
    return Y


def tf_view_then_shift(Y):
    fb = Y[:]                    # a view, not a copy
    fb[1:] = Y[:-1].copy()
    fb[0] = -1
    return fb


def tf_first_row_kept(Y):
    fb = Y.copy()
    fb[1:] = Y[:-1]
    return fb


def tf_insert(Y):
    return np.insert(Y, 0, -1, axis=0)


def tf_batch_axis(Y):
    fb = np.roll(Y, 1, axis=1)
    fb[:, 0] = -1
    return fb


def tf_list(Y):
    return [[-1] * Y.shape[1]] + Y[:-1].tolist()


# ---------------------------------------------------------------------------
# output_rnn_forward
# ---------------------------------------------------------------------------

def orf_ok_eye(X, feedback, Wx, Wo, b, Wy, c):
    """Indexes the columns of Wo directly, with zeros where nothing is fed (valid)."""
    K = Wy.shape[0]
    fed = np.where(feedback[..., None] >= 0, Wo.T[np.clip(feedback, 0, K - 1)], 0.0)
    Hs = np.tanh(b + np.einsum("tbd,hd->tbh", X, Wx) + fed)
    return c + Hs @ Wy.T, (X, one_hot_feedback(feedback, K), Hs, Wx, Wo, Wy)


def orf_shifted_again(X, feedback, Wx, Wo, b, Wy, c):
    K = Wy.shape[0]
    shifted = np.concatenate([-np.ones((1, feedback.shape[1]), dtype=int), feedback[:-1]])
    F = one_hot_feedback(shifted, K)
    Hs = np.tanh(b + X @ Wx.T + F @ Wo.T)
    return c + Hs @ Wy.T, (X, F, Hs, Wx, Wo, Wy)


def orf_no_output_bias(X, feedback, Wx, Wo, b, Wy, c):
    F = one_hot_feedback(feedback, Wy.shape[0])
    Hs = np.tanh(b + X @ Wx.T + F @ Wo.T)
    return Hs @ Wy.T, (X, F, Hs, Wx, Wo, Wy)


def orf_bias_outside_tanh(X, feedback, Wx, Wo, b, Wy, c):
    F = one_hot_feedback(feedback, Wy.shape[0])
    Hs = np.tanh(X @ Wx.T + F @ Wo.T) + b
    return c + Hs @ Wy.T, (X, F, Hs, Wx, Wo, Wy)


def orf_softmax(X, feedback, Wx, Wo, b, Wy, c):
    F = one_hot_feedback(feedback, Wy.shape[0])
    Hs = np.tanh(b + X @ Wx.T + F @ Wo.T)
    O = c + Hs @ Wy.T
    P = np.exp(O - O.max(-1, keepdims=True))
    return P / P.sum(-1, keepdims=True), (X, F, Hs, Wx, Wo, Wy)


def orf_feedback_halved(X, feedback, Wx, Wo, b, Wy, c):
    """A stray factor on the feedback term (out of the catalogue)."""
    F = one_hot_feedback(feedback, Wy.shape[0])
    Hs = np.tanh(b + X @ Wx.T + 0.5 * F @ Wo.T)
    return c + Hs @ Wy.T, (X, F, Hs, Wx, Wo, Wy)


# ---------------------------------------------------------------------------
# output_rnn_backward
# ---------------------------------------------------------------------------

def orb_ok_flat(dO, cache):
    X, F, Hs, Wx, Wo, Wy = cache
    T, B, K = dO.shape
    d = (dO @ Wy) * (1 - Hs ** 2)
    d2, X2, F2, O2, H2 = (a.reshape(T * B, -1) for a in (d, X, F, dO, Hs))
    return (d @ Wx, d2.T @ X2, d2.T @ F2, d2.sum(0), O2.T @ H2, O2.sum(0))


def orb_ok_tensordot(dO, cache):
    X, F, Hs, Wx, Wo, Wy = cache
    d = np.tensordot(dO, Wy, axes=(2, 0)) * (1 - Hs * Hs)
    both = ([0, 1], [0, 1])
    return (np.tensordot(d, Wx, axes=(2, 0)), np.tensordot(d, X, axes=both), np.tensordot(d, F, axes=both),
            d.sum(axis=(0, 1)), np.tensordot(dO, Hs, axes=both), dO.sum(axis=(0, 1)))


def _grads(dO, d, X, F, Hs, Wx):
    return (d @ Wx, np.einsum("tbh,tbd->hd", d, X), np.einsum("tbh,tbk->hk", d, F), d.sum((0, 1)),
            np.einsum("tbk,tbh->kh", dO, Hs), dO.sum((0, 1)))


def orb_float32(dO, cache):
    X, F, Hs, Wx, Wo, Wy = cache
    d = ((dO @ Wy) * (1 - Hs ** 2)).astype(np.float32)
    return tuple(np.asarray(g, dtype=np.float32) for g in _grads(dO, d, X, F, Hs, Wx))


def orb_through_feedback(dO, cache):
    """Backpropagates from step t into the output of step t-1 through Wo, as if the fed token were o(t-1)."""
    X, F, Hs, Wx, Wo, Wy = cache
    dO = dO.copy()
    d = np.zeros_like(Hs)
    for t in reversed(range(dO.shape[0])):
        d[t] = (dO[t] @ Wy) * (1 - Hs[t] ** 2)
        if t > 0:
            dO[t - 1] += d[t] @ Wo
    return _grads(dO, d, X, F, Hs, Wx)


def orb_no_square(dO, cache):
    X, F, Hs, Wx, Wo, Wy = cache
    d = (dO @ Wy) * (1 - Hs)
    return _grads(dO, d, X, F, Hs, Wx)


def orb_dwo_from_argmax(dO, cache):
    """Builds dWo from token indices recovered with F.argmax: a step fed nothing (a zero row) counts as class 0."""
    X, F, Hs, Wx, Wo, Wy = cache
    d = (dO @ Wy) * (1 - Hs ** 2)
    g = list(_grads(dO, d, X, F, Hs, Wx))
    dWo = np.zeros_like(Wo)
    tokens = F.argmax(-1)
    for t in range(F.shape[0]):
        for i in range(F.shape[1]):
            dWo[:, tokens[t, i]] += d[t, i]
    g[2] = dWo
    return tuple(g)


def orb_batch_mean(dO, cache):
    X, F, Hs, Wx, Wo, Wy = cache
    B = dO.shape[1]
    d = (dO @ Wy) * (1 - Hs ** 2)
    g = _grads(dO, d, X, F, Hs, Wx)
    return (g[0],) + tuple(x / B for x in g[1:])


def orb_dc_time_only(dO, cache):
    X, F, Hs, Wx, Wo, Wy = cache
    d = (dO @ Wy) * (1 - Hs ** 2)
    g = _grads(dO, d, X, F, Hs, Wx)
    return g[:5] + (dO.sum(0),)


# ---------------------------------------------------------------------------
# generate_closed_loop
# ---------------------------------------------------------------------------

def gcl_ok_eye_guard(X, Wx, Wo, b, Wy, c):
    T, B, _ = X.shape
    K = Wy.shape[0]
    out = np.empty((T, B), dtype=np.int64)
    f = np.zeros((B, K))
    for t in range(T):
        logits = c + np.tanh(b + X[t] @ Wx.T + f @ Wo.T) @ Wy.T
        out[t] = np.argmax(logits, axis=-1)
        f = np.eye(K)[out[t]]
    return out


def gcl_ok_per_sequence(X, Wx, Wo, b, Wy, c):
    T, B, _ = X.shape
    out = np.zeros((T, B), dtype=int)
    for i in range(B):
        fed = None
        for t in range(T):
            pre = b + Wx @ X[t, i] + (Wo[:, fed] if fed is not None else 0)
            fed = int(np.argmax(c + Wy @ np.tanh(pre)))
            out[t, i] = fed
    return out


def gcl_first_step_last_class(X, Wx, Wo, b, Wy, c):
    T, B, _ = X.shape
    K = Wy.shape[0]
    tokens = np.zeros((T, B), dtype=int)
    fed = -np.ones(B, dtype=int)
    for t in range(T):
        o = c + np.tanh(b + X[t] @ Wx.T + np.eye(K)[fed] @ Wo.T) @ Wy.T   # eye(K)[-1] is class K-1
        tokens[t] = fed = o.argmax(1)
    return tokens


def gcl_feeds_logits(X, Wx, Wo, b, Wy, c):
    T, B, _ = X.shape
    K = Wy.shape[0]
    tokens = np.zeros((T, B), dtype=int)
    f = np.zeros((B, K))
    for t in range(T):
        o = c + np.tanh(b + X[t] @ Wx.T + f @ Wo.T) @ Wy.T
        tokens[t] = o.argmax(1)
        f = o                                   # the logits fed back instead of a one-hot
    return tokens


def gcl_no_output_bias(X, Wx, Wo, b, Wy, c):
    """Chooses by Wy h, without the output bias c (out of the catalogue)."""
    T, B, _ = X.shape
    K = Wy.shape[0]
    tokens = np.zeros((T, B), dtype=int)
    fed = -np.ones(B, dtype=int)
    for t in range(T):
        h = np.tanh(b + X[t] @ Wx.T + one_hot_feedback(fed, K) @ Wo.T)
        tokens[t] = fed = (h @ Wy.T).argmax(1)
    return tokens


def gcl_same_token_for_batch(X, Wx, Wo, b, Wy, c):
    """Feeds sequence 0's choice to every sequence."""
    T, B, _ = X.shape
    K = Wy.shape[0]
    tokens = np.zeros((T, B), dtype=int)
    fed = -np.ones(B, dtype=int)
    for t in range(T):
        o = c + np.tanh(b + X[t] @ Wx.T + one_hot_feedback(fed, K) @ Wo.T) @ Wy.T
        tokens[t] = o.argmax(1)
        fed = np.full(B, tokens[t, 0])
    return tokens


# ---------------------------------------------------------------------------
# scheduled_feedback
# ---------------------------------------------------------------------------

def _params(params):
    return (params[k] for k in ("Wx", "Wo", "b", "Wy", "c"))


def ss_ok_all_draws_first(X, Y, p_truth, params, rng):
    """Draws all coins in one call, (T-1, B): the same uniforms in the same order (valid)."""
    Wx, Wo, b, Wy, c = _params(params)
    T, B, _ = X.shape
    K = Wy.shape[0]
    coins = rng.random((T - 1, B)) < p_truth if T > 1 else np.zeros((0, B), dtype=bool)
    fb = np.full((T, B), -1)
    for t in range(1, T):
        h = np.tanh(b + X[t - 1] @ Wx.T + one_hot_feedback(fb[t - 1], K) @ Wo.T)
        fb[t] = np.where(coins[t - 1], Y[t - 1], np.argmax(c + h @ Wy.T, axis=1))
    return fb


def ss_truth_y_t(X, Y, p_truth, params, rng):
    Wx, Wo, b, Wy, c = _params(params)
    T, B, _ = X.shape
    K = Wy.shape[0]
    fb = -np.ones((T, B), dtype=int)
    for t in range(1, T):
        h = np.tanh(b + X[t - 1] @ Wx.T + one_hot_feedback(fb[t - 1], K) @ Wo.T)
        fb[t] = np.where(rng.random(B) < p_truth, Y[t], (c + h @ Wy.T).argmax(1))
    return fb


def ss_prediction_from_x_t(X, Y, p_truth, params, rng):
    Wx, Wo, b, Wy, c = _params(params)
    T, B, _ = X.shape
    K = Wy.shape[0]
    fb = -np.ones((T, B), dtype=int)
    for t in range(1, T):
        h = np.tanh(b + X[t] @ Wx.T + one_hot_feedback(fb[t - 1], K) @ Wo.T)
        fb[t] = np.where(rng.random(B) < p_truth, Y[t - 1], (c + h @ Wy.T).argmax(1))
    return fb


def ss_separate_closed_loop(X, Y, p_truth, params, rng):
    """Predictions from a closed loop run on the side, each fed the previous prediction."""
    Wx, Wo, b, Wy, c = _params(params)
    T, B, _ = X.shape
    K = Wy.shape[0]
    fb = -np.ones((T, B), dtype=int)
    pred_fed = -np.ones(B, dtype=int)
    for t in range(1, T):
        h = np.tanh(b + X[t - 1] @ Wx.T + one_hot_feedback(pred_fed, K) @ Wo.T)
        pred_fed = (c + h @ Wy.T).argmax(1)
        fb[t] = np.where(rng.random(B) < p_truth, Y[t - 1], pred_fed)
    return fb


def ss_coin_at_first_step(X, Y, p_truth, params, rng):
    Wx, Wo, b, Wy, c = _params(params)
    T, B, _ = X.shape
    K = Wy.shape[0]
    fb = -np.ones((T, B), dtype=int)
    for t in range(T):
        u = rng.random(B)                       # one draw too many: also at t = 0
        if t == 0:
            continue
        h = np.tanh(b + X[t - 1] @ Wx.T + one_hot_feedback(fb[t - 1], K) @ Wo.T)
        fb[t] = np.where(u < p_truth, Y[t - 1], (c + h @ Wy.T).argmax(1))
    return fb


def ss_one_coin_per_step(X, Y, p_truth, params, rng):
    Wx, Wo, b, Wy, c = _params(params)
    T, B, _ = X.shape
    K = Wy.shape[0]
    fb = -np.ones((T, B), dtype=int)
    for t in range(1, T):
        h = np.tanh(b + X[t - 1] @ Wx.T + one_hot_feedback(fb[t - 1], K) @ Wo.T)
        fb[t] = Y[t - 1] if rng.random() < p_truth else (c + h @ Wy.T).argmax(1)   # one coin for the batch
    return fb


CASES += [
    (TF, "np.pad", tf_ok_pad, None),
    (TF, "copy, loop backwards", tf_ok_loop_backwards, None),
    (TF, "shifts Y in place", tf_in_place, "changed the targets Y it was given"),
    (TF, "shifts Y in place, loop forwards (values)", tf_in_place_forward_loop, "every later step receives Y[0]"),
    (TF, "shifts Y in place, loop forwards (in place)", tf_in_place_forward_loop,
     "changed the targets Y it was given"),
    (TF, "a view of Y shifted", tf_view_then_shift, "changed the targets Y it was given"),
    (TF, "first row keeps Y[0]", tf_first_row_kept, "it still holds Y[0]"),
    (TF, "np.insert: T+1 rows", tf_insert, "the last target Y[T−1] is never fed"),
    (TF, "shift along the batch axis", tf_batch_axis, "the shift runs along the batch axis"),
    (TF, "a list", tf_list, "must be an integer numpy array"),
    (ORF, "Wo columns indexed", orf_ok_eye, None),
    (ORF, "feedback shifted again", orf_shifted_again, "shifted a second time"),
    (ORF, "no output bias", orf_no_output_bias, "So the mistake is in the output bias"),
    (ORF, "b added outside the tanh", orf_bias_outside_tanh, "So the mistake is in the hidden bias b"),
    (ORF, "softmax returned", orf_softmax, "no softmax"),
    (ORF, "feedback term halved", orf_feedback_halved, "So the mistake is in the feedback term"),
    (ORB, "reshaped to 2-d", orb_ok_flat, None),
    (ORB, "tensordot", orb_ok_tensordot, None),
    (ORB, "computed in float32 (accepted within the float32 tolerance)", orb_float32, None),
    (ORB, "gradient through the fed token", orb_through_feedback, "So the mistake is in gradient passed between steps"),
    (ORB, "1 - h instead of 1 - h^2", orb_no_square, "the tanh′ factor is 1 − h² (h squared), not 1 − h"),
    (ORB, "dWo from F.argmax", orb_dwo_from_argmax, "the steps fed nothing"),
    (ORB, "batch mean", orb_batch_mean, "divided by the batch size B"),
    (ORB, "dc summed over time only", orb_dc_time_only, "dc still has the batch"),
    (GCL, "np.eye of the choice", gcl_ok_eye_guard, None),
    (GCL, "one sequence at a time", gcl_ok_per_sequence, None),
    (GCL, "np.eye(K)[-1] at the first step", gcl_first_step_last_class, "one-hot of class K−1"),
    (GCL, "logits fed back", gcl_feeds_logits, "So the mistake is in what is fed back"),
    (GCL, "no output bias in the choice", gcl_no_output_bias, "So the mistake is in the choice at each step"),
    (GCL, "sequence 0's token for all", gcl_same_token_for_batch,
     "in the batch: each sequence feeds back its own token"),
    (SS, "all coins drawn at once", ss_ok_all_draws_first, None),
    (SS, "truth Y[t]", ss_truth_y_t, "not Y[t]"),
    (SS, "prediction from X[t]", ss_prediction_from_x_t, "computed from X[t-1]"),
    (SS, "predictions from a separate closed loop", ss_separate_closed_loop, "separate closed loop"),
    (SS, "a coin at the first step too", ss_coin_at_first_step, "the coins were not drawn as instructed"),
    (SS, "one coin for the whole batch", ss_one_coin_per_step, "the coins were not drawn as instructed"),
]


# ===========================================================================
# Diagnoses added with the port to the grading engine (issue #19): the returned cache, more slips of the
# derivative and of the sums, a shape error with its hint, a crash on an edge case only
# ===========================================================================

def orf_cache_pre_activation(X, feedback, Wx, Wo, b, Wy, c):
    """Keeps the pre-activation under the name Hs: O is right, the cache is not."""
    F = one_hot_feedback(feedback, Wy.shape[0])
    Hs = b + X @ Wx.T + F @ Wo.T
    O = c + np.tanh(Hs) @ Wy.T
    return O, (X, F, Hs, Wx, Wo, Wy)


def orf_float32(X, feedback, Wx, Wo, b, Wy, c):
    """Computes in float32, the cache's F and Hs included (accepted within the float32 tolerance)."""
    f = np.float32
    F = one_hot_feedback(feedback, Wy.shape[0]).astype(f)
    Hs = np.tanh(b.astype(f) + X.astype(f) @ Wx.T.astype(f) + F @ Wo.T.astype(f))
    return c.astype(f) + Hs @ Wy.T.astype(f), (X, F, Hs, Wx, Wo, Wy)


def orb_squares_cache_in_place(dO, cache):
    """Reuses the cache's Hs for h² once dWy is taken: right gradients, but the caller's cache is changed
    (costs no points; the verdict reports it)."""
    X, F, Hs, Wx, Wo, Wy = cache
    dWy = np.einsum("tbk,tbh->kh", dO, Hs)
    Hs **= 2
    d = (dO @ Wy) * (1 - Hs)
    return d @ Wx, np.einsum("tbh,tbd->hd", d, X), np.einsum("tbh,tbk->hk", d, F), d.sum((0, 1)), dWy, dO.sum((0, 1))


def orb_sigmoid_prime(dO, cache):
    X, F, Hs, Wx, Wo, Wy = cache
    d = (dO @ Wy) * Hs * (1 - Hs)
    return _grads(dO, d, X, F, Hs, Wx)


def orb_tanh_prime_of_h(dO, cache):
    X, F, Hs, Wx, Wo, Wy = cache
    d = (dO @ Wy) * (1 - np.tanh(Hs) ** 2)
    return _grads(dO, d, X, F, Hs, Wx)


def orb_rebuilt_pre_activation(dO, cache):
    """Recomputes tanh′ from the pre-activation, rebuilt from the cache (which has no b)."""
    X, F, Hs, Wx, Wo, Wy = cache
    A = X @ Wx.T + F @ Wo.T
    d = (dO @ Wy) * (1 - np.tanh(A) ** 2)
    return _grads(dO, d, X, F, Hs, Wx)


def orb_dc_mean(dO, cache):
    X, F, Hs, Wx, Wo, Wy = cache
    d = (dO @ Wy) * (1 - Hs ** 2)
    g = _grads(dO, d, X, F, Hs, Wx)
    return g[:5] + (dO.mean(axis=(0, 1)),)


def orb_db_mean(dO, cache):
    X, F, Hs, Wx, Wo, Wy = cache
    d = (dO @ Wy) * (1 - Hs ** 2)
    g = _grads(dO, d, X, F, Hs, Wx)
    return g[:3] + (d.mean(axis=(0, 1)),) + g[4:]


def gcl_softmax_without_keepdims(X, Wx, Wo, b, Wy, c):
    """Normalises the logits before the argmax; the row maximum loses its axis (no keepdims)."""
    T, B, _ = X.shape
    K = Wy.shape[0]
    tokens = np.zeros((T, B), dtype=int)
    fed = -np.ones(B, dtype=int)
    for t in range(T):
        o = c + np.tanh(b + X[t] @ Wx.T + one_hot_feedback(fed, K) @ Wo.T) @ Wy.T
        p = np.exp(o - o.max(axis=1))
        p = p / p.sum(axis=1, keepdims=True)
        tokens[t] = fed = p.argmax(axis=1)
    return tokens


def tf_stack_rows(Y):
    """Stacks the shifted rows one by one: np.stack of no rows fails when T = 1."""
    shifted = np.stack([Y[t - 1] for t in range(1, Y.shape[0])])
    return np.concatenate([np.full((1, Y.shape[1]), -1), shifted])


CASES += [
    (ORF, "loop over time, no cache returned", orf_loop_no_cache, "the cache must be the tuple (X, F, Hs, Wx, Wo, Wy)"),
    (ORF, "cache holds the pre-activation", orf_cache_pre_activation, "the cache holds the pre-activation"),
    (ORF, "computed in float32, the cache too (accepted within the float32 tolerance)", orf_float32, None),
    (ORB, "squares the cache's Hs in place (right values)", orb_squares_cache_in_place, None),
    (ORB, "sigmoid's derivative h(1 - h)", orb_sigmoid_prime, "the sigmoid's derivative"),
    (ORB, "tanh' of the state", orb_tanh_prime_of_h, "applies tanh a second time"),
    (ORB, "tanh' from a rebuilt pre-activation", orb_rebuilt_pre_activation, "rebuilt without b"),
    (ORB, "dc a mean", orb_dc_mean, "dc is the mean of dO"),
    (ORB, "db a mean", orb_db_mean, "db is the mean of δ"),
    (GCL, "softmax without keepdims", gcl_softmax_without_keepdims, "keepdims=True"),
    (TF, "np.stack of the rows (T = 1 fails)", tf_stack_rows, "(T=1, B=3) (line "),
]
