"""a6-lstm: the random input case and the gate-block helpers its messages use."""
from __future__ import annotations

import itertools

import numpy as np

from .._core import distinct_sizes
from .diagnoses import GATES, GATE_ORDER


def _sig(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def lstm_case(rng: np.random.Generator, sizes: dict | None = None) -> dict:
    """Fresh inputs: distinct T, B, D, H (unless ``sizes`` are given); gates away from saturation
    so σ′ and tanh′ matter."""
    sizes = dict(sizes) if sizes is not None else distinct_sizes(rng, "T B D H", 2, 7)
    T, B, D, H = sizes["T"], sizes["B"], sizes["D"], sizes["H"]
    return {
        "sizes": sizes,
        "X": rng.standard_normal((T, B, D)),
        "h0": 0.5 * rng.standard_normal((B, H)),
        "c0": rng.standard_normal((B, H)),
        "W": rng.standard_normal((4 * H, H + D)) / np.sqrt(H + D),
        "b": 0.2 * rng.standard_normal(4 * H),
        "dHs": rng.standard_normal((T, B, H)),
        "dc": rng.standard_normal((B, H)),
    }


def _context(case: dict, seed=None) -> str:
    return ", ".join(f"{k}={v}" for k, v in case["sizes"].items()) + (f", seed={seed}" if seed is not None else "")


def _rows(k: int, H: int) -> str:
    return f"rows {k * H}..{(k + 1) * H - 1}"


# ---------------------------------------------------------------------------
# buggy variants (the catalogue)
# ---------------------------------------------------------------------------

def _perm_text(perm: tuple) -> str:
    """GATE_ORDER plus which gate is read from (or written to) which gate's rows."""
    moved = [f"{GATES[k]} in the rows of {GATES[perm[k]]}" for k in range(4) if perm[k] != k]
    return GATE_ORDER + " Yours has " + ", ".join(moved) + "."


#: Every wrong order of the four row blocks: perm[k] = the block a learner's gate k is taken from.
GATE_PERMS = [p for p in itertools.permutations(range(4)) if p != (0, 1, 2, 3)]
