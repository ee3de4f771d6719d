r"""Checks for the LSTM exercises (assignment a6-lstm, chapter 8).

Conventions of the notebook (and of rnnkit): ``W`` (4H, H+D) acts on the stacked
vector ``[h_prev, x]`` (columns ``[:H]`` for the state), its row blocks are the gates
in the order i, f, o, g, and ``b`` is (4H,).

The step cache the notebook prescribes is ``(x, h_prev, c_prev, i, f, o, g, c, W)``;
``lstm_forward`` returns the list of the T step caches. The checker builds those
caches itself from the reference forward pass, so each backward cell is graded
independently of the learner's forward cells.

Each hidden test cell is a :class:`~rnnkit.grading.Check` in :data:`CHECKS`: a case builder
that draws fresh inputs in the grading process (plus fixed cases judged on every run), and a
judge that sees only the arrays the learner's function returned on them (``judge_*``).
``grade_*`` run a check in this process, for tests and trusted code.

How a mistake is named:

* the catalogue: outputs of deliberately buggy variants on the same inputs (``*_BUGS``);
* facts: which gate blocks of ``dW`` / ``db`` are wrong (rows i: 0..H, f: H..2H, o: 2H..3H,
  g: 3H..4H), and which gates in the learner's step cache;
* probes (:data:`STEP_FORWARD_PROBES`, :data:`STEP_BACKWARD_PROBES`, :data:`FORWARD_SEQUENCE_PROBES`,
  :data:`BACKWARD_SEQUENCE_PROBES`): the fixed typical case again with one term switched off (``dc = 0``, ``dh = 0``, ``B = 1``, ``T = 1``,
  ``W[:, :H] = 0``, the forget gate shut ...), and per gate the gate saturated (pre-activation
  +30: σ′ ≈ 0, tanh′ = 0) and pinned (its pre-activation the same number everywhere, so its
  derivative is one number and a wrong derivative scales the whole gate block). Which probes the
  learner's function gets right says which term (and which gate's σ′ / tanh′) is at fault. The
  probe text is added only when no catalogued mistake matched;
* blame (sequence cells): each case is run a second time with the learner's step function
  replaced by an :class:`~rnnkit.grading.kernel.Oracle` that answers correctly for exactly the inputs a
  correct loop passes. A sequence function whose loop is right keeps its points when only its
  step function is wrong; a wrong loop is diagnosed from that second run, isolated from the
  step function; an argument that a correct loop would not pass is named (``known`` values).
"""

from __future__ import annotations

from .cases import lstm_case
from .variants import lstm_step_caches
from .judges import judge_lstm_step_forward, judge_lstm_step_backward, judge_lstm_forward, judge_lstm_backward
from .sequence_checks import (CHECKS, grade_lstm_step_forward, grade_lstm_step_backward, grade_lstm_forward,
                              grade_lstm_backward)

__all__ = [
    "CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD",
    "lstm_case", "lstm_step_caches",
    "judge_lstm_step_forward", "judge_lstm_step_backward", "judge_lstm_forward", "judge_lstm_backward",
    "grade_lstm_step_forward", "grade_lstm_step_backward", "grade_lstm_forward", "grade_lstm_backward",
]

#: What the notebook may import from rnnkit inside the grading sandbox (nothing that computes a graded function).
SANDBOX_EXPORTS = ("numerical_gradient", "sigmoid")

#: rnnkit names that compute (or trivially give) an LSTM step or pass, forward or backward: removed from the
#: sandbox's copy of :mod:`rnnkit.layers`, which ships for ``sigmoid``.
SANDBOX_WITHHELD = ("lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
                    "_local_grads",
                    "LSTMStepCache", "LSTMCache")
