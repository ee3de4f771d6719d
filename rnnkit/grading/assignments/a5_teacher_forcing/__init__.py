r"""a5-teacher-forcing (chapter 7): the output-recurrence family, one specification per graded function.

* ``teacher_forcing_inputs(Y) -> feedback``: Y shifted right, -1 first (:mod:`.teacher_forced`);
* ``output_rnn_forward(X, feedback, Wx, Wo, b, Wy, c) -> (O, cache)``, cache ``(X, F, Hs, Wx, Wo, Wy)``
  (:mod:`.teacher_forced`);
* ``output_rnn_backward(dO, cache) -> (dX, dWx, dWo, db, dWy, dc)``, no loop over time (:mod:`.backward`);
* ``generate_closed_loop(X, Wx, Wo, b, Wy, c) -> tokens`` and
  ``scheduled_feedback(X, Y, p_truth, params, rng) -> feedback`` (:mod:`.generation`).

The model and the shared cases are in :mod:`.cases`.
"""
from __future__ import annotations

from rnnkit.grading.engine import checks_in, withheld_by

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD"]

#: The hidden test cells, by grade_id.
CHECKS = checks_in(__name__)

#: What the notebook may import from rnnkit inside the grading sandbox (its setup cell defines
#: ``one_hot_feedback`` itself).
SANDBOX_EXPORTS = ("numerical_gradient",)

#: rnnkit names that compute this assignment's graded functions: never in the sandbox.
SANDBOX_WITHHELD = withheld_by(CHECKS)
