"""Honest code is judged on its values, never on their representation; numerical backward passes cannot pass.

* Byte order, memory layout and writeability of a returned array are undone where every payload is read
  (``rnnkit.grading.kernel.encoding._plain_layout`` via ``decode_results``), so a correct result held big-endian,
  in Fortran order, with negative or gapped strides, or read-only keeps its points.
* A result computed in float32 is accepted within the stated float32 tolerance (``FLOAT32_VALUE_TOL``,
  ``FLOAT32_GRAD_TOL``) and named in the verdict; beyond it, it fails as before. Dtypes that are not real
  floats (bool, complex, object) and float16 are reported as before.
* Every backward check has a large case (``LargeCase``) that an analytic backward pass finishes in well under
  a second and central differences cannot finish within the budget.
"""
from __future__ import annotations

import functools
import time
import types

import numpy as np
import pytest

from rnnkit.grading import kernel
from rnnkit.grading import registry
from rnnkit.grading.engine import (FLOAT32_GRAD_TOL, FLOAT32_VALUE_TOL, GRAD_TOL, LARGE_CASE_BUDGET, VALUE_TOL,
                                   holds_float32_values, judged_error, within_tolerance)
from grading_bugs import a1_recurrence as a1, a3_bptt as a3, a6_lstm as a6, by_id


def _valid(table, grade_id: str):
    """The first valid implementation of the cell ``grade_id`` in a bug table."""
    return next(fn for grader, _, fn, expected in table.CASES
                if getattr(grader, "grade_id", None) == grade_id and expected is None)
from grading_bugs.numerical_backward import HONEST_SLOW, NUMERICAL


# ---------------------------------------------------------------------------------------------------------
# helpers: a learner's function with its outputs re-represented (same values), in the learner's globals
# ---------------------------------------------------------------------------------------------------------

def _map_floats(value, f, depth=0):
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return f(value)
    if isinstance(value, (tuple, list)) and depth < 4:
        out = [_map_floats(v, f, depth + 1) for v in value]
        return tuple(out) if isinstance(value, tuple) else out
    return value


def _in_globals_of(fn, wrapper):
    """``wrapper`` with ``fn``'s globals (a sequence function's step is found, observed and replaced there)."""
    g = types.FunctionType(wrapper.__code__, fn.__globals__, fn.__name__, wrapper.__defaults__, wrapper.__closure__)
    return functools.update_wrapper(g, fn, updated=())


def returning(fn, transform):
    """``fn`` with every float array it returns passed through ``transform`` (values unchanged)."""
    def make(inner, mapper, f):
        def wrapper(*args, **kwargs):
            return mapper(inner(*args, **kwargs), f)
        return wrapper
    return _in_globals_of(fn, make(fn, _map_floats, transform))


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


REPRESENTATIONS = {
    "big-endian '>f8'": lambda a: a.astype(a.dtype.newbyteorder(">")),
    "Fortran order": np.asfortranarray,
    "negative strides": lambda a: a[::-1].copy()[::-1] if a.ndim else a,
    "gapped strides": lambda a: np.stack([a, a], axis=-1)[..., 0] if a.ndim else a,
    "read-only": _read_only,
}

#: Correct learners whose outputs are re-represented: step functions of three assignments (a backward one
#: with its large case: test_big_endian_backward covers the other backward shapes).
CORRECT = [
    (by_id("test_recurrence_step"), _valid(a1, "test_recurrence_step")),
    (by_id("test_rnn_step_forward"), a3.step_fwd_ok),
    (by_id("test_rnn_step_backward"), a3.step_bwd_ok),
    (by_id("test_lstm_step_forward"), _valid(a6, "test_lstm_step_forward")),
]


@pytest.mark.parametrize("representation", list(REPRESENTATIONS))
@pytest.mark.parametrize("grader, fn", CORRECT, ids=[g.__name__ for g, _ in CORRECT])
def test_representation_is_not_judged(grader, fn, representation):
    verdict = grader(returning(fn, REPRESENTATIONS[representation]), rng=np.random.default_rng(0))
    assert verdict.passed, f"{representation}: {verdict.message}"


def test_big_endian_backward_keeps_its_points():
    """The issue's case: exact float64 gradients stored big-endian (e.g. read from a file)."""
    verdict = by_id("test_output_backward")(returning(a3.out_ok, REPRESENTATIONS["big-endian '>f8'"]),
                                            rng=np.random.default_rng(0))
    assert verdict.passed, verdict.message


def test_big_endian_step_costs_nothing_downstream():
    """A sequence function built on a step that returns '>f8' (e.g. read from a file): both cells keep their points."""
    step = returning(a3.step_forward, REPRESENTATIONS["big-endian '>f8'"])
    f_with_step = a3._calling(a3.f_with_step, rnn_step_forward=step)
    assert by_id("test_rnn_step_forward")(step, rng=np.random.default_rng(1)).passed
    verdict = by_id("test_rnn_forward")(f_with_step, rng=np.random.default_rng(1))
    assert verdict.passed, verdict.message


@pytest.mark.parametrize("representation", list(REPRESENTATIONS))
def test_payload_arrays_arrive_native_contiguous_writeable(representation):
    value = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7
    odd = REPRESENTATIONS[representation](value)
    record = {"value": (odd, odd.astype(np.float32)), "error": None, "modified": [], "aliased": [], "objects": {}}
    _, [decoded] = kernel.decode_results(kernel.encode_results("g", [record]))
    for got, dtype in zip(decoded["value"], (np.float64, np.float32)):
        assert got.dtype == dtype and got.dtype.isnative, got.dtype
        assert got.flags.c_contiguous and got.flags.writeable and type(got) is np.ndarray
        assert np.array_equal(got, value.astype(dtype))


def test_oracle_identifies_values_not_byte_order():
    """The step oracle answers a loop whose states are held big-endian (the identity is the values)."""
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    assert kernel.leaf_tag(x).tobytes() == kernel.leaf_tag(x.astype(">f8")).tobytes() \
        == kernel.leaf_tag(np.asfortranarray(x)).tobytes()
    assert kernel.leaf_tag(x).tobytes() != kernel.leaf_tag(x.astype(np.float32)).tobytes()


# ---------------------------------------------------------------------------------------------------------
# float32: accepted within the stated tolerance, and named; beyond it, refused
# ---------------------------------------------------------------------------------------------------------

def in_float32(fn):
    """``fn`` run on float32 copies of its float arguments; what it returns is cast back to float64 (the
    case of the issue: computed in float32, returned as float64)."""
    def make(inner, mapper):
        def wrapper(*args):
            out = inner(*mapper(args, lambda a: a.astype(np.float32)))
            return mapper(out, lambda a: a.astype(np.float64))
        return wrapper
    return _in_globals_of(fn, make(fn, _map_floats))


@pytest.mark.parametrize("grader, fn", [
    (by_id("test_output_backward"), a3.out_ok),
    (by_id("test_rnn_step_forward"), a3.step_fwd_ok),
    (by_id("test_rnn_backward_parameters"), a3.bptt_ok_vectorised),
    (by_id("test_rnn_backward_inputs"), a3.bptt_ok_vectorised),
    (by_id("test_lstm_step_backward"), _valid(a6, "test_lstm_step_backward")),
], ids=["output_backward", "rnn_step_forward", "rnn_backward_parameters", "rnn_backward_inputs",
        "lstm_step_backward"])
def test_float32_computation_is_accepted_and_named(grader, fn):
    verdict = grader(in_float32(fn), rng=np.random.default_rng(2))
    assert verdict.passed, verdict.message
    assert "holds float32 values (computed in float32): accepted within the float32 tolerance" in verdict.message


def test_float32_dtype_returned_is_accepted_and_named():
    verdict = by_id("test_rnn_step_forward")(returning(a3.step_fwd_ok, lambda a: a.astype(np.float32)),
                                             rng=np.random.default_rng(3))
    assert verdict.passed and "h holds float32 values" in verdict.message, verdict.message


def test_float32_mistakes_are_still_caught_and_named():
    verdict = by_id("test_output_backward")(in_float32(a3.out_transposed_wy), rng=np.random.default_rng(4))
    assert not verdict.passed
    verdict = by_id("test_rnn_step_backward")(in_float32(a3.step_bwd_no_tanh_prime), rng=np.random.default_rng(4))
    assert not verdict.passed and "float32 tolerance" in verdict.message, verdict.message


def test_float32_tolerance_rule():
    rng = np.random.default_rng(5)
    exact = rng.standard_normal((6, 7))
    rounded = exact.astype(np.float32).astype(np.float64)
    assert holds_float32_values(rounded) and not holds_float32_values(exact)
    assert not holds_float32_values(np.zeros(3)) and not holds_float32_values(np.arange(4.0))
    err, tol, float32 = judged_error(rounded, exact, VALUE_TOL)
    assert float32 and tol == FLOAT32_VALUE_TOL and float(err.max()) < 1e-7
    assert judged_error(rounded, exact, GRAD_TOL)[1] == FLOAT32_GRAD_TOL
    off = (exact * (1 + 3 * FLOAT32_VALUE_TOL)).astype(np.float32).astype(np.float64)   # beyond the tolerance
    assert not within_tolerance(off, exact, VALUE_TOL)
    near = (exact * (1 + 0.2 * FLOAT32_VALUE_TOL)).astype(np.float32).astype(np.float64)
    assert within_tolerance(near, exact, VALUE_TOL)
    # float64 results keep the float64 tolerance
    assert not within_tolerance(exact * (1 + 10 * VALUE_TOL), exact, VALUE_TOL)


@pytest.mark.parametrize("transform, expected", [
    (lambda a: a.astype(np.float16), "has dtype float16"),
    (lambda a: a.astype(np.complex128), "got ndarray of dtype complex128"),
    (lambda a: a.astype(object), "got ndarray of dtype object"),
    (lambda a: a > 0, "got dtype bool"),
], ids=["float16", "complex", "object", "bool"])
def test_non_real_or_half_precision_dtypes_still_reported(transform, expected):
    verdict = by_id("test_rnn_step_forward")(returning(a3.step_fwd_ok, transform), rng=np.random.default_rng(6))
    assert not verdict.passed and expected in verdict.message, verdict.message


def test_integer_array_is_judged_by_its_values():
    """An int array is read as numbers (as before): wrong values, reported as wrong values."""
    verdict = by_id("test_rnn_step_forward")(returning(a3.step_fwd_ok, lambda a: np.rint(a).astype(np.int64)),
                                             rng=np.random.default_rng(7))
    assert not verdict.passed and "h is wrong" in verdict.message, verdict.message


# ---------------------------------------------------------------------------------------------------------
# numerical differentiation cannot pass a backward check
# ---------------------------------------------------------------------------------------------------------

def _large_checks():
    return [(a, gid, c) for a in registry.MODULES for gid, c in registry.checks_for(a).items() if c.large]


def test_every_backward_cell_has_a_large_case():
    names = {gid for _, gid, _ in _large_checks()}
    assert names == {"test_rnn_step_backward", "test_rnn_backward_parameters", "test_rnn_backward_inputs",
                     "test_output_backward", "test_tbptt_backward", "test_output_rnn_backward",
                     "test_lstm_step_backward", "test_lstm_backward_parameters", "test_lstm_backward_inputs"}
    covered = {getattr(g, "__name__", "") for g, _, _ in NUMERICAL}
    assert len(NUMERICAL) == len(names) and len(covered) >= 6


@pytest.mark.parametrize("grader, label, fn", NUMERICAL, ids=[label for _, label, _ in NUMERICAL])
def test_numerical_backward_loses_the_cell(grader, label, fn):
    t0 = time.perf_counter()
    verdict = grader(fn, rng=np.random.default_rng(8))
    elapsed = time.perf_counter() - t0
    assert not verdict.passed, f"{label}: a backward pass by central differences passed"
    if "(inputs)" in label and "lstm" in label:
        # central differences are too noisy for this cell's shut-forget-gate probe: it loses there already
        assert "dc0 is wrong" in verdict.message or "did not finish the large case" in verdict.message
    else:
        assert f"did not finish the large case" in verdict.message and "must be analytic" in verdict.message, \
            verdict.message
    assert elapsed < LARGE_CASE_BUDGET + 20, f"{label}: the budget did not stop it ({elapsed:.0f} s)"


def test_numerical_backward_cannot_finish_the_large_case_even_where_a_probe_stops_it_first():
    from grading_bugs.numerical_backward import numerical_lstm_backward
    check = registry.checks_for("a6-lstm")["test_lstm_backward_inputs"]
    args, expected, sizes = check.large.build(np.random.default_rng(9))
    [record] = kernel.run_calls(numerical_lstm_backward, kernel.decode_calls(
        kernel.encode_calls([kernel.with_budget(args, 1.0)])))
    assert record["error"].startswith(kernel.BUDGET_ERROR), record["error"]
    verdict = check.large.judge_record("lstm_backward", expected, sizes, record)
    assert not verdict.passed and "did not finish the large case (T=40" in verdict.message


@pytest.mark.parametrize("grader, label, fn", HONEST_SLOW, ids=[label for _, label, _ in HONEST_SLOW])
def test_honest_loops_pass_with_a_wide_margin(grader, label, fn):
    """Analytic backward passes with plain Python loops over time and batch rows pass, the large case included
    (the grader runs it under LARGE_CASE_BUDGET). How far inside the budget they stay is a speed claim, measured
    by ``python tests/grading/grading_bugs/numerical_backward.py``, not asserted here (a timed unit test would
    fail on a loaded machine, not on a wrong grader)."""
    verdict = grader(fn, rng=np.random.default_rng(10))
    assert verdict.passed, f"{label}: {verdict.message}"


def test_notebooks_state_the_tolerances_and_the_analytic_rule():
    """What the judge applies is what each notebook's introduction says (exercises/ is generated from these)."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]

    def e(x):
        return f"{x:.0e}".replace("e-0", "e-")
    large = {}
    for a, gid, c in _large_checks():
        large.setdefault(a, set()).add(c.function)
    for assignment in registry.MODULES:
        text = " ".join((root / "solutions" / assignment / f"{assignment}.md").read_text().split())
        assert (f"within a relative {e(VALUE_TOL)}" in text and f"within {e(GRAD_TOL)} of central differences" in text
                and f"relative {e(FLOAT32_VALUE_TOL)} for values, {e(FLOAT32_GRAD_TOL)} for gradients" in text), \
            assignment
        if assignment in large:
            rule = text[text.index("**Backward passes must be analytic**"):][:700]
            assert f"gives it {LARGE_CASE_BUDGET:g} seconds" in rule, assignment
            assert all(f"`{func}` with" in rule for func in large[assignment]), (assignment, large[assignment])
