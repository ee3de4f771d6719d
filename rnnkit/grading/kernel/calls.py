"""The kernel side of grading: call the learner's function on given inputs and record what it returns.

This package is the only grading code that runs in the learner's kernel. It decides
nothing: a hidden test cell is ::

    from rnnkit.grading.kernel import run_check
    run_check("test_rnn_forward", rnn_forward)

which reads the inputs the grader drew for that cell (plain arrays in an ``.npz``
file), calls the function on each of them, and displays the return values as one
output of the cell. The grader, in its own process, reads that output back (plain
numbers only, no pickle), compares it with its references and writes the verdict.
Whatever the learner's code does to this package, to numpy or to the kernel can
change what is *reported*, never what the grader *accepts*: a score needs correct
values for inputs drawn at grading time, and no reference implementation of a
graded function exists in the sandbox the kernel runs in.

Only numpy and the standard library are imported here and in the modules this one is
built from, which the sandbox ships with it: :mod:`rnnkit.grading.kernel.encoding` (the format),
:mod:`rnnkit.grading.kernel.arguments` (object arguments, the calls) and
:mod:`rnnkit.grading.kernel.oracle` (correct step results for a sequence function).
This module runs the calls.
"""
from __future__ import annotations

import base64
import io
import os

import numpy as np

from .arguments import decode_calls, record_object
from .encoding import MAX_ERROR_TEXT, MAX_OBSERVED_CALLS, MAX_PAYLOAD, MAX_WHERE_TEXT, arrays_in, copy_value, \
    encode_results, same_array


#: Mime type of the cell output that carries a check's results back to the grader.
RESULTS_MIME = "application/vnd.rnnkit.results+json"
#: Environment variable naming the directory with the cases (set by the sandbox).
CASES_ENV = "RNNKIT_CASES"


class TimeBudgetExceeded(BaseException):
    """Raised inside the learner's function when a call with a time budget (:func:`with_budget`) runs out
    of it. A BaseException, so that a learner's ``except Exception`` does not swallow it."""


#: How a call that ran out of its time budget is recorded (the start of its error text).
BUDGET_ERROR = "TimeBudgetExceeded"


def _time_budget(seconds):
    """Context: interrupt the code inside after ``seconds`` of CPU time of this process (SIGPROF; only where the
    call runs in the main thread of a POSIX process, as in a kernel or pytest; elsewhere a no-op).

    CPU time, not wall time: a call that needs minutes of arithmetic (central differences of a forward pass)
    runs out of it on any machine, while a correct call is not cut short because other sandboxes share the
    cores (a class graded in parallel) — its score does not depend on the machine's load. The cell's own
    wall-clock limit, enforced outside the kernel, still bounds a call that sleeps or waits."""
    import contextlib
    import signal
    import threading

    @contextlib.contextmanager
    def ctx():
        if not seconds or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
            yield
            return

        def expire(signum, frame):
            raise TimeBudgetExceeded(f"the call did not finish within its budget of {seconds:g} s of CPU time")
        previous = signal.signal(signal.SIGPROF, expire)
        signal.setitimer(signal.ITIMER_PROF, float(seconds))
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, previous)
    return ctx()


class _Recorder:
    """Stands in for a learner's helper (e.g. their step function) while their sequence function runs:
    calls it unchanged and keeps a copy of each call's arguments and result."""

    def __init__(self, fn, log: list):
        self.fn, self.log = fn, log
        self.__name__ = getattr(fn, "__name__", "helper")
        self.__wrapped__ = fn  # inspect.signature(recorder) is the helper's: an oracle put in its place binds keywords

    def __call__(self, *args, **kwargs):
        entry = {"args": [copy_value(a) for a in _positional(self.fn, args, kwargs)], "value": None, "error": None}
        try:
            value = self.fn(*args, **kwargs)
        except BaseException as exc:
            entry["error"] = type(exc).__name__
            if len(self.log) < MAX_OBSERVED_CALLS:
                self.log.append(entry)
            raise
        entry["value"] = copy_value(value)
        if len(self.log) < MAX_OBSERVED_CALLS:
            self.log.append(entry)
        return value


def _positional(fn, args: tuple, kwargs: dict) -> tuple:
    """A call's arguments in ``fn``'s parameter order, keyword arguments bound by its signature (so a step
    function called as ``step(dh=..., dc=..., cache=...)`` is recorded like ``step(dh, dc, cache)``)."""
    if not kwargs:
        return args
    try:
        import inspect
        bound = inspect.signature(fn).bind(*args, **kwargs)
        bound.apply_defaults()
        return tuple(bound.arguments.values())
    except (TypeError, ValueError):
        return tuple(args) + tuple(kwargs[k] for k in sorted(kwargs))


def _observing(fn, observe: dict):
    """Context: while ``fn`` runs, the names in ``observe`` (its module globals) are recorders.

    Why: a sequence function built on the learner's own step function is judged given that step
    function (a wrong step costs the step's points, not the sequence's). The grader needs the
    step calls the sequence function really made; their values are checked against the loop,
    so forging them gains nothing.
    """
    import contextlib

    @contextlib.contextmanager
    def ctx():
        logs = {name: [] for name in observe}
        namespace = getattr(fn, "__globals__", None)
        swapped = {}
        if isinstance(namespace, dict):
            for name, helper in observe.items():
                if namespace.get(name) is helper and callable(helper):
                    swapped[name] = helper
                    namespace[name] = _Recorder(helper, logs[name])
        try:
            yield logs
        finally:
            for name, helper in swapped.items():
                namespace[name] = helper
    return ctx()


def _substituting(fn, oracle):
    """Context: the helper named by ``oracle`` is the :class:`Oracle` in ``fn``'s globals while it runs."""
    import contextlib

    @contextlib.contextmanager
    def ctx():
        namespace = getattr(fn, "__globals__", None)
        if oracle is None or not isinstance(namespace, dict):
            yield
            return
        name, stand_in = oracle
        missing = object()
        before = namespace.get(name, missing)
        if callable(before):
            import inspect
            try:
                stand_in.signature = inspect.signature(before)
            except (TypeError, ValueError):
                pass
        namespace[name] = stand_in
        try:
            yield
        finally:
            if before is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = before
    return ctx()


def _observed_for(args, observe: dict, namespace) -> dict:
    """The helpers recorded during one call: the caller's, plus the one a ``with_recorder`` call names."""
    name = getattr(args, "record", None)
    if name and isinstance(namespace, dict) and callable(namespace.get(name)):
        return {**observe, name: namespace[name]}
    return observe


def _library_directories() -> tuple[str, ...]:
    """Directories whose code is not the learner's: rnnkit, numpy, the standard library, installed packages
    (the interpreter's and every ``site-packages`` on ``sys.path``, such as the grading sandbox's own)."""
    import sys
    import sysconfig
    paths = sysconfig.get_paths()
    dirs = {os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),  # rnnkit
            os.path.dirname(os.path.abspath(np.__file__)), os.path.dirname(os.__file__)}
    dirs.update(paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if paths.get(k))
    dirs.update(p for p in sys.path if isinstance(p, str) and os.path.basename(p.rstrip("/")) in
                ("site-packages", "dist-packages"))
    return tuple(os.path.join(os.path.realpath(d), "") for d in dirs)


def where_raised(exc: BaseException) -> dict:
    """``{"line", "text", "function"}`` of the innermost frame of the learner's own code in ``exc``'s
    traceback (not rnnkit, numpy, the standard library or an installed package; a notebook cell's code
    counts, its text read from ``linecache``), or ``{}`` when there is none. Sizes are bounded."""
    import linecache
    library = _library_directories()
    learners: dict[str, bool] = {}  # file name -> whether it holds the learner's code
    found = {}
    tb = exc.__traceback__
    for _ in range(100_000):  # deeper than any recursion limit; the bound keeps the loop finite regardless
        if tb is None:
            break
        code = tb.tb_frame.f_code
        filename = code.co_filename
        if filename not in learners:  # <frozen importlib...> is Python's; <string>, <ipython-input-...> run code
            learners[filename] = not filename.startswith("<frozen") if filename.startswith("<") else \
                not os.path.realpath(filename).startswith(library)
        if learners[filename] and isinstance(tb.tb_lineno, int) and tb.tb_lineno > 0:
            found = {"line": tb.tb_lineno, "function": str(code.co_name)[:MAX_WHERE_TEXT],
                     "text": linecache.getline(filename, tb.tb_lineno).strip()[:MAX_WHERE_TEXT]}
        tb = tb.tb_next
    return found


def run_calls(fn, calls: list[list], observe: dict | None = None) -> list[dict]:
    """Call ``fn(*args)`` for each argument list; record result, exception, modified and aliased arguments.

    Each record is ``{"value": ..., "error": str | None, "modified": [argument index, ...],
    "aliased": [output path, ...], "objects": {argument index: record},
    "observed": {helper name: [{"args": [...], "value": ...}, ...]}, "where": {...}}``; ``observe`` maps
    the names of helper functions ``fn`` calls (the learner's step function) to those functions.
    ``where`` is :func:`where_raised` of an exception the call raised (``{}`` otherwise).
    """
    import contextlib
    import warnings

    records = []
    observe = dict(observe or {})
    namespace = getattr(fn, "__globals__", None)
    for args in calls:
        originals = [[a.copy() for a in arrays_in(arg, [])] for arg in args]
        rec: dict = {"value": None, "error": None, "modified": [], "aliased": [], "objects": {}, "observed": {},
                     "where": {}}
        oracle = getattr(args, "oracle", None)
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"), \
                    contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                    _observing(fn, _observed_for(args, observe, namespace)) as logs, _substituting(fn, oracle):
                warnings.simplefilter("ignore")
                rec["observed"] = logs
                with _time_budget(getattr(args, "budget", None)):
                    rec["value"] = fn(*args)
        except BaseException as exc:  # the learner's error (even sys.exit) is that call's result, not ours
            if isinstance(exc, KeyboardInterrupt):
                raise
            text = f"{type(exc).__name__}: {exc}"
            rec["error"] = text if len(text) <= MAX_ERROR_TEXT else text[:MAX_ERROR_TEXT] + "..."
            try:
                rec["where"] = where_raised(exc)
            except Exception:  # a learner's exception object may be odd; where it came from is only a hint
                rec["where"] = {}
        for i, (arg, before) in enumerate(zip(args, originals)):
            after = arrays_in(arg, [])
            if len(after) != len(before) or not all(same_array(a, b) for a, b in zip(after, before)):
                rec["modified"].append(i)
            if not isinstance(arg, (np.ndarray, tuple, list, dict, int, float, str)) and arg is not None:
                rec["objects"][str(i)] = record_object(arg)
        if oracle is not None:
            rec["objects"]["oracle"] = oracle[1].record()
        inputs = [a for arg in args for a in arrays_in(arg, [])]
        for j, out in enumerate(arrays_in(rec["value"], [])):
            if any(np.shares_memory(out, a) for a in inputs):
                rec["aliased"].append(j)
        records.append(rec)
    return records


#: What a hidden test cell does outside the grading sandbox (no cases to read): ``None`` until a checker
#: that runs the whole check in this kernel is set with :func:`set_local_check`.
_local_check = None


def set_local_check(check) -> None:
    """Make ``check(grade_id, fn, **observe)`` what :func:`run_check` does outside the grading sandbox.

    :mod:`rnnkit.selfcheck` sets its ``self_check`` here when it is imported (every visible test cell of
    the course's notebooks imports it), so an instructor running a solution notebook in a plain kernel
    sees each hidden test's verdict. The kernel never imports the checks itself: they live above it
    (engine, assignments), and the sandbox ships the kernel alone.
    """
    global _local_check
    _local_check = check


def run_check(grade_id: str, fn, **observe) -> None:
    """Entry point of a hidden test cell: run ``fn`` on this cell's cases and display the results.

    Keyword arguments name helper functions ``fn`` uses whose calls the grader wants to see, e.g.
    ``run_check("test_rnn_forward", rnn_forward, rnn_step_forward=rnn_step_forward)``. Outside the
    grading sandbox (no cases directory), the check set by :func:`set_local_check` runs instead.
    """
    directory = os.environ.get(CASES_ENV)
    if not directory:
        if _local_check is None:
            raise RuntimeError("hidden tests run when the notebook is graded; to run this check here, "
                               "import rnnkit.selfcheck first (it needs rnnkit's grading extra)")
        _local_check(grade_id, fn, **observe)
        return
    from IPython.display import display

    with open(os.path.join(directory, f"{os.path.basename(grade_id)}.npz"), "rb") as f:
        calls = decode_calls(f.read())
    if not callable(fn):
        records = [{"value": None, "error": f"not a function (got {type(fn).__name__})", "modified": [],
                    "aliased": [], "objects": {}, "observed": {}, "where": {}}]
    else:
        records = run_calls(fn, calls, observe)
    data = encode_results(grade_id, records)
    if len(data) > MAX_PAYLOAD:
        raise RuntimeError("the function's outputs are far larger than the check's inputs allow")
    display({RESULTS_MIME: {"grade_id": grade_id, "npz": base64.b64encode(data).decode("ascii")},
             "text/plain": f"outputs of {len(records)} calls recorded for grading"}, raw=True)
