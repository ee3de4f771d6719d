r"""The three recurrent families of Goodfellow et al. (2016, §10.2) as small trainable models.

==========================  ===========================================  =======================
class                       recurrence                                   outputs
==========================  ===========================================  =======================
:class:`HiddenToHiddenRNN`  state → state (``Ws``; or an LSTM/GRU cell)  one per step, (T, B, K)
:class:`OutputToHiddenRNN`  previous output → state (``Wo``), no ``Ws``  one per step, (T, B, K)
:class:`SequenceToOneRNN`   state → state (``Ws``)                       one at the end, (B, K)
==========================  ===========================================  =======================

Each model keeps its parameters in ``model.params`` (a dict of arrays that an
optimizer from :mod:`rnnkit.optim` updates in place) and offers
``loss_and_grads(X, Y)`` returning the mean negative log-likelihood per target
and a dict of gradients with the same keys.

See chapter 3, :doc:`/book/03-three-families`.
"""
from __future__ import annotations

import numpy as np

from . import sampling
from ._cells import CELL_TABLE as _CELLS, CELLS, uniform as _uniform
from ._validate import check_array, check_labels
from .layers.output import affine_backward, affine_forward, softmax_cross_entropy
from .layers.rnn import rnn_backward, rnn_forward

__all__ = ["init_params", "HiddenToHiddenRNN", "OutputToHiddenRNN", "SequenceToOneRNN"]


def init_params(D: int, H: int, K: int, *, rng: np.random.Generator, cell: str = "rnn",
                dtype=np.float64) -> dict:
    """Initial parameters for a recurrent cell plus an output layer.

    Parameters
    ----------
    D, H, K : int
        Input, hidden and output sizes.
    rng : numpy.random.Generator
    cell : {"rnn", "lstm", "gru", "relu"}
        ``"relu"`` is the vanilla RNN with rectified linear units (chapter 6); it gets the
        same parameters and initialisation as ``"rnn"`` (for the IRNN of Le et al., 2015,
        overwrite ``Ws`` with the identity).
    dtype : numpy dtype

    Returns
    -------
    dict
        ``"rnn"`` and ``"relu"``: Wx (H, D), Ws (H, H), b (H,); ``"lstm"``: W (4H, H + D), b (4H,) with the
        forget-gate bias set to 1 (Gers et al., 2000); ``"gru"``: Wx (3H, D), Wh (3H, H),
        bx, bh (3H,). Always also Wy (K, H) and c (K,).
    """
    for name, n in (("D", D), ("H", H), ("K", K)):
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"init_params: argument '{name}' must be a positive integer, got {n!r}")
    if cell not in _CELLS:
        raise ValueError(f"init_params: argument 'cell' must be one of {CELLS}, got {cell!r}")
    p = _CELLS[cell].init(rng, D, H, dtype)
    p["Wy"] = _uniform(rng, (K, H), H, dtype)
    p["c"] = np.zeros(K, dtype)
    return p


class HiddenToHiddenRNN:
    r"""Family (a): hidden-to-hidden recurrence with an output at every step.

    .. math::

        h^{(t)} = \tanh(b + W_s h^{(t-1)} + W_x x^{(t)}), \quad
        o^{(t)} = c + W_y h^{(t)}, \quad \hat y^{(t)} = \operatorname{softmax}(o^{(t)})

    With ``cell="lstm"`` or ``"gru"`` the state update is an LSTM or GRU cell instead; with
    ``cell="relu"`` it is :math:`h^{(t)} = \max(0, b + W_s h^{(t-1)} + W_x x^{(t)})`
    (chapter 6, :doc:`/book/06-vanishing-exploding`).

    Parameters
    ----------
    D, H, K : int
        Input, hidden and output sizes.
    rng : numpy.random.Generator
        For the initial parameters.
    cell : {"rnn", "lstm", "gru", "relu"}
    dtype : numpy dtype

    See chapter 3, :doc:`/book/03-three-families`.
    """

    def __init__(self, D: int, H: int, K: int, *, rng: np.random.Generator, cell: str = "rnn",
                 dtype=np.float64):
        self.D, self.H, self.K, self.cell = D, H, K, cell
        self.params = init_params(D, H, K, rng=rng, cell=cell, dtype=dtype)

    # -- state ---------------------------------------------------------------
    def init_state(self, B: int):
        """Zero state for a batch of B sequences: h (B, H), or (h, c) for an LSTM."""
        h = np.zeros((B, self.H), self.params["Wy"].dtype)
        return (h, h.copy()) if _CELLS[self.cell].n_states == 2 else h

    def _check_state(self, state, B):
        if state is None:
            return self.init_state(B)
        func = f"{type(self).__name__}"
        sizes = {"B": B, "H": self.H}
        if _CELLS[self.cell].n_states == 2:
            if not isinstance(state, tuple) or len(state) != 2:
                raise ValueError(f"{func}: argument 'state0' must be a tuple (h, c) of shape (B, H) each")
            return (check_array(func, "state0[0]", state[0], "B H", sizes),
                    check_array(func, "state0[1]", state[1], "B H", sizes))
        return check_array(func, "state0", state, "B H", sizes)

    def _states(self, state) -> tuple:
        return state if _CELLS[self.cell].n_states == 2 else (state,)

    # -- forward / backward --------------------------------------------------
    def _recurrent_forward(self, X, state):
        cell = _CELLS[self.cell]
        Hs, cache = cell.forward(X, *self._states(state), *(self.params[k] for k in cell.params))
        return Hs, cache, cell.final_state(Hs, cache)

    def _recurrent_backward(self, dHs, cache) -> dict:
        cell = _CELLS[self.cell]
        grads = cell.backward(dHs, cache, input_grad=False)   # X is data: its gradient is not needed
        return dict(zip(cell.params, grads[1 + cell.n_states:]))

    def logits(self, X, state0=None):
        """Output scores for a sequence.

        Parameters
        ----------
        X : ndarray, shape (T, B, D)
        state0 : optional initial state (see :meth:`init_state`); zeros if omitted.

        Returns
        -------
        O : ndarray, shape (T, B, K)
        final_state : the state after the last step
        """
        X = check_array(type(self).__name__, "X", X, "T B D", {"D": self.D})
        Hs, _, final = self._recurrent_forward(X, self._check_state(state0, X.shape[1]))
        O, _ = affine_forward(Hs, self.params["Wy"], self.params["c"])
        return O, final

    def loss_and_grads(self, X, Y, state0=None, *, return_state: bool = False, normalizer=None):
        """Mean negative log-likelihood of ``Y`` and its gradient with respect to every parameter.

        Parameters
        ----------
        X : ndarray, shape (T, B, D)
        Y : ndarray of int, shape (T, B)
        state0 : optional initial state; zeros if omitted.
        return_state : bool
            Also return the final state (detached: no gradient flows into it), for
            carrying it into the next chunk of a long sequence.
        normalizer : float, optional
            Divide the summed loss by this instead of T·B (truncated BPTT uses the
            full sequence's T·B so that the chunks add up to the full loss).

        Returns
        -------
        loss : float
        grads : dict, same keys and shapes as ``params``
        final_state : only if ``return_state``
        """
        name = type(self).__name__
        X = check_array(name, "X", X, "T B D", {"D": self.D})
        sizes = {"T": X.shape[0], "B": X.shape[1]}
        Y = check_labels(name, "Y", Y, "T B", sizes, self.K)
        Hs, cache, final = self._recurrent_forward(X, self._check_state(state0, X.shape[1]))
        O, aff_cache = affine_forward(Hs, self.params["Wy"], self.params["c"])
        loss, dO = softmax_cross_entropy(O, Y, reduction="sum")
        scale = 1.0 / (Y.size if normalizer is None else normalizer)
        loss *= scale
        dO *= scale
        dHs, dWy, dc = affine_backward(dO, aff_cache)
        grads = self._recurrent_backward(dHs, cache)
        grads.update(Wy=dWy, c=dc)
        return (loss, grads, final) if return_state else (loss, grads)

    def step(self, x, state):
        """One step for generation: ``o (B, K), new_state`` from ``x (B, D)`` and a state."""
        p = self.params
        x = check_array(type(self).__name__, "x", x, "B D", {"D": self.D})
        state = self._check_state(state, x.shape[0])
        cell = _CELLS[self.cell]
        *new_states, _ = cell.step(x, *self._states(state), *(p[k] for k in cell.params))
        h = new_states[0]
        new_state = tuple(new_states) if cell.n_states == 2 else h
        return h @ p["Wy"].T + p["c"], new_state


class OutputToHiddenRNN:
    r"""Family (b): the only recurrence goes from the previous output to the next state.

    .. math::

        h^{(t)} = \tanh(b + W_o\, y^{(t-1)} + W_x x^{(t)}), \quad o^{(t)} = c + W_y h^{(t)}

    where :math:`y^{(t-1)}` is a one-hot vector of the previous output token
    (the ground truth under teacher forcing, the model's own choice in closed-loop
    mode) and :math:`y^{(0)} = 0`. Given the fed-back tokens, the steps are
    independent, so training with teacher forcing needs no loop over time.

    Parameters
    ----------
    D, H, K : int
    rng : numpy.random.Generator
    dtype : numpy dtype

    See chapter 7, :doc:`/book/07-teacher-forcing`.
    """

    def __init__(self, D: int, H: int, K: int, *, rng: np.random.Generator, dtype=np.float64):
        self.D, self.H, self.K = D, H, K
        p = init_params(D, H, K, rng=rng, cell="rnn", dtype=dtype)
        del p["Ws"]
        p["Wo"] = _uniform(rng, (H, K), H, dtype)
        self.params = {k: p[k] for k in ("Wx", "Wo", "b", "Wy", "c")}

    def teacher_feedback(self, Y) -> np.ndarray:
        """Teacher forcing: the token fed at step t is the target of step t − 1 (−1 = none at t = 1)."""
        Y = np.asarray(Y)
        fb = np.empty_like(Y)
        fb[0] = -1
        fb[1:] = Y[:-1]
        return fb

    def _feedback_matrix(self, feedback):
        # Wo @ onehot(token) is column `token` of Wo; token -1 feeds nothing.
        Wo = self.params["Wo"]
        padded = np.concatenate([Wo.T, np.zeros((1, self.H), Wo.dtype)])  # row K is the "none" token
        return padded[np.where(feedback < 0, self.K, feedback)]

    def _check(self, X, Y, feedback, need_y=True):
        name = type(self).__name__
        X = check_array(name, "X", X, "T B D", {"D": self.D})
        sizes = {"T": X.shape[0], "B": X.shape[1]}
        if need_y:
            Y = check_labels(name, "Y", Y, "T B", sizes, self.K)
        if feedback is not None:
            fb = np.asarray(feedback)
            if fb.dtype.kind not in "iu" or fb.shape != X.shape[:2] or (fb.size and (fb.min() < -1 or fb.max() >= self.K)):
                raise ValueError(f"{name}: argument 'feedback' must be integer tokens in [-1, K) with K={self.K} "
                                 f"of shape (T, B) = {X.shape[:2]}; got dtype {fb.dtype}, shape {fb.shape}")
            feedback = fb
        return X, Y, feedback

    def loss_and_grads(self, X, Y, feedback=None):
        """Mean NLL of ``Y`` given the fed-back tokens, and gradients (no loop over time).

        Parameters
        ----------
        X : ndarray, shape (T, B, D)
        Y : ndarray of int, shape (T, B)
        feedback : ndarray of int, shape (T, B), optional
            Token fed into step t (−1 = none). Default: teacher forcing,
            ``teacher_feedback(Y)``.

        Returns
        -------
        loss : float
        grads : dict with keys Wx, Wo, b, Wy, c
        """
        X, Y, feedback = self._check(X, Y, feedback)
        if feedback is None:
            feedback = self.teacher_feedback(Y)
        p = self.params
        T, B, D = X.shape
        Hs = np.tanh(X @ p["Wx"].T + self._feedback_matrix(feedback) + p["b"])
        O, aff_cache = affine_forward(Hs, p["Wy"], p["c"])
        loss, dO = softmax_cross_entropy(O, Y)
        dHs, dWy, dc = affine_backward(dO, aff_cache)
        dA = (dHs * (1.0 - Hs * Hs)).reshape(T * B, self.H)
        # dWo = Σ_t δ_t onehot(y_{t-1})ᵀ; the extra last column collects the "none" token and is dropped.
        fed = np.eye(self.K + 1, dtype=dA.dtype)[np.where(feedback < 0, self.K, feedback).reshape(-1)]
        dWo = (dA.T @ fed)[:, :self.K]
        grads = {"Wx": dA.T @ X.reshape(T * B, D), "Wo": dWo, "b": dA.sum(axis=0), "Wy": dWy, "c": dc}
        return loss, grads

    def _run_closed_loop(self, X, choose):
        p = self.params
        T, B, _ = X.shape
        XW = X @ p["Wx"].T + p["b"]
        tokens = np.empty((T, B), np.int64)
        O = np.empty((T, B, self.K), XW.dtype)
        prev = np.full(B, -1)
        for t in range(T):
            h = np.tanh(XW[t] + self._feedback_matrix(prev))
            O[t] = h @ p["Wy"].T + p["c"]
            prev = tokens[t] = choose(t, O[t])
        return tokens, O

    def generate(self, X, *, mode: str = "greedy", rng: np.random.Generator | None = None,
                 temperature: float = 1.0):
        """Closed-loop (free-running) mode: the model's own outputs are fed back.

        Parameters
        ----------
        X : ndarray, shape (T, B, D)
        mode : {"greedy", "sample"}
            Feed back the most likely token, or a sample from the softmax.
        rng : numpy.random.Generator, required for ``mode="sample"``
        temperature : float
            Softmax temperature for sampling.

        Returns
        -------
        tokens : ndarray of int, shape (T, B)
        O : ndarray, shape (T, B, K)
        """
        X, _, _ = self._check(X, None, None, need_y=False)
        if mode == "greedy":
            return self._run_closed_loop(X, lambda t, o: o.argmax(axis=1))
        if mode == "sample":
            if rng is None:
                raise ValueError("generate: mode='sample' needs an explicit rng (numpy.random.Generator)")
            return self._run_closed_loop(
                X, lambda t, o: sampling.sample_from_logits(o, temperature=temperature, rng=rng))
        raise ValueError(f"generate: argument 'mode' must be 'greedy' or 'sample', got {mode!r}")

    def closed_loop_loss(self, X, Y) -> float:
        """Mean NLL of ``Y`` when the model's own greedy outputs are fed back (test-time conditions)."""
        X, Y, _ = self._check(X, Y, None)
        _, O = self._run_closed_loop(X, lambda t, o: o.argmax(axis=1))
        return softmax_cross_entropy(O, Y)[0]

    def scheduled_feedback(self, X, Y, p_truth: float, *, rng: np.random.Generator) -> np.ndarray:
        """Feedback tokens for scheduled sampling (Bengio et al., 2015).

        At each step the fed-back token is the ground truth with probability
        ``p_truth`` and the model's own greedy prediction otherwise; the model runs
        forward step by step so its predictions see its own earlier choices.
        Gradients are not taken through the choice (use the result as ``feedback``
        in :meth:`loss_and_grads`).

        Returns
        -------
        feedback : ndarray of int, shape (T, B)
        """
        X, Y, _ = self._check(X, Y, None)
        if not 0.0 <= p_truth <= 1.0:
            raise ValueError(f"scheduled_feedback: argument 'p_truth' must be in [0, 1], got {p_truth}")
        use_truth = rng.random(Y.shape) < p_truth

        def choose(t, o):
            return np.where(use_truth[t], Y[t], o.argmax(axis=1))
        tokens, _ = self._run_closed_loop(X, choose)
        return self.teacher_feedback(tokens)   # the same shift by one step, of the chosen tokens


class SequenceToOneRNN:
    r"""Family (c): reads the whole sequence, then emits a single output from the last state.

    .. math::

        h^{(t)} = \tanh(b + W_s h^{(t-1)} + W_x x^{(t)}), \qquad o = c + W_y h^{(T)}

    Parameters
    ----------
    D, H, K : int
        ``K = 1`` for regression.
    rng : numpy.random.Generator
    loss : {"softmax", "mse"}
        Classification with integer labels ``Y`` (B,), or regression with float
        targets ``Y`` (B,) and loss :math:`\tfrac{1}{B}\sum (o - y)^2`.
    dtype : numpy dtype

    See chapter 3, :doc:`/book/03-three-families`.
    """

    def __init__(self, D: int, H: int, K: int, *, rng: np.random.Generator, loss: str = "softmax",
                 dtype=np.float64):
        if loss not in ("softmax", "mse"):
            raise ValueError(f"SequenceToOneRNN: argument 'loss' must be 'softmax' or 'mse', got {loss!r}")
        if loss == "mse" and K != 1:
            raise ValueError(f"SequenceToOneRNN: loss='mse' needs K=1, got K={K}")
        self.D, self.H, self.K, self.loss = D, H, K, loss
        self.params = init_params(D, H, K, rng=rng, cell="rnn", dtype=dtype)

    def _forward(self, X):
        p = self.params
        X = check_array(type(self).__name__, "X", X, "T B D", {"D": self.D})
        h0 = np.zeros((X.shape[1], self.H), p["Wx"].dtype)
        Hs, cache = rnn_forward(X, h0, p["Wx"], p["Ws"], p["b"])
        O, aff_cache = affine_forward(Hs[-1], p["Wy"], p["c"])
        return X, Hs, cache, O, aff_cache

    def predict(self, X):
        """Logits (B, K) for ``loss="softmax"``, or predictions (B,) for ``loss="mse"``."""
        O = self._forward(X)[3]
        return O[:, 0] if self.loss == "mse" else O

    def loss_and_grads(self, X, Y):
        """Loss on targets ``Y`` (B,) and gradients with keys Wx, Ws, b, Wy, c."""
        X, Hs, cache, O, aff_cache = self._forward(X)
        name = type(self).__name__
        if self.loss == "softmax":
            Y = check_labels(name, "Y", Y, "B", {"B": X.shape[1]}, self.K)
            loss, dO = softmax_cross_entropy(O, Y)
        else:
            Y = check_array(name, "Y", Y, "B", {"B": X.shape[1]})
            diff = O[:, 0] - Y
            loss = float(np.mean(diff * diff))
            dO = (2.0 / diff.size) * diff[:, None]
        dh, dWy, dc = affine_backward(dO, aff_cache)
        dHs = np.zeros_like(Hs)
        dHs[-1] = dh   # only the last state feeds the output
        _, _, dWx, dWs, db = rnn_backward(dHs, cache, input_grad=False)
        return loss, {"Wx": dWx, "Ws": dWs, "b": db, "Wy": dWy, "c": dc}
