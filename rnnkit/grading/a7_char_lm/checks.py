"""a7-char-lm: ``CHECKS`` and the ``grade_*`` functions."""
from __future__ import annotations

from .._core import Verdict
from .batches import MAKE_BATCHES
from .sampling import SAMPLE
from .training import TRAIN_STEP


#: The hidden test cells of a7-char-lm, by grade_id.
CHECKS = {c.grade_id: c for c in (MAKE_BATCHES, TRAIN_STEP, SAMPLE)}


def grade_make_batches(fn, *, rng=None) -> Verdict:
    """Check ``make_batches(ids, B, T) -> list of (inputs (T, B), targets (T, B))``."""
    return MAKE_BATCHES.grade(fn, rng=rng)


def grade_sample_with_temperature(fn, *, rng=None) -> Verdict:
    """Check ``sample_with_temperature(logits, temperature, rng) -> (B,)`` on the same draws as the reference."""
    return SAMPLE.grade(fn, rng=rng)


def grade_train_step(fn, *, rng=None) -> Verdict:
    """Check ``train_step(model, X, Y, state, lr, max_norm) -> (loss, new_state)`` on a fresh model."""
    return TRAIN_STEP.grade(fn, rng=rng)
