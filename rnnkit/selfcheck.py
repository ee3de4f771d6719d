"""Check a graded function yourself, before you submit: the same diagnosis grading gives.

In an exercise notebook, under a function you wrote::

    from rnnkit.selfcheck import self_check
    self_check("test_rnn_backward_parameters", rnn_backward, rnn_step_backward=rnn_step_backward)

runs the hidden test of that cell here, on inputs drawn now (the seed is printed, so
``seed=...`` reproduces a run), and prints every wrong array with the likely cause. It is
advisory: it runs in your kernel, and your grade is decided when the notebook is graded,
on inputs drawn then. The "Grading seed N" of your feedback replays here too:
``self_check(..., seed=N)`` checks your function on the very inputs grading drew.
"""
from __future__ import annotations

import os

from .grading import kernel, registry
from .grading.engine import wrap

__all__ = ["self_check"]


def self_check(grade_id: str, fn, *, seed: int | None = None, **observe) -> bool:
    """Run the check behind hidden test cell ``grade_id`` on ``fn``; print the verdict.

    Parameters
    ----------
    grade_id : str
        The hidden test cell, e.g. ``"test_rnn_forward"`` (shown in each notebook).
    fn : callable
        Your function.
    seed : int, optional
        The inputs of an earlier run: the seed a self-check prints, or the "Grading seed N" of your
        feedback (the same cases as that grading run). By default a fresh one.
    **observe
        Your helper functions that ``fn`` calls (e.g. ``rnn_step_forward=rnn_step_forward``),
        so that a mistake in a helper is reported where it is.

    Returns
    -------
    bool
        Whether the check passed. A failure also raises ``AssertionError`` with the message, so a
        notebook cell shows it as failed.
    """
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little")
    check = registry.find_check(grade_id)
    verdict = check.grade(fn, seed=seed, observe=observe)
    text = wrap(verdict.message.split("\n(Grading seed")[0])
    print(("PASSED - " if verdict.passed else "FAILED - ") + text)
    print(f"(self-check seed {seed}; self_check({grade_id!r}, ..., seed={seed}) repeats this run)")
    if not verdict.passed:
        raise AssertionError(f"{check.function} fails its self-check (details above)")
    return True


# A hidden test cell run outside the grading sandbox (an instructor running a solution notebook) runs this
# check: the kernel cannot import it (the checks live above it), so it is handed down here.
kernel.set_local_check(self_check)
