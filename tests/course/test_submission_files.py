"""A submission is files, never links: hostile submission folders through the real nbgrader commands.

One course (assignment a1, the cheapest), graded once by ``collect``, ``autograde``,
``generate_feedback`` and ``release_feedback``, with three students graded in this order:

- ``a-linked-notebook``: the notebook is a link to the instructor's notebook (with the solutions);
- ``b-hostile-files``: an honest notebook beside links to the gradebook, the MyST solutions,
  ``nbgrader_config.py``, the instructor's notebook, ``/proc/self/mem`` and ``/dev/zero``, a FIFO, a
  sparse 1 GiB file, a learner's ``*.html`` and a ``timestamp.txt`` of garbage and escape sequences;
- ``c-honest``: the honest neighbour graded right after it, submitted through the exchange's inbound
  folder with links in it (as a student on a shared hub could place them);
- ``e-linked-folder``: an inbound submission folder that is a link to the instructor's folder.

As root, the course directory is first given to another uid: everything grading creates must
belong to that uid afterwards (a later regrade as the instructor can replace it).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from nbgrader.utils import notebook_hash
from nbgrader_course import ROOT, Course

pytestmark = pytest.mark.slow

A = "a1-recurrence"
COURSE_ID = "rnn-course"   # nbgrader_config.py's default
#: The instructor's uid for the root test (no account needed: ownership is a number).
INSTRUCTOR_UID = 4242
SECRET_C = "c0ffee" * 20
GARBAGE_TIME = "\x1b]0;pwned\x07\x1b[31mnot a time\x1b[0m" + "9" * 500


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} \
        if folder.exists() else {}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("submission_files")
    course = Course(base / "course", [A])
    exchange = base / "exchange"
    as_root = os.geteuid() == 0
    if as_root:
        os.chown(course.path, INSTRUCTOR_UID, INSTRUCTOR_UID)
    source_nb = course.path / "source" / A / f"{A}.ipynb"

    # a: the notebook itself is a link to the instructor's notebook
    a = course.path / "submitted" / "a-linked-notebook" / A
    a.mkdir(parents=True)
    (a / f"{A}.ipynb").symlink_to(source_nb)

    # b: an honest notebook among hostile files
    course.submit("b-hostile-files", A, course.notebook(A), files={"data.txt": "my own notes\n",
                                                                   f"{A}.html": "<script>alert(1)</script>",
                                                                   "timestamp.txt": GARBAGE_TIME})
    b = course.path / "submitted" / "b-hostile-files" / A
    links = {"gradebook.db": course.path / "gradebook.db",
             "solution.md": ROOT / "solutions" / A / f"{A}.md",
             "nbgrader_config.py": course.path / "nbgrader_config.py",
             "instructor.ipynb.txt": source_nb,
             "mem": Path("/proc/self/mem"),
             "zero": Path("/dev/zero")}
    for name, target in links.items():
        (b / name).symlink_to(target)
    os.mkfifo(b / "pipe")
    with open(b / "sparse.bin", "wb") as f:
        f.truncate(2**30)

    # c: the honest neighbour, through the exchange, with links in its inbound folder
    inbound = exchange / COURSE_ID / "inbound" / f"c-honest+{A}+2026-12-07 10:00:00.000000 UTC+abc"
    inbound.mkdir(parents=True)
    (inbound / f"{A}.ipynb").write_text(json.dumps(course.notebook(A), indent=1))
    (inbound / "timestamp.txt").write_text("2026-12-07 10:00:00.000000 UTC")
    (inbound / "submission_secret.txt").write_text(SECRET_C)   # names the released page
    (inbound / "answers.ipynb.txt").symlink_to(source_nb)
    (inbound / "gradebook-copy.db").symlink_to(course.path / "gradebook.db")

    # e: a submission folder of the inbound that is itself a link to the instructor's folder
    (inbound.parent / f"e-linked-folder+{A}+2026-12-07 10:00:00.000000 UTC+abc").symlink_to(source_nb.parent)

    runs = {"collect": course.run("collect", A, f"--Exchange.root={exchange}")}
    start = time.perf_counter()
    runs["autograde"] = course.run("autograde", A, "--force", "--Execute.timeout=6", check=False)
    runs["autograde_seconds"] = time.perf_counter() - start
    runs["generate_feedback"] = course.run("generate_feedback", A, "--force", check=False)
    # what nbgrader alone would have left in a feedback folder: a learner's page and a link
    planted = course.path / "feedback" / "c-honest" / A
    (planted / "extra.html").write_text("<p>not generated</p>")
    (planted / "other.html").symlink_to(course.path / "gradebook.db")
    runs["release_feedback"] = course.run("release_feedback", A, f"--Exchange.root={exchange}", check=False)
    return dict(course=course, exchange=exchange, runs=runs, as_root=as_root)


def _total(course, student):
    return sum(v or 0 for v in course.scores(A, student).values())


def test_commands_succeed_for_everyone(graded):
    for name in ("autograde", "generate_feedback", "release_feedback"):
        run = graded["runs"][name]
        assert run.returncode == 0, f"{name}:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"


def test_linked_notebook_scores_nothing_and_leaks_no_solution(graded):
    course = graded["course"]
    assert _total(course, "a-linked-notebook") == 0
    solutions = [s.strip() for s in course.solutions(A).values() if len(s.strip()) > 40]
    assert solutions
    for folder in ("autograded", "feedback"):
        files = _files(course.path / folder / "a-linked-notebook" / A)
        assert files, f"no {folder} files for the linked notebook"
        text = b"\n".join(files.values()).decode("utf-8", "replace")
        leaked = [s[:60] for s in solutions if s in text or json.dumps(s)[1:-1] in text]
        assert leaked == [], f"solution text in {folder}/: {leaked}"
    page = (course.path / "feedback" / "a-linked-notebook" / A / f"{A}.html").read_text()
    assert "is a link" in page


def test_hostile_files_are_dropped_and_the_notebook_graded(graded):
    course = graded["course"]
    full = sum(course.points(A).values())
    assert _total(course, "b-hostile-files") == full
    autograded = course.path / "autograded" / "b-hostile-files" / A
    assert sorted(_files(autograded)) == [f"{A}.ipynb", "data.txt"]
    assert not any(p.is_symlink() for p in autograded.rglob("*"))
    assert sorted(_files(course.path / "feedback" / "b-hostile-files" / A)) == [f"{A}.html"]
    page = (course.path / "feedback" / "b-hostile-files" / A / f"{A}.html").read_text()
    for name in ("gradebook.db", "solution.md", "mem", "zero", "pipe", "sparse.bin", "timestamp.txt"):
        assert f"{name}" in page, f"no note about {name} in the feedback"
    assert "larger than" in page and "named pipe" in page and "without a submission time" in page


def test_no_escape_sequence_reaches_the_instructors_terminal(graded):
    for name, run in graded["runs"].items():
        if hasattr(run, "stdout"):
            assert "\x1b" not in run.stdout + run.stderr, f"an escape sequence in the output of {name}"


def test_sparse_file_is_not_read(graded):
    # a read of 1 GiB (twice, as nbgrader alone copies it) would take seconds and 2 GiB of disk
    course = graded["course"]
    assert not (course.path / "autograded" / "b-hostile-files" / A / "sparse.bin").exists()
    assert graded["runs"]["autograde_seconds"] < 240


def test_honest_neighbour_after_the_hostile_files_is_graded(graded):
    course = graded["course"]
    assert _total(course, "c-honest") == sum(course.points(A).values())
    assert (course.path / "feedback" / "c-honest" / A / f"{A}.html").is_file()


def test_collect_does_not_follow_a_link_in_the_exchange(graded):
    course = graded["course"]
    submitted = course.path / "submitted" / "c-honest" / A
    names = sorted(p.name for p in submitted.iterdir())
    assert f"{A}.ipynb" in names and "answers.ipynb.txt" not in names and "gradebook-copy.db" not in names
    assert not any(p.is_symlink() for p in submitted.rglob("*"))
    page = (course.path / "feedback" / "c-honest" / A / f"{A}.html").read_text()
    assert "answers.ipynb.txt" in page and "is a link" in page
    assert not (course.path / "submitted" / "e-linked-folder").exists()
    assert "e-linked-folder" in graded["runs"]["collect"].stderr   # named in the instructor's log


def test_release_feedback_releases_only_the_generated_pages(graded):
    course, exchange = graded["course"], graded["exchange"]
    outbound = exchange / COURSE_ID / "feedback"
    assert [p.name for p in outbound.iterdir()] == [f"{notebook_hash(secret=SECRET_C, notebook_id=A)}.html"]
    released = (outbound / f"{notebook_hash(secret=SECRET_C, notebook_id=A)}.html").read_bytes()
    assert released == (course.path / "feedback" / "c-honest" / A / f"{A}.html").read_bytes()
    assert not any(p.is_symlink() for p in outbound.iterdir())


def test_grading_as_root_leaves_files_the_instructor_owns(graded):
    if not graded["as_root"]:
        pytest.skip("not running as root")
    course = graded["course"]
    owned_by_root = [str(p.relative_to(course.path))
                     for name in ("autograded", "feedback", "submitted", "gradebook.db")
                     for p in [course.path / name, *(course.path / name).rglob("*")]
                     if os.path.lexists(p) and os.lstat(p).st_uid != INSTRUCTOR_UID
                     and p.name not in ("extra.html", "other.html")]   # planted by this test, not by grading
    assert owned_by_root == []
