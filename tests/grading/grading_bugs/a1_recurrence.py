"""a1-recurrence: learner-style mistakes named by the catalogue or by the probes, and valid alternatives.

Collected in course order by ``grading_bugs`` (tests/grading/grading_bugs/__init__.py, which gives the
format ``(grader, label, fn, expected)``; ``expected=None`` for a valid implementation).
None of these calls the grader's own variants. The first part has the classic bugs of each graded
function; the second more mistakes and more valid alternatives.
"""
from __future__ import annotations

import itertools

import numpy as np

from . import by_id

RS, UN, PC = by_id("test_recurrence_step"), by_id("test_unroll"), by_id("test_rnn_parameter_count")


# ---------------------------------------------------------------------------
# recurrence
# ---------------------------------------------------------------------------

def rec_ok(s_prev, x, Wx, Ws, b):
    return np.tanh(b + s_prev @ Ws.T + x @ Wx.T)


def rec_ok_columns(s_prev, x, Wx, Ws, b):
    return np.tanh(b[:, None] + Ws @ s_prev.T + Wx @ x.T).T


def rec_no_tanh(s_prev, x, Wx, Ws, b):
    return b + s_prev @ Ws.T + x @ Wx.T


def rec_ws_not_t(s_prev, x, Wx, Ws, b):
    return np.tanh(b + s_prev @ Ws + x @ Wx.T)


def unroll_ok(f, X, s0):
    S, s = [], s0
    for x in X:
        s = f(s, x)
        S.append(s)
    return np.stack(S)


def unroll_ok_preallocated(f, X, s0):
    S = None
    s = s0
    for t in range(len(X)):
        s = f(s, X[t])
        if S is None:
            S = np.empty((len(X),) + np.shape(s))
        S[t] = s
    return S


def unroll_not_carried(f, X, s0):
    return np.stack([f(s0, x) for x in X])


def unroll_shifted(f, X, s0):
    S, s = [], s0
    for x in X:
        S.append(s)
        s = f(s, x)
    return np.stack(S)


def unroll_with_s0(f, X, s0):
    S, s = [s0], s0
    for x in X:
        s = f(s, x)
        S.append(s)
    return np.stack(S)


def unroll_reversed(f, X, s0):
    return unroll_ok(f, X[::-1], s0)


def unroll_calls_twice(f, X, s0):
    S, s = [], s0
    for x in X:
        f(s, x)  # a stray extra call
        s = f(s, x)
        S.append(s)
    return np.stack(S)


def unroll_swapped_args(f, X, s0):
    S, s = [], s0
    for x in X:
        s = f(x, s)
        S.append(s)
    return np.stack(S)


def count_ok(D, H, K):
    return H * (D + H + 1) + K * (H + 1)


def count_float(D, H, K):
    return float(count_ok(D, H, K))


def count_no_bias(D, H, K):
    return H * D + H * H + K * H


def count_no_output(D, H, K):
    return H * D + H * H + H


def count_ws_as_hd(D, H, K):
    return 2 * H * D + H + K * H + K


def count_string(D, H, K):
    return str(count_ok(D, H, K))


CASES = [
    (RS, "row form", rec_ok, None),
    (RS, "column form", rec_ok_columns, None),
    (RS, "missing tanh", rec_no_tanh, "tanh is missing"),
    (RS, "Ws instead of Ws.T", rec_ws_not_t, "uses Ws instead of Ws.T"),
    (UN, "list and stack", unroll_ok, None),
    (UN, "preallocated", unroll_ok_preallocated, None),
    (UN, "state not carried", unroll_not_carried, "state is not carried"),
    (UN, "shifted", unroll_shifted, "shifted by one step"),
    (UN, "includes s0", unroll_with_s0, "S includes s0"),
    (UN, "reversed", unroll_reversed, "read backwards"),
    (UN, "calls f twice per step", unroll_calls_twice, "exactly once per step"),
    (UN, "f(x, s) argument order", unroll_swapped_args, "state first, then input"),
    (PC, "factored", count_ok, None),
    (PC, "integral float", count_float, None),
    (PC, "no biases", count_no_bias, "biases are missing"),
    (PC, "no output layer", count_no_output, "output layer is missing"),
    (PC, "Ws counted as (H, D)", count_ws_as_hd, "it is (H, H)"),
    (PC, "returns a string", count_string, "must return an integer"),
]


# ===========================================================================
# More mistakes and valid alternatives, graded function by graded function
# ===========================================================================

# ---------------------------------------------------------------------------
# recurrence_step
# ---------------------------------------------------------------------------

def rec_ok_einsum(s_prev, x, Wx, Ws, b):
    return np.tanh(b + np.einsum("hk,bk->bh", Ws, s_prev) + np.einsum("hd,bd->bh", Wx, x))


def rec_ok_row_loop(s_prev, x, Wx, Ws, b):
    return np.stack([np.tanh(b + Ws @ s_prev[i] + Wx @ x[i]) for i in range(len(x))])


def rec_ok_stacked(s_prev, x, Wx, Ws, b):
    # one product with the concatenated weights [Ws Wx] and inputs [s_prev; x]
    return np.tanh(np.concatenate([s_prev, x], axis=1) @ np.concatenate([Ws, Wx], axis=1).T + b)


def rec_bias_after_tanh(s_prev, x, Wx, Ws, b):
    return np.tanh(s_prev @ Ws.T + x @ Wx.T) + b


def rec_bias_subtracted(s_prev, x, Wx, Ws, b):
    return np.tanh(s_prev @ Ws.T + x @ Wx.T - b)


def rec_input_outside_tanh(s_prev, x, Wx, Ws, b):
    return np.tanh(b + s_prev @ Ws.T) + x @ Wx.T


def rec_reshape_not_transpose(s_prev, x, Wx, Ws, b):
    # column algebra, then .reshape where a .T belongs: right for B = 1 only
    return np.tanh(b + (Ws @ s_prev.T).reshape(s_prev.shape) + (Wx @ x.T).reshape(s_prev.shape))


def rec_plus_previous_state(s_prev, x, Wx, Ws, b):
    return s_prev + np.tanh(b + s_prev @ Ws.T + x @ Wx.T)


def rec_two_tanh(s_prev, x, Wx, Ws, b):
    return np.tanh(s_prev @ Ws.T) + np.tanh(b + x @ Wx.T)


def rec_three_tanh(s_prev, x, Wx, Ws, b):
    return np.tanh(b) + np.tanh(s_prev @ Ws.T) + np.tanh(x @ Wx.T)


def rec_ws_matmul_rows(s_prev, x, Wx, Ws, b):
    return np.tanh(b + Ws @ s_prev + x @ Wx.T)  # (H, H) @ (B, H): a shape error since B != H


# ---------------------------------------------------------------------------
# unroll
# ---------------------------------------------------------------------------

def unroll_ok_accumulate(f, X, s0):
    return np.stack(list(itertools.accumulate(X, f, initial=s0))[1:])


def unroll_ok_while(f, X, s0):
    t, s, out = 0, s0, []
    while t < X.shape[0]:
        s = f(s, X[t])
        out.append(s)
        t += 1
    return np.array(out)


def unroll_zero_start(f, X, s0):
    s, out = np.zeros_like(s0), []
    for x in X:
        s = f(s, x)
        out.append(s)
    return np.stack(out)


def unroll_same_buffer(f, X, s0):
    s, out = s0.copy(), []
    for x in X:
        s[:] = f(s, x)
        out.append(s)
    return np.stack(out)


def unroll_insert_front(f, X, s0):
    s, out = s0, []
    for x in X:
        s = f(s, x)
        out.insert(0, s)
    return np.stack(out)


def unroll_stack_axis1(f, X, s0):
    s, out = s0, []
    for x in X:
        s = f(s, x)
        out.append(s)
    return np.stack(out, axis=1)


def unroll_residual(f, X, s0):
    s, out = s0, []
    for x in X:
        s = s + f(s, x)  # like the running-sum example: adds the previous state
        out.append(s)
    return np.stack(out)


def unroll_per_sequence(f, X, s0):
    T, B = X.shape[:2]
    S = np.zeros((T,) + s0.shape)
    for i in range(B):
        s = s0[i:i + 1]
        for t in range(T):
            s = f(s, X[t, i:i + 1])
            S[t, i] = s[0]
    return S


def unroll_from_one(f, X, s0):
    s, out = s0, [s0]
    for t in range(1, len(X)):
        s = f(s, X[t])
        out.append(s)
    return np.stack(out)


# ---------------------------------------------------------------------------
# rnn_parameter_count
# ---------------------------------------------------------------------------

def count_ok_shapes(D, H, K):
    shapes = [(H, D), (H, H), (H,), (K, H), (K,)]
    return int(sum(np.prod(s) for s in shapes))


def count_ok_numpy_int(D, H, K):
    return np.int64(H) * (D + H + 1) + np.int64(K) * (H + 1)


def count_no_wx(D, H, K):
    return H * H + H + K * H + K


def count_no_ws(D, H, K):
    return H * D + H + K * H + K


def count_no_state_bias(D, H, K):
    return (D + H) * H + K * H + K


def count_no_output_bias(D, H, K):
    return H * (D + H + 1) + K * H


def count_bias_twice(D, H, K):
    return H * D + H * H + 2 * H + K * H + K


def count_wy_square(D, H, K):
    return H * D + H * H + H + K * K + K


def count_input_bias(D, H, K):
    return H * D + H * H + H + K * H + K + D  # a bias for the input too


def count_wy_and_c_twice(D, H, K):
    return H * D + H * H + H + 2 * (K * H + K)


CASES += [
    (RS, "einsum", rec_ok_einsum, None),
    (RS, "loop over batch rows", rec_ok_row_loop, None),
    (RS, "stacked weights [Ws Wx]", rec_ok_stacked, None),
    (RS, "bias added after tanh", rec_bias_after_tanh, "the bias is wrong: with b = 0 your s is right"),
    (RS, "bias subtracted", rec_bias_subtracted, "the bias is wrong: with b = 0 your s is right"),
    (RS, "input term outside tanh", rec_input_outside_tanh, "the input term Wx x⁽ᵗ⁾ is wrong"),
    (RS, "reshape instead of transpose", rec_reshape_not_transpose, "the rows of the batch are mixed"),
    (RS, "previous state added", rec_plus_previous_state, "s_prev enters the step somewhere other than"),
    (RS, "recurrent term in its own tanh", rec_two_tanh, "the recurrent term Ws s⁽ᵗ⁻¹⁾ is wrong"),
    (RS, "one tanh per term", rec_three_tanh, "one tanh of the sum of all three"),
    (RS, "Ws @ s_prev for a batch", rec_ws_matmul_rows, "written v @ W.T"),
    (UN, "itertools.accumulate", unroll_ok_accumulate, None),
    (UN, "while loop, np.array", unroll_ok_while, None),
    (UN, "starts from zeros", unroll_zero_start, "s0 is not the starting state"),
    (UN, "one buffer overwritten in place", unroll_same_buffer, "every S[t] holds the last state"),
    (UN, "states inserted at the front", unroll_insert_front, "stored in reverse order"),
    (UN, "stacked along axis 1", unroll_stack_axis1, "stacked along the wrong axis"),
    (UN, "adds the previous state", unroll_residual, "with nothing added, scaled or transformed"),
    (UN, "one sequence at a time", unroll_per_sequence, "called once per sequence of the batch"),
    (UN, "loop from t=1", unroll_from_one, "One input is skipped"),
    (PC, "sum of the shapes", count_ok_shapes, None),
    (PC, "numpy integer", count_ok_numpy_int, None),
    (PC, "no Wx", count_no_wx, "the input weights Wx (H, D) are missing"),
    # with H = 1 (a fixed size) "no Ws" and "no b" give the same count: the message must still be right
    (PC, "no Ws", count_no_ws, "the state-to-state weights Ws (H, H) are missing"),
    (PC, "no state bias", count_no_state_bias, "the state bias b (H,) is missing"),
    (PC, "no output bias", count_no_output_bias, "the output bias c (K,) is missing"),
    (PC, "Wy counted as (K, K)", count_wy_square, "it is (K, H), not (K, K)"),
    (PC, "b counted twice", count_bias_twice, "b (H,) is counted twice"),
    (PC, "an input bias too", count_input_bias, "it also has +D, which is not the size of any parameter"),
    (PC, "output layer counted twice", count_wy_and_c_twice, "c (K,) is counted twice; Wy (K, H) is counted twice"),
]
