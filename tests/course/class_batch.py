"""A synthetic class of a3-bptt submissions for the class-grading tests and tools/bench_class_grading.py.

Kinds, in turn: the solution, the untouched release, learner-style bugs from tests/grading/grading_bugs/
(each put in the answer cell of the function it implements, under that function's name), a function that
kills its kernel (``os._exit``) and, with ``hang=True``, one that never returns.
"""
from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grading"))
from grading_bugs import a3_bptt as bugs  # noqa: E402

from nbgrader_course import NO_CARRY_BPTT, Course  # noqa: E402

A3 = "a3-bptt"
#: (graded function, learner-style mistake in grading_bugs.a3_bptt)
A3_BUGS = [("rnn_step_forward", "step_fwd_no_tanh"), ("rnn_step_forward", "step_fwd_no_bias"),
           ("rnn_step_backward", "step_bwd_no_tanh_prime"), ("rnn_step_backward", "step_bwd_db_not_summed"),
           ("rnn_forward", "fwd_not_carried")]
CRASH = "import os\n\ndef rnn_step_forward(x, h_prev, Wx, Ws, b):\n    os._exit(3)\n"
HANG = "def rnn_forward(X, h0, Wx, Ws, b):\n    while True:\n        pass\n"


def bug_source(function: str, bug: str) -> str:
    """The source of ``grading_bugs.a3_bptt.<bug>`` defining ``function`` instead."""
    src = inspect.getsource(getattr(bugs, bug))
    return "import numpy as np\n\n" + re.sub(rf"^def {bug}\(", f"def {function}(", src, count=1, flags=re.M)


def with_answer(course: Course, function: str, source: str) -> dict:
    """The solution notebook with ``source`` appended to the answer cell defining ``function``."""
    sol = course.solutions(A3)
    gid = next(g for g, s in sol.items() if f"def {function}(" in s)
    return course.notebook(A3, {gid: sol[gid] + "\n\n" + source})


def kinds(*, hang: bool = False) -> list[tuple[str, object]]:
    """(kind name, notebook maker ``course -> dict``) in the order a class is built."""
    out = [("correct", lambda c: c.notebook(A3)), ("untouched", lambda c: c.notebook(A3, base="release"))]
    out += [(bug, lambda c, f=f, b=bug: with_answer(c, f, bug_source(f, b))) for f, bug in A3_BUGS]
    out += [("no-carry", lambda c: with_answer(c, "rnn_backward", NO_CARRY_BPTT)),
            ("crash", lambda c: with_answer(c, "rnn_step_forward", CRASH))]
    if hang:
        out.append(("hang", lambda c: with_answer(c, "rnn_forward", HANG)))
    return out


def submit_class(course: Course, n: int, *, hang: bool = False) -> list[str]:
    """Submit ``n`` students of a3-bptt, cycling through :func:`kinds`; return their ids."""
    made = kinds(hang=hang)
    students = []
    for i in range(n):
        name, make = made[i % len(made)]
        student = f"s{i:03d}-{name.replace('_', '-')}"
        course.submit(student, A3, make(course))
        students.append(student)
    return students
