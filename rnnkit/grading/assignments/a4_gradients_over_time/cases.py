"""a4-gradients-over-time: the inputs the Jacobian and truncated-BPTT cases share."""
from __future__ import annotations

import numpy as np

import rnnkit


def rnn_case(rng: np.random.Generator, sizes: dict) -> dict:
    """A tanh RNN run on random inputs: ``X`` (T, B, D), ``h0`` (B, H), ``Wx`` (H, D), ``Ws`` (H, H), ``b`` (H,)
    and the states ``Hs`` (T, B, H) from :func:`rnnkit.rnn_forward`; ``Ws`` is scaled so that the states
    neither saturate nor vanish over the few steps of a case."""
    T, B, D, H = (sizes[k] for k in "TBDH")
    case = {"sizes": dict(sizes), "X": rng.standard_normal((T, B, D)), "h0": 0.5 * rng.standard_normal((B, H)),
            "Wx": rng.standard_normal((H, D)) / np.sqrt(D), "Ws": 1.2 * rng.standard_normal((H, H)) / np.sqrt(H),
            "b": 0.2 * rng.standard_normal(H)}
    case["Hs"] = rnnkit.rnn_forward(case["X"], case["h0"], case["Wx"], case["Ws"], case["b"])[0]
    return case
