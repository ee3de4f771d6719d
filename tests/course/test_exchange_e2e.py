"""The whole nbgrader exchange, as the instructor guide tells it, for three students.

release_assignment -> (each student) fetch_assignment, work, submit --student -> collect ->
autograde -> generate_feedback -> release_feedback -> (each student) fetch_feedback -> export.
Everything goes through a temporary exchange; the students work in their own directories
with only the flags the guide gives them. The exported CSV must hold exactly the expected scores.
"""
from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from nbgrader_course import NO_CARRY_BPTT, Course, nbgrader_env

pytestmark = pytest.mark.slow

A = "a3-bptt"
COURSE_ID = "rnn-course"

BUGGY_BACKWARD = NO_CARRY_BPTT


def _student_run(home, exchange, *args):
    cmd = [sys.executable, "-m", "nbgrader", *args, "--course", COURSE_ID, f"--Exchange.root={exchange}"]
    # each student is their own user: their own HOME holds nbgrader's record of their submissions
    env = dict(nbgrader_env(), HOME=str(home))
    proc = subprocess.run(cmd, cwd=home, capture_output=True, text=True, env=env, timeout=600,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{' '.join(args)}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def exchange_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("exchange_course")
    course = Course(base / "course", [A])
    exchange = base / "exchange"
    course.run("release_assignment", A, f"--Exchange.root={exchange}", "--force")
    answers = {"correct": {}, "buggy": {"rnn_backward": BUGGY_BACKWARD}, "untouched": None}
    for student, answer in answers.items():
        home = base / "home" / student
        home.mkdir(parents=True)
        _student_run(home, exchange, "fetch_assignment", A)
        nb_path = home / A / f"{A}.ipynb"
        fetched = json.loads(nb_path.read_text())
        if answer is not None:
            nb = course.notebook(A, answer)
            fetched["cells"] = nb["cells"]
        nb_path.write_text(json.dumps(fetched, indent=1))
        _student_run(home, exchange, "submit", A, "--student", student)
    course.run("collect", A, f"--Exchange.root={exchange}")
    course.run("autograde", A)
    course.run("generate_feedback", A)
    course.run("release_feedback", A, f"--Exchange.root={exchange}")
    for student in answers:
        _student_run(base / "home" / student, exchange, "fetch_feedback", A, "--student", student)
    course.run("export")
    return course, base


def test_exported_scores_are_exact(exchange_run):
    course, _ = exchange_run
    rows = {r["student_id"]: r for r in csv.DictReader((course.path / "grades.csv").open())}
    assert set(rows) == {"correct", "buggy", "untouched"}
    points = course.points(A)   # from the nbgrader metadata
    total = sum(points.values())
    assert float(rows["correct"]["score"]) == total
    # the buggy rnn_backward loses both of its hidden test cells
    assert float(rows["buggy"]["score"]) == total - points["test_rnn_backward_parameters"] \
        - points["test_rnn_backward_inputs"]
    assert float(rows["untouched"]["score"]) == 0
    assert all(float(r["max_score"]) == total for r in rows.values())


def test_fetched_feedback_names_the_mistake_and_loads_nothing_remote(exchange_run):
    import re
    _, base = exchange_run
    pages = list((base / "home" / "buggy" / A / "feedback").rglob("*.html"))
    assert len(pages) == 1, pages
    html = pages[0].read_text(encoding="utf-8")
    assert "only the last step is right" in html
    tags = re.findall(r"<(?:script|link|img)\b[^>]*>", html, flags=re.I)
    assert not [t for t in tags if re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", t)]
    assert "BEGIN HIDDEN TESTS" not in html and "run_check(" not in html


def test_submissions_are_recorded_under_the_student_ids(exchange_run):
    course, _ = exchange_run
    assert sorted(p.name for p in (course.path / "submitted").iterdir()) == ["buggy", "correct", "untouched"]
