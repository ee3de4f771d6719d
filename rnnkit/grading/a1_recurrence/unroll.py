"""a1-recurrence: the check of unroll."""
from __future__ import annotations

import numpy as np

from ..kernel import Transition, special
from .._core import VALUE_TOL, Check, Probe, Verdict, _Failure, distinct_sizes, judge, modified_warning, returned
from .probes import _DIMS, _context, explained, probe_failure, probe_report, probe_right


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
    Probe("B = 1", make=lambda c: {**c, "X": c["X"][:, :1], "s0": c["s0"][:1]},
      meaning="right for one sequence but not for a batch: the rows of the batch are mixed. Pass the whole batch "
              "s_prev (B, H) and x (B, D) to f and keep its rows in order.",
      if_fails="the loop must work the same for a batch of one sequence."),
    Probe("s0 = 0", make=lambda c: {**c, "s0": np.zeros_like(c["s0"])},
      meaning="s0 is not the starting state: with s0 = 0 your S is right, so the loop starts from zeros (or from "
              "something else). The first step is f(s0, X[0]).",
      if_fails="with s0 = 0 the first step is f(0, X[0])."),
    Probe("T = 1", make=lambda c: {**c, "X": c["X"][:1]},
      meaning="the first step is right (T = 1 is), so the mistake is in how the steps follow each other: step t "
              "must be f(S[t-1], X[t]), from the state the previous step returned, and S[t] stored in time order.",
      if_fails="a sequence of one step is S = f(s0, X[0])[None]."),
)
UNROLL_NONE_RIGHT = ("already the first step is wrong, also with s0 = 0 and with B = 1: S[t] must be exactly "
                     "what f returns, f(S[t-1], X[t]) (with S[-1] = s0), with nothing added, scaled or "
                     "transformed.")


def judge_unroll(X, s0, S, f_kind: str, f_params: tuple, sizes: dict, seed=None, probe_text: str = "") -> Verdict:
    """Judge ``S`` returned by ``unroll`` for the transition of kind ``f_kind`` with parameters ``(A, Bm)``
    (a :class:`rnnkit.grading.kernel.Transition`)."""
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
