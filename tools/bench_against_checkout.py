"""This tree's rnnkit against another checkout's, in one process: forward+backward of the RNN and the LSTM.

Usage (a developer tool, not part of the installed package)::

    git worktree add /tmp/rnnkit-before <commit>
    python tools/bench_against_checkout.py /tmp/rnnkit-before

The other checkout's ``rnnkit`` is loaded as a second package (``rnnkit_before``) and both are timed
in alternating blocks on the course's four shapes, then chapter 9's training loop; the last column is
after / before (below 1: this tree is faster). Inputs are identical for both. No torch:
``tools/bench.py`` compares with torch.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (tools/bench.py: chapter 9's training loop)
import rnnkit as after  # noqa: E402

SHAPES = ((25, 1, 65, 100), (50, 32, 64, 128), (100, 64, 128, 256), (200, 16, 32, 64))


def load_checkout(root: Path):
    """The ``rnnkit`` package of the checkout at ``root``, imported under the name ``rnnkit_before``."""
    spec = importlib.util.spec_from_file_location("rnnkit_before", root / "rnnkit" / "__init__.py",
                                                  submodule_search_locations=[str(root / "rnnkit")])
    module = importlib.util.module_from_spec(spec)
    sys.modules["rnnkit_before"] = module
    spec.loader.exec_module(module)
    return module


def make_pass(lib, cell: str, T: int, B: int, D: int, H: int, dtype: str):
    """A function running one forward and backward pass of ``cell`` with ``lib`` (same inputs for every lib)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((T, B, D)).astype(dtype)
    h0 = np.zeros((B, H), dtype)
    dHs = np.ones((T, B, H), dtype)
    if cell == "lstm":
        W = (0.1 * rng.standard_normal((4 * H, D + H))).astype(dtype)
        b = np.zeros(4 * H, dtype)

        def run():
            _, cache = lib.lstm_forward(X, h0, h0.copy(), W, b)
            lib.lstm_backward(dHs, cache)
    else:
        Wx = (0.1 * rng.standard_normal((H, D))).astype(dtype)
        Ws = (0.1 * rng.standard_normal((H, H))).astype(dtype)
        b = np.zeros(H, dtype)

        def run():
            _, cache = lib.rnn_forward(X, h0, Wx, Ws, b)
            lib.rnn_backward(dHs, cache)
    return run


def median_times(fns, repeats: int, blocks: int = 5) -> list[float]:
    """Median wall time of each function over ``blocks`` alternating blocks of a warm-up and ``repeats`` runs."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(blocks):
        for fn, ts in zip(fns, times):
            fn()
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
    return [float(np.median(ts)) for ts in times]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="root of the other checkout (it has rnnkit/__init__.py)")
    args = parser.parse_args(argv)
    before = load_checkout(args.before.resolve())
    print("cell  dtype    shape (T, B, D, H)      before ms   after ms  after/before")
    for cell in ("rnn", "lstm"):
        for dtype in ("float64", "float32"):
            for shape in SHAPES:
                repeats = 3 if shape[3] >= 256 else 10
                t_before, t_after = median_times([make_pass(before, cell, *shape, dtype),
                                                  make_pass(after, cell, *shape, dtype)], repeats)
                print(f"{cell:5s} {dtype:8s} {str(shape):22s} {1e3 * t_before:9.2f} {1e3 * t_after:10.2f}"
                      f" {t_after / t_before:10.2f}")
    # chapter 9's training loop (tools/bench.py's version of it), 10 steps per timed run
    steps = 10
    loops = [bench._rnnkit_training(58, 128, 50, 32, steps, np.random.default_rng(0), lib=lib) for lib in (before, after)]
    t_before, t_after = median_times(loops, repeats=2)
    print(f"{'ch9 training loop, ms per step':37s} {1e3 * t_before / steps:9.2f} {1e3 * t_after / steps:10.2f}"
          f" {t_after / t_before:10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
