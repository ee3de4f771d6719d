"""a7-char-lm: ``train_step(model, X, Y, state, lr, max_norm) -> (loss, new_state)``.

One clipped SGD step of a :class:`rnnkit.HiddenToHiddenRNN` on one batch. What is judged: the change of
every array of ``model.params`` (the step is taken in place, in the kernel's model), the loss before the
update and the final state of the batch. The model handed to the learner records how its
``loss_and_grads`` was called; the gradient dict it returned, read after ``train_step`` ended, tells
clipping after the update from no clipping at all.
"""
from __future__ import annotations

import numpy as np

from rnnkit import HiddenToHiddenRNN
from rnnkit.grading.engine import (BUG_MATCH_TOL, VALUE_TOL, GradedFunction, Mistake, Probe, Problem, ProbeRule,
                                   distinct_sizes, special, within_tolerance)

#: The arrays of ``model.params``, in the order their changes are reported.
PARAMS = ("Wx", "Ws", "b", "Wy", "c")
CHANGES = tuple(f"Δ{k}" for k in PARAMS)

#: The change of each parameter (its step) must agree with the reference's to this relative error. Far looser
#: than the float64 rounding of the same operations (~1e-15), so that the ε = 1e-6 some code adds to the norm
#: (torch's clip_grad_norm_ does) is accepted down to ‖g‖ = 0.01; every mistake below changes the step by a
#: percent or more. The loss and the final state come from the model's own loss_and_grads: VALUE_TOL.
STEP_TOL = 1e-4

#: Read from the model's record, not graded: 1 when the parameters took the unclipped step while the gradient
#: dict loss_and_grads returned holds the clipped gradients after the call (clipped after the update), else 0.
#: It tells that mistake from no clipping at all, whose parameters are the same.
CLIPPED_AFTER = "gradients clipped after the update"


def _model(sizes, params):
    model = HiddenToHiddenRNN(sizes["D"], sizes["H"], sizes["K"], rng=np.random.default_rng(0))
    model.params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    return model


def _norm(grads) -> float:
    return float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))


def _case(rng, sizes: dict, clip: float, zero_state: bool = False) -> dict:
    """The inputs of one training step; ``clip`` = max_norm / ‖g‖ (below 1: clipping is active)."""
    sizes = dict(sizes, K=sizes["D"])  # a language model predicts the next input symbol
    T, B, H, K = (sizes[k] for k in "TBHK")
    params = HiddenToHiddenRNN(K, H, K, rng=np.random.default_rng(int(rng.integers(0, 2**32)))).params
    ids = rng.integers(0, K, size=(T + 1, B))
    state = np.zeros((B, H)) if zero_state else 0.5 * rng.standard_normal((B, H))
    case = {"sizes": sizes, "params": params, "X": np.eye(K)[ids[:-1]], "Y": ids[1:], "state": state,
            "lr": float(rng.uniform(0.1, 0.5))}
    loss, grads, final = _model(sizes, params).loss_and_grads(case["X"], case["Y"], state, return_state=True)
    return _described(dict(case, max_norm=clip * _norm(grads), loss=float(loss), grads=grads, final=final,
                           norm=_norm(grads)))


def _described(case: dict) -> dict:
    """The case's sizes with its lr, max_norm and ‖g‖ (the engine names a case by its "sizes")."""
    sizes = {k: case["sizes"][k] for k in "TBDHK"}
    sizes.update({"lr": f"{case['lr']:.3f}", "max_norm": f"{case['max_norm']:.3g}", "‖g‖": f"{case['norm']:.3g}"})
    return dict(case, sizes=sizes)


def _with(case: dict, clip: float | None = None, zero_state: bool = False) -> dict:
    """``case`` with max_norm = ``clip`` × ‖g‖ or a zero initial state (loss, gradients, final state recomputed)."""
    state = np.zeros_like(case["state"]) if zero_state else case["state"]
    loss, grads, final = _model(case["sizes"], case["params"]).loss_and_grads(case["X"], case["Y"], state,
                                                                              return_state=True)
    ratio = clip if clip is not None else case["max_norm"] / case["norm"]
    return _described(dict(case, state=state, loss=float(loss), grads=grads, final=final, norm=_norm(grads),
                           max_norm=ratio * _norm(grads)))


def _step(grads, lr, scale) -> dict:
    """The change of each parameter for ``params -= lr * scale * grads`` (``scale`` a number or one per array)."""
    return {f"Δ{k}": -lr * (scale[k] if isinstance(scale, dict) else scale) * grads[k] for k in PARAMS}


def _scale(case) -> float:
    return min(1.0, case["max_norm"] / case["norm"])


def reference(case: dict) -> dict:
    """One clipped SGD step: the change of each parameter (ΔWx (H, D), ΔWs (H, H), Δb (H,), ΔWy (K, H), Δc (K,)),
    the loss before the update, the final state (B, H), and no gradients clipped after the update."""
    return dict(_step(case["grads"], case["lr"], _scale(case)), loss=np.array(case["loss"]),
                new_state=case["final"], **{CLIPPED_AFTER: np.array(0.0)})


# ---------------------------------------------------------------------------
# the kernel's record, read as outputs
# ---------------------------------------------------------------------------

def _type(value) -> str:
    return getattr(value, "type_name", type(value).__name__)


def read(case: dict, returned: dict, objects: dict) -> dict:
    """The learner's step of each parameter, loss and new_state (a form problem for an unreadable model)."""
    model = objects.get("model")
    params = model.get("params") if isinstance(model, dict) else None
    if not isinstance(params, dict):
        raise Problem("model.params must stay a dict of arrays; update its arrays in place "
                      "(params[name] -= lr * clipped[name]).")
    for k, before in case["params"].items():
        p = params.get(k)
        if not isinstance(p, np.ndarray) or p.dtype != np.float64 or p.shape != before.shape:
            got = f"{p.dtype} {p.shape}" if isinstance(p, np.ndarray) else _type(p)
            raise Problem(f"model.params[{k!r}] must stay a float64 array of shape {before.shape}; "
                          f"got {got}.")
    if all(np.array_equal(params[k], v) for k, v in case["params"].items()):
        raise Problem("it did not change model.params: update the arrays in place "
                      "(params[name] -= lr * clipped[name]).")
    loss, new_state = returned["loss"], returned["new_state"]
    if isinstance(loss, np.ndarray) and loss.ndim == 2 and np.ndim(new_state) == 0:
        raise Problem("it returns (new_state, loss); the order is (loss, new_state).")
    out = {f"Δ{k}": params[k] - v for k, v in case["params"].items()}
    out.update(loss=loss, new_state=new_state)
    out[CLIPPED_AFTER] = np.array(float(_clipped_after(case, out, model.get("calls"))))
    return out


def _clipped_after(case, got, calls) -> bool:
    """The parameters took the raw step while the recorded gradient dict holds clipped values after the call."""
    if case["max_norm"] >= case["norm"] or not isinstance(calls, list) or not calls:
        return False
    raw = _step(case["grads"], case["lr"], 1.0)
    if not all(within_tolerance(got[n], raw[n], BUG_MATCH_TOL) for n in CHANGES):
        return False
    for call in calls:
        grads = call.get("grads") if isinstance(call, dict) else None
        if isinstance(grads, dict) and all(isinstance(grads.get(k), np.ndarray) and grads[k].shape == g.shape
                                           and within_tolerance(grads[k], _scale(case) * g, BUG_MATCH_TOL)
                                           for k, g in case["grads"].items()):
            return True
    return False


def explain(cases: list, outputs: list) -> str:
    """A cause read from the learner's own step: arrays of model.params left where they were."""
    got = next((o for o in outputs if o is not None), {})
    unchanged = [k for k in PARAMS if isinstance(got.get(f"Δ{k}"), np.ndarray) and not got[f"Δ{k}"].any()]
    if not unchanged:
        return ""
    return (f"{', '.join(unchanged)} {'was' if len(unchanged) == 1 else 'were'} not updated: every array of "
            f"model.params takes the step.")


# ---------------------------------------------------------------------------
# the mistakes
# ---------------------------------------------------------------------------

def mistakes(case: dict) -> list:
    """The classic mistakes of train_step and what each gives on ``case`` (one pass from zeros and one after the
    update are shared by several)."""
    grads, lr, max_norm, norm, s = case["grads"], case["lr"], case["max_norm"], case["norm"], _scale(case)
    model = _model(case["sizes"], case["params"])
    zero_loss, zero_grads, zero_final = model.loss_and_grads(case["X"], case["Y"], return_state=True)
    correct = reference(case)
    after = {k: case["params"][k] + correct[f"Δ{k}"] for k in PARAMS}
    after_loss, _, after_final = _model(case["sizes"], after).loss_and_grads(case["X"], case["Y"], case["state"],
                                                                             return_state=True)
    raw = _step(grads, lr, 1.0)
    raw_norm = float(np.sqrt(sum(np.sum((case["params"][k] + raw[f"Δ{k}"]) ** 2) for k in PARAMS)))
    clip_params = {f"Δ{k}": (case["params"][k] + raw[f"Δ{k}"]) * min(1.0, max_norm / raw_norm) - case["params"][k]
                   for k in PARAMS}
    return [
        Mistake("not-clipped", NOT_CLIPPED, lambda c: raw),
        Mistake("clipped-after-update", CLIP_AFTER_UPDATE,
                lambda c: dict(raw, **{CLIPPED_AFTER: np.array(float(s < 1.0))})),
        Mistake("uphill", UPHILL, lambda c: _step(grads, lr, -s)),
        Mistake("state-ignored", STATE_IGNORED,
                lambda c: dict(_step(zero_grads, lr, min(1.0, max_norm / _norm(zero_grads))),
                               loss=np.array(zero_loss), new_state=zero_final)),
        Mistake("per-array-clip", PER_ARRAY,
                lambda c: _step(grads, lr, {k: min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()})),
        Mistake("always-rescaled", ALWAYS_RESCALED, lambda c: _step(grads, lr, max_norm / norm)),
        Mistake("inverted-condition", INVERTED,
                lambda c: _step(grads, lr, max_norm / norm if norm < max_norm else 1.0)),
        Mistake("step-clipped", CLIP_STEP, lambda c: _step(grads, lr, min(1.0, max_norm / (lr * norm)))),
        Mistake("norm-without-sqrt", NO_SQRT, lambda c: _step(grads, lr, min(1.0, max_norm / norm ** 2))),
        Mistake("sum-of-norms", SUM_OF_NORMS,
                lambda c: _step(grads, lr, min(1.0, max_norm / sum(np.linalg.norm(g) for g in grads.values())))),
        Mistake("clip-by-value", CLIP_VALUE,
                lambda c: {f"Δ{k}": -lr * np.clip(grads[k], -max_norm, max_norm) for k in PARAMS}),
        Mistake("lr-ignored", LR_IGNORED, lambda c: _step(grads, 1.0, s)),
        Mistake("params-clipped", CLIP_PARAMS, lambda c: clip_params),
        Mistake("loss-from-zeros", LOSS_ZERO, lambda c: {"loss": np.array(zero_loss)}),
        Mistake("loss-after-update", LOSS_AFTER, lambda c: {"loss": np.array(after_loss)}),
        Mistake("state-is-input", STATE_INPUT, lambda c: {"new_state": c["state"]}),
        Mistake("state-zeros", STATE_ZEROS, lambda c: {"new_state": np.zeros_like(c["state"])}),
        Mistake("state-from-zeros", STATE_FROM_ZERO, lambda c: {"new_state": zero_final}),
        Mistake("state-after-update", STATE_AFTER, lambda c: {"new_state": after_final}),
    ]


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
LOSS_AFTER = "the loss is computed after the update: return the loss that loss_and_grads gave before the step."
STATE_INPUT = ("new_state is the state given as input: return the final state of this batch "
               "(loss_and_grads(..., return_state=True)).")
STATE_ZEROS = ("new_state is a fresh zero state: return the final state of this batch "
               "(loss_and_grads(..., return_state=True)), so the next batch continues from it.")
STATE_FROM_ZERO = ("new_state is the final state of a pass that starts from zeros, not from the given state: "
                   "start from it (model.loss_and_grads(X, Y, state, return_state=True)).")
STATE_AFTER = ("new_state comes from a forward pass after the update: return the final state that "
               "loss_and_grads gave with the loss and gradients, before the step.")


# ---------------------------------------------------------------------------
# the cases and the probe rules
# ---------------------------------------------------------------------------

def draw(rng) -> dict:
    """A random step with clipping active (max_norm = half the global norm of the gradients)."""
    return _case(rng, distinct_sizes(rng, "T B D H", 2, 7), 0.5)


def _one_step() -> dict:
    """T = 1 and max_norm above ‖g‖: one time step, and gradients that must not be rescaled."""
    return _case(np.random.default_rng(20261209), {"T": 1, "B": 2, "D": 3, "H": 4}, 1.5)


def _probe_base() -> dict:
    return _case(np.random.default_rng(20261212), {"T": 3, "B": 2, "D": 4, "H": 5}, 0.5)


PROBES = (
    Probe("no clipping", lambda c: _with(c, clip=1.5), what="max_norm above the global norm ‖g‖ (no clipping)"),
    Probe("zero state", lambda c: _with(c, zero_state=True), what="a zero initial state (clipping active)"),
    # clipping each array alone, clipping lr·g, a norm without its square root ... differ from no clipping
    # only where the clip is strong
    Probe("strong clip", lambda c: _with(c, clip=0.02), what="a strong clip, max_norm = 2 % of ‖g‖"),
)

#: Read when no named mistake explains the step: which part of train_step is at fault.
RULES = (
    ProbeRule(wrong=("no clipping",),
              text="the step itself is at fault, not the clipping (it is wrong also where no clipping is needed). "
                   "Each array moves by params[name] -= lr * grads[name] with the gradients of "
                   "model.loss_and_grads(X, Y, state), from the given state."),
    ProbeRule(right=("no clipping",), wrong=("zero state",),
              text="the clipping is at fault (right where no clipping is needed, wrong wherever the clipping "
                   "acts). ‖g‖ = sqrt(Σ over all arrays of Σ g²), and when ‖g‖ > max_norm every gradient is "
                   "multiplied by max_norm / ‖g‖."),
    ProbeRule(right=("no clipping", "zero state"),
              text="the use of the given state is at fault (right where no clipping is needed and from a zero "
                   "state). The gradients come from "
                   "model.loss_and_grads(X, Y, state, return_state=True)."),
)


def _arguments(case: dict) -> tuple:
    s = case["sizes"]
    return (special("hidden_to_hidden_rnn", D=s["D"], H=s["H"], K=s["K"], cell="rnn", params=case["params"],
                    watch=True),
            case["X"], case["Y"], case["state"], case["lr"], case["max_norm"])


TRAIN_STEP = GradedFunction(
    grade_id="test_train_step", function="train_step",
    arguments=("model", "X", "Y", "state", "lr", "max_norm"), returns=("loss", "new_state"),
    args_of=_arguments, draw=draw, reference=reference, read=read, explain=explain,
    judged=CHANGES + ("loss", "new_state"), tol={**{n: STEP_TOL for n in CHANGES}, "loss": VALUE_TOL,
                                                 "new_state": VALUE_TOL},
    edge_cases=(_one_step,), mistakes=mistakes, mistakes_on="every case",
    probes=PROBES, probe_base=_probe_base, rules=RULES,
    passed_note="also for T = 1 with no clipping needed, from a zero state and with a strong clip",
    none_right=("Right on every probe case (no clipping needed, a zero state, a strong clip): the mistake shows "
                "only on the drawn sizes; compare the loop over model.params with "
                "params[name] -= lr * min(1, max_norm / ‖g‖) * grads[name]."),
    argument_notes={"X": "the caller may use the batch again (a second pass, the loss after the step).",
                    "Y": "the caller may use the batch again (a second pass, the loss after the step).",
                    "state": "it is the previous batch's final state, which the caller may still hold (to "
                             "restart the batch from it, or to evaluate)."},
    dims={"new_state": "B H", "ΔWx": "H D", "ΔWs": "H H", "Δb": "H", "ΔWy": "K H", "Δc": "K"},
    hints={"loss": "return the loss that model.loss_and_grads(X, Y, state, ...) gives, before the update.",
           "new_state": "return the final state that model.loss_and_grads(X, Y, state, return_state=True) gives."},
    withheld=("clip_by_global_norm", "global_norm", "clip_by_value", "SGD", "Adam", "Adagrad"),
)
