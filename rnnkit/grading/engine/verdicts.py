"""The verdict of one graded function on its records: the learner's runs, then (a sequence function) the
blame of the step function or the loop. One judge for every spec (:func:`judge_records`)."""
from __future__ import annotations

import numpy as np

from .basics import BUG_MATCH_TOL, Verdict
from .blame import close, composes, count_text, miss_text, oracle_record
from .compare import judge, match_mistake, within_tolerance
from .probes import conclusion, probe_text
from .run import Context, Outcome, case_text, mistakes_of, outcome, sizes_text, tolerance, truth_of
from .spec import GradedFunction


def judge_case(spec: GradedFunction, case: dict, o: Outcome, truth: dict, select=None, variants=None) -> Verdict:
    """The message of one case: every compared output against the truth, with the spec's mistakes (``variants``:
    those left after the run's other cases, for ``mistakes_on="every case"``); the cache is :func:`diagnosis`'s."""
    names = [n for n in o.wrong if n in o.outputs]
    if spec.kind == "values":
        compared = "the reference on the same inputs"
    elif spec.numerical is not None and not case.get("probe"):
        compared = "central differences"
    else:
        compared = "the exact gradients on these inputs"
    context = (f"probe case {case['probe']}: " if case.get("probe") else "") + sizes_text(case)
    verdict = judge(spec.function, names, [o.outputs[n] for n in names], truth, tol=tolerance(spec), kind=spec.kind,
                    compared_with=compared, dims=spec.dims, sizes=case.get("sizes", {}),
                    variants=mistakes_of(spec, case) if variants is None else variants, time_axes=spec.time_axes,
                    direction=spec.direction, hints=spec.hints, select=select or selected(spec, truth), context=context,
                    inputs="fresh inputs" if not (case.get("probe") or case.get("edge")) else "the fixed case",
                    unit=spec.unit)
    return verdict


def modified_note(spec: GradedFunction, records, passed: bool, case: dict | None = None) -> str:
    """Which arguments the calls wrote into, and why that matters ('' if none). Costs no points by itself."""
    names = sorted({spec.arguments[i] if i < len(spec.arguments) else f"argument {i + 1}"
                    for rec in records for i in rec.get("modified", []) if isinstance(i, int)})
    if not names:
        return ""
    why = " ".join(spec.argument_notes.get(n, "") for n in names).strip() or (
        f"a caller that uses {' or '.join(names)} again after the call (a loop over time passes its arrays on) "
        f"reads the changed values.")
    cost = "That costs no points here, since every returned value is right, but the" if passed else "The"
    n = names[0]
    try:
        args = dict(zip(spec.arguments, spec.args_of(case))) if case is not None else {}
    except Exception:  # the spec's own arguments only decide the wording
        args = {}
    copy = (f"work on copies of the arrays inside {n}" if isinstance(args.get(n), (tuple, list)) else
            f"work on a copy (e.g. {n} = {n} * ..., not {n} *= ...)")
    return (f"Note: {spec.function} modified its argument(s) {', '.join(names)} in place. {cost} caller's arrays "
            f"change: {why} {copy[0].upper() + copy[1:]}.")


def _explains(outs: dict, o: Outcome) -> bool:
    """Whether a mistake's outputs ``outs`` are the learner's on this case (the outputs it leaves out are right)."""
    if o.error is not None:
        return False
    for name, bad in o.wrong.items():
        if name not in outs:
            if bad:
                return False
            continue
        got = o.outputs.get(name)
        got = np.asarray(got) if isinstance(got, (int, float, np.number)) and not isinstance(got, bool) else got
        if not isinstance(got, np.ndarray) or got.dtype.kind not in "fiu" or got.shape != np.shape(outs[name]) \
                or not within_tolerance(got, outs[name], BUG_MATCH_TOL):
            return False
    return True


def run_mistakes(spec: GradedFunction, cases, outcomes, shown: int) -> list | None:
    """The mistakes that may be named on case ``shown`` (``None``: all of its own, ``mistakes_on="the case"``):
    with ``mistakes_on="every case"``, those that explain the learner's outputs on every case."""
    if spec.mistakes_on != "every case":
        return None
    per_case = [mistakes_of(spec, c) for c in cases]
    keep = [j for j in range(len(per_case[0])) if all(
        _explains(m[j][1], o) for m, o in zip(per_case, outcomes) if o.error is None)]
    return [per_case[shown][j] for j in keep]


def _mistake_matched(spec: GradedFunction, case: dict, truth: dict, o: Outcome, variants=None) -> bool:
    if o.error is not None or not any(o.wrong.values()):
        return False
    variants = mistakes_of(spec, case) if variants is None else variants
    for name, bad in o.wrong.items():
        v = o.outputs.get(name)
        if bad and isinstance(v, np.ndarray) and v.dtype.kind in "fiu" and v.shape == np.shape(truth[name]):
            if match_mistake(name, np.asarray(v, dtype=np.float64), truth[name], variants):
                return True
    return False


def _probe_only(spec: GradedFunction, cases, outcomes, shown: int, select) -> str:
    """A probe case wrong while every drawn and edge case is right: one sentence naming it ('' otherwise)."""
    case, o = cases[shown], outcomes[shown]
    if not case.get("probe") or any(not x.ok(select) for c, x in zip(cases, outcomes) if not c.get("probe")):
        return ""
    probe = next(p for p in spec.probes if p.name == case["probe_name"])
    named = {"full": outcomes[0], **{c["probe_name"]: outcomes[i] for i, c in enumerate(cases) if "probe_name" in c}}
    said = conclusion(spec.probes, spec.rules, named) or probe.if_fails or spec.none_right
    if o.error is not None:
        head = o.error.rstrip(".") + ", though it is right on the drawn case."
    else:
        bad = [n for n in select if o.wrong.get(n)] or (["the cache"] if o.cache else [])
        head = (f"{spec.function}: right on the drawn case, but {', '.join(bad)} {'is' if len(bad) == 1 else 'are'} "
                f"wrong on {case_text(case)}.")
    return head + (f" So {said.rstrip('.')}." if said else "")


def diagnosis(spec: GradedFunction, cases, truths, outcomes, select, *, probes: bool = True, miss: str = "") -> list:
    """The failure message (lines) of one set of runs, the learner's own or the oracle's: the first wrong case
    judged with the mistakes; else a cause the spec reads from the outputs (``explain``); else what the probe
    cases conclude."""
    shown = next((i for i, o in enumerate(outcomes) if not o.ok(select)), None)
    if shown is None:
        return []
    o, case = outcomes[shown], cases[shown]
    variants = run_mistakes(spec, cases, outcomes, shown)
    after = (" The returned arrays are the very arrays it was given (an alias of an argument): return new "
             "arrays.") if o.aliased else ""
    if o.error is not None:
        if miss and "a correct loop would not pass" in o.error:
            return []
        head, sep, tail = o.error, "", ""
        if case.get("edge") and outcomes[0].ok(select):
            head += f" It is right on the drawn case ({sizes_text(cases[0])}): the error comes with these sizes."
    else:
        verdict = judge_case(spec, case, o, truths[shown], select, variants=variants)
        head, sep, tail = verdict.message.partition("\n(Checked on")
        if verdict.passed:  # only the cache is wrong
            head, sep, tail = "", "", ""
    if o.cache:  # after what the outputs say
        cache, _, cause = o.cache.partition(" Likely cause: ")
        same = cause and f"Likely cause: {cause}" in head
        after += ("\n" if head else "") + (cache + " Likely cause: the same as above." if same else o.cache)
    if "Likely cause:" in head or miss:
        return [head + after + sep + tail]
    if spec.explain is not None:
        cause = spec.explain(cases, [x.outputs for x in outcomes])
        if isinstance(cause, str) and cause:
            return [head + " Likely cause: " + cause + after + sep + tail]
    if probes and spec.probes:
        only = _probe_only(spec, cases, outcomes, shown, select)
        if only:
            return [only + after + sep + tail]
    wrong_values = any(t in head for t in (" is wrong: ", "NaN or infinity", " differ;", " has shape "))
    if probes and spec.probes and wrong_values \
            and not _mistake_matched(spec, cases[0], truths[0], outcomes[0], run_mistakes(spec, cases, outcomes, 0)):
        named = {"full": outcomes[0]}
        named.update({c["probe_name"]: outcomes[i] for i, c in enumerate(cases) if "probe_name" in c})
        head += probe_text(spec.probes, spec.rules, named, spec.none_right)
    return [head + after + sep + tail]


def kept_problem(spec: GradedFunction, records) -> str:
    """A write into an argument the caller still needs (``spec.kept``): fails the cell ('' if none)."""
    names = sorted({spec.arguments[i] for rec in records for i in rec.get("modified", [])
                    if isinstance(i, int) and i < len(spec.arguments) and spec.arguments[i] in spec.kept})
    return "\n".join(f"{spec.function} modified its argument {n} in place, which the caller still needs: "
                     f"{spec.kept[n]}" for n in names)


def selected(spec: GradedFunction, truth: dict) -> tuple:
    """The outputs the cell grades (with ``read`` and no ``judged``: every output of the truth but the cache)."""
    if spec.read is not None and spec.judged is None:
        return tuple(n for n in truth if n != "cache")
    return spec.judged_outputs


def _message(lines) -> str:
    """Lines joined, the '(Checked on ...)' notes moved to the end."""
    text = "\n".join(line for line in lines if line)
    body = [line for line in text.split("\n") if not line.startswith("(Checked on")]
    notes = [line for line in text.split("\n") if line.startswith("(Checked on")]
    return "\n".join(body + notes[:1])


def _same_outputs(a: Outcome, b: Outcome) -> bool:
    """Both runs gave outputs, equal up to summation-order rounding."""
    return a.error is None and b.error is None and all(close(a.outputs[n], b.outputs[n]) for n in a.wrong)


def _same_run(a: Outcome, b: Outcome) -> bool:
    """The learner's plain run and their recorded run gave the same result (the same function on the same
    inputs must: one that behaves differently when its helper is observed is not credited)."""
    if (a.outputs is None) != (b.outputs is None):
        return False
    if a.outputs is None:
        return True
    return all(close(a.outputs[n], b.outputs[n], 0.0) for n in a.wrong)


def judge_records(spec: GradedFunction, context: Context, records) -> Verdict:
    """The verdict of ``spec``'s cell on the kernel's records."""
    if spec.judge is not None:  # the spec's escape hatch
        return spec.judge(context, records)
    cases = context.cases
    n = len(cases)
    truths = [truth_of(spec, c) for c in cases]
    select = selected(spec, truths[0])
    own = [outcome(spec, records, i, cases[i], truths[i]) for i in range(n)]
    kept = kept_problem(spec, records[:n])
    if kept:
        return Verdict(False, _message(diagnosis(spec, cases, truths, own, select) + [kept]))
    if all(o.ok(select) for o in own):
        passed = judge_case(spec, cases[0], own[0], truths[0]).message
        if spec.passed_note:
            passed = passed.replace(" correct (", f" correct, {spec.passed_note} (", 1)
        note = modified_note(spec, records[:n], True, cases[0])
        return Verdict(True, passed + (" " + note if note else ""))
    own_modified = modified_note(spec, records[:n], False, cases[0])
    step = spec.step
    used = step is not None and len(records) >= 2 * n and sum(
        oracle_record(records, n + i)["calls"] for i in range(n)) > 0
    if not used:  # no step function (or the loop written inline): the learner's own runs only
        return Verdict(False, _message(diagnosis(spec, cases, truths, own, select) + [own_modified]))
    orc = [outcome(spec, records, n + i, cases[i], truths[i]) for i in range(n)]
    blame_denied = ""
    if all(o.ok(select) for o in orc):
        step_failed = records[0].get("cells", {}).get(step.cell) is False
        recorded = [outcome(spec, records, 2 * n + i, cases[i], truths[i]) for i in range(n)]
        composed = len(records) >= 3 * n and all(
            _same_run(own[i], recorded[i])
            and composes(step, cases[i], records[2 * n + i], recorded[i].outputs, recorded[i].error, select)
            for i in range(n))
        if not step_failed:
            blame_denied = (f"With a correct {step.name} standing in for yours the outputs are right, but your "
                            f"{step.name} passes its own cell, so the wrong outputs of your own run are "
                            f"{spec.function}'s.")
        elif not composed:
            blame_denied = (f"With a correct {step.name} standing in for yours the outputs are right, but with "
                            f"yours, {spec.function} does not use its results as a correct loop would (the calls "
                            f"it makes, or how it combines what they return), so this cell cannot be credited to "
                            f"{step.name}'s mistake.")
        if not blame_denied:
            first = (diagnosis(spec, cases, truths, own, select, probes=False) + [""])[0]
            stopped = next((i for i, o in enumerate(own) if o.error is not None), None)
            if stopped is not None:  # credited only when the run stopped inside the step function
                raw = str(records[stopped].get("error"))
                first = (f"{step.name} is not implemented yet (it raised NotImplementedError)."
                         if raw.startswith("NotImplementedError") else f"{step.name} raised {raw}.")
            return Verdict(True, (
                f"{spec.function}: the loop is right: run with a correct {step.name} standing in for yours, every "
                f"output is right on every case. The errors come from your {step.name}, which is graded in its "
                f"own cell (fix it there; this cell keeps its points). With your {step.name}: "
                f"{first.split(chr(10))[0]}"))
        return Verdict(False, _message(diagnosis(spec, cases, truths, own, select) + [blame_denied, own_modified]))
    shown = next(i for i, o in enumerate(orc) if not o.ok(select))
    miss = next((miss_text(spec.function, step, context.oracle[i], r, cases[i]) for i in range(n)
                 for r in [oracle_record(records, n + i)] if r["misses"] > 0), "")
    count = "" if miss else count_text(spec.function, step, cases[shown],
                                       oracle_record(records, n + shown)["calls"])
    lines = [f"{spec.function}: judged with a correct {step.name} standing in for yours, so what follows is a "
             f"mistake of {spec.function} itself.", miss, count]
    lines += diagnosis(spec, cases, truths, orc, select, miss=miss)
    lines.append(modified_note(spec, records[n:2 * n], False, cases[0]))
    if miss:
        # No outputs with the oracle; the learner's own run still shows a known mistake of the loop, if any.
        if _mistake_matched(spec, cases[0], truths[0], own[0]):
            lines += [f"With your {step.name}: " + line
                      for line in diagnosis(spec, cases, truths, own, select, probes=False)]
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
