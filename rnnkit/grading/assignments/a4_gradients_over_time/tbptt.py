r"""a4-gradients-over-time: ``tbptt_backward(dHs, cache, k) -> (dX, dWx, dWs, db)``, truncated BPTT.

BPTT with the carried gradient cut at the borders of chunks of ``k`` steps, ``[0, k), [k, 2k), …`` (0-based),
``cache = (X, h0, Hs, Wx, Ws)``. The reference runs :func:`rnnkit.rnn_backward` on each chunk from the state
it starts from; the drawn and edge cases are judged against central differences of the sum of the chunks'
losses. A wrong ``dX`` is read back to the chunk borders the learner's loop really used.
"""
from __future__ import annotations

import numpy as np

import rnnkit
from rnnkit.grading.engine import (GradedFunction, LargeCase, Mistake, Probe, ProbeRule, distinct_sizes,
                                   numerical_gradients)

from .cases import rnn_case

GRADIENTS = ("dX", "dWx", "dWs", "db")


def truncated_bptt(X, h0, Hs, Wx, Ws, dHs, k: int) -> dict:
    """``{"dX", "dWx", "dWs", "db"}`` of truncated BPTT: :func:`rnnkit.rnn_backward` on each chunk ``[s, s+k)``,
    started from ``h0`` (first chunk) or ``Hs[s-1]``, with nothing carried in from the chunk after it."""
    T = X.shape[0]
    out = {"dX": np.zeros_like(X), "dWx": np.zeros_like(Wx), "dWs": np.zeros_like(Ws), "db": np.zeros(Ws.shape[0])}
    for s in range(0, T, k):
        e = min(s + k, T)
        cache = rnnkit.RNNCache(X[s:e], h0 if s == 0 else Hs[s - 1], Hs[s:e], Wx, Ws)
        dX, _, dWx, dWs, db = rnnkit.rnn_backward(dHs[s:e], cache)
        out["dX"][s:e] = dX
        out["dWx"], out["dWs"], out["db"] = out["dWx"] + dWx, out["dWs"] + dWs, out["db"] + db
    return out


def _loop(c, resets, mistake=""):
    """A learner's backward loop whose carried gradient is zeroed after step t when ``resets(t)``, with one
    mistake in the step or none (the mistakes' outputs)."""
    X, h0, Hs, Wx, Ws, dHs, k = (c[n] for n in ("X", "h0", "Hs", "Wx", "Ws", "dHs", "k"))
    T = X.shape[0]
    dX, dWx, dWs, db = np.zeros_like(X), np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    carried = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        h_prev = Hs[t - 1] if t > 0 else h0
        if mistake == "hs-last-as-h0" and t == 0:
            h_prev = Hs[-1]
        elif mistake == "chunk-from-h0" and t % k == 0:
            h_prev = h0
        delta = dHs[t] + carried
        delta = delta if mistake == "no-tanh-prime" else delta * (1 - Hs[t] ** 2)
        dX[t] = delta @ Wx
        dWx += delta.T @ X[t]
        dWs += delta.T @ (Hs[t] if mistake == "h-for-h-prev" else h_prev)
        db += delta.sum(0)
        carried = np.zeros_like(h0) if resets(t) else delta @ Ws
    return {"dX": dX, "dWx": dWx, "dWs": dWs, "db": db}


def _right(c):
    return lambda t: t % c["k"] == 0


#: Chunk layouts a loop may really use: (name, what is wrong, reset after step t?).
LAYOUTS = (
    ("no-truncation", "the gradient crosses the chunk borders (no border at all): in truncated BPTT the gradient "
                      "carried backwards is reset to zero at the start of every chunk of k steps.",
     lambda t, k, T: False),
    ("every-step", "a reset at every step (nothing is carried, as for k = 1).", lambda t, k, T: True),
    ("chunks-from-end", "the chunks start at the wrong place: they are [0, k), [k, 2k), … counted from the first "
                        "step, not from the end of the sequence.", lambda t, k, T: (T - t) % k == 0),
    ("chunks-of-k-plus-one", "the chunks are one step too long: each holds k steps, not k+1.",
     lambda t, k, T: t % (k + 1) == 0),
    ("chunks-of-k-minus-one", "chunks of k−1 steps: each holds k steps.", lambda t, k, T: t % max(k - 1, 1) == 0),
    ("reset-one-step-late", "every chunk starts one step late, at s+1 instead of s = 0, k, 2k, …: the carried "
                            "gradient is reset before step s is processed (so step s gets nothing from step s+1); "
                            "reset it after step s, so that nothing reaches step s−1.",
     lambda t, k, T: t >= 1 and (t - 1) % k == 0),
    ("reset-one-step-early", "every chunk starts one step early, at s−1 instead of s = k, 2k, …: reset the carried "
                             "gradient after processing step s (t % k == 0), not after step s−1.",
     lambda t, k, T: (t + 1) % k == 0),
)


def _layout_starts(resets, T, k) -> list:
    """The chunk starts of a loop that resets the carried gradient after step t when ``resets(t, k, T)``."""
    return sorted({0, *(t for t in range(1, T) if resets(t, k, T))})


def _layout(name, text, resets):
    return lambda c: Mistake(
        name, f"{text} On the case T={c['sizes']['T']}, k={c['k']} that loop cuts the gradient into chunks "
              f"{_chunks(_layout_starts(resets, c['sizes']['T'], c['k']), c['sizes']['T'])} (0-based); they are "
              f"{_chunks(list(range(0, c['sizes']['T'], c['k'])), c['sizes']['T'])}.",
        lambda c: _loop(c, lambda t: resets(t, c["k"], c["sizes"]["T"])))


def _step_mistake(name, text):
    return Mistake(name, text, lambda c: _loop(c, _right(c), name))


STEP_MISTAKES = (
    _step_mistake("hs-last-as-h0", "dWs at the first step uses Hs[-1] (Python's index −1 is the *last* state) where "
                                   "h⁽⁰⁾ = h0 belongs: h_prev = Hs[t−1] only for t > 0 (0-based t)."),
    _step_mistake("chunk-from-h0", "each chunk's first step uses h0 as its previous state in dWs: the forward pass is "
                                   "not cut, so a chunk starting at step s starts from Hs[s−1] (h0 only for the first "
                                   "chunk)."),
    _step_mistake("no-tanh-prime", "the tanh′ factor is missing: δ⁽ᵗ⁾ = (dHs[t] + carried) ⊙ (1 − h⁽ᵗ⁾²)."),
    _step_mistake("h-for-h-prev", "dWs uses h⁽ᵗ⁾ where h⁽ᵗ⁻¹⁾ belongs: dWs = Σₜ δ⁽ᵗ⁾ᵀ @ h⁽ᵗ⁻¹⁾ (Hs[t−1], h0 at "
                                  "t=1)."),
    Mistake("batch-mean", "the gradients are divided by the batch size B: the loss is a sum over the batch, so the "
                          "gradients are sums too.",
            lambda c: {n: g / c["sizes"]["B"] for n, g in _loop(c, _right(c)).items() if n != "dX"}),
)


LAYOUT_MISTAKES = tuple(_layout(*layout) for layout in LAYOUTS)


def _mistakes(c) -> list:
    """The chunk layouts (their texts name this case's chunks), then the mistakes inside a step."""
    return [layout(c) for layout in LAYOUT_MISTAKES] + list(STEP_MISTAKES)


def _chunks(starts, T) -> str:
    return ", ".join(f"[{s}, {e})" for s, e in zip(starts, list(starts[1:]) + [T]))


def _starts(c, dX):
    """The chunk starts the learner's loop used, read back from its dX (None if no layout explains it): going
    backwards, dX[t] = δ⁽ᵗ⁾ @ Wx with δ⁽ᵗ⁾ = (dHs[t] + carried) ⊙ (1 − h⁽ᵗ⁾²), the gradient from step t+1
    either arrived (same chunk) or not (step t+1 starts a chunk)."""
    X, Hs, Wx, Ws, dHs = c["X"], c["Hs"], c["Wx"], c["Ws"], c["dHs"]
    if not isinstance(dX, np.ndarray) or dX.shape != X.shape or dX.dtype.kind not in "fiu":
        return None
    dX = np.asarray(dX, dtype=np.float64)
    tol = 1e-6 * max(float(np.abs(truncated_bptt(X, c["h0"], Hs, Wx, Ws, dHs, c["k"])["dX"]).max()), 1e-12)
    starts, carried = [], np.zeros_like(c["h0"])
    for t in range(X.shape[0] - 1, -1, -1):
        for cut in (False, True) if t < X.shape[0] - 1 else (False,):
            delta = (dHs[t] + (0 if cut else carried)) * (1 - Hs[t] ** 2)
            if float(np.abs(delta @ Wx - dX[t]).max()) <= tol:
                break
        else:
            return None
        starts += [t + 1] if cut else []
        carried = delta @ Ws
    return sorted({0, *starts})


def _read_back(cases, outputs) -> str:
    """'read back from dX on the case T=…, k=…, your loop cuts the gradient into chunks …' for the first case
    whose chunk borders are not k apart ('' if every dX has them right or no chunk borders explain it)."""
    for c, got in zip(cases, outputs):
        T, k = c["sizes"]["T"], c["k"]
        starts, want = _starts(c, (got or {}).get("dX")), list(range(0, T, k))
        if starts is None or starts == want:
            continue
        names = [text.rstrip(".") for _, text, resets in LAYOUTS if _layout_starts(resets, T, k) == starts]
        return (f"read back from dX on the case T={T}, k={k}, your loop cuts the gradient into chunks "
                f"{_chunks(starts, T)} (0-based); with k={k} they are {_chunks(want, T)}: "
                + ("; or ".join(names) if names else BORDERS) + ".")
    return ""


BORDERS = ("the carried gradient is reset to zero once the first step s of each chunk [s, s+k) has been processed, so "
           "nothing reaches step s−1 (chunks counted from the first step)")


def _case(rng, sizes, k):
    case = rnn_case(rng, sizes)
    case.update(k=int(k), dHs=rng.standard_normal((sizes["T"], sizes["B"], sizes["H"])))
    case["sizes"]["k"] = int(k)
    return case


def _draw(rng):
    sizes = distinct_sizes(rng, "B D H", 2, 6)
    k = int(rng.integers(2, 4))
    return _case(rng, {"T": int(k * rng.integers(2, 4) + rng.integers(1, k)), **sizes}, k)   # T not a multiple of k


def _numerical(c):
    """Central differences of Σ_chunks L_chunk, each chunk run from its incoming state held fixed."""
    X, Wx, Ws, b = (c[n].copy() for n in ("X", "Wx", "Ws", "b"))
    T, k = c["sizes"]["T"], c["k"]

    def loss():   # the recurrence written out (rnnkit.rnn_forward validates its inputs on every call: slow here)
        total = 0.0
        for s in range(0, T, k):
            h = c["h0"] if s == 0 else c["Hs"][s - 1]
            for t in range(s, min(s + k, T)):
                h = np.tanh(X[t] @ Wx.T + h @ Ws.T + b)
                total += float(np.sum(h * c["dHs"][t]))
        return total
    return numerical_gradients(loss, {"dX": X, "dWx": Wx, "dWs": Ws, "db": b})


def _probe(what, k, change=None):
    def make(base):
        c = change(dict(base)) if change else dict(base)
        c.update(k=k, sizes={**c["sizes"], "k": k})
        return c
    return Probe(what.split(" (")[0], make, what=what)


def _dhs_last(c):
    c["dHs"] = np.concatenate([np.zeros_like(c["dHs"][:-1]), c["dHs"][-1:]])
    return c


def _h0_zero(c):
    c["h0"] = np.zeros_like(c["h0"])
    c["Hs"] = rnnkit.rnn_forward(c["X"], c["h0"], c["Wx"], c["Ws"], c["b"])[0]
    return c


def _one_sequence(c):
    c.update({n: c[n][:, :1] for n in ("X", "Hs", "dHs")}, h0=c["h0"][:1])
    c["sizes"] = {**c["sizes"], "B": 1}
    return c


def _large(rng):
    """Too large for central differences (24,704 parameter and 32,768 input entries), chunks of k = 8."""
    s = {"T": 32, "B": 16, "D": 64, "H": 128, "k": 8}
    X, h0 = rng.standard_normal((s["T"], s["B"], s["D"])), 0.5 * rng.standard_normal((s["B"], s["H"]))
    Wx = rng.standard_normal((s["H"], s["D"])) / np.sqrt(s["D"])
    Ws, b = 0.8 * rng.standard_normal((s["H"], s["H"])) / np.sqrt(s["H"]), 0.2 * rng.standard_normal(s["H"])
    dHs = rng.standard_normal((s["T"], s["B"], s["H"]))
    Hs, _ = rnnkit.rnn_forward(X, h0, Wx, Ws, b)
    return (dHs, (X, h0, Hs, Wx, Ws), s["k"]), truncated_bptt(X, h0, Hs, Wx, Ws, dHs, s["k"]), s


TBPTT_BACKWARD = GradedFunction(
    grade_id="test_tbptt_backward", function="tbptt_backward", arguments=("dHs", "cache", "k"), returns=GRADIENTS,
    args_of=lambda c: (c["dHs"], (c["X"], c["h0"], c["Hs"], c["Wx"], c["Ws"]), c["k"]), draw=_draw,
    reference=lambda c: truncated_bptt(c["X"], c["h0"], c["Hs"], c["Wx"], c["Ws"], c["dHs"], c["k"]),
    kind="gradients", numerical=_numerical,
    # T mod k = 0, 1 and 2 (k = 3, 3, 4): every mistaken chunk layout shows, and is told apart from the
    # others, whatever the random draw; k = 1 and k > T are probe cases.
    edge_cases=(lambda: _case(np.random.default_rng(20261207), {"T": 6, "B": 2, "D": 3, "H": 4}, 3),
                lambda: _case(np.random.default_rng(20261217), {"T": 7, "B": 3, "D": 2, "H": 5}, 3),
                lambda: _case(np.random.default_rng(20261227), {"T": 10, "B": 1, "D": 4, "H": 3}, 4)),
    mistakes=_mistakes, mistakes_on="every case", explain=_read_back,
    probes=(_probe("k = 1 (nothing carried)", 1), _probe("k > T (one chunk: full BPTT)", 9),
            _probe("dHs only at the last step", 4, _dhs_last), _probe("h0 = 0", 3, _h0_zero),
            _probe("B = 1", 3, _one_sequence)),
    probe_base=lambda: _case(np.random.default_rng(20261211), {"T": 7, "B": 2, "D": 3, "H": 4}, 3),
    rules=(
        ProbeRule(wrong=("full",), right=("dHs only at the last step",),
                  text="the mistake is in the upstream gradient: dHs[t] enters at every step t, not only at the end "
                       "of a chunk."),
        ProbeRule(wrong=("full",), right=("k > T",), text="the mistake is in where the carried gradient is reset: "
                                                          + BORDERS + "."),
        ProbeRule(wrong=("full",), right=("k = 1",),
                  text="the mistake is in the gradient carried inside a chunk: carried = δ⁽ᵗ⁾ @ Ws with δ⁽ᵗ⁾ = "
                       "(dHs[t] + carried) ⊙ (1 − h⁽ᵗ⁾²), passed from step t to step t−1."),
        ProbeRule(wrong=("full",), right=("h0 = 0",),
                  text="the mistake is in the state before the first step: dWs gets δ⁽¹⁾ᵀ @ h0 at t = 1."),
        ProbeRule(wrong=("full",), right=("B = 1",),
                  text="the mistake is in the sum over the batch: the loss is a sum over sequences, so the gradients "
                       "are sums (no mean)."),
    ),
    none_right="the mistake is in the gradient of one step, wrong on every probe case: δ⁽ᵗ⁾ = dh ⊙ (1 − h⁽ᵗ⁾²), "
               "dX[t] = δ⁽ᵗ⁾ @ Wx, dWx += δᵀ @ x⁽ᵗ⁾, dWs += δᵀ @ h⁽ᵗ⁻¹⁾, db += Σ_batch δ.",
    dims={"dX": "T B D", "dWx": "H D", "dWs": "H H", "db": "H"}, time_axes={"dX": 0},
    passed_note="also for T mod k = 0, 1 and 2, k = 1 and k > T",
    large=LargeCase(_large, GRADIENTS, GRADIENTS, lambda s: s["T"] * s["B"] * s["D"] + s["H"] * (s["D"] + s["H"] + 1)),
    withheld=("rnn_step_forward", "rnn_forward", "rnn_step_backward", "rnn_backward", "tbptt_loss_and_grads"),
    argument_notes={"dHs": "the upstream gradients belong to the loss; a second backward pass over them (another k, "
                           "or full BPTT to compare with) would start from changed values.",
                    "cache": "the cache is the forward pass's record; a second backward pass over it would read "
                             "changed arrays."})
