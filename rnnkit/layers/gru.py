r"""The gated recurrent unit (Cho et al., 2014), in PyTorch's convention (gate order r, z, n).

Beyond the LSTM chapter: a second gated cell, with one state instead of two. The sequence
functions run the step equations of :func:`gru_step_forward` / :func:`gru_step_backward` and hoist
the input projection :math:`W_x x^{(t)}` of all steps out of the time loop.

Dimension legend: T time, B batch, D input, H hidden.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._common import check_args, check_upstream, sigmoid, sum_over_time_state_grad

__all__ = ["GRUStepCache", "GRUCache", "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward"]


class GRUStepCache(NamedTuple):
    """What :func:`gru_step_backward` needs from :func:`gru_step_forward`."""
    x: np.ndarray       #: (B, D)
    h_prev: np.ndarray  #: (B, H)
    gates: np.ndarray   #: activated [r, z, n], (B, 3H)
    hn: np.ndarray      #: W_hn h_prev + b_hn, the state term inside n, (B, H)
    Wx: np.ndarray      #: (3H, D)
    Wh: np.ndarray      #: (3H, H)


class GRUCache(NamedTuple):
    """What :func:`gru_backward` needs from :func:`gru_forward`."""
    X: np.ndarray       #: (T, B, D)
    h0: np.ndarray      #: (B, H)
    Hs: np.ndarray      #: (T, B, H)
    gates: np.ndarray   #: activated [r, z, n] per step, (T, B, 3H)
    hn: np.ndarray      #: (T, B, H)
    Wx: np.ndarray      #: (3H, D)
    Wh: np.ndarray      #: (3H, H)


def _check(func, x_spec, h_spec, Wx, Wh, bx, bh):
    return check_args(func, x_spec, h_spec, ("Wx", Wx, "3H D"), ("Wh", Wh, "3H H"), ("bx", bx, "3H"),
                      ("bh", bh, "3H"))


def _activate_gates_in_place(ax: np.ndarray, h_prev, Wh, bh):
    """Overwrite the input-side pre-activations ``ax`` (B, 3H) with the activated gates [r, z, n].

    Returns ``(hn, h)``: the state term inside n, :math:`W_{hn} h + b_{hn}` (B, H), and the new state (B, H).
    """
    H = h_prev.shape[1]
    ah = h_prev @ Wh.T + bh
    ax[:, :2 * H] = sigmoid(ax[:, :2 * H] + ah[:, :2 * H])
    hn = ah[:, 2 * H:]
    r, zg = ax[:, :H], ax[:, H:2 * H]
    ax[:, 2 * H:] = np.tanh(ax[:, 2 * H:] + r * hn)
    n = ax[:, 2 * H:]
    return hn, (1.0 - zg) * n + zg * h_prev


def gru_step_forward(x, h_prev, Wx, Wh, bx, bh):
    r"""One step of a GRU (gate order r, z, n, as in ``torch.nn.GRU``).

    .. math::

        r = \sigma(W_{xr} x + b_{xr} + W_{hr} h + b_{hr}),\quad
        z = \sigma(W_{xz} x + b_{xz} + W_{hz} h + b_{hz}),\\
        n = \tanh(W_{xn} x + b_{xn} + r \odot (W_{hn} h + b_{hn})),\quad
        h' = (1 - z) \odot n + z \odot h

    Parameters
    ----------
    x : ndarray, shape (B, D)
    h_prev : ndarray, shape (B, H)
    Wx : ndarray, shape (3H, D)
    Wh : ndarray, shape (3H, H)
    bx, bh : ndarray, shape (3H,)
        Input-side and state-side biases (kept apart because ``r`` multiplies only ``b_hn``).

    Returns
    -------
    h : ndarray, shape (B, H)
    cache : GRUStepCache

    See chapter 8, :doc:`/book/08-lstm`.
    """
    x, h_prev, Wx, Wh, bx, bh = _check("gru_step_forward", ("x", x, "B D"), ("h_prev", h_prev, "B H"),
                                       Wx, Wh, bx, bh)
    gates = x @ Wx.T + bx
    hn, h = _activate_gates_in_place(gates, h_prev, Wh, bh)
    return h, GRUStepCache(x, h_prev, gates, hn, Wx, Wh)


def _pre_activation_grads(dh, h_prev, gates, hn):
    """Gradients w.r.t. the input-side and state-side pre-activations, and the direct dh_prev term."""
    H = h_prev.shape[1]
    r, z, n = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    dn = dh * (1.0 - z) * (1.0 - n * n)
    dz = dh * (h_prev - n) * z * (1.0 - z)
    dr = dn * hn * r * (1.0 - r)
    dax = np.concatenate([dr, dz, dn], axis=1)
    dah = np.concatenate([dr, dz, dn * r], axis=1)
    return dax, dah, dh * z


def gru_step_backward(dh, cache: GRUStepCache):
    r"""Backward pass of :func:`gru_step_forward`.

    Returns
    -------
    dx : (B, D)
    dh_prev : (B, H)
    dWx : (3H, D)
    dWh : (3H, H)
    dbx, dbh : (3H,)

    See chapter 8, :doc:`/book/08-lstm`.
    """
    x, h_prev, gates, hn, Wx, Wh = cache
    dh = check_upstream("gru_step_backward", "dh", dh, h_prev.shape, "B H")
    dax, dah, dh_prev = _pre_activation_grads(dh, h_prev, gates, hn)
    return (dax @ Wx, dh_prev + dah @ Wh, dax.T @ x, dah.T @ h_prev, dax.sum(axis=0), dah.sum(axis=0))


def gru_forward(X, h0, Wx, Wh, bx, bh):
    r"""Run a GRU over a sequence (the step of :func:`gru_step_forward` for t = 1…T).

    Parameters
    ----------
    X : ndarray, shape (T, B, D)
    h0 : ndarray, shape (B, H)
    Wx : ndarray, shape (3H, D)
    Wh : ndarray, shape (3H, H)
    bx, bh : ndarray, shape (3H,)

    Returns
    -------
    Hs : ndarray, shape (T, B, H)
    cache : GRUCache

    See chapter 8, :doc:`/book/08-lstm`.
    """
    X, h0, Wx, Wh, bx, bh = _check("gru_forward", ("X", X, "T B D"), ("h0", h0, "B H"), Wx, Wh, bx, bh)
    T, B, D = X.shape
    H = h0.shape[1]
    gates = (X.reshape(T * B, D) @ Wx.T).reshape(T, B, 3 * H)
    gates += bx
    Hs = np.empty((T, B, H), gates.dtype)
    hn = np.empty((T, B, H), gates.dtype)
    h = h0
    for t in range(T):
        hn[t], Hs[t] = _activate_gates_in_place(gates[t], h, Wh, bh)
        h = Hs[t]
    return Hs, GRUCache(X, h0, Hs, gates, hn, Wx, Wh)


def gru_backward(dHs, cache: GRUCache, *, input_grad: bool = True):
    r"""Backpropagation through time for :func:`gru_forward`.

    Parameters
    ----------
    dHs : ndarray, shape (T, B, H)
    cache : GRUCache
    input_grad : bool, keyword-only
        ``False`` skips the matrix product for ``dX`` and returns ``None`` in its place (a model
        whose inputs are data, not parameters, never needs it).

    Returns
    -------
    dX : (T, B, D), or None
    dh0 : (B, H)
    dWx : (3H, D)
    dWh : (3H, H)
    dbx, dbh : (3H,)

    See chapter 8, :doc:`/book/08-lstm`.
    """
    X, h0, Hs, gates, hn, Wx, Wh = cache
    dHs = check_upstream("gru_backward", "dHs", dHs, Hs.shape, "T B H")
    T, B, D = X.shape
    H = h0.shape[1]
    dtype = np.result_type(gates, dHs)
    dAx = np.empty((T, B, 3 * H), dtype)
    dAh = np.empty((T, B, 3 * H), dtype)
    dh = np.zeros((B, H), dtype)
    for t in range(T - 1, -1, -1):
        h_prev = Hs[t - 1] if t > 0 else h0
        dAx[t], dAh[t], direct = _pre_activation_grads(dHs[t] + dh, h_prev, gates[t], hn[t])
        dh = direct + dAh[t] @ Wh
    dAx2 = dAx.reshape(T * B, 3 * H)
    dAh2 = dAh.reshape(T * B, 3 * H)
    dX = (dAx2 @ Wx).reshape(T, B, D) if input_grad else None
    return (dX, dh, dAx2.T @ X.reshape(T * B, D), sum_over_time_state_grad(dAh2, h0, Hs),
            dAx2.sum(axis=0), dAh2.sum(axis=0))
