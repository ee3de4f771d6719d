"""Regenerate the student notebooks in ``exercises/`` from the instructor notebooks in ``solutions/``.

Run from the repository root::

    python -m rnnkit.release                 # rewrite exercises/<name>/ for every assignment
    python -m rnnkit.release a3-bptt         # only some assignments
    python -m rnnkit.release --out /tmp/rel  # write the release elsewhere (exercises/ untouched)
    python -m rnnkit.release --check         # exit 1 if exercises/ differs from a fresh release

The work happens in a temporary copy of the course (``nbgrader_config.py`` and
``solutions/``), so no ``gradebook.db`` or other nbgrader state is left in the
repository. ``nbgrader generate_assignment`` replaces solution regions with
``raise NotImplementedError()`` and deletes hidden-test regions.
"""
from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["ASSIGNMENTS", "available_assignments", "nbgrader_env", "generate_release", "main"]

#: Every assignment name the course defines, in course order.
ASSIGNMENTS = ("a1-recurrence", "a2-forward-loss", "a3-bptt", "a4-gradients-over-time",
               "a5-teacher-forcing", "a6-lstm", "a7-char-lm")


def nbgrader_env() -> dict[str, str]:
    """The environment for an nbgrader subprocess: this interpreter's ``bin/`` first on PATH.

    nbgrader runs the ``alembic`` executable of its own environment by name when it
    opens a gradebook; with an unactivated virtualenv that lookup would fail.
    """
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def available_assignments(root: Path) -> list[str]:
    """The assignments of :data:`ASSIGNMENTS` that have a source notebook under ``root/solutions``."""
    return [a for a in ASSIGNMENTS if (root / "solutions" / a / f"{a}.ipynb").is_file()]


def generate_release(root: Path, out: Path, assignments: list[str] | None = None) -> list[str]:
    """Run ``nbgrader generate_assignment`` in a temporary course copy and put the result in ``out/<name>/``.

    Parameters
    ----------
    root : Path
        Repository root (holds ``nbgrader_config.py`` and ``solutions/``).
    out : Path
        Destination; ``out/<name>/`` is replaced for each assignment released.
    assignments : list of str, optional
        Default: every assignment with a source notebook.

    Returns
    -------
    list of str
        The assignments released.
    """
    root = Path(root).resolve()
    names = assignments or available_assignments(root)
    unknown = [a for a in names if a not in ASSIGNMENTS or not (root / "solutions" / a).is_dir()]
    if unknown:
        raise ValueError(f"generate_release: no source for {unknown}; available: {available_assignments(root)}")
    with tempfile.TemporaryDirectory(prefix="rnnkit-release-") as tmp:
        course = Path(tmp)
        shutil.copy2(root / "nbgrader_config.py", course / "nbgrader_config.py")
        for name in names:
            shutil.copytree(root / "solutions" / name, course / "solutions" / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        # One nbgrader process for all of them: "*" matches exactly the assignments copied above.
        cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--force", "--log-level=WARN"]
        proc = subprocess.run(cmd, cwd=course, capture_output=True, text=True, env=nbgrader_env())
        if proc.returncode != 0:
            raise RuntimeError(f"generate_release: {' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            dest = out / name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(course / "exercises" / name, dest)
    return list(names)


def _same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(_same_tree(a / d, b / d) for d in cmp.common_dirs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnkit.release", description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="assignment names (default: all with a source notebook)")
    parser.add_argument("--root", default=os.getcwd(), help="repository root (default: current directory)")
    parser.add_argument("--out", help="write the release here instead of ROOT/exercises")
    parser.add_argument("--check", action="store_true", help="compare a fresh release with ROOT/exercises")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if args.check:
        with tempfile.TemporaryDirectory(prefix="rnnkit-release-check-") as tmp:
            names = generate_release(root, Path(tmp), args.assignments or None)
            stale = [n for n in names if not (root / "exercises" / n).is_dir()
                     or not _same_tree(Path(tmp) / n, root / "exercises" / n)]
        if stale:
            print(f"exercises/ is out of date for: {', '.join(stale)}; run `python -m rnnkit.release`")
            return 1
        print(f"exercises/ matches a fresh release of: {', '.join(names)}")
        return 0
    out = Path(args.out) if args.out else root / "exercises"
    names = generate_release(root, out, args.assignments or None)
    print(f"released {', '.join(names)} into {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
