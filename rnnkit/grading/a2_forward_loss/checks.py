"""a2-forward-loss: ``CHECKS`` and the ``grade_*`` functions."""
from __future__ import annotations

from .._core import Verdict
from .families import HIDDEN_TO_HIDDEN, OUTPUT_TO_HIDDEN, SEQUENCE_TO_ONE
from .nll import NLL
from .softmax import SOFTMAX


#: The hidden test cells of a2-forward-loss, by grade_id.
CHECKS = {c.grade_id: c for c in (SOFTMAX, NLL, HIDDEN_TO_HIDDEN, OUTPUT_TO_HIDDEN, SEQUENCE_TO_ONE)}


def grade_hidden_to_hidden_forward(fn, *, rng=None) -> Verdict:
    """Check family (a): ``hidden_to_hidden_forward(X, h0, Wx, Ws, b, Wy, c) -> O`` (T, B, K)."""
    return HIDDEN_TO_HIDDEN.grade(fn, rng=rng)


def grade_output_to_hidden_forward(fn, *, rng=None) -> Verdict:
    """Check family (b): ``output_to_hidden_forward(X, Yprev, Wx, Wo, b, Wy, c) -> O`` (T, B, K).

    ``Yprev[t]`` (B, K) is the vector fed back into step t (the previous target, one-hot; zeros at t=0).
    """
    return OUTPUT_TO_HIDDEN.grade(fn, rng=rng)


def grade_sequence_to_one_forward(fn, *, rng=None) -> Verdict:
    """Check family (c): ``sequence_to_one_forward(X, h0, Wx, Ws, b, Wy, c) -> o`` (B, K) from the last state."""
    return SEQUENCE_TO_ONE.grade(fn, rng=rng)
