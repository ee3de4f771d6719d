r"""Several seeds of one recurrent model, trained together as one batched computation.

"How often does this configuration learn the task?" is answered by training it with many random
seeds (chapter 6 reports the rate with a Wilson interval, :mod:`rnnkit.stats`). Trained one after
the other, ten seeds cost ten times the Python overhead of a loop over time steps. Here the random
seeds get their own axis instead: :class:`MultiSeedRNN` holds ``S`` independent
:class:`~rnnkit.models.HiddenToHiddenRNN` models with their parameters stacked along a leading
seed axis, runs them with one ``numpy.matmul`` per time step (a stack of ``S`` small
products, one per seed), and :func:`~rnnkit.multiseed_training.train_until_solved` trains them with Adam and per-seed
gradient clipping (:mod:`rnnkit.multiseed_training`), taking each seed out of the computation at its first perfect evaluation.

Seeds never mix: seed ``s`` of the stack computes what the single model ``s`` computes on the
same data, up to floating-point rounding (the sums run in a different order). The tests check
this against the single-model code path (``HiddenToHiddenRNN.loss_and_grads``,
:func:`~rnnkit.tbptt.tbptt_loss_and_grads`, :func:`~rnnkit.optim.clip_by_global_norm`,
:class:`~rnnkit.optim.Adam`).

Dimension legend: T time, S seeds, B batch, D input, H hidden, K output. Sequences are time-major
with the seed axis second, ``(T, S, B, D)``; parameters carry the seed axis first, e.g. ``Ws``
``(S, H, H)``, ``b`` ``(S, H)``. The cells and parameter names are those of
:class:`~rnnkit.models.HiddenToHiddenRNN`: ``"rnn"`` and ``"relu"`` (Wx, Ws, b), ``"lstm"``
(W, b; gate blocks i, f, o, g) and ``"gru"`` (Wx, Wh, bx, bh; blocks r, z, n), plus Wy and c.

See chapter 6, :doc:`/book/06-vanishing-exploding` ("The remedies on the copy task"), and
chapter 8, :doc:`/book/08-lstm`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ._cells import CELL_TABLE as _CELLS, CELLS
from ._validate import check_array, check_labels
from .models import HiddenToHiddenRNN

__all__ = ["MultiSeedRNN"]


# ---------------------------------------------------------------------------
# helpers: products with a seed axis
# ---------------------------------------------------------------------------
# Inside this module the big arrays are seed-major, (S, T, B, F): each seed's steps form one
# contiguous block, so the products over all steps are one GEMM per seed on a free reshape, and
# the sums over time and batch run over contiguous memory. The public arguments stay time-major.
def _flat(A: np.ndarray) -> np.ndarray:
    """(S, T, B, F) -> (S, T·B, F), a view when A's last three axes are contiguous."""
    S, T, B, F = A.shape
    return A.reshape(S, T * B, F)


def _transposed(W: np.ndarray) -> np.ndarray:
    """W (S, F, G) -> a contiguous (S, G, F): numpy's matmul is slow on strided views of weight slices."""
    return np.ascontiguousarray(W.transpose(0, 2, 1))


def _project(X: np.ndarray, W: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """``X W_sᵀ + b_s`` for every seed s: X (S, T, B, D), W (S, F, D), b (S, F) -> (S, T, B, F)."""
    S, T, B, _ = X.shape
    out = np.matmul(_flat(X), _transposed(W))                    # (S, T·B, F): one GEMM per seed
    if b is not None:
        out += b[:, None, :]
    return out.reshape(S, T, B, -1)


def _sum_outer(dA: np.ndarray, Z: np.ndarray) -> np.ndarray:
    r"""Per seed :math:`\sum_{t,b} \delta_{s,t,b}\, z_{s,t,b}^\top`: dA (S, T, B, F), Z (S, T, B, G) -> (S, F, G)."""
    return np.matmul(_flat(dA).transpose(0, 2, 1), _flat(Z))


def _sum_steps(dA: np.ndarray) -> np.ndarray:
    """Per seed, the sum over time and batch: (S, T, B, F) -> (S, F)."""
    return _flat(dA).sum(axis=1)


def _with_initial(h0: np.ndarray, T: int, F: int | None = None) -> np.ndarray:
    """An array (S, T + 1, B, F) whose slot 0 holds h0 (S, B, H); slots 1..T are filled by the loop.

    ``A[:, :-1]`` are then the states each step starts from and ``A[:, 1:]`` the new states,
    both without a copy.
    """
    S, B, H = h0.shape
    A = np.empty((S, T + 1, B, H if F is None else F), h0.dtype)
    A[:, 0] = h0
    return A


# ---------------------------------------------------------------------------
# the four cells, with a seed axis; X is (S, T, B, D), states are (S, B, H)
# ---------------------------------------------------------------------------
def _elman_forward(X, states, p, relu):
    (h0,) = states
    T = X.shape[1]
    states_all = _with_initial(h0, T)
    states_all[:, 1:] = _project(X, p["Wx"], p["b"])   # a = Wx x + b for every step, overwritten by h
    WsT = _transposed(p["Ws"])
    for t in range(1, T + 1):
        a = states_all[:, t]
        a += np.matmul(states_all[:, t - 1], WsT)
        if relu:
            np.maximum(a, 0.0, out=a)
        else:
            np.tanh(a, out=a)
    return states_all[:, 1:], (states_all[:, -1],), (X, states_all)


def _elman_backward(dHs, cache, p, relu):
    X, states_all = cache
    T = X.shape[1]
    dA = np.empty_like(dHs)
    dh = np.zeros_like(states_all[:, 0])
    for t in range(T - 1, -1, -1):
        h = states_all[:, t + 1]
        delta = dA[:, t]
        np.add(dHs[:, t], dh, out=delta)
        delta *= (h > 0) if relu else (1.0 - h * h)
        dh = np.matmul(delta, p["Ws"])
    return {"Wx": _sum_outer(dA, X), "Ws": _sum_outer(dA, states_all[:, :-1]), "b": _sum_steps(dA)}


def _lstm_forward(X, states, p):
    h0, c0 = states
    S, T, B, _ = X.shape
    H = h0.shape[-1]
    W = p["W"]
    G = _project(X, W[:, :, H:], p["b"])           # input part of the pre-activations, (S, T, B, 4H)
    WhT = _transposed(W[:, :, :H])
    Hs, Cs = _with_initial(h0, T), _with_initial(c0, T)
    tanh_Cs = np.empty((S, T, B, H), G.dtype)
    for t in range(T):
        a = G[:, t]
        a += np.matmul(Hs[:, t], WhT)
        sig = a[..., :3 * H]                       # sigma(a) = (1 + tanh(a / 2)) / 2, in place
        sig *= 0.5
        np.tanh(sig, out=sig)
        sig *= 0.5
        sig += 0.5
        np.tanh(a[..., 3 * H:], out=a[..., 3 * H:])
        c = Cs[:, t + 1]
        np.multiply(a[..., H:2 * H], Cs[:, t], out=c)                  # f * c_prev
        c += a[..., :H] * a[..., 3 * H:]                               # + i * g
        np.tanh(c, out=tanh_Cs[:, t])
        np.multiply(a[..., 2 * H:3 * H], tanh_Cs[:, t], out=Hs[:, t + 1])   # h = o * tanh(c)
    return Hs[:, 1:], (Hs[:, -1], Cs[:, -1]), (X, Hs, Cs, tanh_Cs, G)


def _lstm_backward(dHs, cache, p):
    X, Hs, Cs, tanh_Cs, G = cache
    T = X.shape[1]
    H = Hs.shape[-1]
    Wh = np.ascontiguousarray(p["W"][:, :, :H])
    dG = np.empty_like(G)
    dh, dc = np.zeros_like(Hs[:, 0]), np.zeros_like(Cs[:, 0])
    for t in range(T - 1, -1, -1):            # one step's arrays at a time: they stay in the cache
        gates = G[:, t]
        i, f, o, g = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:3 * H], gates[..., 3 * H:]
        tanh_c = tanh_Cs[:, t]
        dh_t = dHs[:, t] + dh
        dc_t = dh_t * o                        # dc_t = dc from t+1 + dh_t * o * tanh'(c_t)
        dc_t *= 1.0 - tanh_c * tanh_c
        dc_t += dc
        d = dG[:, t]                           # dL/da_t, blocks i, f, o, g
        np.multiply(dc_t, g, out=d[..., :H])
        np.multiply(dc_t, Cs[:, t], out=d[..., H:2 * H])       # Cs[:, t] is c_{t-1}
        np.multiply(dh_t, tanh_c, out=d[..., 2 * H:3 * H])
        np.multiply(dc_t, i, out=d[..., 3 * H:])
        sig = gates[..., :3 * H]
        d[..., :3 * H] *= sig * (1.0 - sig)    # sigma' = sigma (1 - sigma)
        d[..., 3 * H:] *= 1.0 - g * g          # tanh' = 1 - tanh^2
        dc = dc_t * f
        dh = np.matmul(d, Wh)
    dW = np.concatenate([_sum_outer(dG, Hs[:, :-1]), _sum_outer(dG, X)], axis=2)
    return {"W": dW, "b": _sum_steps(dG)}


def _gru_forward(X, states, p):
    (h0,) = states
    S, T, B, _ = X.shape
    H = h0.shape[-1]
    G = _project(X, p["Wx"], p["bx"])              # input parts, overwritten by the gates [r, z, n]
    WhT = _transposed(p["Wh"])
    bh = p["bh"][:, None, :]
    Hs = _with_initial(h0, T)
    HN = np.empty((S, T, B, H), G.dtype)           # W_hn h + b_hn, the state term inside n
    for t in range(T):
        a = G[:, t]
        h = Hs[:, t]
        ah = np.matmul(h, WhT)
        ah += bh
        sig = a[..., :2 * H]
        sig += ah[..., :2 * H]                     # sigma(a) = (1 + tanh(a / 2)) / 2, in place
        sig *= 0.5
        np.tanh(sig, out=sig)
        sig *= 0.5
        sig += 0.5
        r, z = a[..., :H], a[..., H:2 * H]
        HN[:, t] = ah[..., 2 * H:]
        a[..., 2 * H:] = np.tanh(a[..., 2 * H:] + r * HN[:, t])
        Hs[:, t + 1] = (1.0 - z) * a[..., 2 * H:] + z * h
    return Hs[:, 1:], (Hs[:, -1],), (X, Hs, HN, G)


def _gru_backward(dHs, cache, p):
    X, Hs, HN, G = cache
    T = X.shape[1]
    H = Hs.shape[-1]
    r, z, n = G[..., :H], G[..., H:2 * H], G[..., 2 * H:]
    # the factors that do not depend on the gradient flowing back, for all steps at once
    dn_factor = (1.0 - z) * (1.0 - n * n)                            # dL/da_n = d * (1 - z) * tanh'
    dz_factor = (Hs[:, :-1] - n) * z * (1.0 - z)                     # dL/da_z = d * (h_prev - n) * sigma'
    dr_factor = HN * r * (1.0 - r)                                   # dL/da_r = dL/da_n * hn * sigma'
    dAx, dAh = np.empty_like(G), np.empty_like(G)
    dh = np.zeros_like(Hs[:, 0])
    for t in range(T - 1, -1, -1):
        d = dHs[:, t] + dh
        dx_t, dh_t = dAx[:, t], dAh[:, t]
        dn = np.multiply(d, dn_factor[:, t], out=dx_t[..., 2 * H:])
        np.multiply(dn, dr_factor[:, t], out=dx_t[..., :H])
        np.multiply(d, dz_factor[:, t], out=dx_t[..., H:2 * H])
        dh_t[..., :2 * H] = dx_t[..., :2 * H]
        np.multiply(dn, r[:, t], out=dh_t[..., 2 * H:])
        dh = np.matmul(dh_t, p["Wh"])
        dh += d * z[:, t]
    return {"Wx": _sum_outer(dAx, X), "Wh": _sum_outer(dAh, Hs[:, :-1]), "bx": _sum_steps(dAx), "bh": _sum_steps(dAh)}


_FORWARD = {"rnn": lambda X, s, p: _elman_forward(X, s, p, relu=False),
            "relu": lambda X, s, p: _elman_forward(X, s, p, relu=True),
            "lstm": _lstm_forward, "gru": _gru_forward}
_BACKWARD = {"rnn": lambda d, c, p: _elman_backward(d, c, p, relu=False),
             "relu": lambda d, c, p: _elman_backward(d, c, p, relu=True),
             "lstm": _lstm_backward, "gru": _gru_backward}


# ---------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------
class MultiSeedRNN:
    r"""``S`` independent hidden-to-hidden RNNs (one per seed) computed as one batch.

    Seed ``s`` is the model :class:`~rnnkit.models.HiddenToHiddenRNN` with parameters
    ``{name: value[s]}``; nothing couples one seed to another. Build the stack from single models, so that
    each seed starts exactly where a single model with that seed would (and any custom
    initialisation, such as an orthogonal ``Ws``, is made on the single model first):

    >>> models = [rk.HiddenToHiddenRNN(6, 32, 5, rng=np.random.default_rng(s)) for s in range(10)]
    >>> stack = rk.MultiSeedRNN.from_models(models)       # params["Ws"]: (10, 32, 32)

    The attributes ``S``, ``D``, ``H`` and ``K`` hold the numbers of seeds, inputs, hidden units
    and outputs, ``cell`` the cell and ``params`` the stacked parameters.

    Parameters
    ----------
    params : dict of ndarray
        The parameters of :class:`~rnnkit.models.HiddenToHiddenRNN` for ``cell``, each with a
        leading seed axis: e.g. for ``"rnn"`` Wx (S, H, D), Ws (S, H, H), b (S, H), Wy (S, K, H),
        c (S, K). All of one floating dtype. Used as given (not copied).
    cell : {"rnn", "relu", "lstm", "gru"}

    See chapter 6, :doc:`/book/06-vanishing-exploding`.
    """

    def __init__(self, params: dict, cell: str = "rnn"):
        if cell not in _CELLS:
            raise ValueError(f"MultiSeedRNN: argument 'cell' must be one of {CELLS}, got {cell!r}")
        if not isinstance(params, dict):
            raise ValueError("MultiSeedRNN: argument 'params' must be a dict of name -> ndarray with a leading "
                             f"seed axis S, got {type(params).__name__}")
        expected = set(_CELLS[cell].params) | {"Wy", "c"}
        if set(params) != expected:
            raise ValueError(f"MultiSeedRNN: argument 'params' for cell {cell!r} must have the keys "
                             f"{sorted(expected)}, got {sorted(params)}")
        sizes: dict[str, int] = {}
        Wy = check_array("MultiSeedRNN", "params['Wy']", params["Wy"], "S K H", sizes)
        specs = {"rnn": {"Wx": "S H D", "Ws": "S H H", "b": "S H"},
                 "lstm": {"W": "S 4H H+D", "b": "S 4H"},
                 "gru": {"Wx": "S 3H D", "Wh": "S 3H H", "bx": "S 3H", "bh": "S 3H"}}
        specs["relu"] = specs["rnn"]
        for name, dims in specs[cell].items():
            check_array("MultiSeedRNN", f"params[{name!r}]", params[name], dims, sizes)
        check_array("MultiSeedRNN", "params['c']", params["c"], "S K", sizes)
        dtypes = {np.asarray(v).dtype for v in params.values()}
        if len(dtypes) != 1:
            raise ValueError(f"MultiSeedRNN: all parameters must have one dtype, got {sorted(map(str, dtypes))}")
        self.params = params
        self.cell = cell
        self.S, self.D, self.H, self.K = sizes["S"], sizes["D"], sizes["H"], Wy.shape[1]
        self.dtype = Wy.dtype

    @classmethod
    def from_models(cls, models: Sequence[HiddenToHiddenRNN]) -> "MultiSeedRNN":
        """Stack single models (same cell and sizes) into one; parameters are copied."""
        models = list(models)
        if not models or not all(isinstance(m, HiddenToHiddenRNN) for m in models):
            raise ValueError("MultiSeedRNN.from_models: argument 'models' must be a non-empty sequence of "
                             "HiddenToHiddenRNN")
        first = models[0]
        for s, m in enumerate(models):
            if (m.cell, m.D, m.H, m.K) != (first.cell, first.D, first.H, first.K):
                raise ValueError(f"MultiSeedRNN.from_models: model {s} has cell {m.cell!r} and (D, H, K) = "
                                 f"{(m.D, m.H, m.K)}; model 0 has {first.cell!r} and {(first.D, first.H, first.K)}")
        return cls({k: np.stack([m.params[k] for m in models]) for k in first.params}, first.cell)

    def model(self, s: int) -> HiddenToHiddenRNN:
        """Seed ``s`` as a single :class:`~rnnkit.models.HiddenToHiddenRNN` (parameters copied)."""
        if not isinstance(s, (int, np.integer)) or not 0 <= s < self.S:
            raise ValueError(f"MultiSeedRNN.model: argument 's' must be an integer in [0, S) with S={self.S}, got {s!r}")
        single = HiddenToHiddenRNN(self.D, self.H, self.K, rng=np.random.default_rng(0), cell=self.cell,
                                   dtype=self.dtype)
        single.params = {k: v[s].copy() for k, v in self.params.items()}
        return single

    def select(self, seeds) -> "MultiSeedRNN":
        """A stack of the chosen seeds only (an index array or a boolean mask of length S; copied)."""
        return MultiSeedRNN({k: v[seeds] for k, v in self.params.items()}, self.cell)

    # -- forward / backward --------------------------------------------------
    def _check_X(self, func: str, X) -> np.ndarray:
        X = check_array(func, "X", X, "T S B D", {"S": self.S, "D": self.D})
        return X.astype(self.dtype, copy=False)

    def _zero_states(self, B: int) -> tuple:
        h = np.zeros((self.S, B, self.H), self.dtype)
        return (h, h.copy()) if _CELLS[self.cell].n_states == 2 else (h,)

    def logits(self, X) -> np.ndarray:
        """Output scores of every seed, from zero initial states.

        Parameters
        ----------
        X : ndarray, shape (T, S, B, D)
            One batch per seed. For the same inputs for every seed, pass
            ``np.broadcast_to(X[:, None], (T, S, B, D))`` (no copy).

        Returns
        -------
        O : ndarray, shape (T, S, B, K)
        """
        X = self._check_X("MultiSeedRNN.logits", X)
        Hs, _, _ = _FORWARD[self.cell](X.transpose(1, 0, 2, 3), self._zero_states(X.shape[2]), self.params)
        return _project(Hs, self.params["Wy"], self.params["c"]).transpose(1, 0, 2, 3)

    def loss_and_grads(self, X, Y, *, truncation: int | None = None):
        """Every seed's mean negative log-likelihood of ``Y`` and its gradients.

        Seed ``s`` gets what ``model(s).loss_and_grads(X[:, s], Y[:, s])`` returns (or, with
        ``truncation = k``, what ``rk.tbptt_loss_and_grads(model(s), X[:, s], Y[:, s], k)``
        returns), up to floating-point rounding.

        Parameters
        ----------
        X : ndarray, shape (T, S, B, D)
        Y : ndarray of int, shape (T, S, B)
        truncation : int, optional
            Truncated BPTT with chunks of this many steps (the state is carried across chunk
            borders, the gradient is not); ``None`` is full BPTT.

        Returns
        -------
        losses : ndarray, shape (S,)
            Mean over the T·B targets of each seed.
        grads : dict
            Same keys and shapes as ``params``.
        """
        func = "MultiSeedRNN.loss_and_grads"
        X = self._check_X(func, X)
        T, S, B, _ = X.shape
        Y = check_labels(func, "Y", Y, "T S B", {"T": T, "S": S, "B": B}, self.K)
        if truncation is not None and (not isinstance(truncation, (int, np.integer)) or truncation < 1):
            raise ValueError(f"{func}: argument 'truncation' must be a positive integer or None, got {truncation!r}")
        k = T if truncation is None else int(truncation)
        X = np.ascontiguousarray(X.transpose(1, 0, 2, 3))          # seed-major inside: (S, T, B, D)
        Y = np.ascontiguousarray(Y.transpose(1, 0, 2))             # (S, T, B)
        losses = np.zeros(S)
        grads = None
        states = self._zero_states(B)
        for start in range(0, T, k):
            chunk = slice(start, min(start + k, T))
            chunk_losses, chunk_grads, states = self._chunk(X[:, chunk], Y[:, chunk], states, T * B)
            losses += chunk_losses
            grads = chunk_grads if grads is None else {n: grads[n] + chunk_grads[n] for n in grads}
        return losses, grads

    def _chunk(self, X, Y, states, normalizer):
        p = self.params
        Hs, final, cache = _FORWARD[self.cell](X, states, p)
        O = _project(Hs, p["Wy"], p["c"])                           # (S, T, B, K)
        O -= O.max(axis=-1, keepdims=True)
        log_p = O - np.log(np.exp(O).sum(axis=-1, keepdims=True))   # log-softmax
        target = Y[..., None] == np.arange(self.K)                  # one-hot, (S, T, B, K)
        losses = -np.where(target, log_p, 0.0).reshape(len(Y), -1).sum(axis=1, dtype=np.float64) / normalizer
        dO = np.exp(log_p)
        dO -= target
        dO /= normalizer
        dHs = np.matmul(_flat(dO), p["Wy"]).reshape(Hs.shape)        # one GEMM per seed
        grads = _BACKWARD[self.cell](dHs, cache, p)
        grads["Wy"] = _sum_outer(dO, Hs)
        grads["c"] = _sum_steps(dO)
        return losses, grads, tuple(np.ascontiguousarray(state) for state in final)
