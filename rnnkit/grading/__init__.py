"""Checks behind the hidden tests of the course's nbgrader assignments.

A hidden test cell calls a ``grade_*`` function with the learner's function and
ends with ``assert verdict.passed, verdict.message``::

    from rnnkit.grading import grade_rnn_backward
    verdict = grade_rnn_backward(rnn_backward, part="parameters")
    assert verdict.passed, verdict.message

Design (see :doc:`/book/instructor-guide`):

* sizes and values are drawn when the check runs (seeded from the operating
  system) and never stored in a notebook, so the feedback a learner sees holds
  no answer key;
* gradients are compared with central differences of rnnkit's reference forward
  pass, forward values with the reference, in float64, with the tolerances
  :data:`GRAD_TOL` and :data:`VALUE_TOL`;
* a wrong output is compared with the outputs of deliberately buggy
  implementations on the same inputs, to name the mistake;
* outputs are copied into plain float64 arrays before any comparison, and the
  numpy functions used for judging are bound when this module is imported;
* learner exceptions, warnings and prints never escape a check (nbgrader scores a
  cell that writes to stderr zero);
* the ``judge_*`` functions need only the inputs and the learner's arrays, so the
  judging can also run in a clean process.
"""
from . import registry
from ._core import BUG_MATCH_TOL, GRAD_TOL, VALUE_TOL, Check, Verdict, judge, require

#: Names every assignment module defines for itself; read them per module (``registry.module_for``).
_PER_ASSIGNMENT = {"CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD"}

__all__ = ["Check", "Verdict", "GRAD_TOL", "VALUE_TOL", "BUG_MATCH_TOL", "judge", "require", "registry"]
# The grade_* and judge_* functions of every assignment, importable from rnnkit.grading.
for _module_name in registry.MODULES:
    _module = registry.module_for(_module_name)
    for _name in _module.__all__:
        if _name not in _PER_ASSIGNMENT:
            globals()[_name] = getattr(_module, _name)
            __all__.append(_name)
del _module_name, _module, _name
