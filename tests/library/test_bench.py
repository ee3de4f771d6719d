"""The benchmark script runs and prints one row per case (timings are not asserted: the machine is noisy)."""
import importlib.util
import re
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "bench.py"


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
    bench.main(["--quick", "--repeats", "1", "--cells", "rnn", "--dtypes", "float32", "--parts", "layers"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("rnn ")]
    assert len(rows) == 2
    for row in rows:
        assert re.search(r"float32\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\.\d\d", row), row


def test_bench_compares_with_torch_when_installed(bench, capsys, torch):
    bench.main(["--quick", "--repeats", "1", "--cells", "lstm", "--dtypes", "float64", "--parts", "layers"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("lstm ")]
    assert rows and all(len(row.split()) == 9 for row in rows)   # rnnkit ms, torch ms, ratio


def test_bench_reports_the_matmul_share_of_each_lstm_pass(bench, capsys):
    bench.main(["--quick", "--repeats", "1", "--dtypes", "float32", "--parts", "gemm"])
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith(("forward ", "backward "))]
    assert [row[0] for row in rows] == ["forward", "backward"] * 2       # two shapes
    for row in rows:
        whole, gemm, share = float(row[-3]), float(row[-2]), float(row[-1])
        # the three are printed to 0.01: the share can differ from the ratio of the printed times by
        # its own rounding plus the times' rounding carried through the quotient
        tolerance = 0.005 + 0.005 * (1 + gemm / whole) / whole + 1e-9
        assert whole > 0 and gemm > 0 and share == pytest.approx(gemm / whole, abs=tolerance)


def test_bench_reports_the_training_loop_in_characters_per_second(bench, capsys, torch):
    bench.main(["--repeats", "1", "--parts", "training", "--train-steps", "1"])
    [row] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("training")]
    pattern = r"training rnnkit +[\d,]+ chars/s +torch +[\d,]+ chars/s +rnnkit/torch speed +\d+\.\d\d"
    assert re.fullmatch(pattern, row), row


def test_profile_lstm_charges_the_passes_to_source_lines(capsys):
    spec = importlib.util.spec_from_file_location("rnnkit_tools_profile", _SCRIPT.with_name("profile_lstm.py"))
    profile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(profile)
    profile.main(["6", "3", "4", "5", "--dtype", "float64", "--repeats", "2", "--top", "100"])
    out = capsys.readouterr().out.splitlines()
    rows = [line for line in out if "lstm.py:" in line]
    assert any("matmul" in row for row in rows) and any("@" in row for row in rows)
    [total] = [line for line in out if "traced total" in line]
    ms = [float(row.split()[0]) for row in rows]
    # every charged line is printed (--top 100), so the rows add up to the total, to the printed 0.01 ms
    assert sum(ms) == pytest.approx(float(total.split()[0]), abs=0.01 * len(ms) + 0.01)
    assert sum(float(row.split()[1].rstrip("%")) for row in rows) == pytest.approx(100, abs=0.1 * len(rows))
