"""Probes: fixed cases with one part of the computation switched off, to name the part at fault."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from .basics import Verdict


@dataclass(frozen=True)
class Probe:
    """A probe case of a check: inputs on which some terms of the computation cannot show a mistake.

    ``name`` says how the case differs (for messages, e.g. ``"h = 0 (tanh′ = 1)"``); ``off`` holds
    the keys of the terms (of a ``terms`` table: key -> what is wrong if that term is) that this case
    switches off. A mistake in term X leaves every probe with X off right, so a probe that fails
    rules out its ``off`` terms, and a probe that passes points at them (the fewer, the sharper).
    ``spec`` is the check's own recipe for building the case (sizes, which arrays are zeroed, ...).
    """
    name: str
    off: frozenset
    spec: object = field(default=None, compare=False)


def probe_conclusion(probes: Sequence[Probe], outcomes: Mapping[str, bool], terms: Mapping[str, str]) -> str:
    """' On probe cases: right with …; wrong with …. So <what is wrong>.' ('' without probe outcomes).

    ``outcomes`` maps probe names to passed (True) / failed (False); probes without an outcome are
    skipped. A term is a candidate when no failed probe switches it off; among candidates, those off
    in the passing probe that switches off the fewest terms are named (at most two), else nothing;
    when every probe fails, the one term that none of them switches off (if there is one) is named.
    """
    judged = [p for p in probes if p.name in outcomes]
    if not judged:
        return ""
    failing = [p for p in judged if not outcomes[p.name]]
    passing = [p for p in judged if outcomes[p.name]]
    text = " On probe cases (fixed inputs with parts switched off):"
    if passing:
        text += " right with " + "; ".join(p.name for p in passing)
    if failing:
        text += (";" if passing else "") + " wrong with " + "; ".join(p.name for p in failing)
    text += "."
    candidates = [t for t in terms if all(t not in p.off for p in failing)]
    score = {t: max((1.0 / len(p.off) for p in passing if t in p.off and p.off), default=0.0) for t in candidates}
    best = max(score.values(), default=0.0)
    chosen = [t for t in candidates if score[t] == best] if best > 0 else []
    if not chosen and not passing and len(candidates) == 1:
        chosen = candidates  # every probe fails, and this term is the only one none of them switches off
    if 0 < len(chosen) <= 2:
        text += " So the mistake is in " + ", or in ".join(terms[t].rstrip(".") for t in chosen) + "."
    elif not failing:
        text += " Every probe case is right: the mistake shows only when all parts act together."
    return text


def diagnosed(func: str, verdicts: Sequence[Verdict], probe_verdicts: Mapping[str, Verdict] = None, *,
              probes: Sequence[Probe] = (), terms: Mapping[str, str] = None, passed_text: str = "",
              also: Sequence[str] = ()) -> Verdict:
    """One verdict for a check made of several cases and probe cases.

    Fails if a case or a probe case failed, or if ``also`` holds problems (e.g. an argument
    modified in place, reported on every run whatever the values). The message is the first
    failed case's (one with a named likely cause first; else the first failed probe case's),
    followed by what the probe cases show when no known mistake was named, then ``also``.
    """
    probe_verdicts = dict(probe_verdicts or {})
    failed = [v for v in verdicts if not v.passed]
    failed_probes = [v for v in probe_verdicts.values() if not v.passed]
    shown = None
    for pool in (failed, failed_probes):
        if pool and shown is None:
            shown = next((v for v in pool if "Likely cause:" in v.message), pool[0])
    extra = [a for a in also if a]
    if shown is None and not extra:
        return Verdict(True, passed_text or (verdicts[0].message if verdicts else f"{func} correct."))
    parts = []
    if shown is not None:
        message = shown.message
        # Probe outcomes say which term is wrong for wrong values (not a dtype, shape or type problem)
        # that no known mistake explains.
        unexplained = [line for line in message.splitlines() if (" is wrong: " in line or " tokens differ" in line)
                       and "Likely cause:" not in line and "Hint:" not in line]
        if unexplained and probes and terms:
            conclusion = probe_conclusion(probes, {k: v.passed for k, v in probe_verdicts.items()}, terms)
            head, sep, tail = message.partition("\n(Checked on")
            message = head + conclusion + sep + tail
        parts.append(message.replace("(Checked on fresh inputs: probe case ", "(Checked on the fixed probe case "))
    parts += extra
    return Verdict(False, "\n".join(parts))
