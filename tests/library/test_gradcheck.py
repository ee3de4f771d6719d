import numpy as np
import pytest

import rnnkit as rk


def test_numerical_gradient_of_known_function_and_restores_input(rng):
    x = rng.standard_normal((3, 4))
    before = x.copy()
    g = rk.numerical_gradient(lambda: float(np.sum(np.sin(x))), x)
    np.testing.assert_allclose(g, np.cos(x), rtol=1e-8)   # central difference error O(eps²) = 1e-10
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_restores_input_when_f_raises(rng):
    x = rng.standard_normal(3)
    before = x.copy()

    def f():
        if x[0] != before[0]:
            raise RuntimeError("boom")
        return 0.0
    with pytest.raises(RuntimeError):
        rk.numerical_gradient(f, x)
    np.testing.assert_array_equal(x, before)


def test_rel_error_is_safe_at_zero_and_never_passes_nan():
    assert rk.rel_error(0.0, 0.0) == 0.0
    assert rk.rel_error(1e-12, 0.0) < 1e-3          # tiny absolute difference stays tiny
    assert rk.rel_error(np.nan, 1.0) == np.inf
    assert rk.rel_error(np.inf, np.inf) == np.inf
    assert rk.gradient_error(np.zeros(3), np.zeros(4)).min() == np.inf   # shape mismatch


def test_report_names_the_parameter_and_time_step_of_a_bug(rng):
    """A backward that drops the carried gradient is right only at the last step."""
    def buggy_backward(dHs, cache):
        dX, dh0, dWx, dWs, db = rk.rnn_backward(dHs, cache)
        X, h0, Hs, Wx, Ws = cache
        wrong_dX = np.stack([(dHs[t] * (1 - Hs[t] ** 2)) @ Wx for t in range(len(Hs))])  # no carry
        return wrong_dX, dh0, dWx, dWs, db
    T, B, D, H = 5, 2, 3, 4
    inputs = dict(X=rng.standard_normal((T, B, D)), h0=rng.standard_normal((B, H)),
                  Wx=rng.standard_normal((H, D)), Ws=rng.standard_normal((H, H)), b=rng.standard_normal(H))
    report = rk.check_layer_gradients(rk.rnn_forward, buggy_backward, inputs, ["X", "h0", "Wx", "Ws", "b"],
                                      rng=rng, time_axes={"X": 0})
    assert not report.ok
    assert report.worst_name == "X"
    assert report.worst_step is not None and report.worst_step < T     # the last step is right
    assert report.errors["Wx"] < 1e-6
    assert "FAILED" in str(report) and "time step" in str(report)
