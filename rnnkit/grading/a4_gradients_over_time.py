r"""Checks for assignment a4-gradients-over-time (chapter 6).

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
from .. import optim as _optim
from ._core import (GRAD_TOL, VALUE_TOL, Verdict, _Failure, call_learner, distinct_sizes, fresh_rng, judge,
                    numerical_gradients, reject_reference, run_check, unpack)
from .a3_bptt import _with_nan, rnn_backward_variant

__all__ = ["numerical_jacobian",
           "grade_jacobian_to_last", "grade_clip_by_value", "grade_clip_by_global_norm", "grade_tbptt_backward"]


def _ctx(sizes, seed, extra=""):
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + extra + (f", seed={seed}" if seed is not None else "")


def _rnn_inputs(r, sizes):
    T, B, D, H = (sizes[k] for k in "TBDH")
    return (r.standard_normal((T, B, D)), 0.5 * r.standard_normal((B, H)), r.standard_normal((H, D)) / np.sqrt(D),
            1.2 * r.standard_normal((H, H)) / np.sqrt(H), 0.2 * r.standard_normal(H))


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


def grade_jacobian_to_last(fn, *, rng=None) -> Verdict:
    """Check ``jacobian_to_last(Hs, Ws, t) -> J`` (B, H, H) for t = 0 (the initial state), one t inside, and t = T."""
    def body():
        r, seed = fresh_rng(rng)
        sizes = distinct_sizes(r, "T B D H", 2, 7)
        X, h0, Wx, Ws, b = _rnn_inputs(r, sizes)
        T = sizes["T"]
        Hs, _ = _ref.rnn_forward(X, h0, Wx, Ws, b)
        for t in sorted({0, int(r.integers(1, T)), T}):
            J = call_learner(fn, "jacobian_to_last", Hs, Ws, t)
            # Ground truth: the chain-rule product on the reference states. (Central differences agree
            # with it to ~1e-9 absolute, which is not enough relative accuracy once the product has
            # vanished to 1e-5 — exactly the regime this exercise is about; tests/test_grading_table.py
            # checks the product against numerical_jacobian.)
            expected = _jacobian(Hs, Ws, t)
            variants = [(text, {"J": _jacobian(Hs, Ws, t, bug)}) for bug, text in JACOBIAN_BUGS.items()]
            v = judge("jacobian_to_last", ["J"], [J], {"J": expected}, tol=VALUE_TOL, kind="derivatives",
                      compared_with="the chain-rule product on the reference states", dims={"J": "B H H"},
                      sizes=sizes, variants=variants, context=_ctx(sizes, seed, f", t={t}"))
            if not v.passed:
                return v
        return Verdict(True, f"jacobian_to_last correct for several t ({_ctx(sizes, seed)}).")
    return run_check(body)


# ---------------------------------------------------------------------------
# clipping
# ---------------------------------------------------------------------------

def _grads(r, scale):
    sizes = distinct_sizes(r, "D H K", 2, 7)
    D, H, K = sizes["D"], sizes["H"], sizes["K"]
    shapes = {"Wx": (H, D), "Ws": (H, H), "b": (H,), "Wy": (K, H), "c": (K,)}
    return sizes, {k: scale * r.standard_normal(s) for k, s in shapes.items()}


def _with_nan_entry(grads):
    """A copy of the gradient dict with one NaN (rnnkit's clipping functions reject it)."""
    out = {k: v.copy() for k, v in grads.items()}
    out["b"][0] = np.nan
    return out


def _check_dict(out, grads, func):
    if not isinstance(out, dict):
        raise _Failure(f"{func} must return a dict name -> array; got {type(out).__name__}.")
    if set(out) != set(grads):
        raise _Failure(f"{func} must return the same keys as its input: expected {sorted(grads)}, got {sorted(out)}.")


def _untouched(func, grads, original):
    for k in grads:
        if not np.array_equal(grads[k], original[k]):
            raise _Failure(f"{func} modified its input gradient '{k}' in place; return new arrays instead "
                           f"(the caller may still need the unclipped gradients).")


def grade_clip_by_value(fn, *, rng=None) -> Verdict:
    """Check ``clip_by_value(grads, limit) -> dict``: every entry clipped into [−limit, limit]."""
    def body():
        r, seed = fresh_rng(rng)
        sizes, grads = _grads(r, 3.0)
        limit = float(r.uniform(0.5, 2.0))
        original = {k: v.copy() for k, v in grads.items()}
        reject_reference(fn, "clip_by_value", {"clip_by_value": _optim.clip_by_value},
                         probe=lambda: (_with_nan_entry(grads), limit))
        # called on the checker's own dict (not a copy) to see whether it is modified in place
        out = call_learner(fn, "clip_by_value", grads, limit, copy_args=False)
        _untouched("clip_by_value", grads, original)
        _check_dict(out, grads, "clip_by_value")
        names = sorted(grads)
        expected = {k: np.clip(original[k], -limit, limit) for k in names}
        variants = [("only the positive side is clipped: clip into [−limit, limit].",
                     {k: np.minimum(original[k], limit) for k in names}),
                    ("the entries are rescaled instead of clipped one by one: clipping by value sets every "
                     "entry above limit to limit and every entry below −limit to −limit.",
                     {k: original[k] * min(1.0, limit / np.abs(original[k]).max()) for k in names})]
        return judge("clip_by_value", names, [out[k] for k in names], expected, tol=VALUE_TOL, kind="values",
                     compared_with="the reference", variants=variants,
                     context=_ctx(sizes, seed, f", limit={limit:.3f}"))
    return run_check(body)


def grade_clip_by_global_norm(fn, *, rng=None) -> Verdict:
    """Check ``clip_by_global_norm(grads, max_norm) -> (dict, norm_before)``, above and below the threshold."""
    def body():
        r, seed = fresh_rng(rng)
        sizes, grads = _grads(r, 1.0)
        norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
        names = sorted(grads)
        for max_norm in (norm * float(r.uniform(0.2, 0.6)), norm * float(r.uniform(1.5, 3.0))):
            original = {k: v.copy() for k, v in grads.items()}
            reject_reference(fn, "clip_by_global_norm", {"clip_by_global_norm": _optim.clip_by_global_norm},
                             probe=lambda: (_with_nan_entry(grads), max_norm))
            out = call_learner(fn, "clip_by_global_norm", grads, max_norm, copy_args=False)
            _untouched("clip_by_global_norm", grads, original)
            clipped, norm_before = unpack(out, "clip_by_global_norm", ["clipped", "norm"])
            _check_dict(clipped, grads, "clip_by_global_norm")
            scale = min(1.0, max_norm / norm)
            expected = {k: original[k] * scale for k in names} | {"norm": np.array(norm)}
            per_tensor = {k: original[k] * min(1.0, max_norm / np.linalg.norm(original[k])) for k in names}
            variants = [
                ("each array is clipped to max_norm on its own; the global norm √(Σ‖g‖²) over all arrays "
                 "together decides one common factor, so the direction of the whole update is kept.", per_tensor),
                ("the gradients are scaled up when their norm is below max_norm: the factor is "
                 "min(1, max_norm / norm).", {k: original[k] * max_norm / norm for k in names}),
                ("the norm is missing its square root: ‖g‖ = √(Σ g²).",
                 {"norm": np.array(norm ** 2)} | {k: original[k] * min(1.0, max_norm / norm ** 2) for k in names}),
            ]
            got = [clipped[k] for k in names] + [norm_before]
            v = judge("clip_by_global_norm", names + ["norm"], got, expected, tol=VALUE_TOL, kind="values",
                      compared_with="the reference", variants=variants,
                      context=_ctx(sizes, seed, f", max_norm={max_norm:.3f}, norm={norm:.3f}"))
            if not v.passed:
                return v
        return Verdict(True, f"clip_by_global_norm correct above and below the threshold ({_ctx(sizes, seed)}).")
    return run_check(body)


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


def grade_tbptt_backward(fn, *, rng=None) -> Verdict:
    """Check ``tbptt_backward(dHs, cache, k) -> (dX, dWx, dWs, db)`` with ``cache = (X, h0, Hs, Wx, Ws)``."""
    def body():
        r, seed = fresh_rng(rng)
        sizes = distinct_sizes(r, "B D H", 2, 6)
        k = int(r.integers(2, 4))
        sizes = {"T": int(k * r.integers(2, 4) + r.integers(1, k)), **sizes}   # T not a multiple of k
        X, h0, Wx, Ws, b = _rnn_inputs(r, sizes)
        Wx, Ws, b = Wx.copy(), Ws.copy(), b.copy()
        dHs = r.standard_normal((sizes["T"], sizes["B"], sizes["H"]))
        Hs, _ = _ref.rnn_forward(X, h0, Wx, Ws, b)
        cache = (X, h0, Hs, Wx, Ws)
        reject_reference(fn, "tbptt_backward", {"rnn_backward": _ref.rnn_backward,
                                                "rnn_step_backward": _ref.rnn_step_backward,
                                                "tbptt_loss_and_grads": None},
                         probe=lambda: _with_nan((dHs, cache, k), 0))
        out = call_learner(fn, "tbptt_backward", dHs, cache, k)
        grads = unpack(out, "tbptt_backward", ["dX", "dWx", "dWs", "db"])
        # Ground truth: central differences of Σ_chunks L_chunk, each chunk run from its incoming state held fixed.
        T = sizes["T"]
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
                     time_axes={"dX": 0}, context=_ctx(sizes, seed, f", k={k}"))
    return run_check(body)




