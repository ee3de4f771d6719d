r"""a4-gradients-over-time: ``jacobian_to_last(Hs, Ws, t) -> J``, the product of the per-step Jacobians.

:math:`\partial h^{(T)}/\partial h^{(t)} = \prod_{k=T}^{t+1} \operatorname{diag}(1 - h^{(k)2}) W_s` for every
sequence of the batch, ``J`` of shape (B, H, H). The reference is read from :func:`rnnkit.rnn_backward`:
row i of ``J[b]`` is the gradient that reaches :math:`h^{(t)}` from a unit gradient on :math:`h^{(T)}_i`.
"""
from __future__ import annotations

import numpy as np

import rnnkit
from rnnkit.grading.engine import GradedFunction, Mistake, Probe, ProbeRule, distinct_sizes

from .cases import rnn_case


def jacobian_to_last_reference(Hs, Ws, t: int) -> np.ndarray:
    """``J`` (B, H, H) with ``J[b, i, j]`` = ∂h⁽ᵀ⁾ᵢ/∂h⁽ᵗ⁾ⱼ of sequence b, from :func:`rnnkit.rnn_backward` run over
    steps t+1 … T with a unit upstream gradient on one entry of the last state at a time (T, B, H from ``Hs``).
    Only ``Hs`` and ``Ws`` enter the gradient that reaches the first state, so the inputs are zeros."""
    T, B, H = Hs.shape
    if t == T:
        return np.broadcast_to(np.eye(H), (B, H, H)).copy()
    cache = rnnkit.RNNCache(np.zeros((T - t, B, 1)), np.zeros((B, H)), Hs[t:], np.zeros((H, 1)), Ws)
    J = np.empty((B, H, H))
    for i in range(H):
        upstream = np.zeros((T - t, B, H))
        upstream[-1, :, i] = 1.0
        J[:, i, :] = rnnkit.rnn_backward(upstream, cache, input_grad=False)[1]
    return J


def _product(Hs, Ws, t, mistake=""):
    """The product of the factors from step T down to step t+1 (book numbering), with one mistake or none."""
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    lowest = {"extra-factor": t, "missing-factor": t + 2}.get(mistake, t + 1)
    for k in range(T, max(lowest, 1) - 1, -1):       # Hs[k-1] = h^(k)
        h = Hs[k - 2] if mistake == "state-before-step" and k >= 2 else Hs[k - 1]
        slope = {"no-tanh-prime": np.ones_like(h), "tanh-twice": 1 - np.tanh(h) ** 2,
                 "no-square": 1 - h}.get(mistake, 1 - h ** 2)
        W = Ws.T if mistake == "ws-transposed" else Ws
        factor = W[None] * slope[:, None, :] if mistake == "factor-order" else slope[:, :, None] * W[None]
        J = factor @ J if mistake == "reversed-product" else J @ factor
    return np.transpose(J, (0, 2, 1)) if mistake == "transposed" else J


def _mistake(name, text):
    return Mistake(name, text, lambda c: {"J": _product(c["Hs"], c["Ws"], c["t"], name)})


MISTAKES = (
    _mistake("no-tanh-prime", "tanh′ is missing: each factor is diag(1 − h⁽ᵏ⁾²) Ws, not Ws alone."),
    _mistake("state-before-step", "each factor uses the wrong state in tanh′: ∂h⁽ᵏ⁾/∂h⁽ᵏ⁻¹⁾ = diag(1 − h⁽ᵏ⁾²) Ws, "
                                  "with the state *after* step k."),
    _mistake("tanh-twice", "tanh is applied twice: Hs already holds the states h = tanh(a), so tanh′ = 1 − h², "
                           "not 1 − tanh(h)²."),
    _mistake("no-square", "tanh′ is 1 − h², not 1 − h: the square is missing."),
    _mistake("ws-transposed", "Ws.T appears where Ws belongs: h⁽ᵏ⁾ = tanh(… + Ws h⁽ᵏ⁻¹⁾), so ∂h⁽ᵏ⁾/∂h⁽ᵏ⁻¹⁾ = "
                              "diag(1 − h⁽ᵏ⁾²) Ws."),
    _mistake("factor-order", "the factors of one step are in the wrong order: diag(1 − h⁽ᵏ⁾²) Ws, not "
                             "Ws diag(1 − h⁽ᵏ⁾²)."),
    _mistake("reversed-product", "the product is multiplied in the wrong order: the chain rule gives "
                                 "J⁽ᵀ⁾ J⁽ᵀ⁻¹⁾ … J⁽ᵗ⁺¹⁾, the latest step on the left."),
    _mistake("extra-factor", "one factor too many: the product runs over k = t+1 … T (for t = T it is the "
                             "identity)."),
    _mistake("missing-factor", "one factor too few: the product runs over k = t+1 … T, T − t factors (for "
                               "t = T − 1 it is the single factor diag(1 − h⁽ᵀ⁾²) Ws)."),
    _mistake("transposed", "J is transposed: J[b, i, j] = ∂h⁽ᵀ⁾ᵢ / ∂h⁽ᵗ⁾ⱼ (rows: the last state)."),
    Mistake("one-sequence-for-all", "J is the same for every sequence: each sequence b has its own states, so "
                                    "J[b] = Π diag(1 − Hs[k−1, b]²) Ws uses row b of each state, not one row (or "
                                    "the batch mean) for all.",
            lambda c: {"J": np.broadcast_to(_product(c["Hs"][:, :1], c["Ws"], c["t"]), c["Hs"].shape[1:2]
                                            + c["Ws"].shape).copy()}),
)


def _cases(rng, sizes, ts):
    """One call per t on one drawn sequence batch."""
    case = rnn_case(rng, sizes)
    return [{"sizes": {**sizes, "t": int(t)}, "Hs": case["Hs"], "Ws": case["Ws"], "t": int(t), "rnn": case}
            for t in ts]


def _draw(rng):
    """The initial state (t = 0), one step inside, and t = T (the identity) of one drawn batch."""
    sizes = distinct_sizes(rng, "T B D H", 2, 7)
    return _cases(rng, sizes, sorted({0, int(rng.integers(1, sizes["T"])), sizes["T"]}))


def _edge(seed, sizes, t):
    return lambda: _cases(np.random.default_rng(seed), sizes, (t,))[0]


def _probe(what, t=lambda T: 1, Hs=None, Ws=None, B=None):
    """A probe made from the base batch: ``t(T)`` asked, the states and Ws changed, the batch cut to B."""
    def make(base):
        ws = Ws(base) if Ws else base["Ws"]
        hs = (Hs(base, ws) if Hs else base["Hs"])[:, :B].copy()
        T = hs.shape[0]
        step = t(T)
        return {"sizes": {"T": T, "B": hs.shape[1], "H": hs.shape[2], "t": step}, "Hs": hs, "Ws": ws, "t": step}
    return Probe(what.split(" (")[0], make, what=what)


def _symmetric(base):
    return (base["Ws"] + base["Ws"].T) / 2


def _rerun(base, ws):
    r = base["rnn"]
    return rnnkit.rnn_forward(r["X"], r["h0"], r["Wx"], ws, r["b"])[0]


PROBES = (
    _probe("t = T (no factor: J is the identity)", t=lambda T: T),
    _probe("t = T − 1 (a single factor)", t=lambda T: T - 1),
    _probe("h = 0 (tanh′ = 1, J = Ws^(T−t))", Hs=lambda b, ws: np.zeros_like(b["Hs"])),
    _probe("Ws symmetric", Ws=_symmetric, Hs=_rerun),
    _probe("B = 1", B=1),
    _probe("h = 0 and Ws = 0.5 I (J = 0.5^(T−t) I)", Hs=lambda b, ws: np.zeros_like(b["Hs"]),
           Ws=lambda b: 0.5 * np.eye(b["Ws"].shape[0])),
)

RULES = (
    ProbeRule(wrong=("t = T",), text="the mistake is in the number of factors: one per step k = t+1 … T, none for "
                                     "t = T (where J is the identity)."),
    ProbeRule(wrong=("full", "t = T − 1", "h = 0"), right=("h = 0 and Ws = 0.5 I",),
              text="the mistake is in how the factors are combined: they are matrices multiplied with @ (a matrix "
                   "product), not entry by entry with *."),
    ProbeRule(wrong=("full",), right=("B = 1",), text="the mistake is in the batch: each sequence b has its own "
                                                      "Jacobian J[b], built from its own states Hs[:, b]."),
    ProbeRule(wrong=("full",), right=("Ws symmetric",), text="the mistake is in the orientation of Ws: each factor "
                                                             "is diag(1 − h⁽ᵏ⁾²) Ws (Ws itself, not Ws.T)."),
    ProbeRule(wrong=("full",), right=("h = 0",), text="the mistake is in the tanh′ factor of each step: "
                                                      "diag(1 − h⁽ᵏ⁾²) with h⁽ᵏ⁾ = Hs[k−1], the state after step k, "
                                                      "of the same sequence."),
    ProbeRule(wrong=("full",), right=("t = T − 1",),
              text="the mistake is in the order of the matrix products: J = J⁽ᵀ⁾ J⁽ᵀ⁻¹⁾ … J⁽ᵗ⁺¹⁾ (latest step on "
                   "the left), and diag(1 − h²) on the left of Ws within a step."),
)

JACOBIAN_TO_LAST = GradedFunction(
    grade_id="test_jacobian_to_last", function="jacobian_to_last", arguments=("Hs", "Ws", "t"), returns=("J",),
    args_of=lambda c: (c["Hs"], c["Ws"], c["t"]), draw=_draw,
    reference=lambda c: {"J": jacobian_to_last_reference(c["Hs"], c["Ws"], c["t"])},
    # One step and one sequence (T = B = 1), and a long sequence over which the product vanishes by orders
    # of magnitude (the regime this exercise is about).
    edge_cases=tuple(_edge(seed, sizes, t) for seed, sizes, ts in (
        (20261204, {"T": 1, "B": 1, "D": 2, "H": 3}, (0, 1)), (20261205, {"T": 12, "B": 2, "D": 3, "H": 4}, (0, 6)))
        for t in ts),
    mistakes=MISTAKES, probes=PROBES, rules=RULES,
    probe_base=lambda: _cases(np.random.default_rng(20261208), {"T": 4, "B": 3, "D": 2, "H": 4}, (1,))[0],
    none_right="the mistake is in the product itself, wrong even with h = 0 and Ws = 0.5 I (where J = "
               "0.5^(T−t) I): one factor per step k = t+1 … T, each diag(1 − h⁽ᵏ⁾²) Ws, multiplied with @.",
    dims={"J": "B H H"}, withheld=("rnn_step_backward", "rnn_backward"),
    passed_note="for t = 0, one t inside and t = T, also for T = B = 1 and over 12 steps",
    argument_notes={"Hs": "the next call (the chapter's plot asks for every t) would be built from changed states.",
                    "Ws": "the next call would multiply a changed Ws."})
