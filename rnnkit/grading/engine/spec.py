"""The specification of a graded function: data and small pure functions, read by the engine.

A hidden test cell is one :class:`GradedFunction`: its signature, how its cases are drawn, the
reference, what is compared, its named mistakes (:class:`Mistake`), its probe cases (:class:`Probe`)
and the rules that read them (:class:`ProbeRule`), and, for a sequence function built on the
learner's step function, the :class:`StepHelper` that lets the engine blame the step or the loop.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from .checks import LargeCase


@dataclass(frozen=True)
class Mistake:
    """A named mistake, as data.

    ``name``: a short stable id (``"no-cell-carry"``); ``text``: what the learner is told after
    "Likely cause: "; ``outputs(case) -> {output: array}``: what a function with this mistake returns on
    ``case`` (only the outputs the mistake changes need to be given; for the cache, ``"cache"`` maps to
    the tuple of its entries).
    """
    name: str
    text: str
    outputs: Callable[[dict], dict]


@dataclass(frozen=True)
class Probe:
    """A fixed case with one part of the computation switched off, so that the part cannot show a mistake.

    ``make(base case) -> probe case`` (it must set the probe case's ``"sizes"``); ``what``: how the case
    differs, for messages (``"x = 0 and b = 0"``); ``meaning``: what it says when the full case is wrong
    but this probe is right; ``if_fails``: what it says when this probe is wrong but the full case is right.
    """
    name: str
    make: Callable[[dict], dict]
    what: str = ""
    meaning: str = ""
    if_fails: str = ""


@dataclass(frozen=True)
class ProbeRule:
    """A conclusion drawn from which cases are wrong: ``wrong`` and ``right`` hold keys ``"case"`` (any
    output of that case) or ``"case:output"``, where ``case`` is ``"full"`` (the random case) or a probe's
    name; ``any_wrong``: at least one of these keys is wrong. The first rule that holds is shown."""
    wrong: tuple = ()
    right: tuple = ()
    text: str = ""
    any_wrong: tuple = field(default=())

    def holds(self, wrong: Mapping[str, bool]) -> bool:
        """Whether the rule applies, given ``wrong``: key -> whether it is wrong (a key without an outcome
        is neither right nor wrong, so a rule that names it does not apply)."""
        if any(wrong.get(k) is not True for k in self.wrong) or any(wrong.get(k) is not False for k in self.right):
            return False
        return not self.any_wrong or any(wrong.get(k) is True for k in self.any_wrong)


def _no_labels(case: dict) -> list:
    return []


@dataclass(frozen=True)
class StepHelper:
    """The learner's step function a sequence function is built on: what a correct loop asks of it.

    ``calls(case) -> [(args, results)]``: every step call a correct loop makes, in order (a correct step
    function standing in for the learner's answers exactly these); ``assemble(case, results) -> {output:
    array}``: what a correct loop returns from the step results it received (the learner's own run must
    equal it to be credited); ``expected_args(case, results) -> [args]`` (optional): the arguments a correct
    loop passes at its first ``len(results) + 1`` calls (all of them once every result is in) when its step
    returned ``results``; ``labels(case) -> [(label, array)]``: named values, so that a wrong argument is
    reported as "h_prev is Hs[2] (h⁽³⁾) where Hs[1] belongs"; ``call_names(case) -> [str]``: what each call
    is ("time step t=3"); ``signature``: how a correct loop calls it, for messages; ``leaf_names``: the name
    of each array inside the arguments, in order; ``count_size``: the size letter the number of calls
    follows ("called rnn_step_backward 6 times for T = 7"); ``explain_miss(case, k, wrong)``: the cause behind the
    wrong arguments of the first call a correct loop would not make.
    """
    name: str
    cell: str
    calls: Callable[[dict], list]
    assemble: Callable[[dict, list], dict]
    labels: Callable[[dict], list] = _no_labels
    signature: str = ""
    leaf_names: tuple = ()
    expected_args: Callable[[dict, list], list] | None = None
    call_names: Callable[[dict], list] | None = None
    count_size: str = "T"
    explain_miss: Callable[[dict, int, list], str] | None = None  # (case, call number, [(argument, got label,
    #                         wanted label)])
    #                         -> a sentence naming the loop's mistake behind a wrong argument ('' if none)


@dataclass(frozen=True)
class GradedFunction:
    """One hidden test cell: the specification of one graded function (or one part of it).

    See the fields' comments; :func:`rnnkit.grading.engine.check_of` turns it into the
    :class:`~rnnkit.grading.engine.Check` the pipeline, the sandbox and ``self_check`` run.
    """
    grade_id: str
    function: str
    arguments: tuple          # parameter names in order, e.g. ("dh", "cache")
    returns: tuple            # every returned value in order, a cache included, e.g. ("h", "cache")
    args_of: Callable[[dict], tuple]          # case -> the positional arguments
    draw: Callable[[np.random.Generator], dict]   # the random case (a dict of arrays + "sizes"), or a list of
    #                         cases drawn together (the first is "full" for the probe rules)
    reference: Callable[[dict], dict]         # case -> {output: expected array}; "cache": the expected tuple
    kind: str = "values"      # "values" (VALUE_TOL), "gradients" (GRAD_TOL), "exact" (integers, entry for entry)
    tol: float | dict | None = None   # default from kind; a dict: output -> tolerance
    judged: tuple | None = None               # the outputs this cell grades (default: every non-cache return)
    cache: tuple = ()         # names of the entries of the returned cache the notebook prescribes
    edge_cases: tuple = ()    # fixed cases (callables () -> case) judged on every run: T = 1, B = 1 ...
    mistakes: object = ()     # Mistake entries, or a callable case -> [Mistake] when they share work
    probes: tuple = ()        # Probe entries
    probe_base: Callable[[], dict] | None = None  # the fixed case the probes are made from
    rules: tuple = ()         # ProbeRule or probe-name entries; the first that holds concludes
    none_right: str = ""      # the conclusion when no rule holds
    dims: dict = field(default_factory=dict)      # output/argument name -> "T B H" (shape messages)
    time_axes: dict = field(default_factory=dict)  # output -> time axis (per-step report)
    direction: str = "backward"
    hints: dict = field(default_factory=dict)     # output -> generic advice when no mistake matches
    error_hints: tuple = ("matmul",)  # exception hints: "matmul", "broadcast", or (text in the exception, hint)
    step: StepHelper | None = None                # blame the step function or the loop
    large: LargeCase | None = None
    judge: Callable | None = None  # ESCAPE HATCH: (context, records) -> Verdict replaces the engine's judging
    calls: Callable | None = None  # ESCAPE HATCH: case -> list of extra calls (after the case's own call)
    withheld: tuple = ()      # names of rnnkit's library that compute this function (kept out of the sandbox)
    # added by the engine (issue #19), all optional:
    numerical: Callable[[dict], dict] | None = None  # case -> central differences, the ground truth of the
    #                         drawn and edge cases of a gradients cell ("compared with central differences")
    argument_notes: dict = field(default_factory=dict)  # argument -> why writing into it matters
    kept: dict = field(default_factory=dict)  # argument -> why the caller needs it unchanged: a write into it
    #                         FAILS the cell, with this text (every other argument: passes with a note)
    read: Callable | None = None  # (case, {return name: value}, {argument name: its object's record}) ->
    #                         {output: value} judged instead of the returned values; raise Problem(text) (or
    #                         return a str) for a form problem, reported as that case's failure
    explain: Callable | None = None  # (cases, [outputs or None per case]) -> a cause read from the learner's
    #                         own outputs when no Mistake matches ('' if none): "Likely cause: ..."
    mistakes_on: str = "the case"  # or "every case": a Mistake is named only when it explains the learner's
    #                         outputs on every case (where it changes nothing, the learner must be right)
    unit: str = "entries"     # what an exact output holds, for "3 of 12 tokens differ"
    passed_note: str = ""     # said of a passing function: "also for a (B, K) array and for logits of ±1000"
    aliases_allowed: tuple = ()  # returns that may be (views of) an argument's arrays, e.g. windows of the input

    @property
    def judged_outputs(self) -> tuple:
        """The outputs this cell grades."""
        if self.judged is not None:
            return tuple(self.judged)
        return tuple(r for r in self.returns if not (self.cache and r == "cache"))
