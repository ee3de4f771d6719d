r"""The LSTM cell (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et al., 2000).

Two implementations of the same equations:

* the **step functions** :func:`lstm_step_forward` / :func:`lstm_step_backward` are the readable
  reference: one line per equation of chapter 8, batch-major ``(B, ·)`` arrays;
* the **sequence functions** :func:`lstm_forward` / :func:`lstm_backward` are the fast path used for
  training. Their arguments and results are the same time-major ``(T, B, ·)`` arrays, but inside
  the time loop they keep every per-step array *feature-major*, ``(4H, B)`` and ``(H, B)``, so that
  each gate block is one contiguous piece of memory and each element-wise operation is a single
  pass; the input projection :math:`W_x x^{(t)}` of all steps is one matrix product before the loop.
  ``tests/library/test_layers.py`` checks that both give the same numbers.

Dimension legend: T time, B batch, D input, H hidden. Gate order in ``W``, ``b`` and every
cache: i (input), f (forget), o (output), g (candidate cell; chapter 8 writes q for o and
:math:`\tilde c` for g).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._common import check_args, check_upstream, scratch_arrays, sigmoid

__all__ = ["LSTMStepCache", "LSTMCache", "lstm_step_forward", "lstm_step_backward", "lstm_forward",
           "lstm_backward"]


class LSTMStepCache(NamedTuple):
    """What :func:`lstm_step_backward` needs from :func:`lstm_step_forward`.

    The exercises of chapter 8 build their own cache as the tuple
    ``(x, h_prev, c_prev, i, f, o, g, c, W)``. This one stores the same information more compactly:
    ``z`` is ``[h_prev, x]`` side by side (the vector ``W`` acts on), ``gates`` is ``[i, f, o, g]``
    side by side, and ``tanh_c`` replaces ``c`` because the backward pass needs :math:`\\tanh c_t`,
    not :math:`c_t`. The exercise's names are available as read-only attributes:
    ``cache.x``, ``cache.h_prev``, ``cache.i``, ``cache.f``, ``cache.o``, ``cache.g`` and ``cache.c``.
    """
    z: np.ndarray       #: concatenation [h_prev, x], (B, H + D)
    c_prev: np.ndarray  #: previous cell state, (B, H)
    gates: np.ndarray   #: activated gates [i, f, o, g], (B, 4H)
    tanh_c: np.ndarray  #: tanh of the new cell state, (B, H)
    W: np.ndarray       #: (4H, H + D)

    def _gate(self, k: int) -> np.ndarray:
        H = self.c_prev.shape[-1]
        return self.gates[:, k * H:(k + 1) * H]

    @property
    def h_prev(self) -> np.ndarray:
        """Previous hidden state, shape (B, H); the first H columns of ``z``."""
        return self.z[:, :self.c_prev.shape[-1]]

    @property
    def x(self) -> np.ndarray:
        """Input, shape (B, D); the columns of ``z`` after the first H."""
        return self.z[:, self.c_prev.shape[-1]:]

    i = property(lambda self: self._gate(0), doc="Input gate, (B, H).")
    f = property(lambda self: self._gate(1), doc="Forget gate, (B, H).")
    o = property(lambda self: self._gate(2), doc="Output gate, (B, H).")
    g = property(lambda self: self._gate(3), doc="Candidate cell values, (B, H).")

    @property
    def c(self) -> np.ndarray:
        """New cell state, (B, H), recomputed as f ⊙ c_prev + i ⊙ g (the forward pass's own arithmetic)."""
        return self.f * self.c_prev + self.i * self.g


class LSTMCache(NamedTuple):
    """What :func:`lstm_backward` needs from :func:`lstm_forward`.

    ``gates``, ``Cs`` and ``tanh_c`` have the shapes below but are transposed views of the
    feature-major arrays the time loop wrote (``gates.transpose(0, 2, 1)`` is (T, 4H, B), each step's
    (4H, B) block contiguous).
    """
    X: np.ndarray       #: (T, B, D)
    h0: np.ndarray      #: (B, H)
    c0: np.ndarray      #: (B, H)
    Hs: np.ndarray      #: hidden states, (T, B, H)
    Cs: np.ndarray      #: cell states, (T, B, H)
    gates: np.ndarray   #: activated gates [i, f, o, g] per step, (T, B, 4H)
    tanh_c: np.ndarray  #: tanh(Cs), (T, B, H)
    W: np.ndarray       #: (4H, H + D)


def _check_step(func, x, h_prev, c_prev, W, b):
    return check_args(func, ("x", x, "B D"), ("h_prev", h_prev, "B H"), ("c_prev", c_prev, "B H"),
                      ("W", W, "4H H+D"), ("b", b, "4H"))


def lstm_step_forward(x, h_prev, c_prev, W, b):
    r"""One time step of an LSTM.

    The four gates come from one matrix acting on the stacked vector :math:`[h_{t-1}; x_t]`,
    in the block order i, f, o, g:

    .. math::

        \begin{pmatrix} i \\ f \\ o \\ g \end{pmatrix} =
        \begin{pmatrix} \sigma \\ \sigma \\ \sigma \\ \tanh \end{pmatrix}
        \left( W \begin{pmatrix} h_{t-1} \\ x_t \end{pmatrix} + b \right), \qquad
        c_t = f \odot c_{t-1} + i \odot g, \qquad h_t = o \odot \tanh(c_t)

    Parameters
    ----------
    x : ndarray, shape (B, D)
    h_prev : ndarray, shape (B, H)
    c_prev : ndarray, shape (B, H)
    W : ndarray, shape (4H, H + D)
        Columns ``[:H]`` act on ``h_prev``, columns ``[H:]`` on ``x``.
        Row blocks of size H are the gates i, f, o, g.
    b : ndarray, shape (4H,)

    Returns
    -------
    h : ndarray, shape (B, H)
    c : ndarray, shape (B, H)
    cache : LSTMStepCache
        How it relates to the exercises' ``(x, h_prev, c_prev, i, f, o, g, c, W)``: see
        :class:`LSTMStepCache`.

    See chapter 8, :doc:`/book/08-lstm`.
    """
    x, h_prev, c_prev, W, b = _check_step("lstm_step_forward", x, h_prev, c_prev, W, b)
    H = h_prev.shape[1]
    z = np.concatenate([h_prev, x], axis=1)
    a = z @ W.T + b                                   # pre-activations of all four gates, (B, 4H)
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, c, LSTMStepCache(z, c_prev, np.concatenate([i, f, o, g], axis=1), tanh_c, W)


def lstm_step_backward(dh, dc, cache: LSTMStepCache):
    r"""Backward pass of :func:`lstm_step_forward`.

    The cell gradient gathers both paths into :math:`c_t`,
    :math:`\bar{dc} = dc + dh \odot o \odot (1 - \tanh^2 c_t)`, and then

    .. math::

        d i = \bar{dc} \odot g,\quad d f = \bar{dc} \odot c_{t-1},\quad
        d o = dh \odot \tanh c_t,\quad d g = \bar{dc} \odot i,\quad
        d c_{t-1} = \bar{dc} \odot f

    each gate gradient is multiplied by its activation's derivative
    (:math:`\sigma' = \sigma(1-\sigma)`, :math:`\tanh' = 1 - \tanh^2`) to give :math:`\delta`
    (B, 4H), and :math:`dW = \delta^\top [h_{t-1}; x_t]`, :math:`[dh_{t-1}; dx] = \delta W`.

    Parameters
    ----------
    dh : ndarray, shape (B, H)
    dc : ndarray, shape (B, H)
        Gradient arriving at the new cell state from later steps (zeros at the last step).
    cache : LSTMStepCache

    Returns
    -------
    dx : (B, D)
    dh_prev : (B, H)
    dc_prev : (B, H)
    dW : (4H, H + D)
    db : (4H,)

    See chapter 8, :doc:`/book/08-lstm`.
    """
    dh = check_upstream("lstm_step_backward", "dh", dh, cache.tanh_c.shape, "B H")
    dc = check_upstream("lstm_step_backward", "dc", dc, cache.tanh_c.shape, "B H")
    H = cache.tanh_c.shape[1]
    i, f, o, g, tanh_c = cache.i, cache.f, cache.o, cache.g, cache.tanh_c
    dc_total = dc + dh * o * (1.0 - tanh_c * tanh_c)   # both paths into c_t: from c_{t+1} and from h_t
    di, df, do, dg = dc_total * g, dc_total * cache.c_prev, dh * tanh_c, dc_total * i
    delta = np.concatenate([di * i * (1.0 - i), df * f * (1.0 - f), do * o * (1.0 - o), dg * (1.0 - g * g)],
                           axis=1)                     # gradient of the pre-activations, (B, 4H)
    dz = delta @ cache.W
    return dz[:, H:], dz[:, :H], dc_total * f, delta.T @ cache.z, delta.sum(axis=0)


# ---------------------------------------------------------------------------
# the sequence functions (feature-major inside the time loop)
# ---------------------------------------------------------------------------

def lstm_forward(X, h0, c0, W, b):
    r"""Run an LSTM over a sequence (the step of :func:`lstm_step_forward` for t = 1…T).

    Parameters
    ----------
    X : ndarray, shape (T, B, D)
    h0, c0 : ndarray, shape (B, H)
        Initial hidden and cell state.
    W : ndarray, shape (4H, H + D)
        Gate order i, f, o, g; columns ``[:H]`` act on the state, ``[H:]`` on the input.
    b : ndarray, shape (4H,)

    Returns
    -------
    Hs : ndarray, shape (T, B, H)
    cache : LSTMCache
        ``cache.Cs`` holds the cell states, (T, B, H).

    Notes
    -----
    The loop computes :math:`\sigma(a) = \tfrac12(1 + \tanh(a/2))` with the halving folded into
    copies of the i, f, o rows of ``W`` and ``b`` (exact: a power of two), so one ``tanh`` call
    covers all four gates.

    See chapter 8, :doc:`/book/08-lstm`.
    """
    X, h0, c0, W, b = check_args("lstm_forward", ("X", X, "T B D"), ("h0", h0, "B H"), ("c0", c0, "B H"),
                                 ("W", W, "4H H+D"), ("b", b, "4H"))
    T, B, D = X.shape
    H = h0.shape[1]
    dtype = np.result_type(X, h0, c0, W, b)
    half = np.ones((4 * H, 1), dtype)
    half[:3 * H] = 0.5                                  # rows of the sigmoid gates: a/2 goes into tanh
    Wh = np.ascontiguousarray(W[:, :H] * half)          # (4H, H)
    Wx = W[:, H:] * half                                # (4H, D)
    # Pre-activations of every step from the input alone, before the loop: one GEMM for all steps,
    # then transposed to (T, 4H, B) in the same pass that adds the bias.
    from_input = scratch_arrays.get("lstm_forward.from_input", (T * B, 4 * H), dtype)
    np.matmul(X.reshape(T * B, D), Wx.T, out=from_input)
    # What the cache keeps, in one allocation; each step's (4H, B), (H, B), (H, B) blocks are contiguous.
    kept = np.empty((T, 6 * H, B), dtype)
    gates, Cs_fm, tanh_c = kept[:, :4 * H], kept[:, 4 * H:5 * H], kept[:, 5 * H:]
    np.add(from_input.reshape(T, B, 4 * H).transpose(0, 2, 1), (b * half[:, 0])[:, None], out=gates)
    Hs_fm = scratch_arrays.get("lstm_forward.Hs", (T, H, B), dtype)   # the cache holds a (T, B, H) copy
    recurrent = scratch_arrays.get("lstm_forward.recurrent", (4 * H, B), dtype)
    scratch = scratch_arrays.get("lstm_forward.scratch", (H, B), dtype)
    h, c = np.ascontiguousarray(h0.T), np.ascontiguousarray(c0.T)
    for t in range(T):
        a = gates[t]
        np.matmul(Wh, h, out=recurrent)
        a += recurrent
        np.tanh(a, out=a)                               # tanh(a/2) for i, f, o; tanh(a) for g
        s = a[:3 * H]
        s *= 0.5
        s += 0.5                                        # σ = (1 + tanh(a/2)) / 2
        i, f, o, g = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
        c_new, h = Cs_fm[t], Hs_fm[t]
        np.multiply(f, c, out=c_new)
        np.multiply(i, g, out=scratch)
        c_new += scratch
        np.tanh(c_new, out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=h)
        c = c_new
    Hs = np.ascontiguousarray(Hs_fm.transpose(0, 2, 1))
    return Hs, LSTMCache(X, h0, c0, Hs, Cs_fm.transpose(0, 2, 1), gates.transpose(0, 2, 1),
                         tanh_c.transpose(0, 2, 1), W)


def _local_grads(gates, tanh_c, Cs, c0, H):
    """The factors of the backward recurrence that do not depend on the carried gradients, all steps at once.

    Arguments and results are feature-major: ``gates`` (T, 4H, B), ``tanh_c`` and ``Cs`` (T, H, B),
    ``c0`` (H, B). Returns ``k_c`` (T, H, B), with ``dc_t += dh_t ⊙ k_c``, and ``k`` (T, 4H, B), with
    ``δ = [dc ⊙ k_i, dc ⊙ k_f, dh ⊙ k_o, dc ⊙ k_g]``, in reused work arrays, without temporaries.
    """
    i, g = gates[:, :H], gates[:, 3 * H:]
    k = scratch_arrays.get("lstm_backward.k", gates.shape, gates.dtype)
    sigmoid_slopes = k[:, :3 * H]                      # σ′ = σ(1 − σ) of i, f, o in one pass
    np.subtract(1.0, gates[:, :3 * H], out=sigmoid_slopes)
    sigmoid_slopes *= gates[:, :3 * H]
    k[:, :H] *= g                                       # k_i = g ⊙ σ′(i)
    k[0, H:2 * H] *= c0                                 # k_f = c_{t−1} ⊙ σ′(f)
    k[1:, H:2 * H] *= Cs[:-1]
    k[:, 2 * H:3 * H] *= tanh_c                         # k_o = tanh c_t ⊙ σ′(o)
    k_g = k[:, 3 * H:]                                  # k_g = i ⊙ (1 − g²)
    np.multiply(g, g, out=k_g)
    np.subtract(1.0, k_g, out=k_g)
    k_g *= i
    k_c = np.multiply(tanh_c, tanh_c, out=scratch_arrays.get("lstm_backward.k_c", tanh_c.shape, tanh_c.dtype))
    np.subtract(1.0, k_c, out=k_c)
    k_c *= gates[:, 2 * H:3 * H]
    return k_c, k


def lstm_backward(dHs, cache: LSTMCache, *, input_grad: bool = True):
    r"""Backpropagation through time for :func:`lstm_forward`.

    Two gradients are carried backwards: :math:`\partial L/\partial h_t` (through :math:`W`)
    and :math:`\partial L/\partial c_t`, which reaches :math:`c_{t-1}` multiplied only by the
    forget gate :math:`f_t` — the additive cell path. Each step applies the equations of
    :func:`lstm_step_backward`; the weight gradients are summed over time after the loop, in
    one matrix product (:math:`dW = \sum_t \delta_t [h_{t-1}; x_t]^\top`), and so is ``dX``.

    Parameters
    ----------
    dHs : ndarray, shape (T, B, H)
    cache : LSTMCache
    input_grad : bool, keyword-only
        ``False`` skips the matrix product for ``dX`` and returns ``None`` in its place (a model
        whose inputs are data, not parameters, never needs it).

    Returns
    -------
    dX : (T, B, D), or None
    dh0 : (B, H)
    dc0 : (B, H)
    dW : (4H, H + D)
    db : (4H,)

    See chapter 8, :doc:`/book/08-lstm`.
    """
    X, h0, c0, Hs, Cs, gates, tanh_c, W = cache
    dHs = check_upstream("lstm_backward", "dHs", dHs, Hs.shape, "T B H")
    T, B, D = X.shape
    H = h0.shape[1]
    # Back to the loop's feature-major layout: views of the block lstm_forward wrote, no copies.
    gates, Cs, tanh_c = (a.transpose(0, 2, 1) for a in (gates, Cs, tanh_c))
    dtype = np.result_type(gates, dHs)
    k_c, k = _local_grads(gates, tanh_c, Cs, c0.T, H)
    work = scratch_arrays
    dHs_fm = work.get("lstm_backward.dHs", (T, H, B), dtype)
    dHs_fm[...] = dHs.transpose(0, 2, 1)
    WhT = np.ascontiguousarray(W[:, :H].T)              # (H, 4H)
    dA = work.get("lstm_backward.dA", (T, 4 * H, B), dtype)   # δ of every step
    dh = np.zeros((H, B), dtype)
    dc = np.zeros((H, B), dtype)
    dh_total = work.get("lstm_backward.dh_total", (H, B), dtype)
    scratch = work.get("lstm_backward.scratch", (H, B), dtype)
    for t in range(T - 1, -1, -1):
        da, kt = dA[t], k[t]
        np.add(dHs_fm[t], dh, out=dh_total)
        np.multiply(dh_total, k_c[t], out=scratch)
        dc += scratch                                   # both paths into c_t: from c_{t+1} and from h_t
        np.multiply(dc, kt[:2 * H].reshape(2, H, B), out=da[:2 * H].reshape(2, H, B))   # δi, δf
        np.multiply(dh_total, kt[2 * H:3 * H], out=da[2 * H:3 * H])                       # δo
        np.multiply(dc, kt[3 * H:], out=da[3 * H:])                                         # δg
        dc *= gates[t, H:2 * H]                         # the additive cell path: only f in between
        np.matmul(WhT, da, out=dh)
    # δ of all steps as one (4H, T·B) matrix: the weight gradients and dX are then one GEMM each.
    dA_all = work.get("lstm_backward.dA_all", (4 * H, T, B), dtype)
    dA_all[...] = dA.transpose(1, 0, 2)
    dA_all = dA_all.reshape(4 * H, T * B)
    # dW = Σ_t δ_t [h_{t−1}; x_t]ᵀ, the step's dW summed over time: one GEMM with the stacked inputs.
    Z = work.get("lstm_backward.z", (T, B, H + D), dtype)
    Z[0, :, :H] = h0
    Z[1:, :, :H] = Hs[:-1]
    Z[:, :, H:] = X
    dW = dA_all @ Z.reshape(T * B, H + D)
    dX = (dA_all.T @ W[:, H:]).reshape(T, B, D) if input_grad else None
    db = dA_all.sum(axis=1)
    return dX, np.ascontiguousarray(dh.T), np.ascontiguousarray(dc.T), dW, db
