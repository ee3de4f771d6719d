"""Backward passes by central differences of the learner's own forward pass, one per backward function, and
honest but slow ones (plain Python loops over time *and* batch rows, no vectorisation over the batch).

Not part of ``CASES`` (``grading_bugs/__init__.py``): a numerical backward pass runs for the whole time budget
of its large case, so tests/grading/test_representation.py runs each once instead of on every table seed.
Each entry of :data:`NUMERICAL` is ``(grader, label, function)``: the function is right on every small case
(central differences of a correct forward pass) and must lose the cell on the large case.
:data:`HONEST_SLOW` lists loop-based analytic functions that must keep their points with a wide margin.

The numerical learners rebuild a forward pass from the cache alone: the part of each pre-activation that the
cache does not explain (the bias, or whatever a probe case put there) becomes a per-row offset, recovered by
inverting the activation (arctanh, logit); central differences with respect to that offset, summed over the
rows, give the bias gradient. So they are right on every small case, probe cases included.
"""
from __future__ import annotations

import numpy as np


def by_id(grade_id: str):
    """The grader of a hidden test cell (as grading_bugs.by_id; defined here so that this file also runs as a
    script, ``python tests/grading/grading_bugs/numerical_backward.py``)."""
    def grader(fn, *, rng=None):
        from rnnkit.grading import registry
        return registry.find_check(grade_id).grade(fn, rng=rng)
    grader.__name__ = grader.grade_id = grade_id
    return grader


EPS = 1e-6


def _central(loss, arrays):
    """Central differences of ``loss()`` with respect to every entry of every array (perturbed in place)."""
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        flat, out = a.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + EPS
            up = loss()
            flat[i] = old - EPS
            down = loss()
            flat[i] = old
            out[i] = (up - down) / (2 * EPS)
        grads.append(g)
    return grads


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _logit(p):
    return np.log(p / (1.0 - p))


# a3 ----------------------------------------------------------------------------------------------------

def _rnn_forward(X, h0, Wx, Ws, b):
    h, out = h0, []
    for t in range(X.shape[0]):
        h = np.tanh(X[t] @ Wx.T + h @ Ws.T + b)
        out.append(h)
    return np.stack(out)


def numerical_rnn_step_backward(dh, cache):
    x, h_prev, h, Wx, Ws = (np.array(a, dtype=np.float64) for a in cache)
    offset = np.arctanh(h) - x @ Wx.T - h_prev @ Ws.T      # (B, H): b in every row
    dx, dh_prev, dWx, dWs, doff = _central(
        lambda: float(np.sum(np.tanh(x @ Wx.T + h_prev @ Ws.T + offset) * dh)), [x, h_prev, Wx, Ws, offset])
    return dx, dh_prev, dWx, dWs, doff.sum(0)


def numerical_rnn_backward(dHs, cache):
    X, h0, Hs, Wx, Ws = (np.array(a, dtype=np.float64) for a in cache)
    H_prev = np.concatenate([h0[None], Hs[:-1]])
    offset = np.arctanh(Hs) - X @ Wx.T - H_prev @ Ws.T      # (T, B, H): b at every step and row

    def loss():
        h, total = h0, 0.0
        for t in range(X.shape[0]):
            h = np.tanh(X[t] @ Wx.T + h @ Ws.T + offset[t])
            total += float(np.sum(h * dHs[t]))
        return total
    dX, dh0, dWx, dWs, doff = _central(loss, [X, h0, Wx, Ws, offset])
    return dX, dh0, dWx, dWs, doff.sum((0, 1))


def numerical_output_backward(dO, Hs, Wy):
    Hs, Wy = np.array(Hs, dtype=np.float64), np.array(Wy, dtype=np.float64)
    c = np.zeros(Wy.shape[0])
    return tuple(_central(lambda: float(np.sum((Hs @ Wy.T + c) * dO)), [Hs, Wy, c]))


def slow_rnn_step_backward(dh, cache):
    x, h_prev, h, Wx, Ws = cache
    dx, dh_prev = np.zeros_like(x), np.zeros_like(h_prev)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    for r in range(x.shape[0]):
        d = dh[r] * (1 - h[r] ** 2)
        dx[r], dh_prev[r] = Wx.T @ d, Ws.T @ d
        dWx += np.outer(d, x[r])
        dWs += np.outer(d, h_prev[r])
        db += d
    return dx, dh_prev, dWx, dWs, db


def slow_rnn_backward(dHs, cache, k=None):
    """BPTT one batch row and one step at a time; with ``k``, the carry is cut at every chunk start (a4's
    truncation), else it runs back to h0."""
    X, h0, Hs, Wx, Ws = cache
    T, B, _ = X.shape
    dX, dh0 = np.zeros_like(X), np.zeros_like(h0)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    for r in range(B):
        carry = np.zeros(Ws.shape[0])
        for t in range(T - 1, -1, -1):
            d = (dHs[t, r] + carry) * (1 - Hs[t, r] ** 2)
            dX[t, r] = Wx.T @ d
            dWx += np.outer(d, X[t, r])
            dWs += np.outer(d, Hs[t - 1, r] if t > 0 else h0[r])
            db += d
            carry = np.zeros_like(carry) if k is not None and t % k == 0 else Ws.T @ d
        dh0[r] = carry
    return dX, dh0, dWx, dWs, db


def slow_output_backward(dO, Hs, Wy):
    dHs, dWy, dc = np.zeros_like(Hs), np.zeros_like(Wy), np.zeros(Wy.shape[0])
    for t in range(Hs.shape[0]):
        for r in range(Hs.shape[1]):
            dHs[t, r] = Wy.T @ dO[t, r]
            dWy += np.outer(dO[t, r], Hs[t, r])
            dc += dO[t, r]
    return dHs, dWy, dc


# a4 ----------------------------------------------------------------------------------------------------

def numerical_tbptt_backward(dHs, cache, k):
    X, h0, Hs, Wx, Ws = (np.array(a, dtype=np.float64) for a in cache)
    b = np.arctanh(Hs[0, 0]) - X[0, 0] @ Wx.T - h0[0] @ Ws.T
    return tuple(_central(lambda: truncated_bptt_loss(X, h0, Hs, Wx, Ws, b, dHs, k), [X, Wx, Ws, b]))


def truncated_bptt_loss(X, h0, Hs, Wx, Ws, b, dHs, k) -> float:
    """sum_t <h(t), dHs[t]> where each chunk of k steps starts from the state before it, held fixed."""
    T, total = X.shape[0], 0.0
    for s in range(0, T, k):
        h = h0 if s == 0 else Hs[s - 1]
        for t in range(s, min(s + k, T)):
            h = np.tanh(X[t] @ Wx.T + h @ Ws.T + b)
            total += float(np.sum(h * dHs[t]))
    return total


def slow_tbptt_backward(dHs, cache, k):
    dX, _, dWx, dWs, db = slow_rnn_backward(dHs, cache, k)
    return dX, dWx, dWs, db


# a5 ----------------------------------------------------------------------------------------------------

def numerical_output_rnn_backward(dO, cache):
    X, F, Hs, Wx, Wo, Wy = (np.array(a, dtype=np.float64) for a in cache)
    b = np.arctanh(Hs[0, 0]) - X[0, 0] @ Wx.T - F[0, 0] @ Wo.T
    c = np.zeros(Wy.shape[0])

    def loss():
        H = np.tanh(b + X @ Wx.T + F @ Wo.T)
        return float(np.sum((H @ Wy.T + c) * dO))
    return tuple(_central(loss, [X, Wx, Wo, b, Wy, c]))


def slow_output_rnn_backward(dO, cache):
    X, F, Hs, Wx, Wo, Wy = cache
    dX = np.zeros_like(X)
    dWx, dWo, db = np.zeros_like(Wx), np.zeros_like(Wo), np.zeros(Wx.shape[0])
    dWy, dc = np.zeros_like(Wy), np.zeros(Wy.shape[0])
    for t in range(X.shape[0]):
        for r in range(X.shape[1]):
            d = (Wy.T @ dO[t, r]) * (1 - Hs[t, r] ** 2)
            dX[t, r] = Wx.T @ d
            dWx += np.outer(d, X[t, r])
            dWo += np.outer(d, F[t, r])
            db += d
            dWy += np.outer(dO[t, r], Hs[t, r])
            dc += dO[t, r]
    return dX, dWx, dWo, db, dWy, dc


# a6 ----------------------------------------------------------------------------------------------------

def _lstm_offset(x, h_prev, i, f, o, g, W):
    """(B, 4H): the pre-activation the cached gates imply, minus the part W explains (b in every row)."""
    with np.errstate(all="ignore"):
        a = np.concatenate([_logit(i), _logit(f), _logit(o), np.arctanh(g)], axis=1)
    return a - np.concatenate([h_prev, x], axis=1) @ W.T


def _lstm_step(x, h_prev, c_prev, W, b):
    H = h_prev.shape[1]
    a = np.concatenate([h_prev, x], axis=1) @ W.T + b
    i, f, o, g = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])
    c = f * c_prev + i * g
    return o * np.tanh(c), c


def numerical_lstm_step_backward(dh, dc, cache):
    x, h_prev, c_prev, i, f, o, g, c, W = (np.array(a, dtype=np.float64) for a in cache)
    offset = _lstm_offset(x, h_prev, i, f, o, g, W)

    def loss():
        with np.errstate(all="ignore"):
            h_new, c_new = _lstm_step(x, h_prev, c_prev, W, offset)
        return float(np.sum(h_new * dh) + np.sum(c_new * dc))
    dx, dh_prev, dc_prev, dW, doff = _central(loss, [x, h_prev, c_prev, W, offset])
    return dx, dh_prev, dc_prev, dW, doff.sum(0)


def numerical_lstm_backward(dHs, caches):
    h0, c0, W = (np.array(caches[0][k], dtype=np.float64) for k in (1, 2, 8))
    X = np.stack([np.array(cache[0], dtype=np.float64) for cache in caches])
    offset = np.stack([_lstm_offset(*(np.asarray(cache[k], dtype=np.float64) for k in (0, 1, 3, 4, 5, 6, 8)))
                       for cache in caches])

    def loss():
        h, c, total = h0, c0, 0.0
        with np.errstate(all="ignore"):
            for t in range(X.shape[0]):
                h, c = _lstm_step(X[t], h, c, W, offset[t])
                total += float(np.sum(h * dHs[t]))
        return total
    dX, dh0, dc0, dW, doff = _central(loss, [X, h0, c0, W, offset])
    return dX, dh0, dc0, dW, doff.sum((0, 1))


def _lstm_row_backward(dh, dc, x, h_prev, c_prev, i, f, o, g, c, W):
    """One step for one batch row (vectors), as a learner who has not vectorised over the batch writes it."""
    tc = np.tanh(c)
    dc_total = dc + dh * o * (1 - tc ** 2)
    da = np.concatenate([dc_total * g * i * (1 - i), dc_total * c_prev * f * (1 - f), dh * tc * o * (1 - o),
                         dc_total * i * (1 - g ** 2)])
    dz = W.T @ da
    H = h_prev.shape[0]
    return dz[H:], dz[:H], dc_total * f, np.outer(da, np.concatenate([h_prev, x])), da


def slow_lstm_step_backward(dh, dc, cache):
    x, h_prev, c_prev, i, f, o, g, c, W = cache
    dc = np.broadcast_to(dc, h_prev.shape)
    dx, dh_prev, dc_prev = np.zeros_like(x), np.zeros_like(h_prev), np.zeros_like(c_prev)
    dW, db = np.zeros_like(W), np.zeros(W.shape[0])
    for r in range(x.shape[0]):
        dx[r], dh_prev[r], dc_prev[r], dW_r, da = _lstm_row_backward(
            dh[r], dc[r], x[r], h_prev[r], c_prev[r], i[r], f[r], o[r], g[r], c[r], W)
        dW += dW_r
        db += da
    return dx, dh_prev, dc_prev, dW, db


def slow_lstm_backward(dHs, caches):
    T, (B, H) = len(caches), caches[0][1].shape
    W = caches[0][-1]
    dX = np.zeros((T, B, caches[0][0].shape[1]))
    dW, db = np.zeros_like(W), np.zeros(W.shape[0])
    dh0, dc0 = np.zeros((B, H)), np.zeros((B, H))
    for r in range(B):
        dh_next, dc_next = np.zeros(H), np.zeros(H)
        for t in range(T - 1, -1, -1):
            x, h_prev, c_prev, i, f, o, g, c, _ = (a[r] if k < 8 else a for k, a in enumerate(caches[t]))
            dX[t, r], dh_next, dc_next, dW_r, da = _lstm_row_backward(
                dHs[t, r] + dh_next, dc_next, x, h_prev, c_prev, i, f, o, g, c, W)
            dW += dW_r
            db += da
        dh0[r], dc0[r] = dh_next, dc_next
    return dX, dh0, dc0, dW, db


#: (grader, label, numerical backward, analytic backward with loops over time and batch rows) per backward cell.
BACKWARD_CELLS = [
    (by_id("test_rnn_step_backward"), "a3 rnn_step_backward", numerical_rnn_step_backward, slow_rnn_step_backward),
    (by_id("test_rnn_backward_parameters"), "a3 rnn_backward (parameters)", numerical_rnn_backward,
     slow_rnn_backward),
    (by_id("test_rnn_backward_inputs"), "a3 rnn_backward (inputs)", numerical_rnn_backward, slow_rnn_backward),
    (by_id("test_output_backward"), "a3 output_backward", numerical_output_backward, slow_output_backward),
    (by_id("test_tbptt_backward"), "a4 tbptt_backward", numerical_tbptt_backward, slow_tbptt_backward),
    (by_id("test_output_rnn_backward"), "a5 output_rnn_backward", numerical_output_rnn_backward,
     slow_output_rnn_backward),
    (by_id("test_lstm_step_backward"), "a6 lstm_step_backward", numerical_lstm_step_backward, slow_lstm_step_backward),
    (by_id("test_lstm_backward_parameters"), "a6 lstm_backward (parameters)", numerical_lstm_backward,
     slow_lstm_backward),
    (by_id("test_lstm_backward_inputs"), "a6 lstm_backward (inputs)", numerical_lstm_backward,
     slow_lstm_backward),
]
#: (grader, label, numerical backward): right on every small case, must lose the cell on the large one.
NUMERICAL = [(grader, label, numerical) for grader, label, numerical, _ in BACKWARD_CELLS]
#: (grader, label, analytic backward with loops): must pass well within the budget.
HONEST_SLOW = [(grader, label, slow) for grader, label, _, slow in BACKWARD_CELLS]


def measure(seed: int = 1) -> list[str]:
    """For every backward check's large case: the time to draw it with rnnkit's vectorised forward and backward
    (the exact gradients), the honest loop-based backward's time, and the numerical backward's cost, from ten
    timed evaluations of its loss times two per entry (running it to the end takes minutes)."""
    import time
    from rnnkit.grading import registry

    class _Stop(Exception):
        pass

    def timed_losses(loss, arrays):
        t0 = time.perf_counter()
        for _ in range(10):
            loss()
        raise _Stop((time.perf_counter() - t0) / 10)

    lines = []
    seen = set()
    for _, label, slow in HONEST_SLOW:
        numerical = globals()["numerical_" + slow.__name__[len("slow_"):]]
        check = next(c for a in registry.MODULES for c in registry.checks_for(a).values()
                     if c.large and c.function == slow.__name__[len("slow_"):])
        if check.function in seen:
            continue
        seen.add(check.function)
        t0 = time.perf_counter()
        args, _, sizes = check.large.build(np.random.default_rng(seed))
        reference = time.perf_counter() - t0   # drawing the case and rnnkit's vectorised forward and backward
        t0 = time.perf_counter()
        slow(*args)
        honest = time.perf_counter() - t0
        global _central
        real, _central = _central, timed_losses
        try:
            numerical(*args)
        except _Stop as stop:
            per_loss = stop.args[0]
        finally:
            _central = real
        n = check.large.entries(sizes)
        lines.append(f"{check.function} {sizes}: case and vectorised reference {reference:.3f} s; honest loops "
                     f"{honest:.3f} s; numerical ≥ 2 × {n:,} entries × "
                     f"{per_loss * 1e3:.2f} ms = {2 * n * per_loss:.0f} s (budget {check.large.budget:g} s)")
    return lines


if __name__ == "__main__":  # python tests/grading/grading_bugs/numerical_backward.py  (from the repository root)
    print("\n".join(measure()))
