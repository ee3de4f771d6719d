"""a7-char-lm: the check of sample_with_temperature (its buggy variants, probe cases and judge)."""
from __future__ import annotations

import numpy as np

from ... import layers as _layers
from ..kernel import special
from .._core import Check, ProbeRule, Verdict, first_rule, modified_warning
from .batches import _is_format
from .common import _builder, _outcome


# ---------------------------------------------------------------------------
# sample_with_temperature
# ---------------------------------------------------------------------------

def _naive_softmax(a, axis=1):
    with np.errstate(all="ignore"):
        e = np.exp(a)
        return e / e.sum(axis=axis, keepdims=True)


def _sample(logits, temperature, u, mode=None):
    scaled = logits * temperature if mode == "times" else logits / temperature
    if mode == "no_softmax":
        p = scaled
    elif mode == "naive":
        p = _naive_softmax(scaled)
    elif mode == "softmax_axis0":
        with np.errstate(all="ignore"):
            p = np.exp(scaled - scaled.max(axis=0, keepdims=True))
            p = p / p.sum(axis=0, keepdims=True)
    else:
        p = _layers.softmax(scaled)
    with np.errstate(all="ignore"):
        cdf = np.cumsum(p, axis=0 if mode == "cumsum_axis0" else 1)
        if mode == "above":
            idx = (cdf > u[:, None]).sum(1)
        else:
            idx = (cdf <= u[:, None]).sum(1) if mode == "le" else (cdf < u[:, None]).sum(1)
    return np.minimum(idx, logits.shape[1] - 1)


OVERFLOW = ("the softmax overflows: exp(logits / temperature) is inf for logits near 1000 at a low temperature, "
            "and inf / inf is NaN. Subtract each row's maximum before exp (softmax(o) = softmax(o - max o), "
            "as rnnkit's softmax does).")
SAMPLE_BUGS = {
    "naive": OVERFLOW,
    "times": "the logits are multiplied by the temperature; divide them: softmax(logits / T).",
    "no_softmax": "the scaled logits are used as probabilities; apply the softmax first.",
    "softmax_axis0": "the softmax is taken over the batch axis (axis 0); each row is one distribution over "
                     "the K classes: normalise over axis 1.",
    "cumsum_axis0": "the cumulative sum runs over the batch axis (axis 0); the cumulative probabilities of "
                    "row b run over its K classes: np.cumsum(p, axis=1).",
    "above": "the count is of the classes whose cumulative probability is *above* u; the chosen class is the "
             "number of classes whose cumulative probability is below u.",
    "argmax": "this is the argmax; sampling draws a class at random with the softmax probabilities.",
}

#: Probe cases of sample_with_temperature (built by ``_sample_probes``): what is at fault, from which of
#: them are wrong. Equal logits in a row have probability 1/K whatever the temperature, so that probe
#: ("flat") isolates the inverse-CDF draw; temperature 1 isolates the softmax from the temperature.
_SAMPLE_PROBE_RULES = (
    ProbeRule(wrong=("temperature 1", "flat"),
              text="Wrong also on the probe case with equal logits in each row, where every class has "
                   "probability 1/K at any temperature: the inverse-CDF draw itself is at fault. With one "
                   "u = rng.random(B), row b's class is the number of classes whose cumulative probability is "
                   "below u[b] (capped at K - 1)."),
    ProbeRule(wrong=("temperature 1",), right=("flat",),
              text="Right on the probe case with equal logits in each row (so the inverse-CDF draw is right) but "
                   "wrong on the probe case at temperature 1: the probabilities are at fault. They are the "
                   "softmax of each row of logits, over its K classes."),
    ProbeRule(right=("temperature 1",), wrong=("flat",),
              text="Right on the probe case at temperature 1, wrong on equal logits at temperature 0.5: the "
                   "temperature is applied wrongly. It divides the logits, softmax(logits / temperature), which "
                   "leaves equal logits equal."),
    ProbeRule(right=("temperature 1", "flat"),
              text="Right on the probe cases at temperature 1 and with equal logits in each row: the temperature "
                   "is applied wrongly. The probabilities are softmax(logits / temperature)."),
)


def _sample_probe_text(passed: dict) -> str:
    """The probe rules' conclusion (``passed``: probe name -> right)."""
    text = first_rule(_SAMPLE_PROBE_RULES, {name: not right for name, right in passed.items()})
    return " " + text if text else ""


def _sample_case(logits, temperature, draw_seed, note="", name=""):
    B, K = logits.shape
    return {"logits": logits, "temperature": float(temperature), "draw_seed": int(draw_seed), "B": B, "K": K,
            "sizes": {"B": B, "K": K}, "note": note, "name": name}


def _sample_edge_case() -> dict:
    """Large logits at a low temperature: exp(o / T) overflows unless the row maximum is subtracted first.

    The spread (0.1) is small next to the offset (1000), so at T = 0.05 the scaled logits are
    20000 ± about 2: a proper distribution over the classes, not an argmax."""
    r = np.random.default_rng(20261208)
    B, K = 256, 6
    return _sample_case(1000.0 + 0.1 * r.standard_normal((B, K)), 0.05, int(r.integers(0, 2**32)),
                        "logits near 1000 at temperature 0.05, where exp(logits / temperature) overflows unless the "
                        "row maximum is subtracted first")


def _sample_probes() -> list[dict]:
    """Fixed probe cases: temperature 1 (no temperature to get wrong); equal logits in each row
    (probability 1/K whatever the softmax or temperature do right or wrong, as long as they are row-wise)."""
    r = np.random.default_rng(20261210)
    B, K = 300, 5
    return [_sample_case(2.0 * r.standard_normal((B, K)), 1.0, int(r.integers(0, 2**32)),
                         "temperature 1", "temperature 1"),
            _sample_case(np.repeat(r.uniform(-2, 2, size=(B, 1)), K, axis=1), 0.5, int(r.integers(0, 2**32)),
                         "equal logits in each row", "flat")]


def _sample_cases(rng) -> list[dict]:
    B, K = int(rng.integers(200, 400)), int(rng.integers(3, 8))
    logits = 2.0 * rng.standard_normal((B, K))
    cases = [_sample_case(logits, t, int(rng.integers(0, 2**32)))
             for t in (float(rng.uniform(0.3, 0.7)), float(rng.uniform(1.5, 3.0)))]
    # the fixed case with large logits last: when only it fails, the function is right on ordinary logits
    return cases + _sample_probes() + [_sample_edge_case()]


def _draws_text(draws, B) -> str:
    if draws is None:
        return ""
    sizes = [int(d) for d in draws]
    if not sizes:
        return (" rng.random was never called: draw the uniforms with one call u = rng.random(B) and pick, "
                "for each row, the number of classes whose cumulative probability is below u.")
    if sizes != [B]:
        calls = "once" if len(sizes) == 1 else f"{len(sizes)} times"
        shown = sizes if len(sizes) <= 4 else f"[{', '.join(map(str, sizes[:3]))}, ...] ({sum(sizes)} in all)"
        return (f" rng.random was called {calls}, drawing {shown} numbers: the contract is exactly one call "
                f"u = rng.random(B) = rng.random({B}), one uniform per row.")
    return ""


def _recorded_draws(records, index):
    obj = records[index]["objects"].get("2") if index < len(records) else None
    draws = obj.get("draws") if isinstance(obj, dict) else None
    if isinstance(draws, np.ndarray) and draws.ndim == 1 and draws.dtype.kind in "iu":
        return draws
    return None


def _sample_truth(case, mode=None):
    u = np.random.default_rng(case["draw_seed"]).random(case["B"])
    return _sample(case["logits"], case["temperature"], u, mode)


def _sample_problem(case: dict, out) -> str | None:
    """What is wrong with one call's result (None if right)."""
    B, K = case["B"], case["K"]
    if not isinstance(out, np.ndarray) or out.dtype.kind not in "iu" or out.shape != (B,):
        return ("sample_with_temperature must return an integer array of shape (B,) "
                f"= ({B},); got {getattr(out, 'type_name', type(out).__name__)}"
                + (f" {out.dtype} {out.shape}" if isinstance(out, np.ndarray) else "") + ".")
    expected = _sample_truth(case)
    if np.array_equal(out, expected):
        return None
    return f"sample_with_temperature: {int((out != expected).sum())} of {B} draws differ."


def _sample_variant_fits(mode, case, out, raised) -> bool:
    expected = _sample_truth(case)
    if mode == "argmax":
        alt = case["logits"].argmax(1)
    else:
        alt = _sample_truth(case, mode)
    if raised is not None:  # NaN probabilities make many ways of drawing raise (rng.choice, a while loop...)
        return mode == "naive" and bool(case["note"]) and not case["name"]
    if not isinstance(out, np.ndarray) or out.shape != alt.shape:
        return False
    if np.array_equal(out, expected):
        return np.array_equal(alt, expected)
    return np.array_equal(out, alt)


def _where(case) -> str:
    c = case
    text = f"B={c['B']}, K={c['K']}, temperature {c['temperature']:.2f}"
    if c["name"]:
        return text + f" (the probe case with {c['note']})"
    return text + (" (a fixed case)" if c["note"] else "")


def _judge_samples(cases, records) -> Verdict:
    results = []
    for i, case in enumerate(cases):
        outs, raised = _outcome("sample_with_temperature", records, i, ["draws"])
        out = outs[0] if outs is not None else None
        results.append((out, raised, raised if raised is not None else _sample_problem(case, out)))
    failing = [i for i, (_, _, p) in enumerate(results) if p is not None]
    if not failing:
        for i, case in enumerate(cases):
            draws = _recorded_draws(records, i)
            if draws is not None and draws.size and [int(d) for d in draws] != [case["B"]]:
                extra = " Extra draws shift every later sample of a generation." if draws.sum() > case["B"] else ""
                return Verdict(False, "sample_with_temperature returns the right classes, but"
                               + _draws_text(draws, case["B"]) + extra)
        warning = modified_warning(records, "sample_with_temperature", ["logits", "temperature", "rng"])
        if warning:
            return Verdict(False, warning)
        c = cases[0]
        return Verdict(True, f"sample_with_temperature correct at two temperatures (B={c['B']}, K={c['K']}), "
                             "at temperature 1, on equal logits, and on large logits at a low temperature.")
    ordinary = [i for i in failing if not cases[i]["note"]]
    main = ordinary[0] if ordinary else failing[0]
    case, (out, raised, problem) = cases[main], results[main]
    msg = f"{problem} ({_where(case)}.)"
    # 1. a classic mistake that explains every case (or else this one)
    cause = next((m for m in SAMPLE_BUGS
                  if all(_sample_variant_fits(m, c, o, r) for c, (o, r, _) in zip(cases, results))), None)
    if cause is not None:
        return Verdict(False, f"{msg} Likely cause: {SAMPLE_BUGS[cause]}")
    if _is_format(problem):
        return Verdict(False, msg)
    hint = _draws_text(_recorded_draws(records, main), case["B"])
    if hint:
        return Verdict(False, msg + hint)
    if not ordinary:  # right on ordinary logits, at temperature 1 and on flat rows: only the large logits fail
        only_large = all(bool(cases[i]["note"]) and not cases[i]["name"] for i in failing)
        if only_large:
            return Verdict(False, f"{msg} The same function is right on ordinary logits; this case has "
                                  f"{case['note']}. Likely cause: {OVERFLOW}")
    probes = _sample_probe_text({c["name"]: results[i][2] is None for i, c in enumerate(cases) if c["name"]})
    return Verdict(False, msg + (probes or " Draw u = rng.random(B) once and return, for each row, the number of "
                                           "classes whose cumulative probability is below u."))


SAMPLE = Check(
    "test_sample_with_temperature", "sample_with_temperature",
    build=_builder(_sample_cases, lambda c: (c["logits"], c["temperature"], special("generator", seed=c["draw_seed"]))),
    judge=_judge_samples)
