"""The grading engine: one case loop, one probe reader, one blame, one error metric for every graded function.

An assignment module (:mod:`rnnkit.grading.assignments`) holds one :class:`GradedFunction` per hidden test
cell and ends with ::

    CHECKS = checks_in(__name__)
    SANDBOX_EXPORTS = (...)
    SANDBOX_WITHHELD = withheld_by(CHECKS) + (...)

:func:`check_of` turns a specification into the :class:`Check` the nbgrader pipeline, the sandbox and
``self_check`` run. The recipe is in book/instructor-guide.md ("Adding a graded function").
"""
from __future__ import annotations

import importlib
import pkgutil

from .basics import Failure as Problem
from .basics import (BUG_MATCH_TOL, ERROR_FLOOR, FD_EPS, FLOAT32_ERROR_FLOOR, FLOAT32_GRAD_TOL, FLOAT32_VALUE_TOL,
                     GRAD_TOL, LARGE_CASE_BUDGET, VALUE_TOL, WRAP, Failure, Verdict, distinct_sizes, fresh_rng,
                     require, run_check, wrap)
from ..kernel import RecordingGenerator, Transition, special
from .checks import Check, LargeCase
from .compare import (as_float_array, holds_float32_values, judge, judged_error, numerical_gradients, scaled_rel_error,
                      shape_text,
                      within_tolerance)
from .run import Context, Outcome, build, case_text, cases_of
from .spec import GradedFunction, Mistake, Probe, ProbeRule, StepHelper
from .verdicts import judge_records

__all__ = ["BUG_MATCH_TOL", "ERROR_FLOOR", "FD_EPS", "FLOAT32_ERROR_FLOOR", "FLOAT32_GRAD_TOL", "FLOAT32_VALUE_TOL",
           "GRAD_TOL", "LARGE_CASE_BUDGET", "VALUE_TOL", "WRAP", "Check", "Context", "Failure", "GradedFunction",
           "LargeCase", "Mistake", "Outcome", "Probe", "Problem", "ProbeRule", "RecordingGenerator", "StepHelper",
           "Transition", "Verdict", "as_float_array", "case_text", "cases_of", "check_of", "checks_in",
           "distinct_sizes", "fresh_rng", "holds_float32_values", "judge", "judge_records", "judged_error",
           "numerical_gradients", "require", "run_check", "scaled_rel_error", "shape_text", "special", "withheld_by",
           "within_tolerance", "wrap"]


def check_of(spec: GradedFunction, find=None) -> Check:
    """The :class:`Check` of one specification. ``find(grade_id) -> Check`` finds the cell of the spec's step
    function (:func:`checks_in` links the checks of one assignment so)."""
    return Check(spec.grade_id, spec.function, build=build(spec),
                 judge=lambda context, records: judge_records(spec, context, records),
                 helper_cells=(spec.step.cell,) if spec.step is not None else (), large=spec.large, find=find,
                 spec=spec)


def _specs_in(module) -> list:
    specs = [v for v in vars(module).values() if isinstance(v, GradedFunction)]
    if hasattr(module, "__path__"):  # a package: each of its submodules too
        for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda i: i.name):
            specs += _specs_in(importlib.import_module(f"{module.__name__}.{info.name}"))
    return specs


def checks_in(module_name: str) -> dict:
    """``grade_id -> Check`` for every :class:`GradedFunction` defined at module level in ``module_name`` (or, a
    package, in each of its submodules): adding a graded function is adding a spec, nothing to register."""
    checks: dict = {}
    for spec in _specs_in(importlib.import_module(module_name)):
        if spec.grade_id in checks:
            if checks[spec.grade_id].spec is spec:  # the same spec, imported into a second module
                continue
            raise ValueError(f"checks_in({module_name!r}): two specifications with grade_id {spec.grade_id!r}")
        checks[spec.grade_id] = check_of(spec, find=checks.__getitem__)
    return checks


def withheld_by(checks: dict) -> tuple:
    """The union of the specs' ``withheld`` names (in order, each once)."""
    names = []
    for check in checks.values():
        for name in getattr(check.spec, "withheld", ()):
            if name not in names:
                names.append(name)
    return tuple(names)
