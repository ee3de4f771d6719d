"""a2-forward-loss: the check of sequence_nll."""
from __future__ import annotations

import numpy as np

from ... import layers as _ref
from .._core import VALUE_TOL, Check, Probe, ProbeRule, Verdict, _Failure, distinct_sizes, judge, returned
from ..a1_recurrence import explained, probe_failure, probe_report, probe_right, with_error_hint
from .common import _ctx, _first_failure, _first_rows, _first_steps, _zero


# ---------------------------------------------------------------------------
# sequence NLL
# ---------------------------------------------------------------------------

def _nll(O, Y):
    return _ref.softmax_cross_entropy(O, Y, reduction="sum")[0]


NLL_PROBES = (
    Probe("T = 1", make=_first_steps(1, "O", "Y"),
      meaning="right for a single step (T = 1) but not for a sequence: every step's L⁽ᵗ⁾ counts once, "
              "L = Σₜ L⁽ᵗ⁾ (is one step left out, or are the steps averaged or weighted?).",
      if_fails="with T = 1, L is the sum over the batch of −log softmax(o)[y] at the one step."),
    Probe("B = 1", make=_first_rows(1, "O", "Y"),
      meaning="right for one sequence (B = 1) but not for a batch: L also sums over the sequences of the batch "
              "(is one sequence left out, or the batch averaged?).",
      if_fails="with B = 1, L is the sum over time of one sequence's −log softmax(o⁽ᵗ⁾)[y⁽ᵗ⁾]."),
    Probe("O = 0", make=_zero("O"),
      meaning="right when all logits are equal (then every class has the same log-probability), so the "
              "log-probability taken is not the target's: take log p[Y[t, b]] at each (t, b), e.g. "
              "np.take_along_axis(log_p, Y[..., None], axis=-1).",
      if_fails="with equal logits every target costs log K, so L = T·B·log K."),
)
NLL_RULES = (
    ProbeRule(right=("T = 1", "B = 1"),
              text="right for T = 1 and for B = 1 but not for a batch of sequences: O[t, b] must be paired with "
                   "Y[t, b]. Are the time and batch axes swapped somewhere (Y.T, a reshape in the other order)?"),
    "T = 1", "B = 1", "O = 0",
)
NLL_NONE_RIGHT = ("already wrong for one step, for one sequence and for equal logits: the per-step loss itself "
                  "is wrong. L⁽ᵗ⁾ = −log softmax(o⁽ᵗ⁾)[y⁽ᵗ⁾] (natural log, softmax along the class axis, with "
                  "the minus sign).")


def _build_nll(rng):
    sizes = distinct_sizes(rng, "T B K", 2, 8)
    T, B, K = sizes["T"], sizes["B"], sizes["K"]
    O = 2.0 * rng.standard_normal((T, B, K))
    Y = rng.integers(0, K, size=(T, B))
    edge_rng = np.random.default_rng(20261222)
    edge_sizes = {"T": 1, "B": 1, "K": 3}  # one step, one sequence
    main = {"O": O, "Y": Y, "big": False, "sizes": sizes}
    cases = [main, {"O": 2.0 * edge_rng.standard_normal((1, 1, 3)), "Y": np.array([[2]]), "big": False,
                    "sizes": edge_sizes},
             {"O": 400.0 * O, "Y": Y, "big": True, "sizes": sizes}]
    cases += [p.make(main) for p in NLL_PROBES]
    return [(c["O"], c["Y"]) for c in cases], cases


def _judge_nll_one(c, L, probe_text="") -> Verdict:
    O, Y, sizes = c["O"], c["Y"], c["sizes"]
    ref = np.array(_nll(O, Y))
    if c["big"]:
        try:
            v = judge("sequence_nll", ["L"], [L], {"L": ref}, tol=VALUE_TOL, kind="value",
                      compared_with="the reference on logits of size ±1000", sizes=sizes, context=_ctx(sizes))
        except _Failure:
            v = Verdict(False, "sequence_nll: the loss is infinite or NaN for large logits.")
        if not v.passed:
            return Verdict(False, v.message + "\nLikely cause: log(softmax) underflows to log(0). Compute "
                           "log p = o − max(o) − log Σ exp(o − max(o)) (log-sum-exp) instead.")
        return v
    T, B = sizes["T"], sizes["B"]
    logp = O - O.max(-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    picked = np.take_along_axis(logp, Y[..., None], -1)[..., 0]
    one_number = "L must be one number: sum the per-step losses over time and over the batch."
    variants = [
        ("the loss is averaged; L is the sum over time steps (and over the batch): L = Σₜ L⁽ᵗ⁾.",
         {"L": np.array(-picked.mean())}),
        ("the loss is averaged over the batch; here L is summed over time and batch.",
         {"L": np.array(-picked.sum() / B)}),
        ("the loss is averaged over time; L = Σₜ L⁽ᵗ⁾ is the sum over the steps (and over the batch).",
         {"L": np.array(-picked.sum() / T)}),
        ("the sign is wrong: L = −Σ log p, a positive number.", {"L": np.array(picked.sum())}),
        ("the probabilities are summed instead of their logarithms.", {"L": np.array(-np.exp(picked).sum())}),
        ("the target is ignored: the loss takes the log-probability of Y[t] at each step, not of the "
         "most likely class.", {"L": np.array(-logp.max(-1).sum())}),
        ("the log-probabilities are indexed with the whole Y at once (log_p[:, :, Y]), which takes every target "
         "at every (t, b): pick one entry per (t, b), log_p[t, b, Y[t, b]] (np.take_along_axis(log_p, "
         "Y[..., None], axis=-1)).", {"L": np.array(-logp[:, :, Y].sum())}),
        ("the logarithm is not the natural one: L = −Σ ln p (np.log), not log2 or log10.",
         {"L": np.array(-picked.sum() / np.log(2))}),
        ("the logarithm is not the natural one: L = −Σ ln p (np.log), not log2 or log10.",
         {"L": np.array(-picked.sum() / np.log(10))}),
        (one_number, {"L": -picked}), (one_number, {"L": -picked.sum(1)}), (one_number, {"L": -picked.sum(0)}),
    ]
    v = judge("sequence_nll", ["L"], [L], {"L": ref}, tol=VALUE_TOL, kind="value",
              compared_with="the reference", dims={"L": ""}, sizes=sizes, variants=variants)
    return explained(v, probe_text, _ctx(sizes))


def _judge_nll(cases, records) -> Verdict:
    func, n = "sequence_nll", 3
    right = {p.name: probe_right(records, n + j, func, ["L"], np.array(_nll(cases[n + j]["O"], cases[n + j]["Y"])))
             for j, p in enumerate(NLL_PROBES)}
    text = probe_report(right, NLL_PROBES, NLL_RULES, NLL_NONE_RIGHT)
    verdicts = []
    for i, c in enumerate(cases[:n]):
        (L,) = with_error_hint(lambda i=i: returned(records, i, func, ["L"]), "broadcast")
        verdicts.append(_judge_nll_one(c, L, text if i == 0 else ""))
        if not verdicts[-1].passed:
            break
    v = _first_failure(verdicts, records, func, ["O", "Y"])
    if not v.passed:
        return v
    failed = probe_failure(func, "L", right, NLL_PROBES, _ctx(cases[0]["sizes"]))
    if failed:
        return Verdict(False, failed)
    return Verdict(True, f"sequence_nll correct, also for large logits ({_ctx(cases[0]['sizes'])}).")


NLL = Check("test_sequence_nll", "sequence_nll", build=_build_nll, judge=_judge_nll)


def grade_sequence_nll(fn, *, rng=None) -> Verdict:
    """Check ``sequence_nll(O, Y) -> float``: −Σ_t Σ_b log softmax(o⁽ᵗ⁾)[y⁽ᵗ⁾], also for large logits."""
    return NLL.grade(fn, rng=rng)
