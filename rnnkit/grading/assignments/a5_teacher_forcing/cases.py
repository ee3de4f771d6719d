r"""a5-teacher-forcing: the cases its five graded functions share, and the model they compute.

The model is :class:`rnnkit.models.OutputToHiddenRNN`:
:math:`h^{(t)} = \tanh(b + W_x x^{(t)} + W_o\, \mathrm{onehot}(f^{(t)}))`, :math:`o^{(t)} = c + W_y h^{(t)}`,
with :math:`f^{(t)}` the token fed into step t (``-1``: nothing, a zero vector). A case is a dict of the
model's arrays (``X`` (T, B, D), ``Wx`` (H, D), ``Wo`` (H, K), ``b`` (H,), ``Wy`` (K, H), ``c`` (K,)), the
targets ``Y`` (T, B), and ``"sizes"`` (the letters T, B, D, H, K).
"""
from __future__ import annotations

import numpy as np

from rnnkit.data import one_hot, shift_right
from rnnkit.grading.engine import Mistake, ProbeRule, distinct_sizes
from rnnkit.models import OutputToHiddenRNN

#: The model's parameters, in the order the graded functions take them.
PARAMS = ("Wx", "Wo", "b", "Wy", "c")


def draw_model(r: np.random.Generator, sizes: dict | None = None, long: bool = False) -> dict:
    """A case: sizes (drawn pairwise different in 2..8 unless ``sizes`` gives all five letters) and arrays.

    ``long``: T in 8..12 and B in 6..9 (not K), for the functions that return tokens: a token is a coarse
    output, and longer sequences and bigger batches make a mistake change at least one of them.
    """
    if sizes is None:
        sizes = distinct_sizes(r, "T B D H K", 2, 8)
        if long:
            sizes["T"], sizes["B"] = int(r.integers(8, 13)), int(r.integers(6, 10))
            if sizes["B"] == sizes["K"]:  # B and K stay different: a reduction over the wrong one shows
                sizes["B"] = 9            # (K <= 8)
    sizes = {k: int(sizes[k]) for k in "TBDHK"}
    T, B, D, H, K = (sizes[k] for k in "TBDHK")
    return {"sizes": sizes, "X": r.standard_normal((T, B, D)), "Wx": r.standard_normal((H, D)) / np.sqrt(D),
            "Wo": r.standard_normal((H, K)), "b": 0.2 * r.standard_normal(H),
            "Wy": 2.0 * r.standard_normal((K, H)) / np.sqrt(H), "c": 0.2 * r.standard_normal(K),
            "Y": r.integers(0, K, size=(T, B))}


def fed_one_hot(tokens, K: int) -> np.ndarray:
    """One-hot vectors (..., K) of fed tokens; the token -1 (nothing fed) gives a zero vector (the notebook's
    ``one_hot_feedback``)."""
    tokens = np.asarray(tokens)
    return one_hot(np.maximum(tokens, 0), K) * (tokens >= 0)[..., None]


def teacher_tokens(Y) -> np.ndarray:
    """The tokens fed under teacher forcing: ``Y`` shifted right by one step, -1 first."""
    return shift_right(np.asarray(Y))


def states(case: dict, F=None, *, tanh: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(O, Hs)`` of the model for the one-hot feedback ``F`` (T, B, K) (default: the case's ``feedback``).
    ``tanh=False``: the pre-activation in place of the states."""
    if F is None:
        F = fed_one_hot(case["feedback"], case["sizes"]["K"])
    A = case["b"] + case["X"] @ case["Wx"].T + F @ case["Wo"].T
    Hs = np.tanh(A) if tanh else A
    return case["c"] + Hs @ case["Wy"].T, Hs


def model_of(case: dict) -> OutputToHiddenRNN:
    """rnnkit's model with the case's parameters."""
    s = case["sizes"]
    model = OutputToHiddenRNN(s["D"], s["H"], s["K"], rng=np.random.default_rng(0))
    model.params = {k: np.array(case[k], dtype=np.float64) for k in PARAMS}
    return model


def resized(case: dict, **sizes) -> dict:
    """The case cut to the first ``T`` steps and/or ``B`` sequences (arrays with those leading axes)."""
    T, B = sizes.get("T", case["sizes"]["T"]), sizes.get("B", case["sizes"]["B"])
    out = {"sizes": {**case["sizes"], "T": T, "B": B}}
    for k, v in case.items():
        if k in ("X", "Y", "feedback", "dO"):
            out[k] = v[:T, :B]
        elif k != "sizes":
            out[k] = v
    return out


def zeroed(case: dict, *names: str) -> dict:
    """The case with the arrays ``names`` set to zero (a probe switching a part of the model off)."""
    return {**case, **{k: np.zeros_like(case[k]) for k in names}}


def _same(a, b) -> bool:
    """Two outputs of mistakes equal (a cache: entry by entry)."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and all(map(_same, a, b))
    return np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-12, atol=1e-12)


def merged(mistakes: list) -> list:
    """``(name, text, outputs)`` triples whose outputs are equal on this case folded into one, the texts joined
    with "Or:": on a coarse output two mistakes can give the same result, and the verdict must name both."""
    out = []
    for name, text, outs in mistakes:
        for i, (n0, t0, o0) in enumerate(out):
            if set(o0) == set(outs) and all(_same(o0[k], outs[k]) for k in outs):
                out[i] = (n0 if name in n0 else f"{n0}|{name}", t0 if text in t0 else f"{t0} Or: {text}", o0)
                break
        else:
            out.append((name, text, outs))
    return out

def as_mistakes(triples: list) -> list:
    """``(name, text, {output: array})`` triples as Mistakes, those equal on this case merged."""
    return [Mistake(name, text, lambda case, outs=outs: outs) for name, text, outs in merged(triples)]


def concluded(*parts: str) -> str:
    """A probe conclusion (the engine puts "So " before it): the part or parts of the model at fault."""
    return "the mistake is in " + ", or in ".join(parts) + "."


def located(right: tuple, *parts: str, wrong: tuple = ()) -> ProbeRule:
    """The rule "the random case is wrong, the probes ``right`` are right (and ``wrong`` wrong): the mistake is in
    ``parts``" (a probe right although the random case is wrong points at what it switches off)."""
    return ProbeRule(wrong=("full",) + tuple(wrong), right=tuple(right), text=concluded(*parts))


def model_arrays_note(names) -> dict:
    """``argument_notes`` for the model's inputs and parameters: why a write into them matters."""
    return {n: f"{n} is one of the model's arrays, which the caller uses again (the next step of training or "
               f"generation)." for n in names}
