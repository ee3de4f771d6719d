"""The checks' shared machinery before the engine (:mod:`rnnkit.grading.engine`), kept for the assignments not
yet ported to it: every name here is the engine's, re-exported under its old name. Deleted once no assignment
package imports it.
"""

from __future__ import annotations

from ..engine.basics import (BUG_MATCH_TOL, ERROR_FLOOR, GRAD_TOL, VALUE_TOL, Verdict, distinct_sizes, require, wrap,
                             FD_EPS, FLOAT32_ERROR_FLOOR, FLOAT32_GRAD_TOL, FLOAT32_VALUE_TOL, LARGE_CASE_BUDGET, WRAP,
                             fresh_rng, run_check)
from ..engine.basics import Failure as _Failure
from .learner_calls import _quiet, _fresh, _copy_args, call_learner, _unwrap_chain, reject_reference
from ..engine.compare import (as_float_array, judge, numerical_gradients, float32_note, float32_tolerance,
                              holds_float32_values, judged_error, within_tolerance, scaled_rel_error, unpack,
                              shape_text)
from ..engine.compare import (dtype_problem as _dtype_problem, match_mistake as _match_variant,
                              max_error as _max_error, _type_name, _steps_text, _ranges, _nonfinite_where,
                              _degenerate)
from ..engine.checks import Check, LargeCase, modified_warning, returned
from .probes import Probe, ProbeRule, diagnosed, first_rule, probe_conclusion
