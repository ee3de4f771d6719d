"""The bidirectional RNN (rnnkit.birnn, chapter 10): backward pass against central differences, structure.

Tolerance as in tests/library/test_layers.py: the worst relative error over all entries of all gradients
must be below 1e-6 (float64, eps = 1e-5: correct code sits around 1e-8, real bugs at 1e-2 or more).
"""
import numpy as np
import pytest

import rnnkit as rk

SHAPES = [(1, 1, 1, 1), (1, 3, 4, 5), (4, 1, 3, 2), (5, 3, 4, 6), (7, 2, 3, 4)]   # (T, B, D, H)
SEEDS = [0, 1]
TOL = 1e-6
NAMES = ["X", "h0_fw", "h0_bw", "Wx_fw", "Ws_fw", "b_fw", "Wx_bw", "Ws_bw", "b_bw"]


def _inputs(rng, T, B, D, H, scale=0.5):
    return dict(X=rng.standard_normal((T, B, D)),
                h0_fw=scale * rng.standard_normal((B, H)), h0_bw=scale * rng.standard_normal((B, H)),
                Wx_fw=scale * rng.standard_normal((H, D)), Ws_fw=scale * rng.standard_normal((H, H)),
                b_fw=0.1 * rng.standard_normal(H),
                Wx_bw=scale * rng.standard_normal((H, D)), Ws_bw=scale * rng.standard_normal((H, H)),
                b_bw=0.1 * rng.standard_normal(H))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_birnn_backward_matches_finite_differences(shape, seed):
    rng = np.random.default_rng(seed)
    report = rk.check_layer_gradients(rk.birnn_forward, rk.birnn_backward, _inputs(rng, *shape), NAMES,
                                      rng=rng, time_axes={"X": 0})
    assert report.ok, str(report)


def test_the_gradient_check_catches_a_backward_pass_that_forgets_to_reverse():
    # A classic mistake: feeding the backward direction's gradients in forward time order.
    def wrong_backward(dHs, cache):
        H = cache.fw.Hs.shape[2]
        dX_fw, dh0_fw, *g_fw = rk.rnn_backward(dHs[:, :, :H], cache.fw)
        dX_bw, dh0_bw, *g_bw = rk.rnn_backward(dHs[:, :, H:], cache.bw)     # not reversed
        return (dX_fw + dX_bw[::-1], dh0_fw, dh0_bw, *g_fw, *g_bw)

    rng = np.random.default_rng(3)
    report = rk.check_layer_gradients(rk.birnn_forward, wrong_backward, _inputs(rng, 5, 2, 3, 4), NAMES,
                                      rng=rng, time_axes={"X": 0})
    assert not report.ok


def test_the_backward_direction_is_an_rnn_on_the_reversed_sequence(rng):
    p = _inputs(rng, 6, 2, 3, 4)
    Hs, _ = rk.birnn_forward(**p)
    forward, _ = rk.rnn_forward(p["X"], p["h0_fw"], p["Wx_fw"], p["Ws_fw"], p["b_fw"])
    backward, _ = rk.rnn_forward(p["X"][::-1], p["h0_bw"], p["Wx_bw"], p["Ws_bw"], p["b_bw"])
    np.testing.assert_array_equal(Hs[:, :, :4], forward)
    np.testing.assert_array_equal(Hs[:, :, 4:], backward[::-1])


def test_every_state_sees_the_whole_sequence(rng):
    p = _inputs(rng, 6, 1, 3, 4)
    Hs, _ = rk.birnn_forward(**p)
    changed = dict(p, X=p["X"].copy())
    changed["X"][-1] += 1.0                     # change only the last input
    moved = np.abs(rk.birnn_forward(**changed)[0] - Hs)
    assert np.all(moved[:-1, :, :4] == 0.0), "the forward direction must not see the future"
    assert np.all(moved[:, :, 4:].max(axis=(1, 2)) > 0.0), "the backward direction carries x(T) to every step"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_model_gradients_match_finite_differences(dtype):
    rng = np.random.default_rng(7)
    T, B, D, H, K = 5, 3, 4, 3, 4
    model = rk.BidirectionalRNN(D, H, K, rng=rng, dtype=dtype)
    X = rng.standard_normal((T, B, D)).astype(dtype)
    Y = rng.integers(0, K, size=(T, B))
    loss, grads = model.loss_and_grads(X, Y)
    assert set(grads) == set(model.params)
    assert all(grads[k].shape == model.params[k].shape for k in grads)
    if dtype == np.float32:
        assert all(g.dtype == np.float32 for g in grads.values())
        return
    O = model.logits(X)
    assert loss == pytest.approx(rk.softmax_cross_entropy(O, Y)[0], rel=1e-12)
    for name, param in model.params.items():
        numeric = rk.numerical_gradient(lambda: model.loss_and_grads(X, Y)[0], param)
        assert rk.gradient_error(grads[name], numeric).max() < TOL, name


def test_model_learns_a_task_that_needs_the_future():
    # The label at step t is the next input symbol, y(t) = x(t+1): impossible without look-ahead.
    rng = np.random.default_rng(0)
    n, T, B = 4, 8, 32
    model = rk.BidirectionalRNN(n, 12, n + 1, rng=rng)
    optimizer = rk.Adam(0.02)
    for _ in range(150):
        X, Y = rk.delayed_recall(rng, B, T, 1, n)
        loss, grads = model.loss_and_grads(X[::-1], Y[::-1])
        optimizer.step(model.params, grads)
    assert loss < 0.3


def test_validation_names_the_function_and_the_argument(rng):
    p = _inputs(rng, 4, 2, 3, 5)
    with pytest.raises(ValueError, match=r"birnn_forward: argument 'Ws_bw'"):
        rk.birnn_forward(**dict(p, Ws_bw=np.zeros((5, 4))))
    with pytest.raises(ValueError, match=r"birnn_forward: argument 'h0_bw'"):
        rk.birnn_forward(**dict(p, h0_bw=np.zeros((3, 5))))
    _, cache = rk.birnn_forward(**p)
    with pytest.raises(ValueError, match=r"birnn_backward: argument 'dHs'"):
        rk.birnn_backward(np.zeros((4, 2, 5)), cache)
