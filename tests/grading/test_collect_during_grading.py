"""A collect while a grading pass of the same course runs is refused with a message (book/deploy.md, "Grading").

The grading pass is stood in for by a sleeping process whose command line is that of ``nbgrader autograde``
or of ``python -m rnnkit.grading.pipeline.grade_class`` and whose working directory is the course: that is
all :func:`grading_processes` looks at (``/proc/<pid>/cmdline`` and ``/proc/<pid>/cwd``).
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeError

from rnnkit.grading.pipeline import SafeCollect
from rnnkit.grading.pipeline.safe_collect import grading_processes

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux /proc")


def _sleeper(cwd, *args):
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *args], cwd=cwd)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:   # until its cmdline and cwd are readable
        try:
            if Path(f"/proc/{p.pid}/cmdline").read_bytes().count(b"\0") >= 3:
                break
        except OSError:
            pass
        time.sleep(0.02)
    return p


@pytest.fixture
def course(tmp_path, monkeypatch):
    # nbgrader creates the gradebook with the `alembic` command of the environment it runs in
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + ":" + os.environ["PATH"])
    root = tmp_path / "course"
    (root / "exchange" / "rnn-course" / "inbound").mkdir(parents=True)
    return root


def _collect(root):
    cd = CourseDirectory(root=str(root), course_id="rnn-course", assignment_id="a1-shapes")
    ex = SafeCollect(coursedir=cd, authenticator=None)
    ex.root = str(root / "exchange")
    ex.init_src()
    return ex


@pytest.mark.parametrize("args", [("nbgrader", "autograde", "a1-shapes"),
                                  ("-m", "rnnkit.grading.pipeline.grade_class", "a1-shapes", "--jobs", "2")])
def test_collect_is_refused_while_the_course_is_graded(course, args):
    p = _sleeper(course, *args)
    try:
        assert [pid for pid, _ in grading_processes(course)] == [p.pid]
        with pytest.raises(ExchangeError) as e:
            _collect(course)
        msg = str(e.value)
        assert "Not collecting: a grading pass of this course is running" in msg
        assert f"process {p.pid}" in msg and args[1] in msg
        assert not (course / "submitted").exists()
    finally:
        p.kill()
        p.wait()
    assert grading_processes(course) == []
    ex = _collect(course)          # once the pass has ended, the same collect starts
    assert ex.src_records == []


def test_grading_another_course_or_other_commands_do_not_refuse(course, tmp_path):
    other = tmp_path / "other-course"
    other.mkdir()
    procs = [_sleeper(other, "nbgrader", "autograde", "a1-shapes"),       # another course
             _sleeper(course, "nbgrader", "generate_feedback", "a1-shapes")]  # not a grading pass
    try:
        assert grading_processes(course) == []
        assert _collect(course).src_records == []
    finally:
        for p in procs:
            p.kill()
            p.wait()
