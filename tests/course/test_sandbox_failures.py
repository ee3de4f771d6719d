"""An infrastructure failure is never a learner's failure (real ``nbgrader autograde`` runs).

* The sandbox's uid already running more processes than the sandbox's process limit (the
  instructor's JupyterLab when grading without root; other uid-65534 processes as root) does not
  stop grading: the limit counts the sandbox's own processes.
* A sandbox that fails to start is retried; one that never starts records no score for the
  submission (no zeros in the gradebook), and the command exits non-zero naming the cause.

The failing sandbox is simulated with ``$RNNKIT_SANDBOX_BWRAP`` pointing at a script in place of bwrap.
"""
from __future__ import annotations

import os
import subprocess

import pytest
from nbgrader.api import Gradebook, MissingEntry

from nbgrader_course import Course
from rnnkit.grading import sandbox

A = "a1-recurrence"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return Course(tmp_path_factory.mktemp("sandbox-failures"), [A])


def _launcher(path, *, fail_first: int, message: str):
    """A stand-in for bwrap that fails its first ``fail_first`` runs with ``message``, then runs bwrap."""
    counter = path.with_suffix(".count")
    path.write_text("#!/bin/sh\n"
                    f"n=$(cat {counter} 2>/dev/null || echo 0); echo $((n + 1)) > {counter}\n"
                    f"if [ \"$n\" -lt {fail_first} ]; then echo '{message}' >&2; exit 1; fi\n"
                    f"exec {sandbox.tools()['bwrap']} \"$@\"\n")
    path.chmod(0o755)
    return counter


def _auto_scores(course, student):
    """grade_id -> auto_score in the gradebook (None: not graded), or None without a submission."""
    with Gradebook(f"sqlite:///{course.path / 'gradebook.db'}") as gb:
        try:
            sub = gb.find_submission_notebook(A, A, student)
        except MissingEntry:
            return None
        return {g.name: g.auto_score for g in sub.grades}


def test_busy_sandbox_uid_and_a_failed_start_cost_nothing(course, tmp_path, monkeypatch):
    uid = sandbox.SANDBOX_UID if os.geteuid() == 0 else os.getuid()
    as_uid = [sandbox.tools()["setpriv"], f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] \
        if os.geteuid() == 0 else []
    counter = _launcher(tmp_path / "bwrap", fail_first=1, message="bwrap: simulated start failure")
    monkeypatch.setenv(sandbox.BWRAP_VARIABLE, str(tmp_path / "bwrap"))
    course.submit("alice", A, course.notebook(A))
    elsewhere = [subprocess.Popen([*as_uid, "sleep", "600"]) for _ in range(sandbox.Limits().processes + 16)]
    try:
        proc = course.run("autograde", A, "--SandboxedExecute.start_retry_delay=0.1", check=False)
    finally:
        for p in elsewhere:
            p.kill()
            p.wait()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "did not start (attempt 1 of 3)" in proc.stderr and "simulated start failure" in proc.stderr
    assert int(counter.read_text()) >= 2
    scores = _auto_scores(course, "alice")
    assert {gid: scores[gid] for gid in course.points(A)} == course.points(A)


def test_a_sandbox_that_never_starts_records_no_score(course, tmp_path, monkeypatch):
    cause = "bwrap: Creating new namespace failed: simulated"
    counter = _launcher(tmp_path / "bwrap", fail_first=10**6, message=cause)
    monkeypatch.setenv(sandbox.BWRAP_VARIABLE, str(tmp_path / "bwrap"))
    for student in ("bob", "carol"):
        course.submit(student, A, course.notebook(A))
    before = _auto_scores(course, "alice")
    proc = course.run("autograde", A, "--SandboxedExecute.start_retry_delay=0.1", check=False)
    assert proc.returncode != 0
    assert int(counter.read_text()) == 2 * 3  # each notebook: three attempts, then given up
    for student in ("bob", "carol"):
        scores = _auto_scores(course, student)
        assert scores is None or set(scores.values()) == {None}, (student, scores)  # never a zero
        assert course.autograded(A, student) is None
    assert _auto_scores(course, "alice") == before  # graded earlier: untouched
    summary = proc.stderr[proc.stderr.index("NOT graded because the grader failed"):]
    assert summary.count(cause) == 2 and "bob/" in summary and "carol/" in summary, summary[-2000:]
