r"""Checks for assignment a1-recurrence (chapters 1–2): one step, unrolling, counting parameters.

The recurrence of chapter 2 is :math:`s^{(t)} = f(s^{(t-1)}, x^{(t)}; \theta)` with the
same :math:`f` and :math:`\theta` at every step. The learner writes one step of the
tanh recurrence, a generic ``unroll(f, X, s0)`` that applies any transition ``f``
along a sequence, and the parameter count of the RNN with an output layer, which
does not depend on the sequence length.

Each hidden test cell is a :class:`~rnnkit.grading.Check` in :data:`CHECKS`: the inputs are
drawn in the grading process (a random draw plus fixed edge cases), the learner's function
runs on them in the sandbox, and the judge sees only what it returned (for ``unroll`` also
how often it called the transition, a :class:`rnnkit.casefile.Transition`). ``grade_*`` run
a check in this process, for tests and trusted code.

Besides the catalogue of classic mistakes (buggy variants computed on the same inputs), each
check asks for *probes*: the random case again with one term switched off (``Ws = 0``,
``x = 0``, ``B = 1``, ``T = 1`` ...). Which probes the learner's function gets right tells
where a mistake outside the catalogue is (:class:`ProbeCase`, :func:`probe_report`).
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from .. import layers as _ref
from ..casefile import Other, Transition, special
from ._core import (VALUE_TOL, Check, Verdict, _Failure, as_float_array, distinct_sizes, judge, modified_warning,
                    returned, scaled_rel_error)
from .a3_bptt import NO_BIAS, NO_TANH, WS_NOT_T, rnn_case

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD",
           "grade_recurrence_step", "grade_unroll", "grade_rnn_parameter_count", "judge_recurrence_step",
           "judge_unroll", "judge_rnn_parameter_count"]

#: What the notebook may import from rnnkit inside the grading sandbox: nothing (it uses numpy only).
SANDBOX_EXPORTS = ()
#: rnnkit definitions that compute (or trivially give) a graded function of a1: the tanh step
#: (also as the first step of a sequence), and the parameter count (the sizes of the parameters).
SANDBOX_WITHHELD = ("rnn_step_forward", "rnn_forward", "init_params", "HiddenToHiddenRNN", "SequenceToOneRNN")

_DIMS = {"s": "B H", "S": "T B H"}


def _context(sizes, seed=None):
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + (f", seed={seed}" if seed is not None else "")


# ---------------------------------------------------------------------------
# probes: the random case again, with one term switched off (also used by a2)
# ---------------------------------------------------------------------------

class ProbeCase(NamedTuple):
    """One probe of a check: the base case with one term switched off.

    ``make(base) -> probe case`` (a modified copy of the base case's inputs); ``meaning``: what it
    says when the full case is wrong but this probe is right (the mistake sits in the term that is
    switched off); ``if_fails``: what it says when this probe is wrong although the full case is right.
    """
    name: str
    make: Callable[[dict], dict]
    meaning: str
    if_fails: str


def probe_right(records, index: int, func: str, names: Sequence[str], expected: np.ndarray, pick: int = 0,
                tol: float = VALUE_TOL) -> bool:
    """Whether probe call ``index`` returned output ``pick`` equal to ``expected`` (an error counts as wrong)."""
    try:
        value = returned(records, index, func, names)[pick]
        arr = as_float_array(value, func, names[pick])
    except _Failure:
        return False
    if arr.shape != expected.shape:
        return False
    err = scaled_rel_error(arr, expected)
    return bool(err.size == 0 or float(err.max()) <= tol)


def probe_report(right: dict[str, bool], probes: Sequence[ProbeCase], rules: Sequence = (),
                 none_right: str = "") -> str:
    """Explain a wrong full case from the probes' outcomes (``right``: probe name -> right or not).

    ``rules`` are tried in order, the first that applies gives the explanation: a probe name (applies
    when that probe is right; its ``meaning``) or ``((names, ...), text)`` (applies when all those
    probes are right). Without rules, the probes' names in table order. ``none_right`` when no rule
    applies.
    """
    by_name = {p.name: p for p in probes}
    text = None
    for rule in rules or [p.name for p in probes]:
        names, meaning = ((rule,), by_name[rule].meaning) if isinstance(rule, str) else rule
        if all(right.get(n) for n in names):
            text = meaning
            break
    text = text or none_right
    if not text:
        return ""
    ok = [p.name for p in probes if right.get(p.name)]
    bad = [p.name for p in probes if not right.get(p.name)]
    seen = "; ".join(part for part in (f"right with {', '.join(ok)}" if ok else "",
                                       f"wrong with {', '.join(bad)}" if bad else "") if part)
    return f"Probes (the same inputs, one part switched off or cut down at a time): {seen}. So: {text}"


def probe_failure(func: str, output: str, right: dict[str, bool], probes: Sequence[ProbeCase], context: str) -> str:
    """The message for a function right on the full case but wrong on a probe ('' if every probe is right)."""
    for p in probes:
        if not right.get(p.name):
            return (f"{func}: {output} is right on the full case but wrong when {p.name}: {p.if_fails}"
                    f"\n(Checked on fresh inputs: {context}.)")
    return ""


def explained(verdict: Verdict, probe_text: str, context: str) -> Verdict:
    """A failed verdict of :func:`judge` (called without context) with the probe text when no variant matched."""
    if verdict.passed:
        text = verdict.message
        return Verdict(True, text[:-3] + f"({context})." if text.endswith("().") and context else text)
    message = verdict.message
    # Probes locate a wrong value that no catalogued mistake explains (not a dtype, shape or NaN problem).
    if probe_text and "Likely cause:" not in message and " is wrong: " in message:
        message += "\n" + probe_text
    return Verdict(False, message + (f"\n(Checked on fresh inputs: {context}.)" if context else ""))


#: Added to an exception that says the shapes of a product did not fit.
MATMUL_HINT = (" Likely cause: a product with a weight matrix in the wrong orientation. Weights are (out, in) "
               "and a batch holds one row per sequence, so W v is written v @ W.T (e.g. s_prev @ Ws.T).")
#: Added to an exception that says two arrays could not be broadcast together.
BROADCAST_HINT = (" Likely cause: a sum or maximum over the last axis lost that axis, so it no longer lines up "
                  "with the array it is combined with: keep it with keepdims=True (or index [..., None]).")


def with_error_hint(call: Callable, kinds: str = "matmul"):
    """``call()``, with a hint added to a learner's shape error: ``kinds`` names the hints that apply
    ("matmul": a product with a weight the wrong way round; "broadcast": a reduction that lost its axis)."""
    try:
        return call()
    except _Failure as f:
        text = str(f).rstrip()
        if "matmul" in kinds and ("matmul" in text or "shapes not aligned" in text):
            raise _Failure(text + MATMUL_HINT) from None
        if "broadcast" in kinds and "could not be broadcast" in text:
            raise _Failure(text + BROADCAST_HINT) from None
        raise


def _zero(name):
    return lambda c: {**c, name: np.zeros_like(c[name])}


# ---------------------------------------------------------------------------
# one step
# ---------------------------------------------------------------------------

_STEP_ARGS = ("s_prev", "x", "Wx", "Ws", "b")

STEP_PROBES = (
    ProbeCase("B = 1", lambda c: {**c, "s_prev": c["s_prev"][:1], "x": c["x"][:1]},
          "right for one sequence but not for a batch: the rows of the batch are mixed. Row i of s must depend "
          "only on row i of s_prev and of x; look for a .reshape where a transpose .T belongs, or a sum or "
          "mean over axis 0.",
          "each row of the batch is one sequence; the code must work the same for B = 1."),
    ProbeCase("Ws = 0", _zero("Ws"), "", "with Ws = 0 the step is tanh(b + x @ Wx.T)."),
    ProbeCase("s_prev = 0", _zero("s_prev"), "", "with s_prev = 0 the step is tanh(b + x @ Wx.T)."),
    ProbeCase("x = 0", _zero("x"),
          "the input term Wx x⁽ᵗ⁾ is wrong: with x = 0 your s is right. Write it x @ Wx.T, inside the tanh.",
          "with x = 0 the step is tanh(b + Ws s_prev)."),
    ProbeCase("b = 0", _zero("b"),
          "the bias is wrong: with b = 0 your s is right. b is added once, to the pre-activation inside the "
          "tanh: s = tanh(b + s_prev @ Ws.T + x @ Wx.T).",
          "with b = 0 the step is tanh(Ws s_prev + Wx x)."),
)
#: Which probes being right says what (tried in order; a name stands for that probe's meaning).
STEP_RULES = (
    "B = 1",
    (("Ws = 0", "s_prev = 0"),
     "the recurrent term Ws s⁽ᵗ⁻¹⁾ is wrong (with Ws = 0 or with s_prev = 0 your s is right, so the rest of the "
     "step is): write it s_prev @ Ws.T, inside the tanh."),
    (("s_prev = 0",),
     "s_prev enters the step somewhere other than through Ws s⁽ᵗ⁻¹⁾: with s_prev = 0 your s is right, with "
     "Ws = 0 it is not. The previous state appears only in s_prev @ Ws.T (it is not added on its own)."),
    (("Ws = 0",),
     "Ws is used somewhere other than in Ws s⁽ᵗ⁻¹⁾: with Ws = 0 your s is right, with s_prev = 0 it is not."),
    "x = 0",
    "b = 0",
)
STEP_NONE_RIGHT = ("the step is wrong with each term switched off in turn, so the mistake is in how the terms "
                   "are combined: s = tanh(b + s_prev @ Ws.T + x @ Wx.T), one tanh of the sum of all three.")


def _step_case(rng) -> dict:
    """Fresh inputs for one step: the first step of :func:`~rnnkit.grading.rnn_case`."""
    case = rnn_case(rng)
    return {"sizes": {k: case["sizes"][k] for k in "BDH"}, "s_prev": case["h0"], "x": case["X"][0],
            "Wx": case["Wx"], "Ws": case["Ws"], "b": case["b"]}


def _step_edge_case() -> dict:
    """A fixed case with one sequence (B = 1), judged on every run besides the random draw."""
    rng = np.random.default_rng(20261211)
    B, D, H = 1, 3, 4
    return {"sizes": {"B": B, "D": D, "H": H}, "s_prev": 0.5 * rng.standard_normal((B, H)),
            "x": rng.standard_normal((B, D)), "Wx": rng.standard_normal((H, D)) / np.sqrt(D),
            "Ws": 0.8 * rng.standard_normal((H, H)) / np.sqrt(H), "b": 0.2 * rng.standard_normal(H)}


def _step_ref(c) -> np.ndarray:
    return _ref.rnn_step_forward(c["x"], c["s_prev"], c["Wx"], c["Ws"], c["b"])[0]


def _step_variants(s_prev, x, Wx, Ws, b):
    a = x @ Wx.T + s_prev @ Ws.T + b
    return [(NO_TANH, {"s": a}),
            (WS_NOT_T.replace("h_prev", "s_prev"), {"s": np.tanh(x @ Wx.T + s_prev @ Ws + b)}),
            (NO_BIAS, {"s": np.tanh(a - b)})]


def judge_recurrence_step(case: dict, s, seed=None, probe_text: str = "") -> Verdict:
    """Judge ``s`` returned by ``recurrence_step`` on the inputs of ``case`` (keys s_prev, x, Wx, Ws, b).

    ``probe_text`` (from :func:`probe_report`) is added when no catalogued mistake explains ``s``.
    """
    v = judge("recurrence_step", ["s"], [s], {"s": _step_ref(case)}, tol=VALUE_TOL, kind="values",
              compared_with="the reference on the same inputs", dims=_DIMS, sizes=case["sizes"],
              variants=_step_variants(*(case[k] for k in _STEP_ARGS)))
    return explained(v, probe_text, _context(case["sizes"], seed))


def _build_step(rng):
    main = _step_case(rng)
    cases = [main, _step_edge_case()] + [p.make(main) for p in STEP_PROBES]
    return [tuple(c[k] for k in _STEP_ARGS) for c in cases], cases


def _judge_step(cases, records) -> Verdict:
    func, n = "recurrence_step", 2
    right = {p.name: probe_right(records, n + j, func, ["s"], _step_ref(cases[n + j]))
             for j, p in enumerate(STEP_PROBES)}
    text = probe_report(right, STEP_PROBES, STEP_RULES, STEP_NONE_RIGHT)
    verdicts = [judge_recurrence_step(c, with_error_hint(lambda i=i: returned(records, i, func, ["s"]))[0],
                                      probe_text=text if i == 0 else "")
                for i, c in enumerate(cases[:n])]
    verdict = _first_failure(verdicts, records, func, list(_STEP_ARGS))
    if verdict.passed:
        failed = probe_failure(func, "s", right, STEP_PROBES, _context(cases[0]["sizes"]))
        if failed:
            return Verdict(False, failed)
    return verdict


def _first_failure(verdicts, records, func, arg_names) -> Verdict:
    for v in verdicts:
        if not v.passed:
            return v
    warning = modified_warning(records, func, arg_names)
    if warning:
        return Verdict(False, warning)
    return verdicts[0]


STEP = Check("test_recurrence_step", "recurrence_step", build=_build_step, judge=_judge_step)


def grade_recurrence_step(fn, *, rng=None) -> Verdict:
    """Check ``recurrence_step(s_prev, x, Wx, Ws, b) -> s`` (B, H): s = tanh(b + Ws s_prev + Wx x)."""
    return STEP.grade(fn, rng=rng)


# ---------------------------------------------------------------------------
# unrolling
# ---------------------------------------------------------------------------

def _unroll_reference(f, X, s0, mode=None):
    s, out = s0, []
    seq = X[::-1] if mode == "reversed" else X
    for x in seq:
        s_new = f(s, x)
        out.append(s if mode == "shifted" else s_new)
        s = s0 if mode == "not_carried" else s_new
    S = np.stack(out) if out else np.zeros((0,) + s0.shape)
    if mode == "with_s0":
        S = np.concatenate([s0[None], S])
    elif mode == "reversed_out":
        S = S[::-1]
    elif mode == "same_array":
        S = np.broadcast_to(S[-1], S.shape).copy()
    elif mode == "batch_major":
        S = S.transpose(1, 0, 2)
    return S


UNROLL_BUGS = {
    "not_carried": "the state is not carried: every step must start from the state the previous step produced, "
                   "not from s0.",
    "shifted": "S is shifted by one step: S[t] must be the state after reading X[t], i.e. s⁽¹⁾ … s⁽ᵀ⁾.",
    "with_s0": "S includes s0: return the T new states s⁽¹⁾ … s⁽ᵀ⁾, shape (T, B, H).",
    "reversed": "the sequence is read backwards: the recurrence runs forward in time, X[0] first.",
    "same_array": "every S[t] holds the last state: the same array is stored at every step and then overwritten "
                  "in place (s[...] = f(s, x) or s[:] = ...). Store the new array f returns (s = f(s, x)), "
                  "or a copy.",
    "reversed_out": "the states are stored in reverse order (S.insert(0, s)?): S[t] is the state after reading "
                    "X[t], s⁽¹⁾ first.",
    "batch_major": "S is stacked along the wrong axis: S[t] is the state after step t, so the time axis comes "
                   "first, shape (T, B, H) (np.stack(states), axis 0).",
}

UNROLL_PROBES = (
    ProbeCase("B = 1", lambda c: {**c, "X": c["X"][:, :1], "s0": c["s0"][:1]},
          "right for one sequence but not for a batch: the rows of the batch are mixed. Pass the whole batch "
          "s_prev (B, H) and x (B, D) to f and keep its rows in order.",
          "the loop must work the same for a batch of one sequence."),
    ProbeCase("s0 = 0", lambda c: {**c, "s0": np.zeros_like(c["s0"])},
          "s0 is not the starting state: with s0 = 0 your S is right, so the loop starts from zeros (or from "
          "something else). The first step is f(s0, X[0]).",
          "with s0 = 0 the first step is f(0, X[0])."),
    ProbeCase("T = 1", lambda c: {**c, "X": c["X"][:1]},
          "the first step is right (T = 1 is), so the mistake is in how the steps follow each other: step t "
          "must be f(S[t-1], X[t]), from the state the previous step returned, and S[t] stored in time order.",
          "a sequence of one step is S = f(s0, X[0])[None]."),
)
UNROLL_NONE_RIGHT = ("already the first step is wrong, also with s0 = 0 and with B = 1: S[t] must be exactly "
                     "what f returns, f(S[t-1], X[t]) (with S[-1] = s0), with nothing added, scaled or "
                     "transformed.")


def judge_unroll(X, s0, S, f_kind: str, f_params: tuple, sizes: dict, seed=None, probe_text: str = "") -> Verdict:
    """Judge ``S`` returned by ``unroll`` for the transition of kind ``f_kind`` with parameters ``(A, Bm)``
    (a :class:`rnnkit.casefile.Transition`)."""
    f = Transition(f_kind, *f_params)
    ref = _unroll_reference(f, X, s0)
    variants = [(text, {"S": _unroll_reference(f, X, s0, bug)}) for bug, text in UNROLL_BUGS.items()]
    v = judge("unroll", ["S"], [S], {"S": ref}, tol=VALUE_TOL, kind="values",
              compared_with="unrolling the same f", dims=_DIMS, sizes=sizes, variants=variants,
              time_axes={"S": 0}, direction="forward")
    return explained(v, probe_text, _context(sizes, seed))


def _unroll_case(rng, kind: str, sizes: dict) -> dict:
    T, B, D, H = sizes["T"], sizes["B"], sizes["D"], sizes["H"]
    A = rng.standard_normal((H, H)) / np.sqrt(H)
    Bm = rng.standard_normal((H, D)) / np.sqrt(D)
    return {"kind": kind, "A": A, "Bm": Bm, "X": rng.standard_normal((T, B, D)),
            "s0": rng.standard_normal((B, H)), "sizes": sizes}


def _unroll_edge_case() -> dict:
    """A fixed case with one step and one sequence (T = B = 1), judged on every run."""
    return _unroll_case(np.random.default_rng(20261212), "other", {"T": 1, "B": 1, "D": 2, "H": 3})


def _probe_sizes(c):
    T, B = c["X"].shape[:2]
    return {**c["sizes"], "T": int(T), "B": int(B)}


def _build_unroll(rng):
    sizes = distinct_sizes(rng, "T B D H", 2, 7)
    cases = [_unroll_case(rng, kind, sizes) for kind in ("tanh", "other")] + [_unroll_edge_case()]
    for p in UNROLL_PROBES:  # probes of the first case (the one judged first)
        probe = p.make(cases[0])
        cases.append({**probe, "sizes": _probe_sizes(probe)})
    calls = [(special("transition", kind=c["kind"], A=c["A"], Bm=c["Bm"]), c["X"], c["s0"]) for c in cases]
    return calls, cases


def _transition_calls(record) -> int:
    """How often the learner's unroll called f (recorded by the kernel's Transition)."""
    rec = record["objects"].get("0")
    n = rec.get("calls") if isinstance(rec, dict) else None
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise _Failure("unroll: the calls of f could not be read back (do not modify f).")
    return int(n)


def _calls_message(calls: int, sizes: dict) -> str:
    T, B = sizes["T"], sizes["B"]
    msg = (f"unroll called f {calls} times for a sequence of T={T} steps; the same f is applied exactly once "
           f"per step ({_context(sizes)}).")
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


def _judge_unroll(cases, records) -> Verdict:
    n = 3
    right = {}
    for j, p in enumerate(UNROLL_PROBES):
        c = cases[n + j]
        ref = _unroll_reference(Transition(c["kind"], c["A"], c["Bm"]), c["X"], c["s0"])
        ok = probe_right(records, n + j, "unroll", ["S"], ref)
        right[p.name] = ok and records[n + j]["error"] is None and _safe_calls(records[n + j]) == c["sizes"]["T"]
    text = probe_report(right, UNROLL_PROBES, (), UNROLL_NONE_RIGHT)
    for i, c in enumerate(cases[:n]):
        (S,) = returned(records, i, "unroll", ["S"])
        T, calls = c["sizes"]["T"], _transition_calls(records[i])
        if calls != T:
            raise _Failure(_calls_message(calls, c["sizes"]))
        verdict = judge_unroll(c["X"], c["s0"], S, c["kind"], (c["A"], c["Bm"]), c["sizes"],
                               probe_text=text if i == 0 else "")
        if not verdict.passed:
            return verdict
    warning = modified_warning(records, "unroll", ["f", "X", "s0"])
    if warning:
        return Verdict(False, warning)
    failed = probe_failure("unroll", "S", right, UNROLL_PROBES, _context(cases[0]["sizes"]))
    if failed:
        return Verdict(False, failed)
    return Verdict(True, f"unroll: correct for two transitions ({_context(cases[0]['sizes'])}) "
                         f"and for T=B=1.")


def _safe_calls(record) -> int:
    try:
        return _transition_calls(record)
    except _Failure:
        return -1


UNROLL = Check("test_unroll", "unroll", build=_build_unroll, judge=_judge_unroll)


def grade_unroll(fn, *, rng=None) -> Verdict:
    """Check ``unroll(f, X, s0) -> S`` (T, B, H) for different transitions ``f``.

    Also checks that ``f`` is called exactly once per step, with ``(s_prev, x)``.
    """
    return UNROLL.grade(fn, rng=rng)


# ---------------------------------------------------------------------------
# parameter count
# ---------------------------------------------------------------------------

def _count(D, H, K):
    return H * D + H * H + H + K * H + K


PARAM_BUGS = [
    (lambda D, H, K: H * D + H * H + K * H, "the biases are missing: b has H entries and c has K."),
    (lambda D, H, K: H * D + H * H + H, "the output layer is missing: Wy (K, H) and c (K,)."),
    (lambda D, H, K: 2 * H * D + H + K * H + K, "Ws maps the state to the state: it is (H, H), not (H, D)."),
    (lambda D, H, K: H * D + H * H + K * H + K, "the state bias b (H,) is missing."),
    (lambda D, H, K: H * D + H * H + H + K * H, "the output bias c (K,) is missing."),
    (lambda D, H, K: H * H + H + K * H + K, "the input weights Wx (H, D) are missing."),
    (lambda D, H, K: H * D + H + K * H + K, "the state-to-state weights Ws (H, H) are missing."),
    (lambda D, H, K: H * D + H * H + H + K, "the output weights Wy (K, H) are missing."),
    (lambda D, H, K: H * D + H * H + H + K * K + K, "Wy maps the state to the output: it is (K, H), not (K, K)."),
    (lambda D, H, K: H * D + H * H + H + K * D + K, "Wy maps the state to the output: it is (K, H), not (K, D)."),
]

#: The monomials a count of (D, H, K) is built from, and the parameter each one is the size of (if any).
_MONOMIALS = (("1", lambda D, H, K: 1, None), ("D", lambda D, H, K: D, None), ("H", lambda D, H, K: H, "b (H,)"),
              ("K", lambda D, H, K: K, "c (K,)"), ("D·D", lambda D, H, K: D * D, None),
              ("H·H", lambda D, H, K: H * H, "Ws (H, H)"), ("K·K", lambda D, H, K: K * K, None),
              ("H·D", lambda D, H, K: H * D, "Wx (H, D)"), ("D·K", lambda D, H, K: D * K, None),
              ("K·H", lambda D, H, K: K * H, "Wy (K, H)"))


def _fit_difference(triples, diffs):
    """Integer coefficients c (one per monomial) with Σ c·m(D, H, K) = diff for every triple, or None."""
    A = np.array([[m(*t) for _, m, _ in _MONOMIALS] for t in triples], dtype=np.float64)
    if np.linalg.matrix_rank(A) < len(_MONOMIALS):
        return None
    sol, *_ = np.linalg.lstsq(A, np.array(diffs, dtype=np.float64), rcond=None)
    coef = [int(round(v)) for v in sol]
    if any(abs(v) > 4 for v in coef):
        return None
    for t, d in zip(triples, diffs):
        if sum(c * m(*t) for c, (_, m, _) in zip(coef, _MONOMIALS)) != d:
            return None
    return coef


def _describe_difference(coef) -> str:
    """'Wx (H, D) is missing; b (H,) is counted twice' from the coefficients of true − learner's count."""
    missing, extra, other = [], [], []
    for c, (mono, _, param) in zip(coef, _MONOMIALS):
        if c == 0:
            continue
        if param is None:
            other.append(f"{'−' if c > 0 else '+'}{abs(c) if abs(c) > 1 else ''}{mono}")
        elif c > 0:
            missing.append(param if c == 1 else f"{c} times {param}")
        else:
            extra.append(f"{param} is counted {'twice' if c == -1 else f'{1 - c} times'}")
    parts = []
    if missing:
        parts.append(f"missing: {', '.join(missing)}")
    if extra:
        parts.append("; ".join(extra))
    if other:
        parts.append(f"it also has {' '.join(other)}, which is not the size of any parameter")
    return "; ".join(parts) + "."


def _count_value(got):
    """The learner's answer as an int, or a failure message."""
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        if isinstance(got, (float, np.floating)) and float(got).is_integer():
            return int(got)
        kind = got.type_name if isinstance(got, Other) else type(got).__name__
        raise _Failure(f"rnn_parameter_count must return an integer; got {kind}.")
    return int(got)


def judge_rnn_parameter_count(triples, answers, seed=None) -> Verdict:
    """Judge the learner's counts for each ``(D, H, K)`` in ``triples``.

    A catalogued mistake (or a missing term found by fitting the difference) is named only when it
    explains every answer: the random sizes are drawn so that every catalogued mistake gives a
    different count (:func:`_counts_distinct`), so at most one can.
    """
    try:
        got = [_count_value(a) for a in answers]
    except _Failure as f:
        return Verdict(False, str(f))
    wrong = [(t, g) for t, g in zip(triples, got) if g != _count(*t)]
    if not wrong:
        return Verdict(True, f"rnn_parameter_count: correct for {len(triples)} sizes.")
    (D, H, K), g = wrong[0]
    msg = (f"rnn_parameter_count({D}, {H}, {K}) returned {g}; that is not the number of parameters "
           f"(wrong for {len(wrong)} of the {len(triples)} sizes checked).")
    matches = [text for bug, text in PARAM_BUGS if all(bug(*t) == a for t, a in zip(triples, got))]
    if len(matches) == 1:
        return Verdict(False, f"{msg} Likely cause: {matches[0]}")
    coef = _fit_difference(triples, [_count(*t) - a for t, a in zip(triples, got)]) if not matches else None
    if coef is not None:
        return Verdict(False, f"{msg} For every size, your count differs from the true one by the same "
                              f"terms: {_describe_difference(coef)}")
    if len(wrong) < len(triples):
        right = [t for t, a in zip(triples, got) if a == _count(*t)]
        msg += f" It is right for (D, H, K) = {', '.join(str(t) for t in right[:3])}: does it depend on the sizes?"
    return Verdict(False, msg + " Count the entries of Wx (H, D), Ws (H, H), b (H,), Wy (K, H) and c (K,).")


#: Fixed sizes judged on every run besides the random ones: a state of size 1, and sizes of a real model.
COUNT_EDGE_CASES = ((4, 1, 3), (300, 512, 10000))
#: How many random (D, H, K) are drawn (at least the 10 monomials of a count, so the difference can be fit).
COUNT_RANDOM = 10


def _counts_distinct(D, H, K) -> bool:
    """Every catalogued mistake gives a different count for these sizes, and none gives the true one."""
    counts = [_count(D, H, K)] + [bug(D, H, K) for bug, _ in PARAM_BUGS]
    return len(set(counts)) == len(counts)


def _build_count(rng):
    while True:
        triples = []
        while len(triples) < COUNT_RANDOM:
            t = tuple(int(v) for v in distinct_sizes(rng, "D H K", 2, 60).values())
            if _counts_distinct(*t) and t not in triples:
                triples.append(t)
        A = np.array([[m(*t) for _, m, _ in _MONOMIALS] for t in triples], dtype=np.float64)
        if np.linalg.matrix_rank(A) == len(_MONOMIALS):
            break
    triples += list(COUNT_EDGE_CASES)
    return list(triples), triples


def _judge_count(triples, records) -> Verdict:
    answers = [returned(records, i, "rnn_parameter_count", ["count"])[0] for i in range(len(triples))]
    verdict = judge_rnn_parameter_count(triples, answers)
    warning = modified_warning(records, "rnn_parameter_count", ["D", "H", "K"])
    if verdict.passed and warning:
        return Verdict(False, warning)
    return verdict


COUNT = Check("test_rnn_parameter_count", "rnn_parameter_count", build=_build_count, judge=_judge_count)

#: The hidden test cells of a1-recurrence, by grade_id.
CHECKS = {c.grade_id: c for c in (STEP, UNROLL, COUNT)}


def grade_rnn_parameter_count(fn, *, rng=None) -> Verdict:
    """Check ``rnn_parameter_count(D, H, K) -> int`` on several random sizes and two fixed ones."""
    return COUNT.grade(fn, rng=rng)
