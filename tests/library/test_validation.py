"""Malformed calls: each must raise ValueError naming the function, the argument, the expected
shape in dimension letters, and the actual shape (or the offending value)."""
import numpy as np
import pytest

import rnnkit as rk

T, B, D, H, K = 3, 2, 4, 5, 6
z = np.zeros


def ok_rnn():
    return dict(X=z((T, B, D)), h0=z((B, H)), Wx=z((H, D)), Ws=z((H, H)), b=z(H))


def ok_lstm():
    return dict(X=z((T, B, D)), h0=z((B, H)), c0=z((B, H)), W=z((4 * H, H + D)), b=z(4 * H))


def with_(base, **changes):
    d = base()
    d.update(changes)
    return d


nan_X = z((T, B, D))
nan_X[1, 0, 2] = np.nan

CASES = [
    # (id, function, kwargs, words that must appear in the message)
    ("X rank", rk.rnn_forward, with_(ok_rnn, X=z((B, D))), ["rnn_forward", "'X'", "(T, B, D)", "(2, 4)"]),
    ("Wx transposed", rk.rnn_forward, with_(ok_rnn, Wx=z((D, H))), ["'Wx'", "(H, D)", "(4, 5)"]),
    ("h0 batch", rk.rnn_forward, with_(ok_rnn, h0=z((B + 1, H))), ["'h0'", "(B, H)", "B=2", "(3, 5)"]),
    ("Ws not square", rk.rnn_forward, with_(ok_rnn, Ws=z((H, H + 1))), ["'Ws'", "(H, H)", "(5, 6)"]),
    ("b shape", rk.rnn_forward, with_(ok_rnn, b=z((1, H))), ["'b'", "(H,)", "(1, 5)"]),
    ("NaN input", rk.rnn_forward, with_(ok_rnn, X=nan_X), ["'X'", "NaN"]),
    ("int input", rk.rnn_forward, with_(ok_rnn, X=z((T, B, D), int)), ["'X'", "floating-point", "int"]),
    ("None", rk.rnn_forward, with_(ok_rnn, h0=None), ["'h0'", "None", "(B, H)"]),
    ("step x rank", rk.rnn_step_forward,
     dict(x=z((T, B, D)), h_prev=z((B, H)), Wx=z((H, D)), Ws=z((H, H)), b=z(H)), ["rnn_step_forward", "'x'", "(B, D)"]),
    ("lstm W cols", rk.lstm_forward, with_(ok_lstm, W=z((4 * H, H))), ["lstm_forward", "'W'", "(4H, H+D)", "(20, 5)"]),
    ("lstm W rows", rk.lstm_forward, with_(ok_lstm, W=z((3 * H, H + D))), ["'W'", "4H", "(15, 9)"]),
    ("lstm c0", rk.lstm_forward, with_(ok_lstm, c0=z((B, H + 1))), ["'c0'", "(B, H)", "(2, 6)"]),
    ("lstm b", rk.lstm_forward, with_(ok_lstm, b=z(H)), ["'b'", "(4H,)", "(5,)"]),
    ("gru Wh", rk.gru_forward, dict(X=z((T, B, D)), h0=z((B, H)), Wx=z((3 * H, D)), Wh=z((3 * H, D)),
                                   bx=z(3 * H), bh=z(3 * H)), ["gru_forward", "'Wh'", "(3H, H)"]),
    ("affine Wy", rk.affine_forward, dict(Hs=z((T, B, H)), Wy=z((H, K)), c=z(K)), ["affine_forward", "'Wy'", "(K, H)"]),
    ("sce float labels", rk.softmax_cross_entropy, dict(O=z((T, B, K)), Y=z((T, B))),
     ["softmax_cross_entropy", "'Y'", "integer", "float64"]),
    ("sce label range", rk.softmax_cross_entropy, dict(O=z((T, B, K)), Y=np.full((T, B), K)),
     ["'Y'", "[0, K)", "K=6"]),
    ("sce label shape", rk.softmax_cross_entropy, dict(O=z((T, B, K)), Y=z((B, T), int)), ["'Y'", "(T, B)", "(2, 3)"]),
    ("sce reduction", rk.softmax_cross_entropy, dict(O=z((T, B, K)), Y=z((T, B), int), reduction="avg"),
     ["'reduction'", "'avg'"]),
    ("one_hot range", rk.one_hot, dict(ids=np.array([0, 7]), K=3), ["one_hot", "'ids'", "K=3"]),
    ("clip limit", rk.clip_by_value, dict(grads={"a": z(2)}, limit=0), ["'limit'", "positive"]),
    ("clip nan", rk.clip_by_global_norm, dict(grads={"Ws": np.array([np.nan])}, max_norm=1.0), ["'Ws'", "NaN"]),
    ("lm_batches short", rk.lm_batches, dict(ids=np.arange(10), B=4, T=5), ["lm_batches", "too few"]),
    ("goodfellow V", rk.goodfellow_to_rnnkit, dict(U=z((H, D)), W=z((H, H)), V=z((H, K)), b=z(H), c=z(K)),
     ["'V'", "(K, H)"]),
]


@pytest.mark.parametrize("name,func,kwargs,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_clear_error(name, func, kwargs, words):
    with pytest.raises(ValueError) as info:
        func(**kwargs)
    message = str(info.value)
    for w in words:
        assert w in message, f"{w!r} missing from: {message}"


def test_good_inputs_pass():
    """The fixtures above are valid apart from the one change each case makes."""
    rk.rnn_forward(**ok_rnn())
    rk.lstm_forward(**ok_lstm())


@pytest.mark.parametrize("backward,forward,kwargs,dname", [
    (rk.rnn_backward, rk.rnn_forward, ok_rnn(), "dHs"),
    (rk.lstm_backward, rk.lstm_forward, ok_lstm(), "dHs"),
])
def test_backward_checks_upstream_gradient_shape(backward, forward, kwargs, dname):
    out, cache = forward(**kwargs)
    with pytest.raises(ValueError, match=rf"'{dname}' must have shape \(T, B, H\)"):
        backward(np.zeros((T, B, H + 1)), cache)


def test_model_rejects_wrong_input_size(rng):
    m = rk.HiddenToHiddenRNN(D, H, K, rng=rng)
    with pytest.raises(ValueError, match=r"'X' must have shape \(T, B, D\) with D=4"):
        m.loss_and_grads(z((T, B, D + 1)), z((T, B), int))
