r"""a3-bptt (chapter 5): the vanilla RNN step, the sequence, BPTT, and the output layer's gradients.

One :class:`~rnnkit.grading.engine.GradedFunction` per hidden test cell: :mod:`.step` (rnn_step_forward,
rnn_step_backward), :mod:`.sequence` (rnn_forward), :mod:`.backward` (rnn_backward's two cells), :mod:`.output`
(output_backward); :mod:`.cases` draws the cases. Forward values are compared with rnnkit's reference on the same
inputs; gradients with central differences of the reference forward pass with the loss
:math:`L = \sum \texttt{Hs} \odot \texttt{dHs}` on the drawn and edge cases, with the analytic reference on the
probe cases (inputs that switch one term off) and the large case.
"""
from rnnkit.grading.engine import checks_in, withheld_by

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD"]

#: The hidden test cells of a3-bptt, by grade_id.
CHECKS = checks_in(__name__)
#: What the notebook may import from rnnkit inside the grading sandbox (nothing that computes a graded function).
SANDBOX_EXPORTS = ("numerical_gradient",)
#: Library code that computes one of this assignment's graded functions: never in its sandbox.
SANDBOX_WITHHELD = withheld_by(CHECKS)
