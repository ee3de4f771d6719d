r"""Checks for assignment a2-forward-loss (chapters 3–4): softmax, sequence NLL, three families' forward passes.

The three families of chapter 3, in the notation of the book:

(a) hidden-to-hidden recurrence with an output at every step:
    :math:`h^{(t)} = \tanh(b + W_s h^{(t-1)} + W_x x^{(t)})`, :math:`o^{(t)} = c + W_y h^{(t)}`;
(b) recurrence only from the output to the next state (trained with the previous target
    fed back): :math:`h^{(t)} = \tanh(b + W_o y^{(t-1)} + W_x x^{(t)})`, :math:`o^{(t)} = c + W_y h^{(t)}`,
    with ``Yprev[t]`` the vector fed at step t (zero at the first step);
(c) hidden-to-hidden recurrence read to the end, one output :math:`o = c + W_y h^{(T)}`.

Each hidden test cell is a :class:`~rnnkit.grading.Check` in :data:`CHECKS`: the inputs are
drawn in the grading process (a random draw plus a fixed edge case; softmax and the loss
also on logits of size ±1000), the learner's function runs on them in the sandbox, and the
judge sees only the arrays it returned. ``grade_*`` run a check in this process, for tests
and trusted code.

Besides the catalogue of classic mistakes, each check asks for probes (see
:class:`rnnkit.grading._core.Probe`): the random case again with one part switched off
(``Ws = 0``, ``X = 0``, ``h0 = 0``, ``Yprev = 0``, ``b = 0``, ``c = 0``, ``T = 1``, ``B = 1``;
for the loss equal logits; for softmax a (B, K) array). Which of them the learner's function
gets right locates a mistake outside the catalogue.
"""

from __future__ import annotations

from .softmax import grade_softmax
from .nll import grade_sequence_nll
from .checks import (CHECKS, grade_hidden_to_hidden_forward, grade_output_to_hidden_forward,
                     grade_sequence_to_one_forward)

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD",
           "grade_softmax", "grade_sequence_nll", "grade_hidden_to_hidden_forward", "grade_output_to_hidden_forward",
           "grade_sequence_to_one_forward"]

#: What the notebook may import from rnnkit inside the grading sandbox: nothing (it uses numpy only).
SANDBOX_EXPORTS = ()

#: rnnkit definitions that compute (or trivially give) a graded function of a2.
SANDBOX_WITHHELD = ("softmax", "softmax_cross_entropy", "rnn_step_forward", "rnn_forward", "affine_forward",
                    "HiddenToHiddenRNN", "OutputToHiddenRNN", "SequenceToOneRNN")
