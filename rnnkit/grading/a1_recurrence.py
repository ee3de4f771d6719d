r"""Checks for assignment a1-recurrence (chapters 1–2): one step, unrolling, counting parameters.

The recurrence of chapter 2 is :math:`s^{(t)} = f(s^{(t-1)}, x^{(t)}; \theta)` with the
same :math:`f` and :math:`\theta` at every step. The learner writes one step of the
tanh recurrence, a generic ``unroll(f, X, s0)`` that applies any transition ``f``
along a sequence, and the parameter count of the RNN with an output layer, which
does not depend on the sequence length.
"""
from __future__ import annotations

import numpy as np

from .. import layers as _ref
from ._core import (VALUE_TOL, Verdict, _Failure, call_learner, distinct_sizes, fresh_rng, judge, reject_reference,
                    run_check)
from .a3_bptt import NO_BIAS, NO_TANH, WS_NOT_T, _with_nan, rnn_case

__all__ = ["grade_recurrence_step", "grade_unroll", "grade_rnn_parameter_count", "judge_unroll",
           "judge_rnn_parameter_count"]

_DIMS = {"s": "B H", "S": "T B H"}


def _context(sizes, seed):
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + (f", seed={seed}" if seed is not None else "")


def grade_recurrence_step(fn, *, rng=None) -> Verdict:
    """Check ``recurrence_step(s_prev, x, Wx, Ws, b) -> s`` (B, H): s = tanh(b + Ws s_prev + Wx x)."""
    def body():
        r, seed = fresh_rng(rng)
        case = rnn_case(r)
        x, s_prev, Wx, Ws, b = case["X"][0], case["h0"], case["Wx"], case["Ws"], case["b"]
        args = (s_prev, x, Wx, Ws, b)
        reject_reference(fn, "recurrence_step", {"rnn_step_forward": _ref.rnn_step_forward,
                                                 "rnn_forward": _ref.rnn_forward},
                         probe=lambda: _with_nan(args, 1))
        s = call_learner(fn, "recurrence_step", *args)
        ref, _ = _ref.rnn_step_forward(x, s_prev, Wx, Ws, b)
        a = x @ Wx.T + s_prev @ Ws.T + b
        variants = [(NO_TANH, {"s": a}),
                    (WS_NOT_T.replace("h_prev", "s_prev"), {"s": np.tanh(x @ Wx.T + s_prev @ Ws + b)}),
                    (NO_BIAS, {"s": np.tanh(a - b)})]
        return judge("recurrence_step", ["s"], [s], {"s": ref}, tol=VALUE_TOL, kind="values",
                     compared_with="the reference on the same inputs", dims=_DIMS, sizes=case["sizes"],
                     variants=variants, context=_context(case["sizes"], seed))
    return run_check(body)


class _CountingTransition:
    """A transition f(s_prev, x) -> s that records how it was called (the checker's own object)."""

    def __init__(self, kind: str, rng: np.random.Generator, D: int, H: int):
        self.kind = kind
        self.calls: list[tuple[tuple, tuple]] = []
        self.A = rng.standard_normal((H, H)) / np.sqrt(H)
        self.Bm = rng.standard_normal((H, D)) / np.sqrt(D)

    def __call__(self, s_prev, x):
        s_prev = np.asarray(s_prev, dtype=np.float64)
        x = np.asarray(x, dtype=np.float64)
        self.calls.append((s_prev.shape, x.shape))
        if s_prev.shape[-1] != self.A.shape[0] or x.shape[-1] != self.Bm.shape[1]:
            raise ValueError(f"f(s_prev, x): expected s_prev (..., {self.A.shape[0]}) and x (..., {self.Bm.shape[1]}), "
                             f"got shapes {s_prev.shape} and {x.shape} — state first, then input")
        if self.kind == "tanh":
            return np.tanh(s_prev @ self.A.T + x @ self.Bm.T)
        # a transition that is not an RNN layer: the unrolling must not assume one
        return 0.6 * s_prev * np.cos(x @ self.Bm.T) + 0.3 * np.sin(s_prev @ self.A.T)


def _unroll_reference(f, X, s0, mode=None):
    s, out = s0, []
    seq = X[::-1] if mode == "reversed" else X
    for x in seq:
        s_new = f(s, x)
        out.append(s if mode == "shifted" else s_new)
        s = s0 if mode == "not_carried" else s_new
    S = np.stack(out)
    if mode == "with_s0":
        S = np.concatenate([s0[None], S])
    return S


UNROLL_BUGS = {
    "not_carried": "the state is not carried: every step must start from the state the previous step produced, "
                   "not from s0.",
    "shifted": "S is shifted by one step: S[t] must be the state after reading X[t], i.e. s⁽¹⁾ … s⁽ᵀ⁾.",
    "with_s0": "S includes s0: return the T new states s⁽¹⁾ … s⁽ᵀ⁾, shape (T, B, H).",
    "reversed": "the sequence is read backwards: the recurrence runs forward in time, X[0] first.",
}


def judge_unroll(X, s0, S, f_kind: str, f_params: tuple, sizes: dict, seed=None) -> Verdict:
    """Judge ``S`` returned by ``unroll`` for the transition of kind ``f_kind`` with parameters ``(A, Bm)``."""
    f = _CountingTransition.__new__(_CountingTransition)
    f.kind, f.calls, (f.A, f.Bm) = f_kind, [], f_params
    ref = _unroll_reference(f, X, s0)
    variants = [(text, {"S": _unroll_reference(f, X, s0, bug)}) for bug, text in UNROLL_BUGS.items()]
    return judge("unroll", ["S"], [S], {"S": ref}, tol=VALUE_TOL, kind="values",
                 compared_with="unrolling the same f", dims=_DIMS, sizes=sizes, variants=variants,
                 time_axes={"S": 0}, direction="forward", context=_context(sizes, seed))


def grade_unroll(fn, *, rng=None) -> Verdict:
    """Check ``unroll(f, X, s0) -> S`` (T, B, H) for two different transitions ``f``.

    Also checks that ``f`` is called exactly once per step, with ``(s_prev, x)``.
    """
    def body():
        r, seed = fresh_rng(rng)
        sizes = distinct_sizes(r, "T B D H", 2, 7)
        T, B, D, H = sizes["T"], sizes["B"], sizes["D"], sizes["H"]
        for kind in ("tanh", "other"):
            f = _CountingTransition(kind, r, D, H)
            X, s0 = r.standard_normal((T, B, D)), r.standard_normal((B, H))
            S = call_learner(fn, "unroll", f, X, s0)
            if len(f.calls) != T:
                raise _Failure(f"unroll called f {len(f.calls)} times for a sequence of T={T} steps; "
                               f"the same f is applied exactly once per step ({_context(sizes, seed)}).")
            verdict = judge_unroll(X, s0, S, kind, (f.A, f.Bm), sizes, seed)
            if not verdict.passed:
                return verdict
        return Verdict(True, f"unroll: correct for two transitions ({_context(sizes, seed)}).")
    return run_check(body)


PARAM_BUGS = [
    (lambda D, H, K: H * D + H * H + K * H, "the biases are missing: b has H entries and c has K."),
    (lambda D, H, K: H * D + H * H + H, "the output layer is missing: Wy (K, H) and c (K,)."),
    (lambda D, H, K: 2 * H * D + H + K * H + K, "Ws maps the state to the state: it is (H, H), not (H, D)."),
    (lambda D, H, K: H * D + H * H + K * H + K, "the state bias b (H,) is missing."),
    (lambda D, H, K: H * D + H * H + H + K * H, "the output bias c (K,) is missing."),
]


def judge_rnn_parameter_count(triples, answers, seed=None) -> Verdict:
    """Judge the learner's counts for each ``(D, H, K)`` in ``triples``."""
    for (D, H, K), got in zip(triples, answers):
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            if isinstance(got, (float, np.floating)) and float(got).is_integer():
                got = int(got)
            else:
                return Verdict(False, f"rnn_parameter_count must return an integer; got {type(got).__name__}.")
        expected = H * D + H * H + H + K * H + K
        if int(got) != expected:
            msg = f"rnn_parameter_count({D}, {H}, {K}) returned {int(got)}; that is not the number of parameters."
            for bug, text in PARAM_BUGS:
                if int(got) == bug(D, H, K):
                    msg += f" Likely cause: {text}"
                    break
            else:
                msg += " Count the entries of Wx (H, D), Ws (H, H), b (H,), Wy (K, H) and c (K,)."
            return Verdict(False, msg)
    return Verdict(True, f"rnn_parameter_count: correct for {len(triples)} sizes.")


def grade_rnn_parameter_count(fn, *, rng=None) -> Verdict:
    """Check ``rnn_parameter_count(D, H, K) -> int`` on several random sizes."""
    def body():
        r, seed = fresh_rng(rng)
        triples = [tuple(int(v) for v in distinct_sizes(r, "D H K", 2, 60).values()) for _ in range(4)]
        answers = [call_learner(fn, "rnn_parameter_count", *t) for t in triples]
        return judge_rnn_parameter_count(triples, answers, seed)
    return run_check(body)



