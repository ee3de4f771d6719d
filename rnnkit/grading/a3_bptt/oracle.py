"""a3-bptt: the oracle calls of the sequence cells (the learner's loop with a step function that answers
correctly) and what a miss says."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import kernel
from .variants import seq_cache


# ---------------------------------------------------------------------------
# the step function replaced by an oracle while the sequence function runs
# ---------------------------------------------------------------------------

_SUP = str.maketrans("0123456789+-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻")


def _sup(n) -> str:
    """``3`` -> ``⁽³⁾`` (a time index as the book writes it)."""
    return "⁽" + str(n).translate(_SUP) + "⁾"


def _ordinal(k: int) -> str:
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


def _step_forward_value(x, h_prev, Wx, Ws, b):
    h = np.tanh(x @ Wx.T + h_prev @ Ws.T + b)
    return h, (x, h_prev, h, Wx, Ws)


def _step_backward_value(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    d = dh * (1.0 - h * h)
    return d @ Wx, d @ Ws, d.T @ x, d.T @ h_prev, d.sum(axis=0)


def _forward_oracle(case: dict):
    """Step calls of a correct forward loop, named values for a miss, and the expected arguments per call."""
    X, h0, Wx, Ws, b = case["X"], case["h0"], case["Wx"], case["Ws"], case["b"]
    T = X.shape[0]
    entries, states, h = [], [], h0
    for t in range(T):
        out = _step_forward_value(X[t], h, Wx, Ws, b)
        entries.append(((X[t], h, Wx, Ws, b), out))
        h = out[0]
        states.append(h)
    named = ([(f"X[{t}] (x{_sup(t + 1)})", X[t]) for t in range(T)] + [("h0", h0)]
             + [(f"Hs[{t}] (h{_sup(t + 1)}, the state after step {t + 1})", states[t]) for t in range(T)]
             + [("zeros (a state never filled)", np.zeros_like(h0)), ("Wx", Wx), ("Ws", Ws), ("Ws.T", Ws.T),
                ("Wx.T", Wx.T), ("b", b)])
    expected = [(f"time step t={t + 1}", [X[t], h0 if t == 0 else states[t - 1], Wx, Ws, b]) for t in range(T)]
    return entries, named, expected


def _backward_oracle(case: dict):
    X, h0, Hs, Wx, Ws = seq_cache(case)
    dHs = case["dHs"]
    T = X.shape[0]
    entries, dhs, carries = [], [None] * T, [None] * T
    carry = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        dh = dHs[t] + carry
        cache = (X[t], Hs[t - 1] if t > 0 else h0, Hs[t], Wx, Ws)
        out = _step_backward_value(dh, cache)
        entries += [((dh, cache), out), ((dh, list(cache)), out)]
        dhs[t], carries[t] = dh, carry
        carry = out[1]
    named = ([(f"dHs[{t}] + dh_next" + (" (dh_next = 0 at t=T)" if t == T - 1 else ""), dhs[t]) for t in range(T)]
             + [(f"dHs[{t}] alone (without the gradient carried back from step {t + 2})", dHs[t])
                for t in range(T - 1)]
             + [(f"dh_next alone (the carried gradient without dHs[{t}])", carries[t]) for t in range(T - 1)]
             + [(f"X[{t}] (x{_sup(t + 1)})", X[t]) for t in range(T)] + [("h0", h0)]
             + [(f"Hs[{t}] (h{_sup(t + 1)})", Hs[t]) for t in range(T)]
             + [("zeros", np.zeros_like(h0)), ("Wx", Wx), ("Ws", Ws), ("Ws.T", Ws.T), ("Wx.T", Wx.T)])
    expected = []
    for k in range(T):
        t = T - 1 - k
        where = f"time step t={t + 1}" + (", the first of a backward loop" if k == 0 else "")
        expected.append((where, [dhs[t], X[t], Hs[t - 1] if t > 0 else h0, Hs[t], Wx, Ws]))
    return entries, named, expected


@dataclass(frozen=True)
class _StepHelper:
    """The learner's step function a sequence function calls: its name, and what a correct loop passes it."""
    name: str
    oracle: Callable[[dict], tuple]
    leaf_names: tuple
    signature: str
    cell: str = ""            # the hidden test cell that grades the step function itself


_FORWARD_STEP = _StepHelper("rnn_step_forward", _forward_oracle, ("x", "h_prev", "Wx", "Ws", "b"),
                            "(X[t], h_prev, Wx, Ws, b)", cell="test_rnn_step_forward")
_BACKWARD_STEP = _StepHelper("rnn_step_backward", _backward_oracle,
                             ("dh", "cache[0] (x)", "cache[1] (h_prev)", "cache[2] (h)", "cache[3] (Wx)",
                              "cache[4] (Ws)"), "(dHs[t] + dh_next, (X[t], h_prev, Hs[t], Wx, Ws))",
                             cell="test_rnn_step_backward")


def _oracle_call(step: _StepHelper, args: tuple, case: dict):
    """The call of the sequence function with the oracle, and what the judge needs to read a miss."""
    entries, named, expected = step.oracle(case)
    tags, labels, values = {}, [], []
    for label, value in named:
        tag = kernel.leaf_tag(value).tobytes()
        if tag not in tags:
            tags[tag] = len(values)
            labels.append(label)
            values.append(value)
    exp = [(where, [tags.get(kernel.leaf_tag(v).tobytes(), -1) for v in leaves]) for where, leaves in expected]
    return kernel.with_oracle(args, step.name, entries, known=tuple(values)), {"labels": labels, "expected": exp}


def _oracle_record(records, i: int) -> dict:
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


def _miss_text(func: str, step: _StepHelper, info: dict, rec: dict) -> str:
    """What the first call of the step function that a correct loop would not make got wrong."""
    k, leaves = rec["miss_call"], rec["miss_leaves"]
    labels, expected = info["labels"], info["expected"]

    def label(i):
        return labels[i] if 0 <= i < len(labels) else "a value a correct loop never has at hand"
    head = f"{func} passes {step.name} inputs a correct loop would not pass"
    if k < 1:
        return head + "."
    if k > len(expected):
        return (f"{head}: it calls {step.name} {k} times or more; a correct loop calls it once per time step "
                f"({len(expected)} times).")
    where, exp = expected[k - 1]
    before = "" if k == 1 else " (its first call was right)" if k == 2 else f" (its first {k - 1} calls were right)"
    if len(leaves) != len(exp):
        return (f"{head}: its {_ordinal(k)} call ({where}) passes {len(leaves)} values where {step.name}"
                f"{step.signature} takes {len(exp)}{before}.")
    wrong = [(step.leaf_names[j], leaves[j], exp[j]) for j in range(len(exp)) if leaves[j] != exp[j]]
    if not wrong:
        return (f"{head}: its {_ordinal(k)} call ({where}) passes the right values, packed differently from "
                f"{step.name}{step.signature}{before}.")
    said = "; ".join(f"{name} is {label(got)} where {label(want)} belongs" for name, got, want in wrong)
    rest = "; the other arguments are right" if len(wrong) < len(exp) else ""
    return f"{head}: at its {_ordinal(k)} call ({where}), {said}{rest}{before}."
