"""Where the time of rnnkit's LSTM sequence functions goes, source line by source line.

Usage (a developer tool, not part of the installed package)::

    python tools/profile_lstm.py 50 32 64 128 --dtype float32

It runs ``lstm_forward`` and ``lstm_backward`` on random inputs of shape (T, B, D, H) and, with
``sys.settrace``, charges the wall time between two traced lines of ``rnnkit/layers/lstm.py`` to the
first of them (a line inside the time loop is charged once per step, all steps added up). Lines
that call a function of the same module (``_local_grads``, ``_time_batch_matrix``) are charged only
for what is not traced inside it. The tracing itself costs about a microsecond per line, which
inflates lines run T times at small shapes; the last row reports the untraced time of the same
passes for comparison. Matrix products are the lines with ``matmul`` or ``@``.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rnnkit.layers import lstm as lstm_module  # noqa: E402

SOURCE = lstm_module.__file__


class LineTimer:
    """Adds up the wall time from each traced line of ``SOURCE`` to the next traced event."""

    def __init__(self):
        self.seconds: dict[int, float] = defaultdict(float)
        self._line: int | None = None
        self._since = 0.0

    def _charge(self):
        now = time.perf_counter()
        if self._line is not None:
            self.seconds[self._line] += now - self._since
        self._since = time.perf_counter()

    def trace(self, frame, event, arg):
        if frame.f_code.co_filename != SOURCE:
            return None
        self._charge()
        self._line = frame.f_lineno if event == "line" else None
        return self.trace


def _inputs(T, B, D, H, dtype, rng):
    return (rng.standard_normal((T, B, D)).astype(dtype), np.zeros((B, H), dtype), np.zeros((B, H), dtype),
            (rng.standard_normal((4 * H, H + D)) / np.sqrt(H + D)).astype(dtype), np.zeros(4 * H, dtype),
            np.ones((T, B, H), dtype))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shape", nargs=4, type=int, metavar=("T", "B", "D", "H"))
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--top", type=int, default=25, help="how many of the costliest lines to print")
    args = parser.parse_args(argv)
    X, h0, c0, W, b, dHs = _inputs(*args.shape, np.dtype(args.dtype).type, np.random.default_rng(0))

    def passes():
        _, cache = lstm_module.lstm_forward(X, h0, c0, W, b)
        lstm_module.lstm_backward(dHs, cache)

    passes()                                          # warm-up: work arrays, BLAS threads
    untraced = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        passes()
        untraced.append(time.perf_counter() - t0)
    timer = LineTimer()
    sys.settrace(timer.trace)
    try:
        for _ in range(args.repeats):
            passes()
    finally:
        sys.settrace(None)
    lines = Path(SOURCE).read_text().splitlines()
    total = sum(timer.seconds.values())
    gemm = sum(s for n, s in timer.seconds.items() if "matmul" in lines[n - 1] or " @ " in lines[n - 1])
    print(f"LSTM forward + backward, (T, B, D, H) = {tuple(args.shape)}, {args.dtype}; ms per pass")
    for n, s in sorted(timer.seconds.items(), key=lambda item: -item[1])[:args.top]:
        print(f"{s / args.repeats * 1e3:8.2f}  {100 * s / total:5.1f}%  lstm.py:{n:<4d} {lines[n - 1].strip()[:80]}")
    print(f"{total / args.repeats * 1e3:8.2f}  traced total; matrix-product lines {100 * gemm / total:.0f}%")
    print(f"{np.median(untraced) * 1e3:8.2f}  untraced (median of {args.repeats} of the same passes without the tracing)")


if __name__ == "__main__":
    main()
