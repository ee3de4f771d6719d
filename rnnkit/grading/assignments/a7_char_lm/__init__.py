r"""Assignment a7-char-lm (chapter 9): batching a character corpus, one training step, sampling with temperature.

One specification per graded function (:class:`rnnkit.grading.engine.GradedFunction`):
:mod:`.batches` (``make_batches``), :mod:`.training` (``train_step``), :mod:`.sampling`
(``sample_with_temperature``). Their results are read from what the kernel recorded: the list of windows
as two stacked arrays, the step ``train_step`` took in the model's parameters (with the loss and the final
state), and the sizes of the generator's ``rng.random`` calls.
"""
from __future__ import annotations

from rnnkit.grading.engine import checks_in, withheld_by

#: The hidden test cells of a7-char-lm, by grade_id.
CHECKS = checks_in(__name__)
#: What the notebook imports from rnnkit (setup cell); nothing here computes a graded function.
SANDBOX_EXPORTS = ("HiddenToHiddenRNN", "Vocab", "one_hot", "softmax")
#: rnnkit definitions cut out of the sandbox's copy of the shipped modules (each spec's ``withheld``).
SANDBOX_WITHHELD = withheld_by(CHECKS)

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD"]
