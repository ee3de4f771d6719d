"""Small statistics for reporting training outcomes honestly.

A training run either learns a task or it does not, so "how often does this configuration
learn" is a success rate over seeds. With ten or twenty seeds such a rate is uncertain, and the
book reports it with a 95% interval. :func:`wilson_interval` gives the Wilson score interval
(Wilson, 1927), which keeps its coverage close to the nominal level for small counts and rates
near 0 or 1, where the textbook ``p ± 1.96·sqrt(p(1-p)/n)`` fails (it collapses to a point at 0
of n). See chapter 6, "The remedies on the copy task".
"""
from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["RateInterval", "wilson_interval", "intervals_overlap"]

# Two-sided normal quantiles for the confidence levels the book uses (no scipy needed).
_Z = {0.90: 1.6448536269514722, 0.95: 1.959963984540054, 0.99: 2.5758293035489004}


class RateInterval(NamedTuple):
    """A success rate ``successes / n`` with its confidence interval ``[low, high]``."""

    successes: int
    n: int
    rate: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.successes} of {self.n} ({self.rate:.0%}, 95% CI {self.low:.0%}–{self.high:.0%})"


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> RateInterval:
    """The Wilson score interval for a binomial success rate.

    Parameters
    ----------
    successes : int
        Number of successes, ``0 <= successes <= n``.
    n : int
        Number of trials (seeds), ``n >= 1``.
    confidence : float, optional
        0.90, 0.95 (default) or 0.99.

    Returns
    -------
    RateInterval
        ``(successes, n, rate, low, high)`` with ``0 <= low <= rate <= high <= 1``.

    Notes
    -----
    With :math:`\\hat p = k/n` and :math:`z` the normal quantile,

    .. math::

        \\frac{\\hat p + z^2/2n \\pm z\\sqrt{\\hat p(1-\\hat p)/n + z^2/4n^2}}{1 + z^2/n}.

    At 0 of 10 the 95% interval is [0, 0.28]; at 10 of 10 it is [0.72, 1].
    """
    if isinstance(successes, bool) or not isinstance(successes, (int,)) and not hasattr(successes, "__index__"):
        raise TypeError(f"successes must be an integer, got {type(successes).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int,)) and not hasattr(n, "__index__"):
        raise TypeError(f"n must be an integer, got {type(n).__name__}")
    successes, n = int(successes), int(n)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n = {n}, got {successes}")
    if confidence not in _Z:
        raise ValueError(f"confidence must be one of {sorted(_Z)}, got {confidence}")
    z = _Z[confidence]
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return RateInterval(successes, n, p, low, high)


def intervals_overlap(a: RateInterval, b: RateInterval) -> bool:
    """True if the two intervals share a point: the difference of the rates is then not established."""
    return a.low <= b.high and b.low <= a.high
