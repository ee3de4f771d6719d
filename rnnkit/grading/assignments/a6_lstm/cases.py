r"""a6-lstm: the cases every LSTM cell is judged on, the reference passes, and the probe cases.

Conventions of the notebook (and of rnnkit): ``W`` (4H, H+D) acts on the stacked vector
``[h_prev, x]`` (columns ``[:H]`` for the state), its row blocks are the gates in the order
i, f, o, g, and ``b`` is (4H,). The step cache the notebook prescribes is
``(x, h_prev, c_prev, i, f, o, g, c, W)``; the backward cells get caches built here from the
reference forward pass, so each cell is graded independently of the learner's other cells.

One case serves all four functions: ``{"sizes", "X" (T, B, D), "h0", "c0" (B, H), "W", "b",
"dHs" (T, B, H), "dc" (B, H)}``; a step function reads its first step.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from rnnkit import layers
from rnnkit.grading.engine import distinct_sizes, numerical_gradients

#: The gates, in the order of W's row blocks.
GATES = ("i", "f", "o", "g")
GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "o": "output gate o", "g": "candidate g"}
#: The names of the step cache's entries, in the order the notebook prescribes.
CACHE = ("x", "h_prev", "c_prev", "i", "f", "o", "g", "c", "W")
STEP_GRADS = ("dx", "dh_prev", "dc_prev", "dW", "db")
SEQUENCE_GRADS = ("dX", "dh0", "dc0", "dW", "db")
DIMS = {"h": "B H", "c": "B H", "Hs": "T B H", "dx": "B D", "dh_prev": "B H", "dc_prev": "B H",
        "dW": "4H H+D", "db": "4H", "dX": "T B D", "dh0": "B H", "dc0": "B H", "x": "B D", "h_prev": "B H",
        "c_prev": "B H", "W": "4H H+D", "b": "4H", "X": "T B D", "dHs": "T B H", "dh": "B H", "dc": "B H"}


def sigmoid(a):
    """The logistic function, written without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def resized(case: dict) -> dict:
    """``case`` with its ``"sizes"`` read from its arrays (after a probe cut something); a step case keeps
    no T."""
    T, B, D = case["X"].shape
    sizes = {"T": int(T), "B": int(B), "D": int(D), "H": int(case["h0"].shape[1])}
    return {**case, "sizes": {k: v for k, v in sizes.items() if k in case["sizes"]}}


def lstm_case(rng: np.random.Generator, sizes: dict | None = None) -> dict:
    """Fresh inputs: distinct T, B, D, H in 2..7 (unless ``sizes`` are given); gates away from
    saturation, so that σ′ and tanh′ matter."""
    sizes = dict(sizes) if sizes is not None else distinct_sizes(rng, "T B D H", 2, 7)
    T, B, D, H = sizes["T"], sizes["B"], sizes["D"], sizes["H"]
    return {
        "sizes": sizes,
        "X": rng.standard_normal((T, B, D)),
        "h0": 0.5 * rng.standard_normal((B, H)),
        "c0": rng.standard_normal((B, H)),
        "W": rng.standard_normal((4 * H, H + D)) / np.sqrt(H + D),
        "b": 0.2 * rng.standard_normal(4 * H),
        "dHs": rng.standard_normal((T, B, H)),
        "dc": rng.standard_normal((B, H)),
    }


def smallest_case() -> dict:
    """The edge case judged on every run: one step, a batch of one (T = B = 1)."""
    return lstm_case(np.random.default_rng(20261206), sizes={"T": 1, "B": 1, "D": 3, "H": 2})


def typical_case() -> dict:
    """A fixed sequence of typical sizes (T=6, B=2, D=5, H=4), judged on every run; the probes are made
    from it (the sequence cells' from its first three steps)."""
    return lstm_case(np.random.default_rng(20260802))


def short_typical_case() -> dict:
    """The probe base of the sequence cells: the typical case's first three steps."""
    c = typical_case()
    return resized({**c, "X": c["X"][:3], "dHs": c["dHs"][:3]})


def first_step(case: dict) -> dict:
    """The case cut to its first step, what the step cells read (its sizes B, D, H)."""
    sizes = {k: v for k, v in case["sizes"].items() if k != "T"}
    return resized({**case, "X": case["X"][:1], "dHs": case["dHs"][:1], "sizes": sizes})


# ---------------------------------------------------------------------------
# the reference passes (rnnkit's, in the notebook's cache format)
# ---------------------------------------------------------------------------

_MEMO: OrderedDict = OrderedDict()


def memoized(kind: str, case: dict, names: tuple, compute):
    """``compute(case)``, remembered for the last few cases with the same arrays ``names`` (a check asks for the
    same reference passes many times: arguments, oracle, labels, every mistake). The result is shared: callers
    must not write into it."""
    key = (kind,) + tuple((case[n].shape, case[n].tobytes()) for n in names)
    if key not in _MEMO:
        _MEMO[key] = compute(case)
        if len(_MEMO) > 64:
            _MEMO.popitem(last=False)
    _MEMO.move_to_end(key)
    return _MEMO[key]


def chain(case: dict):
    """``h⁽⁰⁾ … h⁽ᵀ⁾``, ``c⁽⁰⁾ … c⁽ᵀ⁾`` and the step caches, exactly as a loop over rnnkit's step computes
    them (bit for bit the arrays a correct loop hands from one step to the next)."""
    return memoized("chain", case, ("X", "h0", "c0", "W", "b"), _chain)


def _chain(case: dict):
    X, h, c, W, b = case["X"], case["h0"], case["c0"], case["W"], case["b"]
    hs, cs, caches = [h], [c], []
    H = h.shape[1]
    for t in range(X.shape[0]):
        h_new, c_new, cache = layers.lstm_step_forward(X[t], h, c, W, b)
        i, f, o, g = (cache.gates[:, k * H:(k + 1) * H].copy() for k in range(4))
        caches.append((X[t], h, c, i, f, o, g, c_new, W))
        hs.append(h_new)
        cs.append(c_new)
        h, c = h_new, c_new
    return hs, cs, caches


def step_caches(case: dict) -> list:
    """The prescribed step caches ``(x, h_prev, c_prev, i, f, o, g, c, W)`` of every step of ``case``."""
    return chain(case)[2]


def reference_step_backward(dh, dc, cache) -> dict:
    """rnnkit's step backward on a cache in the notebook's format: ``{dx, dh_prev, dc_prev, dW, db}``."""
    x, h_prev, c_prev, i, f, o, g, c, W = cache
    step = layers.LSTMStepCache(np.concatenate([h_prev, x], axis=1), c_prev, np.concatenate([i, f, o, g], axis=1),
                                np.tanh(c), W)
    dc = np.broadcast_to(np.asarray(dc, dtype=np.float64), h_prev.shape)
    return dict(zip(STEP_GRADS, layers.lstm_step_backward(dh, dc, step)))


def backward_calls(case: dict) -> list:
    """The step calls a correct backward loop makes, in order: ``[(t, (dh, dc, cache), outputs)]``."""
    return memoized("backward calls", case, ("X", "h0", "c0", "W", "b", "dHs"), _backward_calls)


def _backward_calls(case: dict) -> list:
    caches = step_caches(case)
    B, H = case["h0"].shape
    dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H))
    calls = []
    for t in range(len(caches) - 1, -1, -1):
        args = (case["dHs"][t] + dh_next, dc_next, caches[t])
        out = reference_step_backward(*args)
        calls.append((t, args, out))
        dh_next, dc_next = out["dh_prev"], out["dc_prev"]
    return calls


def reference_backward(case: dict) -> dict:
    """The exact gradients of ``sum(Hs * dHs)`` (rnnkit's lstm_backward)."""
    _, cache = layers.lstm_forward(case["X"], case["h0"], case["c0"], case["W"], case["b"])
    return dict(zip(SEQUENCE_GRADS, layers.lstm_backward(case["dHs"], cache)))


def numerical_step_backward(case: dict) -> dict:
    """Central differences of ``sum(h * dh) + sum(c * dc)`` for the first step of ``case``."""
    return memoized("numerical step", case, ("X", "h0", "c0", "W", "b", "dHs", "dc"), _numerical_step_backward)


def _numerical_step_backward(case: dict) -> dict:
    x, h_prev, c_prev, W, b = (case[k].copy() for k in ("X", "h0", "c0", "W", "b"))
    x = x[0].copy()
    dh, dc = case["dHs"][0], case["dc"]

    def loss():
        h, c, _ = layers.lstm_step_forward(x, h_prev, c_prev, W, b)
        return float(np.sum(h * dh) + np.sum(c * dc))
    return numerical_gradients(loss, {"dx": x, "dh_prev": h_prev, "dc_prev": c_prev, "dW": W, "db": b})


def numerical_backward(case: dict) -> dict:
    """Central differences of ``sum(Hs * dHs)`` with respect to X, h0, c0, W and b."""
    return memoized("numerical", case, ("X", "h0", "c0", "W", "b", "dHs"), _numerical_backward)


def _numerical_backward(case: dict) -> dict:
    X, h0, c0, W, b = (case[k].copy() for k in ("X", "h0", "c0", "W", "b"))

    def loss():
        return float(np.sum(layers.lstm_forward(X, h0, c0, W, b)[0] * case["dHs"]))
    return numerical_gradients(loss, {"dX": X, "dh0": h0, "dc0": c0, "dW": W, "db": b})


# ---------------------------------------------------------------------------
# probe makers: the fixed case with one part switched off, a gate saturated or pinned
# ---------------------------------------------------------------------------

#: Pre-activation added to saturate a gate (σ(a) = 1 − 1e-13 for a ≥ 30, tanh(a) = 1.0 exactly).
SATURATE = 30.0
#: Pre-activation of a pinned gate: σ gates at 0 (value ½, σ′ = ¼), g at 0.5 (tanh′ = 1 − tanh²(0.5) ≈ 0.79).
PIN_AT = {"i": 0.0, "f": 0.0, "o": 0.0, "g": 0.5}


def zeroed(*names):
    """A probe maker: the arrays ``names`` set to zero."""
    return lambda c: {**c, **{n: np.zeros_like(c[n]) for n in names}}


def batch_of_one(c: dict) -> dict:
    """The case cut to its first sequence (B = 1)."""
    return resized({**c, "X": c["X"][:, :1], "h0": c["h0"][:1], "c0": c["c0"][:1], "dHs": c["dHs"][:, :1],
                    "dc": c["dc"][:1]})


def one_step(c: dict) -> dict:
    """The case cut to its first step (T = 1)."""
    return resized({**c, "X": c["X"][:1], "dHs": c["dHs"][:1]})


def shifted_gate(k: int, by: float):
    """A probe maker: gate ``k``'s bias moved by ``by`` (±SATURATE saturates it)."""
    def make(c):
        H = c["h0"].shape[1]
        b = c["b"].copy()
        b[k * H:(k + 1) * H] += by
        return {**c, "b": b}
    return make


def pinned_gate(k: int, a0: float):
    """A probe maker: gate ``k``'s rows of W zero and its bias ``a0``: its pre-activation is ``a0`` everywhere."""
    def make(c):
        H = c["h0"].shape[1]
        W, b = c["W"].copy(), c["b"].copy()
        W[k * H:(k + 1) * H] = 0.0
        b[k * H:(k + 1) * H] = a0
        return {**c, "W": W, "b": b}
    return make


def no_recurrence(c: dict) -> dict:
    """W[:, :H] = 0: h_prev has no effect on the gates."""
    H = c["h0"].shape[1]
    W = c["W"].copy()
    W[:, :H] = 0.0
    return {**c, "W": W}


def rows(k: int, H: int) -> str:
    """'rows 4..7': gate ``k``'s rows of dW and db."""
    return f"rows {k * H}..{(k + 1) * H - 1}"
