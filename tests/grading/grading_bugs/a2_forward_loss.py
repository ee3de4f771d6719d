"""a2-forward-loss: learner-style mistakes named by the catalogue or by the probes, and valid alternatives.

Collected in course order by ``grading_bugs`` (tests/grading/grading_bugs/__init__.py, which gives the
format ``(grader, label, fn, expected)``; ``expected=None`` for a valid implementation).
None of these calls the grader's own variants. The first part has the classic bugs of each graded
function; the second more mistakes and more valid alternatives.
"""
from __future__ import annotations

import numpy as np

from . import by_id

SM, NLL = by_id("test_softmax"), by_id("test_sequence_nll")
HH, OH, SO = (by_id("test_hidden_to_hidden_forward"), by_id("test_output_to_hidden_forward"),
              by_id("test_sequence_to_one_forward"))


# ---------------------------------------------------------------------------
# softmax, NLL, the three families
# ---------------------------------------------------------------------------

def sm_ok(O):
    E = np.exp(O - O.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def sm_ok_logsumexp(O):
    m = np.max(O, axis=-1, keepdims=True)
    return np.exp(O - m - np.log(np.sum(np.exp(O - m), axis=-1, keepdims=True)))


def sm_naive(O):
    E = np.exp(O)
    return E / E.sum(axis=-1, keepdims=True)


def sm_global_shift(O):
    E = np.exp(O - O.max())
    return E / E.sum(axis=-1, keepdims=True)


def sm_wrong_axis(O):
    E = np.exp(O)
    return E / E.sum(axis=0, keepdims=True)


def nll_ok(O, Y):
    s = O - O.max(-1, keepdims=True)
    lp = s - np.log(np.exp(s).sum(-1, keepdims=True))
    return -float(np.take_along_axis(lp, Y[..., None], -1).sum())


def nll_ok_loops(O, Y):
    total = 0.0
    T, B, _ = O.shape
    for t in range(T):
        for i in range(B):
            o = O[t, i]
            m = o.max()
            total -= o[Y[t, i]] - m - np.log(np.sum(np.exp(o - m)))
    return total


def nll_naive(O, Y):
    P = np.exp(O) / np.exp(O).sum(-1, keepdims=True)
    return -np.log(np.take_along_axis(P, Y[..., None], -1)).sum()


def nll_mean(O, Y):
    return nll_ok(O, Y) / Y.size


def nll_positive_sign(O, Y):
    return -nll_ok(O, Y)


def _hh_states(X, h0, Wx, Ws, b):
    h, out = h0, []
    for x in X:
        h = np.tanh(b + h @ Ws.T + x @ Wx.T)
        out.append(h)
    return np.stack(out)


def hh_ok(X, h0, Wx, Ws, b, Wy, c):
    return _hh_states(X, h0, Wx, Ws, b) @ Wy.T + c


def hh_late(X, h0, Wx, Ws, b, Wy, c):
    Hs = _hh_states(X, h0, Wx, Ws, b)
    return np.concatenate([h0[None], Hs[:-1]]) @ Wy.T + c


def hh_softmax(X, h0, Wx, Ws, b, Wy, c):
    return sm_ok(hh_ok(X, h0, Wx, Ws, b, Wy, c))


def oh_ok(X, Yprev, Wx, Wo, b, Wy, c):
    return np.tanh(b + Yprev @ Wo.T + X @ Wx.T) @ Wy.T + c


def oh_ok_loop(X, Yprev, Wx, Wo, b, Wy, c):
    return np.stack([c + np.tanh(b + y @ Wo.T + x @ Wx.T) @ Wy.T for x, y in zip(X, Yprev)])


def oh_double_shift(X, Yprev, Wx, Wo, b, Wy, c):
    shifted = np.concatenate([np.zeros_like(Yprev[:1]), Yprev[:-1]])
    return oh_ok(X, shifted, Wx, Wo, b, Wy, c)


def oh_no_feedback(X, Yprev, Wx, Wo, b, Wy, c):
    return np.tanh(b + X @ Wx.T) @ Wy.T + c


def s2o_ok(X, h0, Wx, Ws, b, Wy, c):
    return _hh_states(X, h0, Wx, Ws, b)[-1] @ Wy.T + c


def s2o_first_state(X, h0, Wx, Ws, b, Wy, c):
    return _hh_states(X, h0, Wx, Ws, b)[0] @ Wy.T + c


def s2o_every_step(X, h0, Wx, Ws, b, Wy, c):
    return hh_ok(X, h0, Wx, Ws, b, Wy, c)


def s2o_mean_state(X, h0, Wx, Ws, b, Wy, c):
    return _hh_states(X, h0, Wx, Ws, b).mean(0) @ Wy.T + c


CASES = [
    (SM, "max shift", sm_ok, None),
    (SM, "log-sum-exp", sm_ok_logsumexp, None),
    (SM, "no max shift", sm_naive, "subtract the maximum of each row"),
    (SM, "global max shift", sm_global_shift, "subtract the maximum of each row"),
    (SM, "wrong axis", sm_wrong_axis, "wrong axis"),
    (NLL, "vectorised", nll_ok, None),
    (NLL, "loops", nll_ok_loops, None),
    (NLL, "log of the softmax", nll_naive, "log-sum-exp"),
    (NLL, "mean instead of sum", nll_mean, "the loss is averaged"),
    (NLL, "wrong sign", nll_positive_sign, "sign is wrong"),
    (HH, "loop", hh_ok, None),
    (HH, "outputs one step late", hh_late, "one step late"),
    (HH, "returns probabilities", hh_softmax, "not their softmax"),
    (OH, "vectorised over time", oh_ok, None),
    (OH, "loop over time", oh_ok_loop, None),
    (OH, "shifted twice", oh_double_shift, "shifted a second time"),
    (OH, "no feedback", oh_no_feedback, "feedback is missing"),
    (SO, "loop", s2o_ok, None),
    (SO, "first state", s2o_first_state, "read from the first state"),
    (SO, "every step", s2o_every_step, "one output per sequence"),
    (SO, "averaged states", s2o_mean_state, "states are averaged"),
]


# ---------------------------------------------------------------------------
# more valid alternatives
# ---------------------------------------------------------------------------

def hh_ok_hoisted(X, h0, Wx, Ws, b, Wy, c):
    A = np.einsum("tbd,hd->tbh", X, Wx) + b
    Hs = np.empty_like(A)
    h = h0
    for t in range(len(X)):
        h = Hs[t] = np.tanh(A[t] + h @ Ws.T)
    return np.einsum("tbh,kh->tbk", Hs, Wy) + c


def s2o_ok_from_family_a(X, h0, Wx, Ws, b, Wy, c):
    return hh_ok_hoisted(X, h0, Wx, Ws, b, Wy, c)[-1]


CASES += [
    (HH, "hoisted input projection, einsum", hh_ok_hoisted, None),
    (SO, "last output of family (a)", s2o_ok_from_family_a, None),
]


# ===========================================================================
# More mistakes and valid alternatives, graded function by graded function
# ===========================================================================

# ---------------------------------------------------------------------------
# softmax
# ---------------------------------------------------------------------------

def sm_ok_rows(O):
    flat = O.reshape(-1, O.shape[-1])
    out = np.empty_like(flat)
    for i, row in enumerate(flat):
        e = np.exp(row - row.max())
        out[i] = e / e.sum()
    return out.reshape(O.shape)


def sm_ok_index_none(O):
    E = np.exp(O - np.max(O, axis=-1)[..., None])
    return E / np.sum(E, axis=-1)[..., None]


def sm_sum_no_keepdims(O):
    E = np.exp(O - O.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1)  # (T, B, K) / (T, B): a broadcasting error


def sm_axis_two(O):
    E = np.exp(O - O.max(axis=2, keepdims=True))
    return E / E.sum(axis=2, keepdims=True)


def sm_axis_one(O):
    E = np.exp(O - O.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def sm_whole_array(O):
    E = np.exp(O - O.max())
    return E / E.sum()


def sm_max_wrong_axis(O):
    E = np.exp(O - O.max(axis=0, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def sm_no_shift(O):
    return np.exp(O) / np.exp(O).sum(axis=-1, keepdims=True)


def sm_global_max(O):
    E = np.exp(O - np.max(O))
    return E / E.sum(axis=-1, keepdims=True)


def sm_max_normalised(O):
    E = np.exp(O - O.max(axis=-1, keepdims=True))
    return E / E.max(axis=-1, keepdims=True)  # divides by the largest exponential (1), not by the sum


# ---------------------------------------------------------------------------
# sequence_nll
# ---------------------------------------------------------------------------

def _log_softmax(O):
    s = O - O.max(-1, keepdims=True)
    return s - np.log(np.exp(s).sum(-1, keepdims=True))


def nll_ok_onehot(O, Y):
    return float(-(np.eye(O.shape[-1])[Y] * _log_softmax(O)).sum())


def nll_ok_fancy(O, Y):
    T, B = Y.shape
    return -_log_softmax(O)[np.arange(T)[:, None], np.arange(B)[None, :], Y].sum()


def nll_ok_flat(O, Y):
    lp = _log_softmax(O).reshape(-1, O.shape[-1])
    return float(-lp[np.arange(Y.size), Y.reshape(-1)].sum())


def nll_last_step_only(O, Y):
    B = Y.shape[1]
    return float(-_log_softmax(O[-1])[np.arange(B), Y[-1]].sum())


def nll_first_sequence(O, Y):
    T = Y.shape[0]
    return float(-_log_softmax(O[:, 0])[np.arange(T), Y[:, 0]].sum())


def nll_wrong_pairing(O, Y):
    lp = _log_softmax(O).reshape(-1, O.shape[-1])
    return float(-lp[np.arange(Y.size), Y.T.reshape(-1)].sum())  # Y flattened batch-major, O time-major


def nll_target_off_by_one(O, Y):
    return float(-np.take_along_axis(_log_softmax(O), (Y[..., None] + 1) % O.shape[-1], -1).sum())


def nll_every_class(O, Y):
    return float(-_log_softmax(O)[:, :, Y].sum())  # every target for every (t, b)


def nll_per_step(O, Y):
    return -np.take_along_axis(_log_softmax(O), Y[..., None], -1)[..., 0]  # (T, B), not one number


def nll_time_average(O, Y):
    return float(-np.take_along_axis(_log_softmax(O), Y[..., None], -1).sum() / O.shape[0])


def nll_log2(O, Y):
    return float(-np.take_along_axis(_log_softmax(O), Y[..., None], -1).sum() / np.log(2))


def nll_max_no_keepdims(O, Y):
    s = O - O.max(-1)
    return float(-np.take_along_axis(s - np.log(np.exp(s).sum(-1, keepdims=True)), Y[..., None], -1).sum())


# ---------------------------------------------------------------------------
# the three families
# ---------------------------------------------------------------------------

def _states(X, h0, Wx, Ws, b):
    h, out = h0, []
    for x in X:
        h = np.tanh(b + h @ Ws.T + x @ Wx.T)
        out.append(h)
    return np.stack(out)


def hh_ok_einsum(X, h0, Wx, Ws, b, Wy, c):
    A = np.einsum("tbd,hd->tbh", X, Wx) + b  # input projections of all steps at once
    h, Hs = h0, np.empty(A.shape)
    for t in range(len(X)):
        h = Hs[t] = np.tanh(A[t] + h @ Ws.T)
    return np.einsum("tbh,kh->tbk", Hs, Wy) + c


def hh_ok_columns(X, h0, Wx, Ws, b, Wy, c):
    h, out = h0.T, []
    for x in X:
        h = np.tanh(b[:, None] + Ws @ h + Wx @ x.T)
        out.append((c[:, None] + Wy @ h).T)
    return np.array(out)


def hh_zero_start(X, h0, Wx, Ws, b, Wy, c):
    return _states(X, np.zeros_like(h0), Wx, Ws, b) @ Wy.T + c


def hh_first_input_only(X, h0, Wx, Ws, b, Wy, c):
    h, out = h0, []
    for _ in X:
        h = np.tanh(b + h @ Ws.T + X[0] @ Wx.T)
        out.append(c + h @ Wy.T)
    return np.stack(out)


def hh_carries_preactivation(X, h0, Wx, Ws, b, Wy, c):
    a, out = h0, []
    for x in X:
        a = b + a @ Ws.T + x @ Wx.T
        out.append(c + np.tanh(a) @ Wy.T)
    return np.stack(out)


def hh_bias_after_tanh(X, h0, Wx, Ws, b, Wy, c):
    h, out = h0, []
    for x in X:
        h = np.tanh(h @ Ws.T + x @ Wx.T) + b
        out.append(c + h @ Wy.T)
    return np.stack(out)


def hh_reshape(X, h0, Wx, Ws, b, Wy, c):
    B, H = h0.shape
    h, out = h0, []
    for x in X:
        h = np.tanh(b + (Ws @ h.T).reshape(B, H) + x @ Wx.T)
        out.append(c + h @ Wy.T)
    return np.stack(out)


def hh_output_pre_activation(X, h0, Wx, Ws, b, Wy, c):
    h, out = h0, []
    for x in X:
        a = b + h @ Ws.T + x @ Wx.T
        h = np.tanh(a)
        out.append(c + a @ Wy.T)
    return np.stack(out)


def hh_c_twice(X, h0, Wx, Ws, b, Wy, c):
    return _states(X, h0, Wx, Ws, b) @ Wy.T + 2 * c


def oh_ok_einsum(X, Yprev, Wx, Wo, b, Wy, c):
    Hs = np.tanh(np.einsum("tbd,hd->tbh", X, Wx) + np.einsum("tbk,hk->tbh", Yprev, Wo) + b)
    return np.einsum("tbh,kh->tbk", Hs, Wy) + c


def oh_ok_flat(X, Yprev, Wx, Wo, b, Wy, c):
    T, B, _ = X.shape
    Hs = np.tanh(X.reshape(T * B, -1) @ Wx.T + Yprev.reshape(T * B, -1) @ Wo.T + b)
    return (Hs @ Wy.T + c).reshape(T, B, -1)


def oh_index_minus_one(X, Yprev, Wx, Wo, b, Wy, c):
    out = []
    for t in range(len(X)):
        y = Yprev[t - 1]  # shifts again; at t = 0 it reads Yprev[-1]
        out.append(c + np.tanh(b + y @ Wo.T + X[t] @ Wx.T) @ Wy.T)
    return np.stack(out)


def oh_free_running(X, Yprev, Wx, Wo, b, Wy, c):
    y, out = np.zeros_like(Yprev[0]), []
    for x in X:
        o = c + np.tanh(b + y @ Wo.T + x @ Wx.T) @ Wy.T
        out.append(o)
        y = np.eye(o.shape[-1])[o.argmax(-1)]  # feeds its own prediction back, not Yprev
    return np.stack(out)


def oh_bias_after_tanh(X, Yprev, Wx, Wo, b, Wy, c):
    return (np.tanh(Yprev @ Wo.T + X @ Wx.T) + b) @ Wy.T + c


def oh_reversed_inputs(X, Yprev, Wx, Wo, b, Wy, c):
    return np.tanh(b + Yprev @ Wo.T + X[::-1] @ Wx.T) @ Wy.T + c


def oh_tanh_logits(X, Yprev, Wx, Wo, b, Wy, c):
    return np.tanh(c + np.tanh(b + Yprev @ Wo.T + X @ Wx.T) @ Wy.T)


def oh_c_missing(X, Yprev, Wx, Wo, b, Wy, c):
    return np.tanh(b + Yprev @ Wo.T + X @ Wx.T) @ Wy.T


def s2o_ok_index(X, h0, Wx, Ws, b, Wy, c):
    h = h0
    for t in range(X.shape[0]):
        h = np.tanh(b + h @ Ws.T + X[t] @ Wx.T)
    return h @ Wy.T + c


def s2o_ok_reduce(X, h0, Wx, Ws, b, Wy, c):
    import functools
    h = functools.reduce(lambda h, x: np.tanh(b + h @ Ws.T + x @ Wx.T), X, h0)
    return np.einsum("bh,kh->bk", h, Wy) + c


def s2o_skips_last(X, h0, Wx, Ws, b, Wy, c):
    h = h0
    for x in X[:-1]:
        h = np.tanh(b + h @ Ws.T + x @ Wx.T)
    return c + h @ Wy.T


def s2o_zero_start(X, h0, Wx, Ws, b, Wy, c):
    return _states(X, np.zeros_like(h0), Wx, Ws, b)[-1] @ Wy.T + c


def s2o_reversed(X, h0, Wx, Ws, b, Wy, c):
    return _states(X[::-1], h0, Wx, Ws, b)[-1] @ Wy.T + c


def s2o_bias_after_tanh(X, h0, Wx, Ws, b, Wy, c):
    h = h0
    for x in X:
        h = np.tanh(h @ Ws.T + x @ Wx.T) + b
    return c + h @ Wy.T


def s2o_not_carried(X, h0, Wx, Ws, b, Wy, c):
    return np.tanh(b + h0 @ Ws.T + X[-1] @ Wx.T) @ Wy.T + c  # only the last input, from h0


def s2o_keeps_time_axis(X, h0, Wx, Ws, b, Wy, c):
    return _states(X, h0, Wx, Ws, b)[-1:] @ Wy.T + c


def s2o_h0_added(X, h0, Wx, Ws, b, Wy, c):
    return (_states(X, h0, Wx, Ws, b)[-1] + h0) @ Wy.T + c


CASES += [
    (SM, "loop over rows", sm_ok_rows, None),
    (SM, "max and sum with [..., None]", sm_ok_index_none, None),
    (SM, "sum without keepdims", sm_sum_no_keepdims, "keepdims=True"),
    (SM, "axis=2 hard-coded", sm_axis_two, "the code assumes three dimensions"),
    (SM, "axis=1", sm_axis_one, "normalised along the wrong axis"),
    (SM, "normalised over the whole array", sm_whole_array, "normalised over the whole array"),
    (SM, "max along axis 0", sm_max_wrong_axis, "the maximum is taken along the wrong axis"),
    (SM, "no max shift (overflow rows)", sm_no_shift, "no maximum is subtracted at all"),
    (SM, "global max shift (underflow rows)", sm_global_max, "one maximum of the whole array is subtracted"),
    (SM, "divided by the largest exponential", sm_max_normalised, "the rows of P do not sum to 1"),
    (NLL, "one-hot product", nll_ok_onehot, None),
    (NLL, "fancy indexing", nll_ok_fancy, None),
    (NLL, "flattened (T·B, K)", nll_ok_flat, None),
    (NLL, "last step only", nll_last_step_only, "right for a single step (T = 1) but not for a sequence"),
    (NLL, "first sequence only", nll_first_sequence, "right for one sequence (B = 1) but not for a batch"),
    (NLL, "time and batch paired wrongly", nll_wrong_pairing, "O[t, b] must be paired with Y[t, b]"),
    (NLL, "target off by one", nll_target_off_by_one, "the log-probability taken is not the target's"),
    (NLL, "every target at every step", nll_every_class, "takes every target at every (t, b)"),
    (NLL, "returns the (T, B) losses", nll_per_step, "L must be one number"),
    (NLL, "averaged over time", nll_time_average, "the loss is averaged over time"),
    (NLL, "log base 2", nll_log2, "the logarithm is not the natural one"),
    (NLL, "max without keepdims", nll_max_no_keepdims, "keepdims=True"),
    (HH, "einsum, projections precomputed", hh_ok_einsum, None),
    (HH, "column vectors", hh_ok_columns, None),
    (HH, "starts from zeros", hh_zero_start, "h0 is not used as h⁽⁰⁾"),
    (HH, "reads X[0] at every step", hh_first_input_only, "step t must use X[t]"),
    (HH, "carries the pre-activation", hh_carries_preactivation, "not its pre-activation"),
    (HH, "bias after tanh", hh_bias_after_tanh, "the state bias b is wrong: with b = 0"),
    (HH, "reshape instead of transpose", hh_reshape, "the rows of the batch are mixed"),
    (HH, "output from the pre-activation", hh_output_pre_activation, "computed from the pre-activation"),
    (HH, "c added twice", hh_c_twice, "the output bias c is wrong: with c = 0"),
    (OH, "einsum", oh_ok_einsum, None),
    (OH, "flattened (T·B, D)", oh_ok_flat, None),
    (OH, "Yprev[t - 1] in a loop", oh_index_minus_one, "the feedback term Wo y⁽ᵗ⁻¹⁾ is wrong"),
    (OH, "feeds its own predictions", oh_free_running, "from t = 2 on the vector fed back is not Yprev[t]"),
    (OH, "bias after tanh", oh_bias_after_tanh, "the state bias b is wrong: with b = 0"),
    (OH, "inputs reversed", oh_reversed_inputs, "step t must use X[t]"),
    (OH, "tanh on the logits", oh_tanh_logits, "the logits go through tanh"),
    (OH, "output bias missing", oh_c_missing, "the output bias c is wrong: with c = 0"),
    (SO, "index loop", s2o_ok_index, None),
    (SO, "functools.reduce", s2o_ok_reduce, None),
    (SO, "last input skipped", s2o_skips_last, "the last input X[T-1] is not read"),
    (SO, "starts from zeros", s2o_zero_start, "h0 is not used as h⁽⁰⁾"),
    (SO, "reads the sequence backwards", s2o_reversed, "step t must use X[t]"),
    (SO, "bias after tanh", s2o_bias_after_tanh, "the state bias b is wrong: with b = 0"),
    (SO, "only the last input, from h0", s2o_not_carried, "the state is not carried"),
    (SO, "keeps the time axis", s2o_keeps_time_axis, "O[-1], not O[-1:]"),
    (SO, "h0 added to the last state", s2o_h0_added, "h0 is not used as h⁽⁰⁾"),
]


def hh_ws_matmul_rows(X, h0, Wx, Ws, b, Wy, c):
    h, out = h0, []
    for x in X:
        h = np.tanh(b + Ws @ h + x @ Wx.T)  # (H, H) @ (B, H): a shape error since B != H
        out.append(c + h @ Wy.T)
    return np.stack(out)


CASES += [(HH, "Ws @ h for a batch", hh_ws_matmul_rows, "written v @ W.T")]


# ---------------------------------------------------------------------------
# issue #19: diagnoses the port added
# ---------------------------------------------------------------------------

def nll_log_of_sum(O, Y):
    P = np.exp(_log_softmax(O))
    return -np.log(np.take_along_axis(P, Y[..., None], -1).sum())  # the log of the summed probabilities


def nll_log_of_sum_per_step(O, Y):
    P = np.exp(_log_softmax(O))
    picked = np.take_along_axis(P, Y[..., None], -1)[..., 0]  # (T, B)
    return -sum(np.log(picked[t].sum()) for t in range(len(picked)))  # log of the batch's sum at each step


def nll_squeezed(O, Y):
    lp = _log_softmax(O)
    picked = np.take_along_axis(lp, Y[..., None], -1).squeeze()  # drops every axis of size 1, not only the last
    T, B = picked.shape
    return -float(sum(picked[t, b] for t in range(T) for b in range(B)))


def sm_in_place(O):
    O -= O.max(axis=-1, keepdims=True)  # writes into the caller's logits
    E = np.exp(O)
    return E / E.sum(axis=-1, keepdims=True)


CASES += [
    (NLL, "log of the summed probabilities", nll_log_of_sum, "the logarithm is taken of the summed probabilities"),
    (NLL, "log of the batch sum at each step", nll_log_of_sum_per_step,
     "the logarithm is taken of the probabilities summed over the batch"),
    # the case's sizes and the learner's line, though the drawn case passes
    (NLL, ".squeeze() then T, B = shape (fails for T = B = 1)", nll_squeezed, "on the case T=1, B=1, K=3 (line "),
    (SM, "shifts the caller's logits in place", sm_in_place, None),
]


def hh_state_in_h0(X, h0, Wx, Ws, b, Wy, c):
    out = []
    for x in X:
        h0[...] = np.tanh(b + h0 @ Ws.T + x @ Wx.T)  # keeps the running state in the caller's h0
        out.append(c + h0 @ Wy.T)
    return np.stack(out)


CASES += [(HH, "keeps the state in the caller's h0", hh_state_in_h0, None)]
