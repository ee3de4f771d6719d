r"""Checks of assignment a3-bptt (chapter 5): the vanilla RNN step, sequence and BPTT.

Each hidden test cell is a :class:`~rnnkit.grading.Check` in :data:`CHECKS`: a case builder
that draws fresh sizes and values in the grading process, and a judge that sees only
the arrays the learner's function returned on them (``judge_*``). ``grade_*`` run a
check in this process, for tests and trusted code.

Ground truth: forward values from rnnkit's reference on the same inputs;
gradients from central differences of the reference forward pass with the loss
:math:`L = \sum \texttt{Hs} \odot \texttt{dHs}` (a random upstream gradient, so
every output entry matters).

Besides the random case every check judges fixed cases on every run (so a regrade never
changes a score): the smallest sizes (T = B = 1) and *probe cases*, inputs that switch one
term of the computation off (x = 0, h⁽⁰⁾ = 0, Ws = 0, tanh′ = 1, the upstream gradient at one
step only, B = 1, ...). When no known mistake (buggy variant) explains a failure, which
probes pass and which fail names the term at fault (:data:`PROBES`, :data:`RULES`).

The sequence functions are also run with a correct step function standing in for the
learner's (:func:`rnnkit.casefile.with_oracle`): a mistake of the step function then costs
only the step function's cell, and the loop is diagnosed on its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import casefile as _cf
from .. import layers as _ref
from ._core import (GRAD_TOL, VALUE_TOL, Check, Verdict, _dtype_problem, _Failure, _match_variant, as_float_array,
                    distinct_sizes, judge, modified_warning, numerical_gradients, returned, scaled_rel_error)

__all__ = [
    "CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD",
    "rnn_case", "step_cache", "seq_cache", "judge_rnn_step_forward", "judge_rnn_step_backward", "judge_rnn_forward",
    "judge_rnn_backward", "judge_output_backward",
    "grade_rnn_step_forward", "grade_rnn_step_backward", "grade_rnn_forward", "grade_rnn_backward",
    "grade_output_backward",
]

#: What the notebook may import from rnnkit inside the grading sandbox (nothing that computes a graded function).
SANDBOX_EXPORTS = ("numerical_gradient",)
#: Library code that computes one of this assignment's graded functions: never in its sandbox.
SANDBOX_WITHHELD = ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward", "affine_forward",
                    "affine_backward", "HiddenToHiddenRNN", "tbptt_loss_and_grads")

_DIMS = {"X": "T B D", "x": "B D", "h0": "B H", "h_prev": "B H", "Hs": "T B H", "h": "B H",
         "dX": "T B D", "dx": "B D", "dh0": "B H", "dh_prev": "B H", "dWx": "H D", "dWs": "H H", "db": "H",
         "dHs": "T B H", "dWy": "K H", "dc": "K"}

# Diagnoses of the classic mistakes. Each is the outcome of a buggy variant below.
NO_CARRY = ("the gradient coming back from step t+1 is not added, so only the last step is right. "
            "At each step the state receives dHs[t] plus the gradient passed back from step t+1 "
            "(dh_next = δ⁽ᵗ⁺¹⁾ @ Ws); carry it through the backward loop.")
H_FOR_H_PREV = ("dWs uses h⁽ᵗ⁾ where h⁽ᵗ⁻¹⁾ belongs: the state that entered step t is Hs[t-1] "
                "(and h0 at t=1), so dWs = Σₜ δ⁽ᵗ⁾ᵀ @ h⁽ᵗ⁻¹⁾.")
NO_TANH_PRIME = ("the tanh′ factor is missing: δ⁽ᵗ⁾ = dh ⊙ (1 − h⁽ᵗ⁾²) is the gradient with respect to "
                 "the pre-activation a⁽ᵗ⁾, and every parameter gradient is built from δ.")
CARRY_SKIPS_TANH = ("the gradient passed back to h⁽ᵗ⁻¹⁾ skips tanh′: it must be δ⁽ᵗ⁾ @ Ws with "
                    "δ⁽ᵗ⁾ = dh ⊙ (1 − h⁽ᵗ⁾²), not dh @ Ws.")
CARRY_WS_T = ("the gradient passed back to h⁽ᵗ⁻¹⁾ uses Ws.T: the forward pass computes h_prev @ Ws.T for a "
              "batch of row vectors, so the gradient goes back as δ @ Ws.")
ONLY_LAST = ("gradients not summed over time: only the contribution of the last step t=T is there. "
             "Wx, Ws and b are shared by all steps, so their gradients are sums over t (use +=).")
ONLY_FIRST = ("gradients not summed over time: only the contribution of t=1 (the last step a backward loop "
              "visits) survives, as if each step overwrote the previous value with = instead of adding with +=.")
TRANSPOSED_WS = ("dWs is transposed: for h_prev @ Ws.T the gradient is δᵀ @ h_prev, shape (H_out, H_in), "
                 "not h_prevᵀ @ δ.")
BATCH_MEAN = ("the gradient is divided by the batch size B: the loss here is a sum over the batch, "
              "so the gradients are sums too.")
DB_NOT_SUMMED = "db still has the batch axis: sum δ over the batch (axis 0) to get shape (H,)."
DB_NOT_SUMMED_SEQ = "db still has the time and/or batch axes: sum δ over time and batch to get shape (H,)."
TANH_PRIME_OF_H_PREV = ("tanh′ is taken of the wrong state: δ = dh ⊙ (1 − h²) uses h = cache[2], the state this "
                        "step produced, not h_prev (the state that entered it).")
TANH_PRIME_WRONG_STATE = ("tanh′ is taken of the wrong state: δ⁽ᵗ⁾ = dh ⊙ (1 − h⁽ᵗ⁾²) uses h⁽ᵗ⁾ = Hs[t], the "
                          "state step t produced, not h⁽ᵗ⁻¹⁾ (Hs[t-1], or h0 at t=1), the state that entered it.")
CARRY_AFTER_TANH = ("the carried gradient is added after the tanh′ factor: δ⁽ᵗ⁾ = dHs[t] ⊙ (1 − h⁽ᵗ⁾²) + dh_next "
                    "lets dh_next skip tanh′. Add first, then multiply: δ⁽ᵗ⁾ = (dHs[t] + dh_next) ⊙ (1 − h⁽ᵗ⁾²).")
HS_LAST_AS_H0 = ("at t=1 dWs pairs δ⁽¹⁾ with Hs[-1], the last state h⁽ᵀ⁾ (Hs[t-1] with t=0 wraps around), "
                 "instead of h⁽⁰⁾ = h0: the state that entered step 1 is h0.")
DHS_IGNORED = ("dHs[t] is added only at t=T: every earlier state receives only the gradient carried back from "
               "step t+1, as if the loss read the last state alone. The gradient reaching h⁽ᵗ⁾ is "
               "dHs[t] + dh_next at every step.")

NO_TANH = "tanh is missing: h = tanh(a) with a = x @ Wx.T + h_prev @ Ws.T + b."
WS_NOT_T = ("the state-to-state product uses Ws instead of Ws.T: with row vectors (B, H), "
            "Ws h⁽ᵗ⁻¹⁾ is written h_prev @ Ws.T.")
NO_BIAS = "the bias b is missing from the pre-activation."
NOT_CARRIED = ("the state is not carried: every step starts from h0 instead of the previous step's h⁽ᵗ⁻¹⁾.")
SHIFTED = ("Hs is shifted by one step: Hs[t] must hold the state *after* reading x⁽ᵗ⁾, i.e. h⁽¹⁾ … h⁽ᵀ⁾, "
           "not h⁽⁰⁾ … h⁽ᵀ⁻¹⁾.")
WITH_H0 = "Hs includes h0: return only the T new states h⁽¹⁾ … h⁽ᵀ⁾, shape (T, B, H)."
H0_IGNORED = ("h0 is ignored: the first step starts from zeros (h_prev = Hs[t-1] at t=0 reads Hs[-1], a row "
              "not filled yet) instead of h⁽⁰⁾ = h0.")

OUT_ONLY_LAST = ("dWy / dc hold only the last step: Wy and c are used at every step, so their gradients "
                 "are sums over t (and over the batch).")
DWY_TRANSPOSED = "dWy is transposed: it has the shape of Wy, (K, H), computed as dOᵀ @ Hs summed over time."
DC_NOT_SUMMED = "dc still has the time and/or batch axes: sum dO over time and batch to get shape (K,)."
DHS_SUMMED_OVER_TIME = ("dHs must be dO @ Wy (each state feeds only its own step's output): no sum over time "
                        "here.")


def _draw_case(rng: np.random.Generator, sizes: dict) -> dict:
    T, B, D, H = sizes["T"], sizes["B"], sizes["D"], sizes["H"]
    case = {
        "sizes": dict(sizes),
        "X": rng.standard_normal((T, B, D)),
        "h0": 0.5 * rng.standard_normal((B, H)),
        "Wx": rng.standard_normal((H, D)) / np.sqrt(D),
        "Ws": 0.8 * rng.standard_normal((H, H)) / np.sqrt(H),
        "b": 0.2 * rng.standard_normal(H),
        "dHs": rng.standard_normal((T, B, H)),
    }
    if "K" in sizes:
        K = sizes["K"]
        case["Wy"] = rng.standard_normal((K, H)) / np.sqrt(H)
        case["dO"] = rng.standard_normal((T, B, K))
    return case


def rnn_case(rng: np.random.Generator, *, with_output: bool = False) -> dict:
    """Fresh inputs for the RNN checks: distinct sizes T, B, D, H (and K), float64 values.

    Scales keep the pre-activations around ±1, where tanh′ is far from both 0 and 1,
    so a missing tanh′ changes every gradient visibly.
    """
    letters = "T B D H K" if with_output else "T B D H"
    return _draw_case(rng, distinct_sizes(rng, letters, 3, 8))


def _context(case: dict, seed: int | None) -> str:
    s = ", ".join(f"{k}={v}" for k, v in case["sizes"].items())
    if case.get("probe"):
        s = f"probe case {case['probe']}: " + s
    return s + (f", seed={seed}" if seed is not None else "")


def _states(case: dict) -> np.ndarray:
    """The states the backward functions get in their cache: the reference forward pass, or a probe's own."""
    if "Hs" in case:
        return case["Hs"]
    return _ref.rnn_forward(case["X"], case["h0"], case["Wx"], case["Ws"], case["b"])[0]


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


def judge_rnn_step_forward(case: dict, h, seed: int | None = None) -> Verdict:
    """Judge ``h`` returned for one step on the inputs of ``case`` (step t=1 of it)."""
    return _judge_case(STEP_FORWARD_TARGET, case, (h,), _step_forward_truth(case), seed)


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


def judge_rnn_step_backward(case: dict, grads, seed: int | None = None) -> Verdict:
    """Judge ``(dx, dh_prev, dWx, dWs, db)`` for one step against central differences."""
    return _judge_case(STEP_BACKWARD_TARGET, case, tuple(grads), _step_backward_truth(case), seed)


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
        (SHIFTED, {"Hs": np.concatenate([h0[None], good[:-1]])}),
        (WITH_H0, {"Hs": np.concatenate([h0[None], good])}),
        (H0_IGNORED, {"Hs": run(lambda x, h: np.tanh(x @ Wx.T + h @ Ws.T + b), start=np.zeros_like(h0))}),
    ]


def _forward_truth(case: dict, analytic: bool = True) -> dict:
    return {"Hs": _ref.rnn_forward(case["X"], case["h0"], case["Wx"], case["Ws"], case["b"])[0]}


def _forward_case_variants(case: dict):
    return _forward_variants(case["X"], case["h0"], case["Wx"], case["Ws"], case["b"])


def judge_rnn_forward(case: dict, Hs, seed: int | None = None) -> Verdict:
    """Judge the states ``Hs`` (T, B, H) against the reference on the inputs of ``case``."""
    return _judge_case(FORWARD_TARGET, case, (Hs,), _forward_truth(case), seed)


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


def judge_rnn_backward(case: dict, grads, part: str = "all", seed: int | None = None) -> Verdict:
    """Judge ``(dX, dh0, dWx, dWs, db)`` against central differences of the reference forward pass."""
    target = _backward_target(part)
    return _judge_case(target, case, tuple(grads), _backward_truth(case), seed)


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


def judge_output_backward(case: dict, grads, seed: int | None = None) -> Verdict:
    """Judge ``(dHs, dWy, dc)`` of the output layer O = Hs @ Wy.T + c against central differences."""
    return _judge_case(OUTPUT_TARGET, case, tuple(grads), _output_truth(case), seed)


# ---------------------------------------------------------------------------
# probe cases: one term switched off at a time
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ProbeCase:
    """A fixed case on which one part of the computation cannot show a mistake.

    ``make`` turns the probe base case into this case; ``what`` says how it differs (for
    messages); ``if_only_full_fails`` is what it means when this case is right while the full
    (random) case is wrong, ``if_fails`` what it means when this case is wrong.
    """
    name: str
    make: Callable[[dict], dict]
    what: str
    if_only_full_fails: str
    if_fails: str


@dataclass(frozen=True)
class ProbeRule:
    """A conclusion drawn from which cases are wrong: ``wrong`` and ``right`` hold keys ``"case"`` (any
    output of that case) or ``"case:output"``, where ``case`` is ``"full"`` (the random case) or a probe's
    name; ``any_wrong``: at least one of these keys is wrong. The first rule that holds is shown."""
    wrong: tuple = ()
    right: tuple = ()
    text: str = ""
    any_wrong: tuple = field(default=())


def _resized(case: dict, **arrays) -> dict:
    """A copy of ``case`` with some arrays replaced, its sizes recomputed."""
    new = dict(case)
    new.update(arrays)
    T, B, D = new["X"].shape
    sizes = {"T": T, "B": B, "D": D, "H": new["Wx"].shape[0]}
    if "Wy" in new:
        sizes["K"] = new["Wy"].shape[0]
    new["sizes"] = sizes
    return new


def _zero(case: dict, *names) -> dict:
    return _resized(case, **{n: np.zeros_like(case[n]) for n in names})


def _at_step_only(case: dict, name: str, t: int) -> dict:
    a = np.zeros_like(case[name])
    a[t] = case[name][t]
    return _resized(case, **{name: a})


def _steps(case: dict, T: int) -> dict:
    return _resized(case, **{k: case[k][:T] for k in ("X", "dHs", "dO", "Hs") if k in case})


def _rows(case: dict, B: int) -> dict:
    keys = [k for k in ("X", "dHs", "dO", "Hs") if k in case]
    return _resized(case, h0=case["h0"][:B], **{k: case[k][:, :B] for k in keys})


def _with_states(case: dict, Hs: np.ndarray, **more) -> dict:
    return _resized(case, Hs=Hs, **more)


def _probe_base() -> dict:
    """The fixed case the probes are made from (sizes all different, T ≥ 3 so carries show)."""
    return _draw_case(np.random.default_rng(20261202), {"T": 4, "B": 3, "D": 5, "H": 6, "K": 2})


_BATCH_TEXT = ("right for a batch of one row (B = 1), wrong for B > 1: the rows of the batch get mixed. Each row "
               "is its own sequence")


def _ONE_ROW(text: str) -> ProbeCase:
    """The probe with a batch of one row; ``text`` says how rows are kept apart in this function."""
    return ProbeCase("one_row", lambda c: _rows(c, 1), "one row (B = 1)", _BATCH_TEXT + text,
                     "wrong even for one row (B = 1)")


STEP_FORWARD_PROBES = (
    ProbeCase("bias_only", lambda c: _zero(c, "X", "h0"), "x = 0 and h_prev = 0 (only the bias)",
              "the bias and tanh are right", "wrong with the bias alone (tanh(b) should come out)"),
    ProbeCase("input_only", lambda c: _zero(c, "h0", "b"), "h_prev = 0 and b = 0 (only the input term)",
              "the input term is right", "the input term alone is wrong"),
    ProbeCase("recurrent_only", lambda c: _zero(c, "X", "b"), "x = 0 and b = 0 (only the recurrent term)",
              "the recurrent term is right", "the recurrent term alone is wrong"),
    _ONE_ROW(": h[i] = tanh(x[i] @ Wx.T + h_prev[i] @ Ws.T + b). Look for a reshape where a transpose "
             "belongs, or a sum or mean over axis 0."),
)
STEP_FORWARD_RULES = (
    ProbeRule(right=("one_row",), wrong=("full",), text=STEP_FORWARD_PROBES[3].if_only_full_fails),
    ProbeRule(wrong=("bias_only", "input_only", "recurrent_only"),
              text="every part is wrong even on its own, so the mistake is in what they all share: the "
                   "nonlinearity. h = tanh(a), applied once to the whole pre-activation "
                   "a = x @ Wx.T + h_prev @ Ws.T + b."),
    ProbeRule(wrong=("input_only",), right=("bias_only", "recurrent_only"),
              text="the term at fault is the input term: x @ Wx.T (Wx is (H, D), x a batch of rows (B, D)), "
                   "added to the pre-activation inside the tanh."),
    ProbeRule(wrong=("recurrent_only",), right=("bias_only", "input_only"),
              text="the term at fault is the recurrent term: h_prev @ Ws.T (Ws is (H, H), h_prev a batch of "
                   "rows), added to the pre-activation inside the tanh."),
    ProbeRule(wrong=("bias_only",), right=("input_only", "recurrent_only"),
              text="the term at fault is the bias: b, shape (H,), is added once to every row of the "
                   "pre-activation, inside the tanh."),
    ProbeRule(right=("bias_only", "input_only", "recurrent_only"), wrong=("full",),
              text="each part alone is right, but not their combination: h = tanh(x @ Wx.T + h_prev @ Ws.T + b), "
                   "one tanh of the sum of the three terms (not a sum or product of separate pieces)."),
)

_DELTA = "δ = dh ⊙ (1 − h²)"
STEP_BACKWARD_PROBES = (
    ProbeCase("tanh_off", lambda c: _with_states(c, np.zeros_like(c["dHs"])), "h = 0 in the cache (tanh′ = 1)",
              "right where tanh′ = 1, so the tanh′ factor is the likely culprit", "wrong even where tanh′ = 1"),
    ProbeCase("states_zero", lambda c: _with_states(c, np.zeros_like(c["dHs"]), h0=np.zeros_like(c["h0"])),
              "h = 0 and h_prev = 0 in the cache (tanh′ = 1 of either state)",
              "right when no state is nonzero", "wrong even when both states are 0"),
    _ONE_ROW(f": {_DELTA} is elementwise, row by row; dx and dh_prev keep one row per sequence, and only the "
             "weight and bias gradients sum over the rows (δᵀ @ x, δᵀ @ h_prev, δ.sum(axis=0), no mean)."),
)
_STEP_ALONE = {
    "dx": "dx = δ @ Wx", "dh_prev": "dh_prev = δ @ Ws (the gradient passed back to the previous state)",
    "dWx": "dWx = δᵀ @ x", "dWs": "dWs = δᵀ @ h_prev", "db": "db = δ.sum(axis=0)",
}
STEP_BACKWARD_RULES = (
    ProbeRule(wrong=("tanh_off:db",), right=("states_zero:db",),
              text=f"δ is right only when h_prev = 0 as well, so the tanh′ factor reads h_prev: {_DELTA} with "
                   "h = cache[2], the state this step produced (tanh′ of the wrong state)."),
    ProbeRule(right=("tanh_off", "states_zero"), wrong=("full:db",),
              text=f"every gradient is right where h = 0 (tanh′ = 1), so the tanh′ factor itself is wrong: "
                   f"{_DELTA}, the derivative of tanh written with its output h (once, h squared)."),
) + tuple(
    ProbeRule(wrong=(f"full:{o}",), right=tuple(f"full:{p}" for p in _STEP_ALONE if p != o),
              text=f"δ is right (every other gradient is), so the mistake is in {_STEP_ALONE[o]} alone.")
    for o in _STEP_ALONE
) + (
    ProbeRule(right=("one_row",), wrong=("full",), text=STEP_BACKWARD_PROBES[2].if_only_full_fails),
)

FORWARD_PROBES = (
    ProbeCase("T1", lambda c: _steps(c, 1), "one step (T = 1)", "the first step is right",
              "wrong already at the first step"),
    ProbeCase("h0_zero", lambda c: _zero(c, "h0"), "h0 = 0", "right when h0 = 0", "wrong even with h0 = 0"),
    ProbeCase("Ws0", lambda c: _zero(c, "Ws"), "Ws = 0 (no recurrence: each state depends on its own input only)",
              "every step on its own is right",
              "wrong even without recurrence: what is computed at each step or stored in Hs[t] is wrong"),
    _ONE_ROW(": Hs[t, i] depends on X[:, i] and h0[i] only."),
)
FORWARD_RULES = (
    ProbeRule(right=("one_row",), wrong=("full",), text=FORWARD_PROBES[3].if_only_full_fails),
    ProbeRule(wrong=("Ws0",),
              text="even with Ws = 0, where every state is tanh(x⁽ᵗ⁾ @ Wx.T + b) on its own, Hs is wrong: what "
                   "is computed at each step, or what is stored in Hs[t] (the state after reading X[t], "
                   "for t = 0 … T−1), is wrong."),
    ProbeRule(right=("h0_zero",), wrong=("T1",),
              text="right when h0 = 0 but wrong from the first step otherwise: the first step does not start "
                   "from h⁽⁰⁾ = h0."),
    ProbeRule(right=("Ws0",), wrong=("T1",),
              text="every step is right without recurrence (Ws = 0) and wrong already at t=1 with it: the "
                   "recurrent term is at fault: a = x @ Wx.T + h_prev @ Ws.T + b, the recurrent term inside the "
                   "tanh with h⁽⁰⁾ = h0 at t=1."),
    ProbeRule(right=("T1", "Ws0"), wrong=("full",),
              text="the first step and every step without recurrence are right, so the recurrence is at "
                   "fault: step t must get h⁽ᵗ⁻¹⁾, the state step t−1 returned, and add h_prev @ Ws.T."),
)

BACKWARD_PROBES = (
    ProbeCase("first_only", lambda c: _at_step_only(c, "dHs", 0), "dHs nonzero at t=1 only (nothing to carry back)",
              "the gradients of a single step (with h0 and dh0) are right",
              "wrong even for a single step"),
    ProbeCase("last_only", lambda c: _at_step_only(c, "dHs", -1),
              "dHs nonzero at t=T only (earlier steps get only the carried gradient)",
              "the carried gradient is right", "the carried gradient is wrong"),
    ProbeCase("Hs_zero", lambda c: _with_states(c, np.zeros_like(c["dHs"])),
              "every h⁽ᵗ⁾ = 0 in the cache (tanh′ = 1), h0 ≠ 0", "right where tanh′ = 1",
              "wrong even where tanh′ = 1"),
    ProbeCase("states_zero", lambda c: _with_states(c, np.zeros_like(c["dHs"]), h0=np.zeros_like(c["h0"])),
              "every h⁽ᵗ⁾ = 0 and h0 = 0 (tanh′ = 1 of any state)", "right when no state is nonzero",
              "wrong even when every state is 0"),
    ProbeCase("T1", lambda c: _steps(c, 1), "one step (T = 1)", "a single step is right",
              "wrong already for T = 1"),
    _ONE_ROW(": δ⁽ᵗ⁾ is elementwise, row by row; dX and dh0 keep one row per sequence, and the weight and "
             "bias gradients sum over the rows (no mean)."),
)
_SEQ_ALONE = {
    "dX": "dX[t] = δ⁽ᵗ⁾ @ Wx",
    "dh0": "dh0, the gradient that leaves step 1: δ⁽¹⁾ @ Ws (the carried gradient after the loop's last step)",
    "dWx": "dWx = Σₜ δ⁽ᵗ⁾ᵀ @ x⁽ᵗ⁾", "dWs": "dWs = Σₜ δ⁽ᵗ⁾ᵀ @ h⁽ᵗ⁻¹⁾ (h0 at t=1)", "db": "db = Σₜ Σ_batch δ⁽ᵗ⁾",
}
_SEQ_DELTA = "δ⁽ᵗ⁾ = (dHs[t] + dh_next) ⊙ (1 − h⁽ᵗ⁾²)"
#: The outputs of the single-step probe that carry nothing (dh0 is itself a carried gradient).
_FIRST_LOCAL = tuple(f"first_only:{o}" for o in ("dX", "dWx", "dWs", "db"))
BACKWARD_RULES = (
    ProbeRule(right=("last_only",), wrong=("first_only",),
              text="right when the upstream gradient is at t=T only, wrong when it is at t=1 only: dHs[t] is "
                   "not taken into account at the steps before T. The gradient reaching h⁽ᵗ⁾ is "
                   "dHs[t] + dh_next at every step."),
    ProbeRule(right=_FIRST_LOCAL + ("Hs_zero",), wrong=("last_only",),
              text="the gradients within a single step are right and so is everything where tanh′ = 1, but the "
                   "carried gradient is wrong (dh0 is one too): it must pass through tanh′ of its step exactly "
                   f"once: {_SEQ_DELTA}, then dh_next = δ⁽ᵗ⁾ @ Ws for step t−1."),
    ProbeRule(right=_FIRST_LOCAL, wrong=("last_only", "Hs_zero"),
              text="the gradients within a single step are right but the gradient carried back from step t+1 "
                   "(and so dh0) is wrong, even where tanh′ = 1: the carry into step t is dh_next = δ⁽ᵗ⁺¹⁾ @ Ws, "
                   f"added to dHs[t]: {_SEQ_DELTA}."),
    ProbeRule(wrong=("Hs_zero:db",), right=("states_zero:db",),
              text="δ is right only when h0 = 0 as well, so the tanh′ factor at t=1 reads h0: tanh′ is taken "
                   f"of h⁽ᵗ⁻¹⁾. It must use h⁽ᵗ⁾ = Hs[t], the state step t produced: {_SEQ_DELTA}."),
    ProbeRule(right=("Hs_zero", "states_zero"), wrong=("full:db", "first_only:db"),
              text="every gradient is right where all states are 0 (tanh′ = 1) and wrong otherwise, even for a "
                   f"single step: the tanh′ factor itself is wrong: {_SEQ_DELTA} (1 − h², h = Hs[t], once)."),
    ProbeRule(wrong=("first_only:dWs",), right=tuple(f"first_only:{o}" for o in ("dX", "dh0", "dWx", "db")),
              text="with dHs at t=1 only, everything but dWs is right: its t=1 term must pair δ⁽¹⁾ with the "
                   "state that entered step 1, h⁽⁰⁾ = h0."),
    ProbeRule(right=("full:dX", "full:dh0", "T1"), any_wrong=("full:dWx", "full:dWs", "full:db"),
              text="dX and dh0 are right, so every δ⁽ᵗ⁾ is; the parameter gradients are wrong but right for "
                   "T = 1: the sum over time is wrong. Wx, Ws and b are shared by every step: dWx, dWs and db "
                   "are sums (not means, not single terms) over t = 1 … T."),
) + tuple(
    ProbeRule(wrong=(f"full:{o}",), right=tuple(f"full:{p}" for p in _SEQ_ALONE if p != o),
              text=f"every other gradient is right, so the mistake is in {_SEQ_ALONE[o]} alone.")
    for o in _SEQ_ALONE
) + (
    ProbeRule(right=("one_row",), wrong=("full",), text=BACKWARD_PROBES[5].if_only_full_fails),
    ProbeRule(right=("T1",), wrong=("full",),
              text="a single step (T = 1) is right, so what connects the steps is wrong: the carried gradient "
                   "dh_next or the sums over time."),
)

OUTPUT_PROBES = (
    ProbeCase("one_step", lambda c: _at_step_only(c, "dO", 1), "dO nonzero at t=2 only",
              "right when one step has a gradient", "wrong when only one step has a gradient"),
    ProbeCase("T1", lambda c: _steps(c, 1), "one step (T = 1)", "a single step is right",
              "wrong already for T = 1"),
    _ONE_ROW(": dHs keeps one row per sequence, and dWy and dc sum over the rows as well as over time "
             "(no mean)."),
)
OUTPUT_RULES = (
    ProbeRule(wrong=("one_step:dHs",), right=("T1:dHs",),
              text="with dO nonzero at t=2 only, dHs is wrong: dHs[t] comes from dO[t] alone, "
                   "dHs[t] = dO[t] @ Wy (each state feeds only its own step's output; carrying gradients back "
                   "in time is rnn_backward's job)."),
    ProbeRule(wrong=("T1:dHs",), text="dHs is wrong even for a single step: dHs[t] = dO[t] @ Wy (Wy is (K, H))."),
    ProbeRule(right=("T1",), any_wrong=("full:dWy", "full:dc"),
              text="right for one step (T = 1): the sum over time is wrong. Wy and c are used at every step: "
                   "dWy = Σₜ dO[t]ᵀ @ Hs[t] and dc = Σₜ Σ_batch dO[t], sums (not means) over every step."),
    ProbeRule(right=("one_row",), wrong=("full",), text=OUTPUT_PROBES[2].if_only_full_fails),
)


def _observations(outcomes: dict) -> dict:
    """``{"case": wrong?, "case:output": wrong?}`` from ``{case name: _Outcome}``."""
    obs = {}
    for name, o in outcomes.items():
        obs[name] = o.error is not None or any(o.wrong.values())
        for out, bad in o.wrong.items():
            obs[f"{name}:{out}"] = o.error is not None or bad
    return obs


def _rule_holds(rule: ProbeRule, obs: dict) -> bool:
    if any(obs.get(k) is not True for k in rule.wrong) or any(obs.get(k) is not False for k in rule.right):
        return False
    return not rule.any_wrong or any(obs.get(k) is True for k in rule.any_wrong)


def probe_text(probes, rules, outcomes: dict) -> str:
    """' Probe cases (fixed inputs with one part switched off): right with …; wrong with …. So …'"""
    judged = [p for p in probes if p.name in outcomes]
    if not judged:
        return ""
    obs = _observations(outcomes)
    right = [p for p in judged if not obs[p.name]]
    wrong = [p for p in judged if obs[p.name]]

    def wrong_outputs(p):
        o = outcomes[p.name]
        if o.error is not None:
            return " (it raised an error)"
        bad = [k for k, v in o.wrong.items() if v]
        return f" ({', '.join(bad)})" if len(bad) < len(o.wrong) else ""
    parts = []
    if right:
        parts.append("right with " + "; ".join(p.what for p in right))
    if wrong:
        parts.append("wrong with " + "; ".join(p.what + wrong_outputs(p) for p in wrong))
    text = " Probe cases (fixed inputs with one part switched off): " + "; ".join(parts) + "."
    for rule in rules:
        if _rule_holds(rule, obs):
            return text + " So " + rule.text
    if not obs.get("full"):
        return text + " The random case is right: the mistake shows only on these special inputs."
    facts = [p.if_fails for p in wrong] or [p.if_only_full_fails for p in right]
    return text + " So " + "; ".join(facts) + "."


# ---------------------------------------------------------------------------
# the step function replaced by an oracle while the sequence function runs
# ---------------------------------------------------------------------------

_SUP = str.maketrans("0123456789+-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻")


def _sup(n) -> str:
    """``3`` -> ``⁽³⁾`` (a time index as the book writes it)."""
    return "⁽" + str(n).translate(_SUP) + "⁾"


def _ordinal(k: int) -> str:
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


def _step_forward_value(x, h_prev, Wx, Ws, b):
    h = np.tanh(x @ Wx.T + h_prev @ Ws.T + b)
    return h, (x, h_prev, h, Wx, Ws)


def _step_backward_value(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1.0 - h * h)
    return d @ Wx, d @ Ws, d.T @ x, d.T @ h_prev, d.sum(axis=0)


def _forward_oracle(case: dict):
    """Step calls of a correct forward loop, named values for a miss, and the expected arguments per call."""
    X, h0, Wx, Ws, b = case["X"], case["h0"], case["Wx"], case["Ws"], case["b"]
    T = X.shape[0]
    entries, states, h = [], [], h0
    for t in range(T):
        out = _step_forward_value(X[t], h, Wx, Ws, b)
        entries.append(((X[t], h, Wx, Ws, b), out))
        h = out[0]
        states.append(h)
    named = ([(f"X[{t}] (x{_sup(t + 1)})", X[t]) for t in range(T)] + [("h0", h0)]
             + [(f"Hs[{t}] (h{_sup(t + 1)}, the state after step {t + 1})", states[t]) for t in range(T)]
             + [("zeros (a state never filled)", np.zeros_like(h0)), ("Wx", Wx), ("Ws", Ws), ("Ws.T", Ws.T),
                ("Wx.T", Wx.T), ("b", b)])
    expected = [(f"time step t={t + 1}", [X[t], h0 if t == 0 else states[t - 1], Wx, Ws, b]) for t in range(T)]
    return entries, named, expected


def _backward_oracle(case: dict):
    X, h0, Hs, Wx, Ws = seq_cache(case)
    dHs = case["dHs"]
    T = X.shape[0]
    entries, dhs, carries = [], [None] * T, [None] * T
    carry = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        dh = dHs[t] + carry
        cache = (X[t], Hs[t - 1] if t > 0 else h0, Hs[t], Wx, Ws)
        out = _step_backward_value(dh, cache)
        entries += [((dh, cache), out), ((dh, list(cache)), out)]
        dhs[t], carries[t] = dh, carry
        carry = out[1]
    named = ([(f"dHs[{t}] + dh_next" + (" (dh_next = 0 at t=T)" if t == T - 1 else ""), dhs[t]) for t in range(T)]
             + [(f"dHs[{t}] alone (without the gradient carried back from step {t + 2})", dHs[t])
                for t in range(T - 1)]
             + [(f"dh_next alone (the carried gradient without dHs[{t}])", carries[t]) for t in range(T - 1)]
             + [(f"X[{t}] (x{_sup(t + 1)})", X[t]) for t in range(T)] + [("h0", h0)]
             + [(f"Hs[{t}] (h{_sup(t + 1)})", Hs[t]) for t in range(T)]
             + [("zeros", np.zeros_like(h0)), ("Wx", Wx), ("Ws", Ws), ("Ws.T", Ws.T), ("Wx.T", Wx.T)])
    expected = []
    for k in range(T):
        t = T - 1 - k
        where = f"time step t={t + 1}" + (", the first of a backward loop" if k == 0 else "")
        expected.append((where, [dhs[t], X[t], Hs[t - 1] if t > 0 else h0, Hs[t], Wx, Ws]))
    return entries, named, expected


@dataclass(frozen=True)
class _StepHelper:
    """The learner's step function a sequence function calls: its name, and what a correct loop passes it."""
    name: str
    oracle: Callable[[dict], tuple]
    leaf_names: tuple
    signature: str
    cell: str = ""            # the hidden test cell that grades the step function itself


_FORWARD_STEP = _StepHelper("rnn_step_forward", _forward_oracle, ("x", "h_prev", "Wx", "Ws", "b"),
                            "(X[t], h_prev, Wx, Ws, b)", cell="test_rnn_step_forward")
_BACKWARD_STEP = _StepHelper("rnn_step_backward", _backward_oracle,
                             ("dh", "cache[0] (x)", "cache[1] (h_prev)", "cache[2] (h)", "cache[3] (Wx)",
                              "cache[4] (Ws)"), "(dHs[t] + dh_next, (X[t], h_prev, Hs[t], Wx, Ws))",
                             cell="test_rnn_step_backward")


def _oracle_call(step: _StepHelper, args: tuple, case: dict):
    """The call of the sequence function with the oracle, and what the judge needs to read a miss."""
    entries, named, expected = step.oracle(case)
    tags, labels, values = {}, [], []
    for label, value in named:
        tag = _cf.leaf_tag(value).tobytes()
        if tag not in tags:
            tags[tag] = len(values)
            labels.append(label)
            values.append(value)
    exp = [(where, [tags.get(_cf.leaf_tag(v).tobytes(), -1) for v in leaves]) for where, leaves in expected]
    return _cf.with_oracle(args, step.name, entries, known=tuple(values)), {"labels": labels, "expected": exp}


def _oracle_record(records, i: int) -> dict:
    """``{"calls", "misses", "miss_call", "miss_leaves"}`` of call ``i``'s oracle, as plain ints (a record the
    kernel reports is never trusted to be well formed: anything odd reads as zeros)."""
    rec = records[i].get("objects", {}).get("oracle") if 0 <= i < len(records) else None
    out = {"calls": 0, "misses": 0, "miss_call": 0, "miss_leaves": []}
    if not isinstance(rec, dict):
        return out
    for key in ("calls", "misses", "miss_call"):
        v = rec.get(key)
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= int(v) < 10**9:
            out[key] = int(v)
    leaves = rec.get("miss_leaves")
    if isinstance(leaves, np.ndarray) and leaves.dtype.kind in "iu" and leaves.ndim == 1 and leaves.size < 100:
        out["miss_leaves"] = [int(j) for j in leaves]
    return out


def _miss_text(func: str, step: _StepHelper, info: dict, rec: dict) -> str:
    """What the first call of the step function that a correct loop would not make got wrong."""
    k, leaves = rec["miss_call"], rec["miss_leaves"]
    labels, expected = info["labels"], info["expected"]

    def label(i):
        return labels[i] if 0 <= i < len(labels) else "a value a correct loop never has at hand"
    head = f"{func} passes {step.name} inputs a correct loop would not pass"
    if k < 1:
        return head + "."
    if k > len(expected):
        return (f"{head}: it calls {step.name} {k} times or more; a correct loop calls it once per time step "
                f"({len(expected)} times).")
    where, exp = expected[k - 1]
    before = "" if k == 1 else " (its first call was right)" if k == 2 else f" (its first {k - 1} calls were right)"
    if len(leaves) != len(exp):
        return (f"{head}: its {_ordinal(k)} call ({where}) passes {len(leaves)} values where {step.name}"
                f"{step.signature} takes {len(exp)}{before}.")
    wrong = [(step.leaf_names[j], leaves[j], exp[j]) for j in range(len(exp)) if leaves[j] != exp[j]]
    if not wrong:
        return (f"{head}: its {_ordinal(k)} call ({where}) passes the right values, packed differently from "
                f"{step.name}{step.signature}{before}.")
    said = "; ".join(f"{name} is {label(got)} where {label(want)} belongs" for name, got, want in wrong)
    rest = "; the other arguments are right" if len(wrong) < len(exp) else ""
    return f"{head}: at its {_ordinal(k)} call ({where}), {said}{rest}{before}."


# ---------------------------------------------------------------------------
# judging a check: the random case, the fixed cases, the oracle runs
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    """How to judge one graded function (declarative: the judge below is shared)."""
    func: str
    returns: tuple            # every value the function returns, in order
    outputs: tuple            # the judged ones (a prefix of ``returns``)
    arg_names: tuple
    args_of: Callable         # case -> the learner's arguments
    truth: Callable           # (case, analytic) -> {output: expected array}
    variants: Callable        # case -> [(diagnosis, {output: array})]
    tol: float
    kind: str
    probes: tuple = ()
    rules: tuple = ()
    select: tuple | None = None
    time_axes: dict = field(default_factory=dict)
    direction: str = "backward"
    hints: dict = field(default_factory=dict)
    step: _StepHelper | None = None
    fd: bool = True           # the random and edge cases are judged against central differences


@dataclass
class _Outcome:
    error: str | None
    outputs: tuple | None
    wrong: dict               # output -> wrong?

    def ok(self, select) -> bool:
        return self.error is None and not any(self.wrong.get(n, True) for n in select)


def _wrong_outputs(target: _Target, outputs: tuple, truth: dict) -> dict:
    """Which outputs :func:`judge` would reject (same conversions, shapes and tolerance)."""
    wrong = {}
    for name, value in zip(target.outputs, outputs):
        exp = truth[name]
        try:
            arr = as_float_array(value, target.func, name)
        except _Failure:
            wrong[name] = True
            continue
        if _dtype_problem(value, target.func, name) or arr.shape != exp.shape:
            wrong[name] = True
            continue
        wrong[name] = bool(arr.size and float(scaled_rel_error(arr, exp).max()) > target.tol)
    return wrong


def _outcome(target: _Target, records, i: int, truth: dict) -> _Outcome:
    try:
        out = returned(records, i, target.func, list(target.returns))
    except _Failure as f:
        return _Outcome(str(f), None, {n: True for n in target.outputs})
    out = tuple(out[:len(target.outputs)])
    return _Outcome(None, out, _wrong_outputs(target, out, truth))


def _judge_case(target: _Target, case: dict, outputs: tuple, truth: dict, seed=None, select=None) -> Verdict:
    analytic = "probe" in case or not target.fd
    compared = "central differences" if not analytic else (
        "the reference on the same inputs" if target.kind == "values" else "the exact gradients on these inputs")
    return judge(target.func, list(target.outputs), list(outputs), truth, tol=target.tol, kind=target.kind,
                 compared_with=compared, dims=_DIMS, sizes=case["sizes"], variants=target.variants(case),
                 time_axes=target.time_axes, direction=target.direction, hints=target.hints,
                 select=select if select is not None else target.select, context=_context(case, seed))


def _cases(target: _Target, rng) -> list:
    with_output = target.func == "output_backward"
    random_case = rnn_case(rng, with_output=with_output)
    base = _probe_base()
    if not with_output:
        base = {k: v for k, v in base.items() if k not in ("Wy", "dO")}
        base["sizes"] = {k: v for k, v in base["sizes"].items() if k != "K"}
    probes = []
    for p in target.probes:
        case = p.make(base)
        case["probe"] = p.what
        case["probe_name"] = p.name
        probes.append(case)
    edge = _edge_case()
    if not with_output:
        edge = {k: v for k, v in edge.items() if k not in ("Wy", "dO")}
        edge["sizes"] = {k: v for k, v in edge["sizes"].items() if k != "K"}
    return [random_case, edge] + probes


def _build(target: _Target):
    def build(rng):
        cases = _cases(target, rng)
        calls = [target.args_of(c) for c in cases]
        oracle_info = []
        if target.step is not None:
            for c in cases:
                call, info = _oracle_call(target.step, target.args_of(c), c)
                calls.append(call)
                oracle_info.append(info)
            # and once more with the learner's step recorded (a separate run: see casefile.with_recorder)
            calls += [_cf.with_recorder(target.args_of(c), target.step.name) for c in cases]
        return calls, {"cases": cases, "oracle": oracle_info}
    return build


def _same_outputs(a: _Outcome, b: _Outcome) -> bool:
    if a.error is not None or b.error is not None:
        return False
    for x, y in zip(a.outputs, b.outputs):
        try:
            x = as_float_array(x, "", "")
            y = as_float_array(y, "", "")
        except _Failure:
            return False
        if x.shape != y.shape or (x.size and float(scaled_rel_error(x, y).max()) > 1e-9):
            return False
    return True


def _variant_matched(target: _Target, case: dict, truth: dict, o: _Outcome) -> bool:
    """Whether a known mistake (buggy variant) explains one of the wrong outputs of ``o``."""
    if o.error is not None or not any(o.wrong.values()):
        return False
    variants = target.variants(case)
    return any(_match_variant(n, np.asarray(v, dtype=np.float64), truth[n], variants)
               for n, v in zip(target.outputs, o.outputs)
               if o.wrong.get(n) and isinstance(v, np.ndarray) and v.dtype.kind in "fiu" and v.shape == truth[n].shape)


def _first_miss(target: _Target, cases, records, offset: int, oracle_info) -> str:
    for i in range(len(cases)):
        rec = _oracle_record(records, offset + i)
        if rec["misses"] > 0:
            return _miss_text(target.func, target.step, oracle_info[i], rec)
    return ""


def _diagnosis(target: _Target, cases, truths, outcomes, select, *, probes: bool = True, miss: str = "") -> list:
    """The failure message (lines) for one set of runs, the learner's own or the oracle's: the first wrong
    case judged with the known mistakes, and what the probe cases show when none of them explains it."""
    shown = next((i for i, o in enumerate(outcomes) if not o.ok(select)), None)
    if shown is None:
        return []
    o = outcomes[shown]
    if o.error is not None:
        return [] if miss and "a correct loop would not pass" in o.error else [o.error]
    message = _judge_case(target, cases[shown], o.outputs, truths[shown], select=select).message
    head, sep, tail = message.partition("\n(Checked on")
    if probes and not miss and target.probes and "Likely cause:" not in head \
            and not _variant_matched(target, cases[0], truths[0], outcomes[0]):
        named = {"full": outcomes[0]}
        named.update({c["probe_name"]: outcomes[i] for i, c in enumerate(cases) if "probe_name" in c})
        head += probe_text(target.probes, target.rules, named)
    return [head + sep + tail]


def _message(lines) -> str:
    """Lines joined, the '(Checked on ...)' notes moved to the end."""
    text = "\n".join(line for line in lines if line)
    body = [line for line in text.split("\n") if not line.startswith("(Checked on")]
    notes = [line for line in text.split("\n") if line.startswith("(Checked on")]
    return "\n".join(body + notes[:1])


def _close(a, b, rtol: float = 1e-9) -> bool:
    """Plain float arrays of one shape, equal up to summation-order rounding."""
    try:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if a.shape != b.shape or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return False
    scale = max(float(np.abs(b).max(initial=0.0)), 1e-300)
    return bool(np.abs(a - b).max(initial=0.0) <= rtol * scale)


def _same_run(a: "_Outcome", b: "_Outcome") -> bool:
    """The learner's plain run and their recorded run gave the same result (the same function on the
    same inputs must: one that behaves differently when its helper is observed is not credited)."""
    if (a.outputs is None) != (b.outputs is None):
        return False
    if a.outputs is None:
        return True
    return all(_close(x, y, 0.0) for x, y in zip(a.outputs, b.outputs))


def _step_trace(records_i: dict, name: str) -> list:
    trace = records_i.get("observed", {}).get(name, [])
    return trace if isinstance(trace, list) else []


def _composes_step(target: _Target, case: dict, rec: dict, own: "_Outcome", select) -> bool:
    """Did the learner's own run feed their step function what a correct loop feeds it, and combine its
    results as a correct loop does? Read from the calls the kernel recorded; a forged record that passes
    this is itself a correct loop around some step function, which is what this cell grades."""
    trace = _step_trace(rec, target.step.name)
    X, h0, Wx, Ws = case["X"], case["h0"], case["Wx"], case["Ws"]
    T = X.shape[0]
    if own.outputs is None:
        # the run stopped: credited only if it stopped inside the step function, called exactly as a
        # correct loop first calls it (a step that is not written yet, or that raises)
        if len(trace) != 1 or trace[0].get("error") is None or own.error is None:
            return False
        args = trace[0]["args"]
        t = 0 if target.func == "rnn_forward" else T - 1
        if target.func == "rnn_forward":
            Xc, h0c, Wxc, Wsc, bc = target.args_of(case)
            first = (Xc[0], h0c, Wxc, Wsc, bc)
            return len(args) >= 5 and all(_close(a, e, 0.0) for a, e in zip(args[:5], first))
        dHs_given, (_, _, Hs_ref, _, _) = target.args_of(case)
        cache = (X[t], Hs_ref[t - 1] if t > 0 else h0, Hs_ref[t], Wx, Ws)
        return (len(args) >= 2 and isinstance(args[1], (tuple, list)) and len(args[1]) >= 5
                and _close(args[0], dHs_given[t]) and all(_close(a, e, 0.0) for a, e in zip(args[1][:5], cache)))
    if len(trace) != T:
        return False
    try:
        if target.func == "rnn_forward":
            X, h0, Wx, Ws, b = target.args_of(case)
            Hs, h_prev = own.outputs[0], h0
            for t, call in enumerate(trace):
                args, value = call["args"], call["value"]
                h = value[0] if isinstance(value, (tuple, list)) else value
                if len(args) < 5 or not all(_close(a, e, 0.0) for a, e in zip(args[:5], (X[t], h_prev, Wx, Ws, b))):
                    return False
                if not _close(Hs[t], h, 0.0):
                    return False
                h_prev = h
            return True
        if target.func == "rnn_backward":
            dHs_given, (_, _, Hs_ref, _, _) = target.args_of(case)   # probes may pass their own Hs
            dX, dh0, dWx, dWs, db = own.outputs
            carried = np.zeros_like(h0)
            sums = [np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])]
            for j, call in enumerate(trace):
                t = T - 1 - j
                args, value = call["args"], call["value"]
                if len(args) < 2 or not isinstance(args[1], (tuple, list)) or len(args[1]) < 5:
                    return False
                cache = (X[t], Hs_ref[t - 1] if t > 0 else h0, Hs_ref[t], Wx, Ws)
                if not all(_close(a, e, 0.0) for a, e in zip(args[1][:5], cache)):
                    return False
                if not _close(args[0], dHs_given[t] + carried):
                    return False
                if not isinstance(value, (tuple, list)) or len(value) < 5:
                    return False
                if "dX" in select and not _close(dX[t], value[0]):
                    return False
                carried = np.asarray(value[1], dtype=np.float64)
                for k in range(3):
                    sums[k] = sums[k] + np.asarray(value[2 + k], dtype=np.float64)
            wanted = {"dWx": sums[0], "dWs": sums[1], "db": sums[2], "dh0": carried}
            got = {"dWx": dWx, "dWs": dWs, "db": db, "dh0": dh0}
            return all(_close(got[k], wanted[k]) for k in wanted if k in select)
    except (TypeError, ValueError, IndexError, KeyError):
        return False
    return False


def _judge_target(target: _Target, context: dict, records) -> Verdict:
    cases = context["cases"]
    n = len(cases)
    select = target.select if target.select is not None else target.outputs
    truths = [target.truth(c, "probe" in c or not target.fd) for c in cases]
    own = [_outcome(target, records, i, truths[i]) for i in range(n)]
    own_modified = modified_warning(records[:n], target.func, target.arg_names)
    if all(o.ok(select) for o in own) and not own_modified:
        return _judge_case(target, cases[0], own[0].outputs, truths[0])
    step = target.step
    used = step is not None and len(records) >= 2 * n and sum(
        _oracle_record(records, n + i)["calls"] for i in range(n)) > 0
    if not used:  # no step function (or the loop written inline): the learner's own runs only
        return Verdict(False, _message(_diagnosis(target, cases, truths, own, select) + [own_modified]))
    orc = [_outcome(target, records, n + i, truths[i]) for i in range(n)]
    orc_modified = modified_warning(records[n:2 * n], target.func, target.arg_names)
    blame_denied = ""
    if all(o.ok(select) for o in orc) and not orc_modified:
        step_failed = records[0].get("cells", {}).get(step.cell) is False
        recorded = [_outcome(target, records, 2 * n + i, truths[i]) for i in range(n)]
        composed = len(records) >= 3 * n and all(
            _same_run(own[i], recorded[i]) and _composes_step(target, cases[i], records[2 * n + i], recorded[i], select)
            for i in range(n))
        if not step_failed:
            blame_denied = (f"With a correct {step.name} standing in for yours the outputs are right, but your "
                            f"{step.name} passes its own cell, so the wrong outputs of your own run are "
                            f"{target.func}'s.")
        elif not composed:
            blame_denied = (f"With a correct {step.name} standing in for yours the outputs are right, but with "
                            f"yours, {target.func} does not use its results as a correct loop would (the calls it "
                            f"makes, or how it combines what they return), so this cell cannot be credited to "
                            f"{step.name}'s mistake.")
    if all(o.ok(select) for o in orc) and not orc_modified and not blame_denied:
        first = (_diagnosis(target, cases, truths, own, select, probes=False) + [own_modified])[0]
        return Verdict(True, (
            f"{target.func}: the loop is right: run with a correct {step.name} standing in for yours, every "
            f"output is right on every case. The errors come from your {step.name}, which is graded in its own "
            f"cell (fix it there; this cell keeps its points). With your {step.name}: {first.split(chr(10))[0]}"))
    if blame_denied:
        return Verdict(False, _message(_diagnosis(target, cases, truths, own, select) + [blame_denied, own_modified]))
    miss = _first_miss(target, cases, records, n, context["oracle"])
    lines = [f"{target.func}: judged with a correct {step.name} standing in for yours, so what follows is a "
             f"mistake of {target.func} itself.", miss]
    lines += _diagnosis(target, cases, truths, orc, select, miss=miss)
    if orc_modified:
        lines.append(orc_modified)
    if miss:
        # No outputs with the oracle; the learner's own run still shows a known mistake of the loop, if any.
        if _variant_matched(target, cases[0], truths[0], own[0]):
            lines += [f"With your {step.name}: " + line
                      for line in _diagnosis(target, cases, truths, own, select, probes=False)]
        lines.append(f"Whether your {step.name} is also wrong is judged in its own cell.")
    elif orc[0].error is None and own[0].error is None:
        lines.append(f"Your {step.name} is not at fault here: with it the outputs are the same as with a correct "
                     f"one." if _same_outputs(own[0], orc[0]) else
                     f"Your {step.name} is also wrong (with it the outputs differ again); it is graded in its own "
                     f"cell.")
    elif own[0].error is not None and orc[0].error is None:
        lines.append(f"Your {step.name} is also at fault: with it, {own[0].error}")
    else:
        lines.append(f"Whether your {step.name} is also wrong is judged in its own cell.")
    return Verdict(False, _message(lines))


# ---------------------------------------------------------------------------
# the hidden test cells
# ---------------------------------------------------------------------------

def _edge_case() -> dict:
    """A fixed case with one step and one sequence (T = B = 1): judged on every run, so a regrade
    always covers the smallest sizes besides the random draw."""
    rng = np.random.default_rng(20261201)
    case = rnn_case(rng, with_output=True)
    T, B, D, H, K = 1, 1, 3, 4, 2
    case.update(sizes={"T": T, "B": B, "D": D, "H": H, "K": K},
                X=case["X"][:T, :B, :D], h0=case["h0"][:B, :H], Wx=case["Wx"][:H, :D], Ws=case["Ws"][:H, :H],
                b=case["b"][:H], dHs=case["dHs"][:T, :B, :H], Wy=case["Wy"][:K, :H], dO=case["dO"][:T, :B, :K])
    return case


STEP_FORWARD_TARGET = _Target(
    "rnn_step_forward", ("h", "cache"), ("h",), ("x", "h_prev", "Wx", "Ws", "b"),
    lambda c: (c["X"][0], c["h0"], c["Wx"], c["Ws"], c["b"]), _step_forward_truth, _step_forward_case_variants,
    VALUE_TOL, "values", STEP_FORWARD_PROBES, STEP_FORWARD_RULES, fd=False)

STEP_BACKWARD_TARGET = _Target(
    "rnn_step_backward", ("dx", "dh_prev", "dWx", "dWs", "db"), ("dx", "dh_prev", "dWx", "dWs", "db"),
    ("dh", "cache"), lambda c: (c["dHs"][0], step_cache(c)), _step_backward_truth, _step_backward_case_variants,
    GRAD_TOL, "gradients", STEP_BACKWARD_PROBES, STEP_BACKWARD_RULES)

FORWARD_TARGET = _Target(
    "rnn_forward", ("Hs", "cache"), ("Hs",), ("X", "h0", "Wx", "Ws", "b"),
    lambda c: (c["X"], c["h0"], c["Wx"], c["Ws"], c["b"]), _forward_truth, _forward_case_variants,
    VALUE_TOL, "values", FORWARD_PROBES, FORWARD_RULES, time_axes={"Hs": 0}, direction="forward",
    step=_FORWARD_STEP, fd=False)

_BACKWARD_HINTS = {
    "dWs": "dWs = Σₜ δ⁽ᵗ⁾ᵀ @ h⁽ᵗ⁻¹⁾ with δ⁽ᵗ⁾ = (dHs[t] + dh_next) ⊙ (1 − h⁽ᵗ⁾²).",
    "dWx": "dWx = Σₜ δ⁽ᵗ⁾ᵀ @ x⁽ᵗ⁾ with δ⁽ᵗ⁾ = (dHs[t] + dh_next) ⊙ (1 − h⁽ᵗ⁾²).",
    "db": "db = Σₜ Σ_batch δ⁽ᵗ⁾.",
    "dX": "dX[t] = δ⁽ᵗ⁾ @ Wx.",
    "dh0": "dh0 is the gradient passed back from step t=1: δ⁽¹⁾ @ Ws.",
}


def _backward_target(part: str) -> _Target:
    return _Target(
        "rnn_backward", RNN_BACKWARD_PARTS["all"], RNN_BACKWARD_PARTS["all"], ("dHs", "cache"),
        lambda c: (c["dHs"], seq_cache(c)), _backward_truth, _backward_case_variants, GRAD_TOL, "gradients",
        BACKWARD_PROBES, BACKWARD_RULES, select=RNN_BACKWARD_PARTS[part], time_axes={"dX": 0},
        hints=_BACKWARD_HINTS, step=_BACKWARD_STEP)


OUTPUT_TARGET = _Target(
    "output_backward", ("dHs", "dWy", "dc"), ("dHs", "dWy", "dc"), ("dO", "Hs", "Wy"), _output_args,
    _output_truth, _output_case_variants, GRAD_TOL, "gradients", OUTPUT_PROBES, OUTPUT_RULES,
    time_axes={"dHs": 0}, hints={"dWy": "dWy = Σₜ dO[t]ᵀ @ Hs[t].", "dc": "dc = Σₜ Σ_batch dO[t].",
                                 "dHs": "dHs[t] = dO[t] @ Wy."})


def _check(grade_id: str, target: _Target) -> Check:
    return Check(grade_id, target.func, build=_build(target),
                 judge=lambda context, records: _judge_target(target, context, records),
                 helper_cells=(target.step.cell,) if target.step is not None else ())


STEP_FORWARD = _check("test_rnn_step_forward", STEP_FORWARD_TARGET)
STEP_BACKWARD = _check("test_rnn_step_backward", STEP_BACKWARD_TARGET)
FORWARD = _check("test_rnn_forward", FORWARD_TARGET)
OUTPUT_BACKWARD = _check("test_output_backward", OUTPUT_TARGET)


def _backward_check(part: str) -> Check:
    return _check(f"test_rnn_backward_{part}", _backward_target(part))


#: The hidden test cells of a3-bptt, by grade_id.
CHECKS = {c.grade_id: c for c in (STEP_FORWARD, STEP_BACKWARD, FORWARD, _backward_check("parameters"),
                                  _backward_check("inputs"), OUTPUT_BACKWARD)}


def grade_rnn_step_forward(fn, *, rng=None) -> Verdict:
    """Check ``rnn_step_forward(x, h_prev, Wx, Ws, b) -> (h, cache)`` in this process."""
    return STEP_FORWARD.grade(fn, rng=rng)


def grade_rnn_step_backward(fn, *, rng=None) -> Verdict:
    """Check ``rnn_step_backward(dh, cache) -> (dx, dh_prev, dWx, dWs, db)``; the cache is ``(x, h_prev, h, Wx, Ws)``."""
    return STEP_BACKWARD.grade(fn, rng=rng)


def grade_rnn_forward(fn, *, rng=None) -> Verdict:
    """Check ``rnn_forward(X, h0, Wx, Ws, b) -> (Hs, cache)`` in this process."""
    return FORWARD.grade(fn, rng=rng)


def grade_rnn_backward(fn, *, part: str = "all", rng=None) -> Verdict:
    """Check ``rnn_backward(dHs, cache)``; ``part`` is ``"parameters"``, ``"inputs"`` or ``"all"``."""
    if part not in RNN_BACKWARD_PARTS:
        raise ValueError(f"grade_rnn_backward: part must be one of {sorted(RNN_BACKWARD_PARTS)}, got {part!r}")
    return _backward_check(part).grade(fn, rng=rng)


def grade_output_backward(fn, *, rng=None) -> Verdict:
    """Check ``output_backward(dO, Hs, Wy) -> (dHs, dWy, dc)`` in this process."""
    return OUTPUT_BACKWARD.grade(fn, rng=rng)
