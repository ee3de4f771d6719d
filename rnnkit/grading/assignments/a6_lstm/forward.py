"""a6-lstm: the specification of ``lstm_forward(X, h0, c0, W, b) -> (Hs, caches)``.

The loop is blamed apart from the step function (:class:`StepHelper`): a loop that is right with a correct
``lstm_step_forward`` standing in for the learner's keeps its points when only the step function is wrong.
"""
from __future__ import annotations

import numpy as np

from rnnkit.grading.engine import GradedFunction, Mistake, Probe, StepHelper

from .cases import (DIMS, SATURATE, batch_of_one, chain, lstm_case, no_recurrence, one_step, shifted_gate,
                    short_typical_case, smallest_case, typical_case, zeroed)
from .mistakes import forward_variants, step_forward
from .step_forward import B0, X0, PROBES as STEP_PROBES

_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _state(kind: str, t: int) -> str:
    return f"{kind}0" if t == 0 else f"{kind}⁽{str(t).translate(_SUP)}⁾"


def _args(c):
    return c["X"], c["h0"], c["c0"], c["W"], c["b"]


def _calls(c):
    hs, cs, caches = chain(c)
    return [((c["X"][t], hs[t], cs[t], c["W"], c["b"]), (hs[t + 1], cs[t + 1], caches[t]))
            for t in range(c["X"].shape[0])]


def _assemble(c, results):
    return {"Hs": np.stack([np.asarray(r[0], dtype=np.float64) for r in results])}


def _expected_args(c, results):
    h, cc, out = c["h0"], c["c0"], []
    for t in range(c["X"].shape[0]):
        out.append((c["X"][t], h, cc, c["W"], c["b"]))
        if t >= len(results):
            break
        h, cc = results[t][0], results[t][1]
    return out


def _labels(c):
    hs, cs, _ = chain(c)
    T = c["X"].shape[0]
    return ([(f"X[{t}]", c["X"][t]) for t in range(T)] + [(_state("h", t), hs[t]) for t in range(T + 1)]
            + [(_state("c", t), cs[t]) for t in range(T + 1)]
            + [("W", c["W"]), ("W.T", c["W"].T), ("b", c["b"]), ("zeros", np.zeros_like(c["h0"]))])


def _explain_miss(c, k, wrong) -> str:
    """The loop's mistake behind the wrong arguments of call ``k`` (``[(argument, got, wanted)]``)."""
    got = {name: (g, w) for name, g, w in wrong}
    h, cc = got.get("h_prev"), got.get("c_prev")
    if h and cc and h[0].startswith("c") and cc[0].startswith("h"):
        return "Likely cause: " + next(m.text for m in LOOP_MISTAKES if m.name == "h-c-swapped")
    said = []
    for arg, kind, text in (("h_prev", "h", NOT_CARRIED_H), ("c_prev", "c", NOT_CARRIED_C)):
        if arg in got and got[arg][0] == f"{kind}0" and k > 1:
            said.append(text)
        elif arg in got and got[arg][0] == "zeros" and got[arg][1] == f"{kind}0":
            said.append(f"{kind}0 is ignored: the first step starts from the {kind}0 given, not from zeros.")
    return "Likely cause: " + " ".join(said) if said else ""


STEP = StepHelper(
    name="lstm_step_forward", cell="test_lstm_step_forward", calls=_calls, assemble=_assemble, labels=_labels,
    signature="(x, h_prev, c_prev, W, b)", leaf_names=("x", "h_prev", "c_prev", "W", "b"),
    expected_args=_expected_args, explain_miss=_explain_miss,
    call_names=lambda c: [f"t={t + 1}" for t in range(c["X"].shape[0])])


def _loop(c, *, carry_h=True, carry_c=True, zero_h0=False, zero_c0=False, swap=False, **step_opts):
    """Every h and c of a loop over step_forward with the given mistakes of the loop or the step."""
    X, W, b, h0, c0 = c["X"], c["W"], c["b"], c["h0"], c["c0"]
    h = np.zeros_like(h0) if zero_h0 else h0
    cc = np.zeros_like(c0) if zero_c0 else c0
    hs, cs = [h], [cc]
    for x in X:
        h, cc, _ = step_forward(x, cc, h, W, b, **step_opts) if swap else step_forward(x, h, cc, W, b, **step_opts)
        hs.append(h)
        cs.append(cc)
        h = h if carry_h else h0
        cc = cc if carry_c else c0
    return hs, cs


NOT_CARRIED_C = "the cell state is not carried: every step must start from the previous step's c, not from c0."
NOT_CARRIED_H = "the hidden state is not carried: every step must start from the previous step's h, not from h0."


def _hs_of(**kw):
    return lambda case: {"Hs": np.stack(_loop(case, **kw)[0][1:])}


#: Mistakes of the loop itself (every step computed right).
LOOP_MISTAKES = (
        Mistake("no-carry-c", NOT_CARRIED_C, _hs_of(carry_c=False)),
        Mistake("no-carry-h", NOT_CARRIED_H, _hs_of(carry_h=False)),
        Mistake("no-carries", "neither state is carried: every step must start from the h and c the previous step "
                "returned, not from h0 and c0.", _hs_of(carry_h=False, carry_c=False)),
        Mistake("ignores-h0", "h0 is ignored: the first step starts from zeros where the h0 given belongs (the "
                "sequence continues from h0, e.g. the state a previous chunk ended with).", _hs_of(zero_h0=True)),
        Mistake("ignores-c0", "c0 is ignored: the first step starts from zeros where the c0 given belongs.",
                _hs_of(zero_c0=True)),
        Mistake("ignores-h0-c0", "h0 and c0 are ignored: the first step starts from zeros where the given states "
                "belong.", _hs_of(zero_h0=True, zero_c0=True)),
        Mistake("h-c-swapped", "h_prev and c_prev are swapped: the step takes (x, h_prev, c_prev, W, b) and returns "
                "h, c in that order.", _hs_of(swap=True)),
        Mistake("shifted", "Hs is shifted by one step: Hs[t] must hold the state after reading X[t], h⁽¹⁾ … h⁽ᵀ⁾, "
                "not h⁽⁰⁾ … h⁽ᵀ⁻¹⁾.", lambda case: {"Hs": np.stack(_loop(case)[0][:-1])}),
        Mistake("holds-c", "Hs holds the cell states: it must hold the hidden states h⁽ᵗ⁾ (the first value the step "
                "returns).", lambda case: {"Hs": np.stack(_loop(case)[1][1:])}),
        Mistake("with-h0", "Hs includes h0: return only the T new states h⁽¹⁾ … h⁽ᵀ⁾, shape (T, B, H).",
                lambda case: {"Hs": np.stack(_loop(case)[0])}),
        Mistake("reversed", "Hs is in reverse time order: Hs[t] is the state after reading X[t], h⁽¹⁾ first.",
                lambda case: {"Hs": np.stack(_loop(case)[0][1:])[::-1].copy()}),
)


def forward_mistakes(c) -> list:
    """The mistakes of a step computed inside the loop (each step's own mistake), then the loop's."""
    steps = [Mistake(name, text, lambda case, o=opts: {"Hs": np.stack(_loop(case, **o)[0][1:])})
             for name, text, opts in forward_variants()]
    return steps + list(LOOP_MISTAKES)


PROBES = (
    Probe("T1", one_step, what="T = 1 (one step)",
          meaning="the first step is right (T = 1 is), so the mistake is in what passes from step to step: each step "
                  "starts from the h and c the previous step returned, and Hs[t] is the state after reading X[t].",
          if_fails="a sequence of one step is Hs = h⁽¹⁾[None]."),
    Probe("Wh0", no_recurrence, what="W[:, :H] = 0 (h_prev has no effect)",
          meaning="the hidden state passed from step to step is wrong: each step starts from the h the previous "
                  "step returned (h0 at t=1).", if_fails="with W[:, :H] = 0 the gates do not depend on h_prev."),
    Probe("fshut", shifted_gate(1, -SATURATE),
          what="the forget gate shut (pre-activation −30, f ≈ 0: c_prev has no effect)",
          meaning="the cell state passed from step to step is wrong: each step starts from the c the previous step "
                  "returned (c0 at t=1).", if_fails="with f ≈ 0, c = i ⊙ g at every step."),
    Probe("B1", batch_of_one, what="B = 1 (a batch of one)",
          meaning="right for one sequence but not for a batch: the rows of the batch are mixed.",
          if_fails="B = 1 must work."),
    Probe("x0", zeroed("X"), what="X = 0", meaning=X0.meaning, if_fails=X0.if_fails),
    B0,
) + tuple(p for p in STEP_PROBES if p.name.startswith("sat_"))

RULES = ("B1", "Wh0", "fshut", "T1", "sat_o", "sat_i", "sat_f", "sat_g", "x0", "b0")

FORWARD = GradedFunction(
    grade_id="test_lstm_forward",
    function="lstm_forward",
    arguments=("X", "h0", "c0", "W", "b"),
    returns=("Hs", "caches"),
    judged=("Hs",),
    args_of=_args,
    draw=lambda rng: lstm_case(rng),
    reference=lambda c: {"Hs": np.stack(chain(c)[0][1:])},
    kind="values",
    edge_cases=(smallest_case, typical_case),
    mistakes=forward_mistakes,
    probes=PROBES,
    probe_base=short_typical_case,
    rules=RULES,
    none_right="every probe case is wrong too: the step computed inside the loop is wrong for any input (it is "
               "graded on its own in lstm_step_forward's cell), or the loop mixes up what it passes to it.",
    dims=DIMS,
    time_axes={"Hs": 0},
    direction="forward",
    step=STEP,
    withheld=("lstm_forward", "LSTMCache"),
)
