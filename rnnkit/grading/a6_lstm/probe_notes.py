"""a6-lstm: what the outcomes on the probe cases say, as sentences for the feedback."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .._core import (GRAD_TOL, VALUE_TOL, Probe, _Failure, as_float_array, judged_error, returned,
                     within_tolerance)
from .cases import _context, _rows
from .diagnoses import GATES, GATE_NAMES, GATE_UPSTREAM
from .probes import _derivative, _derivative_value, _gate_value
from .variants import lstm_step_caches


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
        judged = {n: judged_error(a, expected[n], tol) for n, a in self.got.items()}
        self._err = {n: err for n, (err, _, _) in judged.items()}
        self._tol = {n: used for n, (_, used, _) in judged.items()}   # float32 outputs: their own tolerance
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
        return err is not None and (err.size == 0 or float(err.max()) <= self._tol[name])

    def _rows(self, name, k):
        H = self.expected["db"].shape[0] // 4
        return slice(k * H, (k + 1) * H)

    def block_right(self, k: int) -> bool:
        return all(n in self._err and float(self._err[n][self._rows(n, k)].max()) <= self._tol[n] for n in ("dW", "db"))

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
    (eW, tol_W, _), (eb, tol_b, _) = judged_error(got["dW"], exp["dW"], tol), judged_error(got["db"], exp["db"], tol)
    tol = max(tol_W, tol_b)  # float32 outputs: their own tolerance
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


def _term_lines(wrong: Sequence[str], outcomes: dict, probes: Sequence[Probe], rules=()) -> list[str]:
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
    wrong_outputs = [n for n in judged if n in exp and not (n in got and within_tolerance(got[n], exp[n], GRAD_TOL))]
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
    wrong = [n for n in ("h", "c", "Hs") if n in exp and not (n in got and within_tolerance(got[n], exp[n], VALUE_TOL))]
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
        out[k] = within_tolerance(arr, ref[3 + j], VALUE_TOL)
    return out


def _probe_failure(func: str, outcomes: dict, probes: Sequence[Probe], judged: Sequence[str]) -> str:
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
