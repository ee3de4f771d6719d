"""Checks as data: a case builder (trusted), the calls the kernel makes, a judge (trusted)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from ...casefile import decode_calls, decode_results, encode_calls, encode_results, run_calls
from .. import registry
from .basics import Verdict, _Failure, _ndarray, fresh_rng, run_check
from .judging import unpack


@dataclass(frozen=True)
class Check:
    """One hidden test cell: what to ask the learner's function, and how to judge the answers.

    ``build(rng) -> (calls, context)`` draws the inputs in the grading process: ``calls`` is a
    list of positional-argument tuples (plain arrays, numbers, tuples, or objects described
    with :func:`rnnkit.casefile.special`), ``context`` whatever the judge needs besides.
    ``judge(context, records) -> Verdict`` sees only what the kernel recorded for each call
    (:func:`rnnkit.casefile.run_calls`): plain values rebuilt from arrays, an error text,
    the arguments it modified.
    """
    grade_id: str
    function: str
    build: Callable
    judge: Callable
    #: grade_ids of the cells grading the learner's helpers this function is meant to call (its step
    #: function): their verdicts reach the judge as ``records[i]["cells"]`` (see :meth:`judge_payload`).
    helper_cells: tuple = ()

    def cases(self, rng: np.random.Generator | None = None) -> tuple[bytes, object, int]:
        """``(encoded calls, context, seed)`` for one grading run (a fresh seed unless ``rng`` is given)."""
        r, seed = fresh_rng(rng)
        calls, context = self.build(r)
        return encode_calls(calls), context, seed

    def judge_payload(self, context, data: bytes, seed: int | None = None, cells: Mapping | None = None) -> Verdict:
        """Judge the bytes a hidden cell displayed (never trusted beyond plain arrays).

        ``cells`` maps grade_ids of cells judged before (in the grading process) to whether they passed;
        the judge reads the verdicts of :attr:`helper_cells` from it.
        """
        try:
            grade_id, records = decode_results(data)
        except Exception as exc:  # a forged or truncated payload is a failed check, not a crash
            return Verdict(False, f"{self.function}: the outputs recorded for grading could not be read ({exc}).")
        if grade_id != self.grade_id:
            return Verdict(False, f"{self.function}: the recorded outputs belong to another check ({grade_id!r}).")
        known = {gid: bool(passed) for gid, passed in (cells or {}).items() if gid in self.helper_cells}
        for rec in records:
            rec["cells"] = known
        verdict = run_check(lambda: self.judge(context, records))
        if not verdict.passed and seed is not None:
            verdict = Verdict(False, f"{verdict.message}\n(Grading seed {seed}.)")
        return verdict

    def grade(self, fn, *, rng: np.random.Generator | None = None, observe: Mapping | None = None) -> Verdict:
        """Run this check in this process (tests, trusted code, a learner's self-check): the same
        encoding as in the sandbox. ``observe`` as for :func:`rnnkit.casefile.run_check`."""
        data, context, seed = self.cases(rng)
        records = run_calls(fn, decode_calls(data), dict(observe or {})) if callable(fn) else [
            {"value": None, "error": f"not a function (got {type(fn).__name__})", "modified": [], "aliased": [],
             "objects": {}}]
        return self.judge_payload(context, encode_results(self.grade_id, records), seed,
                                  cells=self._helper_verdicts(fn, rng))

    def _helper_verdicts(self, fn, rng) -> dict:
        """In this process (trusted callers only): grade the helpers ``fn`` calls, found by name in its globals."""
        out = {}
        namespace = getattr(fn, "__globals__", {}) or {}
        for gid in self.helper_cells:
            helper_check = registry.find_check(gid)
            helper = namespace.get(helper_check.function)
            if callable(helper):
                out[gid] = helper_check.grade(helper, rng=rng).passed
        return out


def returned(records, index: int, func: str, names: Sequence[str]):
    """The outputs of call ``index`` split into ``names``, or a failure (exception, wrong count)."""
    if index >= len(records):
        raise _Failure(f"{func}: no result was recorded for call {index + 1} (the kernel stopped early).")
    rec = records[index]
    if rec["error"] is not None and rec["error"].startswith("not a function"):
        raise _Failure(f"{func} is {rec['error']}; run the cell that defines it.")
    if rec["error"] is not None:
        if rec["error"].startswith("NotImplementedError"):
            raise _Failure(f"{func} is not implemented yet (it raised NotImplementedError).")
        raise _Failure(f"{func} raised {rec['error']}")
    outputs = unpack(rec["value"], func, names)
    aliased = [names[j] for j in rec.get("aliased", []) if len(names) > 1 and j < len(names)
               and isinstance(outputs[j], _ndarray) and names[j].startswith("d")]
    if aliased and all(isinstance(o, _ndarray) for o in outputs):
        raise _Failure(f"{func} returns {', '.join(aliased)} as the very array it was given (an alias of an "
                       f"argument): return a new array, e.g. with .copy() or an arithmetic result.")
    return outputs


def modified_warning(records, func: str, arg_names: Sequence[str]) -> str:
    """Text naming the arguments a call modified in place ('' if none)."""
    names = sorted({arg_names[i] if i < len(arg_names) else f"argument {i + 1}"
                    for rec in records for i in rec["modified"]})
    if not names:
        return ""
    return (f"{func} modified its argument(s) {', '.join(names)} in place; a function must not change "
            f"the arrays it is given (work on a copy).")
