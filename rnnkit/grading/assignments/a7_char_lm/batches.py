"""a7-char-lm: ``make_batches(ids, B, T) -> list of (inputs (T, B), targets (T, B))``.

B contiguous streams of L = (N - 1)//B ids; window j of every stream follows window j - 1; the targets are
the inputs shifted one id ahead (as :func:`rnnkit.lm_batches`). The list is read as two integer arrays
(windows, T, B) so that the engine compares it like any output; the ids of a case are distinct, so a wrong
layout is read back from where each id of the learner's windows sits in ``ids``.
"""
from __future__ import annotations

import numpy as np

from rnnkit import lm_batches
from rnnkit.grading.engine import GradedFunction, Mistake, Probe, Problem

#: How a window is read: (inputs, targets), each padded to the largest window with this (no id is negative).
PAD = -1


def _case(ids, B: int, T: int) -> dict:
    return {"ids": ids, "B": B, "T": T, "sizes": {"N": int(ids.size), "B": B, "T": T, "L": (ids.size - 1) // B}}


def _stacked(batches) -> dict:
    """A list of (inputs, targets) as {"inputs": (n, T', B'), "targets": (n, T', B')}, padded with PAD."""
    n = len(batches)
    rows = max([a.shape[0] for pair in batches for a in pair], default=0)
    cols = max([a.shape[1] for pair in batches for a in pair], default=0)
    out = {name: np.full((n, rows, cols), PAD, dtype=np.int64) for name in ("inputs", "targets")}
    for j, pair in enumerate(batches):
        for name, a in zip(("inputs", "targets"), pair):
            out[name][j, :a.shape[0], :a.shape[1]] = a
    return out


def reference(case: dict) -> dict:
    """rnnkit.lm_batches' windows: ``inputs`` and ``targets``, each (windows, T, B) with windows = L//T."""
    return _stacked(lm_batches(case["ids"], case["B"], case["T"]))


def read(case: dict, returned: dict, objects: dict) -> dict:
    """The learner's list of pairs as two stacked arrays (a form problem if it is not a list of integer pairs)."""
    batches = returned["batches"]
    if not isinstance(batches, (list, tuple)):
        raise Problem(f"the result must be a list of (inputs, targets) pairs; got "
                      f"{getattr(batches, 'type_name', type(batches).__name__)}.")
    for j, pair in enumerate(batches):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise Problem(f"batch {j} must be a pair (inputs, targets).")
        for name, a in zip(("inputs", "targets"), pair):
            if not isinstance(a, np.ndarray) or a.dtype.kind not in "iu" or a.ndim != 2:
                kind = (f"dtype {a.dtype}, {a.ndim} axes" if isinstance(a, np.ndarray)
                        else getattr(a, "type_name", type(a).__name__))
                raise Problem(f"{name} of batch {j} must be a 2-D integer numpy array (T, B); got "
                              f"{kind} (take slices of ids, which are integers).")
    return _stacked(batches)


# ---------------------------------------------------------------------------
# the mistakes
# ---------------------------------------------------------------------------

def _variant(case, L: int, interleaved=False, shift=1, starts=None, targets_from_inputs=False):
    """The batches of a variant with streams of L ids (None where it cannot build them: the learner's code
    with that mistake raises there)."""
    ids, B, T = case["ids"], case["B"], case["T"]
    if L < 1 or B * L + shift > ids.size:
        return None
    if interleaved:  # streams dealt out id by id instead of contiguous slices
        x, y = ids[:L * B].reshape(L, B), ids[shift:L * B + shift].reshape(L, B)
    else:
        x = np.stack([ids[b * L:b * L + L] for b in range(B)], axis=1)
        y = np.stack([ids[b * L + shift:b * L + L + shift] for b in range(B)], axis=1)
    if targets_from_inputs:  # cut from the (L, B) inputs: the last target falls off the end
        y = x[1:]
    starts = range(0, L - T + 1, T) if starts is None else starts(L)
    return _stacked([(x[s:s + T], y[s:s + T]) for s in starts])


def _layout(how):
    """A Mistake's outputs: the batches of ``how(case)`` (nothing where that variant cannot build them)."""
    return lambda case: how(case) or {}


def _L(case) -> int:
    return case["sizes"]["L"]


MISTAKES = (
    Mistake("interleaved", "the streams are interleaved: stream b must be the b-th *contiguous* slice of the "
            "text, so that the state at the end of one batch is the right start for the next.",
            _layout(lambda c: _variant(c, _L(c), interleaved=True))),
    Mistake("unshifted", "the targets are the inputs: the target at each position is the *next* id.",
            _layout(lambda c: _variant(c, _L(c), shift=0))),
    Mistake("overlapping", "the windows overlap: window j of a stream starts where window j-1 ended (steps of T).",
            _layout(lambda c: _variant(c, _L(c), starts=lambda L: range(0, L - c["T"] + 1)))),
    Mistake("partial-window", "the last, partial window is kept: keep only full windows of T steps (L//T of "
            "them); the L mod T ids left at the end of each stream are dropped.",
            _layout(lambda c: _variant(c, _L(c), starts=lambda L: range(0, L, c["T"])))),
    Mistake("last-window-missing", "the last full window is missing: there are L//T windows, starting at 0, T, "
            "..., (L//T - 1)·T, i.e. range(0, L - T + 1, T); range(0, L - T, T) misses the last one when T "
            "divides L.", _layout(lambda c: _variant(c, _L(c), starts=lambda L: range(0, L - c["T"], c["T"])))),
    Mistake("one-window-less", "one window too few: there are L//T full windows (the last starts at "
            "(L//T - 1)·T).",
            _layout(lambda c: _variant(c, _L(c), starts=lambda L: range(0, (L // c["T"] - 1) * c["T"], c["T"])))),
    Mistake("streams-of-N-over-B", "each stream has L = (N - 1)//B ids, not N//B: one id is kept back as the "
            "target of the last stream's last step (with N//B, when B divides N, the last stream's targets run "
            "past the end of ids).", _layout(lambda c: _variant(c, c["ids"].size // c["B"]))),
    Mistake("streams-one-short", "the streams are one id too short: L = (N - 1)//B, which equals N//B - 1 only "
            "when B divides N.", _layout(lambda c: _variant(c, c["ids"].size // c["B"] - 1))),
    Mistake("targets-from-inputs", "the targets are cut from the (L, B) array of inputs, which ends one id too "
            "early: the last window's targets fall off its end when T divides L. Cut them from ids: stream b's "
            "targets are ids[b·L + 1 : b·L + L + 1].",
            _layout(lambda c: _variant(c, _L(c), targets_from_inputs=True))),
    Mistake("batch-major", "the windows are (B, T), batch-major: make them (T, B), time-major (row t holds step "
            "t of every stream).",
            _layout(lambda c: {k: np.swapaxes(v, 1, 2) for k, v in reference(c).items()})),
)

#: What numpy's error text says when the learner's code raises on a fixed case.
ERROR_HINTS = (
    ("equal division", "np.split (or np.array_split) into L/T parts needs T to divide L: keep only the first "
                       "(L//T)·T steps of the streams, since the L mod T steps left at the end form no full "
                       "window."),
    ("cannot reshape", "a reshape of all of the ids needs B to divide their number: take exactly B·L ids, "
                       "ids[:B*L] for the inputs and ids[1:B*L + 1] for the targets, with L = (N - 1)//B."),
    ("must have the same shape", "the streams (or their targets) do not all have L ids: every stream has "
                                 "exactly L = (N - 1)//B ids, not N//B (N//B runs past the end of ids when B "
                                 "divides N; np.array_split makes parts of different lengths)."),
    ("index", "an index runs past the end of ids: each stream has L = (N - 1)//B ids, not N//B, and the last "
              "target used is ids[B·L]."),
)


# ---------------------------------------------------------------------------
# the learner's layout, read from where each (distinct) id of its windows sits in ids
# ---------------------------------------------------------------------------

def explain(cases: list, outputs: list) -> str:
    """The layout of the learner's windows, read on every case where they are wrong: what it says about the
    streams, the targets and the windows (a finding on a later case names that case); windows merely missing
    only when nothing else is found."""
    findings, missing = {}, ""
    for case, got in zip(cases, outputs):
        if got is None or all(np.array_equal(got[k], v) for k, v in reference(case).items()):
            continue
        on = f" (on the case {', '.join(f'{k}={v}' for k, v in case['sizes'].items())})" if findings or missing else ""
        for kind, text in _layout(case, got):
            if kind == "missing":
                missing = missing or text
            elif kind not in findings:
                findings[kind] = text.rstrip(".") + on + "."
    texts = list(findings.values()) or [missing]
    return "".join(t if i == 0 else " Also, " + t for i, t in enumerate(texts))


def _layout(case: dict, got: dict) -> list:
    """``[(kind, finding)]`` read from where each id of the learner's windows sits in ids (each id of a case is
    distinct): the positions of window 0's inputs and targets, and where each window starts."""
    where = {int(v): i for i, v in enumerate(case["ids"])}
    x, y = got["inputs"], got["targets"]
    if not x.shape[0] or x.shape[1:] != y.shape[1:]:
        return []
    px, py = (np.vectorize(lambda v: where.get(int(v), PAD), otypes=[np.int64])(a) for a in (x, y))
    if (px[0] < 0).any():
        return [("ids", "some inputs are not ids of the sequence at all (padding?): every entry of a window is an "
                        "id from ids.")]
    found = [_streams(px[0], case["sizes"]["L"]), _shift(px[0], py[0]), _windows(px[:, 0, 0], case["T"],
                                                                                 case["sizes"]["L"])]
    return [f for f in found if f is not None]


def _streams(p0, L: int):
    """How far apart the streams of the first window start (they start L ids apart), or how far apart its steps
    are (1 id apart)."""
    steps, gaps = np.diff(p0, axis=0), np.diff(p0[0])
    if not steps.size or not gaps.size:
        return None
    if (steps == 1).all() and (gaps == gaps[0]).all() and gaps[0] != L:
        return ("streams", f"stream b starts at ids[b·{gaps[0]}] (stream 1 at ids[{gaps[0]}]): the streams are "
                           f"{gaps[0]} ids apart, but each stream is L = (N - 1)//B = {L} ids long and starts at "
                           f"ids[b·L].")
    if (steps == p0.shape[1]).all():
        return ("streams", f"consecutive steps of a stream are {p0.shape[1]} ids apart: " + MISTAKES[0].text)
    return None


def _shift(p0, q0):
    """How far the first window's targets are from its inputs (1 id ahead)."""
    shift = q0 - p0
    if (q0 >= 0).all() and (shift == shift.flat[0]).all() and shift.flat[0] != 1:
        return ("targets", f"the targets are {int(shift.flat[0])} ids after the inputs; the target of each position "
                           f"is the next id (1 after).")
    return None


def _windows(starts, T: int, L: int):
    """Where the windows start (0, T, 2T, ...: L//T of them)."""
    d = np.diff(starts)
    if starts[0] != 0:
        return ("first window", f"the first window starts at ids[{starts[0]}]; stream 0 starts at ids[0].")
    if d.size and (d == d[0]).all() and d[0] != T:
        return ("windows", f"window j starts {d[0]} steps after window j-1; windows follow each other, T = {T} "
                           f"steps apart.")
    if len(starts) < L // T:
        return ("missing", f"{L // T - len(starts)} full window(s) missing at the end: there are L//T = {L // T} "
                           f"windows.")
    return None


# ---------------------------------------------------------------------------
# the cases
# ---------------------------------------------------------------------------

def draw(rng) -> dict:
    """B in 2..5 streams, windows of T in 3..7 steps, N = B·T·k + r ids with k in 3..5 and r in 1..3T - 1; the N
    ids are distinct (a permutation), so the layout of wrong windows can be read back."""
    B, T = int(rng.integers(2, 6)), int(rng.integers(3, 8))
    N = int(B * T * rng.integers(3, 6) + rng.integers(1, 3 * T))
    return _case(rng.permutation(10 * N)[:N], B, T)  # distinct ids: the layout can be read back


def _exact() -> dict:
    """N - 1 = B·L exactly and T divides L: the last target is the last id, and no step is left over."""
    return _case(np.random.default_rng(20261207).permutation(200)[:3 * 12 + 1], 3, 4)


def _left_over() -> dict:
    """L = (N - 1)//B = 13 is not a multiple of T = 5 (3 ids per stream form no window), and B divides N, so
    N//B = 14 would run past the end of ids."""
    return _case(np.random.default_rng(20261215).permutation(200)[:56], 4, 5)


def _probe_base() -> dict:
    return _case(np.random.default_rng(20261216).permutation(200)[:41], 2, 4)


PROBES = (
    Probe("one stream", lambda c: _case(c["ids"][:21], 1, 4), what="one stream (B = 1), 20 steps in 5 windows",
          meaning="so the windows and the shift of the targets are right and the split into B streams is at "
                  "fault: stream b is ids[b·L : b·L + L] with L = (N - 1)//B, and column b of every window "
                  "comes from it."),
    Probe("one window", lambda c: _case(c["ids"][:20], 3, 6), what="a single window (T = L = 6)",
          meaning="so the streams and targets are right and the cutting into windows is at fault: window j "
                  "holds steps j·T … j·T + T - 1 of every stream, full windows only."),
)

MAKE_BATCHES = GradedFunction(
    grade_id="test_make_batches", function="make_batches",
    arguments=("ids", "B", "T"), returns=("batches",),
    args_of=lambda c: (c["ids"], c["B"], c["T"]),
    draw=draw, reference=reference, read=read, explain=explain, kind="exact",
    edge_cases=(_exact, _left_over), mistakes=MISTAKES, mistakes_on="every case",
    probes=PROBES, probe_base=_probe_base, error_hints=ERROR_HINTS,
    passed_note="also where B divides N - 1, where L mod T ≠ 0, for one stream and for one window",
    none_right="Each stream has L = (N-1)//B ids; there are L//T full windows.",
    dims={"inputs": "windows T B", "targets": "windows T B"},
    argument_notes={"ids": "the caller cuts the same corpus again (every epoch, and for validation), so every "
                           "later batch changes."},
    aliases_allowed=("batches",),  # the windows are slices of ids, as in rnnkit.lm_batches
    withheld=("lm_batches",),
)
