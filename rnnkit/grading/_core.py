"""Shared machinery of the checkers: verdicts, safe calls, array conversion, judging.

Nothing here prints: a grading cell that writes to stderr scores zero in nbgrader,
so warnings are silenced and the learner's own output is captured while their
code runs inside a check.
"""
from __future__ import annotations

import contextlib
import io
import os
import textwrap
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from ..casefile import Other

# Bound once, at import: a learner who later rebinds ``np.allclose`` or ``np.abs``
# in their notebook changes what *their* code sees, not what the checks use.
_array = np.array
_ndarray = np.ndarray
_abs = np.abs
_maximum = np.maximum
_isfinite = np.isfinite
_argmax = np.argmax
_unravel_index = np.unravel_index
_zeros = np.zeros
_float64 = np.float64
_errstate = np.errstate
_default_rng = np.random.default_rng
_integer_types = (int, np.integer)
_real_scalar_types = (int, float, np.integer, np.floating)

#: Relative tolerance for an analytic gradient against central differences.
#: Central differences with eps=1e-6 in float64 agree with a correct gradient to
#: about 1e-8 (truncation ~eps², rounding ~1e-16/eps); the classic bugs are off by
#: 1e-2 or far more. 1e-5 leaves a thousandfold margin on both sides.
GRAD_TOL = 1e-5
#: Relative tolerance for forward values against the reference on the same inputs:
#: both are float64 with the same operations up to summation order (~1e-15).
VALUE_TOL = 1e-7
#: How close a gradient must be to a deliberately buggy variant to be named after it.
BUG_MATCH_TOL = 1e-6
#: Step of the central differences.
FD_EPS = 1e-6


#: Width a message is wrapped to where it is shown (feedback pages do not wrap ``<pre>``).
WRAP = 100


def wrap(text: str, width: int = WRAP) -> str:
    """Wrap each line of a message to ``width`` columns, continuation lines indented."""
    out = []
    for line in str(text).splitlines() or [""]:
        out.extend(textwrap.wrap(line, width=width, break_long_words=True, break_on_hyphens=False,
                                 subsequent_indent="  ") or [""])
    return "\n".join(out)


@dataclass(frozen=True)
class Verdict:
    """Outcome of one check: ``passed`` and a message a learner can act on."""
    passed: bool
    message: str

    def __str__(self) -> str:
        return ("PASSED: " if self.passed else "FAILED: ") + self.message


class _Failure(Exception):
    """Internal: stop a check early with a learner-facing message."""


def fresh_rng(rng: np.random.Generator | None = None) -> tuple[np.random.Generator, int]:
    """The generator used for one check, and its seed (reported so a failure can be reproduced).

    ``rng=None`` draws a seed from the operating system, so the inputs of a hidden
    test are never stored in a notebook.
    """
    if rng is None:
        seed = int.from_bytes(os.urandom(4), "little")
    else:
        seed = int(rng.integers(0, 2**32))
    return _default_rng(seed), seed


def distinct_sizes(rng: np.random.Generator, names: str, low: int = 2, high: int = 7) -> dict[str, int]:
    """Draw pairwise different sizes for the dimension letters in ``names`` (e.g. ``"T B D H"``).

    Different sizes make a transposed or misplaced axis visible as a shape error.
    """
    letters = names.split()
    pool = list(range(low, high + 1))
    if len(pool) < len(letters):
        raise ValueError("distinct_sizes: range too small")
    picked = rng.permutation(pool)[:len(letters)]
    return {letter: int(n) for letter, n in zip(letters, picked)}


@contextlib.contextmanager
def _quiet():
    """Silence warnings and capture the learner's prints while their code runs in a check."""
    sink = io.StringIO()
    with warnings.catch_warnings(), _errstate(all="ignore"), \
            contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        warnings.simplefilter("ignore")
        yield


def _fresh(value):
    """A copy of arrays (also inside tuples and lists), so a learner who writes into an
    argument cannot change the checker's data."""
    if isinstance(value, _ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_fresh(v) for v in value)
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    return value


def _copy_args(args):
    return tuple(_fresh(a) for a in args)


def call_learner(fn, func: str, *args, copy_args: bool = True):
    """Call the learner's ``fn(*args)``; exceptions become a failure, warnings and prints are swallowed.

    The arguments are copied first unless ``copy_args=False`` (used to detect a function that
    modifies its input in place).
    """
    if not callable(fn):
        raise _Failure(f"{func} is not a function (got {type(fn).__name__}); run the cell that defines it.")
    try:
        with _quiet():
            return fn(*(_copy_args(args) if copy_args else args))
    except NotImplementedError:
        raise _Failure(f"{func} is not implemented yet (it raised NotImplementedError).") from None
    except Exception as exc:  # any learner error is a failed check, never a crash of the grader
        text = str(exc)
        if len(text) > 300:
            text = text[:300] + "..."
        raise _Failure(f"{func} raised {type(exc).__name__}: {text}") from None


def _unwrap_chain(fn, limit: int = 20):
    """fn, fn.__wrapped__, partial.func ... (decorators and partials around a function)."""
    seen = []
    for _ in range(limit):
        if fn is None or any(fn is s for s in seen):
            break
        seen.append(fn)
        nxt = getattr(fn, "__wrapped__", None)
        if nxt is None:
            nxt = getattr(fn, "func", None) if type(fn).__name__ == "partial" else None
        fn = nxt
    return seen


def reject_reference(fn, func: str, references: Mapping[str, Callable], probe: Callable[[], tuple] | None = None):
    """Fail if ``fn`` is, wraps, or calls one of rnnkit's reference implementations.

    Two tests, neither of which looks at the learner's globals:

    1. identity: ``fn`` (or anything it wraps) is a reference function or shares its code object;
    2. behaviour: ``probe()`` returns arguments with a NaN (or a wrong dtype) in an
       argument that the references validate. rnnkit's public functions reject such
       input with ``ValueError("<name>: ...")``; a numpy implementation just
       propagates the NaN. A call that fails with a reference's own validation
       message therefore went through that reference, however it was reached.

    ``references`` maps names to functions; a name may map to ``None`` (a class such as
    ``HiddenToHiddenRNN`` whose methods validate under that name) to be caught by the probe only.
    """
    codes = {id(getattr(r, "__code__", None)): name for name, r in references.items()}
    for layer in _unwrap_chain(fn):
        for name, ref in references.items():
            if layer is ref or (getattr(layer, "__code__", None) is not None
                                and id(layer.__code__) in codes and codes[id(layer.__code__)] == name):
                raise _Failure(f"{func} is rnnkit.{name}, the library's reference implementation. "
                               f"Write it yourself with numpy; calling the reference earns no points.")
    if probe is None:
        return
    try:
        with _quiet():
            fn(*_copy_args(probe()))
    except ValueError as exc:
        text = str(exc)
        for name in references:
            if text.startswith(f"{name}: ") or text.startswith(f"{name}."):
                raise _Failure(f"{func} calls rnnkit.{name}, the library's reference implementation "
                               f"(its input check fired: {text!r}). Write it yourself with numpy; "
                               f"calling the reference earns no points.") from None
    except Exception:  # a learner's own error on NaN input is not evidence of anything
        pass


def as_float_array(value, func: str, name: str) -> np.ndarray:
    """A fresh, plain float64 copy of a learner's output, or a failure saying what is wrong with it.

    Only real numbers are accepted: an ndarray (of any subclass, which is stripped)
    of integer or float dtype, or a Python/numpy real scalar. Lists, objects that
    pretend to compare equal, complex numbers, NaN and infinity get nothing.
    """
    if isinstance(value, bool) or isinstance(value, np.bool_):
        raise _Failure(f"{func}: {name} must be a float array; got a bool.")
    if isinstance(value, Other):  # a value the kernel could not send as plain numbers
        kind = "a float array" if value.type_name.startswith("ndarray") else "a numpy array"
        raise _Failure(f"{func}: {name} must be {kind}; got {value.type_name}.")
    if isinstance(value, _ndarray):
        if value.dtype.kind not in "fiu":
            raise _Failure(f"{func}: {name} must be a float array; got dtype {value.dtype}.")
        arr = _array(value, dtype=_float64, copy=True, subok=False)
    elif isinstance(value, _real_scalar_types):
        arr = _array(float(value), dtype=_float64)
    else:
        raise _Failure(f"{func}: {name} must be a numpy array; got {type(value).__name__}.")
    if type(arr) is not _ndarray:  # pragma: no cover - subok=False guarantees it
        raise _Failure(f"{func}: {name} could not be read as a plain array.")
    with _errstate(all="ignore"):
        finite = bool(_isfinite(arr).all())
    if not finite:
        raise _Failure(f"{func}: {name} contains NaN or infinity.")
    return arr


def _type_name(value) -> str:
    return value.type_name if isinstance(value, Other) else type(value).__name__


def unpack(out, func: str, names: Sequence[str]):
    """Split a learner's return value into the ``len(names)`` outputs the docstring promises."""
    n = len(names)
    if n == 1:
        return (out,)
    if not isinstance(out, (tuple, list)):
        raise _Failure(f"{func} must return {n} values ({', '.join(names)}); got a single {_type_name(out)}.")
    if len(out) != n:
        raise _Failure(f"{func} must return {n} values ({', '.join(names)}); got {len(out)}.")
    return tuple(out)


def shape_text(shape: tuple, dims: str | None, sizes: Mapping[str, int]) -> str:
    """``(H, D) = (5, 4)`` style description."""
    if not dims:
        return str(tuple(shape))
    letters = dims.split()
    return "(" + ", ".join(letters) + ("," if len(letters) == 1 else "") + f") = {tuple(shape)}"


def scaled_rel_error(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Elementwise |got - expected| / max(|got| + |expected|, 1e-4 max|expected|, 1e-12).

    The floor judges entries far below the array's scale on that scale, where
    finite-difference noise would otherwise dominate a purely elementwise ratio.
    """
    with _errstate(all="ignore"):
        scale = float(_abs(expected).max(initial=0.0))
        floor = max(1e-4 * scale, 1e-12)
        err = _abs(got - expected) / _maximum(_abs(got) + _abs(expected), floor)
    return err


def _max_error(got, expected) -> float:
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
          context: str = "") -> Verdict:
    """Compare a learner's outputs with the expected arrays and explain every mismatch.

    Parameters
    ----------
    func : str
        Name of the learner's function (for messages).
    names : sequence of str
        Names of the outputs, in the order ``got`` holds them.
    got : sequence
        The learner's outputs, unconverted.
    expected : mapping name -> float64 ndarray
        Ground truth (reference values or central differences).
    tol : float
        Largest allowed scaled relative error (see :func:`scaled_rel_error`).
    kind, compared_with : str
        Words for the message, e.g. ``"gradient"``, ``"central differences"``.
    dims, sizes : mappings
        Dimension letters per output (``"T B D"``) and their sizes, for shape messages.
    variants : iterable of (diagnosis, outputs)
        Outputs of deliberately buggy implementations on the same inputs; a wrong
        output that matches one is reported with its diagnosis.
    time_axes : mapping name -> axis
        Outputs with a time axis get a per-step report.
    direction : {"backward", "forward"}
        Which end of the sequence "first wrong step" counts from.
    hints : mapping name -> str
        Generic advice when no variant matches.
    select : sequence of str, optional
        Judge only these outputs (a test cell may grade part of a function's outputs).
    context : str
        Description of the inputs (sizes, seed), appended to a failure.
    """
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
                if name in outs and outs[name].shape == arr.shape and _max_error(arr, outs[name]) <= BUG_MATCH_TOL:
                    support[i] += 1
    order = sorted(range(len(variants)), key=lambda i: -support[i])
    variants = [variants[i] for i in order]
    problems = []
    named: set[str] = set()  # diagnoses already spelled out in this message
    for name, value in zip(names, got):
        if select is not None and name not in select:
            continue
        exp = expected[name]
        try:
            arr = as_float_array(value, func, name)
        except _Failure as f:
            problems.append(str(f) + _nonfinite_where(value, name, time_axes))
            continue
        dtype_problem = _dtype_problem(value, func, name)
        if dtype_problem:
            problems.append(dtype_problem)
            continue
        if arr.shape != exp.shape:
            msg = (f"{func}: {name} has shape {arr.shape}; expected {shape_text(exp.shape, dims.get(name), sizes)}.")
            diagnosis = _match_variant(name, arr, exp, variants)
            if diagnosis:
                msg += f" Likely cause: {diagnosis}"
            elif arr.ndim == 2 and arr.shape == exp.shape[::-1]:
                msg += (" It looks transposed: a weight of shape (out, in) has a gradient of the same shape, "
                        "computed as δᵀ @ (input), not (input)ᵀ @ δ.")
            problems.append(msg)
            continue
        err = scaled_rel_error(arr, exp)
        worst = float(err.max()) if err.size else 0.0
        if worst <= tol:
            continue
        idx = tuple(int(i) for i in _unravel_index(int(_argmax(err)), err.shape)) if err.ndim else ()
        msg = (f"{func}: {name} is wrong: largest relative error {worst:.1e} at index {list(idx)} "
               f"(tolerance {tol:.0e}, {kind} compared with {compared_with}).")
        msg += _degenerate(arr, exp, name)
        if name in time_axes:
            msg += _steps_text(err, tol, time_axes[name], direction)
        diagnosis = _match_variant(name, arr, exp, variants)
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
            text += f"\n(Checked on fresh inputs: {context}.)"
        return Verdict(False, text)
    checked = [n for n in names if select is None or n in select]
    return Verdict(True, f"{func}: {', '.join(checked)} correct ({context}).")


def _dtype_problem(value, func: str, name: str) -> str:
    """A float output that is not float64: every input of a check is float64 (a float32 result passes
    or fails a gradient check by luck, so it is reported on every run)."""
    dtype = getattr(value, "dtype", None)
    if isinstance(value, _ndarray) and dtype is not None and dtype.kind == "f" and dtype != _float64:
        return (f"{func}: {name} has dtype {dtype}; the inputs are float64, so compute and return float64 "
                f"({dtype} keeps too few digits for a gradient check). Look for an array created with "
                f"dtype={dtype} or an .astype.")
    return ""


def _nonfinite_where(value, name: str, time_axes: Mapping[str, int]) -> str:
    """' First NaN at index [...] (time step t=...).' for an output with NaN or infinity."""
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


def _match_variant(name: str, arr: np.ndarray, exp: np.ndarray, variants) -> str | None:
    for diagnosis, outs in variants:
        if name not in outs:
            continue
        v = outs[name]
        if v.shape != arr.shape:
            continue
        if v.shape == exp.shape and _max_error(v, exp) <= BUG_MATCH_TOL:
            continue  # this bug does not change this output
        if _max_error(arr, v) <= BUG_MATCH_TOL:
            return diagnosis
    return None


def run_check(body: Callable[[], Verdict]) -> Verdict:
    """Run a check body, turning an early stop into a failed verdict."""
    try:
        with _errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return body()
    except _Failure as f:
        return Verdict(False, str(f))


def require(verdict: Verdict) -> Verdict:
    """Raise ``AssertionError(message)`` unless the verdict passed; return it otherwise."""
    if verdict.passed is not True:
        raise AssertionError(verdict.message)
    return verdict


def numerical_gradients(loss: Callable[[], float], arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Central differences of ``loss()`` with respect to each array (perturbed in place, restored)."""
    from ..gradcheck import numerical_gradient
    return {name: numerical_gradient(loss, a, FD_EPS) for name, a in arrays.items()}


# ---------------------------------------------------------------------------
# checks as data: a case builder (trusted), the calls the kernel makes, a judge (trusted)
# ---------------------------------------------------------------------------

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
        from ..casefile import encode_calls
        return encode_calls(calls), context, seed

    def judge_payload(self, context, data: bytes, seed: int | None = None, cells: Mapping | None = None) -> Verdict:
        """Judge the bytes a hidden cell displayed (never trusted beyond plain arrays).

        ``cells`` maps grade_ids of cells judged before (in the grading process) to whether they passed;
        the judge reads the verdicts of :attr:`helper_cells` from it.
        """
        from ..casefile import decode_results
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
        from ..casefile import decode_calls, encode_results, run_calls
        data, context, seed = self.cases(rng)
        records = run_calls(fn, decode_calls(data), dict(observe or {})) if callable(fn) else [
            {"value": None, "error": f"not a function (got {type(fn).__name__})", "modified": [], "aliased": [],
             "objects": {}}]
        return self.judge_payload(context, encode_results(self.grade_id, records), seed,
                                  cells=self._helper_verdicts(fn, rng))

    def _helper_verdicts(self, fn, rng) -> dict:
        """In this process (trusted callers only): grade the helpers ``fn`` calls, found by name in its globals."""
        from . import registry
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


# ---------------------------------------------------------------------------
# probes: fixed cases with one part of the computation switched off, to name the part at fault
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Probe:
    """A probe case of a check: inputs on which some terms of the computation cannot show a mistake.

    ``name`` says how the case differs (for messages, e.g. ``"h = 0 (tanh′ = 1)"``); ``off`` holds
    the keys of the terms (of a ``terms`` table: key -> what is wrong if that term is) that this case
    switches off. A mistake in term X leaves every probe with X off right, so a probe that fails
    rules out its ``off`` terms, and a probe that passes points at them (the fewer, the sharper).
    ``spec`` is the check's own recipe for building the case (sizes, which arrays are zeroed, ...).
    """
    name: str
    off: frozenset
    spec: object = field(default=None, compare=False)


def probe_conclusion(probes: Sequence[Probe], outcomes: Mapping[str, bool], terms: Mapping[str, str]) -> str:
    """' On probe cases: right with …; wrong with …. So <what is wrong>.' ('' without probe outcomes).

    ``outcomes`` maps probe names to passed (True) / failed (False); probes without an outcome are
    skipped. A term is a candidate when no failed probe switches it off; among candidates, those off
    in the passing probe that switches off the fewest terms are named (at most two), else nothing;
    when every probe fails, the one term that none of them switches off (if there is one) is named.
    """
    judged = [p for p in probes if p.name in outcomes]
    if not judged:
        return ""
    failing = [p for p in judged if not outcomes[p.name]]
    passing = [p for p in judged if outcomes[p.name]]
    text = " On probe cases (fixed inputs with parts switched off):"
    if passing:
        text += " right with " + "; ".join(p.name for p in passing)
    if failing:
        text += (";" if passing else "") + " wrong with " + "; ".join(p.name for p in failing)
    text += "."
    candidates = [t for t in terms if all(t not in p.off for p in failing)]
    score = {t: max((1.0 / len(p.off) for p in passing if t in p.off and p.off), default=0.0) for t in candidates}
    best = max(score.values(), default=0.0)
    chosen = [t for t in candidates if score[t] == best] if best > 0 else []
    if not chosen and not passing and len(candidates) == 1:
        chosen = candidates  # every probe fails, and this term is the only one none of them switches off
    if 0 < len(chosen) <= 2:
        text += " So the mistake is in " + ", or in ".join(terms[t].rstrip(".") for t in chosen) + "."
    elif not failing:
        text += " Every probe case is right: the mistake shows only when all parts act together."
    return text


def diagnosed(func: str, verdicts: Sequence[Verdict], probe_verdicts: Mapping[str, Verdict] = None, *,
              probes: Sequence[Probe] = (), terms: Mapping[str, str] = None, passed_text: str = "",
              also: Sequence[str] = ()) -> Verdict:
    """One verdict for a check made of several cases and probe cases.

    Fails if a case or a probe case failed, or if ``also`` holds problems (e.g. an argument
    modified in place, reported on every run whatever the values). The message is the first
    failed case's (one with a named likely cause first; else the first failed probe case's),
    followed by what the probe cases show when no known mistake was named, then ``also``.
    """
    probe_verdicts = dict(probe_verdicts or {})
    failed = [v for v in verdicts if not v.passed]
    failed_probes = [v for v in probe_verdicts.values() if not v.passed]
    shown = None
    for pool in (failed, failed_probes):
        if pool and shown is None:
            shown = next((v for v in pool if "Likely cause:" in v.message), pool[0])
    extra = [a for a in also if a]
    if shown is None and not extra:
        return Verdict(True, passed_text or (verdicts[0].message if verdicts else f"{func} correct."))
    parts = []
    if shown is not None:
        message = shown.message
        # Probe outcomes say which term is wrong for wrong values (not a dtype, shape or type problem)
        # that no known mistake explains.
        unexplained = [line for line in message.splitlines() if (" is wrong: " in line or " tokens differ" in line)
                       and "Likely cause:" not in line and "Hint:" not in line]
        if unexplained and probes and terms:
            conclusion = probe_conclusion(probes, {k: v.passed for k, v in probe_verdicts.items()}, terms)
            head, sep, tail = message.partition("\n(Checked on")
            message = head + conclusion + sep + tail
        parts.append(message.replace("(Checked on fresh inputs: probe case ", "(Checked on the fixed probe case "))
    parts += extra
    return Verdict(False, "\n".join(parts))
