"""a2-forward-loss: ``sequence_nll(O, Y) -> L``, −Σ_t Σ_b log softmax(o⁽ᵗ⁾)[y⁽ᵗ⁾], also for large logits."""
from __future__ import annotations

import numpy as np

from rnnkit import layers
from rnnkit.grading.engine import GradedFunction, Mistake, Probe, ProbeRule, distinct_sizes

from .cases import first_rows, first_steps, zeroed


def nll_case(rng: np.random.Generator) -> dict:
    """Logits O (T, B, K) and targets Y (T, B)."""
    sizes = distinct_sizes(rng, "T B K", 2, 8)
    T, B, K = sizes["T"], sizes["B"], sizes["K"]
    return {"sizes": sizes, "O": 2.0 * rng.standard_normal((T, B, K)), "Y": rng.integers(0, K, size=(T, B))}


def _edge_case() -> dict:
    """One step of one sequence (T = B = 1)."""
    return {"sizes": {"T": 1, "B": 1, "K": 3}, "O": 2.0 * np.random.default_rng(20261222).standard_normal((1, 1, 3)),
            "Y": np.array([[2]])}


def log_probabilities(O: np.ndarray) -> np.ndarray:
    """log softmax along the last axis, computed stably."""
    s = O - O.max(-1, keepdims=True)
    return s - np.log(np.exp(s).sum(-1, keepdims=True))


UNDERFLOW = ("log(softmax) underflows to log(0) for large logits. Compute log p = o − max(o) − log Σ exp(o − max(o)) "
             "(log-sum-exp) instead.")


def _underflow(c) -> dict:
    """What −Σ log softmax(o)[y] gives with the softmax computed first (inf where a probability underflows)."""
    with np.errstate(all="ignore"):
        E = np.exp(c["O"] - c["O"].max(-1, keepdims=True))
        P = E / E.sum(-1, keepdims=True)
        return {"L": np.asarray(-np.log(np.take_along_axis(P, c["Y"][..., None], -1)).sum())}


def _nll_mistakes(c) -> list:
    if c.get("probe_name") == "±1000":
        return [Mistake("log-of-softmax", UNDERFLOW, _underflow)]
    logp = log_probabilities(c["O"])
    Y = c["Y"]
    T, B = Y.shape
    picked = np.take_along_axis(logp, Y[..., None], -1)[..., 0]   # (T, B)
    one_number = "L must be one number: sum the per-step losses over time and over the batch."
    natural = "the logarithm is not the natural one: L = −Σ ln p (np.log), not log2 or log10."

    def mistake(name, text, L):
        return Mistake(name, text, lambda _c, L=np.asarray(L, dtype=np.float64): {"L": L})
    return [
        mistake("mean", "the loss is averaged; L is the sum over time steps (and over the batch): L = Σₜ L⁽ᵗ⁾.",
                -picked.mean()),
        mistake("batch-mean", "the loss is averaged over the batch; here L is summed over time and batch.",
                -picked.sum() / B),
        mistake("time-mean", "the loss is averaged over time; L = Σₜ L⁽ᵗ⁾ is the sum over the steps (and over the "
                "batch).", -picked.sum() / T),
        mistake("sign", "the sign is wrong: L = −Σ log p, a positive number.", picked.sum()),
        mistake("probabilities-summed", "the probabilities are summed instead of their logarithms.",
                -np.exp(picked).sum()),
        mistake("log-of-sum", "the logarithm is taken of the summed probabilities, −log Σ p: the loss is the sum of "
                "the logarithms, L = −Σₜ Σ_b log p⁽ᵗ⁾[y⁽ᵗ⁾] (log of each probability, then the sum).",
                -np.log(np.exp(picked).sum())),
        mistake("log-of-sum-per-step", "the logarithm is taken of the probabilities summed over the batch, "
                "−Σₜ log Σ_b p: the loss is the sum of the logarithms, L = −Σₜ Σ_b log p⁽ᵗ⁾[y⁽ᵗ⁾] (log of each "
                "probability, then the sum).", -np.log(np.exp(picked).sum(1)).sum()),
        mistake("most-likely-class", "the target is ignored: the loss takes the log-probability of Y[t] at each "
                "step, not of the most likely class.", -logp.max(-1).sum()),
        mistake("every-target", "the log-probabilities are indexed with the whole Y at once (log_p[:, :, Y]), "
                "which takes every target at every (t, b): pick one entry per (t, b), log_p[t, b, Y[t, b]] "
                "(np.take_along_axis(log_p, Y[..., None], axis=-1)).", -logp[:, :, Y].sum()),
        mistake("log2", natural, -picked.sum() / np.log(2)),
        mistake("log10", natural, -picked.sum() / np.log(10)),
        mistake("per-step", one_number, -picked),
        mistake("per-step-time", one_number, -picked.sum(1)),
        mistake("per-step-batch", one_number, -picked.sum(0)),
    ]


SEQUENCE_NLL = GradedFunction(
    grade_id="test_sequence_nll", function="sequence_nll",
    arguments=("O", "Y"), returns=("L",),
    args_of=lambda c: (c["O"], c["Y"]),
    draw=nll_case,
    reference=lambda c: {"L": np.asarray(layers.softmax_cross_entropy(c["O"], c["Y"], reduction="sum")[0],
                                         dtype=np.float64)},
    dims={"L": "", "O": "T B K", "Y": "T B"},
    error_hints=("broadcast",),
    edge_cases=(_edge_case,),
    mistakes=_nll_mistakes,
    probes=(
        Probe("T = 1", what="T = 1", make=first_steps(1, "O", "Y"),
              meaning="right for a single step (T = 1) but not for a sequence: every step's L⁽ᵗ⁾ counts once, "
                      "L = Σₜ L⁽ᵗ⁾ (is one step left out, or are the steps averaged or weighted?).",
              if_fails="with T = 1, L is the sum over the batch of −log softmax(o)[y] at the one step."),
        Probe("B = 1", what="B = 1", make=first_rows(1, "O", "Y"),
              meaning="right for one sequence (B = 1) but not for a batch: L also sums over the sequences of the "
                      "batch (is one sequence left out, or the batch averaged?).",
              if_fails="with B = 1, L is the sum over time of one sequence's −log softmax(o⁽ᵗ⁾)[y⁽ᵗ⁾]."),
        Probe("O = 0", what="equal logits (O = 0)", make=zeroed("O"),
              meaning="right when all logits are equal (then every class has the same log-probability), so the "
                      "log-probability taken is not the target's: take log p[Y[t, b]] at each (t, b), e.g. "
                      "np.take_along_axis(log_p, Y[..., None], axis=-1).",
              if_fails="with equal logits every target costs log K, so L = T·B·log K."),
        Probe("±1000", what="logits of size ±1000", make=lambda c: {**c, "O": 400.0 * c["O"]}),
    ),
    rules=(
        ProbeRule(right=("full",), wrong=("±1000",), text=UNDERFLOW),
        ProbeRule(wrong=("full",), right=("T = 1", "B = 1"),
                  text="right for T = 1 and for B = 1 but not for a batch of sequences: O[t, b] must be paired "
                       "with Y[t, b]. Are the time and batch axes swapped somewhere (Y.T, a reshape in the other "
                       "order)?"),
        "T = 1", "B = 1", "O = 0",
    ),
    none_right="already wrong for one step, for one sequence and for equal logits: the per-step loss itself is "
               "wrong. L⁽ᵗ⁾ = −log softmax(o⁽ᵗ⁾)[y⁽ᵗ⁾] (natural log, softmax along the class axis, with the minus "
               "sign).",
    argument_notes={"O": "the backward pass reads the logits again, and they are no longer the model's.",
                    "Y": "the targets are read again (by the backward pass, by the next epoch)."},
    passed_note="also for logits of size ±1000 and for T = B = 1",
    withheld=("softmax_cross_entropy", "softmax"),
)
