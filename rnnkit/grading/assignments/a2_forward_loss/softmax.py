"""a2-forward-loss: ``softmax(O) -> P`` along the last axis, for moderate and for very large logits."""
from __future__ import annotations

import numpy as np

from rnnkit import layers
from rnnkit.grading.engine import GradedFunction, Mistake, Probe, ProbeRule, distinct_sizes

AXIS_TEXT = "softmax is normalised along the wrong axis: each row (the last axis, K classes) must sum to 1."
#: The probe cases with logits of size ±1000.
LARGE = ("+1000", "-1000", "±500")
UNSTABLE = ("the result overflows for large logits: subtract the maximum of each row (along the last axis) "
            "before exp — softmax does not change when every entry of a row is shifted by the same amount.")


def softmax_case(rng: np.random.Generator) -> dict:
    """Logits (T, B, K) of moderate size."""
    sizes = distinct_sizes(rng, "T B K", 2, 8)
    return {"sizes": sizes, "O": 2.0 * rng.standard_normal((sizes["T"], sizes["B"], sizes["K"]))}


def _exp_over(O, total):
    return np.exp(O) / total(np.exp(O))


def _shifted(O, m):
    E = np.exp(O - m)
    return E / E.sum(-1, keepdims=True)


def _large(O):
    """Rows of very different magnitudes (about ±500 apart): one maximum of the whole array breaks here."""
    return {"sizes": {"T": O.shape[0], "B": O.shape[1], "K": O.shape[2]},
            "O": 300.0 * O + 500.0 * np.where(O[..., :1] > 0, 1.0, -1.0)}


def moderate_mistakes(c) -> list:
    """Mistakes that show on logits of moderate size."""
    axis_1 = [Mistake("normalised-axis-1", AXIS_TEXT,
                      lambda c: {"P": _exp_over(c["O"], lambda E: E.sum(1, keepdims=True))})]
    return [
        Mistake("normalised-axis-0", AXIS_TEXT, lambda c: {"P": _exp_over(c["O"], lambda E: E.sum(0, keepdims=True))}),
        Mistake("not-normalised", "exp is not normalised: divide by the sum over the classes.",
                lambda c: {"P": np.exp(c["O"])}),
        Mistake("normalised-whole-array", "softmax is normalised over the whole array: each row (the last axis) "
                "must sum to 1, E.sum(axis=-1, keepdims=True).", lambda c: {"P": _exp_over(c["O"], np.sum)}),
        Mistake("max-wrong-axis", "the maximum is taken along the wrong axis: the shift must be the same for "
                "every entry of a row, O.max(axis=-1, keepdims=True).",
                lambda c: {"P": _shifted(c["O"], c["O"].max(0, keepdims=True))}),
        Mistake("divided-by-max", "the exponentials are divided by their largest entry, so the rows of P do not "
                "sum to 1: divide them by their sum over the last axis, E.sum(axis=-1, keepdims=True).",
                lambda c: {"P": np.exp(c["O"] - c["O"].max(-1, keepdims=True))}),
    ] + (axis_1 if c["O"].ndim == 3 else [])


def large_logit_mistakes(c) -> list:
    """The two unstable softmaxes, told apart by which rows turn NaN on large logits."""
    def unstable(m):
        with np.errstate(all="ignore"):
            return {"P": _shifted(c["O"], m)}
    return [
        Mistake("no-max-shift", UNSTABLE + " Here the rows with a logit above ~709 are wrong (exp overflows to inf, "
                "inf/inf = NaN), and so are rows whose logits are all below ~−745 (0/0): no maximum is subtracted "
                "at all.", lambda c: unstable(0.0)),
        Mistake("global-max-shift", UNSTABLE + " Here the rows whose maximum lies far below the maximum of the whole "
                "array are wrong (their exponentials underflow to 0, 0/0 = NaN): one maximum of the whole array is "
                "subtracted, O.max(), where each row needs its own, O.max(axis=-1, keepdims=True).",
                lambda c: unstable(c["O"].max())),
    ]


def _row(*logits):
    return lambda c: {"sizes": {"B": 1, "K": len(logits)}, "O": np.array([logits], dtype=np.float64)}


SOFTMAX = GradedFunction(
    grade_id="test_softmax", function="softmax",
    arguments=("O",), returns=("P",),
    args_of=lambda c: (c["O"],),
    draw=softmax_case,
    reference=lambda c: {"P": layers.softmax(c["O"])},
    dims={"P": "T B K", "O": "T B K"},
    error_hints=("broadcast",),
    mistakes=lambda c: large_logit_mistakes(c) if c.get("probe_name") in LARGE else moderate_mistakes(c),
    probes=(
        Probe("(B, K)", what="a (B, K) array", make=lambda c: {"sizes": {"B": c["sizes"]["B"], "K": c["sizes"]["K"]},
                                                              "O": c["O"][0]}),
        Probe("+1000", what="one row of logits near +1000", make=_row(1000.0, 0.0, -1000.0, 999.0)),
        Probe("-1000", what="one row of logits near −1000", make=_row(-1000.0, -1000.0, -1001.0, -1002.0)),
        Probe("±500", what="rows of very different sizes (about ±500 apart)", make=lambda c: _large(c["O"])),
    ),
    rules=(
        ProbeRule(right=("full",), wrong=("(B, K)",),
                  text="right for a (T, B, K) array but not for a (B, K) one: the code assumes three dimensions "
                       "(axis=2, or an index such as [:, :, None]?). Softmax works along the last axis of any "
                       "(..., K) array: use axis=-1 (and [..., None])."),
        ProbeRule(right=("full",), any_wrong=("+1000", "-1000", "±500"), text=UNSTABLE),
        ProbeRule(wrong=("full",), right=("(B, K)",),
                  text="right for a (B, K) array but not for a (T, B, K) one: the class axis is hard-coded "
                       "(axis=1?). Use axis=-1, the last axis, whatever the number of dimensions."),
    ),
    none_right="P is wrong also for a (B, K) array: P = exp(O − max) / Σ exp(O − max), the maximum and the sum "
               "taken over the last axis of each row (axis=-1, keepdims=True).",
    argument_notes={"O": "the logits are read again after the softmax (by the loss, by the backward pass), and "
                         "they are no longer the model's."},
    passed_note="also for a (B, K) array and for logits of size ±1000",
    withheld=("softmax",),
)
