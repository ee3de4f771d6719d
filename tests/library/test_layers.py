"""Every backward pass against central differences (float64), and structural properties of the forwards.

Tolerance: the worst relative error over all entries of all gradients must be below 1e-6.
With eps = 1e-5 the central difference's truncation error is O(eps²) ≈ 1e-10 and its rounding error
≈ 1e-16·|L|/eps ≈ 1e-10 for the O(1) losses here, so correct code sits around 1e-8 and any real bug
(a missing term, a transpose, a wrong time index) gives errors of order 1e-2 to 1.
"""
import numpy as np
import pytest

import rnnkit as rk

SHAPES = [  # (T, B, D, H)
    (1, 1, 1, 1),
    (1, 3, 4, 5),
    (4, 1, 3, 2),
    (5, 3, 4, 6),
    (7, 2, 3, 4),
]
SEEDS = [0, 1]
TOL = 1e-6


def _rnn_inputs(rng, T, B, D, H, scale=0.5):
    return dict(X=rng.standard_normal((T, B, D)), h0=scale * rng.standard_normal((B, H)),
                Wx=scale * rng.standard_normal((H, D)), Ws=scale * rng.standard_normal((H, H)),
                b=0.1 * rng.standard_normal(H))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_rnn_backward_matches_finite_differences(shape, seed):
    rng = np.random.default_rng(seed)
    report = rk.check_layer_gradients(rk.rnn_forward, rk.rnn_backward, _rnn_inputs(rng, *shape),
                                      ["X", "h0", "Wx", "Ws", "b"], rng=rng, time_axes={"X": 0})
    assert report.ok, str(report)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_rnn_step_backward_matches_finite_differences(shape, seed):
    rng = np.random.default_rng(seed)
    p = _rnn_inputs(rng, *shape)
    inputs = dict(x=p["X"][0], h_prev=p["h0"], Wx=p["Wx"], Ws=p["Ws"], b=p["b"])
    report = rk.check_layer_gradients(rk.rnn_step_forward, rk.rnn_step_backward, inputs,
                                      ["x", "h_prev", "Wx", "Ws", "b"], rng=rng)
    assert report.ok, str(report)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_lstm_backward_matches_finite_differences(shape, seed):
    rng = np.random.default_rng(seed)
    T, B, D, H = shape
    inputs = dict(X=rng.standard_normal((T, B, D)), h0=0.5 * rng.standard_normal((B, H)),
                  c0=0.5 * rng.standard_normal((B, H)), W=0.5 * rng.standard_normal((4 * H, H + D)),
                  b=0.1 * rng.standard_normal(4 * H))
    report = rk.check_layer_gradients(rk.lstm_forward, rk.lstm_backward, inputs,
                                      ["X", "h0", "c0", "W", "b"], rng=rng, time_axes={"X": 0})
    assert report.ok, str(report)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_lstm_step_backward_matches_finite_differences(shape, seed):
    rng = np.random.default_rng(seed)
    T, B, D, H = shape
    inputs = dict(x=rng.standard_normal((B, D)), h_prev=0.5 * rng.standard_normal((B, H)),
                  c_prev=0.5 * rng.standard_normal((B, H)), W=0.5 * rng.standard_normal((4 * H, H + D)),
                  b=0.1 * rng.standard_normal(4 * H))
    report = rk.check_layer_gradients(rk.lstm_step_forward, rk.lstm_step_backward, inputs,
                                      ["x", "h_prev", "c_prev", "W", "b"], rng=rng)
    assert report.ok, str(report)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_gru_backward_matches_finite_differences(shape, seed):
    rng = np.random.default_rng(seed)
    T, B, D, H = shape
    inputs = dict(X=rng.standard_normal((T, B, D)), h0=0.5 * rng.standard_normal((B, H)),
                  Wx=0.5 * rng.standard_normal((3 * H, D)), Wh=0.5 * rng.standard_normal((3 * H, H)),
                  bx=0.1 * rng.standard_normal(3 * H), bh=0.1 * rng.standard_normal(3 * H))
    report = rk.check_layer_gradients(rk.gru_forward, rk.gru_backward, inputs,
                                      ["X", "h0", "Wx", "Wh", "bx", "bh"], rng=rng, time_axes={"X": 0})
    assert report.ok, str(report)
    step_inputs = dict(x=inputs["X"][0], h_prev=inputs["h0"], Wx=inputs["Wx"], Wh=inputs["Wh"],
                       bx=inputs["bx"], bh=inputs["bh"])
    report = rk.check_layer_gradients(rk.gru_step_forward, rk.gru_step_backward, step_inputs,
                                      ["x", "h_prev", "Wx", "Wh", "bx", "bh"], rng=rng)
    assert report.ok, str(report)


@pytest.mark.parametrize("seq", [True, False])
@pytest.mark.parametrize("seed", SEEDS)
def test_affine_backward_matches_finite_differences(seq, seed):
    rng = np.random.default_rng(seed)
    Hs = rng.standard_normal((4, 3, 5) if seq else (3, 5))
    inputs = dict(Hs=Hs, Wy=rng.standard_normal((6, 5)), c=rng.standard_normal(6))
    report = rk.check_layer_gradients(rk.affine_forward, rk.affine_backward, inputs, ["Hs", "Wy", "c"], rng=rng)
    assert report.ok, str(report)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", [(1, 1, 2), (4, 3, 5), (6, 2, 7)])
def test_softmax_cross_entropy_gradient_and_value(reduction, shape, rng):
    O = 3.0 * rng.standard_normal(shape)
    Y = rng.integers(0, shape[-1], shape[:-1])
    loss, dO = rk.softmax_cross_entropy(O, Y, reduction=reduction)
    num = rk.numerical_gradient(lambda: rk.softmax_cross_entropy(O, Y, reduction=reduction)[0], O, eps=1e-5)
    assert rk.gradient_error(dO, num).max() < TOL
    # independent value: log-sum-exp written directly, one target at a time
    terms = [np.log(np.exp(O[t, b]).sum()) - O[t, b, Y[t, b]] for t in range(shape[0]) for b in range(shape[1])]
    expected = np.sum(terms) / (len(terms) if reduction == "mean" else 1)
    assert loss == pytest.approx(expected, rel=1e-12)


def test_softmax_cross_entropy_is_stable_for_huge_logits(rng):
    O = np.array([[[1000.0, 0.0, -1000.0]]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is harmless
        loss, dO = rk.softmax_cross_entropy(O, np.array([[2]]))
    assert loss == pytest.approx(2000.0)
    assert np.all(np.isfinite(dO))


def test_sequence_forward_equals_repeated_step(rng):
    """The sequence versions hoist the input projection; they must still equal the step loop."""
    T, B, D, H = 6, 3, 4, 5
    p = _rnn_inputs(rng, T, B, D, H)
    h, hs = p["h0"], []
    for t in range(T):
        h, _ = rk.rnn_step_forward(p["X"][t], h, p["Wx"], p["Ws"], p["b"])
        hs.append(h)
    np.testing.assert_allclose(rk.rnn_forward(**p)[0], np.stack(hs), rtol=1e-12, atol=1e-14)

    W, b = 0.5 * rng.standard_normal((4 * H, H + D)), 0.1 * rng.standard_normal(4 * H)
    h, c, hs, cs = p["h0"], np.zeros((B, H)), [], []
    for t in range(T):
        h, c, _ = rk.lstm_step_forward(p["X"][t], h, c, W, b)
        hs.append(h)
        cs.append(c)
    Hs, cache = rk.lstm_forward(p["X"], p["h0"], np.zeros((B, H)), W, b)
    np.testing.assert_allclose(Hs, np.stack(hs), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cache.Cs, np.stack(cs), rtol=1e-12, atol=1e-14)


def test_sequence_backward_equals_step_backward_chain(rng):
    T, B, D, H = 5, 2, 3, 4
    p = _rnn_inputs(rng, T, B, D, H)
    Hs, cache = rk.rnn_forward(**p)
    dHs = rng.standard_normal(Hs.shape)
    dX, dh0, dWx, dWs, db = rk.rnn_backward(dHs, cache)
    caches, h = [], p["h0"]
    for t in range(T):
        h, c = rk.rnn_step_forward(p["X"][t], h, p["Wx"], p["Ws"], p["b"])
        caches.append(c)
    dh = np.zeros((B, H))
    sums = [np.zeros_like(dWx), np.zeros_like(dWs), np.zeros_like(db)]
    for t in reversed(range(T)):
        dx, dh, *g = rk.rnn_step_backward(dHs[t] + dh, caches[t])
        np.testing.assert_allclose(dX[t], dx, rtol=1e-10, atol=1e-13)
        for s, gi in zip(sums, g):
            s += gi
    for ours, ref in zip((dh0, dWx, dWs, db), (dh, *sums)):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_float32_stays_float32_and_close_to_float64(cell, rng):
    T, B, D, H = 5, 3, 4, 6
    m = rk.HiddenToHiddenRNN(D, H, 7, rng=rng, cell=cell)
    X = rng.standard_normal((T, B, D))
    Y = rng.integers(0, 7, (T, B))
    loss64, g64 = m.loss_and_grads(X, Y)
    m.params = {k: v.astype(np.float32) for k, v in m.params.items()}
    loss32, g32 = m.loss_and_grads(X.astype(np.float32), Y)
    for k in g64:
        assert g32[k].dtype == np.float32, k
        # float32 carries ~7 significant digits; 1e-4 relative to the gradient's scale leaves room for
        # accumulation over T·B terms.
        assert np.abs(g32[k] - g64[k]).max() <= 1e-4 * max(1.0, np.abs(g64[k]).max()), k
    assert loss32 == pytest.approx(loss64, rel=1e-5)


def test_sigmoid_has_no_overflow_warning():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = rk.sigmoid(np.array([-1e4, 0.0, 1e4]))
    np.testing.assert_allclose(s, [0.0, 0.5, 1.0])


def test_caches_are_named_tuples(rng):
    p = _rnn_inputs(rng, 2, 1, 2, 3)
    _, cache = rk.rnn_forward(**p)
    assert cache._fields == ("X", "h0", "Hs", "Wx", "Ws")
    assert cache.Hs.shape == (2, 1, 3)


# ---------------------------------------------------------------------------
# ReLU RNN (chapter 6)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_relu_rnn_backward_matches_finite_differences(shape, seed):
    rng = np.random.default_rng(seed)
    inputs = _rnn_inputs(rng, *shape)
    report = rk.check_layer_gradients(rk.relu_rnn_forward, rk.relu_rnn_backward, inputs,
                                      ["X", "h0", "Wx", "Ws", "b"], rng=rng, time_axes={"X": 0})
    assert report.ok, str(report)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_relu_rnn_step_backward_matches_finite_differences(shape, seed):
    rng = np.random.default_rng(seed)
    p = _rnn_inputs(rng, *shape)
    inputs = dict(x=p["X"][0], h_prev=p["h0"], Wx=p["Wx"], Ws=p["Ws"], b=p["b"])
    report = rk.check_layer_gradients(rk.relu_rnn_step_forward, rk.relu_rnn_step_backward, inputs,
                                      ["x", "h_prev", "Wx", "Ws", "b"], rng=rng)
    assert report.ok, str(report)


def test_relu_rnn_gradient_check_sees_inactive_units(rng):
    """The checks above are only meaningful if some units are off: the gradient must be blocked there."""
    T, B, D, H = 6, 3, 4, 5
    p = _rnn_inputs(rng, T, B, D, H)
    Hs, cache = rk.relu_rnn_forward(**p)
    assert 0.2 < np.mean(Hs == 0) < 0.8, "expected a mix of active and inactive units"
    dHs = np.zeros_like(Hs)
    dHs[-1] = 1.0
    dX, dh0, *_ = rk.relu_rnn_backward(dHs, cache)
    # a unit that is off at the last step passes nothing back from there
    off = Hs[-1] == 0
    dX_last, _, _, _, _ = rk.relu_rnn_step_backward(np.where(off, 1.0, 0.0),
                                                    rk.relu_rnn_step_forward(p["X"][-1], Hs[-2], p["Wx"],
                                                                             p["Ws"], p["b"])[1])
    np.testing.assert_array_equal(dX_last, 0.0)


def test_relu_rnn_sequence_equals_repeated_step_and_backward_chain(rng):
    T, B, D, H = 6, 3, 4, 5
    p = _rnn_inputs(rng, T, B, D, H)
    Hs, cache = rk.relu_rnn_forward(**p)
    h, caches = p["h0"], []
    for t in range(T):
        h, c = rk.relu_rnn_step_forward(p["X"][t], h, p["Wx"], p["Ws"], p["b"])
        np.testing.assert_allclose(Hs[t], h, rtol=1e-12, atol=1e-14)
        caches.append(c)
    assert np.all(Hs >= 0)
    dHs = rng.standard_normal(Hs.shape)
    dX, dh0, dWx, dWs, db = rk.relu_rnn_backward(dHs, cache)
    dh = np.zeros((B, H))
    sums = [np.zeros_like(dWx), np.zeros_like(dWs), np.zeros_like(db)]
    for t in reversed(range(T)):
        dx, dh, *g = rk.relu_rnn_step_backward(dHs[t] + dh, caches[t])
        np.testing.assert_allclose(dX[t], dx, rtol=1e-10, atol=1e-13)
        for s, gi in zip(sums, g):
            s += gi
    for ours, ref in zip((dh0, dWx, dWs, db), (dh, *sums)):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-13)


def test_relu_rnn_with_identity_recurrence_adds_up_its_inputs(rng):
    """The IRNN of Le et al. (2015) at initialisation: Ws = I, b = 0 and non-negative drive keep every
    unit active, so the state is the running sum of Wx x and the Jacobian dh(T)/dh(0) is exactly I."""
    T, B, D, H = 7, 2, 3, 4
    X = rng.uniform(0.0, 1.0, (T, B, D))
    Wx = rng.uniform(0.0, 1.0, (H, D))
    Hs, cache = rk.relu_rnn_forward(X, np.zeros((B, H)), Wx, np.eye(H), np.zeros(H))
    np.testing.assert_allclose(Hs, np.cumsum(X @ Wx.T, axis=0), rtol=1e-12)
    dHs = np.zeros_like(Hs)
    dHs[-1] = rng.standard_normal((B, H))
    _, dh0, *_ = rk.relu_rnn_backward(dHs, cache)
    np.testing.assert_allclose(dh0, dHs[-1], rtol=1e-12)      # gradient arrives unchanged after T steps


def test_relu_rnn_float32_and_validation(rng):
    T, B, D, H = 5, 3, 4, 6
    p = _rnn_inputs(rng, T, B, D, H)
    p32 = {k: v.astype(np.float32) for k, v in p.items()}
    Hs32, cache32 = rk.relu_rnn_forward(**p32)
    assert Hs32.dtype == np.float32
    grads32 = rk.relu_rnn_backward(np.ones_like(Hs32), cache32)
    assert all(g.dtype == np.float32 for g in grads32)
    np.testing.assert_allclose(Hs32, rk.relu_rnn_forward(**p)[0], rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="relu_rnn_forward: argument 'Ws'"):
        rk.relu_rnn_forward(p["X"], p["h0"], p["Wx"], p["Ws"][:, :-1], p["b"])
    with pytest.raises(ValueError, match="relu_rnn_backward: argument 'dHs'"):
        rk.relu_rnn_backward(np.ones((T + 1, B, H)), rk.relu_rnn_forward(**p)[1])
    assert rk.relu_rnn_forward(**p)[1]._fields == ("X", "h0", "Hs", "Wx", "Ws")


# ---------------------------------------------------------------------------
# the step functions are the reference: the (fast) sequence functions must agree with them
# ---------------------------------------------------------------------------

def _lstm_inputs(rng, T, B, D, H):
    return dict(X=rng.standard_normal((T, B, D)), h0=0.5 * rng.standard_normal((B, H)),
                c0=0.5 * rng.standard_normal((B, H)), W=0.5 * rng.standard_normal((4 * H, H + D)),
                b=0.1 * rng.standard_normal(4 * H))


# B = 40 takes lstm_backward's feature-major branch for the weight-gradient product, the others its
# batch-major one (rnnkit.layers.lstm._NARROW_BATCH = 32 lies between); at T = 60, H = 5, B = 40 the
# local factors come in three chunks of steps (_LOCAL_CHUNK_BYTES / (6 H B 8 bytes) = 27 steps each).
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (5, 3, 4, 6), (7, 1, 2, 3), (60, 40, 3, 5)])
def test_lstm_sequence_equals_step_chain_forward_and_backward(shape, rng):
    T, B, D, H = shape
    p = _lstm_inputs(rng, T, B, D, H)
    Hs, cache = rk.lstm_forward(**p)
    dHs = rng.standard_normal(Hs.shape)
    dX, dh0, dc0, dW, db = rk.lstm_backward(dHs, cache)
    steps, h, c = [], p["h0"], p["c0"]
    for t in range(T):
        h, c, step = rk.lstm_step_forward(p["X"][t], h, c, p["W"], p["b"])
        steps.append(step)
        np.testing.assert_allclose(Hs[t], h, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(cache.Cs[t], c, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(cache.gates[t], step.gates, rtol=1e-12, atol=1e-14)   # order i, f, o, g
        np.testing.assert_allclose(cache.tanh_c[t], step.tanh_c, rtol=1e-12, atol=1e-14)
    dh, dc = np.zeros((B, H)), np.zeros((B, H))
    sum_dW, sum_db = np.zeros_like(dW), np.zeros_like(db)
    for t in reversed(range(T)):
        dx, dh, dc, dW_t, db_t = rk.lstm_step_backward(dHs[t] + dh, dc, steps[t])
        np.testing.assert_allclose(dX[t], dx, rtol=1e-10, atol=1e-13)
        sum_dW += dW_t
        sum_db += db_t
    for ours, ref in ((dh0, dh), (dc0, dc), (dW, sum_dW), (db, sum_db)):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-13)


def test_gru_sequence_equals_step_chain_forward_and_backward(rng):
    T, B, D, H = 5, 3, 4, 6
    X, h0 = rng.standard_normal((T, B, D)), 0.5 * rng.standard_normal((B, H))
    Wx, Wh = 0.5 * rng.standard_normal((3 * H, D)), 0.5 * rng.standard_normal((3 * H, H))
    bx, bh = 0.1 * rng.standard_normal(3 * H), 0.1 * rng.standard_normal(3 * H)
    Hs, cache = rk.gru_forward(X, h0, Wx, Wh, bx, bh)
    dHs = rng.standard_normal(Hs.shape)
    dX, dh0, *grads = rk.gru_backward(dHs, cache)
    steps, h = [], h0
    for t in range(T):
        h, step = rk.gru_step_forward(X[t], h, Wx, Wh, bx, bh)
        steps.append(step)
        np.testing.assert_allclose(Hs[t], h, rtol=1e-12, atol=1e-14)
    dh, sums = np.zeros((B, H)), [np.zeros_like(g) for g in grads]
    for t in reversed(range(T)):
        dx, dh, *g = rk.gru_step_backward(dHs[t] + dh, steps[t])
        np.testing.assert_allclose(dX[t], dx, rtol=1e-10, atol=1e-13)
        for s, gi in zip(sums, g):
            s += gi
    for ours, ref in zip((dh0, *grads), (dh, *sums)):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-13)


def test_lstm_step_cache_offers_the_exercise_contract(rng):
    """The exercises' cache is (x, h_prev, c_prev, i, f, o, g, c, W); the library's names the same values."""
    B, D, H = 3, 4, 5
    x, h_prev, c_prev = rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    W, b = rng.standard_normal((4 * H, H + D)), rng.standard_normal(4 * H)
    h, c, cache = rk.lstm_step_forward(x, h_prev, c_prev, W, b)
    a = h_prev @ W[:, :H].T + x @ W[:, H:].T + b              # written out independently of the library
    sig = 1.0 / (1.0 + np.exp(-a))
    i, f, o, g = sig[:, :H], sig[:, H:2 * H], sig[:, 2 * H:3 * H], np.tanh(a[:, 3 * H:])
    expected = {"x": x, "h_prev": h_prev, "c_prev": c_prev, "i": i, "f": f, "o": o, "g": g,
                "c": f * c_prev + i * g, "W": W}
    for name, value in expected.items():
        np.testing.assert_allclose(getattr(cache, name), value, rtol=1e-12, atol=1e-14, err_msg=name)
    np.testing.assert_allclose(c, expected["c"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h, o * np.tanh(expected["c"]), rtol=1e-12, atol=1e-14)


def test_reused_work_arrays_do_not_leak_between_calls(rng):
    """The sequence functions reuse work arrays from call to call: results must not depend on or share them."""
    T, B, D, H = 6, 4, 3, 5
    first, second = _lstm_inputs(rng, T, B, D, H), _lstm_inputs(rng, T, B, D, H)
    dHs_1, dHs_2 = rng.standard_normal((T, B, H)), rng.standard_normal((T, B, H))
    Hs_1, cache_1 = rk.lstm_forward(**first)
    grads_1 = rk.lstm_backward(dHs_1, cache_1)
    Hs_2, cache_2 = rk.lstm_forward(**second)               # same shapes: the same work arrays
    grads_2 = rk.lstm_backward(dHs_2, cache_2)
    again = rk.lstm_backward(dHs_1, cache_1)
    for a, b in zip(grads_1, again):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(grads_1, grads_2):
        assert not np.shares_memory(a, b)
    assert not np.shares_memory(Hs_1, Hs_2) and not np.shares_memory(cache_1.gates, cache_2.gates)
    np.testing.assert_array_equal(rk.lstm_forward(**first)[0], Hs_1)


@pytest.mark.parametrize("cell", ["rnn", "relu", "lstm", "gru"])
def test_input_grad_false_skips_only_dX(cell, rng):
    T, B, D, H = 4, 3, 2, 5
    m = rk.HiddenToHiddenRNN(D, H, 3, rng=rng, cell=cell)
    X = rng.standard_normal((T, B, D))
    forward, backward = {"rnn": (rk.rnn_forward, rk.rnn_backward), "relu": (rk.relu_rnn_forward, rk.relu_rnn_backward),
                         "lstm": (rk.lstm_forward, rk.lstm_backward), "gru": (rk.gru_forward, rk.gru_backward)}[cell]
    names = {"lstm": ("W", "b"), "gru": ("Wx", "Wh", "bx", "bh")}.get(cell, ("Wx", "Ws", "b"))
    states = [np.zeros((B, H))] * (2 if cell == "lstm" else 1)
    Hs, cache = forward(X, *states, *(m.params[k] for k in names))
    dHs = rng.standard_normal(Hs.shape)
    full, without = backward(dHs, cache), backward(dHs, cache, input_grad=False)
    assert full[0].shape == X.shape and without[0] is None
    for a, b in zip(full[1:], without[1:]):
        np.testing.assert_array_equal(a, b)
