r"""Checks for the LSTM exercises (assignment a6-lstm, chapter 8).

Conventions of the notebook (and of rnnkit): ``W`` (4H, H+D) acts on the stacked
vector ``[h_prev, x]`` (columns ``[:H]`` for the state), its row blocks are the gates
in the order i, f, o, g, and ``b`` is (4H,).

The step cache the notebook prescribes is ``(x, h_prev, c_prev, i, f, o, g, c, W)``;
``lstm_forward`` returns the list of the T step caches. The checker builds those
caches itself from the reference forward pass, so each backward cell is graded
independently of the learner's forward cells.

Each hidden test cell is a :class:`~rnnkit.grading.Check` in :data:`CHECKS`: a case builder
that draws fresh inputs in the grading process (plus fixed cases judged on every run), and a
judge that sees only the arrays the learner's function returned on them (``judge_*``).
``grade_*`` run a check in this process, for tests and trusted code.
"""
from __future__ import annotations

import numpy as np

from .. import layers as _ref
from ._core import (GRAD_TOL, VALUE_TOL, Check, Verdict, distinct_sizes, judge, modified_warning,
                    numerical_gradients, returned)

__all__ = [
    "CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD",
    "lstm_case", "lstm_step_caches",
    "judge_lstm_step_forward", "judge_lstm_step_backward", "judge_lstm_forward", "judge_lstm_backward",
    "grade_lstm_step_forward", "grade_lstm_step_backward", "grade_lstm_forward", "grade_lstm_backward",
]

#: What the notebook may import from rnnkit inside the grading sandbox (nothing that computes a graded function).
SANDBOX_EXPORTS = ("numerical_gradient", "sigmoid")
#: rnnkit names that compute (or trivially give) an LSTM step or pass, forward or backward: removed from the
#: sandbox's copy of :mod:`rnnkit.layers`, which ships for ``sigmoid``.
SANDBOX_WITHHELD = ("lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
                    "_lstm_cell", "_lstm_local_grads", "_lstm_step_back", "_LSTMLocalGrads",
                    "LSTMStepCache", "LSTMCache")

_DIMS = {"h": "B H", "c": "B H", "Hs": "T B H", "dx": "B D", "dh_prev": "B H", "dc_prev": "B H",
         "dW": "4H H+D", "db": "4H", "dX": "T B D", "dh0": "B H", "dc0": "B H"}

GATE_ORDER = ("the gate order is wrong: the row blocks of W (and of dW, db) are i, f, o, g — "
              "W[:H] input gate, W[H:2H] forget gate, W[2H:3H] output gate, W[3H:] candidate g.")
STACK_ORDER = ("W acts on [h_prev, x] in that order: its first H columns multiply h_prev, "
               "the last D columns multiply x.")
G_NOT_TANH = "the candidate g must use tanh (the three gates i, f, o use the sigmoid)."
H_NO_TANH = "h = o ⊙ tanh(c): the tanh of the cell state is missing."
NO_FORGET_FWD = "the forget gate is missing from the cell update: c = f ⊙ c_prev + i ⊙ g."
NO_CELL_CARRY = ("the cell-state carry is missing: the gradient dc arriving from step t+1 must be added to "
                 "the one that comes through h (dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c)).")
NO_FORGET_BWD = ("the forget gate is forgotten on the cell path: the gradient passed back to c_prev is "
                 "dc_total ⊙ f, not dc_total.")
NO_SIGMA_PRIME = ("σ′ is missing: the gradients of the pre-activations of i, f and o are multiplied by "
                  "σ′ = s(1 − s), where s is the gate's value.")
NO_TANH_C_PRIME = ("tanh′ of the cell is missing: the gradient from h reaches c as dh ⊙ o ⊙ (1 − tanh²c).")
NO_G_TANH_PRIME = "tanh′ of the candidate is missing: dg is multiplied by (1 − g²) before it reaches W."
C_FOR_C_PREV = "df uses c_t where c_(t−1) belongs: the forget gate multiplies the previous cell state."
NO_H_CARRY = ("the gradient coming back from step t+1 through h is not added, so only the last step is right: "
              "each step receives dHs[t] plus dh_prev from step t+1.")
ONLY_LAST = ("gradients not summed over time: only the last step's contribution is there; W and b are "
             "shared by all steps, so their gradients are sums over t.")
ONLY_FIRST = ("gradients not summed over time: only the contribution of t=1 (the last step a backward loop "
              "visits) survives — use += instead of =.")
TRANSPOSED_DW = "dW is transposed: it has the shape of W, (4H, H+D), computed as δᵀ @ [h_prev, x]."


def _sig(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def lstm_case(rng: np.random.Generator, sizes: dict | None = None) -> dict:
    """Fresh inputs: distinct T, B, D, H (unless ``sizes`` are given); gates away from saturation
    so σ′ and tanh′ matter."""
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


def _context(case: dict, seed) -> str:
    return ", ".join(f"{k}={v}" for k, v in case["sizes"].items()) + (f", seed={seed}" if seed is not None else "")


def _step_forward(x, h_prev, c_prev, W, b, bug=None):
    """One LSTM step written out, with one deliberate mistake or none. Returns h, c, gates tuple."""
    H = h_prev.shape[1]
    z = np.concatenate([x, h_prev] if bug == "stack_order" else [h_prev, x], axis=1)
    a = z @ W.T + b
    blocks = [a[:, k * H:(k + 1) * H] for k in range(4)]
    if bug == "gate_order":  # i, f, g, o (PyTorch's order) read as i, f, o, g
        blocks = [blocks[0], blocks[1], blocks[3], blocks[2]]
    i, f, o = _sig(blocks[0]), _sig(blocks[1]), _sig(blocks[2])
    g = _sig(blocks[3]) if bug == "g_not_tanh" else np.tanh(blocks[3])
    c = (c_prev + i * g) if bug == "no_forget" else f * c_prev + i * g
    h = o * c if bug == "h_no_tanh" else o * np.tanh(c)
    return h, c, (i, f, o, g)


FORWARD_BUGS = {"gate_order": GATE_ORDER, "stack_order": STACK_ORDER, "g_not_tanh": G_NOT_TANH,
                "h_no_tanh": H_NO_TANH, "no_forget": NO_FORGET_FWD}


def _step_backward(dh, dc, x, h_prev, c_prev, i, f, o, g, c, W, bug=None):
    """Gradients of one LSTM step, with one deliberate mistake or none."""
    H = h_prev.shape[1]
    tc = np.tanh(c)
    through_h = dh * o if bug == "no_tanh_c_prime" else dh * o * (1 - tc * tc)
    dct = through_h if bug == "no_cell_carry" else dc + through_h
    di, df, do, dg = dct * g, dct * (c if bug == "c_for_c_prev" else c_prev), dh * tc, dct * i
    if bug == "no_sigma_prime":
        dai, daf, dao = di, df, do
    else:
        dai, daf, dao = di * i * (1 - i), df * f * (1 - f), do * o * (1 - o)
    dag = dg if bug == "no_g_tanh_prime" else dg * (1 - g * g)
    blocks = [dai, daf, dag, dao] if bug == "gate_order" else [dai, daf, dao, dag]
    da = np.concatenate(blocks, axis=1)
    z = np.concatenate([h_prev, x], axis=1)
    dz = da @ W
    dc_prev = dct if bug == "no_forget_bwd" else dct * f
    return {"dx": dz[:, H:], "dh_prev": dz[:, :H], "dc_prev": dc_prev, "dW": da.T @ z, "db": da.sum(0)}


STEP_BACKWARD_BUGS = {"no_cell_carry": NO_CELL_CARRY, "no_forget_bwd": NO_FORGET_BWD,
                      "no_sigma_prime": NO_SIGMA_PRIME, "no_tanh_c_prime": NO_TANH_C_PRIME,
                      "no_g_tanh_prime": NO_G_TANH_PRIME, "c_for_c_prev": C_FOR_C_PREV, "gate_order": GATE_ORDER}


def lstm_step_caches(case: dict) -> tuple[np.ndarray, list[tuple]]:
    """Reference states and the prescribed step caches ``(x, h_prev, c_prev, i, f, o, g, c, W)`` for every t."""
    X, h, c, W, b = case["X"], case["h0"], case["c0"], case["W"], case["b"]
    caches, Hs = [], []
    for t in range(X.shape[0]):
        h_new, c_new, cache = _ref.lstm_step_forward(X[t], h, c, W, b)
        H = h.shape[1]
        gates = cache.gates
        i, f, o, g = (gates[:, k * H:(k + 1) * H].copy() for k in range(4))
        caches.append((X[t], h, c, i, f, o, g, c_new, W))
        Hs.append(h_new)
        h, c = h_new, c_new
    return np.stack(Hs), caches


def judge_lstm_step_forward(case: dict, h, c, seed=None) -> Verdict:
    """Judge ``h, c`` of one step (the first step of ``case``) against the reference."""
    args = (case["X"][0], case["h0"], case["c0"], case["W"], case["b"])
    h_ref, c_ref, _ = _ref.lstm_step_forward(*args)
    variants = []
    for bug, text in FORWARD_BUGS.items():
        hv, cv, _ = _step_forward(*args, bug=bug)
        variants.append((text, {"h": hv, "c": cv}))
    return judge("lstm_step_forward", ["h", "c"], [h, c], {"h": h_ref, "c": c_ref}, tol=VALUE_TOL, kind="values",
                 compared_with="the reference on the same inputs", dims=_DIMS, sizes=case["sizes"],
                 variants=variants, context=_context(case, seed))


def judge_lstm_step_backward(case: dict, grads, seed=None) -> Verdict:
    """Judge ``(dx, dh_prev, dc_prev, dW, db)`` of one step against central differences."""
    x, h_prev, c_prev, W, b = (case[k].copy() for k in ("X", "h0", "c0", "W", "b"))
    x = x[0].copy()
    dh, dc = case["dHs"][0], case["dc"]

    def loss():
        h, c, _ = _ref.lstm_step_forward(x, h_prev, c_prev, W, b)
        return float(np.sum(h * dh) + np.sum(c * dc))
    num = numerical_gradients(loss, {"dx": x, "dh_prev": h_prev, "dc_prev": c_prev, "dW": W, "db": b})
    _, caches = lstm_step_caches({**case, "X": x[None]})
    cache = caches[0]
    variants = [(text, _step_backward(dh, dc, *cache, bug=bug)) for bug, text in STEP_BACKWARD_BUGS.items()]
    good = _step_backward(dh, dc, *cache)
    variants.append((TRANSPOSED_DW, {"dW": good["dW"].T}))
    names = ["dx", "dh_prev", "dc_prev", "dW", "db"]
    return judge("lstm_step_backward", names, grads, num, tol=GRAD_TOL, kind="gradients",
                 compared_with="central differences", dims=_DIMS, sizes=case["sizes"], variants=variants,
                 context=_context(case, seed))


def judge_lstm_forward(case: dict, Hs, seed=None) -> Verdict:
    """Judge the states ``Hs`` (T, B, H) against the reference."""
    ref, _ = _ref.lstm_forward(case["X"], case["h0"], case["c0"], case["W"], case["b"])
    variants = []
    for bug, text in list(FORWARD_BUGS.items()) + [("no_carry_c", "the cell state is not carried: every step "
                                                    "must start from the previous step's c, not from c0.")]:
        h, c, hs = case["h0"], case["c0"], []
        for x in case["X"]:
            h, c_new, _ = _step_forward(x, h, c, case["W"], case["b"], bug=None if bug == "no_carry_c" else bug)
            c = case["c0"] if bug == "no_carry_c" else c_new
            hs.append(h)
        variants.append((text, {"Hs": np.stack(hs)}))
    return judge("lstm_forward", ["Hs"], [Hs], {"Hs": ref}, tol=VALUE_TOL, kind="values",
                 compared_with="the reference on the same inputs", dims=_DIMS, sizes=case["sizes"],
                 variants=variants, time_axes={"Hs": 0}, direction="forward", context=_context(case, seed))


def _sequence_backward(dHs, caches, bug=None):
    """BPTT for the LSTM from step caches, with one deliberate mistake or none."""
    T = len(caches)
    step_bug = bug if bug in STEP_BACKWARD_BUGS and bug != "no_cell_carry" else None
    dh = np.zeros_like(caches[0][1])
    dc = np.zeros_like(caches[0][2])
    dXs, dW, db = [None] * T, np.zeros_like(caches[0][-1]), 0.0
    for t in range(T - 1, -1, -1):
        dh_in = dHs[t] if bug == "no_h_carry" else dHs[t] + dh
        dc_in = np.zeros_like(dc) if bug == "no_cell_carry" else dc
        g = _step_backward(dh_in, dc_in, *caches[t], bug=step_bug)
        dXs[t], dh, dc = g["dx"], g["dh_prev"], g["dc_prev"]
        if bug == "only_last" and t != T - 1:
            continue
        if bug == "only_first":
            dW, db = g["dW"], g["db"]
        else:
            dW, db = dW + g["dW"], db + g["db"]
    return {"dX": np.stack(dXs), "dh0": dh, "dc0": dc, "dW": dW, "db": np.asarray(db)}


SEQUENCE_BUGS = {"no_h_carry": NO_H_CARRY, "no_cell_carry": NO_CELL_CARRY, "only_last": ONLY_LAST,
                 "only_first": ONLY_FIRST} | {k: v for k, v in STEP_BACKWARD_BUGS.items() if k != "no_cell_carry"}

LSTM_BACKWARD_PARTS = {"all": ("dX", "dh0", "dc0", "dW", "db"), "parameters": ("dW", "db"),
                       "inputs": ("dX", "dh0", "dc0")}


def judge_lstm_backward(case: dict, grads, part: str = "all", seed=None) -> Verdict:
    """Judge ``(dX, dh0, dc0, dW, db)`` against central differences of the reference forward pass."""
    X, h0, c0, W, b = (case[k].copy() for k in ("X", "h0", "c0", "W", "b"))
    dHs = case["dHs"]

    def loss():
        return float(np.sum(_ref.lstm_forward(X, h0, c0, W, b)[0] * dHs))
    num = numerical_gradients(loss, {"dX": X, "dh0": h0, "dc0": c0, "dW": W, "db": b})
    _, caches = lstm_step_caches(case)
    variants = [(text, _sequence_backward(dHs, caches, bug)) for bug, text in SEQUENCE_BUGS.items()]
    variants.append((TRANSPOSED_DW, {"dW": _sequence_backward(dHs, caches)["dW"].T}))
    return judge("lstm_backward", list(LSTM_BACKWARD_PARTS["all"]), grads, num, tol=GRAD_TOL, kind="gradients",
                 compared_with="central differences", dims=_DIMS, sizes=case["sizes"], variants=variants,
                 time_axes={"dX": 0}, direction="backward", select=LSTM_BACKWARD_PARTS[part],
                 hints={"dW": "dW = Σₜ δ⁽ᵗ⁾ᵀ @ [h⁽ᵗ⁻¹⁾, x⁽ᵗ⁾], with δ the gradient of the four gate pre-activations.",
                        "dc0": "dc0 is the cell gradient passed back from step t=1 (dc_total ⊙ f)."},
                 context=_context(case, seed))


# ---------------------------------------------------------------------------
# the hidden test cells
# ---------------------------------------------------------------------------

def _fixed_cases() -> list[dict]:
    """Cases judged on every run besides the random draw, so that regrading the same code always covers
    them: the smallest sizes (T = B = 1), and a sequence of typical sizes (T=6, B=2, D=5, H=4)."""
    smallest = lstm_case(np.random.default_rng(20261206), sizes={"T": 1, "B": 1, "D": 3, "H": 2})
    typical = lstm_case(np.random.default_rng(20260802))
    return [smallest, typical]


def _builder(args_of):
    """A case builder: the random case and the fixed cases, and the learner's arguments for each."""
    def build(rng):
        cases = [lstm_case(rng)] + _fixed_cases()
        return [args_of(c) for c in cases], cases
    return build


def _judge_each(cases, records, func, names, arg_names, judge_one) -> Verdict:
    """The first failing case's verdict, else a failure for a modified argument, else the random case's verdict."""
    verdicts = [judge_one(case, returned(records, i, func, names)) for i, case in enumerate(cases)]
    for v in verdicts:
        if not v.passed:
            return v
    warning = modified_warning(records, func, arg_names)
    if warning:
        return Verdict(False, warning)
    return verdicts[0]


def _step_args(c):
    return (c["X"][0], c["h0"], c["c0"], c["W"], c["b"])


def _step_backward_args(c):
    _, caches = lstm_step_caches({**c, "X": c["X"][:1]})
    return (c["dHs"][0], c["dc"], caches[0])


def _sequence_args(c):
    return (c["X"], c["h0"], c["c0"], c["W"], c["b"])


def _backward_args(c):
    return (c["dHs"], lstm_step_caches(c)[1])


STEP_FORWARD = Check(
    "test_lstm_step_forward", "lstm_step_forward",
    build=_builder(_step_args),
    judge=lambda cs, rec: _judge_each(cs, rec, "lstm_step_forward", ["h", "c", "cache"],
                                      ["x", "h_prev", "c_prev", "W", "b"],
                                      lambda c, out: judge_lstm_step_forward(c, out[0], out[1])))

STEP_BACKWARD = Check(
    "test_lstm_step_backward", "lstm_step_backward",
    build=_builder(_step_backward_args),
    judge=lambda cs, rec: _judge_each(cs, rec, "lstm_step_backward", ["dx", "dh_prev", "dc_prev", "dW", "db"],
                                      ["dh", "dc", "cache"], judge_lstm_step_backward))

FORWARD = Check(
    "test_lstm_forward", "lstm_forward",
    build=_builder(_sequence_args),
    judge=lambda cs, rec: _judge_each(cs, rec, "lstm_forward", ["Hs", "caches"], ["X", "h0", "c0", "W", "b"],
                                      lambda c, out: judge_lstm_forward(c, out[0])))


def _backward_check(part: str) -> Check:
    return Check(
        f"test_lstm_backward_{part}", "lstm_backward",
        build=_builder(_backward_args),
        judge=lambda cs, rec: _judge_each(cs, rec, "lstm_backward", list(LSTM_BACKWARD_PARTS["all"]),
                                          ["dHs", "caches"], lambda c, out: judge_lstm_backward(c, out, part)))


#: The hidden test cells of a6-lstm, by grade_id.
CHECKS = {c.grade_id: c for c in (STEP_FORWARD, STEP_BACKWARD, FORWARD, _backward_check("parameters"),
                                  _backward_check("inputs"))}


def grade_lstm_step_forward(fn, *, rng=None) -> Verdict:
    """Check the learner's ``lstm_step_forward(x, h_prev, c_prev, W, b) -> (h, c, cache)`` in this process."""
    return STEP_FORWARD.grade(fn, rng=rng)


def grade_lstm_step_backward(fn, *, rng=None) -> Verdict:
    """Check the learner's ``lstm_step_backward(dh, dc, cache) -> (dx, dh_prev, dc_prev, dW, db)`` in this process.

    ``cache`` is the prescribed step cache ``(x, h_prev, c_prev, i, f, o, g, c, W)``, built by the checker.
    """
    return STEP_BACKWARD.grade(fn, rng=rng)


def grade_lstm_forward(fn, *, rng=None) -> Verdict:
    """Check the learner's ``lstm_forward(X, h0, c0, W, b) -> (Hs, caches)`` in this process."""
    return FORWARD.grade(fn, rng=rng)


def grade_lstm_backward(fn, *, part: str = "all", rng=None) -> Verdict:
    """Check the learner's ``lstm_backward(dHs, caches) -> (dX, dh0, dc0, dW, db)`` in this process.

    ``caches`` is the list of step caches in the prescribed format, built by the checker;
    ``part`` is ``"parameters"`` (dW, db), ``"inputs"`` (dX, dh0, dc0) or ``"all"``.
    """
    if part not in LSTM_BACKWARD_PARTS:
        raise ValueError(f"grade_lstm_backward: part must be one of {sorted(LSTM_BACKWARD_PARTS)}, got {part!r}")
    return _backward_check(part).grade(fn, rng=rng)
