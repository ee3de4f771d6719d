r"""The LSTM cell (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et al., 2000).

Two implementations of the same equations:

* the **step functions** :func:`lstm_step_forward` / :func:`lstm_step_backward` are the readable
  reference: one line per equation of chapter 8, batch-major ``(B, ·)`` arrays;
* the **sequence functions** :func:`lstm_forward` / :func:`lstm_backward` are the fast path used for
  training. Their arguments and results are the same time-major ``(T, B, ·)`` arrays, but inside
  the time loop they keep every per-step array *feature-major*, ``(4H, B)`` and ``(H, B)``, so that
  each gate block is one contiguous piece of memory and each element-wise operation is a single
  pass; each step's four gates come from one matrix product with :math:`[h_{t-1}; x_t; 1]`.
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

    The time loop works feature-major (see the module docstring) and keeps its arrays as they are:

    * ``steps`` (T + 1, 6H, B): block t is ``[i; f; o; g; c_{t-1}; tanh c_t]`` of step t, six (H, B)
      pieces one under the other (block T holds only :math:`c_T`, in its ``c_{t-1}`` rows);
    * ``Z`` (T + 1, H + D + 1, B): block t is :math:`[h_{t-1}; x_t; 1]`, the vector that ``W`` and
      ``b`` act on at step t (so :math:`dW` and :math:`db` come out of one matrix product; block T
      holds only :math:`h_T`).

    The attributes ``gates`` (T, B, 4H), ``Cs`` (T, B, H) and ``tanh_c`` (T, B, H) read them in the
    time-major layout of the rest of the library: transposed views, no copies.
    """
    X: np.ndarray       #: (T, B, D)
    h0: np.ndarray      #: (B, H)
    c0: np.ndarray      #: (B, H)
    Hs: np.ndarray      #: hidden states, (T, B, H)
    W: np.ndarray       #: (4H, H + D)
    steps: np.ndarray   #: per step [i; f; o; g; c_{t-1}; tanh c_t], (T + 1, 6H, B)
    Z: np.ndarray       #: per step [h_{t-1}; x_t; 1], (T + 1, H + D + 1, B)

    def _rows(self, first: int, last: int, times: slice) -> np.ndarray:
        H = self.h0.shape[1]
        return self.steps[times, first * H:last * H].transpose(0, 2, 1)

    @property
    def gates(self) -> np.ndarray:
        """Activated gates [i, f, o, g] of every step, (T, B, 4H)."""
        return self._rows(0, 4, slice(0, -1))

    @property
    def Cs(self) -> np.ndarray:
        """Cell states :math:`c_1 \\dots c_T`, (T, B, H)."""
        return self._rows(4, 5, slice(1, None))

    @property
    def tanh_c(self) -> np.ndarray:
        """tanh of the cell states, (T, B, H)."""
        return self._rows(5, 6, slice(0, -1))


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
    Each step is one matrix product, :math:`[W \;\, b]\,[h_{t-1}; x_t; 1]`, written straight into
    the step's gate rows; one ``tanh`` then covers all four gates, because the loop computes
    :math:`\sigma(a) = \tfrac12(1 + \tanh(a/2))` with the halving folded into a copy of the i, f, o
    rows of ``W`` and ``b`` (exact: a power of two). The cell update
    :math:`c_t = i \odot g + f \odot c_{t-1}` is one product of the pair (i, f) with the pair
    (g, :math:`c_{t-1}`), which lie the same distance apart in the step's block, and one sum.

    See chapter 8, :doc:`/book/08-lstm`.
    """
    X, h0, c0, W, b = check_args("lstm_forward", ("X", X, "T B D"), ("h0", h0, "B H"), ("c0", c0, "B H"),
                                 ("W", W, "4H H+D"), ("b", b, "4H"))
    T, B, D = X.shape
    H = h0.shape[1]
    dtype = np.result_type(X, h0, c0, W, b)
    half = np.ones((4 * H, 1), dtype)
    half[:3 * H] = 0.5                                  # rows of the sigmoid gates: a/2 goes into tanh
    W1 = np.empty((4 * H, H + D + 1), dtype)            # [W b], the sigmoid rows halved
    np.multiply(W, half, out=W1[:, :H + D])
    np.multiply(b, half[:, 0], out=W1[:, H + D])
    Z = np.empty((T + 1, H + D + 1, B), dtype)          # block t: [h_{t-1}; x_t; 1]
    Z[0, :H] = h0.T
    Z[:T, H:H + D] = X.transpose(0, 2, 1)
    Z[:T, H + D] = 1.0
    Z[T, H:] = 0.0                                      # no x_{T+1}: block T only holds h_T
    steps = np.empty((T + 1, 6 * H, B), dtype)          # block t: [i; f; o; g; c_{t-1}; tanh c_t]
    steps[0, 4 * H:5 * H] = c0.T
    steps[T, :4 * H] = 0.0                              # block T holds only c_T
    steps[T, 5 * H:] = 0.0
    products = scratch_arrays.get("lstm_forward.products", (2, H, B), dtype)
    for t in range(T):
        block = steps[t]
        a = block[:4 * H]
        np.matmul(W1, Z[t], out=a)                      # pre-activations of the four gates, (4H, B)
        np.tanh(a, out=a)                               # tanh(a/2) for i, f, o; tanh(a) for g
        sig = a[:3 * H]
        sig *= 0.5
        sig += 0.5                                      # σ = (1 + tanh(a/2)) / 2
        # (i, f) ⊙ (g, c_{t-1}): the pairs lie 3H rows apart in the block
        np.multiply(block[:2 * H].reshape(2, H, B), block[3 * H:5 * H].reshape(2, H, B), out=products)
        c = steps[t + 1, 4 * H:5 * H]
        np.add(products[0], products[1], out=c)         # c_t = i ⊙ g + f ⊙ c_{t-1}
        tanh_c = block[5 * H:]
        np.tanh(c, out=tanh_c)
        np.multiply(a[2 * H:3 * H], tanh_c, out=Z[t + 1, :H])   # h_t = o ⊙ tanh c_t, the next step's input
    Hs = np.ascontiguousarray(Z[1:, :H].transpose(0, 2, 1))
    return Hs, LSTMCache(X, h0, c0, Hs, W, steps, Z)


#: The local factors of the backward recurrence are computed this many bytes of steps at a time, just
#: before the loop needs them, so that the loop reads them from cache (measured: 2-7% faster than one
#: pass over all steps at the course shapes, ``tools/bench_against_checkout.py``).
_LOCAL_CHUNK_BYTES = 1 << 18


def _local_grads(blocks: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The factors of the backward recurrence that do not depend on the carried gradients.

    ``blocks`` (n, 6, H, B) are steps' blocks of :attr:`LSTMCache.steps` (i, f, o, g, c_{t-1}, tanh c_t);
    fills ``out`` (n, 5, H, B) with ``[k_i, k_f, k_o, k_g, k_c]``, where ``dc_t += dh_t ⊙ k_c`` and
    ``δ = [dc ⊙ k_i, dc ⊙ k_f, dh ⊙ k_o, dc ⊙ k_g]``, without temporaries, and returns it.
    """
    sig, rest = out[:, :3], out[:, 3:]
    np.subtract(1.0, blocks[:, :3], out=sig)
    sig *= blocks[:, :3]                                # σ′ = σ(1 − σ) of i, f, o
    sig *= blocks[:, 3:]                                # k_i = σ′(i) g, k_f = σ′(f) c_{t-1}, k_o = σ′(o) tanh c_t
    np.square(blocks[:, 3::2], out=rest)                # g², tanh² c_t
    np.subtract(1.0, rest, out=rest)
    rest *= blocks[:, 0:3:2]                            # k_g = i (1 − g²), k_c = o (1 − tanh² c_t)
    return out


#: Below this batch size the per-step blocks are gathered in batch-major memory order, at or above it
#: in feature-major order. numpy's strided copy pays per contiguous run: a feature-major copy runs over
#: B elements at a time, a batch-major one over G. Measured with one-off timings of the two copies:
#: at B = 16 the batch-major copy is 3x faster, at B = 32 and 64 the feature-major one 1.4-2.7x.
_NARROW_BATCH = 32


def _time_batch_matrix(role: str, blocks: np.ndarray) -> np.ndarray:
    """The (T, G, B) per-step blocks as one (G, T·B) matrix over the T·B columns, in a reused work array.

    Stored in the memory order that copies faster (see ``_NARROW_BATCH``); for a narrow batch the result
    is the transposed view of a C-ordered (T·B, G) array, which the matrix products read as it is.
    """
    T, G, B = blocks.shape
    if B < _NARROW_BATCH:
        out = scratch_arrays.get(f"lstm_backward.{role}_bm", (T, B, G), blocks.dtype)
        out[...] = blocks.transpose(0, 2, 1)
        return out.reshape(T * B, G).T
    out = scratch_arrays.get(f"lstm_backward.{role}_fm", (G, T, B), blocks.dtype)
    out[...] = blocks.transpose(1, 0, 2)
    return out.reshape(G, T * B)


def lstm_backward(dHs, cache: LSTMCache, *, input_grad: bool = True):
    r"""Backpropagation through time for :func:`lstm_forward`.

    Two gradients are carried backwards: :math:`\partial L/\partial h_t` (through :math:`W`)
    and :math:`\partial L/\partial c_t`, which reaches :math:`c_{t-1}` multiplied only by the
    forget gate :math:`f_t` — the additive cell path. Each step applies the equations of
    :func:`lstm_step_backward`; the weight gradients are summed over time after the loop, in
    one matrix product (:math:`[dW \;\, db] = \sum_t \delta_t [h_{t-1}; x_t; 1]^\top`), and so is ``dX``.

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
    X, h0, c0, Hs, W, steps, Z = cache
    dHs = check_upstream("lstm_backward", "dHs", dHs, Hs.shape, "T B H")
    T, B, D = X.shape
    H = h0.shape[1]
    dtype = np.result_type(steps, dHs)
    work = scratch_arrays
    dHs_fm = work.get("lstm_backward.dHs", (T, H, B), dtype)
    dHs_fm[...] = dHs.transpose(0, 2, 1)
    WhT = np.ascontiguousarray(W[:, :H].T)              # (H, 4H)
    dA = work.get("lstm_backward.dA", (T, 4, H, B), dtype)   # δ of every step, gate by gate
    dh = np.zeros((H, B), dtype)
    dc = np.zeros((H, B), dtype)
    dh_total = work.get("lstm_backward.dh_total", (H, B), dtype)
    scratch = work.get("lstm_backward.scratch", (H, B), dtype)
    blocks = steps.reshape(T + 1, 6, H, B)
    chunk = max(1, min(T, _LOCAL_CHUNK_BYTES // (6 * H * B * steps.itemsize)))
    k_chunk = work.get("lstm_backward.k", (chunk, 5, H, B), steps.dtype)
    for t in range(T - 1, -1, -1):
        if (T - 1 - t) % chunk == 0:                    # the next chunk of steps, t down to `first`
            first = max(0, t + 1 - chunk)
            k = _local_grads(blocks[first:t + 1], k_chunk[:t + 1 - first])
        da, kt = dA[t], k[t - first]
        np.add(dHs_fm[t], dh, out=dh_total)
        np.multiply(dh_total, kt[4], out=scratch)
        dc += scratch                                   # both paths into c_t: from c_{t+1} and from h_t
        np.multiply(dc, kt[:2], out=da[:2])             # δi, δf
        np.multiply(dh_total, kt[2], out=da[2])         # δo
        np.multiply(dc, kt[3], out=da[3])               # δg
        dc *= steps[t, H:2 * H]                         # the additive cell path: only f in between
        np.matmul(WhT, da.reshape(4 * H, B), out=dh)
    # δ and Z of all steps as matrices over the T·B columns: the weight gradients and dX are then
    # one GEMM each. [dW db] = Σ_t δ_t Z_tᵀ, since Z's last row is the constant 1 that b acts on.
    dA_all, Z_all = _time_batch_matrix("dA", dA.reshape(T, 4 * H, B)), _time_batch_matrix("Z", Z[:T])
    dWb = dA_all @ Z_all.T                              # (4H, T·B) (T·B, H + D + 1)
    dX = (dA_all.T @ W[:, H:]).reshape(T, B, D) if input_grad else None
    return (dX, np.ascontiguousarray(dh.T), np.ascontiguousarray(dc.T), np.ascontiguousarray(dWb[:, :H + D]),
            dWb[:, H + D].copy())
