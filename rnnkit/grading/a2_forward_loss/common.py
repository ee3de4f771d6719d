"""a2-forward-loss: what the checks share (contexts, cases, probe helpers)."""
from __future__ import annotations

import numpy as np

from .._core import Verdict, distinct_sizes, modified_warning


_DIMS = {"P": "T B K", "L": "", "O": "T B K", "o": "B K"}


def _ctx(sizes, seed=None):
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + (f", seed={seed}" if seed is not None else "")


def _first_failure(verdicts, records, func, arg_names) -> Verdict:
    """The first failed verdict; else a failure if an argument was modified in place; else the first verdict."""
    for v in verdicts:
        if not v.passed:
            return v
    warning = modified_warning(records, func, arg_names)
    if warning:
        return Verdict(False, warning)
    return verdicts[0]


def _values(rng, sizes):
    T, B, D, H, K = (sizes[k] for k in "TBDHK")
    return {
        "X": rng.standard_normal((T, B, D)), "h0": 0.5 * rng.standard_normal((B, H)),
        "Wx": rng.standard_normal((H, D)) / np.sqrt(D), "Ws": 0.8 * rng.standard_normal((H, H)) / np.sqrt(H),
        "b": 0.2 * rng.standard_normal(H), "Wy": rng.standard_normal((K, H)) / np.sqrt(H),
        "c": 0.2 * rng.standard_normal(K), "Wo": rng.standard_normal((H, K)),
        "Y": rng.integers(0, K, size=(T, B)),
    }


def _case(rng):
    sizes = distinct_sizes(rng, "T B D H K", 3, 8)  # T >= 3: the feedback mistakes differ from each other
    return sizes, _values(rng, sizes)


def _edge_case():
    """A fixed case with one step and one sequence (T = B = 1), judged on every run besides the random draw."""
    sizes = {"T": 1, "B": 1, "D": 2, "H": 3, "K": 4}
    return sizes, _values(np.random.default_rng(20261221), sizes)


def _zero(name):
    return lambda c: {**c, name: np.zeros_like(c[name])}


def _first_steps(n, *names):
    return lambda c: {**c, **{k: c[k][:n] for k in names}}


def _first_rows(n, *names):
    return lambda c: {**c, **{k: c[k][:, :n] if c[k].ndim == 3 or k == "Y" else c[k][:n] for k in names}}
