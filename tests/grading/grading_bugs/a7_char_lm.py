"""a7-char-lm: learner-style mistakes and valid alternatives for make_batches, train_step and
sample_with_temperature, each bug with the diagnosis phrase its failure must contain.

Collected in course order by ``grading_bugs`` (tests/grading/grading_bugs/__init__.py, which gives the
format ``(grader, label, fn, expected)``; ``expected=None`` for a valid implementation).
The first part has the classic bugs of each graded function. The fixed cases of each check are judged on every
run, so the edge-case mistakes (B dividing N - 1, L mod T ≠ 0, large logits) must be named on every seed.
"""
from __future__ import annotations

import numpy as np

import rnnkit

from . import by_id

MB, TR, ST = by_id("test_make_batches"), by_id("test_train_step"), by_id("test_sample_with_temperature")


# ---------------------------------------------------------------------------
# character-level language model
# ---------------------------------------------------------------------------

def mb_ok(ids, B, T):
    L = (len(ids) - 1) // B
    x = np.stack([ids[b * L:b * L + L] for b in range(B)], axis=1)
    y = np.stack([ids[b * L + 1:b * L + L + 1] for b in range(B)], axis=1)
    return [(x[s:s + T], y[s:s + T]) for s in range(0, L - T + 1, T)]


def mb_ok_reshape(ids, B, T):
    L = (len(ids) - 1) // B
    x = np.stack([ids[b * L:(b + 1) * L] for b in range(B)]).T
    y = np.stack([ids[b * L + 1:(b + 1) * L + 1] for b in range(B)]).T
    n = L // T
    return [(x[j * T:(j + 1) * T].copy(), y[j * T:(j + 1) * T].copy()) for j in range(n)]


def mb_interleaved(ids, B, T):
    L = (len(ids) - 1) // B
    x, y = ids[:L * B].reshape(L, B), ids[1:L * B + 1].reshape(L, B)
    return [(x[s:s + T], y[s:s + T]) for s in range(0, L - T + 1, T)]


def mb_unshifted(ids, B, T):
    return [(x, x) for x, _ in mb_ok(ids, B, T)]


def tr_ok(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    norm = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
    s = min(1.0, max_norm / norm)
    for k, g in grads.items():
        model.params[k] -= lr * s * g
    return loss, new_state


def tr_ok_library_clip(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    clipped, _ = rnnkit.optim.clip_by_global_norm(grads, max_norm)
    rnnkit.optim.SGD(lr).step(model.params, clipped)
    return loss, new_state


def tr_no_clip(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    for k, g in grads.items():
        model.params[k] -= lr * g
    return loss, new_state


def tr_ascent(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    norm = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
    for k, g in grads.items():
        model.params[k] += lr * min(1.0, max_norm / norm) * g
    return loss, new_state


def tr_not_in_place(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    params = {k: v - lr * grads[k] for k, v in model.params.items()}  # noqa: F841 - never stored
    return loss, new_state


def tr_returns_old_state(model, X, Y, state, lr, max_norm):
    loss, _ = tr_ok(model, X, Y, state, lr, max_norm)
    return loss, state


def tr_ignores_state(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, return_state=True)
    norm = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
    for k, g in grads.items():
        model.params[k] -= lr * min(1.0, max_norm / norm) * g
    return loss, new_state


def st_ok(logits, temperature, rng):
    p = softmax_rows(logits / temperature)
    u = rng.random(logits.shape[0])
    return np.minimum((np.cumsum(p, 1) < u[:, None]).sum(1), logits.shape[1] - 1)


def st_ok_searchsorted(logits, temperature, rng):
    p = softmax_rows(logits / temperature)
    u = rng.random(logits.shape[0])
    cdf = np.cumsum(p, 1)
    return np.array([min(np.searchsorted(c, x, side="left"), len(c) - 1) for c, x in zip(cdf, u)])


def softmax_rows(a):
    e = np.exp(a - a.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def st_times(logits, temperature, rng):
    return st_ok(logits * temperature * temperature, temperature, rng)


def st_argmax(logits, temperature, rng):
    return logits.argmax(1)


def st_choice(logits, temperature, rng):
    p = softmax_rows(logits / temperature)
    return np.array([rng.choice(len(q), p=q) for q in p])


CASES = [
    (MB, "stack and slice", mb_ok, None),
    (MB, "transpose and copy", mb_ok_reshape, None),
    (MB, "interleaved streams", mb_interleaved, "interleaved"),
    (MB, "targets unshifted", mb_unshifted, "the targets are the inputs"),
    (TR, "loop update", tr_ok, None),
    (TR, "library clipping and SGD", tr_ok_library_clip, None),
    (TR, "no clipping", tr_no_clip, "not clipped"),
    (TR, "gradient ascent", tr_ascent, "uphill"),
    (TR, "params not updated in place", tr_not_in_place, "did not change model.params"),
    (TR, "returns the old state", tr_returns_old_state, "new_state is the state given as input"),
    (TR, "ignores the incoming state", tr_ignores_state, "the given state is ignored"),
    (ST, "cumsum count", st_ok, None),
    (ST, "searchsorted", st_ok_searchsorted, None),
    (ST, "temperature multiplies", st_times, "divide them"),
    (ST, "argmax", st_argmax, "this is the argmax"),
    (ST, "rng.choice row by row (same inverse-CDF draws)", st_choice, None),
]


# ===========================================================================
# More mistakes and valid alternatives, graded function by graded function
# ===========================================================================

# ---------------------------------------------------------------------------
# make_batches
# ---------------------------------------------------------------------------

def mb_reshape_ok(ids, B, T):
    L = (len(ids) - 1) // B
    x = ids[:B * L].reshape(B, L).T
    y = ids[1:B * L + 1].reshape(B, L).T
    return [(x[j * T:(j + 1) * T], y[j * T:(j + 1) * T]) for j in range(L // T)]


def mb_loop_ok(ids, B, T):
    L = (len(ids) - 1) // B
    batches = []
    for j in range(L // T):
        x = np.zeros((T, B), dtype=ids.dtype)
        y = np.zeros((T, B), dtype=ids.dtype)
        for b in range(B):
            for t in range(T):
                x[t, b] = ids[b * L + j * T + t]
                y[t, b] = ids[b * L + j * T + t + 1]
        batches.append((x, y))
    return batches


def mb_n_over_b(ids, B, T):
    L = len(ids) // B
    x = np.stack([ids[b * L:(b + 1) * L] for b in range(B)], axis=1)
    y = np.stack([ids[b * L + 1:(b + 1) * L + 1] for b in range(B)], axis=1)
    return [(x[s:s + T], y[s:s + T]) for s in range(0, L - T + 1, T)]


def mb_partial(ids, B, T):
    L = (len(ids) - 1) // B
    x = np.stack([ids[b * L:(b + 1) * L] for b in range(B)], axis=1)
    y = np.stack([ids[b * L + 1:(b + 1) * L + 1] for b in range(B)], axis=1)
    return [(x[s:s + T], y[s:s + T]) for s in range(0, L, T)]


def mb_drops_last(ids, B, T):
    L = (len(ids) - 1) // B
    x = np.stack([ids[b * L:(b + 1) * L] for b in range(B)], axis=1)
    y = np.stack([ids[b * L + 1:(b + 1) * L + 1] for b in range(B)], axis=1)
    return [(x[s:s + T], y[s:s + T]) for s in range(0, L - T, T)]


def mb_split(ids, B, T):
    # np.split needs equal parts: fails when T does not divide L
    L = (len(ids) - 1) // B
    x = np.stack([ids[b * L:(b + 1) * L] for b in range(B)], axis=1)
    y = np.stack([ids[b * L + 1:(b + 1) * L + 1] for b in range(B)], axis=1)
    return list(zip(np.split(x, L // T), np.split(y, L // T)))


def mb_reshape_all(ids, B, T):
    # reshapes all of ids[:-1]: works only when B divides N - 1
    x = ids[:-1].reshape(B, -1).T
    y = ids[1:].reshape(B, -1).T
    L = x.shape[0]
    return [(x[s:s + T], y[s:s + T]) for s in range(0, L - T + 1, T)]


def mb_targets_from_inputs(ids, B, T):
    L = (len(ids) - 1) // B
    x = np.stack([ids[b * L:(b + 1) * L] for b in range(B)], axis=1)
    return [(x[s:s + T], x[s + 1:s + T + 1]) for s in range(0, L - T + 1, T)]


def mb_batch_major(ids, B, T):
    L = (len(ids) - 1) // B
    x = np.stack([ids[b * L:(b + 1) * L] for b in range(B)])  # (B, L)
    y = np.stack([ids[b * L + 1:(b + 1) * L + 1] for b in range(B)])
    return [(x[:, s:s + T], y[:, s:s + T]) for s in range(0, L - T + 1, T)]


def mb_short_streams(ids, B, T):
    L = len(ids) // B - 1  # "leave one id for the target"
    x = np.stack([ids[b * L:(b + 1) * L] for b in range(B)], axis=1)
    y = np.stack([ids[b * L + 1:(b + 1) * L + 1] for b in range(B)], axis=1)
    return [(x[s:s + T], y[s:s + T]) for s in range(0, L - T + 1, T)]


def mb_gap(ids, B, T):
    # out of the catalogue: each stream "owns" its target id, so the streams are N//B apart
    S = len(ids) // B
    L = S - 1
    x = np.stack([ids[b * S:b * S + L] for b in range(B)], axis=1)
    y = np.stack([ids[b * S + 1:b * S + L + 1] for b in range(B)], axis=1)
    return [(x[s:s + T], y[s:s + T]) for s in range(0, L - T + 1, T)]


def mb_window_stride(ids, B, T):
    # out of the catalogue: windows start T - 1 apart (the last input repeated as the next first)
    L = (len(ids) - 1) // B
    x = np.stack([ids[b * L:(b + 1) * L] for b in range(B)], axis=1)
    y = np.stack([ids[b * L + 1:(b + 1) * L + 1] for b in range(B)], axis=1)
    return [(x[s:s + T], y[s:s + T]) for s in range(0, L - T + 1, T - 1)]


def mb_shift_two(ids, B, T):
    # out of the catalogue: targets two ids ahead
    L = (len(ids) - 2) // B
    x = np.stack([ids[b * L:(b + 1) * L] for b in range(B)], axis=1)
    y = np.stack([ids[b * L + 2:(b + 1) * L + 2] for b in range(B)], axis=1)
    return [(x[s:s + T], y[s:s + T]) for s in range(0, L - T + 1, T)]


# ---------------------------------------------------------------------------
# train_step
# ---------------------------------------------------------------------------

def _global_norm(grads):
    return np.sqrt(sum(np.sum(g * g) for g in grads.values()))


def tr_ok_inplace_clip(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    norm = np.linalg.norm(np.concatenate([g.ravel() for g in grads.values()]))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    for name in model.params:
        model.params[name] -= lr * grads[name]
    return loss, new_state


def tr_ok_torch_eps(model, X, Y, state, lr, max_norm):
    # torch.nn.utils.clip_grad_norm_ adds 1e-6 to the norm
    loss, grads, new_state = model.loss_and_grads(X, Y, state0=state, return_state=True)
    coef = min(1.0, max_norm / (_global_norm(grads) + 1e-6))
    for name, g in grads.items():
        model.params[name] -= lr * coef * g
    return float(loss), new_state.copy()


def tr_per_array(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    for name, g in grads.items():
        n = np.linalg.norm(g)
        model.params[name] -= lr * (g * max_norm / n if n > max_norm else g)
    return loss, new_state


def tr_clip_after_update(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    for name, g in grads.items():
        model.params[name] -= lr * g
    norm = _global_norm(grads)
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return loss, new_state


def tr_clip_after_update_rebind(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    for name in grads:
        model.params[name] -= lr * grads[name]
    norm = _global_norm(grads)
    grads = {k: g * min(1.0, max_norm / norm) for k, g in grads.items()}  # noqa: F841 - too late
    return loss, new_state


def tr_clip_after_update_entries(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    for name in grads:
        model.params[name] -= lr * grads[name]
    norm = _global_norm(grads)
    for name in grads:
        grads[name] = grads[name] * min(1.0, max_norm / norm)
    return loss, new_state


def tr_loss_after_update(model, X, Y, state, lr, max_norm):
    _, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    s = min(1.0, max_norm / _global_norm(grads))
    for name, g in grads.items():
        model.params[name] -= lr * s * g
    loss, _ = model.loss_and_grads(X, Y, state)
    return loss, new_state


def tr_state_after_update(model, X, Y, state, lr, max_norm):
    loss, grads = model.loss_and_grads(X, Y, state)
    s = min(1.0, max_norm / _global_norm(grads))
    for name, g in grads.items():
        model.params[name] -= lr * s * g
    _, new_state = model.logits(X, state)
    return loss, new_state


def tr_zero_state_explicit(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, np.zeros_like(state), return_state=True)
    s = min(1.0, max_norm / _global_norm(grads))
    for name, g in grads.items():
        model.params[name] -= lr * s * g
    return loss, new_state


def tr_returns_zero_state(model, X, Y, state, lr, max_norm):
    loss, grads = model.loss_and_grads(X, Y, state)
    s = min(1.0, max_norm / _global_norm(grads))
    for name, g in grads.items():
        model.params[name] -= lr * s * g
    return loss, model.init_state(X.shape[1])


def tr_swapped(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    s = min(1.0, max_norm / _global_norm(grads))
    for name, g in grads.items():
        model.params[name] -= lr * s * g
    return new_state, loss


def tr_clip_value(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    for name, g in grads.items():
        model.params[name] -= lr * np.clip(g, -max_norm, max_norm)
    return loss, new_state


def tr_no_sqrt(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    norm = sum(np.sum(g ** 2) for g in grads.values())
    s = max_norm / norm if norm > max_norm else 1.0
    for name, g in grads.items():
        model.params[name] -= lr * s * g
    return loss, new_state


def tr_clip_the_step(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    steps = {k: lr * g for k, g in grads.items()}
    norm = _global_norm(steps)
    for name, d in steps.items():
        model.params[name] -= d * min(1.0, max_norm / norm)
    return loss, new_state


def tr_inverted_condition(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    norm = _global_norm(grads)
    s = max_norm / norm if norm < max_norm else 1.0
    for name, g in grads.items():
        model.params[name] -= lr * s * g
    return loss, new_state


def tr_forgets_output_layer(model, X, Y, state, lr, max_norm):
    # out of the catalogue: only the recurrent parameters take the step
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    s = min(1.0, max_norm / _global_norm(grads))
    for name in ("Wx", "Ws", "b"):
        model.params[name] -= lr * s * grads[name]
    return loss, new_state


def tr_mean_square_norm(model, X, Y, state, lr, max_norm):
    # out of the catalogue: the "norm" is the root mean square of all entries
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    flat = np.concatenate([g.ravel() for g in grads.values()])
    norm = np.sqrt(np.mean(flat ** 2))
    s = min(1.0, max_norm / norm)
    for name, g in grads.items():
        model.params[name] -= lr * s * g
    return loss, new_state


def tr_lr_squared(model, X, Y, state, lr, max_norm):
    # out of the catalogue: lr applied twice
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    s = min(1.0, max_norm / _global_norm(grads))
    for name, g in grads.items():
        model.params[name] -= lr * lr * s * g
    return loss, new_state


def tr_float32_state(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    s = min(1.0, max_norm / _global_norm(grads))
    for name, g in grads.items():
        model.params[name] -= lr * s * g
    return loss, new_state.astype(np.float32)


# ---------------------------------------------------------------------------
# sample_with_temperature
# ---------------------------------------------------------------------------

def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _draw(p, rng):
    u = rng.random(p.shape[0])
    return np.minimum((np.cumsum(p, axis=1) < u[:, None]).sum(axis=1), p.shape[1] - 1)


def st_ok_max_first(logits, temperature, rng):
    # the maximum of the unscaled logits subtracted first: as stable
    z = (logits - logits.max(axis=1, keepdims=True)) / temperature
    e = np.exp(z)
    return _draw(e / e.sum(axis=1, keepdims=True), rng)


def st_ok_logsumexp(logits, temperature, rng):
    z = logits / temperature
    m = z.max(axis=1, keepdims=True)
    logp = z - (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))
    u = rng.random(len(z))
    cdf = np.cumsum(np.exp(logp), axis=1)
    return np.array([min(int(np.searchsorted(c, x, side="right")), len(c) - 1) for c, x in zip(cdf, u)])


def st_naive(logits, temperature, rng):
    e = np.exp(logits / temperature)
    return _draw(e / e.sum(axis=1, keepdims=True), rng)


def st_naive_loop(logits, temperature, rng):
    e = np.exp(logits / temperature)
    p = e / e.sum(axis=1, keepdims=True)
    u = rng.random(len(p))
    out = []
    for row, x in zip(np.cumsum(p, axis=1), u):
        k = 0
        while k < len(row) - 1 and not x < row[k]:
            k += 1
        out.append(k)
    return np.array(out)


def st_naive_choice(logits, temperature, rng):
    e = np.exp(logits / temperature)
    p = e / e.sum(axis=1, keepdims=True)
    u = rng.random(len(p))
    return np.array([int(np.argmax(np.cumsum(q) > x)) for q, x in zip(p, u)])


def st_softmax_axis0(logits, temperature, rng):
    z = logits / temperature
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return _draw(e / e.sum(axis=0, keepdims=True), rng)


def st_above(logits, temperature, rng):
    p = _softmax(logits / temperature)
    u = rng.random(len(p))
    return np.minimum((np.cumsum(p, axis=1) > u[:, None]).sum(axis=1), p.shape[1] - 1)


def st_temperature_squared(logits, temperature, rng):
    # out of the catalogue
    return _draw(_softmax(logits / temperature ** 2), rng)


def st_normalised_logits(logits, temperature, rng):
    # out of the catalogue: "probabilities" by dividing by the row sum, no exp
    z = logits / temperature - (logits / temperature).min(axis=1, keepdims=True) + 1e-3
    return _draw(z / z.sum(axis=1, keepdims=True), rng)


def st_one_minus_u(logits, temperature, rng):
    # out of the catalogue: the inverse CDF read from the wrong end
    p = _softmax(logits / temperature)
    u = 1.0 - rng.random(len(p))
    return np.minimum((np.cumsum(p, axis=1) < u[:, None]).sum(axis=1), p.shape[1] - 1)


def st_squeeze(logits, temperature, rng):
    # squeezes "to be safe": a (1, K) batch becomes (K,), and axis 1 no longer exists
    z = np.squeeze(logits) / temperature
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    u = rng.random(logits.shape[0])
    return np.minimum((np.cumsum(p, axis=1) < u[:, None]).sum(axis=1), logits.shape[1] - 1)


def st_divides_in_place(logits, temperature, rng):
    logits /= temperature  # the caller's logits change; the samples are right
    return _draw(_softmax(logits), rng)


def tr_state_in_place(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    s = min(1.0, max_norm / _global_norm(grads))
    for name, g in grads.items():
        model.params[name] -= lr * s * g
    state[...] = new_state  # written into the caller's array; the returned values are right
    return loss, state


def st_per_row_draws(logits, temperature, rng):
    p = _softmax(logits / temperature)
    return np.array([min(int((np.cumsum(q) < rng.random()).sum()), len(q) - 1) for q in p])


CASES += [
    # make_batches: valid
    (MB, "reshape of the first B·L ids", mb_reshape_ok, None),
    (MB, "explicit loops into zeros of ids' dtype", mb_loop_ok, None),
    # make_batches: the two fixed edge cases, on every run
    (MB, "N//B streams (fixed case B | N)", mb_n_over_b, "not N//B"),
    (MB, "partial window kept (fixed case L mod T ≠ 0)", mb_partial, "the last, partial window is kept"),
    (MB, "range(0, L - T, T) (fixed case T | L)", mb_drops_last, "the last full window is missing"),
    (MB, "np.split into L//T parts (fixed case L mod T ≠ 0)", mb_split, "np.split (or np.array_split)"),
    (MB, "reshape of all of ids[:-1] (fixed case B ∤ N - 1)", mb_reshape_all, "a reshape of all of the ids"),
    (MB, "targets cut from the inputs array (fixed case T | L)", mb_targets_from_inputs,
     "the targets are cut from the (L, B) array of inputs"),
    (MB, "batch-major windows", mb_batch_major, "batch-major"),
    (MB, "streams of N//B - 1 ids", mb_short_streams, "the streams are one id too short"),
    # make_batches: out of the catalogue, named from the layout
    (MB, "streams L + 1 apart", mb_gap, "ids apart, but each stream is L = (N - 1)//B"),
    (MB, "windows T - 1 apart", mb_window_stride, "windows follow each other, T = "),
    (MB, "targets two ahead", mb_shift_two, "the targets are 2 ids after the inputs"),
    # train_step: valid
    (TR, "in-place clipping before the update, np.linalg.norm", tr_ok_inplace_clip, None),
    (TR, "torch-style ε in the norm, float loss, state0= keyword", tr_ok_torch_eps, None),
    # train_step: each mistake its own diagnosis
    (TR, "clips each array on its own", tr_per_array, "each gradient is clipped on its own"),
    (TR, "clips in place after the update", tr_clip_after_update, "the gradients are clipped after the update"),
    (TR, "clips dict entries after the update", tr_clip_after_update_entries,
     "the gradients are clipped after the update"),
    (TR, "clips into a new dict after the update", tr_clip_after_update_rebind, "not clipped (or only after"),
    (TR, "loss after the update", tr_loss_after_update, "the loss is computed after the update"),
    (TR, "new_state from a forward pass after the update", tr_state_after_update,
     "new_state comes from a forward pass after the update"),
    (TR, "zero state passed explicitly", tr_zero_state_explicit, "the given state is ignored"),
    (TR, "returns a fresh zero state", tr_returns_zero_state, "new_state is a fresh zero state"),
    (TR, "returns (new_state, loss)", tr_swapped, "the order is (loss, new_state)"),
    (TR, "clips elementwise", tr_clip_value, "clipped elementwise"),
    (TR, "norm without the square root", tr_no_sqrt, "lacks its square root"),
    (TR, "clips lr × g", tr_clip_the_step, "the step lr × g is clipped"),
    (TR, "clipping condition inverted", tr_inverted_condition, "the clipping condition is inverted"),
    # train_step: out of the catalogue
    (TR, "output layer not updated", tr_forgets_output_layer, "Wy, c were not updated"),
    (TR, "root-mean-square 'norm'", tr_mean_square_norm, "the clipping is at fault"),
    (TR, "lr squared", tr_lr_squared, "the step itself is at fault"),
    (TR, "float32 new_state (accepted within the float32 tolerance)", tr_float32_state, None),
    # sample_with_temperature: valid
    (ST, "max of the unscaled logits subtracted", st_ok_max_first, None),
    (ST, "log-sum-exp and searchsorted(side='right')", st_ok_logsumexp, None),
    # sample_with_temperature: naive softmax, on every run
    (ST, "naive softmax", st_naive, "the softmax overflows"),
    (ST, "naive softmax, while loop", st_naive_loop, "the softmax overflows"),
    (ST, "naive softmax, argmax(cdf > u)", st_naive_choice, "the softmax overflows"),
    # sample_with_temperature: other mistakes
    (ST, "softmax over the batch axis", st_softmax_axis0, "the softmax is taken over the batch axis"),
    (ST, "counts classes above u", st_above, "*above* u"),
    (ST, "one rng.random() per row", st_per_row_draws, "rng.random was called"),
    (ST, "logits / temperature²", st_temperature_squared, "the temperature is applied wrongly"),
    (ST, "normalised logits without exp", st_normalised_logits, "the probabilities are at fault"),
    (ST, "u read from the wrong end", st_one_minus_u, "the inverse-CDF draw itself is at fault"),
    # a crash only on the fixed case B = 1: reported with the case's sizes and the learner's line
    (ST, "squeezes the row axis (crash only for B = 1)", st_squeeze, "on the case B=1, K=6 (line"),
    # writes into an argument, right results: full marks, and the verdict names the argument
    (ST, "divides the caller's logits in place (passes with a note)", st_divides_in_place, None),
    (TR, "writes the final state into the caller's state (passes with a note)", tr_state_in_place, None),
]
