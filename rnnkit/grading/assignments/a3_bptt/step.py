"""a3-bptt: rnn_step_forward and rnn_step_backward, one time step of the vanilla RNN."""
from __future__ import annotations

import numpy as np

import rnnkit
from rnnkit.grading.engine import GradedFunction, LargeCase, Mistake, Probe, ProbeRule, numerical_gradients

from .cases import DIMS, draw, edge, probe_base, rows, step_cache, zero, zero_preactivation

NO_TANH = "tanh is missing: h = tanh(a) with a = x @ Wx.T + h_prev @ Ws.T + b."
WS_NOT_T = ("the state-to-state product uses Ws instead of Ws.T: with row vectors (B, H), "
            "Ws h⁽ᵗ⁻¹⁾ is written h_prev @ Ws.T.")
NO_BIAS = "the bias b is missing from the pre-activation."
PREACTIVATION_CACHED = ("the cache holds the pre-activation a = x @ Wx.T + h_prev @ Ws.T + b where the state "
                        "h = tanh(a) belongs: the backward step reads tanh′ = 1 − h² from cache[2].")
BATCH_TEXT = ("right for a batch of one row (B = 1), wrong for B > 1: the rows of the batch get mixed. Each row "
              "is its own sequence")


def one_row(text: str) -> Probe:
    """The probe with a batch of one row; ``text`` says how rows are kept apart in the function."""
    return Probe("one_row", make=lambda c: rows(c, 1), what="one row (B = 1)", meaning=BATCH_TEXT + text,
                 if_fails="wrong even for one row (B = 1)")


def _forward_mistakes(case: dict) -> list:
    x, h_prev, Wx, Ws, b = case["X"][0], case["h0"], case["Wx"], case["Ws"], case["b"]
    a = x @ Wx.T + h_prev @ Ws.T + b
    return [Mistake("no-tanh", NO_TANH, lambda c: {"h": a}),
            Mistake("ws-not-transposed", WS_NOT_T, lambda c: {"h": np.tanh(x @ Wx.T + h_prev @ Ws + b)}),
            Mistake("no-bias", NO_BIAS, lambda c: {"h": np.tanh(a - b)}),
            Mistake("pre-activation-cached", PREACTIVATION_CACHED, lambda c: {"cache": (x, h_prev, a, Wx, Ws)})]


_FORWARD_PROBES = (
    Probe("bias_only", make=lambda c: zero(c, "X", "h0"), what="x = 0 and h_prev = 0 (only the bias)",
          meaning="the bias and tanh are right", if_fails="wrong with the bias alone (tanh(b) should come out)"),
    Probe("input_only", make=lambda c: zero(c, "h0", "b"), what="h_prev = 0 and b = 0 (only the input term)",
          meaning="the input term is right", if_fails="the input term alone is wrong"),
    Probe("recurrent_only", make=lambda c: zero(c, "X", "b"), what="x = 0 and b = 0 (only the recurrent term)",
          meaning="the recurrent term is right", if_fails="the recurrent term alone is wrong"),
    one_row(": h[i] = tanh(x[i] @ Wx.T + h_prev[i] @ Ws.T + b). Look for a reshape where a transpose "
            "belongs, or a sum or mean over axis 0."),
)

STEP_FORWARD = GradedFunction(
    grade_id="test_rnn_step_forward", function="rnn_step_forward", arguments=("x", "h_prev", "Wx", "Ws", "b"),
    returns=("h", "cache"), args_of=lambda c: (c["X"][0], c["h0"], c["Wx"], c["Ws"], c["b"]), draw=draw,
    reference=lambda c: {"h": step_cache(c)[2], "cache": step_cache(c)}, cache=("x", "h_prev", "h", "Wx", "Ws"),
    edge_cases=(edge(),), mistakes=_forward_mistakes, probes=_FORWARD_PROBES, probe_base=probe_base(), dims=DIMS,
    rules=(
        "one_row",
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
                  text="each part alone is right, but not their combination: h = tanh(x @ Wx.T + h_prev @ Ws.T "
                       "+ b), one tanh of the sum of the three terms (not a sum or product of separate pieces)."),
    ),
    withheld=("rnn_step_forward",))

# ---------------------------------------------------------------------------
# rnn_step_backward
# ---------------------------------------------------------------------------

GRADS = ("dx", "dh_prev", "dWx", "dWs", "db")
DELTA = "δ = dh ⊙ (1 − h²)"
NO_TANH_PRIME = ("the tanh′ factor is missing: δ⁽ᵗ⁾ = dh ⊙ (1 − h⁽ᵗ⁾²) is the gradient with respect to "
                 "the pre-activation a⁽ᵗ⁾, and every parameter gradient is built from δ.")
TANH_PRIME_OF_H_PREV = ("tanh′ is taken of the wrong state: δ = dh ⊙ (1 − h²) uses h = cache[2], the state this "
                        "step produced, not h_prev (the state that entered it).")
TANH_PRIME_REBUILT = ("tanh′ is computed from a pre-activation rebuilt from the cache, x @ Wx.T + h_prev @ Ws.T, "
                      "which lacks the bias b (the cache does not hold it): tanh′ = 1 − h², read from the state "
                      "h = cache[2] the step produced.")
DH_NOT_MULTIPLIED = ("the upstream gradient dh is never multiplied in: δ = dh ⊙ (1 − h²), not (1 − h²) alone; "
                     "every gradient of the step is proportional to dh.")
H_FOR_H_PREV = ("dWs uses h⁽ᵗ⁾ where h⁽ᵗ⁻¹⁾ belongs: the state that entered step t is h_prev, so "
                "dWs = δ⁽ᵗ⁾ᵀ @ h⁽ᵗ⁻¹⁾.")
CARRY_WS_T = ("the gradient passed back to h⁽ᵗ⁻¹⁾ uses Ws.T: the forward pass computes h_prev @ Ws.T for a "
              "batch of row vectors, so the gradient goes back as δ @ Ws.")
TRANSPOSED_WS = ("dWs is transposed: for h_prev @ Ws.T the gradient is δᵀ @ h_prev, shape (H_out, H_in), "
                 "not h_prevᵀ @ δ.")
DB_NOT_SUMMED = "db still has the batch axis: sum δ over the batch (axis 0) to get shape (H,)."
BATCH_MEAN = ("the gradient is divided by the batch size B: the loss here is a sum over the batch, "
              "so the gradients are sums too.")


def _grads(d, x, h_prev, Wx, Ws) -> dict:
    return dict(zip(GRADS, (d @ Wx, d @ Ws, d.T @ x, d.T @ h_prev, d.sum(0))))


def _backward_mistakes(case: dict) -> list:
    dh, (x, h_prev, h, Wx, Ws) = case["dHs"][0], step_cache(case)
    d = dh * (1 - h * h)
    good = _grads(d, x, h_prev, Wx, Ws)
    rebuilt = dh * (1 - np.tanh(x @ Wx.T + h_prev @ Ws.T) ** 2)
    found = [
        ("no-tanh-prime", NO_TANH_PRIME, _grads(dh, x, h_prev, Wx, Ws)),
        ("tanh-prime-of-h-prev", TANH_PRIME_OF_H_PREV, _grads(dh * (1 - h_prev * h_prev), x, h_prev, Wx, Ws)),
        ("tanh-prime-rebuilt-without-bias", TANH_PRIME_REBUILT, _grads(rebuilt, x, h_prev, Wx, Ws)),
        ("dh-not-multiplied", DH_NOT_MULTIPLIED, _grads(1 - h * h, x, h_prev, Wx, Ws)),
        ("h-for-h-prev", H_FOR_H_PREV, {"dWs": d.T @ h}),
        ("carry-ws-transposed", CARRY_WS_T, {"dh_prev": d @ Ws.T}),
        ("dws-transposed", TRANSPOSED_WS, {"dWs": (d.T @ h_prev).T}),
        ("db-not-summed", DB_NOT_SUMMED, {"db": d}),
        ("batch-mean", BATCH_MEAN, {k: v / x.shape[0] for k, v in good.items() if k in ("dWx", "dWs", "db")}),
    ]
    return [Mistake(name, text, lambda c, o=outs: o) for name, text, outs in found]


def _step_numerical(case: dict) -> dict:
    """Central differences of the reference step with the loss Σ h ⊙ dh."""
    x, h_prev, Wx, Ws, b = (case[k][0].copy() if k == "X" else case[k].copy() for k in ("X", "h0", "Wx", "Ws", "b"))
    dh = case["dHs"][0]
    return numerical_gradients(lambda: float(np.sum(rnnkit.rnn_step_forward(x, h_prev, Wx, Ws, b)[0] * dh)),
                               dict(zip(GRADS, (x, h_prev, Wx, Ws, b))))


def _step_large(rng):
    """One step, but 2 · 512² weight entries (540,672 entries in all): central differences cannot finish."""
    s = {"B": 16, "D": 512, "H": 512}
    x, h_prev = rng.standard_normal((s["B"], s["D"])), 0.5 * rng.standard_normal((s["B"], s["H"]))
    Wx = rng.standard_normal((s["H"], s["D"])) / np.sqrt(s["D"])
    Ws = 0.8 * rng.standard_normal((s["H"], s["H"])) / np.sqrt(s["H"])
    b, dh = 0.2 * rng.standard_normal(s["H"]), rng.standard_normal((s["B"], s["H"]))
    h, cache = rnnkit.rnn_step_forward(x, h_prev, Wx, Ws, b)
    return (dh, (x, h_prev, h, Wx, Ws)), dict(zip(GRADS, rnnkit.rnn_step_backward(dh, cache))), s


_ALONE = {"dx": "dx = δ @ Wx", "dh_prev": "dh_prev = δ @ Ws (the gradient passed back to the previous state)",
          "dWx": "dWx = δᵀ @ x", "dWs": "dWs = δᵀ @ h_prev", "db": "db = δ.sum(axis=0)"}
_BACKWARD_PROBES = (
    Probe("tanh_off", make=zero_preactivation, what="h = 0 in the cache (tanh′ = 1)",
          meaning="right where tanh′ = 1, so the tanh′ factor is the likely culprit",
          if_fails="wrong even where tanh′ = 1"),
    Probe("states_zero", make=lambda c: zero_preactivation(c, h0_zero=True),
          what="h = 0 and h_prev = 0 in the cache (tanh′ = 1 of either state)",
          meaning="right when no state is nonzero", if_fails="wrong even when both states are 0"),
    one_row(f": {DELTA} is elementwise, row by row; dx and dh_prev keep one row per sequence, and only the "
            "weight and bias gradients sum over the rows (δᵀ @ x, δᵀ @ h_prev, δ.sum(axis=0), no mean)."),
)

STEP_BACKWARD = GradedFunction(
    grade_id="test_rnn_step_backward", function="rnn_step_backward", arguments=("dh", "cache"), returns=GRADS,
    args_of=lambda c: (c["dHs"][0], step_cache(c)), draw=draw, kind="gradients", numerical=_step_numerical,
    reference=lambda c: dict(zip(GRADS, rnnkit.rnn_step_backward(c["dHs"][0], rnnkit.RNNStepCache(*step_cache(c))))),
    edge_cases=(edge(),), mistakes=_backward_mistakes, probes=_BACKWARD_PROBES, probe_base=probe_base(), dims=DIMS,
    rules=(
        ProbeRule(wrong=("tanh_off:db",), right=("states_zero:db",),
                  text=f"δ is right only when h_prev = 0 as well, so the tanh′ factor reads h_prev: {DELTA} with "
                       "h = cache[2], the state this step produced (tanh′ of the wrong state)."),
        ProbeRule(right=("tanh_off", "states_zero"), wrong=("full:db",),
                  text=f"every gradient is right where h = 0 (tanh′ = 1), so the tanh′ factor itself is wrong: "
                       f"{DELTA}, the derivative of tanh written with its output h (once, h squared)."),
    ) + tuple(ProbeRule(wrong=(f"full:{o}",), right=tuple(f"full:{p}" for p in _ALONE if p != o),
                        text=f"δ is right (every other gradient is), so the mistake is in {_ALONE[o]} alone.")
              for o in _ALONE) + ("one_row",),
    argument_notes={"dh": "rnn_backward passes dHs[t] + dh_next, and a loop that keeps that array (or dHs[t] "
                          "itself) would read a corrupted gradient."},
    large=LargeCase(_step_large, GRADS, GRADS, lambda s: s["B"] * (s["D"] + s["H"]) + s["H"] * (s["D"] + s["H"])),
    withheld=("rnn_step_backward",))
