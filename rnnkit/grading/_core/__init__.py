"""Shared machinery of the checkers: verdicts, safe calls, array conversion, judging.

Nothing here prints: a grading cell that writes to stderr scores zero in nbgrader,
so warnings are silenced and the learner's own output is captured while their
code runs inside a check.
"""

from __future__ import annotations

from .basics import (BUG_MATCH_TOL, ERROR_FLOOR, GRAD_TOL, VALUE_TOL, Verdict, _Failure, distinct_sizes, require, wrap,
                     FD_EPS, FLOAT32_ERROR_FLOOR, FLOAT32_GRAD_TOL, FLOAT32_VALUE_TOL, LARGE_CASE_BUDGET, WRAP,
                     fresh_rng, run_check)
from .learner_calls import _quiet, _fresh, _copy_args, call_learner, _unwrap_chain, reject_reference
from .judging import (_dtype_problem, _match_variant, _max_error, as_float_array, judge, numerical_gradients,
                      float32_note, float32_tolerance, holds_float32_values, judged_error, within_tolerance,
                      scaled_rel_error, _type_name, unpack, shape_text, _steps_text,
                      _ranges, _nonfinite_where, _degenerate)
from .checks import Check, LargeCase, modified_warning, returned
from .probes import Probe, ProbeRule, diagnosed, first_rule, probe_conclusion
