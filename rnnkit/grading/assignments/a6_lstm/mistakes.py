r"""a6-lstm: the classic mistakes of an LSTM step, forward and backward, as code that makes them.

:func:`step_forward` and :func:`step_backward` are one step written out, with options that each
reproduce one mistake a learner makes; the specs turn them into named :class:`Mistake` entries
(:func:`step_forward_mistakes`, :func:`step_backward_mistakes`), and the sequence specs run them
inside a correct loop. Gate blocks: rows i: 0..H−1, f: H..2H−1, o: 2H..3H−1, g: 3H..4H−1.
"""
from __future__ import annotations

import itertools

import numpy as np

from rnnkit.grading.engine import Mistake

from .cases import CACHE, GATE_NAMES, GATES, sigmoid, step_caches
from .gate_blocks import blocks_fact

GATE_ORDER = ("the gate order is wrong: the row blocks of W (and of dW, db) are i, f, o, g — "
              "W[:H] input gate, W[H:2H] forget gate, W[2H:3H] output gate, W[3H:] candidate g.")
#: Every wrong order of the four row blocks: perm[k] = the block a learner's gate k is taken from.
GATE_PERMS = [p for p in itertools.permutations(range(4)) if p != (0, 1, 2, 3)]


def perm_text(perm: tuple) -> str:
    """GATE_ORDER plus which gate is read from (or written to) which gate's rows."""
    moved = [f"{GATES[k]} in the rows of {GATES[perm[k]]}" for k in range(4) if perm[k] != k]
    return GATE_ORDER + " Yours has " + ", ".join(moved) + "."


def perm_name(perm: tuple) -> str:
    return "gate-order-" + "".join(GATES[p] for p in perm)


# ---------------------------------------------------------------------------
# forward
# ---------------------------------------------------------------------------

def step_forward(x, h_prev, c_prev, W, b, *, stack="hx", perm=None, g_act=np.tanh, forget=True, tanh_c=True,
                 sig=sigmoid):
    """One LSTM step with the given mistakes (none by default): ``h, c, (a, (i, f, o, g))``."""
    H = h_prev.shape[1]
    z = np.concatenate([h_prev, x] if stack == "hx" else [x, h_prev], axis=1)
    a = z @ W.T + b
    blocks = [a[:, k * H:(k + 1) * H] for k in range(4)]
    if perm is not None:
        blocks = [blocks[perm[k]] for k in range(4)]
    i, f, o, g = sig(blocks[0]), sig(blocks[1]), sig(blocks[2]), g_act(blocks[3])
    c = (f * c_prev if forget else c_prev) + i * g
    h = o * (np.tanh(c) if tanh_c else c)
    return h, c, (a, (i, f, o, g))


STEP_FORWARD_BUGS = {
    "stack-order": ("W acts on [h_prev, x] in that order: its first H columns multiply h_prev, the last D columns "
                    "multiply x.", {"stack": "xh"}),
    "g-not-tanh": ("the candidate g must use tanh (the three gates i, f, o use the sigmoid).", {"g_act": sigmoid}),
    "h-no-tanh": ("h = o ⊙ tanh(c): the tanh of the cell state is missing.", {"tanh_c": False}),
    "no-forget": ("the forget gate is missing from the cell update: c = f ⊙ c_prev + i ⊙ g.", {"forget": False}),
    "sigmoid-sign": ("the sigmoid has the wrong sign, σ(a) = 1 / (1 + exp(a)): the gates i, f and o are wrong and g "
                     "right. σ(a) = 1 / (1 + exp(−a)).", {"sig": lambda a: sigmoid(-a)}),
}


def forward_variants() -> list:
    """``[(name, text, options of step_forward)]``: every step mistake, the gate orders included."""
    out = [(name, text, opts) for name, (text, opts) in STEP_FORWARD_BUGS.items()]
    return out + [(perm_name(p), perm_text(p), {"perm": p}) for p in GATE_PERMS]


def _step_args(case):
    return case["X"][0], case["h0"], case["c0"], case["W"], case["b"]


def _wrong_cache(entries):
    def outputs(_case):
        cache = list(step_caches({**_case, "X": _case["X"][:1]})[0])
        _, _, (a, _) = step_forward(*_step_args(_case))
        H = _case["h0"].shape[1]
        for name, value in entries(a, H, cache).items():
            cache[CACHE.index(name)] = value
        return {"cache": tuple(cache)}
    return outputs


#: Caches that hold something else where the notebook prescribes a value (the backward step reads them).
CACHE_MISTAKES = (
    Mistake("cache-pre-activations",
            "the cache holds the gates' pre-activations a where their values i, f, o, g belong: the cache is "
            "(x, h_prev, c_prev, i, f, o, g, c, W) with the activated gates, which the backward step needs "
            "(σ′ = s(1 − s), tanh′ = 1 − g² are read from them).",
            _wrong_cache(lambda a, H, c: {k: a[:, j * H:(j + 1) * H] for j, k in enumerate(GATES)})),
    Mistake("cache-tanh-c", "the cache holds tanh(c) where the new cell state c belongs: the cache is "
            "(x, h_prev, c_prev, i, f, o, g, c, W) with c itself.",
            _wrong_cache(lambda a, H, c: {"c": np.tanh(c[7])})),
)


def step_forward_mistakes(case: dict) -> list:
    """The named mistakes of lstm_step_forward on ``case`` (its first step)."""
    out = [Mistake(name, text, lambda c, o=opts: dict(zip(("h", "c"), step_forward(*_step_args(c), **o)[:2])))
           for name, text, opts in forward_variants()]
    return out + list(CACHE_MISTAKES)


# ---------------------------------------------------------------------------
# backward
# ---------------------------------------------------------------------------

def _sigma_prime(s):
    return s * (1 - s)


def _derivatives(i, f, o, g):
    return {"i": _sigma_prime(i), "f": _sigma_prime(f), "o": _sigma_prime(o), "g": 1 - g * g}


def _upstream(dh, dc, cache, *, carry, tanh_c_prime, c_for_c_prev, do_c, dg_g):
    """``dc_total`` and the gradient of each gate's value (before its derivative), with the given mistakes."""
    x, h_prev, c_prev, i, f, o, g, c, W = cache
    tc = np.tanh(c)
    through_h = dh * o * ((1 - tc * tc) if tanh_c_prime else 1.0)
    dct = dc + through_h if carry else through_h
    return dct, {"i": dct * g, "f": dct * (c if c_for_c_prev else c_prev), "o": dh * (c if do_c else tc),
                 "g": dct * (g if dg_g else i)}


def step_backward(dh, dc, cache, *, carry=True, forget=True, deriv=None, tanh_c_prime=True, c_for_c_prev=False,
                  do_c=False, dg_g=False, perm=None, dw_stack="hx", dc_prev_no_h=False, swap_dx_dh=False,
                  transposed=False):
    """The gradients of one step (``{dx, dh_prev, dc_prev, dW, db}``) with the given mistakes.

    ``deriv``: gate -> ``fn(values) -> derivative`` replacing that gate's derivative, where ``values`` holds
    the cached gates ``i, f, o, g`` and ``a`` (the pre-activation rebuilt from the cache without b);
    ``perm``: the block j of δ holds the gradient of gate ``perm[j]`` (a wrong gate order)."""
    x, h_prev, c_prev, i, f, o, g, c, W = cache
    H = h_prev.shape[1]
    dct, up = _upstream(dh, dc, cache, carry=carry, tanh_c_prime=tanh_c_prime, c_for_c_prev=c_for_c_prev, do_c=do_c,
                        dg_g=dg_g)
    phi = _derivatives(i, f, o, g)
    if deriv:
        values = {"i": i, "f": f, "o": o, "g": g, "a": np.concatenate([h_prev, x], axis=1) @ W.T}
        phi.update({k: fn(values) for k, fn in deriv.items()})
    blocks = [up[k] * phi[k] for k in GATES]
    if perm is not None:
        blocks = [blocks[perm[j]] for j in range(4)]
    da = np.concatenate(blocks, axis=1)
    z = np.concatenate([h_prev, x] if dw_stack == "hx" else [x, h_prev], axis=1)
    dz = da @ W
    dc_prev = dct if not forget else (dc * f if dc_prev_no_h else dct * f)
    out = {"dx": dz[:, H:], "dh_prev": dz[:, :H], "dc_prev": dc_prev, "dW": da.T @ z, "db": da.sum(0)}
    if swap_dx_dh:
        out["dx"], out["dh_prev"] = dz[:, :H], dz[:, H:]
    if transposed:
        out["dW"] = out["dW"].T
    return out


def _rebuilt(k: int):
    """The derivative of gate ``k`` from the pre-activation rebuilt without b."""
    def fn(v):
        H = v["i"].shape[1]
        a = v["a"][:, k * H:(k + 1) * H]
        return 1 - np.tanh(a) ** 2 if k == 3 else _sigma_prime(sigmoid(a))
    return fn


def _one(_v):
    return 1.0


#: The gradient of each gate's value before its activation's derivative.
GATE_UPSTREAM = {"i": "di = dc_total ⊙ g", "f": "df = dc_total ⊙ c_(t−1)", "o": "do = dh ⊙ tanh(c)",
                 "g": "dg = dc_total ⊙ i"}
NO_CELL_CARRY = ("the cell-state carry is missing: the gradient dc arriving from step t+1 must be added to the one "
                 "that comes through h (dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c)).")
NO_FORGET_BWD = ("the forget gate is forgotten on the cell path: the gradient passed back to c_prev is "
                 "dc_total ⊙ f, not dc_total.")

STEP_BACKWARD_BUGS = {
    "no-cell-carry": (NO_CELL_CARRY, {"carry": False}),
    "no-forget-bwd": (NO_FORGET_BWD, {"forget": False}),
    "no-sigma-prime": ("σ′ is missing: the gradients of the pre-activations of i, f and o are multiplied by "
                       "σ′ = s(1 − s), where s is the gate's value.", {"deriv": {k: _one for k in "ifo"}}),
    "no-tanh-c-prime": ("tanh′ of the cell is missing: the gradient from h reaches c as dh ⊙ o ⊙ (1 − tanh²c).",
                        {"tanh_c_prime": False}),
    "no-g-tanh-prime": ("tanh′ of the candidate is missing: dg is multiplied by (1 − g²) before it reaches W.",
                        {"deriv": {"g": _one}}),
    "c-for-c-prev": ("df uses c_t where c_(t−1) belongs: the forget gate multiplies the previous cell state.",
                     {"c_for_c_prev": True}),
    "dc-prev-no-h": ("dc_prev = dc ⊙ f leaves out the gradient that comes through h: the cell gradient passed back "
                     "is dc_total ⊙ f with dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c), the same total that feeds di, "
                     "df and dg.", {"dc_prev_no_h": True}),
    "dx-dh-swapped": ("dx and dh_prev are swapped: dz = δ @ W splits as dh_prev = dz[:, :H] (the state comes first "
                      "in [h_prev, x]) and dx = dz[:, H:].", {"swap_dx_dh": True}),
    "dw-stack-order": ("dW's columns are in the wrong order: dW = δᵀ @ [h_prev, x] (state first, then input), the "
                       "layout of W.", {"dw_stack": "xh"}),
    "dw-transposed": ("dW is transposed: it has the shape of W, (4H, H+D), computed as δᵀ @ [h_prev, x].",
                      {"transposed": True}),
    "do-with-c": ("the mistake is in do = dh ⊙ tanh(c): the output gate's gradient uses c where tanh(c) belongs "
                  "(its derivative σ′ is right).", {"do_c": True}),
    "dg-with-g": ("the mistake is in dg = dc_total ⊙ i: the candidate's gradient uses g where i belongs (its "
                  "derivative tanh′ is right).", {"dg_g": True}),
    "derivatives-rebuilt": ("the gates' derivatives are computed from a pre-activation rebuilt from the cache "
                            "without b (the cache does not hold b), so they are wrong wherever b ≠ 0: read them "
                            "from the cached gate values, σ′ = s(1 − s) for s = i, f, o and tanh′ = 1 − g².",
                            {"deriv": {k: _rebuilt(j) for j, k in enumerate(GATES)}}),
}


def per_gate_variants() -> list:
    """``[(name, text, options of step_backward)]``: one gate's derivative missing, written wrongly, or taken
    from another gate."""
    out = []
    for gate in "ifo":
        name = GATE_NAMES[gate]
        out.append((f"no-sigma-prime-{gate}", f"σ′ of the {name} is missing: δ{gate} = d{gate} ⊙ {gate}(1 − {gate}).",
                    {"deriv": {gate: _one}}))
        out.append((f"sigma-prime-one-minus-{gate}", f"the derivative of the {name} vanishes where {gate} saturates, "
                    f"as it should, but has the wrong value in between: σ′ = {gate}(1 − {gate}), not 1 − {gate}.",
                    {"deriv": {gate: lambda v, s=gate: 1 - v[s]}}))
        for other in "ifo".replace(gate, ""):
            out.append((f"sigma-prime-{gate}-of-{other}", f"the block of {gate} vanishes when the "
                        f"{GATE_NAMES[other]} saturates, not when the {name} does: σ′ of {gate} is computed from "
                        f"{other}; δ{gate} = d{gate} ⊙ {gate}(1 − {gate}).",
                        {"deriv": {gate: lambda v, s=other: _sigma_prime(v[s])}}))
    out.append(("tanh-prime-one-minus-g", "the derivative of the candidate g vanishes where g saturates, as it "
                "should, but has the wrong value in between: tanh′ = 1 − g², not 1 − g.",
                {"deriv": {"g": lambda v: 1 - v["g"]}}))
    return out


def backward_variants() -> list:
    """``[(name, text, options of step_backward)]``: every step mistake, the gate orders included."""
    out = [(name, text, opts) for name, (text, opts) in STEP_BACKWARD_BUGS.items()]
    out += per_gate_variants()
    return out + [(perm_name(p), perm_text(p), {"perm": p}) for p in GATE_PERMS]


def with_block_facts(case: dict, variants: list, run, reference: dict) -> list:
    """Mistakes from ``[(name, text, options)]`` whose text ends with the gate-block fact of their outputs on
    ``case`` (which blocks of dW and db the mistake makes wrong); ``run(case, **options)`` computes them."""
    out = []
    for name, text, opts in variants:
        got = run(case, **opts)
        fact = blocks_fact(got, reference)
        out.append(Mistake(name, text + (" " + fact if fact else ""),
                           lambda c, got=got, o=opts: got if c is case else run(c, **o)))
    return out


def _first_step_backward(c, **opts):
    return step_backward(c["dHs"][0], c["dc"], step_caches({**c, "X": c["X"][:1]})[0], **opts)


def step_backward_mistakes(case: dict) -> list:
    """The named mistakes of lstm_step_backward on ``case`` (its first step), with their gate-block facts."""
    reference = _first_step_backward(case)
    return with_block_facts(case, backward_variants(), _first_step_backward, reference)
