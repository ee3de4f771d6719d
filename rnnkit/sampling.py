r"""Sampling from a character model, with temperature.

Dividing the logits by a temperature :math:`\tau` before the softmax,
:math:`p_k \propto \exp(o_k / \tau)`, sharpens the distribution for
:math:`\tau < 1` (towards the most likely character) and flattens it for
:math:`\tau > 1` (towards uniform).

See chapter 9, :doc:`/book/09-char-lm`.
"""
from __future__ import annotations

import numpy as np

from ._validate import check_array
from .layers import softmax

__all__ = ["sample_from_logits", "generate_text"]


def sample_from_logits(logits, *, temperature: float = 1.0, rng: np.random.Generator) -> np.ndarray:
    """Draw one class per row from ``softmax(logits / temperature)``.

    Parameters
    ----------
    logits : ndarray, shape (B, K)
    temperature : float
        ``> 0``; ``0`` means greedy (argmax).
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int, shape (B,)
    """
    logits = check_array("sample_from_logits", "logits", logits, "B K")
    if temperature < 0:
        raise ValueError(f"sample_from_logits: argument 'temperature' must be >= 0, got {temperature}")
    if temperature == 0:
        return logits.argmax(axis=1)
    p = softmax(logits.astype(np.float64) / temperature)
    u = rng.random((p.shape[0], 1))
    # inverse-CDF sampling, vectorised over the batch
    idx = (np.cumsum(p, axis=1) < u).sum(axis=1)
    return np.minimum(idx, p.shape[1] - 1)


def generate_text(model, vocab, prime: str, n: int, *, temperature: float = 1.0,
                  rng: np.random.Generator) -> str:
    """Generate ``n`` characters from a character-level :class:`~rnnkit.models.HiddenToHiddenRNN`.

    The model reads ``prime`` (one-hot inputs, ``D = K = len(vocab)``), then feeds
    each sampled character back as the next input.

    Returns
    -------
    str
        ``prime`` followed by the ``n`` generated characters.
    """
    if not prime:
        raise ValueError("generate_text: argument 'prime' must be a non-empty string")
    if model.D != len(vocab) or model.K != len(vocab):
        raise ValueError(f"generate_text: the model must have D = K = len(vocab) = {len(vocab)}; "
                         f"got D={model.D}, K={model.K}")
    eye = np.eye(len(vocab), dtype=model.params["Wy"].dtype)
    state = model.init_state(1)
    for i in vocab.encode(prime):
        o, state = model.step(eye[[i]], state)
    out = []
    for _ in range(n):
        nxt = int(sample_from_logits(o, temperature=temperature, rng=rng)[0])
        out.append(nxt)
        o, state = model.step(eye[[nxt]], state)
    return prime + vocab.decode(out)
