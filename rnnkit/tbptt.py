r"""Truncated backpropagation through time.

The sequence is processed in chunks of ``k`` steps. The state is carried from
one chunk to the next (the forward pass is exactly the full one), but the
gradient is cut at every chunk border: no gradient flows from chunk ``j + 1``
into chunk ``j``. With ``k >= T`` there is a single chunk and the result is
full BPTT.

See chapter 6, :doc:`/book/06-vanishing-exploding`.
"""
from __future__ import annotations

import numpy as np

from ._validate import check_array, check_labels

__all__ = ["tbptt_loss_and_grads"]


def tbptt_loss_and_grads(model, X, Y, k: int, state0=None):
    """Loss and truncated-BPTT gradients of a :class:`~rnnkit.models.HiddenToHiddenRNN`.

    Parameters
    ----------
    model : HiddenToHiddenRNN
    X : ndarray, shape (T, B, D)
    Y : ndarray of int, shape (T, B)
    k : int
        Truncation length (steps per chunk), ``k >= 1``.
    state0 : optional initial state.

    Returns
    -------
    loss : float
        Mean NLL over all T·B targets — the same value as ``model.loss_and_grads(X, Y)``.
    grads : dict
        Sum of the chunks' gradients, each normalised by the full T·B.
    """
    X = check_array("tbptt_loss_and_grads", "X", X, "T B D", {"D": model.D})
    T, B, _ = X.shape
    Y = check_labels("tbptt_loss_and_grads", "Y", Y, "T B", {"T": T, "B": B}, model.K)
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"tbptt_loss_and_grads: argument 'k' must be a positive integer, got {k!r}")
    total_loss = 0.0
    grads = {name: np.zeros_like(p) for name, p in model.params.items()}
    state = state0
    for start in range(0, T, k):
        chunk = slice(start, min(start + k, T))
        loss, g, state = model.loss_and_grads(X[chunk], Y[chunk], state, return_state=True,
                                              normalizer=T * B)
        total_loss += loss
        for name in grads:
            grads[name] += g[name]
    return total_loss, grads
