"""Build the nbgrader notebooks from the MyST sources, and the student notebooks in ``exercises/``.

The instructor notebooks are written as text: ``solutions/<name>/<name>.md``, MyST Markdown
notebooks (jupytext's ``md:myst`` format) whose cells carry nbgrader's metadata in their options.
nbgrader reads ``.ipynb`` files from its source directory, ``source/<name>/`` (set in
``nbgrader_config.py``, ignored by git), and ``generate_assignment`` releases every file in that
folder; so the notebook is generated there, away from its Markdown source.

Run from the repository root::

    python tools/release.py --source         # write source/<name>/<name>.ipynb for nbgrader's own commands
    python tools/release.py                  # rewrite exercises/<name>/ (and source/) for every assignment
    python tools/release.py a3-bptt          # only some assignments
    python tools/release.py --out /tmp/rel   # write the release elsewhere (exercises/ untouched)
    python tools/release.py --check          # exit 1 if exercises/ differs from a fresh release

A release is made in a temporary copy of the course (``nbgrader_config.py`` and the generated
``source/``), so no ``gradebook.db`` or other nbgrader state is left in the repository.
``nbgrader generate_assignment`` replaces solution regions with ``raise NotImplementedError()``,
deletes hidden-test regions and adds the checksums (the sources need none).

Every notebook gets one cell the MyST sources do not hold, right after the introduction: the
*install cell* (:func:`install_cell`), which installs ``rnnkit[lab]`` from the course's repository
when ``import rnnkit`` fails (Colab, a bare Binder) and does nothing where rnnkit is installed. The
repository's address is read from ONE setting, ``repository.url`` in ``_config.yml``
(:func:`repository_url`), the same one the book's launch buttons and its install command use; with
it empty the cell says how to install rnnkit instead. Set it, then run this script again.
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat
import yaml

from rnnkit.grading.registry import MODULES

__all__ = ["ASSIGNMENTS", "ROOT", "INSTALL_ID", "answer_source", "install_cell", "repository_url", "available_assignments", "cell_id", "graded_points", "read_notebook", "write_sources",
           "nbgrader_env", "run_nbgrader", "prepare_course", "generate_release", "main"]

ROOT = Path(__file__).resolve().parents[1]

#: Every assignment the course defines, in course order (the grading pipeline's list).
ASSIGNMENTS = tuple(MODULES)

#: The folders of a course directory: hand-edited MyST sources, the notebooks generated from
#: them for nbgrader (``CourseDirectory.source_directory``), and the release.
ANSWERS, SOURCE, RELEASE = "solutions", "source", "exercises"


def answer_source(root: Path, name: str) -> Path:
    """``root/solutions/<name>/<name>.md``: the instructor notebook of ``name`` as MyST text."""
    return Path(root) / ANSWERS / name / f"{name}.md"


def available_assignments(root: Path = ROOT) -> list[str]:
    """The assignments of :data:`ASSIGNMENTS` that have a MyST source under ``root/solutions``."""
    return [a for a in ASSIGNMENTS if answer_source(root, a).is_file()]


#: grade_id of the install cell :func:`read_notebook` puts after each notebook's introduction.
INSTALL_ID = "install"


def repository_url(root: Path = ROOT) -> str:
    """``repository.url`` of ``root/_config.yml``: the course repository's address ('' until a deployment sets it).

    The one place the address is written: the book's launch buttons and install command
    (book/_ext/course_repository.py) and every released notebook's install cell read it.
    """
    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8")) or {}
    url = str(((config.get("repository") or {}).get("url")) or "").strip()
    if url and (any(ch in url for ch in "<>\"' \n") or not re.match(r"^[a-z][a-z0-9+.-]*://", url)):
        raise ValueError(f"repository.url in {Path(root) / '_config.yml'} must be an address you could "
                         f"`git clone` (e.g. https://github.com/your-org/rnn-course), not {url!r}")
    return url


def install_cell(url: str) -> nbformat.NotebookNode:
    """The install cell: ``rnnkit[lab]`` from ``git+url`` when rnnkit cannot be imported, otherwise nothing.

    A locked, ungraded code cell tagged ``skip-grading`` (grading never runs it: the sandbox has its
    own rnnkit). It imports neither rnnkit nor numpy (a7's set-up cell sets the BLAS threads before numpy
    is imported). Without ``url`` it cannot install; it then stops with the set-up to follow.
    """
    if url:
        spec = json.dumps(f"rnnkit[lab] @ git+{url}")
        body = ("    import subprocess, sys\n"
                "    print(\"Installing rnnkit from the course repository (a minute) ...\")\n"
                f"    subprocess.check_call([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\", {spec}])\n"
                "    importlib.invalidate_caches()\n")
    else:
        body = ("    raise ModuleNotFoundError(\n"
                "        \"rnnkit is not installed in this Python. Install it as the course's Exercises page says \"\n"
                "        \"(pip install \\\"rnnkit[lab] @ git+$COURSE_REPO\\\", COURSE_REPO being the address of the \"\n"
                "        \"course's git repository: ask your instructor), then restart the kernel.\")\n")
    # find_spec, not `import rnnkit`: importing would import numpy before the set-up cell sets the BLAS threads.
    source = ("# Set-up (Colab, Binder or any Python without the course's library): installs rnnkit if it is\n"
              "# missing; where rnnkit is installed (your own set-up, JupyterHub) this cell does nothing.\n"
              "import importlib.util\nif importlib.util.find_spec(\"rnnkit\") is None:\n" + body)
    cell = nbformat.v4.new_code_cell(source.rstrip("\n"))
    cell.id = INSTALL_ID
    cell.metadata = {"nbgrader": {"grade": False, "grade_id": INSTALL_ID, "locked": True, "schema_version": 3,
                                  "solution": False, "task": False},
                     "deletable": False, "editable": False, "tags": ["skip-grading"]}
    return cell


def read_notebook(path: Path, url: str | None = None) -> nbformat.NotebookNode:
    """The notebook nbgrader reads, built from the MyST source at ``path``.

    Each cell's id is its nbgrader ``grade_id`` (``cell-<index>`` for a cell without one), so that
    the same text always gives the same notebook, byte for byte. jupytext's record of the text
    format is dropped: it would otherwise be copied into every released notebook. The install cell
    (:func:`install_cell`, for ``url``; default: :func:`repository_url` of the course ``path`` is in)
    follows the first cell, the introduction.
    """
    nb = jupytext.read(path, fmt="md:myst")
    nb.metadata.pop("jupytext", None)
    for index, cell in enumerate(nb.cells):
        cell.id = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell-{index}"
    if url is None:
        url = repository_url(Path(path).resolve().parents[2])
    nb.cells.insert(1, install_cell(url))
    return nb


def cell_id(cell: dict) -> str | None:
    """The nbgrader ``grade_id`` of a notebook cell (``None`` for a cell without nbgrader metadata)."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def graded_points(nb: dict) -> dict[str, float]:
    """grade_id -> points of every hidden test cell (a graded cell worth more than 0 points) of ``nb``.

    The metadata is the one place points are set; every page that states points is tested against this.
    """
    return {cell_id(c): float(c["metadata"]["nbgrader"]["points"]) for c in nb["cells"]
            if c["metadata"].get("nbgrader", {}).get("grade") and c["metadata"]["nbgrader"].get("points")}


def write_sources(root: Path, dest: Path, assignments: list[str]) -> list[Path]:
    """Write ``dest/<name>/<name>.ipynb`` from each MyST source; ``dest/<name>/`` holds nothing else."""
    written = []
    for name in assignments:
        folder = Path(dest) / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        nbformat.write(read_notebook(answer_source(root, name)), folder / f"{name}.ipynb")
        written.append(folder / f"{name}.ipynb")
    return written


def nbgrader_env() -> dict[str, str]:
    """The environment for an nbgrader subprocess: this interpreter's ``bin/`` first on PATH.

    nbgrader runs the ``alembic`` executable of its own environment by name when it opens a
    gradebook; with an unactivated virtualenv that lookup would fail. A stray
    ``NBGRADER_EXECUTION`` from an outer nbgrader run (a notebook that runs this) is dropped.
    """
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.pop("NBGRADER_EXECUTION", None)
    return env


def run_nbgrader(course: Path, *args: str, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
    """``nbgrader <args>`` in the course directory ``course``; with ``check``, a failure raises with its output."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=course, capture_output=True, text=True, env=nbgrader_env(),
                          timeout=timeout, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} exited {proc.returncode} in {course}:\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def prepare_course(course: Path, assignments: list[str], root: Path = ROOT) -> Path:
    """A course directory at ``course`` with ``assignments`` generated: the one place a copy is made.

    Copies ``nbgrader_config.py``, writes ``source/<name>/<name>.ipynb`` from the MyST sources and
    runs ``nbgrader generate_assignment``, which writes ``exercises/<name>/`` and the gradebook.
    """
    root, course = Path(root).resolve(), Path(course)
    unknown = [a for a in assignments if a not in ASSIGNMENTS or not answer_source(root, a).is_file()]
    if unknown or not assignments:
        raise ValueError(f"no MyST source for {unknown or 'any assignment'}; available: {available_assignments(root)}")
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / "nbgrader_config.py", course / "nbgrader_config.py")
    write_sources(root, course / SOURCE, assignments)
    # One nbgrader process for all of them: "*" matches exactly the assignments written above.
    run_nbgrader(course, "generate_assignment", "*" if len(assignments) > 1 else assignments[0], "--force",
                 "--log-level=WARN")
    return course


def generate_release(root: Path, out: Path, assignments: list[str] | None = None) -> list[str]:
    """Generate the release in a temporary course and put it in ``out/<name>/``.

    Parameters
    ----------
    root : Path
        Repository root (holds ``nbgrader_config.py`` and ``solutions/``).
    out : Path
        Destination; ``out/<name>/`` is replaced for each assignment released.
    assignments : list of str, optional
        Default: every assignment with a MyST source.

    Returns
    -------
    list of str
        The assignments released.
    """
    names = list(assignments or available_assignments(root))
    with tempfile.TemporaryDirectory(prefix="rnnkit-release-") as tmp:
        course = prepare_course(Path(tmp), names, root)
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            dest = out / name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(course / RELEASE / name, dest)
    return names


def _same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(_same_tree(a / d, b / d) for d in cmp.common_dirs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/release.py", description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="assignment names (default: all with a MyST source)")
    parser.add_argument("--root", default=os.getcwd(), help="repository root (default: current directory)")
    parser.add_argument("--out", help="write the release here instead of ROOT/exercises (source/ untouched)")
    parser.add_argument("--check", action="store_true", help="compare a fresh release with ROOT/exercises")
    parser.add_argument("--source", action="store_true",
                        help="only write ROOT/source/<name>/<name>.ipynb, the notebooks nbgrader's commands read")
    args = parser.parse_args(argv)
    root = Path(args.root)
    names = args.assignments or available_assignments(root)
    unknown = [a for a in names if a not in ASSIGNMENTS or not answer_source(root, a).is_file()]
    if unknown or not names:
        parser.error(f"no MyST source for {unknown or 'any assignment'} under {root / ANSWERS}; "
                     f"available: {available_assignments(root)}")
    if args.check:
        with tempfile.TemporaryDirectory(prefix="rnnkit-release-check-") as tmp:
            generate_release(root, Path(tmp), names)
            stale = [n for n in names if not (root / RELEASE / n).is_dir()
                     or not _same_tree(Path(tmp) / n, root / RELEASE / n)]
        if stale:
            print(f"exercises/ is out of date for: {', '.join(stale)}; run `python tools/release.py`")
            return 1
        print(f"exercises/ matches a fresh release of: {', '.join(names)}")
        return 0
    if args.out:
        generate_release(root, Path(args.out), names)
        print(f"released {', '.join(names)} into {args.out}")
        return 0
    write_sources(root, root / SOURCE, names)
    print(f"wrote {SOURCE}/<name>/<name>.ipynb for {', '.join(names)}")
    if not args.source:
        generate_release(root, root / RELEASE, names)
        print(f"released {', '.join(names)} into {root / RELEASE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
