"""The one case loop and judge: every :class:`GradedFunction` is drawn, called and judged here.

Cases: the random draw, then the spec's edge cases, then one case per probe. Every judged output and
every entry of a returned cache is compared with the reference (:func:`~.compare.scaled_rel_error`, the
float32 rule); a wrong output is matched against the spec's mistakes; when none matches, the probes
conclude. A sequence function with a :class:`StepHelper` is also run with a correct step standing in
for the learner's (:mod:`.blame`).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .basics import BUG_MATCH_TOL, GRAD_TOL, VALUE_TOL, Failure
from .blame import oracle_call, recorded_call
from .compare import as_float_array, dtype_problem, exact_wrong, unpack, within_tolerance
from .spec import GradedFunction

#: The seed of the fixed case probes are made from when a spec gives no ``probe_base``.
PROBE_SEED = 20261202
#: Added to an exception that says the shapes of a product did not fit.
MATMUL_HINT = (" Likely cause: a product with a weight matrix in the wrong orientation. Weights are (out, in) "
               "and a batch holds one row per sequence, so W v is written v @ W.T (e.g. h_prev @ Ws.T).")
#: Added to an exception that says two arrays could not be broadcast together.
BROADCAST_HINT = (" Likely cause: a sum or maximum over the last axis lost that axis, so it no longer lines up "
                  "with the array it is combined with: keep it with keepdims=True (or index [..., None]).")
_ndarray = np.ndarray


@dataclass(frozen=True)
class Context:
    """What the judge knows of one grading run: the cases (in call order) and the oracle's answer keys."""
    cases: list
    oracle: list
    extra: int = 0    # calls the spec's ``calls`` escape hatch added, after the engine's own


@dataclass(frozen=True)
class Outcome:
    """One call judged: ``error`` (the message of a call that gave nothing to compare), ``outputs`` (name ->
    returned value), ``wrong`` (compared output, and ``"cache"``, -> wrong?), ``cache`` (the cache's problem)."""
    error: str | None
    outputs: dict | None
    wrong: dict
    cache: str = ""
    aliased: bool = False     # a returned array is an argument's own array (not reported otherwise)

    def ok(self, judged) -> bool:
        return self.error is None and not self.cache and not any(self.wrong.get(n) for n in judged)


# ---------------------------------------------------------------------------
# the cases and the calls
# ---------------------------------------------------------------------------

def cases_of(spec: GradedFunction, rng: np.random.Generator) -> list:
    """The random case, the edge cases, the probe cases."""
    drawn = spec.draw(rng)
    cases = list(drawn) if isinstance(drawn, list) else [drawn]
    for make in spec.edge_cases:
        case = dict(make())
        case["edge"] = True
        cases.append(case)
    if spec.probes:
        base = spec.probe_base() if spec.probe_base is not None else spec.draw(np.random.default_rng(PROBE_SEED))
        base = base[0] if isinstance(base, list) else base
        for p in spec.probes:
            case = dict(p.make(dict(base)))
            case["probe"], case["probe_name"] = p.what or p.name, p.name
            cases.append(case)
    return cases


def build(spec: GradedFunction):
    """``rng -> (calls, Context)``: the learner's call on each case, then (a sequence function) the oracle run
    and the recorded run of each, then the calls of the spec's escape hatch."""
    def draw(rng):
        cases = cases_of(spec, rng)
        calls = [spec.args_of(c) for c in cases]
        infos = []
        if spec.step is not None:
            for c in cases:
                call, info = oracle_call(spec.step, spec.args_of(c), c)
                calls.append(call)
                infos.append(info)
            calls += [recorded_call(spec.step, spec.args_of(c)) for c in cases]
        extra = [call for c in cases for call in spec.calls(c)] if spec.calls is not None else []
        return calls + extra, Context(cases, infos, len(extra))
    return draw


# ---------------------------------------------------------------------------
# one call
# ---------------------------------------------------------------------------

def sizes_text(case: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in case.get("sizes", {}).items())


def case_text(case: dict) -> str:
    """'the case T=1, B=1, D=3, H=4' / 'the probe case x = 0 (T=4, B=3, D=5, H=6)'."""
    if case.get("probe"):
        return f"the probe case {case['probe']} ({sizes_text(case)})"
    return f"the case {sizes_text(case)}"


def _where(record: dict) -> str:
    """' (line 7 of rnn_step_forward: h = ...)' from the kernel's ``where`` (untrusted: types checked, cut)."""
    where = record.get("where")
    if not isinstance(where, dict):
        return ""
    line, text, function = where.get("line"), where.get("text"), where.get("function")
    if not isinstance(line, (int, np.integer)) or isinstance(line, bool) or not 0 < line < 10**7:
        return ""
    function = function[:60] if isinstance(function, str) and function.isprintable() else "your code"
    text = " ".join(text.split())[:160] if isinstance(text, str) else ""
    return f" (line {int(line)} of {function}" + (f": {text}" if text and text.isprintable() else "") + ")"


def _error_message(spec: GradedFunction, record: dict, case: dict) -> str:
    func, error = spec.function, str(record["error"])
    if error.startswith("not a function"):
        return f"{func} is {error}; run the cell that defines it."
    if error.startswith("NotImplementedError"):
        return f"{func} is not implemented yet (it raised NotImplementedError)."
    text = f"{func} raised {error} on {case_text(case)}{_where(record)}."
    for hint in spec.error_hints:
        if hint == "matmul" and ("matmul" in error or "shapes not aligned" in error):
            return text + MATMUL_HINT
        if hint == "broadcast" and "could not be broadcast" in error:
            return text + BROADCAST_HINT
        if isinstance(hint, tuple) and len(hint) == 2 and hint[0] in error:
            return text + " Likely cause: " + hint[1]
    return text


def _cache_problem(spec: GradedFunction, value, expected, case: dict, outputs: dict, wrong: dict) -> str:
    """What is wrong with a returned cache ('' if it holds what the notebook prescribes)."""
    func, names = spec.function, spec.cache
    want = f"({', '.join(names)})"
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        got = f"{len(value)} entries" if isinstance(value, (tuple, list)) else f"a {type(value).__name__}"
        return (f"{func}: the cache must be the tuple {want} the notebook prescribes (the backward pass reads "
                f"it); got {got}.")
    bad, right = [], []
    for i, (name, v, e) in enumerate(zip(names, value, expected)):
        try:
            arr = as_float_array(v, func, f"cache[{i}]")
        except Failure:
            bad.append(f"cache[{i}] ({name}) is not a float array")
            continue
        e = np.asarray(e, dtype=np.float64)
        mine = outputs.get(name)
        if name in spec.returns and isinstance(mine, np.ndarray) and mine.shape == arr.shape \
                and np.array_equal(mine, arr):
            right += [] if wrong.get(name) else [name]
            continue  # the returned output itself, judged as such
        if arr.shape != e.shape:
            bad.append(f"cache[{i}] ({name}) has shape {arr.shape}, not {e.shape}")
        elif not within_tolerance(arr, e, VALUE_TOL):
            bad.append(f"cache[{i}] ({name}) is not {name}")
        else:
            right.append(name)
    if not bad:
        return ""
    matches = [(text, outs) for text, outs in mistakes_of(spec, case) if isinstance(outs.get("cache"), tuple)
               and len(outs["cache"]) == len(value) and all(
                   np.shape(v) == np.shape(m) and within_tolerance(np.asarray(v, dtype=np.float64),
                                                                   np.asarray(m, dtype=np.float64), BUG_MATCH_TOL)
                   for v, m in zip(value, outs["cache"]))]

    def agrees(outs):  # the mistake's other outputs are the learner's; those it leaves out are right
        try:
            return all(within_tolerance(np.asarray(outputs.get(n), dtype=np.float64), outs[n], BUG_MATCH_TOL)
                       if n in outs else not wrong.get(n) for n in wrong)
        except (TypeError, ValueError):
            return False
    cause = next((t for t, o in matches if agrees(o)), matches[0][0] if matches else "")
    also = " (" + ", ".join(right) + (" is" if len(right) == 1 else " are") + " right)" if right else ""
    if any(wrong.values()):  # an output is wrong too: the cache holds the learner's own values
        return f"{func}: the cache is wrong too: {'; '.join(bad)}{also}." + (f" Likely cause: {cause}" if cause else "")
    return (f"{func}: the cache is not the tuple {want} the notebook prescribes: {'; '.join(bad)}{also}"
            + f" (on {case_text(case)}). The backward pass reads these values, so a wrong cache makes it wrong too."
            + (f" Likely cause: {cause}" if cause else ""))


def outcome(spec: GradedFunction, records, i: int, case: dict, truth: dict) -> Outcome:
    """Call ``i`` judged against ``truth``."""
    compared = [n for n in truth if n != "cache" and (n in spec.returns or spec.read is not None)]
    all_wrong = {n: True for n in compared}
    if i >= len(records):
        return Outcome(f"{spec.function}: no result was recorded for call {i + 1} (the kernel stopped early).",
                       None, all_wrong)
    rec = records[i]
    if rec.get("error") is not None:
        return Outcome(_error_message(spec, rec, case), None, all_wrong)
    try:
        values = unpack(rec["value"], spec.function, list(spec.returns))
    except Failure as f:
        return Outcome(str(f), None, all_wrong)
    outputs = dict(zip(spec.returns, values))
    if spec.read is not None:
        objects = rec.get("objects", {}) if isinstance(rec.get("objects"), dict) else {}
        try:
            outputs = spec.read(case, outputs, {name: objects.get(str(j)) for j, name in enumerate(spec.arguments)})
        except Failure as f:
            outputs = f"{spec.function}: {f}"
        if isinstance(outputs, str):
            return Outcome(f"{outputs.rstrip('.')} (on {case_text(case)}).", None, all_wrong)
    depth = 0 if len(values) == 1 else 1
    owner = [name for name, v in zip(spec.returns, values) for _ in range(_count_arrays(v, depth))]
    aliased = {owner[j] for j in rec.get("aliased", []) if isinstance(j, int) and 0 <= j < len(owner)}
    aliased -= {"cache"} | set(spec.aliases_allowed)   # a cache holds the arguments themselves
    if spec.read is None:
        aliased &= set(spec.judged_outputs)
    named = [n for n in spec.returns if n in aliased and n.startswith("d") and isinstance(outputs[n], _ndarray)]
    if named and len(spec.returns) > 1 and all(isinstance(v, _ndarray) for v in values):
        return Outcome(f"{spec.function} returns {', '.join(named)} as the very array it was given (an alias of "
                       f"an argument): return a new array, e.g. with .copy() or an arithmetic result.", None, all_wrong)
    wrong = {}
    for name in compared:
        exp, value = truth[name], outputs.get(name)
        if spec.kind == "exact":
            wrong[name] = exact_wrong(value, exp)
            continue
        try:
            arr = as_float_array(value, spec.function, name)
        except Failure:
            wrong[name] = True
            continue
        wrong[name] = bool(dtype_problem(value, spec.function, name)) or arr.shape != exp.shape \
            or not within_tolerance(arr, exp, tolerance(spec, name))
    cache = (_cache_problem(spec, outputs.get("cache"), truth["cache"], case, outputs, wrong)
             if spec.cache and "cache" in truth else "")
    return Outcome(None, outputs, wrong, cache, bool(aliased))


def _count_arrays(value, depth: int) -> int:
    """How many arrays the kernel counts in ``value`` (its "aliased" entries index them in this order)."""
    if depth > 4:
        return 0
    if isinstance(value, _ndarray):
        return 1
    if isinstance(value, (tuple, list)):
        return sum(_count_arrays(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return sum(_count_arrays(v, depth + 1) for v in value.values())
    return 0


def tolerance(spec: GradedFunction, name: str | None = None):
    """The tolerance of output ``name`` (all of them: a float, or a dict output -> tolerance)."""
    default = GRAD_TOL if spec.kind == "gradients" else VALUE_TOL
    if isinstance(spec.tol, dict):
        return spec.tol.get(name, default) if name is not None else defaultdict(lambda: default, spec.tol)
    return spec.tol if spec.tol is not None else default


def truth_of(spec: GradedFunction, case: dict) -> dict:
    truth = dict(spec.reference(case))
    if spec.numerical is not None and not case.get("probe"):
        truth.update(spec.numerical(case))
    return truth


def mistakes_of(spec: GradedFunction, case: dict) -> list:
    """``[(text, outputs)]`` of the spec's mistakes on ``case``."""
    mistakes = spec.mistakes(case) if callable(spec.mistakes) else spec.mistakes
    return [(m.text, m.outputs(case)) for m in mistakes]
