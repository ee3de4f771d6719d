r"""Checks of assignment a4-gradients-over-time (chapter 6).

Each hidden test cell is a :class:`~rnnkit.grading.Check` in :data:`CHECKS`: a case builder
that draws fresh sizes and values in the grading process (plus fixed edge cases judged on
every run), and a judge that sees only what the learner's function returned on them.
``grade_*`` run a check in this process, for tests and trusted code.

Besides the cases, every check asks the learner's function about *probe cases*: fixed inputs on
which one part of the computation cannot show a mistake (t = T, h = 0, Ws symmetric, B = 1,
nothing to clip, k = 1, k ≥ T, ...). The classic mistakes are named from a catalogue of buggy
variants; when none matches, which probe cases pass and which fail names the part at fault
(:func:`rnnkit.grading._core.probe_conclusion`). Probe cases are fixed, so a regrade of the
same code gives the same score.

* ``jacobian_to_last(Hs, Ws, t)``: :math:`\partial h^{(T)}/\partial h^{(t)}` for every sequence of
  the batch, the product of the per-step Jacobians
  :math:`\partial h^{(k)}/\partial h^{(k-1)} = \operatorname{diag}(1 - h^{(k)2})\, W_s`;
  checked against that product on the reference states (which the test suite checks against
  central differences of the recurrence run from :math:`h^{(t)}`).
* ``clip_by_value`` and ``clip_by_global_norm`` on dicts of gradients (new dicts, inputs untouched).
* ``tbptt_backward(dHs, cache, k)``: BPTT with the carried gradient cut at the borders of
  chunks of ``k`` steps (``[0, k), [k, 2k), ...``); checked against central differences of
  the sum of the chunks' losses, each chunk started from its (fixed) incoming state. A wrong
  ``dX`` is read back to the chunk borders the learner's loop really used, whatever ``T mod k``.
"""
from __future__ import annotations

import numpy as np

from .. import layers as _ref
from ..casefile import Other
from ._core import (GRAD_TOL, VALUE_TOL, Check, Probe, Verdict, _Failure, diagnosed, distinct_sizes, judge,
                    modified_warning, numerical_gradients, returned)

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


def _split(cases, verdicts):
    """(verdicts of the cases, {probe name: verdict} of the probe cases)."""
    main = [v for c, v in zip(cases, verdicts) if not c.get("probe")]
    probes = {c["probe"]: v for c, v in zip(cases, verdicts) if c.get("probe")}
    return main, probes


def _probe_context(case, text):
    return f"probe case {case['probe']}" + (f", {text}" if text else "") if case.get("probe") else text


def _each(cases, judge_one):
    """``judge_one(i, case)`` for every case; a failure that stops one case (an exception of the learner's
    function, a wrong return type) becomes that case's failed verdict, saying which inputs it was."""
    out = []
    for i, c in enumerate(cases):
        try:
            out.append(judge_one(i, c))
        except _Failure as f:
            where = _probe_context(c, _ctx(c["sizes"], extra="".join(f", {k}={c[k]}" for k in ("t", "k") if k in c)))
            out.append(Verdict(False, f"{f}\n(Checked on fresh inputs: {where}.)"))
    return out


# ---------------------------------------------------------------------------
# Jacobian of the last state with respect to an earlier one
# ---------------------------------------------------------------------------

def _jacobian(Hs, Ws, t, bug=None):
    """The product of per-step Jacobians from step t+1 to T (book numbering), with one mistake or none."""
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    lowest = {"extra_factor": t, "missing_factor": t + 2}.get(bug, t + 1)
    for k in range(T, max(lowest, 1) - 1, -1):       # book steps k = T ... lowest, Hs[k-1] = h^(k)
        h_k = Hs[k - 2] if bug == "h_prev" and k >= 2 else Hs[k - 1]
        if bug == "no_tanh_prime":
            d = np.ones((B, H))
        elif bug == "tanh_twice":
            d = 1 - np.tanh(h_k) ** 2
        elif bug == "no_square":
            d = 1 - h_k
        else:
            d = 1 - h_k ** 2
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
    "tanh_twice": "tanh is applied twice: Hs already holds the states h = tanh(a), so tanh′ = 1 − h², "
                  "not 1 − tanh(h)².",
    "no_square": "tanh′ is 1 − h², not 1 − h: the square is missing.",
    "ws_t": "Ws.T appears where Ws belongs: h⁽ᵏ⁾ = tanh(… + Ws h⁽ᵏ⁻¹⁾), so ∂h⁽ᵏ⁾/∂h⁽ᵏ⁻¹⁾ = diag(1 − h⁽ᵏ⁾²) Ws.",
    "wrong_order": "the factors of one step are in the wrong order: diag(1 − h⁽ᵏ⁾²) Ws, not Ws diag(1 − h⁽ᵏ⁾²).",
    "reversed_product": "the product is multiplied in the wrong order: the chain rule gives "
                        "J⁽ᵀ⁾ J⁽ᵀ⁻¹⁾ … J⁽ᵗ⁺¹⁾, the latest step on the left.",
    "extra_factor": "one factor too many: the product runs over k = t+1 … T (for t = T it is the identity).",
    "missing_factor": "one factor too few: the product runs over k = t+1 … T, T − t factors (for t = T − 1 it "
                      "is the single factor diag(1 − h⁽ᵀ⁾²) Ws).",
    "transposed": "J is transposed: J[b, i, j] = ∂h⁽ᵀ⁾ᵢ / ∂h⁽ᵗ⁾ⱼ (rows: the last state).",
}

#: Parts of the Jacobian a mistake can be in (probe_conclusion names them).
JACOBIAN_TERMS = {
    "tanh": "the tanh′ factor of each step: diag(1 − h⁽ᵏ⁾²) with h⁽ᵏ⁾ = Hs[k−1], the state after step k, of "
            "the same sequence.",
    "orient": "the orientation of Ws: each factor is diag(1 − h⁽ᵏ⁾²) Ws (Ws itself, not Ws.T).",
    "order": "the order of the matrix products: J = J⁽ᵀ⁾ J⁽ᵀ⁻¹⁾ … J⁽ᵗ⁺¹⁾ (latest step on the left), and "
             "diag(1 − h²) on the left of Ws within a step.",
    "matmul": "how the factors are combined: they are matrices multiplied with @ (a matrix product), not "
              "entry by entry with *.",
    "batch": "the batch: each sequence b has its own Jacobian J[b], built from its own states Hs[:, b].",
    "count": "the number of factors: one per step k = t+1 … T, none for t = T (where J is the identity).",
}

#: Probe cases (spec: how the fixed sequence batch of _jacobian_probes is changed, and which t is asked).
JACOBIAN_PROBES = (
    Probe("t = T (no factor: J is the identity)", frozenset({"tanh", "orient", "order", "matmul", "batch"}),
          {"t": "T"}),
    Probe("t = T − 1 (a single factor)", frozenset({"order"}), {"t": "T-1"}),
    Probe("h = 0 (tanh′ = 1, J = Ws^(T−t))", frozenset({"tanh", "batch"}), {"Hs": "zeros", "t": 1}),
    Probe("Ws symmetric", frozenset({"orient"}), {"Ws": "symmetric", "t": 1}),
    Probe("B = 1", frozenset({"batch"}), {"B": 1, "t": 1}),
    Probe("h = 0 and Ws = 0.5 I (J = 0.5^(T−t) I)", frozenset({"tanh", "orient", "order", "matmul", "batch"}),
          {"Hs": "zeros", "Ws": "0.5 I", "t": 1}),
)


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


def _jacobian_probes():
    """The probe cases of JACOBIAN_PROBES, from one fixed sequence batch (T=4, B=3, H=4)."""
    r = np.random.default_rng(20261208)
    (base,) = _jacobian_case(r, {"T": 4, "B": 3, "D": 2, "H": 4}, ts=(1,))
    Hs, Ws = base["Hs"], base["Ws"]
    T, B, H = Hs.shape
    sym = (Ws + Ws.T) / 2
    states = {"zeros": np.zeros_like(Hs),
              "with symmetric Ws": _ref.rnn_forward(r.standard_normal((T, B, 2)), 0.5 * r.standard_normal((B, H)),
                                                    r.standard_normal((H, 2)), sym, 0.2 * r.standard_normal(H))[0]}
    cases = []
    for probe in JACOBIAN_PROBES:
        spec = probe.spec
        ws = {"symmetric": sym, "0.5 I": 0.5 * np.eye(H)}.get(spec.get("Ws"), Ws)
        hs = states["with symmetric Ws"] if spec.get("Ws") == "symmetric" else states.get(spec.get("Hs"), Hs)
        hs = hs[:, :spec.get("B", B)].copy()
        t = {"T": T, "T-1": T - 1}.get(spec["t"], spec["t"])
        sizes = {"T": hs.shape[0], "B": hs.shape[1], "H": hs.shape[2]}
        cases.append({"sizes": sizes, "Hs": hs, "Ws": ws, "t": int(t), "probe": probe.name})
    return cases


def _build_jacobian(rng):
    cases = _jacobian_case(rng, distinct_sizes(rng, "T B D H", 2, 7))
    # Fixed edge cases, judged on every run: one step and one sequence (T = B = 1), and a long
    # sequence over which the product vanishes by orders of magnitude.
    cases += _jacobian_case(np.random.default_rng(20261204), {"T": 1, "B": 1, "D": 2, "H": 3}, ts=(0, 1))
    cases += _jacobian_case(np.random.default_rng(20261205), {"T": 12, "B": 2, "D": 3, "H": 4}, ts=(0, 6))
    cases += _jacobian_probes()
    return [(c["Hs"], c["Ws"], c["t"]) for c in cases], cases


def _judge_jacobian_one(c, J):
    Hs, Ws, t = c["Hs"], c["Ws"], c["t"]
    # Ground truth: the chain-rule product on the reference states. (Central differences agree
    # with it to ~1e-9 absolute, which is not enough relative accuracy once the product has
    # vanished to 1e-5 — exactly the regime this exercise is about; tests/test_grading_table.py
    # checks the product against numerical_jacobian.)
    expected = _jacobian(Hs, Ws, t)
    variants = [(text, {"J": _jacobian(Hs, Ws, t, bug)}) for bug, text in JACOBIAN_BUGS.items()]
    B = Hs.shape[1]
    if B > 1:  # one sequence's Jacobian (or one built from the batch mean) used for every sequence
        variants.append(("J is the same for every sequence: each sequence b has its own states, so "
                         "J[b] = Π diag(1 − Hs[k−1, b]²) Ws uses row b of each state, not one row (or the "
                         "batch mean) for all.", {"J": np.broadcast_to(expected[0], expected.shape).copy()}))
    return judge("jacobian_to_last", ["J"], [J], {"J": expected}, tol=VALUE_TOL, kind="derivatives",
                 compared_with="the chain-rule product on the reference states", dims={"J": "B H H"},
                 sizes=c["sizes"], variants=variants,
                 context=_probe_context(c, _ctx(c["sizes"], extra=f", t={t}")))


def _judge_jacobian(cases, records):
    verdicts = _each(cases, lambda i, c: _judge_jacobian_one(c, returned(records, i, "jacobian_to_last", ["J"])[0]))
    main, probes = _split(cases, verdicts)
    return diagnosed("jacobian_to_last", main, probes, probes=JACOBIAN_PROBES, terms=JACOBIAN_TERMS,
                     also=[modified_warning(records, "jacobian_to_last", ["Hs", "Ws", "t"])],
                     passed_text=f"jacobian_to_last correct for several t ({_ctx(cases[0]['sizes'])}, and fixed "
                                 f"edge and probe cases).")


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
SAME_ARRAYS = (" The returned arrays are the very arrays it was given: np.clip(g, …) or g * s makes a new array "
               "that must go into the returned dict (a loop `for g in grads.values(): g = …` only rebinds the "
               "name g).")


def _aliased_names(record, out) -> list[str]:
    """Keys of the returned dict whose arrays share memory with an argument (the kernel's record)."""
    if not isinstance(out, dict):
        return []
    keys = [k for k, v in out.items() if isinstance(v, np.ndarray)]
    return [keys[j] for j in record.get("aliased", []) if j < len(keys)]


def _clip_value_edge_case() -> dict:
    """Entries exactly at ±limit and a 3-d array: judged on every run."""
    grads = {"W": np.array([[3.0, -0.5], [-4.0, 1.0]]), "b": np.array([0.2, -2.0, 0.0]),
             "E": np.array([[[1.0, -1.0]], [[0.99, -1.01]], [[2.5, -0.25]]])}
    return {"sizes": {"arrays": len(grads)}, "grads": grads, "limit": 1.0}


CLIP_VALUE_TERMS = {
    "upper": "the entries above limit: each becomes limit.",
    "lower": "the entries below −limit: each becomes −limit (with its minus sign).",
    "inside": "the entries inside [−limit, limit]: they stay exactly as they are.",
    "across": "treating arrays together: clipping by value works entry by entry, each array on its own.",
}

#: Probe cases (spec: how the fixed gradients of _clip_value_probes are changed; limit 1 unless stated).
CLIP_VALUE_PROBES = (
    Probe("nothing to clip (limit above every entry)", frozenset({"upper", "lower"}), {"limit": "above all"}),
    Probe("only entries ≥ 0", frozenset({"lower"}), {"entries": "|g|"}),
    Probe("only entries ≤ 0", frozenset({"upper"}), {"entries": "-|g|"}),
    Probe("every entry outside [−limit, limit]", frozenset({"inside"}), {"entries": "outside"}),
    Probe("a single array", frozenset({"across"}), {"arrays": ("W",)}),
)


def _clip_value_probes():
    r = np.random.default_rng(20261209)
    W, b = 3.0 * r.standard_normal((3, 4)), 3.0 * r.standard_normal(5)
    W[0, :2], b[:2] = (0.5, -0.5), (2.5, -2.5)      # both sides and the inside, whatever the draw
    grads = {"W": W, "b": b}
    entries = {"|g|": {k: np.abs(g) for k, g in grads.items()}, "-|g|": {k: -np.abs(g) for k, g in grads.items()},
               "outside": {"W": np.where(np.abs(W) > 1.2, W, 1.5 * np.sign(W + 1e-9)),
                           "b": np.where(np.abs(b) > 1.2, b, -2.0)}}
    cases = []
    for probe in CLIP_VALUE_PROBES:
        spec = probe.spec
        g = entries.get(spec.get("entries"), grads)
        g = {k: g[k] for k in spec.get("arrays", g)}
        limit = 1.1 * max(np.abs(a).max() for a in g.values()) if spec.get("limit") == "above all" else 1.0
        cases.append({"sizes": {"arrays": len(g)}, "grads": g, "limit": float(limit), "probe": probe.name})
    return cases


def _build_clip_value(rng):
    sizes, grads = _grads(rng, 3.0)
    cases = [{"sizes": sizes, "grads": grads, "limit": float(rng.uniform(0.5, 2.0))}, _clip_value_edge_case()]
    cases += _clip_value_probes()
    return [(c["grads"], c["limit"]) for c in cases], cases


def _judge_clip_value_one(c, out, record):
    grads, limit = c["grads"], c["limit"]
    _check_dict(out, grads, "clip_by_value")
    names = sorted(grads)
    expected = {k: np.clip(grads[k], -limit, limit) for k in names}
    variants = [(UNCLIPPED_VALUE, {k: grads[k] for k in names}),
                ("only the positive side is clipped: clip into [−limit, limit].",
                 {k: np.minimum(grads[k], limit) for k in names}),
                ("the lower bound is 0: clip into [−limit, limit], negative entries inside stay as they are.",
                 {k: np.clip(grads[k], 0, limit) for k in names}),
                ("entries below −limit become +limit: they must become −limit, keeping their sign "
                 "(np.clip(g, −limit, limit), or np.sign(g) * limit for the clipped entries only).",
                 {k: np.where(np.abs(grads[k]) > limit, limit, grads[k]) for k in names}),
                ("the sign is lost: clip g itself into [−limit, limit], not |g|.",
                 {k: np.minimum(np.abs(grads[k]), limit) for k in names}),

                ("the entries are rescaled instead of clipped one by one: clipping by value sets every "
                 "entry above limit to limit and every entry below −limit to −limit.",
                 {k: grads[k] * min(1.0, limit / np.abs(grads[k]).max()) for k in names})]
    if all(isinstance(out[k], np.ndarray) and out[k].shape == grads[k].shape and np.all(out[k] == -limit)
           for k in names):  # np.clip(g, limit, -limit): only when it explains every array
        variants.append(("the bounds are swapped: np.clip(g, limit, −limit) sets every entry to −limit; "
                         "write np.clip(g, −limit, limit).", {k: np.full_like(grads[k], -limit) for k in names}))
    verdict = judge("clip_by_value", names, [out[k] for k in names], expected, tol=VALUE_TOL,
                    kind="values", compared_with="the reference", variants=variants,
                    context=_probe_context(c, _ctx(c["sizes"], extra=f", limit={limit:.3f}")))
    if not verdict.passed and UNCLIPPED_VALUE in verdict.message and _aliased_names(record, out):
        head, sep, tail = verdict.message.partition("\n(Checked on")
        verdict = Verdict(False, head + SAME_ARRAYS + sep + tail)
    return verdict


def _judge_clip_value(cases, records):
    verdicts = _each(cases, lambda i, c: _judge_clip_value_one(c, returned(records, i, "clip_by_value", ["clipped"])[0],
                                                               records[i]))
    main, probes = _split(cases, verdicts)
    return diagnosed("clip_by_value", main, probes, probes=CLIP_VALUE_PROBES, terms=CLIP_VALUE_TERMS,
                     also=[modified_warning(records, "clip_by_value", ["grads", "limit"])],
                     passed_text=f"clip_by_value correct ({_ctx(cases[0]['sizes'])}, and fixed edge and probe "
                                 f"cases).")


CLIP_BY_VALUE = Check("test_clip_by_value", "clip_by_value", build=_build_clip_value, judge=_judge_clip_value)


CLIP_NORM_TERMS = {
    "combine": "how the arrays are combined: one global norm √(Σ over all arrays of Σ g²) and one common factor "
               "for all arrays (not a norm or a factor per array, not a sum of the arrays' norms).",
    "factor": "the factor above the threshold: every array is multiplied by max_norm / norm.",
    "returned": "the norm that is returned: the global norm *before* clipping.",
    "below": "the case norm ≤ max_norm: nothing changes (factor 1).",
    "norm": "the value of the global norm √(Σ g²).",
}

#: Probe cases (spec: which of the fixed gradients of _clip_norm_probes, and max_norm as a multiple of their norm).
CLIP_NORM_PROBES = (
    Probe("norm below max_norm (nothing to scale)", frozenset({"factor", "combine", "returned"}),
          {"grads": "three arrays", "max_norm": 1.7}),
    Probe("a single array", frozenset({"combine"}), {"grads": "one array", "max_norm": 0.45}),
)


def _clip_norm_probes():
    r = np.random.default_rng(20261210)
    grads = {"three arrays": {"W": r.standard_normal((3, 4)), "b": r.standard_normal(4),
                              "c": 3.0 * r.standard_normal(2)},
             "one array": {"W": 2.0 * r.standard_normal((3, 2))}}
    return [{"sizes": {"arrays": len(g)}, "grads": g, "max_norm": p.spec["max_norm"] * _global_norm(g),
             "probe": p.name} for p in CLIP_NORM_PROBES for g in (grads[p.spec["grads"]],)]


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
    cases += _clip_norm_probes()
    return [(c["grads"], c["max_norm"]) for c in cases], cases


NORM_HINT = ("the global norm is one number for all arrays together: square every entry of every array, sum "
             "them all, take one square root, √(Σ_arrays Σ g²).")
MIN_MAX_SWAPPED = ("the factor uses max where min belongs: it is min(1, max_norm / norm), so gradients above "
                   "the threshold are scaled down and those below it are left alone (yours are left alone above "
                   "and scaled up below).")


def _judge_clip_norm_one(c, out, record):
    clipped, norm_before = out
    grads, max_norm = c["grads"], c["max_norm"]
    _check_dict(clipped, grads, "clip_by_global_norm")
    names = sorted(grads)
    norm = _global_norm(grads)
    scale = min(1.0, max_norm / norm)
    expected = {k: grads[k] * scale for k in names} | {"norm": np.array(norm)}
    per_tensor = {k: grads[k] * min(1.0, max_norm / np.linalg.norm(grads[k])) for k in names}
    sum_of_norms = float(sum(np.linalg.norm(grads[k]) for k in names))
    variants = []
    if isinstance(norm_before, (int, float, np.integer, np.floating)) and not isinstance(norm_before, bool) \
            and np.isfinite(norm_before) and float(norm_before) > 0:
        own = float(norm_before)   # the arrays scaled right for the learner's own (wrong) norm
        variants.append(("the arrays are scaled right for the norm you return, so the norm is the mistake "
                         "(see norm).", {k: grads[k] * min(1.0, max_norm / own) for k in names}))
    variants += [
        # first: an unclipped result also matches per-tensor clipping on every array below max_norm
        (UNCLIPPED_NORM, {k: grads[k] for k in names} | {"norm": np.array(norm)}),
        ("each array is clipped to max_norm on its own; the global norm √(Σ‖g‖²) over all arrays "
         "together decides one common factor, so the direction of the whole update is kept.", per_tensor),
        ("the gradients are scaled up when their norm is below max_norm: the factor is "
         "min(1, max_norm / norm).", {k: grads[k] * max_norm / norm for k in names}),
        ("the norm is missing its square root: ‖g‖ = √(Σ g²).",
         {"norm": np.array(norm ** 2)} | {k: grads[k] * min(1.0, max_norm / norm ** 2) for k in names}),
        ("the norm returned is the one after clipping: return the global norm of the gradients as they "
         "came in (before scaling).", {"norm": np.array(min(norm, max_norm))}),
        ("the global norm is the sum of the arrays' norms; it is the square root of the sum of all squares, "
         "√(Σ‖g‖²), over all arrays together.",
         {"norm": np.array(sum_of_norms)} | {k: grads[k] * min(1.0, max_norm / sum_of_norms) for k in names}),
        ("the factor is inverted: multiply by max_norm / norm (below 1 when the norm is too large).",
         {k: grads[k] * max(1.0, norm / max_norm) for k in names}),
    ]
    got = [clipped[k] for k in names] + [norm_before]
    verdict = judge("clip_by_global_norm", names + ["norm"], got, expected, tol=VALUE_TOL, kind="values",
                    compared_with="the reference", variants=variants, hints={"norm": NORM_HINT},
                    context=_probe_context(c, _ctx(c["sizes"], extra=f", max_norm={max_norm:.3f}, norm={norm:.3f}")))
    if not verdict.passed and UNCLIPPED_NORM in verdict.message and _aliased_names(record, clipped):
        head, sep, tail = verdict.message.partition("\n(Checked on")
        verdict = Verdict(False, head + SAME_ARRAYS + sep + tail)
    return verdict


def _min_max_swapped(cases, records) -> bool:
    """Above the threshold the input came back unchanged, below it the gradients were scaled up to max_norm."""
    seen = set()
    for c, rec in zip(cases, records):
        value = rec.get("value")
        if rec.get("error") or not isinstance(value, (tuple, list)) or len(value) != 2 \
                or not isinstance(value[0], dict) or set(value[0]) != set(c["grads"]):
            continue
        norm = _global_norm(c["grads"])
        factor = 1.0 if norm > c["max_norm"] else c["max_norm"] / norm
        try:
            same = all(np.allclose(np.asarray(value[0][k], dtype=float), factor * g, rtol=1e-9, atol=0)
                       for k, g in c["grads"].items())
        except (TypeError, ValueError):
            return False
        if not same:
            return False
        seen.add(norm > c["max_norm"])
    return seen == {True, False}


def _judge_clip_norm(cases, records):
    verdicts = _each(cases, lambda i, c: _judge_clip_norm_one(
        c, returned(records, i, "clip_by_global_norm", ["clipped", "norm"]), records[i]))
    main, probes = _split(cases, verdicts)
    verdict = diagnosed("clip_by_global_norm", main, probes, probes=CLIP_NORM_PROBES, terms=CLIP_NORM_TERMS,
                        also=[modified_warning(records, "clip_by_global_norm", ["grads", "max_norm"])],
                        passed_text=f"clip_by_global_norm correct above and below the threshold "
                                    f"({_ctx(cases[0]['sizes'])}, and fixed edge and probe cases).")
    if not verdict.passed and _min_max_swapped(cases, records):
        verdict = Verdict(False, f"clip_by_global_norm: the clipped gradients are wrong on both sides of the "
                                 f"threshold. Likely cause: {MIN_MAX_SWAPPED}\n{verdict.message}")
    return verdict


CLIP_BY_GLOBAL_NORM = Check("test_clip_by_global_norm", "clip_by_global_norm", build=_build_clip_norm,
                            judge=_judge_clip_norm)


# ---------------------------------------------------------------------------
# truncated BPTT
# ---------------------------------------------------------------------------

def _starts(T, k, mode=None):
    """First steps (0-based) of the chunks: [0, k, 2k, …] (or a mistaken layout)."""
    if mode == "full":
        return [0]
    if mode == "aligned_end":
        return sorted({max(0, s) for s in range(T - k, -k, -k)})
    if mode == "k_plus_one":
        return list(range(0, T, k + 1))
    return list(range(0, T, k))


def _chunks(T, k):
    s = _starts(T, k)
    return list(zip(s, s[1:] + [T]))


def _bptt(X, h0, Hs, Wx, Ws, dHs, starts, bug=None):
    """BPTT whose carried gradient is reset to zero after each chunk start in ``starts`` has been processed
    (so it does not reach step s-1), with one deliberate mistake (``bug``) or none."""
    T = X.shape[0]
    starts = set(starts) | {0}
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    carried = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        if bug == "hs_last_as_h0":
            h_prev = Hs[t - 1]                       # t = 0 reads Hs[-1], the last state
        elif bug == "chunk_h0":
            h_prev = h0 if t in starts else Hs[t - 1]
        else:
            h_prev = Hs[t - 1] if t > 0 else h0
        dh = dHs[t] + carried
        d = dh if bug == "no_tanh_prime" else dh * (1 - Hs[t] ** 2)
        dX[t] = d @ Wx
        dWx += d.T @ X[t]
        dWs += d.T @ (Hs[t] if bug == "h_for_h_prev" else h_prev)
        db += d.sum(0)
        if t in starts:
            carried = np.zeros_like(h0)
        elif bug == "carry_skips_tanh":
            carried = dh @ Ws
        elif bug == "carry_ws_t":
            carried = d @ Ws.T
        else:
            carried = d @ Ws
    return {"dX": dX, "dWx": dWx, "dWs": dWs, "db": db}


#: Classic mistakes: (chunk layout mode, bug in the loop) -> diagnosis.
TBPTT_BUGS = {
    ("full", None): "the gradient crosses the chunk borders: in truncated BPTT the gradient carried backwards is "
                    "reset to zero at the start of every chunk of k steps.",
    ("aligned_end", None): "the chunks start at the wrong place: they are [0, k), [k, 2k), … counted from the "
                           "first step.",
    ("k_plus_one", None): "the chunks are one step too long: each holds k steps.",
    (None, "hs_last_as_h0"): "dWs at the first step uses Hs[-1] (Python's index −1 is the *last* state) where "
                             "h⁽⁰⁾ = h0 belongs: h_prev = Hs[t−1] only for t > 0 (0-based t).",
    (None, "chunk_h0"): "each chunk's first step uses h0 as its previous state in dWs: the forward pass is not cut, "
                        "so a chunk starting at step s starts from Hs[s−1] (h0 only for the first chunk).",
    (None, "no_tanh_prime"): "the tanh′ factor is missing: δ⁽ᵗ⁾ = (dHs[t] + carried) ⊙ (1 − h⁽ᵗ⁾²).",
    (None, "h_for_h_prev"): "dWs uses h⁽ᵗ⁾ where h⁽ᵗ⁻¹⁾ belongs: dWs = Σₜ δ⁽ᵗ⁾ᵀ @ h⁽ᵗ⁻¹⁾ (Hs[t−1], h0 at t=1).",
}

TBPTT_TERMS = {
    "borders": "where the carried gradient is reset: to zero once the first step s of each chunk [s, s+k) has "
               "been processed, so nothing reaches step s−1 (chunks counted from the first step).",
    "carry": "the gradient carried inside a chunk: carried = δ⁽ᵗ⁾ @ Ws with δ⁽ᵗ⁾ = (dHs[t] + carried) ⊙ "
             "(1 − h⁽ᵗ⁾²), passed from step t to step t−1.",
    "dhs": "the upstream gradient: dHs[t] enters at every step t, not only at the end of a chunk.",
    "h0": "the state before the first step: dWs gets δ⁽¹⁾ᵀ @ h0 at t = 1.",
    "batch": "the sum over the batch: the loss is a sum over sequences, so the gradients are sums (no mean).",
    "step": "the gradient of one step: δ⁽ᵗ⁾ = dh ⊙ (1 − h⁽ᵗ⁾²), dX[t] = δ⁽ᵗ⁾ @ Wx, dWx += δᵀ @ x⁽ᵗ⁾, "
            "dWs += δᵀ @ h⁽ᵗ⁻¹⁾, db += Σ_batch δ.",
}

#: Probe cases (spec: k and the change made to a fixed case with T=7, B=2, D=3, H=4).
TBPTT_PROBES = (
    Probe("k = 1 (nothing carried)", frozenset({"borders", "carry"}), {"k": 1}),
    Probe("k > T (one chunk: full BPTT)", frozenset({"borders"}), {"k": 9}),
    Probe("dHs only at the last step", frozenset({"dhs"}), {"k": 4, "edit": "dhs_last"}),
    Probe("h0 = 0", frozenset({"h0"}), {"k": 3, "edit": "h0_zero"}),
    Probe("B = 1", frozenset({"batch"}), {"k": 3, "B": 1}),
)


def _tbptt_case(r, sizes, k, probe=None, edit=None):
    X, h0, Wx, Ws, b = _rnn_inputs(r, sizes)
    dHs = r.standard_normal((sizes["T"], sizes["B"], sizes["H"]))
    if edit == "dhs_last":
        dHs[:-1] = 0.0
    if edit == "h0_zero":
        h0 = np.zeros_like(h0)
    Hs, _ = _ref.rnn_forward(X, h0, Wx, Ws, b)
    case = {"sizes": sizes, "k": int(k), "X": X, "h0": h0, "Wx": Wx, "Ws": Ws, "b": b, "dHs": dHs, "Hs": Hs}
    if probe:
        case["probe"] = probe
    return case


def _tbptt_probes():
    sizes = {"T": 7, "B": 2, "D": 3, "H": 4}
    return [_tbptt_case(np.random.default_rng(20261211 + i), {**sizes, "B": p.spec.get("B", sizes["B"])},
                        p.spec["k"], probe=p.name, edit=p.spec.get("edit")) for i, p in enumerate(TBPTT_PROBES)]


def _build_tbptt(rng):
    sizes = distinct_sizes(rng, "B D H", 2, 6)
    k = int(rng.integers(2, 4))
    sizes = {"T": int(k * rng.integers(2, 4) + rng.integers(1, k)), **sizes}   # T not a multiple of k
    cases = [_tbptt_case(rng, sizes, k)]
    # Fixed edge cases, judged on every run: T mod k = 0, 1 and 2 (k = 3, 3, 4), so that every mistaken
    # chunk layout shows, and is told apart from the others, whatever the random draw; k = 1 and k > T
    # are probe cases.
    r = np.random.default_rng(20261207)
    cases += [_tbptt_case(r, {"T": 6, "B": 2, "D": 3, "H": 4}, 3),
              _tbptt_case(r, {"T": 7, "B": 3, "D": 2, "H": 5}, 3),
              _tbptt_case(r, {"T": 10, "B": 1, "D": 4, "H": 3}, 4)]
    cases += _tbptt_probes()
    return [(c["dHs"], (c["X"], c["h0"], c["Hs"], c["Wx"], c["Ws"]), c["k"]) for c in cases], cases


def _chunks_text(starts, T) -> str:
    return ", ".join(f"[{s}, {e})" for s, e in zip(starts, list(starts[1:]) + [T]))


def _inferred_starts(case, dX):
    """The chunk starts a learner's loop used, read back from its dX; None if no layout explains it.

    Going backwards from the last step, dX[t] = δ⁽ᵗ⁾ @ Wx with δ⁽ᵗ⁾ = (dHs[t] + carried) ⊙ (1 − h⁽ᵗ⁾²):
    either the gradient from step t+1 arrived (same chunk) or it did not (step t+1 starts a chunk).
    """
    X, Hs, Wx, Ws, dHs = case["X"], case["Hs"], case["Wx"], case["Ws"], case["dHs"]
    if not isinstance(dX, np.ndarray) or dX.shape != X.shape or dX.dtype.kind not in "fiu":
        return None
    dX = np.asarray(dX, dtype=np.float64)
    T = X.shape[0]
    truth = _bptt(X, case["h0"], Hs, Wx, Ws, dHs, _starts(T, case["k"]))["dX"]
    tol = 1e-6 * max(float(np.abs(truth).max()), 1e-12)
    starts, carried = [], np.zeros_like(case["h0"])
    for t in range(T - 1, -1, -1):
        options = [(False, carried)] + ([(True, np.zeros_like(carried))] if t < T - 1 else [])
        for cut, c in options:
            d = (dHs[t] + c) * (1 - Hs[t] ** 2)
            if float(np.abs(d @ Wx - dX[t]).max()) <= tol:
                break
        else:
            return None
        if cut:
            starts.append(t + 1)
        carried = d @ Ws
    return sorted({0, *starts})


def _layout(case, dX) -> tuple[str, int]:
    """What the learner's chunk borders are, when they differ from the right ones: (text, number of
    known layouts it matches); ('', 0) when dX is right or no layout explains it."""
    T, k = case["sizes"]["T"], case["k"]
    got = _inferred_starts(case, dX)
    want = _starts(T, k)
    if got is None or got == want:
        return "", 0
    names = []
    if got == [0]:
        names.append("no border at all (the gradient crosses every chunk border)")
    elif got == list(range(T)):
        names.append("a reset at every step (nothing is carried, as for k = 1)")
    if got == _starts(T, k, "aligned_end"):
        names.append("chunks counted from the end of the sequence; count them from the first step")
    if got == _starts(T, k, "k_plus_one"):
        names.append("chunks of k+1 steps")
    if k > 2 and got == _starts(T, k - 1):
        names.append("chunks of k−1 steps")
    if got == sorted({0, *(s + 1 for s in want)} - {T}):
        names.append("every chunk starts one step late, at s+1 instead of s = 0, k, 2k, …: the carried gradient "
                     "is reset before step s is processed (so step s gets nothing from step s+1); reset it after "
                     "step s, so that nothing reaches step s−1")
    if got == sorted({0, *(s - 1 for s in want[1:])}):
        names.append("every chunk starts one step early, at s−1 instead of s = k, 2k, …: reset the carried "
                     "gradient after processing step s (t % k == 0), not after step s−1")
    text = (f"Read back from dX, your loop cuts the gradient into chunks {_chunks_text(got, T)} (0-based); with "
            f"k={k} they are {_chunks_text(want, T)}")
    text += (": " + "; or ".join(names) + "." if names else ". " + TBPTT_TERMS["borders"][0].upper()
             + TBPTT_TERMS["borders"][1:])
    return text, len(names)


def _judge_tbptt_case(case: dict, grads) -> tuple[Verdict, int]:
    """Judge ``(dX, dWx, dWs, db)`` against central differences of the truncated objective; also how many
    known chunk layouts the learner's dX matches (0 if none or if its layout is right)."""
    X, h0, Wx, Ws, b = (case[n].copy() for n in ("X", "h0", "Wx", "Ws", "b"))
    dHs, Hs, k, sizes = case["dHs"], case["Hs"], case["k"], case["sizes"]
    T = sizes["T"]
    # Ground truth: central differences of Σ_chunks L_chunk, each chunk run from its incoming state held fixed.
    starts = [h0 if s == 0 else Hs[s - 1] for s, _ in _chunks(T, k)]
    Xp = X.copy()

    def loss():  # the recurrence written out (rnnkit.rnn_forward validates its inputs on every call: slow here)
        total = 0.0
        for (s, e), h in zip(_chunks(T, k), starts):
            for t in range(s, e):
                h = np.tanh(Xp[t] @ Wx.T + h @ Ws.T + b)
                total += float(np.sum(h * dHs[t]))
        return total
    num = numerical_gradients(loss, {"dX": Xp, "dWx": Wx, "dWs": Ws, "db": b})
    variants = [(text, _bptt(X, h0, Hs, Wx, Ws, dHs, _starts(T, k, mode), bug))
                for (mode, bug), text in TBPTT_BUGS.items()]
    variants.append(("the gradients are divided by the batch size B: the loss is a sum over the batch, so the "
                     "gradients are sums too.",
                     {n: g / sizes["B"] for n, g in _bptt(X, h0, Hs, Wx, Ws, dHs, _starts(T, k)).items()
                      if n != "dX"}))
    verdict = judge("tbptt_backward", ["dX", "dWx", "dWs", "db"], grads, num, tol=GRAD_TOL, kind="gradients",
                    compared_with="central differences of the truncated objective",
                    dims={"dX": "T B D", "dWx": "H D", "dWs": "H H", "db": "H"}, sizes=sizes, variants=variants,
                    time_axes={"dX": 0},
                    context=_probe_context(case, _ctx(sizes, extra=f", k={k}, T mod k = {T % k}")))
    if verdict.passed:
        return verdict, 0
    layout, n_names = _layout(case, grads[0])
    if not layout:
        return verdict, 0
    # The layout read back from dX explains every output: it goes on the dX line (after a catalogue
    # diagnosis, if any), and the other wrong outputs are "the same as above".
    lines = verdict.message.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("tbptt_backward: dX is wrong: "):
            lines[i] = line + (" " + layout if "Likely cause:" in line else " Likely cause: r" + layout[1:])
        elif " is wrong: " in line and "Likely cause:" not in line:
            lines[i] = line + " Likely cause: the same as above."
    return Verdict(False, "\n".join(lines)), n_names


def _judge_tbptt(cases, records):
    judged = _each(cases, lambda i, c: _judge_tbptt_case(
        c, returned(records, i, "tbptt_backward", ["dX", "dWx", "dWs", "db"])))
    judged = [v if isinstance(v, tuple) else (v, 0) for v in judged]
    main, probes = _split(cases, [v for v, _ in judged])
    # Show first a case whose chunk layout is named unambiguously (for some T mod k, two mistaken
    # layouts coincide; the fixed cases make one of them tell the mistakes apart).
    named = [(n, c["k"]) for c, (_, n) in zip(cases, judged) if not c.get("probe")]
    main = [v for v, _ in sorted(zip(main, named), key=lambda vn: (vn[0].passed, vn[1][0] != 1, -vn[1][1]))]
    first = _ctx(cases[0]["sizes"], extra=f", k={cases[0]['k']}")
    return diagnosed("tbptt_backward", main, probes, probes=TBPTT_PROBES, terms=TBPTT_TERMS,
                     also=[modified_warning(records, "tbptt_backward", ["dHs", "cache", "k"])],
                     passed_text=f"tbptt_backward correct ({first}, and fixed cases with T mod k = 0, 1, 2, "
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
