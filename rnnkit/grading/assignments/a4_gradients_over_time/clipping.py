"""a4-gradients-over-time: ``clip_by_value(grads, limit)`` and ``clip_by_global_norm(grads, max_norm)``.

Both take a dict name -> array and return NEW arrays, the input untouched (the notebook says so; a write
into ``grads`` fails the cell). References: :func:`rnnkit.clip_by_value`, :func:`rnnkit.clip_by_global_norm`.
"""
from __future__ import annotations

import numpy as np

import rnnkit
from rnnkit.grading.engine import GradedFunction, Mistake, Probe, ProbeRule, Problem, distinct_sizes


def _grads(rng, scale):
    """Gradients of a small output RNN's five parameters (distinct sizes D, H, K)."""
    sizes = distinct_sizes(rng, "D H K", 2, 7)
    D, H, K = sizes["D"], sizes["H"], sizes["K"]
    shapes = {"Wx": (H, D), "Ws": (H, H), "b": (H,), "Wy": (K, H), "c": (K,)}
    return sizes, {k: scale * rng.standard_normal(s) for k, s in shapes.items()}


def _each(fn):
    """``case -> {name: fn(g, case)}``: a mistake made on every array alike."""
    return lambda c: {k: fn(g, c) for k, g in c["grads"].items()}


def _entries(case, clipped) -> dict:
    """The returned dict's arrays by name (each judged as an output), or the form problem."""
    if not isinstance(clipped, dict):
        raise Problem(f"must return a dict name -> array; got {getattr(clipped, 'type_name', type(clipped).__name__)}")
    if set(clipped) != set(case["grads"]):
        raise Problem(f"must return the same keys as its input: expected {sorted(case['grads'])}, got "
                      f"{sorted(clipped, key=str)}")
    return {k: clipped[k] for k in case["grads"]}


#: Why the input must stay as it is (the notebook asks for new arrays).
KEPT = {"grads": "the notebook asks for a new dict of new arrays, since the training loop still holds the gradients "
                 "it passed in (to log them, or to clip them another way). np.clip(g, -limit, limit) and g * s make "
                 "new arrays: return those (no out=g, no g *= s)."}


# ---------------------------------------------------------------------------
# clip_by_value
# ---------------------------------------------------------------------------

def _value_case(grads, limit, sizes=None):
    return {"sizes": {**(sizes or {"arrays": len(grads)}), "limit": round(float(limit), 3)}, "grads": grads,
            "limit": float(limit)}


def _draw_value(rng):
    sizes, grads = _grads(rng, 3.0)
    return _value_case(grads, rng.uniform(0.5, 2.0), sizes)


def _value_edge():
    """Entries exactly at ±limit and a 3-d array."""
    return _value_case({"W": np.array([[3.0, -0.5], [-4.0, 1.0]]), "b": np.array([0.2, -2.0, 0.0]),
                        "E": np.array([[[1.0, -1.0]], [[0.99, -1.01]], [[2.5, -0.25]]])}, 1.0)


def _value_base():
    r = np.random.default_rng(20261209)
    W, b = 3.0 * r.standard_normal((3, 4)), 3.0 * r.standard_normal(5)
    W[0, :2], b[:2] = (0.5, -0.5), (2.5, -2.5)      # both sides and the inside, whatever the draw
    return _value_case({"W": W, "b": b}, 1.0)


def _value_probe(what, entries=None, limit=None, arrays=None):
    def make(base):
        g = {k: entries(v) if entries else v for k, v in base["grads"].items() if k in (arrays or base["grads"])}
        return _value_case(g, limit(g) if limit else 1.0)
    return Probe(what.split(" (")[0], make, what=what)


UNCLIPPED = ("the returned gradients are the input's, unclipped: every entry above limit must become limit and every "
             "entry below −limit become −limit (return the new, clipped arrays: np.clip(g, …) makes a new array that "
             "must go into the returned dict; a loop `for g in grads.values(): g = …` only rebinds the name g).")

CLIP_BY_VALUE = GradedFunction(
    grade_id="test_clip_by_value", function="clip_by_value", arguments=("grads", "limit"), returns=("clipped",),
    args_of=lambda c: (c["grads"], c["limit"]), draw=_draw_value,
    reference=lambda c: rnnkit.clip_by_value(c["grads"], c["limit"]),
    read=lambda c, out, objects: _entries(c, out["clipped"]), edge_cases=(_value_edge,), kept=KEPT,
    mistakes_on="every case",
    mistakes=(
        Mistake("unclipped", UNCLIPPED, _each(lambda g, c: g)),
        Mistake("upper-side-only", "only the positive side is clipped: clip into [−limit, limit].",
                _each(lambda g, c: np.minimum(g, c["limit"]))),
        Mistake("zero-lower-bound", "the lower bound is 0: clip into [−limit, limit], negative entries inside stay "
                                    "as they are.", _each(lambda g, c: np.clip(g, 0, c["limit"]))),
        Mistake("lower-to-upper", "entries below −limit become +limit: they must become −limit, keeping their sign "
                                  "(np.clip(g, −limit, limit), or np.sign(g) * limit for the clipped entries only).",
                _each(lambda g, c: np.where(np.abs(g) > c["limit"], c["limit"], g))),
        Mistake("sign-lost", "the sign is lost: clip g itself into [−limit, limit], not |g|.",
                _each(lambda g, c: np.minimum(np.abs(g), c["limit"]))),
        Mistake("rescaled", "the entries are rescaled instead of clipped one by one: clipping by value sets every "
                            "entry above limit to limit and every entry below −limit to −limit.",
                lambda c: {k: g * min(1.0, c["limit"] / max(np.abs(a).max() for a in c["grads"].values()))
                           for k, g in c["grads"].items()}),
        Mistake("bounds-swapped", "the bounds are swapped: np.clip(g, limit, −limit) sets every entry to −limit; "
                                  "write np.clip(g, −limit, limit).", _each(lambda g, c: np.full_like(g, -c["limit"]))),
    ),
    probes=(
        _value_probe("nothing to clip (limit above every entry)",
                     limit=lambda g: 1.1 * max(np.abs(a).max() for a in g.values())),
        _value_probe("only entries ≥ 0", entries=np.abs),
        _value_probe("only entries ≤ 0", entries=lambda a: -np.abs(a)),
        _value_probe("every entry outside [−limit, limit]", entries=lambda a: np.where(np.abs(a) > 1.2, a, -1.5)),
        _value_probe("a single array", arrays=("W",)),
    ),
    probe_base=_value_base,
    rules=(
        ProbeRule(wrong=("nothing to clip",), right=("only entries ≥ 0", "only entries ≤ 0"),
                  text="the mistake is in the limit: clip into [−limit, limit] with the limit passed in (the probe "
                       "cases with limit = 1 are right, the one with a larger limit is not)."),
        ProbeRule(wrong=("full",), right=("every entry outside [−limit, limit]",),
                  text="the mistake is in the entries inside [−limit, limit]: they stay exactly as they are."),
        ProbeRule(wrong=("only entries ≤ 0",), right=("only entries ≥ 0",),
                  text="the mistake is in the entries below −limit: each becomes −limit (with its minus sign)."),
        ProbeRule(wrong=("only entries ≥ 0",), right=("only entries ≤ 0",),
                  text="the mistake is in the entries above limit: each becomes limit."),
        ProbeRule(wrong=("full",), right=("a single array",),
                  text="the mistake is in treating arrays together: clipping by value works entry by entry, each "
                       "array on its own."),
    ),
    passed_note="also for entries exactly at ±limit and a 3-d array",
    none_right="the mistake is in every entry alike, above, below and inside the range: each entry becomes "
               "min(max(g, −limit), limit), array by array (np.clip(g, −limit, limit)).",
    withheld=("clip_by_value",))


# ---------------------------------------------------------------------------
# clip_by_global_norm
# ---------------------------------------------------------------------------

def _norm(grads) -> float:
    return rnnkit.global_norm(grads)


def _norm_case(grads, factor, sizes=None):
    """``max_norm`` = ``factor`` times the gradients' global norm."""
    norm = _norm(grads)
    return {"sizes": {**(sizes or {"arrays": len(grads)}), "max_norm": round(factor * norm, 3),
                      "norm": round(norm, 3)}, "grads": grads, "max_norm": factor * norm}


def _draw_norm(rng):
    """Above and below the threshold, on the same gradients."""
    sizes, grads = _grads(rng, 1.0)
    return [_norm_case(grads, rng.uniform(0.2, 0.6), sizes), _norm_case(grads, rng.uniform(1.5, 3.0), sizes)]


def _norm_edges():
    """A 3-d array among others, and a dict of one array (whose norm is the global norm)."""
    r = np.random.default_rng(20261206)
    fixed = {"W": r.standard_normal((3, 2)), "E": r.standard_normal((2, 1, 4)), "b": r.standard_normal(3)}
    return _norm_case(fixed, 0.4), _norm_case({"W": 2.0 * r.standard_normal((4, 3))}, 0.5)


def _norm_base():
    r = np.random.default_rng(20261210)
    case = _norm_case({"W": r.standard_normal((3, 4)), "b": r.standard_normal(4), "c": 3.0 * r.standard_normal(2)}, 1)
    return {**case, "single": {"W": 2.0 * r.standard_normal((3, 2))}}


def _scaled(c, norm):
    """The arrays scaled for ``norm`` (the factor min(1, max_norm / norm))."""
    return {k: g * min(1.0, c["max_norm"] / norm) for k, g in c["grads"].items()}


def _with_norm(norm_of):
    """A mistake in the norm: that norm returned, and the arrays scaled for it."""
    return lambda c: {**_scaled(c, norm_of(c["grads"])), "norm": np.array(norm_of(c["grads"]))}


NORM_HINT = ("the global norm is one number for all arrays together: square every entry of every array, sum them "
             "all, take one square root, √(Σ_arrays Σ g²).")


def _own_norm(cases, outputs) -> str:
    """On the first case where the norm is wrong: the arrays are right for the norm the learner returned."""
    for c, got in zip(cases, outputs):
        norm = (got or {}).get("norm")
        if not isinstance(norm, np.ndarray) or norm.shape or not np.isfinite(norm) or float(norm) <= 0 \
                or np.isclose(float(norm), _norm(c["grads"]), rtol=1e-7, atol=0):
            continue
        own = _scaled(c, float(norm))
        if all(np.allclose(np.asarray(got[k], dtype=float), v, rtol=1e-9, atol=0) for k, v in own.items()):
            return "the arrays are scaled right for the norm you return, so the norm is the mistake (see norm)."
        return ""
    return ""


def _norm_read(case, out, objects) -> dict:
    """The arrays by name, and the norm as a 0-d array when it is a real number (a float is what it should be)."""
    norm = out["norm"]
    real = isinstance(norm, (int, float, np.integer, np.floating)) and not isinstance(norm, (bool, np.bool_))
    return {**_entries(case, out["clipped"]), "norm": np.array(float(norm)) if real else norm}


CLIP_BY_GLOBAL_NORM = GradedFunction(
    grade_id="test_clip_by_global_norm", function="clip_by_global_norm", arguments=("grads", "max_norm"),
    returns=("clipped", "norm"), args_of=lambda c: (c["grads"], c["max_norm"]), draw=_draw_norm,
    reference=lambda c: (lambda clipped, norm: {**clipped, "norm": np.array(norm)})(
        *rnnkit.clip_by_global_norm(c["grads"], c["max_norm"])),
    read=_norm_read, edge_cases=(lambda: _norm_edges()[0], lambda: _norm_edges()[1]), kept=KEPT,
    mistakes_on="every case",
    mistakes=(
        Mistake("unscaled", "the returned gradients are the input's, unscaled: when the global norm exceeds "
                            "max_norm, every array must be multiplied by max_norm / norm (return the new, scaled "
                            "arrays: a loop `for g in grads.values(): g = …` only rebinds the name g).",
                _each(lambda g, c: g)),
        Mistake("per-array", "each array is clipped to max_norm on its own; the global norm √(Σ‖g‖²) over all arrays "
                             "together decides one common factor, so the direction of the whole update is kept.",
                _each(lambda g, c: g * min(1.0, c["max_norm"] / np.linalg.norm(g)))),
        Mistake("scaled-up", "the gradients are scaled up when their norm is below max_norm: the factor is "
                             "min(1, max_norm / norm).", _each(lambda g, c: g * c["max_norm"] / _norm(c["grads"]))),
        Mistake("max-for-min", "the factor uses max where min belongs: it is min(1, max_norm / norm), so gradients "
                               "above the threshold are scaled down and those below it are left alone (yours are "
                               "left alone above and scaled up below).",
                _each(lambda g, c: g * max(1.0, c["max_norm"] / _norm(c["grads"])))),
        Mistake("inverted-factor", "the factor is inverted: multiply by max_norm / norm (below 1 when the norm is "
                                   "too large).", _each(lambda g, c: g * max(1.0, _norm(c["grads"]) / c["max_norm"]))),
        Mistake("no-sqrt", "the norm is missing its square root: ‖g‖ = √(Σ g²).", _with_norm(lambda g: _norm(g) ** 2)),
        Mistake("sum-of-norms", "the global norm is the sum of the arrays' norms; it is the square root of the sum of "
                                "all squares, √(Σ‖g‖²), over all arrays together.",
                _with_norm(lambda g: sum(np.linalg.norm(a) for a in g.values()))),
        Mistake("norm-after", "the norm returned is the one after clipping: return the global norm of the gradients "
                              "as they came in (before scaling).",
                lambda c: {"norm": np.array(min(_norm(c["grads"]), c["max_norm"]))}),
    ),
    explain=_own_norm, hints={"norm": NORM_HINT},
    probes=(
        Probe("norm below max_norm", lambda b: _norm_case(b["grads"], 1.7), what="norm below max_norm (nothing to "
                                                                                   "scale)"),
        Probe("a single array", lambda b: _norm_case(b["single"], 0.45), what="a single array"),
    ),
    probe_base=_norm_base,
    rules=(
        ProbeRule(wrong=("full:norm", "norm below max_norm:norm"),
                  text="the mistake is in the norm that is returned: the global norm of the gradients as they came "
                       "in, √(Σ g²) over every entry of every array, one number."),
        ProbeRule(wrong=("norm below max_norm",), text="the mistake is in the case norm ≤ max_norm: nothing changes "
                                                       "there (factor 1)."),
        ProbeRule(wrong=("full",), right=("a single array",),
                  text="the mistake is in how the arrays are combined: one global norm √(Σ over all arrays of Σ g²) "
                       "and one common factor for all arrays (not a norm or a factor per array, not a sum of the "
                       "arrays' norms)."),
        ProbeRule(wrong=("full",), right=("norm below max_norm",),
                  text="the mistake is in the factor above the threshold: every array is multiplied by max_norm / "
                       "norm, and the norm returned is the global norm before clipping."),
    ),
    none_right="the mistake is in the value of the global norm √(Σ g²), which every part uses: " + NORM_HINT,
    passed_note="above and below the threshold, also for a 3-d array and for a single array",
    withheld=("clip_by_global_norm", "global_norm"))
