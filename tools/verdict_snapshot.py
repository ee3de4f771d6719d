"""The bug table's verdicts, recorded and compared: the same behaviour before and after a change of the grading.

    python tools/verdict_snapshot.py record OUT.jsonl.gz [--seeds 10] [--assignment a3_bptt ...] [--root DIR]
    python tools/verdict_snapshot.py compare BEFORE.jsonl.gz AFTER.jsonl.gz [--assignment a3_bptt ...]

``record`` runs every row of the bug table (``CASES`` of tests/grading/grading_bugs: grader, label, function,
expected) on the generator seeds 0 .. N-1 exactly as tests/grading/test_grading_table.py does: the grader gets
``rng=np.random.default_rng(seed)``, a check's large case runs on seed 0 only, stderr is captured, and pytest's
warning filters of pyproject.toml apply (a RuntimeWarning raised in rnnkit is an error). It writes one JSON line
per (assignment, label, grade_id, seed): ``passed``, ``message``, ``expected``, ``ok`` (what the table test
concludes), ``stderr`` and ``seconds``; the first line describes the run (commit, seeds, versions).

``--root`` is the repository whose ``rnnkit`` and tests are imported (default: this one). A snapshot of another
checkout is taken with ``--root`` pointing at a worktree of it (``git worktree add /tmp/base <commit>``); the
tool refuses to record if ``rnnkit`` is not imported from there (an editable install points elsewhere).

A row is named by its assignment, its label and the grade_id of the check its grader runs: a ``grade_*``
function of the old packages and ``by_id(grade_id)`` of the ported ones name the same row. The grade_id is
read from the outermost ``Check.grade`` call the grader makes (a ``by_id`` grader's ``grade_id`` otherwise).

``compare`` prints, per assignment, the regressions (a valid row that no longer passes, a buggy row that passes
or whose message lacks the expected text -- the text the row expected BEFORE, so that a weakened expectation shows
--, a row that now writes to stderr or raises, a row that disappeared),
then every changed message (before and after, shortened), then counts. Exit status 1 if any regression.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import gzip
import io
import json
import os
import platform
import re
import subprocess
import sys
import textwrap
import time
import traceback
import warnings
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: How many characters of a message ``compare`` shows for each side of a change.
SHOWN = 600

#: A number in a message (sizes, errors, indices, the grading seed): masked to tell a change of wording from a
#: change of the drawn case (``compare`` lists the two kinds apart).
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


# ---------------------------------------------------------------------------
# record
# ---------------------------------------------------------------------------

def import_from(root: Path):
    """Import ``rnnkit`` and the bug table from ``root`` (refuses a ``rnnkit`` found anywhere else)."""
    for path in (root / "tests" / "grading", root):
        sys.path.insert(0, str(path))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(root), str(root / "tests" / "grading"),
                                                os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    import numpy as np
    import rnnkit
    here = Path(rnnkit.__file__).resolve()
    assert here.is_relative_to(root.resolve()), f"rnnkit imported from {here}, not from {root}"
    import grading_bugs
    table = Path(grading_bugs.__file__).resolve()
    assert table.is_relative_to(root.resolve()), f"grading_bugs imported from {table}, not from {root}"
    return np, grading_bugs


def check_classes(grading_bugs) -> set:
    """The check classes whose ``cases``/``grade`` the table's rule and the grade_id reader patch."""
    if hasattr(grading_bugs, "check_classes"):
        return set(grading_bugs.check_classes())
    from rnnkit.grading._core import Check  # before by_id existed: one Check class
    return {Check}


def without_large_cases(grading_bugs, setattr_) -> None:
    """test_grading_table.py's rule for seeds other than 0: every check draws its cases without its large case."""
    if hasattr(grading_bugs, "without_large_cases"):
        grading_bugs.without_large_cases(setattr_)
        return
    for cls in check_classes(grading_bugs):  # the same rule, as test_grading_table.py wrote it before by_id
        full = cls.cases

        def cases(self, *args, _full=full, **kwargs):
            return _full(dataclasses.replace(self, large=None), *args, **kwargs)

        setattr_(cls, "cases", cases)


class Patches:
    """``setattr`` that remembers the old values; :meth:`undo` puts them back."""

    def __init__(self):
        self.saved = []

    def __call__(self, obj, name, value):
        self.saved.append((obj, name, obj.__dict__.get(name, getattr(obj, name))))
        setattr(obj, name, value)

    def undo(self):
        while self.saved:
            obj, name, value = self.saved.pop()
            setattr(obj, name, value)


def record_grade_ids(classes, setattr_) -> list:
    """Patch every check class's ``grade`` to append the grade_id of each outermost call to the returned list."""
    seen, depth = [], [0]
    for cls in classes:
        original = cls.grade

        def grade(self, *args, _original=original, **kwargs):
            if depth[0] == 0:
                seen.append(self.grade_id)
            depth[0] += 1
            try:
                return _original(self, *args, **kwargs)
            finally:
                depth[0] -= 1

        setattr_(cls, "grade", grade)
    return seen


def grader_name(grader) -> str:
    """The grader's own name, with a partial's options (``grade_rnn_backward(part='inputs')``)."""
    name = getattr(grader, "__name__", None)
    if name is not None:
        return name
    func = getattr(grader, "func", None)
    options = ", ".join(f"{k}={v!r}" for k, v in sorted(getattr(grader, "keywords", {}).items()))
    return f"{getattr(func, '__name__', 'grader')}({options})"


def run_row(np, grader, fn, expected, seed: int, grade_ids: list) -> dict:
    """One row on one seed, as test_grading_table.py's test_case runs it."""
    del grade_ids[:]
    err = io.StringIO()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("default")  # pytest's own defaults, then pyproject.toml's filterwarnings
        warnings.filterwarnings("always", category=DeprecationWarning)
        warnings.filterwarnings("always", category=PendingDeprecationWarning)
        warnings.filterwarnings("error", category=RuntimeWarning, module="rnnkit.*")
        try:
            with contextlib.redirect_stderr(err):
                verdict = grader(fn, rng=np.random.default_rng(seed))
            raised = None
        except BaseException as exc:  # noqa: BLE001 - a raising grader is a recorded outcome, not a crash
            if isinstance(exc, KeyboardInterrupt):
                raise
            verdict, raised = None, "".join(traceback.format_exception_only(type(exc), exc)).strip()
    seconds = time.perf_counter() - start
    out = {"seed": seed, "expected": expected, "stderr": err.getvalue(), "seconds": round(seconds, 3),
           "raised": raised, "grade_id": grade_ids[0] if grade_ids else getattr(grader, "grade_id", None)}
    if type(verdict).__name__ == "Verdict" and hasattr(verdict, "passed") and hasattr(verdict, "message"):
        out.update(passed=bool(verdict.passed), message=str(verdict.message))
    else:
        out.update(passed=None, message=raised if raised is not None else f"not a Verdict: {verdict!r}")
    out["ok"] = table_outcome(out)
    return out


def table_outcome(row: dict) -> bool:
    """What test_grading_table.py concludes about a recorded row."""
    if row["passed"] is None or row["stderr"]:
        return False
    if row["expected"] is None:
        return row["passed"] is True
    return row["passed"] is False and row["expected"] in row["message"]


def git_commit(root: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "rnnkit", "tests/grading"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (with uncommitted changes under rnnkit/ or tests/grading/)" if dirty else "")


def record(out: Path, seeds: int, assignments: list, root: Path) -> int:
    np, grading_bugs = import_from(root)
    modules = [m for m in grading_bugs.ASSIGNMENTS
               if not assignments or m.__name__.rsplit(".", 1)[-1] in assignments]
    unknown = set(assignments) - {m.__name__.rsplit(".", 1)[-1] for m in modules}
    if unknown:
        print(f"unknown assignment(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    started = time.time()
    header = {"header": True, "root": str(root), "commit": git_commit(root), "seeds": seeds,
              "assignments": [m.__name__.rsplit(".", 1)[-1] for m in modules], "python": platform.python_version(),
              "numpy": np.__version__, "started": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(started))}
    out.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if out.suffix == ".gz" else open
    rows = 0
    with opener(out, "wt", encoding="utf-8") as f:
        f.write(json.dumps(header) + "\n")
        for seed in range(seeds):
            patches = Patches()
            try:
                if seed != 0:
                    without_large_cases(grading_bugs, patches)
                grade_ids = record_grade_ids(check_classes(grading_bugs), patches)
                for module in modules:
                    assignment = module.__name__.rsplit(".", 1)[-1]
                    for grader, label, fn, expected in module.CASES:
                        row = run_row(np, grader, fn, expected, seed, grade_ids)
                        row = {"assignment": assignment, "label": label, "grader": grader_name(grader), **row}
                        f.write(json.dumps(row) + "\n")
                        rows += 1
                    f.flush()
                    print(f"seed {seed} {assignment}: {len(module.CASES)} rows, {time.time() - started:.0f} s",
                          file=sys.stderr, flush=True)
            finally:
                patches.undo()
        f.write(json.dumps({"footer": True, "rows": rows, "seconds": round(time.time() - started, 1)}) + "\n")
    print(f"{rows} rows written to {out} in {time.time() - started:.0f} s", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------

def load(path: Path) -> tuple[dict, dict]:
    """``(header, {(assignment, grade_id, label, seed): row})`` of a snapshot."""
    opener = gzip.open if path.suffix == ".gz" else open
    header, rows = {}, {}
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row.get("header"):
                header = row
            elif not row.get("footer"):
                key = (row["assignment"], row["grade_id"] or row["grader"], row["label"], row["seed"])
                rows[key] = row
    return header, rows


def short(text: str, width: int = SHOWN) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 5] + " […]"


def matched_by_label(before: set, after: set) -> dict:
    """``{(grade_id, label) after: (grade_id, label) before}`` for rows whose grade_id changed: a label that is
    left unmatched exactly once on each side (a grader of several cells, ``part="all"``, split in two)."""
    left_b, left_a = before - after, after - before
    out = {}
    for grade_id, label in left_a:
        was = [k for k in left_b if k[1] == label]
        if len(was) == 1 and sum(1 for k in left_a if k[1] == label) == 1:
            out[(grade_id, label)] = was[0]
    return out


def masked(message: str) -> str:
    """The message with every number replaced by ``#``."""
    return NUMBER.sub("#", message)


def edits(before: str, after: str) -> list:
    """The word-level edits from one message to the other, numbers masked: ``'old words' -> 'new words'``."""
    a, b = masked(before).split(), masked(after).split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "equal":
            out.append(f"{short(' '.join(a[i1:i2]), 200)!r} -> {short(' '.join(b[j1:j2]), 200)!r}")
    return out


def holds_before(before: dict, after: dict) -> bool:
    """The after row keeps the verdict the table expected BEFORE (a changed expectation does not excuse it)."""
    if before["expected"] is None:
        return after["passed"] is True
    return after["passed"] is False and before["expected"] in after["message"]


def why_not_before(before: dict, after: dict) -> str:
    if before["expected"] is None:
        return "the valid implementation fails"
    if after["passed"]:
        return "the buggy implementation passes"
    return f"the expected text {before['expected']!r} (before) is missing"


def why_not_ok(row: dict) -> str:
    """Why the table test fails on a recorded row."""
    if row["passed"] is None:
        return f"the grader raised: {short(row['message'], 200)}"
    if row["stderr"]:
        return f"the check wrote to stderr: {short(row['stderr'], 200)}"
    if row["expected"] is None:
        return "the valid implementation fails"
    if row["passed"]:
        return "the buggy implementation passes"
    return f"the expected text {row['expected']!r} is missing"


def compare(before_path: Path, after_path: Path, assignments: list) -> int:
    bh, before = load(before_path)
    ah, after = load(after_path)
    print(f"before: {before_path} ({bh.get('commit', '?')}, {bh.get('seeds', '?')} seeds, {len(before)} rows)")
    print(f"after:  {after_path} ({ah.get('commit', '?')}, {ah.get('seeds', '?')} seeds, {len(after)} rows)")
    # compare only what both runs covered: the after run may be one assignment, or fewer seeds
    seeds = set(range(min(bh.get("seeds", 0), ah.get("seeds", 0))))
    covered = set(bh.get("assignments", [])) & set(ah.get("assignments", []))
    if assignments:
        covered &= set(assignments)
    total_regressions = 0
    for assignment in [a for a in bh.get("assignments", []) if a in covered]:
        keys_b = {k for k in before if k[0] == assignment and k[3] in seeds}
        renamed = matched_by_label({k[1:3] for k in keys_b}, {k[1:3] for k in after if k[0] == assignment})
        for key in [k for k in after if k[0] == assignment and k[1:3] in renamed]:
            after[(assignment, *renamed[key[1:3]], key[3])] = after.pop(key)
        keys_a = {k for k in after if k[0] == assignment and k[3] in seeds}
        regressions, changed = [], defaultdict(list)
        for key in sorted(keys_b | keys_a, key=str):
            b, a = before.get(key), after.get(key)
            name = f"{key[1]} · {key[2]} · seed {key[3]}"
            if a is None:
                regressions.append(f"{name}: the row is gone (was {'ok' if b['ok'] else 'failing'})")
                continue
            if b is None:
                if not a["ok"]:
                    regressions.append(f"{name}: new row, failing: {why_not_ok(a)}")
                continue
            if b["ok"] and not a["ok"]:
                regressions.append(f"{name}: {why_not_ok(a)}\n        after: {short(a['message'], 400)}")
            elif b["ok"] and not holds_before(b, a):  # judged by the row's expectation BEFORE the change
                regressions.append(f"{name}: {why_not_before(b, a)} (the table now expects "
                                   f"{'a pass' if a['expected'] is None else repr(a['expected'])})\n"
                                   f"        after: {short(a['message'], 400)}")
            if b["message"] != a["message"] or b["passed"] != a["passed"]:
                # one entry per row and change of wording; the seeds (whose numbers differ) listed together
                changed[(key[1], key[2], masked(b["message"]), masked(a["message"]))].append(
                    (key[3], b["message"], a["message"]))
        new = sorted({(k[1], k[2]) for k in keys_a - keys_b})
        gone = sorted({(k[1], k[2]) for k in keys_b - keys_a})
        total_regressions += len(regressions)
        print(f"\n=== {assignment}: {len(keys_b)} rows before, {len(keys_a)} after, seeds {sorted(seeds)}")
        print(f"--- regressions: {len(regressions)}")
        for line in regressions:
            print(f"  REGRESSION {line}")
        wording = {k: v for k, v in changed.items() if k[2] != k[3]}
        numbers = {k: v for k, v in changed.items() if k[2] == k[3]}
        print(f"--- changed messages: {sum(len(s) for s in changed.values())} row-seeds in "
              f"{len({k[:2] for k in changed})} rows; the wording changed in {sum(len(s) for s in wording.values())} "
              f"row-seeds ({len({k[:2] for k in wording})} rows), only numbers in "
              f"{sum(len(s) for s in numbers.values())} ({len({k[:2] for k in numbers})} rows)")
        for title, group, width in (("wording changed (one example per row and change)", wording, SHOWN),
                                    ("only numbers changed (sizes, errors, seeds): one example per row", numbers, 300)):
            if not group:
                continue
            print(f"\n  ~~ {title}")
            for (grade_id, label, _, _), seen in sorted(group.items(), key=lambda kv: (kv[0][:2], kv[1][0][0])):
                row_b = before[(assignment, grade_id, label, seen[0][0])]
                valid = "valid" if row_b["expected"] is None else f"buggy, expects {row_b['expected']!r}"
                print(f"\n  [{grade_id} · {label}] ({valid}) seeds {','.join(str(s[0]) for s in seen)}")
                for side, text in (("before: ", seen[0][1]), ("after:  ", seen[0][2])):
                    print(textwrap.indent(textwrap.fill(side + short(text, width), 110, subsequent_indent=" " * 8),
                                          "    "))
                if group is wording:
                    for edit in edits(seen[0][1], seen[0][2]):
                        print(textwrap.indent(textwrap.fill("edit:   " + edit, 110, subsequent_indent=" " * 8), "    "))
        # the same edit in many rows (a shared sentence of the engine reworded) is one change: listed once
        shared = defaultdict(set)
        for (grade_id, label, _, _), seen in wording.items():
            for edit in edits(seen[0][1], seen[0][2]):
                shared[edit].add((grade_id, label))
        if shared:
            print("\n  ~~ the edits, by how many rows make them (numbers masked as #)")
            for edit, rows in sorted(shared.items(), key=lambda kv: (-len(kv[1]), kv[0])):
                print(textwrap.indent(textwrap.fill(f"{len(rows):3d} rows: {edit}", 110, subsequent_indent=" " * 10),
                                      "    "))
        same = sum(1 for k in keys_b & keys_a if before[k]["message"] == after[k]["message"])
        print(f"--- counts: {same} row-seeds unchanged, {sum(len(s) for s in changed.values())} changed "
              f"({sum(len(s) for s in wording.values())} in wording), "
              f"{len(regressions)} regressions, {len(new)} new rows, {len(gone)} rows gone")
        for (grade_id, label), (was, _) in sorted(renamed.items(), key=lambda kv: kv[1]):
            print(f"  matched by its label alone: {was} · {label} is now graded by {grade_id}")
        for grade_id, label in new:
            print(f"  new row: {grade_id} · {label}")
        for grade_id, label in gone:
            print(f"  gone: {grade_id} · {label}")
    print(f"\nTOTAL regressions: {total_regressions}")
    return 1 if total_regressions else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="run the bug table and write its verdicts")
    rec.add_argument("out", type=Path)
    rec.add_argument("--seeds", type=int, default=10)
    rec.add_argument("--assignment", nargs="*", default=[], help="e.g. a3_bptt (default: all)")
    rec.add_argument("--root", type=Path, default=ROOT, help="the checkout whose rnnkit and tests are run")
    cmp = sub.add_parser("compare", help="regressions and changed messages between two snapshots")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    cmp.add_argument("--assignment", nargs="*", default=[])
    args = ap.parse_args(argv)
    if args.command == "record":
        return record(args.out, args.seeds, args.assignment, args.root.resolve())
    return compare(args.before, args.after, args.assignment)


if __name__ == "__main__":
    sys.exit(main())
