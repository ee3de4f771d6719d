"""a5-teacher-forcing: the specifications of generate_closed_loop and scheduled_feedback (tokens, step by step)."""
from __future__ import annotations

import numpy as np

from rnnkit.grading.engine import GradedFunction, Probe, special

from .cases import (PARAMS, as_mistakes, concluded, draw_model, fed_one_hot, located, model_arrays_note,
                    model_of, teacher_tokens, zeroed)

#: The fixed cases' sizes (the probes change some of them).
BASE = {"T": 10, "B": 1, "D": 3, "H": 5, "K": 4}


def _step(case, x, fed) -> np.ndarray:
    """The logits (B, K) of one step fed the one-hot ``fed`` (B, K)."""
    h = np.tanh(case["b"] + x @ case["Wx"].T + fed @ case["Wo"].T)
    return case["c"] + h @ case["Wy"].T


def _redrawn(r, make, mistakes_of, bugs) -> dict:
    """``make(r)`` drawn again (at most 50 times) until each mistake named in ``bugs`` changes at least one token:
    a coarse output hides a mistake on some inputs, and a case must show the ones it is meant to."""
    for _ in range(50):
        case = make(r)
        if all(not np.array_equal(tokens, case["expected"]) for name, tokens in mistakes_of(case) if name in bugs):
            break
    return case


# generate_closed_loop ------------------------------------------------------------------

def _closed_loop(case, mode=None) -> np.ndarray:
    """Greedy generation, or one of its mistakes (``mode``)."""
    X, K = case["X"], case["sizes"]["K"]
    T, B, _ = X.shape
    fed = {"start_zero": np.zeros(B, dtype=np.int64), "start_last": np.full(B, K - 1)}.get(mode, np.full(B, -1))
    tokens = np.zeros((T, B), dtype=np.int64)
    F = fed_one_hot(fed, K)
    for t in range(T):
        o = _step(case, X[t], F)
        tokens[t] = o.argmax(-1)
        P = np.exp(o - o.max(-1, keepdims=True))
        F = {"no_feedback": np.zeros((B, K)), "feeds_probs": P / P.sum(-1, keepdims=True)}.get(
            mode, fed_one_hot(tokens[t], K))
    return tokens


_CLOSED_LOOP_MISTAKES = {
    "start_zero": "the first step must be fed nothing (a zero vector), not class 0.",
    "start_last": "the first step must be fed nothing (a zero vector): np.eye(K)[-1] is the one-hot of class K−1, "
                  "not a zero vector.",
    "no_feedback": "the prediction is not fed back: step t receives the token the model chose at step t-1.",
    "feeds_probs": "feed back the one-hot of the chosen token (argmax), not the probabilities.",
}


def _closed_loop_tokens(case) -> list:
    return [(name, _closed_loop(case, name)) for name in _CLOSED_LOOP_MISTAKES]


def closed_loop_case(r, sizes=None, Wo_zero=False, bugs=tuple(_CLOSED_LOOP_MISTAKES)) -> dict:
    def make(r):
        case = draw_model(r, sizes, long=True)
        case = zeroed(case, "Wo") if Wo_zero else case
        return {**case, "expected": model_of(case).generate(case["X"])[0]}
    return _redrawn(r, make, _closed_loop_tokens, bugs)


def _fixed(seed, bugs=tuple(_CLOSED_LOOP_MISTAKES), Wo_zero=False, **sizes):
    return lambda *_: closed_loop_case(np.random.default_rng(seed), {**BASE, **sizes}, Wo_zero, bugs)


_CL_T1, _CL_WO0, _CL_B1 = "T = 1 (only the first step)", "Wo = 0 (what is fed has no effect)", "B = 1"
_CL_TERMS = {
    "first": "the first step: it is fed nothing, a zero vector (not class 0 or K−1)",
    "feedback": "what is fed back: the one-hot of the token chosen at step t−1 (its argmax), fed into step t",
    "greedy": "the choice at each step: the argmax over the K classes of the logits o = c + Wy h, one token per "
              "sequence",
    "batch": "the batch: each sequence feeds back its own token",
}

GENERATE_CLOSED_LOOP = GradedFunction(
    grade_id="test_generate_closed_loop", function="generate_closed_loop",
    arguments=("X",) + PARAMS, returns=("tokens",), args_of=lambda c: tuple(c[k] for k in ("X",) + PARAMS),
    draw=lambda r: closed_loop_case(r), reference=lambda c: {"tokens": c["expected"]}, kind="exact", unit="tokens",
    # Fixed cases, judged on every run: one sequence, and a batch (each sequence feeds back its own token).
    edge_cases=(_fixed(20260504), _fixed(20260506, B=5)),
    mistakes=lambda c: as_mistakes([(name, _CLOSED_LOOP_MISTAKES[name], {"tokens": tokens})
                                    for name, tokens in _closed_loop_tokens(c)]),
    passed_note="also for one sequence, for T = 1 and for Wo = 0",
    # Each probe is drawn for itself (its inputs are drawn again until the mistakes it must show do).
    probe_base=lambda: {},
    probes=(Probe(_CL_T1, make=_fixed(20260541, ("start_zero", "start_last"), T=1, B=8)),
            Probe(_CL_WO0, make=_fixed(20260542, (), True, B=6)),
            Probe(_CL_B1, make=_fixed(20260543, T=12))),
    rules=(located((_CL_T1, _CL_B1), _CL_TERMS["feedback"], _CL_TERMS["batch"]),
           located((_CL_T1,), _CL_TERMS["feedback"]), located((_CL_B1,), _CL_TERMS["batch"]),
           located((_CL_WO0,), _CL_TERMS["first"], _CL_TERMS["feedback"])),
    none_right=concluded(_CL_TERMS["greedy"]),   # every probe wrong too: none of them switches it off
    dims={"tokens": "T B", "X": "T B D"}, time_axes={"tokens": 0}, direction="forward",
    argument_notes=model_arrays_note(("X",) + PARAMS),
    error_hints=("matmul", "broadcast"), withheld=("OutputToHiddenRNN",))


# scheduled_feedback --------------------------------------------------------------------

class _StepCoins:
    """A generator for :meth:`rnnkit.models.OutputToHiddenRNN.scheduled_feedback`, which draws all its coins at
    once, shape (T, B), row t deciding the token fed into step t + 1: rows 0 … T−2 are the notebook's draws
    rng.random(B) for t = 1 … T−1 (the same uniforms, in the same order); the last row is never used."""

    def __init__(self, seed: int):
        self.seed = seed

    def random(self, shape):
        T, B = shape
        return np.concatenate([np.random.default_rng(self.seed).random((T - 1, B)), np.ones((1, B))])


def _scheduled(case, mode=None) -> np.ndarray:
    """Scheduled feedback with one of its mistakes (``mode``), the coins drawn as the notebook says."""
    X, Y, p, K = case["X"], case["Y"], case["p_truth"], case["sizes"]["K"]
    r = np.random.default_rng(case["seed"])
    T, B, _ = X.shape
    feedback = np.full((T, B), -1, dtype=np.int64)
    teacher = teacher_tokens(Y)
    closed = np.full(B, -1)   # what a separate closed loop would feed
    for t in range(1, T):
        f_prev = {"teacher_forced_predictions": teacher[t - 1], "closed_loop_predictions": closed}.get(
            mode, feedback[t - 1])
        closed = _step(case, X[t] if mode == "prediction_from_x_t" else X[t - 1], fed_one_hot(f_prev, K)).argmax(-1)
        u = r.random(B)
        truth = u >= p if mode == "inverted" else u < p
        feedback[t] = np.where(truth, Y[t] if mode == "truth_y_t" else Y[t - 1], closed)
    return feedback


_SCHEDULED_MISTAKES = {
    "inverted": "the coin is inverted: feed the truth where the draw is *below* p_truth.",
    "teacher_forced_predictions": "the model's prediction at step t-1 must be computed with the token actually fed "
                                  "at t-1 (the mixed feedback), not with the teacher-forced one.",
    "closed_loop_predictions": "the predictions come from a separate closed loop (each fed the previous "
                               "prediction): the model's prediction at step t-1 must be computed with the token "
                               "actually fed at t-1 (truth or prediction, whichever the coin chose).",
    "truth_y_t": "the truth fed at step t is Y[t-1], the target of the step before, not Y[t].",
    "prediction_from_x_t": "the prediction fed at step t is the model's output at step t-1: computed from X[t-1] "
                           "(and the token fed at t-1), not X[t].",
}


def _scheduled_tokens(case) -> list:
    return [(name, _scheduled(case, name)) for name in _SCHEDULED_MISTAKES]


def scheduled_case(r, sizes=None, p_truth=None, bugs=tuple(_SCHEDULED_MISTAKES)) -> dict:
    def make(r):
        case = draw_model(r, sizes, long=True)
        p = float(r.uniform(0.3, 0.7)) if p_truth is None else float(p_truth)
        case = {**case, "p_truth": p, "seed": int(r.integers(0, 2**32))}
        case["sizes"] = {**case["sizes"], "p_truth": f"{p:.2f}"}   # shown with the sizes in messages
        expected = model_of(case).scheduled_feedback(case["X"], case["Y"], p, rng=_StepCoins(case["seed"]))
        return {**case, "expected": expected}
    return _redrawn(r, make, _scheduled_tokens, bugs)


def _scheduled_fixed(seed, p_truth, bugs=tuple(_SCHEDULED_MISTAKES), **sizes):
    return lambda *_: scheduled_case(np.random.default_rng(seed), {**BASE, **sizes}, p_truth, bugs)


_SS_P1, _SS_P0, _SS_B1 = "p_truth = 1 (always the truth)", "p_truth = 0 (always the prediction)", "B = 1"
_SS_TERMS = {
    "truth": "the truth fed at step t: Y[t−1], the target of the step before",
    "pred": "the prediction fed at step t: the greedy token of step t−1, computed from X[t−1] and the token fed at "
            "t−1",
    "mix": "the mix: the prediction at t−1 is computed with the token actually fed at t−1 (truth or prediction, "
           "whichever the coin chose)",
    "coin": "the coins: one rng.random(B) per step t = 1 … T−1; sequence i gets the truth where u[i] < p_truth",
    "batch": "the batch: each sequence has its own coin and its own tokens",
}
_BOTH = ("inverted", "teacher_forced_predictions")


def _args(case) -> tuple:
    # The rng is built in the kernel from the seed: a RecordingGenerator, which records the sizes of the
    # rng.random draws, so that a wrong drawing scheme can be named.
    return (case["X"], case["Y"], case["p_truth"], {k: case[k] for k in PARAMS},
            special("generator", seed=case["seed"]))


def _read(case, returned, objects) -> dict:
    """The fed tokens, and the sizes of the rng.random draws the RecordingGenerator recorded (untrusted)."""
    record = objects.get("rng")
    return {"feedback": returned["feedback"], "draws": record.get("draws") if isinstance(record, dict) else None}


def _draws_note(cases, outputs) -> str:
    """The first case whose recorded draws are not the T−1 calls rng.random(B) the notebook asks for."""
    return next((note for case, out in zip(cases, outputs) if isinstance(out, dict)
                 for note in [draws_note(case, out.get("draws"))] if note), "")


def draws_note(case, draws) -> str:
    """The cause named when the recorded rng.random draws are not the T−1 draws of B the notebook asks for
    ('' when they are: one call per step, or all at once)."""
    T, B = case["sizes"]["T"], case["sizes"]["B"]
    if not isinstance(draws, np.ndarray) or draws.dtype.kind not in "iu" or draws.ndim != 1:
        return ""
    sizes = [int(n) for n in draws[:50]]
    if int(draws.sum()) == (T - 1) * B and (len(sizes) == T - 1 or len(sizes) == 1):
        return ""
    shown = ", ".join(str(n) for n in sizes[:12]) + (", ..." if len(sizes) > 12 else "")
    return (f"the coins were not drawn as instructed: expected T-1 = {T - 1} calls rng.random(B) with B={B} (for "
            f"t = 1, ..., T-1, none at the first step), but rng.random was called {len(draws)} time(s), with sizes "
            f"[{shown}].")


SCHEDULED_FEEDBACK = GradedFunction(
    grade_id="test_scheduled_feedback", function="scheduled_feedback",
    arguments=("X", "Y", "p_truth", "params", "rng"), returns=("feedback",), args_of=_args,
    read=_read, judged=("feedback",), explain=_draws_note,
    draw=lambda r: scheduled_case(r, bugs=_BOTH), reference=lambda c: {"feedback": c["expected"]},
    kind="exact", unit="tokens",
    edge_cases=(_scheduled_fixed(20260505, 0.5, _BOTH), _scheduled_fixed(20260507, 0.5, B=5)),
    mistakes=lambda c: as_mistakes([(name, _SCHEDULED_MISTAKES[name], {"feedback": tokens})
                                    for name, tokens in _scheduled_tokens(c)]),
    passed_note="also for p_truth = 0, for p_truth = 1 and for B = 1",
    probe_base=lambda: {},
    probes=(Probe(_SS_P1, make=_scheduled_fixed(20260551, 1.0, ("inverted", "truth_y_t"), B=5)),
            Probe(_SS_P0, make=_scheduled_fixed(20260552, 0.0, ("inverted", "prediction_from_x_t",
                                                                "teacher_forced_predictions"), B=5)),
            Probe(_SS_B1, make=_scheduled_fixed(20260553, 0.5, T=12))),
    rules=(located((_SS_P1,), _SS_TERMS["pred"], wrong=(_SS_P0,)),
           located((_SS_P0,), _SS_TERMS["truth"], wrong=(_SS_P1,)),
           located((_SS_P1, _SS_P0), _SS_TERMS["mix"], _SS_TERMS["coin"]), located((_SS_B1,), _SS_TERMS["batch"])),
    none_right=concluded(_SS_TERMS["coin"]),
    dims={"feedback": "T B", "X": "T B D", "Y": "T B"}, time_axes={"feedback": 0}, direction="forward",
    argument_notes={**model_arrays_note(("X", "params")), "Y": "Y holds the targets of the loss, which the "
                    "training step computes right after this call."},
    error_hints=("matmul", "broadcast"), withheld=("OutputToHiddenRNN",))
