"""Every buggy implementation loses its points with its named diagnosis; every valid one gets them.

Runs the checks of rnnkit.grading directly (no notebook, no nbgrader): fast.
Each case runs on ten different generator seeds, so a diagnosis that only
works for some sizes would show up.
"""
from __future__ import annotations

import contextlib
import io
import os

import numpy as np
import pytest

from rnnkit.grading.engine import Verdict
from grading_bugs import CASES, without_large_cases  # one module per assignment in tests/grading/grading_bugs/, in course order

#: Every case on ten generator seeds: a diagnosis that works only for some sizes shows up.
#: `make test-fast` sets RNNKIT_TABLE_SEEDS=1 to keep the edit loop short; `make test` runs seeds 0-2 (tests/conftest.py
#: marks seeds 3-9 `exhaustive`); `make test-exhaustive` and CI (.ci/run) run all ten.
SEEDS = list(range(int(os.environ.get("RNNKIT_TABLE_SEEDS", "10"))))


@pytest.fixture
def large_cases_on_first_seed_only(request, monkeypatch):
    """The large case of a backward check (fixed sizes, only its values change with the seed) runs on seed 0:
    every valid implementation must pass it once; the diagnoses, which come from the small cases, are
    tested on every seed without paying for it again (test_representation.py tests the large cases)."""
    if request.node.callspec.params.get("seed", 0) != 0:
        without_large_cases(monkeypatch.setattr)


def grader_name(grader) -> str:
    """The name a grader gives the table's test ids: a grade_id for :func:`by_id`, else the grade_* function's."""
    return getattr(grader, "__name__", getattr(getattr(grader, "func", None), "__name__", "grade"))


@pytest.mark.parametrize("grader, label, fn, expected", CASES,
                         ids=[f"{grader_name(g)}-{label}" for g, label, _, _ in CASES])
@pytest.mark.parametrize("seed", SEEDS)
def test_case(grader, label, fn, expected, seed, large_cases_on_first_seed_only):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        verdict = grader(fn, rng=np.random.default_rng(seed))
    assert isinstance(verdict, Verdict)
    assert err.getvalue() == "", f"a check wrote to stderr: {err.getvalue()!r}"
    if expected is None:
        assert verdict.passed is True, f"valid implementation '{label}' failed:\n{verdict.message}"
    else:
        assert verdict.passed is False, f"buggy implementation '{label}' passed"
        assert expected in verdict.message, f"'{label}': diagnosis {expected!r} missing from:\n{verdict.message}"


def test_table_size():
    """The table covers every graded function with bugs and valid alternatives."""
    valid = sum(1 for c in CASES if c[3] is None)
    buggy = len(CASES) - valid
    assert valid >= 10 and buggy >= 40, (valid, buggy)


def test_judging_runs_in_a_clean_process(tmp_path):
    """A check's verdict needs only the recorded bytes: the learner's code runs here (the kernel's part), the
    judging in a fresh interpreter that rebuilds the cases from the same seed and never sees the learner's code."""
    import subprocess
    import sys

    from grading_bugs.a3_bptt import bptt_no_carry
    from grading_bugs.a6_lstm import lstm_b_no_cell_carry
    from rnnkit.grading import kernel, registry

    seed = 7
    for grade_id, fn in (("test_rnn_backward_parameters", bptt_no_carry),
                         ("test_lstm_backward_inputs", lstm_b_no_cell_carry)):
        data, _, _ = registry.find_check(grade_id).cases(seed=seed)
        records = kernel.run_calls(fn, kernel.decode_calls(data))
        (tmp_path / f"{grade_id}.bin").write_bytes(kernel.encode_results(grade_id, records))
    script = """
import sys
from pathlib import Path
from rnnkit.grading import registry
for grade_id in ("test_rnn_backward_parameters", "test_lstm_backward_inputs"):
    check = registry.find_check(grade_id)
    _, context, _ = check.cases(seed=int(sys.argv[2]))
    print(check.judge_payload(context, (Path(sys.argv[1]) / f"{grade_id}.bin").read_bytes()).message)
    print("learner modules loaded:", sorted(m for m in sys.modules if m.startswith("grading_bugs")))
"""
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(seed)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "only the last step is right" in proc.stdout
    assert "cell-state carry is missing" in proc.stdout
    assert proc.stdout.count("learner modules loaded: []") == 2, proc.stdout
