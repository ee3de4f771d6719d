"""a3-bptt: the probe cases (the case with one part switched off) and the rules that read their outcomes
(declarative: which probes right or wrong say which mistake)."""
from __future__ import annotations

import numpy as np

from .._core import Probe, ProbeRule
from .cases import _draw_case


# ---------------------------------------------------------------------------
# probe cases: one term switched off at a time
# ---------------------------------------------------------------------------

def _resized(case: dict, **arrays) -> dict:
    """A copy of ``case`` with some arrays replaced, its sizes recomputed."""
    new = dict(case)
    new.update(arrays)
    T, B, D = new["X"].shape
    sizes = {"T": T, "B": B, "D": D, "H": new["Wx"].shape[0]}
    if "Wy" in new:
        sizes["K"] = new["Wy"].shape[0]
    new["sizes"] = sizes
    return new


def _zero(case: dict, *names) -> dict:
    return _resized(case, **{n: np.zeros_like(case[n]) for n in names})


def _at_step_only(case: dict, name: str, t: int) -> dict:
    a = np.zeros_like(case[name])
    a[t] = case[name][t]
    return _resized(case, **{name: a})


def _steps(case: dict, T: int) -> dict:
    return _resized(case, **{k: case[k][:T] for k in ("X", "dHs", "dO", "Hs") if k in case})


def _rows(case: dict, B: int) -> dict:
    keys = [k for k in ("X", "dHs", "dO", "Hs") if k in case]
    return _resized(case, h0=case["h0"][:B], **{k: case[k][:, :B] for k in keys})


def _with_states(case: dict, Hs: np.ndarray, **more) -> dict:
    return _resized(case, Hs=Hs, **more)


def _probe_base() -> dict:
    """The fixed case the probes are made from (sizes all different, T ≥ 3 so carries show)."""
    return _draw_case(np.random.default_rng(20261202), {"T": 4, "B": 3, "D": 5, "H": 6, "K": 2})


_BATCH_TEXT = ("right for a batch of one row (B = 1), wrong for B > 1: the rows of the batch get mixed. Each row "
               "is its own sequence")


def _ONE_ROW(text: str) -> Probe:
    """The probe with a batch of one row; ``text`` says how rows are kept apart in this function."""
    return Probe("one_row", make=lambda c: _rows(c, 1), what="one row (B = 1)", meaning=_BATCH_TEXT + text,
                 if_fails="wrong even for one row (B = 1)")


STEP_FORWARD_PROBES = (
    Probe("bias_only", make=lambda c: _zero(c, "X", "h0"), what="x = 0 and h_prev = 0 (only the bias)",
          meaning="the bias and tanh are right", if_fails="wrong with the bias alone (tanh(b) should come out)"),
    Probe("input_only", make=lambda c: _zero(c, "h0", "b"), what="h_prev = 0 and b = 0 (only the input term)",
          meaning="the input term is right", if_fails="the input term alone is wrong"),
    Probe("recurrent_only", make=lambda c: _zero(c, "X", "b"), what="x = 0 and b = 0 (only the recurrent term)",
          meaning="the recurrent term is right", if_fails="the recurrent term alone is wrong"),
    _ONE_ROW(": h[i] = tanh(x[i] @ Wx.T + h_prev[i] @ Ws.T + b). Look for a reshape where a transpose "
             "belongs, or a sum or mean over axis 0."),
)
STEP_FORWARD_RULES = (
    ProbeRule(right=("one_row",), wrong=("full",), text=STEP_FORWARD_PROBES[3].meaning),
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
              text="each part alone is right, but not their combination: h = tanh(x @ Wx.T + h_prev @ Ws.T + b), "
                   "one tanh of the sum of the three terms (not a sum or product of separate pieces)."),
)

_DELTA = "δ = dh ⊙ (1 − h²)"
STEP_BACKWARD_PROBES = (
    Probe("tanh_off", make=lambda c: _with_states(c, np.zeros_like(c["dHs"])), what="h = 0 in the cache (tanh′ = 1)",
          meaning="right where tanh′ = 1, so the tanh′ factor is the likely culprit",
          if_fails="wrong even where tanh′ = 1"),
    Probe("states_zero", make=lambda c: _with_states(c, np.zeros_like(c["dHs"]), h0=np.zeros_like(c["h0"])),
          what="h = 0 and h_prev = 0 in the cache (tanh′ = 1 of either state)",
          meaning="right when no state is nonzero", if_fails="wrong even when both states are 0"),
    _ONE_ROW(f": {_DELTA} is elementwise, row by row; dx and dh_prev keep one row per sequence, and only the "
             "weight and bias gradients sum over the rows (δᵀ @ x, δᵀ @ h_prev, δ.sum(axis=0), no mean)."),
)
_STEP_ALONE = {
    "dx": "dx = δ @ Wx", "dh_prev": "dh_prev = δ @ Ws (the gradient passed back to the previous state)",
    "dWx": "dWx = δᵀ @ x", "dWs": "dWs = δᵀ @ h_prev", "db": "db = δ.sum(axis=0)",
}
STEP_BACKWARD_RULES = (
    ProbeRule(wrong=("tanh_off:db",), right=("states_zero:db",),
              text=f"δ is right only when h_prev = 0 as well, so the tanh′ factor reads h_prev: {_DELTA} with "
                   "h = cache[2], the state this step produced (tanh′ of the wrong state)."),
    ProbeRule(right=("tanh_off", "states_zero"), wrong=("full:db",),
              text=f"every gradient is right where h = 0 (tanh′ = 1), so the tanh′ factor itself is wrong: "
                   f"{_DELTA}, the derivative of tanh written with its output h (once, h squared)."),
) + tuple(
    ProbeRule(wrong=(f"full:{o}",), right=tuple(f"full:{p}" for p in _STEP_ALONE if p != o),
              text=f"δ is right (every other gradient is), so the mistake is in {_STEP_ALONE[o]} alone.")
    for o in _STEP_ALONE
) + (
    ProbeRule(right=("one_row",), wrong=("full",), text=STEP_BACKWARD_PROBES[2].meaning),
)

FORWARD_PROBES = (
    Probe("T1", make=lambda c: _steps(c, 1), what="one step (T = 1)", meaning="the first step is right",
          if_fails="wrong already at the first step"),
    Probe("h0_zero", make=lambda c: _zero(c, "h0"), what="h0 = 0", meaning="right when h0 = 0",
          if_fails="wrong even with h0 = 0"),
    Probe("Ws0", make=lambda c: _zero(c, "Ws"), what="Ws = 0 (no recurrence: each state depends on its own input only)",
          meaning="every step on its own is right",
          if_fails="wrong even without recurrence: what is computed at each step or stored in Hs[t] is wrong"),
    _ONE_ROW(": Hs[t, i] depends on X[:, i] and h0[i] only."),
)
FORWARD_RULES = (
    ProbeRule(right=("one_row",), wrong=("full",), text=FORWARD_PROBES[3].meaning),
    ProbeRule(wrong=("Ws0",),
              text="even with Ws = 0, where every state is tanh(x⁽ᵗ⁾ @ Wx.T + b) on its own, Hs is wrong: what "
                   "is computed at each step, or what is stored in Hs[t] (the state after reading X[t], "
                   "for t = 0 … T−1), is wrong."),
    ProbeRule(right=("h0_zero",), wrong=("T1",),
              text="right when h0 = 0 but wrong from the first step otherwise: the first step does not start "
                   "from h⁽⁰⁾ = h0."),
    ProbeRule(right=("Ws0",), wrong=("T1",),
              text="every step is right without recurrence (Ws = 0) and wrong already at t=1 with it: the "
                   "recurrent term is at fault: a = x @ Wx.T + h_prev @ Ws.T + b, the recurrent term inside the "
                   "tanh with h⁽⁰⁾ = h0 at t=1."),
    ProbeRule(right=("T1", "Ws0"), wrong=("full",),
              text="the first step and every step without recurrence are right, so the recurrence is at "
                   "fault: step t must get h⁽ᵗ⁻¹⁾, the state step t−1 returned, and add h_prev @ Ws.T."),
)

BACKWARD_PROBES = (
    Probe("first_only", make=lambda c: _at_step_only(c, "dHs", 0), what="dHs nonzero at t=1 only (nothing to carry back)",
          meaning="the gradients of a single step (with h0 and dh0) are right",
          if_fails="wrong even for a single step"),
    Probe("last_only", make=lambda c: _at_step_only(c, "dHs", -1),
          what="dHs nonzero at t=T only (earlier steps get only the carried gradient)",
          meaning="the carried gradient is right", if_fails="the carried gradient is wrong"),
    Probe("Hs_zero", make=lambda c: _with_states(c, np.zeros_like(c["dHs"])),
          what="every h⁽ᵗ⁾ = 0 in the cache (tanh′ = 1), h0 ≠ 0", meaning="right where tanh′ = 1",
          if_fails="wrong even where tanh′ = 1"),
    Probe("states_zero", make=lambda c: _with_states(c, np.zeros_like(c["dHs"]), h0=np.zeros_like(c["h0"])),
          what="every h⁽ᵗ⁾ = 0 and h0 = 0 (tanh′ = 1 of any state)", meaning="right when no state is nonzero",
          if_fails="wrong even when every state is 0"),
    Probe("T1", make=lambda c: _steps(c, 1), what="one step (T = 1)", meaning="a single step is right",
          if_fails="wrong already for T = 1"),
    _ONE_ROW(": δ⁽ᵗ⁾ is elementwise, row by row; dX and dh0 keep one row per sequence, and the weight and "
             "bias gradients sum over the rows (no mean)."),
)
_SEQ_ALONE = {
    "dX": "dX[t] = δ⁽ᵗ⁾ @ Wx",
    "dh0": "dh0, the gradient that leaves step 1: δ⁽¹⁾ @ Ws (the carried gradient after the loop's last step)",
    "dWx": "dWx = Σₜ δ⁽ᵗ⁾ᵀ @ x⁽ᵗ⁾", "dWs": "dWs = Σₜ δ⁽ᵗ⁾ᵀ @ h⁽ᵗ⁻¹⁾ (h0 at t=1)", "db": "db = Σₜ Σ_batch δ⁽ᵗ⁾",
}
_SEQ_DELTA = "δ⁽ᵗ⁾ = (dHs[t] + dh_next) ⊙ (1 − h⁽ᵗ⁾²)"
#: The outputs of the single-step probe that carry nothing (dh0 is itself a carried gradient).
_FIRST_LOCAL = tuple(f"first_only:{o}" for o in ("dX", "dWx", "dWs", "db"))
BACKWARD_RULES = (
    ProbeRule(right=("last_only",), wrong=("first_only",),
              text="right when the upstream gradient is at t=T only, wrong when it is at t=1 only: dHs[t] is "
                   "not taken into account at the steps before T. The gradient reaching h⁽ᵗ⁾ is "
                   "dHs[t] + dh_next at every step."),
    ProbeRule(right=_FIRST_LOCAL + ("Hs_zero",), wrong=("last_only",),
              text="the gradients within a single step are right and so is everything where tanh′ = 1, but the "
                   "carried gradient is wrong (dh0 is one too): it must pass through tanh′ of its step exactly "
                   f"once: {_SEQ_DELTA}, then dh_next = δ⁽ᵗ⁾ @ Ws for step t−1."),
    ProbeRule(right=_FIRST_LOCAL, wrong=("last_only", "Hs_zero"),
              text="the gradients within a single step are right but the gradient carried back from step t+1 "
                   "(and so dh0) is wrong, even where tanh′ = 1: the carry into step t is dh_next = δ⁽ᵗ⁺¹⁾ @ Ws, "
                   f"added to dHs[t]: {_SEQ_DELTA}."),
    ProbeRule(wrong=("Hs_zero:db",), right=("states_zero:db",),
              text="δ is right only when h0 = 0 as well, so the tanh′ factor at t=1 reads h0: tanh′ is taken "
                   f"of h⁽ᵗ⁻¹⁾. It must use h⁽ᵗ⁾ = Hs[t], the state step t produced: {_SEQ_DELTA}."),
    ProbeRule(right=("Hs_zero", "states_zero"), wrong=("full:db", "first_only:db"),
              text="every gradient is right where all states are 0 (tanh′ = 1) and wrong otherwise, even for a "
                   f"single step: the tanh′ factor itself is wrong: {_SEQ_DELTA} (1 − h², h = Hs[t], once)."),
    ProbeRule(wrong=("first_only:dWs",), right=tuple(f"first_only:{o}" for o in ("dX", "dh0", "dWx", "db")),
              text="with dHs at t=1 only, everything but dWs is right: its t=1 term must pair δ⁽¹⁾ with the "
                   "state that entered step 1, h⁽⁰⁾ = h0."),
    ProbeRule(right=("full:dX", "full:dh0", "T1"), any_wrong=("full:dWx", "full:dWs", "full:db"),
              text="dX and dh0 are right, so every δ⁽ᵗ⁾ is; the parameter gradients are wrong but right for "
                   "T = 1: the sum over time is wrong. Wx, Ws and b are shared by every step: dWx, dWs and db "
                   "are sums (not means, not single terms) over t = 1 … T."),
) + tuple(
    ProbeRule(wrong=(f"full:{o}",), right=tuple(f"full:{p}" for p in _SEQ_ALONE if p != o),
              text=f"every other gradient is right, so the mistake is in {_SEQ_ALONE[o]} alone.")
    for o in _SEQ_ALONE
) + (
    ProbeRule(right=("one_row",), wrong=("full",), text=BACKWARD_PROBES[5].meaning),
    ProbeRule(right=("T1",), wrong=("full",),
              text="a single step (T = 1) is right, so what connects the steps is wrong: the carried gradient "
                   "dh_next or the sums over time."),
)

OUTPUT_PROBES = (
    Probe("one_step", make=lambda c: _at_step_only(c, "dO", 1), what="dO nonzero at t=2 only",
          meaning="right when one step has a gradient", if_fails="wrong when only one step has a gradient"),
    Probe("T1", make=lambda c: _steps(c, 1), what="one step (T = 1)", meaning="a single step is right",
          if_fails="wrong already for T = 1"),
    _ONE_ROW(": dHs keeps one row per sequence, and dWy and dc sum over the rows as well as over time "
             "(no mean)."),
)
OUTPUT_RULES = (
    ProbeRule(wrong=("one_step:dHs",), right=("T1:dHs",),
              text="with dO nonzero at t=2 only, dHs is wrong: dHs[t] comes from dO[t] alone, "
                   "dHs[t] = dO[t] @ Wy (each state feeds only its own step's output; carrying gradients back "
                   "in time is rnn_backward's job)."),
    ProbeRule(wrong=("T1:dHs",), text="dHs is wrong even for a single step: dHs[t] = dO[t] @ Wy (Wy is (K, H))."),
    ProbeRule(right=("T1",), any_wrong=("full:dWy", "full:dc"),
              text="right for one step (T = 1): the sum over time is wrong. Wy and c are used at every step: "
                   "dWy = Σₜ dO[t]ᵀ @ Hs[t] and dc = Σₜ Σ_batch dO[t], sums (not means) over every step."),
    ProbeRule(right=("one_row",), wrong=("full",), text=OUTPUT_PROBES[2].meaning),
)


def _observations(outcomes: dict) -> dict:
    """``{"case": wrong?, "case:output": wrong?}`` from ``{case name: _Outcome}``."""
    obs = {}
    for name, o in outcomes.items():
        obs[name] = o.error is not None or any(o.wrong.values())
        for out, bad in o.wrong.items():
            obs[f"{name}:{out}"] = o.error is not None or bad
    return obs


def probe_text(probes, rules, outcomes: dict) -> str:
    """' Probe cases (fixed inputs with one part switched off): right with …; wrong with …. So …'"""
    judged = [p for p in probes if p.name in outcomes]
    if not judged:
        return ""
    obs = _observations(outcomes)
    right = [p for p in judged if not obs[p.name]]
    wrong = [p for p in judged if obs[p.name]]

    def wrong_outputs(p):
        o = outcomes[p.name]
        if o.error is not None:
            return " (it raised an error)"
        bad = [k for k, v in o.wrong.items() if v]
        return f" ({', '.join(bad)})" if len(bad) < len(o.wrong) else ""
    parts = []
    if right:
        parts.append("right with " + "; ".join(p.what for p in right))
    if wrong:
        parts.append("wrong with " + "; ".join(p.what + wrong_outputs(p) for p in wrong))
    text = " Probe cases (fixed inputs with one part switched off): " + "; ".join(parts) + "."
    for rule in rules:
        if rule.holds(obs):
            return text + " So " + rule.text
    if not obs.get("full"):
        return text + " The random case is right: the mistake shows only on these special inputs."
    facts = [p.if_fails for p in wrong] or [p.meaning for p in right]
    return text + " So " + "; ".join(facts) + "."
