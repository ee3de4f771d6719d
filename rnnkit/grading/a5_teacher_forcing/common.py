"""a5-teacher-forcing: what the five checks share (cases, the reference, token comparison, judging)."""
from __future__ import annotations

import numpy as np

from ...data import shift_right

from .._core import Verdict, _Failure, diagnosed, distinct_sizes, modified_warning, returned


def _ctx(sizes, extra="", fixed=False, probe=None):
    text = ", ".join(f"{k}={v}" for k, v in sizes.items()) + extra + (", the fixed case" if fixed else "")
    return f"probe case {probe}, {text}" if probe else text


def _case(r, long=False, sizes=None):
    """Sizes and arrays of one case; ``sizes`` (all five letters) fixes them instead of drawing."""
    if sizes is None:
        sizes = distinct_sizes(r, "T B D H K", 2, 8)
        if long:  # token outputs are coarse: longer sequences and bigger batches make mistakes show
            sizes["T"], sizes["B"] = int(r.integers(8, 13)), int(r.integers(6, 10))
    sizes = {k: int(sizes[k]) for k in "TBDHK"}
    T, B, D, H, K = (sizes[k] for k in "TBDHK")
    p = {"X": r.standard_normal((T, B, D)), "Wx": r.standard_normal((H, D)) / np.sqrt(D),
         "Wo": r.standard_normal((H, K)), "b": 0.2 * r.standard_normal(H),
         "Wy": 2.0 * r.standard_normal((K, H)) / np.sqrt(H), "c": 0.2 * r.standard_normal(K),
         "Y": r.integers(0, K, size=(T, B))}
    return sizes, p


def _onehot(tokens, K):
    tokens = np.asarray(tokens)
    F = np.zeros(tokens.shape + (K,))
    mask = tokens >= 0
    F[mask, tokens[mask]] = 1.0
    return F


def _teacher(Y):
    return shift_right(Y)


def output_rnn_reference(X, F, Wx, Wo, b, Wy, c):
    """Logits and states of the output-recurrence model for one-hot feedback ``F`` (T, B, K)."""
    Hs = np.tanh(b + X @ Wx.T + F @ Wo.T)
    return Hs @ Wy.T + c, Hs


def _tokens(value, func, name, shape, shape_hints=None):
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iu":
        dtype = f" of dtype {value.dtype}" if isinstance(value, np.ndarray) else ""
        raise _Failure(f"{func}: {name} must be an integer numpy array; got {type(value).__name__}{dtype}.")
    arr = np.array(value, dtype=np.int64, copy=True, subok=False)
    if arr.shape != shape:
        hint = (shape_hints or {}).get(arr.shape, "")
        raise _Failure(f"{func}: {name} has shape {arr.shape}; expected (T, B) = {shape}." + (f" {hint}" if hint
                                                                                              else ""))
    return arr


def _merged(variants):
    """Variants with identical outputs on this case folded into one, their texts joined: on some inputs two
    mistakes give the same result, and the message must not pick one of them at random."""
    out = []
    for text, outs in variants:
        for i, (t0, o0) in enumerate(out):
            if set(o0) == set(outs) and all(o0[k].shape == outs[k].shape and np.allclose(o0[k], outs[k], rtol=1e-12,
                                                                                           atol=1e-12) for k in outs):
                if text not in t0:
                    out[i] = (f"{t0} Or: {text}", o0)
                break
        else:
            out.append((text, outs))
    return out


def _compare_tokens(func, got, expected, variants, context, note=""):
    if np.array_equal(got, expected):
        return Verdict(True, f"{func} correct ({context}).")
    wrong = np.argwhere(got != expected)
    t, i = (int(v) for v in wrong[0])
    msg = (f"{func}: {len(wrong)} of {expected.size} tokens differ; the first at step t={t + 1} (0-based index {t}), "
           f"sequence {i}: got {int(got[t, i])}, expected {int(expected[t, i])}.")
    causes = []   # on coarse token outputs two mistakes can give the same tokens: name each
    for text, v in variants:
        if v.shape == got.shape and np.array_equal(v, got) and text not in causes:
            causes.append(text)
    if causes:
        msg += " Likely cause: " + " Or: ".join(causes)
    return Verdict(False, msg + note + f"\n(Checked on fresh inputs: {context}.)")


# ---------------------------------------------------------------------------
# the hidden test cells: build (draw the inputs) and judge (the recorded return values)
# ---------------------------------------------------------------------------

def _judge_all(cases, records, func, names, arg_names, judge_one, probes=(), terms=None, modified_text=None):
    """Judge every case and probe case; one verdict (see :func:`rnnkit.grading._core.diagnosed`)."""
    verdicts = []
    for i, case in enumerate(cases):
        try:
            verdicts.append(judge_one(case, returned(records, i, func, names), records[i]))
        except _Failure as f:  # this case stopped (an exception, a wrong type): say which inputs it was
            sizes = case["sizes"] if "p_truth" not in case else {**case["sizes"], "p_truth": case["p_truth"]}
            verdicts.append(Verdict(False, f"{f}\n(Checked on fresh inputs: "
                                           f"{_ctx(sizes, fixed=case['fixed'], probe=case.get('probe'))}.)"))
    main = [v for c, v in zip(cases, verdicts) if not c.get("probe")]
    probed = {c["probe"]: v for c, v in zip(cases, verdicts) if c.get("probe")}
    warning = modified_warning(records, func, arg_names)
    passed = main[0].message
    if passed.endswith(")."):
        passed = passed[:-2] + ", and fixed and probe cases)."
    return diagnosed(func, main, probed, probes=probes, terms=terms,
                     also=[(modified_text or warning) if warning else ""], passed_text=passed)
