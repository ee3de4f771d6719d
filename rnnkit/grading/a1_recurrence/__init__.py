r"""Checks for assignment a1-recurrence (chapters 1–2): one step, unrolling, counting parameters.

The recurrence of chapter 2 is :math:`s^{(t)} = f(s^{(t-1)}, x^{(t)}; \theta)` with the
same :math:`f` and :math:`\theta` at every step. The learner writes one step of the
tanh recurrence, a generic ``unroll(f, X, s0)`` that applies any transition ``f``
along a sequence, and the parameter count of the RNN with an output layer, which
does not depend on the sequence length.

Each hidden test cell is a :class:`~rnnkit.grading.Check` in :data:`CHECKS`: the inputs are
drawn in the grading process (a random draw plus fixed edge cases), the learner's function
runs on them in the sandbox, and the judge sees only what it returned (for ``unroll`` also
how often it called the transition, a :class:`rnnkit.grading.kernel.Transition`). ``grade_*`` run
a check in this process, for tests and trusted code.

Besides the catalogue of classic mistakes (buggy variants computed on the same inputs), each
check asks for *probes*: the random case again with one term switched off (``Ws = 0``,
``x = 0``, ``B = 1``, ``T = 1`` ...). Which probes the learner's function gets right tells
where a mistake outside the catalogue is (:class:`~rnnkit.grading._core.Probe`, :func:`probe_report`).
"""

from __future__ import annotations

from .probes import explained, probe_failure, probe_report, probe_right, with_error_hint
from .step import grade_recurrence_step, judge_recurrence_step
from .unroll import grade_unroll, judge_unroll
from .count import CHECKS, grade_rnn_parameter_count, judge_rnn_parameter_count

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD",
           "grade_recurrence_step", "grade_unroll", "grade_rnn_parameter_count", "judge_recurrence_step",
           "judge_unroll", "judge_rnn_parameter_count"]

#: What the notebook may import from rnnkit inside the grading sandbox: nothing (it uses numpy only).
SANDBOX_EXPORTS = ()

#: rnnkit definitions that compute (or trivially give) a graded function of a1: the tanh step
#: (also as the first step of a sequence), and the parameter count (the sizes of the parameters).
SANDBOX_WITHHELD = ("rnn_step_forward", "rnn_forward", "init_params", "HiddenToHiddenRNN", "SequenceToOneRNN")
