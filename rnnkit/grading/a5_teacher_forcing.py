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
case and a fixed one), the learner's function runs in the sandboxed kernel
(:func:`rnnkit.casefile.run_check`), and only the recorded return values are judged here.
"""
from __future__ import annotations

import numpy as np

from ..casefile import special
from ._core import (GRAD_TOL, VALUE_TOL, Check, Verdict, _Failure, distinct_sizes, judge, modified_warning,
                    numerical_gradients, returned)

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD",
           "grade_teacher_forcing_inputs", "grade_output_rnn_forward", "grade_output_rnn_backward",
           "grade_generate_closed_loop", "grade_scheduled_feedback", "output_rnn_reference"]

#: What the notebook may import from rnnkit inside the grading sandbox (its setup cell defines
#: ``one_hot_feedback`` itself).
SANDBOX_EXPORTS = ("numerical_gradient",)
#: rnnkit names that compute this assignment's graded functions (teacher feedback, the teacher-forced
#: forward and backward pass, closed-loop generation, scheduled feedback): never in the sandbox.
SANDBOX_WITHHELD = ("OutputToHiddenRNN",)


def _ctx(sizes, extra="", fixed=False):
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + extra + (", the fixed case" if fixed else "")


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


def _tokens(value, func, name, shape):
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iu":
        dtype = f" of dtype {value.dtype}" if isinstance(value, np.ndarray) else ""
        raise _Failure(f"{func}: {name} must be an integer numpy array; got {type(value).__name__}{dtype}.")
    arr = np.array(value, dtype=np.int64, copy=True, subok=False)
    if arr.shape != shape:
        raise _Failure(f"{func}: {name} has shape {arr.shape}; expected (T, B) = {shape}.")
    return arr


def _compare_tokens(func, got, expected, variants, context, note=""):
    if np.array_equal(got, expected):
        return Verdict(True, f"{func} correct ({context}).")
    wrong = np.argwhere(got != expected)
    t, i = (int(v) for v in wrong[0])
    msg = (f"{func}: {len(wrong)} of {expected.size} tokens differ; the first at step t={t + 1} (0-based index {t}), "
           f"sequence {i}: got {int(got[t, i])}, expected {int(expected[t, i])}.")
    for text, v in variants:
        if v.shape == got.shape and np.array_equal(v, got):
            msg += f" Likely cause: {text}"
            break
    return Verdict(False, msg + note + f"\n(Checked on fresh inputs: {context}.)")


# ---------------------------------------------------------------------------
# the hidden test cells: build (draw the inputs) and judge (the recorded return values)
# ---------------------------------------------------------------------------

def _first_failure(verdicts, records, func, arg_names, modified_text=None):
    """The first failed verdict; else a failure if an argument was changed in place; else the first verdict."""
    for v in verdicts:
        if not v.passed:
            return v
    warning = modified_warning(records, func, arg_names)
    if warning:
        return Verdict(False, modified_text or warning)
    return verdicts[0]


def _judge_each(cases, records, func, names, arg_names, judge_one, modified_text=None):
    verdicts = [judge_one(case, returned(records, i, func, names), records[i]) for i, case in enumerate(cases)]
    return _first_failure(verdicts, records, func, arg_names, modified_text)


# teacher_forcing_inputs -------------------------------------------------------

def _build_tf(rng):
    sizes, p = _case(rng)
    fixed_sizes, fixed = _case(np.random.default_rng(20260501), sizes={"T": 1, "B": 3, "D": 2, "H": 4, "K": 5})
    cases = [{"sizes": sizes, "Y": p["Y"], "fixed": False}, {"sizes": fixed_sizes, "Y": fixed["Y"], "fixed": True}]
    return [(c["Y"],) for c in cases], cases


def _judge_tf_one(case, out, record):
    Y = case["Y"]
    got = _tokens(out[0], "teacher_forcing_inputs", "feedback", Y.shape)
    variants = [("the targets are fed unshifted: step t receives the target of step t-1 (its own target "
                 "is what it must predict).", Y),
                ("the first step must receive nothing, written -1 (not class 0).",
                 np.concatenate([np.zeros((1, Y.shape[1]), dtype=np.int64), Y[:-1]])),
                ("the shift goes the wrong way: step t receives Y[t-1], not Y[t+1].",
                 np.concatenate([Y[1:], -np.ones((1, Y.shape[1]), dtype=np.int64)]))]
    sizes = {k: case["sizes"][k] for k in "TB"}
    return _compare_tokens("teacher_forcing_inputs", got, _teacher(Y), variants,
                           _ctx(sizes, fixed=case["fixed"]))


_TF_MODIFIED = ("teacher_forcing_inputs changed the targets Y it was given (it wrote into Y in place, e.g. "
                "shifting Y itself or setting Y[0] = -1). The caller still needs Y unchanged: it holds the "
                "targets of the loss. Build the feedback in a new array (np.empty_like(Y) or np.concatenate) "
                "and leave Y as it was.")

TEACHER_FORCING_INPUTS = Check(
    "test_teacher_forcing_inputs", "teacher_forcing_inputs", build=_build_tf,
    judge=lambda cs, rec: _judge_each(cs, rec, "teacher_forcing_inputs", ["feedback"], ["Y"], _judge_tf_one,
                                      modified_text=_TF_MODIFIED))


# output_rnn_forward / output_rnn_backward ---------------------------------------

_FIXED_SEQ_SIZES = {"T": 3, "B": 1, "D": 2, "H": 4, "K": 5}


def _seq_case(r, sizes=None, fixed=False):
    """A teacher-forced case: inputs, the fed tokens, their one-hot F, and an upstream gradient dO."""
    sizes, p = _case(r, sizes=sizes)
    p["feedback"] = _teacher(p["Y"])
    p["F"] = _onehot(p["feedback"], sizes["K"])
    O, Hs = output_rnn_reference(p["X"], p["F"], p["Wx"], p["Wo"], p["b"], p["Wy"], p["c"])
    p["O"], p["Hs"] = O, Hs
    p["dO"] = r.standard_normal(O.shape)
    return {"sizes": sizes, "p": p, "fixed": fixed}


def _seq_cases(rng):
    return [_seq_case(rng), _seq_case(np.random.default_rng(20260502), _FIXED_SEQ_SIZES, fixed=True)]


def _build_forward(rng):
    cases = _seq_cases(rng)
    return [tuple(c["p"][k] for k in ("X", "feedback", "Wx", "Wo", "b", "Wy", "c")) for c in cases], cases


def _judge_forward_one(case, out, record):
    sizes, p = case["sizes"], case["p"]
    K, feedback, F = sizes["K"], p["feedback"], p["F"]
    rest = (p["Wx"], p["Wo"], p["b"], p["Wy"], p["c"])
    variants = [("the -1 entries (nothing fed) must give a zero vector, not the one-hot of class 0 or K-1.",
                 {"O": output_rnn_reference(p["X"], _onehot(np.where(feedback < 0, 0, feedback), K), *rest)[0]}),
                ("the -1 entries (nothing fed) must give a zero vector, not the one-hot of class 0 or K-1.",
                 {"O": output_rnn_reference(p["X"], _onehot(np.where(feedback < 0, K - 1, feedback), K), *rest)[0]}),
                ("tanh is missing: h = tanh(b + Wx x + Wo onehot(f)).",
                 {"O": (p["b"] + p["X"] @ p["Wx"].T + F @ p["Wo"].T) @ p["Wy"].T + p["c"]}),
                ("the feedback is missing: the fed token enters through Wo.",
                 {"O": output_rnn_reference(p["X"], 0 * F, *rest)[0]})]
    return judge("output_rnn_forward", ["O"], [out[0]], {"O": p["O"]}, tol=VALUE_TOL, kind="values",
                 compared_with="the reference", dims={"O": "T B K"}, sizes=sizes, variants=variants,
                 time_axes={"O": 0}, direction="forward", context=_ctx(sizes, fixed=case["fixed"]))


OUTPUT_RNN_FORWARD = Check(
    "test_output_rnn_forward", "output_rnn_forward", build=_build_forward,
    judge=lambda cs, rec: _judge_each(cs, rec, "output_rnn_forward", ["O", "cache"],
                                      ["X", "feedback", "Wx", "Wo", "b", "Wy", "c"], _judge_forward_one))


def _build_backward(rng):
    cases = _seq_cases(rng)
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
    variants = [("the tanh′ factor (1 − h²) is missing between dHs and the pre-activation.",
                 {"dX": dHs @ Wx, "dWx": flat(dHs).T @ flat(X), "dWo": flat(dHs).T @ flat(F),
                  "db": flat(dHs).sum(0)}),
                ("the parameter gradients hold only the last step: sum over all steps (the steps are "
                 "independent here, but the parameters are shared).",
                 {"dWx": d[-1].T @ X[-1], "dWo": d[-1].T @ F[-1], "db": d[-1].sum(0), "dWy": dO[-1].T @ Hs[-1],
                  "dc": dO[-1].sum(0)}),
                ("dWo is transposed: it has the shape of Wo, (H, K) = δᵀ @ onehot(f).",
                 {"dWo": (flat(d).T @ flat(F)).T})]
    return judge("output_rnn_backward", list(_BACKWARD_DIMS), grads, num, tol=GRAD_TOL, kind="gradients",
                 compared_with="central differences", dims=_BACKWARD_DIMS, sizes=sizes, variants=variants,
                 time_axes={"dX": 0}, context=_ctx(sizes, fixed=case["fixed"]))


OUTPUT_RNN_BACKWARD = Check(
    "test_output_rnn_backward", "output_rnn_backward", build=_build_backward,
    judge=lambda cs, rec: _judge_each(cs, rec, "output_rnn_backward", list(_BACKWARD_DIMS), ["dO", "cache"],
                                      _judge_backward_one))


# generate_closed_loop ------------------------------------------------------------

def _closed_loop(X, Wx, Wo, b, Wy, c, mode=None):
    T, B, _ = X.shape
    K = Wy.shape[0]
    fed = -np.ones(B, dtype=np.int64) if mode != "start_zero" else np.zeros(B, dtype=np.int64)
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


def _closed_loop_case(r, sizes=None, fixed=False):
    # Inputs on which every known mistake changes at least one token (drawn again otherwise).
    for _ in range(50):
        sizes_, p = _case(r, long=True, sizes=sizes)
        args = (p["X"], p["Wx"], p["Wo"], p["b"], p["Wy"], p["c"])
        expected = _closed_loop(*args)
        variants = [("the first step must be fed nothing (a zero vector), not class 0.",
                     _closed_loop(*args, mode="start_zero")),
                    ("the prediction is not fed back: step t receives the token the model chose at step t-1.",
                     _closed_loop(*args, mode="no_feedback")),
                    ("feed back the one-hot of the chosen token (argmax), not the probabilities.",
                     _closed_loop(*args, mode="feeds_probs"))]
        if all(not np.array_equal(v, expected) for _, v in variants):
            break
    return {"sizes": sizes_, "args": args, "expected": expected, "variants": variants, "fixed": fixed}


def _build_closed_loop(rng):
    cases = [_closed_loop_case(rng),
             _closed_loop_case(np.random.default_rng(20260504), {"T": 10, "B": 1, "D": 3, "H": 5, "K": 4}, True)]
    return [c["args"] for c in cases], cases


def _judge_closed_loop_one(case, out, record):
    sizes = case["sizes"]
    got = _tokens(out[0], "generate_closed_loop", "tokens", (sizes["T"], sizes["B"]))
    return _compare_tokens("generate_closed_loop", got, case["expected"], case["variants"],
                           _ctx(sizes, fixed=case["fixed"]))


GENERATE_CLOSED_LOOP = Check(
    "test_generate_closed_loop", "generate_closed_loop", build=_build_closed_loop,
    judge=lambda cs, rec: _judge_each(cs, rec, "generate_closed_loop", ["tokens"],
                                      ["X", "Wx", "Wo", "b", "Wy", "c"], _judge_closed_loop_one))


# scheduled_feedback ---------------------------------------------------------------

def _scheduled(X, Y, p_truth, P, seed, mode=None):
    r = np.random.default_rng(seed)
    T, B, _ = X.shape
    K = P["Wy"].shape[0]
    feedback = -np.ones((T, B), dtype=np.int64)
    teacher = _teacher(Y)
    fed = feedback[0]
    for t in range(1, T):
        f_prev = teacher[t - 1] if mode == "teacher_forced_predictions" else fed
        h = np.tanh(P["b"] + X[t - 1] @ P["Wx"].T + _onehot(f_prev, K) @ P["Wo"].T)
        pred = (P["c"] + h @ P["Wy"].T).argmax(-1)
        u = r.random(B)
        truth = u >= p_truth if mode == "inverted" else u < p_truth
        fed = np.where(truth, Y[t - 1], pred)
        feedback[t] = fed
    return feedback


def _scheduled_case(r, sizes=None, p_truth=None, fixed=False):
    for _ in range(50):  # inputs on which every known mistake changes at least one token
        sizes_, p = _case(r, long=True, sizes=sizes)
        params = {k: p[k] for k in ("Wx", "Wo", "b", "Wy", "c")}
        pt = float(r.uniform(0.3, 0.7)) if p_truth is None else float(p_truth)
        draw_seed = int(r.integers(0, 2**32))
        args = (p["X"], p["Y"], pt, params, draw_seed)
        expected = _scheduled(*args)
        if all(not np.array_equal(_scheduled(*args, mode=m), expected)
               for m in ("inverted", "teacher_forced_predictions")):
            break
    variants = [("the coin is inverted: feed the truth where the draw is *below* p_truth.",
                 _scheduled(*args, mode="inverted")),
                ("the model's prediction at step t-1 must be computed with the token actually fed at t-1 "
                 "(the mixed feedback), not with the teacher-forced one.",
                 _scheduled(*args, mode="teacher_forced_predictions"))]
    return {"sizes": sizes_, "X": p["X"], "Y": p["Y"], "p_truth": pt, "params": params, "seed": draw_seed,
            "expected": expected, "variants": variants, "fixed": fixed}


def _build_scheduled(rng):
    cases = [_scheduled_case(rng),
             _scheduled_case(np.random.default_rng(20260505), {"T": 10, "B": 1, "D": 3, "H": 5, "K": 4},
                             p_truth=0.5, fixed=True)]
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
                           _ctx(case["sizes"], f", p_truth={case['p_truth']:.2f}", fixed=case["fixed"]),
                           note=_draws_note(case, record))


SCHEDULED_FEEDBACK = Check(
    "test_scheduled_feedback", "scheduled_feedback", build=_build_scheduled,
    judge=lambda cs, rec: _judge_each(cs, rec, "scheduled_feedback", ["feedback"],
                                      ["X", "Y", "p_truth", "params", "rng"], _judge_scheduled_one))

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
