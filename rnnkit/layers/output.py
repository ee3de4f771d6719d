r"""The output layer :math:`o^{(t)} = c + W_y h^{(t)}`, the softmax, and the cross-entropy loss.

Dimension legend: T time, B batch, H hidden, K output (classes).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_array, check_labels
from ._common import check_upstream

__all__ = ["softmax", "AffineCache", "affine_forward", "affine_backward", "softmax_cross_entropy"]


def softmax(O: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""Softmax along ``axis``: :math:`\hat y_k = e^{o_k} / \sum_j e^{o_j}` (max-shifted for stability)."""
    O = np.asarray(O)
    shifted = O - O.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)
# ---------------------------------------------------------------------------

class AffineCache(NamedTuple):
    """What :func:`affine_backward` needs from :func:`affine_forward`."""
    Hs: np.ndarray  #: states, (T, B, H) or (B, H)
    Wy: np.ndarray  #: (K, H)


def affine_forward(Hs, Wy, c):
    r"""Output layer applied at every time step: :math:`o^{(t)} = c + W_y h^{(t)}`.

    Goodfellow writes :math:`o = c + V h` with :math:`V = W_y`.

    Parameters
    ----------
    Hs : ndarray, shape (T, B, H) or (B, H)
        States (a single step or sequence-to-one models pass (B, H)).
    Wy : ndarray, shape (K, H)
    c : ndarray, shape (K,)

    Returns
    -------
    O : ndarray, shape (T, B, K) or (B, K)
        Unnormalised scores (logits).
    cache : AffineCache

    See chapter 4, :doc:`/book/04-forward-and-loss`.
    """
    func = "affine_forward"
    sizes: dict[str, int] = {}
    Hs = np.asarray(Hs)
    dims = "T B H" if Hs.ndim == 3 else "B H"
    Hs = check_array(func, "Hs", Hs, dims, sizes)
    Wy = check_array(func, "Wy", Wy, "K H", sizes)
    c = check_array(func, "c", c, "K", sizes)
    return Hs @ Wy.T + c, AffineCache(Hs, Wy)


def affine_backward(dO, cache: AffineCache):
    r"""Backward pass of :func:`affine_forward`.

    :math:`\partial L/\partial h^{(t)} = W_y^\top\, \partial L/\partial o^{(t)}`;
    :math:`\partial L/\partial W_y = \sum_t (\partial L/\partial o^{(t)})^\top h^{(t)}` and
    :math:`\partial L/\partial c = \sum_t \partial L/\partial o^{(t)}` — no sum over earlier
    steps is needed, because :math:`W_y` only touches each :math:`h^{(t)}` once.

    Parameters
    ----------
    dO : ndarray, shape (T, B, K) or (B, K)
    cache : AffineCache

    Returns
    -------
    dHs : same shape as ``Hs``
    dWy : (K, H)
    dc : (K,)

    See chapter 5, :doc:`/book/05-bptt`.
    """
    Hs, Wy = cache
    K, H = Wy.shape
    dims = "T B K" if Hs.ndim == 3 else "B K"
    dO = check_upstream("affine_backward", "dO", dO, Hs.shape[:-1] + (K,), dims)
    dO2 = dO.reshape(-1, K)
    return dO @ Wy, dO2.T @ Hs.reshape(-1, H), dO2.sum(axis=0)


def softmax_cross_entropy(O, Y, reduction: str = "mean"):
    r"""Softmax cross-entropy (negative log-likelihood) of integer targets, and its gradient.

    .. math::

        \hat y^{(t)} = \operatorname{softmax}(o^{(t)}), \qquad
        L = -\sum_t \log \hat y^{(t)}_{y^{(t)}}, \qquad
        \frac{\partial L}{\partial o^{(t)}} = \hat y^{(t)} - \operatorname{onehot}(y^{(t)})

    Parameters
    ----------
    O : ndarray, shape (T, B, K) or (B, K)
        Logits.
    Y : ndarray of int, shape (T, B) or (B,)
        Target classes in ``[0, K)``.
    reduction : {"mean", "sum"}
        ``"mean"`` (default) averages over all T·B targets — nats per symbol,
        comparable with an entropy and independent of T and B. ``"sum"`` adds
        them up — Goodfellow's :math:`L = \sum_t L^{(t)}` for one sequence.

    Returns
    -------
    loss : float
    dO : ndarray, same shape as ``O``
        Gradient of ``loss`` with respect to ``O``.

    See chapter 4, :doc:`/book/04-forward-and-loss`.
    """
    func = "softmax_cross_entropy"
    sizes: dict[str, int] = {}
    O = np.asarray(O)
    seq = O.ndim == 3
    O = check_array(func, "O", O, "T B K" if seq else "B K", sizes)
    Y = check_labels(func, "Y", Y, "T B" if seq else "B", sizes, O.shape[-1])
    if reduction not in ("mean", "sum"):
        raise ValueError(f"{func}: argument 'reduction' must be 'mean' or 'sum', got {reduction!r}")
    K = O.shape[-1]
    O2 = O.reshape(-1, K)
    y = Y.reshape(-1)
    shifted = O2 - O2.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1))
    rows = np.arange(y.size)
    logp = shifted[rows, y] - log_z
    scale = 1.0 / y.size if reduction == "mean" else 1.0
    loss = -float(logp.sum()) * scale
    dO = np.exp(shifted - log_z[:, None])
    dO[rows, y] -= 1.0
    dO *= scale
    return loss, dO.reshape(O.shape)
