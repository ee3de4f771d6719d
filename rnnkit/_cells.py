"""The recurrent cells the models of :mod:`rnnkit.models` can run, as one table.

Each entry says which parameters a cell has and how they start, how many states it carries, and
which layer functions of :mod:`rnnkit.layers` run it, so the models need no ``if cell == ...`` chains.

Dimension legend: D input, H hidden.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .layers.gru import gru_backward, gru_forward, gru_step_forward
from .layers.lstm import lstm_backward, lstm_forward, lstm_step_forward
from .layers.rnn import (relu_rnn_backward, relu_rnn_forward, relu_rnn_step_forward, rnn_backward, rnn_forward,
                         rnn_step_forward)


def uniform(rng, shape, fan_in, dtype):
    # Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), the same scale PyTorch's recurrent layers use.
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def _rnn_params(rng, D, H, dtype) -> dict:
    return {"Wx": uniform(rng, (H, D), H, dtype), "Ws": uniform(rng, (H, H), H, dtype), "b": np.zeros(H, dtype)}


def _lstm_params(rng, D, H, dtype) -> dict:
    b = np.zeros(4 * H, dtype)
    b[H:2 * H] = 1.0  # remember by default: the cell path starts open
    return {"W": uniform(rng, (4 * H, H + D), H, dtype), "b": b}


def _gru_params(rng, D, H, dtype) -> dict:
    return {"Wx": uniform(rng, (3 * H, D), H, dtype), "Wh": uniform(rng, (3 * H, H), H, dtype),
            "bx": np.zeros(3 * H, dtype), "bh": np.zeros(3 * H, dtype)}


class Cell(NamedTuple):
    """How the models run one kind of recurrent cell: its parameters and its layer functions.

    The layer functions take the state(s), then the parameters in the order of ``params``, and the
    backward pass returns ``dX``, one gradient per state, then one per parameter.
    """
    params: tuple[str, ...]                #: parameter names, in the order the layer functions take them
    init: Callable                         #: (rng, D, H, dtype) -> {name: initial value}
    n_states: int                          #: 1 (h) or 2 (h, c)
    forward: Callable                      #: (X, *states, *params) -> (Hs, cache)
    backward: Callable                     #: (dHs, cache) -> (dX, *dstates, *dparams)
    step: Callable                         #: (x, *states, *params) -> (*new_states, cache)
    final_state: Callable                  #: (Hs, cache) -> the state after the last step


def _last_h(Hs, cache):
    return Hs[-1]


CELL_TABLE = {
    "rnn": Cell(("Wx", "Ws", "b"), _rnn_params, 1, rnn_forward, rnn_backward, rnn_step_forward, _last_h),
    "lstm": Cell(("W", "b"), _lstm_params, 2, lstm_forward, lstm_backward, lstm_step_forward,
                  lambda Hs, cache: (Hs[-1], cache.Cs[-1])),
    "gru": Cell(("Wx", "Wh", "bx", "bh"), _gru_params, 1, gru_forward, gru_backward, gru_step_forward, _last_h),
    "relu": Cell(("Wx", "Ws", "b"), _rnn_params, 1, relu_rnn_forward, relu_rnn_backward,
                  relu_rnn_step_forward, _last_h),
}
CELLS = tuple(CELL_TABLE)
