"""a7-char-lm: the check of train_step (its buggy variants, probe rules and judge)."""
from __future__ import annotations

import numpy as np

from ..kernel import special
from ...models import HiddenToHiddenRNN
from .._core import (BUG_MATCH_TOL, VALUE_TOL, Check, ProbeRule, Verdict, _Failure, _max_error, distinct_sizes,
                     float32_note, judged_error, within_tolerance,
                     first_rule, judge, modified_warning)
from .common import _builder, _ctx, _outcome


# ---------------------------------------------------------------------------
# train_step
# ---------------------------------------------------------------------------

#: The change of each parameter (its step) must agree with the reference's to this relative error. Far
#: looser than the float64 rounding of the same operations (~1e-15), so that the ε = 1e-6 some code adds
#: to the norm (torch's clip_grad_norm_ does) is accepted down to ‖g‖ = 0.01; every mistake below changes
#: the step by a percent or more.
STEP_TOL = 1e-4

NOT_CLIPPED = ("the gradients are not clipped (or only after the update, into new arrays, which is too late): "
               "when their global norm ‖g‖ exceeds max_norm, rescale all of them together by max_norm / ‖g‖, "
               "then take the step.")
CLIP_AFTER_UPDATE = ("the gradients are clipped after the update: the parameters moved with the raw gradients "
                     "(the gradient dict holds clipped values only at the end). Clip first, then take the step.")
UPHILL = "the update goes uphill: gradient descent subtracts lr × gradient."
STATE_IGNORED = ("the given state is ignored: the batch continues the previous one, so start from it — "
                 "model.loss_and_grads(X, Y, state, return_state=True).")
PER_ARRAY = "each gradient is clipped on its own; clip by the global norm over all of them."
ALWAYS_RESCALED = ("the gradients are rescaled although their global norm is below max_norm: scale them by "
                   "max_norm / ‖g‖ only when ‖g‖ > max_norm (a factor min(1, max_norm / ‖g‖)).")
INVERTED = ("the clipping condition is inverted: the gradients are rescaled when ‖g‖ is below max_norm and "
            "left alone when it is above. The factor is min(1, max_norm / ‖g‖).")
CLIP_STEP = ("the step lr × g is clipped instead of the gradient g: the factor is min(1, max_norm / ‖g‖) with "
             "‖g‖ the norm of the gradients; then multiply by lr.")
NO_SQRT = "the global norm lacks its square root: ‖g‖ = sqrt(Σ over all arrays of Σ g²)."
SUM_OF_NORMS = ("the global norm is the sum of the arrays' norms; it is the norm of all entries together, "
                "sqrt(Σₖ ‖gₖ‖²).")
CLIP_VALUE = ("the gradients are clipped elementwise to [-max_norm, max_norm]; clip by the global norm: one "
              "factor min(1, max_norm / ‖g‖) for all of them.")
LR_IGNORED = "lr is not used: the step is lr × (clipped gradient)."
CLIP_PARAMS = ("the parameters are clipped instead of the gradients: max_norm bounds the global norm of the "
               "gradients, before the step; the parameters are not rescaled.")
LOSS_ZERO = ("the loss comes from a pass that starts from zeros: return the loss of "
             "model.loss_and_grads(X, Y, state, ...), from the given state.")
LOSS_AFTER = ("the loss is computed after the update: return the loss that loss_and_grads gave before the "
              "step.")
STATE_INPUT = ("new_state is the state given as input: return the final state of this batch "
               "(loss_and_grads(..., return_state=True)).")
STATE_ZEROS = ("new_state is a fresh zero state: return the final state of this batch "
               "(loss_and_grads(..., return_state=True)), so the next batch continues from it.")
STATE_FROM_ZERO = ("new_state is the final state of a pass that starts from zeros, not from the given state "
                   "(the same mistake as above if the gradients ignore the state too).")
STATE_AFTER = ("new_state comes from a forward pass after the update: return the final state that "
               "loss_and_grads gave with the loss and gradients, before the step.")
SWAPPED = "train_step returns (new_state, loss); the order is (loss, new_state)."


def _model(D, H, K, params):
    model = HiddenToHiddenRNN(D, H, K, rng=np.random.default_rng(0))
    model.params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    return model


def _norm(grads) -> float:
    return float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))


def _train_case(rng, sizes, clip: float, note: str = "", name: str = "", zero_state: bool = False) -> dict:
    """Inputs of one training step; ``clip`` = max_norm / ‖g‖ (below 1: clipping is active)."""
    T, B, D, H = (sizes[k] for k in "TBDH")
    K = D  # a language model predicts the next input symbol
    params = HiddenToHiddenRNN(D, H, K, rng=np.random.default_rng(int(rng.integers(0, 2**32)))).params
    ids = rng.integers(0, K, size=(T + 1, B))
    X, Y = np.eye(K)[ids[:-1]], ids[1:]
    state = np.zeros((B, H)) if zero_state else 0.5 * rng.standard_normal((B, H))
    lr = float(rng.uniform(0.1, 0.5))
    loss, grads, final = _model(D, H, K, params).loss_and_grads(X, Y, state, return_state=True)
    norm = _norm(grads)
    return {"sizes": {"T": T, "B": B, "D": D, "H": H, "K": K}, "params": params, "X": X, "Y": Y, "state": state,
            "lr": lr, "max_norm": clip * norm, "loss": float(loss), "grads": grads, "final": final, "norm": norm,
            "note": note, "name": name}


def _train_cases(rng) -> list[dict]:
    random_case = _train_case(rng, distinct_sizes(rng, "T B D H", 2, 7), 0.5)  # clipping is active
    fixed = [
        _train_case(np.random.default_rng(20261209), {"T": 1, "B": 2, "D": 3, "H": 4}, 1.5,
                    "max_norm is above the global norm of the gradients, so they must not be rescaled"),
        # probes: the state switched off (zeros), and a strong clip (max_norm = 2 % of ‖g‖), where clipping
        # each array alone, clipping lr·g, a norm without its square root... differ from no clipping
        _train_case(np.random.default_rng(20261211), {"T": 4, "B": 3, "D": 5, "H": 2}, 0.5,
                    "a zero initial state (clipping active)", "zero state", zero_state=True),
        _train_case(np.random.default_rng(20261212), {"T": 3, "B": 2, "D": 4, "H": 5}, 0.02,
                    "a strong clip, max_norm = 2 % of ‖g‖", "strong clip"),
    ]
    return [random_case] + fixed


def _train_args(c):
    D, H, K = c["sizes"]["D"], c["sizes"]["H"], c["sizes"]["K"]
    return (special("hidden_to_hidden_rnn", D=D, H=H, K=K, cell="rnn", params=c["params"], watch=True),
            c["X"], c["Y"], c["state"], c["lr"], c["max_norm"])


def _step(params, grads, lr, scale):
    """Parameters after ``params -= lr * scale * grads`` (``scale`` a number or one per array)."""
    return {k: params[k] - lr * (scale[k] if isinstance(scale, dict) else scale) * grads[k] for k in grads}


def _train_variants(case: dict) -> dict:
    """What each classic mistake gives on this case: ``{"params": [(text, outs)], "loss": [...], "new_state": [...]}``.

    Every ``outs`` maps output names to arrays (parameters by name; ``loss``; ``new_state``)."""
    before, grads, lr, max_norm, norm = case["params"], case["grads"], case["lr"], case["max_norm"], case["norm"]
    X, Y, state = case["X"], case["Y"], case["state"]
    D, H, K = (case["sizes"][k] for k in "DHK")
    s = min(1.0, max_norm / norm)
    _, zero_grads, zero_final = _model(D, H, K, before).loss_and_grads(X, Y, return_state=True)
    zero_norm = _norm(zero_grads)
    raw = _step(before, grads, lr, 1.0)
    raw_norm = float(np.sqrt(sum(np.sum(p * p) for p in raw.values())))
    correct = _step(before, grads, lr, s)
    after_loss, _, after_final = _model(D, H, K, correct).loss_and_grads(X, Y, state, return_state=True)
    params = [
        (NOT_CLIPPED, raw),
        (UPHILL, _step(before, grads, lr, -s)),
        (STATE_IGNORED, _step(before, zero_grads, lr, min(1.0, max_norm / zero_norm))),
        (PER_ARRAY, _step(before, grads, lr, {k: min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()})),
        (ALWAYS_RESCALED, _step(before, grads, lr, max_norm / norm)),
        (INVERTED, _step(before, grads, lr, max_norm / norm if norm < max_norm else 1.0)),
        (CLIP_STEP, _step(before, grads, lr, min(1.0, max_norm / (lr * norm)))),
        (NO_SQRT, _step(before, grads, lr, min(1.0, max_norm / norm ** 2))),
        (SUM_OF_NORMS, _step(before, grads, lr, min(1.0, max_norm / sum(np.linalg.norm(g) for g in grads.values())))),
        (CLIP_VALUE, {k: before[k] - lr * np.clip(g, -max_norm, max_norm) for k, g in grads.items()}),
        (LR_IGNORED, _step(before, grads, 1.0, s)),
        (CLIP_PARAMS, {k: p * min(1.0, max_norm / raw_norm) for k, p in raw.items()}),
    ]
    loss = [(LOSS_ZERO, {"loss": np.array(_model(D, H, K, before).loss_and_grads(X, Y)[0])}),
            (LOSS_AFTER, {"loss": np.array(after_loss)})]
    new_state = [(STATE_INPUT, {"new_state": state}), (STATE_ZEROS, {"new_state": np.zeros_like(state)}),
                 (STATE_FROM_ZERO, {"new_state": zero_final}), (STATE_AFTER, {"new_state": after_final})]
    return {"expected": _changes(before, correct), "params": [(t, _changes(before, p)) for t, p in params],
            "loss": loss, "new_state": new_state}


def _changes(before, after) -> dict:
    """The step of each parameter, ``{"ΔWx": after - before, ...}`` (the quantity judged)."""
    return {f"Δ{k}": after[k] - before[k] for k in before}


def _close(got, ref) -> bool:
    """``got`` (a learner's number or array) equals ``ref`` to the precision a variant is matched with."""
    a = _as_array(got)
    return a is not None and a.shape == np.shape(ref) and \
        _max_error(a, np.asarray(ref, dtype=np.float64)) <= BUG_MATCH_TOL


def _low_precision(value) -> str:
    """The dtype of a float result below float32 precision (float16; '' otherwise): reported on every run.
    float32 and wider are judged on their values (float32 with its own tolerance, see ``judged_error``)."""
    dtype = getattr(value, "dtype", None)
    if isinstance(value, (np.ndarray, np.floating)) and dtype is not None and dtype.kind == "f" \
            and dtype.itemsize < 4:
        return str(dtype)
    return ""


def _float32_notes(got: dict, truth: dict) -> str:
    """' <name> holds float32 values ...' for the loss and new_state judged as float32 ('' for none)."""
    notes = ""
    for n in ("loss", "new_state"):
        a = _as_array(got.get(n))
        if a is not None and a.shape == np.shape(truth[n]):
            err, tol, float32 = judged_error(a, np.asarray(truth[n], dtype=np.float64), VALUE_TOL)
            if float32:
                notes += " " + float32_note(n, float(err.max(initial=0.0)), tol)
    return notes


def _close_all(a: dict, b: dict) -> bool:
    return all(_close(a[k], b[k]) for k in a)


def _as_array(value):
    """A learner's output as a float64 array if it is a plain real number or array, else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
        return np.asarray(value, dtype=np.float64)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return np.array(float(value))
    return None


def _fits(text: str, group: str, got: dict, variants_per_case, truths) -> bool:
    """Variant ``text`` of ``group`` explains every case: the learner's outputs equal the variant's
    (and are right where the variant is right)."""
    found_wrong = False
    for got_c, variants, truth in zip(got, variants_per_case, truths):
        outs = dict(variants[group])[text]
        if got_c is None:
            return False
        same_as_truth = all(_close(outs[n], truth[n]) for n in outs)
        for n, ref in outs.items():
            if not _close(got_c.get(n), ref):
                return False
        found_wrong = found_wrong or not same_as_truth
    return found_wrong


def _clipped_afterwards(case, calls, params_got) -> bool:
    """The params took the unclipped step while the gradient dict holds clipped values after the call."""
    if not isinstance(calls, list) or not calls or case["max_norm"] >= case["norm"]:
        return False
    raw = _changes(case["params"], _step(case["params"], case["grads"], case["lr"], 1.0))
    if not all(_close(params_got.get(k), v) for k, v in raw.items()):
        return False
    s = min(1.0, case["max_norm"] / case["norm"])
    for call in calls:
        grads = call.get("grads") if isinstance(call, dict) else None
        if isinstance(grads, dict) and all(_close(grads.get(k), s * g) for k, g in case["grads"].items()):
            return True
    return False


def _calls_text(case, calls) -> str:
    """What the recorded calls of model.loss_and_grads add to a diagnosis of the state or the loss."""
    if not isinstance(calls, list):
        return ""
    if not calls:
        return " (model.loss_and_grads was never called.)"
    first = calls[0] if isinstance(calls[0], dict) else {}
    state0 = first.get("state0")
    if state0 is None and case["state"].any():
        return " (model.loss_and_grads was called without a state, so it started from zeros.)"
    if isinstance(state0, np.ndarray) and not state0.any() and case["state"].any():
        return " (model.loss_and_grads was called with a zero state.)"
    return ""


#: Probe rules of train_step, read when no classic mistake explains the parameters. The fixed case where no
#: clipping is needed ("no clipping") switches the clipping off; a zero state ("zero state") switches the use
#: of the state off.
_TRAIN_PROBE_RULES = (
    ProbeRule(wrong=("no clipping",),
              text="Wrong also on the fixed case where no clipping is needed (max_norm above ‖g‖): the step "
                   "itself is at fault, not the clipping. Each array moves by params[name] -= lr * grads[name] "
                   "with the gradients of model.loss_and_grads(X, Y, state), from the given state."),
    ProbeRule(right=("no clipping",), wrong=("zero state",),
              text="Right on the fixed case where no clipping is needed, wrong wherever the clipping acts: the "
                   "clipping is at fault. ‖g‖ = sqrt(Σ over all arrays of Σ g²), and when ‖g‖ > max_norm every "
                   "gradient is multiplied by max_norm / ‖g‖."),
    ProbeRule(right=("no clipping", "zero state"),
              text="Right where no clipping is needed and on the probe case that starts from a zero state: the "
                   "use of the given state is at fault. The gradients come from "
                   "model.loss_and_grads(X, Y, state, return_state=True)."),
)


def _train_probe_text(passed_noclip: bool, passed_zero: bool) -> str:
    text = first_rule(_TRAIN_PROBE_RULES, {"no clipping": not passed_noclip, "zero state": not passed_zero})
    return " " + text if text else ""


def _train_outputs(case, out, obj) -> dict:
    """The learner's parameters, loss and new_state on one case (a failure for an unreadable model)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("params"), dict):
        raise _Failure("train_step: model.params must stay a dict of arrays; update its arrays in place "
                       "(params[name] -= lr * clipped[name]).")
    params = obj["params"]
    before = case["params"]
    for k, v in before.items():
        p = params.get(k)
        if not isinstance(p, np.ndarray) or p.dtype != np.float64 or p.shape != v.shape:
            raise _Failure(f"train_step: model.params[{k!r}] must stay a float64 array of shape {v.shape}; got "
                           + (f"{p.dtype} {p.shape}" if isinstance(p, np.ndarray) else
                              getattr(p, "type_name", type(p).__name__)) + ".")
    if all(np.array_equal(params[k], v) for k, v in before.items()):
        raise _Failure("train_step did not change model.params: update the arrays in place "
                       "(params[name] -= lr * clipped[name]).")
    loss, new_state = out
    if isinstance(loss, np.ndarray) and loss.ndim == 2 and _as_array(new_state) is not None \
            and np.ndim(new_state) == 0:
        raise _Failure(SWAPPED)
    got = {f"Δ{k}": np.asarray(params[k], dtype=np.float64) - v for k, v in before.items()}
    got["loss"], got["new_state"] = loss, new_state
    return got


def _judge_train(cases, records) -> Verdict:
    got, raised, calls = [], [], []
    for i, case in enumerate(cases):
        out, error = _outcome("train_step", records, i, ["loss", "new_state"])
        obj = records[i]["objects"].get("0")
        calls.append(obj.get("calls") if isinstance(obj, dict) else None)
        if error is not None:
            got.append(None)
            raised.append(error)
            continue
        try:
            got.append(_train_outputs(case, out, obj))
        except _Failure as f:
            return Verdict(False, f"{f} (On {_train_case_name(case)}.)")
        raised.append(None)
    variants = [_train_variants(c) for c in cases]
    truths = [dict(v["expected"], loss=np.array(c["loss"]), new_state=c["final"]) for v, c in zip(variants, cases)]
    # which part of each case is wrong
    names = [f"Δ{k}" for k in sorted(cases[0]["params"])]
    wrong = []
    for g, t in zip(got, truths):
        if g is None:
            wrong.append({"raised"})
            continue
        bad = set()
        for n in names:
            a = _as_array(g.get(n))
            if a is None or a.shape != t[n].shape or _max_error(a, t[n]) > STEP_TOL:
                bad.add("params")
        for n in ("loss", "new_state"):
            a = _as_array(g.get(n))
            if a is None or not within_tolerance(a, np.asarray(t[n], dtype=np.float64), VALUE_TOL) \
                    or _low_precision(g.get(n)):
                bad.add(n)
        wrong.append(bad)
    failing = [i for i, w in enumerate(wrong) if w]
    if not failing:
        warning = modified_warning(records, "train_step", ["model", "X", "Y", "state", "lr", "max_norm"])
        if warning:
            return Verdict(False, warning)
        return Verdict(True, f"train_step correct ({_ctx(cases[0]['sizes'])}, clipping active; and fixed cases: "
                             "no clipping needed, a zero state, a strong clip)." + _float32_notes(got[0], truths[0]))
    main = next((i for i in failing if not cases[i]["name"]), failing[0])
    case = cases[main]
    if raised[main] is not None:
        return Verdict(False, f"{raised[main]}\n(On {_train_case_name(case)}.)")
    # a classic mistake that explains every case, per group of outputs (clipping after the update first:
    # its parameters look unclipped, the recorded gradient dict tells them apart)
    chosen = {}
    if _clipped_afterwards(cases[0], calls[0], got[0]) and all(g is not None for g in got):
        chosen["params"] = CLIP_AFTER_UPDATE
    for group in ("params", "loss", "new_state"):
        if group in chosen or any(g is None for g in got):
            continue
        chosen[group] = next((text for text, _ in variants[main][group]
                              if _fits(text, group, got, variants, truths)), None)
    problems = []
    g, v, t = got[main], variants[main], truths[main]
    ctx = _ctx(case["sizes"], f", lr={case['lr']:.3f}, max_norm={case['max_norm']:.3g}, ‖g‖={case['norm']:.3g}")
    if "params" in wrong[main]:
        # only a mistake that explains every case is named (one that fits this case alone may be
        # contradicted by a probe: clipping lr·g looks like no clipping unless the clip is strong)
        cause = chosen.get("params")
        outs = dict(v["params"]).get(NOT_CLIPPED if cause == CLIP_AFTER_UPDATE else cause)
        verdict = judge("train_step", names, [g[n] for n in names], {n: t[n] for n in names}, tol=STEP_TOL,
                        kind="change of the parameter", compared_with="one clipped SGD step of the reference",
                        variants=[(cause, outs)] if cause else [])
        text = verdict.message
        unchanged = [n[1:] for n in names if not g[n].any()]
        if unchanged:
            text += (f"\n{', '.join(unchanged)} {'was' if len(unchanged) == 1 else 'were'} not updated: every "
                     f"array of model.params takes the step.")
        if "Likely cause:" not in text:
            right = {c["name"] or ("no clipping needed" if c["note"] else ""): "params" not in w
                     for c, w in zip(cases, wrong)}
            text += "\n" + _train_probe_text(right.get("no clipping needed", False),
                                             right.get("zero state", False)).strip()
            text += _calls_text(case, calls[main])
        elif cause == STATE_IGNORED:
            text += _calls_text(case, calls[main])
        elif cause not in (NOT_CLIPPED, CLIP_AFTER_UPDATE) and _close_all(outs, dict(v["params"])[NOT_CLIPPED]):
            telling = [_train_case_name(c) for c, vc in zip(cases, variants)
                       if not _close_all(dict(vc["params"])[cause], dict(vc["params"])[NOT_CLIPPED])]
            if telling:
                text += (f"\n(On this case the mistake looks like no clipping at all; {' and '.join(telling)} "
                         f"tell{'s' if len(telling) == 1 else ''} them apart.)")
        problems.append(text)
    for group in ("loss", "new_state"):
        if group not in wrong[main]:
            continue
        value = g[group]
        if _low_precision(value):
            problems.append(f"train_step: {group} has dtype {_low_precision(value)}; the inputs are float64, so "
                            f"compute and return float64 (look for an .astype or a dtype= argument).")
            continue
        if value is None or isinstance(value, (tuple, list)) or _as_array(value) is None:
            problems.append(f"train_step: {group} must be a {'float' if group == 'loss' else 'numpy array'}; got "
                            f"{getattr(value, 'type_name', type(value).__name__)}."
                            + (" Return the final state of the batch so the next batch can start from it."
                               if group == "new_state" else ""))
            continue
        cause = chosen.get(group)
        verdict = judge("train_step", [group], [value], {group: np.asarray(t[group])}, tol=VALUE_TOL, kind="values",
                        compared_with=("model.loss_and_grads before the update" if group == "loss"
                                       else "the final state of the batch"),
                        variants=[(cause, dict(v[group])[cause])] if cause else [],
                        hints={"loss": "return the loss that model.loss_and_grads(X, Y, state, ...) gives, "
                                       "before the update.",
                               "new_state": "return the final state that model.loss_and_grads(X, Y, state, "
                                            "return_state=True) gives."})
        text = verdict.message
        if cause in (LOSS_AFTER, STATE_AFTER) and isinstance(calls[main], list) and any(
                isinstance(c, dict) and c.get("after_update") for c in calls[main]):
            text += " (model.loss_and_grads was called again after the update.)"
        problems.append(text)
    message = "\n".join(problems) + f"\n(On {_train_case_name(case)}: {ctx}.)"
    others = [_train_case_name(cases[i]) for i in failing if i != main and not cases[i]["name"]]
    if others:
        message += f"\n(Also wrong on {', '.join(others)}.)"
    return Verdict(False, message)


def _train_case_name(case) -> str:
    if case["name"]:
        return f"the probe case with {case['note']}"
    if case["note"]:
        return f"the fixed case where {case['note']}"
    return "the drawn case (clipping active)"


TRAIN_STEP = Check(
    "test_train_step", "train_step",
    build=_builder(_train_cases, _train_args),
    judge=_judge_train)
