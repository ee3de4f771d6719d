"""The learner's checks (rnnkit.visible_tests, rnnkit.selfcheck.check / check_all), read and run without a kernel.

1. the points table each visible-tests module carries (what check_all shows) is the notebook's nbgrader metadata,
   and the modules are the registry's;
2. each visible test cell is the one call ``check("<f>", <f>)`` for a function its module has a visible test of,
   and each notebook ends with a ``check_all()`` cell that grading skips;
3. on the instructor's functions every visible test finds no problem; on the release's stubs each finds the
   function unwritten, and a helper left unwritten or undefined is named as the cause, not the caller;
4. ``check`` prints one summary and raises once (:class:`CheckFailed`) when anything is wrong, never a
   "passed" headline in a failing run; a failing check still runs the other hidden test of the same function.

Notebook cells executed by a real kernel: tests/course/test_check_cells.py.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # tools/ is a folder of the repository, not of the installed package
    sys.path.insert(0, str(ROOT))

from rnnkit import visible_tests  # noqa: E402
from rnnkit.grading import registry  # noqa: E402
from rnnkit.selfcheck import CheckFailed, check, check_all  # noqa: E402
from tools.release import answer_source, cell_id, graded_points, read_notebook  # noqa: E402

ASSIGNMENTS = list(registry.MODULES)
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def _source(name: str) -> dict:
    return json.loads(json.dumps(read_notebook(answer_source(ROOT, name))))


def namespace(name: str, answers: dict | None = None, *, stubs: bool = False, keep: tuple = ()) -> dict:
    """A notebook's globals after running its setup and answer cells (instructor's; with ``stubs``, the release's
    stubs but for the cells in ``keep``; then ``answers``: grade_id -> source)."""
    ns = {"__name__": "__main__"}
    for cell in _source(name)["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] != "code" or not (cell_id(cell) == "setup" or meta.get("solution")):
            continue
        src = "".join(cell["source"])
        if stubs and meta.get("solution") and cell_id(cell) not in keep:
            src = re.sub(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION\n?",
                         lambda m: "".join(m.group(1) + line + "\n" for line in STUB.splitlines()), src, flags=re.S)
        src = (answers or {}).get(cell_id(cell), src)
        exec(compile(src, f"<cell {cell_id(cell)}>", "exec"), ns)
    return ns


def test_modules_are_the_registry_s():
    assert visible_tests.MODULES == registry.MODULES


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_points_table_is_the_metadata(name):
    points = visible_tests.module_of(name).POINTS
    assert points == graded_points(_source(name))
    assert list(points) == list(graded_points(_source(name)))  # notebook order: check_all's table reads down


CHECK_CELL = re.compile(r"(# [^\n]*\n)+from rnnkit\.selfcheck import check\ncheck\(\"(\w+)\", (\w+)\)\n?")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_visible_cells_are_one_call(name):
    cells = _source(name)["cells"]
    visible = {cell_id(c)[len("visible_"):]: "".join(c["source"]) for c in cells
               if (cell_id(c) or "").startswith("visible_")}
    assert set(visible) == set(visible_tests.tests_of(name))
    for function, src in visible.items():
        match = CHECK_CELL.fullmatch(src)
        assert match and match.group(2) == match.group(3) == function, f"{name}: visible_{function}: {src!r}"
    last = cells[-1]
    assert "".join(last["source"]).strip() == "from rnnkit.selfcheck import check_all\ncheck_all()"
    assert "skip-grading" in last["metadata"].get("tags", []) and not last["metadata"]["nbgrader"]["grade"]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_visible_tests_pass_on_the_instructor_s_functions(name):
    ns = namespace(name)
    for function, test in visible_tests.tests_of(name).items():
        args = {p: ns[p] for p in test.__code__.co_varnames[:test.__code__.co_argcount]}
        assert test(**args) == [], f"{name}: {function}"


@pytest.mark.parametrize("name", ["a1-recurrence", "a3-bptt"])
def test_stubs_are_reported_unwritten(name, capsys):
    ns = namespace(name, stubs=True)
    for function in visible_tests.tests_of(name):
        with pytest.raises(CheckFailed):
            check(function, ns[function], seed=1, namespace=ns)
        out = capsys.readouterr().out
        assert out.splitlines()[0].startswith(f"{function}: ") and "found a problem" in out.splitlines()[0]
        assert f"{function} is not implemented yet" in out


def test_an_unwritten_helper_is_named_as_the_cause(capsys):
    ns = namespace("a3-bptt", stubs=True, keep=("rnn_step_forward", "rnn_forward", "rnn_backward"))
    with pytest.raises(CheckFailed) as raised:
        check("rnn_backward", ns["rnn_backward"], seed=3, namespace=ns)
    out = capsys.readouterr().out
    head = out.splitlines()[0]
    assert "The cause is in rnn_step_backward, which rnn_backward calls" in head, head
    assert "rnn_step_backward is not implemented yet" in out
    assert "rnn_backward is not implemented" not in out
    assert raised.value._render_traceback_() == [f"CheckFailed: {raised.value}"]


def test_an_undefined_helper_is_named_and_nothing_else_runs(capsys):
    ns = namespace("a3-bptt")
    del ns["rnn_step_backward"]
    with pytest.raises(CheckFailed, match="calls rnn_step_backward, which is not defined"):
        check("rnn_backward", ns["rnn_backward"], seed=3, namespace=ns)
    out = capsys.readouterr().out
    assert "passes its own cell" not in out and "hidden test" not in out


NO_CARRY = '''
def rnn_backward(dHs, cache):
    X, h0, Hs, Wx, Ws = cache
    dX, dWx, dWs, db = np.zeros_like(X), np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    dh_next = np.zeros_like(h0)
    for t in reversed(range(X.shape[0])):
        h_prev = Hs[t - 1] if t > 0 else h0
        dX[t], dh_next, a, b_, c = rnn_step_backward(dHs[t], (X[t], h_prev, Hs[t], Wx, Ws))
        dWx += a; dWs += b_; db += c
    return dX, dh_next, dWx, dWs, db
'''


def test_a_failing_cell_runs_every_check_and_says_so_once(capsys):
    ns = namespace("a3-bptt", {"rnn_backward": NO_CARRY})
    with pytest.raises(CheckFailed, match="3 of 3 checks found a problem"):
        check("rnn_backward", ns["rnn_backward"], seed=5, namespace=ns)
    out = capsys.readouterr().out
    assert out.count("[WRONG]") == 3   # the visible tests and BOTH hidden tests ran
    assert "hidden test test_rnn_backward_inputs (2 points)" in out
    assert "only the last step is right" in out
    assert "PASSED" not in out and "tests passed" not in out and "[right]" not in out


def test_a_passing_cell_and_check_all_on_the_instructor_s_notebook(capsys):
    ns = namespace("a3-bptt")
    assert check("rnn_forward", ns["rnn_forward"], seed=2, namespace=ns) is True
    assert capsys.readouterr().out.startswith("rnn_forward: all 2 checks are right.")
    assert check_all(seed=2, namespace=ns) == 14
    assert "total                         14 / 14" in capsys.readouterr().out


def test_check_all_finds_the_notebook_and_counts_points(capsys):
    ns = namespace("a3-bptt", {"rnn_backward": NO_CARRY})
    with pytest.raises(CheckFailed, match="a3-bptt: 9 of 14 points"):
        check_all(seed=4, namespace=ns)
    out = capsys.readouterr().out
    assert "test_rnn_backward_parameters  0 / 3" in out and "test_rnn_forward              2 / 2" in out
    assert "Advice, not a grade" in out


def test_a_feedback_s_grading_seed_replays_in_check(capsys):
    """The "Grading seed N" of a failed hidden cell, given to check(..., seed=N), prints that very diagnosis."""
    import numpy as np

    ns = namespace("a3-bptt", {"rnn_backward": NO_CARRY})
    graded = registry.find_check("test_rnn_backward_inputs").grade(ns["rnn_backward"], rng=np.random.default_rng(7))
    message, seed_line = graded.message.rsplit("\n", 1)
    seed = int(re.fullmatch(r"\(Grading seed (\d+)\.\)", seed_line).group(1))
    with pytest.raises(CheckFailed):
        check("rnn_backward", ns["rnn_backward"], seed=seed, namespace=ns)
    flat = " ".join(capsys.readouterr().out.split())
    assert " ".join(message.split()) in flat
    other = registry.find_check("test_rnn_backward_inputs").grade(ns["rnn_backward"], seed=seed + 1).message
    assert " ".join(other.rsplit("\n", 1)[0].split()) not in flat  # the seed matters: the test can fail
