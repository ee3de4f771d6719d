"""Grading a class: serial ``nbgrader autograde`` against ``grade_class --jobs N``, same batch, same run.

    python tools/bench_class_grading.py                 # 20 submissions of a3-bptt, --jobs 2
    python tools/bench_class_grading.py --students 40 --jobs 2

One temporary course holds a synthetic class (tests/course/class_batch.py: correct, untouched,
learner-style bugs from tests/grading/grading_bugs/, a kernel that kills itself). It is graded twice:
``nbgrader autograde a3-bptt --force`` (one sandbox after another), then
``python -m rnnkit.grading.pipeline.grade_class a3-bptt --jobs N`` (N sandboxes at once, one writer to the
gradebook). Printed: both wall times, their ratio, and whether every score is the same.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "course"))
from class_batch import A3, submit_class  # noqa: E402
from nbgrader_course import Course  # noqa: E402


def all_scores(course: Course, students: list[str]) -> dict:
    return {s: course.scores(A3, s) for s in students}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        course = Course(Path(tmp), [A3])
        students = submit_class(course, args.students)
        start = time.perf_counter()
        course.run("autograde", A3, "--force")
        t_serial = time.perf_counter() - start
        serial = all_scores(course, students)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rnnkit.grading.pipeline.grade_class", A3, "--jobs", str(args.jobs)],
                       cwd=course.path, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONUNBUFFERED": "1"})
        t_parallel = time.perf_counter() - start
        parallel = all_scores(course, students)
    same = serial == parallel
    print(f"submissions:                      {len(students)} (a3-bptt; {os.cpu_count()} cores)")
    print(f"serial nbgrader autograde:        {t_serial:6.1f} s ({t_serial / len(students):.2f} s per notebook)")
    print(f"grade_class --jobs {args.jobs}:             {t_parallel:6.1f} s ({t_parallel / len(students):.2f} s per notebook)")
    print(f"ratio parallel / serial:          {t_parallel / t_serial:6.2f}")
    print(f"every score the same:             {same}")
    if not same:
        for s in students:
            if serial[s] != parallel[s]:
                print(f"  {s}: serial {serial[s]}  parallel {parallel[s]}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
