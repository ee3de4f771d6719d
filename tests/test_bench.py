"""The benchmark script runs and prints one row per case (timings are not asserted: the machine is noisy)."""
import importlib.util
import re
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    """tools/bench.py is a developer script outside the installed package: load it from its file."""
    spec = importlib.util.spec_from_file_location("rnnkit_tools_bench", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_is_not_part_of_the_installed_package():
    import rnnkit
    assert not (Path(rnnkit.__file__).parent / "bench.py").exists()


def test_bench_prints_a_row_per_shape(bench, capsys):
    bench.main(["--quick", "--repeats", "1", "--cells", "rnn", "--dtypes", "float32"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("rnn ")]
    assert len(rows) == 2
    for row in rows:
        assert re.search(r"float32\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\.\d\d", row), row


def test_bench_compares_with_torch_when_installed(bench, capsys, torch):
    bench.main(["--quick", "--repeats", "1", "--cells", "lstm", "--dtypes", "float64"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("lstm ")]
    assert rows and all(len(row.split()) == 9 for row in rows)   # rnnkit ms, torch ms, ratio
