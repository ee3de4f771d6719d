r"""Checks for assignment a5-teacher-forcing (chapter 7): the output-recurrence family (b).

Model (as :class:`rnnkit.models.OutputToHiddenRNN`):
:math:`h^{(t)} = \tanh(b + W_x x^{(t)} + W_o\, \mathrm{onehot}(f^{(t)}))`,
:math:`o^{(t)} = c + W_y h^{(t)}`, where :math:`f^{(t)}` is the token fed into step t
(``-1`` = nothing, a zero vector). ``Wo`` is (H, K).

* ``teacher_forcing_inputs(Y)``: the fed tokens under teacher forcing, Y shifted right, -1 first;
* ``output_rnn_forward(X, feedback, Wx, Wo, b, Wy, c) -> (O, cache)`` with
  ``cache = (X, F, Hs, Wx, Wo, Wy)``, F the one-hot feedback (T, B, K);
* ``output_rnn_backward(dO, cache) -> (dX, dWx, dWo, db, dWy, dc)``: no loop over time needed;
* ``generate_closed_loop(X, Wx, Wo, b, Wy, c) -> tokens`` (T, B): greedy, own outputs fed back;
* ``scheduled_feedback(X, Y, p_truth, params, rng) -> feedback`` (T, B): at each step t >= 1 one
  draw ``rng.random(B)``; where it is below ``p_truth`` the truth Y[t-1] is fed, else the model's
  greedy prediction at t-1 (computed with what was fed at t-1).

Each hidden test cell is a :class:`~rnnkit.grading.Check`: the inputs are drawn here (a random
case and fixed ones), the learner's function runs in the sandboxed kernel
(:func:`rnnkit.grading.kernel.run_check`), and only the recorded return values are judged here.
Besides the cases, each check asks about fixed *probe cases* that switch one part of the model
off (nothing fed, Wo = 0, T = 1, dO at one step only, p_truth = 0 or 1, ...): when no known
mistake matches, which probe cases pass and which fail names the part at fault
(:func:`rnnkit.grading._core.probe_conclusion`).
"""

from __future__ import annotations

from .common import output_rnn_reference
from .checks import (CHECKS, grade_teacher_forcing_inputs, grade_output_rnn_forward,
                     grade_output_rnn_backward, grade_generate_closed_loop,
                     grade_scheduled_feedback)

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD",
           "grade_teacher_forcing_inputs", "grade_output_rnn_forward", "grade_output_rnn_backward",
           "grade_generate_closed_loop", "grade_scheduled_feedback", "output_rnn_reference"]

#: What the notebook may import from rnnkit inside the grading sandbox (its setup cell defines
#: ``one_hot_feedback`` itself).
SANDBOX_EXPORTS = ("numerical_gradient",)

#: rnnkit names that compute this assignment's graded functions (teacher feedback, the teacher-forced
#: forward and backward pass, closed-loop generation, scheduled feedback): never in the sandbox.
SANDBOX_WITHHELD = ("OutputToHiddenRNN", "shift_right")
