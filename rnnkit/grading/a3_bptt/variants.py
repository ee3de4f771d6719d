"""a3-bptt: the reference passes, their deliberately buggy variants (each the output of one classic
mistake, named by its diagnosis), and the truths each cell is judged against."""
from __future__ import annotations

import numpy as np

from ... import layers as _ref
from ...data import shift_right
from .._core import numerical_gradients
from .cases import _states
from .diagnoses import (BATCH_MEAN, CARRY_AFTER_TANH, CARRY_SKIPS_TANH, CARRY_WS_T, DB_NOT_SUMMED,
                        DB_NOT_SUMMED_SEQ, DC_NOT_SUMMED, DHS_IGNORED,
                        DHS_SUMMED_OVER_TIME, DWY_TRANSPOSED, H0_IGNORED,
                        HS_LAST_AS_H0, H_FOR_H_PREV, NOT_CARRIED, NO_BIAS, NO_CARRY,
                        NO_TANH, NO_TANH_PRIME, ONLY_FIRST, ONLY_LAST, OUT_ONLY_LAST,
                        SHIFTED, TANH_PRIME_OF_H_PREV, TANH_PRIME_WRONG_STATE,
                        TRANSPOSED_WS, WITH_H0, WS_NOT_T)


# ---------------------------------------------------------------------------
# step forward / backward
# ---------------------------------------------------------------------------

def _step_forward_variants(x, h_prev, Wx, Ws, b):
    a = x @ Wx.T + h_prev @ Ws.T + b
    return [
        (NO_TANH, {"h": a}),
        (WS_NOT_T, {"h": np.tanh(x @ Wx.T + h_prev @ Ws + b)}),
        (NO_BIAS, {"h": np.tanh(a - b)}),
    ]


def _step_forward_truth(case: dict, analytic: bool = True) -> dict:
    h, _ = _ref.rnn_step_forward(case["X"][0], case["h0"], case["Wx"], case["Ws"], case["b"])
    return {"h": h}


def _step_forward_case_variants(case: dict):
    return _step_forward_variants(case["X"][0], case["h0"], case["Wx"], case["Ws"], case["b"])


def _step_backward_variants(dh, x, h_prev, h, Wx, Ws):
    d = dh * (1 - h * h)
    B = x.shape[0]
    good = {"dx": d @ Wx, "dh_prev": d @ Ws, "dWx": d.T @ x, "dWs": d.T @ h_prev, "db": d.sum(0)}
    dp = dh * (1 - h_prev * h_prev)
    return [
        (NO_TANH_PRIME, {"dx": dh @ Wx, "dh_prev": dh @ Ws, "dWx": dh.T @ x, "dWs": dh.T @ h_prev,
                         "db": dh.sum(0)}),
        (TANH_PRIME_OF_H_PREV, {"dx": dp @ Wx, "dh_prev": dp @ Ws, "dWx": dp.T @ x, "dWs": dp.T @ h_prev,
                                "db": dp.sum(0)}),
        (H_FOR_H_PREV.replace("Σₜ ", "").replace(" (and h0 at t=1)", "").replace("Hs[t-1]", "h_prev"),
         {"dWs": d.T @ h}),
        (CARRY_WS_T, {"dh_prev": d @ Ws.T}),
        (TRANSPOSED_WS, {"dWs": (d.T @ h_prev).T}),
        (DB_NOT_SUMMED, {"db": d}),
        (BATCH_MEAN, {k: v / B for k, v in good.items() if k.startswith("dW") or k == "db"}),
    ]


def step_cache(case: dict) -> tuple:
    """The cache the notebook prescribes for one step: ``(x, h_prev, h, Wx, Ws)``."""
    x, h_prev = case["X"][0], case["h0"]
    if "Hs" in case:
        h = case["Hs"][0]
    else:
        h, _ = _ref.rnn_step_forward(x, h_prev, case["Wx"], case["Ws"], case["b"])
    return (x, h_prev, h, case["Wx"], case["Ws"])


def _step_backward_truth(case: dict, analytic: bool = False) -> dict:
    names = ["dx", "dh_prev", "dWx", "dWs", "db"]
    dh = case["dHs"][0]
    if analytic:
        return dict(zip(names, _ref.rnn_step_backward(dh, _ref.RNNStepCache(*step_cache(case)))))
    x, h_prev = case["X"][0].copy(), case["h0"].copy()
    Wx, Ws, b = case["Wx"].copy(), case["Ws"].copy(), case["b"].copy()

    def loss():
        return float(np.sum(_ref.rnn_step_forward(x, h_prev, Wx, Ws, b)[0] * dh))
    return numerical_gradients(loss, {"dx": x, "dh_prev": h_prev, "dWx": Wx, "dWs": Ws, "db": b})


def _step_backward_case_variants(case: dict):
    x, h_prev, h, Wx, Ws = step_cache(case)
    return _step_backward_variants(case["dHs"][0], x, h_prev, h, Wx, Ws)


# ---------------------------------------------------------------------------
# sequence forward / backward
# ---------------------------------------------------------------------------

def _forward_variants(X, h0, Wx, Ws, b):
    T = X.shape[0]

    def run(step, carry=True, start=None):
        hs, h = [], h0 if start is None else start
        for t in range(T):
            h_new = step(X[t], h if carry else h0)
            hs.append(h_new)
            h = h_new
        return np.stack(hs)
    good = run(lambda x, h: np.tanh(x @ Wx.T + h @ Ws.T + b))
    return [
        (NO_TANH, {"Hs": run(lambda x, h: x @ Wx.T + h @ Ws.T + b)}),
        (WS_NOT_T, {"Hs": run(lambda x, h: np.tanh(x @ Wx.T + h @ Ws + b))}),
        (NO_BIAS, {"Hs": run(lambda x, h: np.tanh(x @ Wx.T + h @ Ws.T))}),
        (NOT_CARRIED, {"Hs": run(lambda x, h: np.tanh(x @ Wx.T + h @ Ws.T + b), carry=False)}),
        (SHIFTED, {"Hs": shift_right(good, fill=h0)}),
        (WITH_H0, {"Hs": np.concatenate([h0[None], good])}),
        (H0_IGNORED, {"Hs": run(lambda x, h: np.tanh(x @ Wx.T + h @ Ws.T + b), start=np.zeros_like(h0))}),
    ]


def _forward_truth(case: dict, analytic: bool = True) -> dict:
    return {"Hs": _ref.rnn_forward(case["X"], case["h0"], case["Wx"], case["Ws"], case["b"])[0]}


def _forward_case_variants(case: dict):
    return _forward_variants(case["X"], case["h0"], case["Wx"], case["Ws"], case["b"])


def rnn_backward_variant(X, h0, Hs, Wx, Ws, dHs, bug: str | None = None):
    """BPTT written step by step, with one deliberate mistake (``bug``) or none.

    Returns a dict ``dX, dh0, dWx, dWs, db`` (and ``deltas``, δ⁽ᵗ⁾ for every step, (T, B, H)).
    Used to recognise a learner's mistake
    by computing what that mistake produces on the same inputs.
    """
    T, B, _ = X.shape
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    dh_next = np.zeros_like(h0)
    deltas = np.zeros_like(Hs)
    for t in range(T - 1, -1, -1):
        h = Hs[t]
        h_prev = Hs[t - 1] if t > 0 else h0
        if bug == "no_carry":
            dh = dHs[t] + 0.0
        elif bug == "dhs_ignored":
            dh = dHs[t] + dh_next if t == T - 1 else dh_next
        else:
            dh = dHs[t] + dh_next
        if bug == "no_tanh_prime":
            d = dh
        elif bug == "tanh_prime_wrong_state":
            d = dh * (1 - h_prev * h_prev)
        elif bug == "carry_after_tanh":
            d = dHs[t] * (1 - h * h) + dh_next
        else:
            d = dh * (1 - h * h)
        dX[t] = d @ Wx
        deltas[t] = d
        paired = h if bug == "h_for_h_prev" else (Hs[t - 1] if bug == "hs_last_as_h0" else h_prev)
        grads_t = (d.T @ X[t], d.T @ paired, d.sum(0))
        if bug == "only_last" and t != T - 1:
            grads_t = tuple(np.zeros_like(g) for g in grads_t)
        if bug == "only_first":
            dWx, dWs, db = np.zeros_like(dWx), np.zeros_like(dWs), np.zeros_like(db)
        dWx += grads_t[0]
        dWs += grads_t[1]
        db += grads_t[2]
        if bug == "carry_skips_tanh":
            dh_next = dh @ Ws
        elif bug == "carry_ws_t":
            dh_next = d @ Ws.T
        else:
            dh_next = d @ Ws
    out = {"dX": dX, "dh0": dh_next, "dWx": dWx, "dWs": dWs, "db": db, "deltas": deltas}
    if bug == "transposed_ws":
        out["dWs"] = dWs.T
    if bug == "batch_mean":
        out = {k: (v / B if k in ("dWx", "dWs", "db") else v) for k, v in out.items()}
    return out


BPTT_BUGS = {
    "no_carry": NO_CARRY, "h_for_h_prev": H_FOR_H_PREV, "no_tanh_prime": NO_TANH_PRIME,
    "carry_skips_tanh": CARRY_SKIPS_TANH, "carry_ws_t": CARRY_WS_T, "only_last": ONLY_LAST,
    "only_first": ONLY_FIRST, "transposed_ws": TRANSPOSED_WS, "batch_mean": BATCH_MEAN,
    "tanh_prime_wrong_state": TANH_PRIME_WRONG_STATE, "carry_after_tanh": CARRY_AFTER_TANH,
    "hs_last_as_h0": HS_LAST_AS_H0, "dhs_ignored": DHS_IGNORED,
}

RNN_BACKWARD_PARTS = {"all": ("dX", "dh0", "dWx", "dWs", "db"),
                      "parameters": ("dWx", "dWs", "db"), "inputs": ("dX", "dh0")}


def seq_cache(case: dict) -> tuple:
    """The cache the notebook prescribes for a sequence: ``(X, h0, Hs, Wx, Ws)``."""
    return (case["X"], case["h0"], _states(case), case["Wx"], case["Ws"])


def _backward_truth(case: dict, analytic: bool = False) -> dict:
    names = RNN_BACKWARD_PARTS["all"]
    dHs = case["dHs"]
    if analytic:
        return dict(zip(names, _ref.rnn_backward(dHs, _ref.RNNCache(*seq_cache(case)))))
    X, h0, Wx, Ws, b = (case[k].copy() for k in ("X", "h0", "Wx", "Ws", "b"))

    def loss():
        return float(np.sum(_ref.rnn_forward(X, h0, Wx, Ws, b)[0] * dHs))
    return numerical_gradients(loss, {"dX": X, "dh0": h0, "dWx": Wx, "dWs": Ws, "db": b})


def _backward_case_variants(case: dict):
    X, h0, Hs, Wx, Ws = seq_cache(case)
    dHs = case["dHs"]
    variants = [(text, rnn_backward_variant(X, h0, Hs, Wx, Ws, dHs, bug)) for bug, text in BPTT_BUGS.items()]
    deltas = rnn_backward_variant(X, h0, Hs, Wx, Ws, dHs)["deltas"]
    return variants + [(DB_NOT_SUMMED_SEQ, {"db": deltas}), (DB_NOT_SUMMED_SEQ, {"db": deltas.sum(0)}),
                       (DB_NOT_SUMMED_SEQ, {"db": deltas.sum(1)})]


# ---------------------------------------------------------------------------
# output layer
# ---------------------------------------------------------------------------

def _output_args(c):
    return (c["dO"], _states(c), c["Wy"])


def _output_truth(case: dict, analytic: bool = False) -> dict:
    dO, Hs, Wy = _output_args(case)
    if analytic:
        return dict(zip(("dHs", "dWy", "dc"), _ref.affine_backward(dO, _ref.AffineCache(Hs, Wy))))
    Hs, Wy = Hs.copy(), Wy.copy()
    c = np.zeros(Wy.shape[0])

    def loss():
        return float(np.sum(_ref.affine_forward(Hs, Wy, c)[0] * dO))
    return numerical_gradients(loss, {"dHs": Hs, "dWy": Wy, "dc": c})


def _output_case_variants(case: dict):
    dO, Hs, Wy = _output_args(case)
    K = Wy.shape[0]
    return [
        (OUT_ONLY_LAST, {"dWy": dO[-1].T @ Hs[-1], "dc": dO[-1].sum(0)}),
        (DWY_TRANSPOSED, {"dWy": (dO.reshape(-1, K).T @ Hs.reshape(-1, Hs.shape[2])).T}),
        (DC_NOT_SUMMED, {"dc": dO.sum(0)}),
        (DC_NOT_SUMMED, {"dc": dO.sum(1)}),
        (DC_NOT_SUMMED, {"dc": dO}),
        (DHS_SUMMED_OVER_TIME, {"dHs": np.broadcast_to((dO @ Wy).sum(0), Hs.shape).copy()}),
    ]
