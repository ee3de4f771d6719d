"""Autograde speed: the trusted pipeline against nbgrader's stock pipeline, same batch, same process.

    python tools/bench_grading.py            # 7 assignments x (correct, buggy-ish untouched) x --copies
    python tools/bench_grading.py --copies 4

Both runs grade the same submissions in two temporary courses. The reference run uses
nbgrader 0.9's default preprocessors (the kernel unsandboxed, the hidden cells checking
in-process: how the course graded before), the other the course's ``nbgrader_config.py``
(rebuild, bubblewrap sandbox, judge in the grading process, post-check). Printed: seconds
per notebook, amortised over the batch (one nbgrader start-up per run), and the ratio.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "course"))
from nbgrader_course import ASSIGNMENTS, Course  # noqa: E402

STOCK = '''
c = get_config()  # noqa: F821
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "exercises"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}
c.Execute.timeout = 30
c.Autograde.create_student = True
'''


def batch(course: Course, copies: int) -> int:
    n = 0
    for a in ASSIGNMENTS:
        for i in range(copies):
            course.submit(f"s{i:02d}-correct", a, course.notebook(a))
            course.submit(f"s{i:02d}-untouched", a, course.notebook(a, base="release"))
            n += 2
    return n


def timed(course: Course) -> float:
    start = time.perf_counter()
    course.run("autograde", "*", "--force")
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=2, help="submissions of each kind per assignment")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        trusted = Course(Path(a), ASSIGNMENTS)
        stock = Course(Path(b), ASSIGNMENTS)
        (stock.path / "nbgrader_config.py").write_text(STOCK)
        n = batch(trusted, args.copies)
        batch(stock, args.copies)
        t_stock = timed(stock)
        t_trusted = timed(trusted)
    print(f"notebooks per run:            {n}")
    print(f"stock nbgrader (unsandboxed): {t_stock / n:5.2f} s per notebook ({t_stock:.0f} s)")
    print(f"trusted pipeline (sandbox):   {t_trusted / n:5.2f} s per notebook ({t_trusted:.0f} s)")
    print(f"ratio trusted / stock:        {t_trusted / t_stock:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
