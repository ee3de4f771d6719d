r"""Checks of assignment a3-bptt (chapter 5): the vanilla RNN step, sequence and BPTT.

Each hidden test cell is a :class:`~rnnkit.grading.Check` in :data:`CHECKS`: a case builder
that draws fresh sizes and values in the grading process, and a judge that sees only
the arrays the learner's function returned on them (``judge_*``). ``grade_*`` run a
check in this process, for tests and trusted code.

Ground truth: forward values from rnnkit's reference on the same inputs;
gradients from central differences of the reference forward pass with the loss
:math:`L = \sum \texttt{Hs} \odot \texttt{dHs}` (a random upstream gradient, so
every output entry matters).

Besides the random case every check judges fixed cases on every run (so a regrade never
changes a score): the smallest sizes (T = B = 1) and *probe cases*, inputs that switch one
term of the computation off (x = 0, h⁽⁰⁾ = 0, Ws = 0, tanh′ = 1, the upstream gradient at one
step only, B = 1, ...). When no known mistake (buggy variant) explains a failure, which
probes pass and which fail names the term at fault (:data:`PROBES`, :data:`RULES`).

The sequence functions are also run with a correct step function standing in for the
learner's (:func:`rnnkit.grading.kernel.with_oracle`): a mistake of the step function then costs
only the step function's cell, and the loop is diagnosed on its own.
"""

from __future__ import annotations

from .diagnoses import NOT_CARRIED, NO_BIAS, NO_TANH, WS_NOT_T
from .cases import rnn_case
from .variants import step_cache, seq_cache
from .checks import (CHECKS, judge_rnn_step_forward, judge_rnn_step_backward, judge_rnn_forward,
                     judge_rnn_backward, judge_output_backward, grade_rnn_step_forward,
                     grade_rnn_step_backward, grade_rnn_forward, grade_rnn_backward,
                     grade_output_backward)

__all__ = [
    "CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD",
    "rnn_case", "step_cache", "seq_cache", "judge_rnn_step_forward", "judge_rnn_step_backward", "judge_rnn_forward",
    "judge_rnn_backward", "judge_output_backward",
    "grade_rnn_step_forward", "grade_rnn_step_backward", "grade_rnn_forward", "grade_rnn_backward",
    "grade_output_backward",
]

#: What the notebook may import from rnnkit inside the grading sandbox (nothing that computes a graded function).
SANDBOX_EXPORTS = ("numerical_gradient",)

#: Library code that computes one of this assignment's graded functions: never in its sandbox.
SANDBOX_WITHHELD = ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward", "affine_forward",
                    "affine_backward", "HiddenToHiddenRNN", "tbptt_loss_and_grads")
