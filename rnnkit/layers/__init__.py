r"""Forward/backward pairs for recurrent layers.

Every layer comes as a pair of pure functions::

    out, cache = <layer>_forward(...)
    grads      = <layer>_backward(dout, cache)

where ``cache`` is a :class:`typing.NamedTuple` holding exactly what the backward pass needs.
Each cell has *step* functions (one time step; the readable reference, one line per equation
of the book) and *sequence* functions (all T steps; the fast path, which hoists the input
projection :math:`X W_x^\top` out of the time loop into one large matrix product, because that
product does not depend on the previous state). ``tests/library/test_layers.py`` checks that running
the step functions over a sequence gives what the sequence functions give.

One module per cell: ``rnnkit.layers.rnn`` (tanh and ReLU units), ``rnnkit.layers.lstm``,
``rnnkit.layers.gru``, and ``rnnkit.layers.output`` (output layer, softmax, loss). Every
name below is importable from ``rnnkit.layers`` and from ``rnnkit`` itself.

Dimension legend (used in every docstring of the package)::

    T  time steps        B  batch size       D  input size
    H  hidden size       K  output size (classes)

Sequences are time-major, ``(T, B, D)``; weights are stored as ``(out, in)``,
so a batch of row vectors is transformed as ``x @ W.T``. Both float32 and
float64 work; grad checks use float64.
"""
from ._common import sigmoid
from .gru import GRUCache, GRUStepCache, gru_backward, gru_forward, gru_step_backward, gru_step_forward
from .lstm import LSTMCache, LSTMStepCache, lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from .output import AffineCache, affine_backward, affine_forward, softmax, softmax_cross_entropy
from .rnn import (ReLURNNCache, ReLURNNStepCache, RNNCache, RNNStepCache, relu_rnn_backward, relu_rnn_forward,
                  relu_rnn_step_backward, relu_rnn_step_forward, rnn_backward, rnn_forward, rnn_step_backward,
                  rnn_step_forward)

__all__ = [
    "sigmoid", "softmax",
    "RNNStepCache", "RNNCache", "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "LSTMStepCache", "LSTMCache", "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
    "GRUStepCache", "GRUCache", "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward",
    "AffineCache", "affine_forward", "affine_backward", "softmax_cross_entropy",
    "ReLURNNStepCache", "ReLURNNCache", "relu_rnn_step_forward", "relu_rnn_step_backward",
    "relu_rnn_forward", "relu_rnn_backward",
]
