"""Learner-style implementations for testing rnnkit.grading: classic bugs, cheats, and valid variants.

Each entry of ``CASES`` is ``(grader, label, function, expected)``:

* ``grader`` — a callable ``fn -> Verdict`` (a ``grade_*`` function with its options);
* ``expected`` — ``None`` for a valid implementation (must pass), otherwise a text
  fragment the failure message must contain (the named diagnosis).

Every implementation here is written the way a learner would write it — none of
them calls the grader's own buggy variants — so the table tests the diagnosis
honestly: the checker must recognise the mistake from its output alone.
"""
from __future__ import annotations

import functools
import sys
import warnings

import numpy as np

import rnnkit
from rnnkit import grading as G

# ---------------------------------------------------------------------------
# a3: step forward
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
    """Correct, but scribbles over its inputs afterwards."""
    out = step_fwd_ok(x, h_prev, Wx, Ws, b)
    h = out[0].copy()
    x[...] = 0.0
    Wx[...] = 0.0
    return h, None


# ---------------------------------------------------------------------------
# a3: step backward
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
# a3: sequence forward
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
    return Hs, None


def fwd_shifted(X, h0, Wx, Ws, b):
    Hs, h = [], h0
    for x in X:
        Hs.append(h)
        h = np.tanh(x @ Wx.T + h @ Ws.T + b)
    return np.stack(Hs), None


def fwd_with_h0(X, h0, Wx, Ws, b):
    Hs, h = [h0], h0
    for x in X:
        h = np.tanh(x @ Wx.T + h @ Ws.T + b)
        Hs.append(h)
    return np.stack(Hs), None


def fwd_ws_not_t(X, h0, Wx, Ws, b):
    Hs, h = [], h0
    for x in X:
        h = np.tanh(x @ Wx.T + h @ Ws + b)
        Hs.append(h)
    return np.stack(Hs), None


def fwd_returns_only_hs(X, h0, Wx, Ws, b):
    return fwd_ok(X, h0, Wx, Ws, b)[0]


# ---------------------------------------------------------------------------
# a3: BPTT
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
# a3: output layer
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

def _g(grade, **kw):
    return functools.partial(grade, **kw)


SF, SB, F = G.grade_rnn_step_forward, G.grade_rnn_step_backward, G.grade_rnn_forward
BP = _g(G.grade_rnn_backward, part="parameters")
BI = _g(G.grade_rnn_backward, part="inputs")
BA = G.grade_rnn_backward
OB = G.grade_output_backward

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


# ---------------------------------------------------------------------------
# a6: LSTM
# ---------------------------------------------------------------------------

def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def lstm_fwd_step(x, h_prev, c_prev, W, b, *, order="ifog", stack="hx", g_act=np.tanh, forget=True, tanh_c=True):
    H = h_prev.shape[1]
    z = np.concatenate([h_prev, x] if stack == "hx" else [x, h_prev], axis=1)
    a = z @ W.T + b
    blocks = dict(zip(order, (a[:, k * H:(k + 1) * H] for k in range(4))))
    i, f, o, g = _sigmoid(blocks["i"]), _sigmoid(blocks["f"]), _sigmoid(blocks["o"]), g_act(blocks["g"])
    c = (f * c_prev if forget else c_prev) + i * g
    h = o * (np.tanh(c) if tanh_c else c)
    return h, c, (x, h_prev, c_prev, i, f, o, g, c, W)


def lstm_sf_ok(x, h_prev, c_prev, W, b):
    return lstm_fwd_step(x, h_prev, c_prev, W, b)


def lstm_sf_ok_split_weights(x, h_prev, c_prev, W, b):
    """Separate state and input matrices, gates computed one at a time."""
    H = h_prev.shape[1]
    Wh, Wx = W[:, :H], W[:, H:]
    gate = [x @ Wx[k * H:(k + 1) * H].T + h_prev @ Wh[k * H:(k + 1) * H].T + b[k * H:(k + 1) * H] for k in range(4)]
    i, f, o = (0.5 * (1 + np.tanh(0.5 * a)) for a in gate[:3])
    g = np.tanh(gate[3])
    c = f * c_prev + i * g
    return o * np.tanh(c), c, (x, h_prev, c_prev, i, f, o, g, c, W)


def lstm_sf_torch_order(x, h_prev, c_prev, W, b):
    return lstm_fwd_step(x, h_prev, c_prev, W, b, order="ifgo")


def lstm_sf_xh_stack(x, h_prev, c_prev, W, b):
    return lstm_fwd_step(x, h_prev, c_prev, W, b, stack="xh")


def lstm_sf_g_sigmoid(x, h_prev, c_prev, W, b):
    return lstm_fwd_step(x, h_prev, c_prev, W, b, g_act=_sigmoid)


def lstm_sf_no_forget(x, h_prev, c_prev, W, b):
    return lstm_fwd_step(x, h_prev, c_prev, W, b, forget=False)


def lstm_sf_h_no_tanh(x, h_prev, c_prev, W, b):
    return lstm_fwd_step(x, h_prev, c_prev, W, b, tanh_c=False)


def lstm_step_bwd(dh, dc, cache, *, carry=True, forget=True, sigma_prime=True, tanh_c_prime=True,
                  g_prime=True, c_prev_ok=True, order="ifog"):
    x, h_prev, c_prev, i, f, o, g, c, W = cache
    H = h_prev.shape[1]
    tc = np.tanh(c)
    dct = (dc if carry else 0.0) + dh * o * ((1 - tc ** 2) if tanh_c_prime else 1.0)
    sp = (lambda s: s * (1 - s)) if sigma_prime else (lambda s: 1.0)
    grads = {"i": dct * g * sp(i), "f": dct * (c_prev if c_prev_ok else c) * sp(f), "o": dh * tc * sp(o),
             "g": dct * i * ((1 - g ** 2) if g_prime else 1.0)}
    da = np.concatenate([grads[k] for k in order], axis=1)
    z = np.concatenate([h_prev, x], axis=1)
    dz = da @ W
    return dz[:, H:], dz[:, :H], dct * f if forget else dct, da.T @ z, da.sum(0)


def lstm_sb_ok(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache)


def lstm_sb_ok_blockwise(dh, dc, cache):
    """Per-gate weight gradients assembled with slices and einsum."""
    x, h_prev, c_prev, i, f, o, g, c, W = cache
    H = h_prev.shape[1]
    tc = np.tanh(c)
    dct = dc + dh * o * (1 - tc * tc)
    das = [dct * g * i * (1 - i), dct * c_prev * f * (1 - f), dh * tc * o * (1 - o), dct * i * (1 - g * g)]
    dW = np.zeros_like(W)
    dh_prev = np.zeros_like(h_prev)
    dx = np.zeros_like(x)
    for k, da in enumerate(das):
        rows = slice(k * H, (k + 1) * H)
        dW[rows, :H] = np.einsum("bh,bk->hk", da, h_prev)
        dW[rows, H:] = np.einsum("bh,bd->hd", da, x)
        dh_prev += da @ W[rows, :H]
        dx += da @ W[rows, H:]
    return dx, dh_prev, dct * f, dW, np.concatenate([da.sum(0) for da in das])


def lstm_sb_no_cell_carry(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache, carry=False)


def lstm_sb_no_forget(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache, forget=False)


def lstm_sb_no_sigma_prime(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache, sigma_prime=False)


def lstm_sb_no_tanh_c_prime(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache, tanh_c_prime=False)


def lstm_sb_no_g_prime(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache, g_prime=False)


def lstm_sb_c_for_c_prev(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache, c_prev_ok=False)


def lstm_sb_gate_order(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache, order="ifgo")


def lstm_sb_transposed_dw(dh, dc, cache):
    dx, dh_prev, dc_prev, dW, db = lstm_step_bwd(dh, dc, cache)
    return dx, dh_prev, dc_prev, dW.T, db


def lstm_f_ok(X, h0, c0, W, b):
    h, c, Hs, caches = h0, c0, [], []
    for x in X:
        h, c, cache = lstm_fwd_step(x, h, c, W, b)
        Hs.append(h)
        caches.append(cache)
    return np.stack(Hs), caches


def lstm_f_no_cell_carry(X, h0, c0, W, b):
    h, Hs = h0, []
    for x in X:
        h, _, _ = lstm_fwd_step(x, h, c0, W, b)
        Hs.append(h)
    return np.stack(Hs), []


def lstm_bptt(dHs, caches, *, h_carry=True, c_carry=True, accumulate=True, **step_bugs):
    T = len(caches)
    dX = np.zeros((T,) + caches[0][0].shape)
    dW, db = np.zeros_like(caches[0][-1]), np.zeros(caches[0][-1].shape[0])
    dh, dc = np.zeros_like(caches[0][1]), np.zeros_like(caches[0][2])
    for t in reversed(range(T)):
        dX[t], dh_new, dc_new, dW_t, db_t = lstm_step_bwd(dHs[t] + (dh if h_carry else 0.0),
                                                          dc if c_carry else np.zeros_like(dc), caches[t], **step_bugs)
        dh, dc = dh_new, dc_new
        if accumulate:
            dW, db = dW + dW_t, db + db_t
        else:
            dW, db = dW_t, db_t
    return dX, dh, dc, dW, db


def lstm_b_ok(dHs, caches):
    return lstm_bptt(dHs, caches)


def lstm_b_ok_blockwise_steps(dHs, caches):
    T = len(caches)
    out, dh, dc = [], np.zeros_like(caches[0][1]), np.zeros_like(caches[0][2])
    for t in reversed(range(T)):
        g = lstm_sb_ok_blockwise(dHs[t] + dh, dc, caches[t])
        dh, dc = g[1], g[2]
        out.append(g)
    return (np.stack([g[0] for g in reversed(out)]), dh, dc, sum(g[3] for g in out), sum(g[4] for g in out))


def lstm_b_no_h_carry(dHs, caches):
    return lstm_bptt(dHs, caches, h_carry=False)


def lstm_b_no_cell_carry(dHs, caches):
    return lstm_bptt(dHs, caches, c_carry=False)


def lstm_b_no_forget(dHs, caches):
    return lstm_bptt(dHs, caches, forget=False)


def lstm_b_not_summed(dHs, caches):
    return lstm_bptt(dHs, caches, accumulate=False)


def lstm_b_gate_order(dHs, caches):
    return lstm_bptt(dHs, caches, order="ifgo")


LSF, LSB, LF = G.grade_lstm_step_forward, G.grade_lstm_step_backward, G.grade_lstm_forward
LBP = _g(G.grade_lstm_backward, part="parameters")
LBI = _g(G.grade_lstm_backward, part="inputs")
LBA = G.grade_lstm_backward

CASES += [
    (LSF, "stacked matrix", lstm_sf_ok, None),
    (LSF, "split weights, gate by gate", lstm_sf_ok_split_weights, None),
    (LSF, "PyTorch gate order i, f, g, o", lstm_sf_torch_order, "gate order is wrong"),
    (LSF, "[x, h_prev] stacking", lstm_sf_xh_stack, "W acts on [h_prev, x]"),
    (LSF, "sigmoid for g", lstm_sf_g_sigmoid, "candidate g must use tanh"),
    (LSF, "forget gate missing", lstm_sf_no_forget, "forget gate is missing"),
    (LSF, "h = o * c", lstm_sf_h_no_tanh, "tanh of the cell state is missing"),
    (LSB, "stacked", lstm_sb_ok, None),
    (LSB, "block by block with einsum", lstm_sb_ok_blockwise, None),
    (LSB, "missing cell-state carry", lstm_sb_no_cell_carry, "cell-state carry is missing"),
    (LSB, "forget gate forgotten on the cell path", lstm_sb_no_forget, "forget gate is forgotten on the cell path"),
    (LSB, "missing sigma'", lstm_sb_no_sigma_prime, "σ′ is missing"),
    (LSB, "missing tanh' of c", lstm_sb_no_tanh_c_prime, "tanh′ of the cell is missing"),
    (LSB, "missing tanh' of g", lstm_sb_no_g_prime, "tanh′ of the candidate is missing"),
    (LSB, "c_t where c_{t-1} belongs", lstm_sb_c_for_c_prev, "c_(t−1) belongs"),
    (LSB, "wrong gate order in dW", lstm_sb_gate_order, "gate order is wrong"),
    (LSB, "transposed dW", lstm_sb_transposed_dw, "dW is transposed"),
    (LF, "loop", lstm_f_ok, None),
    (LF, "cell state not carried", lstm_f_no_cell_carry, "cell state is not carried"),
    (LBA, "loop", lstm_b_ok, None),
    (LBA, "blockwise steps, sums at the end", lstm_b_ok_blockwise_steps, None),
    (LBP, "no carry of dh", lstm_b_no_h_carry, "only the last step is right"),
    (LBI, "no carry of dh (inputs)", lstm_b_no_h_carry, "the first wrong step is t="),
    (LBP, "missing cell-state carry", lstm_b_no_cell_carry, "cell-state carry is missing"),
    (LBI, "missing cell-state carry (inputs)", lstm_b_no_cell_carry, "cell-state carry is missing"),
    (LBP, "forget gate forgotten on the cell path", lstm_b_no_forget, "forget gate is forgotten"),
    (LBP, "not summed over time", lstm_b_not_summed, "only the contribution of t=1"),
    (LBP, "wrong gate order", lstm_b_gate_order, "gate order is wrong"),
]


# ---------------------------------------------------------------------------
# a1: recurrence
# ---------------------------------------------------------------------------

def rec_ok(s_prev, x, Wx, Ws, b):
    return np.tanh(b + s_prev @ Ws.T + x @ Wx.T)


def rec_ok_columns(s_prev, x, Wx, Ws, b):
    return np.tanh(b[:, None] + Ws @ s_prev.T + Wx @ x.T).T


def rec_no_tanh(s_prev, x, Wx, Ws, b):
    return b + s_prev @ Ws.T + x @ Wx.T


def rec_ws_not_t(s_prev, x, Wx, Ws, b):
    return np.tanh(b + s_prev @ Ws + x @ Wx.T)


def unroll_ok(f, X, s0):
    S, s = [], s0
    for x in X:
        s = f(s, x)
        S.append(s)
    return np.stack(S)


def unroll_ok_preallocated(f, X, s0):
    S = None
    s = s0
    for t in range(len(X)):
        s = f(s, X[t])
        if S is None:
            S = np.empty((len(X),) + np.shape(s))
        S[t] = s
    return S


def unroll_not_carried(f, X, s0):
    return np.stack([f(s0, x) for x in X])


def unroll_shifted(f, X, s0):
    S, s = [], s0
    for x in X:
        S.append(s)
        s = f(s, x)
    return np.stack(S)


def unroll_with_s0(f, X, s0):
    S, s = [s0], s0
    for x in X:
        s = f(s, x)
        S.append(s)
    return np.stack(S)


def unroll_reversed(f, X, s0):
    return unroll_ok(f, X[::-1], s0)


def unroll_calls_twice(f, X, s0):
    S, s = [], s0
    for x in X:
        f(s, x)  # a stray extra call
        s = f(s, x)
        S.append(s)
    return np.stack(S)


def unroll_swapped_args(f, X, s0):
    S, s = [], s0
    for x in X:
        s = f(x, s)
        S.append(s)
    return np.stack(S)


def count_ok(D, H, K):
    return H * (D + H + 1) + K * (H + 1)


def count_float(D, H, K):
    return float(count_ok(D, H, K))


def count_no_bias(D, H, K):
    return H * D + H * H + K * H


def count_no_output(D, H, K):
    return H * D + H * H + H


def count_ws_as_hd(D, H, K):
    return 2 * H * D + H + K * H + K


def count_string(D, H, K):
    return str(count_ok(D, H, K))


RS, UN, PC = G.grade_recurrence_step, G.grade_unroll, G.grade_rnn_parameter_count
CASES += [
    (RS, "row form", rec_ok, None),
    (RS, "column form", rec_ok_columns, None),
    (RS, "missing tanh", rec_no_tanh, "tanh is missing"),
    (RS, "Ws instead of Ws.T", rec_ws_not_t, "uses Ws instead of Ws.T"),
    (UN, "list and stack", unroll_ok, None),
    (UN, "preallocated", unroll_ok_preallocated, None),
    (UN, "state not carried", unroll_not_carried, "state is not carried"),
    (UN, "shifted", unroll_shifted, "shifted by one step"),
    (UN, "includes s0", unroll_with_s0, "S includes s0"),
    (UN, "reversed", unroll_reversed, "read backwards"),
    (UN, "calls f twice per step", unroll_calls_twice, "exactly once per step"),
    (UN, "f(x, s) argument order", unroll_swapped_args, "state first, then input"),
    (PC, "factored", count_ok, None),
    (PC, "integral float", count_float, None),
    (PC, "no biases", count_no_bias, "biases are missing"),
    (PC, "no output layer", count_no_output, "output layer is missing"),
    (PC, "Ws counted as (H, D)", count_ws_as_hd, "it is (H, H)"),
    (PC, "returns a string", count_string, "must return an integer"),
]


# ---------------------------------------------------------------------------
# a2: softmax, NLL, the three families
# ---------------------------------------------------------------------------

def sm_ok(O):
    E = np.exp(O - O.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def sm_ok_logsumexp(O):
    m = np.max(O, axis=-1, keepdims=True)
    return np.exp(O - m - np.log(np.sum(np.exp(O - m), axis=-1, keepdims=True)))


def sm_naive(O):
    E = np.exp(O)
    return E / E.sum(axis=-1, keepdims=True)


def sm_global_shift(O):
    E = np.exp(O - O.max())
    return E / E.sum(axis=-1, keepdims=True)


def sm_wrong_axis(O):
    E = np.exp(O)
    return E / E.sum(axis=0, keepdims=True)


def nll_ok(O, Y):
    s = O - O.max(-1, keepdims=True)
    lp = s - np.log(np.exp(s).sum(-1, keepdims=True))
    return -float(np.take_along_axis(lp, Y[..., None], -1).sum())


def nll_ok_loops(O, Y):
    total = 0.0
    T, B, _ = O.shape
    for t in range(T):
        for i in range(B):
            o = O[t, i]
            m = o.max()
            total -= o[Y[t, i]] - m - np.log(np.sum(np.exp(o - m)))
    return total


def nll_naive(O, Y):
    P = np.exp(O) / np.exp(O).sum(-1, keepdims=True)
    return -np.log(np.take_along_axis(P, Y[..., None], -1)).sum()


def nll_mean(O, Y):
    return nll_ok(O, Y) / Y.size


def nll_positive_sign(O, Y):
    return -nll_ok(O, Y)


def _hh_states(X, h0, Wx, Ws, b):
    h, out = h0, []
    for x in X:
        h = np.tanh(b + h @ Ws.T + x @ Wx.T)
        out.append(h)
    return np.stack(out)


def hh_ok(X, h0, Wx, Ws, b, Wy, c):
    return _hh_states(X, h0, Wx, Ws, b) @ Wy.T + c


def hh_late(X, h0, Wx, Ws, b, Wy, c):
    Hs = _hh_states(X, h0, Wx, Ws, b)
    return np.concatenate([h0[None], Hs[:-1]]) @ Wy.T + c


def hh_softmax(X, h0, Wx, Ws, b, Wy, c):
    return sm_ok(hh_ok(X, h0, Wx, Ws, b, Wy, c))


def oh_ok(X, Yprev, Wx, Wo, b, Wy, c):
    return np.tanh(b + Yprev @ Wo.T + X @ Wx.T) @ Wy.T + c


def oh_ok_loop(X, Yprev, Wx, Wo, b, Wy, c):
    return np.stack([c + np.tanh(b + y @ Wo.T + x @ Wx.T) @ Wy.T for x, y in zip(X, Yprev)])


def oh_double_shift(X, Yprev, Wx, Wo, b, Wy, c):
    shifted = np.concatenate([np.zeros_like(Yprev[:1]), Yprev[:-1]])
    return oh_ok(X, shifted, Wx, Wo, b, Wy, c)


def oh_no_feedback(X, Yprev, Wx, Wo, b, Wy, c):
    return np.tanh(b + X @ Wx.T) @ Wy.T + c


def s2o_ok(X, h0, Wx, Ws, b, Wy, c):
    return _hh_states(X, h0, Wx, Ws, b)[-1] @ Wy.T + c


def s2o_first_state(X, h0, Wx, Ws, b, Wy, c):
    return _hh_states(X, h0, Wx, Ws, b)[0] @ Wy.T + c


def s2o_every_step(X, h0, Wx, Ws, b, Wy, c):
    return hh_ok(X, h0, Wx, Ws, b, Wy, c)


def s2o_mean_state(X, h0, Wx, Ws, b, Wy, c):
    return _hh_states(X, h0, Wx, Ws, b).mean(0) @ Wy.T + c


SM, NLL = G.grade_softmax, G.grade_sequence_nll
HH, OH, SO = G.grade_hidden_to_hidden_forward, G.grade_output_to_hidden_forward, G.grade_sequence_to_one_forward
CASES += [
    (SM, "max shift", sm_ok, None),
    (SM, "log-sum-exp", sm_ok_logsumexp, None),
    (SM, "no max shift", sm_naive, "subtract the maximum of each row"),
    (SM, "global max shift", sm_global_shift, "subtract the maximum of each row"),
    (SM, "wrong axis", sm_wrong_axis, "wrong axis"),
    (NLL, "vectorised", nll_ok, None),
    (NLL, "loops", nll_ok_loops, None),
    (NLL, "log of the softmax", nll_naive, "log-sum-exp"),
    (NLL, "mean instead of sum", nll_mean, "the loss is averaged"),
    (NLL, "wrong sign", nll_positive_sign, "sign is wrong"),
    (HH, "loop", hh_ok, None),
    (HH, "outputs one step late", hh_late, "one step late"),
    (HH, "returns probabilities", hh_softmax, "not their softmax"),
    (OH, "vectorised over time", oh_ok, None),
    (OH, "loop over time", oh_ok_loop, None),
    (OH, "shifted twice", oh_double_shift, "shifted a second time"),
    (OH, "no feedback", oh_no_feedback, "feedback is missing"),
    (SO, "loop", s2o_ok, None),
    (SO, "first state", s2o_first_state, "read from the first state"),
    (SO, "every step", s2o_every_step, "one output per sequence"),
    (SO, "averaged states", s2o_mean_state, "states are averaged"),
]


# ---------------------------------------------------------------------------
# a4: gradients over time
# ---------------------------------------------------------------------------

def jac_ok(Hs, Ws, t):
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    for k in range(T, t, -1):
        J = J @ ((1 - Hs[k - 1] ** 2)[:, :, None] * Ws)
    return J


def jac_ok_per_sequence(Hs, Ws, t):
    """One sequence at a time, the product built from the earliest step upwards."""
    T, B, H = Hs.shape
    out = []
    for i in range(B):
        J = np.eye(H)
        for k in range(t + 1, T + 1):
            J = np.diag(1 - Hs[k - 1, i] ** 2) @ Ws @ J
        out.append(J)
    return np.array(out)


def jac_no_tanh_prime(Hs, Ws, t):
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    for _ in range(T, t, -1):
        J = J @ Ws
    return J


def jac_reversed(Hs, Ws, t):
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    for k in range(t + 1, T + 1):
        J = J @ ((1 - Hs[k - 1] ** 2)[:, :, None] * Ws)
    return J


def jac_ws_t(Hs, Ws, t):
    return jac_ok(Hs, Ws.T, t)


def cv_ok(grads, limit):
    return {k: np.clip(g, -limit, limit) for k, g in grads.items()}


def cv_ok_where(grads, limit):
    return {k: np.where(g > limit, limit, np.where(g < -limit, -limit, g)) for k, g in grads.items()}


def cv_in_place(grads, limit):
    for g in grads.values():
        np.clip(g, -limit, limit, out=g)
    return grads


def cv_positive_only(grads, limit):
    return {k: np.minimum(g, limit) for k, g in grads.items()}


def cn_ok(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    s = min(1.0, max_norm / norm)
    return {k: s * g for k, g in grads.items()}, norm


def cn_ok_concatenated(grads, max_norm):
    norm = np.linalg.norm(np.concatenate([g.ravel() for g in grads.values()]))
    if norm <= max_norm:
        return {k: g.copy() for k, g in grads.items()}, float(norm)
    return {k: g * (max_norm / norm) for k, g in grads.items()}, float(norm)


def cn_per_tensor(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    return {k: g * min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()}, norm


def cn_scales_up(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    return {k: g * (max_norm / norm) for k, g in grads.items()}, norm


def cn_no_sqrt(grads, max_norm):
    norm = sum(np.sum(g ** 2) for g in grads.values())
    return {k: g * min(1.0, max_norm / norm) for k, g in grads.items()}, norm


def cn_in_place(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    for g in grads.values():
        g *= min(1.0, max_norm / norm)
    return grads, norm


def _tbptt(dHs, cache, k, *, cut=lambda t, k, T: t % k == 0):
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    carried = np.zeros_like(h0)
    for t in reversed(range(T)):
        h_prev = Hs[t - 1] if t > 0 else h0
        d = (dHs[t] + carried) * (1 - Hs[t] ** 2)
        dX[t] = d @ Wx
        dWx += d.T @ X[t]
        dWs += d.T @ h_prev
        db += d.sum(0)
        carried = np.zeros_like(h0) if cut(t, k, T) else d @ Ws
    return dX, dWx, dWs, db


def tb_ok(dHs, cache, k):
    return _tbptt(dHs, cache, k)


def tb_ok_chunk_loop(dHs, cache, k):
    """Chunk by chunk, each chunk a full BPTT from its own starting state."""
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    for s in range(0, T, k):
        e = min(s + k, T)
        start = h0 if s == 0 else Hs[s - 1]
        g = _tbptt(dHs[s:e], (X[s:e], start, Hs[s:e], Wx, Ws), T)
        dX[s:e] = g[0]
        dWx, dWs, db = dWx + g[1], dWs + g[2], db + g[3]
    return dX, dWx, dWs, db


def tb_full(dHs, cache, k):
    return _tbptt(dHs, cache, k, cut=lambda t, k, T: False)


def tb_aligned_end(dHs, cache, k):
    return _tbptt(dHs, cache, k, cut=lambda t, k, T: (T - t) % k == 0)


def tb_k_plus_one(dHs, cache, k):
    return _tbptt(dHs, cache, k, cut=lambda t, k, T: t % (k + 1) == 0)


JA, CV, CN, TB = G.grade_jacobian_to_last, G.grade_clip_by_value, G.grade_clip_by_global_norm, G.grade_tbptt_backward
CASES += [
    (JA, "batched product", jac_ok, None),
    (JA, "per sequence, built from the earliest step", jac_ok_per_sequence, None),
    (JA, "missing tanh'", jac_no_tanh_prime, "tanh′ is missing"),
    (JA, "product in the wrong order", jac_reversed, "wrong order"),
    (JA, "Ws.T", jac_ws_t, "Ws.T appears where Ws belongs"),
    (CV, "np.clip", cv_ok, None),
    (CV, "np.where", cv_ok_where, None),
    (CV, "in place", cv_in_place, "in place"),
    (CV, "positive side only", cv_positive_only, "only the positive side"),
    (CN, "sum of squares", cn_ok, None),
    (CN, "concatenated norm", cn_ok_concatenated, None),
    (CN, "per-tensor clipping", cn_per_tensor, "clipped to max_norm on its own"),
    (CN, "scales up small gradients", cn_scales_up, "scaled up"),
    (CN, "no square root", cn_no_sqrt, "square root"),
    (CN, "in place", cn_in_place, "in place"),
    (TB, "one loop with cuts", tb_ok, None),
    (TB, "chunk by chunk", tb_ok_chunk_loop, None),
    (TB, "no truncation", tb_full, "crosses the chunk borders"),
    (TB, "chunks aligned at the end", tb_aligned_end, "chunks start at the wrong place"),
    (TB, "chunks of k+1", tb_k_plus_one, "one step too long"),
]


# ---------------------------------------------------------------------------
# a5: teacher forcing
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


TF, ORF, ORB = G.grade_teacher_forcing_inputs, G.grade_output_rnn_forward, G.grade_output_rnn_backward
GCL, SS = G.grade_generate_closed_loop, G.grade_scheduled_feedback
CASES += [
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
# a7: character-level language model
# ---------------------------------------------------------------------------

def mb_ok(ids, B, T):
    L = (len(ids) - 1) // B
    x = np.stack([ids[b * L:b * L + L] for b in range(B)], axis=1)
    y = np.stack([ids[b * L + 1:b * L + L + 1] for b in range(B)], axis=1)
    return [(x[s:s + T], y[s:s + T]) for s in range(0, L - T + 1, T)]


def mb_ok_reshape(ids, B, T):
    L = (len(ids) - 1) // B
    x = np.stack([ids[b * L:(b + 1) * L] for b in range(B)]).T
    y = np.stack([ids[b * L + 1:(b + 1) * L + 1] for b in range(B)]).T
    n = L // T
    return [(x[j * T:(j + 1) * T].copy(), y[j * T:(j + 1) * T].copy()) for j in range(n)]


def mb_interleaved(ids, B, T):
    L = (len(ids) - 1) // B
    x, y = ids[:L * B].reshape(L, B), ids[1:L * B + 1].reshape(L, B)
    return [(x[s:s + T], y[s:s + T]) for s in range(0, L - T + 1, T)]


def mb_unshifted(ids, B, T):
    return [(x, x) for x, _ in mb_ok(ids, B, T)]


def tr_ok(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    norm = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
    s = min(1.0, max_norm / norm)
    for k, g in grads.items():
        model.params[k] -= lr * s * g
    return loss, new_state


def tr_ok_library_clip(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    clipped, _ = rnnkit.optim.clip_by_global_norm(grads, max_norm)
    rnnkit.optim.SGD(lr).step(model.params, clipped)
    return loss, new_state


def tr_no_clip(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    for k, g in grads.items():
        model.params[k] -= lr * g
    return loss, new_state


def tr_ascent(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    norm = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
    for k, g in grads.items():
        model.params[k] += lr * min(1.0, max_norm / norm) * g
    return loss, new_state


def tr_not_in_place(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    params = {k: v - lr * grads[k] for k, v in model.params.items()}  # noqa: F841 - never stored
    return loss, new_state


def tr_returns_old_state(model, X, Y, state, lr, max_norm):
    loss, _ = tr_ok(model, X, Y, state, lr, max_norm)
    return loss, state


def tr_ignores_state(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, return_state=True)
    norm = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
    for k, g in grads.items():
        model.params[k] -= lr * min(1.0, max_norm / norm) * g
    return loss, new_state


def st_ok(logits, temperature, rng):
    p = softmax_rows(logits / temperature)
    u = rng.random(logits.shape[0])
    return np.minimum((np.cumsum(p, 1) < u[:, None]).sum(1), logits.shape[1] - 1)


def st_ok_searchsorted(logits, temperature, rng):
    p = softmax_rows(logits / temperature)
    u = rng.random(logits.shape[0])
    cdf = np.cumsum(p, 1)
    return np.array([min(np.searchsorted(c, x, side="left"), len(c) - 1) for c, x in zip(cdf, u)])


def softmax_rows(a):
    e = np.exp(a - a.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def st_times(logits, temperature, rng):
    return st_ok(logits * temperature * temperature, temperature, rng)


def st_argmax(logits, temperature, rng):
    return logits.argmax(1)


def st_choice(logits, temperature, rng):
    p = softmax_rows(logits / temperature)
    return np.array([rng.choice(len(q), p=q) for q in p])


MB, TR, ST = G.grade_make_batches, G.grade_train_step, G.grade_sample_with_temperature
CASES += [
    (MB, "stack and slice", mb_ok, None),
    (MB, "transpose and copy", mb_ok_reshape, None),
    (MB, "interleaved streams", mb_interleaved, "interleaved"),
    (MB, "targets unshifted", mb_unshifted, "the targets are the inputs"),
    (TR, "loop update", tr_ok, None),
    (TR, "library clipping and SGD", tr_ok_library_clip, None),
    (TR, "no clipping", tr_no_clip, "not clipped"),
    (TR, "gradient ascent", tr_ascent, "uphill"),
    (TR, "params not updated in place", tr_not_in_place, "did not change model.params"),
    (TR, "returns the old state", tr_returns_old_state, "new_state is the state given as input"),
    (TR, "ignores the incoming state", tr_ignores_state, "the given state is ignored"),
    (ST, "cumsum count", st_ok, None),
    (ST, "searchsorted", st_ok_searchsorted, None),
    (ST, "temperature multiplies", st_times, "divide them"),
    (ST, "argmax", st_argmax, "this is the argmax"),
    (ST, "rng.choice row by row (same inverse-CDF draws)", st_choice, None),
]


# ---------------------------------------------------------------------------
# more valid alternatives
# ---------------------------------------------------------------------------

def lstm_f_ok_split(X, h0, c0, W, b):
    T, B, _ = X.shape
    Hs = np.empty((T, B, h0.shape[1]))
    h, c, caches = h0, c0, []
    for t in range(T):
        h, c, cache = lstm_sf_ok_split_weights(X[t], h, c, W, b)
        Hs[t] = h
        caches.append(cache)
    return Hs, caches


def hh_ok_hoisted(X, h0, Wx, Ws, b, Wy, c):
    A = np.einsum("tbd,hd->tbh", X, Wx) + b
    Hs = np.empty_like(A)
    h = h0
    for t in range(len(X)):
        h = Hs[t] = np.tanh(A[t] + h @ Ws.T)
    return np.einsum("tbh,kh->tbk", Hs, Wy) + c


def s2o_ok_from_family_a(X, h0, Wx, Ws, b, Wy, c):
    return hh_ok_hoisted(X, h0, Wx, Ws, b, Wy, c)[-1]


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
    (LF, "split weights, preallocated", lstm_f_ok_split, None),
    (HH, "hoisted input projection, einsum", hh_ok_hoisted, None),
    (SO, "last output of family (a)", s2o_ok_from_family_a, None),
    (GCL, "columns of Wo instead of one-hot", gcl_ok_indexing, None),
    (SS, "all coins drawn first", ss_ok_draws_first, None),
]
