"""a7-char-lm: what the three checks share (the sandbox allowances, case builders, outcome and probe
texts)."""
from __future__ import annotations

from .._core import _Failure, returned


#: What the notebook imports from rnnkit (setup cell); nothing here computes a graded function.
SANDBOX_EXPORTS = ("HiddenToHiddenRNN", "Vocab", "one_hot", "softmax")
#: rnnkit definitions cut out of the sandbox's copy of the shipped modules: they compute (or give away)
#: make_batches (lm_batches), sample_with_temperature (sample_from_logits, generate_text) or the
#: clipping and update of train_step (the optimizers and clipping helpers of rnnkit.optim).
SANDBOX_WITHHELD = ("lm_batches", "sample_from_logits", "generate_text", "clip_by_global_norm", "global_norm",
                    "clip_by_value", "SGD", "Adam", "Adagrad")


def _builder(cases_of, args_of):
    """A case builder: the cases (the judge's context) and the learner's arguments for each."""
    def build(rng):
        cases = cases_of(rng)
        return [args_of(c) for c in cases], cases
    return build


def _ctx(sizes, extra=""):
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + extra


def _outcome(func: str, records, index: int, names):
    """``(outputs, None)`` for call ``index``, or ``(None, failure text)`` if it raised / returned too few values.

    'not implemented' and 'not a function' stop the check at once (nothing else to say)."""
    try:
        return returned(records, index, func, names), None
    except _Failure as f:
        text = str(f)
        if "not implemented" in text or "is not a function" in text or "no result was recorded" in text:
            raise
        withheld = [name for name in SANDBOX_WITHHELD if f"'{name}'" in text]
        if withheld:  # e.g. AttributeError: module 'rnnkit' has no attribute 'lm_batches'
            raise _Failure(f"{text.rstrip('.')}. rnnkit's {withheld[0]} is not available while grading (it is withheld from "
                           f"the grading sandbox, see the Rules): a graded function must not call it. Write "
                           f"this part yourself with numpy.") from None
        return None, text


def _probe_text(probes, passed: dict) -> str:
    """What the probe cases say: each judged probe's ``meaning`` if it passed, its ``if_fails`` if not
    (``passed``: probe name -> bool for the probes that were judged)."""
    parts = []
    for p in probes:
        if p.name not in passed:
            continue
        text = p.meaning if passed[p.name] else p.if_fails
        if text:
            parts.append(f"{'Right' if passed[p.name] else 'Wrong'} on the probe case with {p.what}: {text}")
    return (" " + " ".join(parts)) if parts else ""
