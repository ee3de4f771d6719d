"""Check your functions yourself, before you submit: the visible tests and the diagnosis grading gives.

Under a function you wrote, one line runs every check of that function::

    from rnnkit.selfcheck import check
    check("rnn_backward", rnn_backward)

It runs the visible tests (small fixed examples, in :mod:`rnnkit.visible_tests`), then the check behind
each hidden test cell of that function, here, on inputs drawn now; it prints one summary (what is right,
what is wrong and the likely cause) and, if anything is wrong, ends the cell with one short error. The
other notebook functions it needs (``rnn_forward``, ``rnn_step_backward``, ...) are found by name in
your notebook. The last cell of each notebook calls :func:`check_all`: every function's hidden checks and
the points each would get. Both are advice: they run in your kernel, and your grade is decided when the
notebook is graded, on inputs drawn then. The "Grading seed N" of your feedback replays here:
``check("rnn_backward", rnn_backward, seed=N)`` (or ``self_check(grade_id, fn, seed=N)``) checks your
function on the very inputs grading drew.
"""
from __future__ import annotations

import inspect
import os
import sys
import textwrap
import warnings
from dataclasses import dataclass

from . import visible_tests
from .grading import kernel, registry
from .grading.engine import wrap

__all__ = ["CheckFailed", "check", "check_all", "self_check"]

_INDENT = "    "


class CheckFailed(AssertionError):
    """A self-check found a problem. The summary printed above says which; in Jupyter only this one line is
    shown (no traceback into rnnkit: the code that failed is yours, and the summary names its line)."""

    def _render_traceback_(self):  # IPython's protocol: these lines replace the traceback
        return [f"{type(self).__name__}: {self}"]


def _fail(message: str):
    """Raise :class:`CheckFailed` without the frames of this module (a plain Python traceback stays short)."""
    raise CheckFailed(message).with_traceback(None) from None


# ---------------------------------------------------------------------------------------------------------------
# which notebook function is whose
# ---------------------------------------------------------------------------------------------------------------

def _assignment_of(function: str) -> str:
    for assignment in visible_tests.MODULES:
        if function in visible_tests.tests_of(assignment):
            return assignment
    raise KeyError(f"no notebook function is called {function!r}")


def _names_used(fn) -> set:
    """Global names the code of ``fn`` (and the functions nested in it) reads."""
    code, names = getattr(fn, "__code__", None), set()
    stack = [code] if code is not None else []
    while stack:
        c = stack.pop()
        names |= set(c.co_names)
        stack += [k for k in c.co_consts if inspect.iscode(k)]
    return names


def _unwritten(fn) -> bool:
    """Whether ``fn`` still holds the exercise's ``raise NotImplementedError()``."""
    return "NotImplementedError" in _names_used(fn)


def _helper_problem(name: str, fn, namespace: dict, assignment: str) -> str:
    """Why ``fn`` cannot be checked yet because of another notebook function it calls ('' if none)."""
    functions = visible_tests.tests_of(assignment)
    for helper in sorted(_names_used(fn) & set(functions) - {name}):
        if helper not in namespace:
            return (f"{name} calls {helper}, which is not defined in this notebook yet: run the cell that "
                    f"defines {helper} first.")
    return ""


def _unwritten_helpers(name: str, fn, namespace: dict, assignment: str) -> list:
    functions = visible_tests.tests_of(assignment)
    return [h for h in sorted(_names_used(fn) & set(functions) - {name})
            if callable(namespace.get(h)) and _unwritten(namespace[h])]


# ---------------------------------------------------------------------------------------------------------------
# running one check
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class _Result:
    label: str       # "visible tests: ..." / "hidden test test_x (2 points)"
    right: bool
    text: str        # what it found
    credited_to: str = ""   # a helper this check blames (the loop is right, the helper is not)


def _error_text(exc: BaseException, namespace: dict) -> tuple[str, str]:
    """(what the learner is told, the notebook function that raised) for an exception in a visible test."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals is namespace:
            frames.append(tb)
        tb = tb.tb_next
    where, func = "", ""
    if frames:
        last = frames[-1]
        code = last.tb_frame.f_code
        func = code.co_name
        try:
            lines, first = inspect.getsourcelines(code)
            text = " ".join(lines[last.tb_lineno - first].split())[:160]
        except (OSError, IndexError, TypeError):
            text = ""
        where = f" (line {last.tb_lineno - code.co_firstlineno + 1} of {func}" + (f": {text}" if text else "") + ")"
    if isinstance(exc, NotImplementedError):
        return f"{func or 'a function it calls'} is not implemented yet (it raises NotImplementedError).", func
    if isinstance(exc, NameError) and getattr(exc, "name", None):
        return f"{exc.name} is not defined{where}: run the cell that defines it.", func
    return f"raised {type(exc).__name__}: {exc}{where}.", func


def _run_visible(name: str, test, fn, namespace: dict) -> _Result:
    label = f"visible tests ({test.what.rstrip('.')})"
    args = {}
    for param in inspect.signature(test).parameters:
        args[param] = fn if param == name else namespace.get(param)
        if args[param] is None:
            return _Result(label, False, f"{param} is not defined in this notebook: run the cell that defines it.")
    with warnings.catch_warnings(record=True) as caught:  # reported in the summary, not as a red stderr box
        warnings.simplefilter("always")
        try:
            problems = test(**args)
        except Exception as exc:  # the learner's code raised: say where, in which of their functions
            text, raised_in = _error_text(exc, namespace)
            credited = raised_in if raised_in and raised_in != name else ""
            return _Result(label, False, text + _warned(caught), credited)
    text = "; ".join(problems) if problems else "every example is right."
    return _Result(label, not problems, text + _warned(caught))


def _warned(caught) -> str:
    """' (Warnings on the way: overflow encountered in exp.)' for the warnings the learner's code raised."""
    seen = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    return f" (Warnings on the way: {'; '.join(seen[:3])}.)" if seen else ""


def _run_hidden(grade_id: str, fn, namespace: dict, points, seed: int, assignment: str, name: str,
                observe: dict | None = None) -> _Result:
    check_ = registry.find_check(grade_id)
    verdict = check_.grade(fn, seed=seed, observe=observe)  # as the hidden cell calls it: no observer
    text = verdict.message.split("\n(Grading seed")[0]
    credited = ""
    if verdict.passed and " this cell keeps its points" in text:
        credited = next((registry.find_check(g).function for g in check_.helper_cells), "")
    unwritten = _unwritten_helpers(name, fn, namespace, assignment)
    if not verdict.passed and text.startswith(f"{name} is not implemented yet") and unwritten and not _unwritten(fn):
        text = (f"{unwritten[0]} is not implemented yet (it raises NotImplementedError), and {name} calls it: "
                f"write {unwritten[0]} first, in its own cell.")
        credited = unwritten[0]
    label = f"hidden test {grade_id}" + (f" ({points:g} point{'s' * (points != 1)})" if points is not None else "")
    return _Result(label, verdict.passed, text, credited)


def _summary(name: str, results: list, seed: int) -> tuple[str, str]:
    """(the printed summary, the one-line error or '' when everything is right)."""
    wrong = [r for r in results if not r.right]
    blamed = sorted({r.credited_to for r in results if r.credited_to and r.credited_to != name})
    if not wrong:
        head = f"{name}: all {len(results)} checks are right."
    else:
        head = f"{name}: {len(wrong)} of {len(results)} checks found a problem."
        if blamed:
            head += (f" The cause is in {', '.join(blamed)}, which {name} calls: fix it there, in its own cell "
                     f"(grading credits {name} for what it does right).")
    lines = [head]
    for r in results:
        mark = "right" if r.right else "WRONG"
        body = textwrap.indent(wrap(r.text), _INDENT * 2)
        lines.append(f"{_INDENT}[{mark}] {r.label}:\n{body}")
    lines.append(f"(Hidden tests' cases drawn with seed {seed}: check({name!r}, {name}, seed={seed}) repeats them. "
                 f"Advice only: grading draws its own cases.)")
    error = "" if not wrong else (f"{name}: {len(wrong)} of {len(results)} checks found a problem "
                                  f"(the summary above says which and why).")
    return "\n".join(lines), error


def _caller_namespace(depth: int = 2) -> dict:
    frame = sys._getframe(depth)
    return frame.f_globals


def _fresh_seed(seed) -> int:
    return int.from_bytes(os.urandom(4), "little") if seed is None else int(seed)


def check(name: str, fn, *, seed: int | None = None, namespace: dict | None = None) -> bool:
    """Run every check of the notebook function ``name`` on ``fn``: its visible tests, then each hidden test's
    check on inputs drawn now (``seed``: the inputs of an earlier run, e.g. the "Grading seed N" of your
    feedback). Prints one summary; raises :class:`CheckFailed` once, at the end, if anything is wrong.

    The other notebook functions the checks need are found by name in ``namespace`` (default: the notebook's,
    i.e. the globals of the caller). Returns True when every check is right.
    """
    namespace = _caller_namespace() if namespace is None else namespace
    assignment = _assignment_of(name)
    seed = _fresh_seed(seed)
    if not callable(fn):
        print(f"{name} is not a function (got {type(fn).__name__}): run the cell that defines it.")
        _fail(f"{name} is not a function")
    missing = _helper_problem(name, fn, namespace, assignment)
    if missing:
        print(missing)
        _fail(missing)
    points = visible_tests.module_of(assignment).POINTS
    results = [_run_visible(name, visible_tests.tests_of(assignment)[name], fn, namespace)]
    for grade_id in points:
        if registry.find_check(grade_id).function == name:
            results.append(_run_hidden(grade_id, fn, namespace, points[grade_id], seed, assignment, name))
    text, error = _summary(name, results, seed)
    print(text)
    if error:
        _fail(error)
    return True


def check_all(assignment: str | None = None, *, seed: int | None = None, namespace: dict | None = None) -> int:
    """Run the hidden tests' checks of every graded function of the notebook and show the points each would
    get (advice: grading decides, on its own inputs). Functions are found by name in ``namespace`` (default:
    the notebook's). Returns the points; raises :class:`CheckFailed` at the end unless every check is right."""
    namespace = _caller_namespace() if namespace is None else namespace
    if assignment is None:
        assignment = _notebook_assignment(namespace)
    seed = _fresh_seed(seed)
    points = visible_tests.module_of(assignment).POINTS
    rows, details, got = [], [], 0.0
    for grade_id, worth in points.items():
        name = registry.find_check(grade_id).function
        fn = namespace.get(name)
        if not callable(fn):
            result = _Result(grade_id, False, f"{name} is not defined: run the cell that defines it.")
        elif _helper_problem(name, fn, namespace, assignment):
            result = _Result(grade_id, False, _helper_problem(name, fn, namespace, assignment))
        else:
            result = _run_hidden(grade_id, fn, namespace, worth, seed, assignment, name)
        got += worth if result.right else 0
        rows.append((grade_id, name, worth if result.right else 0, worth))
        if not result.right:
            details.append(f"{grade_id} ({name}):\n" + textwrap.indent(wrap(result.text), _INDENT))
    width = max(len(g) for g, *_ in rows)
    total = sum(points.values())
    lines = [f"{assignment}: the points each hidden test would give this notebook's functions now.",
             "Advice, not a grade: grading runs the same checks on inputs it draws then."]
    lines += [f"{_INDENT}{g:<{width}}  {w:g} / {p:g}" for g, _, w, p in rows]
    lines.append(f"{_INDENT}{'total':<{width}}  {got:g} / {total:g}")
    if details:
        lines += ["", "What the failing checks found:"] + details
    lines.append(f"(Cases drawn with seed {seed}: check_all(seed={seed}) repeats them.)")
    print("\n".join(lines))
    if got < total:
        _fail(f"{assignment}: {got:g} of {total:g} points; the table above says which checks fail and why.")
    return got


def _notebook_assignment(namespace: dict) -> str:
    """The assignment whose functions this notebook defines (functions of rnnkit's library do not count)."""
    defined = {n for n, v in namespace.items() if callable(v) and getattr(v, "__module__", "") == namespace.get(
        "__name__", "__main__")}
    counts = {a: len(defined & set(visible_tests.tests_of(a))) for a in visible_tests.MODULES}
    best = max(counts, key=counts.get)
    if counts[best] == 0:
        raise KeyError("no function of an assignment is defined here: run the notebook's cells first, "
                       "or name the assignment: check_all('a3-bptt')")
    return best


def self_check(grade_id: str, fn, *, seed: int | None = None, **observe) -> bool:
    """Run the check behind hidden test cell ``grade_id`` on ``fn`` and print its verdict (as :func:`check`
    does for each hidden test of a function). ``seed``: the inputs of an earlier run, e.g. the "Grading seed
    N" of your feedback. ``observe``: helper functions ``fn`` calls (default: found by name in ``fn``'s
    module). Returns True; raises :class:`CheckFailed` when the check finds a problem."""
    seed = _fresh_seed(seed)
    check_ = registry.find_check(grade_id)
    namespace = dict(getattr(fn, "__globals__", {}) or {})
    namespace.update(observe)
    name = check_.function
    assignment = _assignment_of(name)
    result = _run_hidden(grade_id, fn, namespace, None, seed, assignment, name, observe)
    print(("right - " if result.right else "WRONG - ") + wrap(result.text))
    print(f"(self-check seed {seed}; self_check({grade_id!r}, ..., seed={seed}) repeats this run)")
    if not result.right:
        _fail(f"{name} fails the check of {grade_id} (details above)")
    return True


# A hidden test cell run outside the grading sandbox (an instructor running a solution notebook) runs this
# check: the kernel cannot import it (the checks live above it), so it is handed down here.
kernel.set_local_check(self_check)
