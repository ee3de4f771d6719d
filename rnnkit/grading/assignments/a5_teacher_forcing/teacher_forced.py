"""a5-teacher-forcing: the specifications of teacher_forcing_inputs, output_rnn_forward and output_rnn_backward."""
from __future__ import annotations

import numpy as np

from rnnkit.grading.engine import GradedFunction, Probe

from .cases import (as_mistakes, concluded, draw_model, fed_one_hot, located, model_arrays_note, resized,
                    states, teacher_tokens, zeroed)


# teacher_forcing_inputs -------------------------------------------------------------

def _tf_case(r, sizes=None) -> dict:
    case = draw_model(r, sizes)
    return {"sizes": {"T": case["sizes"]["T"], "B": case["sizes"]["B"]}, "Y": case["Y"]}


def _tf_mistakes(case) -> list:
    Y = case["Y"]
    T, B = Y.shape
    none = -np.ones((1, B), dtype=np.int64)
    batch = np.roll(Y, 1, axis=1)
    batch[:, 0] = -1
    return as_mistakes([
        ("unshifted", "the targets are fed unshifted: step t receives the target of step t-1 (its own target is "
                      "what it must predict).", {"feedback": Y}),
        ("first-class-0", "the first step must receive nothing, written -1 (not class 0).",
         {"feedback": np.concatenate([np.zeros((1, B), dtype=np.int64), Y[:-1]])}),
        ("first-keeps-Y0", "the first step must receive nothing, written -1: it still holds Y[0] (set "
                           "feedback[0] = -1 after the shift).", {"feedback": np.concatenate([Y[:1], Y[:-1]])}),
        ("only-first-row", "only the first row is replaced by -1: the other steps must be shifted too, "
                           "feedback[t] = Y[t-1], not Y[t].", {"feedback": np.concatenate([none, Y[1:]])}),
        ("forward-loop-overwrite", "every later step receives Y[0]: a loop `feedback[t] = feedback[t-1]` running "
                                   "forwards (or Y[t] = Y[t-1] on Y itself) reads a row it has just overwritten. "
                                   "Read from Y, and write into a new array (or loop backwards).",
         {"feedback": np.concatenate([none, np.repeat(Y[:1], T - 1, axis=0)])}),
        ("batch-axis", "the shift runs along the batch axis: time is axis 0, so shift the rows (feedback[t] = "
                       "Y[t-1]), not the columns.", {"feedback": batch}),
        ("wrong-direction", "the shift goes the wrong way: step t receives Y[t-1], not Y[t+1].",
         {"feedback": np.concatenate([Y[1:], none])}),
        ("extra-row", "one row too many: the −1 row is put in front of all of Y; the last target Y[T−1] is never "
                      "fed (nothing follows it), so feedback = [−1, Y[0], …, Y[T−2]].",
         {"feedback": np.concatenate([none, Y])}),
    ])


_TF_SHIFT = "the shift: step t receives the target of step t−1, feedback[t] = Y[t−1] for t ≥ 1"
_TF_AXES = "the axes: time is axis 0 and each sequence (a column of Y) is shifted on its own"

TEACHER_FORCING_INPUTS = GradedFunction(
    grade_id="test_teacher_forcing_inputs", function="teacher_forcing_inputs",
    arguments=("Y",), returns=("feedback",), args_of=lambda c: (c["Y"],),
    draw=_tf_case, reference=lambda c: {"feedback": teacher_tokens(c["Y"])}, kind="exact", unit="tokens",
    edge_cases=(lambda: _tf_case(np.random.default_rng(20260501), {"T": 4, "B": 3, "D": 2, "H": 4, "K": 5}),),
    mistakes=_tf_mistakes,
    passed_note="also for T = 1 and for B = 1",
    probe_base=lambda: _tf_case(np.random.default_rng(20260511), {"T": 5, "B": 3, "D": 2, "H": 4, "K": 5}),
    probes=(Probe("T = 1 (only the first step)", make=lambda c: resized(c, T=1),
                  if_fails="with T = 1 the feedback is the single row −1 (there is no target to shift in)"),
            Probe("B = 1", make=lambda c: resized(c, B=1),
                  if_fails="with B = 1 the result must keep its batch axis, shape (T, 1)")),
    rules=(located(("T = 1 (only the first step)", "B = 1"), _TF_SHIFT, _TF_AXES),
           located(("T = 1 (only the first step)",), _TF_SHIFT), located(("B = 1",), _TF_AXES)),
    none_right=concluded("the first step: it receives nothing, written −1"),
    dims={"feedback": "T B", "Y": "T B"}, time_axes={"feedback": 0}, direction="forward",
    kept={"Y": "Y holds the targets of the loss, so a function that changed the targets Y it was given makes every "
               "step learn to predict the token it is fed. Build the feedback in a new array (np.empty_like(Y) or "
               "np.concatenate) and leave Y as it was."},
    error_hints=("matmul", "broadcast"), withheld=("shift_right", "OutputToHiddenRNN"))


# output_rnn_forward ---------------------------------------------------------------------

FORWARD_ARGS = ("X", "feedback", "Wx", "Wo", "b", "Wy", "c")
CACHE = ("X", "F", "Hs", "Wx", "Wo", "Wy")


def sequence_case(r, sizes=None) -> dict:
    """A teacher-forced case: the model's arrays, the fed tokens (``Y`` shifted) and an upstream gradient dO."""
    case = draw_model(r, sizes)
    case["feedback"] = teacher_tokens(case["Y"])
    case["dO"] = r.standard_normal(case["X"].shape[:2] + (case["sizes"]["K"],))
    return case


def cache_of(case, F=None, Hs=None) -> tuple:
    """The cache (X, F, Hs, Wx, Wo, Wy) the notebook prescribes (``F``, ``Hs`` default to the right ones)."""
    F = fed_one_hot(case["feedback"], case["sizes"]["K"]) if F is None else F
    Hs = states(case, F)[1] if Hs is None else Hs
    return (case["X"], F, Hs, case["Wx"], case["Wo"], case["Wy"])


def _forward_reference(case) -> dict:
    O, Hs = states(case)
    return {"O": O, "cache": cache_of(case, Hs=Hs)}


def _forward_mistakes(case) -> list:
    K, fb = case["sizes"]["K"], case["feedback"]
    out = []
    for cls in (0, K - 1):
        F = fed_one_hot(np.where(fb < 0, cls, fb), K)
        O, Hs = states(case, F)
        out.append(("unfed-as-class", "the -1 entries (nothing fed) must give a zero vector, not the one-hot of "
                                      "class 0 or K-1.", {"O": O, "cache": cache_of(case, F, Hs)}))
    A = states(case, tanh=False)[1]
    F_again = fed_one_hot(teacher_tokens(fb), K)
    O = states(case)[0]
    P = np.exp(O - O.max(-1, keepdims=True))
    zero = np.zeros(fb.shape + (K,))
    return as_mistakes([
        ("cache-pre-activation", "the cache holds the pre-activation b + Wx x + Wo onehot(f) where the states "
                                 "Hs = tanh(…) belong: output_rnn_backward reads h from the cache for its "
                                 "tanh′ = 1 − h².", {"cache": cache_of(case, Hs=A)})] + out + [
        ("no-tanh", "tanh is missing: h = tanh(b + Wx x + Wo onehot(f)).",
         {"O": case["c"] + A @ case["Wy"].T, "cache": cache_of(case, Hs=A)}),
        ("no-feedback", "the feedback is missing: the fed token enters through Wo.",
         {"O": states(case, zero)[0], "cache": cache_of(case, Hs=states(case, zero)[1])}),
        ("feedback-shifted-again", "the feedback is shifted a second time: `feedback` already holds the token fed "
                                   "at each step (feedback[t] enters step t); one_hot_feedback(feedback, K) is all "
                                   "it needs.", {"O": states(case, F_again)[0],
                                                 "cache": cache_of(case, F_again, states(case, F_again)[1])}),
        ("softmax-returned", "O must be the logits o = c + Wy h: no softmax in the forward pass.",
         {"O": P / P.sum(-1, keepdims=True)}),
    ])


def _forward_rules() -> tuple:
    terms = {
        "unfed": "the steps fed nothing (−1): their one-hot vector is zero, so Wo adds nothing there (not the "
                 "one-hot of class 0 or K−1)",
        "feed": "the feedback term Wo onehot(f⁽ᵗ⁾) (F @ Wo.T), with the token fed at step t, feedback[t] (it is "
                "already shifted: do not shift it again)",
        "input": "the input term Wx x⁽ᵗ⁾ (X @ Wx.T)", "hbias": "the hidden bias b inside the tanh",
        "obias": "the output bias: o = c + Wy h", "time": "the time alignment: step t uses X[t] and feedback[t] "
                                                            "together",
        "batch": "the batch: each sequence uses its own inputs and tokens"}
    one = [("feed", ("nothing fed (feedback = −1 everywhere)", "Wo = 0")),
           ("unfed", ("a token fed at every step (no −1)", "Wo = 0")), ("input", ("X = 0",)),
           ("hbias", ("b = 0",)), ("obias", ("c = 0",)), ("time", ("T = 1 (a token fed)",)), ("batch", ("B = 1",))]
    return tuple(located(right, terms[t]) for t, right in one) + (located(("Wo = 0",), terms["feed"], terms["unfed"]),)


_FORWARD_BASE = {"T": 3, "B": 2, "D": 3, "H": 4, "K": 5}


def _fed(tokens_of):
    return lambda c: {**c, "feedback": tokens_of(c)}


OUTPUT_RNN_FORWARD = GradedFunction(
    grade_id="test_output_rnn_forward", function="output_rnn_forward",
    arguments=FORWARD_ARGS, returns=("O", "cache"), args_of=lambda c: tuple(c[k] for k in FORWARD_ARGS),
    draw=sequence_case, reference=_forward_reference, kind="values", cache=CACHE,
    edge_cases=(lambda: sequence_case(np.random.default_rng(20260502), {"T": 3, "B": 1, "D": 2, "H": 4, "K": 5}),
                lambda: sequence_case(np.random.default_rng(20260503), {"T": 1, "B": 2, "D": 3, "H": 4, "K": 5})),
    mistakes=_forward_mistakes,
    passed_note="the cache too, also for T = 1, for B = 1 and with nothing fed",
    probe_base=lambda: sequence_case(np.random.default_rng(20260521), _FORWARD_BASE),
    probes=(Probe("nothing fed (feedback = −1 everywhere)", make=_fed(lambda c: np.full_like(c["Y"], -1))),
            Probe("a token fed at every step (no −1)", make=_fed(lambda c: c["Y"])),
            Probe("Wo = 0", make=lambda c: zeroed(c, "Wo")),
            Probe("X = 0", make=lambda c: zeroed(c, "X")),
            Probe("b = 0", make=lambda c: zeroed(c, "b")),
            Probe("c = 0", make=lambda c: zeroed(c, "c")),
            Probe("T = 1 (a token fed)", make=lambda c: resized({**c, "feedback": c["Y"]}, T=1)),
            Probe("B = 1", make=lambda c: resized(c, B=1))),
    rules=_forward_rules(),
    none_right="the mistake shows in every probe case: it is in a part none of them switches off, the tanh or "
               "the product Wy h.",
    dims={"O": "T B K", "X": "T B D"}, time_axes={"O": 0}, direction="forward",
    argument_notes=model_arrays_note(FORWARD_ARGS),
    error_hints=("matmul", "broadcast"), withheld=("OutputToHiddenRNN",))
