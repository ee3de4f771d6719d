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
"""
from __future__ import annotations

import numpy as np

from .. import layers as _ref
from ._core import VALUE_TOL, Check, Verdict, _Failure, distinct_sizes, judge, modified_warning, returned
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


# ---------------------------------------------------------------------------
# softmax and NLL
# ---------------------------------------------------------------------------

UNSTABLE = ("the result overflows for large logits: subtract the maximum of each row (along the last axis) "
            "before exp — softmax does not change when every entry of a row is shifted by the same amount.")


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
    cases = [{"O": O, "big": False, "sizes": sizes}, {"O": big, "big": True, "sizes": sizes},
             {"O": edge, "big": True, "sizes": {"B": 4, "K": 4}}]
    return [(c["O"],) for c in cases], cases


def _judge_softmax_one(c, P) -> Verdict:
    O, sizes = c["O"], c["sizes"]
    dims = {"P": " ".join(sizes)}
    if not c["big"]:
        variants = [("softmax is normalised along the wrong axis: each row (the last axis, K classes) "
                     "must sum to 1.", {"P": np.exp(O) / np.exp(O).sum(axis=0, keepdims=True)}),
                    ("exp is not normalised: divide by the sum over the classes.", {"P": np.exp(O)})]
        return judge("softmax", ["P"], [P], {"P": _softmax_ref(O)}, tol=VALUE_TOL, kind="values",
                     compared_with="the reference", dims=dims, sizes=sizes, variants=variants, context=_ctx(sizes))
    try:
        v = judge("softmax", ["P"], [P], {"P": _softmax_ref(O)}, tol=VALUE_TOL, kind="values",
                  compared_with="the reference on logits of size ±1000", dims=dims, sizes=sizes,
                  context=_ctx(sizes))
    except _Failure:
        return Verdict(False, f"softmax: {UNSTABLE}")
    if not v.passed:
        return Verdict(False, v.message + f"\nLikely cause: {UNSTABLE}")
    return v


def _judge_softmax(cases, records) -> Verdict:
    verdicts = []
    for i, c in enumerate(cases):
        verdicts.append(_judge_softmax_one(c, returned(records, i, "softmax", ["P"])[0]))
        if not verdicts[-1].passed:
            break
    v = _first_failure(verdicts, records, "softmax", ["O"])
    if not v.passed:
        return v
    return Verdict(True, f"softmax correct, also for large logits ({_ctx(cases[0]['sizes'])}).")


SOFTMAX = Check("test_softmax", "softmax", build=_build_softmax, judge=_judge_softmax)


def grade_softmax(fn, *, rng=None) -> Verdict:
    """Check ``softmax(O)`` along the last axis, for moderate and for very large logits."""
    return SOFTMAX.grade(fn, rng=rng)


def _nll(O, Y):
    return _ref.softmax_cross_entropy(O, Y, reduction="sum")[0]


def _build_nll(rng):
    sizes = distinct_sizes(rng, "T B K", 2, 8)
    T, B, K = sizes["T"], sizes["B"], sizes["K"]
    O = 2.0 * rng.standard_normal((T, B, K))
    Y = rng.integers(0, K, size=(T, B))
    edge_rng = np.random.default_rng(20261222)
    edge_sizes = {"T": 1, "B": 1, "K": 3}  # one step, one sequence
    cases = [{"O": O, "Y": Y, "big": False, "sizes": sizes}, {"O": 400.0 * O, "Y": Y, "big": True, "sizes": sizes},
             {"O": 2.0 * edge_rng.standard_normal((1, 1, 3)), "Y": np.array([[2]]), "big": False,
              "sizes": edge_sizes}]
    return [(c["O"], c["Y"]) for c in cases], cases


def _judge_nll_one(c, L) -> Verdict:
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
    B = sizes["B"]
    logp = O - O.max(-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    picked = np.take_along_axis(logp, Y[..., None], -1)[..., 0]
    variants = [
        ("the loss is averaged; L is the sum over time steps (and over the batch): L = Σₜ L⁽ᵗ⁾.",
         {"L": np.array(-picked.mean())}),
        ("the loss is averaged over the batch; here L is summed over time and batch.",
         {"L": np.array(-picked.sum() / B)}),
        ("the sign is wrong: L = −Σ log p, a positive number.", {"L": np.array(picked.sum())}),
        ("the probabilities are summed instead of their logarithms.", {"L": np.array(-np.exp(picked).sum())}),
        ("the target is ignored: the loss takes the log-probability of Y[t] at each step, not of the "
         "most likely class.", {"L": np.array(-logp.max(-1).sum())}),
    ]
    return judge("sequence_nll", ["L"], [L], {"L": ref}, tol=VALUE_TOL, kind="value",
                 compared_with="the reference", sizes=sizes, variants=variants, context=_ctx(sizes))


def _judge_nll(cases, records) -> Verdict:
    verdicts = []
    for i, c in enumerate(cases):
        verdicts.append(_judge_nll_one(c, returned(records, i, "sequence_nll", ["L"])[0]))
        if not verdicts[-1].passed:
            break
    v = _first_failure(verdicts, records, "sequence_nll", ["O", "Y"])
    if not v.passed:
        return v
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
        out.append(h)
    return np.stack(out)


_STATE_BUGS = {"no_tanh": NO_TANH, "ws_not_t": WS_NOT_T, "no_bias": NO_BIAS, "not_carried": NOT_CARRIED}
LOGITS_NOT_PROBS = "return the logits o = c + Wy h, not their softmax."

_HH_ARGS = ["X", "h0", "Wx", "Ws", "b", "Wy", "c"]
_OH_ARGS = ["X", "Yprev", "Wx", "Wo", "b", "Wy", "c"]


def _yprev(sizes, p):
    B, K = sizes["B"], sizes["K"]
    onehot = np.eye(K)[p["Y"]]
    return np.concatenate([np.zeros((1, B, K)), onehot[:-1]])


def _family_builder(arg_names):
    def build(rng):
        cases = [_case(rng), _edge_case()]
        for sizes, p in cases:
            p["Yprev"] = _yprev(sizes, p)
        return [tuple(p[n] for n in arg_names) for _, p in cases], cases
    return build


def _family_judge(func, name, arg_names, judge_one):
    def judge_all(cases, records):
        verdicts = [judge_one(sizes, p, returned(records, i, func, [name])[0]) for i, (sizes, p) in enumerate(cases)]
        return _first_failure(verdicts, records, func, arg_names)
    return judge_all


def _judge_hh(sizes, p, O) -> Verdict:
    args = tuple(p[n] for n in _HH_ARGS)
    Hs = _states(*args[:5])
    ref = Hs @ p["Wy"].T + p["c"]
    variants = [(text, {"O": _states(*args[:5], bug=bug) @ p["Wy"].T + p["c"]})
                for bug, text in _STATE_BUGS.items()]
    H_prev = np.concatenate([p["h0"][None], Hs[:-1]])
    variants += [("the outputs are one step late: o⁽ᵗ⁾ is computed from h⁽ᵗ⁾, the state after reading x⁽ᵗ⁾.",
                  {"O": H_prev @ p["Wy"].T + p["c"]}),
                 (LOGITS_NOT_PROBS, {"O": _ref.softmax(ref)}),
                 ("the output bias c is missing.", {"O": Hs @ p["Wy"].T})]
    return judge("hidden_to_hidden_forward", ["O"], [O], {"O": ref}, tol=VALUE_TOL, kind="values",
                 compared_with="the reference", dims=_DIMS, sizes=sizes, variants=variants, time_axes={"O": 0},
                 direction="forward", context=_ctx(sizes))


def _judge_oh(sizes, p, O) -> Verdict:
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
                (LOGITS_NOT_PROBS, {"O": _ref.softmax(ref)})]
    return judge("output_to_hidden_forward", ["O"], [O], {"O": ref}, tol=VALUE_TOL, kind="values",
                 compared_with="the reference", dims=_DIMS, sizes=sizes, variants=variants, time_axes={"O": 0},
                 direction="forward", context=_ctx(sizes))


def _judge_s2o(sizes, p, o) -> Verdict:
    args = tuple(p[n] for n in _HH_ARGS)
    Hs = _states(*args[:5])
    out = lambda h: h @ p["Wy"].T + p["c"]  # noqa: E731
    variants = [(text, {"o": out(_states(*args[:5], bug=bug)[-1])}) for bug, text in _STATE_BUGS.items()]
    variants += [("the output is read from the first state; family (c) reads the whole sequence and uses "
                  "the last state h⁽ᵀ⁾.", {"o": out(Hs[0])}),
                 ("return one output per sequence, from the last state only: shape (B, K).", {"o": out(Hs)}),
                 ("the states are averaged; the output comes from the last state h⁽ᵀ⁾.", {"o": out(Hs.mean(0))}),
                 (LOGITS_NOT_PROBS, {"o": _ref.softmax(out(Hs[-1]))})]
    return judge("sequence_to_one_forward", ["o"], [o], {"o": out(Hs[-1])}, tol=VALUE_TOL, kind="values",
                 compared_with="the reference", dims=_DIMS, sizes=sizes, variants=variants,
                 context=_ctx(sizes))


HIDDEN_TO_HIDDEN = Check("test_hidden_to_hidden_forward", "hidden_to_hidden_forward",
                         build=_family_builder(_HH_ARGS),
                         judge=_family_judge("hidden_to_hidden_forward", "O", _HH_ARGS, _judge_hh))
OUTPUT_TO_HIDDEN = Check("test_output_to_hidden_forward", "output_to_hidden_forward",
                         build=_family_builder(_OH_ARGS),
                         judge=_family_judge("output_to_hidden_forward", "O", _OH_ARGS, _judge_oh))
SEQUENCE_TO_ONE = Check("test_sequence_to_one_forward", "sequence_to_one_forward",
                        build=_family_builder(_HH_ARGS),
                        judge=_family_judge("sequence_to_one_forward", "o", _HH_ARGS, _judge_s2o))

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
