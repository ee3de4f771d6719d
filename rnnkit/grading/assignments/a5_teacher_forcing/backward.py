"""a5-teacher-forcing: the specification of output_rnn_backward (no loop over time: the fed tokens are constants)."""
from __future__ import annotations

import numpy as np

from rnnkit.grading.engine import GradedFunction, LargeCase, Probe, numerical_gradients

from .cases import as_mistakes, located, resized, states, zeroed
from .teacher_forced import cache_of, sequence_case

GRADS = ("dX", "dWx", "dWo", "db", "dWy", "dc")


def _flat(a):
    return a.reshape(-1, a.shape[-1])


def exact_gradients(case) -> dict:
    """The chain rule's gradients of Σ O ⊙ dO (the probe and large cases; the drawn and edge cases are compared
    with central differences)."""
    X, F, Hs, Wx, _, Wy = cache_of(case)
    dO = case["dO"]
    d = (dO @ Wy) * (1 - Hs ** 2)
    return {"dX": d @ Wx, "dWx": _flat(d).T @ _flat(X), "dWo": _flat(d).T @ _flat(F), "db": _flat(d).sum(0),
            "dWy": _flat(dO).T @ _flat(Hs), "dc": _flat(dO).sum(0)}


def _central_differences(case) -> dict:
    """Central differences of Σ O ⊙ dO through the reference forward pass (independent of the chain rule)."""
    arrays = {k: np.array(case[k], dtype=np.float64) for k in ("X", "Wx", "Wo", "b", "Wy", "c")}
    copy = {**case, **arrays}
    return numerical_gradients(lambda: float(np.sum(states(copy)[0] * case["dO"])),
                               {"d" + k: v for k, v in arrays.items()})


def _mistakes(case) -> list:
    X, F, Hs, Wx, _, Wy = cache_of(case)
    dO, B = case["dO"], case["sizes"]["B"]
    dHs = dO @ Wy
    d = dHs * (1 - Hs ** 2)
    good = exact_gradients(case)

    def with_delta(delta):  # the four gradients that go through δ
        return {"dX": delta @ Wx, "dWx": _flat(delta).T @ _flat(X), "dWo": _flat(delta).T @ _flat(F),
                "db": _flat(delta).sum(0)}
    by_tokens = np.zeros_like(good["dWo"])
    np.add.at(by_tokens.T, F.argmax(-1).reshape(-1), _flat(d))
    return as_mistakes([
        ("no-tanh-prime", "the tanh′ factor (1 − h²) is missing between dHs and the pre-activation.",
         with_delta(dHs)),
        ("one-minus-h", "the tanh′ factor is 1 − h² (h squared), not 1 − h.", with_delta(dHs * (1 - Hs))),
        ("tanh-prime-of-h", "tanh′ is applied to the state: the cache holds h = tanh(a) already, so tanh′(a) = "
                            "1 − h²; 1 − tanh(h)² applies tanh a second time.",
         with_delta(dHs * (1 - np.tanh(Hs) ** 2))),
        ("sigmoid-prime", "h (1 − h) is the sigmoid's derivative; tanh′ is 1 − h².",
         with_delta(dHs * Hs * (1 - Hs))),
        ("rebuilt-pre-activation", "tanh′ is computed from a pre-activation rebuilt without b (b is not in the "
                                   "cache): take it from the states instead, tanh′ = 1 − h² with h = Hs.",
         with_delta(dHs * (1 - np.tanh(X @ Wx.T + F @ case["Wo"].T) ** 2))),
        ("last-step-only", "the parameter gradients hold only the last step: sum over all steps (the steps are "
                           "independent here, but the parameters are shared).",
         {"dWx": d[-1].T @ X[-1], "dWo": d[-1].T @ F[-1], "db": d[-1].sum(0), "dWy": dO[-1].T @ Hs[-1],
          "dc": dO[-1].sum(0)}),
        ("dWo-transposed", "dWo is transposed: it has the shape of Wo, (H, K) = δᵀ @ onehot(f).",
         {"dWo": good["dWo"].T}),
        ("dc-keeps-axis", "dc still has the batch (or time) axis: sum dO over time and batch to get shape (K,).",
         {"dc": dO.sum(0)}),
        ("db-keeps-axis", "db still has the batch (or time) axis: sum δ over time and batch to get shape (H,).",
         {"db": d.sum(0)}),
        ("divided-by-B", "the gradients are divided by the batch size B: the loss is a sum over the batch, so the "
                         "gradients are sums too.", {k: v / B for k, v in good.items() if k != "dX"}),
        ("dc-mean", "dc is the mean of dO over time and batch: it is their sum, dO.sum(axis=(0, 1)) (any "
                    "averaging of the loss is already inside dO).", {"dc": dO.mean((0, 1))}),
        ("db-mean", "db is the mean of δ over time and batch: it is their sum, δ.sum(axis=(0, 1)) (any averaging "
                    "of the loss is already inside dO).", {"db": d.mean((0, 1))}),
        ("dWo-from-token-indices", "the steps fed nothing add to dWo: their row of F is zero, but dWo is built from "
                                   "token indices such as F.argmax(-1), which reads a zero row as class 0. "
                                   "dWo = Σ δᵀ F needs no indices.", {"dWo": by_tokens}),
    ])


_TERMS = {
    "tanh": "the tanh′ factor: δ = (dO @ Wy) ⊙ (1 − h²), with h the states Hs of the cache",
    "time": "the sums over time: every parameter is used at every step, so dWx, dWo, db, dWy and dc add up all T "
            "steps (and dX[t] belongs to step t)",
    "path": "gradient passed between steps: under teacher forcing the fed tokens are targets, constants, so no "
            "gradient flows from step t back into step t−1 (through Wo or otherwise); each step's gradient comes "
            "from its own dO[t] only",
    "unfed": "the steps fed nothing: their row of F is zero and adds nothing to dWo (dWo = Σ δᵀ F, not built from "
             "token indices such as F.argmax(-1))",
    "batch": "the sums over the batch: the loss is a sum over sequences (no mean)",
}
_LAST, _T1, _WO0 = "dO only at the last step", "T = 1 (one step, a token fed)", "Wo = 0"
_H0, _ALL, _B1 = "h = 0 (X = Wo = b = 0, so tanh′ = 1)", "a token fed at every step (no −1)", "B = 1"
#: A probe that passes while the random case fails points at the parts it switches off; a probe that fails
#: rules them out (the rules spell out which probes must pass for each part).
_RULES = (located((_WO0, _H0, _T1), _TERMS["path"]), located((_LAST, _T1), _TERMS["time"]),
          located((_ALL, _T1), _TERMS["unfed"]), located((_B1,), _TERMS["batch"]),
          located((_H0,), _TERMS["tanh"], wrong=(_WO0,)), located((_H0, _WO0), _TERMS["tanh"], _TERMS["path"]))


def _fed_once(case) -> dict:
    """A token fed at the middle step only (F = 0 at the others): the steps fed nothing matter in every probe
    that does not feed a token at every step."""
    fb = np.full_like(case["Y"], -1)
    fb[case["sizes"]["T"] // 2] = case["Y"][case["sizes"]["T"] // 2]
    return {**case, "feedback": fb}


def _all_fed(case) -> dict:
    return {**case, "feedback": case["Y"]}


def _last_only(case) -> dict:
    dO = case["dO"].copy()
    dO[:-1] = 0.0
    return {**case, "dO": dO}


#: The large case (too large for central differences; book/grading-reference.md): 129,312 entries.
LARGE_SIZES = {"T": 48, "B": 16, "D": 96, "H": 192, "K": 96}


def _large(rng):
    case = sequence_case(rng, LARGE_SIZES)
    return (case["dO"], cache_of(case)), exact_gradients(case), dict(LARGE_SIZES)


OUTPUT_RNN_BACKWARD = GradedFunction(
    grade_id="test_output_rnn_backward", function="output_rnn_backward",
    arguments=("dO", "cache"), returns=GRADS, args_of=lambda c: (c["dO"], cache_of(c)),
    draw=sequence_case, reference=exact_gradients, numerical=_central_differences, kind="gradients",
    edge_cases=(lambda: sequence_case(np.random.default_rng(20260502), {"T": 3, "B": 1, "D": 2, "H": 4, "K": 5}),
                lambda: sequence_case(np.random.default_rng(20260503), {"T": 1, "B": 2, "D": 3, "H": 4, "K": 5})),
    mistakes=_mistakes,
    passed_note="also for T = 1, for B = 1 and with steps fed nothing",
    probe_base=lambda: _fed_once(sequence_case(np.random.default_rng(20260531),
                                               {"T": 3, "B": 2, "D": 3, "H": 4, "K": 5})),
    probes=(Probe(_LAST, make=_last_only),
            Probe(_T1, make=lambda c: resized(_all_fed(c), T=1)),
            Probe(_WO0, make=lambda c: zeroed(c, "Wo")),
            Probe(_H0, make=lambda c: zeroed(c, "X", "Wo", "b")),
            Probe(_ALL, make=_all_fed),
            Probe(_B1, make=lambda c: resized(c, B=1))),
    rules=_RULES,
    none_right="the mistake shows in every probe case: look at the products with Wy and Wx and at the shapes of the "
               "sums.",
    dims={"dX": "T B D", "dWx": "H D", "dWo": "H K", "db": "H", "dWy": "K H", "dc": "K", "dO": "T B K"},
    time_axes={"dX": 0}, error_hints=("matmul", "broadcast"),
    argument_notes={"dO": "a training loop may use dO again (to report the loss's gradient, or in a gradient check).",
                    "cache": "the cache belongs to the forward pass: a gradient check, or a second backward pass "
                             "through the same forward pass, reads it again."},
    large=LargeCase(_large, GRADS, GRADS,
                    lambda s: s["T"] * s["B"] * s["D"] + s["H"] * (s["D"] + 2 * s["K"] + 1) + s["K"]),
    withheld=("OutputToHiddenRNN",))
