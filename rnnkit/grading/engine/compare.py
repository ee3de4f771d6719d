"""Judging a learner's outputs: conversion to plain float64, the relative error, the message that
explains every mismatch (shape, dtype, NaN, which time steps, which known mistake)."""
from __future__ import annotations

from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from ...gradcheck import gradient_error, numerical_gradient
from ..kernel import Other
from .basics import (BUG_MATCH_TOL, ERROR_FLOOR, FD_EPS, FLOAT32_ERROR_FLOOR, FLOAT32_GRAD_TOL, FLOAT32_VALUE_TOL,
                     GRAD_TOL, Failure, Verdict)

# Bound once, at import: a learner who later rebinds ``np.abs`` or ``np.isfinite`` in their notebook
# changes what *their* code sees, not what the checks use.
_array = np.array
_ndarray = np.ndarray
_isfinite = np.isfinite
_argmax = np.argmax
_unravel_index = np.unravel_index
_float64 = np.float64
_float32 = np.float32
_errstate = np.errstate
_asarray = np.asarray
_real_scalar_types = (int, float, np.integer, np.floating)


def as_float_array(value, func: str, name: str) -> np.ndarray:
    """A fresh, plain float64 copy of a learner's output, or a failure saying what is wrong with it.

    Only real numbers are accepted: an ndarray (of any subclass, which is stripped)
    of integer or float dtype, or a Python/numpy real scalar. Lists, objects that
    pretend to compare equal, complex numbers, NaN and infinity get nothing.
    """
    if isinstance(value, bool) or isinstance(value, np.bool_):
        raise Failure(f"{func}: {name} must be a float array; got a bool.")
    if isinstance(value, Other):  # a value the kernel could not send as plain numbers
        kind = "a float array" if value.type_name.startswith("ndarray") else "a numpy array"
        raise Failure(f"{func}: {name} must be {kind}; got {value.type_name}.")
    if isinstance(value, _ndarray):
        if value.dtype.kind not in "fiu":
            raise Failure(f"{func}: {name} must be a float array; got dtype {value.dtype}.")
        arr = _array(value, dtype=_float64, copy=True, subok=False)
    elif isinstance(value, _real_scalar_types):
        arr = _array(float(value), dtype=_float64)
    else:
        raise Failure(f"{func}: {name} must be a numpy array; got {type(value).__name__}.")
    if type(arr) is not _ndarray:  # pragma: no cover - subok=False guarantees it
        raise Failure(f"{func}: {name} could not be read as a plain array.")
    with _errstate(all="ignore"):
        finite = bool(_isfinite(arr).all())
    if not finite:
        raise Failure(f"{func}: {name} contains NaN or infinity.")
    return arr


def _type_name(value) -> str:
    return value.type_name if isinstance(value, Other) else type(value).__name__


def unpack(out, func: str, names: Sequence[str]):
    """Split a learner's return value into the ``len(names)`` outputs the docstring promises."""
    n = len(names)
    if n == 1:
        return (out,)
    if not isinstance(out, (tuple, list)):
        raise Failure(f"{func} must return {n} values ({', '.join(names)}); got a single {_type_name(out)}.")
    if len(out) != n:
        raise Failure(f"{func} must return {n} values ({', '.join(names)}); got {len(out)}.")
    return tuple(out)


def shape_text(shape: tuple, dims: str | None, sizes: Mapping[str, int]) -> str:
    """``(H, D) = (5, 4)`` style description."""
    if not dims:
        return str(tuple(shape))
    letters = dims.split()
    return "(" + ", ".join(letters) + ("," if len(letters) == 1 else "") + f") = {tuple(shape)}"


def scaled_rel_error(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """The error every check judges with: :func:`rnnkit.gradcheck.gradient_error` in its grading regime.

    Elementwise ``|got - expected| / max(|got| + |expected|, ERROR_FLOOR * max|expected|, 1e-12)``
    (``inf`` where a value is not finite or the shapes differ). The floor judges entries far below
    the array's scale on that scale, where finite-difference noise would otherwise dominate a
    purely elementwise ratio.
    """
    return gradient_error(got, expected, floor_fraction=ERROR_FLOOR)


def holds_float32_values(arr: np.ndarray) -> bool:
    """Whether every entry of the float64 array ``arr`` is a float32 number: the result was computed (or
    returned) in float32. A float64 computation lands on float32 numbers by chance only (2**-29 per entry);
    an empty array, or one of small integers and zeros, says nothing about precision and counts as not."""
    if arr.size == 0:
        return False
    with _errstate(all="ignore"):
        if not bool((arr.astype(_float32).astype(_float64) == arr).all()):
            return False
        return not bool((arr == np.round(arr)).all())


def float32_tolerance(tol: float) -> float:
    """The tolerance a float32 result is judged with where a float64 one gets ``tol``: FLOAT32_GRAD_TOL in
    the gradient regime (``tol >= GRAD_TOL``), FLOAT32_VALUE_TOL for forward values; never tighter than
    ``tol`` itself."""
    return max(tol, FLOAT32_GRAD_TOL if tol >= GRAD_TOL else FLOAT32_VALUE_TOL)


def judged_error(got: np.ndarray, expected: np.ndarray, tol: float) -> tuple[np.ndarray, float, bool]:
    """``(elementwise error, tolerance, float32?)`` for the learner's ``got`` against ``expected``.

    A float64 result: :func:`scaled_rel_error` and ``tol``. A result that holds float32 values
    (:func:`holds_float32_values`): the same error with the floor FLOAT32_ERROR_FLOOR, and
    :func:`float32_tolerance` of ``tol`` (the rule the notebooks state). Only the values say "float32":
    a result computed partly in float32 and finished with a float64 operation is judged as float64.
    """
    if holds_float32_values(got):
        return gradient_error(got, expected, floor_fraction=FLOAT32_ERROR_FLOOR), float32_tolerance(tol), True
    return scaled_rel_error(got, expected), tol, False


def within_tolerance(got, expected, tol: float) -> bool:
    """Whether the learner's ``got`` matches ``expected`` as :func:`judge` decides it (same shape, the
    float32 rule of :func:`judged_error`); both plain float arrays."""
    got = _asarray(got, dtype=_float64)
    expected = _asarray(expected, dtype=_float64)
    if got.shape != expected.shape:
        return False
    if got.size == 0:
        return True
    err, used, _ = judged_error(got, expected, tol)
    return bool(float(err.max()) <= used)


def float32_note(name: str, worst: float, tol: float) -> str:
    """What a verdict says about an output judged as float32."""
    return (f"{name} holds float32 values (computed in float32): accepted within the float32 tolerance "
            f"{tol:.0e} (largest relative error {worst:.1e}); the inputs are float64, and float64 is "
            f"checked at the far tighter float64 tolerance.")


def max_error(got, expected) -> float:
    if got.shape != expected.shape:
        return float("inf")
    if got.size == 0:
        return 0.0
    return float(scaled_rel_error(got, expected).max())


def _steps_text(err: np.ndarray, tol: float, time_axis: int, direction: str) -> str:
    """Which time steps (1-based, as in the book) are wrong, and the first one in ``direction``."""
    T = err.shape[time_axis]
    per_step = [float(np.take(err, t, axis=time_axis).max()) for t in range(T)]
    wrong = [t + 1 for t in range(T) if per_step[t] > tol]
    right = [t + 1 for t in range(T) if per_step[t] <= tol]
    if not wrong:
        return ""
    if direction == "backward":
        first = max(wrong)
        lead = f"Going backwards from t=T={T} (the order of BPTT), the first wrong step is t={first}"
    else:
        first = min(wrong)
        lead = f"Going forwards from t=1, the first wrong step is t={first}"
    right_text = f"; correct at t={_ranges(right)}" if right else "; no step is correct"
    return f" {lead}; wrong at t={_ranges(wrong)}{right_text}."


def _ranges(steps: list[int]) -> str:
    """[1,2,3,5] -> '1..3, 5'"""
    parts, start = [], None
    for i, s in enumerate(steps):
        if start is None:
            start = s
        if i + 1 == len(steps) or steps[i + 1] != s + 1:
            parts.append(f"{start}" if start == s else f"{start}..{s}")
            start = None
    return ", ".join(parts)


def judge(func: str, names: Sequence[str], got: Sequence, expected: Mapping[str, np.ndarray], *,
          tol: float, kind: str, compared_with: str,
          dims: Mapping[str, str] | None = None, sizes: Mapping[str, int] | None = None,
          variants: Iterable[tuple[str, Mapping[str, np.ndarray]]] = (),
          time_axes: Mapping[str, int] | None = None, direction: str = "backward",
          hints: Mapping[str, str] | None = None, select: Sequence[str] | None = None,
          context: str = "", inputs: str = "fresh inputs", unit: str = "entries") -> Verdict:
    """Compare a learner's outputs ``got`` (unconverted, named ``names``) with ``expected`` and explain every
    mismatch: form (type, dtype, NaN), shape, the worst relative error and where, for ``time_axes`` outputs the
    wrong steps (the first one counted in ``direction``), and the mistake of ``variants`` (``[(text, outputs)]``)
    that the wrong output equals, else ``hints[name]``. ``tol``: one tolerance or one per output; ``kind`` and
    ``compared_with`` word the message ("gradients", "central differences"; ``kind="exact"``: integer outputs
    equal entry for entry, ``unit`` naming what they hold); ``dims``/``sizes`` word shapes; ``select``: the
    outputs judged; ``context`` (sizes) and ``inputs`` ("fresh inputs", "the fixed case") end a failure."""
    dims = dims or {}
    sizes = sizes or {}
    time_axes = time_axes or {}
    hints = hints or {}
    variants = list(variants)
    # How many of the learner's outputs each buggy variant explains: when two bugs
    # produce the same value for one output, name the one that explains the most.
    support = [0] * len(variants)
    for name, value in zip(names, got):
        if isinstance(value, _ndarray) and value.dtype.kind in "fiu":
            with _errstate(all="ignore"):
                arr = _array(value, dtype=_float64, copy=True, subok=False)
            for i, (_, outs) in enumerate(variants):
                if name in outs and outs[name].shape == arr.shape and within_tolerance(arr, outs[name], BUG_MATCH_TOL):
                    support[i] += 1
    order = sorted(range(len(variants)), key=lambda i: -support[i])
    variants = [variants[i] for i in order]
    problems = []
    float32_notes = []
    named: set[str] = set()  # diagnoses already spelled out in this message
    for name, value in zip(names, got):
        if select is not None and name not in select:
            continue
        exp = expected[name]
        tol_n = tol[name] if isinstance(tol, Mapping) else tol
        if kind == "exact":
            msg = exact_message(func, name, value, exp, time_axes.get(name), unit,
                                shape_text(_asarray(exp).shape, dims.get(name), sizes))
            if msg and isinstance(value, _ndarray) and value.dtype.kind in "iu":
                diagnosis = match_mistake(name, value.astype(_float64), exp, variants)
                hint = f" Hint: {hints[name]}" if name in hints else ""
                msg += (" Likely cause: the same as above." if diagnosis and diagnosis in named else
                        f" Likely cause: {diagnosis}" if diagnosis else hint)
                named.update([diagnosis] if diagnosis else [])
            if msg:
                problems.append(msg)
            continue
        try:
            arr = as_float_array(value, func, name)
        except Failure as f:
            problems.append(str(f) + _nonfinite_where(value, name, time_axes) + _nonfinite_match(name, value, variants))
            continue
        form = dtype_problem(value, func, name)
        if form:
            problems.append(form)
            continue
        if arr.shape != exp.shape:
            msg = (f"{func}: {name} has shape {arr.shape}; expected {shape_text(exp.shape, dims.get(name), sizes)}.")
            diagnosis = match_mistake(name, arr, exp, variants)
            if diagnosis:
                msg += f" Likely cause: {diagnosis}"
            elif arr.ndim == 2 and arr.shape == exp.shape[::-1]:
                msg += (" It looks transposed: a weight of shape (out, in) has a gradient of the same shape, "
                        "computed as δᵀ @ (input), not (input)ᵀ @ δ.")
            problems.append(msg)
            continue
        err, used_tol, float32 = judged_error(arr, exp, tol_n)
        worst = float(err.max()) if err.size else 0.0
        if worst <= used_tol:
            if float32:
                float32_notes.append(float32_note(name, worst, used_tol))
            continue
        idx = tuple(int(i) for i in _unravel_index(int(_argmax(err)), err.shape)) if err.ndim else ()
        tolerance = f"float32 tolerance {used_tol:.0e}: its values are float32 numbers" if float32 else \
            f"tolerance {used_tol:.0e}"
        msg = (f"{func}: {name} is wrong: largest relative error {worst:.1e} at index {list(idx)} "
               f"({tolerance}, {kind} compared with {compared_with}).")
        msg += _degenerate(arr, exp, name)
        if name in time_axes:
            msg += _steps_text(err, used_tol, time_axes[name], direction)
        diagnosis = match_mistake(name, arr, exp, variants)
        if diagnosis and diagnosis in named:
            msg += " Likely cause: the same as above."
        elif diagnosis:
            msg += f" Likely cause: {diagnosis}"
            named.add(diagnosis)
        elif name in hints:
            msg += f" Hint: {hints[name]}"
        problems.append(msg)
    if problems:
        text = "\n".join(problems)
        if context:
            text += f"\n(Checked on {inputs}: {context}.)"
        return Verdict(False, text)
    checked = [n for n in names if select is None or n in select]
    return Verdict(True, f"{func}: {', '.join(checked)} correct ({context})." +
                   "".join(" " + note for note in float32_notes))


def exact_wrong(value, exp) -> bool:
    """Whether an output judged exactly (``kind="exact"``) is wrong: not an integer array of the expected shape
    equal to ``exp`` entry for entry."""
    return not (isinstance(value, _ndarray) and value.dtype.kind in "iu" and value.shape == np.shape(exp)
                and bool(np.array_equal(value, exp)))


def exact_message(func: str, name: str, value, exp, time_axis: int | None, unit: str = "entries",
                  expected_shape: str = "") -> str:
    """What is wrong with an integer output judged exactly ('' when it is right)."""
    if isinstance(value, bool) or not isinstance(value, _ndarray) or value.dtype.kind not in "iu":
        got = f"dtype {value.dtype}" if isinstance(value, _ndarray) else _type_name(value)
        return f"{func}: {name} must be an integer numpy array; got {got}."
    exp = _asarray(exp)
    if value.shape != exp.shape:
        return f"{func}: {name} has shape {value.shape}; expected {expected_shape or exp.shape}."
    differ = value != exp
    if not differ.any():
        return ""
    if value.ndim == 0:  # a count: the feedback never gives the answer away
        return f"{func}: {name} is {value}, which is wrong."
    idx = tuple(int(i) for i in _unravel_index(int(_argmax(differ)), differ.shape)) if differ.ndim else ()
    where = f"index {list(idx)}"
    if time_axis is not None and len(idx) > time_axis:
        rest = [i for k, i in enumerate(idx) if k != time_axis]
        where = f"step t={idx[time_axis] + 1}" + (f", sequence {rest[0]}" if len(rest) == 1 else "")
    return (f"{func}: {name} is wrong: {int(differ.sum())} of {differ.size} {unit} differ; the first at {where}: "
            f"got {value[idx]}, expected {exp[idx]}.")


def _nonfinite_match(name: str, value, variants) -> str:
    """' Likely cause: …' when a mistake's output has NaN or infinity at the very entries the learner's has, and
    equals it elsewhere ('' otherwise)."""
    if isinstance(value, (float, np.floating)):
        value = _asarray(value, dtype=_float64)
    if not isinstance(value, _ndarray) or value.dtype.kind != "f":
        return ""
    with _errstate(all="ignore"):
        bad = ~_isfinite(value)
        for diagnosis, outs in variants:
            v = outs.get(name)
            v = _asarray(v, dtype=_float64) if isinstance(v, (float, np.floating)) else v
            if not isinstance(v, _ndarray) or v.shape != value.shape or not bad.any():
                continue
            if (~_isfinite(v) == bad).all() and within_tolerance(value[~bad], v[~bad], BUG_MATCH_TOL):
                return f" Likely cause: {diagnosis}"
    return ""


def dtype_problem(value, func: str, name: str) -> str:
    """A float output of less than float32 precision (float16): every input of a check is float64, and a
    half-precision result passes or fails a check by luck, so it is reported on every run. float32 and
    wider floats, in either byte order, are judged on their values (float32 with its own tolerance, see
    :func:`judged_error`)."""
    dtype = getattr(value, "dtype", None)
    if isinstance(value, _ndarray) and dtype is not None and dtype.kind == "f" and dtype.itemsize < 4:
        return (f"{func}: {name} has dtype {dtype}; the inputs are float64, so compute and return float64 "
                f"({dtype} keeps too few digits for a gradient check). Look for an array created with "
                f"dtype={dtype} or an .astype.")
    return ""


def _nonfinite_where(value, name: str, time_axes: Mapping[str, int]) -> str:
    """' First NaN at index [...] (time step t=...).' for an output with NaN or infinity."""
    if isinstance(value, (float, np.floating)):
        value = _asarray(value, dtype=_float64)
    if not isinstance(value, _ndarray) or value.dtype.kind != "f":
        return ""
    with _errstate(all="ignore"):
        bad = ~_isfinite(value)
    if not bad.any():
        return ""
    idx = tuple(int(i) for i in _unravel_index(int(_argmax(bad)), bad.shape)) if bad.ndim else ()
    what = "NaN" if np.isnan(value[idx]) else "infinity"
    text = f" First {what} at index {list(idx)}, {int(bad.sum())} of {bad.size} entries not finite"
    if name in time_axes and bad.ndim > time_axes[name]:
        text += f" (first at time step t={idx[time_axes[name]] + 1})"
    return text + "."


def _degenerate(arr: np.ndarray, exp: np.ndarray, name: str) -> str:
    """Say so when a wrong output is all zeros or constant (the expected one is not)."""
    if arr.size == 0 or not exp.size:
        return ""
    if not arr.any() and exp.any():
        return f" {name} is all zeros: is it ever written to (or added to)?"
    if arr.size > 1 and (arr == arr.flat[0]).all() and not (exp == exp.flat[0]).all():
        return f" Every entry of {name} is the same value ({arr.flat[0]:.3g})."
    return ""


def match_mistake(name: str, arr: np.ndarray, exp: np.ndarray, variants) -> str | None:
    """The diagnosis of the first variant whose ``name`` output ``arr`` equals (BUG_MATCH_TOL; for an output
    that holds float32 values, its float32 tolerance) and that differs from ``exp`` by more than that."""
    match_tol = float32_tolerance(BUG_MATCH_TOL) if holds_float32_values(arr) else BUG_MATCH_TOL
    for diagnosis, outs in variants:
        if name not in outs:
            continue
        v = outs[name]
        if v.shape != arr.shape:
            continue
        if v.shape == exp.shape and max_error(v, exp) <= match_tol:
            continue  # this bug does not change this output
        if within_tolerance(arr, v, BUG_MATCH_TOL):
            return diagnosis
    return None


def numerical_gradients(loss: Callable[[], float], arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Central differences of ``loss()`` with respect to each array (perturbed in place, restored)."""
    return {name: numerical_gradient(loss, a, FD_EPS) for name, a in arrays.items()}
