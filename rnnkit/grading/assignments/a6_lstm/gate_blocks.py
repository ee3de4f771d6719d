"""a6-lstm: what the gate blocks of a learner's dW and db say about each gate's derivative.

The rows of dW and db are the gates i, f, o, g (H rows each). A gate's block is wrong in both when its δ is:
the probe cases with that gate saturated (its derivative ≈ 0, so the true block vanishes) and pinned (its
pre-activation one number, so its derivative is one number and the learner's block is a multiple of the true
one) tell a missing derivative from a wrong one, one taken from another gate, or a right derivative applied
to a wrong upstream gradient. Read from the learner's outputs on those cases (``explain`` of the specs): no
assumption on how the derivative is computed; where the gradients are right with b = 0 (the derivative
rebuilt from a pre-activation without b) the probe rules speak instead.
"""
from __future__ import annotations

import numpy as np

from rnnkit.grading.engine import GRAD_TOL, scaled_rel_error

from .cases import GATE_NAMES, GATES, PIN_AT, rows, sigmoid

#: The gradient of each gate's value before its activation's derivative.
GATE_UPSTREAM = {"i": "di = dc_total ⊙ g", "f": "df = dc_total ⊙ c_(t−1)", "o": "do = dh ⊙ tanh(c)",
                 "g": "dg = dc_total ⊙ i"}


def _derivative(k: str) -> tuple:
    """``(name, formula)`` of gate k's derivative: ("σ′", "f(1 − f)")."""
    return ("tanh′", "1 − g²") if k == "g" else ("σ′", f"{k}(1 − {k})")


def _value_and_slope(k: str) -> tuple:
    s = float(np.tanh(PIN_AT[k])) if k == "g" else float(sigmoid(PIN_AT[k]))
    return s, (1.0 - s * s if k == "g" else s * (1.0 - s))


def _arrays(out) -> dict | None:
    try:
        return {n: np.asarray(out[n], dtype=np.float64) for n in ("dW", "db")}
    except (KeyError, TypeError, ValueError):
        return None


def _block(arrs: dict, k: int, H: int) -> np.ndarray:
    return np.concatenate([arrs["dW"][k * H:(k + 1) * H].ravel(), arrs["db"][k * H:(k + 1) * H]])


class _Blocks:
    """The learner's dW, db on one case next to the truth, gate block by gate block."""

    def __init__(self, out, truth: dict):
        self.got, self.exp = _arrays(out), _arrays(truth)
        self.H = self.exp["db"].shape[0] // 4
        if self.got is not None and any(self.got[n].shape != self.exp[n].shape for n in ("dW", "db")):
            self.got = None

    def wrong(self) -> list:
        """Gates whose block is wrong in dW and in db."""
        if self.got is None:
            return []
        eW, eb = (scaled_rel_error(self.got[n], self.exp[n]) for n in ("dW", "db"))
        H = self.H
        return [k for k in range(4) if eW[k * H:(k + 1) * H].max() > GRAD_TOL and eb[k * H:(k + 1) * H].max() > GRAD_TOL]

    def vanishes(self, k: int) -> bool:
        scale = max(float(np.abs(self.exp[n]).max(initial=0)) for n in ("dW", "db"))
        return self.got is not None and float(np.abs(_block(self.got, k, self.H)).max(initial=0)) <= 1e-7 * scale

    def ratio(self, k: int):
        """``(r, constant)``: the learner's block k as r times the true one, and whether that fits everywhere."""
        if self.got is None:
            return None, False
        L, E = _block(self.got, k, self.H), _block(self.exp, k, self.H)
        ee = float(E @ E)
        if ee == 0.0:
            return None, False
        r = float(L @ E) / ee
        return r, float(np.abs(L - r * E).max()) <= 1e-6 * float(np.abs(E).max())


def _not_vanishing(g: str, name: str, derivative: tuple, pinned_at: tuple, fit: tuple) -> str:
    """Gate g's block does not vanish where g saturates: its derivative is missing, or wrong."""
    (d, formula, factor), (s, phi), (r, constant) = derivative, pinned_at, fit
    if constant and r is not None and abs(r * phi - 1.0) < 1e-6:
        return (f"{d} of the {name} is missing: δ{g} = d{g} ⊙ {factor}. (With {g} saturated its derivative is ≈ 0 and "
                f"the block must vanish; yours does not. With {g} pinned at {s:.3g} your block is {r:.3g}× the true "
                f"one, 1/{phi:.3g}: no derivative at all.)")
    if constant and r is not None:
        return (f"the derivative of the {name} is wrong: it must be {d} = {formula}, which is ≈ 0 where {g} saturates "
                f"(your block does not vanish there) and {phi:.3g} at {g} = {s:.3g}, where yours acts like "
                f"{r * phi:.3g}.")
    return (f"the block of {g} does not vanish where the {name} saturates (its derivative {d} = {formula} is ≈ 0 "
            f"there): the factor {factor} is missing from δ{g}, or something is added to δ{g} after it.")


def gate_story(k: int, sat: dict, pin: "_Blocks") -> tuple:
    """``(kind, text)`` for gate k's wrong block: kind "derivative" or "upstream" (a right derivative)."""
    g, name = GATES[k], GATE_NAMES[GATES[k]]
    d, formula = _derivative(g)
    factor = f"({formula})" if " " in formula else formula
    s, phi = _value_and_slope(g)
    own = sat[g].vanishes(k)
    like = [GATES[j] for j in range(4) if j != k and sat[GATES[j]].vanishes(k)]
    r, constant = pin.ratio(k)
    if not own and like:
        return "derivative", (f"the block of {g} vanishes when the {GATE_NAMES[like[0]]} saturates, not when the {name} "
                              f"does: δ{g} is computed with the derivative of {like[0]} (or holds the gradient of "
                              f"{like[0]}); δ{g} = d{g} ⊙ {factor}.")
    if not own:
        return "derivative", _not_vanishing(g, name, (d, formula, factor), (s, phi), (r, constant))
    if constant and r is not None and abs(r - 1.0) > 1e-6:
        return "derivative", (f"the derivative of the {name} vanishes where {g} saturates, as it should, but has the "
                              f"wrong value in between: at {g} = {s:.3g} it is {d} = {phi:.3g}, yours acts like "
                              f"{r * phi:.3g}.")
    return "upstream", (f"the derivative {d} = {formula} of the {name} is right (the block vanishes where {g} "
                        f"saturates); the mistake is in {GATE_UPSTREAM[g]}, the gradient of {g}'s value before it.")


def blocks_fact(got: dict, exp: dict) -> str:
    """'Gate blocks of dW and db (rows in the order i, f, o, g): both are wrong in the block of f (forget gate,
    rows 4..7); right in i, o and g.' for arrays ``got`` next to ``exp`` ('' when no block is wrong)."""
    wrong = {}
    for n in ("dW", "db"):
        err = scaled_rel_error(np.asarray(got[n], dtype=np.float64), exp[n])
        H = exp["db"].shape[0] // 4
        wrong[n] = [k for k in range(4) if err[k * H:(k + 1) * H].max() > GRAD_TOL]
    if not wrong["dW"] and not wrong["db"]:
        return ""

    def label(ks):
        names = [f"{GATES[k]} ({GATE_NAMES[GATES[k]].rsplit(' ', 1)[0]}, {rows(k, H)})" for k in ks]
        blocks = "block" + ("s" if len(ks) > 1 else "")
        return f"the {blocks} of " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])
    if wrong["dW"] == wrong["db"]:
        text = f"both are wrong in {label(wrong['dW'])}"
    else:
        text = "; ".join(f"{n} is " + (f"wrong in {label(wrong[n])}" if wrong[n] else "right") for n in ("dW", "db"))
    right = [GATES[k] for k in range(4) if k not in wrong["dW"] + wrong["db"]]
    tail = ("; right in " + (right[0] if len(right) == 1 else ", ".join(right[:-1]) + " and " + right[-1])) if right else ""
    return f"Gate blocks of dW and db (rows in the order i, f, o, g): {text}{tail}."


def _right(out, truth: dict) -> bool:
    """Every output the learner returned on a case equals the truth (the b = 0 probe's test)."""
    try:
        return all(np.allclose(np.asarray(out[n], dtype=np.float64), v, rtol=1e-6, atol=1e-9) for n, v in truth.items())
    except (KeyError, TypeError, ValueError):
        return False


def _story_text(wrong: list, full: "_Blocks", blocks: dict) -> str:
    """The stories of the wrong gate blocks ('' when they only say that several right derivatives multiply a wrong
    upstream gradient: the shared dc_total, which the probe rules read)."""
    sat = {g: blocks[f"sat_{g}"] for g in GATES}
    stories = [(k,) + gate_story(k, sat, blocks[f"pin_{GATES[k]}"]) for k in wrong]
    if len(stories) > 1 and not any(kind == "derivative" for _, kind, _ in stories):
        return ""
    where = ", ".join(f"{GATES[k]} ({rows(k, full.H)})" for k in wrong)
    return (f"the gate blocks of dW and db (rows in the order i, f, o, g) are wrong in {where}. "
            + " ".join(f"Gate {GATES[k]}: {text}" for k, _, text in stories))


def gate_explain(reference, *, sequence: bool):
    """``explain(cases, outputs)`` for a cell that grades dW and db: the story of each wrong gate block ('' when
    the blocks say nothing sharper than the probe rules). ``reference(case)``: the exact gradients;
    ``sequence``: blocks right for T = 1 only get their error through the carried gradients (not named)."""
    needed = [f"{kind}_{g}" for kind in ("sat", "pin") for g in GATES] + (["T1"] if sequence else [])

    def explain(cases, outputs) -> str:
        by_probe = {c["probe_name"]: (c, o) for c, o in zip(cases, outputs) if c.get("probe_name") and o is not None}
        if outputs[0] is None or any(n not in by_probe for n in needed):
            return ""
        if "b0" in by_probe and _right(by_probe["b0"][1], reference(by_probe["b0"][0])):
            return ""  # right with b = 0: the probe rule names the pre-activation rebuilt without b
        blocks = {n: _Blocks(by_probe[n][1], reference(by_probe[n][0])) for n in needed}
        full = _Blocks(outputs[0], reference(cases[0]))
        # in a sequence, the roots: blocks wrong in one step already (the others get their error carried back)
        wrong = [k for k in full.wrong() if not sequence or k in blocks["T1"].wrong()]
        return _story_text(wrong, full, blocks) if wrong else ""
    return explain
