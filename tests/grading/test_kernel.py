"""The kernel side of grading (rnnkit.grading.kernel): where a learner's exception was raised, what the
record carries to the grader, and what importing the kernel loads.

The grader's engine turns ``where`` into "line 7 of rnn_forward: ..." in a failure message; these tests pin
what the kernel records and that a record forged in the learner's kernel cannot carry anything else.
"""
from __future__ import annotations

import linecache
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rnnkit.grading import kernel

ROOT = Path(__file__).resolve().parents[2]

#: A learner's function that is right for B > 1 and raises only on a batch of one (an edge case).
EDGE_CASE_BUG = '''\
import numpy as np


def rnn_forward(X, h0, Wx, Ws, b):
    T, B, D = X.shape
    Hs = []
    h = h0
    for t in range(T):
        if B == 1:
            h = np.tanh(X[t] @ Wx.T + h @ Ws.T + b)[1]
        else:
            h = np.tanh(X[t] @ Wx.T + h @ Ws.T + b)
        Hs.append(h)
    return np.stack(Hs)


def stack_states(h, c):
    return np.stack([h, c])


def step(x, h, Wx, Ws, b):
    return rnn_step_forward(x, h, Wx, Ws, b)
'''


@pytest.fixture()
def learner(tmp_path, monkeypatch):
    """The learner's module, imported from a file of its own (its source lines are readable)."""
    (tmp_path / "learner_code.py").write_text(EDGE_CASE_BUG + "\nfrom rnnkit import rnn_step_forward\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    sys.modules.pop("learner_code", None)
    return importlib.import_module("learner_code")


def _args(B, rng):
    T, D, H = 3, 4, 5
    return [rng.standard_normal((T, B, D)), rng.standard_normal((B, H)), rng.standard_normal((H, D)),
            rng.standard_normal((H, H)), rng.standard_normal(H)]


def _line_of(text: str) -> int:
    return EDGE_CASE_BUG.splitlines().index(text) + 1


def test_an_edge_case_crash_records_the_learners_line(learner):
    rng = np.random.default_rng(0)
    ok, crash = kernel.run_calls(learner.rnn_forward, [_args(2, rng), _args(1, rng)])
    assert ok["error"] is None and ok["where"] == {}
    assert crash["error"].startswith("IndexError")
    assert crash["where"] == {"line": _line_of("            h = np.tanh(X[t] @ Wx.T + h @ Ws.T + b)[1]"),
                              "text": "h = np.tanh(X[t] @ Wx.T + h @ Ws.T + b)[1]", "function": "rnn_forward"}


def test_an_error_raised_inside_numpy_or_rnnkit_names_the_learners_call(learner):
    """The innermost frame of the learner's code, not the frames of numpy's np.stack or of rnnkit's shape
    check (both Python code, below the learner's call in the traceback) where the error was raised."""
    [numpy_error] = kernel.run_calls(learner.stack_states, [[np.ones(2), np.ones(3)]])
    assert "same shape" in numpy_error["error"]
    assert numpy_error["where"] == {"line": _line_of("    return np.stack([h, c])"), "text": "return np.stack([h, c])",
                                    "function": "stack_states"}
    [rnnkit_error] = kernel.run_calls(learner.step, [[np.ones((2, 3)), np.ones((2, 4)), np.ones((4, 5)),
                                                      np.ones((4, 4)), np.ones(4)]])
    assert rnnkit_error["error"].startswith("ValueError: rnn_step_forward")
    assert rnnkit_error["where"] == {"line": _line_of("    return rnn_step_forward(x, h, Wx, Ws, b)"),
                                     "text": "return rnn_step_forward(x, h, Wx, Ws, b)", "function": "step"}


def test_a_notebook_cell_is_learner_code_read_from_linecache():
    """ipykernel compiles a cell under a temporary file name and puts its text into linecache (no file)."""
    name = "/tmp/ipykernel_4242/1234567.py"
    source = "def softmax(Z):\n    Z = Z - Z.max(axis=2, keepdims=True)\n    return Z\n"
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    namespace: dict = {}
    exec(compile(source, name, "exec"), namespace)
    [rec] = kernel.run_calls(namespace["softmax"], [[np.ones((2, 3))]])
    assert rec["where"] == {"line": 2, "text": "Z = Z - Z.max(axis=2, keepdims=True)", "function": "softmax"}


def test_where_is_bounded_and_travels_to_the_grader(learner):
    rng = np.random.default_rng(1)
    records = kernel.run_calls(learner.rnn_forward, [_args(1, rng)])
    _, decoded = kernel.decode_results(kernel.encode_results("test_rnn_forward", records))
    assert decoded[0]["where"] == records[0]["where"] != {}
    long_name = "f" * 1000
    namespace: dict = {}
    exec(f"def {long_name}():\n    raise ValueError('x')\n", namespace)
    [rec] = kernel.run_calls(namespace[long_name], [[]])
    assert len(rec["where"]["function"]) == kernel.MAX_WHERE_TEXT


@pytest.mark.parametrize("forged", [
    {"line": True, "text": "x", "function": "f"}, {"line": 10**9, "text": "x", "function": "f"},
    {"line": 3, "text": ["x"], "function": "f"}, {"line": "3", "text": "x", "function": "f"}, ["line", 3], None])
def test_a_forged_where_reads_as_unknown(forged):
    rec = {"value": None, "error": "ValueError: x", "modified": [], "aliased": [], "objects": {}, "where": forged}
    _, [decoded] = kernel.decode_results(kernel.encode_results("g", [rec]))
    assert decoded["where"] == {}


def test_an_overlong_where_text_is_cut_when_read():
    rec = {"value": None, "error": "ValueError: x", "modified": [], "aliased": [], "objects": {},
           "where": {"line": 3, "text": "y" * 10_000, "function": "z" * 10_000}}
    _, [decoded] = kernel.decode_results(kernel.encode_results("g", [rec]))
    assert decoded["where"] == {"line": 3, "text": "y" * kernel.MAX_WHERE_TEXT, "function": "z" * kernel.MAX_WHERE_TEXT}


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_importing_the_kernel_loads_no_check():
    """The sandbox ships the kernel alone: importing it must not need the engine, an assignment or IPython."""
    run = _python("""
        import sys
        import rnnkit.grading.kernel
        print(sorted(m for m in sys.modules if m.startswith("rnnkit.grading")))
        print(sorted({m.split(".")[0] for m in sys.modules} & {"IPython", "nbgrader", "scipy", "torch"}))
    """)
    assert run.returncode == 0, run.stderr
    grading, heavy = run.stdout.splitlines()
    assert eval(grading) == ["rnnkit.grading", "rnnkit.grading.kernel", "rnnkit.grading.kernel.arguments",
                             "rnnkit.grading.kernel.calls", "rnnkit.grading.kernel.encoding",
                             "rnnkit.grading.kernel.oracle"]
    assert heavy == "[]"


def test_a_hidden_cell_outside_the_sandbox_runs_the_self_check_once_it_is_imported(monkeypatch):
    """Outside the sandbox (no cases), run_check runs the check set by rnnkit.selfcheck, or says what to do."""
    run = _python("""
        import os
        os.environ.pop("RNNKIT_CASES", None)
        import numpy as np
        from rnnkit.grading.kernel import run_check
        try:
            run_check("test_softmax", lambda Z: Z)
        except RuntimeError as exc:
            print("refused:", exc)
        import rnnkit.selfcheck
        def softmax(Z):
            e = np.exp(Z - Z.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
        run_check("test_softmax", softmax)
    """)
    assert run.returncode == 0, run.stderr
    first, rest = run.stdout.split("\n", 1)
    assert first.startswith("refused: hidden tests run when the notebook is graded") and "rnnkit.selfcheck" in first
    assert "softmax" in rest and "self_check('test_softmax', ..., seed=" in rest, run.stdout  # the self-check ran



def _budgeted(fn, seconds):
    [record] = kernel.run_calls(fn, kernel.decode_calls(kernel.encode_calls([kernel.with_budget((), seconds)])))
    return record


def test_a_budget_counts_cpu_time_so_a_busy_machine_does_not_cost_a_correct_call():
    """The large case's budget is CPU time of the kernel's process: a call that waits (as a correct one does
    when other sandboxes hold the cores) is not stopped, while a call that computes past the budget is."""
    import time

    def waits():
        time.sleep(0.6)  # 0.6 s of wall time, almost no CPU time: a wall-time budget of 0.3 s would stop it
        return np.zeros(2)

    def computes():
        x = 0.0
        while True:  # arithmetic without end: stopped after 0.3 s of CPU time
            x += 1.0

    assert _budgeted(waits, 0.3)["error"] is None
    error = _budgeted(computes, 0.3)["error"]
    assert error is not None and error.startswith(kernel.BUDGET_ERROR) and "CPU time" in error, error
