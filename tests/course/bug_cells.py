"""Learner bugs from the grading bug table (tests/grading/grading_bugs/) as notebook cells.

:func:`answer_cell` turns a row's function into the source of the answer cell of the graded function: the row's
own code, with every function of its module it calls (recursively) pasted above it, and the row's function
renamed to the notebook's name. A row whose code reads anything else of its module (a constant, a wrapper
built by a call) cannot be pasted: :func:`answer_cell` returns ``None`` for it.
"""
from __future__ import annotations

import builtins
import inspect
import re
import types

from rnnkit.grading import registry


def _globals_used(fn) -> set:
    names, stack = set(), [fn.__code__]
    while stack:
        code = stack.pop()
        names |= set(code.co_names)
        stack += [c for c in code.co_consts if inspect.iscode(c)]
    return names


def answer_cell(fn, function: str, notebook_names: set) -> str | None:
    """The answer cell defining ``function`` with the code of the bug-table function ``fn`` (None: not pastable)."""
    if not isinstance(fn, types.FunctionType):
        return None
    module = inspect.getmodule(fn)
    if module is None:
        return None
    order, seen, todo = [], set(), [fn]
    while todo:
        f = todo.pop()
        if f.__name__ in seen:
            continue
        seen.add(f.__name__)
        order.append(f)
        for name in _globals_used(f):
            if name in ("np", "numpy") or hasattr(builtins, name) or name in notebook_names:
                continue
            if name not in vars(module):
                continue  # an attribute name (np.tanh reads the name "tanh"), not a global of the module
            value = vars(module)[name]
            if isinstance(value, types.FunctionType) and inspect.getmodule(value) is module:
                todo.append(value)
            elif not isinstance(value, types.ModuleType) or value.__name__ != "numpy":
                return None  # a constant, an object or a wrapper of the table: not a learner's cell
    parts = []
    for f in reversed(order):
        src = inspect.getsource(f)
        if f is fn:
            src = re.sub(rf"^def {re.escape(fn.__name__)}\(", f"def {function}(", src, count=1, flags=re.M)
        parts.append(src)
    return "import numpy as np\n\n" + "\n\n".join(parts)


def grade_id_of(grader) -> str | None:
    return getattr(grader, "grade_id", None)


def function_of(grade_id: str) -> str:
    return registry.find_check(grade_id).function
