"""Tolerances, verdicts, and the numpy functions the checks use, bound once at import."""
from __future__ import annotations

import os
import textwrap
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np


# Bound once, at import: a learner who later rebinds ``np.allclose`` or ``np.abs``
# in their notebook changes what *their* code sees, not what the checks use.
_errstate = np.errstate
_default_rng = np.random.default_rng

#: Relative tolerance for an analytic gradient against central differences.
#: Central differences with eps=1e-6 in float64 agree with a correct gradient to
#: about 1e-8 (truncation ~eps², rounding ~1e-16/eps); the classic bugs are off by
#: 1e-2 or far more. 1e-5 leaves a thousandfold margin on both sides.
GRAD_TOL = 1e-5
#: Relative tolerance for forward values against the reference on the same inputs:
#: both are float64 with the same operations up to summation order (~1e-15).
VALUE_TOL = 1e-7
#: How close a gradient must be to a deliberately buggy variant to be named after it.
BUG_MATCH_TOL = 1e-6
#: Entries below this fraction of an array's largest are judged on that scale (``floor_fraction`` of
#: :func:`rnnkit.gradcheck.gradient_error`): ten times finer than the library tests' 1e-3, because a
#: learner's gradient is compared at GRAD_TOL with central differences of step FD_EPS.
ERROR_FLOOR = 1e-4
#: Step of the central differences.
FD_EPS = 1e-6

#: Results computed in float32. Every input of a check is float64, but a learner may compute (or return)
#: in float32: such a result is judged on its values against what float32 rounding of a correct
#: computation allows, and the verdict names it. It is recognised by its values, not its dtype: an
#: output whose every entry is a float32 number (dtype float32, or float64 values that survive a round
#: trip through float32, i.e. computed in float32 and cast back; a float64 computation lands on float32
#: numbers with probability 2**-29 per entry). float32 keeps 24 bits (unit roundoff 2**-24 ≈ 6e-8); the
#: checks' sums run over at most a few hundred terms, so a correct float32 result is off by some 1e-6
#: relative to its array's scale. Measured over every valid implementation of the bug table run in float32
#: (inputs cast, 3 seeds; tests/grading/test_representation.py keeps a sample): worst 1.0e-5 on forward
#: values (rnn_forward's Hs, rounding carried through T steps), 9.3e-6 on gradients (rnn_backward's dX).
#: Entries below FLOAT32_ERROR_FLOOR of the array's largest are judged on that scale: float32 rounding
#: of a sum is absolute (~1e-7 of the terms' size), so the finer float64 floor would measure noise.
FLOAT32_ERROR_FLOOR = 1e-2
#: Tolerance for float32 forward values (VALUE_TOL's regime): ten times the worst measured error; the
#: classic mistakes are off by 1e-2 or more.
FLOAT32_VALUE_TOL = 1e-4
#: Tolerance for float32 gradients and derivatives (GRAD_TOL's regime): a hundred times the worst measured
#: error, because gradients accumulate over time and batch and the large cases (LARGE_CASE_*) sum over
#: thousands of terms; still ten times below the smallest classic mistake.
FLOAT32_GRAD_TOL = 1e-3


#: CPU-time budget (seconds of the kernel process's CPU time, so the machine's load does not decide a score) of the large case of a backward check (:class:`~rnnkit.grading.engine.LargeCase`).
#: Backward passes must be analytic: each large case is sized so that an honest backward pass written with
#: plain Python loops over time *and* batch rows finishes in well under a second (measured on a 2-core
#: machine at load averages 6 to 11: at most 0.52 s; vectorised code takes milliseconds), while central
#: differences of the learner's own forward pass need two forward passes per graded entry (tens of thousands
#: of entries) and take minutes (at least 196 s), beyond even the cell's 30 s limit. The sizes and times
#: are in book/grading-reference.md.
LARGE_CASE_BUDGET = 5.0


#: Width a message is wrapped to where it is shown (feedback pages do not wrap ``<pre>``).
WRAP = 100


def wrap(text: str, width: int = WRAP) -> str:
    """Wrap each line of a message to ``width`` columns, continuation lines indented."""
    out = []
    for line in str(text).splitlines() or [""]:
        out.extend(textwrap.wrap(line, width=width, break_long_words=True, break_on_hyphens=False,
                                 subsequent_indent="  ") or [""])
    return "\n".join(out)


@dataclass(frozen=True)
class Verdict:
    """Outcome of one check: ``passed`` and a message a learner can act on."""
    passed: bool
    message: str

    def __str__(self) -> str:
        return ("PASSED: " if self.passed else "FAILED: ") + self.message


class Failure(Exception):
    """Stop a check early: the exception's text is the learner-facing message of a failed verdict."""


def fresh_rng(rng: np.random.Generator | None = None, seed: int | None = None) -> tuple[np.random.Generator, int]:
    """The generator used for one check, and its seed (reported so a failure can be reproduced).

    ``seed`` given: that seed, so the "Grading seed N" a failure prints replays exactly
    (``self_check(grade_id, fn, seed=N)``). Else ``rng`` draws the seed; ``rng=None`` draws it from the
    operating system, so the inputs of a hidden test are never stored in a notebook.
    """
    if seed is not None:
        seed = int(seed) % 2**32
    elif rng is None:
        seed = int.from_bytes(os.urandom(4), "little")
    else:
        seed = int(rng.integers(0, 2**32))
    return _default_rng(seed), seed


def distinct_sizes(rng: np.random.Generator, names: str, low: int = 2, high: int = 7) -> dict[str, int]:
    """Draw pairwise different sizes for the dimension letters in ``names`` (e.g. ``"T B D H"``).

    Different sizes make a transposed or misplaced axis visible as a shape error.
    """
    letters = names.split()
    pool = list(range(low, high + 1))
    if len(pool) < len(letters):
        raise ValueError("distinct_sizes: range too small")
    picked = rng.permutation(pool)[:len(letters)]
    return {letter: int(n) for letter, n in zip(letters, picked)}


def run_check(body: Callable[[], Verdict]) -> Verdict:
    """Run a check body, turning an early stop into a failed verdict."""
    try:
        with _errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return body()
    except Failure as f:
        return Verdict(False, str(f))


def require(verdict: Verdict) -> Verdict:
    """Raise ``AssertionError(message)`` unless the verdict passed; return it otherwise."""
    if verdict.passed is not True:
        raise AssertionError(verdict.message)
    return verdict
