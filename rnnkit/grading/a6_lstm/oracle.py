"""a6-lstm: the oracle runs of the sequence cells: the learner's loop with a step function that
answers correctly, and what a miss or a mismatch says about the loop."""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ..kernel import with_oracle
from .._core import BUG_MATCH_TOL, _Failure, returned, scaled_rel_error, within_tolerance
from .diagnoses import NOT_CARRIED_C, NOT_CARRIED_H, NO_CELL_CARRY, NO_H_CARRY
from .probe_notes import _plain
from .step_checks import _got, _sequence_args
from .variants import _backward_chain, _chain, lstm_step_caches


# ---------------------------------------------------------------------------
# the sequence cells: each case twice, the second time with an oracle for the step function
# ---------------------------------------------------------------------------

def _forward_oracle(case: dict):
    """The call with an oracle for ``lstm_step_forward``, and the labels of its known values."""
    hs, cs, caches = _chain(case)
    X, W, b = case["X"], case["W"], case["b"]
    T = X.shape[0]
    entries = [((X[t], hs[t], cs[t], W, b), (hs[t + 1], cs[t + 1], caches[t])) for t in range(T)]
    known, labels = [], []
    for value, label in ([(X[t], ("X", t)) for t in range(T)] + [(hs[s], ("h", s)) for s in range(T + 1)]
                         + [(cs[s], ("c", s)) for s in range(T + 1)]
                         + [(W, ("W",)), (W.T, ("W.T",)), (b, ("b",)), (np.zeros_like(case["h0"]), ("zeros",))]):
        known.append(value)
        labels.append(label)
    return with_oracle(_sequence_args(case), "lstm_step_forward", entries, known=known), labels


def _backward_oracle(case: dict, caches: list):
    """The call with an oracle for ``lstm_step_backward``, and the labels of its known values."""
    dHs = case["dHs"]
    T = len(caches)
    chain = _backward_chain(dHs, caches)
    entries = [(inputs, out) for _, inputs, out, _ in chain]
    _, (dh_first, _, cache_first), out_first, _ = chain[0]
    entries += [((dh_first, 0.0, cache_first), out_first), ((dh_first, 0, cache_first), out_first)]
    pairs = [(inputs[0], ("dh_in", t)) for t, inputs, _, _ in chain] + [(dHs[t], ("dHs", t)) for t in range(T)]
    pairs.append((np.zeros_like(caches[0][1]), ("zeros",)))
    pairs += [(dh_next, ("dh_next", t)) for t, _, _, dh_next in chain if t < T - 1]
    pairs += [(inputs[1], ("dc_in", t)) for t, inputs, _, _ in chain if t < T - 1]
    pairs += [(caches[t][7], ("cache_c", t)) for t in range(T)]  # the new cell state names a cache's step
    return (with_oracle((dHs, caches), "lstm_step_backward", entries, known=[v for v, _ in pairs]),
            [lab for _, lab in pairs])


def _leaf_labels(orc: dict, labels: list):
    leaves = orc.get("miss_leaves")
    if not isinstance(leaves, np.ndarray):
        return None
    return [labels[int(i)] if 0 <= int(i) < len(labels) else None for i in leaves.ravel()]


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _state_text(kind: str, s: int) -> str:
    return f"{kind}0" if s == 0 else f"{kind}⁽{str(s).translate(_SUPERSCRIPT)}⁾"


def _sentences(where: str, problems: list) -> str:
    problems = [p.rstrip(".") for p in problems] or ["the arguments are not the ones a correct loop passes"]
    return f"{where}: " + "; ".join(problems) + "."


def _miss_forward(orc: dict, labels: list, T: int) -> str:
    n = int(orc.get("miss_call", 0))
    lab = _leaf_labels(orc, labels)
    if lab is None or n < 1:
        return "its calls of lstm_step_forward do not get the arguments a correct loop passes."
    if n > T:
        return f"lstm_step_forward is called more than T={T} times (call {n}): once per step is enough."
    t = n - 1
    where = f"at t={n} (call {n} of lstm_step_forward)"
    if len(lab) != 5:
        return (f"{where} it gets {len(lab)} arguments (counting the arrays inside tuples); it takes "
                f"(x, h_prev, c_prev, W, b).")
    problems = []
    if lab[0] != ("X", t):
        if lab[0] and lab[0][0] == "X":
            problems.append(f"x is X[{lab[0][1]}] where X[{t}] belongs"
                            + (" (X[-1]: an index t − 1 at t = 0, or a loop that runs backwards in time?)"
                               if n == 1 and lab[0][1] == T - 1 else ""))
        else:
            problems.append(f"x is not X[{t}]")
    if lab[1] == ("c", t) and lab[2] == ("h", t):
        problems.append("h_prev and c_prev are swapped: the step takes (x, h_prev, c_prev, W, b) and returns h, c "
                        "in that order")
    else:
        for pos, kind in ((1, "h"), (2, "c")):
            arg = "h_prev" if kind == "h" else "c_prev"
            if lab[pos] == (kind, t):
                continue
            if lab[pos] == (kind, 0) and t > 0:
                problems.append((NOT_CARRIED_H if kind == "h" else NOT_CARRIED_C)[:-1]
                                + f" (at t={n}, {arg} is {kind}0 where {_state_text(kind, t)} belongs)")
            elif lab[pos] and lab[pos][0] in ("h", "c"):
                problems.append(f"{arg} is {_state_text(*lab[pos])} where {_state_text(kind, t)} belongs")
            elif lab[pos] == ("zeros",):
                problems.append(f"{arg} is zeros where {_state_text(kind, t)} belongs")
            else:
                problems.append(f"{arg} is not {_state_text(kind, t)}: pass the {kind} the previous call returned "
                                f"(or {kind}0 at t=1) unchanged")
    if lab[3] != ("W",):
        problems.append("W is " + ("W.T" if lab[3] == ("W.T",) else "not the W given to lstm_forward")
                        + ": pass W unchanged")
    if lab[4] != ("b",):
        problems.append("b is not the b given to lstm_forward: pass b unchanged")
    return _sentences(where, problems)


def _miss_backward(orc: dict, labels: list, T: int) -> str:
    n = int(orc.get("miss_call", 0))
    lab = _leaf_labels(orc, labels)
    if lab is None or n < 1:
        return "its calls of lstm_step_backward do not get the arguments a correct loop passes."
    if n > T:
        return f"lstm_step_backward is called more than T={T} times (call {n}): once per step is enough."
    e = T - n
    where = f"at t={e + 1} (call {n} of lstm_step_backward; a backward loop starts at t=T={T})"
    if len(lab) != 11:
        return (f"{where} it gets {len(lab)} arrays; it takes (dh, dc, cache) with cache = caches[t], the tuple "
                f"of 9 arrays, as given.")
    cache = lab[9]
    if cache != ("cache_c", e):
        if cache and cache[0] == "cache_c":
            if n == 1 and cache[1] == 0:
                return (f"{where}: the loop walks forwards in time (its first call uses caches[0]); backpropagation "
                        f"starts at the last step, t=T, with caches[T−1], and goes down to t=1.")
            return f"{where}: the cache is caches[{cache[1]}] where caches[{e}] belongs."
        return f"{where}: the cache is not caches[{e}] as given: pass the tuple unchanged."
    problems = []
    if lab[0] != ("dh_in", e):
        if lab[0] == ("dHs", e):
            problems.append(f"dh is dHs[{e}] alone: " + NO_H_CARRY)
        elif lab[0] == ("dh_next", e):
            problems.append(f"dh is only the carried gradient: dHs[{e}] is not added (dh = dHs[t] + dh_next)")
        elif lab[0] and lab[0][0] in ("dh_in", "dHs"):
            problems.append(f"dh is the one of t={lab[0][1] + 1} where t={e + 1} belongs")
        else:
            problems.append("dh is not dHs[t] + dh_next, with dh_next the dh_prev returned by the call for t+1")
    want_dc = ("zeros",) if e == T - 1 else ("dc_in", e)
    if lab[1] != want_dc:
        if lab[1] == ("zeros",):
            problems.append(f"dc is zeros where the dc_prev returned by the call for t+1 belongs: {NO_CELL_CARRY}")
        elif lab[1] and lab[1][0] in ("dh_next", "dh_in", "dHs"):
            problems.append("dc is a gradient of h: dh_next and dc_next are mixed up (the call is step(dh, dc, cache))")
        else:
            problems.append("dc is not the dc_prev returned by the call for t+1 (zeros at t=T)")
    return _sentences(where, problems)


def _oracle_record(rec) -> dict:
    orc = rec.get("objects", {}).get("oracle")
    return orc if isinstance(orc, dict) else {}


def _oracle_calls(rec) -> int:
    n = _oracle_record(rec).get("calls", 0)
    return int(n) if isinstance(n, (int, np.integer)) and not isinstance(n, bool) else 0


def _try_returned(records, index, func, names):
    try:
        return returned(records, index, func, names), None
    except _Failure as f:
        return None, str(f)


def _close(a, b, tol) -> bool:
    a, b = _plain(a), _plain(b)
    return a is not None and b is not None and a.shape == b.shape and (
        a.size == 0 or float(scaled_rel_error(a, b).max()) <= tol)


class _Sequence(NamedTuple):
    """How to judge one sequence cell."""
    func: str
    helper: str
    names: list
    judged: tuple
    arg_names: list
    probes: tuple
    truth: Callable
    verdict: Callable        # (case, outputs, loop_only, memo) -> Verdict without context
    notes: Callable          # (case, outputs, outcomes, explained) -> list of lines
    miss: Callable           # (oracle record, labels, T) -> text
    tol: float
    loop_bugs: Callable      # case -> [outputs of a loop mistake with every step computed right, ...]
    helper_cell: str         # grade_id of the step function's own cell
    composes: Callable       # (case, primary record, outputs or None, judged) -> the own run composes the step


def _step_verdict(s: _Sequence, records, indices) -> bool | None:
    """The verdict of the learner's step function's own cell, when the grading process passes it (else None)."""
    for i in indices:
        cells = records[i].get("cells") or {}
        if s.helper_cell in cells:
            return bool(cells[s.helper_cell])
    return None


def _same(a, b) -> bool:
    """Exactly the same plain array (a loop hands a step's results on unchanged)."""
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
            and a.dtype.kind in "fiu" and bool(np.array_equal(a, b)))


def _near(a, b) -> bool:
    return _close(a, b, 1e-12)


def _same_record_run(records, P: int, R: int, s) -> bool:
    """The learner's plain run and their recorded run gave the same result (the same function on the same
    inputs must; one that behaves differently when its step is observed is not credited)."""
    if R is None or R >= len(records):
        return False
    a, ea = _try_returned(records, P, s.func, s.names)
    b, eb = _try_returned(records, R, s.func, s.names)
    if (a is None) != (b is None):
        return False
    if a is None:
        return True
    return all(isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape == y.shape
               and bool(np.array_equal(x, y)) for name, x, y in zip(s.names, a, b) if name in s.judged)


def _trace(rec: dict, name: str) -> list:
    trace = (rec.get("observed") or {}).get(name, [])
    return [c for c in trace if isinstance(c, dict)] if isinstance(trace, list) else []


def _composes_forward(case: dict, rec: dict, outputs, judged) -> bool:
    """Did the learner's own run of lstm_forward feed their step what a correct loop feeds it (X[t], the h and c
    their step returned last, W, b) and store the h it returned? Read from the step calls the kernel recorded."""
    trace = _trace(rec, "lstm_step_forward")
    X, h0, c0, W, b = _sequence_args(case)
    T = X.shape[0]
    if outputs is None:  # the run stopped: credited only if it stopped in the first call of the step
        return (len(trace) == 1 and trace[0].get("error") is not None and len(trace[0].get("args") or ()) == 5
                and all(_same(a, e) for a, e in zip(trace[0]["args"], (X[0], h0, c0, W, b))))
    if len(trace) != T:
        return False
    h, c = h0, c0
    for t, call in enumerate(trace):
        args, value = call.get("args") or (), call.get("value")
        if call.get("error") is not None or len(args) != 5 or not all(
                _same(a, e) for a, e in zip(args, (X[t], h, c, W, b))):
            return False
        if not isinstance(value, (tuple, list)) or len(value) < 2:
            return False
        h, c = value[0], value[1]
        if not _near(outputs[0][t] if isinstance(outputs[0], np.ndarray) and len(outputs[0]) > t else None, h):
            return False
    return True


def _composes_backward(case: dict, rec: dict, outputs, judged) -> bool:
    """Did the learner's own run of lstm_backward call their step for t = T … 1 with (dHs[t] + the dh_prev and
    the dc_prev their step returned last, caches[t]) and combine the results as a correct loop does?"""
    trace = _trace(rec, "lstm_step_backward")
    dHs = case["dHs"]
    _, caches = lstm_step_caches(case)
    T = len(caches)

    def cache_ok(arg, t):
        return isinstance(arg, (tuple, list)) and len(arg) == 9 and all(_same(a, e) for a, e in zip(arg, caches[t]))

    def zero(v):
        return (isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0) or (
            isinstance(v, np.ndarray) and v.shape == dHs[0].shape and not v.any())
    if outputs is None:  # the run stopped: credited only if it stopped in the first call of the step
        args = trace[0].get("args") or () if len(trace) == 1 else ()
        return (len(trace) == 1 and trace[0].get("error") is not None and len(args) == 3
                and _near(args[0], dHs[T - 1]) and zero(args[1]) and cache_ok(args[2], T - 1))
    if len(trace) != T:
        return False
    try:
        dX, dh0, dc0, dW, db = outputs
        dh_next = dc_next = None
        sums = [0.0, 0.0]
        for j, call in enumerate(trace):
            t = T - 1 - j
            args, value = call.get("args") or (), call.get("value")
            if call.get("error") is not None or len(args) != 3 or not cache_ok(args[2], t):
                return False
            if not (_near(args[0], dHs[t]) if dh_next is None else _near(args[0], dHs[t] + dh_next)):
                return False
            if not (zero(args[1]) if dc_next is None else _same(args[1], dc_next)):
                return False
            if not isinstance(value, (tuple, list)) or len(value) != 5:
                return False
            if "dX" in judged and not _near(dX[t], value[0]):
                return False
            dh_next, dc_next = np.asarray(value[1], dtype=np.float64), value[2]
            sums = [sums[0] + np.asarray(value[3], dtype=np.float64), sums[1] + np.asarray(value[4], dtype=np.float64)]
        wanted = {"dh0": dh_next, "dc0": dc_next, "dW": sums[0], "db": sums[1]}
        got = {"dh0": dh0, "dc0": dc0, "dW": dW, "db": db}
        return all(_close(got[k], wanted[k], 1e-9) for k in wanted if k in judged)
    except (TypeError, ValueError, IndexError):
        return False


def _blame_denied(s: _Sequence, step_verdict: bool | None, composed: bool) -> str:
    """Why a loop that is right with the oracle does not keep its points ('' when it does): the step function
    must fail its own cell, and the learner's own run must really compose it as a correct loop does."""
    if step_verdict is not False:
        why = ("your " + s.helper + " passes its own cell" if step_verdict else
               "nothing shows that your " + s.helper + " is wrong (its own cell was not graded)")
        return (f"With a correct {s.helper} standing in for yours the outputs are right, but {why}, so the wrong "
                f"outputs of your own run are {s.func}'s: the loop gives different results depending on the step "
                f"function it is handed.")
    if not composed:
        return (f"With a correct {s.helper} standing in for yours the outputs are right, but with yours, {s.func} "
                f"does not use its results as a correct loop would (the calls it makes, or how it combines what "
                f"they return), so this cell cannot be credited to {s.helper}'s mistake.")
    return ""


def _is_loop_bug(s: _Sequence, case: dict, outputs) -> bool:
    """Whether ``outputs`` are exactly those of a catalogued loop mistake made with a correct step function."""
    got = _got(s.names, outputs)
    for variant in s.loop_bugs(case):
        if all(n in got and n in variant and within_tolerance(got[n], variant[n], BUG_MATCH_TOL) for n in s.judged):
            return True
    return False


#: Probes of the sequence cells that also run with the oracle (they locate a mistake of the loop itself);
#: the gate probes run once, without it (they locate a mistake of a step computed inside the loop).
LOOP_PROBES = ("T1", "Wh0", "fshut", "B1")
