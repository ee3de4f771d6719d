"""a6-lstm: the probe cases, each the fixed typical case with one term switched off, a gate
saturated or pinned (declarative: what is switched off, and what a mistake there produces)."""
from __future__ import annotations

import numpy as np

from .._core import Probe
from .cases import _sig
from .diagnoses import GATES, GATE_NAMES


# ---------------------------------------------------------------------------
# probes: the fixed typical case again, with one term switched off
# ---------------------------------------------------------------------------

def _resized(c: dict) -> dict:
    T, B, D = c["X"].shape
    return {**c, "sizes": {"T": int(T), "B": int(B), "D": int(D), "H": int(c["h0"].shape[1])}}


def _zero(*names):
    return lambda c: {**c, **{n: np.zeros_like(c[n]) for n in names}}


def _batch1(c):
    return _resized({**c, "X": c["X"][:, :1], "h0": c["h0"][:1], "c0": c["c0"][:1], "dHs": c["dHs"][:, :1],
                     "dc": c["dc"][:1]})


def _time1(c):
    return _resized({**c, "X": c["X"][:1], "dHs": c["dHs"][:1]})


def _shift_gate(k: int, by: float):
    def make(c):
        H = c["h0"].shape[1]
        b = c["b"].copy()
        b[k * H:(k + 1) * H] += by
        return {**c, "b": b}
    return make


#: Pre-activation of a pinned gate: σ gates at 0 (value ½, σ′ = ¼), g at 0.5 (tanh′ = 1 − tanh²(0.5) ≈ 0.79).
PIN_AT = {"i": 0.0, "f": 0.0, "o": 0.0, "g": 0.5}
#: Pre-activation added to saturate a gate (σ(a) = 1 − 1e-13 for a ≥ 30, tanh(a) = 1.0 exactly).
SATURATE = 30.0


def _pin_gate(k: int, a0: float):
    def make(c):
        H = c["h0"].shape[1]
        W, b = c["W"].copy(), c["b"].copy()
        W[k * H:(k + 1) * H] = 0.0
        b[k * H:(k + 1) * H] = a0
        return {**c, "W": W, "b": b}
    return make


def _no_recurrent(c):
    H = c["h0"].shape[1]
    W = c["W"].copy()
    W[:, :H] = 0.0
    return {**c, "W": W}


def _act(k: str) -> str:
    return "tanh" if k == "g" else "σ"


def _gate_slice(k: str) -> str:
    return {"i": "a[:, :H]", "f": "a[:, H:2H]", "o": "a[:, 2H:3H]", "g": "a[:, 3H:]"}[k]


def _saturated(k: str, idx: int, forward: bool) -> Probe:
    what = f"the {GATE_NAMES[k]} saturated (its pre-activation +{SATURATE:g}: {k} = 1)"
    if forward:
        return Probe(f"sat_{k}", what=what, make=_shift_gate(idx, SATURATE),
                     meaning=f"the value of the {GATE_NAMES[k]} is wrong below saturation: {k} = "
                             f"{_act(k)}({_gate_slice(k)})",
                     if_fails=f"a large pre-activation gives {k} = {_act(k)}(a) ≈ 1 and the same formulas hold: is a "
                              f"clipped, or {k} computed some other way for large a?")
    return Probe(f"sat_{k}", what=what, make=_shift_gate(idx, SATURATE),
                 if_fails=f"where the {GATE_NAMES[k]} saturates its derivative is ≈ 0, so its block of dW and db must "
                          f"vanish: is the derivative {_derivative(k)} computed from the cached gate value {k}?")


def _pinned(k: str, idx: int) -> Probe:
    return Probe(f"pin_{k}", what=f"the {GATE_NAMES[k]} pinned (W's rows of {k} zero, its pre-activation "
                      f"{PIN_AT[k]:g} everywhere)", make=_pin_gate(idx, PIN_AT[k]),
                 if_fails=f"with {k} the same everywhere its derivative is one number, {_derivative_value(k):.3g}.")


def _derivative(k: str) -> str:
    return "tanh′ = 1 − g²" if k == "g" else f"σ′ = {k}(1 − {k})"


def _gate_value(k: str) -> float:
    return float(np.tanh(PIN_AT[k])) if k == "g" else float(_sig(PIN_AT[k]))


def _derivative_value(k: str) -> float:
    s = _gate_value(k)
    return 1.0 - s * s if k == "g" else s * (1.0 - s)


B1_MEANING = ("right for a batch of one, wrong for B > 1: a sum over the batch is wrong — db is the sum of δ "
              "over the batch (not a mean, not one row), dW = δᵀ @ [h_prev, x] sums over it too, and each row "
              "of the other gradients belongs to its own sequence")

STEP_FORWARD_PROBES = (
    Probe("x0", what="x = 0", make=_zero("X"),
          meaning="x enters the pre-activations wrongly: a = [h_prev, x] @ W.T + b, so x multiplies the last D columns "
                  "of W (W[:, H:])", if_fails="with x = 0, a = h_prev @ W[:, :H].T + b."),
    Probe("hp0", what="h_prev = 0", make=_zero("h0"),
          meaning="h_prev enters the pre-activations wrongly: it multiplies the first H columns of W (W[:, :H])",
          if_fails="with h_prev = 0, a = x @ W[:, H:].T + b."),
    Probe("cp0", what="c_prev = 0", make=_zero("c0"),
          meaning="the forget term f ⊙ c_prev of c = f ⊙ c_prev + i ⊙ g is wrong (f = σ(a[:, H:2H]))",
          if_fails="with c_prev = 0, c = i ⊙ g."),
    Probe("b0", what="b = 0", make=_zero("b"),
          meaning="the bias is added wrongly: b (4H,) is added once to the pre-activations of all four gates, "
                  "a = [h_prev, x] @ W.T + b", if_fails="with b = 0, a = [h_prev, x] @ W.T."),
    Probe("g0", what="g = 0 (its pre-activation pinned at 0)", make=_pin_gate(3, 0.0),
          meaning="the input term i ⊙ g of c is wrong (i = σ(a[:, :H]), g = tanh(a[:, 3H:]))",
          if_fails="with g = 0, c = f ⊙ c_prev."),
) + tuple(_saturated(k, j, True) for j, k in enumerate(GATES))

DC0_MEANING = ("the incoming dc is mishandled: it enters only through dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c), "
               "which feeds di, df, dg and dc_prev = dc_total ⊙ f (do = dh ⊙ tanh(c) does not involve dc)")
DH0_MEANING = ("the gradient through h is mishandled: dh reaches c as dh ⊙ o ⊙ (1 − tanh²c) (added into "
               "dc_total) and the output gate as do = dh ⊙ tanh(c)")

STEP_BACKWARD_PROBES = (
    Probe("dc0", what="dc = 0 (no gradient arriving along the cell path)", make=_zero("dc"), meaning=DC0_MEANING,
          if_fails="with dc = 0, dc_total = dh ⊙ o ⊙ (1 − tanh²c)."),
    Probe("dh0", what="dh = 0 (no gradient arriving through h)", make=_zero("dHs"), meaning=DH0_MEANING,
          if_fails="with dh = 0, dc_total = dc and do = 0."),
    Probe("B1", what="B = 1 (a batch of one)", make=_batch1, meaning=B1_MEANING,
          if_fails="the code must work the same for B = 1."),
) + tuple(_saturated(k, j, False) for j, k in enumerate(GATES)) + tuple(_pinned(k, j) for j, k in enumerate(GATES))

FORWARD_SEQUENCE_PROBES = (
    Probe("T1", what="T = 1 (one step)", make=_time1,
          meaning="the first step is right (T = 1 is), so the mistake is in what passes from step to step: each step "
                  "starts from the h and c the previous step returned, and Hs[t] is the state after reading X[t]",
          if_fails="a sequence of one step is Hs = h⁽¹⁾[None]."),
    Probe("Wh0", what="W[:, :H] = 0 (h_prev has no effect)", make=_no_recurrent,
          meaning="the hidden state passed from step to step is wrong: each step starts from the h the previous "
                  "step returned (h0 at t=1)", if_fails="with W[:, :H] = 0 the gates do not depend on h_prev."),
    Probe("fshut", what="the forget gate shut (pre-activation −30, f ≈ 0: c_prev has no effect)",
          make=_shift_gate(1, -SATURATE),
          meaning="the cell state passed from step to step is wrong: each step starts from the c the previous step "
                  "returned (c0 at t=1)", if_fails="with f ≈ 0, c = i ⊙ g at every step."),
    Probe("B1", what="B = 1 (a batch of one)", make=_batch1,
          meaning="right for one sequence but not for a batch: the rows of the batch are mixed",
          if_fails="B = 1 must work."),
    Probe("x0", what="X = 0", make=_zero("X"), meaning=STEP_FORWARD_PROBES[0].meaning,
          if_fails=STEP_FORWARD_PROBES[0].if_fails),
    Probe("b0", what="b = 0", make=_zero("b"), meaning=STEP_FORWARD_PROBES[3].meaning,
          if_fails=STEP_FORWARD_PROBES[3].if_fails),
) + tuple(_saturated(k, j, True) for j, k in enumerate(GATES))

BACKWARD_SEQUENCE_PROBES = (
    Probe("T1", what="T = 1 (one step)", make=_time1,
          meaning="right for T = 1, wrong for longer sequences: what passes between steps is wrong — the carried "
                  "dh_next (added to dHs[t]), the carried dc_next, or the sums of dW and db over the steps",
          if_fails="with T = 1 nothing is carried: dX[0], dh0, dc0, dW, db are those of one step."),
    Probe("Wh0", what="W[:, :H] = 0 (no gradient flows back through h: dh_next = 0)", make=_no_recurrent,
          meaning="the gradient carried through h is wrong: each step receives dHs[t] + dh_next, where dh_next is the "
                  "dh_prev returned for step t+1 (zeros at t = T)",
                  if_fails="with W[:, :H] = 0 every dh_prev is zero."),
    Probe("fshut", what="the forget gate shut (f ≈ 0: no gradient flows back along the cell path)",
          make=_shift_gate(1, -SATURATE),
          meaning="the gradient carried along the cell path is wrong: each step receives as dc the dc_prev returned "
                  "for step t+1 (zeros at t = T)", if_fails="with f ≈ 0 every dc_prev is ≈ 0."),
    Probe("B1", what="B = 1 (a batch of one)", make=_batch1, meaning=B1_MEANING,
          if_fails="the code must work the same for B = 1."),
) + tuple(_saturated(k, j, False) for j, k in enumerate(GATES)) + tuple(_pinned(k, j) for j, k in enumerate(GATES))
