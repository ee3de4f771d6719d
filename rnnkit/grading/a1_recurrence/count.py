"""a1-recurrence: the check of rnn_parameter_count, ``CHECKS`` and its ``grade_*`` function."""
from __future__ import annotations

import numpy as np

from ..kernel import Other
from .._core import Check, Verdict, _Failure, distinct_sizes, modified_warning, returned
from .step import STEP
from .unroll import UNROLL


# ---------------------------------------------------------------------------
# parameter count
# ---------------------------------------------------------------------------

def _count(D, H, K):
    return H * D + H * H + H + K * H + K


PARAM_BUGS = [
    (lambda D, H, K: H * D + H * H + K * H, "the biases are missing: b has H entries and c has K."),
    (lambda D, H, K: H * D + H * H + H, "the output layer is missing: Wy (K, H) and c (K,)."),
    (lambda D, H, K: 2 * H * D + H + K * H + K, "Ws maps the state to the state: it is (H, H), not (H, D)."),
    (lambda D, H, K: H * D + H * H + K * H + K, "the state bias b (H,) is missing."),
    (lambda D, H, K: H * D + H * H + H + K * H, "the output bias c (K,) is missing."),
    (lambda D, H, K: H * H + H + K * H + K, "the input weights Wx (H, D) are missing."),
    (lambda D, H, K: H * D + H + K * H + K, "the state-to-state weights Ws (H, H) are missing."),
    (lambda D, H, K: H * D + H * H + H + K, "the output weights Wy (K, H) are missing."),
    (lambda D, H, K: H * D + H * H + H + K * K + K, "Wy maps the state to the output: it is (K, H), not (K, K)."),
    (lambda D, H, K: H * D + H * H + H + K * D + K, "Wy maps the state to the output: it is (K, H), not (K, D)."),
]

#: The monomials a count of (D, H, K) is built from, and the parameter each one is the size of (if any).
_MONOMIALS = (("1", lambda D, H, K: 1, None), ("D", lambda D, H, K: D, None), ("H", lambda D, H, K: H, "b (H,)"),
              ("K", lambda D, H, K: K, "c (K,)"), ("D·D", lambda D, H, K: D * D, None),
              ("H·H", lambda D, H, K: H * H, "Ws (H, H)"), ("K·K", lambda D, H, K: K * K, None),
              ("H·D", lambda D, H, K: H * D, "Wx (H, D)"), ("D·K", lambda D, H, K: D * K, None),
              ("K·H", lambda D, H, K: K * H, "Wy (K, H)"))


def _fit_difference(triples, diffs):
    """Integer coefficients c (one per monomial) with Σ c·m(D, H, K) = diff for every triple, or None."""
    A = np.array([[m(*t) for _, m, _ in _MONOMIALS] for t in triples], dtype=np.float64)
    if np.linalg.matrix_rank(A) < len(_MONOMIALS):
        return None
    sol, *_ = np.linalg.lstsq(A, np.array(diffs, dtype=np.float64), rcond=None)
    coef = [int(round(v)) for v in sol]
    if any(abs(v) > 4 for v in coef):
        return None
    for t, d in zip(triples, diffs):
        if sum(c * m(*t) for c, (_, m, _) in zip(coef, _MONOMIALS)) != d:
            return None
    return coef


def _describe_difference(coef) -> str:
    """'Wx (H, D) is missing; b (H,) is counted twice' from the coefficients of true − learner's count."""
    missing, extra, other = [], [], []
    for c, (mono, _, param) in zip(coef, _MONOMIALS):
        if c == 0:
            continue
        if param is None:
            other.append(f"{'−' if c > 0 else '+'}{abs(c) if abs(c) > 1 else ''}{mono}")
        elif c > 0:
            missing.append(param if c == 1 else f"{c} times {param}")
        else:
            extra.append(f"{param} is counted {'twice' if c == -1 else f'{1 - c} times'}")
    parts = []
    if missing:
        parts.append(f"missing: {', '.join(missing)}")
    if extra:
        parts.append("; ".join(extra))
    if other:
        parts.append(f"it also has {' '.join(other)}, which is not the size of any parameter")
    return "; ".join(parts) + "."


def _count_value(got):
    """The learner's answer as an int, or a failure message."""
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        if isinstance(got, (float, np.floating)) and float(got).is_integer():
            return int(got)
        kind = got.type_name if isinstance(got, Other) else type(got).__name__
        raise _Failure(f"rnn_parameter_count must return an integer; got {kind}.")
    return int(got)


def judge_rnn_parameter_count(triples, answers, seed=None) -> Verdict:
    """Judge the learner's counts for each ``(D, H, K)`` in ``triples``.

    A catalogued mistake (or a missing term found by fitting the difference) is named only when it
    explains every answer: the random sizes are drawn so that every catalogued mistake gives a
    different count (:func:`_counts_distinct`), so at most one can.
    """
    try:
        got = [_count_value(a) for a in answers]
    except _Failure as f:
        return Verdict(False, str(f))
    wrong = [(t, g) for t, g in zip(triples, got) if g != _count(*t)]
    if not wrong:
        return Verdict(True, f"rnn_parameter_count: correct for {len(triples)} sizes.")
    (D, H, K), g = wrong[0]
    msg = (f"rnn_parameter_count({D}, {H}, {K}) returned {g}; that is not the number of parameters "
           f"(wrong for {len(wrong)} of the {len(triples)} sizes checked).")
    matches = [text for bug, text in PARAM_BUGS if all(bug(*t) == a for t, a in zip(triples, got))]
    if len(matches) == 1:
        return Verdict(False, f"{msg} Likely cause: {matches[0]}")
    coef = _fit_difference(triples, [_count(*t) - a for t, a in zip(triples, got)]) if not matches else None
    if coef is not None:
        return Verdict(False, f"{msg} For every size, your count differs from the true one by the same "
                              f"terms: {_describe_difference(coef)}")
    if len(wrong) < len(triples):
        right = [t for t, a in zip(triples, got) if a == _count(*t)]
        msg += f" It is right for (D, H, K) = {', '.join(str(t) for t in right[:3])}: does it depend on the sizes?"
    return Verdict(False, msg + " Count the entries of Wx (H, D), Ws (H, H), b (H,), Wy (K, H) and c (K,).")


#: Fixed sizes judged on every run besides the random ones: a state of size 1, and sizes of a real model.
COUNT_EDGE_CASES = ((4, 1, 3), (300, 512, 10000))
#: How many random (D, H, K) are drawn (at least the 10 monomials of a count, so the difference can be fit).
COUNT_RANDOM = 10


def _counts_distinct(D, H, K) -> bool:
    """Every catalogued mistake gives a different count for these sizes, and none gives the true one."""
    counts = [_count(D, H, K)] + [bug(D, H, K) for bug, _ in PARAM_BUGS]
    return len(set(counts)) == len(counts)


def _build_count(rng):
    while True:
        triples = []
        while len(triples) < COUNT_RANDOM:
            t = tuple(int(v) for v in distinct_sizes(rng, "D H K", 2, 60).values())
            if _counts_distinct(*t) and t not in triples:
                triples.append(t)
        A = np.array([[m(*t) for _, m, _ in _MONOMIALS] for t in triples], dtype=np.float64)
        if np.linalg.matrix_rank(A) == len(_MONOMIALS):
            break
    triples += list(COUNT_EDGE_CASES)
    return list(triples), triples


def _judge_count(triples, records) -> Verdict:
    answers = [returned(records, i, "rnn_parameter_count", ["count"])[0] for i in range(len(triples))]
    verdict = judge_rnn_parameter_count(triples, answers)
    warning = modified_warning(records, "rnn_parameter_count", ["D", "H", "K"])
    if verdict.passed and warning:
        return Verdict(False, warning)
    return verdict


COUNT = Check("test_rnn_parameter_count", "rnn_parameter_count", build=_build_count, judge=_judge_count)

#: The hidden test cells of a1-recurrence, by grade_id.
CHECKS = {c.grade_id: c for c in (STEP, UNROLL, COUNT)}


def grade_rnn_parameter_count(fn, *, rng=None) -> Verdict:
    """Check ``rnn_parameter_count(D, H, K) -> int`` on several random sizes and two fixed ones."""
    return COUNT.grade(fn, rng=rng)
