"""a5-teacher-forcing: the checks of generate_closed_loop and scheduled_feedback."""
from __future__ import annotations

import numpy as np

from ..kernel import special
from .._core import Check, Probe
from .common import _case, _compare_tokens, _ctx, _judge_all, _onehot, _teacher, _tokens


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
