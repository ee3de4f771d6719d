"""a1-recurrence: the check of recurrence_step."""
from __future__ import annotations

import numpy as np

from ... import layers as _ref
from .._core import VALUE_TOL, Check, Probe, ProbeRule, Verdict, judge, modified_warning, returned
from ..a3_bptt import NO_BIAS, NO_TANH, WS_NOT_T, rnn_case
from .probes import (_DIMS, _context, _zero, explained, probe_failure, probe_report, probe_right,
                     with_error_hint)


# ---------------------------------------------------------------------------
# one step
# ---------------------------------------------------------------------------

_STEP_ARGS = ("s_prev", "x", "Wx", "Ws", "b")

STEP_PROBES = (
    Probe("B = 1", make=lambda c: {**c, "s_prev": c["s_prev"][:1], "x": c["x"][:1]},
      meaning="right for one sequence but not for a batch: the rows of the batch are mixed. Row i of s must depend "
              "only on row i of s_prev and of x; look for a .reshape where a transpose .T belongs, or a sum or "
              "mean over axis 0.",
      if_fails="each row of the batch is one sequence; the code must work the same for B = 1."),
    Probe("Ws = 0", make=_zero("Ws"), if_fails="with Ws = 0 the step is tanh(b + x @ Wx.T)."),
    Probe("s_prev = 0", make=_zero("s_prev"), if_fails="with s_prev = 0 the step is tanh(b + x @ Wx.T)."),
    Probe("x = 0", make=_zero("x"),
      meaning="the input term Wx x⁽ᵗ⁾ is wrong: with x = 0 your s is right. Write it x @ Wx.T, inside the tanh.",
      if_fails="with x = 0 the step is tanh(b + Ws s_prev)."),
    Probe("b = 0", make=_zero("b"),
      meaning="the bias is wrong: with b = 0 your s is right. b is added once, to the pre-activation inside the "
              "tanh: s = tanh(b + s_prev @ Ws.T + x @ Wx.T).",
      if_fails="with b = 0 the step is tanh(Ws s_prev + Wx x)."),
)
#: Which probes being right says what (tried in order; a name stands for that probe's meaning).
STEP_RULES = (
    "B = 1",
    ProbeRule(right=("Ws = 0", "s_prev = 0"),
              text="the recurrent term Ws s⁽ᵗ⁻¹⁾ is wrong (with Ws = 0 or with s_prev = 0 your s is right, so "
                   "the rest of the step is): write it s_prev @ Ws.T, inside the tanh."),
    ProbeRule(right=("s_prev = 0",),
              text="s_prev enters the step somewhere other than through Ws s⁽ᵗ⁻¹⁾: with s_prev = 0 your s is "
                   "right, with Ws = 0 it is not. The previous state appears only in s_prev @ Ws.T (it is not "
                   "added on its own)."),
    ProbeRule(right=("Ws = 0",),
              text="Ws is used somewhere other than in Ws s⁽ᵗ⁻¹⁾: with Ws = 0 your s is right, with s_prev = 0 "
                   "it is not."),
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
