r"""Checks of assignment a4-gradients-over-time (chapter 6).

Each hidden test cell is a :class:`~rnnkit.grading.Check` in :data:`CHECKS`: a case builder
that draws fresh sizes and values in the grading process (plus fixed edge cases judged on
every run), and a judge that sees only what the learner's function returned on them.
``grade_*`` run a check in this process, for tests and trusted code.

Besides the cases, every check asks the learner's function about *probe cases*: fixed inputs on
which one part of the computation cannot show a mistake (t = T, h = 0, Ws symmetric, B = 1,
nothing to clip, k = 1, k ≥ T, ...). The classic mistakes are named from a catalogue of buggy
variants; when none matches, which probe cases pass and which fail names the part at fault
(:func:`rnnkit.grading._core.probe_conclusion`). Probe cases are fixed, so a regrade of the
same code gives the same score.

* ``jacobian_to_last(Hs, Ws, t)``: :math:`\partial h^{(T)}/\partial h^{(t)}` for every sequence of
  the batch, the product of the per-step Jacobians
  :math:`\partial h^{(k)}/\partial h^{(k-1)} = \operatorname{diag}(1 - h^{(k)2})\, W_s`;
  checked against that product on the reference states (which the test suite checks against
  central differences of the recurrence run from :math:`h^{(t)}`).
* ``clip_by_value`` and ``clip_by_global_norm`` on dicts of gradients (new dicts, inputs untouched).
* ``tbptt_backward(dHs, cache, k)``: BPTT with the carried gradient cut at the borders of
  chunks of ``k`` steps (``[0, k), [k, 2k), ...``); checked against central differences of
  the sum of the chunks' losses, each chunk started from its (fixed) incoming state. A wrong
  ``dX`` is read back to the chunk borders the learner's loop really used, whatever ``T mod k``.
"""

from __future__ import annotations

from .jacobian import numerical_jacobian, _jacobian
from .checks import (CHECKS, grade_jacobian_to_last, grade_clip_by_value, grade_clip_by_global_norm,
                     grade_tbptt_backward)

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD", "numerical_jacobian",
           "grade_jacobian_to_last", "grade_clip_by_value", "grade_clip_by_global_norm", "grade_tbptt_backward"]

#: What the notebook may import from rnnkit inside the grading sandbox. Its setup cell does
#: ``import rnnkit`` (for the visible tests only); no solution cell needs anything from it.
SANDBOX_EXPORTS = ()

#: rnnkit functions that compute (or trivially give) a graded function of this assignment.
SANDBOX_WITHHELD = ("clip_by_value", "clip_by_global_norm", "global_norm", "tbptt_loss_and_grads",
                    "rnn_step_forward", "rnn_forward", "rnn_step_backward", "rnn_backward")
