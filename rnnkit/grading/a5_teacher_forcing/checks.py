"""a5-teacher-forcing: ``CHECKS`` and the ``grade_*`` functions."""
from __future__ import annotations

from .._core import Verdict
from .generation import GENERATE_CLOSED_LOOP, SCHEDULED_FEEDBACK
from .teacher_forcing import OUTPUT_RNN_BACKWARD, OUTPUT_RNN_FORWARD, TEACHER_FORCING_INPUTS


#: The hidden test cells of a5-teacher-forcing, by grade_id.
CHECKS = {c.grade_id: c for c in (TEACHER_FORCING_INPUTS, OUTPUT_RNN_FORWARD, OUTPUT_RNN_BACKWARD,
                                  GENERATE_CLOSED_LOOP, SCHEDULED_FEEDBACK)}


# ---------------------------------------------------------------------------
# in-process wrappers (tests, trusted code)
# ---------------------------------------------------------------------------

def grade_teacher_forcing_inputs(fn, *, rng=None) -> Verdict:
    """Check ``teacher_forcing_inputs(Y) -> feedback`` (T, B): Y shifted right by one, -1 at the first step."""
    return TEACHER_FORCING_INPUTS.grade(fn, rng=rng)


def grade_output_rnn_forward(fn, *, rng=None) -> Verdict:
    """Check ``output_rnn_forward(X, feedback, Wx, Wo, b, Wy, c) -> (O, cache)``."""
    return OUTPUT_RNN_FORWARD.grade(fn, rng=rng)


def grade_output_rnn_backward(fn, *, rng=None) -> Verdict:
    """Check ``output_rnn_backward(dO, cache) -> (dX, dWx, dWo, db, dWy, dc)``; cache = (X, F, Hs, Wx, Wo, Wy)."""
    return OUTPUT_RNN_BACKWARD.grade(fn, rng=rng)


def grade_generate_closed_loop(fn, *, rng=None) -> Verdict:
    """Check ``generate_closed_loop(X, Wx, Wo, b, Wy, c) -> tokens`` (T, B): greedy, own predictions fed back."""
    return GENERATE_CLOSED_LOOP.grade(fn, rng=rng)


def grade_scheduled_feedback(fn, *, rng=None) -> Verdict:
    """Check ``scheduled_feedback(X, Y, p_truth, params, rng) -> feedback`` against the same draws."""
    return SCHEDULED_FEEDBACK.grade(fn, rng=rng)
