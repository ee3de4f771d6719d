r"""Checks for assignment a5-teacher-forcing (chapter 7): the output-recurrence family (b).

Model (as :class:`rnnkit.models.OutputToHiddenRNN`):
:math:`h^{(t)} = \tanh(b + W_x x^{(t)} + W_o\, \mathrm{onehot}(f^{(t)}))`,
:math:`o^{(t)} = c + W_y h^{(t)}`, where :math:`f^{(t)}` is the token fed into step t
(``-1`` = nothing, a zero vector). ``Wo`` is (H, K).

* ``teacher_forcing_inputs(Y)``: the fed tokens under teacher forcing, Y shifted right, -1 first;
* ``output_rnn_forward(X, feedback, Wx, Wo, b, Wy, c) -> (O, cache)`` with
  ``cache = (X, F, Hs, Wx, Wo, Wy)``, F the one-hot feedback (T, B, K);
* ``output_rnn_backward(dO, cache) -> (dX, dWx, dWo, db, dWy, dc)``: no loop over time needed;
* ``generate_closed_loop(X, Wx, Wo, b, Wy, c) -> tokens`` (T, B): greedy, own outputs fed back;
* ``scheduled_feedback(X, Y, p_truth, params, rng) -> feedback`` (T, B): at each step t >= 1 one
  draw ``rng.random(B)``; where it is below ``p_truth`` the truth Y[t-1] is fed, else the model's
  greedy prediction at t-1 (computed with what was fed at t-1).

Each hidden test cell is a :class:`~rnnkit.grading.Check`: the inputs are drawn here (a random
case and fixed ones), the learner's function runs in the sandboxed kernel
(:func:`rnnkit.casefile.run_check`), and only the recorded return values are judged here.
Besides the cases, each check asks about fixed *probe cases* that switch one part of the model
off (nothing fed, Wo = 0, T = 1, dO at one step only, p_truth = 0 or 1, ...): when no known
mistake matches, which probe cases pass and which fail names the part at fault
(:func:`rnnkit.grading._core.probe_conclusion`).
"""
from __future__ import annotations

import numpy as np

from ..casefile import special
from ._core import (GRAD_TOL, VALUE_TOL, Check, Probe, Verdict, _Failure, diagnosed, distinct_sizes, judge,
                    modified_warning, numerical_gradients, returned)

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD",
           "grade_teacher_forcing_inputs", "grade_output_rnn_forward", "grade_output_rnn_backward",
           "grade_generate_closed_loop", "grade_scheduled_feedback", "output_rnn_reference"]

#: What the notebook may import from rnnkit inside the grading sandbox (its setup cell defines
#: ``one_hot_feedback`` itself).
SANDBOX_EXPORTS = ("numerical_gradient",)
#: rnnkit names that compute this assignment's graded functions (teacher feedback, the teacher-forced
#: forward and backward pass, closed-loop generation, scheduled feedback): never in the sandbox.
SANDBOX_WITHHELD = ("OutputToHiddenRNN",)


def _ctx(sizes, extra="", fixed=False, probe=None):
    text = ", ".join(f"{k}={v}" for k, v in sizes.items()) + extra + (", the fixed case" if fixed else "")
    return f"probe case {probe}, {text}" if probe else text


def _case(r, long=False, sizes=None):
    """Sizes and arrays of one case; ``sizes`` (all five letters) fixes them instead of drawing."""
    if sizes is None:
        sizes = distinct_sizes(r, "T B D H K", 2, 8)
        if long:  # token outputs are coarse: longer sequences and bigger batches make mistakes show
            sizes["T"], sizes["B"] = int(r.integers(8, 13)), int(r.integers(6, 10))
    sizes = {k: int(sizes[k]) for k in "TBDHK"}
    T, B, D, H, K = (sizes[k] for k in "TBDHK")
    p = {"X": r.standard_normal((T, B, D)), "Wx": r.standard_normal((H, D)) / np.sqrt(D),
         "Wo": r.standard_normal((H, K)), "b": 0.2 * r.standard_normal(H),
         "Wy": 2.0 * r.standard_normal((K, H)) / np.sqrt(H), "c": 0.2 * r.standard_normal(K),
         "Y": r.integers(0, K, size=(T, B))}
    return sizes, p


def _onehot(tokens, K):
    tokens = np.asarray(tokens)
    F = np.zeros(tokens.shape + (K,))
    mask = tokens >= 0
    F[mask, tokens[mask]] = 1.0
    return F


def _teacher(Y):
    return np.concatenate([-np.ones((1, Y.shape[1]), dtype=np.int64), Y[:-1]])


def output_rnn_reference(X, F, Wx, Wo, b, Wy, c):
    """Logits and states of the output-recurrence model for one-hot feedback ``F`` (T, B, K)."""
    Hs = np.tanh(b + X @ Wx.T + F @ Wo.T)
    return Hs @ Wy.T + c, Hs


def _tokens(value, func, name, shape, shape_hints=None):
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iu":
        dtype = f" of dtype {value.dtype}" if isinstance(value, np.ndarray) else ""
        raise _Failure(f"{func}: {name} must be an integer numpy array; got {type(value).__name__}{dtype}.")
    arr = np.array(value, dtype=np.int64, copy=True, subok=False)
    if arr.shape != shape:
        hint = (shape_hints or {}).get(arr.shape, "")
        raise _Failure(f"{func}: {name} has shape {arr.shape}; expected (T, B) = {shape}." + (f" {hint}" if hint
                                                                                              else ""))
    return arr


def _merged(variants):
    """Variants with identical outputs on this case folded into one, their texts joined: on some inputs two
    mistakes give the same result, and the message must not pick one of them at random."""
    out = []
    for text, outs in variants:
        for i, (t0, o0) in enumerate(out):
            if set(o0) == set(outs) and all(o0[k].shape == outs[k].shape and np.allclose(o0[k], outs[k], rtol=1e-12,
                                                                                           atol=1e-12) for k in outs):
                if text not in t0:
                    out[i] = (f"{t0} Or: {text}", o0)
                break
        else:
            out.append((text, outs))
    return out


def _compare_tokens(func, got, expected, variants, context, note=""):
    if np.array_equal(got, expected):
        return Verdict(True, f"{func} correct ({context}).")
    wrong = np.argwhere(got != expected)
    t, i = (int(v) for v in wrong[0])
    msg = (f"{func}: {len(wrong)} of {expected.size} tokens differ; the first at step t={t + 1} (0-based index {t}), "
           f"sequence {i}: got {int(got[t, i])}, expected {int(expected[t, i])}.")
    causes = []   # on coarse token outputs two mistakes can give the same tokens: name each
    for text, v in variants:
        if v.shape == got.shape and np.array_equal(v, got) and text not in causes:
            causes.append(text)
    if causes:
        msg += " Likely cause: " + " Or: ".join(causes)
    return Verdict(False, msg + note + f"\n(Checked on fresh inputs: {context}.)")


# ---------------------------------------------------------------------------
# the hidden test cells: build (draw the inputs) and judge (the recorded return values)
# ---------------------------------------------------------------------------

def _judge_all(cases, records, func, names, arg_names, judge_one, probes=(), terms=None, modified_text=None):
    """Judge every case and probe case; one verdict (see :func:`rnnkit.grading._core.diagnosed`)."""
    verdicts = []
    for i, case in enumerate(cases):
        try:
            verdicts.append(judge_one(case, returned(records, i, func, names), records[i]))
        except _Failure as f:  # this case stopped (an exception, a wrong type): say which inputs it was
            sizes = case["sizes"] if "p_truth" not in case else {**case["sizes"], "p_truth": case["p_truth"]}
            verdicts.append(Verdict(False, f"{f}\n(Checked on fresh inputs: "
                                           f"{_ctx(sizes, fixed=case['fixed'], probe=case.get('probe'))}.)"))
    main = [v for c, v in zip(cases, verdicts) if not c.get("probe")]
    probed = {c["probe"]: v for c, v in zip(cases, verdicts) if c.get("probe")}
    warning = modified_warning(records, func, arg_names)
    passed = main[0].message
    if passed.endswith(")."):
        passed = passed[:-2] + ", and fixed and probe cases)."
    return diagnosed(func, main, probed, probes=probes, terms=terms,
                     also=[(modified_text or warning) if warning else ""], passed_text=passed)


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
                 np.concatenate([np.zeros((1, B), dtype=np.int64), Y[:-1]])),
                ("the first step must receive nothing, written -1: it still holds Y[0] (set feedback[0] = -1 "
                 "after the shift).", np.concatenate([Y[:1], Y[:-1]])),
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


def _judge_backward_one(case, grads, record):
    sizes, p = case["sizes"], case["p"]
    X, Wx, Wo, b, Wy, c = (p[k].copy() for k in ("X", "Wx", "Wo", "b", "Wy", "c"))
    F, Hs, dO = p["F"], p["Hs"], p["dO"]

    def loss():
        return float(np.sum(output_rnn_reference(X, F, Wx, Wo, b, Wy, c)[0] * dO))
    num = numerical_gradients(loss, {"dX": X, "dWx": Wx, "dWo": Wo, "db": b, "dWy": Wy, "dc": c})
    dHs = dO @ Wy
    d = dHs * (1 - Hs ** 2)
    flat = lambda a: a.reshape(-1, a.shape[-1])  # noqa: E731
    B = sizes["B"]
    good = {"dX": d @ Wx, "dWx": flat(d).T @ flat(X), "dWo": flat(d).T @ flat(F), "db": flat(d).sum(0),
            "dWy": flat(dO).T @ flat(Hs), "dc": flat(dO).sum(0)}
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


OUTPUT_RNN_BACKWARD = Check(
    "test_output_rnn_backward", "output_rnn_backward", build=_build_backward,
    judge=lambda cs, rec: _judge_all(cs, rec, "output_rnn_backward", list(_BACKWARD_DIMS), ["dO", "cache"],
                                     _judge_backward_one, BACKWARD_PROBES, BACKWARD_TERMS))


# generate_closed_loop ------------------------------------------------------------

def _closed_loop(X, Wx, Wo, b, Wy, c, mode=None):
    T, B, _ = X.shape
    K = Wy.shape[0]
    fed = {"start_zero": np.zeros(B, dtype=np.int64), "start_last": np.full(B, K - 1, dtype=np.int64)}.get(
        mode, -np.ones(B, dtype=np.int64))
    tokens = np.zeros((T, B), dtype=np.int64)
    prev_o = np.zeros((B, K))
    for t in range(T):
        f = _onehot(fed, K) if mode != "feeds_probs" else (np.exp(prev_o) / np.exp(prev_o).sum(-1, keepdims=True)
                                                            if t > 0 else np.zeros((B, K)))
        h = np.tanh(b + X[t] @ Wx.T + f @ Wo.T)
        o = c + h @ Wy.T
        tokens[t] = o.argmax(-1)
        prev_o = o
        fed = tokens[t] if mode != "no_feedback" else -np.ones(B, dtype=np.int64)
    return tokens


_CLOSED_LOOP_BUGS = {
    "start_zero": "the first step must be fed nothing (a zero vector), not class 0.",
    "start_last": "the first step must be fed nothing (a zero vector): np.eye(K)[-1] is the one-hot of class "
                  "K−1, not a zero vector.",
    "no_feedback": "the prediction is not fed back: step t receives the token the model chose at step t-1.",
    "feeds_probs": "feed back the one-hot of the chosen token (argmax), not the probabilities.",
}

CLOSED_LOOP_TERMS = {
    "first": "the first step: it is fed nothing, a zero vector (not class 0 or K−1).",
    "feedback": "what is fed back: the one-hot of the token chosen at step t−1 (its argmax), fed into step t.",
    "greedy": "the choice at each step: the argmax over the K classes of the logits o = c + Wy h, one token "
              "per sequence.",
    "batch": "the batch: each sequence feeds back its own token.",
}
#: Probe cases (spec: sizes besides T=10, B=1, D=3, H=5, K=4; an edit; the known mistakes that must
#: show on the case, whose inputs are redrawn until they do).
CLOSED_LOOP_PROBES = (
    Probe("T = 1 (only the first step)", frozenset({"feedback"}),
          {"sizes": {"T": 1, "B": 8}, "bugs": ("start_zero", "start_last")}),
    Probe("Wo = 0 (what is fed has no effect)", frozenset({"feedback", "first"}),
          {"sizes": {"B": 6}, "edit": "Wo0", "bugs": ()}),
    Probe("B = 1", frozenset({"batch"}), {"sizes": {"T": 12}}),
)


def _closed_loop_case(r, sizes=None, fixed=False, probe=None, edit=None, bugs=tuple(_CLOSED_LOOP_BUGS)):
    # Inputs on which every known mistake that can show changes at least one token (drawn again otherwise).
    for _ in range(50):
        sizes_, p = _case(r, long=True, sizes=sizes)
        if edit == "Wo0":
            p["Wo"] = np.zeros_like(p["Wo"])
        args = (p["X"], p["Wx"], p["Wo"], p["b"], p["Wy"], p["c"])
        expected = _closed_loop(*args)
        variants = [(text, _closed_loop(*args, mode=mode)) for mode, text in _CLOSED_LOOP_BUGS.items()]
        if all(not np.array_equal(v, expected) for (mode, (_, v)) in zip(_CLOSED_LOOP_BUGS, variants)
               if mode in bugs):
            break
    return {"sizes": sizes_, "args": args, "expected": expected, "variants": variants, "fixed": fixed,
            "probe": probe}


def _build_closed_loop(rng):
    base = {"T": 10, "B": 1, "D": 3, "H": 5, "K": 4}
    # Fixed cases, judged on every run: one sequence, and a batch (each sequence feeds back its own token).
    cases = [_closed_loop_case(rng),
             _closed_loop_case(np.random.default_rng(20260504), base, True),
             _closed_loop_case(np.random.default_rng(20260506), {**base, "B": 5}, True),
             *(_closed_loop_case(np.random.default_rng(20260541 + i), {**base, **p.spec["sizes"]}, probe=p.name,
                                 edit=p.spec.get("edit"), bugs=p.spec.get("bugs", tuple(_CLOSED_LOOP_BUGS)))
               for i, p in enumerate(CLOSED_LOOP_PROBES))]
    return [c["args"] for c in cases], cases


def _judge_closed_loop_one(case, out, record):
    sizes = case["sizes"]
    got = _tokens(out[0], "generate_closed_loop", "tokens", (sizes["T"], sizes["B"]))
    return _compare_tokens("generate_closed_loop", got, case["expected"], case["variants"],
                           _ctx(sizes, fixed=case["fixed"], probe=case.get("probe")))


GENERATE_CLOSED_LOOP = Check(
    "test_generate_closed_loop", "generate_closed_loop", build=_build_closed_loop,
    judge=lambda cs, rec: _judge_all(cs, rec, "generate_closed_loop", ["tokens"],
                                     ["X", "Wx", "Wo", "b", "Wy", "c"], _judge_closed_loop_one,
                                     CLOSED_LOOP_PROBES, CLOSED_LOOP_TERMS))


# scheduled_feedback ---------------------------------------------------------------

def _scheduled(X, Y, p_truth, P, seed, mode=None):
    r = np.random.default_rng(seed)
    T, B, _ = X.shape
    K = P["Wy"].shape[0]
    feedback = -np.ones((T, B), dtype=np.int64)
    teacher = _teacher(Y)
    fed = feedback[0]
    closed = -np.ones(B, dtype=np.int64)   # what a separate closed loop would feed
    for t in range(1, T):
        f_prev = {"teacher_forced_predictions": teacher[t - 1], "closed_loop_predictions": closed}.get(mode, fed)
        x = X[t] if mode == "prediction_from_x_t" else X[t - 1]
        h = np.tanh(P["b"] + x @ P["Wx"].T + _onehot(f_prev, K) @ P["Wo"].T)
        pred = (P["c"] + h @ P["Wy"].T).argmax(-1)
        closed = pred
        u = r.random(B)
        truth = u >= p_truth if mode == "inverted" else u < p_truth
        fed = np.where(truth, Y[t] if mode == "truth_y_t" else Y[t - 1], pred)
        feedback[t] = fed
    return feedback


_SCHEDULED_BUGS = {
    "inverted": "the coin is inverted: feed the truth where the draw is *below* p_truth.",
    "teacher_forced_predictions": "the model's prediction at step t-1 must be computed with the token actually "
                                  "fed at t-1 (the mixed feedback), not with the teacher-forced one.",
    "closed_loop_predictions": "the predictions come from a separate closed loop (each fed the previous "
                               "prediction): the model's prediction at step t-1 must be computed with the "
                               "token actually fed at t-1 (truth or prediction, whichever the coin chose).",
    "truth_y_t": "the truth fed at step t is Y[t-1], the target of the step before, not Y[t].",
    "prediction_from_x_t": "the prediction fed at step t is the model's output at step t-1: computed from "
                           "X[t-1] (and the token fed at t-1), not X[t].",
}

SCHEDULED_TERMS = {
    "truth": "the truth fed at step t: Y[t−1], the target of the step before.",
    "pred": "the prediction fed at step t: the greedy token of step t−1, computed from X[t−1] and the token "
            "fed at t−1.",
    "mix": "the mix: the prediction at t−1 is computed with the token actually fed at t−1 (truth or "
           "prediction, whichever the coin chose).",
    "coin": "the coins: one rng.random(B) per step t = 1 … T−1; sequence i gets the truth where u[i] < p_truth.",
    "batch": "the batch: each sequence has its own coin and its own tokens.",
}
#: Probe cases (spec: sizes besides T=10, B=1, D=3, H=5, K=4; p_truth; the known mistakes that must show).
SCHEDULED_PROBES = (
    Probe("p_truth = 1 (always the truth)", frozenset({"pred", "mix"}),
          {"sizes": {"B": 5}, "p_truth": 1.0, "bugs": ("inverted", "truth_y_t")}),
    Probe("p_truth = 0 (always the prediction)", frozenset({"truth", "mix"}),
          {"sizes": {"B": 5}, "p_truth": 0.0,
           "bugs": ("inverted", "prediction_from_x_t", "teacher_forced_predictions")}),
    Probe("B = 1", frozenset({"batch"}), {"sizes": {"T": 12}, "p_truth": 0.5}),
)


def _scheduled_case(r, sizes=None, p_truth=None, fixed=False, probe=None, bugs=tuple(_SCHEDULED_BUGS)):
    for _ in range(50):  # inputs on which every known mistake that can show changes at least one token
        sizes_, p = _case(r, long=True, sizes=sizes)
        params = {k: p[k] for k in ("Wx", "Wo", "b", "Wy", "c")}
        pt = float(r.uniform(0.3, 0.7)) if p_truth is None else float(p_truth)
        draw_seed = int(r.integers(0, 2**32))
        args = (p["X"], p["Y"], pt, params, draw_seed)
        expected = _scheduled(*args)
        if all(not np.array_equal(_scheduled(*args, mode=m), expected) for m in bugs):
            break
    variants = [(text, _scheduled(*args, mode=mode)) for mode, text in _SCHEDULED_BUGS.items()]
    return {"sizes": sizes_, "X": p["X"], "Y": p["Y"], "p_truth": pt, "params": params, "seed": draw_seed,
            "expected": expected, "variants": variants, "fixed": fixed, "probe": probe}


def _build_scheduled(rng):
    base = {"T": 10, "B": 1, "D": 3, "H": 5, "K": 4}
    cases = [_scheduled_case(rng, bugs=("inverted", "teacher_forced_predictions")),
             _scheduled_case(np.random.default_rng(20260505), base, p_truth=0.5, fixed=True,
                             bugs=("inverted", "teacher_forced_predictions")),
             _scheduled_case(np.random.default_rng(20260507), {**base, "B": 5}, p_truth=0.5, fixed=True),
             *(_scheduled_case(np.random.default_rng(20260551 + i), {**base, **p.spec["sizes"]},
                               p_truth=p.spec["p_truth"], probe=p.name,
                               bugs=p.spec.get("bugs", tuple(_SCHEDULED_BUGS)))
               for i, p in enumerate(SCHEDULED_PROBES))]
    # The rng argument is built in the kernel from the seed (a RecordingGenerator: it records the sizes
    # of the rng.random draws, so a wrong drawing scheme can be named).
    return [(c["X"], c["Y"], c["p_truth"], c["params"], special("generator", seed=c["seed"])) for c in cases], cases


def _draws_note(case, record) -> str:
    """Advice when the recorded rng.random draws are not the T-1 draws of B the instructions ask for."""
    T, B = case["sizes"]["T"], case["sizes"]["B"]
    obj = record.get("objects", {}).get("4") if isinstance(record, dict) else None
    draws = obj.get("draws") if isinstance(obj, dict) else None
    if not isinstance(draws, np.ndarray) or draws.dtype.kind not in "iu" or draws.ndim != 1:
        return ""
    sizes = [int(n) for n in draws[:50]]
    if int(draws.sum()) == (T - 1) * B and (len(sizes) == T - 1 or len(sizes) == 1):
        return ""  # the same uniforms in the same order (one call per step, or all at once)
    shown = ", ".join(str(n) for n in sizes[:12]) + (", ..." if len(sizes) > 12 else "")
    return (f" The coins were not drawn as instructed: expected T-1 = {T - 1} calls rng.random(B) with B={B} "
            f"(for t = 1, ..., T-1, none at the first step), but rng.random was called {len(draws)} time(s), "
            f"with sizes [{shown}].")


def _judge_scheduled_one(case, out, record):
    got = _tokens(out[0], "scheduled_feedback", "feedback", case["Y"].shape)
    return _compare_tokens("scheduled_feedback", got, case["expected"], case["variants"],
                           _ctx(case["sizes"], f", p_truth={case['p_truth']:.2f}", fixed=case["fixed"],
                                probe=case.get("probe")),
                           note=_draws_note(case, record))


SCHEDULED_FEEDBACK = Check(
    "test_scheduled_feedback", "scheduled_feedback", build=_build_scheduled,
    judge=lambda cs, rec: _judge_all(cs, rec, "scheduled_feedback", ["feedback"],
                                     ["X", "Y", "p_truth", "params", "rng"], _judge_scheduled_one,
                                     SCHEDULED_PROBES, SCHEDULED_TERMS))

#: The hidden test cells of a5-teacher-forcing, by grade_id.
CHECKS = {c.grade_id: c for c in (TEACHER_FORCING_INPUTS, OUTPUT_RNN_FORWARD, OUTPUT_RNN_BACKWARD,
                                  GENERATE_CLOSED_LOOP, SCHEDULED_FEEDBACK)}


# ---------------------------------------------------------------------------
# in-process wrappers (tests, trusted code)
# ---------------------------------------------------------------------------

def grade_teacher_forcing_inputs(fn, *, rng=None) -> Verdict:
    """Check ``teacher_forcing_inputs(Y) -> feedback`` (T, B): Y shifted right by one, -1 at the first step."""
    return TEACHER_FORCING_INPUTS.grade(fn, rng=rng)


def grade_output_rnn_forward(fn, *, rng=None) -> Verdict:
    """Check ``output_rnn_forward(X, feedback, Wx, Wo, b, Wy, c) -> (O, cache)``."""
    return OUTPUT_RNN_FORWARD.grade(fn, rng=rng)


def grade_output_rnn_backward(fn, *, rng=None) -> Verdict:
    """Check ``output_rnn_backward(dO, cache) -> (dX, dWx, dWo, db, dWy, dc)``; cache = (X, F, Hs, Wx, Wo, Wy)."""
    return OUTPUT_RNN_BACKWARD.grade(fn, rng=rng)


def grade_generate_closed_loop(fn, *, rng=None) -> Verdict:
    """Check ``generate_closed_loop(X, Wx, Wo, b, Wy, c) -> tokens`` (T, B): greedy, own predictions fed back."""
    return GENERATE_CLOSED_LOOP.grade(fn, rng=rng)


def grade_scheduled_feedback(fn, *, rng=None) -> Verdict:
    """Check ``scheduled_feedback(X, Y, p_truth, params, rng) -> feedback`` against the same draws."""
    return SCHEDULED_FEEDBACK.grade(fn, rng=rng)
