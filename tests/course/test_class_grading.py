"""Grading a class in parallel (rnnkit.grading.pipeline.grade_class): the same scores as serial
``nbgrader autograde``, on local workers and on a real Dask scheduler with two worker processes on
127.0.0.1; a worker killed mid-batch loses nothing and counts nothing twice; a foreign, stale, forged or
missing record is never judged (that submission is run by the judge's process, with its true score).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from class_batch import A3, submit_class
from nbgrader_course import Course
from tools.release import nbgrader_env

pytestmark = pytest.mark.slow

#: Per-cell limit for these runs (the course's is 30 s): every correct cell runs well under a second,
#: the never-returning submission costs this once per cell it hangs in.
TIMEOUT = 6
STUDENTS = 10  # one of each kind of class_batch, the hanging one included


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    c = Course(tmp_path_factory.mktemp("class"), [A3])
    with open(c.path / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.Execute.timeout = {TIMEOUT}\n")
    c.students = submit_class(c, STUDENTS, hang=True)
    c.run("autograde", A3, "--force", timeout=1800)
    c.serial = scores(c)
    c.rows = grade_rows(c)
    return c


def scores(course: Course) -> dict:
    return {s: course.scores(A3, s) for s in course.students}


def same_as_serial(course: Course) -> str:
    """'' when every score equals the serial run's, else the differing cells with their verdicts now."""
    now, lines = scores(course), []
    for s in course.students:
        nb = course.autograded(A3, s) or {"cells": []}
        said = {c["metadata"].get("nbgrader", {}).get("grade_id"): " ".join(
            str(o.get("text") or o.get("evalue") or "") for o in c.get("outputs", []))[:600] for c in nb["cells"]}
        lines += [f"{s} {gid}: serial {course.serial[s][gid]}, now {now[s][gid]}: {said.get(gid)}"
                  for gid in now[s] if now[s][gid] != course.serial[s][gid]]
    return "\n".join(lines)


def grade_class(course: Course, *args: str, check: bool = True, popen: bool = False):
    cmd = [sys.executable, "-m", "rnnkit.grading.pipeline.grade_class", A3, *args]
    if popen:
        return subprocess.Popen(cmd, cwd=course.path, env=nbgrader_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    proc = subprocess.run(cmd, cwd=course.path, env=nbgrader_env(), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=1800)
    if check and proc.returncode != 0:
        raise AssertionError(f"grade_class exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def grade_rows(course: Course) -> dict[str, int]:
    """Rows of grades per student in the gradebook (a double-counted submission would have more)."""
    with Gradebook(f"sqlite:///{course.path / 'gradebook.db'}") as gb:
        out = {}
        for s in course.students:
            sub = gb.find_submission(A3, s)
            out[s] = sum(len(nb.grades) for nb in sub.notebooks)
        return out


def test_the_batch_covers_full_partial_and_zero_scores(course):
    totals = {s: sum(v for v in course.serial[s].values()) for s in course.students}
    assert max(totals.values()) == 14 and min(totals.values()) == 0
    assert any(0 < t < 14 for t in totals.values())
    assert all(None not in course.serial[s].values() for s in course.students), course.serial


def test_parallel_on_this_machine_gives_the_serial_scores(course):
    proc = grade_class(course, "--jobs", "2")
    assert same_as_serial(course) == ""
    assert f"sandboxes: {STUDENTS}/{STUDENTS} done" in proc.stdout  # progress, as plain lines off a terminal
    assert "notebooks/s" in proc.stdout and "s left" in proc.stdout
    assert f"{STUDENTS} notebook(s) run by the workers, 0 record(s) missing or rejected" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert grade_rows(course) == course.rows


def test_foreign_stale_forged_and_missing_records_are_never_judged(course, tmp_path):
    records = tmp_path / "records"
    grade_class(course, "--jobs", "2", "--phase", "issue", "--records", str(records))
    grade_class(course, "--jobs", "2", "--phase", "run", "--records", str(records))
    by_kind = {s.split("-", 1)[1]: s for s in course.students}
    path = {s: records / A3 / s / f"{A3}.record.json" for s in course.students}
    correct = json.loads(path[by_kind["correct"]].read_text())
    # foreign: the correct student's record (all passing) placed as the untouched student's
    path[by_kind["untouched"]].write_text(json.dumps(correct))
    # stale: the record of another grading run (another nonce)
    stale = json.loads(path[by_kind["no-carry"]].read_text())
    stale["nonce"] = "0" * 32
    path[by_kind["no-carry"]].write_text(json.dumps(stale))
    # forged: outputs of the correct submission's hidden cells under the buggy one's identity
    forged = json.loads(path[by_kind["step-fwd-no-tanh"]].read_text())
    forged["cells"] = correct["cells"]
    forged["seeds"] = correct["seeds"]
    path[by_kind["step-fwd-no-tanh"]].write_text(json.dumps(forged))
    # missing
    path[by_kind["crash"]].unlink()
    proc = grade_class(course, "--phase", "judge", "--records", str(records))
    assert same_as_serial(course) == ""
    log = proc.stderr
    assert f"{by_kind['untouched']}/{A3}/{A3}: the grading record was rejected (it is the record of another " \
           f"student ({by_kind['correct']})" in log
    assert f"{by_kind['no-carry']}/{A3}/{A3}: the grading record was rejected (it belongs to another grading run" in log
    assert f"{by_kind['step-fwd-no-tanh']}/{A3}/{A3}: the grading record was rejected (its seeds are not the ones " \
           f"issued" in log
    assert f"{by_kind['crash']}/{A3}/{A3}: the grading record was rejected (no record came back" in log
    assert log.count("the grading record was rejected") == 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path):
    """A ``dask scheduler`` and two ``dask worker`` processes (one sandbox each) on 127.0.0.1."""
    dask = Path(sys.executable).with_name("dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    workdir = tmp_path / "workers"  # a worker sees no course: it runs in a folder of its own
    workdir.mkdir()
    log = open(tmp_path / "dask.log", "w")
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], cwd=workdir, stdout=log, stderr=log)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen([str(dask), "worker", address, "--nthreads", "1", "--no-nanny",
                                           "--no-dashboard", "--host", "127.0.0.1"], cwd=workdir, stdout=log,
                                          stderr=log))
        from distributed import Client
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address, procs[1:]
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


def test_a_dask_cluster_gives_the_serial_scores(course, dask_cluster):
    address, _ = dask_cluster
    proc = grade_class(course, "--scheduler", address)
    assert same_as_serial(course) == ""
    assert f"{STUDENTS} notebook(s) run by the workers, 0 record(s) missing or rejected" in proc.stdout


def test_a_worker_killed_mid_batch_loses_nothing_and_counts_nothing_twice(course, dask_cluster, tmp_path):
    address, workers = dask_cluster
    records = tmp_path / "records"
    proc = grade_class(course, "--scheduler", address, "--records", str(records), popen=True)
    deadline = time.monotonic() + 600
    while not list(records.glob(f"{A3}/*/*.record.json")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    os.kill(workers[0].pid, signal.SIGKILL)  # mid-batch: STUDENTS - 1 or more submissions still to run
    out, err = proc.communicate(timeout=1800)
    assert proc.returncode == 0, out + err
    assert workers[0].poll() == -signal.SIGKILL
    assert same_as_serial(course) == ""
    # every submission was run by a worker (the killed one's task went to the other), none by the judge
    assert f"{STUDENTS} notebook(s) run by the workers, 0 record(s) missing or rejected" in out, out + err
    assert len(list(records.glob(f"{A3}/*/*.record.json"))) == STUDENTS
    assert grade_rows(course) == course.rows
