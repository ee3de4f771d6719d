r"""a2-forward-loss (chapters 3–4): softmax, the sequence NLL, and the forward passes of three RNN families.

The three families of chapter 3, in the notation of the book:

(a) hidden-to-hidden recurrence with an output at every step:
    :math:`h^{(t)} = \tanh(b + W_s h^{(t-1)} + W_x x^{(t)})`, :math:`o^{(t)} = c + W_y h^{(t)}`;
(b) recurrence only from the output to the next state (trained with the previous target fed back):
    :math:`h^{(t)} = \tanh(b + W_o y^{(t-1)} + W_x x^{(t)})`, :math:`o^{(t)} = c + W_y h^{(t)}`, with
    ``Yprev[t]`` the vector fed at step t (zero at the first step);
(c) hidden-to-hidden recurrence read to the end, one output :math:`o = c + W_y h^{(T)}`.

One specification per hidden test cell, one module per graded function (``softmax``, ``nll``) and one for
the three families (``families``); ``cases`` draws the inputs they share.
"""
from __future__ import annotations

from rnnkit.grading.engine import checks_in, withheld_by

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD"]

#: The hidden test cells of a2-forward-loss, by grade_id.
CHECKS = checks_in(__name__)

#: What the notebook may import from rnnkit inside the grading sandbox: nothing (it uses numpy only).
SANDBOX_EXPORTS = ()

#: rnnkit definitions that compute (or trivially give) a graded function of a2.
SANDBOX_WITHHELD = withheld_by(CHECKS)
