"""a4-gradients-over-time: what the four checks share (contexts, inputs, case loops)."""
from __future__ import annotations

import numpy as np

from .._core import Verdict, _Failure


def _ctx(sizes, seed=None, extra=""):
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + extra + (f", seed={seed}" if seed is not None else "")


def _rnn_inputs(r, sizes):
    T, B, D, H = (sizes[k] for k in "TBDH")
    return (r.standard_normal((T, B, D)), 0.5 * r.standard_normal((B, H)), r.standard_normal((H, D)) / np.sqrt(D),
            1.2 * r.standard_normal((H, H)) / np.sqrt(H), 0.2 * r.standard_normal(H))


def _split(cases, verdicts):
    """(verdicts of the cases, {probe name: verdict} of the probe cases)."""
    main = [v for c, v in zip(cases, verdicts) if not c.get("probe")]
    probes = {c["probe"]: v for c, v in zip(cases, verdicts) if c.get("probe")}
    return main, probes


def _probe_context(case, text):
    return f"probe case {case['probe']}" + (f", {text}" if text else "") if case.get("probe") else text


def _each(cases, judge_one):
    """``judge_one(i, case)`` for every case; a failure that stops one case (an exception of the learner's
    function, a wrong return type) becomes that case's failed verdict, saying which inputs it was."""
    out = []
    for i, c in enumerate(cases):
        try:
            out.append(judge_one(i, c))
        except _Failure as f:
            where = _probe_context(c, _ctx(c["sizes"], extra="".join(f", {k}={c[k]}" for k in ("t", "k") if k in c)))
            out.append(Verdict(False, f"{f}\n(Checked on fresh inputs: {where}.)"))
    return out
