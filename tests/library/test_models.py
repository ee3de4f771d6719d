"""The three families, truncated BPTT and training.

Gradient tolerance: worst gradient_error < 1e-5 against central differences. It is looser than the
layer tests' 1e-6 because model losses are means over T·B targets: the gradients are T·B times
smaller while the finite-difference rounding noise (~1e-16·|L|/eps) is not, so correct code sits
near 1e-7 here. Real bugs give errors of order 1e-2 and above.
"""
import numpy as np
import pytest

import rnnkit as rk

TOL = 1e-5


def _check_model_grads(model, loss_fn):
    loss, grads = loss_fn()
    assert set(grads) == set(model.params)
    for name, p in model.params.items():
        num = rk.numerical_gradient(lambda: loss_fn()[0], p)
        err = rk.gradient_error(grads[name], num).max()
        assert err < TOL, f"{name}: worst relative error {err:.2e}"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("T,B", [(1, 1), (5, 3)])
def test_hidden_to_hidden_gradients(cell, T, B, rng):
    m = rk.HiddenToHiddenRNN(3, 4, 5, rng=rng, cell=cell)
    X, Y = rng.standard_normal((T, B, 3)), rng.integers(0, 5, (T, B))
    state0 = m.init_state(B)
    _check_model_grads(m, lambda: m.loss_and_grads(X, Y, state0))


@pytest.mark.parametrize("T,B", [(1, 1), (6, 3)])
def test_output_to_hidden_gradients_teacher_forced_and_scheduled(T, B, rng):
    m = rk.OutputToHiddenRNN(3, 4, 5, rng=rng)
    X, Y = rng.standard_normal((T, B, 3)), rng.integers(0, 5, (T, B))
    _check_model_grads(m, lambda: m.loss_and_grads(X, Y))
    feedback = m.scheduled_feedback(X, Y, 0.5, rng=rng)
    _check_model_grads(m, lambda: m.loss_and_grads(X, Y, feedback))


@pytest.mark.parametrize("loss,K", [("softmax", 4), ("mse", 1)])
def test_sequence_to_one_gradients(loss, K, rng):
    m = rk.SequenceToOneRNN(2, 5, K, rng=rng, loss=loss)
    X = rng.standard_normal((6, 3, 2))
    Y = rng.integers(0, K, 3) if loss == "softmax" else rng.standard_normal(3)
    _check_model_grads(m, lambda: m.loss_and_grads(X, Y))


def test_teacher_forcing_feeds_previous_target(rng):
    m = rk.OutputToHiddenRNN(2, 3, 4, rng=rng)
    Y = np.array([[1, 2], [3, 0], [2, 2]])
    np.testing.assert_array_equal(m.teacher_feedback(Y), [[-1, -1], [1, 2], [3, 0]])
    X = rng.standard_normal((3, 2, 2))
    assert np.allclose(m.scheduled_feedback(X, Y, 1.0, rng=rng), m.teacher_feedback(Y))
    # p_truth = 0 feeds back the model's own greedy outputs: exactly closed-loop generation
    tokens, _ = m.generate(X)
    np.testing.assert_array_equal(m.scheduled_feedback(X, Y, 0.0, rng=rng)[1:], tokens[:-1])


def test_closed_loop_loss_equals_teacher_forced_loss_on_own_outputs(rng):
    m = rk.OutputToHiddenRNN(2, 3, 4, rng=rng)
    X = rng.standard_normal((5, 2, 2))
    tokens, O = m.generate(X)
    Y = rng.integers(0, 4, (5, 2))
    fb = np.vstack([np.full((1, 2), -1), tokens[:-1]])
    assert m.closed_loop_loss(X, Y) == pytest.approx(m.loss_and_grads(X, Y, fb)[0], rel=1e-12)


class TestTBPTT:
    @pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
    def test_k_equal_T_is_full_bptt(self, cell, rng):
        m = rk.HiddenToHiddenRNN(3, 4, 5, rng=rng, cell=cell)
        X, Y = rng.standard_normal((9, 2, 3)), rng.integers(0, 5, (9, 2))
        loss, grads = m.loss_and_grads(X, Y)
        for k in (9, 20):
            l_k, g_k = rk.tbptt_loss_and_grads(m, X, Y, k)
            assert l_k == pytest.approx(loss, rel=1e-13)
            for name in grads:
                np.testing.assert_allclose(g_k[name], grads[name], rtol=1e-12, atol=1e-15)

    def test_k_less_than_T_differs_and_matches_explicit_chunks(self, rng):
        T, B, D, H, K, k = 10, 2, 3, 4, 5, 4
        m = rk.HiddenToHiddenRNN(D, H, K, rng=rng)
        X, Y = rng.standard_normal((T, B, D)), rng.integers(0, K, (T, B))
        loss, full = m.loss_and_grads(X, Y)
        l_k, g_k = rk.tbptt_loss_and_grads(m, X, Y, k)
        assert l_k == pytest.approx(loss, rel=1e-12)            # forward is unchanged
        assert np.abs(g_k["Ws"] - full["Ws"]).max() > 1e-6      # gradients are truncated
        # explicit chunked computation with the layer functions
        p = m.params
        h = np.zeros((B, H))
        expected = {name: np.zeros_like(v) for name, v in p.items()}
        for s in range(0, T, k):
            Hs, cache = rk.rnn_forward(X[s:s + k], h, p["Wx"], p["Ws"], p["b"])
            O, acache = rk.affine_forward(Hs, p["Wy"], p["c"])
            _, dO = rk.softmax_cross_entropy(O, Y[s:s + k], reduction="sum")
            dHs, dWy, dc = rk.affine_backward(dO / (T * B), acache)
            _, _, dWx, dWs, db = rk.rnn_backward(dHs, cache)
            for name, g in zip(("Wx", "Ws", "b", "Wy", "c"), (dWx, dWs, db, dWy, dc)):
                expected[name] += g
            h = Hs[-1]
        for name in expected:
            np.testing.assert_allclose(g_k[name], expected[name], rtol=1e-12, atol=1e-15)

    def test_rejects_bad_k(self, rng):
        m = rk.HiddenToHiddenRNN(3, 4, 5, rng=rng)
        with pytest.raises(ValueError, match="'k' must be a positive integer"):
            rk.tbptt_loss_and_grads(m, np.zeros((3, 1, 3)), np.zeros((3, 1), int), 0)


class TestTraining:
    def test_hidden_to_hidden_learns_delayed_recall(self):
        """Recall the symbol from 3 steps ago. Chance level is log(5) ≈ 1.61 nats; threshold 0.05."""
        rng = np.random.default_rng(0)
        m = rk.HiddenToHiddenRNN(4, 32, 5, rng=rng)
        opt = rk.Adam(1e-2)
        for _ in range(400):
            X, Y = rk.delayed_recall(rng, 16, 20, lag=3)
            loss, grads = m.loss_and_grads(X, Y)
            opt.step(m.params, rk.clip_by_global_norm(grads, 5.0)[0])
        X, Y = rk.delayed_recall(rng, 64, 20, lag=3)
        assert m.loss_and_grads(X, Y)[0] < 0.05

    def test_sequence_to_one_learns_adding_problem(self):
        """MSE of predicting the mean is 1/6 ≈ 0.167; below 0.02 the model really adds (seen: ~0.008)."""
        rng = np.random.default_rng(0)
        m = rk.SequenceToOneRNN(2, 32, 1, rng=rng, loss="mse")
        opt = rk.Adam(1e-2)
        for _ in range(1500):
            X, y = rk.adding_problem(rng, 10, 32)
            opt.step(m.params, m.loss_and_grads(X, y)[1])
        X, y = rk.adding_problem(rng, 10, 256)
        assert np.mean((m.predict(X) - y) ** 2) < 0.02

    def test_output_recurrence_with_teacher_forcing_then_closed_loop(self):
        """A deterministic cycle in which each symbol determines the next: trained only with teacher
        forcing, the model must then generate the whole sequence from its own outputs."""
        rng = np.random.default_rng(0)
        cycle = np.array([0, 3, 1, 4, 2])
        T, B = 15, 4
        target = np.tile(cycle, 3)[:T]
        Y = np.repeat(target[:, None], B, axis=1)
        X = np.ones((T, B, 1))              # no information in the input: memory must come from feedback
        m = rk.OutputToHiddenRNN(1, 16, 5, rng=rng)
        opt = rk.Adam(5e-2)
        for _ in range(200):
            loss, grads = m.loss_and_grads(X, Y)
            opt.step(m.params, grads)
        assert loss < 0.01
        tokens, _ = m.generate(X)
        np.testing.assert_array_equal(tokens, Y)
        assert m.closed_loop_loss(X, Y) < 0.01


def test_step_api_matches_sequence_logits(rng):
    for cell in ("rnn", "lstm", "gru"):
        m = rk.HiddenToHiddenRNN(3, 4, 5, rng=rng, cell=cell)
        X = rng.standard_normal((4, 2, 3))
        O, final = m.logits(X)
        state = m.init_state(2)
        for t in range(4):
            o, state = m.step(X[t], state)
            np.testing.assert_allclose(o, O[t], rtol=1e-12, atol=1e-14)


def test_init_params_shapes_and_forget_bias(rng):
    p = rk.init_params(3, 4, 5, rng=rng, cell="lstm")
    assert p["W"].shape == (16, 7) and p["b"].shape == (16,)
    np.testing.assert_array_equal(p["b"][4:8], 1.0)
    assert np.all(p["b"][:4] == 0) and np.all(p["b"][8:] == 0)
    with pytest.raises(ValueError, match="'cell' must be one of"):
        rk.init_params(3, 4, 5, rng=rng, cell="transformer")


# ---------------------------------------------------------------------------
# the ReLU cell (chapter 6)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("T,B", [(1, 1), (5, 3)])
def test_hidden_to_hidden_relu_gradients(T, B, rng):
    m = rk.HiddenToHiddenRNN(3, 4, 5, rng=rng, cell="relu")
    X, Y = rng.standard_normal((T, B, 3)), rng.integers(0, 5, (T, B))
    _check_model_grads(m, lambda: m.loss_and_grads(X, Y, m.init_state(B)))


def test_relu_cell_parameters_step_api_and_tbptt(rng):
    m = rk.HiddenToHiddenRNN(3, 4, 5, rng=rng, cell="relu")
    assert {k: v.shape for k, v in m.params.items()} == {"Wx": (4, 3), "Ws": (4, 4), "b": (4,), "Wy": (5, 4),
                                                          "c": (5,)}
    m.params["Ws"] = np.eye(4)                  # the IRNN initialisation of chapter 6
    X, Y = rng.standard_normal((6, 2, 3)), rng.integers(0, 5, (6, 2))
    O, final = m.logits(X)
    state = m.init_state(2)
    for t in range(6):
        o, state = m.step(X[t], state)
        np.testing.assert_allclose(o, O[t], rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(state, final)
    loss, grads = m.loss_and_grads(X, Y)
    loss_k, grads_k = rk.tbptt_loss_and_grads(m, X, Y, 6)
    assert loss_k == pytest.approx(loss, rel=1e-13)
    for name in grads:
        np.testing.assert_allclose(grads_k[name], grads[name], rtol=1e-12, atol=1e-15)
    # the relu model really is the relu layer plus the output layer
    Hs, _ = rk.relu_rnn_forward(X, np.zeros((2, 4)), m.params["Wx"], m.params["Ws"], m.params["b"])
    np.testing.assert_allclose(O, Hs @ m.params["Wy"].T + m.params["c"], rtol=1e-12, atol=1e-14)
