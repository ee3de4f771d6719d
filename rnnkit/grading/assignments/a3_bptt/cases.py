"""a3-bptt: the cases every cell draws (sizes T, B, D, H and K), the fixed cases, and the caches the notebook
prescribes."""
from __future__ import annotations

import numpy as np

import rnnkit
from rnnkit.grading.engine import distinct_sizes

#: Dimension letters of every argument and output, for shape messages.
DIMS = {"X": "T B D", "x": "B D", "h0": "B H", "h_prev": "B H", "Hs": "T B H", "h": "B H",
        "dX": "T B D", "dx": "B D", "dh0": "B H", "dh_prev": "B H", "dWx": "H D", "dWs": "H H", "db": "H",
        "dHs": "T B H", "dWy": "K H", "dc": "K"}
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def sup(n: int) -> str:
    """``3`` -> ``⁽³⁾`` (a time index as the book writes it)."""
    return "⁽" + str(n).translate(_SUP) + "⁾"


def case_of(rng: np.random.Generator, sizes: dict) -> dict:
    """Float64 inputs of the given sizes, scaled so that the pre-activations stay around ±1, where tanh′ is far
    from both 0 and 1 (a missing tanh′ changes every gradient visibly)."""
    T, B, D, H = sizes["T"], sizes["B"], sizes["D"], sizes["H"]
    case = {"sizes": dict(sizes), "X": rng.standard_normal((T, B, D)), "h0": 0.5 * rng.standard_normal((B, H)),
            "Wx": rng.standard_normal((H, D)) / np.sqrt(D), "Ws": 0.8 * rng.standard_normal((H, H)) / np.sqrt(H),
            "b": 0.2 * rng.standard_normal(H), "dHs": rng.standard_normal((T, B, H))}
    if "K" in sizes:
        case["Wy"] = rng.standard_normal((sizes["K"], H)) / np.sqrt(H)
        case["dO"] = rng.standard_normal((T, B, sizes["K"]))
    return case


def draw(rng: np.random.Generator) -> dict:
    """The random case: pairwise different sizes T, B, D, H from 3 to 8 (a misplaced axis is a shape error)."""
    return case_of(rng, distinct_sizes(rng, "T B D H", 3, 8))


def draw_with_output(rng: np.random.Generator) -> dict:
    """The random case of the output layer (K too)."""
    return case_of(rng, distinct_sizes(rng, "T B D H K", 3, 8))


def edge(with_output: bool = False):
    """The fixed case T = B = 1 (one step, one sequence), judged on every run besides the random draw."""
    def make():
        sizes = {"T": 1, "B": 1, "D": 3, "H": 4, **({"K": 2} if with_output else {})}
        return case_of(np.random.default_rng(20261201), sizes)
    return make


def probe_base(with_output: bool = False):
    """The fixed case probes are made from: sizes all different, T ≥ 3 so that carries show, D > H so that inputs
    with a zero pre-activation exist (:func:`zero_preactivation`)."""
    def make():
        sizes = {"T": 4, "B": 3, "D": 7, "H": 5, **({"K": 2} if with_output else {})}
        return case_of(np.random.default_rng(20261202), sizes)
    return make


def resized(case: dict, **arrays) -> dict:
    """A copy of ``case`` with some arrays replaced, its sizes recomputed."""
    new = {**case, **arrays}
    T, B, D = new["X"].shape
    new["sizes"] = {"T": T, "B": B, "D": D, "H": new["Wx"].shape[0]}
    if "Wy" in new:
        new["sizes"]["K"] = new["Wy"].shape[0]
    return new


def zero(case: dict, *names) -> dict:
    return resized(case, **{n: np.zeros_like(case[n]) for n in names})


def at_step_only(case: dict, name: str, t: int) -> dict:
    a = np.zeros_like(case[name])
    a[t] = case[name][t]
    return resized(case, **{name: a})


def steps(case: dict, T: int) -> dict:
    return resized(case, **{k: case[k][:T] for k in ("X", "dHs", "dO") if k in case})


def rows(case: dict, B: int) -> dict:
    return resized(case, h0=case["h0"][:B], **{k: case[k][:, :B] for k in ("X", "dHs", "dO") if k in case})


def zero_preactivation(case: dict, h0_zero: bool = False) -> dict:
    """Inputs whose every pre-activation is 0, so that every state is 0 and tanh′ = 1 however it is computed
    (from the cached state, or from a pre-activation rebuilt from the cache): b = 0, and each x⁽ᵗ⁾ solves
    x⁽ᵗ⁾ @ Wx.T = −h⁽ᵗ⁻¹⁾ @ Ws.T (plus a part Wx maps to 0, so that the inputs are not 0)."""
    X, h0, Wx, Ws = case["X"], (0 * case["h0"] if h0_zero else case["h0"]), case["Wx"], case["Ws"]
    _, _, Vt = np.linalg.svd(Wx)
    null = Vt[Wx.shape[0]:]                      # (D - H, D): rows x with x @ Wx.T = 0
    X = X @ null.T @ null                        # the part of each input Wx does not see
    X[0] = X[0] - h0 @ Ws.T @ np.linalg.pinv(Wx).T
    return resized(case, X=X, h0=h0, b=np.zeros_like(case["b"]))


def states(case: dict) -> np.ndarray:
    """The states h⁽¹⁾ … h⁽ᵀ⁾ of the reference forward pass."""
    return rnnkit.rnn_forward(case["X"], case["h0"], case["Wx"], case["Ws"], case["b"])[0]


def step_cache(case: dict) -> tuple:
    """The cache the notebook prescribes for one step (step t=1 of the case): ``(x, h_prev, h, Wx, Ws)``."""
    h, _ = rnnkit.rnn_step_forward(case["X"][0], case["h0"], case["Wx"], case["Ws"], case["b"])
    return (case["X"][0], case["h0"], h, case["Wx"], case["Ws"])


def seq_cache(case: dict) -> tuple:
    """The cache the notebook prescribes for a sequence: ``(X, h0, Hs, Wx, Ws)``."""
    return (case["X"], case["h0"], states(case), case["Wx"], case["Ws"])
