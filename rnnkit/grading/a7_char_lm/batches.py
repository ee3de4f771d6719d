"""a7-char-lm: the check of make_batches (its buggy variants, probe cases and judge)."""
from __future__ import annotations

import numpy as np

from .._core import Check, Probe, Verdict, modified_warning
from .common import _builder, _ctx, _outcome, _probe_text


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

#: Probe cases of make_batches (``meaning``: what it says when it passes while another case fails).
_BATCH_PROBES = (
    Probe("one stream", what="one stream (B = 1)",
          meaning="so the windows and the shift of the targets are right and the split into B streams is at "
                  "fault: stream b is ids[b·L : b·L + L] with L = (N - 1)//B, and column b of every window "
                  "comes from it."),
    Probe("one window", what="a single window (T = L)",
          meaning="so the streams and targets are right and the cutting into windows is at fault: window j "
                  "holds steps j·T … j·T + T - 1 of every stream, full windows only."),
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
