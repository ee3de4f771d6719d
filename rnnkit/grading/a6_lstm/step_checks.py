"""a6-lstm: the checks of the step cells (lstm_step_forward, lstm_step_backward)."""
from __future__ import annotations

import numpy as np

from ... import layers as _ref
from .._core import GRAD_TOL, VALUE_TOL, Check, Verdict, modified_warning, returned
from .cases import _context, lstm_case
from .judges import _finish, _verdict_step_backward, _verdict_step_forward
from .large_cases import STEP_LARGE
from .probe_notes import _backward_notes, _cache_gates, _forward_notes, _outcomes, _plain, _probe_failure
from .probes import STEP_BACKWARD_PROBES, STEP_FORWARD_PROBES, _resized
from .variants import _BACKWARD_NAMES, _STEP_BACKWARD_NAMES, _ref_step_backward, lstm_step_caches


# ---------------------------------------------------------------------------
# the hidden test cells
# ---------------------------------------------------------------------------

def _fixed_cases() -> list[dict]:
    """Cases judged on every run besides the random draw, so that regrading the same code always covers
    them: the smallest sizes (T = B = 1), and a sequence of typical sizes (T=6, B=2, D=5, H=4)."""
    smallest = lstm_case(np.random.default_rng(20261206), sizes={"T": 1, "B": 1, "D": 3, "H": 2})
    typical = lstm_case(np.random.default_rng(20260802))
    return [smallest, typical]


#: Length of the sequence the probes of the sequence cells are made from (the typical case's first steps).
PROBE_T = 3


def _cases(rng, probes, probe_T: int | None = None) -> dict:
    """The random case, the fixed cases, and the probes (made from the typical fixed case, for the
    sequence cells from its first ``probe_T`` steps)."""
    main = [lstm_case(rng)] + _fixed_cases()
    base = main[-1] if probe_T is None else _resized({**main[-1], "X": main[-1]["X"][:probe_T],
                                                      "dHs": main[-1]["dHs"][:probe_T]})
    return {"main": main, "probes": [_resized(p.make(base)) for p in probes]}


def _step_args(c):
    return (c["X"][0], c["h0"], c["c0"], c["W"], c["b"])


def _step_backward_args(c):
    _, caches = lstm_step_caches({**c, "X": c["X"][:1]})
    return (c["dHs"][0], c["dc"], caches[0])


def _sequence_args(c):
    return (c["X"], c["h0"], c["c0"], c["W"], c["b"])


def _truth_step_forward(c):
    h, cc, _ = _ref.lstm_step_forward(*_step_args(c))
    return {"h": h, "c": cc}


def _truth_step_backward(c):
    return dict(zip(_STEP_BACKWARD_NAMES, _ref_step_backward(*_step_backward_args(c))))


def _truth_forward(c):
    return {"Hs": _ref.lstm_forward(*_sequence_args(c))[0]}


def _truth_backward(c):
    Hs, cache = _ref.lstm_forward(*_sequence_args(c))
    return dict(zip(_BACKWARD_NAMES, _ref.lstm_backward(c["dHs"], cache)))


def _got(names, outputs) -> dict:
    out = {}
    for n, v in zip(names, outputs):
        arr = _plain(v)
        if arr is not None:
            out[n] = arr
    return out


def _step_judge(func, names, arg_names, probes, truth, verdict_of, notes_of, tol):
    """The judge of a step cell: every full case, then the probes; a failure explained by facts and probes."""
    def judge_(ctx, records):
        main, pcases = ctx["main"], ctx["probes"]
        n = len(main)
        outcomes = _outcomes(probes, pcases, records, range(n, n + len(pcases)), func, names, truth, tol)
        warning = modified_warning(records, func, arg_names)
        for i, case in enumerate(main):
            outputs = returned(records, i, func, names)
            v = verdict_of(case, outputs)
            if not v.passed:
                extra = notes_of(case, outputs, outcomes, "Likely cause:" in v.message)
                return _finish(v, _context(case), extra + [warning])
        failed = _probe_failure(func, outcomes, probes, names[:len(truth(pcases[0]))])
        if failed:
            return Verdict(False, failed)
        if warning:
            return Verdict(False, warning)
        return _finish(verdict_of(main[0], returned(records, 0, func, names)), _context(main[0]))
    return judge_


def _sf_notes(case, outputs, outcomes, explained):
    exp = _truth_step_forward(case)
    return _forward_notes(_got(["h", "c"], outputs[:2]), exp, outcomes, STEP_FORWARD_PROBES,
                          _cache_gates(outputs[2], case), explained=explained)


def _sb_notes(case, outputs, outcomes, explained):
    exp = _truth_step_backward(case)
    return _backward_notes(_got(_STEP_BACKWARD_NAMES, outputs), exp, _STEP_BACKWARD_NAMES, outcomes,
                           STEP_BACKWARD_PROBES, step=True, explained=explained,
                           rules=((("dc0", "dh0"), "dc and the gradient through h are each handled right on "
                                   "their own but combined wrongly: dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c), a "
                                   "sum, feeds di, df, dg and dc_prev"),))


def _build_step(args_of, probes):
    def build(rng):
        ctx = _cases(rng, probes)
        return [args_of(c) for c in ctx["main"] + ctx["probes"]], ctx
    return build


STEP_FORWARD = Check(
    "test_lstm_step_forward", "lstm_step_forward",
    build=_build_step(_step_args, STEP_FORWARD_PROBES),
    judge=_step_judge("lstm_step_forward", ["h", "c", "cache"], ["x", "h_prev", "c_prev", "W", "b"],
                      STEP_FORWARD_PROBES, _truth_step_forward,
                      lambda c, out: _verdict_step_forward(c, out[0], out[1]), _sf_notes, VALUE_TOL))

STEP_BACKWARD = Check(
    "test_lstm_step_backward", "lstm_step_backward",
    build=_build_step(_step_backward_args, STEP_BACKWARD_PROBES),
    judge=_step_judge("lstm_step_backward", _STEP_BACKWARD_NAMES, ["dh", "dc", "cache"], STEP_BACKWARD_PROBES,
                      _truth_step_backward, _verdict_step_backward, _sb_notes, GRAD_TOL),
    large=STEP_LARGE)
