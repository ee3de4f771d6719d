r"""Checks of assignment a3-bptt (chapter 5): the vanilla RNN step, sequence and BPTT.

Each hidden test cell is a :class:`~rnnkit.grading.Check` in :data:`CHECKS`: a case builder
that draws fresh sizes and values in the grading process, and a judge that sees only
the arrays the learner's function returned on them (``judge_*``). ``grade_*`` run a
check in this process, for tests and trusted code.

Ground truth: forward values from rnnkit's reference on the same inputs;
gradients from central differences of the reference forward pass with the loss
:math:`L = \sum \texttt{Hs} \odot \texttt{dHs}` (a random upstream gradient, so
every output entry matters).
"""
from __future__ import annotations

import numpy as np

from .. import layers as _ref
from ._core import (GRAD_TOL, VALUE_TOL, Check, Verdict, _Failure, distinct_sizes, judge, modified_warning,
                    numerical_gradients, returned)

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

NO_TANH = "tanh is missing: h = tanh(a) with a = x @ Wx.T + h_prev @ Ws.T + b."
WS_NOT_T = ("the state-to-state product uses Ws instead of Ws.T: with row vectors (B, H), "
            "Ws h⁽ᵗ⁻¹⁾ is written h_prev @ Ws.T.")
NO_BIAS = "the bias b is missing from the pre-activation."
NOT_CARRIED = ("the state is not carried: every step starts from h0 instead of the previous step's h⁽ᵗ⁻¹⁾.")
SHIFTED = ("Hs is shifted by one step: Hs[t] must hold the state *after* reading x⁽ᵗ⁾, i.e. h⁽¹⁾ … h⁽ᵀ⁾, "
           "not h⁽⁰⁾ … h⁽ᵀ⁻¹⁾.")
WITH_H0 = "Hs includes h0: return only the T new states h⁽¹⁾ … h⁽ᵀ⁾, shape (T, B, H)."

OUT_ONLY_LAST = ("dWy / dc hold only the last step: Wy and c are used at every step, so their gradients "
                 "are sums over t (and over the batch).")
DWY_TRANSPOSED = "dWy is transposed: it has the shape of Wy, (K, H), computed as dOᵀ @ Hs summed over time."
DC_NOT_SUMMED = "dc still has the time and/or batch axes: sum dO over time and batch to get shape (K,)."


def rnn_case(rng: np.random.Generator, *, with_output: bool = False) -> dict:
    """Fresh inputs for the RNN checks: distinct sizes T, B, D, H (and K), float64 values.

    Scales keep the pre-activations around ±1, where tanh′ is far from both 0 and 1,
    so a missing tanh′ changes every gradient visibly.
    """
    letters = "T B D H K" if with_output else "T B D H"
    sizes = distinct_sizes(rng, letters, 3, 8)
    T, B, D, H = sizes["T"], sizes["B"], sizes["D"], sizes["H"]
    case = {
        "sizes": sizes,
        "X": rng.standard_normal((T, B, D)),
        "h0": 0.5 * rng.standard_normal((B, H)),
        "Wx": rng.standard_normal((H, D)) / np.sqrt(D),
        "Ws": 0.8 * rng.standard_normal((H, H)) / np.sqrt(H),
        "b": 0.2 * rng.standard_normal(H),
        "dHs": rng.standard_normal((T, B, H)),
    }
    if with_output:
        K = sizes["K"]
        case["Wy"] = rng.standard_normal((K, H)) / np.sqrt(H)
        case["dO"] = rng.standard_normal((T, B, K))
    return case


def _context(case: dict, seed: int | None) -> str:
    s = ", ".join(f"{k}={v}" for k, v in case["sizes"].items())
    return s + (f", seed={seed}" if seed is not None else "")


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


def judge_rnn_step_forward(case: dict, h, seed: int | None = None) -> Verdict:
    """Judge ``h`` returned for one step on the inputs of ``case`` (step t=1 of it)."""
    x, h_prev = case["X"][0], case["h0"]
    ref, _ = _ref.rnn_step_forward(x, h_prev, case["Wx"], case["Ws"], case["b"])
    return judge("rnn_step_forward", ["h"], [h], {"h": ref}, tol=VALUE_TOL, kind="values",
                 compared_with="the reference on the same inputs", dims=_DIMS, sizes=case["sizes"],
                 variants=_step_forward_variants(x, h_prev, case["Wx"], case["Ws"], case["b"]),
                 context=_context(case, seed))


def _with_nan(args: tuple, which: int, index=None) -> tuple:
    """Copy of ``args`` with a NaN in the last batch row of argument ``which``."""
    args = list(args)
    a = np.array(args[which], dtype=np.float64, copy=True)
    if index is None:
        index = (-1,) + (0,) * (a.ndim - 1) if a.ndim == 2 else (0, -1) + (0,) * (a.ndim - 2)
    a[index] = np.nan
    args[which] = a
    return tuple(args)


def _step_backward_variants(dh, x, h_prev, h, Wx, Ws):
    d = dh * (1 - h * h)
    B = x.shape[0]
    good = {"dx": d @ Wx, "dh_prev": d @ Ws, "dWx": d.T @ x, "dWs": d.T @ h_prev, "db": d.sum(0)}
    return [
        (NO_TANH_PRIME, {"dx": dh @ Wx, "dh_prev": dh @ Ws, "dWx": dh.T @ x, "dWs": dh.T @ h_prev,
                         "db": dh.sum(0)}),
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
    h, _ = _ref.rnn_step_forward(x, h_prev, case["Wx"], case["Ws"], case["b"])
    return (x, h_prev, h, case["Wx"], case["Ws"])


def judge_rnn_step_backward(case: dict, grads, seed: int | None = None) -> Verdict:
    """Judge ``(dx, dh_prev, dWx, dWs, db)`` for one step against central differences."""
    x, h_prev = case["X"][0].copy(), case["h0"].copy()
    Wx, Ws, b = case["Wx"].copy(), case["Ws"].copy(), case["b"].copy()
    dh = case["dHs"][0]
    names = ["dx", "dh_prev", "dWx", "dWs", "db"]

    def loss():
        return float(np.sum(_ref.rnn_step_forward(x, h_prev, Wx, Ws, b)[0] * dh))
    num = numerical_gradients(loss, {"dx": x, "dh_prev": h_prev, "dWx": Wx, "dWs": Ws, "db": b})
    h = _ref.rnn_step_forward(x, h_prev, Wx, Ws, b)[0]
    return judge("rnn_step_backward", names, grads, num, tol=GRAD_TOL, kind="gradients",
                 compared_with="central differences", dims=_DIMS, sizes=case["sizes"],
                 variants=_step_backward_variants(dh, x, h_prev, h, Wx, Ws), context=_context(case, seed))


# ---------------------------------------------------------------------------
# sequence forward / backward
# ---------------------------------------------------------------------------

def _forward_variants(X, h0, Wx, Ws, b):
    T = X.shape[0]

    def run(step, carry=True):
        hs, h = [], h0
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
    ]


def judge_rnn_forward(case: dict, Hs, seed: int | None = None) -> Verdict:
    """Judge the states ``Hs`` (T, B, H) against the reference on the inputs of ``case``."""
    args = (case["X"], case["h0"], case["Wx"], case["Ws"], case["b"])
    ref, _ = _ref.rnn_forward(*args)
    return judge("rnn_forward", ["Hs"], [Hs], {"Hs": ref}, tol=VALUE_TOL, kind="values",
                 compared_with="the reference on the same inputs", dims=_DIMS, sizes=case["sizes"],
                 variants=_forward_variants(*args), time_axes={"Hs": 0}, direction="forward",
                 context=_context(case, seed))


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
        dh = dHs[t] + (0.0 if bug == "no_carry" else dh_next)
        d = dh if bug == "no_tanh_prime" else dh * (1 - h * h)
        dX[t] = d @ Wx
        deltas[t] = d
        grads_t = (d.T @ X[t], d.T @ (h if bug == "h_for_h_prev" else h_prev), d.sum(0))
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
}

RNN_BACKWARD_PARTS = {"all": ("dX", "dh0", "dWx", "dWs", "db"),
                      "parameters": ("dWx", "dWs", "db"), "inputs": ("dX", "dh0")}


def seq_cache(case: dict) -> tuple:
    """The cache the notebook prescribes for a sequence: ``(X, h0, Hs, Wx, Ws)``."""
    Hs, _ = _ref.rnn_forward(case["X"], case["h0"], case["Wx"], case["Ws"], case["b"])
    return (case["X"], case["h0"], Hs, case["Wx"], case["Ws"])


def judge_rnn_backward(case: dict, grads, part: str = "all", seed: int | None = None) -> Verdict:
    """Judge ``(dX, dh0, dWx, dWs, db)`` against central differences of the reference forward pass."""
    X, h0, Wx, Ws, b = (case[k].copy() for k in ("X", "h0", "Wx", "Ws", "b"))
    dHs = case["dHs"]

    def loss():
        return float(np.sum(_ref.rnn_forward(X, h0, Wx, Ws, b)[0] * dHs))
    num = numerical_gradients(loss, {"dX": X, "dh0": h0, "dWx": Wx, "dWs": Ws, "db": b})
    Hs = _ref.rnn_forward(X, h0, Wx, Ws, b)[0]
    variants = [(text, rnn_backward_variant(X, h0, Hs, Wx, Ws, dHs, bug)) for bug, text in BPTT_BUGS.items()]
    deltas = rnn_backward_variant(X, h0, Hs, Wx, Ws, dHs)["deltas"]
    variants += [(DB_NOT_SUMMED_SEQ, {"db": deltas}), (DB_NOT_SUMMED_SEQ, {"db": deltas.sum(0)}),
                 (DB_NOT_SUMMED_SEQ, {"db": deltas.sum(1)})]
    hints = {
        "dWs": "dWs = Σₜ δ⁽ᵗ⁾ᵀ @ h⁽ᵗ⁻¹⁾ with δ⁽ᵗ⁾ = (dHs[t] + dh_next) ⊙ (1 − h⁽ᵗ⁾²).",
        "dWx": "dWx = Σₜ δ⁽ᵗ⁾ᵀ @ x⁽ᵗ⁾ with δ⁽ᵗ⁾ = (dHs[t] + dh_next) ⊙ (1 − h⁽ᵗ⁾²).",
        "db": "db = Σₜ Σ_batch δ⁽ᵗ⁾.",
        "dX": "dX[t] = δ⁽ᵗ⁾ @ Wx.",
        "dh0": "dh0 is the gradient passed back from step t=1: δ⁽¹⁾ @ Ws.",
    }
    return judge("rnn_backward", list(RNN_BACKWARD_PARTS["all"]), grads, num, tol=GRAD_TOL, kind="gradients",
                 compared_with="central differences", dims=_DIMS, sizes=case["sizes"], variants=variants,
                 time_axes={"dX": 0}, direction="backward", hints=hints, select=RNN_BACKWARD_PARTS[part],
                 context=_context(case, seed))


# ---------------------------------------------------------------------------
# output layer
# ---------------------------------------------------------------------------

def judge_output_backward(case: dict, grads, seed: int | None = None) -> Verdict:
    """Judge ``(dHs, dWy, dc)`` of the output layer O = Hs @ Wy.T + c against central differences."""
    Hs, _ = _ref.rnn_forward(case["X"], case["h0"], case["Wx"], case["Ws"], case["b"])
    Hs = Hs.copy()
    Wy = case["Wy"].copy()
    K = Wy.shape[0]
    c = np.zeros(K)
    dO = case["dO"]

    def loss():
        return float(np.sum(_ref.affine_forward(Hs, Wy, c)[0] * dO))
    num = numerical_gradients(loss, {"dHs": Hs, "dWy": Wy, "dc": c})
    variants = [
        (OUT_ONLY_LAST, {"dWy": dO[-1].T @ Hs[-1], "dc": dO[-1].sum(0)}),
        (DWY_TRANSPOSED, {"dWy": (dO.reshape(-1, K).T @ Hs.reshape(-1, Hs.shape[2])).T}),
        (DC_NOT_SUMMED, {"dc": dO.sum(0)}),
        (DC_NOT_SUMMED, {"dc": dO.sum(1)}),
        (DC_NOT_SUMMED, {"dc": dO}),
        ("dHs must be dO @ Wy (each state feeds only its own step's output): no sum over time here.",
         {"dHs": np.broadcast_to((dO @ Wy).sum(0), Hs.shape).copy()}),
    ]
    return judge("output_backward", ["dHs", "dWy", "dc"], grads, num, tol=GRAD_TOL, kind="gradients",
                 compared_with="central differences", dims=_DIMS, sizes=case["sizes"], variants=variants,
                 time_axes={"dHs": 0}, hints={"dWy": "dWy = Σₜ dO[t]ᵀ @ Hs[t].", "dc": "dc = Σₜ Σ_batch dO[t].",
                                              "dHs": "dHs[t] = dO[t] @ Wy."},
                 context=_context(case, seed))


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


def _cases(rng, with_output=False):
    return [rnn_case(rng, with_output=with_output), _edge_case()]


def _builder(args_of, with_output: bool = False):
    """A case builder: the random case and the fixed edge case, and the learner's arguments for each."""
    def build(rng):
        cases = _cases(rng, with_output)
        return [args_of(c) for c in cases], cases
    return build


def _first_failure(verdicts, records, func, arg_names):
    for v in verdicts:
        if not v.passed:
            return v
    warning = modified_warning(records, func, arg_names)
    if warning:
        return Verdict(False, warning)
    return verdicts[0]


def _judge_each(cases, records, func, names, arg_names, judge_one):
    verdicts = []
    for i, case in enumerate(cases):
        verdicts.append(judge_one(case, returned(records, i, func, names)))
    return _first_failure(verdicts, records, func, arg_names)


STEP_FORWARD = Check(
    "test_rnn_step_forward", "rnn_step_forward",
    build=_builder(lambda c: (c["X"][0], c["h0"], c["Wx"], c["Ws"], c["b"])),
    judge=lambda cs, rec: _judge_each(cs, rec, "rnn_step_forward", ["h", "cache"], ["x", "h_prev", "Wx", "Ws", "b"],
                                      lambda c, out: judge_rnn_step_forward(c, out[0])))

STEP_BACKWARD = Check(
    "test_rnn_step_backward", "rnn_step_backward",
    build=_builder(lambda c: (c["dHs"][0], step_cache(c))),
    judge=lambda cs, rec: _judge_each(cs, rec, "rnn_step_backward", ["dx", "dh_prev", "dWx", "dWs", "db"],
                                      ["dh", "cache"], judge_rnn_step_backward))

FORWARD = Check(
    "test_rnn_forward", "rnn_forward",
    build=_builder(lambda c: (c["X"], c["h0"], c["Wx"], c["Ws"], c["b"])),
    judge=lambda cs, rec: _judge_each(cs, rec, "rnn_forward", ["Hs", "cache"], ["X", "h0", "Wx", "Ws", "b"],
                                      lambda c, out: judge_rnn_forward(c, out[0])))


def _backward_check(part: str) -> Check:
    return Check(
        f"test_rnn_backward_{part}", "rnn_backward",
        build=_builder(lambda c: (c["dHs"], seq_cache(c))),
        judge=lambda cs, rec: _judge_each(cs, rec, "rnn_backward", list(RNN_BACKWARD_PARTS["all"]),
                                          ["dHs", "cache"], lambda c, out: judge_rnn_backward(c, out, part)))


def _output_args(c):
    Hs, _ = _ref.rnn_forward(c["X"], c["h0"], c["Wx"], c["Ws"], c["b"])
    return (c["dO"], Hs, c["Wy"])


OUTPUT_BACKWARD = Check(
    "test_output_backward", "output_backward",
    build=_builder(_output_args, with_output=True),
    judge=lambda cs, rec: _judge_each(cs, rec, "output_backward", ["dHs", "dWy", "dc"], ["dO", "Hs", "Wy"],
                                      judge_output_backward))

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
