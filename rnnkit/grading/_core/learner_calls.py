"""Calling a learner's function from a check: copies in, prints and warnings swallowed, errors turned
into failures, and the test that it is not rnnkit's own reference."""
from __future__ import annotations

import contextlib
import io
import warnings
from typing import Callable, Mapping

import numpy as np

from ..engine.basics import Failure as _Failure

_errstate, _ndarray = np.errstate, np.ndarray


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
