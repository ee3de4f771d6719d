"""a6-lstm: the ``judge_*`` functions, which compare a learner's outputs with the reference and
the buggy variants on the same inputs (arrays only, so they also run in a clean process)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ... import layers as _ref
from .._core import GRAD_TOL, VALUE_TOL, Verdict, judge, numerical_gradients
from .cases import GATE_PERMS, _context, _perm_text
from .diagnoses import HOLDS_C, NOT_CARRIED_C, NOT_CARRIED_H, REVERSED_HS, SHIFTED, TRANSPOSED_DW, WITH_H0, _DIMS
from .variants import (FORWARD_BUGS, LOOP_BUGS, LSTM_BACKWARD_PARTS, SEQUENCE_BUGS, STEP_BACKWARD_BUGS,
                       _BACKWARD_NAMES, _STEP_BACKWARD_NAMES, _chain,
                       _sequence_backward, _step_backward, _step_forward,
                       lstm_step_caches)


# ---------------------------------------------------------------------------
# the judges of one case (pure: inputs and outputs in, verdict out)
# ---------------------------------------------------------------------------

def _finish(verdict: Verdict, context: str, extra: Sequence[str] = ()) -> Verdict:
    """A verdict of :func:`judge` (called without context) with extra lines and the context."""
    if verdict.passed:
        text = verdict.message
        return Verdict(True, text[:-3] + f"({context})." if text.endswith("().") else text)
    lines = [verdict.message] + [e for e in extra if e]
    return Verdict(False, "\n".join(lines) + (f"\n(Checked on fresh inputs: {context}.)" if context else ""))


def _forward_step_variants(args):
    variants = []
    for bug, text in FORWARD_BUGS.items():
        hv, cv, _ = _step_forward(*args, bug=bug)
        variants.append((text, {"h": hv, "c": cv}))
    for perm in GATE_PERMS:
        hv, cv, _ = _step_forward(*args, perm=perm)
        variants.append((_perm_text(perm), {"h": hv, "c": cv}))
    return variants


def _verdict_step_forward(case: dict, h, c) -> Verdict:
    args = (case["X"][0], case["h0"], case["c0"], case["W"], case["b"])
    h_ref, c_ref, _ = _ref.lstm_step_forward(*args)
    return judge("lstm_step_forward", ["h", "c"], [h, c], {"h": h_ref, "c": c_ref}, tol=VALUE_TOL, kind="values",
                 compared_with="the reference on the same inputs", dims=_DIMS, sizes=case["sizes"],
                 variants=_forward_step_variants(args))


def judge_lstm_step_forward(case: dict, h, c, seed=None) -> Verdict:
    """Judge ``h, c`` of one step (the first step of ``case``) against the reference."""
    return _finish(_verdict_step_forward(case, h, c), _context(case, seed))


def _step_backward_variants(dh, dc, cache):
    variants = [(text, _step_backward(dh, dc, *cache, bug=bug)) for bug, text in STEP_BACKWARD_BUGS.items()]
    good = _step_backward(dh, dc, *cache)
    variants.append((TRANSPOSED_DW, {"dW": good["dW"].T}))
    variants += [(_perm_text(p), _step_backward(dh, dc, *cache, perm=p)) for p in GATE_PERMS]
    return variants


def _verdict_step_backward(case: dict, grads) -> Verdict:
    x, h_prev, c_prev, W, b = (case[k].copy() for k in ("X", "h0", "c0", "W", "b"))
    x = x[0].copy()
    dh, dc = case["dHs"][0], case["dc"]

    def loss():
        h, c, _ = _ref.lstm_step_forward(x, h_prev, c_prev, W, b)
        return float(np.sum(h * dh) + np.sum(c * dc))
    num = numerical_gradients(loss, {"dx": x, "dh_prev": h_prev, "dc_prev": c_prev, "dW": W, "db": b})
    _, caches = lstm_step_caches({**case, "X": case["X"][:1]})
    return judge("lstm_step_backward", _STEP_BACKWARD_NAMES, grads, num, tol=GRAD_TOL, kind="gradients",
                 compared_with="central differences", dims=_DIMS, sizes=case["sizes"],
                 variants=_step_backward_variants(dh, dc, caches[0]))


def judge_lstm_step_backward(case: dict, grads, seed=None) -> Verdict:
    """Judge ``(dx, dh_prev, dc_prev, dW, db)`` of one step against central differences."""
    return _finish(_verdict_step_backward(case, grads), _context(case, seed))


def _forward_loop_variants(case: dict):
    """Mistakes of the sequence loop alone (each step computed right)."""
    hs, cs, _ = _chain(case)
    Hs = np.stack(hs[1:])
    return [(SHIFTED, {"Hs": np.stack(hs[:-1])}), (HOLDS_C, {"Hs": np.stack(cs[1:])}),
            (WITH_H0, {"Hs": np.stack(hs)}), (REVERSED_HS, {"Hs": Hs[::-1].copy()})]


def _forward_variants(case: dict, loop_only: bool = False):
    """The catalogue for a sequence: step mistakes inside a loop, and the loop's own (``loop_only``)."""
    variants = []
    bugs = ([] if loop_only else list(FORWARD_BUGS.items())) + [("no_carry_c", NOT_CARRIED_C),
                                                                 ("no_carry_h", NOT_CARRIED_H)]
    for bug, text in bugs:
        h, c, hs = case["h0"], case["c0"], []
        for x in case["X"]:
            h_new, c_new, _ = _step_forward(x, h, c, case["W"], case["b"], bug=None if bug.startswith("no_carry")
                                            else bug)
            hs.append(h_new)
            h = case["h0"] if bug == "no_carry_h" else h_new
            c = case["c0"] if bug == "no_carry_c" else c_new
        variants.append((text, {"Hs": np.stack(hs)}))
    for perm in () if loop_only else GATE_PERMS:
        h, c, hs = case["h0"], case["c0"], []
        for x in case["X"]:
            h, c, _ = _step_forward(x, h, c, case["W"], case["b"], perm=perm)
            hs.append(h)
        variants.append((_perm_text(perm), {"Hs": np.stack(hs)}))
    return variants + _forward_loop_variants(case)


def _verdict_forward(case: dict, Hs, loop_only: bool = False) -> Verdict:
    ref, _ = _ref.lstm_forward(case["X"], case["h0"], case["c0"], case["W"], case["b"])
    variants = _forward_variants(case, loop_only)
    return judge("lstm_forward", ["Hs"], [Hs], {"Hs": ref}, tol=VALUE_TOL, kind="values",
                 compared_with="the reference on the same inputs", dims=_DIMS, sizes=case["sizes"],
                 variants=variants, time_axes={"Hs": 0}, direction="forward")


def judge_lstm_forward(case: dict, Hs, seed=None) -> Verdict:
    """Judge the states ``Hs`` (T, B, H) against the reference."""
    return _finish(_verdict_forward(case, Hs), _context(case, seed))


def _numerical_backward(case: dict) -> dict:
    X, h0, c0, W, b = (case[k].copy() for k in ("X", "h0", "c0", "W", "b"))
    dHs = case["dHs"]

    def loss():
        return float(np.sum(_ref.lstm_forward(X, h0, c0, W, b)[0] * dHs))
    return numerical_gradients(loss, {"dX": X, "dh0": h0, "dc0": c0, "dW": W, "db": b})


_BACKWARD_HINTS = {"dW": "dW = Σₜ δ⁽ᵗ⁾ᵀ @ [h⁽ᵗ⁻¹⁾, x⁽ᵗ⁾], with δ the gradient of the four gate pre-activations.",
                   "dc0": "dc0 is the cell gradient passed back from step t=1 (dc_total ⊙ f)."}


def _verdict_backward(case: dict, grads, part: str = "all", loop_only: bool = False, num: dict | None = None):
    num = _numerical_backward(case) if num is None else num
    dHs = case["dHs"]
    _, caches = lstm_step_caches(case)
    bugs = LOOP_BUGS if loop_only else SEQUENCE_BUGS
    variants = [(text, _sequence_backward(dHs, caches, bug)) for bug, text in bugs.items()]
    if not loop_only:
        variants.append((TRANSPOSED_DW, {"dW": _sequence_backward(dHs, caches)["dW"].T}))
        variants += [(_perm_text(p), _sequence_backward(dHs, caches, perm=p)) for p in GATE_PERMS]
    return judge("lstm_backward", _BACKWARD_NAMES, grads, num, tol=GRAD_TOL, kind="gradients",
                 compared_with="central differences", dims=_DIMS, sizes=case["sizes"], variants=variants,
                 time_axes={"dX": 0}, direction="backward", select=LSTM_BACKWARD_PARTS[part],
                 hints=_BACKWARD_HINTS)


def judge_lstm_backward(case: dict, grads, part: str = "all", seed=None) -> Verdict:
    """Judge ``(dX, dh0, dc0, dW, db)`` against central differences of the reference forward pass."""
    return _finish(_verdict_backward(case, grads, part), _context(case, seed))
