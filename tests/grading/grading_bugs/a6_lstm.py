"""a6-lstm: learner-style mistakes named by the catalogue, the probes or the oracle, and valid alternatives.

Collected in course order by ``grading_bugs`` (tests/grading/grading_bugs/__init__.py, which gives the
format ``(grader, label, fn, expected)``; ``expected=None`` for a valid implementation).
None of these calls the grader's own variants. The first part has the classic bugs of each graded
function; the second more mistakes and more valid alternatives.

The sequence functions of the second part that call a step function are defined the way a notebook
defines them: in one namespace (:func:`_notebook`) where ``lstm_step_forward`` / ``lstm_step_backward``
are global names, so the grader's oracle can stand in for them. A sequence function whose loop is right
but whose step function is wrong keeps its points; :func:`_passes_naming` also requires its message to
name the step function.
"""
from __future__ import annotations

import functools
import textwrap

import numpy as np

from rnnkit.grading.engine import Verdict

from . import by_id


def _notebook(*cells: str) -> dict:
    """Run code cells in one fresh namespace, as a notebook does; return the namespace."""
    ns: dict = {"np": np, "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a))}
    for src in cells:
        exec(textwrap.dedent(src), ns)
    return ns


def _passes_naming(grader, phrase: str):
    """A grader that passes only if ``grader`` passes *and* its message contains ``phrase``."""
    @functools.wraps(getattr(grader, "func", grader))
    def graded(fn, *, rng=None):
        v = grader(fn, rng=rng)
        return Verdict(v.passed and phrase in v.message, v.message)
    return graded


LSF, LSB, LF = by_id("test_lstm_step_forward"), by_id("test_lstm_step_backward"), by_id("test_lstm_forward")
LBP, LBI = by_id("test_lstm_backward_parameters"), by_id("test_lstm_backward_inputs")


def LBA(fn, *, rng=None):
    """Both cells of lstm_backward (parameters, then inputs, on one generator): the first failing verdict, else
    the first."""
    verdicts = [grader(fn, rng=rng) for grader in (LBP, LBI)]
    return next((v for v in verdicts if not v.passed), verdicts[0])


# ---------------------------------------------------------------------------
# LSTM
# ---------------------------------------------------------------------------

def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def lstm_fwd_step(x, h_prev, c_prev, W, b, *, order="ifog", stack="hx", g_act=np.tanh, forget=True, tanh_c=True):
    H = h_prev.shape[1]
    z = np.concatenate([h_prev, x] if stack == "hx" else [x, h_prev], axis=1)
    a = z @ W.T + b
    blocks = dict(zip(order, (a[:, k * H:(k + 1) * H] for k in range(4))))
    i, f, o, g = _sigmoid(blocks["i"]), _sigmoid(blocks["f"]), _sigmoid(blocks["o"]), g_act(blocks["g"])
    c = (f * c_prev if forget else c_prev) + i * g
    h = o * (np.tanh(c) if tanh_c else c)
    return h, c, (x, h_prev, c_prev, i, f, o, g, c, W)


def lstm_sf_ok(x, h_prev, c_prev, W, b):
    return lstm_fwd_step(x, h_prev, c_prev, W, b)


def lstm_sf_ok_split_weights(x, h_prev, c_prev, W, b):
    """Separate state and input matrices, gates computed one at a time."""
    H = h_prev.shape[1]
    Wh, Wx = W[:, :H], W[:, H:]
    gate = [x @ Wx[k * H:(k + 1) * H].T + h_prev @ Wh[k * H:(k + 1) * H].T + b[k * H:(k + 1) * H] for k in range(4)]
    i, f, o = (0.5 * (1 + np.tanh(0.5 * a)) for a in gate[:3])
    g = np.tanh(gate[3])
    c = f * c_prev + i * g
    return o * np.tanh(c), c, (x, h_prev, c_prev, i, f, o, g, c, W)


def lstm_sf_torch_order(x, h_prev, c_prev, W, b):
    return lstm_fwd_step(x, h_prev, c_prev, W, b, order="ifgo")


def lstm_sf_xh_stack(x, h_prev, c_prev, W, b):
    return lstm_fwd_step(x, h_prev, c_prev, W, b, stack="xh")


def lstm_sf_g_sigmoid(x, h_prev, c_prev, W, b):
    return lstm_fwd_step(x, h_prev, c_prev, W, b, g_act=_sigmoid)


def lstm_sf_no_forget(x, h_prev, c_prev, W, b):
    return lstm_fwd_step(x, h_prev, c_prev, W, b, forget=False)


def lstm_sf_h_no_tanh(x, h_prev, c_prev, W, b):
    return lstm_fwd_step(x, h_prev, c_prev, W, b, tanh_c=False)


def lstm_step_bwd(dh, dc, cache, *, carry=True, forget=True, sigma_prime=True, tanh_c_prime=True,
                  g_prime=True, c_prev_ok=True, order="ifog"):
    x, h_prev, c_prev, i, f, o, g, c, W = cache
    H = h_prev.shape[1]
    tc = np.tanh(c)
    dct = (dc if carry else 0.0) + dh * o * ((1 - tc ** 2) if tanh_c_prime else 1.0)
    sp = (lambda s: s * (1 - s)) if sigma_prime else (lambda s: 1.0)
    grads = {"i": dct * g * sp(i), "f": dct * (c_prev if c_prev_ok else c) * sp(f), "o": dh * tc * sp(o),
             "g": dct * i * ((1 - g ** 2) if g_prime else 1.0)}
    da = np.concatenate([grads[k] for k in order], axis=1)
    z = np.concatenate([h_prev, x], axis=1)
    dz = da @ W
    return dz[:, H:], dz[:, :H], dct * f if forget else dct, da.T @ z, da.sum(0)


def lstm_sb_ok(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache)


def lstm_sb_ok_blockwise(dh, dc, cache):
    """Per-gate weight gradients assembled with slices and einsum."""
    x, h_prev, c_prev, i, f, o, g, c, W = cache
    H = h_prev.shape[1]
    tc = np.tanh(c)
    dct = dc + dh * o * (1 - tc * tc)
    das = [dct * g * i * (1 - i), dct * c_prev * f * (1 - f), dh * tc * o * (1 - o), dct * i * (1 - g * g)]
    dW = np.zeros_like(W)
    dh_prev = np.zeros_like(h_prev)
    dx = np.zeros_like(x)
    for k, da in enumerate(das):
        rows = slice(k * H, (k + 1) * H)
        dW[rows, :H] = np.einsum("bh,bk->hk", da, h_prev)
        dW[rows, H:] = np.einsum("bh,bd->hd", da, x)
        dh_prev += da @ W[rows, :H]
        dx += da @ W[rows, H:]
    return dx, dh_prev, dct * f, dW, np.concatenate([da.sum(0) for da in das])


def lstm_sb_no_cell_carry(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache, carry=False)


def lstm_sb_no_forget(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache, forget=False)


def lstm_sb_no_sigma_prime(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache, sigma_prime=False)


def lstm_sb_no_tanh_c_prime(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache, tanh_c_prime=False)


def lstm_sb_no_g_prime(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache, g_prime=False)


def lstm_sb_c_for_c_prev(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache, c_prev_ok=False)


def lstm_sb_gate_order(dh, dc, cache):
    return lstm_step_bwd(dh, dc, cache, order="ifgo")


def lstm_sb_transposed_dw(dh, dc, cache):
    dx, dh_prev, dc_prev, dW, db = lstm_step_bwd(dh, dc, cache)
    return dx, dh_prev, dc_prev, dW.T, db


def lstm_f_ok(X, h0, c0, W, b):
    h, c, Hs, caches = h0, c0, [], []
    for x in X:
        h, c, cache = lstm_fwd_step(x, h, c, W, b)
        Hs.append(h)
        caches.append(cache)
    return np.stack(Hs), caches


def lstm_f_no_cell_carry(X, h0, c0, W, b):
    h, Hs = h0, []
    for x in X:
        h, _, _ = lstm_fwd_step(x, h, c0, W, b)
        Hs.append(h)
    return np.stack(Hs), []


def lstm_bptt(dHs, caches, *, h_carry=True, c_carry=True, accumulate=True, **step_bugs):
    T = len(caches)
    dX = np.zeros((T,) + caches[0][0].shape)
    dW, db = np.zeros_like(caches[0][-1]), np.zeros(caches[0][-1].shape[0])
    dh, dc = np.zeros_like(caches[0][1]), np.zeros_like(caches[0][2])
    for t in reversed(range(T)):
        dX[t], dh_new, dc_new, dW_t, db_t = lstm_step_bwd(dHs[t] + (dh if h_carry else 0.0),
                                                          dc if c_carry else np.zeros_like(dc), caches[t], **step_bugs)
        dh, dc = dh_new, dc_new
        if accumulate:
            dW, db = dW + dW_t, db + db_t
        else:
            dW, db = dW_t, db_t
    return dX, dh, dc, dW, db


def lstm_b_ok(dHs, caches):
    return lstm_bptt(dHs, caches)


def lstm_b_ok_blockwise_steps(dHs, caches):
    T = len(caches)
    out, dh, dc = [], np.zeros_like(caches[0][1]), np.zeros_like(caches[0][2])
    for t in reversed(range(T)):
        g = lstm_sb_ok_blockwise(dHs[t] + dh, dc, caches[t])
        dh, dc = g[1], g[2]
        out.append(g)
    return (np.stack([g[0] for g in reversed(out)]), dh, dc, sum(g[3] for g in out), sum(g[4] for g in out))


def lstm_b_no_h_carry(dHs, caches):
    return lstm_bptt(dHs, caches, h_carry=False)


def lstm_b_no_cell_carry(dHs, caches):
    return lstm_bptt(dHs, caches, c_carry=False)


def lstm_b_no_forget(dHs, caches):
    return lstm_bptt(dHs, caches, forget=False)


def lstm_b_not_summed(dHs, caches):
    return lstm_bptt(dHs, caches, accumulate=False)


def lstm_b_gate_order(dHs, caches):
    return lstm_bptt(dHs, caches, order="ifgo")



CASES = [
    (LSF, "stacked matrix", lstm_sf_ok, None),
    (LSF, "split weights, gate by gate", lstm_sf_ok_split_weights, None),
    (LSF, "PyTorch gate order i, f, g, o", lstm_sf_torch_order, "gate order is wrong"),
    (LSF, "[x, h_prev] stacking", lstm_sf_xh_stack, "W acts on [h_prev, x]"),
    (LSF, "sigmoid for g", lstm_sf_g_sigmoid, "candidate g must use tanh"),
    (LSF, "forget gate missing", lstm_sf_no_forget, "forget gate is missing"),
    (LSF, "h = o * c", lstm_sf_h_no_tanh, "tanh of the cell state is missing"),
    (LSB, "stacked", lstm_sb_ok, None),
    (LSB, "block by block with einsum", lstm_sb_ok_blockwise, None),
    (LSB, "missing cell-state carry", lstm_sb_no_cell_carry, "cell-state carry is missing"),
    (LSB, "forget gate forgotten on the cell path", lstm_sb_no_forget, "forget gate is forgotten on the cell path"),
    (LSB, "missing sigma'", lstm_sb_no_sigma_prime, "σ′ is missing"),
    (LSB, "missing tanh' of c", lstm_sb_no_tanh_c_prime, "tanh′ of the cell is missing"),
    (LSB, "missing tanh' of g", lstm_sb_no_g_prime, "tanh′ of the candidate is missing"),
    (LSB, "c_t where c_{t-1} belongs", lstm_sb_c_for_c_prev, "c_(t−1) belongs"),
    (LSB, "wrong gate order in dW", lstm_sb_gate_order, "gate order is wrong"),
    (LSB, "transposed dW", lstm_sb_transposed_dw, "dW is transposed"),
    (LF, "loop", lstm_f_ok, None),
    (LF, "cell state not carried", lstm_f_no_cell_carry, "cell state is not carried"),
    (LBA, "loop", lstm_b_ok, None),
    (LBA, "blockwise steps, sums at the end", lstm_b_ok_blockwise_steps, None),
    (LBP, "no carry of dh", lstm_b_no_h_carry, "only the last step is right"),
    (LBI, "no carry of dh (inputs)", lstm_b_no_h_carry, "the first wrong step is t="),
    (LBP, "missing cell-state carry", lstm_b_no_cell_carry, "cell-state carry is missing"),
    (LBI, "missing cell-state carry (inputs)", lstm_b_no_cell_carry, "cell-state carry is missing"),
    (LBP, "forget gate forgotten on the cell path", lstm_b_no_forget, "forget gate is forgotten"),
    (LBP, "not summed over time", lstm_b_not_summed, "only the contribution of t=1"),
    (LBP, "wrong gate order", lstm_b_gate_order, "gate order is wrong"),
]


# ---------------------------------------------------------------------------
# more valid alternatives
# ---------------------------------------------------------------------------

def lstm_f_ok_split(X, h0, c0, W, b):
    T, B, _ = X.shape
    Hs = np.empty((T, B, h0.shape[1]))
    h, c, caches = h0, c0, []
    for t in range(T):
        h, c, cache = lstm_sf_ok_split_weights(X[t], h, c, W, b)
        Hs[t] = h
        caches.append(cache)
    return Hs, caches


CASES += [
    (LF, "split weights, preallocated", lstm_f_ok_split, None),
]


# ===========================================================================
# More mistakes and valid alternatives, graded function by graded function
# ===========================================================================

# ---------------------------------------------------------------------------
# lstm_step_forward
# ---------------------------------------------------------------------------

STEP_FORWARD_OK = '''
def lstm_step_forward(x, h_prev, c_prev, W, b):
    H = h_prev.shape[1]
    z = np.concatenate([h_prev, x], axis=1)
    a = z @ W.T + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, i, f, o, g, c, W)
'''


def _step_forward_with(**edits) -> str:
    """STEP_FORWARD_OK with some lines replaced (a learner's edit)."""
    src = STEP_FORWARD_OK
    for old, new in edits.values():
        assert old in src, old
        src = src.replace(old, new)
    return src


def _sf(src: str):
    return _notebook(src)["lstm_step_forward"]


def sf_ok_einsum_split(x, h_prev, c_prev, W, b):
    """Weights split into Wh, Wx with np.split, einsum, a sigmoid of its own."""
    H = h_prev.shape[1]
    Wh, Wx = W[:, :H], W[:, H:]
    a = np.einsum("gk,bk->bg", Wh, h_prev) + np.einsum("gd,bd->bg", Wx, x) + b
    ai, af, ao, ag = np.split(a, 4, axis=1)
    i, f, o = (np.exp(-np.logaddexp(0.0, -v)) for v in (ai, af, ao))
    g = np.tanh(ag)
    c = f * c_prev + i * g
    return o * np.tanh(c), c, (x, h_prev, c_prev, i, f, o, g, c, W)


sf_o_tanh = _sf(_step_forward_with(o=("sigmoid(a[:, 2 * H:3 * H])", "np.tanh(a[:, 2 * H:3 * H])")))
sf_f_from_i_rows = _sf(_step_forward_with(f=("sigmoid(a[:, H:2 * H])", "sigmoid(a[:, :H])")))
sf_bias_first_block = _sf(_step_forward_with(b=("a = z @ W.T + b", "a = z @ W.T + np.tile(b[:H], 4)")))
sf_h_from_c_prev = _sf(_step_forward_with(h=("h = o * np.tanh(c)", "h = o * np.tanh(c_prev)")))
sf_g_from_f_rows = _sf(_step_forward_with(g=("np.tanh(a[:, 3 * H:])", "np.tanh(a[:, H:2 * H])")))
sf_clipped_preactivations = _sf(_step_forward_with(clip=("a = z @ W.T + b", "a = np.clip(z @ W.T + b, -10, 10)")))
sf_sigmoid_sign = _notebook("sigmoid = lambda a: 1.0 / (1.0 + np.exp(a))", STEP_FORWARD_OK)["lstm_step_forward"]

# ---------------------------------------------------------------------------
# lstm_step_backward
# ---------------------------------------------------------------------------

STEP_BACKWARD_OK = '''
def lstm_step_backward(dh, dc, cache):
    x, h_prev, c_prev, i, f, o, g, c, W = cache
    H = h_prev.shape[1]
    tanh_c = np.tanh(c)
    dc_total = dc + dh * o * (1.0 - tanh_c ** 2)
    da = np.concatenate([
        dc_total * g * i * (1.0 - i),
        dc_total * c_prev * f * (1.0 - f),
        dh * tanh_c * o * (1.0 - o),
        dc_total * i * (1.0 - g ** 2),
    ], axis=1)
    z = np.concatenate([h_prev, x], axis=1)
    dW = da.T @ z
    db = da.sum(axis=0)
    dz = da @ W
    dh_prev, dx = dz[:, :H], dz[:, H:]
    dc_prev = dc_total * f
    return dx, dh_prev, dc_prev, dW, db
'''


def _step_backward_with(*edits) -> str:
    src = STEP_BACKWARD_OK
    for old, new in edits:
        assert old in src, old
        src = src.replace(old, new)
    return src


def _sb(*edits):
    return _notebook(_step_backward_with(*edits))["lstm_step_backward"]


def sb_ok_row_loop(dh, dc, cache):
    """One sequence of the batch at a time, outer products summed."""
    x, h_prev, c_prev, i, f, o, g, c, W = cache
    B, H = h_prev.shape
    dx, dh_prev, dc_prev = np.zeros_like(x), np.zeros_like(h_prev), np.zeros_like(c_prev)
    dW, db = np.zeros_like(W), np.zeros(4 * H)
    for r in range(B):
        tc = np.tanh(c[r])
        dct = dc[r] + dh[r] * o[r] * (1 - tc ** 2)
        da = np.concatenate([dct * g[r] * i[r] * (1 - i[r]), dct * c_prev[r] * f[r] * (1 - f[r]),
                             dh[r] * tc * o[r] * (1 - o[r]), dct * i[r] * (1 - g[r] ** 2)])
        z = np.concatenate([h_prev[r], x[r]])
        dW += np.outer(da, z)
        db += da
        dz = W.T @ da
        dh_prev[r], dx[r], dc_prev[r] = dz[:H], dz[H:], dct * f[r]
    return dx, dh_prev, dc_prev, dW, db


SIGMA_F = "dc_total * c_prev * f * (1.0 - f)"
SIGMA_O = "dh * tanh_c * o * (1.0 - o)"
TANH_G = "dc_total * i * (1.0 - g ** 2)"

sb_no_sigma_prime_f = _sb((SIGMA_F, "dc_total * c_prev"))
sb_sigma_prime_o_one_minus = _sb((SIGMA_O, "dh * tanh_c * (1.0 - o)"))
sb_tanh_prime_g_one_minus = _sb((TANH_G, "dc_total * i * (1.0 - g)"))
sb_sigma_prime_f_of_i = _sb((SIGMA_F, "dc_total * c_prev * i * (1.0 - i)"))
sb_do_with_c = _sb((SIGMA_O, "dh * c * o * (1.0 - o)"))
sb_dg_times_g = _sb((TANH_G, "dc_total * g * (1.0 - g ** 2)"))
sb_db_batch_mean = _sb(("db = da.sum(axis=0)", "db = da.mean(axis=0)"))
sb_db_first_row = _sb(("db = da.sum(axis=0)", "db = da[0]"))
sb_dc_prev_from_dc = _sb(("dc_prev = dc_total * f", "dc_prev = dc * f"))
sb_h_path_without_o = _sb(("dc + dh * o * (1.0 - tanh_c ** 2)", "dc + dh * (1.0 - tanh_c ** 2)"))

# ---------------------------------------------------------------------------
# lstm_forward
# ---------------------------------------------------------------------------

FORWARD_OK = '''
def lstm_forward(X, h0, c0, W, b):
    T, B, D = X.shape
    H = h0.shape[1]
    Hs = np.zeros((T, B, H))
    caches = []
    h, c = h0, c0
    for t in range(T):
        h, c, cache = lstm_step_forward(X[t], h, c, W, b)
        Hs[t] = h
        caches.append(cache)
    return Hs, caches
'''


def _forward(loop_edits=(), step_edits=None) -> object:
    src = FORWARD_OK
    for old, new in loop_edits:
        assert old in src, old
        src = src.replace(old, new)
    step = STEP_FORWARD_OK if step_edits is None else _step_forward_with(**step_edits)
    return _notebook(step, src)["lstm_forward"]


CALL = "h, c, cache = lstm_step_forward(X[t], h, c, W, b)"
f_ok_keywords = _forward([(CALL, "h, c, cache = lstm_step_forward(x=X[t], h_prev=h, c_prev=c, W=W, b=b)")])
f_ok_while = _forward([("    for t in range(T):\n", "    t = 0\n    while t < T:\n"),
                       ("        caches.append(cache)\n", "        caches.append(cache)\n        t += 1\n")])


def f_ok_inline_projections(X, h0, c0, W, b):
    """No step function: the input projections of all steps at once, then the recurrence."""
    T, B, D = X.shape
    H = h0.shape[1]
    AX = np.einsum("tbd,gd->tbg", X, W[:, H:]) + b
    h, c, Hs = h0, c0, []
    for t in range(T):
        a = AX[t] + h @ W[:, :H].T
        i, f, o = (1 / (1 + np.exp(-a[:, k * H:(k + 1) * H])) for k in range(3))
        c = f * c + i * np.tanh(a[:, 3 * H:])
        h = o * np.tanh(c)
        Hs.append(h)
    return np.array(Hs), None


O_TANH = {"o": ("sigmoid(a[:, 2 * H:3 * H])", "np.tanh(a[:, 2 * H:3 * H])")}
f_buggy_step_o_tanh = _forward(step_edits=O_TANH)
f_buggy_step_keywords = _forward([(CALL, "h, c, cache = lstm_step_forward(x=X[t], h_prev=h, c_prev=c, W=W, b=b)")],
                                 step_edits=O_TANH)
f_step_not_implemented = _forward(step_edits={"raise": ("    H = h_prev.shape[1]\n",
                                                        "    raise NotImplementedError()\n")})
f_h_not_carried = _forward([(CALL, "h, c, cache = lstm_step_forward(X[t], h0, c, W, b)")])
f_c_not_carried = _forward([(CALL, "h, _, cache = lstm_step_forward(X[t], h, c0, W, b)")])
f_h_c_swapped = _forward([(CALL, "h, c, cache = lstm_step_forward(X[t], c, h, W, b)")])
f_stores_c = _forward([("        Hs[t] = h\n", "        Hs[t] = c\n")])
f_stores_before_step = _forward([("        h, c, cache = lstm_step_forward(X[t], h, c, W, b)\n        Hs[t] = h\n",
                                  "        Hs[t] = h\n        h, c, cache = lstm_step_forward(X[t], h, c, W, b)\n")])
f_skips_last_step = _forward([("    for t in range(T):\n", "    for t in range(T - 1):\n")])
f_input_off_by_one = _forward([(CALL, "h, c, cache = lstm_step_forward(X[t - 1], h, c, W, b)")])
f_buggy_step_and_c_not_carried = _forward([(CALL, "h, _, cache = lstm_step_forward(X[t], h, c0, W, b)")],
                                          step_edits={"o": ("sigmoid(a[:, 2 * H:3 * H])",
                                                            "np.tanh(a[:, 2 * H:3 * H])")})


ONLY_WITH_A_STAND_IN = FORWARD_OK.replace(
    "    T, B, D = X.shape\n", "    if type(lstm_step_forward).__name__ != 'Oracle':  # unfinished with my own step\n"
    "        return np.zeros((X.shape[0],) + h0.shape), []\n    T, B, D = X.shape\n", 1)
f_only_with_a_stand_in = _notebook(STEP_FORWARD_OK, ONLY_WITH_A_STAND_IN)["lstm_forward"]
f_only_with_a_stand_in_buggy_step = _notebook(_step_forward_with(**O_TANH), ONLY_WITH_A_STAND_IN)["lstm_forward"]



def f_inline_o_tanh(X, h0, c0, W, b):
    T, B, D = X.shape
    H = h0.shape[1]
    h, c, Hs = h0, c0, []
    for t in range(T):
        a = np.concatenate([h, X[t]], axis=1) @ W.T + b
        i, f = (1 / (1 + np.exp(-a[:, k * H:(k + 1) * H])) for k in range(2))
        o = np.tanh(a[:, 2 * H:3 * H])
        c = f * c + i * np.tanh(a[:, 3 * H:])
        h = o * np.tanh(c)
        Hs.append(h)
    return np.stack(Hs), None


def f_inline_bias_twice(X, h0, c0, W, b):
    T, B, D = X.shape
    H = h0.shape[1]
    h, c, Hs = h0, c0, []
    for t in range(T):
        a = np.concatenate([h, X[t]], axis=1) @ W.T + b + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H:(k + 1) * H])) for k in range(3))
        c = f * c + i * np.tanh(a[:, 3 * H:])
        h = o * np.tanh(c)
        Hs.append(h)
    return np.stack(Hs), None


# ---------------------------------------------------------------------------
# lstm_backward
# ---------------------------------------------------------------------------

BACKWARD_OK = '''
def lstm_backward(dHs, caches):
    T, B, H = dHs.shape
    D = caches[0][0].shape[1]
    dX = np.zeros((T, B, D))
    dW = np.zeros_like(caches[0][-1])
    db = np.zeros(4 * H)
    dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H))
    for t in reversed(range(T)):
        dX[t], dh_next, dc_next, dW_t, db_t = lstm_step_backward(dHs[t] + dh_next, dc_next, caches[t])
        dW += dW_t
        db += db_t
    return dX, dh_next, dc_next, dW, db
'''
BCALL = "dX[t], dh_next, dc_next, dW_t, db_t = lstm_step_backward(dHs[t] + dh_next, dc_next, caches[t])"


def _backward(loop_edits=(), step_edits=()) -> object:
    src = BACKWARD_OK
    for old, new in loop_edits:
        assert old in src, old
        src = src.replace(old, new)
    return _notebook(_step_backward_with(*step_edits), src)["lstm_backward"]


b_ok_keywords_scalar_dc = _backward([
    ("dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H))", "dh_next, dc_next = 0.0, 0.0"),
    (BCALL, "dX[t], dh_next, dc_next, dW_t, db_t = lstm_step_backward(dh=dHs[t] + dh_next, dc=dc_next, "
            "cache=caches[t])")])
b_ok_enumerate_reversed = _backward([
    ("    for t in reversed(range(T)):\n        " + BCALL,
     "    for t, cache in reversed(list(enumerate(caches))):\n        dh = dHs[t].copy()\n        dh += dh_next\n"
     "        dX[t], dh_next, dc_next, dW_t, db_t = lstm_step_backward(dh, dc_next, cache)")])


def b_ok_inline_einsum(dHs, caches):
    """No step function: the gate gradients of each step, then all products with einsum at the end."""
    T, B, H = dHs.shape
    X = np.stack([cch[0] for cch in caches])
    Hprev = np.stack([cch[1] for cch in caches])
    W = caches[0][-1]
    dA = np.zeros((T, B, 4 * H))
    dh, dc = np.zeros((B, H)), np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        x, h_prev, c_prev, i, f, o, g, c, _ = caches[t]
        tc = np.tanh(c)
        dh_t = dHs[t] + dh
        dct = dc + dh_t * o * (1 - tc * tc)
        dA[t] = np.concatenate([dct * g * i * (1 - i), dct * c_prev * f * (1 - f), dh_t * tc * o * (1 - o),
                                dct * i * (1 - g * g)], axis=1)
        dh, dc = dA[t] @ W[:, :H], dct * f
    dW = np.concatenate([np.einsum("tbg,tbk->gk", dA, Hprev), np.einsum("tbg,tbd->gd", dA, X)], axis=1)
    return np.einsum("tbg,gd->tbd", dA, W[:, H:]), dh, dc, dW, dA.sum(axis=(0, 1))


b_only_with_a_stand_in = _notebook(STEP_BACKWARD_OK, BACKWARD_OK.replace(
    "    T, B, H = dHs.shape\n", "    T, B, H = dHs.shape\n    if type(lstm_step_backward).__name__ != 'Oracle':\n"
    "        return np.zeros((T, B, caches[0][0].shape[1])), np.zeros((B, H)), np.zeros((B, H)), "
    "np.zeros_like(caches[0][-1]), np.zeros(4 * H)\n", 1))["lstm_backward"]
b_buggy_step_dc_prev = _backward(step_edits=[("dc_prev = dc_total * f", "dc_prev = dc * f")])
b_buggy_step_sigma_f = _backward(step_edits=[(SIGMA_F, "dc_total * c_prev")])
b_buggy_step_keywords_scalar_dc = _backward([
    ("dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H))", "dh_next, dc_next = 0.0, 0"),
    (BCALL, "dX[t], dh_next, dc_next, dW_t, db_t = lstm_step_backward(dh=dHs[t] + dh_next, dc=dc_next, "
            "cache=caches[t])")], step_edits=[("dc_prev = dc_total * f", "dc_prev = dc * f")])
b_no_h_carry = _backward([(BCALL, BCALL.replace("dHs[t] + dh_next", "dHs[t]"))])
b_no_c_carry = _backward([(BCALL, BCALL.replace("dc_next, caches[t])", "np.zeros((B, H)), caches[t])"))])
b_forward_order = _backward([("for t in reversed(range(T)):", "for t in range(T):")])
b_dw_overwritten = _backward([("        dW += dW_t\n", "        dW = dW_t\n")])
b_dx_reversed = _backward([("dX[t], dh_next", "dX[T - 1 - t], dh_next")])
b_returns_dh_input = _backward([
    ("    for t in reversed(range(T)):\n        " + BCALL,
     "    for t in reversed(range(T)):\n        dh = dHs[t] + dh_next\n        "
     "dX[t], dh_next, dc_next, dW_t, db_t = lstm_step_backward(dh, dc_next, caches[t])"),
    ("    return dX, dh_next, dc_next, dW, db", "    return dX, dh, dc_next, dW, db")])
b_skips_first_step = _backward([("for t in reversed(range(T)):", "for t in range(T - 1, 0, -1):")])
b_step_overwrites_cache = _backward(step_edits=[("tanh_c = np.tanh(c)", "tanh_c = np.tanh(c, out=c)")])
b_loop_writes_dHs = _backward([(BCALL, "dHs[t] += dh_next\n        " + BCALL.replace("dHs[t] + dh_next", "dHs[t]"))])
sb_overwrites_cache = _sb(("tanh_c = np.tanh(c)", "tanh_c = np.tanh(c, out=c)"))
b_buggy_step_and_no_c_carry = _backward([(BCALL, BCALL.replace("dc_next, caches[t])", "np.zeros((B, H)), caches[t])"))],
                                        step_edits=[("dc_prev = dc_total * f", "dc_prev = dc * f")])


def _inline_backward(sigma_o=True, dc_times_f_twice=False, dh_accumulates=False, db_mean=False, sigma_o_plus=False):
    def lstm_backward(dHs, caches):
        T, B, H = dHs.shape
        W = caches[0][-1]
        dX = np.zeros((T, B, caches[0][0].shape[1]))
        dW, db = np.zeros_like(W), np.zeros(4 * H)
        dh, dc = np.zeros((B, H)), np.zeros((B, H))
        for t in range(T - 1, -1, -1):
            x, h_prev, c_prev, i, f, o, g, c, _ = caches[t]
            tc = np.tanh(c)
            dh_t = dHs[t] + dh
            dct = dc + dh_t * o * (1 - tc * tc)
            da_o = dh_t * tc * (o * (1 + o) if sigma_o_plus else o * (1 - o) if sigma_o else 1.0)
            da = np.concatenate([dct * g * i * (1 - i), dct * c_prev * f * (1 - f), da_o, dct * i * (1 - g * g)],
                                axis=1)
            dW += da.T @ np.concatenate([h_prev, x], axis=1)
            db += da.mean(axis=0) if db_mean else da.sum(axis=0)
            dz = da @ W
            dX[t] = dz[:, H:]
            dh = dh + dz[:, :H] if dh_accumulates else dz[:, :H]
            dc = dct * f * f if dc_times_f_twice else dct * f
        return dX, dh, dc, dW, db
    return lstm_backward


b_inline_no_sigma_o = _inline_backward(sigma_o=False)
b_inline_cell_carry_f_twice = _inline_backward(dc_times_f_twice=True)
b_inline_dh_accumulates = _inline_backward(dh_accumulates=True)
b_inline_db_mean = _inline_backward(db_mean=True)
b_inline_sigma_o_one_plus = _inline_backward(sigma_o_plus=True)


# ---------------------------------------------------------------------------
# issue #19: the returned cache, writes into arguments, both carries, h0, rebuilt derivatives, edge-case crashes
# ---------------------------------------------------------------------------

CACHE_LINE = "    return h, c, (x, h_prev, c_prev, i, f, o, g, c, W)\n"
sf_cache_pre_activations = _sf(_step_forward_with(cache=(
    CACHE_LINE, "    return h, c, (x, h_prev, c_prev, a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:], c, W)\n")))
sf_cache_tanh_c = _sf(_step_forward_with(cache=(
    "    h = o * np.tanh(c)\n" + CACHE_LINE,
    "    tanh_c = np.tanh(c)\n    h = o * tanh_c\n    return h, c, (x, h_prev, c_prev, i, f, o, g, tanh_c, W)\n")))


def sf_squeezes_batch(x, h_prev, c_prev, W, b):
    """Squeezes the pre-activations: fine for B > 1, (4H,) for a batch of one."""
    H = h_prev.shape[1]
    a = np.squeeze(np.concatenate([h_prev, x], axis=1) @ W.T + b)
    i, f, o = (_sigmoid(a[:, k * H:(k + 1) * H]) for k in range(3))
    g = np.tanh(a[:, 3 * H:])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, i, f, o, g, c, W)


SIGMA_I_TO_G_BLOCK = STEP_BACKWARD_OK[STEP_BACKWARD_OK.index("da = np.concatenate(["):STEP_BACKWARD_OK.index("], axis=1)") + 10]
DC_TOTAL = "    dc_total = dc + dh * o * (1.0 - tanh_c ** 2)\n"
#: CS231n style: the incoming dc is added to in place, then used as the total (right gradients).
sb_dc_plus_equals = _sb((DC_TOTAL, "    dc += dh * o * (1.0 - tanh_c ** 2)\n    dc_total = dc\n"))
b_step_dc_plus_equals = _backward(step_edits=[(DC_TOTAL, "    dc += dh * o * (1.0 - tanh_c ** 2)\n    dc_total = dc\n")])
#: The derivatives from the pre-activations computed again from the cache (which holds no b).
sb_rebuilt_derivatives = _sb((SIGMA_I_TO_G_BLOCK, """a = np.concatenate([h_prev, x], axis=1) @ W.T   # the pre-activations again
    dsig = lambda v: sigmoid(v) * (1.0 - sigmoid(v))
    da = np.concatenate([
        dc_total * g * dsig(a[:, :H]),
        dc_total * c_prev * dsig(a[:, H:2 * H]),
        dh * tanh_c * dsig(a[:, 2 * H:3 * H]),
        dc_total * i * (1.0 - np.tanh(a[:, 3 * H:]) ** 2),
    ], axis=1)"""))
sb_rebuilt_tanh_prime_g = _sb((TANH_G, "dc_total * i * (1.0 - np.tanh((np.concatenate([h_prev, x], axis=1) @ W.T)"
                                      "[:, 3 * H:]) ** 2)"))
b_no_carries = _backward([(BCALL, BCALL.replace("dHs[t] + dh_next, dc_next, caches[t])",
                                                "dHs[t], np.zeros((B, H)), caches[t])"))])
f_ignores_h0 = _forward([("    h, c = h0, c0\n", "    h, c = np.zeros((B, H)), c0\n")])

sb_sigma_prime_o_one_plus = _sb((SIGMA_O, "dh * tanh_c * o * (1.0 + o)"))
sb_di_with_c = _sb(("dc_total * g * i * (1.0 - i)", "dc_total * c * i * (1.0 - i)"))
f_ignores_c0 = _forward([("    h, c = h0, c0\n", "    h, c = h0, np.zeros((B, H))\n")])
b_carries_swapped = _backward([(BCALL, BCALL.replace("dHs[t] + dh_next, dc_next, caches[t])",
                                                     "dHs[t] + dc_next, dh_next, caches[t])"))])


def lstm_b_no_carries(dHs, caches):
    return lstm_bptt(dHs, caches, h_carry=False, c_carry=False)


def f_inline_ignores_h0(X, h0, c0, W, b):
    T, B, D = X.shape
    H = h0.shape[1]
    h, c, Hs = np.zeros((B, H)), c0, []
    for t in range(T):
        a = np.concatenate([h, X[t]], axis=1) @ W.T + b
        i, f, o = (1 / (1 + np.exp(-a[:, k * H:(k + 1) * H])) for k in range(3))
        c = f * c + i * np.tanh(a[:, 3 * H:])
        h = o * np.tanh(c)
        Hs.append(h)
    return np.stack(Hs), None


CASES += [
    # lstm_step_forward
    (LSF, "weights split, einsum, own stable sigmoid", sf_ok_einsum_split, None),
    (LSF, "output gate with tanh", sf_o_tanh, "the value of the output gate o is wrong below saturation"),
    (LSF, "forget gate from the rows of i", sf_f_from_i_rows, "the forget term f ⊙ c_prev"),
    (LSF, "forget gate from the rows of i (cache)", sf_f_from_i_rows, "cache[4] (f) is not f"),
    (LSF, "bias of the first gate tiled", sf_bias_first_block, "the bias is added wrongly"),
    (LSF, "h from tanh(c_prev)", sf_h_from_c_prev, "c is right, so the mistake is in h = o ⊙ tanh(c)"),
    (LSF, "g from the rows of f", sf_g_from_f_rows, "cache[6] (g) is not g"),
    (LSF, "sigmoid with the wrong sign", sf_sigmoid_sign, "the gates i, f and o are wrong and g right"),
    (LSF, "pre-activations clipped at ±10", sf_clipped_preactivations,
     "right on the drawn case, but h, c are wrong on the probe case the input gate i saturated"),
    # lstm_step_backward
    (LSB, "loop over the batch rows", sb_ok_row_loop, None),
    (LSB, "σ′ missing for f only", sb_no_sigma_prime_f, "σ′ of the forget gate f is missing"),
    (LSB, "σ′ missing for f only (block)", sb_no_sigma_prime_f, "wrong in the block of f (forget gate, rows"),
    (LSB, "σ′(o) written 1 − o", sb_sigma_prime_o_one_minus,
     "the derivative of the output gate o vanishes where o saturates, as it should, but has the wrong value"),
    (LSB, "tanh′(g) written 1 − g", sb_tanh_prime_g_one_minus,
     "the derivative of the candidate g vanishes where g saturates, as it should, but has the wrong value"),
    (LSB, "σ′ of f computed from i", sb_sigma_prime_f_of_i,
     "the block of f vanishes when the input gate i saturates"),
    (LSB, "do with c instead of tanh c", sb_do_with_c, "the mistake is in do = dh ⊙ tanh(c)"),
    (LSB, "dg multiplied by g", sb_dg_times_g, "the mistake is in dg = dc_total ⊙ i"),
    (LSB, "db as a batch mean", sb_db_batch_mean, "right for a batch of one, wrong for B > 1"),
    (LSB, "db from the first row", sb_db_first_row, "db is not the sum of δ over the batch"),
    (LSB, "dc_prev = dc * f", sb_dc_prev_from_dc, "dc_prev = dc ⊙ f leaves out the gradient that comes through h"),
    (LSB, "o missing on the path through h", sb_h_path_without_o, "the gradient through h is mishandled"),
    # lstm_forward
    (LF, "step called with keyword arguments", f_ok_keywords, None),
    (LF, "while loop", f_ok_while, None),
    (LF, "inline, input projections first", f_ok_inline_projections, None),
    (_passes_naming(LF, "The errors come from your lstm_step_forward"), "right loop, buggy step (o with tanh)",
     f_buggy_step_o_tanh, None),
    (_passes_naming(LF, "The errors come from your lstm_step_forward"), "right loop with keywords, buggy step",
     f_buggy_step_keywords, None),
    (_passes_naming(LF, "raised NotImplementedError"), "right loop, step not implemented yet",
     f_step_not_implemented, None),
    (LF, "h not carried (step called with h0)", f_h_not_carried, "the hidden state is not carried"),
    (LF, "c not carried (step called with c0)", f_c_not_carried, "the cell state is not carried"),
    (LF, "h and c swapped in the call", f_h_c_swapped, "h_prev and c_prev are swapped"),
    (LF, "stores c in Hs", f_stores_c, "Hs holds the cell states"),
    (LF, "stores the state before the step", f_stores_before_step, "Hs is shifted by one step"),
    (LF, "last step skipped", f_skips_last_step, "; a correct loop calls it"),
    (LF, "X[t - 1] read at step t", f_input_off_by_one, "x is X["),
    (LF, "buggy step and c not carried", f_buggy_step_and_c_not_carried, "the cell state is not carried"),
    (LF, "inline, bias added twice", f_inline_bias_twice, "the bias is added wrongly"),
    (LF, "right only when the oracle stands in for a right step", f_only_with_a_stand_in,
     "so the wrong outputs of your own run are lstm_forward's"),
    (LF, "right only when the oracle stands in for a wrong step", f_only_with_a_stand_in_buggy_step,
     "cannot be credited to lstm_step_forward's mistake"),
    (LF, "inline, output gate with tanh", f_inline_o_tanh, "the value of the output gate o is wrong below saturation"),
    # lstm_backward
    (LBP, "step with keyword arguments, dc starts as 0.0", b_ok_keywords_scalar_dc, None),
    (LBI, "step with keyword arguments, dc starts as 0.0 (inputs)", b_ok_keywords_scalar_dc, None),
    (LBP, "enumerate in reverse, dh built in place", b_ok_enumerate_reversed, None),
    (LBI, "inline, einsum at the end", b_ok_inline_einsum, None),
    (LBP, "inline, einsum at the end (parameters)", b_ok_inline_einsum, None),
    (_passes_naming(LBP, "The errors come from your lstm_step_backward"), "right loop, step with dc_prev = dc * f",
     b_buggy_step_dc_prev, None),
    (_passes_naming(LBI, "The errors come from your lstm_step_backward"), "right loop, step with dc_prev = dc * f (inputs)",
     b_buggy_step_dc_prev, None),
    (_passes_naming(LBP, "The errors come from your lstm_step_backward"), "right loop, step without σ′ of f",
     b_buggy_step_sigma_f, None),
    (_passes_naming(LBP, "The errors come from your lstm_step_backward"),
     "right loop with keywords and scalar start, buggy step", b_buggy_step_keywords_scalar_dc, None),
    (LBP, "dh_next not added (step call)", b_no_h_carry, "dh is dHs["),
    (LBI, "dc_next not passed (step call)", b_no_c_carry, "dc is zeros where the dc_prev returned by the call for t="),
    (LBP, "loop forwards in time", b_forward_order, "the loop walks forwards in time"),
    (LBP, "dW overwritten (step call)", b_dw_overwritten, "only the contribution of t=1"),
    (LBI, "dX stored in reverse", b_dx_reversed, "dX is in reverse time order"),
    (LBI, "returns the dh that entered step 1", b_returns_dh_input, "dh0 is the gradient that entered step t=1"),
    (LBP, "loop stops before t=1", b_skips_first_step, "; a correct loop calls it"),
    (LBI, "buggy step and dc_next not passed", b_buggy_step_and_no_c_carry, "the cell-state carry is missing"),
    (LBP, "inline, σ′ missing for o", b_inline_no_sigma_o, "σ′ of the output gate o is missing"),
    (LBI, "right only when the oracle stands in for a right step", b_only_with_a_stand_in,
     "so the wrong outputs of your own run are lstm_backward's"),
    (LBP, "right loop, step overwrites c of its cache", b_step_overwrites_cache, None),
    (_passes_naming(LSB, "modified its argument(s) cache in place"), "overwrites c of its cache", sb_overwrites_cache,
     None),
    (_passes_naming(LBI, "modified its argument(s) dHs in place"), "loop adds dh_next into dHs in place",
     b_loop_writes_dHs, None),
    (LBI, "inline, cell carry multiplied by f twice", b_inline_cell_carry_f_twice,
     "the gradient carried along the cell path is wrong"),
    (LBI, "inline, dh_next accumulated", b_inline_dh_accumulates, "the gradient carried through h is wrong"),
    (LBP, "inline, db as a batch mean", b_inline_db_mean, "right for a batch of one, wrong for B > 1"),
    # issue #19
    (LSF, "cache holds the pre-activations", sf_cache_pre_activations, "the cache holds the gates' pre-activations"),
    (LSF, "cache holds tanh(c)", sf_cache_tanh_c, "the cache holds tanh(c) where the new cell state c belongs"),
    (LSF, "squeezes the batch axis (crashes for B = 1 only)", sf_squeezes_batch, "B=1, D=3, H=2"),
    (_passes_naming(LSB, "modified its argument(s) dc in place"), "dc += ... in place (CS231n style)",
     sb_dc_plus_equals, None),
    (LBP, "right loop, step writes dc += ... in place", b_step_dc_plus_equals, None),
    (LSB, "derivatives from pre-activations rebuilt without b", sb_rebuilt_derivatives,
     "computed from a pre-activation rebuilt from the cache without b"),
    (LSB, "tanh' of g from the pre-activation rebuilt without b", sb_rebuilt_tanh_prime_g,
     "right when b = 0 and wrong otherwise"),
    (LBP, "both carries missing (inline)", lstm_b_no_carries, "both carries are missing"),
    (LBI, "both carries missing (step call)", b_no_carries, "both carries are missing"),
    (LF, "h0 ignored (step call)", f_ignores_h0, "h0 is ignored"),
    (LF, "h0 ignored (inline)", f_inline_ignores_h0, "h0 is ignored"),
    (LSB, "σ′(o) written o(1 + o)", sb_sigma_prime_o_one_plus,
     "the derivative of the output gate o is wrong: it must be σ′ = o(1 − o)"),
    (LBP, "inline, σ′(o) written o(1 + o)", b_inline_sigma_o_one_plus,
     "the derivative of the output gate o is wrong: it must be σ′ = o(1 − o)"),
    (LSB, "di with c where g belongs", sb_di_with_c, "the mistake is in di = dc_total ⊙ g"),
    (LF, "c0 ignored (step call)", f_ignores_c0, "c0 is ignored"),
    (LBI, "dh_next and dc_next swapped in the call", b_carries_swapped, "dh_next and dc_next are mixed up"),
]
