r"""Numerical gradient checking with central differences.

The central difference

.. math::

    \frac{\partial f}{\partial x_i} \approx \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2\varepsilon}

has truncation error :math:`O(\varepsilon^2)` and rounding error about
:math:`10^{-16} |f| / \varepsilon`. With float64 and :math:`\varepsilon = 10^{-5}`
both are around :math:`10^{-10}` for the O(1) losses of this package, so a correct
gradient agrees to about :math:`10^{-8}` relative, which is why the tests use a
tolerance of ``1e-6``; real bugs give errors of order :math:`10^{-2}` to 1.

See chapter 5, :doc:`/book/05-bptt`.
"""
from __future__ import annotations

from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np

__all__ = ["numerical_gradient", "rel_error", "gradient_error", "GradReport", "check_layer_gradients"]


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to the array ``x``.

    ``f`` takes no arguments and reads ``x`` (which is perturbed in place, one
    entry at a time, and always restored — also when ``f`` raises).

    Parameters
    ----------
    f : callable
        Returns a scalar; called ``2 * x.size`` times.
    x : ndarray of float
        Modified in place during the call, unchanged afterwards.
    eps : float
        Step size.

    Returns
    -------
    grad : ndarray, same shape as ``x``, float64
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise ValueError(f"numerical_gradient: argument 'x' must be a float ndarray, got {type(x).__name__}"
                         + (f" of dtype {x.dtype}" if isinstance(x, np.ndarray) else ""))
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)  # a view: x is modified through it
    if flat.size and not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient: argument 'x' must be contiguous so it can be perturbed in place")
    gflat = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        try:
            flat[i] = old + eps
            f_plus = float(f())
            flat[i] = old - eps
            f_minus = float(f())
        finally:
            flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2.0 * eps)
    return grad


# Bound once, at import: rnnkit.grading judges with gradient_error, and a learner who rebinds ``np.abs``
# in a notebook changes what *their* code sees, not the error a check computes.
_asarray = np.asarray
_abs = np.abs
_maximum = np.maximum
_where = np.where
_isfinite = np.isfinite
_full = np.full
_errstate = np.errstate
_float64 = np.float64
_inf = np.inf


def rel_error(a, b, floor: float = 1e-8) -> np.ndarray:
    r"""Elementwise relative error :math:`|a - b| / \max(|a| + |b|, \text{floor})`.

    The floor makes it safe where both values are zero (the error is then the
    absolute difference scaled by ``1/floor``, so tiny absolute differences
    remain tiny). NaN or infinity in either input gives ``inf``, so a NaN can
    never pass a ``rel_error(...) < tol`` test.
    """
    a = _asarray(a, dtype=_float64)
    b = _asarray(b, dtype=_float64)
    with _errstate(invalid="ignore", over="ignore"):
        err = _abs(a - b) / _maximum(_abs(a) + _abs(b), floor)
    return _where(_isfinite(a) & _isfinite(b), err, _inf)


def gradient_error(analytic, numeric, *, floor_fraction: float = 1e-3) -> np.ndarray:
    r"""Elementwise relative error of ``analytic`` against the reference ``numeric``, on the reference's scale.

    :func:`rel_error` with the floor ``floor_fraction * max|numeric|`` (at least ``1e-12``):

    .. math::

        \frac{|a - n|}{\max(|a| + |n|,\ \text{floor\_fraction} \cdot \max|n|)}

    Entries far below the array's largest are judged relative to that scale, because their
    own relative error is dominated by finite-difference noise (~1e-10 absolute). NaN or
    infinity gives ``inf``; a shape mismatch gives ``inf`` everywhere. This is the one
    error metric of the package; two regimes use it:

    * **the library's tests** (:func:`check_layer_gradients`, the book): ``floor_fraction=1e-3``,
      central differences with ``eps=1e-5``, tolerance ``1e-6`` on the worst entry;
    * **grading** (``rnnkit.grading``): ``floor_fraction=1e-4`` (``ERROR_FLOOR``), so a
      learner's entries are judged on a finer scale; tolerance ``GRAD_TOL = 1e-5`` against
      central differences with ``eps=1e-6``, ``VALUE_TOL = 1e-7`` for forward values against
      the reference, and ``BUG_MATCH_TOL = 1e-6`` to name a known mistake.

    See chapter 5, :doc:`/book/05-bptt`.
    """
    numeric = _asarray(numeric, dtype=_float64)
    analytic = _asarray(analytic, dtype=_float64)
    if analytic.shape != numeric.shape:
        return _full(numeric.shape, _inf)
    scale = float(_abs(numeric).max(initial=0.0))
    return rel_error(analytic, numeric, floor=max(floor_fraction * scale, 1e-12))


class GradReport(NamedTuple):
    """Result of :func:`check_layer_gradients`."""
    ok: bool                      #: every parameter within tolerance
    worst_error: float            #: the largest relative error over all checked arrays
    worst_name: str               #: which array holds it
    worst_index: tuple            #: its index in that array
    worst_step: int | None        #: its time step t (1-based, as in the book), for arrays with a time axis
    errors: dict                  #: name -> max relative error

    def __str__(self) -> str:
        where = f"{self.worst_name}{list(self.worst_index)}"
        if self.worst_step is not None:
            where += f" (time step t={self.worst_step})"
        status = "OK" if self.ok else "FAILED"
        per = ", ".join(f"{k}: {v:.2e}" for k, v in self.errors.items())
        return f"gradient check {status}: worst relative error {self.worst_error:.2e} at {where}; {per}"


def check_layer_gradients(forward: Callable, backward: Callable, inputs: Mapping[str, np.ndarray],
                          grad_names: Sequence[str | None], *, rng: np.random.Generator,
                          eps: float = 1e-5, tol: float = 1e-6,
                          time_axes: Mapping[str, int] | None = None) -> GradReport:
    """Check a forward/backward pair against central differences.

    The scalar checked is :math:`L = \\sum_j \\text{out}_j \\, g_j` for a random
    upstream gradient ``g`` (drawn from ``rng``), so every output entry matters.

    Parameters
    ----------
    forward : callable
        ``forward(**inputs) -> (out, cache)``; ``out`` may be a tuple of arrays
        (e.g. the LSTM step's ``(h, c)``), followed by the cache as last element.
    backward : callable
        ``backward(*douts, cache) -> grads`` in the order of ``grad_names``.
    inputs : mapping of name -> float64 ndarray
        Arguments of ``forward``. Arrays named in ``grad_names`` are perturbed.
    grad_names : sequence of str or None
        The name of the input each returned gradient belongs to (``None`` to skip one).
    rng : numpy.random.Generator
    eps, tol : float
        Finite-difference step and tolerance on the worst :func:`gradient_error`.
    time_axes : mapping of name -> int, optional
        For arrays with a time axis, which axis it is, so the report can name the step.

    Returns
    -------
    GradReport
    """
    inputs = {k: np.array(v, dtype=np.float64) for k, v in inputs.items()}
    result = forward(**inputs)
    outs, cache = result[:-1], result[-1]
    douts = [rng.standard_normal(np.shape(o)) for o in outs]

    def loss() -> float:
        res = forward(**inputs)
        return float(sum(np.sum(o * g) for o, g in zip(res[:-1], douts)))

    grads = backward(*douts, cache)
    if len(grads) != len(grad_names):
        raise ValueError(f"check_layer_gradients: backward returned {len(grads)} gradients, "
                         f"grad_names lists {len(grad_names)}")
    time_axes = dict(time_axes or {})
    errors: dict[str, float] = {}
    worst = (-1.0, "", (), None)
    for name, g in zip(grad_names, grads):
        if name is None:
            continue
        num = numerical_gradient(loss, inputs[name], eps)
        err = gradient_error(g, num)
        idx = np.unravel_index(int(np.argmax(err)), err.shape) if err.size else ()
        errors[name] = float(err.max()) if err.size else 0.0
        if errors[name] > worst[0]:
            step = int(idx[time_axes[name]]) + 1 if name in time_axes and err.size else None
            worst = (errors[name], name, tuple(int(i) for i in idx), step)
    return GradReport(worst[0] <= tol, worst[0], worst[1], worst[2], worst[3], errors)
