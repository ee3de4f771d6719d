"""a3-bptt: output_backward, the gradients of the output layer O = Hs @ Wy.T + c."""
from __future__ import annotations

import numpy as np

import rnnkit
from rnnkit.grading.engine import GradedFunction, LargeCase, Mistake, Probe, ProbeRule, numerical_gradients

from .cases import DIMS, at_step_only, draw_with_output, edge, probe_base, states, steps
from .step import one_row

GRADS = ("dHs", "dWy", "dc")
DC_NOT_SUMMED = "dc still has the time and/or batch axes: sum dO over time and batch to get shape (K,)."


def _args(c: dict) -> tuple:
    return c["dO"], states(c), c["Wy"]


def _mistakes(case: dict) -> list:
    dO, Hs, Wy = _args(case)
    K, H = Wy.shape
    found = [
        ("only-last-step", "dWy / dc hold only the last step: Wy and c are used at every step, so their gradients "
                           "are sums over t (and over the batch).", {"dWy": dO[-1].T @ Hs[-1], "dc": dO[-1].sum(0)}),
        ("dwy-transposed", "dWy is transposed: it has the shape of Wy, (K, H), computed as dOᵀ @ Hs summed over time.",
         {"dWy": (dO.reshape(-1, K).T @ Hs.reshape(-1, H)).T}),
        ("dc-not-summed", DC_NOT_SUMMED, {"dc": dO.sum(0)}), ("dc-not-summed", DC_NOT_SUMMED, {"dc": dO.sum(1)}),
        ("dc-not-summed", DC_NOT_SUMMED, {"dc": dO}),
        ("dhs-summed-over-time", "dHs must be dO @ Wy (each state feeds only its own step's output): no sum over "
                                 "time here.", {"dHs": np.broadcast_to((dO @ Wy).sum(0), Hs.shape).copy()}),
    ]
    return [Mistake(name, text, lambda c, o=outs: o) for name, text, outs in found]


def _numerical(case: dict) -> dict:
    """Central differences of the reference output layer with the loss Σ O ⊙ dO."""
    dO, Hs, Wy = (a.copy() for a in _args(case))
    c = np.zeros(Wy.shape[0])
    return numerical_gradients(lambda: float(np.sum(rnnkit.affine_forward(Hs, Wy, c)[0] * dO)),
                               {"dHs": Hs, "dWy": Wy, "dc": c})


def _large(rng):
    """131,072 entries of Hs and 32,768 of Wy for central differences."""
    s = {"T": 32, "B": 16, "H": 256, "K": 128}
    Hs = np.tanh(rng.standard_normal((s["T"], s["B"], s["H"])))
    Wy = rng.standard_normal((s["K"], s["H"])) / np.sqrt(s["H"])
    dO = rng.standard_normal((s["T"], s["B"], s["K"]))
    return (dO, Hs, Wy), dict(zip(GRADS, rnnkit.affine_backward(dO, (Hs, Wy)))), s


_PROBES = (
    Probe("one_step", make=lambda c: at_step_only(c, "dO", 1), what="dO nonzero at t=2 only",
          meaning="right when one step has a gradient", if_fails="wrong when only one step has a gradient"),
    Probe("T1", make=lambda c: steps(c, 1), what="one step (T = 1)", meaning="a single step is right",
          if_fails="wrong already for T = 1"),
    one_row(": dHs keeps one row per sequence, and dWy and dc sum over the rows as well as over time (no mean)."),
)

OUTPUT_BACKWARD = GradedFunction(
    grade_id="test_output_backward", function="output_backward", arguments=("dO", "Hs", "Wy"), returns=GRADS,
    args_of=_args, draw=draw_with_output, kind="gradients", numerical=_numerical,
    reference=lambda c: dict(zip(GRADS, rnnkit.affine_backward(c["dO"], rnnkit.AffineCache(*_args(c)[1:])))),
    edge_cases=(edge(with_output=True),), mistakes=_mistakes, probes=_PROBES, probe_base=probe_base(with_output=True),
    rules=(ProbeRule(wrong=("one_step:dHs",), right=("T1:dHs",),
                     text="with dO nonzero at t=2 only, dHs is wrong: dHs[t] comes from dO[t] alone, "
                          "dHs[t] = dO[t] @ Wy (each state feeds only its own step's output; carrying gradients "
                          "back in time is rnn_backward's job)."),
           ProbeRule(wrong=("T1:dHs",),
                     text="dHs is wrong even for a single step: dHs[t] = dO[t] @ Wy (Wy is (K, H))."),
           ProbeRule(right=("T1",), any_wrong=("full:dWy", "full:dc"),
                     text="right for one step (T = 1): the sum over time is wrong. Wy and c are used at every step: "
                          "dWy = Σₜ dO[t]ᵀ @ Hs[t] and dc = Σₜ Σ_batch dO[t], sums (not means) over every step."),
           "one_row"),
    dims=DIMS, time_axes={"dHs": 0}, hints={"dWy": "dWy = Σₜ dO[t]ᵀ @ Hs[t].", "dc": "dc = Σₜ Σ_batch dO[t].",
                                            "dHs": "dHs[t] = dO[t] @ Wy."},
    large=LargeCase(_large, GRADS, GRADS, lambda s: s["T"] * s["B"] * s["H"] + s["K"] * s["H"] + s["K"]),
    withheld=("affine_forward", "affine_backward"))
