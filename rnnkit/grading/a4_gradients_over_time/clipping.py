"""a4-gradients-over-time: the checks of clip_by_value and clip_by_global_norm."""
from __future__ import annotations

import numpy as np

from ..kernel import Other
from .._core import (VALUE_TOL, Check, Probe, Verdict, _Failure, diagnosed, distinct_sizes, judge,
                     modified_warning, returned)
from .common import _ctx, _each, _probe_context, _split


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
