"""a3-bptt: learner-style mistakes named by the probes and the oracle, and more valid variants.

Collected by tests/test_grading_table.py (format of tests/grading_bugs.py). Besides the classic
bugs of the catalogue, out-of-catalogue ones are named by the probe cases (a term switched off
at a time), and sequence functions that reuse the learner's step function are judged with a
correct step standing in (the oracle): a step mistake costs only the step's cell.

Sequence functions that call a step function by name get it through their globals
(``_calling``), as in a notebook, so the oracle can stand in for it.
"""
from __future__ import annotations

import functools
import types

import numpy as np

from rnnkit import grading as G
from rnnkit.grading import Verdict


def _calling(fn, **helpers):
    """``fn`` with its own globals, in which the names in ``helpers`` are these functions (a notebook's
    namespace: the sequence function finds the learner's step function there)."""
    namespace = dict(fn.__globals__)
    namespace.update(helpers)
    return types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__)


def _passes_naming(grader, phrase: str):
    """A grader that also requires a passing verdict to name ``phrase`` (the oracle's blame message)."""
    def grade(fn, *, rng=None):
        verdict = grader(fn, rng=rng)
        if verdict.passed and phrase not in verdict.message:
            return Verdict(False, f"passed, but the message does not name {phrase!r}: {verdict.message}")
        return verdict
    grade.__name__ = getattr(grader, "__name__", getattr(getattr(grader, "func", None), "__name__", "grade"))
    return grade


# ---------------------------------------------------------------------------
# rnn_step_forward
# ---------------------------------------------------------------------------

def sf_ok_stacked(x, h_prev, Wx, Ws, b):
    """One product with the stacked weights [Wx | Ws] on the stacked input [x | h_prev]."""
    W = np.concatenate([Wx, Ws], axis=1)
    h = np.tanh(np.concatenate([x, h_prev], axis=1) @ W.T + b)
    return h, (x, h_prev, h, Wx, Ws)


def sf_ok_rows(x, h_prev, Wx, Ws, b):
    """Row by row, with matrix-vector products as in the book."""
    h = np.empty((x.shape[0], Wx.shape[0]))
    for i in range(x.shape[0]):
        h[i] = np.tanh(Wx @ x[i] + Ws @ h_prev[i] + b)
    return h, (x, h_prev, h, Wx, Ws)


def sf_tanh_per_term(x, h_prev, Wx, Ws, b):
    h = np.tanh(x @ Wx.T) + np.tanh(h_prev @ Ws.T) + np.tanh(b)
    return h, (x, h_prev, h, Wx, Ws)


def sf_bias_after_tanh(x, h_prev, Wx, Ws, b):
    h = np.tanh(x @ Wx.T + h_prev @ Ws.T) + b
    return h, (x, h_prev, h, Wx, Ws)


def sf_sigmoid(x, h_prev, Wx, Ws, b):
    h = 1.0 / (1.0 + np.exp(-(x @ Wx.T + h_prev @ Ws.T + b)))
    return h, (x, h_prev, h, Wx, Ws)


def sf_recurrent_after_tanh(x, h_prev, Wx, Ws, b):
    h = np.tanh(x @ Wx.T + b) + h_prev @ Ws.T
    return h, (x, h_prev, h, Wx, Ws)


def sf_reshape_not_transpose(x, h_prev, Wx, Ws, b):
    B, H = x.shape[0], Wx.shape[0]
    h = np.tanh((Wx @ x.T + Ws @ h_prev.T + b[:, None]).reshape(B, H))  # .T belongs here
    return h, (x, h_prev, h, Wx, Ws)


# ---------------------------------------------------------------------------
# rnn_step_backward
# ---------------------------------------------------------------------------

def sb_ok_tensordot(dh, cache):
    """tanh′ as dh - dh h², the weight gradients with tensordot, the cache unpacked by index."""
    x, h_prev, h, Wx, Ws = cache[0], cache[1], cache[2], cache[3], cache[4]
    d = dh - dh * h * h
    return (np.dot(d, Wx), np.dot(d, Ws), np.tensordot(d, x, axes=(0, 0)), np.tensordot(d, h_prev, axes=(0, 0)),
            np.add.reduce(d, axis=0))


def sb_tanh_prime_of_h_prev(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1 - h_prev ** 2)
    return d @ Wx, d @ Ws, d.T @ x, d.T @ h_prev, d.sum(axis=0)


def sb_one_minus_h_squared_wrong(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1 - h) ** 2  # (1 - h²) belongs here
    return d @ Wx, d @ Ws, d.T @ x, d.T @ h_prev, d.sum(axis=0)


def sb_tanh_applied_again(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1 - np.tanh(h) ** 2)  # h is already tanh(a)
    return d @ Wx, d @ Ws, d.T @ x, d.T @ h_prev, d.sum(axis=0)


def sb_dh_prev_with_skip(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1 - h ** 2)
    return d @ Wx, d @ Ws + dh, d.T @ x, d.T @ h_prev, d.sum(axis=0)


def sb_dwx_batch_mean(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1 - h ** 2)
    return d @ Wx, d @ Ws, d.T @ x / x.shape[0], d.T @ h_prev, d.sum(axis=0)


def sb_dws_without_delta(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1 - h ** 2)
    return d @ Wx, d @ Ws, d.T @ x, dh.T @ h_prev, d.sum(axis=0)  # δ forgotten in dWs


def sb_in_place_tanh_prime(dh, cache):
    """Correct values, but multiplies the given dh in place."""
    x, h_prev, h, Wx, Ws = cache
    dh *= 1 - h ** 2
    return dh @ Wx, dh @ Ws, dh.T @ x, dh.T @ h_prev, dh.sum(axis=0)


# ---------------------------------------------------------------------------
# rnn_forward
# ---------------------------------------------------------------------------

def step_forward(x, h_prev, Wx, Ws, b):
    h = np.tanh(x @ Wx.T + h_prev @ Ws.T + b)
    return h, (x, h_prev, h, Wx, Ws)


def step_forward_no_tanh(x, h_prev, Wx, Ws, b):
    h = x @ Wx.T + h_prev @ Ws.T + b
    return h, (x, h_prev, h, Wx, Ws)


def step_forward_unimplemented(x, h_prev, Wx, Ws, b):
    raise NotImplementedError()


def f_with_step(X, h0, Wx, Ws, b):
    """The notebook's solution: a loop over rnn_step_forward."""
    T, B, D = X.shape
    Hs = np.zeros((T, B, h0.shape[1]))
    h = h0
    for t in range(T):
        h, _ = rnn_step_forward(X[t], h, Wx, Ws, b)  # noqa: F821 - from the notebook's namespace
        Hs[t] = h
    return Hs, (X, h0, Hs, Wx, Ws)


def f_with_step_keywords(X, h0, Wx, Ws, b):
    """Keyword arguments, a list of states, np.array at the end."""
    states, h = [], h0
    for x in X:
        h, cache = rnn_step_forward(x=x, h_prev=h, Wx=Wx, Ws=Ws, b=b)  # noqa: F821
        states.append(h)
    Hs = np.array(states)
    return Hs, (X, h0, Hs, Wx, Ws)


def f_h0_ignored(X, h0, Wx, Ws, b):
    T, B, _ = X.shape
    Hs = np.zeros((T, B, h0.shape[1]))
    for t in range(T):
        Hs[t], _ = rnn_step_forward(X[t], Hs[t - 1], Wx, Ws, b)  # noqa: F821 - Hs[-1] at t=0
    return Hs, (X, h0, Hs, Wx, Ws)


def f_loop_from_one(X, h0, Wx, Ws, b):
    T, B, _ = X.shape
    Hs = np.zeros((T, B, h0.shape[1]))
    h = h0
    for t in range(1, T):  # skips the first input
        h = np.tanh(X[t] @ Wx.T + h @ Ws.T + b)
        Hs[t] = h
    return Hs, (X, h0, Hs, Wx, Ws)


def f_inputs_reversed(X, h0, Wx, Ws, b):
    T = X.shape[0]
    Hs, h = [], h0
    for t in range(T):
        h, _ = rnn_step_forward(X[T - 1 - t], h, Wx, Ws, b)  # noqa: F821
        Hs.append(h)
    Hs = np.stack(Hs)
    return Hs, (X, h0, Hs, Wx, Ws)


def f_ws_transposed_in_loop(X, h0, Wx, Ws, b):
    """Passes Ws.T to a step function that transposes it again."""
    Hs, h = [], h0
    for x in X:
        h, _ = rnn_step_forward(x, h, Wx, Ws.T, b)  # noqa: F821
        Hs.append(h)
    Hs = np.stack(Hs)
    return Hs, (X, h0, Hs, Wx, Ws)


def f_recurrent_after_tanh(X, h0, Wx, Ws, b):
    Hs, h = [], h0
    for x in X:
        h = np.tanh(x @ Wx.T + b) + h @ Ws.T
        Hs.append(h)
    Hs = np.stack(Hs)
    return Hs, (X, h0, Hs, Wx, Ws)


# ---------------------------------------------------------------------------
# rnn_backward
# ---------------------------------------------------------------------------

def step_backward(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1 - h ** 2)
    return d @ Wx, d @ Ws, d.T @ x, d.T @ h_prev, d.sum(axis=0)


def step_backward_no_tanh_prime(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    return dh @ Wx, dh @ Ws, dh.T @ x, dh.T @ h_prev, dh.sum(axis=0)


def step_backward_unimplemented(dh, cache):
    raise NotImplementedError()


def b_with_step(dHs, cache):
    """The notebook's solution: a backward loop over rnn_step_backward."""
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        h_prev = Hs[t - 1] if t > 0 else h0
        dX[t], dh_next, dWx_t, dWs_t, db_t = rnn_step_backward(dHs[t] + dh_next,  # noqa: F821
                                                               (X[t], h_prev, Hs[t], Wx, Ws))
        dWx += dWx_t
        dWs += dWs_t
        db += db_t
    return dX, dh_next, dWx, dWs, db


def b_with_step_list_cache(dHs, cache):
    """Keyword arguments, the step cache as a list, sums with sum() at the end."""
    X, h0, Hs, Wx, Ws = cache
    dh, parts = None, []
    for t in range(len(X) - 1, -1, -1):
        dh_t = dHs[t] if dh is None else dHs[t] + dh
        out = rnn_step_backward(dh=dh_t, cache=[X[t], Hs[t - 1] if t else h0, Hs[t], Wx, Ws])  # noqa: F821
        parts.append(out)
        dh = out[1]
    dX = np.stack([p[0] for p in reversed(parts)])
    return dX, dh, sum(p[2] for p in parts), sum(p[3] for p in parts), sum(p[4] for p in parts)


def b_einsum_after_deltas(dHs, cache):
    """All δ first (carry inline), then every gradient as one einsum."""
    X, h0, Hs, Wx, Ws = cache
    T = len(X)
    D = np.empty_like(Hs)
    carry = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        D[t] = (dHs[t] + carry) * (1.0 - np.square(Hs[t]))
        carry = np.einsum("bh,hk->bk", D[t], Ws)
    H_prev = np.concatenate([h0[None], Hs[:-1]], axis=0)
    return (np.einsum("tbh,hd->tbd", D, Wx), carry, np.einsum("tbh,tbd->hd", D, X),
            np.einsum("tbh,tbk->hk", D, H_prev), np.einsum("tbh->h", D))


def _bptt(dHs, cache, *, delta=None, carry=None, dh=None, h_prev_at=None, scale_params=1.0):
    """An inline backward loop with one step replaced (each replacement is a learner's mistake)."""
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        h = Hs[t]
        h_prev = h_prev_at(Hs, h0, t) if h_prev_at else (Hs[t - 1] if t > 0 else h0)
        g = dh(dHs, dh_next, t, T) if dh else dHs[t] + dh_next
        d = delta(g, dHs[t], dh_next, h, h_prev) if delta else g * (1 - h ** 2)
        dX[t] = d @ Wx
        dWx += d.T @ X[t]
        dWs += d.T @ h_prev
        db += d.sum(axis=0)
        dh_next = carry(d, g, h, Ws) if carry else d @ Ws
    return dX, dh_next, dWx * scale_params, dWs * scale_params, db * scale_params


def b_tanh_prime_wrong_state(dHs, cache):
    return _bptt(dHs, cache, delta=lambda g, dhs, nxt, h, h_prev: g * (1 - h_prev ** 2))


def b_carry_after_tanh(dHs, cache):
    return _bptt(dHs, cache, delta=lambda g, dhs, nxt, h, h_prev: dhs * (1 - h ** 2) + nxt)


def b_hs_last_as_h0(dHs, cache):
    return _bptt(dHs, cache, h_prev_at=lambda Hs, h0, t: Hs[t - 1])


def b_dhs_ignored(dHs, cache):
    return _bptt(dHs, cache, dh=lambda dHs, nxt, t, T: dHs[t] if t == T - 1 else nxt)


def b_tanh_prime_formula(dHs, cache):
    return _bptt(dHs, cache, delta=lambda g, dhs, nxt, h, h_prev: g * (1 - h) ** 2)


def b_carry_tanh_twice(dHs, cache):
    return _bptt(dHs, cache, carry=lambda d, g, h, Ws: (d * (1 - h ** 2)) @ Ws)


def b_mean_over_time(dHs, cache):
    return _bptt(dHs, cache, scale_params=1.0 / cache[0].shape[0])


def b_carry_halved(dHs, cache):
    return _bptt(dHs, cache, carry=lambda d, g, h, Ws: 0.5 * (d @ Ws))


def b_step_no_carry(dHs, cache):
    """Reuses the (correct) step function but passes dHs[t] alone."""
    X, h0, Hs, Wx, Ws = cache
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    dh_next = np.zeros_like(h0)
    for t in reversed(range(len(X))):
        h_prev = Hs[t - 1] if t > 0 else h0
        dX[t], dh_next, a, c, e = rnn_step_backward(dHs[t], (X[t], h_prev, Hs[t], Wx, Ws))  # noqa: F821
        dWx, dWs, db = dWx + a, dWs + c, db + e
    return dX, dh_next, dWx, dWs, db


def b_step_cache_off_by_one(dHs, cache):
    """Reuses the step function with h and h_prev one step too early."""
    X, h0, Hs, Wx, Ws = cache
    T = len(X)
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        h = Hs[t - 1] if t > 0 else h0
        h_prev = Hs[t - 2] if t > 1 else h0
        dX[t], dh_next, a, c, e = rnn_step_backward(dHs[t] + dh_next, (X[t], h_prev, h, Wx, Ws))  # noqa: F821
        dWx, dWs, db = dWx + a, dWs + c, db + e
    return dX, dh_next, dWx, dWs, db


def b_step_hs_last_as_h0(dHs, cache):
    """Reuses the step function with h_prev = Hs[t-1] at every t (Hs[-1] at t=0)."""
    X, h0, Hs, Wx, Ws = cache
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    dh_next = np.zeros_like(h0)
    for t in reversed(range(len(X))):
        dX[t], dh_next, a, c, e = rnn_step_backward(dHs[t] + dh_next, (X[t], Hs[t - 1], Hs[t], Wx, Ws))  # noqa: F821
        dWx, dWs, db = dWx + a, dWs + c, db + e
    return dX, dh_next, dWx, dWs, db


def b_step_dhs_ignored(dHs, cache):
    """Reuses the step function but feeds it only the carried gradient before t=T."""
    X, h0, Hs, Wx, Ws = cache
    T = len(X)
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        h_prev = Hs[t - 1] if t > 0 else h0
        dh = dHs[t] if t == T - 1 else dh_next
        dX[t], dh_next, a, c, e = rnn_step_backward(dh, (X[t], h_prev, Hs[t], Wx, Ws))  # noqa: F821
        dWx, dWs, db = dWx + a, dWs + c, db + e
    return dX, dh_next, dWx, dWs, db


def b_step_overwrites(dHs, cache):
    """Reuses the step function but keeps only the last step's parameter gradients (= instead of +=)."""
    X, h0, Hs, Wx, Ws = cache
    dX = np.zeros_like(X)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(len(X))):
        h_prev = Hs[t - 1] if t > 0 else h0
        dX[t], dh_next, dWx, dWs, db = rnn_step_backward(dHs[t] + dh_next,  # noqa: F821
                                                         (X[t], h_prev, Hs[t], Wx, Ws))
    return dX, dh_next, dWx, dWs, db


# ---------------------------------------------------------------------------
# output_backward
# ---------------------------------------------------------------------------

def ob_ok_tensordot(dO, Hs, Wy):
    return np.matmul(dO, Wy), np.tensordot(dO, Hs, axes=([0, 1], [0, 1])), dO.sum(axis=(0, 1))


def ob_dwy_mean_over_time(dO, Hs, Wy):
    T = dO.shape[0]
    return dO @ Wy, np.einsum("tbk,tbh->kh", dO, Hs) / T, dO.sum(axis=(0, 1))


def ob_dc_batch_mean(dO, Hs, Wy):
    return dO @ Wy, np.einsum("tbk,tbh->kh", dO, Hs), dO.sum(axis=0).mean(axis=0)


def ob_dhs_accumulated(dO, Hs, Wy):
    """Carries dHs back in time as if the output layer were recurrent."""
    dHs = np.zeros_like(Hs)
    running = np.zeros_like(Hs[0])
    for t in reversed(range(len(Hs))):
        running = running + dO[t] @ Wy
        dHs[t] = running
    return dHs, np.einsum("tbk,tbh->kh", dO, Hs), dO.sum(axis=(0, 1))


def ob_dhs_wy_squared(dO, Hs, Wy):
    K, H = Wy.shape
    return dO @ Wy @ (Wy.T @ Wy) / K, np.einsum("tbk,tbh->kh", dO, Hs), dO.sum(axis=(0, 1))


# ---------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------

def _g(grade, **kw):
    return functools.partial(grade, **kw)


SF, SB, F = G.grade_rnn_step_forward, G.grade_rnn_step_backward, G.grade_rnn_forward
BP = _g(G.grade_rnn_backward, part="parameters")
BI = _g(G.grade_rnn_backward, part="inputs")
BA = G.grade_rnn_backward
OB = G.grade_output_backward

_SFW = dict(rnn_step_forward=step_forward)
_SBW = dict(rnn_step_backward=step_backward)

CASES = [
    # rnn_step_forward
    (SF, "stacked weights", sf_ok_stacked, None),
    (SF, "row by row, matrix-vector", sf_ok_rows, None),
    (SF, "tanh of each term", sf_tanh_per_term, "each part alone is right, but not their combination"),
    (SF, "bias added after tanh", sf_bias_after_tanh, "the term at fault is the bias"),
    (SF, "sigmoid instead of tanh", sf_sigmoid, "the mistake is in what they all share: the nonlinearity"),
    (SF, "recurrent term after tanh", sf_recurrent_after_tanh, "the term at fault is the recurrent term"),
    (SF, "reshape instead of transpose", sf_reshape_not_transpose, "right for a batch of one row (B = 1)"),
    # rnn_step_backward
    (SB, "tensordot, tanh' as dh - dh h^2", sb_ok_tensordot, None),
    (SB, "tanh' of h_prev", sb_tanh_prime_of_h_prev, "tanh′ is taken of the wrong state"),
    (SB, "(1 - h)^2 for tanh'", sb_one_minus_h_squared_wrong, "so the tanh′ factor itself is wrong"),
    (SB, "tanh applied to h again in tanh'", sb_tanh_applied_again, "so the tanh′ factor itself is wrong"),
    (SB, "dh added to dh_prev", sb_dh_prev_with_skip, "the mistake is in dh_prev = δ @ Ws (the gradient passed"),
    (SB, "dWx divided by B", sb_dwx_batch_mean, "divided by the batch size"),
    (SB, "dh instead of delta in dWs", sb_dws_without_delta, "the tanh′ factor is missing"),
    (SB, "tanh' multiplied into dh in place", sb_in_place_tanh_prime, "modified its argument(s) dh in place"),
    # rnn_forward
    (F, "loop over a correct rnn_step_forward", _calling(f_with_step, **_SFW), None),
    (F, "keyword arguments to the step, np.array", _calling(f_with_step_keywords, **_SFW), None),
    (_passes_naming(F, "The errors come from your rnn_step_forward"), "correct loop over a step without tanh",
     _calling(f_with_step, rnn_step_forward=step_forward_no_tanh), None),
    (_passes_naming(F, "The errors come from your rnn_step_forward"), "correct loop over an unimplemented step",
     _calling(f_with_step, rnn_step_forward=step_forward_unimplemented), None),
    (F, "h0 ignored (Hs[t-1] at t=0)", _calling(f_h0_ignored, **_SFW), "h0 is ignored"),
    (F, "loop starts at t=1", f_loop_from_one, "even with Ws = 0"),
    (F, "inputs reversed (miss named)", _calling(f_inputs_reversed, **_SFW),
     "where X[0] (x⁽¹⁾) belongs; the other arguments are right"),
    (F, "Ws.T passed to the step (miss named)", _calling(f_ws_transposed_in_loop, **_SFW),
     "Ws is Ws.T where Ws belongs; the other arguments are right"),
    (F, "recurrent term after tanh (inline)", f_recurrent_after_tanh, "the recurrent term is at fault"),
    (F, "reversed inputs over a step without tanh: both wrong", _calling(f_inputs_reversed,
                                                                        rnn_step_forward=step_forward_no_tanh),
     "judged with a correct rnn_step_forward standing in for yours"),
    # rnn_backward
    (BA, "loop over a correct rnn_step_backward", _calling(b_with_step, **_SBW), None),
    (BA, "keywords, list cache, sum()", _calling(b_with_step_list_cache, **_SBW), None),
    (BA, "deltas then einsum", b_einsum_after_deltas, None),
    (_passes_naming(BP, "The errors come from your rnn_step_backward"), "correct loop over a step without tanh'",
     _calling(b_with_step, rnn_step_backward=step_backward_no_tanh_prime), None),
    (_passes_naming(BI, "The errors come from your rnn_step_backward"),
     "correct loop over a step without tanh' (inputs)",
     _calling(b_with_step, rnn_step_backward=step_backward_no_tanh_prime), None),
    (_passes_naming(BP, "The errors come from your rnn_step_backward"), "correct loop over an unimplemented step",
     _calling(b_with_step, rnn_step_backward=step_backward_unimplemented), None),
    (BP, "tanh' of the wrong state", b_tanh_prime_wrong_state, "tanh′ is taken of the wrong state"),
    (BI, "tanh' of the wrong state (inputs)", b_tanh_prime_wrong_state, "tanh′ is taken of the wrong state"),
    (BP, "carry added after tanh'", b_carry_after_tanh, "the carried gradient is added after the tanh′ factor"),
    (BP, "Hs[-1] as h0", b_hs_last_as_h0, "Hs[t-1] with t=0 wraps around"),
    (BP, "dHs ignored before T", b_dhs_ignored, "dHs[t] is added only at t=T"),
    (BI, "dHs ignored before T (inputs)", b_dhs_ignored, "dHs[t] is added only at t=T"),
    (BP, "(1 - h)^2 for tanh'", b_tanh_prime_formula, "the tanh′ factor itself is wrong"),
    (BP, "tanh' twice in the carry", b_carry_tanh_twice, "it must pass through tanh′ of its step exactly once"),
    (BP, "mean over time", b_mean_over_time, "the sum over time is wrong"),
    (BI, "carry halved", b_carry_halved, "the gradient carried back from step t+1 (and so dh0) is wrong"),
    (BP, "step reused without the carry (miss named)", _calling(b_step_no_carry, **_SBW),
     "alone (without the gradient carried back from step"),
    (BP, "step reused without the carry (variant too)", _calling(b_step_no_carry, **_SBW),
     "only the last step is right"),
    (BP, "step reused with the cache one step off (miss named)", _calling(b_step_cache_off_by_one, **_SBW),
     "cache[2] (h) is Hs["),
    (BP, "step reused with Hs[-1] as h0 (miss named)", _calling(b_step_hs_last_as_h0, **_SBW),
     "cache[1] (h_prev) is Hs["),
    (BP, "step reused with Hs[-1] as h0 (miss names h0)", _calling(b_step_hs_last_as_h0, **_SBW),
     "where h0 belongs; the other arguments are right"),
    (BP, "step reused with Hs[-1] as h0 (variant too)", _calling(b_step_hs_last_as_h0, **_SBW),
     "Hs[t-1] with t=0 wraps around"),
    (BI, "step reused, dHs ignored before T (miss named)", _calling(b_step_dhs_ignored, **_SBW),
     "dh is dh_next alone (the carried gradient without dHs["),
    (BI, "step reused, dHs ignored before T (variant too)", _calling(b_step_dhs_ignored, **_SBW),
     "dHs[t] is added only at t=T"),
    (BP, "step reused, = instead of += (step fine)", _calling(b_step_overwrites, **_SBW),
     "Your rnn_step_backward is not at fault here"),
    (BP, "step reused, = instead of += (diagnosis)", _calling(b_step_overwrites, **_SBW),
     "only the contribution of t=1"),
    (BP, "= instead of += over a step without tanh': both wrong",
     _calling(b_step_overwrites, rnn_step_backward=step_backward_no_tanh_prime),
     "Your rnn_step_backward is also wrong"),
    # output_backward
    (OB, "tensordot", ob_ok_tensordot, None),
    (OB, "dWy averaged over time", ob_dwy_mean_over_time, "the sum over time is wrong"),
    (OB, "dc averaged over the batch", ob_dc_batch_mean, "right for a batch of one row (B = 1)"),
    (OB, "dHs accumulated back in time", ob_dhs_accumulated, "dHs[t] comes from dO[t] alone"),
    (OB, "dHs through Wy twice", ob_dhs_wy_squared, "dHs is wrong even for a single step"),
]
