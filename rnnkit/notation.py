r"""One notation, mapped once to the others.

rnnkit uses the names the book teaches first (Wx, Ws, Wy: input, state and output
weights) plus the biases b and c; Goodfellow et al. (2016) call the same matrices U, W and V. PyTorch
stores input and recurrent weights separately, keeps two bias vectors (whose
sum is our ``b``) and orders the LSTM gates i, f, g, o where rnnkit uses
i, f, o, g on the stacked vector [h; x].

Adapters return plain numpy arrays (float64 unless the inputs are float32);
they accept numpy arrays or CPU tensors (anything with ``.detach()``) in state
dicts, so rnnkit itself never imports torch.

See :doc:`/book/notation`.
"""
from __future__ import annotations

import numpy as np

from ._validate import check_array, check_float_array

__all__ = ["NAME_TABLE", "goodfellow_to_rnnkit", "rnnkit_to_goodfellow", "rnn_to_torch", "rnn_from_torch",
           "lstm_to_torch", "lstm_from_torch", "gru_to_torch", "gru_from_torch"]

#: (meaning, Goodfellow, the book's first notation, rnnkit name, rnnkit shape, PyTorch ``nn.RNN`` name)
NAME_TABLE = (
    ("input → state", "U", "Wx", "Wx", "(H, D)", "weight_ih_l0"),
    ("state → state", "W", "Ws", "Ws", "(H, H)", "weight_hh_l0"),
    ("state → output", "V", "Wy", "Wy", "(K, H)", "— (a separate nn.Linear: weight)"),
    ("state bias", "b", "—", "b", "(H,)", "bias_ih_l0 + bias_hh_l0"),
    ("output bias", "c", "—", "c", "(K,)", "— (nn.Linear: bias)"),
    ("state at step t", "h⁽ᵗ⁾", "s_t", "Hs[t-1]", "(B, H)", "output[t-1]"),
    ("input sequence", "x⁽¹⁾…x⁽ᵀ⁾", "x_t", "X", "(T, B, D)", "input (seq_len, batch, input_size)"),
)

_RNNKIT_TO_GOODFELLOW = {"Wx": "U", "Ws": "W", "Wy": "V", "b": "b", "c": "c"}


def goodfellow_to_rnnkit(U, W, V, b, c) -> dict:
    """Rename Goodfellow's (U, W, V, b, c) to rnnkit's (Wx, Ws, Wy, b, c); shapes are unchanged.

    Returns
    -------
    dict with Wx (H, D), Ws (H, H), Wy (K, H), b (H,), c (K,)
    """
    sizes: dict[str, int] = {}
    f = "goodfellow_to_rnnkit"
    return {"Wx": check_array(f, "U", U, "H D", sizes), "Ws": check_array(f, "W", W, "H H", sizes),
            "Wy": check_array(f, "V", V, "K H", sizes), "b": check_array(f, "b", b, "H", sizes),
            "c": check_array(f, "c", c, "K", sizes)}


def rnnkit_to_goodfellow(params: dict) -> dict:
    """Rename an rnnkit parameter dict (Wx, Ws, Wy, b, c) to Goodfellow's (U, W, V, b, c)."""
    missing = set(_RNNKIT_TO_GOODFELLOW) - set(params)
    if missing:
        raise ValueError(f"rnnkit_to_goodfellow: argument 'params' lacks {sorted(missing)}")
    return {_RNNKIT_TO_GOODFELLOW[k]: params[k] for k in _RNNKIT_TO_GOODFELLOW}


def _array(func: str, sd: dict, key: str) -> np.ndarray:
    if key not in sd:
        raise ValueError(f"{func}: the state dict has no entry '{key}' (keys: {sorted(sd)})")
    v = sd[key]
    if hasattr(v, "detach"):          # a torch tensor; duck-typed so rnnkit never imports torch
        v = v.detach().cpu().numpy()
    return check_float_array(func, key, v)


# -- vanilla RNN ---------------------------------------------------------------

def rnn_to_torch(Wx, Ws, b) -> dict:
    """State dict (numpy arrays) for a one-layer ``torch.nn.RNN(D, H, nonlinearity="tanh")``.

    The whole bias goes to ``bias_ih_l0``; ``bias_hh_l0`` is zero.
    """
    sizes: dict[str, int] = {}
    Wx = check_array("rnn_to_torch", "Wx", Wx, "H D", sizes)
    Ws = check_array("rnn_to_torch", "Ws", Ws, "H H", sizes)
    b = check_array("rnn_to_torch", "b", b, "H", sizes)
    return {"weight_ih_l0": Wx.copy(), "weight_hh_l0": Ws.copy(), "bias_ih_l0": b.copy(),
            "bias_hh_l0": np.zeros_like(b)}


def rnn_from_torch(state_dict: dict):
    """(Wx (H, D), Ws (H, H), b (H,)) from a ``torch.nn.RNN`` state dict; b = bias_ih + bias_hh."""
    f = "rnn_from_torch"
    return (_array(f, state_dict, "weight_ih_l0"), _array(f, state_dict, "weight_hh_l0"),
            _array(f, state_dict, "bias_ih_l0") + _array(f, state_dict, "bias_hh_l0"))


# -- LSTM -----------------------------------------------------------------------
# rnnkit's row blocks are (i, f, o, g); torch's are (i, f, g, o).
_RNNKIT_FROM_TORCH_BLOCKS = (0, 1, 3, 2)


def _reorder(a: np.ndarray, H: int) -> np.ndarray:
    """Swap the last two H-row blocks (the permutation is its own inverse)."""
    blocks = [a[k * H:(k + 1) * H] for k in range(4)]
    return np.concatenate([blocks[k] for k in _RNNKIT_FROM_TORCH_BLOCKS])


def lstm_to_torch(W, b) -> dict:
    """State dict for ``torch.nn.LSTM(D, H)`` from rnnkit's W (4H, H + D) and b (4H,)."""
    sizes: dict[str, int] = {}
    W = check_array("lstm_to_torch", "W", W, "4H H+D", sizes)
    b = check_array("lstm_to_torch", "b", b, "4H", sizes)
    H = sizes["H"]
    return {"weight_ih_l0": _reorder(W[:, H:], H), "weight_hh_l0": _reorder(W[:, :H], H),
            "bias_ih_l0": _reorder(b, H), "bias_hh_l0": np.zeros_like(b)}


def lstm_from_torch(state_dict: dict):
    """(W (4H, H + D), b (4H,)) in rnnkit's layout from a ``torch.nn.LSTM`` state dict."""
    f = "lstm_from_torch"
    w_ih, w_hh = _array(f, state_dict, "weight_ih_l0"), _array(f, state_dict, "weight_hh_l0")
    H = w_hh.shape[1]
    b = _array(f, state_dict, "bias_ih_l0") + _array(f, state_dict, "bias_hh_l0")
    return _reorder(np.concatenate([w_hh, w_ih], axis=1), H), _reorder(b, H)


# -- GRU (same gate order r, z, n as torch) ---------------------------------------

def gru_to_torch(Wx, Wh, bx, bh) -> dict:
    """State dict for ``torch.nn.GRU(D, H)``; rnnkit's GRU already uses torch's layout."""
    sizes: dict[str, int] = {}
    f = "gru_to_torch"
    return {"weight_ih_l0": check_array(f, "Wx", Wx, "3H D", sizes).copy(),
            "weight_hh_l0": check_array(f, "Wh", Wh, "3H H", sizes).copy(),
            "bias_ih_l0": check_array(f, "bx", bx, "3H", sizes).copy(),
            "bias_hh_l0": check_array(f, "bh", bh, "3H", sizes).copy()}


def gru_from_torch(state_dict: dict):
    """(Wx, Wh, bx, bh) from a ``torch.nn.GRU`` state dict (the two biases stay separate)."""
    f = "gru_from_torch"
    return tuple(_array(f, state_dict, k) for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"))
