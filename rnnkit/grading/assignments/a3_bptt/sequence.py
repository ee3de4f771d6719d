"""a3-bptt: rnn_forward, a loop over the learner's rnn_step_forward, blamed step by step
(:class:`~rnnkit.grading.engine.StepHelper`)."""
from __future__ import annotations

import numpy as np

import rnnkit
from rnnkit.grading.engine import GradedFunction, Mistake, Probe, ProbeRule, StepHelper

from .cases import DIMS, draw, edge, probe_base, seq_cache, states, steps, sup, zero
from .step import NO_BIAS, NO_TANH, WS_NOT_T, one_row

NOT_CARRIED = "the state is not carried: every step starts from h0 instead of the previous step's h⁽ᵗ⁻¹⁾."
SHIFTED = ("Hs is shifted by one step: Hs[t] must hold the state *after* reading x⁽ᵗ⁾, i.e. h⁽¹⁾ … h⁽ᵀ⁾, "
           "not h⁽⁰⁾ … h⁽ᵀ⁻¹⁾.")
WITH_H0 = "Hs includes h0: return only the T new states h⁽¹⁾ … h⁽ᵀ⁾, shape (T, B, H)."
H0_IGNORED = ("h0 is ignored: the first step starts from zeros (h_prev = Hs[t-1] at t=0 reads Hs[-1], a row "
              "not filled yet) instead of h⁽⁰⁾ = h0.")


def _forward_loop(case: dict, step) -> tuple:
    """A correct rnn_forward around ``step``: ``(the step calls [(args, result)], Hs)``."""
    X, h, Wx, Ws, b = case["X"], case["h0"], case["Wx"], case["Ws"], case["b"]
    made, hs = [], []
    for t in range(X.shape[0]):
        args = (X[t], h, Wx, Ws, b)
        result = step(len(made), args)
        made.append((args, result))
        h = result[0] if isinstance(result, (tuple, list)) else result
        hs.append(h)
    return made, np.stack([np.asarray(v, dtype=np.float64) for v in hs])


def _reference_step(k, args):
    h, cache = rnnkit.rnn_step_forward(*args)
    return h, tuple(cache)


def _replay(results):
    return lambda k, args: results[k] if k < len(results) else None


def _forward_mistakes(case: dict) -> list:
    X, h0, Wx, Ws, b = case["X"], case["h0"], case["Wx"], case["Ws"], case["b"]

    def run(f, carry=True, start=None):
        hs, h = [], h0 if start is None else start
        for x in X:
            h = f(x, h if carry else h0)
            hs.append(h)
        return np.stack(hs)
    good = states(case)
    found = [("no-tanh", NO_TANH, lambda x, h: x @ Wx.T + h @ Ws.T + b),
             ("ws-not-transposed", WS_NOT_T, lambda x, h: np.tanh(x @ Wx.T + h @ Ws + b)),
             ("no-bias", NO_BIAS, lambda x, h: np.tanh(x @ Wx.T + h @ Ws.T))]
    return ([Mistake(name, text, lambda c, f=f: {"Hs": run(f)}) for name, text, f in found] + [
        Mistake("state-not-carried", NOT_CARRIED,
                lambda c: {"Hs": run(lambda x, h: np.tanh(x @ Wx.T + h @ Ws.T + b), carry=False)}),
        Mistake("states-shifted", SHIFTED, lambda c: {"Hs": rnnkit.shift_right(good, fill=h0)}),
        Mistake("hs-with-h0", WITH_H0, lambda c: {"Hs": np.concatenate([h0[None], good])}),
        Mistake("h0-ignored", H0_IGNORED, lambda c: {
            "Hs": run(lambda x, h: np.tanh(x @ Wx.T + h @ Ws.T + b), start=np.zeros_like(h0))})])


def _forward_labels(case: dict) -> list:
    X, h0, Hs, T = case["X"], case["h0"], states(case), case["X"].shape[0]
    return ([(f"X[{t}] (x{sup(t + 1)})", X[t]) for t in range(T)] + [("h0", h0)]
            + [(f"Hs[{t}] (h{sup(t + 1)}, the state after step {t + 1})", Hs[t]) for t in range(T)]
            + [("zeros (a state never filled)", np.zeros_like(h0)), ("Wx", case["Wx"]), ("Ws", case["Ws"]),
               ("Ws.T", case["Ws"].T), ("Wx.T", case["Wx"].T), ("b", case["b"])])


FORWARD_STEP = StepHelper(
    name="rnn_step_forward", cell="test_rnn_step_forward", calls=lambda c: _forward_loop(c, _reference_step)[0],
    assemble=lambda c, results: {"Hs": _forward_loop(c, _replay(results))[1]},
    expected_args=lambda c, results: [a for a, _ in _forward_loop(c, _replay(results))[0][:len(results) + 1]],
    labels=_forward_labels, call_names=lambda c: [f"time step t={t + 1}" for t in range(c["X"].shape[0])],
    signature="(X[t], h_prev, Wx, Ws, b)", leaf_names=("x", "h_prev", "Wx", "Ws", "b"))

FORWARD = GradedFunction(
    grade_id="test_rnn_forward", function="rnn_forward", arguments=("X", "h0", "Wx", "Ws", "b"),
    returns=("Hs", "cache"),
    args_of=lambda c: (c["X"], c["h0"], c["Wx"], c["Ws"], c["b"]), draw=draw,
    reference=lambda c: {"Hs": states(c), "cache": seq_cache(c)}, cache=("X", "h0", "Hs", "Wx", "Ws"),
    edge_cases=(edge(),), mistakes=_forward_mistakes, probe_base=probe_base(), dims=DIMS, time_axes={"Hs": 0},
    direction="forward", step=FORWARD_STEP, withheld=("rnn_forward", "HiddenToHiddenRNN"),
    probes=(Probe("T1", make=lambda c: steps(c, 1), what="one step (T = 1)", meaning="the first step is right",
                  if_fails="wrong already at the first step"),
            Probe("h0_zero", make=lambda c: zero(c, "h0"), what="h0 = 0", meaning="right when h0 = 0",
                  if_fails="wrong even with h0 = 0"),
            Probe("Ws0", make=lambda c: zero(c, "Ws"),
                  what="Ws = 0 (no recurrence: each state depends on its own input only)",
                  meaning="every step on its own is right",
                  if_fails="wrong even without recurrence: what is computed at each step or stored in Hs[t] is "
                           "wrong"),
            one_row(": Hs[t, i] depends on X[:, i] and h0[i] only.")),
    rules=("one_row",
           ProbeRule(wrong=("Ws0",),
                     text="even with Ws = 0, where every state is tanh(x⁽ᵗ⁾ @ Wx.T + b) on its own, Hs is wrong: "
                          "what is computed at each step, or what is stored in Hs[t] (the state after reading "
                          "X[t], for t = 0 … T−1), is wrong."),
           ProbeRule(right=("h0_zero",), wrong=("T1",),
                     text="right when h0 = 0 but wrong from the first step otherwise: the first step does not "
                          "start from h⁽⁰⁾ = h0."),
           ProbeRule(right=("Ws0",), wrong=("T1",),
                     text="every step is right without recurrence (Ws = 0) and wrong already at t=1 with it: the "
                          "recurrent term is at fault: a = x @ Wx.T + h_prev @ Ws.T + b, the recurrent term "
                          "inside the tanh with h⁽⁰⁾ = h0 at t=1."),
           ProbeRule(right=("T1", "Ws0"), wrong=("full",),
                     text="the first step and every step without recurrence are right, so the recurrence is at "
                          "fault: step t must get h⁽ᵗ⁻¹⁾, the state step t−1 returned, and add h_prev @ Ws.T.")))
