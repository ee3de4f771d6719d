r"""Forward/backward pairs for recurrent layers.

Every layer comes as a pair of pure functions::

    out, cache = <layer>_forward(...)
    grads      = <layer>_backward(dout, cache)

where ``cache`` is a :class:`typing.NamedTuple` holding exactly what the
backward pass needs. The sequence versions run the same step equations as the
step versions (``tests/test_layers.py`` checks they agree); they only hoist the
input projection ``X Wxᵀ`` out of the time loop into one large matrix product,
because that product does not depend on the previous state.

Dimension legend (used in every docstring of the package)::

    T  time steps        B  batch size       D  input size
    H  hidden size       K  output size (classes)

Sequences are time-major, ``(T, B, D)``; weights are stored as ``(out, in)``,
so a batch of row vectors is transformed as ``x @ W.T``. Both float32 and
float64 work; grad checks use float64.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import check_array, check_labels

__all__ = [
    "sigmoid", "softmax",
    "RNNStepCache", "RNNCache", "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "LSTMStepCache", "LSTMCache", "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
    "GRUStepCache", "GRUCache", "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward",
    "AffineCache", "affine_forward", "affine_backward", "softmax_cross_entropy",
]


# ---------------------------------------------------------------------------
# elementwise helpers
# ---------------------------------------------------------------------------

def sigmoid(a: np.ndarray) -> np.ndarray:
    r"""Logistic function :math:`\sigma(a) = 1 / (1 + e^{-a})`, computed without overflow.

    Uses :math:`\sigma(a) = \tfrac12 (1 + \tanh(a/2))`, which never calls ``exp`` on a
    large argument, so it emits no overflow warning for any finite ``a``.
    """
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def softmax(O: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""Softmax along ``axis``: :math:`\hat y_k = e^{o_k} / \sum_j e^{o_j}` (max-shifted for stability)."""
    O = np.asarray(O)
    shifted = O - O.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def _check_grad(func: str, name: str, d, shape: tuple[int, ...], dims: str) -> np.ndarray:
    """Upstream gradients must have the shape of the forward output they belong to."""
    sizes = dict(zip(dims.split(), shape))
    return check_array(func, name, d, dims, sizes)


# ---------------------------------------------------------------------------
# vanilla (Elman) RNN
# ---------------------------------------------------------------------------

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


def _check_rnn_params(func, x_name, x, x_dims, h0, Wx, Ws, b):
    sizes: dict[str, int] = {}
    x = check_array(func, x_name, x, x_dims, sizes)
    Wx = check_array(func, "Wx", Wx, "H D", sizes)
    h0 = check_array(func, "h_prev" if x_dims == "B D" else "h0", h0, "B H", sizes)
    Ws = check_array(func, "Ws", Ws, "H H", sizes)
    b = check_array(func, "b", b, "H", sizes)
    return x, h0, Wx, Ws, b


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
    x, h_prev, Wx, Ws, b = _check_rnn_params("rnn_step_forward", "x", x, "B D", h_prev, Wx, Ws, b)
    h = np.tanh(x @ Wx.T + h_prev @ Ws.T + b)
    return h, RNNStepCache(x, h_prev, h, Wx, Ws)


def _affine_step_grads(da, cache):
    """The gradients of one step's pre-activation ``a = x Wx^T + h_prev Ws^T + b`` given ``da = dL/da``:
    ``(dx, dh_prev, dWx, dWs, db)``; the tanh and ReLU steps differ only in how they get ``da``."""
    return da @ cache.Wx, da @ cache.Ws, da.T @ cache.x, da.T @ cache.h_prev, da.sum(axis=0)


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
    dh = _check_grad("rnn_step_backward", "dh", dh, cache.h.shape, "B H")
    return _affine_step_grads(dh * (1.0 - cache.h * cache.h), cache)


def rnn_forward(X, h0, Wx, Ws, b):
    r"""Run a vanilla tanh RNN over a whole sequence.

    For :math:`t = 1, \dots, T`: :math:`h^{(t)} = \tanh(b + W_s h^{(t-1)} + W_x x^{(t)})`,
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
    cache : RNNCache

    See chapter 2, :doc:`/book/02-unfolding`, and chapter 4, :doc:`/book/04-forward-and-loss`.
    """
    X, h0, Wx, Ws, b = _check_rnn_params("rnn_forward", "X", X, "T B D", h0, Wx, Ws, b)
    T, B, D = X.shape
    H = Wx.shape[0]
    # The input projection does not depend on the state: one big GEMM for all steps.
    Hs = (X.reshape(T * B, D) @ Wx.T).reshape(T, B, H)
    WsT = np.ascontiguousarray(Ws.T)   # a contiguous copy: faster GEMMs in the loop
    recurrent = np.empty((B, H), Hs.dtype)
    h = h0
    for t in range(T):
        a = Hs[t]
        np.matmul(h, WsT, out=recurrent)
        recurrent += b                  # on the small, cache-hot buffer: no extra pass over Hs
        a += recurrent
        np.tanh(a, out=a)
        h = a
    return Hs, RNNCache(X, h0, Hs, Wx, Ws)


def rnn_backward(dHs, cache: RNNCache):
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

    Returns
    -------
    dX : (T, B, D)
    dh0 : (B, H)
    dWx : (H, D)
    dWs : (H, H)
    db : (H,)

    See chapter 5, :doc:`/book/05-bptt`.
    """
    X, h0, Hs, Wx, Ws = cache
    dHs = _check_grad("rnn_backward", "dHs", dHs, Hs.shape, "T B H")
    T, B, D = X.shape
    H = Hs.shape[2]
    dtype = np.result_type(Hs, dHs)
    dA = np.empty((T, B, H), dtype)     # δ for every step, kept for the parameter GEMMs below
    dh = np.zeros((B, H), dtype)
    tanh_grad = np.empty((B, H), dtype)
    for t in range(T - 1, -1, -1):
        delta = dA[t]
        np.add(dHs[t], dh, out=delta)   # the loss's own term plus what flows back from t+1
        np.multiply(Hs[t], Hs[t], out=tanh_grad)
        np.subtract(1.0, tanh_grad, out=tanh_grad)
        delta *= tanh_grad
        np.matmul(delta, Ws, out=dh)
    dA2 = dA.reshape(T * B, H)
    dWs = dA[0].T @ h0
    if T > 1:
        dWs += dA2[B:].T @ Hs[:-1].reshape((T - 1) * B, H)
    dWx = dA2.T @ X.reshape(T * B, D)
    dX = (dA2 @ Wx).reshape(T, B, D)
    db = dA2.sum(axis=0)
    return dX, dh, dWx, dWs, db


# ---------------------------------------------------------------------------
# LSTM
# ---------------------------------------------------------------------------

class LSTMStepCache(NamedTuple):
    """What :func:`lstm_step_backward` needs from :func:`lstm_step_forward`."""
    z: np.ndarray       #: concatenation [h_prev, x], (B, H + D)
    c_prev: np.ndarray  #: previous cell state, (B, H)
    gates: np.ndarray   #: activated gates [i, f, o, g], (B, 4H)
    tanh_c: np.ndarray  #: tanh of the new cell state, (B, H)
    W: np.ndarray       #: (4H, H + D)


class LSTMCache(NamedTuple):
    """What :func:`lstm_backward` needs from :func:`lstm_forward`."""
    X: np.ndarray       #: (T, B, D)
    h0: np.ndarray      #: (B, H)
    c0: np.ndarray      #: (B, H)
    Hs: np.ndarray      #: hidden states, (T, B, H)
    Cs: np.ndarray      #: cell states, (T, B, H)
    gates: np.ndarray   #: activated gates [i, f, o, g] per step, (T, B, 4H)
    tanh_c: np.ndarray  #: tanh(Cs), (T, B, H)
    W: np.ndarray       #: (4H, H + D)


def _check_lstm_params(func, x_name, x, x_dims, h0, c0, W, b):
    sizes: dict[str, int] = {}
    x = check_array(func, x_name, x, x_dims, sizes)
    step = x_dims == "B D"
    h0 = check_array(func, "h_prev" if step else "h0", h0, "B H", sizes)
    c0 = check_array(func, "c_prev" if step else "c0", c0, "B H", sizes)
    W = check_array(func, "W", W, "4H H+D", sizes)
    b = check_array(func, "b", b, "4H", sizes)
    return x, h0, c0, W, b


def _lstm_cell(a: np.ndarray, c_prev: np.ndarray, H: int, c: np.ndarray, tanh_c: np.ndarray,
               h: np.ndarray, scratch: np.ndarray) -> None:
    """One LSTM update from the pre-activation ``a`` (B, 4H), in place.

    ``a`` is overwritten by the activated gates [i, f, o, g]; the new cell state,
    its tanh and the new hidden state are written into ``c``, ``tanh_c`` and ``h``
    (each (B, H)); ``scratch`` is a (B, H) work buffer. Writing into preallocated
    buffers keeps the time loop free of large temporaries.
    """
    s = a[:, :3 * H]                 # sigmoid(a) = (1 + tanh(a/2)) / 2, overflow-free
    s *= 0.5
    np.tanh(s, out=s)
    s += 1.0
    s *= 0.5
    np.tanh(a[:, 3 * H:], out=a[:, 3 * H:])
    i, f, o, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
    np.multiply(f, c_prev, out=c)
    np.multiply(i, g, out=scratch)
    c += scratch
    np.tanh(c, out=tanh_c)
    np.multiply(o, tanh_c, out=h)


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

    See chapter 8, :doc:`/book/08-lstm`.
    """
    x, h_prev, c_prev, W, b = _check_lstm_params("lstm_step_forward", "x", x, "B D", h_prev, c_prev, W, b)
    B, H = h_prev.shape
    z = np.concatenate([h_prev, x], axis=1)
    gates = z @ W.T + b
    c, tanh_c, h, scratch = (np.empty((B, H), gates.dtype) for _ in range(4))
    _lstm_cell(gates, c_prev, H, c, tanh_c, h, scratch)
    return h, c, LSTMStepCache(z, c_prev, gates, tanh_c, W)


class _LSTMLocalGrads(NamedTuple):
    """Local derivatives of one or more LSTM steps, each (..., H), computed before the time loop.

    With ``dh`` the gradient at h_t and ``dc`` the total gradient at c_t:
    δi = dc·k_i, δf = dc·k_f, δo = dh·k_o, δg = dc·k_g (gradients of the gate
    pre-activations), and h_t passes dh·k_c on to c_t.
    """
    k_c: np.ndarray   #: o ⊙ (1 − tanh² c_t)
    k_i: np.ndarray   #: g ⊙ σ′  (σ′ = i(1 − i))
    k_f: np.ndarray   #: c_{t−1} ⊙ f(1 − f)
    k_o: np.ndarray   #: tanh c_t ⊙ o(1 − o)
    k_g: np.ndarray   #: i ⊙ (1 − g²)


def _lstm_local_grads(gates, tanh_c, c_prev, H) -> _LSTMLocalGrads:
    i, f, o, g = (gates[..., k * H:(k + 1) * H] for k in range(4))
    return _LSTMLocalGrads(o * (1.0 - tanh_c * tanh_c), g * i * (1.0 - i), c_prev * f * (1.0 - f),
                           tanh_c * o * (1.0 - o), i * (1.0 - g * g))


def _lstm_step_back(dh, dc, k: _LSTMLocalGrads, f, da, H, scratch) -> None:
    """One step of the LSTM backward recurrence, in place.

    ``dc`` enters as the gradient carried from step t+1 and leaves as the gradient
    carried to step t−1; ``da`` (B, 4H) receives the gate pre-activation gradients.
    """
    np.multiply(dh, k.k_c, out=scratch)
    dc += scratch                      # both paths into c_t: from c_{t+1} and from h_t
    np.multiply(dc, k.k_i, out=da[:, :H])
    np.multiply(dc, k.k_f, out=da[:, H:2 * H])
    np.multiply(dh, k.k_o, out=da[:, 2 * H:3 * H])
    np.multiply(dc, k.k_g, out=da[:, 3 * H:])
    dc *= f                            # the additive cell path: only the forget gate in between


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
    z, c_prev, gates, tanh_c, W = cache
    dh = _check_grad("lstm_step_backward", "dh", dh, tanh_c.shape, "B H")
    dc = _check_grad("lstm_step_backward", "dc", dc, tanh_c.shape, "B H")
    B, H = tanh_c.shape
    dtype = np.result_type(gates, dh, dc)
    da = np.empty((B, 4 * H), dtype)
    dc_prev = np.array(dc, dtype=dtype)          # a copy: updated in place below
    local = _lstm_local_grads(gates, tanh_c, c_prev, H)
    _lstm_step_back(dh, dc_prev, local, gates[:, H:2 * H], da, H, np.empty((B, H), dtype))
    dz = da @ W
    return dz[:, H:], dz[:, :H], dc_prev, da.T @ z, da.sum(axis=0)


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

    See chapter 8, :doc:`/book/08-lstm`.
    """
    X, h0, c0, W, b = _check_lstm_params("lstm_forward", "X", X, "T B D", h0, c0, W, b)
    T, B, D = X.shape
    H = h0.shape[1]
    Wh_T = np.ascontiguousarray(W[:, :H].T)   # (H, 4H), contiguous for the GEMM in the loop
    gates = (X.reshape(T * B, D) @ W[:, H:].T).reshape(T, B, 4 * H)
    gates += b
    dtype = gates.dtype
    Hs, Cs, tanh_c = (np.empty((T, B, H), dtype) for _ in range(3))
    recurrent = np.empty((B, 4 * H), dtype)
    scratch = np.empty((B, H), dtype)
    h, c = h0, c0
    for t in range(T):
        a = gates[t]
        np.matmul(h, Wh_T, out=recurrent)
        a += recurrent
        _lstm_cell(a, c, H, Cs[t], tanh_c[t], Hs[t], scratch)
        h, c = Hs[t], Cs[t]
    return Hs, LSTMCache(X, h0, c0, Hs, Cs, gates, tanh_c, W)


def lstm_backward(dHs, cache: LSTMCache):
    r"""Backpropagation through time for :func:`lstm_forward`.

    Two gradients are carried backwards: :math:`\partial L/\partial h_t` (through :math:`W`)
    and :math:`\partial L/\partial c_t`, which reaches :math:`c_{t-1}` multiplied only by the
    forget gate :math:`f_t` — the additive cell path.

    Parameters
    ----------
    dHs : ndarray, shape (T, B, H)
    cache : LSTMCache

    Returns
    -------
    dX : (T, B, D)
    dh0 : (B, H)
    dc0 : (B, H)
    dW : (4H, H + D)
    db : (4H,)

    See chapter 8, :doc:`/book/08-lstm`.
    """
    X, h0, c0, Hs, Cs, gates, tanh_c, W = cache
    dHs = _check_grad("lstm_backward", "dHs", dHs, Hs.shape, "T B H")
    T, B, D = X.shape
    H = h0.shape[1]
    Wh = np.ascontiguousarray(W[:, :H])
    dtype = np.result_type(gates, dHs)
    C_prev = np.concatenate([c0[None], Cs[:-1]])
    # Everything that does not depend on the carried gradients, for all steps at once.
    local = _lstm_local_grads(gates, tanh_c, C_prev, H)
    dA = np.empty((T, B, 4 * H), dtype)
    dh = np.zeros((B, H), dtype)
    dc = np.zeros((B, H), dtype)
    dh_total = np.empty((B, H), dtype)
    scratch = np.empty((B, H), dtype)
    for t in range(T - 1, -1, -1):
        np.add(dHs[t], dh, out=dh_total)
        _lstm_step_back(dh_total, dc, _LSTMLocalGrads(*(k[t] for k in local)), gates[t, :, H:2 * H],
                        dA[t], H, scratch)
        np.matmul(dA[t], Wh, out=dh)
    dA2 = dA.reshape(T * B, 4 * H)
    dW = np.empty(W.shape, dA.dtype)
    dW[:, :H] = dA[0].T @ h0
    if T > 1:
        dW[:, :H] += dA2[B:].T @ Hs[:-1].reshape((T - 1) * B, H)
    dW[:, H:] = dA2.T @ X.reshape(T * B, D)
    dX = (dA2 @ W[:, H:]).reshape(T, B, D)
    return dX, dh, dc, dW, dA2.sum(axis=0)


# ---------------------------------------------------------------------------
# GRU (beyond the LSTM chapter; PyTorch's convention)
# ---------------------------------------------------------------------------

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


def _check_gru_params(func, x_name, x, x_dims, h0, Wx, Wh, bx, bh):
    sizes: dict[str, int] = {}
    x = check_array(func, x_name, x, x_dims, sizes)
    h0 = check_array(func, "h_prev" if x_dims == "B D" else "h0", h0, "B H", sizes)
    Wx = check_array(func, "Wx", Wx, "3H D", sizes)
    Wh = check_array(func, "Wh", Wh, "3H H", sizes)
    bx = check_array(func, "bx", bx, "3H", sizes)
    bh = check_array(func, "bh", bh, "3H", sizes)
    return x, h0, Wx, Wh, bx, bh


def _gru_cell(ax: np.ndarray, h_prev: np.ndarray, Wh: np.ndarray, bh: np.ndarray, H: int):
    """GRU update from the input pre-activation ``ax`` (B, 3H); ``ax`` is overwritten by the gates."""
    ah = h_prev @ Wh.T + bh
    ax[:, :2 * H] = sigmoid(ax[:, :2 * H] + ah[:, :2 * H])
    hn = ah[:, 2 * H:]
    r, zg = ax[:, :H], ax[:, H:2 * H]
    ax[:, 2 * H:] = np.tanh(ax[:, 2 * H:] + r * hn)
    n = ax[:, 2 * H:]
    return ax, hn, (1.0 - zg) * n + zg * h_prev


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
    x, h_prev, Wx, Wh, bx, bh = _check_gru_params("gru_step_forward", "x", x, "B D", h_prev, Wx, Wh, bx, bh)
    H = h_prev.shape[1]
    gates, hn, h = _gru_cell(x @ Wx.T + bx, h_prev, Wh, bh, H)
    return h, GRUStepCache(x, h_prev, gates, hn, Wx, Wh)


def _gru_pre_grads(dh, h_prev, gates, hn, H):
    """Gradients w.r.t. the input-side and state-side pre-activations, and the direct dh_prev term."""
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
    dh = _check_grad("gru_step_backward", "dh", dh, h_prev.shape, "B H")
    H = h_prev.shape[1]
    dax, dah, dh_prev = _gru_pre_grads(dh, h_prev, gates, hn, H)
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
    X, h0, Wx, Wh, bx, bh = _check_gru_params("gru_forward", "X", X, "T B D", h0, Wx, Wh, bx, bh)
    T, B, D = X.shape
    H = h0.shape[1]
    gates = (X.reshape(T * B, D) @ Wx.T).reshape(T, B, 3 * H)
    gates += bx
    Hs = np.empty((T, B, H), gates.dtype)
    hn = np.empty((T, B, H), gates.dtype)
    h = h0
    for t in range(T):
        _, hn[t], Hs[t] = _gru_cell(gates[t], h, Wh, bh, H)
        h = Hs[t]
    return Hs, GRUCache(X, h0, Hs, gates, hn, Wx, Wh)


def gru_backward(dHs, cache: GRUCache):
    r"""Backpropagation through time for :func:`gru_forward`.

    Returns
    -------
    dX : (T, B, D)
    dh0 : (B, H)
    dWx : (3H, D)
    dWh : (3H, H)
    dbx, dbh : (3H,)

    See chapter 8, :doc:`/book/08-lstm`.
    """
    X, h0, Hs, gates, hn, Wx, Wh = cache
    dHs = _check_grad("gru_backward", "dHs", dHs, Hs.shape, "T B H")
    T, B, D = X.shape
    H = h0.shape[1]
    dtype = np.result_type(gates, dHs)
    dAx = np.empty((T, B, 3 * H), dtype)
    dAh = np.empty((T, B, 3 * H), dtype)
    dh = np.zeros((B, H), dtype)
    for t in range(T - 1, -1, -1):
        h_prev = Hs[t - 1] if t > 0 else h0
        dAx[t], dAh[t], direct = _gru_pre_grads(dHs[t] + dh, h_prev, gates[t], hn[t], H)
        dh = direct + dAh[t] @ Wh
    dAx2 = dAx.reshape(T * B, 3 * H)
    dAh2 = dAh.reshape(T * B, 3 * H)
    dWh = dAh[0].T @ h0
    if T > 1:
        dWh += dAh2[B:].T @ Hs[:-1].reshape((T - 1) * B, H)
    dX = (dAx2 @ Wx).reshape(T, B, D)
    return dX, dh, dAx2.T @ X.reshape(T * B, D), dWh, dAx2.sum(axis=0), dAh2.sum(axis=0)


# ---------------------------------------------------------------------------
# output layer and loss
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
    dO = _check_grad("affine_backward", "dO", dO, Hs.shape[:-1] + (K,), dims)
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


# ---------------------------------------------------------------------------
# ReLU RNN (the IRNN of Le et al., 2015, when Ws starts as the identity)
# ---------------------------------------------------------------------------

class ReLURNNStepCache(NamedTuple):
    """What :func:`relu_rnn_step_backward` needs from :func:`relu_rnn_step_forward`."""
    x: np.ndarray       #: input, (B, D)
    h_prev: np.ndarray  #: previous state, (B, H)
    h: np.ndarray       #: new state, (B, H); its positive entries mark the active units
    Wx: np.ndarray      #: input-to-state weights, (H, D)
    Ws: np.ndarray      #: state-to-state weights, (H, H)


class ReLURNNCache(NamedTuple):
    """What :func:`relu_rnn_backward` needs from :func:`relu_rnn_forward`."""
    X: np.ndarray   #: inputs, (T, B, D)
    h0: np.ndarray  #: initial state, (B, H)
    Hs: np.ndarray  #: states h⁽¹⁾…h⁽ᵀ⁾, (T, B, H)
    Wx: np.ndarray  #: (H, D)
    Ws: np.ndarray  #: (H, H)


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
    x, h_prev, Wx, Ws, b = _check_rnn_params("relu_rnn_step_forward", "x", x, "B D", h_prev, Wx, Ws, b)
    h = np.maximum(x @ Wx.T + h_prev @ Ws.T + b, 0.0)
    return h, ReLURNNStepCache(x, h_prev, h, Wx, Ws)


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
    dh = _check_grad("relu_rnn_step_backward", "dh", dh, cache.h.shape, "B H")
    return _affine_step_grads(dh * (cache.h > 0), cache)


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
    X, h0, Wx, Ws, b = _check_rnn_params("relu_rnn_forward", "X", X, "T B D", h0, Wx, Ws, b)
    T, B, D = X.shape
    H = Wx.shape[0]
    Hs = (X.reshape(T * B, D) @ Wx.T).reshape(T, B, H)   # input projection for all steps at once
    Hs += b
    WsT = np.ascontiguousarray(Ws.T)
    h = h0
    for t in range(T):
        a = Hs[t]
        a += h @ WsT
        np.maximum(a, 0.0, out=a)
        h = a
    return Hs, ReLURNNCache(X, h0, Hs, Wx, Ws)


def relu_rnn_backward(dHs, cache: ReLURNNCache):
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

    Returns
    -------
    dX : (T, B, D)
    dh0 : (B, H)
    dWx : (H, D)
    dWs : (H, H)
    db : (H,)

    See chapter 6, :doc:`/book/06-vanishing-exploding`.
    """
    X, h0, Hs, Wx, Ws = cache
    dHs = _check_grad("relu_rnn_backward", "dHs", dHs, Hs.shape, "T B H")
    T, B, D = X.shape
    H = Hs.shape[2]
    dtype = np.result_type(Hs, dHs)
    active = Hs > 0
    dA = np.empty((T, B, H), dtype)
    dh = np.zeros((B, H), dtype)
    for t in range(T - 1, -1, -1):
        np.add(dHs[t], dh, out=dA[t])
        dA[t] *= active[t]
        dh = dA[t] @ Ws
    dA2 = dA.reshape(T * B, H)
    dWs = dA[0].T @ h0
    if T > 1:
        dWs += dA2[B:].T @ Hs[:-1].reshape((T - 1) * B, H)
    dWx = dA2.T @ X.reshape(T * B, D)
    dX = (dA2 @ Wx).reshape(T, B, D)
    return dX, dh, dWx, dWs, dA2.sum(axis=0)


__all__ += ["ReLURNNStepCache", "ReLURNNCache", "relu_rnn_step_forward", "relu_rnn_step_backward",
            "relu_rnn_forward", "relu_rnn_backward"]
