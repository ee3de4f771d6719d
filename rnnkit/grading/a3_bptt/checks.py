"""a3-bptt: the targets of the five cells, the ``judge_*`` functions, ``CHECKS`` and the ``grade_*``
functions."""
from __future__ import annotations

from .._core import GRAD_TOL, VALUE_TOL, Check, Verdict
from .large_cases import OUTPUT_LARGE, STEP_LARGE, sequence_large_case
from .oracle import _BACKWARD_STEP, _FORWARD_STEP
from .probes import (BACKWARD_PROBES, BACKWARD_RULES, FORWARD_PROBES, FORWARD_RULES, OUTPUT_PROBES,
                     OUTPUT_RULES, STEP_BACKWARD_PROBES, STEP_BACKWARD_RULES,
                     STEP_FORWARD_PROBES, STEP_FORWARD_RULES)
from .targets import _Target, _build, _judge_case, _judge_target
from .variants import (RNN_BACKWARD_PARTS, _backward_case_variants, _backward_truth, _forward_case_variants,
                       _forward_truth, _output_args, _output_case_variants,
                       _output_truth, _step_backward_case_variants,
                       _step_backward_truth, _step_forward_case_variants,
                       _step_forward_truth, seq_cache, step_cache)


def judge_rnn_step_forward(case: dict, h, seed: int | None = None) -> Verdict:
    """Judge ``h`` returned for one step on the inputs of ``case`` (step t=1 of it)."""
    return _judge_case(STEP_FORWARD_TARGET, case, (h,), _step_forward_truth(case), seed)


def judge_rnn_step_backward(case: dict, grads, seed: int | None = None) -> Verdict:
    """Judge ``(dx, dh_prev, dWx, dWs, db)`` for one step against central differences."""
    return _judge_case(STEP_BACKWARD_TARGET, case, tuple(grads), _step_backward_truth(case), seed)


def judge_rnn_forward(case: dict, Hs, seed: int | None = None) -> Verdict:
    """Judge the states ``Hs`` (T, B, H) against the reference on the inputs of ``case``."""
    return _judge_case(FORWARD_TARGET, case, (Hs,), _forward_truth(case), seed)


def judge_rnn_backward(case: dict, grads, part: str = "all", seed: int | None = None) -> Verdict:
    """Judge ``(dX, dh0, dWx, dWs, db)`` against central differences of the reference forward pass."""
    target = _backward_target(part)
    return _judge_case(target, case, tuple(grads), _backward_truth(case), seed)


def judge_output_backward(case: dict, grads, seed: int | None = None) -> Verdict:
    """Judge ``(dHs, dWy, dc)`` of the output layer O = Hs @ Wy.T + c against central differences."""
    return _judge_case(OUTPUT_TARGET, case, tuple(grads), _output_truth(case), seed)


STEP_FORWARD_TARGET = _Target(
    "rnn_step_forward", ("h", "cache"), ("h",), ("x", "h_prev", "Wx", "Ws", "b"),
    lambda c: (c["X"][0], c["h0"], c["Wx"], c["Ws"], c["b"]), _step_forward_truth, _step_forward_case_variants,
    VALUE_TOL, "values", STEP_FORWARD_PROBES, STEP_FORWARD_RULES, fd=False)

STEP_BACKWARD_TARGET = _Target(
    "rnn_step_backward", ("dx", "dh_prev", "dWx", "dWs", "db"), ("dx", "dh_prev", "dWx", "dWs", "db"),
    ("dh", "cache"), lambda c: (c["dHs"][0], step_cache(c)), _step_backward_truth, _step_backward_case_variants,
    GRAD_TOL, "gradients", STEP_BACKWARD_PROBES, STEP_BACKWARD_RULES)

FORWARD_TARGET = _Target(
    "rnn_forward", ("Hs", "cache"), ("Hs",), ("X", "h0", "Wx", "Ws", "b"),
    lambda c: (c["X"], c["h0"], c["Wx"], c["Ws"], c["b"]), _forward_truth, _forward_case_variants,
    VALUE_TOL, "values", FORWARD_PROBES, FORWARD_RULES, time_axes={"Hs": 0}, direction="forward",
    step=_FORWARD_STEP, fd=False)

_BACKWARD_HINTS = {
    "dWs": "dWs = Σₜ δ⁽ᵗ⁾ᵀ @ h⁽ᵗ⁻¹⁾ with δ⁽ᵗ⁾ = (dHs[t] + dh_next) ⊙ (1 − h⁽ᵗ⁾²).",
    "dWx": "dWx = Σₜ δ⁽ᵗ⁾ᵀ @ x⁽ᵗ⁾ with δ⁽ᵗ⁾ = (dHs[t] + dh_next) ⊙ (1 − h⁽ᵗ⁾²).",
    "db": "db = Σₜ Σ_batch δ⁽ᵗ⁾.",
    "dX": "dX[t] = δ⁽ᵗ⁾ @ Wx.",
    "dh0": "dh0 is the gradient passed back from step t=1: δ⁽¹⁾ @ Ws.",
}


def _backward_target(part: str) -> _Target:
    return _Target(
        "rnn_backward", RNN_BACKWARD_PARTS["all"], RNN_BACKWARD_PARTS["all"], ("dHs", "cache"),
        lambda c: (c["dHs"], seq_cache(c)), _backward_truth, _backward_case_variants, GRAD_TOL, "gradients",
        BACKWARD_PROBES, BACKWARD_RULES, select=RNN_BACKWARD_PARTS[part], time_axes={"dX": 0},
        hints=_BACKWARD_HINTS, step=_BACKWARD_STEP)


OUTPUT_TARGET = _Target(
    "output_backward", ("dHs", "dWy", "dc"), ("dHs", "dWy", "dc"), ("dO", "Hs", "Wy"), _output_args,
    _output_truth, _output_case_variants, GRAD_TOL, "gradients", OUTPUT_PROBES, OUTPUT_RULES,
    time_axes={"dHs": 0}, hints={"dWy": "dWy = Σₜ dO[t]ᵀ @ Hs[t].", "dc": "dc = Σₜ Σ_batch dO[t].",
                                 "dHs": "dHs[t] = dO[t] @ Wy."})


def _check(grade_id: str, target: _Target, large=None) -> Check:
    return Check(grade_id, target.func, build=_build(target),
                 judge=lambda context, records: _judge_target(target, context, records),
                 helper_cells=(target.step.cell,) if target.step is not None else (), large=large)


STEP_FORWARD = _check("test_rnn_step_forward", STEP_FORWARD_TARGET)
STEP_BACKWARD = _check("test_rnn_step_backward", STEP_BACKWARD_TARGET, STEP_LARGE)
FORWARD = _check("test_rnn_forward", FORWARD_TARGET)
OUTPUT_BACKWARD = _check("test_output_backward", OUTPUT_TARGET, OUTPUT_LARGE)


def _backward_check(part: str) -> Check:
    return _check(f"test_rnn_backward_{part}", _backward_target(part), sequence_large_case(part))


#: The hidden test cells of a3-bptt, by grade_id.
CHECKS = {c.grade_id: c for c in (STEP_FORWARD, STEP_BACKWARD, FORWARD, _backward_check("parameters"),
                                  _backward_check("inputs"), OUTPUT_BACKWARD)}


def grade_rnn_step_forward(fn, *, rng=None) -> Verdict:
    """Check ``rnn_step_forward(x, h_prev, Wx, Ws, b) -> (h, cache)`` in this process."""
    return STEP_FORWARD.grade(fn, rng=rng)


def grade_rnn_step_backward(fn, *, rng=None) -> Verdict:
    """Check ``rnn_step_backward(dh, cache) -> (dx, dh_prev, dWx, dWs, db)``; the cache is ``(x, h_prev, h, Wx, Ws)``."""
    return STEP_BACKWARD.grade(fn, rng=rng)


def grade_rnn_forward(fn, *, rng=None) -> Verdict:
    """Check ``rnn_forward(X, h0, Wx, Ws, b) -> (Hs, cache)`` in this process."""
    return FORWARD.grade(fn, rng=rng)


def grade_rnn_backward(fn, *, part: str = "all", rng=None) -> Verdict:
    """Check ``rnn_backward(dHs, cache)``; ``part`` is ``"parameters"``, ``"inputs"`` or ``"all"``."""
    if part not in RNN_BACKWARD_PARTS:
        raise ValueError(f"grade_rnn_backward: part must be one of {sorted(RNN_BACKWARD_PARTS)}, got {part!r}")
    return _backward_check(part).grade(fn, rng=rng)


def grade_output_backward(fn, *, rng=None) -> Verdict:
    """Check ``output_backward(dO, Hs, Wy) -> (dHs, dWy, dc)`` in this process."""
    return OUTPUT_BACKWARD.grade(fn, rng=rng)
