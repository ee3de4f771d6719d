"""a4-gradients-over-time: the check of jacobian_to_last (the reference product, buggy variants,
probe cases and judge)."""
from __future__ import annotations

import numpy as np

from ... import layers as _ref
from .._core import VALUE_TOL, Check, Probe, diagnosed, distinct_sizes, judge, modified_warning, returned
from .common import _ctx, _each, _probe_context, _rnn_inputs, _split


# ---------------------------------------------------------------------------
# Jacobian of the last state with respect to an earlier one
# ---------------------------------------------------------------------------

def _jacobian(Hs, Ws, t, bug=None):
    """The product of per-step Jacobians from step t+1 to T (book numbering), with one mistake or none."""
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    lowest = {"extra_factor": t, "missing_factor": t + 2}.get(bug, t + 1)
    for k in range(T, max(lowest, 1) - 1, -1):       # book steps k = T ... lowest, Hs[k-1] = h^(k)
        h_k = Hs[k - 2] if bug == "h_prev" and k >= 2 else Hs[k - 1]
        if bug == "no_tanh_prime":
            d = np.ones((B, H))
        elif bug == "tanh_twice":
            d = 1 - np.tanh(h_k) ** 2
        elif bug == "no_square":
            d = 1 - h_k
        else:
            d = 1 - h_k ** 2
        W = Ws.T if bug == "ws_t" else Ws
        step = W[None] * d[:, None, :] if bug == "wrong_order" else d[:, :, None] * W[None]
        J = step @ J if bug == "reversed_product" else J @ step
    if bug == "transposed":
        J = np.transpose(J, (0, 2, 1))
    return J


JACOBIAN_BUGS = {
    "no_tanh_prime": "tanh′ is missing: each factor is diag(1 − h⁽ᵏ⁾²) Ws, not Ws alone.",
    "h_prev": "each factor uses the wrong state in tanh′: ∂h⁽ᵏ⁾/∂h⁽ᵏ⁻¹⁾ = diag(1 − h⁽ᵏ⁾²) Ws, with the "
              "state *after* step k.",
    "tanh_twice": "tanh is applied twice: Hs already holds the states h = tanh(a), so tanh′ = 1 − h², "
                  "not 1 − tanh(h)².",
    "no_square": "tanh′ is 1 − h², not 1 − h: the square is missing.",
    "ws_t": "Ws.T appears where Ws belongs: h⁽ᵏ⁾ = tanh(… + Ws h⁽ᵏ⁻¹⁾), so ∂h⁽ᵏ⁾/∂h⁽ᵏ⁻¹⁾ = diag(1 − h⁽ᵏ⁾²) Ws.",
    "wrong_order": "the factors of one step are in the wrong order: diag(1 − h⁽ᵏ⁾²) Ws, not Ws diag(1 − h⁽ᵏ⁾²).",
    "reversed_product": "the product is multiplied in the wrong order: the chain rule gives "
                        "J⁽ᵀ⁾ J⁽ᵀ⁻¹⁾ … J⁽ᵗ⁺¹⁾, the latest step on the left.",
    "extra_factor": "one factor too many: the product runs over k = t+1 … T (for t = T it is the identity).",
    "missing_factor": "one factor too few: the product runs over k = t+1 … T, T − t factors (for t = T − 1 it "
                      "is the single factor diag(1 − h⁽ᵀ⁾²) Ws).",
    "transposed": "J is transposed: J[b, i, j] = ∂h⁽ᵀ⁾ᵢ / ∂h⁽ᵗ⁾ⱼ (rows: the last state).",
}

#: Parts of the Jacobian a mistake can be in (probe_conclusion names them).
JACOBIAN_TERMS = {
    "tanh": "the tanh′ factor of each step: diag(1 − h⁽ᵏ⁾²) with h⁽ᵏ⁾ = Hs[k−1], the state after step k, of "
            "the same sequence.",
    "orient": "the orientation of Ws: each factor is diag(1 − h⁽ᵏ⁾²) Ws (Ws itself, not Ws.T).",
    "order": "the order of the matrix products: J = J⁽ᵀ⁾ J⁽ᵀ⁻¹⁾ … J⁽ᵗ⁺¹⁾ (latest step on the left), and "
             "diag(1 − h²) on the left of Ws within a step.",
    "matmul": "how the factors are combined: they are matrices multiplied with @ (a matrix product), not "
              "entry by entry with *.",
    "batch": "the batch: each sequence b has its own Jacobian J[b], built from its own states Hs[:, b].",
    "count": "the number of factors: one per step k = t+1 … T, none for t = T (where J is the identity).",
}

#: Probe cases (spec: how the fixed sequence batch of _jacobian_probes is changed, and which t is asked).
JACOBIAN_PROBES = (
    Probe("t = T (no factor: J is the identity)", frozenset({"tanh", "orient", "order", "matmul", "batch"}),
          {"t": "T"}),
    Probe("t = T − 1 (a single factor)", frozenset({"order"}), {"t": "T-1"}),
    Probe("h = 0 (tanh′ = 1, J = Ws^(T−t))", frozenset({"tanh", "batch"}), {"Hs": "zeros", "t": 1}),
    Probe("Ws symmetric", frozenset({"orient"}), {"Ws": "symmetric", "t": 1}),
    Probe("B = 1", frozenset({"batch"}), {"B": 1, "t": 1}),
    Probe("h = 0 and Ws = 0.5 I (J = 0.5^(T−t) I)", frozenset({"tanh", "orient", "order", "matmul", "batch"}),
          {"Hs": "zeros", "Ws": "0.5 I", "t": 1}),
)


def numerical_jacobian(X, h_t, Wx, Ws, b, t, eps=1e-6):
    """Central differences of h^(T) with respect to h^(t): rerun steps t+1 … T from a perturbed h^(t)."""
    B, H = h_t.shape

    def last(h):
        for k in range(t, X.shape[0]):
            h = np.tanh(X[k] @ Wx.T + h @ Ws.T + b)
        return h
    J = np.zeros((B, H, H))
    for j in range(H):
        step = np.zeros((B, H))
        step[:, j] = eps          # sequences are independent: perturb column j of every row at once
        J[:, :, j] = (last(h_t + step) - last(h_t - step)) / (2 * eps)
    return J


def _jacobian_case(r, sizes, ts=None):
    X, h0, Wx, Ws, b = _rnn_inputs(r, sizes)
    T = sizes["T"]
    Hs, _ = _ref.rnn_forward(X, h0, Wx, Ws, b)
    if ts is None:  # the initial state, one step inside, and t = T (the identity)
        ts = sorted({0, int(r.integers(1, T)), T})
    return [{"sizes": sizes, "Hs": Hs, "Ws": Ws, "t": int(t)} for t in ts]


def _jacobian_probes():
    """The probe cases of JACOBIAN_PROBES, from one fixed sequence batch (T=4, B=3, H=4)."""
    r = np.random.default_rng(20261208)
    (base,) = _jacobian_case(r, {"T": 4, "B": 3, "D": 2, "H": 4}, ts=(1,))
    Hs, Ws = base["Hs"], base["Ws"]
    T, B, H = Hs.shape
    sym = (Ws + Ws.T) / 2
    states = {"zeros": np.zeros_like(Hs),
              "with symmetric Ws": _ref.rnn_forward(r.standard_normal((T, B, 2)), 0.5 * r.standard_normal((B, H)),
                                                    r.standard_normal((H, 2)), sym, 0.2 * r.standard_normal(H))[0]}
    cases = []
    for probe in JACOBIAN_PROBES:
        spec = probe.spec
        ws = {"symmetric": sym, "0.5 I": 0.5 * np.eye(H)}.get(spec.get("Ws"), Ws)
        hs = states["with symmetric Ws"] if spec.get("Ws") == "symmetric" else states.get(spec.get("Hs"), Hs)
        hs = hs[:, :spec.get("B", B)].copy()
        t = {"T": T, "T-1": T - 1}.get(spec["t"], spec["t"])
        sizes = {"T": hs.shape[0], "B": hs.shape[1], "H": hs.shape[2]}
        cases.append({"sizes": sizes, "Hs": hs, "Ws": ws, "t": int(t), "probe": probe.name})
    return cases


def _build_jacobian(rng):
    cases = _jacobian_case(rng, distinct_sizes(rng, "T B D H", 2, 7))
    # Fixed edge cases, judged on every run: one step and one sequence (T = B = 1), and a long
    # sequence over which the product vanishes by orders of magnitude.
    cases += _jacobian_case(np.random.default_rng(20261204), {"T": 1, "B": 1, "D": 2, "H": 3}, ts=(0, 1))
    cases += _jacobian_case(np.random.default_rng(20261205), {"T": 12, "B": 2, "D": 3, "H": 4}, ts=(0, 6))
    cases += _jacobian_probes()
    return [(c["Hs"], c["Ws"], c["t"]) for c in cases], cases


def _judge_jacobian_one(c, J):
    Hs, Ws, t = c["Hs"], c["Ws"], c["t"]
    # Ground truth: the chain-rule product on the reference states. (Central differences agree
    # with it to ~1e-9 absolute, which is not enough relative accuracy once the product has
    # vanished to 1e-5 — exactly the regime this exercise is about; tests/grading/test_grading_table.py
    # checks the product against numerical_jacobian.)
    expected = _jacobian(Hs, Ws, t)
    variants = [(text, {"J": _jacobian(Hs, Ws, t, bug)}) for bug, text in JACOBIAN_BUGS.items()]
    B = Hs.shape[1]
    if B > 1:  # one sequence's Jacobian (or one built from the batch mean) used for every sequence
        variants.append(("J is the same for every sequence: each sequence b has its own states, so "
                         "J[b] = Π diag(1 − Hs[k−1, b]²) Ws uses row b of each state, not one row (or the "
                         "batch mean) for all.", {"J": np.broadcast_to(expected[0], expected.shape).copy()}))
    return judge("jacobian_to_last", ["J"], [J], {"J": expected}, tol=VALUE_TOL, kind="derivatives",
                 compared_with="the chain-rule product on the reference states", dims={"J": "B H H"},
                 sizes=c["sizes"], variants=variants,
                 context=_probe_context(c, _ctx(c["sizes"], extra=f", t={t}")))


def _judge_jacobian(cases, records):
    verdicts = _each(cases, lambda i, c: _judge_jacobian_one(c, returned(records, i, "jacobian_to_last", ["J"])[0]))
    main, probes = _split(cases, verdicts)
    return diagnosed("jacobian_to_last", main, probes, probes=JACOBIAN_PROBES, terms=JACOBIAN_TERMS,
                     also=[modified_warning(records, "jacobian_to_last", ["Hs", "Ws", "t"])],
                     passed_text=f"jacobian_to_last correct for several t ({_ctx(cases[0]['sizes'])}, and fixed "
                                 f"edge and probe cases).")


JACOBIAN_TO_LAST = Check("test_jacobian_to_last", "jacobian_to_last", build=_build_jacobian, judge=_judge_jacobian)
