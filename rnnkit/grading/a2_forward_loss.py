r"""Checks for assignment a2-forward-loss (chapters 3–4): softmax, sequence NLL, three families' forward passes.

The three families of chapter 3, in the notation of the book:

(a) hidden-to-hidden recurrence with an output at every step:
    :math:`h^{(t)} = \tanh(b + W_s h^{(t-1)} + W_x x^{(t)})`, :math:`o^{(t)} = c + W_y h^{(t)}`;
(b) recurrence only from the output to the next state (trained with the previous target
    fed back): :math:`h^{(t)} = \tanh(b + W_o y^{(t-1)} + W_x x^{(t)})`, :math:`o^{(t)} = c + W_y h^{(t)}`,
    with ``Yprev[t]`` the vector fed at step t (zero at the first step);
(c) hidden-to-hidden recurrence read to the end, one output :math:`o = c + W_y h^{(T)}`.
"""
from __future__ import annotations

import numpy as np

from .. import layers as _ref
from ._core import (VALUE_TOL, Verdict, _Failure, call_learner, distinct_sizes, fresh_rng, judge, reject_reference,
                    run_check)
from .a3_bptt import NO_BIAS, NO_TANH, NOT_CARRIED, WS_NOT_T, _with_nan

__all__ = ["grade_softmax", "grade_sequence_nll", "grade_hidden_to_hidden_forward", "grade_output_to_hidden_forward",
           "grade_sequence_to_one_forward"]

_DIMS = {"P": "T B K", "L": "", "O": "T B K", "o": "B K"}
_MODELS = ("HiddenToHiddenRNN", "OutputToHiddenRNN", "SequenceToOneRNN")


def _library(*names):
    refs = {n: getattr(_ref, n) for n in names}
    refs.update({m: None for m in _MODELS})
    return refs


def _ctx(sizes, seed):
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + (f", seed={seed}" if seed is not None else "")


def _case(rng):
    sizes = distinct_sizes(rng, "T B D H K", 3, 8)  # T >= 3: the feedback mistakes differ from each other
    T, B, D, H, K = (sizes[k] for k in "TBDHK")
    return sizes, {
        "X": rng.standard_normal((T, B, D)), "h0": 0.5 * rng.standard_normal((B, H)),
        "Wx": rng.standard_normal((H, D)) / np.sqrt(D), "Ws": 0.8 * rng.standard_normal((H, H)) / np.sqrt(H),
        "b": 0.2 * rng.standard_normal(H), "Wy": rng.standard_normal((K, H)) / np.sqrt(H),
        "c": 0.2 * rng.standard_normal(K), "Wo": rng.standard_normal((H, K)),
        "Y": rng.integers(0, K, size=(T, B)),
    }


# ---------------------------------------------------------------------------
# softmax and NLL
# ---------------------------------------------------------------------------

UNSTABLE = ("the result overflows for large logits: subtract the maximum of each row (along the last axis) "
            "before exp — softmax does not change when every entry of a row is shifted by the same amount.")


def grade_softmax(fn, *, rng=None) -> Verdict:
    """Check ``softmax(O)`` along the last axis, for moderate and for very large logits."""
    def body():
        r, seed = fresh_rng(rng)
        sizes = distinct_sizes(r, "T B K", 2, 8)
        reject_reference(fn, "softmax", {"softmax": _ref.softmax})
        O = r.standard_normal((sizes["T"], sizes["B"], sizes["K"])) * 2.0
        P = call_learner(fn, "softmax", O)
        e = np.exp(O - O.max(axis=-1, keepdims=True))
        variants = [("softmax is normalised along the wrong axis: each row (the last axis, K classes) "
                     "must sum to 1.", {"P": np.exp(O) / np.exp(O).sum(axis=0, keepdims=True)}),
                    ("exp is not normalised: divide by the sum over the classes.", {"P": np.exp(O)})]
        v = judge("softmax", ["P"], [P], {"P": e / e.sum(-1, keepdims=True)}, tol=VALUE_TOL, kind="values",
                  compared_with="the reference", dims=_DIMS, sizes=sizes, variants=variants, context=_ctx(sizes, seed))
        if not v.passed:
            return v
        # Rows of very different magnitudes: a global shift or no shift at all breaks here.
        big = O * 300.0 + r.choice([-500.0, 500.0], size=O.shape[:-1])[..., None]
        P_big = call_learner(fn, "softmax", big)
        e = np.exp(big - big.max(axis=-1, keepdims=True))
        try:
            v = judge("softmax", ["P"], [P_big], {"P": e / e.sum(-1, keepdims=True)}, tol=VALUE_TOL, kind="values",
                      compared_with="the reference on logits of size ±1000", dims=_DIMS, sizes=sizes,
                      context=_ctx(sizes, seed))
        except _Failure:
            return Verdict(False, f"softmax: {UNSTABLE}")
        if not v.passed:
            return Verdict(False, v.message + f"\nLikely cause: {UNSTABLE}")
        return Verdict(True, f"softmax correct, also for large logits ({_ctx(sizes, seed)}).")
    return run_check(body)


def _nll(O, Y):
    return _ref.softmax_cross_entropy(O, Y, reduction="sum")[0]


def grade_sequence_nll(fn, *, rng=None) -> Verdict:
    """Check ``sequence_nll(O, Y) -> float``: −Σ_t Σ_b log softmax(o⁽ᵗ⁾)[y⁽ᵗ⁾], also for large logits."""
    def body():
        r, seed = fresh_rng(rng)
        sizes = distinct_sizes(r, "T B K", 2, 8)
        T, B, K = sizes["T"], sizes["B"], sizes["K"]
        O = 2.0 * r.standard_normal((T, B, K))
        Y = r.integers(0, K, size=(T, B))
        reject_reference(fn, "sequence_nll", {"softmax_cross_entropy": _ref.softmax_cross_entropy},
                         probe=lambda: _with_nan((O, Y), 0))
        L = call_learner(fn, "sequence_nll", O, Y)
        ref = np.array(_nll(O, Y))
        logp = O - O.max(-1, keepdims=True)
        logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
        picked = np.take_along_axis(logp, Y[..., None], -1)[..., 0]
        variants = [
            ("the loss is averaged; L is the sum over time steps (and over the batch): L = Σₜ L⁽ᵗ⁾.",
             {"L": np.array(-picked.mean())}),
            ("the loss is averaged over the batch; here L is summed over time and batch.",
             {"L": np.array(-picked.sum() / B)}),
            ("the sign is wrong: L = −Σ log p, a positive number.", {"L": np.array(picked.sum())}),
            ("the probabilities are summed instead of their logarithms.", {"L": np.array(-np.exp(picked).sum())}),
            ("the target is ignored: the loss takes the log-probability of Y[t] at each step, not of the "
             "most likely class.", {"L": np.array(-logp.max(-1).sum())}),
        ]
        v = judge("sequence_nll", ["L"], [L], {"L": ref}, tol=VALUE_TOL, kind="value",
                  compared_with="the reference", sizes=sizes, variants=variants, context=_ctx(sizes, seed))
        if not v.passed:
            return v
        O_big = 400.0 * O
        L_big = call_learner(fn, "sequence_nll", O_big, Y)
        try:
            v = judge("sequence_nll", ["L"], [L_big], {"L": np.array(_nll(O_big, Y))}, tol=VALUE_TOL, kind="value",
                      compared_with="the reference on logits of size ±1000", sizes=sizes, context=_ctx(sizes, seed))
        except _Failure:
            v = Verdict(False, "sequence_nll: the loss is infinite or NaN for large logits.")
        if not v.passed:
            return Verdict(False, v.message + "\nLikely cause: log(softmax) underflows to log(0). Compute "
                           "log p = o − max(o) − log Σ exp(o − max(o)) (log-sum-exp) instead.")
        return Verdict(True, f"sequence_nll correct, also for large logits ({_ctx(sizes, seed)}).")
    return run_check(body)


# ---------------------------------------------------------------------------
# the three families
# ---------------------------------------------------------------------------

def _states(X, h0, Wx, Ws, b, bug=None):
    h, out = h0, []
    for x in X:
        a = x @ Wx.T + (h0 if bug == "not_carried" else h) @ (Ws if bug == "ws_not_t" else Ws.T) + \
            (0.0 if bug == "no_bias" else b)
        h = a if bug == "no_tanh" else np.tanh(a)
        out.append(h)
    return np.stack(out)


_STATE_BUGS = {"no_tanh": NO_TANH, "ws_not_t": WS_NOT_T, "no_bias": NO_BIAS, "not_carried": NOT_CARRIED}
LOGITS_NOT_PROBS = "return the logits o = c + Wy h, not their softmax."


def grade_hidden_to_hidden_forward(fn, *, rng=None) -> Verdict:
    """Check family (a): ``hidden_to_hidden_forward(X, h0, Wx, Ws, b, Wy, c) -> O`` (T, B, K)."""
    def body():
        r, seed = fresh_rng(rng)
        sizes, p = _case(r)
        args = (p["X"], p["h0"], p["Wx"], p["Ws"], p["b"], p["Wy"], p["c"])
        reject_reference(fn, "hidden_to_hidden_forward",
                         _library("rnn_forward", "rnn_step_forward", "affine_forward"),
                         probe=lambda: _with_nan(args, 0))
        O = call_learner(fn, "hidden_to_hidden_forward", *args)
        Hs = _states(*args[:5])
        ref = Hs @ p["Wy"].T + p["c"]
        variants = [(text, {"O": _states(*args[:5], bug=bug) @ p["Wy"].T + p["c"]})
                    for bug, text in _STATE_BUGS.items()]
        H_prev = np.concatenate([p["h0"][None], Hs[:-1]])
        variants += [("the outputs are one step late: o⁽ᵗ⁾ is computed from h⁽ᵗ⁾, the state after reading x⁽ᵗ⁾.",
                      {"O": H_prev @ p["Wy"].T + p["c"]}),
                     (LOGITS_NOT_PROBS, {"O": _ref.softmax(ref)}),
                     ("the output bias c is missing.", {"O": Hs @ p["Wy"].T})]
        return judge("hidden_to_hidden_forward", ["O"], [O], {"O": ref}, tol=VALUE_TOL, kind="values",
                     compared_with="the reference", dims=_DIMS, sizes=sizes, variants=variants, time_axes={"O": 0},
                     direction="forward", context=_ctx(sizes, seed))
    return run_check(body)


def grade_output_to_hidden_forward(fn, *, rng=None) -> Verdict:
    """Check family (b): ``output_to_hidden_forward(X, Yprev, Wx, Wo, b, Wy, c) -> O`` (T, B, K).

    ``Yprev[t]`` (B, K) is the vector fed back into step t (the previous target, one-hot; zeros at t=0).
    """
    def body():
        r, seed = fresh_rng(rng)
        sizes, p = _case(r)
        T, B, K = sizes["T"], sizes["B"], sizes["K"]
        onehot = np.eye(K)[p["Y"]]
        Yprev = np.concatenate([np.zeros((1, B, K)), onehot[:-1]])
        args = (p["X"], Yprev, p["Wx"], p["Wo"], p["b"], p["Wy"], p["c"])
        reject_reference(fn, "output_to_hidden_forward", _library("rnn_forward", "affine_forward"),
                         probe=lambda: _with_nan(args, 0))
        O = call_learner(fn, "output_to_hidden_forward", *args)

        def run(Yfed, tanh=True):
            A = p["X"] @ p["Wx"].T + Yfed @ p["Wo"].T + p["b"]
            return (np.tanh(A) if tanh else A) @ p["Wy"].T + p["c"]
        ref = run(Yprev)
        variants = [(NO_TANH, {"O": run(Yprev, tanh=False)}),
                     ("the fed-back vectors are shifted a second time: Yprev[t] is already what step t receives.",
                      {"O": run(np.concatenate([np.zeros((1, B, K)), Yprev[:-1]]))}),
                     ("the feedback is missing: h⁽ᵗ⁾ depends on Yprev[t] through Wo.", {"O": run(0 * Yprev)}),
                     (LOGITS_NOT_PROBS, {"O": _ref.softmax(ref)})]
        return judge("output_to_hidden_forward", ["O"], [O], {"O": ref}, tol=VALUE_TOL, kind="values",
                     compared_with="the reference", dims=_DIMS, sizes=sizes, variants=variants, time_axes={"O": 0},
                     direction="forward", context=_ctx(sizes, seed))
    return run_check(body)


def grade_sequence_to_one_forward(fn, *, rng=None) -> Verdict:
    """Check family (c): ``sequence_to_one_forward(X, h0, Wx, Ws, b, Wy, c) -> o`` (B, K) from the last state."""
    def body():
        r, seed = fresh_rng(rng)
        sizes, p = _case(r)
        args = (p["X"], p["h0"], p["Wx"], p["Ws"], p["b"], p["Wy"], p["c"])
        reject_reference(fn, "sequence_to_one_forward",
                         _library("rnn_forward", "rnn_step_forward", "affine_forward"),
                         probe=lambda: _with_nan(args, 0))
        o = call_learner(fn, "sequence_to_one_forward", *args)
        Hs = _states(*args[:5])
        out = lambda h: h @ p["Wy"].T + p["c"]  # noqa: E731
        variants = [(text, {"o": out(_states(*args[:5], bug=bug)[-1])}) for bug, text in _STATE_BUGS.items()]
        variants += [("the output is read from the first state; family (c) reads the whole sequence and uses "
                      "the last state h⁽ᵀ⁾.", {"o": out(Hs[0])}),
                     ("return one output per sequence, from the last state only: shape (B, K).", {"o": out(Hs)}),
                     ("the states are averaged; the output comes from the last state h⁽ᵀ⁾.", {"o": out(Hs.mean(0))}),
                     (LOGITS_NOT_PROBS, {"o": _ref.softmax(out(Hs[-1]))})]
        return judge("sequence_to_one_forward", ["o"], [o], {"o": out(Hs[-1])}, tol=VALUE_TOL, kind="values",
                     compared_with="the reference", dims=_DIMS, sizes=sizes, variants=variants,
                     context=_ctx(sizes, seed))
    return run_check(body)





