"""The one probe reader: which probe cases are right and which wrong, and what that concludes.

It always concludes: the first :class:`ProbeRule` that holds, else the spec's ``none_right``, else what
the probes say one by one (the ``if_fails`` of the wrong ones, or the ``meaning`` of the right ones);
never a bare list of failing probes.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from .spec import Probe, ProbeRule


def observations(outcomes: Mapping) -> dict:
    """``{"case": wrong?, "case:output": wrong?}`` from ``{case name: Outcome}`` (an error: all wrong)."""
    obs = {}
    for name, o in outcomes.items():
        obs[name] = o.error is not None or any(o.wrong.values())
        for out, bad in o.wrong.items():
            obs[f"{name}:{out}"] = o.error is not None or bad
    return obs


def as_rules(rules: Sequence, probes: Sequence[Probe]) -> list:
    """ProbeRule entries, a probe's name standing for "the full case wrong, this probe right: its meaning"."""
    by_name = {p.name: p for p in probes}
    out = []
    for rule in rules:
        if isinstance(rule, str):
            out.append(ProbeRule(wrong=("full",), right=(rule,), text=by_name[rule].meaning))
        else:
            out.append(rule)
    return out


def conclusion(probes: Sequence[Probe], rules: Sequence, outcomes: Mapping) -> str:
    """The text of the first rule that holds ('' if none)."""
    obs = observations(outcomes)
    return next((rule.text for rule in as_rules(rules, probes) if rule.holds(obs)), "")


def probe_text(probes: Sequence[Probe], rules: Sequence, outcomes: Mapping, none_right: str = "") -> str:
    """' Probe cases (fixed inputs with one part switched off): right with …; wrong with …. So …' (with a rule
    that holds, only the probes it names are listed)."""
    judged = [p for p in probes if p.name in outcomes]
    if not judged:
        return ""
    obs = observations(outcomes)
    rule = next((r for r in as_rules(rules, probes) if r.holds(obs)), None)
    if rule is not None:  # list the probes the conclusion rests on (all of them if it names none)
        used = {key.split(":")[0] for key in rule.wrong + rule.right + rule.any_wrong}
        judged = [p for p in judged if p.name in used] or judged
    right = [p for p in judged if not obs[p.name]]
    wrong = [p for p in judged if obs[p.name]]

    def wrong_outputs(p):
        o = outcomes[p.name]
        if o.error is not None:
            return " (it raised an error)"
        bad = [k for k, v in o.wrong.items() if v]
        return f" ({', '.join(bad)})" if len(bad) < len(o.wrong) else ""
    parts = []
    if right:
        parts.append("right with " + "; ".join(p.what or p.name for p in right))
    if wrong:
        parts.append("wrong with " + "; ".join((p.what or p.name) + wrong_outputs(p) for p in wrong))
    text = " Probe cases (fixed inputs with one part switched off): " + "; ".join(parts) + "."
    if rule is not None:
        return text + " So " + rule.text
    if not obs.get("full"):
        facts = [p.if_fails for p in wrong if p.if_fails]
        return text + (" So " + "; ".join(facts) + "." if facts else
                       " The random case is right: the mistake shows only on these special inputs.")
    if none_right:
        return text + " So " + none_right
    facts = [p.if_fails for p in wrong if p.if_fails] or [p.meaning for p in right if p.meaning]
    if not facts:
        return text + " So the mistake shows with every part of the computation switched on or off alike."
    return text + " So " + "; ".join(facts) + "."
