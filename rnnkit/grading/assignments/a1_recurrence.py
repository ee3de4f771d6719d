r"""a1-recurrence (chapters 1–2): one step of the tanh recurrence, unrolling any transition, counting parameters.

The recurrence of chapter 2 is :math:`s^{(t)} = f(s^{(t-1)}, x^{(t)}; \theta)` with the same :math:`f` and
:math:`\theta` at every step. The learner writes one step of the tanh recurrence, a generic
``unroll(f, X, s0)`` that applies any transition ``f`` along a sequence, and the parameter count of the RNN
with an output layer (which does not depend on the sequence length).

One specification per hidden test cell (:class:`~rnnkit.grading.engine.GradedFunction`); the engine draws
the cases, compares, names the mistakes and reads the probes. Dimension letters: batch B, input size D,
state size H, output size K, length T.
"""
from __future__ import annotations

import numpy as np

from rnnkit import layers
from rnnkit.grading.engine import (GradedFunction, Mistake, Probe, ProbeRule, Transition, checks_in,
                                   distinct_sizes, special, withheld_by)

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD"]


def _zero(name):
    return lambda c: {**c, name: np.zeros_like(c[name])}


# ---------------------------------------------------------------------------
# recurrence_step(s_prev, x, Wx, Ws, b) -> s
# ---------------------------------------------------------------------------

def step_values(rng: np.random.Generator, sizes: dict) -> dict:
    """Inputs of one step for ``sizes`` (B, D, H): pre-activations around ±1, where tanh is far from linear."""
    B, D, H = sizes["B"], sizes["D"], sizes["H"]
    return {"sizes": dict(sizes), "s_prev": 0.5 * rng.standard_normal((B, H)), "x": rng.standard_normal((B, D)),
            "Wx": rng.standard_normal((H, D)) / np.sqrt(D), "Ws": 0.8 * rng.standard_normal((H, H)) / np.sqrt(H),
            "b": 0.2 * rng.standard_normal(H)}


def _step_pre_activation(c, Ws_t=True, bias=True):
    return c["x"] @ c["Wx"].T + c["s_prev"] @ (c["Ws"].T if Ws_t else c["Ws"]) + (c["b"] if bias else 0.0)


def _first_row(c):
    return {**c, "s_prev": c["s_prev"][:1], "x": c["x"][:1], "sizes": {**c["sizes"], "B": 1}}


#: A product with a weight the wrong way round, in this notebook's letters (s for the state).
MATMUL_HINT = ("a product with a weight matrix in the wrong orientation. Weights are (out, in) and a batch holds "
               "one row per sequence, so W v is written v @ W.T (e.g. s_prev @ Ws.T).")

STEP = GradedFunction(
    grade_id="test_recurrence_step", function="recurrence_step",
    arguments=("s_prev", "x", "Wx", "Ws", "b"), returns=("s",),
    args_of=lambda c: (c["s_prev"], c["x"], c["Wx"], c["Ws"], c["b"]),
    draw=lambda rng: step_values(rng, distinct_sizes(rng, "B D H", 3, 8)),
    reference=lambda c: {"s": layers.rnn_step_forward(c["x"], c["s_prev"], c["Wx"], c["Ws"], c["b"])[0]},
    dims={"s": "B H", "s_prev": "B H", "x": "B D"},
    error_hints=(("matmul", MATMUL_HINT), ("shapes not aligned", MATMUL_HINT)),
    edge_cases=(lambda: step_values(np.random.default_rng(20261211), {"B": 1, "D": 3, "H": 4}),),
    mistakes=(
        Mistake("no-tanh", "tanh is missing: s = tanh(a) with a = b + s_prev @ Ws.T + x @ Wx.T.",
                lambda c: {"s": _step_pre_activation(c)}),
        Mistake("ws-not-transposed", "the state-to-state product uses Ws instead of Ws.T: with row vectors (B, H), "
                "Ws s⁽ᵗ⁻¹⁾ is written s_prev @ Ws.T.", lambda c: {"s": np.tanh(_step_pre_activation(c, Ws_t=False))}),
        Mistake("no-bias", "the bias b is missing from the pre-activation.",
                lambda c: {"s": np.tanh(_step_pre_activation(c, bias=False))}),
    ),
    probes=(
        Probe("B = 1", what="B = 1", make=_first_row,
              meaning="right for one sequence but not for a batch: the rows of the batch are mixed. Row i of s "
                      "must depend only on row i of s_prev and of x; look for a .reshape where a transpose .T "
                      "belongs, or a sum or mean over axis 0.",
              if_fails="each row of the batch is one sequence; the code must work the same for B = 1."),
        Probe("Ws = 0", what="Ws = 0", make=_zero("Ws"), if_fails="with Ws = 0 the step is tanh(b + x @ Wx.T)."),
        Probe("s_prev = 0", what="s_prev = 0", make=_zero("s_prev"),
              if_fails="with s_prev = 0 the step is tanh(b + x @ Wx.T)."),
        Probe("x = 0", what="x = 0", make=_zero("x"),
              meaning="the input term Wx x⁽ᵗ⁾ is wrong: with x = 0 your s is right. Write it x @ Wx.T, inside "
                      "the tanh.",
              if_fails="with x = 0 the step is tanh(b + Ws s_prev)."),
        Probe("b = 0", what="b = 0", make=_zero("b"),
              meaning="the bias is wrong: with b = 0 your s is right. b is added once, to the pre-activation "
                      "inside the tanh: s = tanh(b + s_prev @ Ws.T + x @ Wx.T).",
              if_fails="with b = 0 the step is tanh(Ws s_prev + Wx x)."),
    ),
    rules=(
        "B = 1",
        ProbeRule(right=("Ws = 0", "s_prev = 0"),
                  text="the recurrent term Ws s⁽ᵗ⁻¹⁾ is wrong (with Ws = 0 or with s_prev = 0 your s is right, "
                       "so the rest of the step is): write it s_prev @ Ws.T, inside the tanh."),
        ProbeRule(right=("s_prev = 0",),
                  text="s_prev enters the step somewhere other than through Ws s⁽ᵗ⁻¹⁾: with s_prev = 0 your s is "
                       "right, with Ws = 0 it is not. The previous state appears only in s_prev @ Ws.T (it is "
                       "not added on its own)."),
        ProbeRule(right=("Ws = 0",),
                  text="Ws is used somewhere other than in Ws s⁽ᵗ⁻¹⁾: with Ws = 0 your s is right, with "
                       "s_prev = 0 it is not."),
        "x = 0",
        "b = 0",
    ),
    none_right="the step is wrong with each term switched off in turn, so the mistake is in how the terms are "
               "combined: s = tanh(b + s_prev @ Ws.T + x @ Wx.T), one tanh of the sum of all three.",
    argument_notes={"s_prev": "a loop that keeps its states (as unroll does) would find the previous state "
                              "overwritten.",
                    "x": "the input sequence the step reads from would change for every later use."},
    passed_note="also for B = 1",
    withheld=("rnn_step_forward", "rnn_forward"),
)


# ---------------------------------------------------------------------------
# unroll(f, X, s0) -> S
# ---------------------------------------------------------------------------

def unroll_with(f, X, s0, mode: str = "") -> np.ndarray:
    """Unroll ``f`` along ``X`` (T, B, D) from ``s0`` (B, H): the states (T, B, H); ``mode`` names a mistake."""
    s, out = s0, []
    for x in (X[::-1] if mode == "reversed" else X):
        s_new = f(s, x)
        out.append(s if mode == "shifted" else s_new)
        s = s0 if mode == "not-carried" else s_new
    S = np.stack(out) if out else np.zeros((0,) + s0.shape)
    if mode == "with-s0":
        S = np.concatenate([s0[None], S])
    elif mode == "reversed-output":
        S = S[::-1]
    elif mode == "same-array":
        S = np.broadcast_to(S[-1], S.shape).copy()
    elif mode == "batch-major":
        S = S.transpose(1, 0, 2)
    return S


def _transition(c) -> Transition:
    return Transition(c["kind"], c["A"], c["Bm"])


def unroll_case(rng: np.random.Generator, kind: str, sizes: dict) -> dict:
    """A transition of ``kind`` ("tanh", or "other": not an RNN layer) and a sequence of ``sizes`` (T, B, D, H)."""
    T, B, D, H = sizes["T"], sizes["B"], sizes["D"], sizes["H"]
    return {"sizes": dict(sizes), "kind": kind, "A": rng.standard_normal((H, H)) / np.sqrt(H),
            "Bm": rng.standard_normal((H, D)) / np.sqrt(D), "X": rng.standard_normal((T, B, D)),
            "s0": rng.standard_normal((B, H))}


_UNROLL_MISTAKES = {
    "not-carried": "the state is not carried: every step must start from the state the previous step produced, "
                   "not from s0.",
    "shifted": "S is shifted by one step: S[t] must be the state after reading X[t], i.e. s⁽¹⁾ … s⁽ᵀ⁾.",
    "with-s0": "S includes s0: return the T new states s⁽¹⁾ … s⁽ᵀ⁾, shape (T, B, H).",
    "reversed": "the sequence is read backwards: the recurrence runs forward in time, X[0] first.",
    "same-array": "every S[t] holds the last state: the same array is stored at every step and then overwritten "
                  "in place (s[...] = f(s, x) or s[:] = ...). Store the new array f returns (s = f(s, x)), or a "
                  "copy.",
    "reversed-output": "the states are stored in reverse order (S.insert(0, s)?): S[t] is the state after reading "
                       "X[t], s⁽¹⁾ first.",
    "batch-major": "S is stacked along the wrong axis: S[t] is the state after step t, so the time axis comes "
                   "first, shape (T, B, H) (np.stack(states), axis 0).",
}


def _unroll_mistake(mode, text):
    return Mistake(mode, text, lambda c: {"S": unroll_with(_transition(c), c["X"], c["s0"], mode)})


def read_unroll(case: dict, returned: dict, objects: dict) -> dict | str:
    """``S`` as returned, or what the calls of ``f`` say when it was not called once per step (the kernel's
    Transition counts its calls)."""
    record = objects.get("f")
    calls = record.get("calls") if isinstance(record, dict) else None
    if isinstance(calls, bool) or not isinstance(calls, (int, np.integer)):
        return "unroll: the calls of f could not be read back (do not modify f)."
    T, B = case["sizes"]["T"], case["sizes"]["B"]
    if calls == T:
        return {"S": returned["S"]}
    msg = f"unroll called f {calls} times for a sequence of T={T} steps; the same f is applied exactly once per step."
    if B > 1 and calls == T * B:
        msg += (" It was called once per sequence of the batch: f takes the whole batch, s_prev (B, H) and "
                "x (B, D), in one call per step.")
    elif calls == 2 * T:
        msg += " f is called twice per step: call it once and keep its result for the next step and for S."
    elif calls == T - 1:
        msg += (" One input is skipped (a loop over range(1, T) or range(T - 1)?): apply f once to each of the "
                "T inputs, X[0] first.")
    elif calls == 0:
        msg += " S must come from f: call f(s_prev, X[t]) at each step."
    return msg


def _cut(c, T=None, B=None):
    T = c["sizes"]["T"] if T is None else T
    B = c["sizes"]["B"] if B is None else B
    return {**c, "X": c["X"][:T, :B], "s0": c["s0"][:B], "sizes": {**c["sizes"], "T": T, "B": B}}


UNROLL = GradedFunction(
    grade_id="test_unroll", function="unroll",
    arguments=("f", "X", "s0"), returns=("S",),
    args_of=lambda c: (special("transition", kind=c["kind"], A=c["A"], Bm=c["Bm"]), c["X"], c["s0"]),
    draw=lambda rng: unroll_case(rng, "tanh", distinct_sizes(rng, "T B D H", 2, 7)),
    reference=lambda c: {"S": unroll_with(_transition(c), c["X"], c["s0"])},
    dims={"S": "T B H", "X": "T B D", "s0": "B H"}, time_axes={"S": 0}, direction="forward",
    # a transition that is not an RNN layer (an unrolling that assumes tanh fails it), and T = B = 1
    edge_cases=(lambda: unroll_case(np.random.default_rng(20261213), "other", {"T": 5, "B": 3, "D": 2, "H": 4}),
                lambda: unroll_case(np.random.default_rng(20261212), "other", {"T": 1, "B": 1, "D": 2, "H": 3})),
    mistakes=tuple(_unroll_mistake(mode, text) for mode, text in _UNROLL_MISTAKES.items()),
    probes=(
        Probe("B = 1", what="B = 1", make=lambda c: _cut(c, B=1),
              meaning="right for one sequence but not for a batch: the rows of the batch are mixed. Pass the whole "
                      "batch s_prev (B, H) and x (B, D) to f and keep its rows in order.",
              if_fails="the loop must work the same for a batch of one sequence."),
        Probe("s0 = 0", what="s0 = 0", make=lambda c: {**c, "s0": np.zeros_like(c["s0"])},
              meaning="s0 is not the starting state: with s0 = 0 your S is right, so the loop starts from zeros "
                      "(or from something else). The first step is f(s0, X[0]).",
              if_fails="with s0 = 0 the first step is f(0, X[0])."),
        Probe("T = 1", what="T = 1", make=lambda c: _cut(c, T=1),
              meaning="the first step is right (T = 1 is), so the mistake is in how the steps follow each other: "
                      "step t must be f(S[t-1], X[t]), from the state the previous step returned, and S[t] stored "
                      "in time order.",
              if_fails="a sequence of one step is S = f(s0, X[0])[None]."),
    ),
    rules=("B = 1", "s0 = 0", "T = 1"),
    none_right="already the first step is wrong, also with s0 = 0 and with B = 1: S[t] must be exactly what f "
               "returns, f(S[t-1], X[t]) (with S[-1] = s0), with nothing added, scaled or transformed.",
    read=read_unroll,
    passed_note="also for a transition that is not an RNN layer and for T = B = 1",
    argument_notes={"X": "the sequence is not the caller's any more: unrolling it again gives other states.",
                    "s0": "the caller's initial state is gone: unrolling again starts from elsewhere."},
)


# ---------------------------------------------------------------------------
# rnn_parameter_count(D, H, K) -> int
# ---------------------------------------------------------------------------

def parameter_count(D: int, H: int, K: int) -> int:
    """Entries of Wx (H, D), Ws (H, H), b (H,), Wy (K, H) and c (K,)."""
    return H * D + H * H + H + K * H + K


#: Counts with one classic mistake, and what the learner is told.
COUNT_MISTAKES = (
    ("no-biases", lambda D, H, K: H * D + H * H + K * H, "the biases are missing: b has H entries and c has K."),
    ("no-output-layer", lambda D, H, K: H * D + H * H + H, "the output layer is missing: Wy (K, H) and c (K,)."),
    ("ws-as-input-weights", lambda D, H, K: 2 * H * D + H + K * H + K,
     "Ws maps the state to the state: it is (H, H), not (H, D)."),
    ("no-state-bias", lambda D, H, K: H * D + H * H + K * H + K, "the state bias b (H,) is missing."),
    ("no-output-bias", lambda D, H, K: H * D + H * H + H + K * H, "the output bias c (K,) is missing."),
    ("no-input-weights", lambda D, H, K: H * H + H + K * H + K, "the input weights Wx (H, D) are missing."),
    ("no-recurrent-weights", lambda D, H, K: H * D + H + K * H + K,
     "the state-to-state weights Ws (H, H) are missing."),
    ("no-output-weights", lambda D, H, K: H * D + H * H + H + K, "the output weights Wy (K, H) are missing."),
    ("wy-square", lambda D, H, K: H * D + H * H + H + K * K + K,
     "Wy maps the state to the output: it is (K, H), not (K, K)."),
    ("wy-from-input", lambda D, H, K: H * D + H * H + H + K * D + K,
     "Wy maps the state to the output: it is (K, H), not (K, D)."),
)

#: The monomials a count of (D, H, K) is built from, and the parameter each one is the size of (if any).
MONOMIALS = (("1", lambda D, H, K: 1, None), ("D", lambda D, H, K: D, None), ("H", lambda D, H, K: H, "b (H,)"),
             ("K", lambda D, H, K: K, "c (K,)"), ("D·D", lambda D, H, K: D * D, None),
             ("H·H", lambda D, H, K: H * H, "Ws (H, H)"), ("K·K", lambda D, H, K: K * K, None),
             ("H·D", lambda D, H, K: H * D, "Wx (H, D)"), ("D·K", lambda D, H, K: D * K, None),
             ("K·H", lambda D, H, K: K * H, "Wy (K, H)"))

#: Fixed sizes judged on every run besides the random ones: a state of size 1, and the sizes of a real model.
COUNT_EDGE_SIZES = ((4, 1, 3), (300, 512, 10000))
#: How many random (D, H, K) are drawn: at least the 10 monomials, so that a difference can be fitted.
COUNT_RANDOM = 10


def fit_difference(triples, diffs):
    """Small integer coefficients c (one per monomial) with Σ c·m(D, H, K) = diff for every triple, or None."""
    A = np.array([[m(*t) for _, m, _ in MONOMIALS] for t in triples], dtype=np.float64)
    if np.linalg.matrix_rank(A) < len(MONOMIALS):
        return None
    coef = [int(round(v)) for v in np.linalg.lstsq(A, np.array(diffs, dtype=np.float64), rcond=None)[0]]
    if any(abs(v) > 4 for v in coef):
        return None
    if any(sum(c * m(*t) for c, (_, m, _) in zip(coef, MONOMIALS)) != d for t, d in zip(triples, diffs)):
        return None
    return coef


def describe_difference(coef) -> str:
    """'missing: Wx (H, D); b (H,) is counted twice' from the coefficients of (true − learner's count)."""
    missing, extra, other = [], [], []
    for c, (mono, _, param) in zip(coef, MONOMIALS):
        if c == 0:
            continue
        if param is None:
            other.append(f"{'−' if c > 0 else '+'}{abs(c) if abs(c) > 1 else ''}{mono}")
        elif c > 0:
            missing.append(param if c == 1 else f"{c} times {param}")
        else:
            extra.append(f"{param} is counted {'twice' if c == -1 else f'{1 - c} times'}")
    parts = ([f"missing: {', '.join(missing)}"] if missing else []) + (["; ".join(extra)] if extra else [])
    if other:
        parts.append(f"it also has {' '.join(other)}, which is not the size of any parameter")
    return "; ".join(parts) + "."


def _counts_distinct(D, H, K) -> bool:
    counts = [parameter_count(D, H, K)] + [bug(D, H, K) for _, bug, _ in COUNT_MISTAKES]
    return len(set(counts)) == len(counts)


def _monomials(triples) -> np.ndarray:
    return np.array([[m(*t) for _, m, _ in MONOMIALS] for t in triples], dtype=np.float64)


def count_cases(rng: np.random.Generator) -> list:
    """COUNT_RANDOM random sizes (D, H, K), each a case: every catalogued mistake gives its own count on each,
    and their monomials are linearly independent (so that a difference can be fitted)."""
    while True:
        triples = []
        while len(triples) < COUNT_RANDOM:
            t = tuple(int(v) for v in distinct_sizes(rng, "D H K", 2, 60).values())
            if _counts_distinct(*t) and t not in triples:
                triples.append(t)
        if np.linalg.matrix_rank(_monomials(triples)) == len(MONOMIALS):
            return [{"sizes": dict(zip("DHK", t))} for t in triples]


def _sizes(c) -> tuple:
    return c["sizes"]["D"], c["sizes"]["H"], c["sizes"]["K"]


def read_count(case: dict, returned: dict, objects: dict) -> dict | str:
    """The learner's count as an integer array, or what is wrong with its type."""
    got = returned["count"]
    if isinstance(got, (float, np.floating)) and float(got).is_integer():
        got = int(got)
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        return f"rnn_parameter_count must return an integer; got {getattr(got, 'type_name', type(got).__name__)}"
    return {"count": np.array(int(got), dtype=np.int64)}


def explain_count(cases: list, outputs: list) -> str:
    """The terms by which every count differs from the true one (a fit over all the sizes), or where it is right."""
    if any(not isinstance(o, dict) for o in outputs):
        return ""
    triples = [_sizes(c) for c in cases]
    got = [int(o["count"]) for o in outputs]
    coef = fit_difference(triples, [parameter_count(*t) - g for t, g in zip(triples, got)])
    if coef is not None:
        return f"for every size, your count differs from the true one by the same terms: {describe_difference(coef)}"
    right = [t for t, g in zip(triples, got) if g == parameter_count(*t)]
    where = (f"it is right for (D, H, K) = {', '.join(str(t) for t in right[:3])} only, so it depends on the sizes "
             f"in another way. " if right else "")
    return where + "Count the entries of Wx (H, D), Ws (H, H), b (H,), Wy (K, H) and c (K,)."


COUNT = GradedFunction(
    grade_id="test_rnn_parameter_count", function="rnn_parameter_count",
    arguments=("D", "H", "K"), returns=("count",),
    args_of=_sizes,
    draw=count_cases,
    edge_cases=tuple(lambda t=t: {"sizes": dict(zip("DHK", t))} for t in COUNT_EDGE_SIZES),
    reference=lambda c: {"count": np.array(parameter_count(*_sizes(c)), dtype=np.int64)},
    kind="exact", read=read_count,
    mistakes=tuple(Mistake(name, text, lambda c, bug=bug: {"count": np.array(bug(*_sizes(c)), dtype=np.int64)})
                   for name, bug, text in COUNT_MISTAKES),
    mistakes_on="every case",  # a mistake is named only when it gives every one of the learner's counts
    explain=explain_count,
    passed_note=f"for all {COUNT_RANDOM + len(COUNT_EDGE_SIZES)} sizes checked, the first",
    withheld=("init_params", "HiddenToHiddenRNN", "SequenceToOneRNN"),
)


#: The hidden test cells of a1-recurrence, by grade_id.
CHECKS = checks_in(__name__)

#: What the notebook may import from rnnkit inside the grading sandbox: nothing (it uses numpy only).
SANDBOX_EXPORTS = ()

#: rnnkit definitions that compute (or trivially give) a graded function of a1.
SANDBOX_WITHHELD = withheld_by(CHECKS)
