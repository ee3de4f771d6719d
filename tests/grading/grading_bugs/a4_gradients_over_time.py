"""a4-gradients-over-time: learner-style mistakes and valid alternatives, each bug with the phrase that
names it.

Collected in course order by ``grading_bugs`` (tests/grading/grading_bugs/__init__.py, which gives the
format ``(grader, label, fn, expected)``; ``expected=None`` for a valid implementation).

Each buggy function is written the way a learner would write it (none calls the grader's variants);
``expected`` is the phrase the failure message must contain. The first part has the classic bugs of
each graded function; bugs outside the grader's catalogue are named by the probe cases (the part at fault)
or, for truncated BPTT, by the chunk borders read back from dX.
"""
from __future__ import annotations

import numpy as np

from . import by_id

JA, CV, CN, TB = (by_id(g) for g in ("test_jacobian_to_last", "test_clip_by_value", "test_clip_by_global_norm",
                                     "test_tbptt_backward"))


# ---------------------------------------------------------------------------
# gradients over time
# ---------------------------------------------------------------------------

def jac_ok(Hs, Ws, t):
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    for k in range(T, t, -1):
        J = J @ ((1 - Hs[k - 1] ** 2)[:, :, None] * Ws)
    return J


def jac_ok_per_sequence(Hs, Ws, t):
    """One sequence at a time, the product built from the earliest step upwards."""
    T, B, H = Hs.shape
    out = []
    for i in range(B):
        J = np.eye(H)
        for k in range(t + 1, T + 1):
            J = np.diag(1 - Hs[k - 1, i] ** 2) @ Ws @ J
        out.append(J)
    return np.array(out)


def jac_no_tanh_prime(Hs, Ws, t):
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    for _ in range(T, t, -1):
        J = J @ Ws
    return J


def jac_reversed(Hs, Ws, t):
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    for k in range(t + 1, T + 1):
        J = J @ ((1 - Hs[k - 1] ** 2)[:, :, None] * Ws)
    return J


def jac_ws_t(Hs, Ws, t):
    return jac_ok(Hs, Ws.T, t)


def cv_ok(grads, limit):
    return {k: np.clip(g, -limit, limit) for k, g in grads.items()}


def cv_ok_where(grads, limit):
    return {k: np.where(g > limit, limit, np.where(g < -limit, -limit, g)) for k, g in grads.items()}


def cv_in_place(grads, limit):
    for g in grads.values():
        np.clip(g, -limit, limit, out=g)
    return grads


def cv_positive_only(grads, limit):
    return {k: np.minimum(g, limit) for k, g in grads.items()}


def cn_ok(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    s = min(1.0, max_norm / norm)
    return {k: s * g for k, g in grads.items()}, norm


def cn_ok_concatenated(grads, max_norm):
    norm = np.linalg.norm(np.concatenate([g.ravel() for g in grads.values()]))
    if norm <= max_norm:
        return {k: g.copy() for k, g in grads.items()}, float(norm)
    return {k: g * (max_norm / norm) for k, g in grads.items()}, float(norm)


def cn_per_tensor(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    return {k: g * min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()}, norm


def cn_scales_up(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    return {k: g * (max_norm / norm) for k, g in grads.items()}, norm


def cn_no_sqrt(grads, max_norm):
    norm = sum(np.sum(g ** 2) for g in grads.values())
    return {k: g * min(1.0, max_norm / norm) for k, g in grads.items()}, norm


def cn_in_place(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    for g in grads.values():
        g *= min(1.0, max_norm / norm)
    return grads, norm


def _tbptt(dHs, cache, k, *, cut=lambda t, k, T: t % k == 0):
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    carried = np.zeros_like(h0)
    for t in reversed(range(T)):
        h_prev = Hs[t - 1] if t > 0 else h0
        d = (dHs[t] + carried) * (1 - Hs[t] ** 2)
        dX[t] = d @ Wx
        dWx += d.T @ X[t]
        dWs += d.T @ h_prev
        db += d.sum(0)
        carried = np.zeros_like(h0) if cut(t, k, T) else d @ Ws
    return dX, dWx, dWs, db


def tb_ok(dHs, cache, k):
    return _tbptt(dHs, cache, k)


def tb_ok_chunk_loop(dHs, cache, k):
    """Chunk by chunk, each chunk a full BPTT from its own starting state."""
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    for s in range(0, T, k):
        e = min(s + k, T)
        start = h0 if s == 0 else Hs[s - 1]
        g = _tbptt(dHs[s:e], (X[s:e], start, Hs[s:e], Wx, Ws), T)
        dX[s:e] = g[0]
        dWx, dWs, db = dWx + g[1], dWs + g[2], db + g[3]
    return dX, dWx, dWs, db


def tb_full(dHs, cache, k):
    return _tbptt(dHs, cache, k, cut=lambda t, k, T: False)


def tb_aligned_end(dHs, cache, k):
    return _tbptt(dHs, cache, k, cut=lambda t, k, T: (T - t) % k == 0)


def tb_k_plus_one(dHs, cache, k):
    return _tbptt(dHs, cache, k, cut=lambda t, k, T: t % (k + 1) == 0)


CASES = [
    (JA, "batched product", jac_ok, None),
    (JA, "per sequence, built from the earliest step", jac_ok_per_sequence, None),
    (JA, "missing tanh'", jac_no_tanh_prime, "tanh′ is missing"),
    (JA, "product in the wrong order", jac_reversed, "wrong order"),
    (JA, "Ws.T", jac_ws_t, "Ws.T appears where Ws belongs"),
    (CV, "np.clip", cv_ok, None),
    (CV, "np.where", cv_ok_where, None),
    (CV, "in place", cv_in_place, "in place"),
    (CV, "positive side only", cv_positive_only, "only the positive side"),
    (CN, "sum of squares", cn_ok, None),
    (CN, "concatenated norm", cn_ok_concatenated, None),
    (CN, "per-tensor clipping", cn_per_tensor, "clipped to max_norm on its own"),
    (CN, "scales up small gradients", cn_scales_up, "scaled up"),
    (CN, "no square root", cn_no_sqrt, "square root"),
    (CN, "in place", cn_in_place, "in place"),
    (TB, "one loop with cuts", tb_ok, None),
    (TB, "chunk by chunk", tb_ok_chunk_loop, None),
    (TB, "no truncation", tb_full, "crosses the chunk borders"),
    (TB, "chunks aligned at the end", tb_aligned_end, "chunks start at the wrong place"),
    (TB, "chunks of k+1", tb_k_plus_one, "one step too long"),
]


# ===========================================================================
# More mistakes and valid alternatives, graded function by graded function
# ===========================================================================

# ---------------------------------------------------------------------------
# jacobian_to_last
# ---------------------------------------------------------------------------

def _factor(h, Ws):
    return (1 - h ** 2)[:, :, None] * Ws          # diag(1 - h^2) Ws, one per sequence


def jac_ok_einsum(Hs, Ws, t):
    T, B, H = Hs.shape
    J = np.tile(np.eye(H), (B, 1, 1))
    for k in range(T - 1, t - 1, -1):              # 0-based: Hs[k] is the state after step k+1
        J = np.einsum("bij,bjk->bik", J, np.einsum("bi,ij->bij", 1 - Hs[k] ** 2, Ws))
    return J


def jac_ok_columns(Hs, Ws, t):
    """Row b of J built from the earliest factor up, with np.diag and a list (valid)."""
    T, B, H = Hs.shape
    return np.stack([np.linalg.multi_dot([np.eye(H), np.eye(H)] + [np.diag(1 - Hs[k, b] ** 2) @ Ws
                                                                     for k in range(T - 1, t - 1, -1)])
                     for b in range(B)])


def jac_tanh_twice(Hs, Ws, t):
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    for k in range(T, t, -1):
        J = J @ ((1 - np.tanh(Hs[k - 1]) ** 2)[:, :, None] * Ws)
    return J


def jac_one_factor_too_few(Hs, Ws, t):
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    for k in range(T - 1, t, -1):                   # 0-based index mixed with the book's range
        J = J @ _factor(Hs[k], Ws)
    return J


def jac_elementwise(Hs, Ws, t):
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    for k in range(T, t, -1):
        J = J * _factor(Hs[k - 1], Ws)              # * where @ belongs
    return J


def jac_batch_mean(Hs, Ws, t):
    T, B, H = Hs.shape
    J = np.eye(H)
    for k in range(T, t, -1):
        J = J @ (np.diag(1 - Hs[k - 1].mean(0) ** 2) @ Ws)   # one Jacobian for the whole batch
    return np.broadcast_to(J, (B, H, H)).copy()


def jac_first_sequence(Hs, Ws, t):
    T, B, H = Hs.shape
    J = np.eye(H)
    for k in range(T, t, -1):
        J = J @ np.diag(1 - Hs[k - 1, 0] ** 2) @ Ws
    return np.array([J] * B)


def jac_no_square(Hs, Ws, t):
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    for k in range(T, t, -1):
        J = J @ ((1 - Hs[k - 1])[:, :, None] * Ws)
    return J


def jac_squeezed_states(Hs, Ws, t):
    """Squeezes each state to drop a batch of one: right for B > 1, an IndexError for B = 1."""
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()
    for k in range(T, t, -1):
        h = Hs[k - 1].squeeze()
        J = J @ ((1 - h ** 2)[:, :, None] * Ws)
    return J


def jac_float32(Hs, Ws, t):
    T, B, H = Hs.shape
    J = np.broadcast_to(np.eye(H, dtype=np.float32), (B, H, H)).copy()
    for k in range(T, t, -1):
        J = (J @ _factor(Hs[k - 1], Ws)).astype(np.float32)
    return J


# ---------------------------------------------------------------------------
# clip_by_value
# ---------------------------------------------------------------------------

def cv_limit_one(grads, limit):
    """Clips into [-1, 1] whatever limit it is given (the visible test's limit)."""
    return {k: np.clip(g, -1.0, 1.0) for k, g in grads.items()}


def cv_ok_min_max(grads, limit):
    return {k: np.maximum(np.minimum(g, limit), -limit) for k, g in grads.items()}


def cv_ok_copy_then_out(grads, limit):
    out = {}
    for k, g in grads.items():
        out[k] = g.copy()
        np.clip(out[k], -limit, limit, out=out[k])
    return out


def cv_returns_input(grads, limit):
    for g in grads.values():
        g = np.clip(g, -limit, limit)               # rebinds g; the dict keeps the old arrays
    return grads


def cv_copies_unclipped(grads, limit):
    clipped = {k: g.copy() for k, g in grads.items()}
    for k in clipped:
        np.clip(clipped[k], -limit, limit)          # result thrown away
    return clipped


def cv_sign_of_big_entries_lost(grads, limit):
    return {k: np.where(np.abs(g) > limit, limit, g) for k, g in grads.items()}


def cv_every_entry_to_limit(grads, limit):
    """Every entry becomes ±limit, also those inside the range (out of the catalogue)."""
    return {k: np.sign(g) * limit for k, g in grads.items()}


def cv_bounds_swapped(grads, limit):
    return {k: np.clip(g, limit, -limit) for k, g in grads.items()}


def cv_zero_lower_bound(grads, limit):
    return {k: np.clip(g, 0, limit) for k, g in grads.items()}


def cv_abs(grads, limit):
    return {k: np.minimum(np.abs(g), limit) for k, g in grads.items()}


def cv_global_max(grads, limit):
    """Rescales all arrays by the largest entry of any of them (clipping by value mixed up with norm)."""
    biggest = max(np.abs(g).max() for g in grads.values())
    return {k: g * min(1.0, limit / biggest) for k, g in grads.items()}


# ---------------------------------------------------------------------------
# clip_by_global_norm
# ---------------------------------------------------------------------------

def _norm(grads):
    return np.sqrt(sum(np.sum(g * g) for g in grads.values()))


def cn_ok_vdot(grads, max_norm):
    import math
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
    factor = max_norm / max(norm, max_norm)
    return {k: factor * g for k, g in grads.items()}, norm


def cn_ok_early_return(grads, max_norm):
    norm = _norm(grads)
    if norm <= max_norm:
        return dict(grads), norm                   # the same arrays when nothing changes: allowed
    return {k: g * (max_norm / norm) for k, g in grads.items()}, norm


def cn_returns_input(grads, max_norm):
    norm = _norm(grads)
    clipped = {k: g * min(1.0, max_norm / norm) for k, g in grads.items()}  # noqa: F841 (never returned)
    return grads, norm


def cn_norm_after(grads, max_norm):
    norm = _norm(grads)
    clipped = {k: g * min(1.0, max_norm / norm) for k, g in grads.items()}
    return clipped, _norm(clipped)


def cn_sum_of_norms(grads, max_norm):
    norm = sum(np.linalg.norm(g) for g in grads.values())
    return {k: g * min(1.0, max_norm / norm) for k, g in grads.items()}, norm


def cn_max_for_min(grads, max_norm):
    norm = _norm(grads)
    return {k: g * max(1.0, max_norm / norm) for k, g in grads.items()}, norm


def cn_rms(grads, max_norm):
    """The norm as a root mean square over all entries (out of the catalogue)."""
    flat = np.concatenate([g.ravel() for g in grads.values()])
    norm = np.sqrt(np.mean(flat ** 2))
    return {k: g * min(1.0, max_norm / norm) for k, g in grads.items()}, norm


def cn_square_of_sum(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g) ** 2 for g in grads.values()))
    return {k: g * min(1.0, max_norm / norm) for k, g in grads.items()}, norm


# ---------------------------------------------------------------------------
# tbptt_backward
# ---------------------------------------------------------------------------

def _loop(dHs, cache, k, *, reset_before=None, reset_after=None, h_prev_of=None, carry=None, scale=1.0):
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    carried = np.zeros_like(h0)
    for t in reversed(range(T)):
        if reset_before is not None and reset_before(t):
            carried = np.zeros_like(h0)
        h_prev = h_prev_of(t) if h_prev_of else (Hs[t - 1] if t > 0 else h0)
        dh = dHs[t] + carried
        delta = dh * (1 - Hs[t] ** 2)
        dX[t] = delta @ Wx
        dWx += delta.T @ X[t]
        dWs += delta.T @ h_prev
        db += delta.sum(0)
        carried = carry(dh, delta, Ws) if carry else delta @ Ws
        if reset_after is not None and reset_after(t):
            carried = np.zeros_like(h0)
    return dX, scale * dWx, scale * dWs, scale * db


def tb_ok_chunk_start(dHs, cache, k):
    """Resets when the step is the first of its chunk, computed as (t // k) * k (valid)."""
    return _loop(dHs, cache, k, reset_after=lambda t: (t // k) * k == t)


def tb_ok_chunks_backwards(dHs, cache, k):
    """Chunks taken from the last to the first, each a plain BPTT with nothing carried in (valid)."""
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    out = [np.zeros_like(X), np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])]
    for s in reversed(range(0, T, k)):
        e = min(s + k, T)
        g = _loop(dHs[s:e], (X[s:e], h0 if s == 0 else Hs[s - 1], Hs[s:e], Wx, Ws), e - s)
        out[0][s:e] = g[0]
        for i in (1, 2, 3):
            out[i] = out[i] + g[i]
    return tuple(out)


def tb_reset_before_step(dHs, cache, k):
    """Zeroes the carried gradient at the top of the loop, before the chunk's first step uses it."""
    return _loop(dHs, cache, k, reset_before=lambda t: t % k == 0)


def tb_reset_one_early(dHs, cache, k):
    return _loop(dHs, cache, k, reset_after=lambda t: (t + 1) % k == 0)


def tb_chunks_of_k_minus_one(dHs, cache, k):
    return _loop(dHs, cache, k, reset_after=lambda t: t % max(k - 1, 1) == 0)


def tb_hs_last_as_h0(dHs, cache, k):
    X, h0, Hs, Wx, Ws = cache
    return _loop(dHs, cache, k, reset_after=lambda t: t % k == 0, h_prev_of=lambda t: Hs[t - 1])


def tb_chunk_from_h0(dHs, cache, k):
    """Chunk by chunk, each chunk's BPTT given h0 as its starting state."""
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    out = [np.zeros_like(X), np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])]
    for s in range(0, T, k):
        e = min(s + k, T)
        g = _loop(dHs[s:e], (X[s:e], h0, Hs[s:e], Wx, Ws), e - s)
        out[0][s:e] = g[0]
        for i in (1, 2, 3):
            out[i] = out[i] + g[i]
    return tuple(out)


def tb_carry_skips_tanh(dHs, cache, k):
    return _loop(dHs, cache, k, reset_after=lambda t: t % k == 0, carry=lambda dh, delta, Ws: dh @ Ws)


def tb_batch_mean(dHs, cache, k):
    return _loop(dHs, cache, k, reset_after=lambda t: t % k == 0, scale=1.0 / dHs.shape[1])


def tb_dhs_at_chunk_end_only(dHs, cache, k):
    """Adds the upstream gradient only at the last step of each chunk (a loss per chunk end)."""
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    ends = {min(s + k, T) - 1 for s in range(0, T, k)}
    masked = np.array([dHs[t] if t in ends else np.zeros_like(dHs[t]) for t in range(T)])
    return _loop(masked, cache, k, reset_after=lambda t: t % k == 0)


def tb_no_truncation_when_divisible(dHs, cache, k):
    """Cuts only when T is not a multiple of k (a special case written for the remainder)."""
    T = dHs.shape[0]
    return _loop(dHs, cache, k, reset_after=lambda t: T % k != 0 and t % k == 0)


def tb_carry_added_into_dhs(dHs, cache, k):
    """Adds the carried gradient into the caller's dHs[t] in place (right gradients: passes, with a note)."""
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    carried = np.zeros_like(h0)
    for t in reversed(range(T)):
        dHs[t] += carried
        delta = dHs[t] * (1 - Hs[t] ** 2)
        dX[t] = delta @ Wx
        dWx += delta.T @ X[t]
        dWs += delta.T @ (Hs[t - 1] if t > 0 else h0)
        db += delta.sum(0)
        carried = np.zeros_like(h0) if t % k == 0 else delta @ Ws
    return dX, dWx, dWs, db


def tb_stacked_chunks(dHs, cache, k):
    """Chunk by chunk with the deltas stacked; one chunk too many when k divides T (an empty last chunk)."""
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    for c in range(T // k + 1):                     # the full chunks, then the rest
        s, e = c * k, min(c * k + k, T)
        carried, deltas = np.zeros_like(h0), []
        for t in reversed(range(s, e)):
            delta = (dHs[t] + carried) * (1 - Hs[t] ** 2)
            carried = delta @ Ws
            deltas.append(delta)
        D = np.stack(deltas[::-1])                  # (e - s, B, H)
        H_prev = np.concatenate([(h0 if s == 0 else Hs[s - 1])[None], Hs[s:e - 1]])
        dX[s:e] = D @ Wx
        dWx += np.einsum("tbh,tbd->hd", D, X[s:e])
        dWs += np.einsum("tbh,tbj->hj", D, H_prev)
        db += D.sum(axis=(0, 1))
    return dX, dWx, dWs, db


CASES += [
    (JA, "einsum, 0-based loop", jac_ok_einsum, None),
    (JA, "np.diag per sequence, multi_dot", jac_ok_columns, None),
    (JA, "tanh applied to the states again", jac_tanh_twice, "tanh is applied twice"),
    (JA, "one factor too few", jac_one_factor_too_few, "one factor too few"),
    (JA, "elementwise product", jac_elementwise, "not entry by entry with *"),
    (JA, "batch-mean state", jac_batch_mean, "each sequence b has its own Jacobian"),
    (JA, "first sequence for all", jac_first_sequence, "J is the same for every sequence"),
    (JA, "1 - h instead of 1 - h^2", jac_no_square, "the square is missing"),
    (JA, "computed in float32 (accepted within the float32 tolerance)", jac_float32, None),
    (JA, "states squeezed (crashes for B = 1 only)", jac_squeezed_states, "on the case T=1, B=1, D=2, H=3, t=0 (line"),
    (CV, "minimum / maximum", cv_ok_min_max, None),
    (CV, "copy, then np.clip(out=)", cv_ok_copy_then_out, None),
    (CV, "returns the input dict", cv_returns_input, "the very arrays it was given"),
    (CV, "copies, clip result discarded", cv_copies_unclipped, "the returned gradients are the input's, unclipped"),
    (CV, "big negative entries become +limit", cv_sign_of_big_entries_lost, "entries below −limit become +limit"),
    (CV, "every entry set to +-limit", cv_every_entry_to_limit, "So the mistake is in the entries inside"),
    (CV, "np.clip(g, limit, -limit)", cv_bounds_swapped, "the bounds are swapped"),
    (CV, "clip into [0, limit]", cv_zero_lower_bound, "the lower bound is 0"),
    (CV, "|g| clipped", cv_abs, "the sign is lost"),
    (CV, "rescaled by the largest entry of all", cv_global_max, "rescaled instead of clipped"),
    (CV, "clips into [-1, 1] whatever the limit", cv_limit_one, "So the mistake is in the limit"),
    (CN, "vdot and max_norm / max(norm, max_norm)", cn_ok_vdot, None),
    (CN, "input arrays returned below the threshold", cn_ok_early_return, None),
    (CN, "returns the input dict", cn_returns_input, "the very arrays it was given"),
    (CN, "norm after clipping", cn_norm_after, "the norm returned is the one after clipping"),
    (CN, "sum of the arrays' norms", cn_sum_of_norms, "the sum of the arrays' norms"),
    (CN, "max for min", cn_max_for_min, "max where min belongs"),
    (CN, "root mean square", cn_rms, "so the norm is the mistake"),
    (CN, "square of the sum", cn_square_of_sum, "one number for all arrays together"),
    (TB, "reset computed from the chunk start", tb_ok_chunk_start, None),
    (TB, "chunks from the last", tb_ok_chunks_backwards, None),
    (TB, "reset before the chunk's first step", tb_reset_before_step, "every chunk starts one step late"),
    (TB, "reset one step early", tb_reset_one_early, "every chunk starts one step early"),
    (TB, "chunks of k-1", tb_chunks_of_k_minus_one, "chunks of k−1 steps"),
    (TB, "Hs[-1] as h0", tb_hs_last_as_h0, "Python's index −1 is the *last* state"),
    (TB, "every chunk from h0", tb_chunk_from_h0, "each chunk's first step uses h0"),
    (TB, "carry skips tanh'", tb_carry_skips_tanh, "So the mistake is in the gradient carried inside a chunk"),
    (TB, "batch mean", tb_batch_mean, "divided by the batch size B"),
    (TB, "dHs only at chunk ends", tb_dhs_at_chunk_end_only, "So the mistake is in the upstream gradient"),
    (TB, "no cut when T is a multiple of k", tb_no_truncation_when_divisible, "no border at all"),
    (TB, "carry added into the caller's dHs (right gradients: passes with a note)", tb_carry_added_into_dhs, None),
    (TB, "an empty last chunk when k divides T (crashes there only)", tb_stacked_chunks,
     "on the case T=6, B=2, D=3, H=4, k=3 (line"),
]
