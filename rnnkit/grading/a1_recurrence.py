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
"""
from __future__ import annotations

import numpy as np

from .. import layers as _ref
from ..casefile import Other, Transition, special
from ._core import VALUE_TOL, Check, Verdict, _Failure, distinct_sizes, judge, modified_warning, returned
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
# one step
# ---------------------------------------------------------------------------

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


def judge_recurrence_step(case: dict, s, seed=None) -> Verdict:
    """Judge ``s`` returned by ``recurrence_step`` on the inputs of ``case`` (keys s_prev, x, Wx, Ws, b)."""
    s_prev, x, Wx, Ws, b = case["s_prev"], case["x"], case["Wx"], case["Ws"], case["b"]
    ref, _ = _ref.rnn_step_forward(x, s_prev, Wx, Ws, b)
    a = x @ Wx.T + s_prev @ Ws.T + b
    variants = [(NO_TANH, {"s": a}),
                (WS_NOT_T.replace("h_prev", "s_prev"), {"s": np.tanh(x @ Wx.T + s_prev @ Ws + b)}),
                (NO_BIAS, {"s": np.tanh(a - b)})]
    return judge("recurrence_step", ["s"], [s], {"s": ref}, tol=VALUE_TOL, kind="values",
                 compared_with="the reference on the same inputs", dims=_DIMS, sizes=case["sizes"],
                 variants=variants, context=_context(case["sizes"], seed))


def _build_step(rng):
    cases = [_step_case(rng), _step_edge_case()]
    return [(c["s_prev"], c["x"], c["Wx"], c["Ws"], c["b"]) for c in cases], cases


def _judge_step(cases, records) -> Verdict:
    verdicts = [judge_recurrence_step(c, returned(records, i, "recurrence_step", ["s"])[0])
                for i, c in enumerate(cases)]
    return _first_failure(verdicts, records, "recurrence_step", ["s_prev", "x", "Wx", "Ws", "b"])


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
    S = np.stack(out)
    if mode == "with_s0":
        S = np.concatenate([s0[None], S])
    return S


UNROLL_BUGS = {
    "not_carried": "the state is not carried: every step must start from the state the previous step produced, "
                   "not from s0.",
    "shifted": "S is shifted by one step: S[t] must be the state after reading X[t], i.e. s⁽¹⁾ … s⁽ᵀ⁾.",
    "with_s0": "S includes s0: return the T new states s⁽¹⁾ … s⁽ᵀ⁾, shape (T, B, H).",
    "reversed": "the sequence is read backwards: the recurrence runs forward in time, X[0] first.",
}


def judge_unroll(X, s0, S, f_kind: str, f_params: tuple, sizes: dict, seed=None) -> Verdict:
    """Judge ``S`` returned by ``unroll`` for the transition of kind ``f_kind`` with parameters ``(A, Bm)``
    (a :class:`rnnkit.casefile.Transition`)."""
    f = Transition(f_kind, *f_params)
    ref = _unroll_reference(f, X, s0)
    variants = [(text, {"S": _unroll_reference(f, X, s0, bug)}) for bug, text in UNROLL_BUGS.items()]
    return judge("unroll", ["S"], [S], {"S": ref}, tol=VALUE_TOL, kind="values",
                 compared_with="unrolling the same f", dims=_DIMS, sizes=sizes, variants=variants,
                 time_axes={"S": 0}, direction="forward", context=_context(sizes, seed))


def _unroll_case(rng, kind: str, sizes: dict) -> dict:
    T, B, D, H = sizes["T"], sizes["B"], sizes["D"], sizes["H"]
    A = rng.standard_normal((H, H)) / np.sqrt(H)
    Bm = rng.standard_normal((H, D)) / np.sqrt(D)
    return {"kind": kind, "A": A, "Bm": Bm, "X": rng.standard_normal((T, B, D)),
            "s0": rng.standard_normal((B, H)), "sizes": sizes}


def _unroll_edge_case() -> dict:
    """A fixed case with one step and one sequence (T = B = 1), judged on every run."""
    return _unroll_case(np.random.default_rng(20261212), "other", {"T": 1, "B": 1, "D": 2, "H": 3})


def _build_unroll(rng):
    sizes = distinct_sizes(rng, "T B D H", 2, 7)
    cases = [_unroll_case(rng, kind, sizes) for kind in ("tanh", "other")] + [_unroll_edge_case()]
    calls = [(special("transition", kind=c["kind"], A=c["A"], Bm=c["Bm"]), c["X"], c["s0"]) for c in cases]
    return calls, cases


def _transition_calls(record) -> int:
    """How often the learner's unroll called f (recorded by the kernel's Transition)."""
    rec = record["objects"].get("0")
    n = rec.get("calls") if isinstance(rec, dict) else None
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise _Failure("unroll: the calls of f could not be read back (do not modify f).")
    return int(n)


def _judge_unroll(cases, records) -> Verdict:
    for i, c in enumerate(cases):
        (S,) = returned(records, i, "unroll", ["S"])
        T, calls = c["sizes"]["T"], _transition_calls(records[i])
        if calls != T:
            raise _Failure(f"unroll called f {calls} times for a sequence of T={T} steps; "
                           f"the same f is applied exactly once per step ({_context(c['sizes'])}).")
        verdict = judge_unroll(c["X"], c["s0"], S, c["kind"], (c["A"], c["Bm"]), c["sizes"])
        if not verdict.passed:
            return verdict
    warning = modified_warning(records, "unroll", ["f", "X", "s0"])
    if warning:
        return Verdict(False, warning)
    return Verdict(True, f"unroll: correct for two transitions ({_context(cases[0]['sizes'])}) "
                         f"and for T=B=1.")


UNROLL = Check("test_unroll", "unroll", build=_build_unroll, judge=_judge_unroll)


def grade_unroll(fn, *, rng=None) -> Verdict:
    """Check ``unroll(f, X, s0) -> S`` (T, B, H) for different transitions ``f``.

    Also checks that ``f`` is called exactly once per step, with ``(s_prev, x)``.
    """
    return UNROLL.grade(fn, rng=rng)


# ---------------------------------------------------------------------------
# parameter count
# ---------------------------------------------------------------------------

PARAM_BUGS = [
    (lambda D, H, K: H * D + H * H + K * H, "the biases are missing: b has H entries and c has K."),
    (lambda D, H, K: H * D + H * H + H, "the output layer is missing: Wy (K, H) and c (K,)."),
    (lambda D, H, K: 2 * H * D + H + K * H + K, "Ws maps the state to the state: it is (H, H), not (H, D)."),
    (lambda D, H, K: H * D + H * H + K * H + K, "the state bias b (H,) is missing."),
    (lambda D, H, K: H * D + H * H + H + K * H, "the output bias c (K,) is missing."),
]


def judge_rnn_parameter_count(triples, answers, seed=None) -> Verdict:
    """Judge the learner's counts for each ``(D, H, K)`` in ``triples``."""
    for (D, H, K), got in zip(triples, answers):
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            if isinstance(got, (float, np.floating)) and float(got).is_integer():
                got = int(got)
            else:
                kind = got.type_name if isinstance(got, Other) else type(got).__name__
                return Verdict(False, f"rnn_parameter_count must return an integer; got {kind}.")
        expected = H * D + H * H + H + K * H + K
        if int(got) != expected:
            msg = f"rnn_parameter_count({D}, {H}, {K}) returned {int(got)}; that is not the number of parameters."
            for bug, text in PARAM_BUGS:
                if int(got) == bug(D, H, K):
                    msg += f" Likely cause: {text}"
                    break
            else:
                msg += " Count the entries of Wx (H, D), Ws (H, H), b (H,), Wy (K, H) and c (K,)."
            return Verdict(False, msg)
    return Verdict(True, f"rnn_parameter_count: correct for {len(triples)} sizes.")


#: Fixed sizes judged on every run besides the random ones: a state of size 1, and sizes of a real model.
COUNT_EDGE_CASES = ((4, 1, 3), (300, 512, 10000))


def _build_count(rng):
    triples = [tuple(int(v) for v in distinct_sizes(rng, "D H K", 2, 60).values()) for _ in range(4)]
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
