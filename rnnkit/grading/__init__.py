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
from ._core import BUG_MATCH_TOL, GRAD_TOL, VALUE_TOL, Check, Verdict, judge, require
from .a3_bptt import *  # noqa: F401,F403
from .a3_bptt import __all__ as _rnn_all
from .a6_lstm import *  # noqa: F401,F403
from .a6_lstm import __all__ as _lstm_all
from .a1_recurrence import *  # noqa: F401,F403
from .a1_recurrence import __all__ as _recurrence_all
from .a2_forward_loss import *  # noqa: F401,F403
from .a2_forward_loss import __all__ as _forward_all
from .a4_gradients_over_time import *  # noqa: F401,F403
from .a4_gradients_over_time import __all__ as _gradients_all
from .a5_teacher_forcing import *  # noqa: F401,F403
from .a5_teacher_forcing import __all__ as _teacher_all
from .a7_char_lm import *  # noqa: F401,F403
from .a7_char_lm import __all__ as _charlm_all

__all__ = (["Check", "Verdict", "GRAD_TOL", "VALUE_TOL", "BUG_MATCH_TOL", "judge", "require"]
           + list(_rnn_all) + list(_lstm_all) + list(_recurrence_all)
           + list(_forward_all) + list(_gradients_all)
           + list(_teacher_all) + list(_charlm_all))
