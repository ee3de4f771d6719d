"""a5-teacher-forcing: the checks of teacher_forcing_inputs, output_rnn_forward and output_rnn_backward."""
from __future__ import annotations

import numpy as np

from ...data import shift_right
from .._core import GRAD_TOL, VALUE_TOL, Check, LargeCase, Probe, judge, numerical_gradients
from .common import (_case, _compare_tokens, _ctx, _judge_all, _merged, _onehot, _teacher, _tokens,
                     output_rnn_reference)


# teacher_forcing_inputs -------------------------------------------------------

TF_TERMS = {
    "first": "the first step: it receives nothing, written −1.",
    "shift": "the shift: step t receives the target of step t−1, feedback[t] = Y[t−1] for t ≥ 1.",
    "batch": "the axes: time is axis 0 and each sequence (a column of Y) is shifted on its own.",
}
#: Probe cases (spec: the sizes of the fixed targets).
TF_PROBES = (Probe("T = 1 (only the first step)", frozenset({"shift"}), {"T": 1, "B": 3}),
             Probe("B = 1", frozenset({"batch"}), {"T": 5, "B": 1}))


def _tf_case(r, sizes=None, fixed=False, probe=None):
    s, p = _case(r, sizes=sizes)
    return {"sizes": {"T": s["T"], "B": s["B"]}, "Y": p["Y"], "fixed": fixed, "probe": probe}


def _build_tf(rng):
    cases = [_tf_case(rng),
             _tf_case(np.random.default_rng(20260501), {"T": 4, "B": 3, "D": 2, "H": 4, "K": 5}, fixed=True),
             *(_tf_case(np.random.default_rng(20260511 + i), {"D": 2, "H": 4, "K": 5, **p.spec}, probe=p.name)
               for i, p in enumerate(TF_PROBES))]
    return [(c["Y"],) for c in cases], cases


def _judge_tf_one(case, out, record):
    Y = case["Y"]
    T, B = Y.shape
    got = _tokens(out[0], "teacher_forcing_inputs", "feedback", Y.shape,
                  {(T + 1, B): "One row too many: the −1 row is put in front of all of Y; the last target "
                               "Y[T−1] is never fed (nothing follows it), so feedback = [−1, Y[0], …, Y[T−2]]."})
    smear = np.concatenate([-np.ones((1, B), dtype=np.int64), np.repeat(Y[:1], T - 1, axis=0)])
    rolled_batch = np.roll(Y, 1, axis=1)
    rolled_batch[:, 0] = -1
    variants = [("the targets are fed unshifted: step t receives the target of step t-1 (its own target "
                 "is what it must predict).", Y),
                ("the first step must receive nothing, written -1 (not class 0).",
                 shift_right(Y, fill=0)),
                ("the first step must receive nothing, written -1: it still holds Y[0] (set feedback[0] = -1 "
                 "after the shift).", shift_right(Y, fill=Y[0])),
                ("only the first row is replaced by -1: the other steps must be shifted too, feedback[t] = "
                 "Y[t-1], not Y[t].", np.concatenate([-np.ones((1, B), dtype=np.int64), Y[1:]])),
                ("every later step receives Y[0]: a loop `feedback[t] = feedback[t-1]` running forwards (or "
                 "Y[t] = Y[t-1] on Y itself) reads a row it has just overwritten. Read from Y, and write into "
                 "a new array (or loop backwards).", smear),
                ("the shift runs along the batch axis: time is axis 0, so shift the rows "
                 "(feedback[t] = Y[t-1]), not the columns.", rolled_batch),
                ("the shift goes the wrong way: step t receives Y[t-1], not Y[t+1].",
                 np.concatenate([Y[1:], -np.ones((1, B), dtype=np.int64)]))]
    return _compare_tokens("teacher_forcing_inputs", got, _teacher(Y), variants,
                           _ctx(case["sizes"], fixed=case["fixed"], probe=case.get("probe")))


_TF_MODIFIED = ("teacher_forcing_inputs changed the targets Y it was given (it wrote into Y in place, e.g. "
                "shifting Y itself or setting Y[0] = -1). The caller still needs Y unchanged: it holds the "
                "targets of the loss. Build the feedback in a new array (np.empty_like(Y) or np.concatenate) "
                "and leave Y as it was.")

TEACHER_FORCING_INPUTS = Check(
    "test_teacher_forcing_inputs", "teacher_forcing_inputs", build=_build_tf,
    judge=lambda cs, rec: _judge_all(cs, rec, "teacher_forcing_inputs", ["feedback"], ["Y"], _judge_tf_one,
                                     TF_PROBES, TF_TERMS, modified_text=_TF_MODIFIED))


# output_rnn_forward / output_rnn_backward ---------------------------------------

_FIXED_SEQ_SIZES = {"T": 3, "B": 1, "D": 2, "H": 4, "K": 5}
_PROBE_SEQ_SIZES = {"T": 3, "B": 2, "D": 3, "H": 4, "K": 5}


def _seq_case(r, sizes=None, fixed=False, probe=None, edits=()):
    """A teacher-forced case: inputs, the fed tokens, their one-hot F, and an upstream gradient dO.

    ``edits`` switch parts off for a probe case: "unfed" (nothing fed), "all_fed" (a token at every
    step), "fed_once" (a token at the middle step only), "Wo0", "X0", "b0", "c0", "h0" (X = Wo = b = 0,
    so h = 0), "dO_last" (dO zero but at the last step).
    """
    sizes, p = _case(r, sizes=sizes)
    T, B, K = sizes["T"], sizes["B"], sizes["K"]
    p["feedback"] = _teacher(p["Y"])
    if "unfed" in edits:
        p["feedback"] = -np.ones((T, B), dtype=np.int64)
    if "all_fed" in edits:
        p["feedback"] = p["Y"].astype(np.int64)
    if "fed_once" in edits:
        p["feedback"] = -np.ones((T, B), dtype=np.int64)
        p["feedback"][T // 2] = p["Y"][T // 2]
    for edit, names in {"Wo0": ("Wo",), "X0": ("X",), "b0": ("b",), "c0": ("c",), "h0": ("X", "Wo", "b")}.items():
        if edit in edits:
            for name in names:
                p[name] = np.zeros_like(p[name])
    p["F"] = _onehot(p["feedback"], K)
    O, Hs = output_rnn_reference(p["X"], p["F"], p["Wx"], p["Wo"], p["b"], p["Wy"], p["c"])
    p["O"], p["Hs"] = O, Hs
    p["dO"] = r.standard_normal(O.shape)
    if "dO_last" in edits:
        p["dO"][:-1] = 0.0
    return {"sizes": sizes, "p": p, "fixed": fixed, "probe": probe}


def _seq_cases(rng):
    return [_seq_case(rng), _seq_case(np.random.default_rng(20260502), _FIXED_SEQ_SIZES, fixed=True)]


def _probe_cases(probes, seed):
    """One case per probe (spec: (edits, sizes that differ from _PROBE_SEQ_SIZES)), each from its own seed."""
    return [_seq_case(np.random.default_rng(seed + i), {**_PROBE_SEQ_SIZES, **p.spec[1]}, probe=p.name,
                      edits=p.spec[0]) for i, p in enumerate(probes)]


FORWARD_TERMS = {
    "unfed": "the steps fed nothing (−1): their one-hot vector is zero, so Wo adds nothing there (not the "
             "one-hot of class 0 or K−1).",
    "feed": "the feedback term Wo onehot(f⁽ᵗ⁾) (F @ Wo.T), with the token fed at step t, feedback[t] (it is "
            "already shifted: do not shift it again).",
    "input": "the input term Wx x⁽ᵗ⁾ (X @ Wx.T).",
    "hbias": "the hidden bias b inside the tanh.",
    "obias": "the output bias: o = c + Wy h.",
    "time": "the time alignment: step t uses X[t] and feedback[t] together.",
    "batch": "the batch: each sequence uses its own inputs and tokens.",
}
#: Probe cases (spec: the edits of _seq_case, and sizes besides T=3, B=2, D=3, H=4, K=5).
FORWARD_PROBES = (
    Probe("nothing fed (feedback = −1 everywhere)", frozenset({"feed"}), (("unfed",), {})),
    Probe("a token fed at every step (no −1)", frozenset({"unfed"}), (("all_fed",), {})),
    Probe("Wo = 0", frozenset({"feed", "unfed"}), (("Wo0",), {})),
    Probe("X = 0", frozenset({"input"}), (("X0",), {})),
    Probe("b = 0", frozenset({"hbias"}), (("b0",), {})),
    Probe("c = 0", frozenset({"obias"}), (("c0",), {})),
    Probe("T = 1 (a token fed)", frozenset({"time"}), (("all_fed",), {"T": 1})),
    Probe("B = 1", frozenset({"batch"}), ((), {"B": 1})),
)


def _build_forward(rng):
    cases = _seq_cases(rng) + _probe_cases(FORWARD_PROBES, 20260521)
    return [tuple(c["p"][k] for k in ("X", "feedback", "Wx", "Wo", "b", "Wy", "c")) for c in cases], cases


def _judge_forward_one(case, out, record):
    sizes, p = case["sizes"], case["p"]
    K, feedback, F = sizes["K"], p["feedback"], p["F"]
    X, Wx, Wo, b, Wy, c = (p[k] for k in ("X", "Wx", "Wo", "b", "Wy", "c"))
    rest = (Wx, Wo, b, Wy, c)
    O = p["O"]
    softmax = np.exp(O - O.max(-1, keepdims=True))
    variants = [("the -1 entries (nothing fed) must give a zero vector, not the one-hot of class 0 or K-1.",
                 {"O": output_rnn_reference(X, _onehot(np.where(feedback < 0, 0, feedback), K), *rest)[0]}),
                ("the -1 entries (nothing fed) must give a zero vector, not the one-hot of class 0 or K-1.",
                 {"O": output_rnn_reference(X, _onehot(np.where(feedback < 0, K - 1, feedback), K), *rest)[0]}),
                ("tanh is missing: h = tanh(b + Wx x + Wo onehot(f)).",
                 {"O": (b + X @ Wx.T + F @ Wo.T) @ Wy.T + c}),
                ("the feedback is missing: the fed token enters through Wo.",
                 {"O": output_rnn_reference(X, 0 * F, *rest)[0]}),
                ("the feedback is shifted a second time: `feedback` already holds the token fed at each step "
                 "(feedback[t] enters step t); one_hot_feedback(feedback, K) is all it needs.",
                 {"O": output_rnn_reference(X, _onehot(_teacher(feedback), K), *rest)[0]}),
                ("O must be the logits o = c + Wy h: no softmax in the forward pass.",
                 {"O": softmax / softmax.sum(-1, keepdims=True)})]
    return judge("output_rnn_forward", ["O"], [out[0]], {"O": O}, tol=VALUE_TOL, kind="values",
                 compared_with="the reference", dims={"O": "T B K"}, sizes=sizes, variants=_merged(variants),
                 time_axes={"O": 0}, direction="forward",
                 context=_ctx(sizes, fixed=case["fixed"], probe=case.get("probe")))


OUTPUT_RNN_FORWARD = Check(
    "test_output_rnn_forward", "output_rnn_forward", build=_build_forward,
    judge=lambda cs, rec: _judge_all(cs, rec, "output_rnn_forward", ["O", "cache"],
                                     ["X", "feedback", "Wx", "Wo", "b", "Wy", "c"], _judge_forward_one,
                                     FORWARD_PROBES, FORWARD_TERMS))


BACKWARD_TERMS = {
    "tanh": "the tanh′ factor: δ = (dO @ Wy) ⊙ (1 − h²), with h the states Hs of the cache.",
    "time": "the sums over time: every parameter is used at every step, so dWx, dWo, db, dWy and dc add up "
            "all T steps (and dX[t] belongs to step t).",
    "path": "gradient passed between steps: under teacher forcing the fed tokens are targets, constants, so "
            "no gradient flows from step t back into step t−1 (through Wo or otherwise); each step's "
            "gradient comes from its own dO[t] only.",
    "unfed": "the steps fed nothing: their row of F is zero and adds nothing to dWo (dWo = Σ δᵀ F, "
             "not built from token indices such as F.argmax(-1)).",
    "batch": "the sums over the batch: the loss is a sum over sequences (no mean).",
}
#: Probe cases (spec as for FORWARD_PROBES). They feed a token at the middle step only (F = 0 at the
#: other steps) unless a token is fed at every step: so the steps fed nothing matter in every probe
#: that does not switch them off.
BACKWARD_PROBES = (
    Probe("dO only at the last step", frozenset({"time"}), (("fed_once", "dO_last"), {})),
    Probe("T = 1 (one step, a token fed)", frozenset({"time", "path", "unfed"}), (("all_fed",), {"T": 1})),
    Probe("Wo = 0", frozenset({"path"}), (("fed_once", "Wo0"), {})),
    Probe("h = 0 (X = Wo = b = 0, so tanh′ = 1)", frozenset({"tanh", "path"}), (("fed_once", "h0"), {})),
    Probe("a token fed at every step (no −1)", frozenset({"unfed"}), (("all_fed",), {})),
    Probe("B = 1", frozenset({"batch"}), (("fed_once",), {"B": 1})),
)


def _build_backward(rng):
    cases = _seq_cases(rng) + _probe_cases(BACKWARD_PROBES, 20260531)
    return [(c["p"]["dO"], tuple(c["p"][k] for k in ("X", "F", "Hs", "Wx", "Wo", "Wy"))) for c in cases], cases


_BACKWARD_DIMS = {"dX": "T B D", "dWx": "H D", "dWo": "H K", "db": "H", "dWy": "K H", "dc": "K"}


def _flat(a):
    return a.reshape(-1, a.shape[-1])


def _exact_backward(p: dict) -> dict:
    """The exact gradients of Σ O ⊙ dO for a case's arrays ``p`` (the chain rule; the small cases check
    learners against central differences, and the correct learners of the bug table agree with both)."""
    X, F, Hs, Wx, Wy, dO = p["X"], p["F"], p["Hs"], p["Wx"], p["Wy"], p["dO"]
    d = (dO @ Wy) * (1 - Hs ** 2)
    return {"dX": d @ Wx, "dWx": _flat(d).T @ _flat(X), "dWo": _flat(d).T @ _flat(F), "db": _flat(d).sum(0),
            "dWy": _flat(dO).T @ _flat(Hs), "dc": _flat(dO).sum(0)}


def _judge_backward_one(case, grads, record):
    sizes, p = case["sizes"], case["p"]
    X, Wx, Wo, b, Wy, c = (p[k].copy() for k in ("X", "Wx", "Wo", "b", "Wy", "c"))
    F, Hs, dO = p["F"], p["Hs"], p["dO"]

    def loss():
        return float(np.sum(output_rnn_reference(X, F, Wx, Wo, b, Wy, c)[0] * dO))
    num = numerical_gradients(loss, {"dX": X, "dWx": Wx, "dWo": Wo, "db": b, "dWy": Wy, "dc": c})
    dHs = dO @ Wy
    d = dHs * (1 - Hs ** 2)
    flat = _flat
    B = sizes["B"]
    good = _exact_backward(p)
    variants = [("the tanh′ factor (1 − h²) is missing between dHs and the pre-activation.",
                 {"dX": dHs @ Wx, "dWx": flat(dHs).T @ flat(X), "dWo": flat(dHs).T @ flat(F),
                  "db": flat(dHs).sum(0)}),
                ("the parameter gradients hold only the last step: sum over all steps (the steps are "
                 "independent here, but the parameters are shared).",
                 {"dWx": d[-1].T @ X[-1], "dWo": d[-1].T @ F[-1], "db": d[-1].sum(0), "dWy": dO[-1].T @ Hs[-1],
                  "dc": dO[-1].sum(0)}),
                ("dWo is transposed: it has the shape of Wo, (H, K) = δᵀ @ onehot(f).",
                 {"dWo": (flat(d).T @ flat(F)).T}),
                ("dc still has the batch (or time) axis: sum dO over time and batch to get shape (K,).",
                 {"dc": dO.sum(0)}),
                ("db still has the batch (or time) axis: sum δ over time and batch to get shape (H,).",
                 {"db": d.sum(0)}),
                ("the gradients are divided by the batch size B: the loss is a sum over the batch, so the "
                 "gradients are sums too.", {k: v / B for k, v in good.items() if k != "dX"})]
    return judge("output_rnn_backward", list(_BACKWARD_DIMS), grads, num, tol=GRAD_TOL, kind="gradients",
                 compared_with="central differences", dims=_BACKWARD_DIMS, sizes=sizes, variants=variants,
                 time_axes={"dX": 0}, context=_ctx(sizes, fixed=case["fixed"], probe=case.get("probe")))


#: The large case (too large for numerical differentiation; book/grading-reference.md): 129,312 entries.
LARGE_SIZES = {"T": 48, "B": 16, "D": 96, "H": 192, "K": 96}


def _large_backward(rng):
    case = _seq_case(rng, LARGE_SIZES)
    p = case["p"]
    return ((p["dO"], tuple(p[k] for k in ("X", "F", "Hs", "Wx", "Wo", "Wy"))), _exact_backward(p),
            dict(LARGE_SIZES))


OUTPUT_RNN_BACKWARD = Check(
    "test_output_rnn_backward", "output_rnn_backward", build=_build_backward,
    judge=lambda cs, rec: _judge_all(cs, rec, "output_rnn_backward", list(_BACKWARD_DIMS), ["dO", "cache"],
                                     _judge_backward_one, BACKWARD_PROBES, BACKWARD_TERMS),
    large=LargeCase(_large_backward, tuple(_BACKWARD_DIMS), tuple(_BACKWARD_DIMS),
                    lambda s: s["T"] * s["B"] * s["D"] + s["H"] * (s["D"] + 2 * s["K"] + 1) + s["K"]))
