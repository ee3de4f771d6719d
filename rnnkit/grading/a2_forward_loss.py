r"""Checks for assignment a2-forward-loss (chapters 3–4): softmax, sequence NLL, three families' forward passes.

The three families of chapter 3, in the notation of the book:

(a) hidden-to-hidden recurrence with an output at every step:
    :math:`h^{(t)} = \tanh(b + W_s h^{(t-1)} + W_x x^{(t)})`, :math:`o^{(t)} = c + W_y h^{(t)}`;
(b) recurrence only from the output to the next state (trained with the previous target
    fed back): :math:`h^{(t)} = \tanh(b + W_o y^{(t-1)} + W_x x^{(t)})`, :math:`o^{(t)} = c + W_y h^{(t)}`,
    with ``Yprev[t]`` the vector fed at step t (zero at the first step);
(c) hidden-to-hidden recurrence read to the end, one output :math:`o = c + W_y h^{(T)}`.

Each hidden test cell is a :class:`~rnnkit.grading.Check` in :data:`CHECKS`: the inputs are
drawn in the grading process (a random draw plus a fixed edge case; softmax and the loss
also on logits of size ±1000), the learner's function runs on them in the sandbox, and the
judge sees only the arrays it returned. ``grade_*`` run a check in this process, for tests
and trusted code.

Besides the catalogue of classic mistakes, each check asks for probes (see
:class:`rnnkit.grading.a1_recurrence.ProbeCase`): the random case again with one part switched off
(``Ws = 0``, ``X = 0``, ``h0 = 0``, ``Yprev = 0``, ``b = 0``, ``c = 0``, ``T = 1``, ``B = 1``;
for the loss equal logits; for softmax a (B, K) array). Which of them the learner's function
gets right locates a mistake outside the catalogue.
"""
from __future__ import annotations

import numpy as np

from .. import layers as _ref
from ._core import (VALUE_TOL, Check, Verdict, _Failure, distinct_sizes, judge, modified_warning, returned,
                    scaled_rel_error)
from .a1_recurrence import ProbeCase, explained, probe_failure, probe_report, probe_right, with_error_hint
from .a3_bptt import NO_BIAS, NO_TANH, NOT_CARRIED, WS_NOT_T

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD",
           "grade_softmax", "grade_sequence_nll", "grade_hidden_to_hidden_forward", "grade_output_to_hidden_forward",
           "grade_sequence_to_one_forward"]

#: What the notebook may import from rnnkit inside the grading sandbox: nothing (it uses numpy only).
SANDBOX_EXPORTS = ()
#: rnnkit definitions that compute (or trivially give) a graded function of a2.
SANDBOX_WITHHELD = ("softmax", "softmax_cross_entropy", "rnn_step_forward", "rnn_forward", "affine_forward",
                    "HiddenToHiddenRNN", "OutputToHiddenRNN", "SequenceToOneRNN")

_DIMS = {"P": "T B K", "L": "", "O": "T B K", "o": "B K"}


def _ctx(sizes, seed=None):
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + (f", seed={seed}" if seed is not None else "")


def _first_failure(verdicts, records, func, arg_names) -> Verdict:
    """The first failed verdict; else a failure if an argument was modified in place; else the first verdict."""
    for v in verdicts:
        if not v.passed:
            return v
    warning = modified_warning(records, func, arg_names)
    if warning:
        return Verdict(False, warning)
    return verdicts[0]


def _values(rng, sizes):
    T, B, D, H, K = (sizes[k] for k in "TBDHK")
    return {
        "X": rng.standard_normal((T, B, D)), "h0": 0.5 * rng.standard_normal((B, H)),
        "Wx": rng.standard_normal((H, D)) / np.sqrt(D), "Ws": 0.8 * rng.standard_normal((H, H)) / np.sqrt(H),
        "b": 0.2 * rng.standard_normal(H), "Wy": rng.standard_normal((K, H)) / np.sqrt(H),
        "c": 0.2 * rng.standard_normal(K), "Wo": rng.standard_normal((H, K)),
        "Y": rng.integers(0, K, size=(T, B)),
    }


def _case(rng):
    sizes = distinct_sizes(rng, "T B D H K", 3, 8)  # T >= 3: the feedback mistakes differ from each other
    return sizes, _values(rng, sizes)


def _edge_case():
    """A fixed case with one step and one sequence (T = B = 1), judged on every run besides the random draw."""
    sizes = {"T": 1, "B": 1, "D": 2, "H": 3, "K": 4}
    return sizes, _values(np.random.default_rng(20261221), sizes)


def _zero(name):
    return lambda c: {**c, name: np.zeros_like(c[name])}


def _first_steps(n, *names):
    return lambda c: {**c, **{k: c[k][:n] for k in names}}


def _first_rows(n, *names):
    return lambda c: {**c, **{k: c[k][:, :n] if c[k].ndim == 3 or k == "Y" else c[k][:n] for k in names}}


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
        err = scaled_rel_error(P, ref)
    return ~(err <= VALUE_TOL).all(axis=-1)


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


# ---------------------------------------------------------------------------
# sequence NLL
# ---------------------------------------------------------------------------

def _nll(O, Y):
    return _ref.softmax_cross_entropy(O, Y, reduction="sum")[0]


NLL_PROBES = (
    ProbeCase("T = 1", _first_steps(1, "O", "Y"),
          "right for a single step (T = 1) but not for a sequence: every step's L⁽ᵗ⁾ counts once, "
          "L = Σₜ L⁽ᵗ⁾ (is one step left out, or are the steps averaged or weighted?).",
          "with T = 1, L is the sum over the batch of −log softmax(o)[y] at the one step."),
    ProbeCase("B = 1", _first_rows(1, "O", "Y"),
          "right for one sequence (B = 1) but not for a batch: L also sums over the sequences of the batch "
          "(is one sequence left out, or the batch averaged?).",
          "with B = 1, L is the sum over time of one sequence's −log softmax(o⁽ᵗ⁾)[y⁽ᵗ⁾]."),
    ProbeCase("O = 0", _zero("O"),
          "right when all logits are equal (then every class has the same log-probability), so the "
          "log-probability taken is not the target's: take log p[Y[t, b]] at each (t, b), e.g. "
          "np.take_along_axis(log_p, Y[..., None], axis=-1).",
          "with equal logits every target costs log K, so L = T·B·log K."),
)
NLL_RULES = (
    (("T = 1", "B = 1"),
     "right for T = 1 and for B = 1 but not for a batch of sequences: O[t, b] must be paired with Y[t, b]. "
     "Are the time and batch axes swapped somewhere (Y.T, a reshape in the other order)?"),
    "T = 1", "B = 1", "O = 0",
)
NLL_NONE_RIGHT = ("already wrong for one step, for one sequence and for equal logits: the per-step loss itself "
                  "is wrong. L⁽ᵗ⁾ = −log softmax(o⁽ᵗ⁾)[y⁽ᵗ⁾] (natural log, softmax along the class axis, with "
                  "the minus sign).")


def _build_nll(rng):
    sizes = distinct_sizes(rng, "T B K", 2, 8)
    T, B, K = sizes["T"], sizes["B"], sizes["K"]
    O = 2.0 * rng.standard_normal((T, B, K))
    Y = rng.integers(0, K, size=(T, B))
    edge_rng = np.random.default_rng(20261222)
    edge_sizes = {"T": 1, "B": 1, "K": 3}  # one step, one sequence
    main = {"O": O, "Y": Y, "big": False, "sizes": sizes}
    cases = [main, {"O": 2.0 * edge_rng.standard_normal((1, 1, 3)), "Y": np.array([[2]]), "big": False,
                    "sizes": edge_sizes},
             {"O": 400.0 * O, "Y": Y, "big": True, "sizes": sizes}]
    cases += [p.make(main) for p in NLL_PROBES]
    return [(c["O"], c["Y"]) for c in cases], cases


def _judge_nll_one(c, L, probe_text="") -> Verdict:
    O, Y, sizes = c["O"], c["Y"], c["sizes"]
    ref = np.array(_nll(O, Y))
    if c["big"]:
        try:
            v = judge("sequence_nll", ["L"], [L], {"L": ref}, tol=VALUE_TOL, kind="value",
                      compared_with="the reference on logits of size ±1000", sizes=sizes, context=_ctx(sizes))
        except _Failure:
            v = Verdict(False, "sequence_nll: the loss is infinite or NaN for large logits.")
        if not v.passed:
            return Verdict(False, v.message + "\nLikely cause: log(softmax) underflows to log(0). Compute "
                           "log p = o − max(o) − log Σ exp(o − max(o)) (log-sum-exp) instead.")
        return v
    T, B = sizes["T"], sizes["B"]
    logp = O - O.max(-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    picked = np.take_along_axis(logp, Y[..., None], -1)[..., 0]
    one_number = "L must be one number: sum the per-step losses over time and over the batch."
    variants = [
        ("the loss is averaged; L is the sum over time steps (and over the batch): L = Σₜ L⁽ᵗ⁾.",
         {"L": np.array(-picked.mean())}),
        ("the loss is averaged over the batch; here L is summed over time and batch.",
         {"L": np.array(-picked.sum() / B)}),
        ("the loss is averaged over time; L = Σₜ L⁽ᵗ⁾ is the sum over the steps (and over the batch).",
         {"L": np.array(-picked.sum() / T)}),
        ("the sign is wrong: L = −Σ log p, a positive number.", {"L": np.array(picked.sum())}),
        ("the probabilities are summed instead of their logarithms.", {"L": np.array(-np.exp(picked).sum())}),
        ("the target is ignored: the loss takes the log-probability of Y[t] at each step, not of the "
         "most likely class.", {"L": np.array(-logp.max(-1).sum())}),
        ("the log-probabilities are indexed with the whole Y at once (log_p[:, :, Y]), which takes every target "
         "at every (t, b): pick one entry per (t, b), log_p[t, b, Y[t, b]] (np.take_along_axis(log_p, "
         "Y[..., None], axis=-1)).", {"L": np.array(-logp[:, :, Y].sum())}),
        ("the logarithm is not the natural one: L = −Σ ln p (np.log), not log2 or log10.",
         {"L": np.array(-picked.sum() / np.log(2))}),
        ("the logarithm is not the natural one: L = −Σ ln p (np.log), not log2 or log10.",
         {"L": np.array(-picked.sum() / np.log(10))}),
        (one_number, {"L": -picked}), (one_number, {"L": -picked.sum(1)}), (one_number, {"L": -picked.sum(0)}),
    ]
    v = judge("sequence_nll", ["L"], [L], {"L": ref}, tol=VALUE_TOL, kind="value",
              compared_with="the reference", dims={"L": ""}, sizes=sizes, variants=variants)
    return explained(v, probe_text, _ctx(sizes))


def _judge_nll(cases, records) -> Verdict:
    func, n = "sequence_nll", 3
    right = {p.name: probe_right(records, n + j, func, ["L"], np.array(_nll(cases[n + j]["O"], cases[n + j]["Y"])))
             for j, p in enumerate(NLL_PROBES)}
    text = probe_report(right, NLL_PROBES, NLL_RULES, NLL_NONE_RIGHT)
    verdicts = []
    for i, c in enumerate(cases[:n]):
        (L,) = with_error_hint(lambda i=i: returned(records, i, func, ["L"]), "broadcast")
        verdicts.append(_judge_nll_one(c, L, text if i == 0 else ""))
        if not verdicts[-1].passed:
            break
    v = _first_failure(verdicts, records, func, ["O", "Y"])
    if not v.passed:
        return v
    failed = probe_failure(func, "L", right, NLL_PROBES, _ctx(cases[0]["sizes"]))
    if failed:
        return Verdict(False, failed)
    return Verdict(True, f"sequence_nll correct, also for large logits ({_ctx(cases[0]['sizes'])}).")


NLL = Check("test_sequence_nll", "sequence_nll", build=_build_nll, judge=_judge_nll)


def grade_sequence_nll(fn, *, rng=None) -> Verdict:
    """Check ``sequence_nll(O, Y) -> float``: −Σ_t Σ_b log softmax(o⁽ᵗ⁾)[y⁽ᵗ⁾], also for large logits."""
    return NLL.grade(fn, rng=rng)


# ---------------------------------------------------------------------------
# the three families
# ---------------------------------------------------------------------------

def _states(X, h0, Wx, Ws, b, bug=None):
    h, out = h0, []
    for x in X:
        a = x @ Wx.T + (h0 if bug == "not_carried" else h) @ (Ws if bug == "ws_not_t" else Ws.T) + \
            (0.0 if bug == "no_bias" else b)
        h = a if bug == "no_tanh" else np.tanh(a)
        out.append(a if bug == "pre_activation" else h)
    return np.stack(out)


_STATE_BUGS = {"no_tanh": NO_TANH, "ws_not_t": WS_NOT_T, "no_bias": NO_BIAS, "not_carried": NOT_CARRIED,
               "pre_activation": "the output is computed from the pre-activation a⁽ᵗ⁾; it comes from the state "
                                 "h⁽ᵗ⁾ = tanh(a⁽ᵗ⁾): o⁽ᵗ⁾ = c + Wy h⁽ᵗ⁾."}
LOGITS_NOT_PROBS = "return the logits o = c + Wy h, not their softmax."
TANH_ON_LOGITS = "the logits go through tanh: the output layer is affine, o = c + Wy h, with no nonlinearity."

_HH_ARGS = ["X", "h0", "Wx", "Ws", "b", "Wy", "c"]
_OH_ARGS = ["X", "Yprev", "Wx", "Wo", "b", "Wy", "c"]

_BATCH_MIXED = ("right for one sequence (B = 1) but not for a batch: the rows of the batch are mixed. Row i of "
                "every state and output depends only on sequence i; look for a .reshape where a transpose .T "
                "belongs, or a sum or mean over the batch axis.")
_WRONG_INPUT = ("right for T = 1 and with X = 0, so step t reads the wrong input: step t must use X[t] "
                "(in order, X[0] first).")

#: Probes of families (a) and (c): the same inputs with one part switched off.
_STATE_PROBES = (
    ProbeCase("B = 1", _first_rows(1, "X", "h0"), _BATCH_MIXED, "each row of the batch is one sequence."),
    ProbeCase("T = 1", _first_steps(1, "X"), "", "with T = 1 there is one step, from h0 and X[0]."),
    ProbeCase("X = 0", _zero("X"),
          "the input term Wx x⁽ᵗ⁾ is wrong: with X = 0 your result is right. Write it x @ Wx.T, inside the tanh.",
          "with X = 0 the recurrence still runs from h0."),
    ProbeCase("h0 = 0", _zero("h0"),
          "h0 is not used as h⁽⁰⁾: with h0 = 0 your result is right, so the first step does not start from h0 "
          "(from zeros?) or h0 enters elsewhere. The first step is tanh(b + h0 @ Ws.T + X[0] @ Wx.T).",
          "with h0 = 0 the first step is tanh(b + X[0] @ Wx.T)."),
    ProbeCase("Ws = 0", _zero("Ws"),
          "the recurrent term Ws h⁽ᵗ⁻¹⁾ is wrong: with Ws = 0 your result is right. Write it h_prev @ Ws.T, "
          "inside the tanh, with h_prev the state of the previous step.",
          "with Ws = 0 every step is tanh(b + x @ Wx.T)."),
    ProbeCase("b = 0", _zero("b"),
          "the state bias b is wrong: with b = 0 your result is right. It is added once, inside the tanh.",
          "with b = 0 the step is tanh(h_prev @ Ws.T + x @ Wx.T)."),
    ProbeCase("c = 0", _zero("c"),
          "the output bias c is wrong: with c = 0 your result is right. o = c + h @ Wy.T, c added once.",
          "with c = 0 the output is h @ Wy.T."),
)
_HH_RULES = ("B = 1", (("T = 1", "X = 0"), _WRONG_INPUT),
             (("T = 1",), "the first step is right (T = 1 is), so the mistake is in how the steps follow each "
                          "other: step t starts from h⁽ᵗ⁻¹⁾ = tanh(a⁽ᵗ⁻¹⁾), the state the previous step produced "
                          "(not its pre-activation, not h0), and O[t] comes from h⁽ᵗ⁾."),
             "h0 = 0", "Ws = 0", "X = 0", "b = 0", "c = 0")
_S2O_RULES = ("B = 1", (("T = 1", "X = 0"), _WRONG_INPUT),
              (("T = 1",), "right for T = 1, so the step and the output layer are right; the mistake is in going "
                           "along the sequence: carry the state h⁽ᵗ⁾ = tanh(a⁽ᵗ⁾) through all T steps, then read "
                           "o from h⁽ᵀ⁾, the state after the last input."),
              "h0 = 0", "Ws = 0", "X = 0", "b = 0", "c = 0")
_STATE_NONE_RIGHT = ("already the first step is wrong, with each part switched off in turn: check the step "
                     "h = tanh(b + h_prev @ Ws.T + x @ Wx.T) (one tanh of the sum) and the output "
                     "o = c + h @ Wy.T together.")

_OH_PROBES = (
    ProbeCase("B = 1", _first_rows(1, "X", "Yprev"), _BATCH_MIXED, "each row of the batch is one sequence."),
    ProbeCase("T = 1", _first_steps(1, "X", "Yprev"), "", "with T = 1 there is one step, fed Yprev[0] = 0."),
    ProbeCase("X = 0", _zero("X"),
          "the input term Wx x⁽ᵗ⁾ is wrong: with X = 0 your O is right. Write it x @ Wx.T, inside the tanh.",
          "with X = 0 the state is tanh(b + Yprev[t] @ Wo.T)."),
    ProbeCase("Yprev = 0", _zero("Yprev"),
          "the feedback term Wo y⁽ᵗ⁻¹⁾ is wrong: with Yprev = 0 your O is right. Step t receives Yprev[t] as it "
          "is (already shifted: zeros at the first step), through Yprev[t] @ Wo.T inside the tanh.",
          "with Yprev = 0 each state is tanh(b + X[t] @ Wx.T)."),
    ProbeCase("b = 0", _zero("b"),
          "the state bias b is wrong: with b = 0 your O is right. It is added once, inside the tanh.",
          "with b = 0 the state is tanh(Yprev[t] @ Wo.T + X[t] @ Wx.T)."),
    ProbeCase("c = 0", _zero("c"),
          "the output bias c is wrong: with c = 0 your O is right. o = c + h @ Wy.T, c added once.",
          "with c = 0 the output is h @ Wy.T."),
)
_OH_RULES = ("B = 1", (("T = 1", "X = 0"), _WRONG_INPUT), "Yprev = 0",
             (("T = 1",), "the first step is right (T = 1, fed Yprev[0] = 0), so from t = 2 on the vector fed "
                          "back is not Yprev[t]: in this family the steps do not depend on each other; "
                          "h⁽ᵗ⁾ = tanh(b + Yprev[t] @ Wo.T + X[t] @ Wx.T) uses the given Yprev[t], not the "
                          "model's own outputs."),
             "X = 0", "b = 0", "c = 0")
_OH_NONE_RIGHT = ("already the first step is wrong, with each part switched off in turn: check "
                  "h = tanh(b + Yprev[t] @ Wo.T + X[t] @ Wx.T) and o = c + h @ Wy.T together.")


def _yprev(sizes, p):
    B, K = sizes["B"], sizes["K"]
    onehot = np.eye(K)[p["Y"]]
    return np.concatenate([np.zeros((1, B, K)), onehot[:-1]])


def _hh_ref(p):
    return _states(*(p[n] for n in _HH_ARGS[:5])) @ p["Wy"].T + p["c"]


def _oh_ref(p):
    return np.tanh(p["X"] @ p["Wx"].T + p["Yprev"] @ p["Wo"].T + p["b"]) @ p["Wy"].T + p["c"]


def _s2o_ref(p):
    return _states(*(p[n] for n in _HH_ARGS[:5]))[-1] @ p["Wy"].T + p["c"]


def _family_builder(arg_names, probes):
    def build(rng):
        cases = [_case(rng), _edge_case()]
        for sizes, p in cases:
            p["Yprev"] = _yprev(sizes, p)
        sizes, main = cases[0]
        cases += [(sizes, p.make(main)) for p in probes]
        return [tuple(p[n] for n in arg_names) for _, p in cases], cases
    return build


def _family_judge(func, name, arg_names, judge_one, truth, probes, rules, none_right):
    def judge_all(cases, records):
        right = {pr.name: probe_right(records, 2 + j, func, [name], truth(cases[2 + j][1]))
                 for j, pr in enumerate(probes)}
        text = probe_report(right, probes, rules, none_right)
        verdicts = [judge_one(sizes, p, with_error_hint(lambda i=i: returned(records, i, func, [name]))[0],
                              text if i == 0 else "")
                    for i, (sizes, p) in enumerate(cases[:2])]
        verdict = _first_failure(verdicts, records, func, arg_names)
        if verdict.passed:
            failed = probe_failure(func, name, right, probes, _ctx(cases[0][0]))
            if failed:
                return Verdict(False, failed)
        return verdict
    return judge_all


def _judge_hh(sizes, p, O, probe_text="") -> Verdict:
    args = tuple(p[n] for n in _HH_ARGS)
    Hs = _states(*args[:5])
    ref = Hs @ p["Wy"].T + p["c"]
    variants = [(text, {"O": _states(*args[:5], bug=bug) @ p["Wy"].T + p["c"]})
                for bug, text in _STATE_BUGS.items()]
    H_prev = np.concatenate([p["h0"][None], Hs[:-1]])
    variants += [("the outputs are one step late: o⁽ᵗ⁾ is computed from h⁽ᵗ⁾, the state after reading x⁽ᵗ⁾.",
                  {"O": H_prev @ p["Wy"].T + p["c"]}),
                 (LOGITS_NOT_PROBS, {"O": _ref.softmax(ref)}),
                 (TANH_ON_LOGITS, {"O": np.tanh(ref)}),
                 ("the output bias c is missing.", {"O": Hs @ p["Wy"].T})]
    v = judge("hidden_to_hidden_forward", ["O"], [O], {"O": ref}, tol=VALUE_TOL, kind="values",
              compared_with="the reference", dims=_DIMS, sizes=sizes, variants=variants, time_axes={"O": 0},
              direction="forward")
    return explained(v, probe_text, _ctx(sizes))


def _judge_oh(sizes, p, O, probe_text="") -> Verdict:
    B, K = sizes["B"], sizes["K"]
    Yprev = p["Yprev"]

    def run(Yfed, tanh=True):
        A = p["X"] @ p["Wx"].T + Yfed @ p["Wo"].T + p["b"]
        return (np.tanh(A) if tanh else A) @ p["Wy"].T + p["c"]
    ref = run(Yprev)
    variants = [(NO_TANH, {"O": run(Yprev, tanh=False)}),
                ("the fed-back vectors are shifted a second time: Yprev[t] is already what step t receives.",
                 {"O": run(np.concatenate([np.zeros((1, B, K)), Yprev[:-1]]))}),
                ("the feedback is missing: h⁽ᵗ⁾ depends on Yprev[t] through Wo.", {"O": run(0 * Yprev)}),
                (LOGITS_NOT_PROBS, {"O": _ref.softmax(ref)}),
                (TANH_ON_LOGITS, {"O": np.tanh(ref)})]
    v = judge("output_to_hidden_forward", ["O"], [O], {"O": ref}, tol=VALUE_TOL, kind="values",
              compared_with="the reference", dims=_DIMS, sizes=sizes, variants=variants, time_axes={"O": 0},
              direction="forward")
    return explained(v, probe_text, _ctx(sizes))


def _judge_s2o(sizes, p, o, probe_text="") -> Verdict:
    args = tuple(p[n] for n in _HH_ARGS)
    Hs = _states(*args[:5])
    out = lambda h: h @ p["Wy"].T + p["c"]  # noqa: E731
    variants = [(text, {"o": out(_states(*args[:5], bug=bug)[-1])}) for bug, text in _STATE_BUGS.items()]
    variants += [("the output is read from the first state; family (c) reads the whole sequence and uses "
                  "the last state h⁽ᵀ⁾.", {"o": out(Hs[0])}),
                 ("return one output per sequence, from the last state only: shape (B, K).", {"o": out(Hs)}),
                 ("return one output per sequence, from the last state only: shape (B, K) (O[-1], not O[-1:]).",
                  {"o": out(Hs[-1:])}),
                 ("the states are averaged; the output comes from the last state h⁽ᵀ⁾.", {"o": out(Hs.mean(0))}),
                 ("the last input X[T-1] is not read: o comes from h⁽ᵀ⁾, the state after all T inputs "
                  "(a loop over X[:-1] or range(T - 1)?).", {"o": out(Hs[-2] if len(Hs) > 1 else p["h0"])}),
                 (LOGITS_NOT_PROBS, {"o": _ref.softmax(out(Hs[-1]))}),
                 (TANH_ON_LOGITS, {"o": np.tanh(out(Hs[-1]))})]
    v = judge("sequence_to_one_forward", ["o"], [o], {"o": out(Hs[-1])}, tol=VALUE_TOL, kind="values",
              compared_with="the reference", dims=_DIMS, sizes=sizes, variants=variants)
    return explained(v, probe_text, _ctx(sizes))


HIDDEN_TO_HIDDEN = Check("test_hidden_to_hidden_forward", "hidden_to_hidden_forward",
                         build=_family_builder(_HH_ARGS, _STATE_PROBES),
                         judge=_family_judge("hidden_to_hidden_forward", "O", _HH_ARGS, _judge_hh, _hh_ref,
                                             _STATE_PROBES, _HH_RULES, _STATE_NONE_RIGHT))
OUTPUT_TO_HIDDEN = Check("test_output_to_hidden_forward", "output_to_hidden_forward",
                         build=_family_builder(_OH_ARGS, _OH_PROBES),
                         judge=_family_judge("output_to_hidden_forward", "O", _OH_ARGS, _judge_oh, _oh_ref,
                                             _OH_PROBES, _OH_RULES, _OH_NONE_RIGHT))
SEQUENCE_TO_ONE = Check("test_sequence_to_one_forward", "sequence_to_one_forward",
                        build=_family_builder(_HH_ARGS, _STATE_PROBES),
                        judge=_family_judge("sequence_to_one_forward", "o", _HH_ARGS, _judge_s2o, _s2o_ref,
                                            _STATE_PROBES, _S2O_RULES, _STATE_NONE_RIGHT))

#: The hidden test cells of a2-forward-loss, by grade_id.
CHECKS = {c.grade_id: c for c in (SOFTMAX, NLL, HIDDEN_TO_HIDDEN, OUTPUT_TO_HIDDEN, SEQUENCE_TO_ONE)}


def grade_hidden_to_hidden_forward(fn, *, rng=None) -> Verdict:
    """Check family (a): ``hidden_to_hidden_forward(X, h0, Wx, Ws, b, Wy, c) -> O`` (T, B, K)."""
    return HIDDEN_TO_HIDDEN.grade(fn, rng=rng)


def grade_output_to_hidden_forward(fn, *, rng=None) -> Verdict:
    """Check family (b): ``output_to_hidden_forward(X, Yprev, Wx, Wo, b, Wy, c) -> O`` (T, B, K).

    ``Yprev[t]`` (B, K) is the vector fed back into step t (the previous target, one-hot; zeros at t=0).
    """
    return OUTPUT_TO_HIDDEN.grade(fn, rng=rng)


def grade_sequence_to_one_forward(fn, *, rng=None) -> Verdict:
    """Check family (c): ``sequence_to_one_forward(X, h0, Wx, Ws, b, Wy, c) -> o`` (B, K) from the last state."""
    return SEQUENCE_TO_ONE.grade(fn, rng=rng)
