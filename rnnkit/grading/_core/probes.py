"""Probes: fixed cases with one part of the computation switched off, to name the part at fault."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from ..engine.basics import Verdict


@dataclass(frozen=True)
class Probe:
    """A probe case of a check: the check's case with one part of the computation switched off, so that
    the part cannot show a mistake there. Declarative: the case, and what its outcome says.

    ``name`` says how the case differs (for messages, e.g. ``"h = 0 (tanh′ = 1)"``; ``what`` a longer
    description where a check needs one). The case is built by ``make(base case) -> probe case`` or, in
    the checks that build their probe cases themselves, from ``spec`` (sizes, which arrays are zeroed ...).
    What an outcome says is read in one of three ways, as the check's table is written:

    * ``meaning``: the diagnosis when the full case is wrong but this probe is right (the mistake sits in
      the part switched off); ``if_fails``: what it says when this probe is wrong although the full case
      is right. Rules (:class:`ProbeRule`, or the probe names a check lists) pick among the meanings;
    * ``off``: the keys of the terms (of a ``terms`` table: key -> what is wrong if that term is) this
      case switches off, read by :func:`probe_conclusion`: a mistake in term X leaves every probe with X
      off right, so a probe that fails rules out its ``off`` terms, and a probe that passes points at
      them (the fewer, the sharper).
    """
    name: str
    off: frozenset = frozenset()
    spec: object = field(default=None, compare=False)
    make: Callable[[dict], dict] | None = field(default=None, compare=False)
    what: str = ""
    meaning: str = ""
    if_fails: str = ""


@dataclass(frozen=True)
class ProbeRule:
    """A conclusion drawn from which cases are wrong: ``wrong`` and ``right`` hold keys ``"case"`` (any
    output of that case) or ``"case:output"``, where ``case`` is ``"full"`` (the random case) or a probe's
    name; ``any_wrong``: at least one of these keys is wrong. The first rule that holds is shown."""
    wrong: tuple = ()
    right: tuple = ()
    text: str = ""
    any_wrong: tuple = field(default=())

    def holds(self, wrong: Mapping[str, bool]) -> bool:
        """Whether the rule applies, given ``wrong``: key -> whether it is wrong (a key without an outcome
        is neither right nor wrong, so a rule that names it does not apply)."""
        if any(wrong.get(k) is not True for k in self.wrong) or any(wrong.get(k) is not False for k in self.right):
            return False
        return not self.any_wrong or any(wrong.get(k) is True for k in self.any_wrong)


def first_rule(rules: Sequence[ProbeRule], wrong: Mapping[str, bool]) -> str:
    """The text of the first of ``rules`` that holds ('' if none does)."""
    return next((rule.text for rule in rules if rule.holds(wrong)), "")


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


def _float32_notes(verdicts: Sequence[Verdict]) -> list[str]:
    """The float32 notes (:func:`~rnnkit.grading._core.judging.float32_note`) of passed verdicts, each output
    once (the first case's): a result judged as float32 is named in the cell's verdict."""
    notes, seen = [], set()
    for v in verdicts:
        for sentence in v.message.split(". "):
            if " holds float32 values " in sentence:
                name = sentence.strip().split(" ", 1)[0]
                if name not in seen:
                    seen.add(name)
                    notes.append(sentence.strip().rstrip(".") + ".")
    return notes


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
        text = passed_text or (verdicts[0].message if verdicts else f"{func} correct.")
        return Verdict(True, text + "".join(" " + note for note in _float32_notes(verdicts) if note not in text))
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
