r"""Checks for assignment a7-char-lm (chapter 9): batching, a training step, sampling with temperature.

* ``make_batches(ids, B, T)``: B contiguous streams of length L = (N-1)//B; window j of every stream
  follows window j-1; targets are the inputs shifted one id ahead (as :func:`rnnkit.data.lm_batches`).
* ``sample_with_temperature(logits, temperature, rng)``: one draw ``u = rng.random(B)`` and inverse-CDF
  sampling from softmax(logits / temperature) (as :func:`rnnkit.sampling.sample_from_logits`).
* ``train_step(model, X, Y, state, lr, max_norm) -> (loss, new_state)``: loss and gradients from
  ``model.loss_and_grads`` starting at ``state``, clipping by global norm, one SGD update of
  ``model.params`` in place, and the final state for the next batch.
"""
from __future__ import annotations

import numpy as np

from .. import data as _data
from .. import layers as _layers
from .. import sampling as _sampling
from ._core import (VALUE_TOL, Verdict, _Failure, as_float_array, call_learner, distinct_sizes, fresh_rng, judge,
                    reject_reference, run_check, unpack)

__all__ = ["grade_make_batches", "grade_sample_with_temperature", "grade_train_step"]


def _ctx(sizes, seed, extra=""):
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + extra + (f", seed={seed}" if seed is not None else "")


def _batches(ids, B, T, mode=None):
    L = (ids.size - 1) // B
    if mode == "interleaved":  # streams dealt out id by id instead of contiguous slices
        inputs = ids[:L * B].reshape(L, B)
        targets = ids[1:L * B + 1].reshape(L, B)
    else:
        inputs = np.stack([ids[b * L:b * L + L] for b in range(B)], axis=1)
        targets = np.stack([ids[b * L + 1:b * L + L + 1] for b in range(B)], axis=1)
    if mode == "unshifted":
        targets = inputs
    step = 1 if mode == "overlapping" else T
    return [(inputs[s:s + T], targets[s:s + T]) for s in range(0, L - T + 1, step)]


BATCH_BUGS = {
    "interleaved": "the streams are interleaved: stream b must be the b-th *contiguous* slice of the text, so "
                   "that the state at the end of one batch is the right start for the next.",
    "unshifted": "the targets are the inputs: the target at each position is the *next* id.",
    "overlapping": "the windows overlap: window j of a stream starts where window j-1 ended (steps of T).",
}


def grade_make_batches(fn, *, rng=None) -> Verdict:
    """Check ``make_batches(ids, B, T) -> list of (inputs (T, B), targets (T, B))``."""
    def body():
        r, seed = fresh_rng(rng)
        B, T = int(r.integers(2, 6)), int(r.integers(3, 8))
        N = int(B * T * r.integers(3, 6) + r.integers(1, 3 * T))
        ids = r.integers(0, 50, size=N)
        sizes = {"N": N, "B": B, "T": T}
        reject_reference(fn, "make_batches", {"lm_batches": _data.lm_batches}, probe=lambda: (ids.astype(float), B, T))
        out = call_learner(fn, "make_batches", ids, B, T)
        expected = _batches(ids, B, T)
        if not isinstance(out, (list, tuple)):
            raise _Failure(f"make_batches must return a list of (inputs, targets) pairs; got {type(out).__name__}.")
        if len(out) != len(expected):
            msg = f"make_batches returned {len(out)} batches; expected {len(expected)} ({_ctx(sizes, seed)})."
            for mode, text in BATCH_BUGS.items():
                if len(_batches(ids, B, T, mode)) == len(out) and mode == "overlapping":
                    msg += f" Likely cause: {text}"
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
                    msg = f"make_batches: {name} of batch {j} are wrong ({_ctx(sizes, seed)})."
                    for mode, text in BATCH_BUGS.items():
                        alt = _batches(ids, B, T, mode)
                        if j < len(alt) and np.array_equal(got, alt[j][0 if name == "inputs" else 1]):
                            msg += f" Likely cause: {text}"
                            break
                    return Verdict(False, msg)
        return Verdict(True, f"make_batches correct ({_ctx(sizes, seed)}).")
    return run_check(body)


def _sample(logits, temperature, u, mode=None):
    scaled = logits * temperature if mode == "times" else logits / temperature
    p = scaled if mode == "no_softmax" else _layers.softmax(scaled)
    cdf = np.cumsum(p, axis=1)
    idx = (cdf <= u[:, None]).sum(1) if mode == "le" else (cdf < u[:, None]).sum(1)
    return np.minimum(idx, logits.shape[1] - 1)


def grade_sample_with_temperature(fn, *, rng=None) -> Verdict:
    """Check ``sample_with_temperature(logits, temperature, rng) -> (B,)`` on the same draws as the reference."""
    def body():
        r, seed = fresh_rng(rng)
        B, K = int(r.integers(200, 400)), int(r.integers(3, 8))
        logits = 2.0 * r.standard_normal((B, K))
        for temperature in (float(r.uniform(0.3, 0.7)), float(r.uniform(1.5, 3.0))):
            draw_seed = int(r.integers(0, 2**32))
            reject_reference(fn, "sample_with_temperature", {"sample_from_logits": _sampling.sample_from_logits},
                             probe=lambda: (np.where(np.arange(K) == 0, np.nan, logits), temperature,
                                            np.random.default_rng(0)))
            out = call_learner(fn, "sample_with_temperature", logits, temperature, np.random.default_rng(draw_seed))
            if not isinstance(out, np.ndarray) or out.dtype.kind not in "iu" or out.shape != (B,):
                raise _Failure("sample_with_temperature must return an integer array of shape (B,) "
                               f"= ({B},); got {type(out).__name__}"
                               + (f" {out.dtype} {out.shape}" if isinstance(out, np.ndarray) else "") + ".")
            u = np.random.default_rng(draw_seed).random(B)
            expected = _sample(logits, temperature, u)
            if np.array_equal(out, expected):
                continue
            msg = (f"sample_with_temperature: {int((out != expected).sum())} of {B} draws differ at temperature "
                   f"{temperature:.2f} (seed={seed}).")
            diagnoses = {"times": "the logits are multiplied by the temperature; divide them: softmax(logits / T).",
                         "no_softmax": "the scaled logits are used as probabilities; apply the softmax first."}
            for mode, text in diagnoses.items():
                if np.array_equal(out, _sample(logits, temperature, u, mode)):
                    msg += f" Likely cause: {text}"
                    break
            else:
                if np.array_equal(out, logits.argmax(1)):
                    msg += (" Likely cause: this is the argmax; sampling draws a class at random with the "
                            "softmax probabilities.")
                else:
                    msg += (" Draw u = rng.random(B) once and return, for each row, the number of classes whose "
                            "cumulative probability is below u.")
            return Verdict(False, msg)
        return Verdict(True, f"sample_with_temperature correct at two temperatures (B={B}, K={K}, seed={seed}).")
    return run_check(body)


def _from_zero_state(model, X, Y, lr, max_norm):
    """Parameters after a clipped SGD step whose gradients were computed from the zero state."""
    _, grads = model.loss_and_grads(X, Y)
    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    scale = min(1.0, max_norm / norm)
    return {k: model.params[k] - lr * scale * grads[k] for k in grads}


def grade_train_step(fn, *, rng=None) -> Verdict:
    """Check ``train_step(model, X, Y, state, lr, max_norm) -> (loss, new_state)`` on a fresh model."""
    from ..models import HiddenToHiddenRNN  # imported here: the other checks do not need the models

    def body():
        r, seed = fresh_rng(rng)
        sizes = distinct_sizes(r, "T B D H", 2, 7)
        T, B, D, H = (sizes[k] for k in "TBDH")
        K = D  # a language model predicts the next input symbol
        init_seed = int(r.integers(0, 2**32))
        learner_model = HiddenToHiddenRNN(D, H, K, rng=np.random.default_rng(init_seed))
        reference = HiddenToHiddenRNN(D, H, K, rng=np.random.default_rng(init_seed))
        ids = r.integers(0, K, size=(T + 1, B))
        X, Y = np.eye(K)[ids[:-1]], ids[1:]
        state = 0.5 * r.standard_normal((B, H))
        loss_ref, grads, final = reference.loss_and_grads(X, Y, state, return_state=True)
        norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
        max_norm, lr = 0.5 * norm, float(r.uniform(0.1, 0.5))   # clipping is active
        before = {k: v.copy() for k, v in reference.params.items()}
        expected = {k: before[k] - lr * grads[k] * (max_norm / norm) for k in before}
        out = call_learner(fn, "train_step", learner_model, X, Y, state.copy(), lr, max_norm)
        loss, new_state = unpack(out, "train_step", ["loss", "new_state"])
        names = sorted(expected)
        got = [learner_model.params.get(k) for k in names]
        if all(isinstance(g, np.ndarray) and g.shape == before[k].shape and np.array_equal(g, before[k])
               for g, k in zip(got, names)):
            raise _Failure("train_step did not change model.params: update the arrays in place "
                           "(params[name] -= lr * clipped[name]).")
        variants = [
            ("the gradients are not clipped: rescale all of them together when their global norm exceeds max_norm.",
             {k: before[k] - lr * grads[k] for k in names}),
            ("the update goes uphill: gradient descent subtracts lr × gradient.",
             {k: before[k] + lr * grads[k] * (max_norm / norm) for k in names}),
            ("the given state is ignored: the batch continues the previous one, so start from it — "
             "model.loss_and_grads(X, Y, state, return_state=True).", _from_zero_state(reference, X, Y, lr, max_norm)),
            ("each gradient is clipped on its own; clip by the global norm over all of them.",
             {k: before[k] - lr * grads[k] * min(1.0, max_norm / np.linalg.norm(grads[k])) for k in names}),
        ]
        v = judge("train_step", names, got, expected, tol=VALUE_TOL, kind="parameters after the step",
                  compared_with="one clipped SGD step of the reference", variants=variants,
                  context=_ctx(sizes, seed, f", lr={lr:.3f}, max_norm={max_norm:.3g}"))
        if not v.passed:
            return v
        v = judge("train_step", ["loss"], [loss], {"loss": np.array(loss_ref)}, tol=VALUE_TOL, kind="value",
                  compared_with="model.loss_and_grads before the update",
                  variants=[("return the loss computed before the update, from the given state.",
                             {"loss": np.array(reference.loss_and_grads(X, Y)[0])})],
                  context=_ctx(sizes, seed))
        if not v.passed:
            return v
        try:
            as_float_array(new_state, "train_step", "new_state")
        except _Failure as f:
            return Verdict(False, f"{f} Return the final state of the batch so the next batch can start from it.")
        return judge("train_step", ["new_state"], [new_state], {"new_state": final}, tol=VALUE_TOL, kind="values",
                     compared_with="the reference's final state",
                     variants=[("new_state is the state given as input: return the final state of this batch "
                                "(loss_and_grads(..., return_state=True)).", {"new_state": state})],
                     context=_ctx(sizes, seed))
    return run_check(body)



