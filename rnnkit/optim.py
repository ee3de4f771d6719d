r"""Gradient clipping and first-order optimizers over a dict of parameters.

Optimizers update ``params`` in place from ``grads`` with the same keys.

See chapter 6, :doc:`/book/06-vanishing-exploding`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["global_norm", "clip_by_value", "clip_by_global_norm", "SGD", "Adagrad", "Adam"]


def _check_grads(func: str, grads) -> None:
    if not isinstance(grads, dict) or not grads:
        raise ValueError(f"{func}: argument 'grads' must be a non-empty dict of name -> ndarray")
    for name, g in grads.items():
        # NaN and inf propagate through a sum: a finite sum means finite entries, without a boolean temporary.
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.sum(g)):
                continue
        if not np.all(np.isfinite(g)):
            raise ValueError(f"{func}: gradient '{name}' contains NaN or infinity (shape {np.shape(g)})")


def global_norm(grads: dict) -> float:
    r"""Euclidean norm of all gradients taken together, :math:`\sqrt{\sum_p \lVert g_p \rVert^2}`."""
    return float(np.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values())))


def clip_by_value(grads: dict, limit: float) -> dict:
    """Clip every entry into ``[-limit, limit]`` (changes the direction of the update).

    Returns a new dict; the input is not modified.
    """
    if not limit > 0:
        raise ValueError(f"clip_by_value: argument 'limit' must be positive, got {limit}")
    _check_grads("clip_by_value", grads)
    return {k: np.clip(g, -limit, limit) for k, g in grads.items()}


def clip_by_global_norm(grads: dict, max_norm: float):
    r"""Rescale all gradients together so that their global norm is at most ``max_norm``.

    .. math:: g \leftarrow g \cdot \min\!\left(1, \frac{\text{max\_norm}}{\lVert g \rVert}\right)

    The direction of the full update is kept (Pascanu et al., 2013).

    Returns
    -------
    clipped : dict
        New arrays; the input is not modified.
    norm : float
        The global norm before clipping.
    """
    if not max_norm > 0:
        raise ValueError(f"clip_by_global_norm: argument 'max_norm' must be positive, got {max_norm}")
    _check_grads("clip_by_global_norm", grads)
    norm = global_norm(grads)
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


class _Optimizer:
    def __init__(self, lr: float):
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: argument 'lr' must be positive, got {lr}")
        self.lr = lr
        self.state: dict = {}

    def step(self, params: dict, grads: dict) -> None:
        """Update ``params`` in place from ``grads`` (same keys and shapes)."""
        name = f"{type(self).__name__}.step"
        missing = set(params) ^ set(grads)
        if missing:
            raise ValueError(f"{name}: params and grads must have the same keys; differing: {sorted(missing)}")
        for k in params:
            if np.shape(grads[k]) != np.shape(params[k]):
                raise ValueError(f"{name}: gradient '{k}' has shape {np.shape(grads[k])}, "
                                 f"parameter has shape {np.shape(params[k])}")
        for k in params:
            self._update(k, params[k], np.asarray(grads[k], dtype=params[k].dtype))


class SGD(_Optimizer):
    r"""Stochastic gradient descent with optional (heavy-ball) momentum.

    :math:`v \leftarrow \mu v - \eta g`, :math:`\theta \leftarrow \theta + v`.
    """

    def __init__(self, lr: float, momentum: float = 0.0):
        super().__init__(lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: argument 'momentum' must be in [0, 1), got {momentum}")
        self.momentum = momentum

    def _update(self, k, p, g):
        if self.momentum == 0.0:
            p -= self.lr * g
            return
        v = self.state.setdefault(k, np.zeros_like(p))
        v *= self.momentum
        v -= self.lr * g
        p += v


class Adagrad(_Optimizer):
    r"""Adagrad: per-entry step sizes :math:`\eta / \sqrt{\sum g^2 + \epsilon}`."""

    def __init__(self, lr: float, eps: float = 1e-8):
        super().__init__(lr)
        self.eps = eps

    def _update(self, k, p, g):
        acc = self.state.setdefault(k, np.zeros_like(p))
        acc += g * g
        p -= self.lr * g / np.sqrt(acc + self.eps)


class Adam(_Optimizer):
    r"""Adam (Kingma & Ba, 2015) with bias-corrected first and second moments."""

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.t = 0

    def step(self, params: dict, grads: dict) -> None:
        self.t += 1
        super().step(params, grads)

    def _update(self, k, p, g):
        # In place, with two work arrays per parameter instead of a temporary per operation; the
        # operations and their order are those of the formula as written (the same rounding):
        # m ← β1 m + (1 − β1) g,  v ← β2 v + (1 − β2) g g,  p ← p − lr m̂ / (√v̂ + ε)
        # with m̂ = m / (1 − β1ᵗ) and v̂ = v / (1 − β2ᵗ).
        m, v, m_hat, v_hat = self.state.setdefault(k, tuple(np.zeros_like(p) for _ in range(4)))
        m *= self.beta1
        np.multiply(g, 1 - self.beta1, out=m_hat)
        m += m_hat
        v *= self.beta2
        np.multiply(g, 1 - self.beta2, out=v_hat)
        v_hat *= g
        v += v_hat
        np.divide(m, 1 - self.beta1 ** self.t, out=m_hat)
        np.divide(v, 1 - self.beta2 ** self.t, out=v_hat)
        np.sqrt(v_hat, out=v_hat)
        v_hat += self.eps
        m_hat *= self.lr
        m_hat /= v_hat
        p -= m_hat
