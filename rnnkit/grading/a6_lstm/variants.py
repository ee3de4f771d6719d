"""a6-lstm: the reference step and sequence passes and their deliberately buggy variants
(each variant is the output of one classic mistake, named by its diagnosis)."""
from __future__ import annotations

import numpy as np

from ... import layers as _ref
from .cases import _sig
from .diagnoses import (C_FOR_C_PREV, DC0_INPUT, DC_PREV_NO_H, DH0_INPUT, DW_STACK_ORDER, DX_DH_SWAPPED,
                        DX_REVERSED, GATE_ORDER, G_NOT_TANH, H_NO_TANH, NO_CELL_CARRY,
                        NO_FORGET_BWD, NO_FORGET_FWD, NO_G_TANH_PRIME, NO_H_CARRY,
                        NO_SIGMA_PRIME, NO_TANH_C_PRIME, ONLY_FIRST, ONLY_LAST,
                        STACK_ORDER)


def _step_forward(x, h_prev, c_prev, W, b, bug=None, perm=None):
    """One LSTM step written out, with one deliberate mistake or none. Returns h, c, gates tuple."""
    H = h_prev.shape[1]
    z = np.concatenate([x, h_prev] if bug == "stack_order" else [h_prev, x], axis=1)
    a = z @ W.T + b
    blocks = [a[:, k * H:(k + 1) * H] for k in range(4)]
    if bug == "gate_order":  # i, f, g, o (PyTorch's order) read as i, f, o, g
        blocks = [blocks[0], blocks[1], blocks[3], blocks[2]]
    if perm is not None:
        blocks = [blocks[perm[k]] for k in range(4)]
    i, f, o = _sig(blocks[0]), _sig(blocks[1]), _sig(blocks[2])
    g = _sig(blocks[3]) if bug == "g_not_tanh" else np.tanh(blocks[3])
    c = (c_prev + i * g) if bug == "no_forget" else f * c_prev + i * g
    h = o * c if bug == "h_no_tanh" else o * np.tanh(c)
    return h, c, (i, f, o, g)


FORWARD_BUGS = {"gate_order": GATE_ORDER, "stack_order": STACK_ORDER, "g_not_tanh": G_NOT_TANH,
                "h_no_tanh": H_NO_TANH, "no_forget": NO_FORGET_FWD}


def _step_backward(dh, dc, x, h_prev, c_prev, i, f, o, g, c, W, bug=None, perm=None):
    """Gradients of one LSTM step, with one deliberate mistake or none.

    ``perm``: the da block j holds the gradient of gate ``perm[j]`` (a wrong gate order)."""
    H = h_prev.shape[1]
    tc = np.tanh(c)
    through_h = dh * o if bug == "no_tanh_c_prime" else dh * o * (1 - tc * tc)
    dct = through_h if bug == "no_cell_carry" else dc + through_h
    di, df, do, dg = dct * g, dct * (c if bug == "c_for_c_prev" else c_prev), dh * tc, dct * i
    if bug == "no_sigma_prime":
        dai, daf, dao = di, df, do
    else:
        dai, daf, dao = di * i * (1 - i), df * f * (1 - f), do * o * (1 - o)
    dag = dg if bug == "no_g_tanh_prime" else dg * (1 - g * g)
    blocks = [dai, daf, dag, dao] if bug == "gate_order" else [dai, daf, dao, dag]
    if perm is not None:
        blocks = [blocks[perm[j]] for j in range(4)]
    da = np.concatenate(blocks, axis=1)
    z = np.concatenate([x, h_prev] if bug == "dw_stack_order" else [h_prev, x], axis=1)
    dz = da @ W
    if bug == "no_forget_bwd":
        dc_prev = dct
    elif bug == "dc_prev_no_h":
        dc_prev = dc * f
    else:
        dc_prev = dct * f
    out = {"dx": dz[:, H:], "dh_prev": dz[:, :H], "dc_prev": dc_prev, "dW": da.T @ z, "db": da.sum(0)}
    if bug == "dx_dh_swapped":
        out["dx"], out["dh_prev"] = dz[:, :H], dz[:, H:]
    return out


STEP_BACKWARD_BUGS = {"no_cell_carry": NO_CELL_CARRY, "no_forget_bwd": NO_FORGET_BWD,
                      "no_sigma_prime": NO_SIGMA_PRIME, "no_tanh_c_prime": NO_TANH_C_PRIME,
                      "no_g_tanh_prime": NO_G_TANH_PRIME, "c_for_c_prev": C_FOR_C_PREV, "gate_order": GATE_ORDER,
                      "dc_prev_no_h": DC_PREV_NO_H, "dx_dh_swapped": DX_DH_SWAPPED,
                      "dw_stack_order": DW_STACK_ORDER}


def lstm_step_caches(case: dict) -> tuple[np.ndarray, list[tuple]]:
    """Reference states and the prescribed step caches ``(x, h_prev, c_prev, i, f, o, g, c, W)`` for every t."""
    hs, _, caches = _chain(case)
    return np.stack(hs[1:]), caches


def _chain(case: dict):
    """``h⁽⁰⁾ … h⁽ᵀ⁾``, ``c⁽⁰⁾ … c⁽ᵀ⁾`` and the step caches, exactly as a loop over rnnkit's step computes them
    (so the arrays are bit for bit those a correct loop hands from one step to the next)."""
    X, h, c, W, b = case["X"], case["h0"], case["c0"], case["W"], case["b"]
    hs, cs, caches = [h], [c], []
    for t in range(X.shape[0]):
        h_new, c_new, cache = _ref.lstm_step_forward(X[t], h, c, W, b)
        H = h.shape[1]
        gates = cache.gates
        i, f, o, g = (gates[:, k * H:(k + 1) * H].copy() for k in range(4))
        caches.append((X[t], h, c, i, f, o, g, c_new, W))
        hs.append(h_new)
        cs.append(c_new)
        h, c = h_new, c_new
    return hs, cs, caches


def _ref_step_backward(dh, dc, cache) -> tuple:
    """rnnkit's step backward on a cache in the notebook's format: ``(dx, dh_prev, dc_prev, dW, db)``."""
    x, h_prev, c_prev, i, f, o, g, c, W = cache
    step = _ref.LSTMStepCache(np.concatenate([h_prev, x], axis=1), c_prev, np.concatenate([i, f, o, g], axis=1),
                              np.tanh(c), W)
    return tuple(_ref.lstm_step_backward(dh, np.broadcast_to(np.asarray(dc, dtype=np.float64), h_prev.shape), step))


def _backward_chain(dHs, caches):
    """The calls a correct backward loop makes, in order: ``[(t, (dh, dc, cache), outputs), ...]``."""
    B, H = caches[0][1].shape
    dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H))
    calls = []
    for t in range(len(caches) - 1, -1, -1):
        dh_in = dHs[t] + dh_next
        out = _ref_step_backward(dh_in, dc_next, caches[t])
        calls.append((t, (dh_in, dc_next, caches[t]), out, dh_next))
        dh_next, dc_next = out[1], out[2]
    return calls


def _sequence_backward(dHs, caches, bug=None, perm=None):
    """BPTT for the LSTM from step caches, with one deliberate mistake or none."""
    T = len(caches)
    step_bug = bug if bug in STEP_BACKWARD_BUGS and bug != "no_cell_carry" else None
    dh = np.zeros_like(caches[0][1])
    dc = np.zeros_like(caches[0][2])
    dXs, dW, db = [None] * T, np.zeros_like(caches[0][-1]), 0.0
    dh_in = dc_in = None
    for t in range(T - 1, -1, -1):
        dh_in = dHs[t] if bug == "no_h_carry" else dHs[t] + dh
        dc_in = np.zeros_like(dc) if bug == "no_cell_carry" else dc
        g = _step_backward(dh_in, dc_in, *caches[t], bug=step_bug, perm=perm)
        dXs[t], dh, dc = g["dx"], g["dh_prev"], g["dc_prev"]
        if bug == "only_last" and t != T - 1:
            continue
        if bug == "only_first":
            dW, db = g["dW"], g["db"]
        else:
            dW, db = dW + g["dW"], db + g["db"]
    out = {"dX": np.stack(dXs[::-1] if bug == "dx_reversed" else dXs), "dh0": dh_in if bug == "dh0_input" else dh,
           "dc0": dc_in if bug == "dc0_input" else dc, "dW": dW, "db": np.asarray(db)}
    return out


#: Mistakes of the loop alone (every step computed right): named also when the oracle stood in for the step.
LOOP_BUGS = {"no_h_carry": NO_H_CARRY, "no_cell_carry": NO_CELL_CARRY, "only_last": ONLY_LAST,
             "only_first": ONLY_FIRST, "dx_reversed": DX_REVERSED, "dh0_input": DH0_INPUT, "dc0_input": DC0_INPUT}
SEQUENCE_BUGS = LOOP_BUGS | {k: v for k, v in STEP_BACKWARD_BUGS.items() if k not in ("no_cell_carry", "dx_dh_swapped")}

LSTM_BACKWARD_PARTS = {"all": ("dX", "dh0", "dc0", "dW", "db"), "parameters": ("dW", "db"),
                       "inputs": ("dX", "dh0", "dc0")}
_STEP_BACKWARD_NAMES = ["dx", "dh_prev", "dc_prev", "dW", "db"]
_BACKWARD_NAMES = list(LSTM_BACKWARD_PARTS["all"])
