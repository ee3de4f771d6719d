"""a7-char-lm: ``sample_with_temperature(logits, temperature, rng) -> (B,)``.

One draw ``u = rng.random(B)`` and inverse-CDF sampling from softmax(logits / temperature), as
:func:`rnnkit.sample_from_logits` does. The generator handed to the learner records the size of every
``rng.random`` call: the draws are part of the contract (extra draws shift every later sample of a generation).
"""
from __future__ import annotations

import numpy as np

from rnnkit import sample_from_logits, softmax
from rnnkit.grading.engine import GradedFunction, Mistake, Probe, Problem, ProbeRule, special

#: The sizes of the learner's rng.random calls (one call of B numbers is the contract).
DRAWS = "rng.random sizes"


def _case(rng, B: int, K: int, temperature: float, logits=None) -> dict:
    logits = 2.0 * rng.standard_normal((B, K)) if logits is None else logits
    return {"logits": logits, "temperature": float(temperature), "seed": int(rng.integers(0, 2**32)),
            "sizes": {"B": B, "K": K}}


def _uniforms(case) -> np.ndarray:
    return np.random.default_rng(case["seed"]).random(case["sizes"]["B"])


def reference(case: dict) -> dict:
    """rnnkit.sample_from_logits on the same uniforms: ``samples`` (B,), and one rng.random call of B numbers."""
    samples = sample_from_logits(case["logits"], temperature=case["temperature"],
                                 rng=np.random.default_rng(case["seed"]))
    return {"samples": samples, DRAWS: np.array([case["sizes"]["B"]])}


def read(case: dict, returned: dict, objects: dict) -> dict:
    """The samples, and the sizes of the generator's rng.random calls (draws made through another method of
    the generator, e.g. ``rng.choice``, are not recorded: their samples judge them)."""
    samples = returned["samples"]
    if not isinstance(samples, np.ndarray) or samples.dtype.kind not in "iu":
        got = f"dtype {samples.dtype}" if isinstance(samples, np.ndarray) else getattr(samples, "type_name",
                                                                                       type(samples).__name__)
        raise Problem(f"the result must be an integer array of shape (B,) = "
                      f"({case['sizes']['B']},); got {got}.")
    draws = (objects.get("rng") or {}).get("draws") if isinstance(objects.get("rng"), dict) else None
    if not isinstance(draws, np.ndarray) or draws.ndim != 1 or draws.dtype.kind not in "iu" or not draws.size:
        draws = np.array([case["sizes"]["B"]])
    return {"samples": samples, DRAWS: draws}


def explain(cases: list, outputs: list) -> str:
    """What the learner's rng.random calls were on the first case where they are not the one call rng.random(B)."""
    calls = [(c["sizes"]["B"], [int(d) for d in o[DRAWS]]) for c, o in zip(cases, outputs) if o is not None]
    B, sizes = next(((B, sizes) for B, sizes in calls if sizes != [B]), (0, []))
    if not sizes:
        return ""
    calls = "once" if len(sizes) == 1 else f"{len(sizes)} times"
    shown = sizes if len(sizes) <= 4 else f"[{', '.join(map(str, sizes[:3]))}, ...] ({sum(sizes)} in all)"
    extra = " Extra draws shift every later sample of a generation." if sum(sizes) > B else ""
    return (f"rng.random was called {calls}, drawing {shown} numbers: the contract is exactly one call "
            f"u = rng.random(B) = rng.random({B}), one uniform per row.{extra}")


# ---------------------------------------------------------------------------
# the mistakes
# ---------------------------------------------------------------------------

def _draw(p, u, axis=1, above=False):
    with np.errstate(all="ignore"):
        cdf = np.cumsum(p, axis=axis)
        idx = (cdf > u[:, None]).sum(1) if above else (cdf < u[:, None]).sum(1)
    return np.minimum(idx, p.shape[1] - 1)


def _naive_softmax(a, axis=1):
    with np.errstate(all="ignore"):
        e = np.exp(a)
        return e / e.sum(axis=axis, keepdims=True)


def _samples(how):
    """A Mistake's outputs: the samples ``how(case, u)`` gives with the case's uniforms."""
    return lambda case: {"samples": how(case, _uniforms(case))}


def _scaled(case):
    return case["logits"] / case["temperature"]


OVERFLOW = ("the softmax overflows: exp(logits / temperature) is inf for logits near 1000 at a low temperature, "
            "and inf / inf is NaN. Subtract each row's maximum before exp (softmax(o) = softmax(o - max o), "
            "as rnnkit's softmax does).")

MISTAKES = (
    Mistake("naive-softmax", OVERFLOW, _samples(lambda c, u: _draw(_naive_softmax(_scaled(c)), u))),
    Mistake("temperature-multiplies", "the logits are multiplied by the temperature; divide them: "
            "softmax(logits / T).", _samples(lambda c, u: _draw(softmax(c["logits"] * c["temperature"]), u))),
    Mistake("no-softmax", "the scaled logits are used as probabilities; apply the softmax first.",
            _samples(lambda c, u: _draw(_scaled(c), u))),
    Mistake("softmax-over-batch", "the softmax is taken over the batch axis (axis 0); each row is one "
            "distribution over the K classes: normalise over axis 1.",
            _samples(lambda c, u: _draw(_naive_softmax(_scaled(c) - _scaled(c).max(0), axis=0), u))),
    Mistake("cumsum-over-batch", "the cumulative sum runs over the batch axis (axis 0); the cumulative "
            "probabilities of row b run over its K classes: np.cumsum(p, axis=1).",
            _samples(lambda c, u: _draw(softmax(_scaled(c)), u, axis=0))),
    Mistake("counts-above-u", "the count is of the classes whose cumulative probability is *above* u; the "
            "chosen class is the number of classes whose cumulative probability is below u.",
            _samples(lambda c, u: _draw(softmax(_scaled(c)), u, above=True))),
    Mistake("argmax", "this is the argmax; sampling draws a class at random with the softmax probabilities.",
            lambda c: {"samples": c["logits"].argmax(1)}),
)


# ---------------------------------------------------------------------------
# the cases and the probe rules
# ---------------------------------------------------------------------------

def draw(rng) -> dict:
    """B in 200..399 rows of K in 3..7 logits (standard deviation 2) at a temperature in 0.3..0.7."""
    return _case(rng, int(rng.integers(200, 400)), int(rng.integers(3, 8)), float(rng.uniform(0.3, 0.7)))


def _hot() -> dict:
    """A high temperature (above 1), where multiplying by it and dividing by it differ the other way."""
    return _case(np.random.default_rng(20261213), 300, 5, 2.2)


def _one_row() -> dict:
    """B = 1: a single row of logits (a (1, K) array; squeezing it to (K,) loses the row axis)."""
    return _case(np.random.default_rng(20261214), 1, 6, 0.8)


def _probe_base() -> dict:
    return _case(np.random.default_rng(20261210), 300, 5, 0.5)


def _large_logits(case) -> dict:
    """Logits near 1000 at temperature 0.05: exp(o / T) overflows unless the row maximum is subtracted first.
    The spread (0.1) is small next to the offset, so the scaled logits are 20000 ± about 2: a proper
    distribution over the classes, not an argmax."""
    r = np.random.default_rng(20261208)
    return _case(r, 256, 6, 0.05, 1000.0 + 0.1 * r.standard_normal((256, 6)))


PROBES = (
    Probe("temperature 1", lambda c: dict(c, temperature=1.0), what="temperature 1"),
    # equal logits in a row have probability 1/K whatever the temperature does, as long as it is row-wise
    Probe("flat", lambda c: dict(c, logits=np.repeat(c["logits"][:, :1], c["sizes"]["K"], axis=1)),
          what="equal logits in each row"),
    Probe("large logits", _large_logits, what="logits near 1000 at temperature 0.05",
          if_fails=OVERFLOW),
)

#: Read when no named mistake explains the samples: the probes isolate the draw (equal logits) and the
#: softmax (temperature 1).
RULES = (
    ProbeRule(wrong=("temperature 1", "flat"),
              text="the inverse-CDF draw itself is at fault: on equal logits every class has probability 1/K at "
                   "any temperature. With one u = rng.random(B), row b's class is the number of classes whose "
                   "cumulative probability is below u[b] (capped at K - 1)."),
    ProbeRule(wrong=("temperature 1",), right=("flat",),
              text="the probabilities are at fault (the inverse-CDF draw is right on equal logits). They are the "
                   "softmax of each row of logits, over its K classes."),
    ProbeRule(wrong=("full", "flat"), right=("temperature 1",),
              text="the temperature is applied wrongly: it divides the logits, softmax(logits / temperature), "
                   "which leaves equal logits equal."),
    ProbeRule(wrong=("full",), right=("temperature 1", "flat"),
              text="the temperature is applied wrongly. The probabilities are softmax(logits / temperature)."),
)

SAMPLE = GradedFunction(
    grade_id="test_sample_with_temperature", function="sample_with_temperature",
    arguments=("logits", "temperature", "rng"), returns=("samples",),
    args_of=lambda c: (c["logits"], c["temperature"], special("generator", seed=c["seed"])),
    draw=draw, reference=reference, read=read, explain=explain, kind="exact",
    edge_cases=(_hot, _one_row), mistakes=MISTAKES, mistakes_on="every case",
    probes=PROBES, probe_base=_probe_base, rules=RULES,
    passed_note="also at a high temperature, for one row, at temperature 1, on equal logits and on logits near 1000",
    none_right=("Draw u = rng.random(B) once and return, for each row, the number of classes whose cumulative "
                "probability is below u."),
    dims={"samples": "B", "logits": "B K"},
    argument_notes={"logits": "a generation loop that draws again from the same logits (another temperature, "
                              "another sample) reads the changed values."},
    withheld=("sample_from_logits", "generate_text"),
)
