"""a6-lstm: the specification of ``lstm_step_forward(x, h_prev, c_prev, W, b) -> (h, c, cache)``."""
from __future__ import annotations

from rnnkit.grading.engine import GradedFunction, Probe, ProbeRule

from .cases import (CACHE, DIMS, GATE_NAMES, GATES, SATURATE, chain, first_step, lstm_case,
                    pinned_gate, shifted_gate, smallest_case, typical_case, zeroed)
from .mistakes import step_forward_mistakes


def _args(c):
    return c["X"][0], c["h0"], c["c0"], c["W"], c["b"]


def _reference(c):
    hs, cs, caches = chain({**c, "X": c["X"][:1]})
    return {"h": hs[1], "c": cs[1], "cache": caches[0]}


_SLICE = {"i": "a[:, :H]", "f": "a[:, H:2H]", "o": "a[:, 2H:3H]", "g": "a[:, 3H:]"}


def _act(k: str) -> str:
    return "tanh" if k == "g" else "σ"


def _saturated(j: int, k: str) -> Probe:
    return Probe(f"sat_{k}", shifted_gate(j, SATURATE),
                 what=f"the {GATE_NAMES[k]} saturated (its pre-activation +{SATURATE:g}: {k} = 1)",
                 meaning=f"the value of the {GATE_NAMES[k]} is wrong below saturation: {k} = {_act(k)}({_SLICE[k]}).",
                 if_fails=f"a large pre-activation gives {k} = {_act(k)}(a) ≈ 1 and the same formulas hold, so a is "
                          f"clipped, or {k} computed some other way for large a.")


X0 = Probe("x0", zeroed("X"), what="x = 0",
           meaning="x enters the pre-activations wrongly: a = [h_prev, x] @ W.T + b, so x multiplies the last D "
                   "columns of W (W[:, H:]).", if_fails="with x = 0, a = h_prev @ W[:, :H].T + b.")
B0 = Probe("b0", zeroed("b"), what="b = 0",
           meaning="the bias is added wrongly: b (4H,) is added once to the pre-activations of all four gates, "
                   "a = [h_prev, x] @ W.T + b.", if_fails="with b = 0, a = [h_prev, x] @ W.T.")
PROBES = (
    X0,
    Probe("hp0", zeroed("h0"), what="h_prev = 0",
          meaning="h_prev enters the pre-activations wrongly: it multiplies the first H columns of W (W[:, :H]).",
          if_fails="with h_prev = 0, a = x @ W[:, H:].T + b."),
    Probe("cp0", zeroed("c0"), what="c_prev = 0",
          meaning="the forget term f ⊙ c_prev of c = f ⊙ c_prev + i ⊙ g is wrong (f = σ(a[:, H:2H])).",
          if_fails="with c_prev = 0, c = i ⊙ g."),
    B0,
    Probe("g0", pinned_gate(3, 0.0), what="g = 0 (its pre-activation pinned at 0)",
          meaning="the input term i ⊙ g of c is wrong (i = σ(a[:, :H]), g = tanh(a[:, 3H:])).",
          if_fails="with g = 0, c = f ⊙ c_prev."),
) + tuple(_saturated(j, k) for j, k in enumerate(GATES))


def _meaning(name: str) -> str:
    return next(p.meaning for p in PROBES if p.name == name)


#: What the probes say, most specific first (the first rule that holds concludes).
RULES = (
    ProbeRule(wrong=("full:h",), right=("full:c", "sat_o:h"), text=_meaning("sat_o")),
    ProbeRule(wrong=("full:h",), right=("full:c",),
              text="c is right, so the mistake is in h = o ⊙ tanh(c): the output gate o = σ(a[:, 2H:3H]) or the tanh "
                   "of the new cell state."),
) + tuple(ProbeRule(wrong=("full:c",), right=(f"{p}:c",), text=_meaning(p))
          for p in ("sat_i", "sat_f", "sat_g", "cp0", "g0", "x0", "hp0", "b0"))

STEP_FORWARD = GradedFunction(
    grade_id="test_lstm_step_forward",
    function="lstm_step_forward",
    arguments=("x", "h_prev", "c_prev", "W", "b"),
    returns=("h", "c", "cache"),
    args_of=_args,
    draw=lambda rng: first_step(lstm_case(rng)),
    reference=_reference,
    kind="values",
    cache=CACHE,
    edge_cases=(lambda: first_step(smallest_case()), lambda: first_step(typical_case())),
    mistakes=step_forward_mistakes,
    probes=PROBES,
    probe_base=lambda: first_step(typical_case()),
    rules=RULES,
    none_right="every probe case is wrong too, so the mistake is in what none of them switches off: the "
               "pre-activations a = [h_prev, x] @ W.T + b (gate blocks i, f, o, g) or the activations (σ for i, f "
               "and o, tanh for g). The gates are computed first: a gate your cache holds wrong is where to look.",
    dims=DIMS,
    withheld=("lstm_step_forward", "LSTMStepCache"),
)
