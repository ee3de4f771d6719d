"""Speed of rnnkit's forward+backward against PyTorch on the CPU.

Run ``python tools/bench.py`` (or ``make bench``). For each shape (T, B, D, H)
and dtype it times one forward and backward pass of the vanilla RNN and of
the LSTM (a sum of all hidden states as the loss, so every step receives a
gradient) and, when torch is importable, the same computation with
``torch.nn.RNN`` / ``torch.nn.LSTM`` and autograd in the same process with 2
threads. It prints the median time of each and the ratio rnnkit / torch
(below 1 means rnnkit is faster). Times are medians over three alternating
blocks of runs per library (see ``_median_times``), so single hiccups and
drifts of a noisy machine do not decide the ratio.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from rnnkit.layers import lstm_backward, lstm_forward, rnn_backward, rnn_forward

SHAPES = ((25, 1, 65, 100), (50, 32, 64, 128), (100, 64, 128, 256), (200, 16, 32, 64))


def _median_times(fns, repeats: int, blocks: int = 3) -> list[float]:
    """Median wall time of each function, measured in alternating blocks.

    Each function runs in ``blocks`` blocks of one untimed warm-up call plus ``repeats``
    timed calls, the blocks alternating between the functions (A-block, B-block,
    A-block, ...). Alternating blocks expose both libraries to the same drift of a
    noisy machine; the warm-up call at the start of each block lets the other
    library's thread pool go idle first (numpy's OpenBLAS and torch's OpenMP threads
    keep spinning for a moment after a call, and would otherwise slow the next call
    of the other library — timing single calls in alternation measures that
    contention, not the libraries).
    """
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(blocks):
        for fn, ts in zip(fns, times):
            fn()
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
    return [float(np.median(ts)) for ts in times]


def _numpy_case(cell: str, T, B, D, H, dtype, rng):
    X = rng.standard_normal((T, B, D)).astype(dtype)
    h0 = np.zeros((B, H), dtype)
    dHs = np.ones((T, B, H), dtype)
    if cell == "rnn":
        Wx = (rng.standard_normal((H, D)) / np.sqrt(D)).astype(dtype)
        Ws = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype)
        b = np.zeros(H, dtype)

        def run():
            Hs, cache = rnn_forward(X, h0, Wx, Ws, b)
            rnn_backward(dHs, cache)
    else:
        W = (rng.standard_normal((4 * H, H + D)) / np.sqrt(H + D)).astype(dtype)
        b = np.zeros(4 * H, dtype)

        def run():
            Hs, cache = lstm_forward(X, h0, h0, W, b)
            lstm_backward(dHs, cache)
    return run


def _torch_case(torch, cell: str, T, B, D, H, dtype):
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    layer = (torch.nn.RNN(D, H) if cell == "rnn" else torch.nn.LSTM(D, H)).to(tdtype)
    X = torch.randn(T, B, D, dtype=tdtype, requires_grad=True)

    def run():
        layer.zero_grad(set_to_none=True)
        X.grad = None
        out, _ = layer(X)
        out.sum().backward()
    return run


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per block (3 blocks per library)")
    parser.add_argument("--quick", action="store_true", help="only the first two shapes")
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm"], choices=["rnn", "lstm"])
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    args = parser.parse_args(argv)
    try:
        import torch
        torch.set_num_threads(2)
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    shapes = SHAPES[:2] if args.quick else SHAPES
    print(f"rnnkit forward+backward vs {'torch ' + torch.__version__ if torch else 'no torch (not installed)'}"
          f"; median of 3 alternating blocks of {args.repeats} runs")
    print(f"{'cell':5} {'dtype':8} {'T':>4} {'B':>4} {'D':>4} {'H':>4} {'rnnkit ms':>10} {'torch ms':>10} {'ratio':>6}")
    for cell in args.cells:
        for dtype in (np.dtype(d).type for d in args.dtypes):
            for T, B, D, H in shapes:
                cases = [_numpy_case(cell, T, B, D, H, dtype, rng)]
                if torch is not None:
                    cases.append(_torch_case(torch, cell, T, B, D, H, dtype))
                ours, *theirs = _median_times(cases, args.repeats)
                line = (f"{cell:5} {np.dtype(dtype).name:8} {T:4d} {B:4d} {D:4d} {H:4d} {ours * 1e3:10.2f}")
                if theirs:
                    line += f" {theirs[0] * 1e3:10.2f} {ours / theirs[0]:6.2f}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
