"""What every cell module of :mod:`rnnkit.layers` shares: the logistic function, argument
checks, and the sum over time of a recurrent weight's gradient.

Dimension legend: T time, B batch, D input, H hidden, K output.
"""
from __future__ import annotations

import threading

import numpy as np

from .._validate import check_array

__all__ = ["sigmoid"]


def sigmoid(a: np.ndarray) -> np.ndarray:
    r"""Logistic function :math:`\sigma(a) = 1 / (1 + e^{-a})`, computed without overflow.

    Uses :math:`\sigma(a) = \tfrac12 (1 + \tanh(a/2))`, which never calls ``exp`` on a
    large argument, so it emits no overflow warning for any finite ``a``.
    """
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def check_args(func: str, *specs: tuple[str, object, str]) -> list[np.ndarray]:
    """Check several arguments of ``func`` against one set of dimension sizes.

    Each spec is ``(argument name, value, dims)``, e.g. ``("h0", h0, "B H")``. Sizes bound by an
    earlier argument (B, H, ...) are enforced on the later ones, so the order of the specs decides
    which argument an error message blames.
    """
    sizes: dict[str, int] = {}
    return [check_array(func, name, value, dims, sizes) for name, value, dims in specs]


def check_upstream(func: str, name: str, d, shape: tuple[int, ...], dims: str) -> np.ndarray:
    """An upstream gradient must have the shape of the forward output it belongs to."""
    return check_array(func, name, d, dims, dict(zip(dims.split(), shape)))


class _ScratchArrays(threading.local):
    """Work arrays that a sequence function reuses from one call to the next (one set per thread).

    A training loop calls the same sequence function with the same shapes thousands of times. Fresh
    work arrays of a few megabytes come back from the operating system as new pages on every call,
    and touching them for the first time costs about as much as the element-wise work done in them.
    Only arrays that never leave the function (no result or cache holds them) come from here; each
    ``role`` keeps one array, replaced when the shape or dtype changes, so the memory stays bounded.
    """

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def get(self, role: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """An uninitialised array of ``shape`` and ``dtype`` for ``role``; the same one as last time if it fits."""
        a = self.arrays.get(role)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = self.arrays[role] = np.empty(shape, dtype)
        return a


scratch_arrays = _ScratchArrays()


def sum_over_time_state_grad(dA2: np.ndarray, h0: np.ndarray, Hs: np.ndarray) -> np.ndarray:
    r""":math:`\sum_t \delta^{(t)\top} h^{(t-1)}`, the gradient of a weight that acts on the previous state.

    Parameters
    ----------
    dA2 : ndarray, shape (T·B, G)
        Gradients of the pre-activations that the weight feeds (G = H, 3H or 4H), the steps one
        after the other (row ``t·B + j`` is step t, sequence j); any strides, e.g. a transposed view.
    h0 : ndarray, shape (B, H)
        The initial state, :math:`h^{(0)}`.
    Hs : ndarray, shape (T, B, H)
        The states :math:`h^{(1)} \dots h^{(T)}`; step t reads :math:`h^{(t-1)}`, so ``Hs[-1]`` is unused.

    Returns
    -------
    ndarray, shape (G, H)
        Written as two matrix products, one for the first step and one for all the others,
        instead of T small ones.
    """
    T, B, H = Hs.shape
    grad = dA2[:B].T @ h0
    if T > 1:
        grad += dA2[B:].T @ Hs[:-1].reshape((T - 1) * B, H)
    return grad
