"""a3-bptt: rnn_backward, graded in two cells (the parameter gradients, the input gradients): BPTT, a backward
loop over the learner's rnn_step_backward, blamed step by step."""
from __future__ import annotations

import numpy as np

import rnnkit
from rnnkit.grading.engine import GradedFunction, LargeCase, Mistake, Probe, ProbeRule, StepHelper, numerical_gradients

from .cases import DIMS, at_step_only, draw, edge, probe_base, seq_cache, steps, sup, zero_preactivation
from .step import (BATCH_MEAN, CARRY_WS_T, NO_TANH_PRIME, TANH_PRIME_REBUILT, TRANSPOSED_WS, one_row)

GRADS = ("dX", "dh0", "dWx", "dWs", "db")
PARTS = {"parameters": ("dWx", "dWs", "db"), "inputs": ("dX", "dh0")}
DELTA = "δ⁽ᵗ⁾ = (dHs[t] + dh_next) ⊙ (1 − h⁽ᵗ⁾²)"
MISTAKES = {
    "no-carry": ("the gradient coming back from step t+1 is not added, so only the last step is right. "
                 "At each step the state receives dHs[t] plus the gradient passed back from step t+1 "
                 "(dh_next = δ⁽ᵗ⁺¹⁾ @ Ws); carry it through the backward loop."),
    "h-for-h-prev": ("dWs uses h⁽ᵗ⁾ where h⁽ᵗ⁻¹⁾ belongs: the state that entered step t is Hs[t-1] "
                     "(and h0 at t=1), so dWs = Σₜ δ⁽ᵗ⁾ᵀ @ h⁽ᵗ⁻¹⁾."),
    "no-tanh-prime": NO_TANH_PRIME,
    "tanh-prime-rebuilt-without-bias": TANH_PRIME_REBUILT,
    "carry-skips-tanh-prime": ("the gradient passed back to h⁽ᵗ⁻¹⁾ skips tanh′: it must be δ⁽ᵗ⁾ @ Ws with "
                               "δ⁽ᵗ⁾ = dh ⊙ (1 − h⁽ᵗ⁾²), not dh @ Ws."),
    "carry-ws-transposed": CARRY_WS_T,
    "only-last": ("gradients not summed over time: only the contribution of the last step t=T is there. "
                  "Wx, Ws and b are shared by all steps, so their gradients are sums over t (use +=)."),
    "only-first": ("gradients not summed over time: only the contribution of t=1 (the last step a backward loop "
                   "visits) survives, as if each step overwrote the previous value with = instead of adding with +=."),
    "dws-transposed": TRANSPOSED_WS,
    "batch-mean": BATCH_MEAN,
    "tanh-prime-wrong-state": ("tanh′ is taken of the wrong state: δ⁽ᵗ⁾ = dh ⊙ (1 − h⁽ᵗ⁾²) uses h⁽ᵗ⁾ = Hs[t], the "
                               "state step t produced, not h⁽ᵗ⁻¹⁾ (Hs[t-1], or h0 at t=1), the state that entered it."),
    "carry-after-tanh-prime": ("the carried gradient is added after the tanh′ factor: δ⁽ᵗ⁾ = dHs[t] ⊙ (1 − h⁽ᵗ⁾²) "
                               "+ dh_next lets dh_next skip tanh′. Add first, then multiply: " + DELTA + "."),
    "hs-last-as-h0": ("at t=1 dWs pairs δ⁽¹⁾ with Hs[-1], the last state h⁽ᵀ⁾ (Hs[t-1] with t=0 wraps around), "
                      "instead of h⁽⁰⁾ = h0: the state that entered step 1 is h0."),
    "dhs-ignored": ("dHs[t] is added only at t=T: every earlier state receives only the gradient carried back from "
                    "step t+1, as if the loss read the last state alone. The gradient reaching h⁽ᵗ⁾ is "
                    "dHs[t] + dh_next at every step."),
}
DB_NOT_SUMMED = "db still has the time and/or batch axes: sum δ over time and batch to get shape (H,)."


def bptt(case: dict, bug: str = "") -> dict:
    """BPTT written step by step, with the mistake ``bug`` (a key of :data:`MISTAKES`) or none; also returns
    ``deltas``, δ⁽ᵗ⁾ for every step (T, B, H)."""
    (X, h0, Hs, Wx, Ws), dHs = seq_cache(case), case["dHs"]
    T, B, _ = X.shape
    out = {"dX": np.zeros_like(X), "dWx": np.zeros_like(Wx), "dWs": np.zeros_like(Ws), "db": np.zeros(Ws.shape[0]),
           "deltas": np.zeros_like(Hs)}
    carry = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        h, h_prev = Hs[t], Hs[t - 1] if t > 0 else h0
        dh = {"no-carry": dHs[t] + 0.0, "dhs-ignored": dHs[t] + carry if t == T - 1 else carry}.get(bug, dHs[t] + carry)
        d = {"no-tanh-prime": dh, "tanh-prime-wrong-state": dh * (1 - h_prev * h_prev),
             "tanh-prime-rebuilt-without-bias": dh * (1 - np.tanh(X[t] @ Wx.T + h_prev @ Ws.T) ** 2),
             "carry-after-tanh-prime": dHs[t] * (1 - h * h) + carry}.get(bug, dh * (1 - h * h))
        out["dX"][t], out["deltas"][t] = d @ Wx, d
        paired = {"h-for-h-prev": h, "hs-last-as-h0": Hs[t - 1]}.get(bug, h_prev)
        terms = (d.T @ X[t], d.T @ paired, d.sum(0))
        if bug == "only-last" and t != T - 1:
            terms = tuple(0 * g for g in terms)
        for k, g in zip(("dWx", "dWs", "db"), terms):
            out[k] = (0 * out[k] if bug == "only-first" else out[k]) + g
        carry = {"carry-skips-tanh-prime": dh @ Ws, "carry-ws-transposed": d @ Ws.T}.get(bug, d @ Ws)
    out["dh0"] = carry
    if bug == "dws-transposed":
        out["dWs"] = out["dWs"].T
    if bug == "batch-mean":
        out.update({k: out[k] / B for k in ("dWx", "dWs", "db")})
    return out


def _mistakes(case: dict) -> list:
    found = [Mistake(name, text, lambda c, o=bptt(case, name): o) for name, text in MISTAKES.items()]
    deltas = bptt(case)["deltas"]
    return found + [Mistake("db-not-summed", DB_NOT_SUMMED, lambda c, o=o: {"db": o})
                    for o in (deltas, deltas.sum(0), deltas.sum(1))]


def _numerical(case: dict) -> dict:
    """Central differences of the reference forward pass with the loss Σ Hs ⊙ dHs."""
    X, h0, Wx, Ws, b = (case[k].copy() for k in ("X", "h0", "Wx", "Ws", "b"))
    return numerical_gradients(lambda: float(np.sum(rnnkit.rnn_forward(X, h0, Wx, Ws, b)[0] * case["dHs"])),
                               dict(zip(GRADS, (X, h0, Wx, Ws, b))))


def _loop(case: dict, step) -> tuple:
    """A correct backward loop around ``step``: ``(the step calls [(args, result)], outputs)``."""
    (X, h0, Hs, Wx, Ws), dHs = seq_cache(case), case["dHs"]
    T = X.shape[0]
    made, carry, out = [], np.zeros_like(h0), {"dX": [None] * T, "dWx": 0, "dWs": 0, "db": 0}
    for t in range(T - 1, -1, -1):
        args = (dHs[t] + carry, (X[t], Hs[t - 1] if t > 0 else h0, Hs[t], Wx, Ws))
        result = step(len(made), args)
        made.append((args, result))
        out["dX"][t], carry = np.asarray(result[0], dtype=np.float64), np.asarray(result[1], dtype=np.float64)
        for k, g in zip(("dWx", "dWs", "db"), result[2:5]):
            out[k] = out[k] + np.asarray(g, dtype=np.float64)
    return made, {**out, "dX": np.stack(out["dX"]), "dh0": carry}


def _reference_step(k, args):
    return tuple(rnnkit.rnn_step_backward(args[0], rnnkit.RNNStepCache(*args[1])))


def _labels(case: dict) -> list:
    (X, h0, Hs, Wx, Ws), dHs, T = seq_cache(case), case["dHs"], case["X"].shape[0]
    made, dhs, carries = _loop(case, _reference_step)[0], [None] * T, [None] * T
    for j, ((dh, _), _) in enumerate(made):
        dhs[T - 1 - j] = dh
        carries[T - 1 - j] = made[j - 1][1][1] if j > 0 else np.zeros_like(h0)
    return ([(f"dHs[{t}] + dh_next" + (" (dh_next = 0 at t=T)" if t == T - 1 else ""), dhs[t]) for t in range(T)]
            + [(f"dHs[{t}] alone (without the gradient carried back from step {t + 2})", dHs[t]) for t in range(T - 1)]
            + [(f"dh_next alone (the carried gradient without dHs[{t}])", carries[t]) for t in range(T - 1)]
            + [(f"X[{t}] (x{sup(t + 1)})", X[t]) for t in range(T)] + [("h0", h0)]
            + [(f"Hs[{t}] (h{sup(t + 1)})", Hs[t]) for t in range(T)]
            + [("zeros", np.zeros_like(h0)), ("Wx", Wx), ("Ws", Ws), ("Ws.T", Ws.T), ("Wx.T", Wx.T)])


STEP = StepHelper(
    name="rnn_step_backward", cell="test_rnn_step_backward", calls=lambda c: _loop(c, _reference_step)[0],
    assemble=lambda c, results: _loop(c, lambda k, args: results[k])[1],
    expected_args=lambda c, results: [a for a, _ in _loop(
        c, lambda k, args: results[k] if k < len(results) else _reference_step(k, args))[0][:len(results) + 1]],
    labels=_labels, call_names=lambda c: [f"time step t={c['X'].shape[0] - k}" + (
        ", the first of a backward loop" if k == 0 else "") for k in range(c["X"].shape[0])],
    signature="(dHs[t] + dh_next, (X[t], h_prev, Hs[t], Wx, Ws))",
    leaf_names=("dh", "cache[0] (x)", "cache[1] (h_prev)", "cache[2] (h)", "cache[3] (Wx)", "cache[4] (Ws)"))


def _large(rng):
    """24,704 parameter entries and 67,584 input entries for central differences, each needing two forward passes
    of 64 steps (sizes and measured times in book/grading-reference.md)."""
    s = {"T": 64, "B": 16, "D": 64, "H": 128}
    X, h0 = rng.standard_normal((s["T"], s["B"], s["D"])), 0.5 * rng.standard_normal((s["B"], s["H"]))
    Wx = rng.standard_normal((s["H"], s["D"])) / np.sqrt(s["D"])
    Ws = 0.8 * rng.standard_normal((s["H"], s["H"])) / np.sqrt(s["H"])
    b, dHs = 0.2 * rng.standard_normal(s["H"]), rng.standard_normal((s["T"], s["B"], s["H"]))
    Hs, cache = rnnkit.rnn_forward(X, h0, Wx, Ws, b)
    return (dHs, (X, h0, Hs, Wx, Ws)), dict(zip(GRADS, rnnkit.rnn_backward(dHs, cache))), s


def _entries(part: str):
    def entries(s):
        n = {"dX": s["T"] * s["B"] * s["D"], "dh0": s["B"] * s["H"], "dWx": s["H"] * s["D"], "dWs": s["H"] ** 2,
             "db": s["H"]}
        return sum(n[k] for k in PARTS[part])
    return entries


_ALONE = {"dX": "dX[t] = δ⁽ᵗ⁾ @ Wx",
          "dh0": "dh0, the gradient that leaves step 1: δ⁽¹⁾ @ Ws (the carried gradient after the loop's last step)",
          "dWx": "dWx = Σₜ δ⁽ᵗ⁾ᵀ @ x⁽ᵗ⁾", "dWs": "dWs = Σₜ δ⁽ᵗ⁾ᵀ @ h⁽ᵗ⁻¹⁾ (h0 at t=1)", "db": "db = Σₜ Σ_batch δ⁽ᵗ⁾"}
_FIRST_LOCAL = tuple(f"first_only:{o}" for o in ("dX", "dWx", "dWs", "db"))  # dh0 is itself a carried gradient
PROBES = (
    Probe("first_only", make=lambda c: at_step_only(c, "dHs", 0),
          what="dHs nonzero at t=1 only (nothing to carry back)",
          meaning="the gradients of a single step (with h0 and dh0) are right",
          if_fails="wrong even for a single step"),
    Probe("last_only", make=lambda c: at_step_only(c, "dHs", -1),
          what="dHs nonzero at t=T only (earlier steps get only the carried gradient)",
          meaning="the carried gradient is right", if_fails="the carried gradient is wrong"),
    Probe("Hs_zero", make=zero_preactivation, what="every h⁽ᵗ⁾ = 0 in the cache (tanh′ = 1), h0 ≠ 0",
          meaning="right where tanh′ = 1", if_fails="wrong even where tanh′ = 1"),
    Probe("states_zero", make=lambda c: zero_preactivation(c, h0_zero=True),
          what="every h⁽ᵗ⁾ = 0 and h0 = 0 (tanh′ = 1 of any state)", meaning="right when no state is nonzero",
          if_fails="wrong even when every state is 0"),
    Probe("T1", make=lambda c: steps(c, 1), what="one step (T = 1)", meaning="a single step is right",
          if_fails="wrong already for T = 1"),
    one_row(": δ⁽ᵗ⁾ is elementwise, row by row; dX and dh0 keep one row per sequence, and the weight and bias "
            "gradients sum over the rows (no mean)."),
)
RULES = (
    ProbeRule(right=("last_only",), wrong=("first_only",),
              text="right when the upstream gradient is at t=T only, wrong when it is at t=1 only: dHs[t] is not "
                   "taken into account at the steps before T. The gradient reaching h⁽ᵗ⁾ is dHs[t] + dh_next at "
                   "every step."),
    ProbeRule(right=_FIRST_LOCAL + ("Hs_zero",), wrong=("last_only",),
              text="the gradients within a single step are right and so is everything where tanh′ = 1, but the "
                   "carried gradient is wrong (dh0 is one too): it must pass through tanh′ of its step exactly "
                   f"once: {DELTA}, then dh_next = δ⁽ᵗ⁾ @ Ws for step t−1."),
    ProbeRule(right=_FIRST_LOCAL, wrong=("last_only", "Hs_zero"),
              text="the gradients within a single step are right but the gradient carried back from step t+1 "
                   "(and so dh0) is wrong, even where tanh′ = 1: the carry into step t is dh_next = δ⁽ᵗ⁺¹⁾ @ Ws, "
                   f"added to dHs[t]: {DELTA}."),
    ProbeRule(wrong=("Hs_zero:db",), right=("states_zero:db",),
              text="δ is right only when h0 = 0 as well, so the tanh′ factor at t=1 reads h0: tanh′ is taken "
                   f"of h⁽ᵗ⁻¹⁾. It must use h⁽ᵗ⁾ = Hs[t], the state step t produced: {DELTA}."),
    ProbeRule(right=("Hs_zero", "states_zero"), wrong=("full:db", "first_only:db"),
              text="every gradient is right where all states are 0 (tanh′ = 1) and wrong otherwise, even for a "
                   f"single step: the tanh′ factor itself is wrong: {DELTA} (1 − h², h = Hs[t], once)."),
    ProbeRule(wrong=("first_only:dWs",), right=tuple(f"first_only:{o}" for o in ("dX", "dh0", "dWx", "db")),
              text="with dHs at t=1 only, everything but dWs is right: its t=1 term must pair δ⁽¹⁾ with the "
                   "state that entered step 1, h⁽⁰⁾ = h0."),
    ProbeRule(right=("full:dX", "full:dh0", "T1"), any_wrong=("full:dWx", "full:dWs", "full:db"),
              text="dX and dh0 are right, so every δ⁽ᵗ⁾ is; the parameter gradients are wrong but right for "
                   "T = 1: the sum over time is wrong. Wx, Ws and b are shared by every step: dWx, dWs and db "
                   "are sums (not means, not single terms) over t = 1 … T."),
) + tuple(ProbeRule(wrong=(f"full:{o}",), right=tuple(f"full:{p}" for p in _ALONE if p != o),
                    text=f"every other gradient is right, so the mistake is in {_ALONE[o]} alone.") for o in _ALONE) + (
    "one_row",
    ProbeRule(right=("T1",), wrong=("full",),
              text="a single step (T = 1) is right, so what connects the steps is wrong: the carried gradient "
                   "dh_next or the sums over time."),
)
HINTS = {"dWs": "dWs = Σₜ δ⁽ᵗ⁾ᵀ @ h⁽ᵗ⁻¹⁾ with δ⁽ᵗ⁾ = (dHs[t] + dh_next) ⊙ (1 − h⁽ᵗ⁾²).",
         "dWx": "dWx = Σₜ δ⁽ᵗ⁾ᵀ @ x⁽ᵗ⁾ with δ⁽ᵗ⁾ = (dHs[t] + dh_next) ⊙ (1 − h⁽ᵗ⁾²).",
         "db": "db = Σₜ Σ_batch δ⁽ᵗ⁾.", "dX": "dX[t] = δ⁽ᵗ⁾ @ Wx.",
         "dh0": "dh0 is the gradient passed back from step t=1: δ⁽¹⁾ @ Ws."}


def _cell(part: str) -> GradedFunction:
    return GradedFunction(
        grade_id=f"test_rnn_backward_{part}", function="rnn_backward", arguments=("dHs", "cache"), returns=GRADS,
        args_of=lambda c: (c["dHs"], seq_cache(c)), draw=draw, kind="gradients", judged=PARTS[part],
        reference=lambda c: dict(zip(GRADS, rnnkit.rnn_backward(c["dHs"], rnnkit.RNNCache(*seq_cache(c))))),
        numerical=_numerical, edge_cases=(edge(),), mistakes=_mistakes, probes=PROBES, probe_base=probe_base(),
        rules=RULES, dims=DIMS, time_axes={"dX": 0}, hints=HINTS, step=STEP,
        large=LargeCase(_large, GRADS, PARTS[part], _entries(part)),
        withheld=("rnn_backward", "HiddenToHiddenRNN", "tbptt_loss_and_grads"))


BACKWARD_PARAMETERS = _cell("parameters")
BACKWARD_INPUTS = _cell("inputs")
