"""Checks as data: a case builder (trusted), the calls the kernel makes, a judge (trusted)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from ..kernel import BUDGET_ERROR, decode_calls, decode_results, encode_calls, encode_results, run_calls, with_budget
from .basics import GRAD_TOL, LARGE_CASE_BUDGET, Verdict, fresh_rng, run_check
from .compare import judge, unpack



@dataclass(frozen=True)
class LargeCase:
    """The large case of a backward check: too large for numerical differentiation, trivial for the chain rule.

    A backward pass computed by central differences of the learner's own forward pass is right on every
    small case; on this one it needs two forward passes per input entry and cannot finish. The call runs
    within :data:`LARGE_CASE_BUDGET` seconds of CPU time (:func:`rnnkit.grading.kernel.with_budget`), and the
    case is sized so that the cell's own time limit, enforced outside the kernel, stops it too.

    ``build(rng) -> (args, expected, sizes)``: the learner's arguments, the exact outputs (``{name: array}``,
    from rnnkit's analytic reference, itself checked against central differences by the library's tests)
    and the sizes (``{"T": 32, ...}``); ``returns``: the names of what the function returns, in order;
    ``judged``: the outputs compared (a cell may grade part of them); ``entries``: how many entries central
    differences would perturb for them (for the message).
    """
    build: Callable
    returns: tuple
    judged: tuple
    entries: Callable[[Mapping[str, int]], int]
    budget: float = LARGE_CASE_BUDGET
    tol: float = GRAD_TOL

    def judge_record(self, func: str, expected: Mapping, sizes: Mapping[str, int], record, *,
                     time_only: bool = False) -> Verdict:
        """The verdict on the large case's record (``None``: nothing was recorded for it). ``time_only``: only
        whether it finished (a sequence function whose step function failed its own cell, credited on the small
        cases with a correct step standing in: its own values on the large case come from that step)."""
        where = "the large case (" + ", ".join(f"{k}={v}" for k, v in sizes.items()) + ")"
        why = (f"Central differences of your forward pass need two forward passes for each of the "
               f"{self.entries(sizes):,} entries whose gradients this cell grades there, minutes of work; the "
               f"chain rule (one backward sweep, as in the notebook) takes milliseconds. Backward passes must be "
               f"analytic: numerical gradients are for checking them, not for computing them.")
        if record is None:
            return Verdict(False, f"{func}: no result was recorded for {where}: the run stopped before it "
                                  f"finished. {why}")
        error = record.get("error")
        if error is not None and error.startswith(BUDGET_ERROR):
            return Verdict(False, f"{func} is right on the small cases but did not finish {where} within "
                                  f"{self.budget:g} s of CPU time. {why}")
        if time_only:
            return Verdict(True, f"{func} finished {where} in time.")
        if error is not None:
            return Verdict(False, f"{func} raised {error} on {where}.")
        outputs = unpack(record["value"], func, self.returns)
        names = list(self.returns)[:len(outputs)]
        return judge(func, names, list(outputs), dict(expected), tol=self.tol, kind="gradients",
                     compared_with="the exact gradients (rnnkit's analytic reference)", select=self.judged,
                     context=where)


@dataclass(frozen=True)
class _WithLargeCase:
    """The context of a check with a large case: the check's own, how many calls precede the large one,
    and what the large case expects."""
    context: object
    calls: int
    expected: Mapping
    sizes: Mapping


@dataclass(frozen=True)
class Check:
    """One hidden test cell: what to ask the learner's function, and how to judge the answers.

    ``build(rng) -> (calls, context)`` draws the inputs in the grading process: ``calls`` is a
    list of positional-argument tuples (plain arrays, numbers, tuples, or objects described
    with :func:`rnnkit.grading.kernel.special`), ``context`` whatever the judge needs besides.
    ``judge(context, records) -> Verdict`` sees only what the kernel recorded for each call
    (:func:`rnnkit.grading.kernel.run_calls`): plain values rebuilt from arrays, an error text,
    the arguments it modified.
    """
    grade_id: str
    function: str
    build: Callable
    judge: Callable
    #: grade_ids of the cells grading the learner's helpers this function is meant to call (its step
    #: function): their verdicts reach the judge as ``records[i]["cells"]`` (see :meth:`judge_payload`).
    helper_cells: tuple = ()
    #: A backward check's large case (:class:`LargeCase`): one more call, after the others, judged once the
    #: check's own judge has passed them.
    large: LargeCase | None = None
    #: grade_id -> Check of the helper cells (:func:`rnnkit.grading.engine.checks_in` links the checks of one
    #: assignment; without it, :meth:`grade` grades no helper).
    find: Callable | None = field(default=None, compare=False, repr=False)
    #: The specification this check was made from (:func:`rnnkit.grading.engine.check_of`), if any.
    spec: object = field(default=None, compare=False, repr=False)

    def cases(self, rng: np.random.Generator | None = None, *, seed: int | None = None) -> tuple[bytes, object, int]:
        """``(encoded calls, context, seed)`` for one grading run: the cases of ``seed`` when it is given (the
        seed a failure prints replays them exactly), else of a seed drawn from ``rng`` (or the system)."""
        r, seed = fresh_rng(rng, seed)
        calls, context = self.build(r)
        if self.large is not None:  # drawn after the check's own cases, which stay as they were
            args, expected, sizes = self.large.build(r)
            context = _WithLargeCase(context, len(calls), expected, sizes)
            calls = list(calls) + [with_budget(args, self.large.budget)]
        return encode_calls(calls), context, seed

    def _judge_records(self, context, records) -> Verdict:
        """The check's judge on its own records, then (if they pass) the large case's verdict."""
        if not isinstance(context, _WithLargeCase):
            return self.judge(context, records)
        verdict = self.judge(context.context, records[:context.calls])
        if not verdict.passed:
            return verdict
        record = records[context.calls] if len(records) > context.calls else None
        helper_failed = bool(records) and any(v is False for v in records[0].get("cells", {}).values())
        large = run_check(lambda: self.large.judge_record(self.function, context.expected, context.sizes, record,
                                                          time_only=helper_failed))
        return verdict if large.passed else large

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
        verdict = run_check(lambda: self._judge_records(context, records))
        if not verdict.passed and seed is not None:
            verdict = Verdict(False, f"{verdict.message}\n(Grading seed {seed}.)")
        return verdict

    def grade(self, fn, *, rng: np.random.Generator | None = None, seed: int | None = None,
              observe: Mapping | None = None) -> Verdict:
        """Run this check in this process (tests, trusted code, a learner's self-check): the same
        encoding as in the sandbox. ``observe`` as for :func:`rnnkit.grading.kernel.run_check`; ``seed``: the
        cases of that seed (the "Grading seed N" of a failure), else a seed drawn from ``rng``.

        The large case (if any) is run only when the check's own cases pass, the only time its record is
        read (in the sandbox every call runs): a wrong function is judged as fast as before."""
        data, context, seed = self.cases(rng) if seed is None else self.cases(seed=seed)
        cells = self._helper_verdicts(fn, rng, seed)
        if not callable(fn):
            records = [{"value": None, "error": f"not a function (got {type(fn).__name__})", "modified": [],
                        "aliased": [], "objects": {}}]
        else:
            calls = decode_calls(data)
            own = context.calls if isinstance(context, _WithLargeCase) else len(calls)
            records = run_calls(fn, calls[:own], dict(observe or {}))
            if own < len(calls) and self.judge_payload(context.context, encode_results(self.grade_id, records),
                                                       cells=cells).passed:
                records += run_calls(fn, calls[own:], dict(observe or {}))
        return self.judge_payload(context, encode_results(self.grade_id, records), seed, cells=cells)

    def _helper_verdicts(self, fn, rng, seed) -> dict:
        """In this process (trusted callers only): grade the helpers ``fn`` calls, found by name in its globals."""
        out = {}
        namespace = getattr(fn, "__globals__", {}) or {}
        for gid in self.helper_cells if self.find is not None else ():
            helper_check = self.find(gid)
            helper = namespace.get(helper_check.function)
            if callable(helper):
                out[gid] = helper_check.grade(helper, rng=rng, seed=seed).passed
        return out
