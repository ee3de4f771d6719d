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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (tools/bench.py: the shapes, the passes, the training loop, the timing)
import rnnkit as after  # noqa: E402


def load_checkout(root: Path):
    """The ``rnnkit`` package of the checkout at ``root``, imported under the name ``rnnkit_before``."""
    spec = importlib.util.spec_from_file_location("rnnkit_before", root / "rnnkit" / "__init__.py",
                                                  submodule_search_locations=[str(root / "rnnkit")])
    module = importlib.util.module_from_spec(spec)
    sys.modules["rnnkit_before"] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="root of the other checkout (it has rnnkit/__init__.py)")
    args = parser.parse_args(argv)
    before = load_checkout(args.before.resolve())
    print("cell  dtype    shape (T, B, D, H)      before ms   after ms  after/before")
    for cell in ("rnn", "lstm"):
        for dtype in ("float64", "float32"):
            for shape in bench.SHAPES:
                repeats = 3 if shape[3] >= 256 else 10
                # the same inputs for both: each case draws them from a generator with the same seed
                t_before, t_after = bench._median_times(
                    [bench._numpy_case(cell, *shape, dtype, np.random.default_rng(0), lib=lib)
                     for lib in (before, after)], repeats, blocks=5)
                print(f"{cell:5s} {dtype:8s} {str(shape):22s} {1e3 * t_before:9.2f} {1e3 * t_after:10.2f}"
                      f" {t_after / t_before:10.2f}")
    # chapter 9's training loop (tools/bench.py's version of it), 10 steps per timed run
    steps = 10
    loops = [bench._rnnkit_training(58, 128, 50, 32, steps, np.random.default_rng(0), lib=lib)
             for lib in (before, after)]
    t_before, t_after = bench._median_times(loops, repeats=2, blocks=5)
    print(f"{'ch9 training loop, ms per step':37s} {1e3 * t_before / steps:9.2f} {1e3 * t_after / steps:10.2f}"
          f" {t_after / t_before:10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
