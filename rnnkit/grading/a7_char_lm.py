r"""Checks for assignment a7-char-lm (chapter 9): batching, a training step, sampling with temperature.

* ``make_batches(ids, B, T)``: B contiguous streams of length L = (N-1)//B; window j of every stream
  follows window j-1; targets are the inputs shifted one id ahead (as :func:`rnnkit.data.lm_batches`).
* ``sample_with_temperature(logits, temperature, rng)``: one draw ``u = rng.random(B)`` and inverse-CDF
  sampling from softmax(logits / temperature) (as :func:`rnnkit.sampling.sample_from_logits`).
* ``train_step(model, X, Y, state, lr, max_norm) -> (loss, new_state)``: loss and gradients from
  ``model.loss_and_grads`` starting at ``state``, clipping by global norm, one SGD update of
  ``model.params`` in place, and the final state for the next batch.

Each hidden test cell is a :class:`~rnnkit.grading.Check` in :data:`CHECKS`: the case builder draws
fresh inputs in the grading process and adds fixed edge cases (judged on every run); the judge sees only
what the kernel recorded: the returned values, the sizes the generator handed to ``sample_with_temperature``
drew, and the parameters of the model ``train_step`` updated. ``grade_*`` run a check in this process.
"""
from __future__ import annotations

import numpy as np

from .. import layers as _layers
from ..casefile import special
from ._core import (VALUE_TOL, Check, Verdict, _Failure, as_float_array, distinct_sizes, judge, modified_warning,
                    returned)

__all__ = ["CHECKS", "SANDBOX_EXPORTS", "SANDBOX_WITHHELD",
           "grade_make_batches", "grade_sample_with_temperature", "grade_train_step"]

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


def _raised_on_fixed(func: str, case: dict, records, index: int, names):
    """``returned(...)``, with the fixed case's purpose added when the learner's code raised on it."""
    try:
        return returned(records, index, func, names)
    except _Failure as f:
        if case.get("note") and "not implemented" not in str(f):
            raise _Failure(f"{f}\n(This happened on a fixed case, {_ctx(case['sizes'])}: {case['note']}.)") from None
        raise


# ---------------------------------------------------------------------------
# make_batches
# ---------------------------------------------------------------------------

def _batches(ids, B, T, mode=None):
    """The batches, or those of a buggy variant (``None`` if that variant cannot even build them)."""
    L = ids.size // B if mode == "n_over_b" else (ids.size - 1) // B
    if mode == "interleaved":  # streams dealt out id by id instead of contiguous slices
        inputs = ids[:L * B].reshape(L, B)
        targets = ids[1:L * B + 1].reshape(L, B)
    else:
        xs = [ids[b * L:b * L + L] for b in range(B)]
        ys = [ids[b * L + 1:b * L + L + 1] for b in range(B)]
        if any(x.size != L for x in xs):
            return None  # this variant runs past the end of ids
        inputs = np.stack(xs, axis=1)
        # the last stream's targets may run past the end (n_over_b): then only the inputs are known
        targets = np.stack(ys, axis=1) if all(y.size == L for y in ys) else None
    if mode == "unshifted":
        targets = inputs
    if targets is None:
        return [(inputs[s:s + T], None) for s in range(0, L - T + 1, T)]
    if mode == "overlapping":
        starts = range(0, L - T + 1)
    elif mode == "partial":
        starts = range(0, L, T)
    elif mode == "drops_last":
        starts = range(0, L - T, T)
    else:
        starts = range(0, L - T + 1, T)
    return [(inputs[s:s + T], targets[s:s + T]) for s in starts]


BATCH_BUGS = {
    "interleaved": "the streams are interleaved: stream b must be the b-th *contiguous* slice of the text, so "
                   "that the state at the end of one batch is the right start for the next.",
    "unshifted": "the targets are the inputs: the target at each position is the *next* id.",
    "overlapping": "the windows overlap: window j of a stream starts where window j-1 ended (steps of T).",
    "partial": "the last, partial window is kept: keep only full windows of T steps (L//T of them); the "
               "L mod T ids left at the end of each stream are dropped.",
    "drops_last": "the last full window is missing: when T divides L there are L//T windows, starting at "
                  "0, T, ..., L - T (range(0, L - T + 1, T)).",
    "n_over_b": "each stream has L = (N - 1)//B ids, not N//B: one id is kept back as the target of the last "
                "stream's last step.",
}
#: Bugs recognised by the number of windows alone (when no variant matches the batches exactly).
_COUNT_BUGS = ("overlapping", "partial", "drops_last")


def _batch_case(ids, B, T, note=""):
    L = (ids.size - 1) // B
    return {"ids": ids, "B": B, "T": T, "note": note, "sizes": {"N": int(ids.size), "B": B, "T": T, "L": L}}


def _batch_edge_cases() -> list[dict]:
    """Fixed cases, judged on every run: the two boundaries a random draw often misses."""
    r = np.random.default_rng(20261207)
    return [
        # N - 1 = B·L exactly and T divides L: the last target is the last id, no step is left over.
        _batch_case(r.permutation(200)[:3 * 12 + 1], 3, 4,
                    "B divides N - 1 and T divides L, so nothing is left over: the last target of the last "
                    "stream is the last id, and there are exactly L//T windows"),
        # L mod T = 3 (a partial window to drop) and B divides N, so (N - 1)//B = 13 differs from N//B = 14.
        _batch_case(r.permutation(200)[:56], 4, 5,
                    "L = (N - 1)//B = 13 is not a multiple of T = 5: the 3 ids left at the end of each stream "
                    "form no window, and N//B = 14 would run past the end of ids"),
    ]


def _batch_cases(rng) -> list[dict]:
    B, T = int(rng.integers(2, 6)), int(rng.integers(3, 8))
    N = int(B * T * rng.integers(3, 6) + rng.integers(1, 3 * T))
    return [_batch_case(rng.integers(0, 50, size=N), B, T)] + _batch_edge_cases()


def _same_batches(out, alt) -> bool:
    if alt is None or len(out) != len(alt):
        return False
    for pair, (x, y) in zip(out, alt):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            return False
        for got, ref in zip(pair, (x, y)):
            if (not isinstance(got, np.ndarray) or ref is None or got.shape != ref.shape
                    or not np.array_equal(got, ref)):
                return False
    return True


def _judge_batch_case(case: dict, out) -> Verdict:
    """Judge the learner's batches on one case (``case`` from the builder, ``out`` as returned)."""
    ids, B, T, sizes = case["ids"], case["B"], case["T"], case["sizes"]
    ctx = _ctx(sizes, " (a fixed case)" if case["note"] else "")
    expected = _batches(ids, B, T)
    if not isinstance(out, (list, tuple)):
        raise _Failure(f"make_batches must return a list of (inputs, targets) pairs; got {type(out).__name__}.")
    variants = {mode: _batches(ids, B, T, mode) for mode in BATCH_BUGS}
    if len(out) != len(expected):
        msg = f"make_batches returned {len(out)} batches; expected {len(expected)} ({ctx})."
        cause = next((m for m, alt in variants.items() if _same_batches(out, alt)), None)
        if cause is None:
            cause = next((m for m in _COUNT_BUGS if variants[m] is not None and len(variants[m]) == len(out)), None)
        if cause is not None:
            msg += f" Likely cause: {BATCH_BUGS[cause]}"
        elif case["note"]:
            msg += f" This case: {case['note']}."
        return Verdict(False, msg + " Each stream has L = (N-1)//B ids; there are L//T full windows.")
    for j, (pair, (x_ref, y_ref)) in enumerate(zip(out, expected)):
        try:
            x, y = pair
        except (TypeError, ValueError):
            raise _Failure(f"make_batches: batch {j} must be a pair (inputs, targets).") from None
        for name, got, ref in (("inputs", x, x_ref), ("targets", y, y_ref)):
            if not isinstance(got, np.ndarray) or got.dtype.kind not in "iu":
                raise _Failure(f"make_batches: {name} of batch {j} must be an integer numpy array.")
            if got.shape != ref.shape:
                raise _Failure(f"make_batches: {name} of batch {j} has shape {got.shape}; expected (T, B) = "
                               f"{ref.shape}.")
            if not np.array_equal(got, ref):
                msg = f"make_batches: {name} of batch {j} are wrong ({ctx})."
                for mode, text in BATCH_BUGS.items():
                    alt = variants[mode]
                    alt_j = alt[j][0 if name == "inputs" else 1] if alt is not None and j < len(alt) else None
                    if alt_j is not None and alt_j.shape == got.shape and np.array_equal(got, alt_j):
                        msg += f" Likely cause: {text}"
                        break
                else:
                    if case["note"]:
                        msg += f" This case: {case['note']}."
                return Verdict(False, msg)
    return Verdict(True, f"make_batches correct ({ctx}).")


def _judge_batches(cases, records) -> Verdict:
    for i, case in enumerate(cases):
        (out,) = _raised_on_fixed("make_batches", case, records, i, ["batches"])
        v = _judge_batch_case(case, out)
        if not v.passed:
            return v
    warning = modified_warning(records, "make_batches", ["ids", "B", "T"])
    if warning:
        return Verdict(False, warning)
    c = cases[0]
    return Verdict(True, f"make_batches correct ({_ctx(c['sizes'])}, and {len(cases) - 1} fixed edge cases).")


MAKE_BATCHES = Check(
    "test_make_batches", "make_batches",
    build=_builder(_batch_cases, lambda c: (c["ids"], c["B"], c["T"])),
    judge=_judge_batches)


# ---------------------------------------------------------------------------
# sample_with_temperature
# ---------------------------------------------------------------------------

def _naive_softmax(a):
    with np.errstate(all="ignore"):
        e = np.exp(a)
        return e / e.sum(axis=1, keepdims=True)


def _sample(logits, temperature, u, mode=None):
    scaled = logits * temperature if mode == "times" else logits / temperature
    if mode == "no_softmax":
        p = scaled
    elif mode == "naive":
        p = _naive_softmax(scaled)
    else:
        p = _layers.softmax(scaled)
    with np.errstate(all="ignore"):
        cdf = np.cumsum(p, axis=1)
        idx = (cdf <= u[:, None]).sum(1) if mode == "le" else (cdf < u[:, None]).sum(1)
    return np.minimum(idx, logits.shape[1] - 1)


SAMPLE_BUGS = {
    "times": "the logits are multiplied by the temperature; divide them: softmax(logits / T).",
    "no_softmax": "the scaled logits are used as probabilities; apply the softmax first.",
}
OVERFLOW = ("the softmax overflows: exp(logits / temperature) is inf for logits near 1000 at a low temperature, "
            "and inf / inf is NaN. Subtract each row's maximum before exp (softmax(o) = softmax(o - max o), "
            "as rnnkit's softmax does).")


def _sample_edge_case() -> dict:
    """Large logits at a low temperature: exp(o / T) overflows unless the row maximum is subtracted first.

    The spread (0.1) is small next to the offset (1000), so at T = 0.05 the scaled logits are
    20000 ± about 2: a proper distribution over the classes, not an argmax."""
    r = np.random.default_rng(20261208)
    B, K = 256, 6
    return {"logits": 1000.0 + 0.1 * r.standard_normal((B, K)), "temperature": 0.05,
            "draw_seed": int(r.integers(0, 2**32)), "B": B, "K": K, "sizes": {"B": B, "K": K},
            "note": "logits near 1000 at temperature 0.05, where exp(logits / temperature) overflows unless the "
                    "row maximum is subtracted first"}


def _sample_cases(rng) -> list[dict]:
    B, K = int(rng.integers(200, 400)), int(rng.integers(3, 8))
    logits = 2.0 * rng.standard_normal((B, K))
    cases = []
    for temperature in (float(rng.uniform(0.3, 0.7)), float(rng.uniform(1.5, 3.0))):
        cases.append({"logits": logits, "temperature": temperature, "draw_seed": int(rng.integers(0, 2**32)),
                      "B": B, "K": K, "sizes": {"B": B, "K": K}, "note": ""})
    return cases + [_sample_edge_case()]


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
    obj = records[index]["objects"].get("2")
    draws = obj.get("draws") if isinstance(obj, dict) else None
    if isinstance(draws, np.ndarray) and draws.ndim == 1 and draws.dtype.kind in "iu":
        return draws
    return None


def _judge_sample_case(case: dict, out, draws=None) -> Verdict:
    """Judge one call of ``sample_with_temperature`` (``draws``: sizes recorded by the generator).

    The fixed case (``case["note"]``) is judged after the random ones, so when it fails the same
    function was right on ordinary logits."""
    logits, temperature, B, K = case["logits"], case["temperature"], case["B"], case["K"]
    where = f"B={B}, K={K}, temperature {temperature:.2f}" + (" (a fixed case)" if case["note"] else "")
    if not isinstance(out, np.ndarray) or out.dtype.kind not in "iu" or out.shape != (B,):
        raise _Failure("sample_with_temperature must return an integer array of shape (B,) "
                       f"= ({B},); got {type(out).__name__}"
                       + (f" {out.dtype} {out.shape}" if isinstance(out, np.ndarray) else "") + ".")
    u = np.random.default_rng(case["draw_seed"]).random(B)
    expected = _sample(logits, temperature, u)
    if np.array_equal(out, expected):
        return Verdict(True, f"sample_with_temperature correct ({where}).")
    msg = f"sample_with_temperature: {int((out != expected).sum())} of {B} draws differ ({where})."
    variants = [(_sample(logits, temperature, u, "naive"), OVERFLOW)] if case["note"] else []
    variants += [(_sample(logits, temperature, u, mode), text) for mode, text in SAMPLE_BUGS.items()]
    variants.append((logits.argmax(1), "this is the argmax; sampling draws a class at random with the softmax "
                                       "probabilities."))
    for alt, text in variants:
        if not np.array_equal(alt, expected) and np.array_equal(out, alt):
            return Verdict(False, f"{msg} Likely cause: {text}")
    hint = _draws_text(draws, B)
    if hint:
        return Verdict(False, msg + hint)
    if case["note"]:
        return Verdict(False, f"{msg} The same function is right on ordinary logits; this case has {case['note']}. "
                              f"Likely cause: {OVERFLOW}")
    return Verdict(False, msg + " Draw u = rng.random(B) once and return, for each row, the number of classes "
                                "whose cumulative probability is below u.")


def _judge_samples(cases, records) -> Verdict:
    for i, case in enumerate(cases):  # the random cases first, then the fixed one
        try:
            (out,) = _raised_on_fixed("sample_with_temperature", case, records, i, ["draws"])
        except _Failure as f:
            if case["note"] and "not implemented" not in str(f):
                raise _Failure(f"{f}\nThe same function is right on ordinary logits. "
                               f"Likely cause: {OVERFLOW}") from None
            raise
        v = _judge_sample_case(case, out, _recorded_draws(records, i))
        if not v.passed:
            return v
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
    return Verdict(True, f"sample_with_temperature correct at two temperatures (B={c['B']}, K={c['K']}) and on "
                         "large logits at a low temperature.")


SAMPLE = Check(
    "test_sample_with_temperature", "sample_with_temperature",
    build=_builder(_sample_cases, lambda c: (c["logits"], c["temperature"], special("generator", seed=c["draw_seed"]))),
    judge=_judge_samples)


# ---------------------------------------------------------------------------
# train_step
# ---------------------------------------------------------------------------

def _model(D, H, K, params):
    from ..models import HiddenToHiddenRNN  # imported here: the other checks do not need the models
    model = HiddenToHiddenRNN(D, H, K, rng=np.random.default_rng(0))
    model.params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    return model


def _train_case(rng, sizes, clip: float, note: str = "") -> dict:
    """Inputs of one training step; ``clip`` = max_norm / ‖g‖ (below 1: clipping is active)."""
    from ..models import HiddenToHiddenRNN
    T, B, D, H = (sizes[k] for k in "TBDH")
    K = D  # a language model predicts the next input symbol
    params = HiddenToHiddenRNN(D, H, K, rng=np.random.default_rng(int(rng.integers(0, 2**32)))).params
    ids = rng.integers(0, K, size=(T + 1, B))
    X, Y = np.eye(K)[ids[:-1]], ids[1:]
    state = 0.5 * rng.standard_normal((B, H))
    lr = float(rng.uniform(0.1, 0.5))
    reference = _model(D, H, K, params)
    loss, grads, final = reference.loss_and_grads(X, Y, state, return_state=True)
    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    return {"sizes": {"T": T, "B": B, "D": D, "H": H, "K": K}, "params": params, "X": X, "Y": Y, "state": state,
            "lr": lr, "max_norm": clip * norm, "loss": float(loss), "grads": grads, "final": final, "norm": norm,
            "note": note}


def _train_cases(rng) -> list[dict]:
    random_case = _train_case(rng, distinct_sizes(rng, "T B D H", 2, 7), 0.5)  # clipping is active
    edge = _train_case(np.random.default_rng(20261209), {"T": 1, "B": 2, "D": 3, "H": 4}, 1.5,
                       "max_norm is above the global norm of the gradients, so they must not be rescaled")
    return [random_case, edge]


def _train_args(c):
    D, H, K = c["sizes"]["D"], c["sizes"]["H"], c["sizes"]["K"]
    return (special("hidden_to_hidden_rnn", D=D, H=H, K=K, cell="rnn", params=c["params"]),
            c["X"], c["Y"], c["state"], c["lr"], c["max_norm"])


def _step(params, grads, lr, scale):
    return {k: params[k] - lr * scale[k] * grads[k] if isinstance(scale, dict) else params[k] - lr * scale * grads[k]
            for k in grads}


def _judge_train_case(case: dict, out, params_after) -> Verdict:
    """Judge one call of ``train_step``: its outputs and the model's parameters after the call."""
    loss, new_state = out
    before, grads, lr, max_norm, norm = case["params"], case["grads"], case["lr"], case["max_norm"], case["norm"]
    X, Y, state = case["X"], case["Y"], case["state"]
    sizes = case["sizes"]
    ctx = _ctx(sizes, f", lr={lr:.3f}, max_norm={max_norm:.3g}, ‖g‖={norm:.3g}"
               + (" (a fixed case)" if case["note"] else ""))
    names = sorted(before)
    if not isinstance(params_after, dict):
        raise _Failure("train_step: model.params must stay a dict of arrays; update its arrays in place "
                       "(params[name] -= lr * clipped[name]).")
    got = [params_after.get(k) for k in names]
    if all(isinstance(g, np.ndarray) and g.shape == before[k].shape and np.array_equal(g, before[k])
           for g, k in zip(got, names)):
        raise _Failure("train_step did not change model.params: update the arrays in place "
                       "(params[name] -= lr * clipped[name]).")
    scale = min(1.0, max_norm / norm)
    expected = _step(before, grads, lr, scale)
    D, H, K = sizes["D"], sizes["H"], sizes["K"]
    _, zero_grads = _model(D, H, K, before).loss_and_grads(X, Y)
    zero_norm = float(np.sqrt(sum(np.sum(g * g) for g in zero_grads.values())))
    variants = [
        ("the gradients are not clipped: rescale all of them together when their global norm exceeds max_norm.",
         _step(before, grads, lr, 1.0)),
        ("the update goes uphill: gradient descent subtracts lr × gradient.", _step(before, grads, lr, -scale)),
        ("the given state is ignored: the batch continues the previous one, so start from it — "
         "model.loss_and_grads(X, Y, state, return_state=True).",
         _step(before, zero_grads, lr, min(1.0, max_norm / zero_norm))),
        ("each gradient is clipped on its own; clip by the global norm over all of them.",
         _step(before, grads, lr, {k: min(1.0, max_norm / np.linalg.norm(grads[k])) for k in grads})),
        ("the gradients are rescaled although their global norm is below max_norm: scale them by "
         "max_norm / ‖g‖ only when ‖g‖ > max_norm (a factor min(1, max_norm / ‖g‖)).",
         _step(before, grads, lr, max_norm / norm)),
    ]
    v = judge("train_step", names, got, expected, tol=VALUE_TOL, kind="parameters after the step",
              compared_with="one clipped SGD step of the reference", variants=variants, context=ctx)
    if not v.passed:
        return v
    after_loss = _model(D, H, K, expected).loss_and_grads(X, Y, state)[0]
    v = judge("train_step", ["loss"], [loss], {"loss": np.array(case["loss"])}, tol=VALUE_TOL, kind="value",
              compared_with="model.loss_and_grads before the update",
              variants=[("return the loss computed before the update, from the given state.",
                         {"loss": np.array(_model(D, H, K, before).loss_and_grads(X, Y)[0])}),
                        ("the loss is computed after the update: return the loss that loss_and_grads gave "
                         "before the step.", {"loss": np.array(after_loss)})],
              context=ctx)
    if not v.passed:
        return v
    try:
        as_float_array(new_state, "train_step", "new_state")
    except _Failure as f:
        return Verdict(False, f"{f} Return the final state of the batch so the next batch can start from it.")
    return judge("train_step", ["new_state"], [new_state], {"new_state": case["final"]}, tol=VALUE_TOL,
                 kind="values", compared_with="the reference's final state",
                 variants=[("new_state is the state given as input: return the final state of this batch "
                            "(loss_and_grads(..., return_state=True)).", {"new_state": state})],
                 context=ctx)


def _judge_train(cases, records) -> Verdict:
    for i, case in enumerate(cases):
        out = _raised_on_fixed("train_step", case, records, i, ["loss", "new_state"])
        obj = records[i]["objects"].get("0")
        v = _judge_train_case(case, out, obj.get("params") if isinstance(obj, dict) else None)
        if not v.passed:
            if case["note"]:
                v = Verdict(False, f"{v.message}\n(This case: {case['note']}.)")
            return v
    warning = modified_warning(records, "train_step", ["model", "X", "Y", "state", "lr", "max_norm"])
    if warning:
        return Verdict(False, warning)
    return Verdict(True, f"train_step correct ({_ctx(cases[0]['sizes'])}, clipping active; and a fixed case "
                         "where it is not).")


TRAIN_STEP = Check(
    "test_train_step", "train_step",
    build=_builder(_train_cases, _train_args),
    judge=_judge_train)

#: The hidden test cells of a7-char-lm, by grade_id.
CHECKS = {c.grade_id: c for c in (MAKE_BATCHES, TRAIN_STEP, SAMPLE)}


def grade_make_batches(fn, *, rng=None) -> Verdict:
    """Check ``make_batches(ids, B, T) -> list of (inputs (T, B), targets (T, B))``."""
    return MAKE_BATCHES.grade(fn, rng=rng)


def grade_sample_with_temperature(fn, *, rng=None) -> Verdict:
    """Check ``sample_with_temperature(logits, temperature, rng) -> (B,)`` on the same draws as the reference."""
    return SAMPLE.grade(fn, rng=rng)


def grade_train_step(fn, *, rng=None) -> Verdict:
    """Check ``train_step(model, X, Y, state, lr, max_norm) -> (loss, new_state)`` on a fresh model."""
    return TRAIN_STEP.grade(fn, rng=rng)
