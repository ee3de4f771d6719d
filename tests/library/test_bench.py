"""The benchmark script runs and prints one row per case (timings are not asserted: the machine is noisy)."""
import re

import rnnkit.bench as bench


def test_bench_prints_a_row_per_shape(capsys):
    bench.main(["--quick", "--repeats", "1", "--cells", "rnn", "--dtypes", "float32"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("rnn ")]
    assert len(rows) == 2
    for row in rows:
        assert re.search(r"float32\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\.\d\d", row), row


def test_bench_compares_with_torch_when_installed(capsys, torch):
    bench.main(["--quick", "--repeats", "1", "--cells", "lstm", "--dtypes", "float64"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("lstm ")]
    assert rows and all(len(row.split()) == 9 for row in rows)   # rnnkit ms, torch ms, ratio
