"""a6-lstm: the large cases of the backward cells, too large for numerical differentiation
(:class:`~rnnkit.grading._core.LargeCase`; sizes and measured times in book/grading-reference.md)."""
from __future__ import annotations

from ... import layers as _ref
from .._core import LargeCase
from .cases import lstm_case
from .variants import _BACKWARD_NAMES, _STEP_BACKWARD_NAMES, LSTM_BACKWARD_PARTS, _ref_step_backward, lstm_step_caches

#: lstm_step_backward: one step, 4H·(H+D) = 524,288 weight entries (eight rows: an honest loop over the rows
#: adds one outer product of W's size per row).
STEP_SIZES = {"B": 8, "D": 256, "H": 256}
#: lstm_backward: 28,672 weight entries, 30,720 input entries; every step's cache holds W, so T·W is shipped.
SEQUENCE_SIZES = {"T": 40, "B": 16, "D": 48, "H": 64}


def _step(rng):
    s = STEP_SIZES
    c = lstm_case(rng, {"T": 1, **s})
    _, caches = lstm_step_caches(c)
    args = (c["dHs"][0], c["dc"], caches[0])
    return args, dict(zip(_STEP_BACKWARD_NAMES, _ref_step_backward(*args))), dict(s)


def _sequence(rng):
    s = SEQUENCE_SIZES
    c = lstm_case(rng, dict(s))
    _, caches = lstm_step_caches(c)
    _, cache = _ref.lstm_forward(c["X"], c["h0"], c["c0"], c["W"], c["b"])
    return (c["dHs"], caches), dict(zip(_BACKWARD_NAMES, _ref.lstm_backward(c["dHs"], cache))), dict(s)


def _sequence_entries(part: str):
    def entries(s):
        n = {"dX": s["T"] * s["B"] * s["D"], "dh0": s["B"] * s["H"], "dc0": s["B"] * s["H"],
             "dW": 4 * s["H"] * (s["H"] + s["D"]), "db": 4 * s["H"]}
        return sum(n[k] for k in LSTM_BACKWARD_PARTS[part])
    return entries


STEP_LARGE = LargeCase(_step, tuple(_STEP_BACKWARD_NAMES), tuple(_STEP_BACKWARD_NAMES),
                       lambda s: 4 * s["H"] * (s["H"] + s["D"]) + s["B"] * (s["D"] + 2 * s["H"]))


def sequence_large_case(part: str) -> LargeCase:
    """The large case of the lstm_backward cell grading ``part`` (``"parameters"`` or ``"inputs"``)."""
    return LargeCase(_sequence, tuple(_BACKWARD_NAMES), LSTM_BACKWARD_PARTS[part], _sequence_entries(part))
