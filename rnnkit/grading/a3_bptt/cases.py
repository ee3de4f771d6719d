"""a3-bptt: the random input case (and the step and sequence caches built from it)."""
from __future__ import annotations

import numpy as np

from ... import layers as _ref
from .._core import distinct_sizes


def _draw_case(rng: np.random.Generator, sizes: dict) -> dict:
    T, B, D, H = sizes["T"], sizes["B"], sizes["D"], sizes["H"]
    case = {
        "sizes": dict(sizes),
        "X": rng.standard_normal((T, B, D)),
        "h0": 0.5 * rng.standard_normal((B, H)),
        "Wx": rng.standard_normal((H, D)) / np.sqrt(D),
        "Ws": 0.8 * rng.standard_normal((H, H)) / np.sqrt(H),
        "b": 0.2 * rng.standard_normal(H),
        "dHs": rng.standard_normal((T, B, H)),
    }
    if "K" in sizes:
        K = sizes["K"]
        case["Wy"] = rng.standard_normal((K, H)) / np.sqrt(H)
        case["dO"] = rng.standard_normal((T, B, K))
    return case


def rnn_case(rng: np.random.Generator, *, with_output: bool = False) -> dict:
    """Fresh inputs for the RNN checks: distinct sizes T, B, D, H (and K), float64 values.

    Scales keep the pre-activations around ±1, where tanh′ is far from both 0 and 1,
    so a missing tanh′ changes every gradient visibly.
    """
    letters = "T B D H K" if with_output else "T B D H"
    return _draw_case(rng, distinct_sizes(rng, letters, 3, 8))


def _context(case: dict, seed: int | None) -> str:
    s = ", ".join(f"{k}={v}" for k, v in case["sizes"].items())
    if case.get("probe"):
        s = f"probe case {case['probe']}: " + s
    return s + (f", seed={seed}" if seed is not None else "")


def _states(case: dict) -> np.ndarray:
    """The states the backward functions get in their cache: the reference forward pass, or a probe's own."""
    if "Hs" in case:
        return case["Hs"]
    return _ref.rnn_forward(case["X"], case["h0"], case["Wx"], case["Ws"], case["b"])[0]


# ---------------------------------------------------------------------------
# the hidden test cells
# ---------------------------------------------------------------------------

def _edge_case() -> dict:
    """A fixed case with one step and one sequence (T = B = 1): judged on every run, so a regrade
    always covers the smallest sizes besides the random draw."""
    rng = np.random.default_rng(20261201)
    case = rnn_case(rng, with_output=True)
    T, B, D, H, K = 1, 1, 3, 4, 2
    case.update(sizes={"T": T, "B": B, "D": D, "H": H, "K": K},
                X=case["X"][:T, :B, :D], h0=case["h0"][:B, :H], Wx=case["Wx"][:H, :D], Ws=case["Ws"][:H, :H],
                b=case["b"][:H], dHs=case["dHs"][:T, :B, :H], Wy=case["Wy"][:K, :H], dO=case["dO"][:T, :B, :K])
    return case
