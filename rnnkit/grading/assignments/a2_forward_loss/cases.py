"""a2-forward-loss: the inputs the forward passes and the loss are checked on."""
from __future__ import annotations

import numpy as np

from rnnkit.data import shift_right
from rnnkit.grading.engine import distinct_sizes


def family_values(rng: np.random.Generator, sizes: dict) -> dict:
    """Inputs of every family for ``sizes`` (T, B, D, H, K): pre-activations around ±1, targets ``Y`` (T, B)
    and ``Yprev`` (T, B, K), the one-hot targets shifted one step later (zeros at the first step)."""
    T, B, D, H, K = (sizes[k] for k in "TBDHK")
    case = {
        "sizes": dict(sizes), "X": rng.standard_normal((T, B, D)), "h0": 0.5 * rng.standard_normal((B, H)),
        "Wx": rng.standard_normal((H, D)) / np.sqrt(D), "Ws": 0.8 * rng.standard_normal((H, H)) / np.sqrt(H),
        "b": 0.2 * rng.standard_normal(H), "Wy": rng.standard_normal((K, H)) / np.sqrt(H),
        "c": 0.2 * rng.standard_normal(K), "Wo": rng.standard_normal((H, K)), "Y": rng.integers(0, K, size=(T, B)),
    }
    case["Yprev"] = shift_right(np.eye(K)[case["Y"]], fill=0.0)
    return case


def family_case(rng: np.random.Generator) -> dict:
    """The random case: distinct sizes, T >= 3 (so that the feedback mistakes differ from each other)."""
    return family_values(rng, distinct_sizes(rng, "T B D H K", 3, 8))


def family_edge_case() -> dict:
    """A fixed case with one step and one sequence (T = B = 1)."""
    return family_values(np.random.default_rng(20261221), {"T": 1, "B": 1, "D": 2, "H": 3, "K": 4})


def zeroed(name: str):
    """A probe maker: the case with the array ``name`` set to zeros."""
    return lambda c: {**c, name: np.zeros_like(c[name])}


def first_steps(n: int, *names: str):
    """A probe maker: the first ``n`` time steps of the arrays ``names`` (time on axis 0)."""
    return lambda c: {**c, **{k: c[k][:n] for k in names}, "sizes": {**c["sizes"], "T": n}}


def first_rows(n: int, *names: str):
    """A probe maker: the first ``n`` sequences of the arrays ``names`` (batch on axis 1 of a sequence, on
    axis 0 of a state; also of the targets ``Y`` (T, B))."""
    return lambda c: {**c, **{k: c[k][:, :n] if c[k].ndim == 3 or k == "Y" else c[k][:n] for k in names},
                      "sizes": {**c["sizes"], "B": n}}
