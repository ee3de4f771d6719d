"""The rehearsal (python -m rnnkit.grading.pipeline.rehearsal), run small: one student of each kind of a3-bptt
(solution, untouched, the three shipped bugs, a kernel killed, a function that never returns) graded through
grade_class; then a rehearsal whose expectations are wrong must say so."""
from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from nbgrader_course import Course
from rnnkit.grading.pipeline import rehearsal
from tools.release import nbgrader_env

A3 = "a3-bptt"
TIMEOUT = 6  # per cell (the course's is 30 s): every correct cell runs well under a second


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return Course(tmp_path_factory.mktemp("rehearsal-course"), [A3])


def test_a_small_rehearsal_passes_and_reports(course, tmp_path):
    kinds = 2 + len(rehearsal.BUGS[A3]) + 2
    proc = subprocess.run([sys.executable, "-m", "rnnkit.grading.pipeline.rehearsal", A3, "--students", str(kinds),
                           "--jobs", "2", "--timeout", str(TIMEOUT), "--out", str(tmp_path / "class")],
                          cwd=course.path, env=nbgrader_env(), capture_output=True, text=True, timeout=1800,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "min per 100 students" in proc.stdout and "peak memory" in proc.stdout
    assert "every student got the score of its kind" in proc.stdout
    rows = list(csv.DictReader((tmp_path / "class" / "reports" / f"{A3}-mistakes.csv").open()))
    named = sorted((r["student"].split("-", 1)[1], r["mistakes"]) for r in rows if r["mistakes"])
    assert named == sorted((b.key, b.mistake) for b in rehearsal.BUGS[A3])
    # the course's own grading folders are untouched: the class lives in its own course
    assert not (course.path / "submitted").exists() and not (course.path / "autograded").exists()


def test_a_rehearsal_with_wrong_expectations_fails(course, tmp_path, monkeypatch):
    bug = rehearsal.BUGS[A3][0]
    wrong = rehearsal.Bug(bug.key, bug.function, bug.source, "no-bias", ("test_rnn_step_forward", "test_rnn_forward"))
    monkeypatch.setitem(rehearsal.BUGS, A3, (wrong,))
    found = rehearsal.rehearse(A3, 3, course=course.path, out=tmp_path / "class", jobs=2, timeout=TIMEOUT, hang=False)
    sid = f"r0002-{bug.key}"
    assert list(found["wrong_scores"]) == [sid]  # it keeps rnn_forward's points, the declaration says it loses them
    assert found["report_mismatches"] == {("test_rnn_step_forward", "no-bias"): ([sid], [])}
    assert found["exit_status"] == 0 and found["students"] == 3
