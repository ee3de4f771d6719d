"""a3-bptt: judging one target (a graded function) on its cases, probes and oracle runs."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import kernel
from .._core import (Verdict, _dtype_problem, _Failure, _match_variant, as_float_array, judge,
                     modified_warning, returned, scaled_rel_error, within_tolerance)
from .cases import _context, _edge_case, rnn_case
from .diagnoses import _DIMS
from .oracle import _StepHelper, _miss_text, _oracle_call, _oracle_record
from .probes import _probe_base, probe_text


# ---------------------------------------------------------------------------
# judging a check: the random case, the fixed cases, the oracle runs
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    """How to judge one graded function (declarative: the judge below is shared)."""
    func: str
    returns: tuple            # every value the function returns, in order
    outputs: tuple            # the judged ones (a prefix of ``returns``)
    arg_names: tuple
    args_of: Callable         # case -> the learner's arguments
    truth: Callable           # (case, analytic) -> {output: expected array}
    variants: Callable        # case -> [(diagnosis, {output: array})]
    tol: float
    kind: str
    probes: tuple = ()
    rules: tuple = ()
    select: tuple | None = None
    time_axes: dict = field(default_factory=dict)
    direction: str = "backward"
    hints: dict = field(default_factory=dict)
    step: _StepHelper | None = None
    fd: bool = True           # the random and edge cases are judged against central differences


@dataclass
class _Outcome:
    error: str | None
    outputs: tuple | None
    wrong: dict               # output -> wrong?

    def ok(self, select) -> bool:
        return self.error is None and not any(self.wrong.get(n, True) for n in select)


def _wrong_outputs(target: _Target, outputs: tuple, truth: dict) -> dict:
    """Which outputs :func:`judge` would reject (same conversions, shapes and tolerance)."""
    wrong = {}
    for name, value in zip(target.outputs, outputs):
        exp = truth[name]
        try:
            arr = as_float_array(value, target.func, name)
        except _Failure:
            wrong[name] = True
            continue
        if _dtype_problem(value, target.func, name) or arr.shape != exp.shape:
            wrong[name] = True
            continue
        wrong[name] = not within_tolerance(arr, exp, target.tol)
    return wrong


def _outcome(target: _Target, records, i: int, truth: dict) -> _Outcome:
    try:
        out = returned(records, i, target.func, list(target.returns))
    except _Failure as f:
        return _Outcome(str(f), None, {n: True for n in target.outputs})
    out = tuple(out[:len(target.outputs)])
    return _Outcome(None, out, _wrong_outputs(target, out, truth))


def _judge_case(target: _Target, case: dict, outputs: tuple, truth: dict, seed=None, select=None) -> Verdict:
    analytic = "probe" in case or not target.fd
    compared = "central differences" if not analytic else (
        "the reference on the same inputs" if target.kind == "values" else "the exact gradients on these inputs")
    return judge(target.func, list(target.outputs), list(outputs), truth, tol=target.tol, kind=target.kind,
                 compared_with=compared, dims=_DIMS, sizes=case["sizes"], variants=target.variants(case),
                 time_axes=target.time_axes, direction=target.direction, hints=target.hints,
                 select=select if select is not None else target.select, context=_context(case, seed))


def _cases(target: _Target, rng) -> list:
    with_output = target.func == "output_backward"
    random_case = rnn_case(rng, with_output=with_output)
    base = _probe_base()
    if not with_output:
        base = {k: v for k, v in base.items() if k not in ("Wy", "dO")}
        base["sizes"] = {k: v for k, v in base["sizes"].items() if k != "K"}
    probes = []
    for p in target.probes:
        case = p.make(base)
        case["probe"] = p.what
        case["probe_name"] = p.name
        probes.append(case)
    edge = _edge_case()
    if not with_output:
        edge = {k: v for k, v in edge.items() if k not in ("Wy", "dO")}
        edge["sizes"] = {k: v for k, v in edge["sizes"].items() if k != "K"}
    return [random_case, edge] + probes


def _build(target: _Target):
    def build(rng):
        cases = _cases(target, rng)
        calls = [target.args_of(c) for c in cases]
        oracle_info = []
        if target.step is not None:
            for c in cases:
                call, info = _oracle_call(target.step, target.args_of(c), c)
                calls.append(call)
                oracle_info.append(info)
            # and once more with the learner's step recorded (a separate run: see kernel.with_recorder)
            calls += [kernel.with_recorder(target.args_of(c), target.step.name) for c in cases]
        return calls, {"cases": cases, "oracle": oracle_info}
    return build


def _same_outputs(a: _Outcome, b: _Outcome) -> bool:
    if a.error is not None or b.error is not None:
        return False
    for x, y in zip(a.outputs, b.outputs):
        try:
            x = as_float_array(x, "", "")
            y = as_float_array(y, "", "")
        except _Failure:
            return False
        if x.shape != y.shape or (x.size and float(scaled_rel_error(x, y).max()) > 1e-9):
            return False
    return True


def _variant_matched(target: _Target, case: dict, truth: dict, o: _Outcome) -> bool:
    """Whether a known mistake (buggy variant) explains one of the wrong outputs of ``o``."""
    if o.error is not None or not any(o.wrong.values()):
        return False
    variants = target.variants(case)
    return any(_match_variant(n, np.asarray(v, dtype=np.float64), truth[n], variants)
               for n, v in zip(target.outputs, o.outputs)
               if o.wrong.get(n) and isinstance(v, np.ndarray) and v.dtype.kind in "fiu" and v.shape == truth[n].shape)


def _first_miss(target: _Target, cases, records, offset: int, oracle_info) -> str:
    for i in range(len(cases)):
        rec = _oracle_record(records, offset + i)
        if rec["misses"] > 0:
            return _miss_text(target.func, target.step, oracle_info[i], rec)
    return ""


def _diagnosis(target: _Target, cases, truths, outcomes, select, *, probes: bool = True, miss: str = "") -> list:
    """The failure message (lines) for one set of runs, the learner's own or the oracle's: the first wrong
    case judged with the known mistakes, and what the probe cases show when none of them explains it."""
    shown = next((i for i, o in enumerate(outcomes) if not o.ok(select)), None)
    if shown is None:
        return []
    o = outcomes[shown]
    if o.error is not None:
        return [] if miss and "a correct loop would not pass" in o.error else [o.error]
    message = _judge_case(target, cases[shown], o.outputs, truths[shown], select=select).message
    head, sep, tail = message.partition("\n(Checked on")
    if probes and not miss and target.probes and "Likely cause:" not in head \
            and not _variant_matched(target, cases[0], truths[0], outcomes[0]):
        named = {"full": outcomes[0]}
        named.update({c["probe_name"]: outcomes[i] for i, c in enumerate(cases) if "probe_name" in c})
        head += probe_text(target.probes, target.rules, named)
    return [head + sep + tail]


def _message(lines) -> str:
    """Lines joined, the '(Checked on ...)' notes moved to the end."""
    text = "\n".join(line for line in lines if line)
    body = [line for line in text.split("\n") if not line.startswith("(Checked on")]
    notes = [line for line in text.split("\n") if line.startswith("(Checked on")]
    return "\n".join(body + notes[:1])


def _close(a, b, rtol: float = 1e-9) -> bool:
    """Plain float arrays of one shape, equal up to summation-order rounding."""
    try:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if a.shape != b.shape or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return False
    scale = max(float(np.abs(b).max(initial=0.0)), 1e-300)
    return bool(np.abs(a - b).max(initial=0.0) <= rtol * scale)


def _same_run(a: "_Outcome", b: "_Outcome") -> bool:
    """The learner's plain run and their recorded run gave the same result (the same function on the
    same inputs must: one that behaves differently when its helper is observed is not credited)."""
    if (a.outputs is None) != (b.outputs is None):
        return False
    if a.outputs is None:
        return True
    return all(_close(x, y, 0.0) for x, y in zip(a.outputs, b.outputs))


def _step_trace(records_i: dict, name: str) -> list:
    trace = records_i.get("observed", {}).get(name, [])
    return trace if isinstance(trace, list) else []


def _composes_step(target: _Target, case: dict, rec: dict, own: "_Outcome", select) -> bool:
    """Did the learner's own run feed their step function what a correct loop feeds it, and combine its
    results as a correct loop does? Read from the calls the kernel recorded; a forged record that passes
    this is itself a correct loop around some step function, which is what this cell grades."""
    trace = _step_trace(rec, target.step.name)
    X, h0, Wx, Ws = case["X"], case["h0"], case["Wx"], case["Ws"]
    T = X.shape[0]
    if own.outputs is None:
        # the run stopped: credited only if it stopped inside the step function, called exactly as a
        # correct loop first calls it (a step that is not written yet, or that raises)
        if len(trace) != 1 or trace[0].get("error") is None or own.error is None:
            return False
        args = trace[0]["args"]
        t = 0 if target.func == "rnn_forward" else T - 1
        if target.func == "rnn_forward":
            Xc, h0c, Wxc, Wsc, bc = target.args_of(case)
            first = (Xc[0], h0c, Wxc, Wsc, bc)
            return len(args) >= 5 and all(_close(a, e, 0.0) for a, e in zip(args[:5], first))
        dHs_given, (_, _, Hs_ref, _, _) = target.args_of(case)
        cache = (X[t], Hs_ref[t - 1] if t > 0 else h0, Hs_ref[t], Wx, Ws)
        return (len(args) >= 2 and isinstance(args[1], (tuple, list)) and len(args[1]) >= 5
                and _close(args[0], dHs_given[t]) and all(_close(a, e, 0.0) for a, e in zip(args[1][:5], cache)))
    if len(trace) != T:
        return False
    try:
        if target.func == "rnn_forward":
            X, h0, Wx, Ws, b = target.args_of(case)
            Hs, h_prev = own.outputs[0], h0
            for t, call in enumerate(trace):
                args, value = call["args"], call["value"]
                h = value[0] if isinstance(value, (tuple, list)) else value
                if len(args) < 5 or not all(_close(a, e, 0.0) for a, e in zip(args[:5], (X[t], h_prev, Wx, Ws, b))):
                    return False
                if not _close(Hs[t], h, 0.0):
                    return False
                h_prev = h
            return True
        if target.func == "rnn_backward":
            dHs_given, (_, _, Hs_ref, _, _) = target.args_of(case)   # probes may pass their own Hs
            dX, dh0, dWx, dWs, db = own.outputs
            carried = np.zeros_like(h0)
            sums = [np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])]
            for j, call in enumerate(trace):
                t = T - 1 - j
                args, value = call["args"], call["value"]
                if len(args) < 2 or not isinstance(args[1], (tuple, list)) or len(args[1]) < 5:
                    return False
                cache = (X[t], Hs_ref[t - 1] if t > 0 else h0, Hs_ref[t], Wx, Ws)
                if not all(_close(a, e, 0.0) for a, e in zip(args[1][:5], cache)):
                    return False
                if not _close(args[0], dHs_given[t] + carried):
                    return False
                if not isinstance(value, (tuple, list)) or len(value) < 5:
                    return False
                if "dX" in select and not _close(dX[t], value[0]):
                    return False
                carried = np.asarray(value[1], dtype=np.float64)
                for k in range(3):
                    sums[k] = sums[k] + np.asarray(value[2 + k], dtype=np.float64)
            wanted = {"dWx": sums[0], "dWs": sums[1], "db": sums[2], "dh0": carried}
            got = {"dWx": dWx, "dWs": dWs, "db": db, "dh0": dh0}
            return all(_close(got[k], wanted[k]) for k in wanted if k in select)
    except (TypeError, ValueError, IndexError, KeyError):
        return False
    return False


def _judge_target(target: _Target, context: dict, records) -> Verdict:
    cases = context["cases"]
    n = len(cases)
    select = target.select if target.select is not None else target.outputs
    truths = [target.truth(c, "probe" in c or not target.fd) for c in cases]
    own = [_outcome(target, records, i, truths[i]) for i in range(n)]
    own_modified = modified_warning(records[:n], target.func, target.arg_names)
    if all(o.ok(select) for o in own) and not own_modified:
        return _judge_case(target, cases[0], own[0].outputs, truths[0])
    step = target.step
    used = step is not None and len(records) >= 2 * n and sum(
        _oracle_record(records, n + i)["calls"] for i in range(n)) > 0
    if not used:  # no step function (or the loop written inline): the learner's own runs only
        return Verdict(False, _message(_diagnosis(target, cases, truths, own, select) + [own_modified]))
    orc = [_outcome(target, records, n + i, truths[i]) for i in range(n)]
    orc_modified = modified_warning(records[n:2 * n], target.func, target.arg_names)
    blame_denied = ""
    if all(o.ok(select) for o in orc) and not orc_modified:
        step_failed = records[0].get("cells", {}).get(step.cell) is False
        recorded = [_outcome(target, records, 2 * n + i, truths[i]) for i in range(n)]
        composed = len(records) >= 3 * n and all(
            _same_run(own[i], recorded[i]) and _composes_step(target, cases[i], records[2 * n + i], recorded[i], select)
            for i in range(n))
        if not step_failed:
            blame_denied = (f"With a correct {step.name} standing in for yours the outputs are right, but your "
                            f"{step.name} passes its own cell, so the wrong outputs of your own run are "
                            f"{target.func}'s.")
        elif not composed:
            blame_denied = (f"With a correct {step.name} standing in for yours the outputs are right, but with "
                            f"yours, {target.func} does not use its results as a correct loop would (the calls it "
                            f"makes, or how it combines what they return), so this cell cannot be credited to "
                            f"{step.name}'s mistake.")
    if all(o.ok(select) for o in orc) and not orc_modified and not blame_denied:
        first = (_diagnosis(target, cases, truths, own, select, probes=False) + [own_modified])[0]
        return Verdict(True, (
            f"{target.func}: the loop is right: run with a correct {step.name} standing in for yours, every "
            f"output is right on every case. The errors come from your {step.name}, which is graded in its own "
            f"cell (fix it there; this cell keeps its points). With your {step.name}: {first.split(chr(10))[0]}"))
    if blame_denied:
        return Verdict(False, _message(_diagnosis(target, cases, truths, own, select) + [blame_denied, own_modified]))
    miss = _first_miss(target, cases, records, n, context["oracle"])
    lines = [f"{target.func}: judged with a correct {step.name} standing in for yours, so what follows is a "
             f"mistake of {target.func} itself.", miss]
    lines += _diagnosis(target, cases, truths, orc, select, miss=miss)
    if orc_modified:
        lines.append(orc_modified)
    if miss:
        # No outputs with the oracle; the learner's own run still shows a known mistake of the loop, if any.
        if _variant_matched(target, cases[0], truths[0], own[0]):
            lines += [f"With your {step.name}: " + line
                      for line in _diagnosis(target, cases, truths, own, select, probes=False)]
        lines.append(f"Whether your {step.name} is also wrong is judged in its own cell.")
    elif orc[0].error is None and own[0].error is None:
        lines.append(f"Your {step.name} is not at fault here: with it the outputs are the same as with a correct "
                     f"one." if _same_outputs(own[0], orc[0]) else
                     f"Your {step.name} is also wrong (with it the outputs differ again); it is graded in its own "
                     f"cell.")
    elif own[0].error is not None and orc[0].error is None:
        lines.append(f"Your {step.name} is also at fault: with it, {own[0].error}")
    else:
        lines.append(f"Whether your {step.name} is also wrong is judged in its own cell.")
    return Verdict(False, _message(lines))
