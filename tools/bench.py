"""Speed of rnnkit against PyTorch on the CPU (a developer tool: not part of the installed package).

Run ``python tools/bench.py`` (or ``make bench``). Three tables:

1. **Layers.** For each shape (T, B, D, H) and dtype, one forward and backward pass of the vanilla
   RNN and of the LSTM (a sum of all hidden states as the loss, so every step receives a
   gradient) and, when torch is importable, the same computation with ``torch.nn.RNN`` /
   ``torch.nn.LSTM`` and autograd in the same process with 2 threads; the ratio rnnkit / torch
   (below 1 means rnnkit is faster). ``--torch-threads`` and ``OPENBLAS_NUM_THREADS`` choose the threads.
2. **Matrix products.** For the LSTM, the share of the forward and of the backward pass spent in
   its matrix products, measured by timing the same products (same shapes, same number) alone;
   the rest is element-wise work and Python overhead.
3. **Chapter 9's training loop.** LSTM with H = 128, batches of 32 streams x 50 characters,
   float32, softmax cross-entropy, global-norm clipping at 5 and Adam, the state carried across
   batches: characters per second of rnnkit and of the same loop written in torch.

Times are medians over three alternating blocks of runs per library (see ``_median_times``), so
single hiccups and drifts of a noisy machine do not decide the ratio.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

import rnnkit as rk
from rnnkit.layers import lstm_backward, lstm_forward

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


def _numpy_case(cell: str, T, B, D, H, dtype, rng, lib=rk):
    """One forward and backward pass of ``cell`` with rnnkit (or another version of it, ``lib``) on inputs
    drawn from ``rng``; returns a function running it."""
    X = rng.standard_normal((T, B, D)).astype(dtype)
    h0 = np.zeros((B, H), dtype)
    dHs = np.ones((T, B, H), dtype)
    if cell == "rnn":
        Wx = (rng.standard_normal((H, D)) / np.sqrt(D)).astype(dtype)
        Ws = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype)
        b = np.zeros(H, dtype)

        def run():
            Hs, cache = lib.rnn_forward(X, h0, Wx, Ws, b)
            lib.rnn_backward(dHs, cache)
    else:
        W = (rng.standard_normal((4 * H, H + D)) / np.sqrt(H + D)).astype(dtype)
        b = np.zeros(4 * H, dtype)

        def run():
            Hs, cache = lib.lstm_forward(X, h0, h0, W, b)
            lib.lstm_backward(dHs, cache)
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


def _lstm_passes(T, B, D, H, dtype, rng):
    """The rnnkit LSTM forward alone, the backward alone, and the matrix products of each alone."""
    X = rng.standard_normal((T, B, D)).astype(dtype)
    h0 = np.zeros((B, H), dtype)
    dHs = np.ones((T, B, H), dtype)
    W = (rng.standard_normal((4 * H, H + D)) / np.sqrt(H + D)).astype(dtype)
    b = np.zeros(4 * H, dtype)
    cache = lstm_forward(X, h0, h0, W, b)[1]
    K1 = H + D + 1                                  # [h; x; 1]
    W1, WhT, Wx = (np.ascontiguousarray(m) for m in (rng.standard_normal((4 * H, K1)).astype(dtype),
                                                      W[:, :H].T, W[:, H:]))
    z = rng.standard_normal((K1, B)).astype(dtype)
    da = rng.standard_normal((4 * H, B)).astype(dtype)
    dA_all = rng.standard_normal((4 * H, T * B)).astype(dtype)
    Z_all = rng.standard_normal((K1, T * B)).astype(dtype)
    gates = np.empty((4 * H, B), dtype)
    dh = np.empty((H, B), dtype)

    def forward_gemms():          # one product [W b] [h; x; 1] per step
        for _ in range(T):
            np.matmul(W1, z, out=gates)

    def backward_gemms():         # one recurrent product per step, then [dW db] and dX
        for _ in range(T):
            np.matmul(WhT, da, out=dh)
        dA_all @ Z_all.T
        dA_all.T @ Wx
    return (lambda: lstm_forward(X, h0, h0, W, b), lambda: lstm_backward(dHs, cache), forward_gemms,
            backward_gemms)


def _one_hot_batches(K, n_batches, T, B, rng):
    ids = rng.integers(0, K, size=(n_batches, T + 1, B))
    return [(ids[j, :-1], ids[j, 1:]) for j in range(n_batches)]


def _rnnkit_training(K, H, T, B, steps, rng, lib=rk):
    """``steps`` steps of chapter 9's loop (as in ``train_lm`` there) with rnnkit (or another version of it,
    ``lib``); returns a function running them."""
    model = lib.HiddenToHiddenRNN(K, H, K, rng=np.random.default_rng(0), cell="lstm", dtype=np.float32)
    optimizer = lib.Adam(1e-2)
    one_hot = np.eye(K, dtype=np.float32)
    batches = _one_hot_batches(K, steps, T, B, rng)

    def run():
        state = model.init_state(B)
        for inputs, targets in batches:
            loss, grads, state = model.loss_and_grads(one_hot[inputs], targets, state, return_state=True)
            grads, _ = lib.clip_by_global_norm(grads, 5.0)
            optimizer.step(model.params, grads)
    return run


def _torch_training(torch, K, H, T, B, steps, rng):
    """The same loop in torch: nn.LSTM + nn.Linear, cross-entropy, clip_grad_norm_, Adam."""
    torch.manual_seed(0)
    lstm, out = torch.nn.LSTM(K, H), torch.nn.Linear(H, K)
    params = list(lstm.parameters()) + list(out.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-2)
    eye = torch.eye(K)
    batches = [(eye[torch.from_numpy(i)], torch.from_numpy(t)) for i, t in _one_hot_batches(K, steps, T, B, rng)]

    def run():
        state = None
        for inputs, targets in batches:
            optimizer.zero_grad(set_to_none=True)
            Hs, state = lstm(inputs, state)
            loss = torch.nn.functional.cross_entropy(out(Hs).reshape(T * B, K), targets.reshape(T * B))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            optimizer.step()
            state = tuple(s.detach() for s in state)
    return run


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per block (3 blocks per library)")
    parser.add_argument("--quick", action="store_true", help="only the first two shapes")
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm"], choices=["rnn", "lstm"])
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    parser.add_argument("--parts", nargs="+", default=["layers", "gemm", "training"],
                        choices=["layers", "gemm", "training"], help="which tables to print")
    parser.add_argument("--train-steps", type=int, default=20, help="training steps per timed run (table 3)")
    parser.add_argument("--torch-threads", type=int, default=2,
                        help="torch's CPU threads (numpy's BLAS threads are set by OPENBLAS_NUM_THREADS "
                             "or OMP_NUM_THREADS before the start, as chapter 9 does with 1)")
    args = parser.parse_args(argv)
    try:
        import torch
        torch.set_num_threads(args.torch_threads)
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    shapes = SHAPES[:2] if args.quick else SHAPES
    blas = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or "default"
    print(f"threads: torch {args.torch_threads if torch else '-'}, numpy BLAS {blas}")
    if "layers" in args.parts:
        _layers_table(args, torch, rng, shapes)
    if "gemm" in args.parts:
        _gemm_table(args, rng, shapes)
    if "training" in args.parts:
        _training_table(args, torch, rng)


def _layers_table(args, torch, rng, shapes) -> None:
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


def _gemm_table(args, rng, shapes) -> None:
    print("\nLSTM passes and their matrix products alone (the same shapes and number of products)")
    print(f"{'pass':8} {'dtype':8} {'T':>4} {'B':>4} {'D':>4} {'H':>4} {'pass ms':>10} {'GEMM ms':>10} {'share':>6}")
    for dtype in (np.dtype(d).type for d in args.dtypes):
        for T, B, D, H in shapes:
            fwd, bwd, fwd_gemm, bwd_gemm = _lstm_passes(T, B, D, H, dtype, rng)
            times = _median_times([fwd, fwd_gemm, bwd, bwd_gemm], args.repeats)
            for name, whole, gemm in (("forward", *times[:2]), ("backward", *times[2:])):
                print(f"{name:8} {np.dtype(dtype).name:8} {T:4d} {B:4d} {D:4d} {H:4d} {whole * 1e3:10.2f} "
                      f"{gemm * 1e3:10.2f} {gemm / whole:6.2f}", flush=True)


def _training_table(args, torch, rng) -> None:
    K, H, T, B = 58, 128, 50, 32        # K: the distinct characters of the course corpus
    print(f"\nchapter 9's training loop: LSTM K={K} H={H}, {B} streams x {T} characters, float32, "
          f"Adam, clipping 5; {args.train_steps} steps per run")
    cases = [_rnnkit_training(K, H, T, B, args.train_steps, rng)]
    if torch is not None:
        cases.append(_torch_training(torch, K, H, T, B, args.train_steps, rng))
    times = _median_times(cases, max(1, args.repeats // 2))
    chars = args.train_steps * T * B
    line = f"{'training':8} rnnkit {chars / times[0]:10,.0f} chars/s"
    if torch is not None:
        line += f"   torch {chars / times[1]:10,.0f} chars/s   rnnkit/torch speed {times[1] / times[0]:5.2f}"
    print(line, flush=True)


if __name__ == "__main__":
    main()
