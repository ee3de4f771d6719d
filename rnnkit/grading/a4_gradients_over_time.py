r"""Checks of assignment a4-gradients-over-time (chapter 6).

Each hidden test cell is a :class:`~rnnkit.grading.Check` in :data:`CHECKS`: a case builder
that draws fresh sizes and values in the grading process (plus fixed edge cases judged on
every run), and a judge that sees only what the learner's function returned on them.
``grade_*`` run a check in this process, for tests and trusted code.

* ``jacobian_to_last(Hs, Ws, t)``: :math:`\partial h^{(T)}/\partial h^{(t)}` for every sequence of
  the batch, the product of the per-step Jacobians
  :math:`\partial h^{(k)}/\partial h^{(k-1)} = \operatorname{diag}(1 - h^{(k)2})\, W_s`;
  checked against that product on the reference states (which the test suite checks against
  central differences of the recurrence run from :math:`h^{(t)}`).
* ``clip_by_value`` and ``clip_by_global_norm`` on dicts of gradients (new dicts, inputs untouched).
* ``tbptt_backward(dHs, cache, k)``: BPTT with the carried gradient cut at the borders of
  chunks of ``k`` steps (``[0, k), [k, 2k), ...``); checked against central differences of
  the sum of the chunks' losses, each chunk started from its (fixed) incoming state.
"""
from __future__ import annotations

import numpy as np

from .. import layers as _ref
from ..casefile import Other
from ._core import (GRAD_TOL, VALUE_TOL, Check, Verdict, _Failure, distinct_sizes, judge, modified_warning,
                    numerical_gradients, returned)
from .a3_bptt import rnn_backward_variant

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD", "numerical_jacobian",
           "grade_jacobian_to_last", "grade_clip_by_value", "grade_clip_by_global_norm", "grade_tbptt_backward"]

#: What the notebook may import from rnnkit inside the grading sandbox. Its setup cell does
#: ``import rnnkit`` (for the visible tests only); no solution cell needs anything from it.
SANDBOX_EXPORTS = ()

#: rnnkit functions that compute (or trivially give) a graded function of this assignment.
SANDBOX_WITHHELD = ("clip_by_value", "clip_by_global_norm", "global_norm", "tbptt_loss_and_grads",
                    "rnn_step_forward", "rnn_forward", "rnn_step_backward", "rnn_backward")


def _ctx(sizes, seed=None, extra=""):
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + extra + (f", seed={seed}" if seed is not None else "")


def _rnn_inputs(r, sizes):
    T, B, D, H = (sizes[k] for k in "TBDH")
    return (r.standard_normal((T, B, D)), 0.5 * r.standard_normal((B, H)), r.standard_normal((H, D)) / np.sqrt(D),
            1.2 * r.standard_normal((H, H)) / np.sqrt(H), 0.2 * r.standard_normal(H))


def _first_failure(verdicts, records, func, arg_names, passed_text):
    """The first failed verdict; else the in-place warning as a failure; else a pass."""
    for v in verdicts:
        if not v.passed:
            return v
    warning = modified_warning(records, func, arg_names)
    if warning:
        return Verdict(False, warning)
    return Verdict(True, passed_text)


# ---------------------------------------------------------------------------
# Jacobian of the last state with respect to an earlier one
# ---------------------------------------------------------------------------

def _jacobian(Hs, Ws, t, bug=None):
    """The product of per-step Jacobians from step t+1 to T (book numbering), with one mistake or none."""
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    lowest = t if bug == "extra_factor" else t + 1
    for k in range(T, max(lowest, 1) - 1, -1):       # book steps k = T ... lowest, Hs[k-1] = h^(k)
        h_k = Hs[k - 2] if bug == "h_prev" and k >= 2 else Hs[k - 1]
        d = np.ones((B, H)) if bug == "no_tanh_prime" else 1 - h_k ** 2
        W = Ws.T if bug == "ws_t" else Ws
        step = W[None] * d[:, None, :] if bug == "wrong_order" else d[:, :, None] * W[None]
        J = step @ J if bug == "reversed_product" else J @ step
    if bug == "transposed":
        J = np.transpose(J, (0, 2, 1))
    return J


JACOBIAN_BUGS = {
    "no_tanh_prime": "tanh′ is missing: each factor is diag(1 − h⁽ᵏ⁾²) Ws, not Ws alone.",
    "h_prev": "each factor uses the wrong state in tanh′: ∂h⁽ᵏ⁾/∂h⁽ᵏ⁻¹⁾ = diag(1 − h⁽ᵏ⁾²) Ws, with the "
              "state *after* step k.",
    "ws_t": "Ws.T appears where Ws belongs: h⁽ᵏ⁾ = tanh(… + Ws h⁽ᵏ⁻¹⁾), so ∂h⁽ᵏ⁾/∂h⁽ᵏ⁻¹⁾ = diag(1 − h⁽ᵏ⁾²) Ws.",
    "wrong_order": "the factors of one step are in the wrong order: diag(1 − h⁽ᵏ⁾²) Ws, not Ws diag(1 − h⁽ᵏ⁾²).",
    "reversed_product": "the product is multiplied in the wrong order: the chain rule gives "
                        "J⁽ᵀ⁾ J⁽ᵀ⁻¹⁾ … J⁽ᵗ⁺¹⁾, the latest step on the left.",
    "extra_factor": "one factor too many: the product runs over k = t+1 … T (for t = T it is the identity).",
    "transposed": "J is transposed: J[b, i, j] = ∂h⁽ᵀ⁾ᵢ / ∂h⁽ᵗ⁾ⱼ (rows: the last state).",
}


def numerical_jacobian(X, h_t, Wx, Ws, b, t, eps=1e-6):
    """Central differences of h^(T) with respect to h^(t): rerun steps t+1 … T from a perturbed h^(t)."""
    B, H = h_t.shape

    def last(h):
        for k in range(t, X.shape[0]):
            h = np.tanh(X[k] @ Wx.T + h @ Ws.T + b)
        return h
    J = np.zeros((B, H, H))
    for j in range(H):
        step = np.zeros((B, H))
        step[:, j] = eps          # sequences are independent: perturb column j of every row at once
        J[:, :, j] = (last(h_t + step) - last(h_t - step)) / (2 * eps)
    return J


def _jacobian_case(r, sizes, ts=None):
    X, h0, Wx, Ws, b = _rnn_inputs(r, sizes)
    T = sizes["T"]
    Hs, _ = _ref.rnn_forward(X, h0, Wx, Ws, b)
    if ts is None:  # the initial state, one step inside, and t = T (the identity)
        ts = sorted({0, int(r.integers(1, T)), T})
    return [{"sizes": sizes, "Hs": Hs, "Ws": Ws, "t": int(t)} for t in ts]


def _build_jacobian(rng):
    cases = _jacobian_case(rng, distinct_sizes(rng, "T B D H", 2, 7))
    # Fixed edge cases, judged on every run: one step and one sequence (T = B = 1), and a long
    # sequence over which the product vanishes by orders of magnitude.
    cases += _jacobian_case(np.random.default_rng(20261204), {"T": 1, "B": 1, "D": 2, "H": 3}, ts=(0, 1))
    cases += _jacobian_case(np.random.default_rng(20261205), {"T": 12, "B": 2, "D": 3, "H": 4}, ts=(0, 6))
    return [(c["Hs"], c["Ws"], c["t"]) for c in cases], cases


def _judge_jacobian(cases, records):
    verdicts = []
    for i, c in enumerate(cases):
        (J,) = returned(records, i, "jacobian_to_last", ["J"])
        Hs, Ws, t = c["Hs"], c["Ws"], c["t"]
        # Ground truth: the chain-rule product on the reference states. (Central differences agree
        # with it to ~1e-9 absolute, which is not enough relative accuracy once the product has
        # vanished to 1e-5 — exactly the regime this exercise is about; tests/test_grading_table.py
        # checks the product against numerical_jacobian.)
        expected = _jacobian(Hs, Ws, t)
        variants = [(text, {"J": _jacobian(Hs, Ws, t, bug)}) for bug, text in JACOBIAN_BUGS.items()]
        verdicts.append(judge("jacobian_to_last", ["J"], [J], {"J": expected}, tol=VALUE_TOL, kind="derivatives",
                              compared_with="the chain-rule product on the reference states", dims={"J": "B H H"},
                              sizes=c["sizes"], variants=variants, context=_ctx(c["sizes"], extra=f", t={t}")))
    return _first_failure(verdicts, records, "jacobian_to_last", ["Hs", "Ws", "t"],
                          f"jacobian_to_last correct for several t ({_ctx(cases[0]['sizes'])}, and fixed edge cases).")


JACOBIAN_TO_LAST = Check("test_jacobian_to_last", "jacobian_to_last", build=_build_jacobian, judge=_judge_jacobian)


# ---------------------------------------------------------------------------
# clipping
# ---------------------------------------------------------------------------

def _grads(r, scale):
    sizes = distinct_sizes(r, "D H K", 2, 7)
    D, H, K = sizes["D"], sizes["H"], sizes["K"]
    shapes = {"Wx": (H, D), "Ws": (H, H), "b": (H,), "Wy": (K, H), "c": (K,)}
    return sizes, {k: scale * r.standard_normal(s) for k, s in shapes.items()}


def _global_norm(grads) -> float:
    return float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))


def _type_name(value) -> str:
    return value.type_name if isinstance(value, Other) else type(value).__name__


def _check_dict(out, grads, func):
    if not isinstance(out, dict):
        raise _Failure(f"{func} must return a dict name -> array; got {_type_name(out)}.")
    if set(out) != set(grads):
        raise _Failure(f"{func} must return the same keys as its input: expected {sorted(grads)}, got {sorted(out)}.")


UNCLIPPED_VALUE = ("the returned gradients are the input's, unclipped: every entry above limit must become limit "
                   "and every entry below −limit become −limit (return the new, clipped arrays).")
UNCLIPPED_NORM = ("the returned gradients are the input's, unscaled: when the global norm exceeds max_norm, every "
                  "array must be multiplied by max_norm / norm (return the new, scaled arrays).")


def _clip_value_edge_case() -> dict:
    """Entries exactly at ±limit and a 3-d array: judged on every run."""
    grads = {"W": np.array([[3.0, -0.5], [-4.0, 1.0]]), "b": np.array([0.2, -2.0, 0.0]),
             "E": np.array([[[1.0, -1.0]], [[0.99, -1.01]], [[2.5, -0.25]]])}
    return {"sizes": {"arrays": len(grads)}, "grads": grads, "limit": 1.0}


def _build_clip_value(rng):
    sizes, grads = _grads(rng, 3.0)
    cases = [{"sizes": sizes, "grads": grads, "limit": float(rng.uniform(0.5, 2.0))}, _clip_value_edge_case()]
    return [(c["grads"], c["limit"]) for c in cases], cases


def _judge_clip_value(cases, records):
    verdicts = []
    for i, c in enumerate(cases):
        (out,) = returned(records, i, "clip_by_value", ["clipped"])
        grads, limit = c["grads"], c["limit"]
        _check_dict(out, grads, "clip_by_value")
        names = sorted(grads)
        expected = {k: np.clip(grads[k], -limit, limit) for k in names}
        variants = [(UNCLIPPED_VALUE, {k: grads[k] for k in names}),
                    ("only the positive side is clipped: clip into [−limit, limit].",
                     {k: np.minimum(grads[k], limit) for k in names}),
                    ("the entries are rescaled instead of clipped one by one: clipping by value sets every "
                     "entry above limit to limit and every entry below −limit to −limit.",
                     {k: grads[k] * min(1.0, limit / np.abs(grads[k]).max()) for k in names})]
        verdicts.append(judge("clip_by_value", names, [out[k] for k in names], expected, tol=VALUE_TOL,
                              kind="values", compared_with="the reference", variants=variants,
                              context=_ctx(c["sizes"], extra=f", limit={limit:.3f}")))
    return _first_failure(verdicts, records, "clip_by_value", ["grads", "limit"],
                          f"clip_by_value correct ({_ctx(cases[0]['sizes'])}, and a fixed edge case).")


CLIP_BY_VALUE = Check("test_clip_by_value", "clip_by_value", build=_build_clip_value, judge=_judge_clip_value)


def _build_clip_norm(rng):
    sizes, grads = _grads(rng, 1.0)
    norm = _global_norm(grads)
    # above and below the threshold on the same gradients
    cases = [{"sizes": sizes, "grads": grads, "max_norm": norm * float(rng.uniform(0.2, 0.6))},
             {"sizes": sizes, "grads": grads, "max_norm": norm * float(rng.uniform(1.5, 3.0))}]
    # Fixed edge cases, judged on every run: a 3-d array among others, and a dict of one array
    # (where the global norm is that array's norm).
    r = np.random.default_rng(20261206)
    fixed = {"W": r.standard_normal((3, 2)), "E": r.standard_normal((2, 1, 4)), "b": r.standard_normal(3)}
    single = {"W": 2.0 * r.standard_normal((4, 3))}
    cases += [{"sizes": {"arrays": 3}, "grads": fixed, "max_norm": 0.4 * _global_norm(fixed)},
              {"sizes": {"arrays": 1}, "grads": single, "max_norm": 0.5 * _global_norm(single)}]
    return [(c["grads"], c["max_norm"]) for c in cases], cases


def _judge_clip_norm(cases, records):
    verdicts = []
    for i, c in enumerate(cases):
        clipped, norm_before = returned(records, i, "clip_by_global_norm", ["clipped", "norm"])
        grads, max_norm = c["grads"], c["max_norm"]
        _check_dict(clipped, grads, "clip_by_global_norm")
        names = sorted(grads)
        norm = _global_norm(grads)
        scale = min(1.0, max_norm / norm)
        expected = {k: grads[k] * scale for k in names} | {"norm": np.array(norm)}
        per_tensor = {k: grads[k] * min(1.0, max_norm / np.linalg.norm(grads[k])) for k in names}
        variants = [
            # first: an unclipped result also matches per-tensor clipping on every array below max_norm
            (UNCLIPPED_NORM, {k: grads[k] for k in names} | {"norm": np.array(norm)}),
            ("each array is clipped to max_norm on its own; the global norm √(Σ‖g‖²) over all arrays "
             "together decides one common factor, so the direction of the whole update is kept.", per_tensor),
            ("the gradients are scaled up when their norm is below max_norm: the factor is "
             "min(1, max_norm / norm).", {k: grads[k] * max_norm / norm for k in names}),
            ("the norm is missing its square root: ‖g‖ = √(Σ g²).",
             {"norm": np.array(norm ** 2)} | {k: grads[k] * min(1.0, max_norm / norm ** 2) for k in names}),
        ]
        got = [clipped[k] for k in names] + [norm_before]
        verdicts.append(judge("clip_by_global_norm", names + ["norm"], got, expected, tol=VALUE_TOL, kind="values",
                              compared_with="the reference", variants=variants,
                              context=_ctx(c["sizes"], extra=f", max_norm={max_norm:.3f}, norm={norm:.3f}")))
    return _first_failure(verdicts, records, "clip_by_global_norm", ["grads", "max_norm"],
                          f"clip_by_global_norm correct above and below the threshold ({_ctx(cases[0]['sizes'])}, "
                          f"and fixed edge cases).")


CLIP_BY_GLOBAL_NORM = Check("test_clip_by_global_norm", "clip_by_global_norm", build=_build_clip_norm,
                            judge=_judge_clip_norm)


# ---------------------------------------------------------------------------
# truncated BPTT
# ---------------------------------------------------------------------------

def _chunks(T, k, aligned_end=False):
    if aligned_end:
        starts = sorted({max(0, s) for s in range(T - k, -k, -k)})
        return [(s, e) for s, e in zip(starts, starts[1:] + [T])]
    return [(s, min(s + k, T)) for s in range(0, T, k)]


def _tbptt_analytic(X, h0, Wx, Ws, b, dHs, k, mode=None):
    Hs, _ = _ref.rnn_forward(X, h0, Wx, Ws, b)
    T = X.shape[0]
    if mode == "full":
        chunks = [(0, T)]
    elif mode == "aligned_end":
        chunks = _chunks(T, k, aligned_end=True)
    elif mode == "k_plus_one":
        chunks = _chunks(T, k + 1)
    else:
        chunks = _chunks(T, k)
    out = {"dX": np.zeros_like(X), "dWx": np.zeros_like(Wx), "dWs": np.zeros_like(Ws), "db": np.zeros_like(b)}
    for s, e in chunks:
        start = h0 if s == 0 else Hs[s - 1]
        g = rnn_backward_variant(X[s:e], start, Hs[s:e], Wx, Ws, dHs[s:e])
        out["dX"][s:e] = g["dX"]
        for name in ("dWx", "dWs", "db"):
            out[name] += g[name]
    return out


TBPTT_BUGS = {
    "full": "the gradient crosses the chunk borders: in truncated BPTT the gradient carried backwards is reset "
            "to zero at the start of every chunk of k steps.",
    "aligned_end": "the chunks start at the wrong place: they are [0, k), [k, 2k), … counted from the first step.",
    "k_plus_one": "the chunks are one step too long: each holds k steps.",
}


def _tbptt_case(r, sizes, k):
    X, h0, Wx, Ws, b = _rnn_inputs(r, sizes)
    dHs = r.standard_normal((sizes["T"], sizes["B"], sizes["H"]))
    Hs, _ = _ref.rnn_forward(X, h0, Wx, Ws, b)
    return {"sizes": sizes, "k": int(k), "X": X, "h0": h0, "Wx": Wx, "Ws": Ws, "b": b, "dHs": dHs, "Hs": Hs}


def _build_tbptt(rng):
    sizes = distinct_sizes(rng, "B D H", 2, 6)
    k = int(rng.integers(2, 4))
    sizes = {"T": int(k * rng.integers(2, 4) + rng.integers(1, k)), **sizes}   # T not a multiple of k
    cases = [_tbptt_case(rng, sizes, k)]
    # Fixed edge cases, judged on every run: T a multiple of k, k = 1 (nothing carried), k > T (full BPTT).
    r = np.random.default_rng(20261207)
    cases += [_tbptt_case(r, {"T": 6, "B": 2, "D": 3, "H": 4}, 3),
              _tbptt_case(r, {"T": 4, "B": 3, "D": 2, "H": 5}, 1),
              _tbptt_case(r, {"T": 3, "B": 1, "D": 4, "H": 2}, 5)]
    return [(c["dHs"], (c["X"], c["h0"], c["Hs"], c["Wx"], c["Ws"]), c["k"]) for c in cases], cases


def _judge_tbptt_case(case: dict, grads) -> Verdict:
    """Judge ``(dX, dWx, dWs, db)`` against central differences of the truncated objective."""
    X, h0, Wx, Ws, b = (case[n].copy() for n in ("X", "h0", "Wx", "Ws", "b"))
    dHs, Hs, k, sizes = case["dHs"], case["Hs"], case["k"], case["sizes"]
    T = sizes["T"]
    # Ground truth: central differences of Σ_chunks L_chunk, each chunk run from its incoming state held fixed.
    starts = [h0 if s == 0 else Hs[s - 1] for s, _ in _chunks(T, k)]
    Xp = X.copy()

    def loss():
        total = 0.0
        for (s, e), h_start in zip(_chunks(T, k), starts):
            Hc, _ = _ref.rnn_forward(Xp[s:e], h_start, Wx, Ws, b)
            total += float(np.sum(Hc * dHs[s:e]))
        return total
    num = numerical_gradients(loss, {"dX": Xp, "dWx": Wx, "dWs": Ws, "db": b})
    variants = [(text, _tbptt_analytic(X, h0, Wx, Ws, b, dHs, k, mode)) for mode, text in TBPTT_BUGS.items()]
    return judge("tbptt_backward", ["dX", "dWx", "dWs", "db"], grads, num, tol=GRAD_TOL, kind="gradients",
                 compared_with="central differences of the truncated objective",
                 dims={"dX": "T B D", "dWx": "H D", "dWs": "H H", "db": "H"}, sizes=sizes, variants=variants,
                 time_axes={"dX": 0}, context=_ctx(sizes, extra=f", k={k}"))


def _judge_tbptt(cases, records):
    verdicts = [_judge_tbptt_case(c, returned(records, i, "tbptt_backward", ["dX", "dWx", "dWs", "db"]))
                for i, c in enumerate(cases)]
    first = _ctx(cases[0]["sizes"], extra=f", k={cases[0]['k']}")
    return _first_failure(verdicts, records, "tbptt_backward", ["dHs", "cache", "k"],
                          f"tbptt_backward correct ({first}, and fixed edge cases with T a multiple of k, "
                          f"k = 1 and k > T).")


TBPTT_BACKWARD = Check("test_tbptt_backward", "tbptt_backward", build=_build_tbptt, judge=_judge_tbptt)

#: The hidden test cells of a4-gradients-over-time, by grade_id.
CHECKS = {c.grade_id: c for c in (JACOBIAN_TO_LAST, CLIP_BY_VALUE, CLIP_BY_GLOBAL_NORM, TBPTT_BACKWARD)}


# ---------------------------------------------------------------------------
# in-process wrappers (tests, trusted code)
# ---------------------------------------------------------------------------

def grade_jacobian_to_last(fn, *, rng=None) -> Verdict:
    """Check ``jacobian_to_last(Hs, Ws, t) -> J`` (B, H, H) for t = 0 (the initial state), one t inside, and t = T."""
    return JACOBIAN_TO_LAST.grade(fn, rng=rng)


def grade_clip_by_value(fn, *, rng=None) -> Verdict:
    """Check ``clip_by_value(grads, limit) -> dict``: every entry clipped into [−limit, limit]."""
    return CLIP_BY_VALUE.grade(fn, rng=rng)


def grade_clip_by_global_norm(fn, *, rng=None) -> Verdict:
    """Check ``clip_by_global_norm(grads, max_norm) -> (dict, norm_before)``, above and below the threshold."""
    return CLIP_BY_GLOBAL_NORM.grade(fn, rng=rng)


def grade_tbptt_backward(fn, *, rng=None) -> Verdict:
    """Check ``tbptt_backward(dHs, cache, k) -> (dX, dWx, dWs, db)`` with ``cache = (X, h0, Hs, Wx, Ws)``."""
    return TBPTT_BACKWARD.grade(fn, rng=rng)
