"""a6-lstm: the specifications of ``lstm_backward(dHs, caches) -> (dX, dh0, dc0, dW, db)``: two cells, one
grading ``dW, db``, the other ``dX, dh0, dc0``.

``caches`` is the list of the prescribed step caches, built by the checker from the reference forward pass.
The loop is blamed apart from the step function (:class:`StepHelper`).
"""
from __future__ import annotations

import numpy as np

from rnnkit.grading.engine import GradedFunction, LargeCase, Mistake, Probe, ProbeRule, StepHelper

from .cases import (CACHE, DIMS, SATURATE, SEQUENCE_GRADS, STEP_GRADS, backward_calls, batch_of_one, lstm_case,
                    no_recurrence, numerical_backward, one_step, reference_backward, shifted_gate, short_typical_case,
                    smallest_case, step_caches, typical_case)
from .gate_blocks import gate_explain
from .mistakes import NO_CELL_CARRY, backward_variants, step_backward, with_block_facts
from .step_backward import ARGUMENT_NOTES, B1_MEANING, DB_SUM, PROBES as STEP_PROBES


def _args(c):
    return c["dHs"], step_caches(c)


def _calls(c):
    return [(args, tuple(out[k] for k in STEP_GRADS)) for _, args, out in backward_calls(c)]


def _assemble(c, results):
    f64 = [[np.asarray(v, dtype=np.float64) for v in r[:5]] for r in results]
    return {"dX": np.stack([r[0] for r in f64[::-1]]), "dh0": f64[-1][1], "dc0": f64[-1][2],
            "dW": sum(r[3] for r in f64), "db": sum(r[4] for r in f64)}


def _expected_args(c, results):
    caches, dHs = step_caches(c), c["dHs"]
    T = len(caches)
    dh_next, dc_next = np.zeros_like(c["h0"]), np.zeros_like(c["c0"])
    out = []
    for j, t in enumerate(range(T - 1, -1, -1)):
        out.append((dHs[t] + dh_next, dc_next, caches[t]))
        if j >= len(results):
            break
        dh_next, dc_next = results[j][1], results[j][2]
    return out


def _labels(c):
    calls, dHs = backward_calls(c), c["dHs"]
    T = dHs.shape[0]
    out = [(f"dHs[{t}]", dHs[t]) for t in range(T)] + [("zeros", np.zeros_like(c["h0"]))]
    out += [(f"dHs[{t}] + dh_next", args[0]) for t, args, _ in calls]
    out += [(f"the dc_prev returned by the call for t={t + 1}", out_["dc_prev"]) for t, _, out_ in calls]
    out += [(f"the dh_prev returned by the call for t={t + 1}", out_["dh_prev"]) for t, _, out_ in calls]
    out += [("W", c["W"])] + [(f"caches[{t}][{j}] ({name})", cache[j]) for t, cache in enumerate(step_caches(c))
                              for j, name in enumerate(CACHE)]
    return out


def _cache_miss(c, k, got: dict) -> str:
    if k == 1 and got["c"][0].startswith("caches[0]") and c["dHs"].shape[0] > 1:
        return "Likely cause: " + LOOP_BUGS["forwards"][0]
    return "Likely cause: the cache is not caches[t] of the step the call is for: pass caches[t] unchanged."


def _explain_miss(c, k, wrong) -> str:
    """The loop's mistake behind the wrong arguments of call ``k`` (``[(argument, got, wanted)]``)."""
    got = {name: (g, w) for name, g, w in wrong}
    if "c" in got and got["c"][0].startswith("caches["):
        return _cache_miss(c, k, got)
    dh, dc = got.get("dh", ("", "")), got.get("dc", ("", ""))
    no_h = dh[0].startswith("dHs[") and "+" not in dh[0] and "+" in dh[1]
    no_c = dc[0] == "zeros"
    if no_h or no_c:
        cause = LOOP_BUGS["no-carries"][0] if no_h and no_c else NO_H_CARRY if no_h else NO_CELL_CARRY
        return "Likely cause: " + cause
    if "dh_prev" in dc[0] or "dc_prev" in dh[0]:
        return ("Likely cause: dh_next and dc_next are mixed up: the call is "
                "lstm_step_backward(dHs[t] + dh_next, dc_next, caches[t]).")
    return ""


STEP = StepHelper(
    name="lstm_step_backward", cell="test_lstm_step_backward", calls=_calls, assemble=_assemble, labels=_labels,
    signature="(dh, dc, cache)", leaf_names=("dh", "dc", "x", "h_prev", "c_prev", "i", "f", "o", "g", "c", "W"),
    expected_args=_expected_args, explain_miss=_explain_miss,
    call_names=lambda c: [f"t={t}" for t in range(c["dHs"].shape[0], 0, -1)])


def sequence_backward(c, *, h_carry=True, c_carry=True, forwards=False, only_last=False, only_first=False,
                      dx_reversed=False, dh0_input=False, dc0_input=False, transposed=False, **step_opts) -> dict:
    """BPTT over step_backward with the given mistakes of the loop or of the step."""
    caches, dHs = step_caches(c), c["dHs"]
    T = len(caches)
    dh, dc = np.zeros_like(c["h0"]), np.zeros_like(c["c0"])
    dX, dW, db = [None] * T, np.zeros_like(c["W"]), np.zeros_like(c["b"])
    dh_in = dc_in = dh
    for j, t in enumerate(range(T) if forwards else range(T - 1, -1, -1)):
        dh_in = dHs[t] + dh if h_carry else dHs[t]
        dc_in = dc if c_carry else np.zeros_like(dc)
        g = step_backward(dh_in, dc_in, caches[t], **step_opts)
        dX[t], dh, dc = g["dx"], g["dh_prev"], g["dc_prev"]
        if only_first:
            dW, db = g["dW"], g["db"]
        elif not only_last or j == 0:
            dW, db = dW + g["dW"], db + g["db"]
    return {"dX": np.stack(dX[::-1] if dx_reversed else dX), "dh0": dh_in if dh0_input else dh,
            "dc0": dc_in if dc0_input else dc, "dW": dW.T if transposed else dW, "db": db}


NO_H_CARRY = ("the gradient coming back from step t+1 through h is not added, so only the last step is right: each "
              "step receives dHs[t] plus dh_prev from step t+1.")
LOOP_BUGS = {
    "no-h-carry": (NO_H_CARRY, {"h_carry": False}),
    "no-cell-carry": (NO_CELL_CARRY, {"c_carry": False}),
    "no-carries": ("both carries are missing: each step must receive dh = dHs[t] + dh_next and dc = dc_next, the "
                   "dh_prev and dc_prev returned by the call for t+1 (zeros at t = T); without them every step sees "
                   "only its own dHs[t].", {"h_carry": False, "c_carry": False}),
    "forwards": ("the loop walks forwards in time: backpropagation starts at the last step, t = T, with caches[T−1] "
                 "and goes down to t = 1.", {"forwards": True}),
    "only-last": ("gradients not summed over time: only the last step's contribution is there; W and b are shared by "
                  "all steps, so their gradients are sums over t.", {"only_last": True}),
    "only-first": ("gradients not summed over time: only the contribution of t=1 (the last step a backward loop "
                   "visits) survives — use += instead of =.", {"only_first": True}),
    "dx-reversed": ("dX is in reverse time order: dX[t] is the gradient of X[t], from the call with caches[t].",
                    {"dx_reversed": True}),
    "dh0-input": ("dh0 is the gradient that entered step t=1 (dHs[0] + dh_next), not the one it passes back: return "
                  "the dh_prev of the call for t=1.", {"dh0_input": True}),
    "dc0-input": ("dc0 is the cell gradient that entered step t=1, not the one it passes back: return the dc_prev of "
                  "the call for t=1.", {"dc0_input": True}),
}


def backward_mistakes(judged: tuple):
    """The loop's own mistakes, then each step mistake inside a correct loop; for a cell that grades dW and db,
    each with the gate-block fact of its outputs."""
    skip = ("no-cell-carry", "dx-dh-swapped")  # the first is the loop's; the second cannot run (D ≠ H)

    def mistakes(c) -> list:
        variants = [(name, text, opts) for name, (text, opts) in LOOP_BUGS.items()]
        variants += [v for v in backward_variants() if v[0] not in skip]
        if "dW" in judged:
            return with_block_facts(c, variants, sequence_backward, sequence_backward(c))
        return [Mistake(name, text, lambda case, o=opts: sequence_backward(case, **o)) for name, text, opts in variants]
    return mistakes


PROBES = (
    Probe("T1", one_step, what="T = 1 (one step)",
          meaning="right for T = 1, wrong for longer sequences: what passes between steps is wrong — the carried "
                  "dh_next (added to dHs[t]), the carried dc_next, or the sums of dW and db over the steps.",
          if_fails="with T = 1 nothing is carried: dX[0], dh0, dc0, dW, db are those of one step."),
    Probe("Wh0", no_recurrence, what="W[:, :H] = 0 (no gradient flows back through h: dh_next = 0)",
          meaning="the gradient carried through h is wrong: each step receives dHs[t] + dh_next, where dh_next is the "
                  "dh_prev returned for step t+1 (zeros at t = T).", if_fails="with W[:, :H] = 0 every dh_prev is zero."),
    Probe("fshut", shifted_gate(1, -SATURATE),
          what="the forget gate shut (f ≈ 0: no gradient flows back along the cell path)",
          meaning="the gradient carried along the cell path is wrong: each step receives as dc the dc_prev returned "
                  "for step t+1 (zeros at t = T).", if_fails="with f ≈ 0 every dc_prev is ≈ 0."),
    Probe("B1", batch_of_one, what="B = 1 (a batch of one)", meaning=B1_MEANING,
          if_fails="the code must work the same for B = 1."),
) + tuple(p for p in STEP_PROBES if p.name == "b0" or p.name.startswith(("sat_", "pin_")))

_MEANING = {p.name: p.meaning for p in PROBES}
#: Whole probe cases first; then output by output (a carried gradient that is ≈ 0 on a probe, such as dc0 with
#: the forget gate shut, says nothing there, so the outputs the probe leaves meaningful decide).
RULES = (
    "b0",
    ProbeRule(wrong=("full",), right=("Wh0", "fshut"),
              text="each carried gradient is right when the other one is switched off, so the two are mixed up: "
                   "dh = dHs[t] + dh_next and dc = dc_next, each the matching output of the call for t+1."),
    ProbeRule(wrong=("full:db",), right=("B1", "full:dW"), text=DB_SUM),
    "B1", "Wh0", "fshut", "T1",
) + tuple(ProbeRule(wrong=(f"full:{out}",), right=(f"{p}:{out}",), text=_MEANING[p])
          for out in ("dX", "dW", "db", "dh0") for p in ("B1", "Wh0", "fshut", "T1"))
NONE_RIGHT = ("no probe case is right: the mistake is in every step's own gradients (they are graded on their own in "
              "lstm_step_backward's cell), or in how the loop passes them on.")
HINTS = {"dW": "dW = Σₜ δ⁽ᵗ⁾ᵀ @ [h⁽ᵗ⁻¹⁾, x⁽ᵗ⁾], with δ the gradient of the four gate pre-activations.",
         "dc0": "dc0 is the cell gradient passed back from step t=1 (dc_total ⊙ f)."}

#: The large case: 28,672 weight entries, 30,720 input entries; every step's cache holds W, so T·W is shipped.
LARGE_SIZES = {"T": 40, "B": 16, "D": 48, "H": 64}


def _large(rng):
    c = lstm_case(rng, dict(LARGE_SIZES))
    return _args(c), reference_backward(c), dict(LARGE_SIZES)


def _entries(judged):
    def entries(s):
        n = {"dX": s["T"] * s["B"] * s["D"], "dh0": s["B"] * s["H"], "dc0": s["B"] * s["H"],
             "dW": 4 * s["H"] * (s["H"] + s["D"]), "db": 4 * s["H"]}
        return sum(n[k] for k in judged)
    return entries


def _spec(part: str, judged: tuple) -> GradedFunction:
    return GradedFunction(
        grade_id=f"test_lstm_backward_{part}",
        function="lstm_backward",
        arguments=("dHs", "caches"),
        returns=SEQUENCE_GRADS,
        judged=judged,
        args_of=_args,
        draw=lambda rng: lstm_case(rng),
        reference=reference_backward,
        numerical=numerical_backward,
        kind="gradients",
        edge_cases=(smallest_case, typical_case),
        mistakes=backward_mistakes(judged),
        explain=gate_explain(reference_backward, sequence=True) if "dW" in judged else None,
        probes=PROBES,
        probe_base=short_typical_case,
        rules=RULES,
        none_right=NONE_RIGHT,
        dims=DIMS,
        time_axes={"dX": 0},
        direction="backward",
        hints=HINTS,
        step=STEP,
        argument_notes={"dHs": "a second backward pass over the same loss (or a gradient check) would start from the "
                               "changed dHs.", "caches": ARGUMENT_NOTES["cache"]},
        large=LargeCase(_large, SEQUENCE_GRADS, judged, _entries(judged)),
        withheld=("lstm_backward", "LSTMCache"),
    )


BACKWARD_PARAMETERS = _spec("parameters", ("dW", "db"))
BACKWARD_INPUTS = _spec("inputs", ("dX", "dh0", "dc0"))
