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

How a mistake is named:

* the catalogue: outputs of deliberately buggy variants on the same inputs (``*_BUGS``);
* facts: which gate blocks of ``dW`` / ``db`` are wrong (rows i: 0..H, f: H..2H, o: 2H..3H,
  g: 3H..4H), and which gates in the learner's step cache;
* probes (:data:`STEP_FORWARD_PROBES`, :data:`STEP_BACKWARD_PROBES`, :data:`SEQUENCE_PROBES`): the
  fixed typical case again with one term switched off (``dc = 0``, ``dh = 0``, ``B = 1``, ``T = 1``,
  ``W[:, :H] = 0``, the forget gate shut ...), and per gate the gate saturated (pre-activation
  +30: σ′ ≈ 0, tanh′ = 0) and pinned (its pre-activation the same number everywhere, so its
  derivative is one number and a wrong derivative scales the whole gate block). Which probes the
  learner's function gets right says which term (and which gate's σ′ / tanh′) is at fault. The
  probe text is added only when no catalogued mistake matched;
* blame (sequence cells): each case is run a second time with the learner's step function
  replaced by an :class:`~rnnkit.casefile.Oracle` that answers correctly for exactly the inputs a
  correct loop passes. A sequence function whose loop is right keeps its points when only its
  step function is wrong; a wrong loop is diagnosed from that second run, isolated from the
  step function; an argument that a correct loop would not pass is named (``known`` values).
"""
from __future__ import annotations

import itertools
from typing import Callable, NamedTuple, Sequence

import numpy as np

from .. import layers as _ref
from ..casefile import with_oracle
from ._core import (GRAD_TOL, VALUE_TOL, Check, Verdict, _Failure, as_float_array, distinct_sizes, judge,
                    modified_warning, numerical_gradients, returned, scaled_rel_error)

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

GATES = ("i", "f", "o", "g")
GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "o": "output gate o", "g": "candidate g"}
#: The gradient of each gate's value, before its activation's derivative (dc̄ = dc + dh ⊙ o ⊙ (1 − tanh²c)).
GATE_UPSTREAM = {"i": "di = dc̄ ⊙ g", "f": "df = dc̄ ⊙ c_(t−1)", "o": "do = dh ⊙ tanh(c)", "g": "dg = dc̄ ⊙ i"}

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
DC_PREV_NO_H = ("dc_prev = dc ⊙ f leaves out the gradient that comes through h: the cell gradient passed back "
                "is dc_total ⊙ f with dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c), the same total that feeds di, df "
                "and dg.")
DX_DH_SWAPPED = ("dx and dh_prev are swapped: dz = δ @ W splits as dh_prev = dz[:, :H] (the state comes first "
                 "in [h_prev, x]) and dx = dz[:, H:].")
DW_STACK_ORDER = ("dW's columns are in the wrong order: dW = δᵀ @ [h_prev, x] (state first, then input), "
                  "the layout of W.")
NO_H_CARRY = ("the gradient coming back from step t+1 through h is not added, so only the last step is right: "
              "each step receives dHs[t] plus dh_prev from step t+1.")
ONLY_LAST = ("gradients not summed over time: only the last step's contribution is there; W and b are "
             "shared by all steps, so their gradients are sums over t.")
ONLY_FIRST = ("gradients not summed over time: only the contribution of t=1 (the last step a backward loop "
              "visits) survives — use += instead of =.")
TRANSPOSED_DW = "dW is transposed: it has the shape of W, (4H, H+D), computed as δᵀ @ [h_prev, x]."
NOT_CARRIED_C = "the cell state is not carried: every step must start from the previous step's c, not from c0."
NOT_CARRIED_H = "the hidden state is not carried: every step must start from the previous step's h, not from h0."
SHIFTED = ("Hs is shifted by one step: Hs[t] must hold the state after reading X[t], h⁽¹⁾ … h⁽ᵀ⁾, "
           "not h⁽⁰⁾ … h⁽ᵀ⁻¹⁾.")
WITH_H0 = "Hs includes h0: return only the T new states h⁽¹⁾ … h⁽ᵀ⁾, shape (T, B, H)."
HOLDS_C = "Hs holds the cell states: it must hold the hidden states h⁽ᵗ⁾ (the first value the step returns)."
REVERSED_HS = "Hs is in reverse time order: Hs[t] is the state after reading X[t], h⁽¹⁾ first."
DX_REVERSED = "dX is in reverse time order: dX[t] is the gradient of X[t], from the call with caches[t]."
DH0_INPUT = ("dh0 is the gradient that entered step t=1 (dHs[0] + dh_next), not the one it passes back: "
             "return the dh_prev of the call for t=1.")
DC0_INPUT = ("dc0 is the cell gradient that entered step t=1, not the one it passes back: return the dc_prev "
             "of the call for t=1.")


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


def _context(case: dict, seed=None) -> str:
    return ", ".join(f"{k}={v}" for k, v in case["sizes"].items()) + (f", seed={seed}" if seed is not None else "")


def _rows(k: int, H: int) -> str:
    return f"rows {k * H}..{(k + 1) * H - 1}"


# ---------------------------------------------------------------------------
# buggy variants (the catalogue)
# ---------------------------------------------------------------------------

def _perm_text(perm: tuple) -> str:
    """GATE_ORDER plus which gate is read from (or written to) which gate's rows."""
    moved = [f"{GATES[k]} in the rows of {GATES[perm[k]]}" for k in range(4) if perm[k] != k]
    return GATE_ORDER + " Yours has " + ", ".join(moved) + "."


#: Every wrong order of the four row blocks: perm[k] = the block a learner's gate k is taken from.
GATE_PERMS = [p for p in itertools.permutations(range(4)) if p != (0, 1, 2, 3)]


def _step_forward(x, h_prev, c_prev, W, b, bug=None, perm=None):
    """One LSTM step written out, with one deliberate mistake or none. Returns h, c, gates tuple."""
    H = h_prev.shape[1]
    z = np.concatenate([x, h_prev] if bug == "stack_order" else [h_prev, x], axis=1)
    a = z @ W.T + b
    blocks = [a[:, k * H:(k + 1) * H] for k in range(4)]
    if bug == "gate_order":  # i, f, g, o (PyTorch's order) read as i, f, o, g
        blocks = [blocks[0], blocks[1], blocks[3], blocks[2]]
    if perm is not None:
        blocks = [blocks[perm[k]] for k in range(4)]
    i, f, o = _sig(blocks[0]), _sig(blocks[1]), _sig(blocks[2])
    g = _sig(blocks[3]) if bug == "g_not_tanh" else np.tanh(blocks[3])
    c = (c_prev + i * g) if bug == "no_forget" else f * c_prev + i * g
    h = o * c if bug == "h_no_tanh" else o * np.tanh(c)
    return h, c, (i, f, o, g)


FORWARD_BUGS = {"gate_order": GATE_ORDER, "stack_order": STACK_ORDER, "g_not_tanh": G_NOT_TANH,
                "h_no_tanh": H_NO_TANH, "no_forget": NO_FORGET_FWD}


def _step_backward(dh, dc, x, h_prev, c_prev, i, f, o, g, c, W, bug=None, perm=None):
    """Gradients of one LSTM step, with one deliberate mistake or none.

    ``perm``: the da block j holds the gradient of gate ``perm[j]`` (a wrong gate order)."""
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
    if perm is not None:
        blocks = [blocks[perm[j]] for j in range(4)]
    da = np.concatenate(blocks, axis=1)
    z = np.concatenate([x, h_prev] if bug == "dw_stack_order" else [h_prev, x], axis=1)
    dz = da @ W
    if bug == "no_forget_bwd":
        dc_prev = dct
    elif bug == "dc_prev_no_h":
        dc_prev = dc * f
    else:
        dc_prev = dct * f
    out = {"dx": dz[:, H:], "dh_prev": dz[:, :H], "dc_prev": dc_prev, "dW": da.T @ z, "db": da.sum(0)}
    if bug == "dx_dh_swapped":
        out["dx"], out["dh_prev"] = dz[:, :H], dz[:, H:]
    return out


STEP_BACKWARD_BUGS = {"no_cell_carry": NO_CELL_CARRY, "no_forget_bwd": NO_FORGET_BWD,
                      "no_sigma_prime": NO_SIGMA_PRIME, "no_tanh_c_prime": NO_TANH_C_PRIME,
                      "no_g_tanh_prime": NO_G_TANH_PRIME, "c_for_c_prev": C_FOR_C_PREV, "gate_order": GATE_ORDER,
                      "dc_prev_no_h": DC_PREV_NO_H, "dx_dh_swapped": DX_DH_SWAPPED,
                      "dw_stack_order": DW_STACK_ORDER}


def lstm_step_caches(case: dict) -> tuple[np.ndarray, list[tuple]]:
    """Reference states and the prescribed step caches ``(x, h_prev, c_prev, i, f, o, g, c, W)`` for every t."""
    hs, _, caches = _chain(case)
    return np.stack(hs[1:]), caches


def _chain(case: dict):
    """``h⁽⁰⁾ … h⁽ᵀ⁾``, ``c⁽⁰⁾ … c⁽ᵀ⁾`` and the step caches, exactly as a loop over rnnkit's step computes them
    (so the arrays are bit for bit those a correct loop hands from one step to the next)."""
    X, h, c, W, b = case["X"], case["h0"], case["c0"], case["W"], case["b"]
    hs, cs, caches = [h], [c], []
    for t in range(X.shape[0]):
        h_new, c_new, cache = _ref.lstm_step_forward(X[t], h, c, W, b)
        H = h.shape[1]
        gates = cache.gates
        i, f, o, g = (gates[:, k * H:(k + 1) * H].copy() for k in range(4))
        caches.append((X[t], h, c, i, f, o, g, c_new, W))
        hs.append(h_new)
        cs.append(c_new)
        h, c = h_new, c_new
    return hs, cs, caches


def _ref_step_backward(dh, dc, cache) -> tuple:
    """rnnkit's step backward on a cache in the notebook's format: ``(dx, dh_prev, dc_prev, dW, db)``."""
    x, h_prev, c_prev, i, f, o, g, c, W = cache
    step = _ref.LSTMStepCache(np.concatenate([h_prev, x], axis=1), c_prev, np.concatenate([i, f, o, g], axis=1),
                              np.tanh(c), W)
    return tuple(_ref.lstm_step_backward(dh, np.broadcast_to(np.asarray(dc, dtype=np.float64), h_prev.shape), step))


def _backward_chain(dHs, caches):
    """The calls a correct backward loop makes, in order: ``[(t, (dh, dc, cache), outputs), ...]``."""
    B, H = caches[0][1].shape
    dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H))
    calls = []
    for t in range(len(caches) - 1, -1, -1):
        dh_in = dHs[t] + dh_next
        out = _ref_step_backward(dh_in, dc_next, caches[t])
        calls.append((t, (dh_in, dc_next, caches[t]), out, dh_next))
        dh_next, dc_next = out[1], out[2]
    return calls


def _sequence_backward(dHs, caches, bug=None, perm=None):
    """BPTT for the LSTM from step caches, with one deliberate mistake or none."""
    T = len(caches)
    step_bug = bug if bug in STEP_BACKWARD_BUGS and bug != "no_cell_carry" else None
    dh = np.zeros_like(caches[0][1])
    dc = np.zeros_like(caches[0][2])
    dXs, dW, db = [None] * T, np.zeros_like(caches[0][-1]), 0.0
    dh_in = dc_in = None
    for t in range(T - 1, -1, -1):
        dh_in = dHs[t] if bug == "no_h_carry" else dHs[t] + dh
        dc_in = np.zeros_like(dc) if bug == "no_cell_carry" else dc
        g = _step_backward(dh_in, dc_in, *caches[t], bug=step_bug, perm=perm)
        dXs[t], dh, dc = g["dx"], g["dh_prev"], g["dc_prev"]
        if bug == "only_last" and t != T - 1:
            continue
        if bug == "only_first":
            dW, db = g["dW"], g["db"]
        else:
            dW, db = dW + g["dW"], db + g["db"]
    out = {"dX": np.stack(dXs[::-1] if bug == "dx_reversed" else dXs), "dh0": dh_in if bug == "dh0_input" else dh,
           "dc0": dc_in if bug == "dc0_input" else dc, "dW": dW, "db": np.asarray(db)}
    return out


#: Mistakes of the loop alone (every step computed right): named also when the oracle stood in for the step.
LOOP_BUGS = {"no_h_carry": NO_H_CARRY, "no_cell_carry": NO_CELL_CARRY, "only_last": ONLY_LAST,
             "only_first": ONLY_FIRST, "dx_reversed": DX_REVERSED, "dh0_input": DH0_INPUT, "dc0_input": DC0_INPUT}
SEQUENCE_BUGS = LOOP_BUGS | {k: v for k, v in STEP_BACKWARD_BUGS.items() if k != "no_cell_carry"}

LSTM_BACKWARD_PARTS = {"all": ("dX", "dh0", "dc0", "dW", "db"), "parameters": ("dW", "db"),
                       "inputs": ("dX", "dh0", "dc0")}
_STEP_BACKWARD_NAMES = ["dx", "dh_prev", "dc_prev", "dW", "db"]
_BACKWARD_NAMES = list(LSTM_BACKWARD_PARTS["all"])


# ---------------------------------------------------------------------------
# the judges of one case (pure: inputs and outputs in, verdict out)
# ---------------------------------------------------------------------------

def _finish(verdict: Verdict, context: str, extra: Sequence[str] = ()) -> Verdict:
    """A verdict of :func:`judge` (called without context) with extra lines and the context."""
    if verdict.passed:
        text = verdict.message
        return Verdict(True, text[:-3] + f"({context})." if text.endswith("().") else text)
    lines = [verdict.message] + [e for e in extra if e]
    return Verdict(False, "\n".join(lines) + (f"\n(Checked on fresh inputs: {context}.)" if context else ""))


def _forward_step_variants(args):
    variants = []
    for bug, text in FORWARD_BUGS.items():
        hv, cv, _ = _step_forward(*args, bug=bug)
        variants.append((text, {"h": hv, "c": cv}))
    for perm in GATE_PERMS:
        hv, cv, _ = _step_forward(*args, perm=perm)
        variants.append((_perm_text(perm), {"h": hv, "c": cv}))
    return variants


def _verdict_step_forward(case: dict, h, c) -> Verdict:
    args = (case["X"][0], case["h0"], case["c0"], case["W"], case["b"])
    h_ref, c_ref, _ = _ref.lstm_step_forward(*args)
    return judge("lstm_step_forward", ["h", "c"], [h, c], {"h": h_ref, "c": c_ref}, tol=VALUE_TOL, kind="values",
                 compared_with="the reference on the same inputs", dims=_DIMS, sizes=case["sizes"],
                 variants=_forward_step_variants(args))


def judge_lstm_step_forward(case: dict, h, c, seed=None) -> Verdict:
    """Judge ``h, c`` of one step (the first step of ``case``) against the reference."""
    return _finish(_verdict_step_forward(case, h, c), _context(case, seed))


def _step_backward_variants(dh, dc, cache):
    variants = [(text, _step_backward(dh, dc, *cache, bug=bug)) for bug, text in STEP_BACKWARD_BUGS.items()]
    good = _step_backward(dh, dc, *cache)
    variants.append((TRANSPOSED_DW, {"dW": good["dW"].T}))
    variants += [(_perm_text(p), _step_backward(dh, dc, *cache, perm=p)) for p in GATE_PERMS]
    return variants


def _verdict_step_backward(case: dict, grads) -> Verdict:
    x, h_prev, c_prev, W, b = (case[k].copy() for k in ("X", "h0", "c0", "W", "b"))
    x = x[0].copy()
    dh, dc = case["dHs"][0], case["dc"]

    def loss():
        h, c, _ = _ref.lstm_step_forward(x, h_prev, c_prev, W, b)
        return float(np.sum(h * dh) + np.sum(c * dc))
    num = numerical_gradients(loss, {"dx": x, "dh_prev": h_prev, "dc_prev": c_prev, "dW": W, "db": b})
    _, caches = lstm_step_caches({**case, "X": case["X"][:1]})
    return judge("lstm_step_backward", _STEP_BACKWARD_NAMES, grads, num, tol=GRAD_TOL, kind="gradients",
                 compared_with="central differences", dims=_DIMS, sizes=case["sizes"],
                 variants=_step_backward_variants(dh, dc, caches[0]))


def judge_lstm_step_backward(case: dict, grads, seed=None) -> Verdict:
    """Judge ``(dx, dh_prev, dc_prev, dW, db)`` of one step against central differences."""
    return _finish(_verdict_step_backward(case, grads), _context(case, seed))


def _forward_loop_variants(case: dict):
    """Mistakes of the sequence loop alone (each step computed right)."""
    hs, cs, _ = _chain(case)
    Hs = np.stack(hs[1:])
    return [(SHIFTED, {"Hs": np.stack(hs[:-1])}), (HOLDS_C, {"Hs": np.stack(cs[1:])}),
            (WITH_H0, {"Hs": np.stack(hs)}), (REVERSED_HS, {"Hs": Hs[::-1].copy()})]


def _forward_variants(case: dict):
    variants = []
    bugs = list(FORWARD_BUGS.items()) + [("no_carry_c", NOT_CARRIED_C), ("no_carry_h", NOT_CARRIED_H)]
    for bug, text in bugs:
        h, c, hs = case["h0"], case["c0"], []
        for x in case["X"]:
            h_new, c_new, _ = _step_forward(x, h, c, case["W"], case["b"], bug=None if bug.startswith("no_carry")
                                            else bug)
            hs.append(h_new)
            h = case["h0"] if bug == "no_carry_h" else h_new
            c = case["c0"] if bug == "no_carry_c" else c_new
        variants.append((text, {"Hs": np.stack(hs)}))
    for perm in GATE_PERMS:
        h, c, hs = case["h0"], case["c0"], []
        for x in case["X"]:
            h, c, _ = _step_forward(x, h, c, case["W"], case["b"], perm=perm)
            hs.append(h)
        variants.append((_perm_text(perm), {"Hs": np.stack(hs)}))
    return variants + _forward_loop_variants(case)


def _verdict_forward(case: dict, Hs, loop_only: bool = False) -> Verdict:
    ref, _ = _ref.lstm_forward(case["X"], case["h0"], case["c0"], case["W"], case["b"])
    variants = _forward_loop_variants(case) if loop_only else _forward_variants(case)
    return judge("lstm_forward", ["Hs"], [Hs], {"Hs": ref}, tol=VALUE_TOL, kind="values",
                 compared_with="the reference on the same inputs", dims=_DIMS, sizes=case["sizes"],
                 variants=variants, time_axes={"Hs": 0}, direction="forward")


def judge_lstm_forward(case: dict, Hs, seed=None) -> Verdict:
    """Judge the states ``Hs`` (T, B, H) against the reference."""
    return _finish(_verdict_forward(case, Hs), _context(case, seed))


def _numerical_backward(case: dict) -> dict:
    X, h0, c0, W, b = (case[k].copy() for k in ("X", "h0", "c0", "W", "b"))
    dHs = case["dHs"]

    def loss():
        return float(np.sum(_ref.lstm_forward(X, h0, c0, W, b)[0] * dHs))
    return numerical_gradients(loss, {"dX": X, "dh0": h0, "dc0": c0, "dW": W, "db": b})


_BACKWARD_HINTS = {"dW": "dW = Σₜ δ⁽ᵗ⁾ᵀ @ [h⁽ᵗ⁻¹⁾, x⁽ᵗ⁾], with δ the gradient of the four gate pre-activations.",
                   "dc0": "dc0 is the cell gradient passed back from step t=1 (dc_total ⊙ f)."}


def _verdict_backward(case: dict, grads, part: str = "all", loop_only: bool = False, num: dict | None = None):
    num = _numerical_backward(case) if num is None else num
    dHs = case["dHs"]
    _, caches = lstm_step_caches(case)
    bugs = LOOP_BUGS if loop_only else SEQUENCE_BUGS
    variants = [(text, _sequence_backward(dHs, caches, bug)) for bug, text in bugs.items()]
    if not loop_only:
        variants.append((TRANSPOSED_DW, {"dW": _sequence_backward(dHs, caches)["dW"].T}))
        variants += [(_perm_text(p), _sequence_backward(dHs, caches, perm=p)) for p in GATE_PERMS]
    return judge("lstm_backward", _BACKWARD_NAMES, grads, num, tol=GRAD_TOL, kind="gradients",
                 compared_with="central differences", dims=_DIMS, sizes=case["sizes"], variants=variants,
                 time_axes={"dX": 0}, direction="backward", select=LSTM_BACKWARD_PARTS[part],
                 hints=_BACKWARD_HINTS)


def judge_lstm_backward(case: dict, grads, part: str = "all", seed=None) -> Verdict:
    """Judge ``(dX, dh0, dc0, dW, db)`` against central differences of the reference forward pass."""
    return _finish(_verdict_backward(case, grads, part), _context(case, seed))
