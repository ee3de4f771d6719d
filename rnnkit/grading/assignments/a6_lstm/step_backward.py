"""a6-lstm: the specification of ``lstm_step_backward(dh, dc, cache) -> (dx, dh_prev, dc_prev, dW, db)``.

``cache`` is the prescribed step cache ``(x, h_prev, c_prev, i, f, o, g, c, W)``, built by the checker from
the reference forward step.
"""
from __future__ import annotations

import numpy as np

from rnnkit.grading.engine import GradedFunction, LargeCase, Probe, ProbeRule

from .cases import (DIMS, GATE_NAMES, GATES, PIN_AT, SATURATE, STEP_GRADS, batch_of_one, first_step, lstm_case,
                    numerical_step_backward, pinned_gate, reference_step_backward, shifted_gate, sigmoid,
                    smallest_case, step_caches, typical_case, zeroed)
from .gate_blocks import gate_explain
from .mistakes import step_backward_mistakes


def _cache(c):
    return step_caches({**c, "X": c["X"][:1]})[0]


def _args(c):
    return c["dHs"][0], c["dc"], _cache(c)


def _derivative(k: str) -> str:
    return "tanh′ = 1 − g²" if k == "g" else f"σ′ = {k}(1 − {k})"


def _derivative_value(k: str) -> float:
    s = float(np.tanh(PIN_AT[k])) if k == "g" else float(sigmoid(PIN_AT[k]))
    return 1.0 - s * s if k == "g" else s * (1.0 - s)


def _saturated(j: int, k: str) -> Probe:
    return Probe(f"sat_{k}", shifted_gate(j, SATURATE),
                 what=f"the {GATE_NAMES[k]} saturated (its pre-activation +{SATURATE:g}: {k} = 1)",
                 if_fails=f"where the {GATE_NAMES[k]} saturates its derivative is ≈ 0 however it is written, so its "
                          f"block of dW and db must vanish; {_derivative(k)}, read from the cached {k}, does.")


def _pinned(j: int, k: str) -> Probe:
    return Probe(f"pin_{k}", pinned_gate(j, PIN_AT[k]),
                 what=f"the {GATE_NAMES[k]} pinned (W's rows of {k} zero, its pre-activation {PIN_AT[k]:g} everywhere)",
                 if_fails=f"with {k} the same everywhere its derivative is one number, {_derivative_value(k):.3g}.")


B1_MEANING = ("right for a batch of one, wrong for B > 1: a sum over the batch is wrong — db is the sum of δ over the "
              "batch (not a mean, not one row), dW = δᵀ @ [h_prev, x] sums over it too, and each row of the other "
              "gradients belongs to its own sequence.")
DB_SUM = ("right for a batch of one, wrong for B > 1, and dW is right (so δ is): db is not the sum of δ over the "
          "batch — db = da.sum(axis=0), not a mean, not one row.")
B0_MEANING = ("your gradients are right when b = 0 and wrong otherwise, although b is not in the cache: they depend on "
              "a pre-activation rebuilt from the cache without b. Read the derivatives from the cached gate values: "
              "σ′ = s(1 − s) for s = i, f, o and tanh′ = 1 − g².")
DC0_MEANING = ("the incoming dc is mishandled: it enters only through dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c), which feeds "
               "di, df, dg and dc_prev = dc_total ⊙ f (do = dh ⊙ tanh(c) does not involve dc).")
DH0_MEANING = ("the gradient through h is mishandled: dh reaches c as dh ⊙ o ⊙ (1 − tanh²c) (added into dc_total) and "
               "the output gate as do = dh ⊙ tanh(c).")

PROBES = (
    Probe("dc0", zeroed("dc"), what="dc = 0 (no gradient arriving along the cell path)", meaning=DC0_MEANING,
          if_fails="with dc = 0, dc_total = dh ⊙ o ⊙ (1 − tanh²c)."),
    Probe("dh0", zeroed("dHs"), what="dh = 0 (no gradient arriving through h)", meaning=DH0_MEANING,
          if_fails="with dh = 0, dc_total = dc and do = 0."),
    Probe("B1", batch_of_one, what="B = 1 (a batch of one)", meaning=B1_MEANING,
          if_fails="the code must work the same for B = 1."),
    Probe("b0", zeroed("b"), what="b = 0 in the forward step that made the cache", meaning=B0_MEANING,
          if_fails="the cache holds everything the gradients need; b is not in it."),
) + tuple(_saturated(j, k) for j, k in enumerate(GATES)) + tuple(_pinned(j, k) for j, k in enumerate(GATES))

RULES = (
    ProbeRule(wrong=("full",), right=("b0",), text=B0_MEANING),
    ProbeRule(wrong=("full",), right=("dc0", "dh0"),
              text="dc and the gradient through h are each handled right on their own but combined wrongly: "
                   "dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c), a sum, feeds di, df, dg and dc_prev."),
    ProbeRule(wrong=("full",), right=("dc0",), text=DC0_MEANING),
    ProbeRule(wrong=("full",), right=("dh0",), text=DH0_MEANING),
    ProbeRule(wrong=("full:db",), right=("B1", "full:dW"), text=DB_SUM),
    ProbeRule(wrong=("full:db",), right=("full:dW",),
              text="dW is right, so δ is right: db is not the sum of δ over the batch (db = da.sum(axis=0))."),
    ProbeRule(wrong=("full",), right=("B1",), text=B1_MEANING),
    ProbeRule(right=("full:dW", "full:db"), any_wrong=("full:dx", "full:dh_prev"),
              text="δ is right (dW and db are), so the error is in dz = δ @ W or its split: dh_prev = dz[:, :H], "
                   "dx = dz[:, H:]."),
    ProbeRule(wrong=("full:dc_prev",), right=("full:dW", "full:db"),
              text="dc_total is right (δi, δf and δg are), so dc_prev = dc_total ⊙ f is wrong: the cell gradient "
                   "passes back through the forget gate only."),
    ProbeRule(wrong=("full:dW",), right=("full:db",),
              text="db is right, so δ is right: the product dW = δᵀ @ [h_prev, x] is wrong."),
)
NONE_RIGHT = ("no probe case is right, so look at δ block by block: the rows of dW and db are the gates i, f, o, g "
              "(H rows each); δk = dk ⊙ (k's derivative) with di = dc_total ⊙ g, df = dc_total ⊙ c_prev, "
              "do = dh ⊙ tanh(c), dg = dc_total ⊙ i and dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c).")

#: Why writing into an argument matters, though it costs no points when the returned values are right.
ARGUMENT_NOTES = {
    "dh": "lstm_backward passes dHs[t] + dh_next, a fresh array, but a caller that passes dHs[t] itself finds its "
          "dHs changed.",
    "dc": "harmless in the notebook's loop, which replaces dc_next with the returned dc_prev, but a caller that "
          "reads dc_next again gets the modified values.",
    "cache": "the cache belongs to the forward pass: a second backward pass over the same caches (a gradient check, "
             "a second loss) reads the modified values.",
}

#: The large case: one step, 4H·(H+D) = 524,288 weight entries (eight rows: an honest loop over the rows adds one
#: outer product of W's size per row).
LARGE_SIZES = {"B": 8, "D": 256, "H": 256}


def _large(rng):
    c = first_step(lstm_case(rng, {"T": 1, **LARGE_SIZES}))
    args = _args(c)
    return args, reference_step_backward(*args), dict(LARGE_SIZES)


STEP_BACKWARD = GradedFunction(
    grade_id="test_lstm_step_backward",
    function="lstm_step_backward",
    arguments=("dh", "dc", "cache"),
    returns=STEP_GRADS,
    args_of=_args,
    draw=lambda rng: first_step(lstm_case(rng)),
    reference=lambda c: reference_step_backward(*_args(c)),
    numerical=numerical_step_backward,
    kind="gradients",
    edge_cases=(lambda: first_step(smallest_case()), lambda: first_step(typical_case())),
    mistakes=step_backward_mistakes,
    explain=gate_explain(lambda c: reference_step_backward(*_args(c)), sequence=False),
    probes=PROBES,
    probe_base=lambda: first_step(typical_case()),
    rules=RULES,
    none_right=NONE_RIGHT,
    dims=DIMS,
    argument_notes=ARGUMENT_NOTES,
    large=LargeCase(_large, STEP_GRADS, STEP_GRADS,
                    lambda s: 4 * s["H"] * (s["H"] + s["D"]) + s["B"] * (s["D"] + 2 * s["H"])),
    withheld=("lstm_step_backward", "_local_grads", "LSTMStepCache"),
)
