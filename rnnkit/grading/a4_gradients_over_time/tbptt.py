"""a4-gradients-over-time: the check of tbptt_backward (chunk layouts, buggy variants, probe cases)."""
from __future__ import annotations

import numpy as np

from ... import layers as _ref
from .._core import (GRAD_TOL, Check, LargeCase, Probe, Verdict, diagnosed, distinct_sizes, judge, modified_warning,
                     numerical_gradients, returned)
from .common import _ctx, _each, _probe_context, _rnn_inputs, _split


# ---------------------------------------------------------------------------
# truncated BPTT
# ---------------------------------------------------------------------------

def _starts(T, k, mode=None):
    """First steps (0-based) of the chunks: [0, k, 2k, …] (or a mistaken layout)."""
    if mode == "full":
        return [0]
    if mode == "aligned_end":
        return sorted({max(0, s) for s in range(T - k, -k, -k)})
    if mode == "k_plus_one":
        return list(range(0, T, k + 1))
    return list(range(0, T, k))


def _chunks(T, k):
    s = _starts(T, k)
    return list(zip(s, s[1:] + [T]))


def _bptt(X, h0, Hs, Wx, Ws, dHs, starts, bug=None):
    """BPTT whose carried gradient is reset to zero after each chunk start in ``starts`` has been processed
    (so it does not reach step s-1), with one deliberate mistake (``bug``) or none."""
    T = X.shape[0]
    starts = set(starts) | {0}
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    carried = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        if bug == "hs_last_as_h0":
            h_prev = Hs[t - 1]                       # t = 0 reads Hs[-1], the last state
        elif bug == "chunk_h0":
            h_prev = h0 if t in starts else Hs[t - 1]
        else:
            h_prev = Hs[t - 1] if t > 0 else h0
        dh = dHs[t] + carried
        d = dh if bug == "no_tanh_prime" else dh * (1 - Hs[t] ** 2)
        dX[t] = d @ Wx
        dWx += d.T @ X[t]
        dWs += d.T @ (Hs[t] if bug == "h_for_h_prev" else h_prev)
        db += d.sum(0)
        if t in starts:
            carried = np.zeros_like(h0)
        elif bug == "carry_skips_tanh":
            carried = dh @ Ws
        elif bug == "carry_ws_t":
            carried = d @ Ws.T
        else:
            carried = d @ Ws
    return {"dX": dX, "dWx": dWx, "dWs": dWs, "db": db}


#: Classic mistakes: (chunk layout mode, bug in the loop) -> diagnosis.
TBPTT_BUGS = {
    ("full", None): "the gradient crosses the chunk borders: in truncated BPTT the gradient carried backwards is "
                    "reset to zero at the start of every chunk of k steps.",
    ("aligned_end", None): "the chunks start at the wrong place: they are [0, k), [k, 2k), … counted from the "
                           "first step.",
    ("k_plus_one", None): "the chunks are one step too long: each holds k steps.",
    (None, "hs_last_as_h0"): "dWs at the first step uses Hs[-1] (Python's index −1 is the *last* state) where "
                             "h⁽⁰⁾ = h0 belongs: h_prev = Hs[t−1] only for t > 0 (0-based t).",
    (None, "chunk_h0"): "each chunk's first step uses h0 as its previous state in dWs: the forward pass is not cut, "
                        "so a chunk starting at step s starts from Hs[s−1] (h0 only for the first chunk).",
    (None, "no_tanh_prime"): "the tanh′ factor is missing: δ⁽ᵗ⁾ = (dHs[t] + carried) ⊙ (1 − h⁽ᵗ⁾²).",
    (None, "h_for_h_prev"): "dWs uses h⁽ᵗ⁾ where h⁽ᵗ⁻¹⁾ belongs: dWs = Σₜ δ⁽ᵗ⁾ᵀ @ h⁽ᵗ⁻¹⁾ (Hs[t−1], h0 at t=1).",
}

TBPTT_TERMS = {
    "borders": "where the carried gradient is reset: to zero once the first step s of each chunk [s, s+k) has "
               "been processed, so nothing reaches step s−1 (chunks counted from the first step).",
    "carry": "the gradient carried inside a chunk: carried = δ⁽ᵗ⁾ @ Ws with δ⁽ᵗ⁾ = (dHs[t] + carried) ⊙ "
             "(1 − h⁽ᵗ⁾²), passed from step t to step t−1.",
    "dhs": "the upstream gradient: dHs[t] enters at every step t, not only at the end of a chunk.",
    "h0": "the state before the first step: dWs gets δ⁽¹⁾ᵀ @ h0 at t = 1.",
    "batch": "the sum over the batch: the loss is a sum over sequences, so the gradients are sums (no mean).",
    "step": "the gradient of one step: δ⁽ᵗ⁾ = dh ⊙ (1 − h⁽ᵗ⁾²), dX[t] = δ⁽ᵗ⁾ @ Wx, dWx += δᵀ @ x⁽ᵗ⁾, "
            "dWs += δᵀ @ h⁽ᵗ⁻¹⁾, db += Σ_batch δ.",
}

#: Probe cases (spec: k and the change made to a fixed case with T=7, B=2, D=3, H=4).
TBPTT_PROBES = (
    Probe("k = 1 (nothing carried)", frozenset({"borders", "carry"}), {"k": 1}),
    Probe("k > T (one chunk: full BPTT)", frozenset({"borders"}), {"k": 9}),
    Probe("dHs only at the last step", frozenset({"dhs"}), {"k": 4, "edit": "dhs_last"}),
    Probe("h0 = 0", frozenset({"h0"}), {"k": 3, "edit": "h0_zero"}),
    Probe("B = 1", frozenset({"batch"}), {"k": 3, "B": 1}),
)


def _tbptt_case(r, sizes, k, probe=None, edit=None):
    X, h0, Wx, Ws, b = _rnn_inputs(r, sizes)
    dHs = r.standard_normal((sizes["T"], sizes["B"], sizes["H"]))
    if edit == "dhs_last":
        dHs[:-1] = 0.0
    if edit == "h0_zero":
        h0 = np.zeros_like(h0)
    Hs, _ = _ref.rnn_forward(X, h0, Wx, Ws, b)
    case = {"sizes": sizes, "k": int(k), "X": X, "h0": h0, "Wx": Wx, "Ws": Ws, "b": b, "dHs": dHs, "Hs": Hs}
    if probe:
        case["probe"] = probe
    return case


def _tbptt_probes():
    sizes = {"T": 7, "B": 2, "D": 3, "H": 4}
    return [_tbptt_case(np.random.default_rng(20261211 + i), {**sizes, "B": p.spec.get("B", sizes["B"])},
                        p.spec["k"], probe=p.name, edit=p.spec.get("edit")) for i, p in enumerate(TBPTT_PROBES)]


def _build_tbptt(rng):
    sizes = distinct_sizes(rng, "B D H", 2, 6)
    k = int(rng.integers(2, 4))
    sizes = {"T": int(k * rng.integers(2, 4) + rng.integers(1, k)), **sizes}   # T not a multiple of k
    cases = [_tbptt_case(rng, sizes, k)]
    # Fixed edge cases, judged on every run: T mod k = 0, 1 and 2 (k = 3, 3, 4), so that every mistaken
    # chunk layout shows, and is told apart from the others, whatever the random draw; k = 1 and k > T
    # are probe cases.
    r = np.random.default_rng(20261207)
    cases += [_tbptt_case(r, {"T": 6, "B": 2, "D": 3, "H": 4}, 3),
              _tbptt_case(r, {"T": 7, "B": 3, "D": 2, "H": 5}, 3),
              _tbptt_case(r, {"T": 10, "B": 1, "D": 4, "H": 3}, 4)]
    cases += _tbptt_probes()
    return [(c["dHs"], (c["X"], c["h0"], c["Hs"], c["Wx"], c["Ws"]), c["k"]) for c in cases], cases


def _chunks_text(starts, T) -> str:
    return ", ".join(f"[{s}, {e})" for s, e in zip(starts, list(starts[1:]) + [T]))


def _inferred_starts(case, dX):
    """The chunk starts a learner's loop used, read back from its dX; None if no layout explains it.

    Going backwards from the last step, dX[t] = δ⁽ᵗ⁾ @ Wx with δ⁽ᵗ⁾ = (dHs[t] + carried) ⊙ (1 − h⁽ᵗ⁾²):
    either the gradient from step t+1 arrived (same chunk) or it did not (step t+1 starts a chunk).
    """
    X, Hs, Wx, Ws, dHs = case["X"], case["Hs"], case["Wx"], case["Ws"], case["dHs"]
    if not isinstance(dX, np.ndarray) or dX.shape != X.shape or dX.dtype.kind not in "fiu":
        return None
    dX = np.asarray(dX, dtype=np.float64)
    T = X.shape[0]
    truth = _bptt(X, case["h0"], Hs, Wx, Ws, dHs, _starts(T, case["k"]))["dX"]
    tol = 1e-6 * max(float(np.abs(truth).max()), 1e-12)
    starts, carried = [], np.zeros_like(case["h0"])
    for t in range(T - 1, -1, -1):
        options = [(False, carried)] + ([(True, np.zeros_like(carried))] if t < T - 1 else [])
        for cut, c in options:
            d = (dHs[t] + c) * (1 - Hs[t] ** 2)
            if float(np.abs(d @ Wx - dX[t]).max()) <= tol:
                break
        else:
            return None
        if cut:
            starts.append(t + 1)
        carried = d @ Ws
    return sorted({0, *starts})


def _layout(case, dX) -> tuple[str, int]:
    """What the learner's chunk borders are, when they differ from the right ones: (text, number of
    known layouts it matches); ('', 0) when dX is right or no layout explains it."""
    T, k = case["sizes"]["T"], case["k"]
    got = _inferred_starts(case, dX)
    want = _starts(T, k)
    if got is None or got == want:
        return "", 0
    names = []
    if got == [0]:
        names.append("no border at all (the gradient crosses every chunk border)")
    elif got == list(range(T)):
        names.append("a reset at every step (nothing is carried, as for k = 1)")
    if got == _starts(T, k, "aligned_end"):
        names.append("chunks counted from the end of the sequence; count them from the first step")
    if got == _starts(T, k, "k_plus_one"):
        names.append("chunks of k+1 steps")
    if k > 2 and got == _starts(T, k - 1):
        names.append("chunks of k−1 steps")
    if got == sorted({0, *(s + 1 for s in want)} - {T}):
        names.append("every chunk starts one step late, at s+1 instead of s = 0, k, 2k, …: the carried gradient "
                     "is reset before step s is processed (so step s gets nothing from step s+1); reset it after "
                     "step s, so that nothing reaches step s−1")
    if got == sorted({0, *(s - 1 for s in want[1:])}):
        names.append("every chunk starts one step early, at s−1 instead of s = k, 2k, …: reset the carried "
                     "gradient after processing step s (t % k == 0), not after step s−1")
    text = (f"Read back from dX, your loop cuts the gradient into chunks {_chunks_text(got, T)} (0-based); with "
            f"k={k} they are {_chunks_text(want, T)}")
    text += (": " + "; or ".join(names) + "." if names else ". " + TBPTT_TERMS["borders"][0].upper()
             + TBPTT_TERMS["borders"][1:])
    return text, len(names)


def _judge_tbptt_case(case: dict, grads) -> tuple[Verdict, int]:
    """Judge ``(dX, dWx, dWs, db)`` against central differences of the truncated objective; also how many
    known chunk layouts the learner's dX matches (0 if none or if its layout is right)."""
    X, h0, Wx, Ws, b = (case[n].copy() for n in ("X", "h0", "Wx", "Ws", "b"))
    dHs, Hs, k, sizes = case["dHs"], case["Hs"], case["k"], case["sizes"]
    T = sizes["T"]
    # Ground truth: central differences of Σ_chunks L_chunk, each chunk run from its incoming state held fixed.
    starts = [h0 if s == 0 else Hs[s - 1] for s, _ in _chunks(T, k)]
    Xp = X.copy()

    def loss():  # the recurrence written out (rnnkit.rnn_forward validates its inputs on every call: slow here)
        total = 0.0
        for (s, e), h in zip(_chunks(T, k), starts):
            for t in range(s, e):
                h = np.tanh(Xp[t] @ Wx.T + h @ Ws.T + b)
                total += float(np.sum(h * dHs[t]))
        return total
    num = numerical_gradients(loss, {"dX": Xp, "dWx": Wx, "dWs": Ws, "db": b})
    variants = [(text, _bptt(X, h0, Hs, Wx, Ws, dHs, _starts(T, k, mode), bug))
                for (mode, bug), text in TBPTT_BUGS.items()]
    variants.append(("the gradients are divided by the batch size B: the loss is a sum over the batch, so the "
                     "gradients are sums too.",
                     {n: g / sizes["B"] for n, g in _bptt(X, h0, Hs, Wx, Ws, dHs, _starts(T, k)).items()
                      if n != "dX"}))
    verdict = judge("tbptt_backward", ["dX", "dWx", "dWs", "db"], grads, num, tol=GRAD_TOL, kind="gradients",
                    compared_with="central differences of the truncated objective",
                    dims={"dX": "T B D", "dWx": "H D", "dWs": "H H", "db": "H"}, sizes=sizes, variants=variants,
                    time_axes={"dX": 0},
                    context=_probe_context(case, _ctx(sizes, extra=f", k={k}, T mod k = {T % k}")))
    if verdict.passed:
        return verdict, 0
    layout, n_names = _layout(case, grads[0])
    if not layout:
        return verdict, 0
    # The layout read back from dX explains every output: it goes on the dX line (after a catalogue
    # diagnosis, if any), and the other wrong outputs are "the same as above".
    lines = verdict.message.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("tbptt_backward: dX is wrong: "):
            lines[i] = line + (" " + layout if "Likely cause:" in line else " Likely cause: r" + layout[1:])
        elif " is wrong: " in line and "Likely cause:" not in line:
            lines[i] = line + " Likely cause: the same as above."
    return Verdict(False, "\n".join(lines)), n_names


def _judge_tbptt(cases, records):
    judged = _each(cases, lambda i, c: _judge_tbptt_case(
        c, returned(records, i, "tbptt_backward", ["dX", "dWx", "dWs", "db"])))
    judged = [v if isinstance(v, tuple) else (v, 0) for v in judged]
    main, probes = _split(cases, [v for v, _ in judged])
    # Show first a case whose chunk layout is named unambiguously (for some T mod k, two mistaken
    # layouts coincide; the fixed cases make one of them tell the mistakes apart).
    named = [(n, c["k"]) for c, (_, n) in zip(cases, judged) if not c.get("probe")]
    main = [v for v, _ in sorted(zip(main, named), key=lambda vn: (vn[0].passed, vn[1][0] != 1, -vn[1][1]))]
    first = _ctx(cases[0]["sizes"], extra=f", k={cases[0]['k']}")
    return diagnosed("tbptt_backward", main, probes, probes=TBPTT_PROBES, terms=TBPTT_TERMS,
                     also=[modified_warning(records, "tbptt_backward", ["dHs", "cache", "k"])],
                     passed_text=f"tbptt_backward correct ({first}, and fixed cases with T mod k = 0, 1, 2, "
                                 f"k = 1 and k > T).")


#: The large case (too large for numerical differentiation; book/grading-reference.md): 24,704 parameter and
#: 32,768 input entries, chunks of k = 8.
LARGE_SIZES = {"T": 32, "B": 16, "D": 64, "H": 128, "k": 8}


def _large_tbptt(rng):
    s = LARGE_SIZES
    X, h0 = rng.standard_normal((s["T"], s["B"], s["D"])), 0.5 * rng.standard_normal((s["B"], s["H"]))
    Wx = rng.standard_normal((s["H"], s["D"])) / np.sqrt(s["D"])
    Ws, b = 0.8 * rng.standard_normal((s["H"], s["H"])) / np.sqrt(s["H"]), 0.2 * rng.standard_normal(s["H"])
    dHs = rng.standard_normal((s["T"], s["B"], s["H"]))
    Hs, _ = _ref.rnn_forward(X, h0, Wx, Ws, b)
    exact = _bptt(X, h0, Hs, Wx, Ws, dHs, _starts(s["T"], s["k"]))
    return (dHs, (X, h0, Hs, Wx, Ws), s["k"]), exact, dict(s)


TBPTT_LARGE = LargeCase(_large_tbptt, ("dX", "dWx", "dWs", "db"), ("dX", "dWx", "dWs", "db"),
                        lambda s: s["T"] * s["B"] * s["D"] + s["H"] * (s["D"] + s["H"] + 1))

TBPTT_BACKWARD = Check("test_tbptt_backward", "tbptt_backward", build=_build_tbptt, judge=_judge_tbptt,
                       large=TBPTT_LARGE)
