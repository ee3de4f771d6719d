"""rnnkit against PyTorch (the independent reference), through the notation adapters.

float64 on both sides; tolerance 1e-10 absolute/relative: both compute the same arithmetic in a
different order, so differences are a few ulps times the sequence length (observed ~1e-15).
Skipped with a reason when torch is not installed, unless RNNKIT_REQUIRE_TORCH=1 (set by .ci/run).
"""
import numpy as np
import pytest

import rnnkit as rk

SHAPES = [(1, 1, 3, 4), (6, 3, 5, 4), (12, 2, 4, 7), (4, 40, 3, 5)]  # B = 40: wide-batch code paths
TOL = dict(rtol=1e-10, atol=1e-10)


def _t(torch, a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


@pytest.mark.parametrize("shape", SHAPES)
def test_rnn_matches_torch(torch, shape, rng):
    T, B, D, H = shape
    X, h0 = rng.standard_normal((T, B, D)), 0.5 * rng.standard_normal((B, H))
    ref = torch.nn.RNN(D, H).double()
    Wx, Ws, b = rk.rnn_from_torch(ref.state_dict())
    Hs, cache = rk.rnn_forward(X, h0, Wx, Ws, b)
    Xt, h0t = _t(torch, X, True), _t(torch, h0[None], True)
    out, _ = ref(Xt, h0t)
    np.testing.assert_allclose(Hs, out.detach().numpy(), **TOL)

    dHs = rng.standard_normal(Hs.shape)
    out.backward(_t(torch, dHs))
    dX, dh0, dWx, dWs, db = rk.rnn_backward(dHs, cache)
    np.testing.assert_allclose(dX, Xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(dh0, h0t.grad.numpy()[0], **TOL)
    np.testing.assert_allclose(dWx, ref.weight_ih_l0.grad.numpy(), **TOL)
    np.testing.assert_allclose(dWs, ref.weight_hh_l0.grad.numpy(), **TOL)
    # torch has two biases that both receive the full bias gradient
    np.testing.assert_allclose(db, ref.bias_ih_l0.grad.numpy(), **TOL)
    np.testing.assert_allclose(db, ref.bias_hh_l0.grad.numpy(), **TOL)


@pytest.mark.parametrize("shape", SHAPES)
def test_lstm_matches_torch(torch, shape, rng):
    T, B, D, H = shape
    X = rng.standard_normal((T, B, D))
    h0, c0 = 0.5 * rng.standard_normal((B, H)), 0.5 * rng.standard_normal((B, H))
    ref = torch.nn.LSTM(D, H).double()
    W, b = rk.lstm_from_torch(ref.state_dict())
    Hs, cache = rk.lstm_forward(X, h0, c0, W, b)
    Xt, h0t, c0t = _t(torch, X, True), _t(torch, h0[None], True), _t(torch, c0[None], True)
    out, (hT, cT) = ref(Xt, (h0t, c0t))
    np.testing.assert_allclose(Hs, out.detach().numpy(), **TOL)
    np.testing.assert_allclose(cache.Cs[-1], cT.detach().numpy()[0], **TOL)

    dHs = rng.standard_normal(Hs.shape)
    out.backward(_t(torch, dHs))
    dX, dh0, dc0, dW, db = rk.lstm_backward(dHs, cache)
    np.testing.assert_allclose(dX, Xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(dh0, h0t.grad.numpy()[0], **TOL)
    np.testing.assert_allclose(dc0, c0t.grad.numpy()[0], **TOL)
    grads_from_torch = {k: getattr(ref, k).grad.numpy() for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0")}
    grads_from_torch["bias_hh_l0"] = np.zeros_like(grads_from_torch["bias_ih_l0"])
    dW_ref, db_ref = rk.lstm_from_torch(grads_from_torch)  # same re-layout as the weights
    np.testing.assert_allclose(dW, dW_ref, **TOL)
    np.testing.assert_allclose(db, db_ref, **TOL)


@pytest.mark.parametrize("shape", SHAPES)
def test_gru_matches_torch(torch, shape, rng):
    T, B, D, H = shape
    X, h0 = rng.standard_normal((T, B, D)), 0.5 * rng.standard_normal((B, H))
    ref = torch.nn.GRU(D, H).double()
    Wx, Wh, bx, bh = rk.gru_from_torch(ref.state_dict())
    Hs, cache = rk.gru_forward(X, h0, Wx, Wh, bx, bh)
    Xt, h0t = _t(torch, X, True), _t(torch, h0[None], True)
    out, _ = ref(Xt, h0t)
    np.testing.assert_allclose(Hs, out.detach().numpy(), **TOL)
    dHs = rng.standard_normal(Hs.shape)
    out.backward(_t(torch, dHs))
    dX, dh0, dWx, dWh, dbx, dbh = rk.gru_backward(dHs, cache)
    for ours, theirs in ((dX, Xt.grad), (dh0, h0t.grad[0]), (dWx, ref.weight_ih_l0.grad),
                         (dWh, ref.weight_hh_l0.grad), (dbx, ref.bias_ih_l0.grad), (dbh, ref.bias_hh_l0.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), **TOL)


def test_adapters_round_trip_into_torch(torch, rng):
    """rnnkit -> torch state dict -> torch forward equals rnnkit's forward (the other direction)."""
    T, B, D, H = 5, 2, 3, 4
    X = rng.standard_normal((T, B, D))
    W, b = rng.standard_normal((4 * H, H + D)), rng.standard_normal(4 * H)
    ref = torch.nn.LSTM(D, H).double()
    ref.load_state_dict({k: torch.tensor(v) for k, v in rk.lstm_to_torch(W, b).items()})
    out, _ = ref(_t(torch, X))
    Hs, _ = rk.lstm_forward(X, np.zeros((B, H)), np.zeros((B, H)), W, b)
    np.testing.assert_allclose(Hs, out.detach().numpy(), **TOL)

    Wx, Ws, bb = rng.standard_normal((H, D)), rng.standard_normal((H, H)), rng.standard_normal(H)
    rnn = torch.nn.RNN(D, H).double()
    rnn.load_state_dict({k: torch.tensor(v) for k, v in rk.rnn_to_torch(Wx, Ws, bb).items()})
    out, _ = rnn(_t(torch, X))
    np.testing.assert_allclose(rk.rnn_forward(X, np.zeros((B, H)), Wx, Ws, bb)[0], out.detach().numpy(), **TOL)


def test_softmax_cross_entropy_matches_torch(torch, rng):
    O, Y = rng.standard_normal((4, 3, 6)), rng.integers(0, 6, (4, 3))
    Ot = _t(torch, O, True)
    ref = torch.nn.functional.cross_entropy(Ot.reshape(-1, 6), torch.tensor(Y.reshape(-1)))
    ref.backward()
    loss, dO = rk.softmax_cross_entropy(O, Y)
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dO, Ot.grad.numpy(), **TOL)
