r"""Checks for assignment a7-char-lm (chapter 9): batching, a training step, sampling with temperature.

* ``make_batches(ids, B, T)``: B contiguous streams of length L = (N-1)//B; window j of every stream
  follows window j-1; targets are the inputs shifted one id ahead (as :func:`rnnkit.data.lm_batches`).
* ``sample_with_temperature(logits, temperature, rng)``: one draw ``u = rng.random(B)`` and inverse-CDF
  sampling from softmax(logits / temperature) (as :func:`rnnkit.sampling.sample_from_logits`).
* ``train_step(model, X, Y, state, lr, max_norm) -> (loss, new_state)``: loss and gradients from
  ``model.loss_and_grads`` starting at ``state``, clipping by global norm, one SGD update of
  ``model.params`` in place, and the final state for the next batch.

Each hidden test cell is a :class:`~rnnkit.grading.Check` in :data:`CHECKS`: the case builder draws
fresh inputs in the grading process and adds fixed cases (judged on every run, so a regrade never
changes a score); the judge sees only what the kernel recorded: the returned values, the sizes the
generator handed to ``sample_with_temperature`` drew, and the parameters of the model ``train_step``
updated (with how its ``loss_and_grads`` was called). ``grade_*`` run a check in this process.

How a mistake is named (in this order):

1. a catalogue of classic mistakes (buggy variants computed here on the same inputs). A variant is
   named when it explains the learner's results on *every* case, the fixed probe cases included:
   the probes are chosen so that mistakes that agree on one case disagree on another (e.g. clipping
   each array on its own looks like no clipping at all when every array is small; a strong-clipping
   probe tells them apart);
2. for ``make_batches``, where each id is unique, a reading of the layout the learner produced
   (how far apart the streams start, the shift of the targets, where the windows start);
3. the probe tables (``_BATCH_PROBES``, ``_SAMPLE_PROBE_TABLE``, ``_TRAIN_PROBE_TABLE``): which probe
   cases, each with one part of the computation switched off (one stream, one window; temperature 1,
   equal logits; no clipping needed, a zero state), are right, and so which part is at fault.

A check also records facts a value cannot show: the uniforms drawn from the generator
(``sample_with_temperature`` must draw exactly ``rng.random(B)``) and, for ``train_step``, how the model's
``loss_and_grads`` was called (its ``state0``, whether after the update, and the gradient dict after the
call, which tells clipping after the update from no clipping at all). The draws are part of the
contract; the model's calls only explain a failure (the verdict rests on the returned values and the
parameters).
"""
from __future__ import annotations

import numpy as np

from .. import layers as _layers
from ..casefile import special
from ._core import (BUG_MATCH_TOL, VALUE_TOL, Check, Verdict, _Failure, _max_error, distinct_sizes, judge,
                    modified_warning, returned)

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD",
           "grade_make_batches", "grade_sample_with_temperature", "grade_train_step"]

#: What the notebook imports from rnnkit (setup cell); nothing here computes a graded function.
SANDBOX_EXPORTS = ("HiddenToHiddenRNN", "Vocab", "one_hot", "softmax")
#: rnnkit definitions cut out of the sandbox's copy of the shipped modules: they compute (or give away)
#: make_batches (lm_batches), sample_with_temperature (sample_from_logits, generate_text) or the
#: clipping and update of train_step (the optimizers and clipping helpers of rnnkit.optim).
SANDBOX_WITHHELD = ("lm_batches", "sample_from_logits", "generate_text", "clip_by_global_norm", "global_norm",
                    "clip_by_value", "SGD", "Adam", "Adagrad")


def _builder(cases_of, args_of):
    """A case builder: the cases (the judge's context) and the learner's arguments for each."""
    def build(rng):
        cases = cases_of(rng)
        return [args_of(c) for c in cases], cases
    return build


def _ctx(sizes, extra=""):
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + extra


def _outcome(func: str, records, index: int, names):
    """``(outputs, None)`` for call ``index``, or ``(None, failure text)`` if it raised / returned too few values.

    'not implemented' and 'not a function' stop the check at once (nothing else to say)."""
    try:
        return returned(records, index, func, names), None
    except _Failure as f:
        text = str(f)
        if "not implemented" in text or "is not a function" in text or "no result was recorded" in text:
            raise
        withheld = [name for name in SANDBOX_WITHHELD if f"'{name}'" in text]
        if withheld:  # e.g. AttributeError: module 'rnnkit' has no attribute 'lm_batches'
            raise _Failure(f"{text.rstrip('.')}. rnnkit's {withheld[0]} is not available while grading (it is withheld from "
                           f"the grading sandbox, see the Rules): a graded function must not call it. Write "
                           f"this part yourself with numpy.") from None
        return None, text


def _probe_text(table, passed: dict) -> str:
    """What the probe cases say (``table``: ``(name, description, if it passes, if it fails)``;
    ``passed``: probe name -> bool for the probes that were judged)."""
    parts = []
    for name, description, if_passes, if_fails in table:
        if name not in passed:
            continue
        text = if_passes if passed[name] else if_fails
        if text:
            parts.append(f"{'Right' if passed[name] else 'Wrong'} on the probe case with {description}: {text}")
    return (" " + " ".join(parts)) if parts else ""


# ---------------------------------------------------------------------------
# make_batches
# ---------------------------------------------------------------------------

def _batches(ids, B, T, mode=None):
    """The batches, or those of a buggy variant (``None`` if that variant cannot even build them:
    a learner's code with that mistake raises there, or returns arrays of another shape)."""
    if mode == "n_over_b":
        L = ids.size // B
    elif mode == "short_streams":
        L = ids.size // B - 1
    else:
        L = (ids.size - 1) // B
    if L < 1:
        return None
    if mode == "interleaved":  # streams dealt out id by id instead of contiguous slices
        inputs = ids[:L * B].reshape(L, B)
        targets = ids[1:L * B + 1].reshape(L, B)
    else:
        xs = [ids[b * L:b * L + L] for b in range(B)]
        ys = [ids[b * L + 1:b * L + L + 1] for b in range(B)]
        if any(x.size != L for x in xs):
            return None  # this variant runs past the end of ids
        inputs = np.stack(xs, axis=1)
        # the last stream's targets may run past the end (n_over_b): then only the inputs are known
        targets = np.stack(ys, axis=1) if all(y.size == L for y in ys) else None
    if mode == "unshifted":
        targets = inputs
    if mode == "targets_from_inputs":  # targets cut from the (L, B) inputs: the last one falls off the end
        targets = inputs[1:]
    if mode == "overlapping":
        starts = range(0, L - T + 1)
    elif mode == "partial":
        starts = range(0, L, T)
    elif mode == "drops_last":
        starts = range(0, L - T, T)
    elif mode == "one_less":
        starts = range(0, (L // T - 1) * T, T)
    else:
        starts = range(0, L - T + 1, T)
    out = [(inputs[s:s + T], targets[s:s + T] if targets is not None else None) for s in starts]
    if mode == "batch_major":
        out = [(x.T, y.T if y is not None else None) for x, y in out]
    return out


BATCH_BUGS = {
    "interleaved": "the streams are interleaved: stream b must be the b-th *contiguous* slice of the text, so "
                   "that the state at the end of one batch is the right start for the next.",
    "unshifted": "the targets are the inputs: the target at each position is the *next* id.",
    "overlapping": "the windows overlap: window j of a stream starts where window j-1 ended (steps of T).",
    "partial": "the last, partial window is kept: keep only full windows of T steps (L//T of them); the "
               "L mod T ids left at the end of each stream are dropped.",
    "drops_last": "the last full window is missing: there are L//T windows, starting at 0, T, ..., "
                  "(L//T - 1)·T, i.e. range(0, L - T + 1, T); range(0, L - T, T) misses the last one "
                  "when T divides L.",
    "one_less": "one window too few: there are L//T full windows (the last starts at (L//T - 1)·T).",
    "n_over_b": "each stream has L = (N - 1)//B ids, not N//B: one id is kept back as the target of the last "
                "stream's last step (with N//B, when B divides N, the last stream's targets run past the "
                "end of ids).",
    "short_streams": "the streams are one id too short: L = (N - 1)//B, which equals N//B - 1 only when B "
                     "divides N.",
    "targets_from_inputs": "the targets are cut from the (L, B) array of inputs, which ends one id too early: "
                           "the last window's targets fall off its end when T divides L. Cut them from ids: "
                           "stream b's targets are ids[b·L + 1 : b·L + L + 1].",
    "batch_major": "the windows are (B, T), batch-major: make them (T, B), time-major (row t holds step t of "
                   "every stream).",
}

#: Error texts of numpy (raised by the learner's code on a fixed case) and what they point at.
_BATCH_RAISE_CAUSES = (
    ("equal division", "np.split (or np.array_split) into L/T parts needs T to divide L: keep only the first "
                       "(L//T)·T steps of the streams, since the L mod T steps left at the end form no full "
                       "window."),
    ("cannot reshape", "a reshape of all of the ids needs B to divide their number: take exactly B·L ids, "
                       "ids[:B*L] for the inputs and ids[1:B*L + 1] for the targets, with L = (N - 1)//B."),
    ("must have the same shape", "the streams (or their targets) do not all have L ids: every stream has "
                                 "exactly L = (N - 1)//B ids (N//B runs past the end of ids when B divides N; "
                                 "np.array_split makes parts of different lengths)."),
    ("index", "an index runs past the end of ids: each stream has L = (N - 1)//B ids, and the last target "
              "used is ids[B·L]."),
)

#: Probe cases of make_batches: (name, description, if it passes while another case fails, if it fails).
_BATCH_PROBES = (
    ("one stream", "one stream (B = 1)",
     "so the windows and the shift of the targets are right and the split into B streams is at fault: stream "
     "b is ids[b·L : b·L + L] with L = (N - 1)//B, and column b of every window comes from it.",
     ""),
    ("one window", "a single window (T = L)",
     "so the streams and targets are right and the cutting into windows is at fault: window j holds steps "
     "j·T … j·T + T - 1 of every stream, full windows only.",
     ""),
)


def _batch_case(ids, B, T, note="", name="", short=""):
    L = (ids.size - 1) // B
    return {"ids": ids, "B": B, "T": T, "note": note, "name": name, "short": short,
            "sizes": {"N": int(ids.size), "B": B, "T": T, "L": L}}


def _batch_edge_cases() -> list[dict]:
    """Fixed cases, judged on every run: the two boundaries a random draw often misses, and two probes."""
    r = np.random.default_rng(20261207)
    return [
        # N - 1 = B·L exactly and T divides L: the last target is the last id, no step is left over.
        _batch_case(r.permutation(200)[:3 * 12 + 1], 3, 4,
                    "B divides N - 1 and T divides L, so nothing is left over: the last target of the last "
                    "stream is the last id, and there are exactly L//T windows",
                    short="B divides N - 1 and T divides L"),
        # L mod T = 3 (a partial window to drop) and B divides N, so (N - 1)//B = 13 differs from N//B = 14.
        _batch_case(r.permutation(200)[:56], 4, 5,
                    "L = (N - 1)//B = 13 is not a multiple of T = 5: the 3 ids left at the end of each stream "
                    "form no window, and N//B = 14 would run past the end of ids",
                    short="L mod T ≠ 0 and B divides N"),
        # probes: a single stream (no split into streams to get wrong), a single window (no windowing)
        _batch_case(r.permutation(200)[:21], 1, 4, "one stream (B = 1), 20 steps in 5 windows", "one stream"),
        _batch_case(r.permutation(200)[:20], 3, 6, "a single window: T = L = 6", "one window"),
    ]


def _batch_cases(rng) -> list[dict]:
    B, T = int(rng.integers(2, 6)), int(rng.integers(3, 8))
    N = int(B * T * rng.integers(3, 6) + rng.integers(1, 3 * T))
    # distinct ids, so that the judge can tell where each id of the learner's batches comes from
    ids = rng.permutation(10 * N)[:N]
    return [_batch_case(ids, B, T)] + _batch_edge_cases()


def _well_formed(out) -> bool:
    return isinstance(out, (list, tuple)) and all(
        isinstance(p, (tuple, list)) and len(p) == 2 and all(isinstance(a, np.ndarray) for a in p) for p in out)


def _same_batches(out, alt) -> bool:
    """The learner's batches equal a variant's (where the variant's targets are unknown, inputs only)."""
    if alt is None or not _well_formed(out) or len(out) != len(alt):
        return False
    for pair, ref_pair in zip(out, alt):
        for got, ref in zip(pair, ref_pair):
            if ref is None:
                continue
            if got.shape != ref.shape or not np.array_equal(got, ref):
                return False
    return True


#: How numpy fails where a variant runs past the end of ids (the only variant that can).
_RAISES = {"n_over_b": ("same shape", "index", "cannot reshape", "broadcast", "out of bounds")}


def _batch_variant_fits(mode, case, out, raised) -> bool:
    """Variant ``mode`` explains this case: the same batches, or it cannot build them where the learner raised."""
    alt = _batches(case["ids"], case["B"], case["T"], mode)
    ref = _batches(case["ids"], case["B"], case["T"])
    if raised is not None:  # a learner's code with this mistake raises where the variant cannot be built
        return (alt is None or any(y is None for _, y in alt)) and any(k in raised for k in _RAISES.get(mode, ()))
    if _same_batches(out, ref):
        return alt is not None and _same_batches(ref, alt)
    return _same_batches(out, alt)


def _layout(case, out) -> list[str]:
    """What the learner's batches are, read from where each (distinct) id comes from in ``ids``."""
    ids, B, T, L = case["ids"], case["B"], case["T"], case["sizes"]["L"]
    if not _well_formed(out) or not out or len(np.unique(ids)) != ids.size:
        return []
    where = {int(v): i for i, v in enumerate(ids)}

    def pos(a):
        if a.dtype.kind not in "iu":
            return None
        return np.array([where.get(int(v), -1) for v in a.ravel()]).reshape(a.shape)

    pairs = [(pos(x), pos(y)) for x, y in out]
    if any(px is None or py is None or px.ndim != 2 for px, py in pairs):
        return []
    findings = []
    px0, py0 = pairs[0]
    if px0.shape == (B, T) and B != T:
        findings.append(BATCH_BUGS["batch_major"])
        pairs = [(px.T, py.T if py.ndim == 2 else py) for px, py in pairs]
        px0, py0 = pairs[0]
    if (px0 < 0).any():
        findings.append("some inputs are not ids of the sequence at all (padding?): every entry of a window is "
                        "an id from ids.")
        return findings
    if px0.shape[0] > 1:
        steps = np.diff(px0, axis=0)
        if (steps == 1).all() and px0.shape[1] > 1:
            gaps = np.diff(px0[0])
            if (gaps == gaps[0]).all() and gaps[0] != L:
                findings.append(f"stream b starts at ids[b·{gaps[0]}] (stream 1 at ids[{gaps[0]}]): the streams are "
                                f"{gaps[0]} ids apart, but each stream is L = (N - 1)//B = {L} ids long and "
                                f"starts at ids[b·L].")
        elif (steps == px0.shape[1]).all() and px0.shape[1] > 1:
            findings.append(f"consecutive steps of a stream are {px0.shape[1]} ids apart: "
                            + BATCH_BUGS["interleaved"])
    if py0.shape == px0.shape and (py0 >= 0).all():
        shift = py0 - px0
        if (shift == shift.flat[0]).all() and shift.flat[0] != 1:
            k = int(shift.flat[0])
            findings.append(BATCH_BUGS["unshifted"] if k == 0 else
                            f"the targets are {k} ids after the inputs; the target of each position is the next "
                            f"id (1 after).")
    starts = [int(px[0, 0]) for px, _ in pairs if px.size]
    if starts and starts[0] != 0:
        findings.append(f"the first window starts at ids[{starts[0]}]; stream 0 starts at ids[0].")
    if len(starts) > 1:
        d = np.diff(starts)
        if (d == d[0]).all() and d[0] != T:
            findings.append(f"window j starts {d[0]} steps after window j-1; windows follow each other, T = {T} "
                            f"steps apart.")
    n = L // T
    if len(out) != n and not any("windows" in f for f in findings):
        short = [j for j, (px, _) in enumerate(pairs) if px.shape[0] != T]
        if short:
            findings.append(f"window {short[0]} has {pairs[short[0]][0].shape[0]} steps: "
                            + BATCH_BUGS["partial"])
        elif len(out) < n:
            findings.append(f"{n - len(out)} full window(s) missing at the end: there are L//T = {n} windows.")
    return findings


def _is_format(problem: str) -> bool:
    """A problem with the form of a result (its type, dtype or structure), not with its values."""
    return " raised " not in problem[:40] and (" must return " in problem or " must be " in problem)


def _judge_batch_case(case: dict, out) -> str | None:
    """The first problem of the learner's batches on one case (None if they are right)."""
    ids, B, T, sizes = case["ids"], case["B"], case["T"], case["sizes"]
    expected = _batches(ids, B, T)
    if not isinstance(out, (list, tuple)):
        return (f"make_batches must return a list of (inputs, targets) pairs; got "
                f"{getattr(out, 'type_name', type(out).__name__)}.")
    if len(out) != len(expected):
        return f"make_batches returned {len(out)} batches; expected {len(expected)}."
    for j, (pair, (x_ref, y_ref)) in enumerate(zip(out, expected)):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            return f"make_batches: batch {j} must be a pair (inputs, targets)."
        for name, got, ref in (("inputs", pair[0], x_ref), ("targets", pair[1], y_ref)):
            if not isinstance(got, np.ndarray) or got.dtype.kind not in "iu":
                kind = f"dtype {got.dtype}" if isinstance(got, np.ndarray) else getattr(got, "type_name",
                                                                                       type(got).__name__)
                return (f"make_batches: {name} of batch {j} must be an integer numpy array; got {kind} "
                        f"(take slices of ids, which are integers).")
            if got.shape != ref.shape:
                return f"make_batches: {name} of batch {j} has shape {got.shape}; expected (T, B) = {ref.shape}."
            if not np.array_equal(got, ref):
                return f"make_batches: {name} of batch {j} are wrong."
    return None


def _case_name(case) -> str:
    if case["name"]:
        return f"the probe case with {case['note']}"
    if case["note"]:
        return f"the fixed case where {case['short']}"
    return "the drawn case"


def _sentences(parts) -> str:
    """Findings joined into sentences (the first stays lower-case: it follows 'Likely cause:')."""
    return " ".join(p if i == 0 else p[:1].upper() + p[1:] for i, p in enumerate(parts)).strip()


def _batch_findings(case, out, raised) -> list[str]:
    """The layout the learner produced (or what the error text points at) on one case."""
    if raised is not None:
        return [text for key, text in _BATCH_RAISE_CAUSES if key in raised][:1]
    return _layout(case, out)


def _judge_batches(cases, records) -> Verdict:
    results = []  # (out, raised, problem)
    for i, case in enumerate(cases):
        outs, raised = _outcome("make_batches", records, i, ["batches"])
        out = outs[0] if outs is not None else None
        results.append((out, raised, raised if raised is not None else _judge_batch_case(case, out)))
    failing = [i for i, (_, _, problem) in enumerate(results) if problem is not None]
    if not failing:
        warning = modified_warning(records, "make_batches", ["ids", "B", "T"])
        if warning:
            return Verdict(False, warning)
        return Verdict(True, f"make_batches correct ({_ctx(cases[0]['sizes'])}, and {len(cases) - 1} fixed "
                             f"cases: B dividing N - 1, L mod T ≠ 0, one stream, one window).")
    # the first failing case that is not a probe (the probes explain, the others are the contract)
    main = next((i for i in failing if not cases[i]["name"]), failing[0])
    case, (out, raised, problem) = cases[main], results[main]
    msg = f"{problem} (On {_case_name(case)}: {_ctx(case['sizes'])}.)"
    # 1. what an error text points at, 2. a classic mistake that explains every case
    cause = None
    if raised is not None and any(key in raised for key, _ in _BATCH_RAISE_CAUSES[:2]):
        pass  # np.split / reshape: the error text says more than any variant
    else:
        cause = next((m for m in BATCH_BUGS
                      if all(_batch_variant_fits(m, c, o, r) for c, (o, r, _) in zip(cases, results))), None)
    others = [i for i in failing if i != main and not cases[i]["name"]]
    if _is_format(problem):  # not a list of integer (T, B) pairs: nothing to read the layout from
        return Verdict(False, msg)
    if cause is not None:
        msg += f" Likely cause: {BATCH_BUGS[cause]}"
        if others:
            msg += f" Also wrong on {', '.join(_case_name(cases[i]) for i in others)}."
    else:
        # 3. the layout the learner produced (or the error text), on this case and the other fixed ones
        findings = _batch_findings(case, out, raised)
        if findings:
            msg += " Likely cause: " + _sentences(findings)
        elif case["note"] and not case["name"]:
            msg += f" This case: {case['note']}."
        # 4. the probes
        msg += _probe_text(_BATCH_PROBES, {c["name"]: results[i][2] is None for i, c in enumerate(cases)
                                           if c["name"] and i != main})
        for i in others:
            o, r, p = results[i]
            more = _batch_findings(cases[i], o, r)
            msg += (f"\nAlso wrong on {_case_name(cases[i])} ({_ctx(cases[i]['sizes'])}): {p}"
                    + (f" Likely cause: {_sentences(more)}" if more else ""))
    return Verdict(False, msg + " Each stream has L = (N-1)//B ids; there are L//T full windows.")


MAKE_BATCHES = Check(
    "test_make_batches", "make_batches",
    build=_builder(_batch_cases, lambda c: (c["ids"], c["B"], c["T"])),
    judge=_judge_batches)


# ---------------------------------------------------------------------------
# sample_with_temperature
# ---------------------------------------------------------------------------

def _naive_softmax(a, axis=1):
    with np.errstate(all="ignore"):
        e = np.exp(a)
        return e / e.sum(axis=axis, keepdims=True)


def _sample(logits, temperature, u, mode=None):
    scaled = logits * temperature if mode == "times" else logits / temperature
    if mode == "no_softmax":
        p = scaled
    elif mode == "naive":
        p = _naive_softmax(scaled)
    elif mode == "softmax_axis0":
        with np.errstate(all="ignore"):
            p = np.exp(scaled - scaled.max(axis=0, keepdims=True))
            p = p / p.sum(axis=0, keepdims=True)
    else:
        p = _layers.softmax(scaled)
    with np.errstate(all="ignore"):
        cdf = np.cumsum(p, axis=0 if mode == "cumsum_axis0" else 1)
        if mode == "above":
            idx = (cdf > u[:, None]).sum(1)
        else:
            idx = (cdf <= u[:, None]).sum(1) if mode == "le" else (cdf < u[:, None]).sum(1)
    return np.minimum(idx, logits.shape[1] - 1)


OVERFLOW = ("the softmax overflows: exp(logits / temperature) is inf for logits near 1000 at a low temperature, "
            "and inf / inf is NaN. Subtract each row's maximum before exp (softmax(o) = softmax(o - max o), "
            "as rnnkit's softmax does).")
SAMPLE_BUGS = {
    "naive": OVERFLOW,
    "times": "the logits are multiplied by the temperature; divide them: softmax(logits / T).",
    "no_softmax": "the scaled logits are used as probabilities; apply the softmax first.",
    "softmax_axis0": "the softmax is taken over the batch axis (axis 0); each row is one distribution over "
                     "the K classes: normalise over axis 1.",
    "cumsum_axis0": "the cumulative sum runs over the batch axis (axis 0); the cumulative probabilities of "
                    "row b run over its K classes: np.cumsum(p, axis=1).",
    "above": "the count is of the classes whose cumulative probability is *above* u; the chosen class is the "
             "number of classes whose cumulative probability is below u.",
    "argmax": "this is the argmax; sampling draws a class at random with the softmax probabilities.",
}

#: Probe cases of sample_with_temperature (built by ``_sample_probes``): what is at fault, from which of
#: them are right, as (right at temperature 1, right on equal logits) -> text. Equal logits in a row have
#: probability 1/K whatever the temperature, so that probe isolates the inverse-CDF draw; temperature 1
#: isolates the softmax from the temperature.
_SAMPLE_PROBE_TABLE = {
    (False, False): "Wrong also on the probe case with equal logits in each row, where every class has "
                    "probability 1/K at any temperature: the inverse-CDF draw itself is at fault. With one "
                    "u = rng.random(B), row b's class is the number of classes whose cumulative probability is "
                    "below u[b] (capped at K - 1).",
    (False, True): "Right on the probe case with equal logits in each row (so the inverse-CDF draw is right) but "
                   "wrong on the probe case at temperature 1: the probabilities are at fault. They are the "
                   "softmax of each row of logits, over its K classes.",
    (True, False): "Right on the probe case at temperature 1, wrong on equal logits at temperature 0.5: the "
                   "temperature is applied wrongly. It divides the logits, softmax(logits / temperature), which "
                   "leaves equal logits equal.",
    (True, True): "Right on the probe cases at temperature 1 and with equal logits in each row: the temperature "
                  "is applied wrongly. The probabilities are softmax(logits / temperature).",
}


def _sample_probe_text(passed: dict) -> str:
    """The probe table's conclusion (``passed``: probe name -> right)."""
    key = (passed.get("temperature 1"), passed.get("flat"))
    return " " + _SAMPLE_PROBE_TABLE[key] if key in _SAMPLE_PROBE_TABLE else ""


def _sample_case(logits, temperature, draw_seed, note="", name=""):
    B, K = logits.shape
    return {"logits": logits, "temperature": float(temperature), "draw_seed": int(draw_seed), "B": B, "K": K,
            "sizes": {"B": B, "K": K}, "note": note, "name": name}


def _sample_edge_case() -> dict:
    """Large logits at a low temperature: exp(o / T) overflows unless the row maximum is subtracted first.

    The spread (0.1) is small next to the offset (1000), so at T = 0.05 the scaled logits are
    20000 ± about 2: a proper distribution over the classes, not an argmax."""
    r = np.random.default_rng(20261208)
    B, K = 256, 6
    return _sample_case(1000.0 + 0.1 * r.standard_normal((B, K)), 0.05, int(r.integers(0, 2**32)),
                        "logits near 1000 at temperature 0.05, where exp(logits / temperature) overflows unless the "
                        "row maximum is subtracted first")


def _sample_probes() -> list[dict]:
    """Fixed probe cases: temperature 1 (no temperature to get wrong); equal logits in each row
    (probability 1/K whatever the softmax or temperature do right or wrong, as long as they are row-wise)."""
    r = np.random.default_rng(20261210)
    B, K = 300, 5
    return [_sample_case(2.0 * r.standard_normal((B, K)), 1.0, int(r.integers(0, 2**32)),
                         "temperature 1", "temperature 1"),
            _sample_case(np.repeat(r.uniform(-2, 2, size=(B, 1)), K, axis=1), 0.5, int(r.integers(0, 2**32)),
                         "equal logits in each row", "flat")]


def _sample_cases(rng) -> list[dict]:
    B, K = int(rng.integers(200, 400)), int(rng.integers(3, 8))
    logits = 2.0 * rng.standard_normal((B, K))
    cases = [_sample_case(logits, t, int(rng.integers(0, 2**32)))
             for t in (float(rng.uniform(0.3, 0.7)), float(rng.uniform(1.5, 3.0)))]
    # the fixed case with large logits last: when only it fails, the function is right on ordinary logits
    return cases + _sample_probes() + [_sample_edge_case()]


def _draws_text(draws, B) -> str:
    if draws is None:
        return ""
    sizes = [int(d) for d in draws]
    if not sizes:
        return (" rng.random was never called: draw the uniforms with one call u = rng.random(B) and pick, "
                "for each row, the number of classes whose cumulative probability is below u.")
    if sizes != [B]:
        calls = "once" if len(sizes) == 1 else f"{len(sizes)} times"
        shown = sizes if len(sizes) <= 4 else f"[{', '.join(map(str, sizes[:3]))}, ...] ({sum(sizes)} in all)"
        return (f" rng.random was called {calls}, drawing {shown} numbers: the contract is exactly one call "
                f"u = rng.random(B) = rng.random({B}), one uniform per row.")
    return ""


def _recorded_draws(records, index):
    obj = records[index]["objects"].get("2") if index < len(records) else None
    draws = obj.get("draws") if isinstance(obj, dict) else None
    if isinstance(draws, np.ndarray) and draws.ndim == 1 and draws.dtype.kind in "iu":
        return draws
    return None


def _sample_truth(case, mode=None):
    u = np.random.default_rng(case["draw_seed"]).random(case["B"])
    return _sample(case["logits"], case["temperature"], u, mode)


def _sample_problem(case: dict, out) -> str | None:
    """What is wrong with one call's result (None if right)."""
    B, K = case["B"], case["K"]
    if not isinstance(out, np.ndarray) or out.dtype.kind not in "iu" or out.shape != (B,):
        return ("sample_with_temperature must return an integer array of shape (B,) "
                f"= ({B},); got {getattr(out, 'type_name', type(out).__name__)}"
                + (f" {out.dtype} {out.shape}" if isinstance(out, np.ndarray) else "") + ".")
    expected = _sample_truth(case)
    if np.array_equal(out, expected):
        return None
    return f"sample_with_temperature: {int((out != expected).sum())} of {B} draws differ."


def _sample_variant_fits(mode, case, out, raised) -> bool:
    expected = _sample_truth(case)
    if mode == "argmax":
        alt = case["logits"].argmax(1)
    else:
        alt = _sample_truth(case, mode)
    if raised is not None:  # NaN probabilities make many ways of drawing raise (rng.choice, a while loop...)
        return mode == "naive" and bool(case["note"]) and not case["name"]
    if not isinstance(out, np.ndarray) or out.shape != alt.shape:
        return False
    if np.array_equal(out, expected):
        return np.array_equal(alt, expected)
    return np.array_equal(out, alt)


def _where(case) -> str:
    c = case
    text = f"B={c['B']}, K={c['K']}, temperature {c['temperature']:.2f}"
    if c["name"]:
        return text + f" (the probe case with {c['note']})"
    return text + (" (a fixed case)" if c["note"] else "")


def _judge_samples(cases, records) -> Verdict:
    results = []
    for i, case in enumerate(cases):
        outs, raised = _outcome("sample_with_temperature", records, i, ["draws"])
        out = outs[0] if outs is not None else None
        results.append((out, raised, raised if raised is not None else _sample_problem(case, out)))
    failing = [i for i, (_, _, p) in enumerate(results) if p is not None]
    if not failing:
        for i, case in enumerate(cases):
            draws = _recorded_draws(records, i)
            if draws is not None and draws.size and [int(d) for d in draws] != [case["B"]]:
                extra = " Extra draws shift every later sample of a generation." if draws.sum() > case["B"] else ""
                return Verdict(False, "sample_with_temperature returns the right classes, but"
                               + _draws_text(draws, case["B"]) + extra)
        warning = modified_warning(records, "sample_with_temperature", ["logits", "temperature", "rng"])
        if warning:
            return Verdict(False, warning)
        c = cases[0]
        return Verdict(True, f"sample_with_temperature correct at two temperatures (B={c['B']}, K={c['K']}), "
                             "at temperature 1, on equal logits, and on large logits at a low temperature.")
    ordinary = [i for i in failing if not cases[i]["note"]]
    main = ordinary[0] if ordinary else failing[0]
    case, (out, raised, problem) = cases[main], results[main]
    msg = f"{problem} ({_where(case)}.)"
    # 1. a classic mistake that explains every case (or else this one)
    cause = next((m for m in SAMPLE_BUGS
                  if all(_sample_variant_fits(m, c, o, r) for c, (o, r, _) in zip(cases, results))), None)
    if cause is not None:
        return Verdict(False, f"{msg} Likely cause: {SAMPLE_BUGS[cause]}")
    if _is_format(problem):
        return Verdict(False, msg)
    hint = _draws_text(_recorded_draws(records, main), case["B"])
    if hint:
        return Verdict(False, msg + hint)
    if not ordinary:  # right on ordinary logits, at temperature 1 and on flat rows: only the large logits fail
        only_large = all(bool(cases[i]["note"]) and not cases[i]["name"] for i in failing)
        if only_large:
            return Verdict(False, f"{msg} The same function is right on ordinary logits; this case has "
                                  f"{case['note']}. Likely cause: {OVERFLOW}")
    probes = _sample_probe_text({c["name"]: results[i][2] is None for i, c in enumerate(cases) if c["name"]})
    return Verdict(False, msg + (probes or " Draw u = rng.random(B) once and return, for each row, the number of "
                                           "classes whose cumulative probability is below u."))


SAMPLE = Check(
    "test_sample_with_temperature", "sample_with_temperature",
    build=_builder(_sample_cases, lambda c: (c["logits"], c["temperature"], special("generator", seed=c["draw_seed"]))),
    judge=_judge_samples)


# ---------------------------------------------------------------------------
# train_step
# ---------------------------------------------------------------------------

#: The change of each parameter (its step) must agree with the reference's to this relative error. Far
#: looser than the float64 rounding of the same operations (~1e-15), so that the ε = 1e-6 some code adds
#: to the norm (torch's clip_grad_norm_ does) is accepted down to ‖g‖ = 0.01; every mistake below changes
#: the step by a percent or more.
STEP_TOL = 1e-4

NOT_CLIPPED = ("the gradients are not clipped (or only after the update, into new arrays, which is too late): "
               "when their global norm ‖g‖ exceeds max_norm, rescale all of them together by max_norm / ‖g‖, "
               "then take the step.")
CLIP_AFTER_UPDATE = ("the gradients are clipped after the update: the parameters moved with the raw gradients "
                     "(the gradient dict holds clipped values only at the end). Clip first, then take the step.")
UPHILL = "the update goes uphill: gradient descent subtracts lr × gradient."
STATE_IGNORED = ("the given state is ignored: the batch continues the previous one, so start from it — "
                 "model.loss_and_grads(X, Y, state, return_state=True).")
PER_ARRAY = "each gradient is clipped on its own; clip by the global norm over all of them."
ALWAYS_RESCALED = ("the gradients are rescaled although their global norm is below max_norm: scale them by "
                   "max_norm / ‖g‖ only when ‖g‖ > max_norm (a factor min(1, max_norm / ‖g‖)).")
INVERTED = ("the clipping condition is inverted: the gradients are rescaled when ‖g‖ is below max_norm and "
            "left alone when it is above. The factor is min(1, max_norm / ‖g‖).")
CLIP_STEP = ("the step lr × g is clipped instead of the gradient g: the factor is min(1, max_norm / ‖g‖) with "
             "‖g‖ the norm of the gradients; then multiply by lr.")
NO_SQRT = "the global norm lacks its square root: ‖g‖ = sqrt(Σ over all arrays of Σ g²)."
SUM_OF_NORMS = ("the global norm is the sum of the arrays' norms; it is the norm of all entries together, "
                "sqrt(Σₖ ‖gₖ‖²).")
CLIP_VALUE = ("the gradients are clipped elementwise to [-max_norm, max_norm]; clip by the global norm: one "
              "factor min(1, max_norm / ‖g‖) for all of them.")
LR_IGNORED = "lr is not used: the step is lr × (clipped gradient)."
CLIP_PARAMS = ("the parameters are clipped instead of the gradients: max_norm bounds the global norm of the "
               "gradients, before the step; the parameters are not rescaled.")
LOSS_ZERO = ("the loss comes from a pass that starts from zeros: return the loss of "
             "model.loss_and_grads(X, Y, state, ...), from the given state.")
LOSS_AFTER = ("the loss is computed after the update: return the loss that loss_and_grads gave before the "
              "step.")
STATE_INPUT = ("new_state is the state given as input: return the final state of this batch "
               "(loss_and_grads(..., return_state=True)).")
STATE_ZEROS = ("new_state is a fresh zero state: return the final state of this batch "
               "(loss_and_grads(..., return_state=True)), so the next batch continues from it.")
STATE_FROM_ZERO = ("new_state is the final state of a pass that starts from zeros, not from the given state "
                   "(the same mistake as above if the gradients ignore the state too).")
STATE_AFTER = ("new_state comes from a forward pass after the update: return the final state that "
               "loss_and_grads gave with the loss and gradients, before the step.")
SWAPPED = "train_step returns (new_state, loss); the order is (loss, new_state)."


def _model(D, H, K, params):
    from ..models import HiddenToHiddenRNN  # imported here: the other checks do not need the models
    model = HiddenToHiddenRNN(D, H, K, rng=np.random.default_rng(0))
    model.params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    return model


def _norm(grads) -> float:
    return float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))


def _train_case(rng, sizes, clip: float, note: str = "", name: str = "", zero_state: bool = False) -> dict:
    """Inputs of one training step; ``clip`` = max_norm / ‖g‖ (below 1: clipping is active)."""
    from ..models import HiddenToHiddenRNN
    T, B, D, H = (sizes[k] for k in "TBDH")
    K = D  # a language model predicts the next input symbol
    params = HiddenToHiddenRNN(D, H, K, rng=np.random.default_rng(int(rng.integers(0, 2**32)))).params
    ids = rng.integers(0, K, size=(T + 1, B))
    X, Y = np.eye(K)[ids[:-1]], ids[1:]
    state = np.zeros((B, H)) if zero_state else 0.5 * rng.standard_normal((B, H))
    lr = float(rng.uniform(0.1, 0.5))
    loss, grads, final = _model(D, H, K, params).loss_and_grads(X, Y, state, return_state=True)
    norm = _norm(grads)
    return {"sizes": {"T": T, "B": B, "D": D, "H": H, "K": K}, "params": params, "X": X, "Y": Y, "state": state,
            "lr": lr, "max_norm": clip * norm, "loss": float(loss), "grads": grads, "final": final, "norm": norm,
            "note": note, "name": name}


def _train_cases(rng) -> list[dict]:
    random_case = _train_case(rng, distinct_sizes(rng, "T B D H", 2, 7), 0.5)  # clipping is active
    fixed = [
        _train_case(np.random.default_rng(20261209), {"T": 1, "B": 2, "D": 3, "H": 4}, 1.5,
                    "max_norm is above the global norm of the gradients, so they must not be rescaled"),
        # probes: the state switched off (zeros), and a strong clip (max_norm = 2 % of ‖g‖), where clipping
        # each array alone, clipping lr·g, a norm without its square root... differ from no clipping
        _train_case(np.random.default_rng(20261211), {"T": 4, "B": 3, "D": 5, "H": 2}, 0.5,
                    "a zero initial state (clipping active)", "zero state", zero_state=True),
        _train_case(np.random.default_rng(20261212), {"T": 3, "B": 2, "D": 4, "H": 5}, 0.02,
                    "a strong clip, max_norm = 2 % of ‖g‖", "strong clip"),
    ]
    return [random_case] + fixed


def _train_args(c):
    D, H, K = c["sizes"]["D"], c["sizes"]["H"], c["sizes"]["K"]
    return (special("hidden_to_hidden_rnn", D=D, H=H, K=K, cell="rnn", params=c["params"], watch=True),
            c["X"], c["Y"], c["state"], c["lr"], c["max_norm"])


def _step(params, grads, lr, scale):
    """Parameters after ``params -= lr * scale * grads`` (``scale`` a number or one per array)."""
    return {k: params[k] - lr * (scale[k] if isinstance(scale, dict) else scale) * grads[k] for k in grads}


def _train_variants(case: dict) -> dict:
    """What each classic mistake gives on this case: ``{"params": [(text, outs)], "loss": [...], "new_state": [...]}``.

    Every ``outs`` maps output names to arrays (parameters by name; ``loss``; ``new_state``)."""
    before, grads, lr, max_norm, norm = case["params"], case["grads"], case["lr"], case["max_norm"], case["norm"]
    X, Y, state = case["X"], case["Y"], case["state"]
    D, H, K = (case["sizes"][k] for k in "DHK")
    s = min(1.0, max_norm / norm)
    _, zero_grads, zero_final = _model(D, H, K, before).loss_and_grads(X, Y, return_state=True)
    zero_norm = _norm(zero_grads)
    raw = _step(before, grads, lr, 1.0)
    raw_norm = float(np.sqrt(sum(np.sum(p * p) for p in raw.values())))
    correct = _step(before, grads, lr, s)
    after_loss, _, after_final = _model(D, H, K, correct).loss_and_grads(X, Y, state, return_state=True)
    params = [
        (NOT_CLIPPED, raw),
        (UPHILL, _step(before, grads, lr, -s)),
        (STATE_IGNORED, _step(before, zero_grads, lr, min(1.0, max_norm / zero_norm))),
        (PER_ARRAY, _step(before, grads, lr, {k: min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()})),
        (ALWAYS_RESCALED, _step(before, grads, lr, max_norm / norm)),
        (INVERTED, _step(before, grads, lr, max_norm / norm if norm < max_norm else 1.0)),
        (CLIP_STEP, _step(before, grads, lr, min(1.0, max_norm / (lr * norm)))),
        (NO_SQRT, _step(before, grads, lr, min(1.0, max_norm / norm ** 2))),
        (SUM_OF_NORMS, _step(before, grads, lr, min(1.0, max_norm / sum(np.linalg.norm(g) for g in grads.values())))),
        (CLIP_VALUE, {k: before[k] - lr * np.clip(g, -max_norm, max_norm) for k, g in grads.items()}),
        (LR_IGNORED, _step(before, grads, 1.0, s)),
        (CLIP_PARAMS, {k: p * min(1.0, max_norm / raw_norm) for k, p in raw.items()}),
    ]
    loss = [(LOSS_ZERO, {"loss": np.array(_model(D, H, K, before).loss_and_grads(X, Y)[0])}),
            (LOSS_AFTER, {"loss": np.array(after_loss)})]
    new_state = [(STATE_INPUT, {"new_state": state}), (STATE_ZEROS, {"new_state": np.zeros_like(state)}),
                 (STATE_FROM_ZERO, {"new_state": zero_final}), (STATE_AFTER, {"new_state": after_final})]
    return {"expected": _changes(before, correct), "params": [(t, _changes(before, p)) for t, p in params],
            "loss": loss, "new_state": new_state}


def _changes(before, after) -> dict:
    """The step of each parameter, ``{"ΔWx": after - before, ...}`` (the quantity judged)."""
    return {f"Δ{k}": after[k] - before[k] for k in before}


def _close(got, ref) -> bool:
    """``got`` (a learner's number or array) equals ``ref`` to the precision a variant is matched with."""
    a = _as_array(got)
    return a is not None and a.shape == np.shape(ref) and \
        _max_error(a, np.asarray(ref, dtype=np.float64)) <= BUG_MATCH_TOL


def _low_precision(value) -> str:
    """The dtype of a float result that is not float64 ('' otherwise): reported on every run."""
    dtype = getattr(value, "dtype", None)
    if isinstance(value, (np.ndarray, np.floating)) and dtype is not None and dtype.kind == "f" \
            and dtype != np.float64:
        return str(dtype)
    return ""


def _close_all(a: dict, b: dict) -> bool:
    return all(_close(a[k], b[k]) for k in a)


def _as_array(value):
    """A learner's output as a float64 array if it is a plain real number or array, else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
        return np.asarray(value, dtype=np.float64)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return np.array(float(value))
    return None


def _fits(text: str, group: str, got: dict, variants_per_case, truths) -> bool:
    """Variant ``text`` of ``group`` explains every case: the learner's outputs equal the variant's
    (and are right where the variant is right)."""
    found_wrong = False
    for got_c, variants, truth in zip(got, variants_per_case, truths):
        outs = dict(variants[group])[text]
        if got_c is None:
            return False
        same_as_truth = all(_close(outs[n], truth[n]) for n in outs)
        for n, ref in outs.items():
            if not _close(got_c.get(n), ref):
                return False
        found_wrong = found_wrong or not same_as_truth
    return found_wrong


def _clipped_afterwards(case, calls, params_got) -> bool:
    """The params took the unclipped step while the gradient dict holds clipped values after the call."""
    if not isinstance(calls, list) or not calls or case["max_norm"] >= case["norm"]:
        return False
    raw = _changes(case["params"], _step(case["params"], case["grads"], case["lr"], 1.0))
    if not all(_close(params_got.get(k), v) for k, v in raw.items()):
        return False
    s = min(1.0, case["max_norm"] / case["norm"])
    for call in calls:
        grads = call.get("grads") if isinstance(call, dict) else None
        if isinstance(grads, dict) and all(_close(grads.get(k), s * g) for k, g in case["grads"].items()):
            return True
    return False


def _calls_text(case, calls) -> str:
    """What the recorded calls of model.loss_and_grads add to a diagnosis of the state or the loss."""
    if not isinstance(calls, list):
        return ""
    if not calls:
        return " (model.loss_and_grads was never called.)"
    first = calls[0] if isinstance(calls[0], dict) else {}
    state0 = first.get("state0")
    if state0 is None and case["state"].any():
        return " (model.loss_and_grads was called without a state, so it started from zeros.)"
    if isinstance(state0, np.ndarray) and not state0.any() and case["state"].any():
        return " (model.loss_and_grads was called with a zero state.)"
    return ""


#: Probe table of train_step, read when no classic mistake explains the parameters: (right on the fixed
#: case where no clipping is needed, right on the probe case with a zero state; None: either) -> what is at
#: fault. No clipping needed switches the clipping off; a zero state switches the use of the state off.
_TRAIN_PROBE_TABLE = (
    ((False, None), "Wrong also on the fixed case where no clipping is needed (max_norm above ‖g‖): the step "
                    "itself is at fault, not the clipping. Each array moves by params[name] -= lr * grads[name] "
                    "with the gradients of model.loss_and_grads(X, Y, state), from the given state."),
    ((True, False), "Right on the fixed case where no clipping is needed, wrong wherever the clipping acts: the "
                    "clipping is at fault. ‖g‖ = sqrt(Σ over all arrays of Σ g²), and when ‖g‖ > max_norm every "
                    "gradient is multiplied by max_norm / ‖g‖."),
    ((True, True), "Right where no clipping is needed and on the probe case that starts from a zero state: the "
                   "use of the given state is at fault. The gradients come from "
                   "model.loss_and_grads(X, Y, state, return_state=True)."),
)


def _train_probe_text(passed_noclip: bool, passed_zero: bool) -> str:
    for (noclip, zero), text in _TRAIN_PROBE_TABLE:
        if noclip == passed_noclip and (zero is None or zero == passed_zero):
            return " " + text
    return ""


def _train_outputs(case, out, obj) -> dict:
    """The learner's parameters, loss and new_state on one case (a failure for an unreadable model)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("params"), dict):
        raise _Failure("train_step: model.params must stay a dict of arrays; update its arrays in place "
                       "(params[name] -= lr * clipped[name]).")
    params = obj["params"]
    before = case["params"]
    for k, v in before.items():
        p = params.get(k)
        if not isinstance(p, np.ndarray) or p.dtype != np.float64 or p.shape != v.shape:
            raise _Failure(f"train_step: model.params[{k!r}] must stay a float64 array of shape {v.shape}; got "
                           + (f"{p.dtype} {p.shape}" if isinstance(p, np.ndarray) else
                              getattr(p, "type_name", type(p).__name__)) + ".")
    if all(np.array_equal(params[k], v) for k, v in before.items()):
        raise _Failure("train_step did not change model.params: update the arrays in place "
                       "(params[name] -= lr * clipped[name]).")
    loss, new_state = out
    if isinstance(loss, np.ndarray) and loss.ndim == 2 and _as_array(new_state) is not None \
            and np.ndim(new_state) == 0:
        raise _Failure(SWAPPED)
    got = {f"Δ{k}": np.asarray(params[k], dtype=np.float64) - v for k, v in before.items()}
    got["loss"], got["new_state"] = loss, new_state
    return got


def _judge_train(cases, records) -> Verdict:
    got, raised, calls = [], [], []
    for i, case in enumerate(cases):
        out, error = _outcome("train_step", records, i, ["loss", "new_state"])
        obj = records[i]["objects"].get("0")
        calls.append(obj.get("calls") if isinstance(obj, dict) else None)
        if error is not None:
            got.append(None)
            raised.append(error)
            continue
        try:
            got.append(_train_outputs(case, out, obj))
        except _Failure as f:
            return Verdict(False, f"{f} (On {_train_case_name(case)}.)")
        raised.append(None)
    variants = [_train_variants(c) for c in cases]
    truths = [dict(v["expected"], loss=np.array(c["loss"]), new_state=c["final"]) for v, c in zip(variants, cases)]
    # which part of each case is wrong
    names = [f"Δ{k}" for k in sorted(cases[0]["params"])]
    wrong = []
    for g, t in zip(got, truths):
        if g is None:
            wrong.append({"raised"})
            continue
        bad = set()
        for n in names:
            a = _as_array(g.get(n))
            if a is None or a.shape != t[n].shape or _max_error(a, t[n]) > STEP_TOL:
                bad.add("params")
        for n in ("loss", "new_state"):
            a = _as_array(g.get(n))
            if a is None or a.shape != np.shape(t[n]) or _max_error(a, np.asarray(t[n])) > VALUE_TOL \
                    or _low_precision(g.get(n)):
                bad.add(n)
        wrong.append(bad)
    failing = [i for i, w in enumerate(wrong) if w]
    if not failing:
        warning = modified_warning(records, "train_step", ["model", "X", "Y", "state", "lr", "max_norm"])
        if warning:
            return Verdict(False, warning)
        return Verdict(True, f"train_step correct ({_ctx(cases[0]['sizes'])}, clipping active; and fixed cases: "
                             "no clipping needed, a zero state, a strong clip).")
    main = next((i for i in failing if not cases[i]["name"]), failing[0])
    case = cases[main]
    if raised[main] is not None:
        return Verdict(False, f"{raised[main]}\n(On {_train_case_name(case)}.)")
    # a classic mistake that explains every case, per group of outputs (clipping after the update first:
    # its parameters look unclipped, the recorded gradient dict tells them apart)
    chosen = {}
    if _clipped_afterwards(cases[0], calls[0], got[0]) and all(g is not None for g in got):
        chosen["params"] = CLIP_AFTER_UPDATE
    for group in ("params", "loss", "new_state"):
        if group in chosen or any(g is None for g in got):
            continue
        chosen[group] = next((text for text, _ in variants[main][group]
                              if _fits(text, group, got, variants, truths)), None)
    problems = []
    g, v, t = got[main], variants[main], truths[main]
    ctx = _ctx(case["sizes"], f", lr={case['lr']:.3f}, max_norm={case['max_norm']:.3g}, ‖g‖={case['norm']:.3g}")
    if "params" in wrong[main]:
        # only a mistake that explains every case is named (one that fits this case alone may be
        # contradicted by a probe: clipping lr·g looks like no clipping unless the clip is strong)
        cause = chosen.get("params")
        outs = dict(v["params"]).get(NOT_CLIPPED if cause == CLIP_AFTER_UPDATE else cause)
        verdict = judge("train_step", names, [g[n] for n in names], {n: t[n] for n in names}, tol=STEP_TOL,
                        kind="change of the parameter", compared_with="one clipped SGD step of the reference",
                        variants=[(cause, outs)] if cause else [])
        text = verdict.message
        unchanged = [n[1:] for n in names if not g[n].any()]
        if unchanged:
            text += (f"\n{', '.join(unchanged)} {'was' if len(unchanged) == 1 else 'were'} not updated: every "
                     f"array of model.params takes the step.")
        if "Likely cause:" not in text:
            right = {c["name"] or ("no clipping needed" if c["note"] else ""): "params" not in w
                     for c, w in zip(cases, wrong)}
            text += "\n" + _train_probe_text(right.get("no clipping needed", False),
                                             right.get("zero state", False)).strip()
            text += _calls_text(case, calls[main])
        elif cause == STATE_IGNORED:
            text += _calls_text(case, calls[main])
        elif cause not in (NOT_CLIPPED, CLIP_AFTER_UPDATE) and _close_all(outs, dict(v["params"])[NOT_CLIPPED]):
            telling = [_train_case_name(c) for c, vc in zip(cases, variants)
                       if not _close_all(dict(vc["params"])[cause], dict(vc["params"])[NOT_CLIPPED])]
            if telling:
                text += (f"\n(On this case the mistake looks like no clipping at all; {' and '.join(telling)} "
                         f"tell{'s' if len(telling) == 1 else ''} them apart.)")
        problems.append(text)
    for group in ("loss", "new_state"):
        if group not in wrong[main]:
            continue
        value = g[group]
        if _low_precision(value):
            problems.append(f"train_step: {group} has dtype {_low_precision(value)}; the inputs are float64, so "
                            f"compute and return float64 (look for an .astype or a dtype= argument).")
            continue
        if value is None or isinstance(value, (tuple, list)) or _as_array(value) is None:
            problems.append(f"train_step: {group} must be a {'float' if group == 'loss' else 'numpy array'}; got "
                            f"{getattr(value, 'type_name', type(value).__name__)}."
                            + (" Return the final state of the batch so the next batch can start from it."
                               if group == "new_state" else ""))
            continue
        cause = chosen.get(group)
        verdict = judge("train_step", [group], [value], {group: np.asarray(t[group])}, tol=VALUE_TOL, kind="values",
                        compared_with=("model.loss_and_grads before the update" if group == "loss"
                                       else "the final state of the batch"),
                        variants=[(cause, dict(v[group])[cause])] if cause else [],
                        hints={"loss": "return the loss that model.loss_and_grads(X, Y, state, ...) gives, "
                                       "before the update.",
                               "new_state": "return the final state that model.loss_and_grads(X, Y, state, "
                                            "return_state=True) gives."})
        text = verdict.message
        if cause in (LOSS_AFTER, STATE_AFTER) and isinstance(calls[main], list) and any(
                isinstance(c, dict) and c.get("after_update") for c in calls[main]):
            text += " (model.loss_and_grads was called again after the update.)"
        problems.append(text)
    message = "\n".join(problems) + f"\n(On {_train_case_name(case)}: {ctx}.)"
    others = [_train_case_name(cases[i]) for i in failing if i != main and not cases[i]["name"]]
    if others:
        message += f"\n(Also wrong on {', '.join(others)}.)"
    return Verdict(False, message)


def _train_case_name(case) -> str:
    if case["name"]:
        return f"the probe case with {case['note']}"
    if case["note"]:
        return f"the fixed case where {case['note']}"
    return "the drawn case (clipping active)"


TRAIN_STEP = Check(
    "test_train_step", "train_step",
    build=_builder(_train_cases, _train_args),
    judge=_judge_train)

#: The hidden test cells of a7-char-lm, by grade_id.
CHECKS = {c.grade_id: c for c in (MAKE_BATCHES, TRAIN_STEP, SAMPLE)}


def grade_make_batches(fn, *, rng=None) -> Verdict:
    """Check ``make_batches(ids, B, T) -> list of (inputs (T, B), targets (T, B))``."""
    return MAKE_BATCHES.grade(fn, rng=rng)


def grade_sample_with_temperature(fn, *, rng=None) -> Verdict:
    """Check ``sample_with_temperature(logits, temperature, rng) -> (B,)`` on the same draws as the reference."""
    return SAMPLE.grade(fn, rng=rng)


def grade_train_step(fn, *, rng=None) -> Verdict:
    """Check ``train_step(model, X, Y, state, lr, max_norm) -> (loss, new_state)`` on a fresh model."""
    return TRAIN_STEP.grade(fn, rng=rng)
