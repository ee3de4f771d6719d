r"""The checks of assignment a6-lstm (chapter 8): one specification per graded function.

* :mod:`.step_forward` — ``lstm_step_forward(x, h_prev, c_prev, W, b) -> (h, c, cache)``, the cache compared too;
* :mod:`.step_backward` — ``lstm_step_backward(dh, dc, cache) -> (dx, dh_prev, dc_prev, dW, db)``;
* :mod:`.forward` — ``lstm_forward(X, h0, c0, W, b) -> (Hs, caches)``, blamed apart from its step function;
* :mod:`.backward` — ``lstm_backward(dHs, caches) -> (dX, dh0, dc0, dW, db)``, two cells (parameters, inputs).

:mod:`.cases` draws the cases and holds the reference passes and probe makers; :mod:`.mistakes` writes out one
step with the classic mistakes, which the specs name.
"""
from __future__ import annotations

from rnnkit.grading.engine import checks_in, withheld_by

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD"]

#: The hidden test cells of a6-lstm, by grade_id.
CHECKS = checks_in(__name__)
#: What the notebook may import from rnnkit inside the grading sandbox (nothing that computes a graded function).
SANDBOX_EXPORTS = ("numerical_gradient", "sigmoid")
#: rnnkit names that compute (or trivially give) an LSTM step or pass: removed from the sandbox's copy of
#: :mod:`rnnkit.layers`, which ships for ``sigmoid``.
SANDBOX_WITHHELD = withheld_by(CHECKS)
