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
* probes (:data:`STEP_FORWARD_PROBES`, :data:`STEP_BACKWARD_PROBES`, :data:`FORWARD_SEQUENCE_PROBES`,
  :data:`BACKWARD_SEQUENCE_PROBES`): the fixed typical case again with one term switched off (``dc = 0``, ``dh = 0``, ``B = 1``, ``T = 1``,
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
from ..casefile import with_oracle, with_recorder
from ._core import (BUG_MATCH_TOL, GRAD_TOL, VALUE_TOL, Check, Verdict, _Failure, as_float_array, distinct_sizes, judge,
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
#: The gradient of each gate's value, before its activation's derivative
#: (dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c), the gradient that reaches the new cell state).
GATE_UPSTREAM = {"i": "di = dc_total ⊙ g", "f": "df = dc_total ⊙ c_(t−1)", "o": "do = dh ⊙ tanh(c)",
                 "g": "dg = dc_total ⊙ i"}

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
SEQUENCE_BUGS = LOOP_BUGS | {k: v for k, v in STEP_BACKWARD_BUGS.items() if k not in ("no_cell_carry", "dx_dh_swapped")}

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


def _forward_variants(case: dict, loop_only: bool = False):
    """The catalogue for a sequence: step mistakes inside a loop, and the loop's own (``loop_only``)."""
    variants = []
    bugs = ([] if loop_only else list(FORWARD_BUGS.items())) + [("no_carry_c", NOT_CARRIED_C),
                                                                 ("no_carry_h", NOT_CARRIED_H)]
    for bug, text in bugs:
        h, c, hs = case["h0"], case["c0"], []
        for x in case["X"]:
            h_new, c_new, _ = _step_forward(x, h, c, case["W"], case["b"], bug=None if bug.startswith("no_carry")
                                            else bug)
            hs.append(h_new)
            h = case["h0"] if bug == "no_carry_h" else h_new
            c = case["c0"] if bug == "no_carry_c" else c_new
        variants.append((text, {"Hs": np.stack(hs)}))
    for perm in () if loop_only else GATE_PERMS:
        h, c, hs = case["h0"], case["c0"], []
        for x in case["X"]:
            h, c, _ = _step_forward(x, h, c, case["W"], case["b"], perm=perm)
            hs.append(h)
        variants.append((_perm_text(perm), {"Hs": np.stack(hs)}))
    return variants + _forward_loop_variants(case)


def _verdict_forward(case: dict, Hs, loop_only: bool = False) -> Verdict:
    ref, _ = _ref.lstm_forward(case["X"], case["h0"], case["c0"], case["W"], case["b"])
    variants = _forward_variants(case, loop_only)
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


# ---------------------------------------------------------------------------
# probes: the fixed typical case again, with one term switched off
# ---------------------------------------------------------------------------

class _Probe(NamedTuple):
    """One probe of a check: the typical fixed case with one part of the computation switched off.

    ``what``: how the case differs (for messages); ``make(case) -> probe case``; ``meaning``: what it says
    when the full case is wrong but this probe is right (the mistake sits in the part switched off);
    ``if_fails``: what to check when this probe is wrong although the full cases are right.
    """
    name: str
    what: str
    make: Callable[[dict], dict]
    meaning: str
    if_fails: str


def _resized(c: dict) -> dict:
    T, B, D = c["X"].shape
    return {**c, "sizes": {"T": int(T), "B": int(B), "D": int(D), "H": int(c["h0"].shape[1])}}


def _zero(*names):
    return lambda c: {**c, **{n: np.zeros_like(c[n]) for n in names}}


def _batch1(c):
    return _resized({**c, "X": c["X"][:, :1], "h0": c["h0"][:1], "c0": c["c0"][:1], "dHs": c["dHs"][:, :1],
                     "dc": c["dc"][:1]})


def _time1(c):
    return _resized({**c, "X": c["X"][:1], "dHs": c["dHs"][:1]})


def _shift_gate(k: int, by: float):
    def make(c):
        H = c["h0"].shape[1]
        b = c["b"].copy()
        b[k * H:(k + 1) * H] += by
        return {**c, "b": b}
    return make


#: Pre-activation of a pinned gate: σ gates at 0 (value ½, σ′ = ¼), g at 0.5 (tanh′ = 1 − tanh²(0.5) ≈ 0.79).
PIN_AT = {"i": 0.0, "f": 0.0, "o": 0.0, "g": 0.5}
#: Pre-activation added to saturate a gate (σ(a) = 1 − 1e-13 for a ≥ 30, tanh(a) = 1.0 exactly).
SATURATE = 30.0


def _pin_gate(k: int, a0: float):
    def make(c):
        H = c["h0"].shape[1]
        W, b = c["W"].copy(), c["b"].copy()
        W[k * H:(k + 1) * H] = 0.0
        b[k * H:(k + 1) * H] = a0
        return {**c, "W": W, "b": b}
    return make


def _no_recurrent(c):
    H = c["h0"].shape[1]
    W = c["W"].copy()
    W[:, :H] = 0.0
    return {**c, "W": W}


def _act(k: str) -> str:
    return "tanh" if k == "g" else "σ"


def _gate_slice(k: str) -> str:
    return {"i": "a[:, :H]", "f": "a[:, H:2H]", "o": "a[:, 2H:3H]", "g": "a[:, 3H:]"}[k]


def _saturated(k: str, idx: int, forward: bool) -> _Probe:
    what = f"the {GATE_NAMES[k]} saturated (its pre-activation +{SATURATE:g}: {k} = 1)"
    if forward:
        return _Probe(f"sat_{k}", what, _shift_gate(idx, SATURATE),
                      f"the value of the {GATE_NAMES[k]} is wrong below saturation: {k} = "
                      f"{_act(k)}({_gate_slice(k)})",
                      f"a large pre-activation gives {k} = {_act(k)}(a) ≈ 1 and the same formulas hold: is a "
                      f"clipped, or {k} computed some other way for large a?")
    return _Probe(f"sat_{k}", what, _shift_gate(idx, SATURATE), "",
                  f"where the {GATE_NAMES[k]} saturates its derivative is ≈ 0, so its block of dW and db must "
                  f"vanish: is the derivative {_derivative(k)} computed from the cached gate value {k}?")


def _pinned(k: str, idx: int) -> _Probe:
    return _Probe(f"pin_{k}", f"the {GATE_NAMES[k]} pinned (W's rows of {k} zero, its pre-activation "
                  f"{PIN_AT[k]:g} everywhere)", _pin_gate(idx, PIN_AT[k]), "",
                  f"with {k} the same everywhere its derivative is one number, {_derivative_value(k):.3g}.")


def _derivative(k: str) -> str:
    return "tanh′ = 1 − g²" if k == "g" else f"σ′ = {k}(1 − {k})"


def _gate_value(k: str) -> float:
    return float(np.tanh(PIN_AT[k])) if k == "g" else float(_sig(PIN_AT[k]))


def _derivative_value(k: str) -> float:
    s = _gate_value(k)
    return 1.0 - s * s if k == "g" else s * (1.0 - s)


B1_MEANING = ("right for a batch of one, wrong for B > 1: a sum over the batch is wrong — db is the sum of δ "
              "over the batch (not a mean, not one row), dW = δᵀ @ [h_prev, x] sums over it too, and each row "
              "of the other gradients belongs to its own sequence")

STEP_FORWARD_PROBES = (
    _Probe("x0", "x = 0", _zero("X"),
           "x enters the pre-activations wrongly: a = [h_prev, x] @ W.T + b, so x multiplies the last D columns "
           "of W (W[:, H:])", "with x = 0, a = h_prev @ W[:, :H].T + b."),
    _Probe("hp0", "h_prev = 0", _zero("h0"),
           "h_prev enters the pre-activations wrongly: it multiplies the first H columns of W (W[:, :H])",
           "with h_prev = 0, a = x @ W[:, H:].T + b."),
    _Probe("cp0", "c_prev = 0", _zero("c0"),
           "the forget term f ⊙ c_prev of c = f ⊙ c_prev + i ⊙ g is wrong (f = σ(a[:, H:2H]))",
           "with c_prev = 0, c = i ⊙ g."),
    _Probe("b0", "b = 0", _zero("b"),
           "the bias is added wrongly: b (4H,) is added once to the pre-activations of all four gates, "
           "a = [h_prev, x] @ W.T + b", "with b = 0, a = [h_prev, x] @ W.T."),
    _Probe("g0", "g = 0 (its pre-activation pinned at 0)", _pin_gate(3, 0.0),
           "the input term i ⊙ g of c is wrong (i = σ(a[:, :H]), g = tanh(a[:, 3H:]))",
           "with g = 0, c = f ⊙ c_prev."),
) + tuple(_saturated(k, j, True) for j, k in enumerate(GATES))

DC0_MEANING = ("the incoming dc is mishandled: it enters only through dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c), "
               "which feeds di, df, dg and dc_prev = dc_total ⊙ f (do = dh ⊙ tanh(c) does not involve dc)")
DH0_MEANING = ("the gradient through h is mishandled: dh reaches c as dh ⊙ o ⊙ (1 − tanh²c) (added into "
               "dc_total) and the output gate as do = dh ⊙ tanh(c)")

STEP_BACKWARD_PROBES = (
    _Probe("dc0", "dc = 0 (no gradient arriving along the cell path)", _zero("dc"), DC0_MEANING,
           "with dc = 0, dc_total = dh ⊙ o ⊙ (1 − tanh²c)."),
    _Probe("dh0", "dh = 0 (no gradient arriving through h)", _zero("dHs"), DH0_MEANING,
           "with dh = 0, dc_total = dc and do = 0."),
    _Probe("B1", "B = 1 (a batch of one)", _batch1, B1_MEANING, "the code must work the same for B = 1."),
) + tuple(_saturated(k, j, False) for j, k in enumerate(GATES)) + tuple(_pinned(k, j) for j, k in enumerate(GATES))

FORWARD_SEQUENCE_PROBES = (
    _Probe("T1", "T = 1 (one step)", _time1,
           "the first step is right (T = 1 is), so the mistake is in what passes from step to step: each step "
           "starts from the h and c the previous step returned, and Hs[t] is the state after reading X[t]",
           "a sequence of one step is Hs = h⁽¹⁾[None]."),
    _Probe("Wh0", "W[:, :H] = 0 (h_prev has no effect)", _no_recurrent,
           "the hidden state passed from step to step is wrong: each step starts from the h the previous "
           "step returned (h0 at t=1)", "with W[:, :H] = 0 the gates do not depend on h_prev."),
    _Probe("fshut", "the forget gate shut (pre-activation −30, f ≈ 0: c_prev has no effect)",
           _shift_gate(1, -SATURATE),
           "the cell state passed from step to step is wrong: each step starts from the c the previous step "
           "returned (c0 at t=1)", "with f ≈ 0, c = i ⊙ g at every step."),
    _Probe("B1", "B = 1 (a batch of one)", _batch1,
           "right for one sequence but not for a batch: the rows of the batch are mixed", "B = 1 must work."),
    _Probe("x0", "X = 0", _zero("X"), STEP_FORWARD_PROBES[0].meaning, STEP_FORWARD_PROBES[0].if_fails),
    _Probe("b0", "b = 0", _zero("b"), STEP_FORWARD_PROBES[3].meaning, STEP_FORWARD_PROBES[3].if_fails),
) + tuple(_saturated(k, j, True) for j, k in enumerate(GATES))

BACKWARD_SEQUENCE_PROBES = (
    _Probe("T1", "T = 1 (one step)", _time1,
           "right for T = 1, wrong for longer sequences: what passes between steps is wrong — the carried "
           "dh_next (added to dHs[t]), the carried dc_next, or the sums of dW and db over the steps",
           "with T = 1 nothing is carried: dX[0], dh0, dc0, dW, db are those of one step."),
    _Probe("Wh0", "W[:, :H] = 0 (no gradient flows back through h: dh_next = 0)", _no_recurrent,
           "the gradient carried through h is wrong: each step receives dHs[t] + dh_next, where dh_next is the "
           "dh_prev returned for step t+1 (zeros at t = T)", "with W[:, :H] = 0 every dh_prev is zero."),
    _Probe("fshut", "the forget gate shut (f ≈ 0: no gradient flows back along the cell path)",
           _shift_gate(1, -SATURATE),
           "the gradient carried along the cell path is wrong: each step receives as dc the dc_prev returned "
           "for step t+1 (zeros at t = T)", "with f ≈ 0 every dc_prev is ≈ 0."),
    _Probe("B1", "B = 1 (a batch of one)", _batch1, B1_MEANING, "the code must work the same for B = 1."),
) + tuple(_saturated(k, j, False) for j, k in enumerate(GATES)) + tuple(_pinned(k, j) for j, k in enumerate(GATES))


def _plain(value):
    """A float64 copy of a learner's array, or None (not an array, not finite)."""
    try:
        return as_float_array(value, "", "")
    except _Failure:
        return None


class _Outcome:
    """The learner's outputs on one probe case next to the truth."""

    def __init__(self, names: Sequence[str], outputs, expected: dict, tol: float, error: str | None = None):
        self.expected, self.tol, self.error, self.context = expected, tol, error, ""
        self.got = {}
        if outputs is not None:
            for name, value in zip(names, outputs):
                arr = _plain(value)
                if arr is not None and name in expected and arr.shape == expected[name].shape:
                    self.got[name] = arr
        self._err = {n: scaled_rel_error(a, expected[n]) for n, a in self.got.items()}
        self._scale = max((float(np.abs(e).max(initial=0)) for e in expected.values()), default=0.0)

    def degenerate(self, part: str) -> bool:
        """Whether the true ``part`` (an output, or ``δk``: gate k's block of dW and db) is ≈ 0 on this probe,
        so that being right there says nothing."""
        if part.startswith("δ"):
            k = GATES.index(part[1:])
            E = np.concatenate([self.expected["dW"][self._rows("dW", k)].ravel(),
                                self.expected["db"][self._rows("db", k)]])
        else:
            E = self.expected.get(part)
            if E is None:
                return True
        return float(np.abs(E).max(initial=0)) <= 1e-7 * self._scale

    def right(self, name: str) -> bool:
        err = self._err.get(name)
        return err is not None and (err.size == 0 or float(err.max()) <= self.tol)

    def _rows(self, name, k):
        H = self.expected["db"].shape[0] // 4
        return slice(k * H, (k + 1) * H)

    def block_right(self, k: int) -> bool:
        return all(n in self._err and float(self._err[n][self._rows(n, k)].max()) <= self.tol for n in ("dW", "db"))

    def _block(self, k):
        if "dW" not in self.got or "db" not in self.got:
            return None
        L = np.concatenate([self.got["dW"][self._rows("dW", k)].ravel(), self.got["db"][self._rows("db", k)]])
        E = np.concatenate([self.expected["dW"][self._rows("dW", k)].ravel(), self.expected["db"][self._rows("db", k)]])
        return L, E

    def vanishes(self, k: int) -> bool | None:
        """Whether the learner's block k of dW and db is ≈ 0 on the scale of the true dW and db."""
        blk = self._block(k)
        if blk is None:
            return None
        scale = max(float(np.abs(self.expected[n]).max(initial=0)) for n in ("dW", "db"))
        return float(np.abs(blk[0]).max(initial=0)) <= 1e-7 * scale

    def ratio(self, k: int):
        """``(r, constant)``: the learner's block k as r times the true one, and whether that fits everywhere."""
        blk = self._block(k)
        if blk is None:
            return None, False
        L, E = blk
        ee = float(E @ E)
        if ee == 0.0:
            return None, False
        r = float(L @ E) / ee
        return r, float(np.abs(L - r * E).max()) <= 1e-6 * float(np.abs(E).max())


def _outcomes(probes, items, records, indices, func, names, truth, tol):
    """An :class:`_Outcome` per probe (probe j from record ``indices[j]``; None: no such call)."""
    out = {}
    for p, case, idx in zip(probes, items, indices):
        if idx is None:
            continue
        try:
            outputs, error = returned(records, idx, func, names), None
        except _Failure as f:
            outputs, error = None, str(f)
        out[p.name] = _Outcome(names, outputs, truth(case), tol, error)
        out[p.name].context = _context(case)
    return out


def _gate_label(k: int, H: int) -> str:
    g = GATES[k]
    return f"{g} ({GATE_NAMES[g].rsplit(' ', 1)[0]}, {_rows(k, H)})"


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _block_status(got: dict, exp: dict, tol: float):
    """Wrong gate blocks of dW and of db (indices), and which dW columns are wrong; None without both arrays."""
    if any(n not in got or n not in exp or got[n].shape != exp[n].shape for n in ("dW", "db")):
        return None
    H = exp["db"].shape[0] // 4
    eW, eb = scaled_rel_error(got["dW"], exp["dW"]), scaled_rel_error(got["db"], exp["db"])
    wrong_W = [k for k in range(4) if float(eW[k * H:(k + 1) * H].max()) > tol]
    wrong_b = [k for k in range(4) if float(eb[k * H:(k + 1) * H].max()) > tol]
    rows = np.concatenate([np.arange(k * H, (k + 1) * H) for k in wrong_W]) if wrong_W else np.arange(0)
    col_h = bool(rows.size and eW[rows][:, :H].max() > tol)
    col_x = bool(rows.size and eW[rows][:, H:].max() > tol)
    return wrong_W, wrong_b, col_h, col_x, H


def _blocks_text(status) -> str:
    """'Gate blocks of dW, db ...: wrong in f (forget gate, rows 4..7) ...' (a fact, always shown)."""
    if status is None:
        return ""
    wrong_W, wrong_b, col_h, col_x, H = status
    if not wrong_W and not wrong_b:
        return ""
    label = lambda ks: _and([_gate_label(k, H) for k in ks])  # noqa: E731
    right = [k for k in range(4) if k not in wrong_W and k not in wrong_b]
    head = "Gate blocks of dW and db (rows in the order i, f, o, g): "
    if wrong_W == wrong_b:
        text = head + f"both are wrong in the block{'s' if len(wrong_W) > 1 else ''} of {label(wrong_W)}"
    else:
        parts = [f"dW is wrong in {label(wrong_W)}" if wrong_W else "dW is right",
                 f"db is wrong in {label(wrong_b)}" if wrong_b else "db is right"]
        text = head + "; ".join(parts)
    text += f"; right in {_and([GATES[k] for k in right])}." if right else "."
    if wrong_W and col_h != col_x:
        text += (" In those rows of dW only the h_prev columns dW[:, :H] are wrong." if col_h else
                 " In those rows of dW only the x columns dW[:, H:] are wrong.")
    return text


def _blocks_inference(status, step: bool) -> str:
    """What a gate block wrong in only one of dW and db says (shown when no catalogued mistake matched)."""
    if status is None:
        return ""
    wrong_W, wrong_b = status[0], status[1]
    only_W = [k for k in wrong_W if k not in wrong_b]
    only_b = [k for k in wrong_b if k not in wrong_W]
    where = lambda ks: "" if len(ks) == 4 else f" for {_and([GATES[k] for k in ks])}"  # noqa: E731
    product = "dW = δᵀ @ [h_prev, x]" if step else "dW = Σₜ δ⁽ᵗ⁾ᵀ @ [h⁽ᵗ⁻¹⁾, x⁽ᵗ⁾]"
    total = "the sum of δ over the batch" if step else "the sum of δ over the batch and the steps"
    text = []
    if only_W:
        text.append(f"db is right{where(only_W)}, so δ is right{' there' if where(only_W) else ''}: the product "
                    f"{product} is wrong.")
    if only_b:
        text.append(f"dW is right{where(only_b)}, so δ is right{' there' if where(only_b) else ''}: db is not "
                    f"{total}.")
    return " ".join(text)


def _gate_story(k: int, outcomes: dict) -> str:
    """What the saturated and pinned probes say about gate k's block (wrong in dW and in db)."""
    g = GATES[k]
    name = GATE_NAMES[g]
    sat, pin = outcomes.get(f"sat_{g}"), outcomes.get(f"pin_{g}")
    if sat is None or pin is None or sat.vanishes(k) is None:
        return ""
    own = sat.vanishes(k)
    like = [GATES[j] for j in range(4) if j != k and outcomes[f"sat_{GATES[j]}"].vanishes(k)]
    r, constant = pin.ratio(k)
    phi, s = _derivative_value(g), _gate_value(g)
    deriv = _derivative(g)
    if not own and like:
        return (f"the block of {g} vanishes when the {GATE_NAMES[like[0]]} saturates, not when the {name} does: "
                f"δ{g} is computed with the derivative of {like[0]} (or holds the gradient of {like[0]}); "
                f"δ{g} = d{g} ⊙ {deriv.split(' = ')[1]}.")
    if not own:
        if constant and r is not None and abs(r * phi - 1.0) < 1e-6:
            return (f"{deriv.split(' = ')[0]} of the {name} is missing: δ{g} = d{g} ⊙ {deriv.split(' = ')[1]}. "
                    f"(With {g} saturated its derivative is ≈ 0 and the block must vanish; yours does not. With "
                    f"{g} pinned at {s:.3g} your block is {r:.3g}× the true one, 1/{phi:.3g}: no derivative at all.)")
        if constant and r is not None:
            return (f"the derivative of the {name} is wrong: it must be {deriv}, which is ≈ 0 where {g} saturates "
                    f"(your block does not vanish there) and {phi:.3g} at {g} = {s:.3g}, where yours acts like "
                    f"{r * phi:.3g}.")
        return (f"the block of {g} does not vanish where the {name} saturates (its derivative {deriv} is ≈ 0 "
                f"there): the factor {deriv.split(' = ')[1]} is missing from δ{g}, or something is added to δ{g} "
                f"after it.")
    if constant and r is not None and abs(r - 1.0) > 1e-6:
        return (f"the derivative of the {name} vanishes where {g} saturates, as it should, but has the wrong value "
                f"in between: at {g} = {s:.3g} it is {deriv} = {phi:.3g}, yours acts like {r * phi:.3g}.")
    return (f"the derivative {deriv} of the {name} is right (the block vanishes where {g} saturates"
            f"{' and is right with ' + g + ' pinned' if constant and r is not None else ''}); the mistake is in "
            f"{GATE_UPSTREAM[g]}, the gradient of {g}'s value before it.")


def _gate_lines(gates: Sequence[int], outcomes: dict) -> list[str]:
    """One line per wrong gate block; i, f and g wrong before their (right) derivatives share dc_total."""
    stories = {k: _gate_story(k, outcomes) for k in gates}
    upstream = [k for k, text in stories.items() if " the mistake is in " in text]
    lines = []
    if {0, 1, 3} <= set(upstream):
        lines.append("gates i, f and g: their derivatives are right (each block vanishes where its gate "
                     "saturates), and di, df and dg are all wrong: dc_total, which all three use, is wrong — "
                     "dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c).")
        stories = {k: v for k, v in stories.items() if k not in (0, 1, 3)}
    return lines + [f"gate {GATES[k]}: {text}" for k, text in stories.items() if text]


def _term_lines(wrong: Sequence[str], outcomes: dict, probes: Sequence[_Probe], rules=()) -> list[str]:
    """Group the wrong parts by the term probes they are right on; one line per group."""
    term_probes = [p for p in probes if p.meaning]
    groups: dict[tuple, list[str]] = {}
    for part in wrong:
        key = tuple(p.name for p in term_probes
                    if p.name in outcomes and outcomes[p.name].error is None and _part_right(outcomes[p.name], part)
                    and not outcomes[p.name].degenerate(part))
        if key:
            groups.setdefault(key, []).append(part)
    lines = []
    by_name = {p.name: p for p in term_probes}
    for key, parts in groups.items():
        meanings = []
        for names, text in rules:
            if all(n in key for n in names):
                meanings.append(text)
                break
        if not meanings:
            meanings = [by_name[n].meaning for n in key][:3]
        whats = _and([by_name[n].what for n in key])
        lines.append(f"{_and(parts)}: right with {whats}, wrong in the full case. So {'; or '.join(meanings)}.")
    return lines


def _part_right(outcome: _Outcome, part: str) -> bool:
    if part.startswith("δ"):
        return outcome.block_right(GATES.index(part[1:]))
    return outcome.right(part)


def _probe_section(lines: Sequence[str]) -> str:
    lines = [ln for ln in lines if ln]
    if not lines:
        return ""
    return "Probe cases (the fixed case again, each time with one part switched off):\n" + "\n".join(
        f"- {ln}" for ln in lines)


def _backward_notes(got: dict, exp: dict, judged: Sequence[str], outcomes: dict, probes, *, step: bool,
                    explained: bool, rules=()) -> list[str]:
    """Facts (gate blocks) and, when no catalogued mistake matched, what the probes show."""
    status = _block_status(got, exp, GRAD_TOL)
    notes = [_blocks_text(status) if "dW" in judged else ""]
    if explained:
        return notes
    wrong_outputs = [n for n in judged if n in exp and not (n in got and got[n].shape == exp[n].shape and
                     float(scaled_rel_error(got[n], exp[n]).max(initial=0)) <= GRAD_TOL)]
    lines = [_blocks_inference(status, step) if "dW" in judged else ""]
    both = []
    if status is not None and "dW" in judged:
        wrong_W, wrong_b = status[0], status[1]
        both = [k for k in wrong_W if k in wrong_b]
        t1 = outcomes.get("T1")
        if not step and t1 is not None and t1.error is None and "dW" in t1.got:
            roots = [k for k in both if not t1.block_right(k)]
            carried = [k for k in both if k not in roots]
            if roots and carried:
                lines.append(f"the blocks of {_and([GATES[k] for k in carried])} are right for T = 1 and wrong only "
                             f"for longer sequences: they get the error of {_and([GATES[k] for k in roots])} "
                             f"through the gradients carried back between the steps.")
            both = roots
        lines += _gate_lines(both, outcomes)
        if step and not wrong_W and not wrong_b and ({"dx", "dh_prev"} & set(wrong_outputs)):
            lines.append("δ is right (dW and db are), so the error is in dz = δ @ W or its split: "
                         "dh_prev = dz[:, :H], dx = dz[:, H:].")
        if step and "dc_prev" in wrong_outputs and not {0, 1, 3} & (set(wrong_W) | set(wrong_b)):
            lines.append("dc_total is right (δi, δf and δg are), so dc_prev = dc_total ⊙ f is wrong: the cell "
                         "gradient passes back through the forget gate only.")
    parts = [n for n in wrong_outputs if n not in ("dW", "db")] + [f"δ{GATES[k]}" for k in both]
    if status is None:
        parts += [n for n in wrong_outputs if n in ("dW", "db")]
    else:  # an array wrong in a block where the other one is right: δ is right there, the product or sum is not
        parts += [n for n, mine, other in (("dW", status[0], status[1]), ("db", status[1], status[0]))
                  if n in wrong_outputs and any(k not in other for k in mine)]
    lines = _term_lines(parts, outcomes, probes, rules) + lines
    return notes + [_probe_section(lines)]


def _forward_notes(got: dict, exp: dict, outcomes: dict, probes, cache_gates: dict | None, *,
                   explained: bool) -> list[str]:
    wrong = [n for n in ("h", "c", "Hs") if n in exp and not (n in got and got[n].shape == exp[n].shape and
             float(scaled_rel_error(got[n], exp[n]).max(initial=0)) <= VALUE_TOL)]
    notes = []
    if cache_gates:
        bad = [k for k in GATES if not cache_gates[k]]
        if bad:
            notes.append(f"In your cache, the gate{'s' if len(bad) > 1 else ''} {_and(bad)} "
                         f"{'are' if len(bad) > 1 else 'is'} wrong"
                         f"{' and ' + _and([k for k in GATES if cache_gates[k]]) + ' right' if len(bad) < 4 else ''}"
                         f" (the gates are computed first: look there).")
        elif wrong:
            notes.append("In your cache the four gates i, f, o, g are right, so the mistake is in "
                         "c = f ⊙ c_prev + i ⊙ g or h = o ⊙ tanh(c).")
    if explained:
        return notes
    lines = []
    if "h" in wrong and "c" not in wrong:
        lines.append("c is right, so the mistake is in h = o ⊙ tanh(c): the output gate o = σ(a[:, 2H:3H]) or "
                     "the tanh of the new cell state.")
        wrong = ["h"]
    elif "h" in wrong:
        wrong = ["c"]  # h follows from c: explain c
    lines += _term_lines(wrong, outcomes, probes)
    return notes + [_probe_section(lines)]


def _cache_gates(cache, case: dict):
    """Which gates of the learner's cache are right, when it has the prescribed layout (else None)."""
    if not isinstance(cache, (tuple, list)) or len(cache) != 9:
        return None
    _, caches = lstm_step_caches({**case, "X": case["X"][:1]})
    ref = caches[0]
    out = {}
    for j, k in enumerate(GATES):
        arr = _plain(cache[3 + j])
        if arr is None or arr.shape != ref[3 + j].shape:
            return None
        out[k] = float(scaled_rel_error(arr, ref[3 + j]).max(initial=0)) <= VALUE_TOL
    return out


def _probe_failure(func: str, outcomes: dict, probes: Sequence[_Probe], judged: Sequence[str]) -> str:
    """Message for a function right on the full cases but wrong on a probe ('' if every probe is right)."""
    for p in probes:
        o = outcomes.get(p.name)
        if o is None:
            continue
        if o.error is not None:
            return (f"{func}: right on the full cases, but with {p.what} it fails: {o.error}"
                    f"\n(Checked on fixed inputs: {o.context}.)")
        bad = [n for n in judged if n in o.expected and not o.right(n)]
        if bad:
            return (f"{func}: right on the full cases, but {_and(bad)} {'are' if len(bad) > 1 else 'is'} wrong "
                    f"with {p.what}: {p.if_fails}\n(Checked on fixed inputs: {o.context}.)")
    return ""


# ---------------------------------------------------------------------------
# the hidden test cells
# ---------------------------------------------------------------------------

def _fixed_cases() -> list[dict]:
    """Cases judged on every run besides the random draw, so that regrading the same code always covers
    them: the smallest sizes (T = B = 1), and a sequence of typical sizes (T=6, B=2, D=5, H=4)."""
    smallest = lstm_case(np.random.default_rng(20261206), sizes={"T": 1, "B": 1, "D": 3, "H": 2})
    typical = lstm_case(np.random.default_rng(20260802))
    return [smallest, typical]


#: Length of the sequence the probes of the sequence cells are made from (the typical case's first steps).
PROBE_T = 3


def _cases(rng, probes, probe_T: int | None = None) -> dict:
    """The random case, the fixed cases, and the probes (made from the typical fixed case, for the
    sequence cells from its first ``probe_T`` steps)."""
    main = [lstm_case(rng)] + _fixed_cases()
    base = main[-1] if probe_T is None else _resized({**main[-1], "X": main[-1]["X"][:probe_T],
                                                      "dHs": main[-1]["dHs"][:probe_T]})
    return {"main": main, "probes": [_resized(p.make(base)) for p in probes]}


def _step_args(c):
    return (c["X"][0], c["h0"], c["c0"], c["W"], c["b"])


def _step_backward_args(c):
    _, caches = lstm_step_caches({**c, "X": c["X"][:1]})
    return (c["dHs"][0], c["dc"], caches[0])


def _sequence_args(c):
    return (c["X"], c["h0"], c["c0"], c["W"], c["b"])


def _truth_step_forward(c):
    h, cc, _ = _ref.lstm_step_forward(*_step_args(c))
    return {"h": h, "c": cc}


def _truth_step_backward(c):
    return dict(zip(_STEP_BACKWARD_NAMES, _ref_step_backward(*_step_backward_args(c))))


def _truth_forward(c):
    return {"Hs": _ref.lstm_forward(*_sequence_args(c))[0]}


def _truth_backward(c):
    Hs, cache = _ref.lstm_forward(*_sequence_args(c))
    return dict(zip(_BACKWARD_NAMES, _ref.lstm_backward(c["dHs"], cache)))


def _got(names, outputs) -> dict:
    out = {}
    for n, v in zip(names, outputs):
        arr = _plain(v)
        if arr is not None:
            out[n] = arr
    return out


def _step_judge(func, names, arg_names, probes, truth, verdict_of, notes_of, tol):
    """The judge of a step cell: every full case, then the probes; a failure explained by facts and probes."""
    def judge_(ctx, records):
        main, pcases = ctx["main"], ctx["probes"]
        n = len(main)
        outcomes = _outcomes(probes, pcases, records, range(n, n + len(pcases)), func, names, truth, tol)
        warning = modified_warning(records, func, arg_names)
        for i, case in enumerate(main):
            outputs = returned(records, i, func, names)
            v = verdict_of(case, outputs)
            if not v.passed:
                extra = notes_of(case, outputs, outcomes, "Likely cause:" in v.message)
                return _finish(v, _context(case), extra + [warning])
        failed = _probe_failure(func, outcomes, probes, names[:len(truth(pcases[0]))])
        if failed:
            return Verdict(False, failed)
        if warning:
            return Verdict(False, warning)
        return _finish(verdict_of(main[0], returned(records, 0, func, names)), _context(main[0]))
    return judge_


def _sf_notes(case, outputs, outcomes, explained):
    exp = _truth_step_forward(case)
    return _forward_notes(_got(["h", "c"], outputs[:2]), exp, outcomes, STEP_FORWARD_PROBES,
                          _cache_gates(outputs[2], case), explained=explained)


def _sb_notes(case, outputs, outcomes, explained):
    exp = _truth_step_backward(case)
    return _backward_notes(_got(_STEP_BACKWARD_NAMES, outputs), exp, _STEP_BACKWARD_NAMES, outcomes,
                           STEP_BACKWARD_PROBES, step=True, explained=explained,
                           rules=((("dc0", "dh0"), "dc and the gradient through h are each handled right on "
                                   "their own but combined wrongly: dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c), a "
                                   "sum, feeds di, df, dg and dc_prev"),))


def _build_step(args_of, probes):
    def build(rng):
        ctx = _cases(rng, probes)
        return [args_of(c) for c in ctx["main"] + ctx["probes"]], ctx
    return build


STEP_FORWARD = Check(
    "test_lstm_step_forward", "lstm_step_forward",
    build=_build_step(_step_args, STEP_FORWARD_PROBES),
    judge=_step_judge("lstm_step_forward", ["h", "c", "cache"], ["x", "h_prev", "c_prev", "W", "b"],
                      STEP_FORWARD_PROBES, _truth_step_forward,
                      lambda c, out: _verdict_step_forward(c, out[0], out[1]), _sf_notes, VALUE_TOL))

STEP_BACKWARD = Check(
    "test_lstm_step_backward", "lstm_step_backward",
    build=_build_step(_step_backward_args, STEP_BACKWARD_PROBES),
    judge=_step_judge("lstm_step_backward", _STEP_BACKWARD_NAMES, ["dh", "dc", "cache"], STEP_BACKWARD_PROBES,
                      _truth_step_backward, _verdict_step_backward, _sb_notes, GRAD_TOL))


# ---------------------------------------------------------------------------
# the sequence cells: each case twice, the second time with an oracle for the step function
# ---------------------------------------------------------------------------

def _forward_oracle(case: dict):
    """The call with an oracle for ``lstm_step_forward``, and the labels of its known values."""
    hs, cs, caches = _chain(case)
    X, W, b = case["X"], case["W"], case["b"]
    T = X.shape[0]
    entries = [((X[t], hs[t], cs[t], W, b), (hs[t + 1], cs[t + 1], caches[t])) for t in range(T)]
    known, labels = [], []
    for value, label in ([(X[t], ("X", t)) for t in range(T)] + [(hs[s], ("h", s)) for s in range(T + 1)]
                         + [(cs[s], ("c", s)) for s in range(T + 1)]
                         + [(W, ("W",)), (W.T, ("W.T",)), (b, ("b",)), (np.zeros_like(case["h0"]), ("zeros",))]):
        known.append(value)
        labels.append(label)
    return with_oracle(_sequence_args(case), "lstm_step_forward", entries, known=known), labels


def _backward_oracle(case: dict, caches: list):
    """The call with an oracle for ``lstm_step_backward``, and the labels of its known values."""
    dHs = case["dHs"]
    T = len(caches)
    chain = _backward_chain(dHs, caches)
    entries = [(inputs, out) for _, inputs, out, _ in chain]
    _, (dh_first, _, cache_first), out_first, _ = chain[0]
    entries += [((dh_first, 0.0, cache_first), out_first), ((dh_first, 0, cache_first), out_first)]
    pairs = [(inputs[0], ("dh_in", t)) for t, inputs, _, _ in chain] + [(dHs[t], ("dHs", t)) for t in range(T)]
    pairs.append((np.zeros_like(caches[0][1]), ("zeros",)))
    pairs += [(dh_next, ("dh_next", t)) for t, _, _, dh_next in chain if t < T - 1]
    pairs += [(inputs[1], ("dc_in", t)) for t, inputs, _, _ in chain if t < T - 1]
    pairs += [(caches[t][7], ("cache_c", t)) for t in range(T)]  # the new cell state names a cache's step
    return (with_oracle((dHs, caches), "lstm_step_backward", entries, known=[v for v, _ in pairs]),
            [lab for _, lab in pairs])


def _leaf_labels(orc: dict, labels: list):
    leaves = orc.get("miss_leaves")
    if not isinstance(leaves, np.ndarray):
        return None
    return [labels[int(i)] if 0 <= int(i) < len(labels) else None for i in leaves.ravel()]


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _state_text(kind: str, s: int) -> str:
    return f"{kind}0" if s == 0 else f"{kind}⁽{str(s).translate(_SUPERSCRIPT)}⁾"


def _sentences(where: str, problems: list) -> str:
    problems = [p.rstrip(".") for p in problems] or ["the arguments are not the ones a correct loop passes"]
    return f"{where}: " + "; ".join(problems) + "."


def _miss_forward(orc: dict, labels: list, T: int) -> str:
    n = int(orc.get("miss_call", 0))
    lab = _leaf_labels(orc, labels)
    if lab is None or n < 1:
        return "its calls of lstm_step_forward do not get the arguments a correct loop passes."
    if n > T:
        return f"lstm_step_forward is called more than T={T} times (call {n}): once per step is enough."
    t = n - 1
    where = f"at t={n} (call {n} of lstm_step_forward)"
    if len(lab) != 5:
        return (f"{where} it gets {len(lab)} arguments (counting the arrays inside tuples); it takes "
                f"(x, h_prev, c_prev, W, b).")
    problems = []
    if lab[0] != ("X", t):
        if lab[0] and lab[0][0] == "X":
            problems.append(f"x is X[{lab[0][1]}] where X[{t}] belongs"
                            + (" (X[-1]: an index t − 1 at t = 0, or a loop that runs backwards in time?)"
                               if n == 1 and lab[0][1] == T - 1 else ""))
        else:
            problems.append(f"x is not X[{t}]")
    if lab[1] == ("c", t) and lab[2] == ("h", t):
        problems.append("h_prev and c_prev are swapped: the step takes (x, h_prev, c_prev, W, b) and returns h, c "
                        "in that order")
    else:
        for pos, kind in ((1, "h"), (2, "c")):
            arg = "h_prev" if kind == "h" else "c_prev"
            if lab[pos] == (kind, t):
                continue
            if lab[pos] == (kind, 0) and t > 0:
                problems.append((NOT_CARRIED_H if kind == "h" else NOT_CARRIED_C)[:-1]
                                + f" (at t={n}, {arg} is {kind}0 where {_state_text(kind, t)} belongs)")
            elif lab[pos] and lab[pos][0] in ("h", "c"):
                problems.append(f"{arg} is {_state_text(*lab[pos])} where {_state_text(kind, t)} belongs")
            elif lab[pos] == ("zeros",):
                problems.append(f"{arg} is zeros where {_state_text(kind, t)} belongs")
            else:
                problems.append(f"{arg} is not {_state_text(kind, t)}: pass the {kind} the previous call returned "
                                f"(or {kind}0 at t=1) unchanged")
    if lab[3] != ("W",):
        problems.append("W is " + ("W.T" if lab[3] == ("W.T",) else "not the W given to lstm_forward")
                        + ": pass W unchanged")
    if lab[4] != ("b",):
        problems.append("b is not the b given to lstm_forward: pass b unchanged")
    return _sentences(where, problems)


def _miss_backward(orc: dict, labels: list, T: int) -> str:
    n = int(orc.get("miss_call", 0))
    lab = _leaf_labels(orc, labels)
    if lab is None or n < 1:
        return "its calls of lstm_step_backward do not get the arguments a correct loop passes."
    if n > T:
        return f"lstm_step_backward is called more than T={T} times (call {n}): once per step is enough."
    e = T - n
    where = f"at t={e + 1} (call {n} of lstm_step_backward; a backward loop starts at t=T={T})"
    if len(lab) != 11:
        return (f"{where} it gets {len(lab)} arrays; it takes (dh, dc, cache) with cache = caches[t], the tuple "
                f"of 9 arrays, as given.")
    cache = lab[9]
    if cache != ("cache_c", e):
        if cache and cache[0] == "cache_c":
            if n == 1 and cache[1] == 0:
                return (f"{where}: the loop walks forwards in time (its first call uses caches[0]); backpropagation "
                        f"starts at the last step, t=T, with caches[T−1], and goes down to t=1.")
            return f"{where}: the cache is caches[{cache[1]}] where caches[{e}] belongs."
        return f"{where}: the cache is not caches[{e}] as given: pass the tuple unchanged."
    problems = []
    if lab[0] != ("dh_in", e):
        if lab[0] == ("dHs", e):
            problems.append(f"dh is dHs[{e}] alone: " + NO_H_CARRY)
        elif lab[0] == ("dh_next", e):
            problems.append(f"dh is only the carried gradient: dHs[{e}] is not added (dh = dHs[t] + dh_next)")
        elif lab[0] and lab[0][0] in ("dh_in", "dHs"):
            problems.append(f"dh is the one of t={lab[0][1] + 1} where t={e + 1} belongs")
        else:
            problems.append("dh is not dHs[t] + dh_next, with dh_next the dh_prev returned by the call for t+1")
    want_dc = ("zeros",) if e == T - 1 else ("dc_in", e)
    if lab[1] != want_dc:
        if lab[1] == ("zeros",):
            problems.append(f"dc is zeros where the dc_prev returned by the call for t+1 belongs: {NO_CELL_CARRY}")
        elif lab[1] and lab[1][0] in ("dh_next", "dh_in", "dHs"):
            problems.append("dc is a gradient of h: dh_next and dc_next are mixed up (the call is step(dh, dc, cache))")
        else:
            problems.append("dc is not the dc_prev returned by the call for t+1 (zeros at t=T)")
    return _sentences(where, problems)


def _oracle_record(rec) -> dict:
    orc = rec.get("objects", {}).get("oracle")
    return orc if isinstance(orc, dict) else {}


def _oracle_calls(rec) -> int:
    n = _oracle_record(rec).get("calls", 0)
    return int(n) if isinstance(n, (int, np.integer)) and not isinstance(n, bool) else 0


def _try_returned(records, index, func, names):
    try:
        return returned(records, index, func, names), None
    except _Failure as f:
        return None, str(f)


def _close(a, b, tol) -> bool:
    a, b = _plain(a), _plain(b)
    return a is not None and b is not None and a.shape == b.shape and (
        a.size == 0 or float(scaled_rel_error(a, b).max()) <= tol)


class _Sequence(NamedTuple):
    """How to judge one sequence cell."""
    func: str
    helper: str
    names: list
    judged: tuple
    arg_names: list
    probes: tuple
    truth: Callable
    verdict: Callable        # (case, outputs, loop_only, memo) -> Verdict without context
    notes: Callable          # (case, outputs, outcomes, explained) -> list of lines
    miss: Callable           # (oracle record, labels, T) -> text
    tol: float
    loop_bugs: Callable      # case -> [outputs of a loop mistake with every step computed right, ...]
    helper_cell: str         # grade_id of the step function's own cell
    composes: Callable       # (case, primary record, outputs or None, judged) -> the own run composes the step


def _step_verdict(s: _Sequence, records, indices) -> bool | None:
    """The verdict of the learner's step function's own cell, when the grading process passes it (else None)."""
    for i in indices:
        cells = records[i].get("cells") or {}
        if s.helper_cell in cells:
            return bool(cells[s.helper_cell])
    return None


def _same(a, b) -> bool:
    """Exactly the same plain array (a loop hands a step's results on unchanged)."""
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
            and a.dtype.kind in "fiu" and bool(np.array_equal(a, b)))


def _near(a, b) -> bool:
    return _close(a, b, 1e-12)


def _same_record_run(records, P: int, R: int, s) -> bool:
    """The learner's plain run and their recorded run gave the same result (the same function on the same
    inputs must; one that behaves differently when its step is observed is not credited)."""
    if R is None or R >= len(records):
        return False
    a, ea = _try_returned(records, P, s.func, s.names)
    b, eb = _try_returned(records, R, s.func, s.names)
    if (a is None) != (b is None):
        return False
    if a is None:
        return True
    return all(isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape == y.shape
               and bool(np.array_equal(x, y)) for name, x, y in zip(s.names, a, b) if name in s.judged)


def _trace(rec: dict, name: str) -> list:
    trace = (rec.get("observed") or {}).get(name, [])
    return [c for c in trace if isinstance(c, dict)] if isinstance(trace, list) else []


def _composes_forward(case: dict, rec: dict, outputs, judged) -> bool:
    """Did the learner's own run of lstm_forward feed their step what a correct loop feeds it (X[t], the h and c
    their step returned last, W, b) and store the h it returned? Read from the step calls the kernel recorded."""
    trace = _trace(rec, "lstm_step_forward")
    X, h0, c0, W, b = _sequence_args(case)
    T = X.shape[0]
    if outputs is None:  # the run stopped: credited only if it stopped in the first call of the step
        return (len(trace) == 1 and trace[0].get("error") is not None and len(trace[0].get("args") or ()) == 5
                and all(_same(a, e) for a, e in zip(trace[0]["args"], (X[0], h0, c0, W, b))))
    if len(trace) != T:
        return False
    h, c = h0, c0
    for t, call in enumerate(trace):
        args, value = call.get("args") or (), call.get("value")
        if call.get("error") is not None or len(args) != 5 or not all(
                _same(a, e) for a, e in zip(args, (X[t], h, c, W, b))):
            return False
        if not isinstance(value, (tuple, list)) or len(value) < 2:
            return False
        h, c = value[0], value[1]
        if not _near(outputs[0][t] if isinstance(outputs[0], np.ndarray) and len(outputs[0]) > t else None, h):
            return False
    return True


def _composes_backward(case: dict, rec: dict, outputs, judged) -> bool:
    """Did the learner's own run of lstm_backward call their step for t = T … 1 with (dHs[t] + the dh_prev and
    the dc_prev their step returned last, caches[t]) and combine the results as a correct loop does?"""
    trace = _trace(rec, "lstm_step_backward")
    dHs = case["dHs"]
    _, caches = lstm_step_caches(case)
    T = len(caches)

    def cache_ok(arg, t):
        return isinstance(arg, (tuple, list)) and len(arg) == 9 and all(_same(a, e) for a, e in zip(arg, caches[t]))

    def zero(v):
        return (isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0) or (
            isinstance(v, np.ndarray) and v.shape == dHs[0].shape and not v.any())
    if outputs is None:  # the run stopped: credited only if it stopped in the first call of the step
        args = trace[0].get("args") or () if len(trace) == 1 else ()
        return (len(trace) == 1 and trace[0].get("error") is not None and len(args) == 3
                and _near(args[0], dHs[T - 1]) and zero(args[1]) and cache_ok(args[2], T - 1))
    if len(trace) != T:
        return False
    try:
        dX, dh0, dc0, dW, db = outputs
        dh_next = dc_next = None
        sums = [0.0, 0.0]
        for j, call in enumerate(trace):
            t = T - 1 - j
            args, value = call.get("args") or (), call.get("value")
            if call.get("error") is not None or len(args) != 3 or not cache_ok(args[2], t):
                return False
            if not (_near(args[0], dHs[t]) if dh_next is None else _near(args[0], dHs[t] + dh_next)):
                return False
            if not (zero(args[1]) if dc_next is None else _same(args[1], dc_next)):
                return False
            if not isinstance(value, (tuple, list)) or len(value) != 5:
                return False
            if "dX" in judged and not _near(dX[t], value[0]):
                return False
            dh_next, dc_next = np.asarray(value[1], dtype=np.float64), value[2]
            sums = [sums[0] + np.asarray(value[3], dtype=np.float64), sums[1] + np.asarray(value[4], dtype=np.float64)]
        wanted = {"dh0": dh_next, "dc0": dc_next, "dW": sums[0], "db": sums[1]}
        got = {"dh0": dh0, "dc0": dc0, "dW": dW, "db": db}
        return all(_close(got[k], wanted[k], 1e-9) for k in wanted if k in judged)
    except (TypeError, ValueError, IndexError):
        return False


def _blame_denied(s: _Sequence, step_verdict: bool | None, composed: bool) -> str:
    """Why a loop that is right with the oracle does not keep its points ('' when it does): the step function
    must fail its own cell, and the learner's own run must really compose it as a correct loop does."""
    if step_verdict is not False:
        why = ("your " + s.helper + " passes its own cell" if step_verdict else
               "nothing shows that your " + s.helper + " is wrong (its own cell was not graded)")
        return (f"With a correct {s.helper} standing in for yours the outputs are right, but {why}, so the wrong "
                f"outputs of your own run are {s.func}'s: the loop gives different results depending on the step "
                f"function it is handed.")
    if not composed:
        return (f"With a correct {s.helper} standing in for yours the outputs are right, but with yours, {s.func} "
                f"does not use its results as a correct loop would (the calls it makes, or how it combines what "
                f"they return), so this cell cannot be credited to {s.helper}'s mistake.")
    return ""


def _is_loop_bug(s: _Sequence, case: dict, outputs) -> bool:
    """Whether ``outputs`` are exactly those of a catalogued loop mistake made with a correct step function."""
    got = _got(s.names, outputs)
    for variant in s.loop_bugs(case):
        if all(n in got and n in variant and got[n].shape == variant[n].shape and
               float(scaled_rel_error(got[n], variant[n]).max(initial=0)) <= BUG_MATCH_TOL for n in s.judged):
            return True
    return False


#: Probes of the sequence cells that also run with the oracle (they locate a mistake of the loop itself);
#: the gate probes run once, without it (they locate a mistake of a step computed inside the loop).
LOOP_PROBES = ("T1", "Wh0", "fshut", "B1")


def _sequence_build(spec_args):
    """Builder of a sequence cell: every full case and loop probe twice, the second time with the oracle."""
    def build(rng):
        probes = spec_args["probes"]
        ctx = _cases(rng, probes, PROBE_T)
        calls, labels, index = [], [], []
        for j, c in enumerate(ctx["main"] + ctx["probes"]):
            primary, oracle_call, lab = spec_args["calls"](c)
            # the learner's step recorded in a run of its own (see casefile.with_recorder)
            recorded = with_recorder(primary, oracle_call["__oracle__"]["helper"])
            k = j - len(ctx["main"])
            if k >= 0 and probes[k].name not in LOOP_PROBES:
                index.append((len(calls), None, len(calls) + 1))
                calls += [primary, recorded]
            else:
                index.append((len(calls), len(calls) + 1, len(calls) + 2))
                calls += [primary, oracle_call, recorded]
            labels.append(lab)
        ctx["labels"], ctx["index"] = labels, index
        return calls, ctx
    return build


def _sequence_judge(s: _Sequence):
    def judge_(ctx, records):
        main, pcases, index = ctx["main"], ctx["probes"], ctx["index"]
        n = len(main)
        # An argument changed in place counts against the loop when it happens with the oracle standing in
        # for the step function too (or when the step function is not called): else the step function did it,
        # and its own cell reports that.
        loop_calls_step = any(_oracle_calls(records[index[i][1]]) > 0 for i in range(n))
        own = [records[o] if o is not None and _oracle_calls(records[o]) > 0 else records[p] for p, o, _ in index
               if o is not None or not loop_calls_step]
        warning = modified_warning(own, s.func, s.arg_names)
        prim = _outcomes(s.probes, pcases, records, [t[0] for t in index[n:]], s.func, s.names, s.truth, s.tol)
        orc = _outcomes(s.probes, pcases, records, [t[1] for t in index[n:]], s.func, s.names, s.truth, s.tol)
        blamed = []
        step_verdict = _step_verdict(s, records, [index[i][0] for i in range(n)])
        for i, case in enumerate(main):
            memo: dict = {}
            P, O, R = index[i]
            T = case["sizes"]["T"]
            if _oracle_calls(records[O]) == 0:  # the loop does not call the step function (or never got there)
                outputs = returned(records, P, s.func, s.names)
                v = s.verdict(case, outputs, False, memo)
                if v.passed:
                    continue
                return _finish(v, _context(case), s.notes(case, outputs, prim, "Likely cause:" in v.message)
                               + [warning])
            p_out, p_err = _try_returned(records, P, s.func, s.names)
            if p_err is not None and records[P].get("error"):
                p_err = f"it raises {records[P]['error']}".rstrip(": ")
            if p_out is not None and s.verdict(case, p_out, False, memo).passed:
                continue
            o_out, o_err = _try_returned(records, O, s.func, s.names)
            if o_out is not None:
                v = s.verdict(case, o_out, True, memo)
                if v.passed:
                    denied = _blame_denied(s, step_verdict, _same_record_run(records, P, R, s)
                                           and s.composes(case, records[R], p_out, s.judged))
                    if not denied:
                        blamed.append(p_err)
                        continue
                    if p_out is None:
                        return Verdict(False, f"{s.func} {p_err}\n{denied}" + (f"\n{warning}" if warning else "")
                                       + f"\n(Checked on fresh inputs: {_context(case)}.)")
                    vp = s.verdict(case, p_out, False, memo)
                    return _finish(vp, _context(case), s.notes(case, p_out, prim, "Likely cause:" in vp.message)
                                   + [denied, warning])
                calls = _oracle_calls(records[O])
                extra = [f"(Found with a correct {s.helper} standing in for yours, so these are mistakes of "
                         f"{s.func}'s own loop.)"]
                if calls < T:
                    extra.append(f"{s.func} called {s.helper} {calls} time{'s' if calls != 1 else ''} for T={T} "
                                 f"steps: a correct loop calls it once per step.")
                if p_err is not None:
                    extra.append(f"With your own {s.helper}: {p_err}")
                elif all(_close(a, b, s.tol) for a, b, nm in zip(p_out, o_out, s.names) if nm in s.judged):
                    extra.append(f"With your own {s.helper} the results are the same, so it is right on these "
                                 f"inputs: the loop alone is at fault.")
                else:
                    extra.append(f"Your {s.helper} is wrong too (its own cell says how); the diagnosis above is of "
                                 f"the loop alone.")
                return _finish(v, _context(case), extra + s.notes(case, o_out, orc, "Likely cause:" in v.message)
                               + [warning])
            record = _oracle_record(records[O])
            if int(record.get("misses", 0) or 0) > 0:
                text = (f"{s.func}: the loop passes {s.helper} arguments a correct loop would not pass (found by "
                        f"running it with a correct {s.helper} standing in for yours, which answers only the calls "
                        f"a correct loop makes) — " + s.miss(record, ctx["labels"][i], T))
                if p_out is not None and _is_loop_bug(s, case, p_out):
                    text += f"\nYour own {s.helper} is right on these inputs: only the loop is wrong."
                else:
                    text += f"\n(Whether your {s.helper} is right as well is graded in its own cell.)"
            else:
                text = f"{s.func}, run with a correct {s.helper} standing in for yours, fails: {o_err}"
            return Verdict(False, text + (f"\n{warning}" if warning else "") + f"\n(Checked on fresh inputs: "
                                                                              f"{_context(case)}.)")
        effective = {}
        for j, p in enumerate(s.probes):
            O = index[n + j][1]
            right = all(prim[p.name].right(nm) for nm in s.judged)
            P, R = index[n + j][0], index[n + j][2]
            own_out = None if prim[p.name].error is not None else returned(records, P, s.func, s.names)
            credited = (not right and step_verdict is False and _same_record_run(records, P, R, s)
                        and s.composes(pcases[j], records[R], own_out, s.judged))
            if O is None:  # a gate probe: a mistake there is the step function's when the loop calls it
                if right or not loop_calls_step or not credited:
                    effective[p.name] = prim[p.name]
                continue
            used = _oracle_calls(records[O]) > 0
            if not right and used and all(orc[p.name].right(nm) for nm in s.judged):
                denied = "" if credited else _blame_denied(s, step_verdict, False)
                if denied:
                    return Verdict(False, f"{s.func}: wrong with {p.what}. {denied}"
                                          f"\n(Checked on fixed inputs: {prim[p.name].context}.)")
                blamed.append(None)
                effective[p.name] = orc[p.name]
            else:
                effective[p.name] = orc[p.name] if used and not right else prim[p.name]
        failed = _probe_failure(s.func, effective, s.probes, s.judged)
        if failed:
            return Verdict(False, failed)
        if warning:
            return Verdict(False, warning)
        checked = ", ".join(s.judged)
        if blamed:
            err = next((e for e in blamed if e), None)
            own = (f"with your own {s.helper} {err}" if err else f"with your own {s.helper} they do not")
            return Verdict(True, f"{s.func}: {checked} correct when a correct {s.helper} stands in for yours, so "
                                 f"your loop is right ({_context(main[0])}). But {own}: the errors come from "
                                 f"{s.helper}, which is graded in its own cell — fix it there.")
        return Verdict(True, f"{s.func}: {checked} correct ({_context(main[0])}).")
    return judge_


def _forward_calls(c):
    oracle_call, labels = _forward_oracle(c)
    return _sequence_args(c), oracle_call, labels


def _backward_calls(c):
    _, caches = lstm_step_caches(c)
    oracle_call, labels = _backward_oracle(c, caches)
    return (c["dHs"], caches), oracle_call, labels


def _forward_verdict(case, outputs, loop_only, memo):
    return _verdict_forward(case, outputs[0], loop_only)


_SEQ_FORWARD_RULES = ((("B1",), FORWARD_SEQUENCE_PROBES[3].meaning), (("Wh0",), FORWARD_SEQUENCE_PROBES[1].meaning),
                      (("fshut",), FORWARD_SEQUENCE_PROBES[2].meaning), (("T1",), FORWARD_SEQUENCE_PROBES[0].meaning))
_SEQ_BACKWARD_RULES = (
    (("Wh0", "fshut"), "each carried gradient is right when the other one is switched off, so the two are mixed "
                       "up: dh = dHs[t] + dh_next and dc = dc_next, each the matching output of the call for t+1"),
    (("B1",), B1_MEANING), (("Wh0",), BACKWARD_SEQUENCE_PROBES[1].meaning),
    (("fshut",), BACKWARD_SEQUENCE_PROBES[2].meaning), (("T1",), BACKWARD_SEQUENCE_PROBES[0].meaning))


def _forward_notes_rules(case, outputs, outcomes, explained):
    got, exp = _got(["Hs"], outputs[:1]), _truth_forward(case)
    if explained:
        return []
    wrong = [] if _close(outputs[0], exp["Hs"], VALUE_TOL) else ["Hs"]
    return [_probe_section(_term_lines(wrong, outcomes, FORWARD_SEQUENCE_PROBES, _SEQ_FORWARD_RULES))] if got else []


def _backward_verdict(part):
    def verdict(case, outputs, loop_only, memo):
        if "num" not in memo:
            memo["num"] = _numerical_backward(case)
        return _verdict_backward(case, outputs, part, loop_only, memo["num"])
    return verdict


def _backward_notes_seq(part):
    def notes(case, outputs, outcomes, explained):
        return _backward_notes(_got(_BACKWARD_NAMES, outputs), _truth_backward(case), LSTM_BACKWARD_PARTS[part],
                               outcomes, BACKWARD_SEQUENCE_PROBES, step=False, explained=explained,
                               rules=_SEQ_BACKWARD_RULES)
    return notes


def _helper_cells(*grade_ids) -> dict:
    """``helper_cells=`` for a sequence cell's :class:`Check`: its step function's cell, whose verdict the grading
    process hands to the judge (a loop right only with the oracle keeps its points only if that cell fails)."""
    return {"helper_cells": tuple(grade_ids)} if "helper_cells" in getattr(Check, "__dataclass_fields__", {}) else {}


FORWARD = Check(
    "test_lstm_forward", "lstm_forward",
    build=_sequence_build({"probes": FORWARD_SEQUENCE_PROBES, "calls": _forward_calls}),
    judge=_sequence_judge(_Sequence("lstm_forward", "lstm_step_forward", ["Hs", "caches"], ("Hs",),
                                    ["X", "h0", "c0", "W", "b"], FORWARD_SEQUENCE_PROBES, _truth_forward,
                                    _forward_verdict, _forward_notes_rules, _miss_forward, VALUE_TOL,
                                    lambda c: [v for _, v in _forward_variants(c, loop_only=True)],
                                    "test_lstm_step_forward", _composes_forward)),
    **_helper_cells("test_lstm_step_forward"))


def _backward_check(part: str) -> Check:
    return Check(
        f"test_lstm_backward_{part}", "lstm_backward",
        build=_sequence_build({"probes": BACKWARD_SEQUENCE_PROBES, "calls": _backward_calls}),
        judge=_sequence_judge(_Sequence("lstm_backward", "lstm_step_backward", _BACKWARD_NAMES,
                                        LSTM_BACKWARD_PARTS[part], ["dHs", "caches"], BACKWARD_SEQUENCE_PROBES,
                                        _truth_backward, _backward_verdict(part), _backward_notes_seq(part),
                                        _miss_backward, GRAD_TOL,
                                        lambda c: [_sequence_backward(c["dHs"], lstm_step_caches(c)[1], bug)
                                                   for bug in LOOP_BUGS],
                                        "test_lstm_step_backward", _composes_backward)),
        **_helper_cells("test_lstm_step_backward"))


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
    """Check the learner's ``lstm_forward(X, h0, c0, W, b) -> (Hs, caches)`` in this process.

    A second run of each case replaces ``lstm_step_forward`` (a global name of the learner's function)
    by an oracle: a right loop built on a wrong step function passes, and its message says so.
    """
    return FORWARD.grade(fn, rng=rng)


def grade_lstm_backward(fn, *, part: str = "all", rng=None) -> Verdict:
    """Check the learner's ``lstm_backward(dHs, caches) -> (dX, dh0, dc0, dW, db)`` in this process.

    ``caches`` is the list of step caches in the prescribed format, built by the checker;
    ``part`` is ``"parameters"`` (dW, db), ``"inputs"`` (dX, dh0, dc0) or ``"all"``.
    """
    if part not in LSTM_BACKWARD_PARTS:
        raise ValueError(f"grade_lstm_backward: part must be one of {sorted(LSTM_BACKWARD_PARTS)}, got {part!r}")
    return _backward_check(part).grade(fn, rng=rng)
