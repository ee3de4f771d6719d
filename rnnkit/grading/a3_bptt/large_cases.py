"""a3-bptt: the large cases of the backward cells, too large for numerical differentiation
(:class:`~rnnkit.grading._core.LargeCase`; sizes and measured times in book/grading-reference.md)."""
from __future__ import annotations

import numpy as np

from ... import layers as _ref
from .._core import LargeCase
from .variants import RNN_BACKWARD_PARTS

#: rnn_backward: 24,704 parameter entries and 67,584 input entries for central differences, each needing two
#: forward passes of 64 steps.
SEQUENCE_SIZES = {"T": 64, "B": 16, "D": 64, "H": 128}
#: rnn_step_backward: one step, but 2 · 512² weight entries (540,672 entries in all).
STEP_SIZES = {"B": 16, "D": 512, "H": 512}
#: output_backward: 131,072 entries of Hs and 32,768 of Wy.
OUTPUT_SIZES = {"T": 32, "B": 16, "H": 256, "K": 128}


def _weights(rng, D, H):
    return (rng.standard_normal((H, D)) / np.sqrt(D), 0.8 * rng.standard_normal((H, H)) / np.sqrt(H),
            0.2 * rng.standard_normal(H))


def _sequence(rng):
    s = SEQUENCE_SIZES
    X, h0 = rng.standard_normal((s["T"], s["B"], s["D"])), 0.5 * rng.standard_normal((s["B"], s["H"]))
    Wx, Ws, b = _weights(rng, s["D"], s["H"])
    dHs = rng.standard_normal((s["T"], s["B"], s["H"]))
    Hs, cache = _ref.rnn_forward(X, h0, Wx, Ws, b)
    expected = dict(zip(RNN_BACKWARD_PARTS["all"], _ref.rnn_backward(dHs, cache)))
    return (dHs, (X, h0, Hs, Wx, Ws)), expected, dict(s)


def _step(rng):
    s = STEP_SIZES
    x, h_prev = rng.standard_normal((s["B"], s["D"])), 0.5 * rng.standard_normal((s["B"], s["H"]))
    Wx, Ws, b = _weights(rng, s["D"], s["H"])
    dh = rng.standard_normal((s["B"], s["H"]))
    h, cache = _ref.rnn_step_forward(x, h_prev, Wx, Ws, b)
    expected = dict(zip(("dx", "dh_prev", "dWx", "dWs", "db"), _ref.rnn_step_backward(dh, cache)))
    return (dh, (x, h_prev, h, Wx, Ws)), expected, dict(s)


def _output(rng):
    s = OUTPUT_SIZES
    Hs = np.tanh(rng.standard_normal((s["T"], s["B"], s["H"])))
    Wy = rng.standard_normal((s["K"], s["H"])) / np.sqrt(s["H"])
    dO = rng.standard_normal((s["T"], s["B"], s["K"]))
    expected = dict(zip(("dHs", "dWy", "dc"), _ref.affine_backward(dO, (Hs, Wy))))
    return (dO, Hs, Wy), expected, dict(s)


def _sequence_entries(part: str):
    def entries(s):
        n = {"dX": s["T"] * s["B"] * s["D"], "dh0": s["B"] * s["H"], "dWx": s["H"] * s["D"], "dWs": s["H"] ** 2,
             "db": s["H"]}
        return sum(n[k] for k in RNN_BACKWARD_PARTS[part])
    return entries


def sequence_large_case(part: str) -> LargeCase:
    """The large case of the rnn_backward cell grading ``part`` (``"parameters"``, ``"inputs"``, ``"all"``)."""
    return LargeCase(_sequence, RNN_BACKWARD_PARTS["all"], RNN_BACKWARD_PARTS[part], _sequence_entries(part))


STEP_LARGE = LargeCase(_step, ("dx", "dh_prev", "dWx", "dWs", "db"), ("dx", "dh_prev", "dWx", "dWs", "db"),
                       lambda s: s["B"] * (s["D"] + s["H"]) + s["H"] * (s["D"] + s["H"]))
OUTPUT_LARGE = LargeCase(_output, ("dHs", "dWy", "dc"), ("dHs", "dWy", "dc"),
                         lambda s: s["T"] * s["B"] * s["H"] + s["K"] * s["H"] + s["K"])
