"""The learner's check cells, executed by a real Jupyter kernel (nbclient) on the release with a learner's bug.

For rows of the grading bug table (tests/grading/grading_bugs/), pasted into the answer cell of their function
(tests/course/bug_cells.py), the visible test cell of that function shows ONE consistent outcome:

* its printed summary starts "<function>: k of n checks found a problem", names the row's diagnosis, and never
  says a check "passed";
* it ends with exactly one error, the last output: ``CheckFailed``, whose traceback is its one message line
  (what JupyterLab shows: nothing of rnnkit's code, no frame);
* nothing is written to stderr.

A helper that is not written yet, or not defined at all, is named as the cause in the cell of the function that
calls it. And ``check_all()`` gives, per hidden test cell, the points ``nbgrader autograde`` gives the same
notebook (a3, graded through the real pipeline in a temporary course).
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests" / "grading"), str(ROOT / "tests" / "course")]

from bug_cells import answer_cell, function_of  # noqa: E402
from grading_bugs import ASSIGNMENTS as BUG_MODULES  # noqa: E402
from nbgrader_course import Course, answer_source, cell_id, read_notebook  # noqa: E402

from rnnkit import visible_tests  # noqa: E402

pytestmark = pytest.mark.slow

#: (assignment, grade_id, label of the bug table's row): one or two bugs per assignment, each a different kind
#: of diagnosis (a named mistake, a probe's conclusion, a shape, a form problem).
ROWS = [
    ("a1-recurrence", "test_rnn_parameter_count", "no biases"),
    ("a2-forward-loss", "test_softmax", "no max shift"),
    ("a2-forward-loss", "test_hidden_to_hidden_forward", "outputs one step late"),
    ("a3-bptt", "test_rnn_step_backward", "db not summed over the batch"),
    ("a3-bptt", "test_rnn_backward_parameters", "missing tanh'"),
    ("a4-gradients-over-time", "test_clip_by_global_norm", "sum of the arrays' norms"),
    ("a5-teacher-forcing", "test_teacher_forcing_inputs", "unshifted"),
    ("a6-lstm", "test_lstm_step_backward", "forget gate forgotten on the cell path"),
    ("a7-char-lm", "test_make_batches", "interleaved streams"),
    ("a7-char-lm", "test_sample_with_temperature", "naive softmax"),
]


def _row(assignment: str, grade_id: str, label: str):
    module = next(m for m in BUG_MODULES if m.__name__.endswith(visible_tests.MODULES[assignment]))
    grader, _, fn, expected = next(r for r in module.CASES
                                   if getattr(r[0], "grade_id", None) == grade_id and r[1] == label)
    source = answer_cell(fn, function_of(grade_id), set(visible_tests.tests_of(assignment)))
    assert source is not None and expected, (assignment, label)
    return function_of(grade_id), source, expected


def _solutions(assignment: str) -> dict:
    nb = read_notebook(answer_source(ROOT, assignment))
    return {cell_id(c): "".join(c["source"]) for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution")}


def _execute(nb: dict, workdir: Path) -> nbformat.NotebookNode:
    node = nbformat.reads(json.dumps(nb), as_version=4)
    os.environ["RNNKIT_PROGRESS"] = "0"
    nbclient.NotebookClient(node, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(workdir)}}).execute()
    return node


def _release_with(assignment: str, answers: dict, upto: str | None = None) -> dict:
    """The release with the instructor's answers, then ``answers``; ``upto``: only the cells up to that one
    (a7's training cells take minutes and are not what these tests look at)."""
    nb = json.loads((ROOT / "exercises" / assignment / f"{assignment}.ipynb").read_text())
    fill = {**_solutions(assignment), **answers}
    for cell in nb["cells"]:
        if cell_id(cell) in fill:
            cell["source"] = fill[cell_id(cell)]
    if upto is not None:
        last = next(i for i, cell in enumerate(nb["cells"]) if cell_id(cell) == upto)
        nb["cells"] = nb["cells"][:last + 1]
    return nb


def _cell(nb, grade_id: str):
    return next(c for c in nb.cells if cell_id(c) == grade_id)


def _printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def _flat(text: str) -> str:
    return " ".join(text.split())


def assert_one_failing_outcome(cell, function: str):
    """The outcome rules of a failing check cell (module docstring); returns its printed summary."""
    kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert ("stream", "stderr") not in kinds, kinds
    assert len(errors) == 1 and cell.outputs[-1] is errors[0], kinds
    error = errors[0]
    assert error.ename == "CheckFailed", error.ename
    assert error.traceback == [f"CheckFailed: {error.evalue}"], error.traceback
    printed = _printed(cell)
    head = printed.splitlines()[0]
    assert re.fullmatch(rf"{function}: \d+ of \d+ checks found a problem\..*", head), head
    assert "PASSED" not in printed and "tests passed" not in printed.lower(), printed
    return printed


@pytest.mark.parametrize("assignment, grade_id, label", ROWS, ids=[f"{a}:{lab}" for a, _, lab in ROWS])
def test_a_failing_cell_shows_one_outcome_and_the_diagnosis(assignment, grade_id, label, tmp_path):
    function, source, expected = _row(assignment, grade_id, label)
    nb = _execute(_release_with(assignment, {function: source}, upto=f"visible_{function}"), tmp_path)
    printed = assert_one_failing_outcome(_cell(nb, f"visible_{function}"), function)
    assert _flat(expected) in _flat(printed), printed


STUB = "def rnn_step_backward(dh, cache):\n    x, h_prev, h, Wx, Ws = cache\n    # YOUR CODE HERE\n" \
       "    raise NotImplementedError()\n    return dx, dh_prev, dWx, dWs, db\n"


def test_an_unwritten_helper_is_the_cause_in_its_caller_s_cell(tmp_path):
    nb = _execute(_release_with("a3-bptt", {"rnn_step_backward": STUB}), tmp_path)
    printed = assert_one_failing_outcome(_cell(nb, "visible_rnn_backward"), "rnn_backward")
    head = printed.splitlines()[0]
    assert "The cause is in rnn_step_backward, which rnn_backward calls" in head, head
    assert "rnn_step_backward is not implemented yet" in printed
    assert "rnn_backward is not implemented" not in printed


def test_an_undefined_helper_is_named_and_not_said_to_pass(tmp_path):
    nb = _execute(_release_with("a3-bptt", {"rnn_step_backward": "# (deleted)\n"}), tmp_path)
    cell = _cell(nb, "visible_rnn_backward")
    error = next(o for o in cell.outputs if o.output_type == "error")
    assert error.ename == "CheckFailed" and len(error.traceback) == 1
    assert "rnn_backward calls rnn_step_backward, which is not defined" in _printed(cell)
    assert "passes its own cell" not in _printed(cell)


CHECK_ALL_ROW = re.compile(r"^ +(test_\w+) +(\d+(?:\.\d+)?) / (\d+(?:\.\d+)?)$", re.M)


def test_check_all_gives_the_points_nbgrader_gives(tmp_path):
    """Three a3 notebooks (correct, a wrong step function, a wrong loop) through check_all() and through the real
    ``nbgrader autograde`` of a temporary course: the same points in every hidden test cell."""
    course = Course(tmp_path / "course", ["a3-bptt"])
    kinds = {"correct": {}}
    for gid, label in (("test_rnn_step_backward", "db not summed over the batch"),
                       ("test_rnn_backward_parameters", "missing tanh'")):
        function, source, _ = _row("a3-bptt", gid, label)
        kinds[label] = {function: source}
    advised = {}
    for student, answers in kinds.items():
        nb = course.notebook("a3-bptt", answers)
        name = re.sub(r"\W", "_", student)
        course.submit(name, "a3-bptt", nb)
        done = _execute(nb, tmp_path)
        printed = _printed(_cell(done, "check_all"))
        advised[name] = {gid: float(got) for gid, got, _ in CHECK_ALL_ROW.findall(printed)}
        assert set(advised[name]) == set(course.points("a3-bptt")), printed
    course.run("autograde", "a3-bptt", "--force", timeout=1800)
    for name, points in advised.items():
        assert course.scores("a3-bptt", name) == points, name
    assert advised["correct"] == course.points("a3-bptt")
    assert len({tuple(p.values()) for p in advised.values()}) == 3  # three different tables: the test can fail
