r"""The vanilla (Elman) RNN, with :math:`\tanh` units or rectified linear units.

Both cells compute the same affine map :math:`a = b + W_s h^{(t-1)} + W_x x^{(t)}` and differ only
in the activation applied to it and in that activation's slope in the backward pass, so one
implementation serves both, parametrised by :class:`_Activation`.

Dimension legend: T time, B batch, D input, H hidden.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ._common import check_args, check_upstream, scratch_arrays, sum_over_time_state_grad

__all__ = [
    "RNNStepCache", "RNNCache", "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "ReLURNNStepCache", "ReLURNNCache", "relu_rnn_step_forward", "relu_rnn_step_backward",
    "relu_rnn_forward", "relu_rnn_backward",
]


class RNNStepCache(NamedTuple):
    """What :func:`rnn_step_backward` needs from :func:`rnn_step_forward`."""
    x: np.ndarray       #: input, (B, D)
    h_prev: np.ndarray  #: previous state, (B, H)
    h: np.ndarray       #: new state, (B, H)
    Wx: np.ndarray      #: input-to-state weights, (H, D)
    Ws: np.ndarray      #: state-to-state weights, (H, H)


class RNNCache(NamedTuple):
    """What :func:`rnn_backward` needs from :func:`rnn_forward`."""
    X: np.ndarray   #: inputs, (T, B, D)
    h0: np.ndarray  #: initial state, (B, H)
    Hs: np.ndarray  #: states h⁽¹⁾…h⁽ᵀ⁾, (T, B, H)
    Wx: np.ndarray  #: (H, D)
    Ws: np.ndarray  #: (H, H)


class ReLURNNStepCache(RNNStepCache):
    """What :func:`relu_rnn_step_backward` needs from :func:`relu_rnn_step_forward`.

    The fields of :class:`RNNStepCache`; the positive entries of ``h`` mark the active units.
    """
    __slots__ = ()


class ReLURNNCache(RNNCache):
    """What :func:`relu_rnn_backward` needs from :func:`relu_rnn_forward` (the fields of :class:`RNNCache`)."""
    __slots__ = ()


class _Activation(NamedTuple):
    """An RNN unit's nonlinearity, and its slope written in terms of its output."""
    apply_in_place: Callable[[np.ndarray], object]   #: a → f(a), overwriting a
    slope: Callable[..., np.ndarray]                  #: (h = f(a), out=None) → f′(a), into ``out`` if given
    #: Where the sequence loop adds b: to the hoisted input projection, or to each step's recurrent
    #: term. Either is correct; each cell keeps the order it had when it was written on its own, so
    #: that trained models (and the chapters' float32 results) stay the same bit for bit.
    bias_with_input: bool


def _tanh_slope(h, out=None):
    out = np.multiply(h, h, out=out)
    return np.subtract(1.0, out, out=out)


_TANH = _Activation(lambda a: np.tanh(a, out=a), _tanh_slope, bias_with_input=False)
#: relu′(a) is 1 where the unit is active and 0 elsewhere (taken to be 0 at a = 0 exactly).
_RELU = _Activation(lambda a: np.maximum(a, 0.0, out=a), lambda h, out=None: np.greater(h, 0, out=out),
                    bias_with_input=True)


def _step_forward(func, act: _Activation, cache_type, x, h_prev, Wx, Ws, b):
    x, Wx, h_prev, Ws, b = check_args(func, ("x", x, "B D"), ("Wx", Wx, "H D"), ("h_prev", h_prev, "B H"),
                                      ("Ws", Ws, "H H"), ("b", b, "H"))
    h = x @ Wx.T + h_prev @ Ws.T + b
    act.apply_in_place(h)
    return h, cache_type(x, h_prev, h, Wx, Ws)


def _step_backward(func, act: _Activation, dh, cache: RNNStepCache):
    dh = check_upstream(func, "dh", dh, cache.h.shape, "B H")
    da = dh * act.slope(cache.h)
    return da @ cache.Wx, da @ cache.Ws, da.T @ cache.x, da.T @ cache.h_prev, da.sum(axis=0)


def _sequence_forward(func, act: _Activation, cache_type, X, h0, Wx, Ws, b):
    X, Wx, h0, Ws, b = check_args(func, ("X", X, "T B D"), ("Wx", Wx, "H D"), ("h0", h0, "B H"),
                                  ("Ws", Ws, "H H"), ("b", b, "H"))
    T, B, D = X.shape
    H = Wx.shape[0]
    # The input projection does not depend on the state: one big GEMM for all steps.
    Hs = (X.reshape(T * B, D) @ Wx.T).reshape(T, B, H)
    if act.bias_with_input:
        Hs += b
    WsT = np.ascontiguousarray(Ws.T)   # a contiguous copy: faster GEMMs in the loop
    recurrent = np.empty((B, H), Hs.dtype)
    h = h0
    for t in range(T):
        a = Hs[t]
        np.matmul(h, WsT, out=recurrent)
        if not act.bias_with_input:
            recurrent += b              # on the small, cache-hot buffer: no extra pass over Hs
        a += recurrent
        act.apply_in_place(a)
        h = a
    return Hs, cache_type(X, h0, Hs, Wx, Ws)


def _sequence_backward(func, act: _Activation, dHs, cache: RNNCache, input_grad: bool):
    X, h0, Hs, Wx, Ws = cache
    dHs = check_upstream(func, "dHs", dHs, Hs.shape, "T B H")
    T, B, D = X.shape
    H = Hs.shape[2]
    dtype = np.result_type(Hs, dHs)
    # δ for every step, kept for the parameter GEMMs below; a reused work array (it never leaves this function)
    dA = scratch_arrays.get(f"{func}.dA", (T, B, H), dtype)
    dh = np.zeros((B, H), dtype)
    slope = np.empty((B, H), dtype)     # one step's slope at a time: a (T, B, H) array would be fresh memory
    for t in range(T - 1, -1, -1):
        delta = dA[t]
        np.add(dHs[t], dh, out=delta)   # the loss's own term plus what flows back from t+1
        delta *= act.slope(Hs[t], out=slope)
        np.matmul(delta, Ws, out=dh)
    dA2 = dA.reshape(T * B, H)
    dWx = dA2.T @ X.reshape(T * B, D)
    dX = (dA2 @ Wx).reshape(T, B, D) if input_grad else None
    return dX, dh, dWx, sum_over_time_state_grad(dA2, h0, Hs), dA2.sum(axis=0)


# ---------------------------------------------------------------------------
# tanh units
# ---------------------------------------------------------------------------

def rnn_step_forward(x, h_prev, Wx, Ws, b):
    r"""One time step of a vanilla tanh RNN.

    .. math::

        a^{(t)} = b + W_s h^{(t-1)} + W_x x^{(t)}, \qquad h^{(t)} = \tanh(a^{(t)})

    (Goodfellow's :math:`a = b + W h + U x` with :math:`U = W_x`, :math:`W = W_s`.)

    Parameters
    ----------
    x : ndarray, shape (B, D)
        Inputs at this step.
    h_prev : ndarray, shape (B, H)
        State from the previous step.
    Wx : ndarray, shape (H, D)
        Input-to-state weights.
    Ws : ndarray, shape (H, H)
        State-to-state weights.
    b : ndarray, shape (H,)
        State bias.

    Returns
    -------
    h : ndarray, shape (B, H)
        New state.
    cache : RNNStepCache

    See chapter 4, :doc:`/book/04-forward-and-loss`.
    """
    return _step_forward("rnn_step_forward", _TANH, RNNStepCache, x, h_prev, Wx, Ws, b)


def rnn_step_backward(dh, cache: RNNStepCache):
    r"""Backward pass of :func:`rnn_step_forward`.

    With :math:`\delta = \partial L/\partial a = dh \odot (1 - h^2)` (tanh′ written with the output):

    .. math::

        \frac{\partial L}{\partial x} = \delta W_x,\quad
        \frac{\partial L}{\partial h^{(t-1)}} = \delta W_s,\quad
        \frac{\partial L}{\partial W_x} = \delta^\top x,\quad
        \frac{\partial L}{\partial W_s} = \delta^\top h^{(t-1)},\quad
        \frac{\partial L}{\partial b} = \textstyle\sum_B \delta

    Parameters
    ----------
    dh : ndarray, shape (B, H)
        Gradient of the loss with respect to ``h``.
    cache : RNNStepCache

    Returns
    -------
    dx : (B, D)
    dh_prev : (B, H)
    dWx : (H, D)
    dWs : (H, H)
    db : (H,)

    See chapter 5, :doc:`/book/05-bptt`.
    """
    return _step_backward("rnn_step_backward", _TANH, dh, cache)


def rnn_forward(X, h0, Wx, Ws, b):
    r"""Run a vanilla tanh RNN over a whole sequence.

    For :math:`t = 1, \dots, T`: :math:`h^{(t)} = \tanh(b + W_s h^{(t-1)} + W_x x^{(t)})`,
    starting from :math:`h^{(0)} = h_0`. The same parameters are used at every step.
    The input projection :math:`X W_x^\top` is computed for all steps before the loop,
    because it does not depend on the state.

    Parameters
    ----------
    X : ndarray, shape (T, B, D)
        Input sequence, time-major.
    h0 : ndarray, shape (B, H)
        Initial state.
    Wx : ndarray, shape (H, D)
    Ws : ndarray, shape (H, H)
    b : ndarray, shape (H,)

    Returns
    -------
    Hs : ndarray, shape (T, B, H)
        States :math:`h^{(1)}, \dots, h^{(T)}`.
    cache : RNNCache

    See chapter 2, :doc:`/book/02-unfolding`, and chapter 4, :doc:`/book/04-forward-and-loss`.
    """
    return _sequence_forward("rnn_forward", _TANH, RNNCache, X, h0, Wx, Ws, b)


def rnn_backward(dHs, cache: RNNCache, *, input_grad: bool = True):
    r"""Backpropagation through time for :func:`rnn_forward`.

    Walking backwards from :math:`t = T`, the gradient reaching :math:`h^{(t)}` is the
    loss's own term plus what flows back from step :math:`t+1`:

    .. math::

        \frac{\partial L}{\partial h^{(t)}} = \texttt{dHs}[t] + W_s^\top \delta^{(t+1)}, \qquad
        \delta^{(t)} = \frac{\partial L}{\partial h^{(t)}} \odot (1 - h^{(t)2})

    and the shared parameters collect a sum over time:
    :math:`\partial L/\partial W_s = \sum_t \delta^{(t)\top} h^{(t-1)}`,
    :math:`\partial L/\partial W_x = \sum_t \delta^{(t)\top} x^{(t)}`,
    :math:`\partial L/\partial b = \sum_t \sum_B \delta^{(t)}`.

    Parameters
    ----------
    dHs : ndarray, shape (T, B, H)
        Gradient of the loss with respect to every state (zeros where a state
        feeds no output).
    cache : RNNCache
    input_grad : bool, keyword-only
        ``False`` skips the matrix product for ``dX`` and returns ``None`` in its place (a model
        whose inputs are data, not parameters, never needs it).

    Returns
    -------
    dX : (T, B, D), or None
    dh0 : (B, H)
    dWx : (H, D)
    dWs : (H, H)
    db : (H,)

    See chapter 5, :doc:`/book/05-bptt`.
    """
    return _sequence_backward("rnn_backward", _TANH, dHs, cache, input_grad)


# ---------------------------------------------------------------------------
# rectified linear units (the IRNN of Le et al., 2015, when Ws starts as the identity)
# ---------------------------------------------------------------------------

def relu_rnn_step_forward(x, h_prev, Wx, Ws, b):
    r"""One time step of a vanilla RNN with rectified linear units.

    .. math::

        a^{(t)} = b + W_s h^{(t-1)} + W_x x^{(t)}, \qquad h^{(t)} = \max(0, a^{(t)})

    The same affine map as :func:`rnn_step_forward`, with :math:`\tanh` replaced by the
    rectifier. With :math:`W_s = I` and :math:`b = 0` at the start of training this is the
    IRNN of Le et al. (2015).

    Parameters
    ----------
    x : ndarray, shape (B, D)
        Inputs at this step.
    h_prev : ndarray, shape (B, H)
        State from the previous step.
    Wx : ndarray, shape (H, D)
        Input-to-state weights.
    Ws : ndarray, shape (H, H)
        State-to-state weights.
    b : ndarray, shape (H,)
        State bias.

    Returns
    -------
    h : ndarray, shape (B, H)
        New state (non-negative).
    cache : ReLURNNStepCache

    See chapter 6, :doc:`/book/06-vanishing-exploding`.
    """
    return _step_forward("relu_rnn_step_forward", _RELU, ReLURNNStepCache, x, h_prev, Wx, Ws, b)


def relu_rnn_step_backward(dh, cache: ReLURNNStepCache):
    r"""Backward pass of :func:`relu_rnn_step_forward`.

    The rectifier's derivative is 1 where the unit is active and 0 elsewhere, so
    :math:`\delta = \partial L/\partial a = dh \odot \mathbb 1[h > 0]` (at :math:`a = 0`
    exactly the derivative is taken to be 0), and then, as for the tanh RNN,

    .. math::

        \frac{\partial L}{\partial x} = \delta W_x,\quad
        \frac{\partial L}{\partial h^{(t-1)}} = \delta W_s,\quad
        \frac{\partial L}{\partial W_x} = \delta^\top x,\quad
        \frac{\partial L}{\partial W_s} = \delta^\top h^{(t-1)},\quad
        \frac{\partial L}{\partial b} = \textstyle\sum_B \delta

    Parameters
    ----------
    dh : ndarray, shape (B, H)
        Gradient of the loss with respect to ``h``.
    cache : ReLURNNStepCache

    Returns
    -------
    dx : (B, D)
    dh_prev : (B, H)
    dWx : (H, D)
    dWs : (H, H)
    db : (H,)

    See chapter 6, :doc:`/book/06-vanishing-exploding`.
    """
    return _step_backward("relu_rnn_step_backward", _RELU, dh, cache)


def relu_rnn_forward(X, h0, Wx, Ws, b):
    r"""Run a ReLU RNN over a whole sequence.

    For :math:`t = 1, \dots, T`: :math:`h^{(t)} = \max(0,\ b + W_s h^{(t-1)} + W_x x^{(t)})`,
    starting from :math:`h^{(0)} = h_0`. The same parameters are used at every step.

    Parameters
    ----------
    X : ndarray, shape (T, B, D)
        Input sequence, time-major.
    h0 : ndarray, shape (B, H)
        Initial state.
    Wx : ndarray, shape (H, D)
    Ws : ndarray, shape (H, H)
    b : ndarray, shape (H,)

    Returns
    -------
    Hs : ndarray, shape (T, B, H)
        States :math:`h^{(1)}, \dots, h^{(T)}`.
    cache : ReLURNNCache

    See chapter 6, :doc:`/book/06-vanishing-exploding`.
    """
    return _sequence_forward("relu_rnn_forward", _RELU, ReLURNNCache, X, h0, Wx, Ws, b)


def relu_rnn_backward(dHs, cache: ReLURNNCache, *, input_grad: bool = True):
    r"""Backpropagation through time for :func:`relu_rnn_forward`.

    The recursion of :func:`rnn_backward` with the rectifier's derivative in place of
    :math:`\tanh'`:

    .. math::

        \frac{\partial L}{\partial h^{(t)}} = \texttt{dHs}[t] + W_s^\top \delta^{(t+1)}, \qquad
        \delta^{(t)} = \frac{\partial L}{\partial h^{(t)}} \odot \mathbb 1[h^{(t)} > 0],

    with :math:`\partial L/\partial W_s = \sum_t \delta^{(t)\top} h^{(t-1)}`,
    :math:`\partial L/\partial W_x = \sum_t \delta^{(t)\top} x^{(t)}` and
    :math:`\partial L/\partial b = \sum_t \sum_B \delta^{(t)}`. An active unit passes its
    gradient on with slope exactly 1, an inactive one blocks it.

    Parameters
    ----------
    dHs : ndarray, shape (T, B, H)
        Gradient of the loss with respect to every state.
    cache : ReLURNNCache
    input_grad : bool, keyword-only
        ``False`` skips the matrix product for ``dX`` and returns ``None`` in its place (a model
        whose inputs are data, not parameters, never needs it).

    Returns
    -------
    dX : (T, B, D), or None
    dh0 : (B, H)
    dWx : (H, D)
    dWs : (H, H)
    db : (H,)

    See chapter 6, :doc:`/book/06-vanishing-exploding`.
    """
    return _sequence_backward("relu_rnn_backward", _RELU, dHs, cache, input_grad)
