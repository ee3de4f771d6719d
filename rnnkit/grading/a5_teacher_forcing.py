r"""Checks for assignment a5-teacher-forcing (chapter 7): the output-recurrence family (b).

Model (as :class:`rnnkit.models.OutputToHiddenRNN`):
:math:`h^{(t)} = \tanh(b + W_x x^{(t)} + W_o\, \mathrm{onehot}(f^{(t)}))`,
:math:`o^{(t)} = c + W_y h^{(t)}`, where :math:`f^{(t)}` is the token fed into step t
(``-1`` = nothing, a zero vector). ``Wo`` is (H, K).

* ``teacher_forcing_inputs(Y)``: the fed tokens under teacher forcing, Y shifted right, -1 first;
* ``output_rnn_forward(X, feedback, Wx, Wo, b, Wy, c) -> (O, cache)`` with
  ``cache = (X, F, Hs, Wx, Wo, Wy)``, F the one-hot feedback (T, B, K);
* ``output_rnn_backward(dO, cache) -> (dX, dWx, dWo, db, dWy, dc)``: no loop over time needed;
* ``generate_closed_loop(X, Wx, Wo, b, Wy, c) -> tokens`` (T, B): greedy, own outputs fed back;
* ``scheduled_feedback(X, Y, p_truth, params, rng) -> feedback`` (T, B): at each step t >= 1 one
  draw ``rng.random(B)``; where it is below ``p_truth`` the truth Y[t-1] is fed, else the model's
  greedy prediction at t-1 (computed with what was fed at t-1).
"""
from __future__ import annotations

import numpy as np

from .a3_bptt import _with_nan
from ._core import (GRAD_TOL, VALUE_TOL, Verdict, _Failure, call_learner, distinct_sizes, fresh_rng,
                    judge, numerical_gradients, reject_reference, run_check, unpack)

__all__ = ["grade_teacher_forcing_inputs", "grade_output_rnn_forward", "grade_output_rnn_backward",
           "grade_generate_closed_loop", "grade_scheduled_feedback", "output_rnn_reference"]

_MODEL = {"OutputToHiddenRNN": None}


def _ctx(sizes, seed, extra=""):
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + extra + (f", seed={seed}" if seed is not None else "")


def _case(r, long=False):
    sizes = distinct_sizes(r, "T B D H K", 2, 8)
    if long:  # token outputs are coarse: longer sequences and bigger batches make mistakes show
        sizes["T"], sizes["B"] = int(r.integers(8, 13)), int(r.integers(6, 10))
    T, B, D, H, K = (sizes[k] for k in "TBDHK")
    p = {"X": r.standard_normal((T, B, D)), "Wx": r.standard_normal((H, D)) / np.sqrt(D),
         "Wo": r.standard_normal((H, K)), "b": 0.2 * r.standard_normal(H),
         "Wy": 2.0 * r.standard_normal((K, H)) / np.sqrt(H), "c": 0.2 * r.standard_normal(K),
         "Y": r.integers(0, K, size=(T, B))}
    return sizes, p


def _onehot(tokens, K):
    tokens = np.asarray(tokens)
    F = np.zeros(tokens.shape + (K,))
    mask = tokens >= 0
    F[mask, tokens[mask]] = 1.0
    return F


def output_rnn_reference(X, F, Wx, Wo, b, Wy, c):
    """Logits and states of the output-recurrence model for one-hot feedback ``F`` (T, B, K)."""
    Hs = np.tanh(b + X @ Wx.T + F @ Wo.T)
    return Hs @ Wy.T + c, Hs


def _tokens(value, func, name, shape):
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iu":
        dtype = f" of dtype {value.dtype}" if isinstance(value, np.ndarray) else ""
        raise _Failure(f"{func}: {name} must be an integer numpy array; got {type(value).__name__}{dtype}.")
    arr = np.array(value, dtype=np.int64, copy=True, subok=False)
    if arr.shape != shape:
        raise _Failure(f"{func}: {name} has shape {arr.shape}; expected (T, B) = {shape}.")
    return arr


def _compare_tokens(func, got, expected, variants, context):
    if np.array_equal(got, expected):
        return Verdict(True, f"{func} correct ({context}).")
    wrong = np.argwhere(got != expected)
    t, i = (int(v) for v in wrong[0])
    msg = (f"{func}: {len(wrong)} of {expected.size} tokens differ; the first at step t={t + 1} (0-based index {t}), "
           f"sequence {i}: got {int(got[t, i])}, expected {int(expected[t, i])}.")
    for text, v in variants:
        if v.shape == got.shape and np.array_equal(v, got):
            msg += f" Likely cause: {text}"
            break
    return Verdict(False, msg + f"\n(Checked on fresh inputs: {context}.)")


# ---------------------------------------------------------------------------

def grade_teacher_forcing_inputs(fn, *, rng=None) -> Verdict:
    """Check ``teacher_forcing_inputs(Y) -> feedback`` (T, B): Y shifted right by one, -1 at the first step."""
    def body():
        r, seed = fresh_rng(rng)
        sizes, p = _case(r)
        Y = p["Y"]
        out = _tokens(call_learner(fn, "teacher_forcing_inputs", Y), "teacher_forcing_inputs", "feedback", Y.shape)
        expected = np.concatenate([-np.ones((1, Y.shape[1]), dtype=np.int64), Y[:-1]])
        variants = [("the targets are fed unshifted: step t receives the target of step t-1 (its own target "
                     "is what it must predict).", Y),
                    ("the first step must receive nothing, written -1 (not class 0).",
                     np.concatenate([np.zeros((1, Y.shape[1]), dtype=np.int64), Y[:-1]])),
                    ("the shift goes the wrong way: step t receives Y[t-1], not Y[t+1].",
                     np.concatenate([Y[1:], -np.ones((1, Y.shape[1]), dtype=np.int64)]))]
        return _compare_tokens("teacher_forcing_inputs", out, expected, variants, _ctx(sizes, seed))
    return run_check(body)


def grade_output_rnn_forward(fn, *, rng=None) -> Verdict:
    """Check ``output_rnn_forward(X, feedback, Wx, Wo, b, Wy, c) -> (O, cache)``."""
    def body():
        r, seed = fresh_rng(rng)
        sizes, p = _case(r)
        K = sizes["K"]
        feedback = np.concatenate([-np.ones((1, sizes["B"]), dtype=np.int64), p["Y"][:-1]])
        args = (p["X"], feedback, p["Wx"], p["Wo"], p["b"], p["Wy"], p["c"])
        reject_reference(fn, "output_rnn_forward", _MODEL, probe=lambda: _with_nan(args, 0))
        O, _ = unpack(call_learner(fn, "output_rnn_forward", *args), "output_rnn_forward", ["O", "cache"])
        F = _onehot(feedback, K)
        ref, _ = output_rnn_reference(p["X"], F, p["Wx"], p["Wo"], p["b"], p["Wy"], p["c"])
        zero_first_as_class0 = _onehot(np.where(feedback < 0, 0, feedback), K)
        variants = [("the -1 entries (nothing fed) must give a zero vector, not the one-hot of class 0 or K-1.",
                     {"O": output_rnn_reference(p["X"], zero_first_as_class0, p["Wx"], p["Wo"], p["b"], p["Wy"],
                                                p["c"])[0]}),
                    ("the -1 entries (nothing fed) must give a zero vector, not the one-hot of class 0 or K-1.",
                     {"O": output_rnn_reference(p["X"], _onehot(np.where(feedback < 0, K - 1, feedback), K),
                                                p["Wx"], p["Wo"], p["b"], p["Wy"], p["c"])[0]}),
                    ("tanh is missing: h = tanh(b + Wx x + Wo onehot(f)).",
                     {"O": (p["b"] + p["X"] @ p["Wx"].T + F @ p["Wo"].T) @ p["Wy"].T + p["c"]}),
                    ("the feedback is missing: the fed token enters through Wo.",
                     {"O": output_rnn_reference(p["X"], 0 * F, p["Wx"], p["Wo"], p["b"], p["Wy"], p["c"])[0]})]
        return judge("output_rnn_forward", ["O"], [O], {"O": ref}, tol=VALUE_TOL, kind="values",
                     compared_with="the reference", dims={"O": "T B K"}, sizes=sizes, variants=variants,
                     time_axes={"O": 0}, direction="forward", context=_ctx(sizes, seed))
    return run_check(body)


def grade_output_rnn_backward(fn, *, rng=None) -> Verdict:
    """Check ``output_rnn_backward(dO, cache) -> (dX, dWx, dWo, db, dWy, dc)``; cache = (X, F, Hs, Wx, Wo, Wy)."""
    def body():
        r, seed = fresh_rng(rng)
        sizes, p = _case(r)
        T, B, K = sizes["T"], sizes["B"], sizes["K"]
        F = _onehot(np.concatenate([-np.ones((1, B), dtype=np.int64), p["Y"][:-1]]), K)
        X, Wx, Wo, b, Wy, c = (p[k].copy() for k in ("X", "Wx", "Wo", "b", "Wy", "c"))
        O, Hs = output_rnn_reference(X, F, Wx, Wo, b, Wy, c)
        dO = r.standard_normal(O.shape)
        cache = (X, F, Hs, Wx, Wo, Wy)
        reject_reference(fn, "output_rnn_backward", _MODEL)
        grads = unpack(call_learner(fn, "output_rnn_backward", dO, cache), "output_rnn_backward",
                       ["dX", "dWx", "dWo", "db", "dWy", "dc"])

        def loss():
            return float(np.sum(output_rnn_reference(X, F, Wx, Wo, b, Wy, c)[0] * dO))
        num = numerical_gradients(loss, {"dX": X, "dWx": Wx, "dWo": Wo, "db": b, "dWy": Wy, "dc": c})
        dHs = dO @ Wy
        d = dHs * (1 - Hs ** 2)
        flat = lambda a: a.reshape(-1, a.shape[-1])  # noqa: E731
        variants = [("the tanh′ factor (1 − h²) is missing between dHs and the pre-activation.",
                     {"dX": dHs @ Wx, "dWx": flat(dHs).T @ flat(X), "dWo": flat(dHs).T @ flat(F),
                      "db": flat(dHs).sum(0)}),
                    ("the parameter gradients hold only the last step: sum over all steps (the steps are "
                     "independent here, but the parameters are shared).",
                     {"dWx": d[-1].T @ X[-1], "dWo": d[-1].T @ F[-1], "db": d[-1].sum(0), "dWy": dO[-1].T @ Hs[-1],
                      "dc": dO[-1].sum(0)}),
                    ("dWo is transposed: it has the shape of Wo, (H, K) = δᵀ @ onehot(f).",
                     {"dWo": (flat(d).T @ flat(F)).T})]
        dims = {"dX": "T B D", "dWx": "H D", "dWo": "H K", "db": "H", "dWy": "K H", "dc": "K"}
        return judge("output_rnn_backward", list(dims), grads, num, tol=GRAD_TOL, kind="gradients",
                     compared_with="central differences", dims=dims, sizes=sizes, variants=variants,
                     time_axes={"dX": 0}, context=_ctx(sizes, seed))
    return run_check(body)


def _closed_loop(X, Wx, Wo, b, Wy, c, mode=None):
    T, B, _ = X.shape
    K = Wy.shape[0]
    fed = -np.ones(B, dtype=np.int64) if mode != "start_zero" else np.zeros(B, dtype=np.int64)
    tokens = np.zeros((T, B), dtype=np.int64)
    prev_o = np.zeros((B, K))
    for t in range(T):
        f = _onehot(fed, K) if mode != "feeds_probs" else (np.exp(prev_o) / np.exp(prev_o).sum(-1, keepdims=True)
                                                            if t > 0 else np.zeros((B, K)))
        h = np.tanh(b + X[t] @ Wx.T + f @ Wo.T)
        o = c + h @ Wy.T
        tokens[t] = o.argmax(-1)
        prev_o = o
        fed = tokens[t] if mode != "no_feedback" else -np.ones(B, dtype=np.int64)
    return tokens


def grade_generate_closed_loop(fn, *, rng=None) -> Verdict:
    """Check ``generate_closed_loop(X, Wx, Wo, b, Wy, c) -> tokens`` (T, B): greedy, own predictions fed back."""
    def body():
        r, seed = fresh_rng(rng)
        # Inputs on which every known mistake changes at least one token (drawn again otherwise).
        for _ in range(50):
            sizes, p = _case(r, long=True)
            args = (p["X"], p["Wx"], p["Wo"], p["b"], p["Wy"], p["c"])
            expected = _closed_loop(*args)
            variants = [("the first step must be fed nothing (a zero vector), not class 0.",
                         _closed_loop(*args, mode="start_zero")),
                        ("the prediction is not fed back: step t receives the token the model chose at step t-1.",
                         _closed_loop(*args, mode="no_feedback")),
                        ("feed back the one-hot of the chosen token (argmax), not the probabilities.",
                         _closed_loop(*args, mode="feeds_probs"))]
            if all(not np.array_equal(v, expected) for _, v in variants):
                break
        reject_reference(fn, "generate_closed_loop", _MODEL, probe=lambda: _with_nan(args, 0))
        out = _tokens(call_learner(fn, "generate_closed_loop", *args), "generate_closed_loop", "tokens",
                      (sizes["T"], sizes["B"]))
        return _compare_tokens("generate_closed_loop", out, expected, variants, _ctx(sizes, seed))
    return run_check(body)


def _scheduled(X, Y, p_truth, P, seed, mode=None):
    r = np.random.default_rng(seed)
    T, B, _ = X.shape
    K = P["Wy"].shape[0]
    feedback = -np.ones((T, B), dtype=np.int64)
    teacher = np.concatenate([-np.ones((1, B), dtype=np.int64), Y[:-1]])
    fed = feedback[0]
    for t in range(1, T):
        f_prev = teacher[t - 1] if mode == "teacher_forced_predictions" else fed
        h = np.tanh(P["b"] + X[t - 1] @ P["Wx"].T + _onehot(f_prev, K) @ P["Wo"].T)
        pred = (P["c"] + h @ P["Wy"].T).argmax(-1)
        u = r.random(B)
        truth = u >= p_truth if mode == "inverted" else u < p_truth
        fed = np.where(truth, Y[t - 1], pred)
        feedback[t] = fed
    return feedback


def grade_scheduled_feedback(fn, *, rng=None) -> Verdict:
    """Check ``scheduled_feedback(X, Y, p_truth, params, rng) -> feedback`` against the same draws."""
    def body():
        r, seed = fresh_rng(rng)
        for _ in range(50):  # inputs on which every known mistake changes at least one token
            sizes, p = _case(r, long=True)
            params = {k: p[k] for k in ("Wx", "Wo", "b", "Wy", "c")}
            p_truth = float(r.uniform(0.3, 0.7))
            draw_seed = int(r.integers(0, 2**32))
            args = (p["X"], p["Y"], p_truth, params, draw_seed)
            expected = _scheduled(*args)
            if all(not np.array_equal(_scheduled(*args, mode=m), expected)
                   for m in ("inverted", "teacher_forced_predictions")):
                break
        reject_reference(fn, "scheduled_feedback", _MODEL,
                         probe=lambda: _with_nan((p["X"],), 0) + (p["Y"], p_truth, params, np.random.default_rng(0)))
        out = call_learner(fn, "scheduled_feedback", p["X"], p["Y"], p_truth, params,
                           np.random.default_rng(draw_seed))
        out = _tokens(out, "scheduled_feedback", "feedback", p["Y"].shape)
        variants = [("the coin is inverted: feed the truth where the draw is *below* p_truth.",
                     _scheduled(*args, mode="inverted")),
                    ("the model's prediction at step t-1 must be computed with the token actually fed at t-1 "
                     "(the mixed feedback), not with the teacher-forced one.",
                     _scheduled(*args, mode="teacher_forced_predictions"))]
        return _compare_tokens("scheduled_feedback", out, expected, variants,
                               _ctx(sizes, seed, f", p_truth={p_truth:.2f}"))
    return run_check(body)





