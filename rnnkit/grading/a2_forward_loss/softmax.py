"""a2-forward-loss: the check of softmax."""
from __future__ import annotations

import numpy as np

from .._core import VALUE_TOL, Check, Verdict, _Failure, distinct_sizes, judge, judged_error, returned
from ..a1_recurrence import explained, probe_right, with_error_hint
from .common import _ctx, _first_failure


# ---------------------------------------------------------------------------
# softmax
# ---------------------------------------------------------------------------

UNSTABLE = ("the result overflows for large logits: subtract the maximum of each row (along the last axis) "
            "before exp — softmax does not change when every entry of a row is shifted by the same amount.")
NAIVE_ROWS = (" Here the rows with a logit above ~709 are wrong (exp overflows to inf, inf/inf = NaN), and "
              "so are rows whose logits are all below ~−745 (0/0): no maximum is subtracted at all.")
GLOBAL_ROWS = (" Here the rows whose maximum lies far below the maximum of the whole array are wrong (their "
               "exponentials underflow to 0, 0/0 = NaN): one maximum of the whole array is subtracted, "
               "O.max(), where each row needs its own, O.max(axis=-1, keepdims=True).")
HARD_CODED_AXIS = ("right for a (T, B, K) array but not for a (B, K) one: the code assumes three dimensions "
                   "(axis=2, or an index such as [:, :, None]?). Softmax works along the last axis of any "
                   "(..., K) array: use axis=-1 (and [..., None]).")
SOFTMAX_2D_ONLY = ("right for a (B, K) array but not for a (T, B, K) one: the class axis is hard-coded "
                   "(axis=1?). Use axis=-1, the last axis, whatever the number of dimensions.")


def _softmax_ref(O):
    e = np.exp(O - O.max(axis=-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _build_softmax(rng):
    sizes = distinct_sizes(rng, "T B K", 2, 8)
    O = rng.standard_normal((sizes["T"], sizes["B"], sizes["K"])) * 2.0
    # Rows of very different magnitudes: a global shift or no shift at all breaks here.
    big = O * 300.0 + rng.choice([-500.0, 500.0], size=O.shape[:-1])[..., None]
    # A fixed 2-D array (softmax works on any (..., K)): equal logits, a spread of ±1000, all very negative.
    edge = np.array([[0.0, 0.0, 0.0, 0.0], [1000.0, 0.0, -1000.0, 999.0], [0.5, -1.25, 2.0, 0.0],
                     [-1000.0, -1000.0, -1001.0, -1002.0]])
    cases = [{"O": O, "kind": "moderate", "sizes": sizes},
             {"O": O[0], "kind": "2-D", "sizes": {"B": sizes["B"], "K": sizes["K"]}},  # probe: a (B, K) array
             {"O": big, "kind": "big", "sizes": sizes},
             {"O": edge, "kind": "big", "sizes": {"B": 4, "K": 4}}]
    return [(c["O"],) for c in cases], cases


def _bad_rows(P, ref) -> np.ndarray:
    """Which rows (last axis) of ``P`` are wrong or not finite."""
    with np.errstate(all="ignore"):
        P = np.asarray(P, dtype=np.float64)
        err, tol, _ = judged_error(P, ref, VALUE_TOL)
    return ~(err <= tol).all(axis=-1)


def _unstable_kind(P, O) -> str:
    """Which of the two unstable softmaxes the wrong rows of ``P`` point to ('' if neither or unclear)."""
    if not isinstance(P, np.ndarray) or P.shape != O.shape or P.dtype.kind not in "fiu":
        return ""
    ref = _softmax_ref(O)
    with np.errstate(all="ignore"):
        naive = np.exp(O) / np.exp(O).sum(-1, keepdims=True)
        shifted = np.exp(O - O.max())
        global_shift = shifted / shifted.sum(-1, keepdims=True)
    bad = _bad_rows(P, ref)
    for text, variant in ((NAIVE_ROWS, naive), (GLOBAL_ROWS, global_shift)):
        expected_bad = _bad_rows(variant, ref)
        if expected_bad.any() and (bad == expected_bad).all():
            return text
    return ""


def _row_sums_text(P) -> str:
    """What the row sums of a wrong ``P`` say ('' if they are all 1 or ``P`` is not a float array)."""
    if not isinstance(P, np.ndarray) or P.dtype.kind not in "fiu" or P.ndim == 0 or P.size == 0:
        return ""
    with np.errstate(all="ignore"):
        sums = np.asarray(P, dtype=np.float64).sum(-1)
    if not np.isfinite(sums).all() or np.abs(sums - 1).max() <= 1e-9:
        return ""
    return (f"The rows of P do not sum to 1 (their sums lie between {sums.min():.3g} and {sums.max():.3g}): "
            f"divide the exponentials by their sum over the last axis, E.sum(axis=-1, keepdims=True).")


def _judge_softmax_one(c, P) -> Verdict:
    O, sizes = c["O"], c["sizes"]
    dims = {"P": " ".join(sizes)}
    if c["kind"] != "big":
        E = np.exp(O)
        variants = [("softmax is normalised along the wrong axis: each row (the last axis, K classes) "
                     "must sum to 1.", {"P": E / E.sum(axis=0, keepdims=True)}),
                    ("exp is not normalised: divide by the sum over the classes.", {"P": E}),
                    ("softmax is normalised over the whole array: each row (the last axis) must sum to 1, "
                     "E.sum(axis=-1, keepdims=True).", {"P": E / E.sum()}),
                    ("the maximum is taken along the wrong axis: the shift must be the same for every entry of a "
                     "row, O.max(axis=-1, keepdims=True).",
                     {"P": np.exp(O - O.max(0, keepdims=True)) / np.exp(O - O.max(0, keepdims=True)).sum(
                         -1, keepdims=True)})]
        if O.ndim == 3:
            variants.append(("softmax is normalised along the wrong axis: each row (the last axis, K classes) "
                             "must sum to 1.", {"P": E / E.sum(axis=1, keepdims=True)}))
        v = judge("softmax", ["P"], [P], {"P": _softmax_ref(O)}, tol=VALUE_TOL, kind="values",
                  compared_with="the reference", dims=dims, sizes=sizes, variants=variants)
        return explained(v, _row_sums_text(P), _ctx(sizes))
    v = judge("softmax", ["P"], [P], {"P": _softmax_ref(O)}, tol=VALUE_TOL, kind="values",
              compared_with="the reference on logits of size ±1000", dims=dims, sizes=sizes,
              context=_ctx(sizes))
    if not v.passed:
        return Verdict(False, v.message + f"\nLikely cause: {UNSTABLE}{_unstable_kind(P, O)}")
    return v


def _judge_softmax(cases, records) -> Verdict:
    func = "softmax"
    two_d_right = probe_right(records, 1, func, ["P"], _softmax_ref(cases[1]["O"]))
    verdicts = []
    for i, c in enumerate(cases):
        try:
            (P,) = with_error_hint(lambda i=i: returned(records, i, func, ["P"]), "broadcast")
        except _Failure as f:
            if c["O"].ndim == 2 and verdicts and verdicts[0].passed:
                raise _Failure(f"{f} Likely cause: {HARD_CODED_AXIS}") from None
            raise
        v = _judge_softmax_one(c, P)
        if not v.passed and c["kind"] == "moderate" and two_d_right and "Likely cause:" not in v.message:
            v = Verdict(False, v.message + f"\nA (B, K) array is right, so: {SOFTMAX_2D_ONLY}")
        elif not v.passed and c["kind"] == "2-D":
            v = Verdict(False, v.message + f"\nSo: {HARD_CODED_AXIS}")
        verdicts.append(v)
        if not v.passed:
            break
    v = _first_failure(verdicts, records, func, ["O"])
    if not v.passed:
        return v
    return Verdict(True, f"softmax correct, also for a (B, K) array and for large logits "
                         f"({_ctx(cases[0]['sizes'])}).")


SOFTMAX = Check("test_softmax", "softmax", build=_build_softmax, judge=_judge_softmax)


def grade_softmax(fn, *, rng=None) -> Verdict:
    """Check ``softmax(O)`` along the last axis, for moderate and for very large logits."""
    return SOFTMAX.grade(fn, rng=rng)
