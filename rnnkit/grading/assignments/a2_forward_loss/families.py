"""a2-forward-loss: the forward passes of the three families of chapter 3.

(a) ``hidden_to_hidden_forward(X, h0, Wx, Ws, b, Wy, c) -> O`` (T, B, K): an output at every step;
(b) ``output_to_hidden_forward(X, Yprev, Wx, Wo, b, Wy, c) -> O`` (T, B, K): the state is fed the previous
    target ``Yprev[t]`` (B, K) (zeros at the first step) instead of the previous state;
(c) ``sequence_to_one_forward(X, h0, Wx, Ws, b, Wy, c) -> o`` (B, K): one output, from the last state.
"""
from __future__ import annotations

import numpy as np

from rnnkit import layers
from rnnkit.data import shift_right
from rnnkit.grading.engine import GradedFunction, Mistake, Probe, ProbeRule

from .cases import family_case, family_edge_case, first_rows, first_steps, zeroed

HH_ARGS = ("X", "h0", "Wx", "Ws", "b", "Wy", "c")
OH_ARGS = ("X", "Yprev", "Wx", "Wo", "b", "Wy", "c")
DIMS = {"O": "T B K", "o": "B K", "X": "T B D", "h0": "B H", "Yprev": "T B K"}
#: Why a write into an argument matters (the verdict's note; it costs no points while the outputs are right).
NOTES = {"X": "the inputs are read again by the backward pass and by the next epoch.",
         "h0": "the initial state is read again (by the backward pass, by the next batch).",
         "Yprev": "the fed-back targets are read again by the backward pass.",
         **{w: f"training reuses {w} at every step and every batch." for w in ("Wx", "Ws", "Wo", "b", "Wy", "c")}}


def states(c: dict, mistake: str = "") -> np.ndarray:
    """The states h⁽¹⁾ … h⁽ᵀ⁾ (T, B, H) of the tanh recurrence on ``c``; ``mistake`` names a wrong loop (for
    "pre-activation": the pre-activations, the state carried right)."""
    h, out = c["h0"], []
    for x in c["X"]:
        a = x @ c["Wx"].T + (c["h0"] if mistake == "not-carried" else h) @ \
            (c["Ws"] if mistake == "ws-not-transposed" else c["Ws"].T) + (0.0 if mistake == "no-bias" else c["b"])
        h = a if mistake == "no-tanh" else np.tanh(a)
        out.append(a if mistake == "pre-activation" else h)
    return np.stack(out)


def output(c: dict, H: np.ndarray) -> np.ndarray:
    return H @ c["Wy"].T + c["c"]


STATE_MISTAKES = {
    "no-tanh": "tanh is missing: h = tanh(a) with a = x @ Wx.T + h_prev @ Ws.T + b.",
    "ws-not-transposed": "the state-to-state product uses Ws instead of Ws.T: with row vectors (B, H), Ws h⁽ᵗ⁻¹⁾ "
                         "is written h_prev @ Ws.T.",
    "no-bias": "the bias b is missing from the pre-activation.",
    "not-carried": "the state is not carried: every step starts from h0 instead of the previous step's h⁽ᵗ⁻¹⁾.",
    "pre-activation": "the output is computed from the pre-activation a⁽ᵗ⁾; it comes from the state "
                      "h⁽ᵗ⁾ = tanh(a⁽ᵗ⁾): o⁽ᵗ⁾ = c + Wy h⁽ᵗ⁾.",
}
LOGITS_NOT_PROBS = "return the logits o = c + Wy h, not their softmax."
TANH_ON_LOGITS = "the logits go through tanh: the output layer is affine, o = c + Wy h, with no nonlinearity."


def _on_logits(name: str, ref) -> list:
    """The two output-layer mistakes, given the reference ``ref(case)``."""
    return [Mistake("softmax-returned", LOGITS_NOT_PROBS, lambda c: {name: layers.softmax(ref(c))}),
            Mistake("tanh-on-logits", TANH_ON_LOGITS, lambda c: {name: np.tanh(ref(c))})]


def _state_probes(feed: str) -> tuple:
    """The probes of families (a) and (c): the same inputs with one part switched off."""
    return (
        Probe("B = 1", what="B = 1", make=first_rows(1, "X", feed), meaning=BATCH_MIXED,
              if_fails="each row of the batch is one sequence."),
        Probe("T = 1", what="T = 1", make=first_steps(1, "X"),
              if_fails="with T = 1 there is one step, from h0 and X[0]."),
        Probe("X = 0", what="X = 0", make=zeroed("X"),
              meaning="the input term Wx x⁽ᵗ⁾ is wrong: with X = 0 your result is right. Write it x @ Wx.T, "
                      "inside the tanh.",
              if_fails="with X = 0 the recurrence still runs from h0."),
        Probe("h0 = 0", what="h0 = 0", make=zeroed("h0"),
              meaning="h0 is not used as h⁽⁰⁾: with h0 = 0 your result is right, so the first step does not start "
                      "from h0 (from zeros?) or h0 enters elsewhere. The first step is tanh(b + h0 @ Ws.T + X[0] @ "
                      "Wx.T).",
              if_fails="with h0 = 0 the first step is tanh(b + X[0] @ Wx.T)."),
        Probe("Ws = 0", what="Ws = 0", make=zeroed("Ws"),
              meaning="the recurrent term Ws h⁽ᵗ⁻¹⁾ is wrong: with Ws = 0 your result is right. Write it h_prev @ "
                      "Ws.T, inside the tanh, with h_prev the state of the previous step.",
              if_fails="with Ws = 0 every step is tanh(b + x @ Wx.T)."),
        *bias_probes("your result"),
    )


BATCH_MIXED = ("right for one sequence (B = 1) but not for a batch: the rows of the batch are mixed. Row i of every "
               "state and output depends only on sequence i; look for a .reshape where a transpose .T belongs, or a "
               "sum or mean over the batch axis.")
WRONG_INPUT = ProbeRule(wrong=("full",), right=("T = 1", "X = 0"),
                        text="right for T = 1 and with X = 0, so step t reads the wrong input: step t must use X[t] "
                             "(in order, X[0] first).")
def bias_probes(result: str) -> tuple:
    """The probes b = 0 and c = 0, saying ``result`` ("your O", "your result") is right."""
    return (Probe("b = 0", what="b = 0", make=zeroed("b"),
                  meaning=f"the state bias b is wrong: with b = 0 {result} is right. It is added once, inside the "
                          f"tanh.",
                  if_fails="with b = 0 the state has no bias inside the tanh."),
            Probe("c = 0", what="c = 0", make=zeroed("c"),
                  meaning=f"the output bias c is wrong: with c = 0 {result} is right. o = c + h @ Wy.T, c added once.",
                  if_fails="with c = 0 the output is h @ Wy.T."))


STATE_NONE_RIGHT = ("already the first step is wrong, with each part switched off in turn: check the step "
                    "h = tanh(b + h_prev @ Ws.T + x @ Wx.T) (one tanh of the sum) and the output o = c + h @ Wy.T "
                    "together.")


def _hh_ref(c):
    return output(c, states(c))


HIDDEN_TO_HIDDEN = GradedFunction(
    grade_id="test_hidden_to_hidden_forward", function="hidden_to_hidden_forward",
    arguments=HH_ARGS, returns=("O",),
    args_of=lambda c: tuple(c[n] for n in HH_ARGS),
    draw=family_case, edge_cases=(family_edge_case,),
    reference=lambda c: {"O": _hh_ref(c)},
    dims=DIMS, argument_notes=NOTES, time_axes={"O": 0}, direction="forward",
    passed_note="also for T = B = 1",
    mistakes=tuple(Mistake(m, text, lambda c, m=m: {"O": output(c, states(c, m))})
                   for m, text in STATE_MISTAKES.items()) + (
        Mistake("one-step-late", "the outputs are one step late: o⁽ᵗ⁾ is computed from h⁽ᵗ⁾, the state after "
                "reading x⁽ᵗ⁾.", lambda c: {"O": output(c, shift_right(states(c), fill=c["h0"]))}),
        *_on_logits("O", _hh_ref),
        Mistake("no-output-bias", "the output bias c is missing.", lambda c: {"O": states(c) @ c["Wy"].T})),
    probes=_state_probes("h0"),
    rules=("B = 1", WRONG_INPUT,
           ProbeRule(wrong=("full",), right=("T = 1",),
                     text="the first step is right (T = 1 is), so the mistake is in how the steps follow each other: "
                          "step t starts from h⁽ᵗ⁻¹⁾ = tanh(a⁽ᵗ⁻¹⁾), the state the previous step produced (not its "
                          "pre-activation, not h0), and O[t] comes from h⁽ᵗ⁾."),
           "h0 = 0", "Ws = 0", "X = 0", "b = 0", "c = 0"),
    none_right=STATE_NONE_RIGHT,
    withheld=("rnn_step_forward", "rnn_forward", "affine_forward", "HiddenToHiddenRNN"),
)


def _oh(c, Yfed=None, tanh=True):
    A = c["X"] @ c["Wx"].T + (c["Yprev"] if Yfed is None else Yfed) @ c["Wo"].T + c["b"]
    return output(c, np.tanh(A) if tanh else A)


OUTPUT_TO_HIDDEN = GradedFunction(
    grade_id="test_output_to_hidden_forward", function="output_to_hidden_forward",
    arguments=OH_ARGS, returns=("O",),
    args_of=lambda c: tuple(c[n] for n in OH_ARGS),
    draw=family_case, edge_cases=(family_edge_case,),
    reference=lambda c: {"O": _oh(c)},
    dims=DIMS, argument_notes=NOTES, time_axes={"O": 0}, direction="forward",
    passed_note="also for T = B = 1",
    mistakes=(Mistake("no-tanh", "tanh is missing: h = tanh(a) with a = x @ Wx.T + Yprev[t] @ Wo.T + b.",
                      lambda c: {"O": _oh(c, tanh=False)}),
              Mistake("shifted-twice", "the fed-back vectors are shifted a second time: Yprev[t] is already what "
                      "step t receives.", lambda c: {"O": _oh(c, shift_right(c["Yprev"], fill=0.0))}),
              Mistake("no-feedback", "the feedback is missing: h⁽ᵗ⁾ depends on Yprev[t] through Wo.",
                      lambda c: {"O": _oh(c, 0 * c["Yprev"])}),
              *_on_logits("O", _oh)),
    probes=(Probe("B = 1", what="B = 1", make=first_rows(1, "X", "Yprev"), meaning=BATCH_MIXED,
                  if_fails="each row of the batch is one sequence."),
            Probe("T = 1", what="T = 1", make=first_steps(1, "X", "Yprev"),
                  if_fails="with T = 1 there is one step, fed Yprev[0] = 0."),
            Probe("X = 0", what="X = 0", make=zeroed("X"),
                  meaning="the input term Wx x⁽ᵗ⁾ is wrong: with X = 0 your O is right. Write it x @ Wx.T, inside "
                          "the tanh.",
                  if_fails="with X = 0 the state is tanh(b + Yprev[t] @ Wo.T)."),
            Probe("Yprev = 0", what="Yprev = 0", make=zeroed("Yprev"),
                  meaning="the feedback term Wo y⁽ᵗ⁻¹⁾ is wrong: with Yprev = 0 your O is right. Step t receives "
                          "Yprev[t] as it is (already shifted: zeros at the first step), through Yprev[t] @ Wo.T "
                          "inside the tanh.",
                  if_fails="with Yprev = 0 each state is tanh(b + X[t] @ Wx.T)."),
            *bias_probes("your O")),
    rules=("B = 1", WRONG_INPUT, "Yprev = 0",
           ProbeRule(wrong=("full",), right=("T = 1",),
                     text="the first step is right (T = 1, fed Yprev[0] = 0), so from t = 2 on the vector fed back is "
                          "not Yprev[t]: in this family the steps do not depend on each other; h⁽ᵗ⁾ = tanh(b + "
                          "Yprev[t] @ Wo.T + X[t] @ Wx.T) uses the given Yprev[t], not the model's own outputs."),
           "X = 0", "b = 0", "c = 0"),
    none_right="already the first step is wrong, with each part switched off in turn: check h = tanh(b + Yprev[t] @ "
               "Wo.T + X[t] @ Wx.T) and o = c + h @ Wy.T together.",
    withheld=("affine_forward", "OutputToHiddenRNN"),
)


def _s2o_ref(c):
    return output(c, states(c)[-1])


def _from_states(name, text, pick):
    return Mistake(name, text, lambda c: {"o": output(c, pick(c, states(c)))})


SEQUENCE_TO_ONE = GradedFunction(
    grade_id="test_sequence_to_one_forward", function="sequence_to_one_forward",
    arguments=HH_ARGS, returns=("o",),
    args_of=lambda c: tuple(c[n] for n in HH_ARGS),
    draw=family_case, edge_cases=(family_edge_case,),
    reference=lambda c: {"o": _s2o_ref(c)},
    dims=DIMS, argument_notes=NOTES, passed_note="also for T = B = 1",
    mistakes=tuple(Mistake(m, text, lambda c, m=m: {"o": output(c, states(c, m)[-1])})
                   for m, text in STATE_MISTAKES.items()) + (
        _from_states("first-state", "the output is read from the first state; family (c) reads the whole sequence "
                     "and uses the last state h⁽ᵀ⁾.", lambda c, H: H[0]),
        _from_states("every-step", "return one output per sequence, from the last state only: shape (B, K).",
                     lambda c, H: H),
        _from_states("time-axis-kept", "return one output per sequence, from the last state only: shape (B, K) "
                     "(O[-1], not O[-1:]).", lambda c, H: H[-1:]),
        _from_states("mean-state", "the states are averaged; the output comes from the last state h⁽ᵀ⁾.",
                     lambda c, H: H.mean(0)),
        _from_states("last-input-skipped", "the last input X[T-1] is not read: o comes from h⁽ᵀ⁾, the state after "
                     "all T inputs (a loop over X[:-1] or range(T - 1)?).",
                     lambda c, H: H[-2] if len(H) > 1 else c["h0"]),
        *_on_logits("o", _s2o_ref)),
    probes=_state_probes("h0"),
    rules=("B = 1", WRONG_INPUT,
           ProbeRule(wrong=("full",), right=("T = 1",),
                     text="right for T = 1, so the step and the output layer are right; the mistake is in going "
                          "along the sequence: carry the state h⁽ᵗ⁾ = tanh(a⁽ᵗ⁾) through all T steps, then read o "
                          "from h⁽ᵀ⁾, the state after the last input."),
           "h0 = 0", "Ws = 0", "X = 0", "b = 0", "c = 0"),
    none_right=STATE_NONE_RIGHT,
    withheld=("SequenceToOneRNN",),
)
