"""a6-lstm: the checks of the sequence cells (lstm_forward, lstm_backward), ``CHECKS`` and the
``grade_*`` functions."""
from __future__ import annotations

from ..kernel import with_recorder
from .._core import GRAD_TOL, VALUE_TOL, Check, Verdict, modified_warning, returned, within_tolerance
from .cases import _context
from .judges import _finish, _forward_variants, _numerical_backward, _verdict_backward, _verdict_forward
from .large_cases import sequence_large_case
from .oracle import (LOOP_PROBES, _Sequence, _backward_oracle, _blame_denied, _close, _composes_backward,
                     _composes_forward, _forward_oracle, _is_loop_bug, _miss_backward,
                     _miss_forward, _oracle_calls, _oracle_record, _same_record_run,
                     _step_verdict, _try_returned)
from .probe_notes import _backward_notes, _outcomes, _probe_failure, _probe_section, _term_lines
from .probes import B1_MEANING, BACKWARD_SEQUENCE_PROBES, FORWARD_SEQUENCE_PROBES
from .step_checks import (PROBE_T, STEP_BACKWARD, STEP_FORWARD, _cases, _got, _sequence_args, _truth_backward,
                          _truth_forward)
from .variants import LOOP_BUGS, LSTM_BACKWARD_PARTS, _BACKWARD_NAMES, _sequence_backward, lstm_step_caches


def _sequence_build(spec_args):
    """Builder of a sequence cell: every full case and loop probe twice, the second time with the oracle."""
    def build(rng):
        probes = spec_args["probes"]
        ctx = _cases(rng, probes, PROBE_T)
        calls, labels, index = [], [], []
        for j, c in enumerate(ctx["main"] + ctx["probes"]):
            primary, oracle_call, lab = spec_args["calls"](c)
            # the learner's step recorded in a run of its own (see kernel.with_recorder)
            recorded = with_recorder(primary, oracle_call["__oracle__"]["helper"])
            k = j - len(ctx["main"])
            if k >= 0 and probes[k].name not in LOOP_PROBES:
                index.append((len(calls), None, len(calls) + 1))
                calls += [primary, recorded]
            else:
                index.append((len(calls), len(calls) + 1, len(calls) + 2))
                calls += [primary, oracle_call, recorded]
            labels.append(lab)
        ctx["labels"], ctx["index"] = labels, index
        return calls, ctx
    return build


def _sequence_judge(s: _Sequence):
    def judge_(ctx, records):
        main, pcases, index = ctx["main"], ctx["probes"], ctx["index"]
        n = len(main)
        # An argument changed in place counts against the loop when it happens with the oracle standing in
        # for the step function too (or when the step function is not called): else the step function did it,
        # and its own cell reports that.
        loop_calls_step = any(_oracle_calls(records[index[i][1]]) > 0 for i in range(n))
        own = [records[o] if o is not None and _oracle_calls(records[o]) > 0 else records[p] for p, o, _ in index
               if o is not None or not loop_calls_step]
        warning = modified_warning(own, s.func, s.arg_names)
        prim = _outcomes(s.probes, pcases, records, [t[0] for t in index[n:]], s.func, s.names, s.truth, s.tol)
        orc = _outcomes(s.probes, pcases, records, [t[1] for t in index[n:]], s.func, s.names, s.truth, s.tol)
        blamed = []
        step_verdict = _step_verdict(s, records, [index[i][0] for i in range(n)])
        for i, case in enumerate(main):
            memo: dict = {}
            P, O, R = index[i]
            T = case["sizes"]["T"]
            if _oracle_calls(records[O]) == 0:  # the loop does not call the step function (or never got there)
                outputs = returned(records, P, s.func, s.names)
                v = s.verdict(case, outputs, False, memo)
                if v.passed:
                    continue
                return _finish(v, _context(case), s.notes(case, outputs, prim, "Likely cause:" in v.message)
                               + [warning])
            p_out, p_err = _try_returned(records, P, s.func, s.names)
            if p_err is not None and records[P].get("error"):
                p_err = f"it raises {records[P]['error']}".rstrip(": ")
            if p_out is not None and s.verdict(case, p_out, False, memo).passed:
                continue
            o_out, o_err = _try_returned(records, O, s.func, s.names)
            if o_out is not None:
                v = s.verdict(case, o_out, True, memo)
                if v.passed:
                    denied = _blame_denied(s, step_verdict, _same_record_run(records, P, R, s)
                                           and s.composes(case, records[R], p_out, s.judged))
                    if not denied:
                        blamed.append(p_err)
                        continue
                    if p_out is None:
                        return Verdict(False, f"{s.func} {p_err}\n{denied}" + (f"\n{warning}" if warning else "")
                                       + f"\n(Checked on fresh inputs: {_context(case)}.)")
                    vp = s.verdict(case, p_out, False, memo)
                    return _finish(vp, _context(case), s.notes(case, p_out, prim, "Likely cause:" in vp.message)
                                   + [denied, warning])
                calls = _oracle_calls(records[O])
                extra = [f"(Found with a correct {s.helper} standing in for yours, so these are mistakes of "
                         f"{s.func}'s own loop.)"]
                if calls < T:
                    extra.append(f"{s.func} called {s.helper} {calls} time{'s' if calls != 1 else ''} for T={T} "
                                 f"steps: a correct loop calls it once per step.")
                if p_err is not None:
                    extra.append(f"With your own {s.helper}: {p_err}")
                elif all(_close(a, b, s.tol) for a, b, nm in zip(p_out, o_out, s.names) if nm in s.judged):
                    extra.append(f"With your own {s.helper} the results are the same, so it is right on these "
                                 f"inputs: the loop alone is at fault.")
                else:
                    extra.append(f"Your {s.helper} is wrong too (its own cell says how); the diagnosis above is of "
                                 f"the loop alone.")
                return _finish(v, _context(case), extra + s.notes(case, o_out, orc, "Likely cause:" in v.message)
                               + [warning])
            record = _oracle_record(records[O])
            if int(record.get("misses", 0) or 0) > 0:
                text = (f"{s.func}: the loop passes {s.helper} arguments a correct loop would not pass (found by "
                        f"running it with a correct {s.helper} standing in for yours, which answers only the calls "
                        f"a correct loop makes) — " + s.miss(record, ctx["labels"][i], T))
                if p_out is not None and _is_loop_bug(s, case, p_out):
                    text += f"\nYour own {s.helper} is right on these inputs: only the loop is wrong."
                else:
                    text += f"\n(Whether your {s.helper} is right as well is graded in its own cell.)"
            else:
                text = f"{s.func}, run with a correct {s.helper} standing in for yours, fails: {o_err}"
            return Verdict(False, text + (f"\n{warning}" if warning else "") + f"\n(Checked on fresh inputs: "
                                                                              f"{_context(case)}.)")
        effective = {}
        for j, p in enumerate(s.probes):
            O = index[n + j][1]
            right = all(prim[p.name].right(nm) for nm in s.judged)
            P, R = index[n + j][0], index[n + j][2]
            own_out = None if prim[p.name].error is not None else returned(records, P, s.func, s.names)
            credited = (not right and step_verdict is False and _same_record_run(records, P, R, s)
                        and s.composes(pcases[j], records[R], own_out, s.judged))
            if O is None:  # a gate probe: a mistake there is the step function's when the loop calls it
                if right or not loop_calls_step or not credited:
                    effective[p.name] = prim[p.name]
                continue
            used = _oracle_calls(records[O]) > 0
            if not right and used and all(orc[p.name].right(nm) for nm in s.judged):
                denied = "" if credited else _blame_denied(s, step_verdict, False)
                if denied:
                    return Verdict(False, f"{s.func}: wrong with {p.what}. {denied}"
                                          f"\n(Checked on fixed inputs: {prim[p.name].context}.)")
                blamed.append(None)
                effective[p.name] = orc[p.name]
            else:
                effective[p.name] = orc[p.name] if used and not right else prim[p.name]
        failed = _probe_failure(s.func, effective, s.probes, s.judged)
        if failed:
            return Verdict(False, failed)
        if warning:
            return Verdict(False, warning)
        checked = ", ".join(s.judged)
        if blamed:
            err = next((e for e in blamed if e), None)
            own = (f"with your own {s.helper} {err}" if err else f"with your own {s.helper} they do not")
            return Verdict(True, f"{s.func}: {checked} correct when a correct {s.helper} stands in for yours, so "
                                 f"your loop is right ({_context(main[0])}). But {own}: the errors come from "
                                 f"{s.helper}, which is graded in its own cell — fix it there.")
        return Verdict(True, f"{s.func}: {checked} correct ({_context(main[0])}).")
    return judge_


def _forward_calls(c):
    oracle_call, labels = _forward_oracle(c)
    return _sequence_args(c), oracle_call, labels


def _backward_calls(c):
    _, caches = lstm_step_caches(c)
    oracle_call, labels = _backward_oracle(c, caches)
    return (c["dHs"], caches), oracle_call, labels


def _forward_verdict(case, outputs, loop_only, memo):
    return _verdict_forward(case, outputs[0], loop_only)


_SEQ_FORWARD_RULES = ((("B1",), FORWARD_SEQUENCE_PROBES[3].meaning), (("Wh0",), FORWARD_SEQUENCE_PROBES[1].meaning),
                      (("fshut",), FORWARD_SEQUENCE_PROBES[2].meaning), (("T1",), FORWARD_SEQUENCE_PROBES[0].meaning))
_SEQ_BACKWARD_RULES = (
    (("Wh0", "fshut"), "each carried gradient is right when the other one is switched off, so the two are mixed "
                       "up: dh = dHs[t] + dh_next and dc = dc_next, each the matching output of the call for t+1"),
    (("B1",), B1_MEANING), (("Wh0",), BACKWARD_SEQUENCE_PROBES[1].meaning),
    (("fshut",), BACKWARD_SEQUENCE_PROBES[2].meaning), (("T1",), BACKWARD_SEQUENCE_PROBES[0].meaning))


def _forward_notes_rules(case, outputs, outcomes, explained):
    got, exp = _got(["Hs"], outputs[:1]), _truth_forward(case)
    if explained:
        return []
    got_hs = got.get("Hs")
    wrong = [] if got_hs is not None and within_tolerance(got_hs, exp["Hs"], VALUE_TOL) else ["Hs"]
    return [_probe_section(_term_lines(wrong, outcomes, FORWARD_SEQUENCE_PROBES, _SEQ_FORWARD_RULES))] if got else []


def _backward_verdict(part):
    def verdict(case, outputs, loop_only, memo):
        if "num" not in memo:
            memo["num"] = _numerical_backward(case)
        return _verdict_backward(case, outputs, part, loop_only, memo["num"])
    return verdict


def _backward_notes_seq(part):
    def notes(case, outputs, outcomes, explained):
        return _backward_notes(_got(_BACKWARD_NAMES, outputs), _truth_backward(case), LSTM_BACKWARD_PARTS[part],
                               outcomes, BACKWARD_SEQUENCE_PROBES, step=False, explained=explained,
                               rules=_SEQ_BACKWARD_RULES)
    return notes


def _helper_cells(*grade_ids) -> dict:
    """``helper_cells=`` for a sequence cell's :class:`Check`: its step function's cell, whose verdict the grading
    process hands to the judge (a loop right only with the oracle keeps its points only if that cell fails)."""
    return {"helper_cells": tuple(grade_ids)} if "helper_cells" in getattr(Check, "__dataclass_fields__", {}) else {}


FORWARD = Check(
    "test_lstm_forward", "lstm_forward",
    build=_sequence_build({"probes": FORWARD_SEQUENCE_PROBES, "calls": _forward_calls}),
    judge=_sequence_judge(_Sequence("lstm_forward", "lstm_step_forward", ["Hs", "caches"], ("Hs",),
                                    ["X", "h0", "c0", "W", "b"], FORWARD_SEQUENCE_PROBES, _truth_forward,
                                    _forward_verdict, _forward_notes_rules, _miss_forward, VALUE_TOL,
                                    lambda c: [v for _, v in _forward_variants(c, loop_only=True)],
                                    "test_lstm_step_forward", _composes_forward)),
    **_helper_cells("test_lstm_step_forward"))


def _backward_check(part: str) -> Check:
    return Check(
        f"test_lstm_backward_{part}", "lstm_backward",
        build=_sequence_build({"probes": BACKWARD_SEQUENCE_PROBES, "calls": _backward_calls}),
        judge=_sequence_judge(_Sequence("lstm_backward", "lstm_step_backward", _BACKWARD_NAMES,
                                        LSTM_BACKWARD_PARTS[part], ["dHs", "caches"], BACKWARD_SEQUENCE_PROBES,
                                        _truth_backward, _backward_verdict(part), _backward_notes_seq(part),
                                        _miss_backward, GRAD_TOL,
                                        lambda c: [_sequence_backward(c["dHs"], lstm_step_caches(c)[1], bug)
                                                   for bug in LOOP_BUGS],
                                        "test_lstm_step_backward", _composes_backward)),
        large=sequence_large_case(part), **_helper_cells("test_lstm_step_backward"))


#: The hidden test cells of a6-lstm, by grade_id.
CHECKS = {c.grade_id: c for c in (STEP_FORWARD, STEP_BACKWARD, FORWARD, _backward_check("parameters"),
                                  _backward_check("inputs"))}


def grade_lstm_step_forward(fn, *, rng=None) -> Verdict:
    """Check the learner's ``lstm_step_forward(x, h_prev, c_prev, W, b) -> (h, c, cache)`` in this process."""
    return STEP_FORWARD.grade(fn, rng=rng)


def grade_lstm_step_backward(fn, *, rng=None) -> Verdict:
    """Check the learner's ``lstm_step_backward(dh, dc, cache) -> (dx, dh_prev, dc_prev, dW, db)`` in this process.

    ``cache`` is the prescribed step cache ``(x, h_prev, c_prev, i, f, o, g, c, W)``, built by the checker.
    """
    return STEP_BACKWARD.grade(fn, rng=rng)


def grade_lstm_forward(fn, *, rng=None) -> Verdict:
    """Check the learner's ``lstm_forward(X, h0, c0, W, b) -> (Hs, caches)`` in this process.

    A second run of each case replaces ``lstm_step_forward`` (a global name of the learner's function)
    by an oracle: a right loop built on a wrong step function passes, and its message says so.
    """
    return FORWARD.grade(fn, rng=rng)


def grade_lstm_backward(fn, *, part: str = "all", rng=None) -> Verdict:
    """Check the learner's ``lstm_backward(dHs, caches) -> (dX, dh0, dc0, dW, db)`` in this process.

    ``caches`` is the list of step caches in the prescribed format, built by the checker;
    ``part`` is ``"parameters"`` (dW, db), ``"inputs"`` (dX, dh0, dc0) or ``"all"``.
    """
    if part not in LSTM_BACKWARD_PARTS:
        raise ValueError(f"grade_lstm_backward: part must be one of {sorted(LSTM_BACKWARD_PARTS)}, got {part!r}")
    return _backward_check(part).grade(fn, rng=rng)
