r"""A bidirectional recurrent layer: one tanh RNN forwards in time, one backwards.

A one-directional RNN computes its state at step :math:`t` from
:math:`x^{(1)}, \dots, x^{(t)}` only: it cannot look ahead. A bidirectional RNN
(Schuster & Paliwal, 1997) runs a second, independent RNN over the sequence from the
last step to the first and gives the output layer both states:

.. math::

    \overrightarrow{h}^{(t)} &= \tanh\big(\overrightarrow{b} + \overrightarrow{W}_s \overrightarrow{h}^{(t-1)}
                                + \overrightarrow{W}_x x^{(t)}\big), \\
    \overleftarrow{h}^{(t)} &= \tanh\big(\overleftarrow{b} + \overleftarrow{W}_s \overleftarrow{h}^{(t+1)}
                               + \overleftarrow{W}_x x^{(t)}\big), \\
    o^{(t)} &= c + W_y \big[\overrightarrow{h}^{(t)}; \overleftarrow{h}^{(t)}\big] .

The backward-in-time layer is an ordinary RNN applied to the time-reversed sequence,
so both passes reuse :func:`~rnnkit.layers.rnn_forward` and
:func:`~rnnkit.layers.rnn_backward`. Parameter names carry the direction as a suffix:
``Wx_fw, Ws_fw, b_fw`` (forwards in time) and ``Wx_bw, Ws_bw, b_bw`` (backwards).

See chapter 10, :doc:`/book/10-where-next`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import check_array, check_labels
from .layers import RNNCache, affine_backward, affine_forward, rnn_backward, rnn_forward, softmax_cross_entropy
from .models import init_params

__all__ = ["BiRNNCache", "birnn_forward", "birnn_backward", "BidirectionalRNN"]

_NAMES = ("Wx_fw", "Ws_fw", "b_fw", "Wx_bw", "Ws_bw", "b_bw")


class BiRNNCache(NamedTuple):
    """What :func:`birnn_backward` needs from :func:`birnn_forward`."""
    fw: RNNCache  #: cache of the forward-in-time RNN
    bw: RNNCache  #: cache of the backward-in-time RNN, which ran on the reversed sequence


def birnn_forward(X, h0_fw, h0_bw, Wx_fw, Ws_fw, b_fw, Wx_bw, Ws_bw, b_bw):
    r"""Run a bidirectional tanh RNN over a whole sequence.

    The forward-in-time RNN starts from ``h0_fw`` before step 1; the backward-in-time
    RNN starts from ``h0_bw`` after step T and reads :math:`x^{(T)}, \dots, x^{(1)}`.
    Both have H units. See chapter 10, :doc:`/book/10-where-next`.

    Parameters
    ----------
    X : ndarray, shape (T, B, D)
        Input sequence, time-major.
    h0_fw, h0_bw : ndarray, shape (B, H)
        Initial states of the two directions.
    Wx_fw, Wx_bw : ndarray, shape (H, D)
    Ws_fw, Ws_bw : ndarray, shape (H, H)
    b_fw, b_bw : ndarray, shape (H,)

    Returns
    -------
    Hs : ndarray, shape (T, B, 2H)
        ``Hs[t - 1] = [h_fw(t); h_bw(t)]``: the forward state after reading
        :math:`x^{(1)} \dots x^{(t)}` in its first H columns, the backward state after reading
        :math:`x^{(T)} \dots x^{(t)}` in its last H columns.
    cache : BiRNNCache

    """
    func = "birnn_forward"
    sizes: dict[str, int] = {}
    X = check_array(func, "X", X, "T B D", sizes)
    h0_fw = check_array(func, "h0_fw", h0_fw, "B H", sizes)
    h0_bw = check_array(func, "h0_bw", h0_bw, "B H", sizes)
    for name, value, dims in zip(_NAMES, (Wx_fw, Ws_fw, b_fw, Wx_bw, Ws_bw, b_bw),
                                 ("H D", "H H", "H", "H D", "H H", "H")):
        check_array(func, name, value, dims, sizes)
    H_fw, cache_fw = rnn_forward(X, h0_fw, Wx_fw, Ws_fw, b_fw)
    H_bw_reversed, cache_bw = rnn_forward(X[::-1], h0_bw, Wx_bw, Ws_bw, b_bw)
    Hs = np.concatenate([H_fw, H_bw_reversed[::-1]], axis=2)
    return Hs, BiRNNCache(cache_fw, cache_bw)


def birnn_backward(dHs, cache: BiRNNCache):
    r"""Backward pass of :func:`birnn_forward`.

    The two directions share only the input: the first H columns of ``dHs`` go
    through the forward-in-time RNN's BPTT, the last H columns, reversed in time, through
    the backward-in-time RNN's, and the two input gradients add up,
    :math:`\partial L/\partial x^{(t)} = \overrightarrow{W}_x^\top \overrightarrow{\delta}^{(t)}
    + \overleftarrow{W}_x^\top \overleftarrow{\delta}^{(t)}`. See chapter 10, :doc:`/book/10-where-next`.

    Parameters
    ----------
    dHs : ndarray, shape (T, B, 2H)
        Gradient of the loss with respect to ``Hs``.
    cache : BiRNNCache

    Returns
    -------
    dX : (T, B, D)
    dh0_fw, dh0_bw : (B, H)
    dWx_fw : (H, D)
    dWs_fw : (H, H)
    db_fw : (H,)
    dWx_bw : (H, D)
    dWs_bw : (H, H)
    db_bw : (H,)

    """
    T, B, H = cache.fw.Hs.shape
    dHs = check_array("birnn_backward", "dHs", dHs, "T B 2H", {"T": T, "B": B, "H": H})
    dX_fw, dh0_fw, dWx_fw, dWs_fw, db_fw = rnn_backward(dHs[:, :, :H], cache.fw)
    dX_bw_reversed, dh0_bw, dWx_bw, dWs_bw, db_bw = rnn_backward(dHs[::-1, :, H:], cache.bw)
    dX = dX_fw + dX_bw_reversed[::-1]
    return dX, dh0_fw, dh0_bw, dWx_fw, dWs_fw, db_fw, dWx_bw, dWs_bw, db_bw


class BidirectionalRNN:
    r"""A bidirectional tanh RNN with a softmax output at every step (sequence labelling).

    .. math::

        o^{(t)} = c + W_y \big[\overrightarrow{h}^{(t)}; \overleftarrow{h}^{(t)}\big], \qquad
        \hat y^{(t)} = \operatorname{softmax}(o^{(t)}),

    with the two states of :func:`birnn_forward`, both started from zeros. Every output
    depends on the whole input sequence, so the model labels a finished sequence; it
    cannot generate one step at a time. See chapter 10, :doc:`/book/10-where-next`.

    Parameters
    ----------
    D, H, K : int
        Input size, hidden size of each direction, number of classes.
    rng : numpy.random.Generator
        For the initial parameters (each direction initialised like
        :class:`~rnnkit.models.HiddenToHiddenRNN`).
    dtype : numpy dtype

    Attributes
    ----------
    params : dict
        ``Wx_fw, Wx_bw`` (H, D), ``Ws_fw, Ws_bw`` (H, H), ``b_fw, b_bw`` (H,),
        ``Wy`` (K, 2H), ``c`` (K,).

    """

    def __init__(self, D: int, H: int, K: int, *, rng: np.random.Generator, dtype=np.float64):
        fw = init_params(D, H, K, rng=rng, dtype=dtype)
        bw = init_params(D, H, K, rng=rng, dtype=dtype)
        self.D, self.H, self.K = D, H, K
        self.params = {"Wx_fw": fw["Wx"], "Ws_fw": fw["Ws"], "b_fw": fw["b"],
                       "Wx_bw": bw["Wx"], "Ws_bw": bw["Ws"], "b_bw": bw["b"],
                       "Wy": (np.concatenate([fw["Wy"], bw["Wy"]], axis=1) / np.sqrt(2.0)).astype(dtype),
                       "c": fw["c"]}

    def _forward(self, X):
        X = check_array(type(self).__name__, "X", X, "T B D", {"D": self.D})
        h0 = np.zeros((X.shape[1], self.H), self.params["Wy"].dtype)
        Hs, cache = birnn_forward(X, h0, h0, *(self.params[name] for name in _NAMES))
        O, aff_cache = affine_forward(Hs, self.params["Wy"], self.params["c"])
        return X, O, cache, aff_cache

    def logits(self, X):
        """Output scores O, shape (T, B, K), for inputs X of shape (T, B, D)."""
        return self._forward(X)[1]

    def loss_and_grads(self, X, Y):
        """Mean negative log-likelihood of ``Y`` (T, B) and its gradient for every parameter.

        Returns
        -------
        loss : float
        grads : dict, same keys and shapes as ``params``
        """
        X, O, cache, aff_cache = self._forward(X)
        Y = check_labels(type(self).__name__, "Y", Y, "T B", {"T": X.shape[0], "B": X.shape[1]}, self.K)
        loss, dO = softmax_cross_entropy(O, Y, reduction="mean")
        dHs, dWy, dc = affine_backward(dO, aff_cache)
        _, _, _, *d_recurrent = birnn_backward(dHs, cache)
        grads = dict(zip(_NAMES, d_recurrent))
        grads.update(Wy=dWy, c=dc)
        return loss, grads
