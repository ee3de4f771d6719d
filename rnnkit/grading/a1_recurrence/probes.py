"""a1-recurrence: probe cases and their reports (shared with a2), and hints added to an exception."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .._core import VALUE_TOL, Probe, ProbeRule, Verdict, _Failure, as_float_array, returned, within_tolerance


_DIMS = {"s": "B H", "S": "T B H"}


def _context(sizes, seed=None):
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + (f", seed={seed}" if seed is not None else "")


# ---------------------------------------------------------------------------
# probes: the random case again, with one term switched off (also used by a2)
# ---------------------------------------------------------------------------

def probe_right(records, index: int, func: str, names: Sequence[str], expected: np.ndarray, pick: int = 0,
                tol: float = VALUE_TOL) -> bool:
    """Whether probe call ``index`` returned output ``pick`` equal to ``expected`` (an error counts as wrong)."""
    try:
        value = returned(records, index, func, names)[pick]
        arr = as_float_array(value, func, names[pick])
    except _Failure:
        return False
    return within_tolerance(arr, expected, tol)


def probe_report(right: dict[str, bool], probes: Sequence[Probe], rules: Sequence = (),
                 none_right: str = "") -> str:
    """Explain a wrong full case from the probes' outcomes (``right``: probe name -> right or not).

    ``rules`` are tried in order, the first that applies gives the explanation: a probe name (applies
    when that probe is right; its ``meaning``) or a :class:`~rnnkit.grading._core.ProbeRule` (applies
    when all its ``right`` probes are right; its ``text``). Without rules, the probes' names in table
    order. ``none_right`` when no rule applies.
    """
    by_name = {p.name: p for p in probes}
    wrong = {name: not ok for name, ok in right.items()}
    text = None
    for rule in rules or [p.name for p in probes]:
        if isinstance(rule, str):
            rule = ProbeRule(right=(rule,), text=by_name[rule].meaning)
        if rule.holds(wrong):
            text = rule.text
            break
    text = text or none_right
    if not text:
        return ""
    ok = [p.name for p in probes if right.get(p.name)]
    bad = [p.name for p in probes if not right.get(p.name)]
    seen = "; ".join(part for part in (f"right with {', '.join(ok)}" if ok else "",
                                       f"wrong with {', '.join(bad)}" if bad else "") if part)
    return f"Probes (the same inputs, one part switched off or cut down at a time): {seen}. So: {text}"


def probe_failure(func: str, output: str, right: dict[str, bool], probes: Sequence[Probe], context: str) -> str:
    """The message for a function right on the full case but wrong on a probe ('' if every probe is right)."""
    for p in probes:
        if not right.get(p.name):
            return (f"{func}: {output} is right on the full case but wrong when {p.name}: {p.if_fails}"
                    f"\n(Checked on fresh inputs: {context}.)")
    return ""


def explained(verdict: Verdict, probe_text: str, context: str) -> Verdict:
    """A failed verdict of :func:`judge` (called without context) with the probe text when no variant matched."""
    if verdict.passed:
        text = verdict.message
        return Verdict(True, text[:-3] + f"({context})." if text.endswith("().") and context else text)
    message = verdict.message
    # Probes locate a wrong value that no catalogued mistake explains (not a dtype, shape or NaN problem).
    if probe_text and "Likely cause:" not in message and " is wrong: " in message:
        message += "\n" + probe_text
    return Verdict(False, message + (f"\n(Checked on fresh inputs: {context}.)" if context else ""))


#: Added to an exception that says the shapes of a product did not fit.
MATMUL_HINT = (" Likely cause: a product with a weight matrix in the wrong orientation. Weights are (out, in) "
               "and a batch holds one row per sequence, so W v is written v @ W.T (e.g. s_prev @ Ws.T).")
#: Added to an exception that says two arrays could not be broadcast together.
BROADCAST_HINT = (" Likely cause: a sum or maximum over the last axis lost that axis, so it no longer lines up "
                  "with the array it is combined with: keep it with keepdims=True (or index [..., None]).")


def with_error_hint(call: Callable, kinds: str = "matmul"):
    """``call()``, with a hint added to a learner's shape error: ``kinds`` names the hints that apply
    ("matmul": a product with a weight the wrong way round; "broadcast": a reduction that lost its axis)."""
    try:
        return call()
    except _Failure as f:
        text = str(f).rstrip()
        if "matmul" in kinds and ("matmul" in text or "shapes not aligned" in text):
            raise _Failure(text + MATMUL_HINT) from None
        if "broadcast" in kinds and "could not be broadcast" in text:
            raise _Failure(text + BROADCAST_HINT) from None
        raise


def _zero(name):
    return lambda c: {**c, name: np.zeros_like(c[name])}
