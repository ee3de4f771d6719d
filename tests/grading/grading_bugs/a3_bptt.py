"""a3-bptt: learner-style mistakes named by the catalogue, the probes and the oracle, and valid variants.

Collected in course order by ``grading_bugs`` (tests/grading/grading_bugs/__init__.py, which gives the
format ``(grader, label, fn, expected)``; ``expected=None`` for a valid implementation).
The first part has the classic bugs of each graded function; in the second, out-of-catalogue ones are
named by the probe cases (a term switched off at a time), and sequence functions that reuse the learner's
step function are judged with a correct step standing in (the oracle): a step mistake costs only the
step's cell.

Sequence functions that call a step function by name get it through their globals
(``_calling``), as in a notebook, so the oracle can stand in for it.
"""
from __future__ import annotations

import sys
import types
import warnings

import numpy as np

from rnnkit.grading.engine import Verdict

from . import by_id

# ---------------------------------------------------------------------------
# step forward
# ---------------------------------------------------------------------------


def step_fwd_ok(x, h_prev, Wx, Ws, b):
    h = np.tanh(x @ Wx.T + h_prev @ Ws.T + b)
    return h, (x, h_prev, h, Wx, Ws)


def step_fwd_ok_columns(x, h_prev, Wx, Ws, b):
    # column-vector algebra, as in the book, transposed back
    h = np.tanh((Wx @ x.T + Ws @ h_prev.T + b[:, None]).T)
    return h, (x, h_prev, h, Wx, Ws)


def step_fwd_ok_einsum(x, h_prev, Wx, Ws, b):
    h = np.tanh(np.einsum("hd,bd->bh", Wx, x) + np.einsum("hk,bk->bh", Ws, h_prev) + b)
    return h, (x, h_prev, h, Wx, Ws)


def step_fwd_no_tanh(x, h_prev, Wx, Ws, b):
    h = x @ Wx.T + h_prev @ Ws.T + b
    return h, (x, h_prev, h, Wx, Ws)


def step_fwd_ws_not_t(x, h_prev, Wx, Ws, b):
    h = np.tanh(x @ Wx.T + h_prev @ Ws + b)
    return h, (x, h_prev, h, Wx, Ws)


def step_fwd_no_bias(x, h_prev, Wx, Ws, b):
    h = np.tanh(x @ Wx.T + h_prev @ Ws.T)
    return h, (x, h_prev, h, Wx, Ws)


def step_fwd_wx_not_t(x, h_prev, Wx, Ws, b):
    h = np.tanh(x @ Wx + h_prev @ Ws.T + b)  # fails with a shape error since D != H
    return h, (x, h_prev, h, Wx, Ws)


class AlwaysEqual(np.ndarray):
    """An ndarray subclass that claims to equal anything."""
    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool)

    def __sub__(self, other):
        return np.zeros(np.shape(self))

    __rsub__ = __sub__


def step_fwd_always_equal(x, h_prev, Wx, Ws, b):
    h = np.zeros((x.shape[0], Wx.shape[0])).view(AlwaysEqual)
    return h, None


class Liar:
    shape = None

    def __eq__(self, other):
        return True


def step_fwd_liar(x, h_prev, Wx, Ws, b):
    return Liar(), None


def step_fwd_nan(x, h_prev, Wx, Ws, b):
    return np.full((x.shape[0], Wx.shape[0]), np.nan), None


def step_fwd_raises(x, h_prev, Wx, Ws, b):
    raise KeyError("oops")


def step_fwd_noisy_ok(x, h_prev, Wx, Ws, b):
    """Correct, but prints to stderr, warns, and overflows: none of it may cost points."""
    print("debug output", file=sys.stderr)
    warnings.warn("a learner's own warning")
    np.exp(np.array([1000.0]))
    return step_fwd_ok(x, h_prev, Wx, Ws, b)


def step_fwd_mutates_ok(x, h_prev, Wx, Ws, b):
    """Right h, but scribbles over its inputs afterwards: the cache, which holds them, is wrong."""
    out = step_fwd_ok(x, h_prev, Wx, Ws, b)
    h = out[0].copy()
    x[...] = 0.0
    Wx[...] = 0.0
    return h, (x, h_prev, h, Wx, Ws)


def step_fwd_writes_into_b(x, h_prev, Wx, Ws, b):
    """Right h and cache, but adds the bias in place into b's own array afterwards (b is not in the cache)."""
    a = x @ Wx.T + h_prev @ Ws.T
    a += b
    b *= 0.0
    h = np.tanh(a)
    return h, (x, h_prev, h, Wx, Ws)


# ---------------------------------------------------------------------------
# step backward
# ---------------------------------------------------------------------------

def step_bwd_ok(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1 - h ** 2)
    return d @ Wx, d @ Ws, d.T @ x, d.T @ h_prev, d.sum(axis=0)


def step_bwd_ok_einsum(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1 - h * h)
    return (np.einsum("bh,hd->bd", d, Wx), np.einsum("bh,hk->bk", d, Ws), np.einsum("bh,bd->hd", d, x),
            np.einsum("bh,bk->hk", d, h_prev), np.einsum("bh->h", d))


def step_bwd_ok_loop_over_batch(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    for i in range(x.shape[0]):
        d = dh[i] * (1 - h[i] ** 2)
        dWx += np.outer(d, x[i])
        dWs += np.outer(d, h_prev[i])
        db += d
    d = dh * (1 - h ** 2)
    return list((d @ Wx, d @ Ws, dWx, dWs, db))


def step_bwd_no_tanh_prime(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh
    return d @ Wx, d @ Ws, d.T @ x, d.T @ h_prev, d.sum(axis=0)


def step_bwd_h_for_h_prev(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1 - h ** 2)
    return d @ Wx, d @ Ws, d.T @ x, d.T @ h, d.sum(axis=0)


def step_bwd_transposed_wx(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1 - h ** 2)
    return d @ Wx, d @ Ws, x.T @ d, d.T @ h_prev, d.sum(axis=0)


def step_bwd_transposed_ws(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1 - h ** 2)
    return d @ Wx, d @ Ws, d.T @ x, h_prev.T @ d, d.sum(axis=0)


def step_bwd_carry_ws_t(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1 - h ** 2)
    return d @ Wx, d @ Ws.T, d.T @ x, d.T @ h_prev, d.sum(axis=0)


def step_bwd_db_not_summed(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1 - h ** 2)
    return d @ Wx, d @ Ws, d.T @ x, d.T @ h_prev, d


def step_bwd_batch_mean(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1 - h ** 2)
    B = x.shape[0]
    return d @ Wx, d @ Ws, d.T @ x / B, d.T @ h_prev / B, d.mean(axis=0)


def step_bwd_wrong_count(dh, cache):
    return step_bwd_ok(dh, cache)[:4]


# ---------------------------------------------------------------------------
# sequence forward
# ---------------------------------------------------------------------------

def fwd_ok(X, h0, Wx, Ws, b):
    Hs, h = [], h0
    for x in X:
        h = np.tanh(x @ Wx.T + h @ Ws.T + b)
        Hs.append(h)
    Hs = np.stack(Hs)
    return Hs, (X, h0, Hs, Wx, Ws)


def fwd_ok_hoisted(X, h0, Wx, Ws, b):
    A = np.einsum("tbd,hd->tbh", X, Wx) + b
    Hs = np.empty_like(A)
    h = h0
    for t in range(X.shape[0]):
        h = Hs[t] = np.tanh(A[t] + h @ Ws.T)
    return Hs, (X, h0, Hs, Wx, Ws)


def fwd_not_carried(X, h0, Wx, Ws, b):
    Hs = np.stack([np.tanh(x @ Wx.T + h0 @ Ws.T + b) for x in X])
    return Hs, (X, h0, Hs, Wx, Ws)


def fwd_shifted(X, h0, Wx, Ws, b):
    Hs, h = [], h0
    for x in X:
        Hs.append(h)
        h = np.tanh(x @ Wx.T + h @ Ws.T + b)
    Hs = np.stack(Hs)
    return Hs, (X, h0, Hs, Wx, Ws)


def fwd_with_h0(X, h0, Wx, Ws, b):
    Hs, h = [h0], h0
    for x in X:
        h = np.tanh(x @ Wx.T + h @ Ws.T + b)
        Hs.append(h)
    Hs = np.stack(Hs)
    return Hs, (X, h0, Hs, Wx, Ws)


def fwd_ws_not_t(X, h0, Wx, Ws, b):
    Hs, h = [], h0
    for x in X:
        h = np.tanh(x @ Wx.T + h @ Ws + b)
        Hs.append(h)
    Hs = np.stack(Hs)
    return Hs, (X, h0, Hs, Wx, Ws)


def fwd_returns_only_hs(X, h0, Wx, Ws, b):
    return fwd_ok(X, h0, Wx, Ws, b)[0]


# ---------------------------------------------------------------------------
# BPTT
# ---------------------------------------------------------------------------

def _bptt(dHs, cache, *, carry=True, tanh_prime=True, h_prev_ok=True, accumulate=True, carry_mode="delta"):
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        h = Hs[t]
        h_prev = Hs[t - 1] if t > 0 else h0
        dh = dHs[t] + dh_next if carry else dHs[t]
        d = dh * (1 - h ** 2) if tanh_prime else dh
        dX[t] = d @ Wx
        terms = (d.T @ X[t], d.T @ (h_prev if h_prev_ok else h), d.sum(0))
        if accumulate:
            dWx += terms[0]
            dWs += terms[1]
            db += terms[2]
        else:
            dWx, dWs, db = terms
        dh_next = {"delta": d @ Ws, "dh": dh @ Ws, "ws_t": d @ Ws.T}[carry_mode]
    return dX, dh_next, dWx, dWs, db


def bptt_ok(dHs, cache):
    return _bptt(dHs, cache)


def bptt_ok_vectorised(dHs, cache):
    """Deltas in a loop, then every parameter gradient as one contraction over (t, b)."""
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    D = np.zeros_like(Hs)
    dh = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        D[t] = (dHs[t] + dh) * (1 - Hs[t] ** 2)
        dh = D[t] @ Ws
    H_prev = np.concatenate([h0[None], Hs[:-1]])
    return (D @ Wx, dh, np.einsum("tbh,tbd->hd", D, X), np.einsum("tbh,tbk->hk", D, H_prev),
            D.sum(axis=(0, 1)))


def bptt_ok_forward_order_sum(dHs, cache):
    """Deltas first, then the sums taken from t=1 upwards (a different summation order)."""
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    deltas = [None] * T
    dh = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        deltas[t] = (dHs[t] + dh) * (1 - Hs[t] ** 2)
        dh = deltas[t] @ Ws
    dWx, dWs, db = 0.0, 0.0, 0.0
    for t in range(T):
        h_prev = h0 if t == 0 else Hs[t - 1]
        dWx = dWx + deltas[t].T @ X[t]
        dWs = dWs + deltas[t].T @ h_prev
        db = db + deltas[t].sum(0)
    return np.stack([d @ Wx for d in deltas]), dh, dWx, dWs, db


def bptt_no_carry(dHs, cache):
    return _bptt(dHs, cache, carry=False)


def bptt_h_for_h_prev(dHs, cache):
    return _bptt(dHs, cache, h_prev_ok=False)


def bptt_no_tanh_prime(dHs, cache):
    return _bptt(dHs, cache, tanh_prime=False)


def bptt_not_summed(dHs, cache):
    return _bptt(dHs, cache, accumulate=False)


def bptt_only_last_step(dHs, cache):
    X, h0, Hs, Wx, Ws = cache
    dX, dh0, _, _, _ = _bptt(dHs, cache)
    d = dHs[-1] * (1 - Hs[-1] ** 2)
    h_prev = Hs[-2] if len(Hs) > 1 else h0
    return dX, dh0, d.T @ X[-1], d.T @ h_prev, d.sum(0)


def bptt_carry_skips_tanh(dHs, cache):
    return _bptt(dHs, cache, carry_mode="dh")


def bptt_carry_ws_t(dHs, cache):
    return _bptt(dHs, cache, carry_mode="ws_t")


def bptt_transposed_ws(dHs, cache):
    dX, dh0, dWx, dWs, db = _bptt(dHs, cache)
    return dX, dh0, dWx, dWs.T, db


def bptt_transposed_wx(dHs, cache):
    dX, dh0, dWx, dWs, db = _bptt(dHs, cache)
    return dX, dh0, dWx.T, dWs, db


def bptt_db_not_summed_over_time(dHs, cache):
    X, h0, Hs, Wx, Ws = cache
    dX, dh0, dWx, dWs, _ = _bptt(dHs, cache)
    D = np.zeros_like(Hs)
    dh = np.zeros_like(h0)
    for t in range(len(X) - 1, -1, -1):
        D[t] = (dHs[t] + dh) * (1 - Hs[t] ** 2)
        dh = D[t] @ Ws
    return dX, dh0, dWx, dWs, D.sum(axis=1)


def bptt_zero_dh0(dHs, cache):
    dX, dh0, dWx, dWs, db = _bptt(dHs, cache)
    return dX, np.zeros_like(dh0), dWx, dWs, db




def bptt_lists(dHs, cache):
    return tuple(x.tolist() for x in _bptt(dHs, cache))


def bptt_complex(dHs, cache):
    return tuple(x.astype(complex) for x in _bptt(dHs, cache))


# ---------------------------------------------------------------------------
# output layer
# ---------------------------------------------------------------------------

def out_ok(dO, Hs, Wy):
    K, H = Wy.shape
    return dO @ Wy, dO.reshape(-1, K).T @ Hs.reshape(-1, H), dO.reshape(-1, K).sum(0)


def out_ok_loop(dO, Hs, Wy):
    dHs = np.zeros_like(Hs)
    dWy = np.zeros_like(Wy)
    dc = np.zeros(Wy.shape[0])
    for t in range(len(Hs)):
        dHs[t] = dO[t] @ Wy
        dWy += dO[t].T @ Hs[t]
        dc += dO[t].sum(0)
    return dHs, dWy, dc


def out_only_last(dO, Hs, Wy):
    return dO @ Wy, dO[-1].T @ Hs[-1], dO[-1].sum(0)


def out_transposed_wy(dO, Hs, Wy):
    dHs, dWy, dc = out_ok(dO, Hs, Wy)
    return dHs, dWy.T, dc


def out_dc_not_summed(dO, Hs, Wy):
    dHs, dWy, dc = out_ok(dO, Hs, Wy)
    return dHs, dWy, dO.sum(axis=0)


# ---------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------

def _both(first, second):
    """A grader that runs both cells of one function (rnn_backward's parameters and inputs): passes when both do."""
    def grade(fn, *, rng=None):
        verdicts = [first(fn, rng=rng), second(fn, rng=rng)]
        return Verdict(all(v.passed for v in verdicts), "\n".join(v.message for v in verdicts))
    grade.__name__ = "test_rnn_backward_parameters_and_inputs"
    return grade


SF, SB, F = by_id("test_rnn_step_forward"), by_id("test_rnn_step_backward"), by_id("test_rnn_forward")
BP, BI, OB = by_id("test_rnn_backward_parameters"), by_id("test_rnn_backward_inputs"), by_id("test_output_backward")
BA = _both(BP, BI)

CASES = [
    # rnn_step_forward
    (SF, "loop-free row form", step_fwd_ok, None),
    (SF, "column-vector form", step_fwd_ok_columns, None),
    (SF, "einsum", step_fwd_ok_einsum, None),
    (SF, "correct but noisy (stderr, warning, overflow)", step_fwd_noisy_ok, None),
    (SF, "mutates its inputs", step_fwd_mutates_ok, "in place"),
    (SF, "missing tanh", step_fwd_no_tanh, "tanh is missing"),
    (SF, "Ws instead of Ws.T", step_fwd_ws_not_t, "uses Ws instead of Ws.T"),
    (SF, "missing bias", step_fwd_no_bias, "bias b is missing"),
    (SF, "Wx instead of Wx.T", step_fwd_wx_not_t, "raised ValueError"),
    (SF, "always-equal ndarray subclass", step_fwd_always_equal, "h is wrong"),
    (SF, "object claiming equality", step_fwd_liar, "must be a numpy array"),
    (SF, "NaN output", step_fwd_nan, "NaN or infinity"),
    (SF, "raises", step_fwd_raises, "raised KeyError"),
    (SF, "not a function", None, "is not a function"),
    # rnn_step_backward
    (SB, "matrix form", step_bwd_ok, None),
    (SB, "einsum", step_bwd_ok_einsum, None),
    (SB, "loop over the batch, list output", step_bwd_ok_loop_over_batch, None),
    (SB, "missing tanh'", step_bwd_no_tanh_prime, "tanh′ factor is missing"),
    (SB, "h for h_prev in dWs", step_bwd_h_for_h_prev, "where h⁽ᵗ⁻¹⁾ belongs"),
    (SB, "transposed dWx (shape)", step_bwd_transposed_wx, "looks transposed"),
    (SB, "transposed dWs (values)", step_bwd_transposed_ws, "dWs is transposed"),
    (SB, "carry with Ws.T", step_bwd_carry_ws_t, "uses Ws.T"),
    (SB, "db not summed over the batch", step_bwd_db_not_summed, "db still has the batch axis"),
    (SB, "divided by the batch size", step_bwd_batch_mean, "divided by the batch size"),
    (SB, "returns four values", step_bwd_wrong_count, "must return 5 values"),
    # rnn_forward
    (F, "list and stack", fwd_ok, None),
    (F, "input projection hoisted out of the loop", fwd_ok_hoisted, None),
    (F, "state not carried", fwd_not_carried, "state is not carried"),
    (F, "Hs shifted by one step", fwd_shifted, "shifted by one step"),
    (F, "Hs includes h0", fwd_with_h0, "Hs includes h0"),
    (F, "Ws instead of Ws.T", fwd_ws_not_t, "uses Ws instead of Ws.T"),
    (F, "returns only Hs", fwd_returns_only_hs, "must return 2 values"),
    # rnn_backward, both graded parts and all outputs
    (BA, "loop with step-by-step sums", bptt_ok, None),
    (BA, "vectorised parameter gradients", bptt_ok_vectorised, None),
    (BA, "sums taken in forward order", bptt_ok_forward_order_sum, None),
    (BP, "no carry of the next-step gradient", bptt_no_carry, "only the last step is right"),
    (BI, "no carry of the next-step gradient (dX)", bptt_no_carry, "the first wrong step is t="),
    (BI, "no carry of the next-step gradient (dX diagnosis)", bptt_no_carry, "only the last step is right"),
    (BP, "h_t where h_{t-1} belongs", bptt_h_for_h_prev, "where h⁽ᵗ⁻¹⁾ belongs"),
    (BP, "missing tanh'", bptt_no_tanh_prime, "tanh′ factor is missing"),
    (BI, "missing tanh' (inputs)", bptt_no_tanh_prime, "tanh′ factor is missing"),
    (BP, "overwritten instead of summed", bptt_not_summed, "only the contribution of t=1"),
    (BP, "only the last step's contribution", bptt_only_last_step, "only the contribution of the last step"),
    (BP, "carry skips tanh'", bptt_carry_skips_tanh, "skips tanh′"),
    (BP, "carry with Ws.T", bptt_carry_ws_t, "uses Ws.T"),
    (BP, "transposed dWs", bptt_transposed_ws, "dWs is transposed"),
    (BP, "transposed dWx", bptt_transposed_wx, "looks transposed"),
    (BP, "db not summed over the batch", bptt_db_not_summed_over_time, "db still has the time and/or batch"),
    (BI, "dh0 left at zero", bptt_zero_dh0, "dh0 is wrong"),
    (BA, "lists instead of arrays", bptt_lists, "must be a numpy array"),
    (BA, "complex arrays", bptt_complex, "must be a float array"),
    # output layer
    (OB, "reshape and matmul", out_ok, None),
    (OB, "loop over time", out_ok_loop, None),
    (OB, "only the last step", out_only_last, "only the last step"),
    (OB, "transposed dWy", out_transposed_wy, "dWy is transposed"),
    (OB, "dc not summed over time", out_dc_not_summed, "dc still has the time and/or batch axes"),
]


# ===========================================================================
# More mistakes and valid alternatives, graded function by graded function
# ===========================================================================

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


def _bptt_replacing(dHs, cache, *, delta=None, carry=None, dh=None, h_prev_at=None, scale_params=1.0):
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
    return _bptt_replacing(dHs, cache, delta=lambda g, dhs, nxt, h, h_prev: g * (1 - h_prev ** 2))


def b_carry_after_tanh(dHs, cache):
    return _bptt_replacing(dHs, cache, delta=lambda g, dhs, nxt, h, h_prev: dhs * (1 - h ** 2) + nxt)


def b_hs_last_as_h0(dHs, cache):
    return _bptt_replacing(dHs, cache, h_prev_at=lambda Hs, h0, t: Hs[t - 1])


def b_dhs_ignored(dHs, cache):
    return _bptt_replacing(dHs, cache, dh=lambda dHs, nxt, t, T: dHs[t] if t == T - 1 else nxt)


def b_tanh_prime_formula(dHs, cache):
    return _bptt_replacing(dHs, cache, delta=lambda g, dhs, nxt, h, h_prev: g * (1 - h) ** 2)


def b_carry_tanh_twice(dHs, cache):
    return _bptt_replacing(dHs, cache, carry=lambda d, g, h, Ws: (d * (1 - h ** 2)) @ Ws)


def b_mean_over_time(dHs, cache):
    return _bptt_replacing(dHs, cache, scale_params=1.0 / cache[0].shape[0])


def b_carry_halved(dHs, cache):
    return _bptt_replacing(dHs, cache, carry=lambda d, g, h, Ws: 0.5 * (d @ Ws))


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

_SFW = dict(rnn_step_forward=step_forward)
_SBW = dict(rnn_step_backward=step_backward)

CASES += [
    # rnn_step_forward
    (SF, "stacked weights", sf_ok_stacked, None),
    (SF, "row by row, matrix-vector", sf_ok_rows, None),
    (SF, "tanh of each term", sf_tanh_per_term, "each part alone is right, but not their combination"),
    (SF, "bias added after tanh", sf_bias_after_tanh, "the term at fault is the bias"),
    (SF, "sigmoid instead of tanh", sf_sigmoid, "the mistake is in what they all share: the nonlinearity"),
    (SF, "recurrent term after tanh", sf_recurrent_after_tanh, "the term at fault is the recurrent term"),
    (SF, "reshape instead of transpose", sf_reshape_not_transpose, "right for a batch of one row (B = 1)"),
    (_passes_naming(SF, "modified its argument(s) b in place. That costs no points"),
     "writes into b, h and cache right", step_fwd_writes_into_b, None),
    # rnn_step_backward
    (SB, "tensordot, tanh' as dh - dh h^2", sb_ok_tensordot, None),
    (SB, "tanh' of h_prev", sb_tanh_prime_of_h_prev, "tanh′ is taken of the wrong state"),
    (SB, "(1 - h)^2 for tanh'", sb_one_minus_h_squared_wrong, "so the tanh′ factor itself is wrong"),
    (SB, "tanh applied to h again in tanh'", sb_tanh_applied_again, "so the tanh′ factor itself is wrong"),
    (SB, "dh added to dh_prev", sb_dh_prev_with_skip, "the mistake is in dh_prev = δ @ Ws (the gradient passed"),
    (SB, "dWx divided by B", sb_dwx_batch_mean, "divided by the batch size"),
    (SB, "dh instead of delta in dWs", sb_dws_without_delta, "the tanh′ factor is missing"),
    (_passes_naming(SB, "modified its argument(s) dh in place. That costs no points here"),
     "tanh' multiplied into dh in place", sb_in_place_tanh_prime, None),  # right values: passes, with the note
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


# ===========================================================================
# The engine's diagnoses (issue #19): caches, arguments written into, crashes on one case, call counts
# ===========================================================================

def _without(grader, phrase: str):
    """A grader that also requires a failing verdict NOT to say ``phrase`` (a diagnosis that points away)."""
    def grade(fn, *, rng=None):
        verdict = grader(fn, rng=rng)
        if phrase in verdict.message:
            return Verdict(False, f"the message says {phrase!r}, which points away from the fault")
        return verdict
    grade.__name__ = getattr(grader, "__name__", "grade")
    return grade


def sf_cache_preactivation(x, h_prev, Wx, Ws, b):
    a = x @ Wx.T + h_prev @ Ws.T + b
    return np.tanh(a), (x, h_prev, a, Wx, Ws)


def sb_dh_not_multiplied(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = 1 - h ** 2  # dh * (1 - h ** 2)
    return d @ Wx, d @ Ws, d.T @ x, d.T @ h_prev, d.sum(axis=0)


def sb_tanh_prime_rebuilt(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    a = x @ Wx.T + h_prev @ Ws.T  # the bias is not in the cache
    d = dh * (1 - np.tanh(a) ** 2)
    return d @ Wx, d @ Ws, d.T @ x, d.T @ h_prev, d.sum(axis=0)


def b_tanh_prime_rebuilt(dHs, cache):
    """tanh′ from the pre-activation rebuilt from the cache (which has no b), in an inline loop."""
    X, h0, Hs, Wx, Ws = cache
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    dh_next = np.zeros_like(h0)
    for t in reversed(range(len(X))):
        h_prev = Hs[t - 1] if t > 0 else h0
        a = X[t] @ Wx.T + h_prev @ Ws.T
        d = (dHs[t] + dh_next) * (1 - np.tanh(a) ** 2)
        dX[t], dh_next = d @ Wx, d @ Ws
        dWx, dWs, db = dWx + d.T @ X[t], dWs + d.T @ h_prev, db + d.sum(0)
    return dX, dh_next, dWx, dWs, db


def f_cache_swapped(X, h0, Wx, Ws, b):
    Hs, _ = fwd_ok(X, h0, Wx, Ws, b)
    return Hs, (X, h0, Hs, Ws, Wx)


def b_carry_from_second_last_state(dHs, cache):
    """Starts the carry from the shape of Hs[-2]: an IndexError when T = 1 only."""
    X, h0, Hs, Wx, Ws = cache
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    dh_next = np.zeros_like(Hs[-2])
    for t in reversed(range(len(X))):
        h_prev = Hs[t - 1] if t > 0 else h0
        d = (dHs[t] + dh_next) * (1 - Hs[t] ** 2)
        dX[t], dh_next = d @ Wx, d @ Ws
        dWx, dWs, db = dWx + d.T @ X[t], dWs + d.T @ h_prev, db + d.sum(0)
    return dX, dh_next, dWx, dWs, db


def b_step_skips_first(dHs, cache):
    """Reuses the step function but its loop stops before t=0 (range(T - 1, 0, -1))."""
    X, h0, Hs, Wx, Ws = cache
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    dh_next = np.zeros_like(h0)
    for t in range(len(X) - 1, 0, -1):
        dX[t], dh_next, a, c, e = rnn_step_backward(dHs[t] + dh_next, (X[t], Hs[t - 1], Hs[t], Wx, Ws))  # noqa: F821
        dWx, dWs, db = dWx + a, dWs + c, db + e
    return dX, dh_next, dWx, dWs, db


CASES += [
    (SF, "cache holds the pre-activation", sf_cache_preactivation, "the cache holds the pre-activation"),
    (SB, "dh never multiplied in", sb_dh_not_multiplied, "the upstream gradient dh is never multiplied in"),
    (_without(SB, "wrong even where tanh′ = 1"), "tanh' from a pre-activation rebuilt without b",
     sb_tanh_prime_rebuilt, "tanh′ is computed from a pre-activation rebuilt from the cache"),
    (_without(BP, "wrong even where tanh′ = 1"), "tanh' from a pre-activation rebuilt without b (loop)",
     b_tanh_prime_rebuilt, "tanh′ is computed from a pre-activation rebuilt from the cache"),
    (F, "cache with Wx and Ws swapped", f_cache_swapped, "cache[3] (Wx) has shape"),
    (BP, "crashes only for T = 1 (sizes named)", b_carry_from_second_last_state, "on the case T=1, B=1, D=3, H=4"),
    (BP, "crashes only for T = 1 (line named)", b_carry_from_second_last_state,
     "dh_next = np.zeros_like(Hs[-2])"),
    (BP, "step reused, loop stops before t=1 (call count)", _calling(b_step_skips_first, **_SBW),
     "called rnn_step_backward"),
]
