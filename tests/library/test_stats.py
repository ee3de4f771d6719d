"""rnnkit.stats.wilson_interval against independent values and its defining properties."""
import math

import numpy as np
import pytest

from rnnkit.stats import intervals_overlap, wilson_interval


# Reference values computed by hand from the formula (and matching statsmodels' proportion_confint
# method="wilson"): (k, n) -> (low, high) at 95%, to 4 decimals.
@pytest.mark.parametrize("k,n,low,high", [
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
    (5, 10, 0.2366, 0.7634),
    (2, 5, 0.1176, 0.7693),
    (1, 20, 0.0089, 0.2361),
])
def test_known_values(k, n, low, high):
    r = wilson_interval(k, n)
    assert r.low == pytest.approx(low, abs=1e-4) and r.high == pytest.approx(high, abs=1e-4)
    assert r.rate == k / n and r.low <= r.rate <= r.high


def test_coverage_by_simulation():
    """Over many binomial draws the 95% interval contains the true rate about 95% of the time."""
    rng = np.random.default_rng(0)
    for p in (0.1, 0.5, 0.8):
        draws = rng.binomial(20, p, size=4000)
        covered = np.mean([wilson_interval(int(k), 20).low <= p <= wilson_interval(int(k), 20).high for k in draws])
        assert 0.92 < covered < 0.99, (p, covered)   # Wilson's coverage at n = 20 stays within a few points


def test_symmetry_and_width():
    a, b = wilson_interval(3, 10), wilson_interval(7, 10)
    assert math.isclose(a.low, 1 - b.high) and math.isclose(a.high, 1 - b.low)
    assert wilson_interval(30, 100).high - wilson_interval(30, 100).low < a.high - a.low


def test_overlap():
    assert not intervals_overlap(wilson_interval(0, 10), wilson_interval(10, 10))
    assert intervals_overlap(wilson_interval(2, 10), wilson_interval(4, 10))


@pytest.mark.parametrize("k,n,match", [(-1, 10, "successes"), (11, 10, "successes"), (0, 0, "n must"),
                                       (1.5, 10, "integer")])
def test_bad_input(k, n, match):
    with pytest.raises((ValueError, TypeError), match=match):
        wilson_interval(k, n)
