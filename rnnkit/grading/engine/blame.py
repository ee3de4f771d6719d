"""The blame of a sequence function built on the learner's step function (:class:`StepHelper`).

Three runs of the learner's sequence function on each case: their own; with a correct step function
standing in for theirs (the oracle: it answers only the calls a correct loop makes); and their own again
with their step function recorded. A wrong result that the oracle run corrects is the step function's
(graded in its own cell) provided the learner's loop used their step's results as a correct loop would
(the composition check); otherwise the loop is at fault, and the first call a correct loop would not make
is named.
"""
from __future__ import annotations

import numpy as np

from ..kernel import leaf_tag, with_oracle, with_recorder
from .spec import StepHelper

_asarray, _float64, _isfinite, _abs = np.asarray, np.float64, np.isfinite, np.abs


def _ordinal(k: int) -> str:
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


def _leaves(value, out: list, depth: int = 0) -> list:
    """The arrays inside (nested) tuples and lists, in order (the kernel's oracle counts arguments so)."""
    if isinstance(value, (tuple, list)) and depth < 4:
        for v in value:
            _leaves(v, out, depth + 1)
    else:
        out.append(value)
    return out


def _as_lists(args: tuple) -> tuple:
    """The same arguments with every tuple inside turned into a list (a loop may pack a cache either way)."""
    return tuple(list(a) if isinstance(a, tuple) else a for a in args)


def _variants(args: tuple) -> list:
    """The same call as a correct loop may spell it: tuples inside as lists, an all-zero array argument (a carry
    that starts at zero) as the scalar 0.0 or 0."""
    out = [args]
    for j, a in enumerate(args):
        if isinstance(a, np.ndarray) and a.size and not a.any():
            out += [v[:j] + (z,) + v[j + 1:] for v in list(out) for z in (0.0, 0)]
    return out + [_as_lists(v) for v in out if _as_lists(v) != v]


def oracle_call(step: StepHelper, args: tuple, case: dict):
    """The call of the sequence function with the oracle, and what the judge needs to read a miss."""
    calls = step.calls(case)
    entries = [(variant, result) for call_args, result in calls for variant in _variants(tuple(call_args))]
    tags, labels, values = {}, [], []
    for label, value in step.labels(case):
        tag = leaf_tag(value).tobytes()
        if tag not in tags:
            tags[tag] = len(values)
            labels.append(label)
            values.append(value)
    names = step.call_names(case) if step.call_names is not None else [f"call {k + 1}" for k in range(len(calls))]
    expected = [(where, [tags.get(leaf_tag(v).tobytes(), -1) for v in _leaves(tuple(a), [])])
                for where, (a, _) in zip(names, calls)]
    return with_oracle(args, step.name, entries, known=tuple(values)), {"labels": labels, "expected": expected}


def recorded_call(step: StepHelper, args: tuple):
    """The learner's call with their own step function recorded (a separate run: see kernel.with_recorder)."""
    return with_recorder(args, step.name)


def oracle_record(records, i: int) -> dict:
    """``{"calls", "misses", "miss_call", "miss_leaves"}`` of call ``i``'s oracle, as plain ints (a record the
    kernel reports is never trusted to be well formed: anything odd reads as zeros)."""
    rec = records[i].get("objects", {}).get("oracle") if 0 <= i < len(records) else None
    out = {"calls": 0, "misses": 0, "miss_call": 0, "miss_leaves": []}
    if not isinstance(rec, dict):
        return out
    for key in ("calls", "misses", "miss_call"):
        v = rec.get(key)
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= int(v) < 10**9:
            out[key] = int(v)
    leaves = rec.get("miss_leaves")
    if isinstance(leaves, np.ndarray) and leaves.dtype.kind in "iu" and leaves.ndim == 1 and leaves.size < 100:
        out["miss_leaves"] = [int(j) for j in leaves]
    return out


def miss_text(func: str, step: StepHelper, info: dict, rec: dict, case: dict | None = None) -> str:
    """What the first call of the step function that a correct loop would not make got wrong."""
    k, leaves = rec["miss_call"], rec["miss_leaves"]
    labels, expected = info["labels"], info["expected"]

    def label(i):
        return labels[i] if 0 <= i < len(labels) else "a value a correct loop never has at hand"
    head = f"{func} passes {step.name} inputs a correct loop would not pass"
    if k < 1:
        return head + "."
    if k > len(expected):
        return (f"{head}: it calls {step.name} {k} times or more; a correct loop calls it {len(expected)} "
                f"times.")
    where, exp = expected[k - 1]
    before = "" if k == 1 else " (its first call was right)" if k == 2 else f" (its first {k - 1} calls were right)"
    if len(leaves) != len(exp):
        return (f"{head}: its {_ordinal(k)} call ({where}) passes {len(leaves)} values where {step.name}"
                f"{step.signature} takes {len(exp)}{before}.")
    names = list(step.leaf_names) + [f"argument {j + 1}" for j in range(len(step.leaf_names), len(exp))]
    wrong = [(names[j], leaves[j], exp[j]) for j in range(len(exp)) if leaves[j] != exp[j]]
    if not wrong:
        return (f"{head}: its {_ordinal(k)} call ({where}) passes the right values, packed differently from "
                f"{step.name}{step.signature}{before}.")
    said = "; ".join(f"{name} is {label(got)} where {label(want)} belongs" for name, got, want in wrong)
    rest = "; the other arguments are right" if len(wrong) < len(exp) else ""
    cause = step.explain_miss(case, k, [(name, label(got), label(want)) for name, got, want in wrong]) \
        if step.explain_miss is not None else ""
    return f"{head}: at its {_ordinal(k)} call ({where}), {said}{rest}{before}." + (f" {cause}" if cause else "")


def count_text(func: str, step: StepHelper, case: dict, made: int) -> str:
    """'rnn_backward called rnn_step_backward 6 times for T = 7; a correct loop calls it 7 times.' ('' when the
    number is right)."""
    wanted = len(step.calls(case))
    if made == wanted:
        return ""
    size = case.get("sizes", {}).get(step.count_size)
    per = f" for {step.count_size} = {size}" if size is not None else ""
    return (f"{func} called {step.name} {made} time{'s' if made != 1 else ''}{per}; a correct loop calls it "
            f"{wanted} time{'s' if wanted != 1 else ''}.")


def close(a, b, rtol: float = 1e-9) -> bool:
    """Plain float arrays of one shape, equal up to summation-order rounding (``rtol`` of the larger's scale)."""
    try:
        a = _asarray(a, dtype=_float64)
        b = _asarray(b, dtype=_float64)
    except (TypeError, ValueError):
        return False
    if a.shape != b.shape or not (_isfinite(a).all() and _isfinite(b).all()):
        return False
    scale = max(float(_abs(b).max(initial=0.0)), 1e-300)
    return bool(_abs(a - b).max(initial=0.0) <= rtol * scale)


def _same(g, w) -> bool:
    if isinstance(g, (int, float)) and not isinstance(g, bool) and g == 0 and isinstance(w, np.ndarray):
        return not w.any()  # a carry started as the scalar 0
    return close(g, w)


def _same_args(got, want) -> bool:
    got, want = _leaves(tuple(got), []), _leaves(tuple(want), [])
    return len(got) >= len(want) and all(_same(g, w) for g, w in zip(got, want))


def composes(step: StepHelper, case: dict, record: dict, outputs, error, judged) -> bool:
    """Did the learner's own run feed their step function what a correct loop feeds it, and combine its results
    as a correct loop does? Read from the calls the kernel recorded; a forged record that passes this is itself
    a correct loop around some step function, which is what the cell grades."""
    trace = record.get("observed", {}).get(step.name, []) if isinstance(record, dict) else []
    if not isinstance(trace, list) or not all(isinstance(c, dict) for c in trace):
        return False
    wanted = len(step.calls(case))
    try:
        if outputs is None:
            # the run stopped: credited only if it stopped inside the step function, called as a correct loop
            # first calls it (a step that is not written yet, or that raises)
            if len(trace) != 1 or trace[0].get("error") is None or error is None:
                return False
            first = step.expected_args(case, [])[0] if step.expected_args else step.calls(case)[0][0]
            return _same_args(trace[0].get("args", ()), first)
        if len(trace) != wanted:
            return False
        results = [c.get("value") for c in trace]
        if step.expected_args is not None:
            expected = step.expected_args(case, results)
            if not all(_same_args(c.get("args", ()), a) for c, a in zip(trace, expected)):
                return False
        assembled = step.assemble(case, results)
        return all(close(outputs[name], value) for name, value in assembled.items() if name in judged)
    except (TypeError, ValueError, IndexError, KeyError, AttributeError):
        return False
