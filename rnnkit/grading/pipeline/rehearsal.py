"""A rehearsal before the term: grade a synthetic class through the configured path and check every score.

Run from the course directory (it needs ``nbgrader_config.py`` and ``source/<assignment>/``, as
``nbgrader autograde``)::

    python -m rnnkit.grading.pipeline.rehearsal a3-bptt --students 40            # grade_class, --jobs = cores
    python -m rnnkit.grading.pipeline.rehearsal a3-bptt --students 40 --serial   # nbgrader autograde

The class is made in a new course folder (``--out``, default a temporary one; the course's own
gradebook and ``submitted/`` are never touched), cycling through these kinds: the solution, the
untouched release, the learner-style bugs of :data:`BUGS` (each in the answer cell of its function), a
function that kills its kernel (``os._exit``) and one that never returns. It is graded by
``python -m rnnkit.grading.pipeline.grade_class`` (or ``nbgrader autograde`` with ``--serial``),
then the report says: minutes per 100 students, the peak memory of the largest grading process, the
notebooks that could not be graded, every student whose score is not the one its kind must get, and
whether the class report (:mod:`rnnkit.grading.pipeline.class_report`, written next to the course)
names each bug's mistake for exactly the students who have it. Exit status 0 when everything holds.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .. import registry
from .class_report import report
from .notebook import defined_functions

__all__ = ["Bug", "BUGS", "Student", "cells_of", "make_class", "expected_scores", "rehearse", "main"]


@dataclass(frozen=True)
class Bug:
    """A learner-style mistake shipped for rehearsals: the function it defines (appended to that function's
    answer cell), its source, the Mistake.name the verdict of that function's cells must give, and every hidden
    cell it must fail: its function's, and those of functions built on it that it breaks (declared per bug,
    as the bug table declares its messages: a loop is judged with the learner's own step function, so a wrong
    step costs the loop's cell only when the loop cannot be right with it)."""
    key: str
    function: str
    source: str
    mistake: str
    fails: tuple


#: A copy of a few rows of the course's bug table (tests/grading/grading_bugs/), per assignment.
BUGS = {
    "a3-bptt": (
        Bug("no-tanh", "rnn_step_forward", "def rnn_step_forward(x, h_prev, Wx, Ws, b):\n"
            "    h = x @ Wx.T + h_prev @ Ws.T + b\n    return h, (x, h_prev, h, Wx, Ws)\n",
            "no-tanh", ("test_rnn_step_forward",)),
        Bug("db-not-summed", "rnn_step_backward", "def rnn_step_backward(dh, cache):\n"
            "    x, h_prev, h, Wx, Ws = cache\n    d = dh * (1 - h ** 2)\n"
            "    return d @ Wx, d @ Ws, d.T @ x, d.T @ h_prev, d\n", "db-not-summed",
            ("test_rnn_step_backward", "test_rnn_backward_parameters", "test_rnn_backward_inputs")),
        Bug("state-not-carried", "rnn_forward", "def rnn_forward(X, h0, Wx, Ws, b):\n"
            "    Hs = np.stack([np.tanh(x @ Wx.T + h0 @ Ws.T + b) for x in X])\n"
            "    return Hs, (X, h0, Hs, Wx, Ws)\n", "state-not-carried",
            ("test_rnn_forward",)),
    ),
    "a6-lstm": (
        Bug("no-sigma-prime", "lstm_step_backward", "def lstm_step_backward(dh, dc, cache):\n"
            "    x, h_prev, c_prev, i, f, o, g, c, W = cache\n    H = h_prev.shape[1]\n"
            "    tanh_c = np.tanh(c)\n    dc_total = dc + dh * o * (1.0 - tanh_c ** 2)\n"
            "    da = np.concatenate([dc_total * g, dc_total * c_prev, dh * tanh_c, dc_total * i * (1.0 - g ** 2)],"
            " axis=1)\n    z = np.concatenate([h_prev, x], axis=1)\n    dz = da @ W\n"
            "    return dz[:, H:], dz[:, :H], dc_total * f, da.T @ z, da.sum(axis=0)\n", "no-sigma-prime",
            ("test_lstm_step_backward",)),
    ),
}


@dataclass(frozen=True)
class Student:
    id: str
    kind: str
    fails: tuple   # hidden cells that must score 0 (every other cell: full points)
    mistake: str = ""
    named_in: tuple = ()  # the cells whose verdict must name ``mistake`` (those of the broken function)


def _cells(nb: dict) -> list:
    return [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")]


def _answer_cell_of(nb: dict, function: str) -> dict:
    for cell in _cells(nb):
        meta = cell["metadata"]["nbgrader"]
        if meta.get("solution") and function in defined_functions("".join(cell["source"])):
            return cell
    raise KeyError(f"no answer cell defines {function}")


def _with(nb: dict, function: str, source: str) -> dict:
    nb = json.loads(json.dumps(nb))
    cell = _answer_cell_of(nb, function)
    cell["source"] = "".join(cell["source"]) + "\n\n" + source
    return nb


def cells_of(assignment: str, function: str) -> tuple[tuple, tuple]:
    """(the cells grading ``function``, every cell a function that kills its kernel or never returns costs):
    its own, and those of the functions built on it (a cell whose ``helper_cells`` hold one of them, which
    calls it), transitively."""
    checks = registry.checks_for(assignment)
    own = tuple(g for g, c in checks.items() if c.function == function)
    cost = set(own)
    while True:
        more = {g for g, c in checks.items() if cost & set(getattr(c, "helper_cells", ()))} - cost
        if not more:
            return own, tuple(g for g in checks if g in cost)
        cost |= more


def _broken_function(assignment: str) -> str:
    """The function a crashing or hanging student breaks: the last graded function no other cell builds on."""
    checks = registry.checks_for(assignment)
    helpers = {cell for c in checks.values() for cell in getattr(c, "helper_cells", ())}
    for check in reversed(list(checks.values())):
        if check.grade_id not in helpers:
            return check.function
    raise ValueError(f"{assignment}: every graded function is built on by another")


def make_class(assignment: str, solution: dict, release: dict, n: int, *, hang: bool = True) -> list:
    """``[(Student, notebook)]``: ``n`` students cycling through the kinds (module docstring)."""
    every = tuple(registry.checks_for(assignment))
    broken = _broken_function(assignment)
    broken_cells = cells_of(assignment, broken)[1]
    kinds = [("correct", lambda: solution, (), ""), ("untouched", lambda: release, every, "")]
    kinds += [(b.key, lambda b=b: _with(solution, b.function, "import numpy as np\n\n" + b.source),
               b.fails, b.mistake) for b in BUGS.get(assignment, ())]
    kinds.append(("crash", lambda: _with(solution, broken, f"import os\n\ndef {broken}(*args, **kwargs):\n"
                                                            f"    os._exit(3)\n"), broken_cells, ""))
    if hang:
        kinds.append(("hang", lambda: _with(solution, broken, f"def {broken}(*args, **kwargs):\n"
                                                               f"    while True:\n        pass\n"), broken_cells, ""))
    out = []
    for i in range(n):
        kind, make, fails, mistake = kinds[i % len(kinds)]
        named_in = cells_of(assignment, next(b.function for b in BUGS[assignment] if b.key == kind))[0] \
            if mistake else ()
        out.append((Student(f"r{i:04d}-{kind}", kind, fails, mistake, named_in), make()))
    return out


def expected_scores(student: Student, points: dict) -> dict:
    """grade_id -> the score ``student`` must get."""
    return {gid: 0.0 if gid in student.fails else p for gid, p in points.items()}


def _prepare(course: Path, target: Path, assignment: str, timeout: float | None) -> tuple[dict, dict]:
    """A new course at ``target`` with the assignment generated; returns (solution, release) notebooks."""
    source = course / "source" / assignment
    if not (course / "nbgrader_config.py").is_file() or not source.is_dir():
        raise SystemExit(f"rehearsal: run it from the course directory (no nbgrader_config.py or {source}); "
                         f"`python tools/release.py --source` writes source/")
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(course / "nbgrader_config.py", target / "nbgrader_config.py")
    shutil.copytree(source, target / "source" / assignment, dirs_exist_ok=True)
    if timeout:
        with open(target / "nbgrader_config.py", "a") as f:
            f.write(f"\nc.Execute.timeout = {float(timeout)!r}  # set by the rehearsal\n")
    _run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force", "--log-level=WARN"], target)
    solution = json.loads((target / "source" / assignment / f"{assignment}.ipynb").read_text())
    release = json.loads((target / "exercises" / assignment / f"{assignment}.ipynb").read_text())
    return solution, release


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.pop("NBGRADER_EXECUTION", None)
    return env


def _run(cmd: list, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n"
                           f"{proc.stderr[-4000:]}")
    return proc


def _scores(target: Path, assignment: str, students: list) -> dict:
    from nbgrader.api import Gradebook, MissingEntry
    out = {}
    with Gradebook(f"sqlite:///{target / 'gradebook.db'}") as gb:
        for s in students:
            try:
                sub = gb.find_submission(assignment, s.id)
            except MissingEntry:
                out[s.id] = None
                continue
            out[s.id] = {g.cell.name: g.score for nb in sub.notebooks for g in nb.grades if g.max_score}
    return out


def _points(assignment: str, solution: dict) -> dict:
    """grade_id -> points of every hidden test cell (the cells the assignment's checks grade)."""
    checks = registry.checks_for(assignment)
    return {c["metadata"]["nbgrader"]["grade_id"]: float(c["metadata"]["nbgrader"]["points"]) for c in _cells(solution)
            if c["metadata"]["nbgrader"]["grade_id"] in checks}


def rehearse(assignment: str, students: int, *, course: Path = Path("."), out: Path | None = None,
             jobs: int | None = None, serial: bool = False, timeout: float | None = None, hang: bool = True) -> dict:
    """Make, grade and check a synthetic class; returns the findings (see :func:`main` for what is printed)."""
    target = Path(out) if out else Path(tempfile.mkdtemp(prefix=f"rehearsal-{assignment}-"))
    solution, release = _prepare(Path(course).resolve(), target, assignment, timeout)
    made = make_class(assignment, solution, release, students, hang=hang)
    for student, nb in made:
        folder = target / "submitted" / student.id / assignment
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{assignment}.ipynb").write_text(json.dumps(nb, indent=1))
    cmd = ([sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"] if serial else
           [sys.executable, "-m", "rnnkit.grading.pipeline.grade_class", assignment]
           + (["--jobs", str(jobs)] if jobs else []))
    t0 = time.monotonic()
    proc = _run(cmd, target, check=False)
    seconds = time.monotonic() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    points = _points(assignment, solution)
    got = _scores(target, assignment, [s for s, _ in made])
    wrong = {}
    for s, _ in made:
        want = expected_scores(s, points)
        if got[s.id] is None or any(abs((got[s.id].get(g) or 0.0) - v) > 1e-9 or got[s.id].get(g) is None
                                    for g, v in want.items()):
            wrong[s.id] = {"expected": want, "got": got[s.id]}
    page, table, reports = report(target, assignment, target / "reports")
    named = {(r.grade_id, name): sorted(st) for r in reports for name, st in r.named.items()}
    should = {}
    for s, _ in made:
        for gid in s.named_in:
            should.setdefault((gid, s.mistake), []).append(s.id)
    report_wrong = {k: (sorted(v), named.get(k, [])) for k, v in should.items() if sorted(v) != named.get(k, [])}
    return {"course": str(target), "students": students, "seconds": seconds,
            "minutes_per_100": seconds / 60 * 100 / max(students, 1), "peak_mb": peak_mb,
            "exit_status": proc.returncode, "log_tail": (proc.stdout + proc.stderr)[-1500:],
            "wrong_scores": wrong, "report_mismatches": report_wrong, "report": str(page), "csv": str(table),
            "kinds": sorted({s.kind for s, _ in made}), "path": "nbgrader autograde" if serial else "grade_class"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rnnkit.grading.pipeline.rehearsal",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("assignment", choices=list(registry.MODULES))
    ap.add_argument("--students", type=int, default=40)
    ap.add_argument("--jobs", type=int, help="sandboxes at once (grade_class's --jobs; default: its own)")
    ap.add_argument("--serial", action="store_true", help="grade with nbgrader autograde instead of grade_class")
    ap.add_argument("--timeout", type=float, help="per-cell time limit for this rehearsal (default: the course's)")
    ap.add_argument("--no-hang", action="store_true", help="leave out the student whose function never returns")
    ap.add_argument("--course", type=Path, default=Path("."), help="the course directory (default: here)")
    ap.add_argument("--out", type=Path, help="folder for the synthetic course (default: a temporary one)")
    a = ap.parse_args(argv)
    r = rehearse(a.assignment, a.students, course=a.course, out=a.out, jobs=a.jobs, serial=a.serial,
                 timeout=a.timeout, hang=not a.no_hang)
    print(f"rehearsal of {a.assignment}: {r['students']} synthetic students ({', '.join(r['kinds'])}) in "
          f"{r['course']}, graded by {r['path']}")
    print(f"time: {r['seconds']:.1f} s = {r['minutes_per_100']:.2f} min per 100 students; peak memory of the "
          f"largest grading process: {r['peak_mb']:.0f} MB; exit status {r['exit_status']}")
    for sid, w in r["wrong_scores"].items():
        print(f"WRONG SCORE {sid}: expected {w['expected']}, got {w['got']}")
    for (gid, name), (want, got) in r["report_mismatches"].items():
        print(f"REPORT {gid} {name}: expected students {want}, the report names {got}")
    ok = r["exit_status"] == 0 and not r["wrong_scores"] and not r["report_mismatches"]
    print(("every student got the score of its kind; the report names every bug's mistake for exactly its "
           "students" if ok else "the rehearsal FAILED (above)") + f"\nclass report: {r['report']} and {r['csv']}")
    if r["exit_status"] != 0:
        print(r["log_tail"])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
