"""a2-forward-loss: the checks of the three forward families (hidden-to-hidden, output-to-hidden,
sequence-to-one)."""
from __future__ import annotations

import numpy as np

from ... import layers as _ref
from ...data import shift_right
from .._core import VALUE_TOL, Check, Probe, ProbeRule, Verdict, judge, returned
from ..a1_recurrence import explained, probe_failure, probe_report, probe_right, with_error_hint
from ..a3_bptt import NO_BIAS, NO_TANH, NOT_CARRIED, WS_NOT_T
from .common import _DIMS, _case, _ctx, _edge_case, _first_failure, _first_rows, _first_steps, _zero


# ---------------------------------------------------------------------------
# the three families
# ---------------------------------------------------------------------------

def _states(X, h0, Wx, Ws, b, bug=None):
    h, out = h0, []
    for x in X:
        a = x @ Wx.T + (h0 if bug == "not_carried" else h) @ (Ws if bug == "ws_not_t" else Ws.T) + \
            (0.0 if bug == "no_bias" else b)
        h = a if bug == "no_tanh" else np.tanh(a)
        out.append(a if bug == "pre_activation" else h)
    return np.stack(out)


_STATE_BUGS = {"no_tanh": NO_TANH, "ws_not_t": WS_NOT_T, "no_bias": NO_BIAS, "not_carried": NOT_CARRIED,
               "pre_activation": "the output is computed from the pre-activation a⁽ᵗ⁾; it comes from the state "
                                 "h⁽ᵗ⁾ = tanh(a⁽ᵗ⁾): o⁽ᵗ⁾ = c + Wy h⁽ᵗ⁾."}
LOGITS_NOT_PROBS = "return the logits o = c + Wy h, not their softmax."
TANH_ON_LOGITS = "the logits go through tanh: the output layer is affine, o = c + Wy h, with no nonlinearity."

_HH_ARGS = ["X", "h0", "Wx", "Ws", "b", "Wy", "c"]
_OH_ARGS = ["X", "Yprev", "Wx", "Wo", "b", "Wy", "c"]

_BATCH_MIXED = ("right for one sequence (B = 1) but not for a batch: the rows of the batch are mixed. Row i of "
                "every state and output depends only on sequence i; look for a .reshape where a transpose .T "
                "belongs, or a sum or mean over the batch axis.")
_WRONG_INPUT = ("right for T = 1 and with X = 0, so step t reads the wrong input: step t must use X[t] "
                "(in order, X[0] first).")

#: Probes of families (a) and (c): the same inputs with one part switched off.
_STATE_PROBES = (
    Probe("B = 1", make=_first_rows(1, "X", "h0"), meaning=_BATCH_MIXED,
          if_fails="each row of the batch is one sequence."),
    Probe("T = 1", make=_first_steps(1, "X"), if_fails="with T = 1 there is one step, from h0 and X[0]."),
    Probe("X = 0", make=_zero("X"),
      meaning="the input term Wx x⁽ᵗ⁾ is wrong: with X = 0 your result is right. Write it x @ Wx.T, inside the tanh.",
      if_fails="with X = 0 the recurrence still runs from h0."),
    Probe("h0 = 0", make=_zero("h0"),
      meaning="h0 is not used as h⁽⁰⁾: with h0 = 0 your result is right, so the first step does not start from h0 "
              "(from zeros?) or h0 enters elsewhere. The first step is tanh(b + h0 @ Ws.T + X[0] @ Wx.T).",
      if_fails="with h0 = 0 the first step is tanh(b + X[0] @ Wx.T)."),
    Probe("Ws = 0", make=_zero("Ws"),
      meaning="the recurrent term Ws h⁽ᵗ⁻¹⁾ is wrong: with Ws = 0 your result is right. Write it h_prev @ Ws.T, "
              "inside the tanh, with h_prev the state of the previous step.",
      if_fails="with Ws = 0 every step is tanh(b + x @ Wx.T)."),
    Probe("b = 0", make=_zero("b"),
      meaning="the state bias b is wrong: with b = 0 your result is right. It is added once, inside the tanh.",
      if_fails="with b = 0 the step is tanh(h_prev @ Ws.T + x @ Wx.T)."),
    Probe("c = 0", make=_zero("c"),
      meaning="the output bias c is wrong: with c = 0 your result is right. o = c + h @ Wy.T, c added once.",
      if_fails="with c = 0 the output is h @ Wy.T."),
)
_HH_RULES = ("B = 1",
             ProbeRule(right=("T = 1", "X = 0"), text=_WRONG_INPUT),
             ProbeRule(right=("T = 1",),
                       text="the first step is right (T = 1 is), so the mistake is in how the steps follow each "
                            "other: step t starts from h⁽ᵗ⁻¹⁾ = tanh(a⁽ᵗ⁻¹⁾), the state the previous step "
                            "produced (not its pre-activation, not h0), and O[t] comes from h⁽ᵗ⁾."),
             "h0 = 0", "Ws = 0", "X = 0", "b = 0", "c = 0")
_S2O_RULES = ("B = 1",
              ProbeRule(right=("T = 1", "X = 0"), text=_WRONG_INPUT),
              ProbeRule(right=("T = 1",),
                        text="right for T = 1, so the step and the output layer are right; the mistake is in "
                             "going along the sequence: carry the state h⁽ᵗ⁾ = tanh(a⁽ᵗ⁾) through all T steps, "
                             "then read o from h⁽ᵀ⁾, the state after the last input."),
              "h0 = 0", "Ws = 0", "X = 0", "b = 0", "c = 0")
_STATE_NONE_RIGHT = ("already the first step is wrong, with each part switched off in turn: check the step "
                     "h = tanh(b + h_prev @ Ws.T + x @ Wx.T) (one tanh of the sum) and the output "
                     "o = c + h @ Wy.T together.")

_OH_PROBES = (
    Probe("B = 1", make=_first_rows(1, "X", "Yprev"), meaning=_BATCH_MIXED,
          if_fails="each row of the batch is one sequence."),
    Probe("T = 1", make=_first_steps(1, "X", "Yprev"), if_fails="with T = 1 there is one step, fed Yprev[0] = 0."),
    Probe("X = 0", make=_zero("X"),
      meaning="the input term Wx x⁽ᵗ⁾ is wrong: with X = 0 your O is right. Write it x @ Wx.T, inside the tanh.",
      if_fails="with X = 0 the state is tanh(b + Yprev[t] @ Wo.T)."),
    Probe("Yprev = 0", make=_zero("Yprev"),
      meaning="the feedback term Wo y⁽ᵗ⁻¹⁾ is wrong: with Yprev = 0 your O is right. Step t receives Yprev[t] as it "
              "is (already shifted: zeros at the first step), through Yprev[t] @ Wo.T inside the tanh.",
      if_fails="with Yprev = 0 each state is tanh(b + X[t] @ Wx.T)."),
    Probe("b = 0", make=_zero("b"),
      meaning="the state bias b is wrong: with b = 0 your O is right. It is added once, inside the tanh.",
      if_fails="with b = 0 the state is tanh(Yprev[t] @ Wo.T + X[t] @ Wx.T)."),
    Probe("c = 0", make=_zero("c"),
      meaning="the output bias c is wrong: with c = 0 your O is right. o = c + h @ Wy.T, c added once.",
      if_fails="with c = 0 the output is h @ Wy.T."),
)
_OH_RULES = ("B = 1",
             ProbeRule(right=("T = 1", "X = 0"), text=_WRONG_INPUT),
             "Yprev = 0",
             ProbeRule(right=("T = 1",),
                       text="the first step is right (T = 1, fed Yprev[0] = 0), so from t = 2 on the vector fed "
                            "back is not Yprev[t]: in this family the steps do not depend on each other; "
                            "h⁽ᵗ⁾ = tanh(b + Yprev[t] @ Wo.T + X[t] @ Wx.T) uses the given Yprev[t], not the "
                            "model's own outputs."),
             "X = 0", "b = 0", "c = 0")
_OH_NONE_RIGHT = ("already the first step is wrong, with each part switched off in turn: check "
                  "h = tanh(b + Yprev[t] @ Wo.T + X[t] @ Wx.T) and o = c + h @ Wy.T together.")


def _yprev(sizes, p):
    K = sizes["K"]
    return shift_right(np.eye(K)[p["Y"]], fill=0.0)


def _hh_ref(p):
    return _states(*(p[n] for n in _HH_ARGS[:5])) @ p["Wy"].T + p["c"]


def _oh_ref(p):
    return np.tanh(p["X"] @ p["Wx"].T + p["Yprev"] @ p["Wo"].T + p["b"]) @ p["Wy"].T + p["c"]


def _s2o_ref(p):
    return _states(*(p[n] for n in _HH_ARGS[:5]))[-1] @ p["Wy"].T + p["c"]


def _family_builder(arg_names, probes):
    def build(rng):
        cases = [_case(rng), _edge_case()]
        for sizes, p in cases:
            p["Yprev"] = _yprev(sizes, p)
        sizes, main = cases[0]
        cases += [(sizes, p.make(main)) for p in probes]
        return [tuple(p[n] for n in arg_names) for _, p in cases], cases
    return build


def _family_judge(func, name, arg_names, judge_one, truth, probes, rules, none_right):
    def judge_all(cases, records):
        right = {pr.name: probe_right(records, 2 + j, func, [name], truth(cases[2 + j][1]))
                 for j, pr in enumerate(probes)}
        text = probe_report(right, probes, rules, none_right)
        verdicts = [judge_one(sizes, p, with_error_hint(lambda i=i: returned(records, i, func, [name]))[0],
                              text if i == 0 else "")
                    for i, (sizes, p) in enumerate(cases[:2])]
        verdict = _first_failure(verdicts, records, func, arg_names)
        if verdict.passed:
            failed = probe_failure(func, name, right, probes, _ctx(cases[0][0]))
            if failed:
                return Verdict(False, failed)
        return verdict
    return judge_all


def _judge_hh(sizes, p, O, probe_text="") -> Verdict:
    args = tuple(p[n] for n in _HH_ARGS)
    Hs = _states(*args[:5])
    ref = Hs @ p["Wy"].T + p["c"]
    variants = [(text, {"O": _states(*args[:5], bug=bug) @ p["Wy"].T + p["c"]})
                for bug, text in _STATE_BUGS.items()]
    H_prev = shift_right(Hs, fill=p["h0"])
    variants += [("the outputs are one step late: o⁽ᵗ⁾ is computed from h⁽ᵗ⁾, the state after reading x⁽ᵗ⁾.",
                  {"O": H_prev @ p["Wy"].T + p["c"]}),
                 (LOGITS_NOT_PROBS, {"O": _ref.softmax(ref)}),
                 (TANH_ON_LOGITS, {"O": np.tanh(ref)}),
                 ("the output bias c is missing.", {"O": Hs @ p["Wy"].T})]
    v = judge("hidden_to_hidden_forward", ["O"], [O], {"O": ref}, tol=VALUE_TOL, kind="values",
              compared_with="the reference", dims=_DIMS, sizes=sizes, variants=variants, time_axes={"O": 0},
              direction="forward")
    return explained(v, probe_text, _ctx(sizes))


def _judge_oh(sizes, p, O, probe_text="") -> Verdict:
    Yprev = p["Yprev"]

    def run(Yfed, tanh=True):
        A = p["X"] @ p["Wx"].T + Yfed @ p["Wo"].T + p["b"]
        return (np.tanh(A) if tanh else A) @ p["Wy"].T + p["c"]
    ref = run(Yprev)
    variants = [(NO_TANH, {"O": run(Yprev, tanh=False)}),
                ("the fed-back vectors are shifted a second time: Yprev[t] is already what step t receives.",
                 {"O": run(shift_right(Yprev, fill=0.0))}),
                ("the feedback is missing: h⁽ᵗ⁾ depends on Yprev[t] through Wo.", {"O": run(0 * Yprev)}),
                (LOGITS_NOT_PROBS, {"O": _ref.softmax(ref)}),
                (TANH_ON_LOGITS, {"O": np.tanh(ref)})]
    v = judge("output_to_hidden_forward", ["O"], [O], {"O": ref}, tol=VALUE_TOL, kind="values",
              compared_with="the reference", dims=_DIMS, sizes=sizes, variants=variants, time_axes={"O": 0},
              direction="forward")
    return explained(v, probe_text, _ctx(sizes))


def _judge_s2o(sizes, p, o, probe_text="") -> Verdict:
    args = tuple(p[n] for n in _HH_ARGS)
    Hs = _states(*args[:5])
    out = lambda h: h @ p["Wy"].T + p["c"]  # noqa: E731
    variants = [(text, {"o": out(_states(*args[:5], bug=bug)[-1])}) for bug, text in _STATE_BUGS.items()]
    variants += [("the output is read from the first state; family (c) reads the whole sequence and uses "
                  "the last state h⁽ᵀ⁾.", {"o": out(Hs[0])}),
                 ("return one output per sequence, from the last state only: shape (B, K).", {"o": out(Hs)}),
                 ("return one output per sequence, from the last state only: shape (B, K) (O[-1], not O[-1:]).",
                  {"o": out(Hs[-1:])}),
                 ("the states are averaged; the output comes from the last state h⁽ᵀ⁾.", {"o": out(Hs.mean(0))}),
                 ("the last input X[T-1] is not read: o comes from h⁽ᵀ⁾, the state after all T inputs "
                  "(a loop over X[:-1] or range(T - 1)?).", {"o": out(Hs[-2] if len(Hs) > 1 else p["h0"])}),
                 (LOGITS_NOT_PROBS, {"o": _ref.softmax(out(Hs[-1]))}),
                 (TANH_ON_LOGITS, {"o": np.tanh(out(Hs[-1]))})]
    v = judge("sequence_to_one_forward", ["o"], [o], {"o": out(Hs[-1])}, tol=VALUE_TOL, kind="values",
              compared_with="the reference", dims=_DIMS, sizes=sizes, variants=variants)
    return explained(v, probe_text, _ctx(sizes))


HIDDEN_TO_HIDDEN = Check("test_hidden_to_hidden_forward", "hidden_to_hidden_forward",
                         build=_family_builder(_HH_ARGS, _STATE_PROBES),
                         judge=_family_judge("hidden_to_hidden_forward", "O", _HH_ARGS, _judge_hh, _hh_ref,
                                             _STATE_PROBES, _HH_RULES, _STATE_NONE_RIGHT))
OUTPUT_TO_HIDDEN = Check("test_output_to_hidden_forward", "output_to_hidden_forward",
                         build=_family_builder(_OH_ARGS, _OH_PROBES),
                         judge=_family_judge("output_to_hidden_forward", "O", _OH_ARGS, _judge_oh, _oh_ref,
                                             _OH_PROBES, _OH_RULES, _OH_NONE_RIGHT))
SEQUENCE_TO_ONE = Check("test_sequence_to_one_forward", "sequence_to_one_forward",
                        build=_family_builder(_HH_ARGS, _STATE_PROBES),
                        judge=_family_judge("sequence_to_one_forward", "o", _HH_ARGS, _judge_s2o, _s2o_ref,
                                            _STATE_PROBES, _S2O_RULES, _STATE_NONE_RIGHT))
