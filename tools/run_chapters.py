"""Execute the book's chapters outside the book build, under a chosen BLAS configuration.

Each chapter (a MyST Markdown notebook in ``book/``) is read with jupytext and executed with
nbclient in a fresh kernel whose environment carries the OpenBLAS settings asked for. The tool
prints one line per chapter (seconds, and the first error if any) and exits non-zero if a chapter
failed. It serves two jobs:

* the portability test (``tests/course/test_portability.py``) runs every chapter under several
  OpenBLAS kernels and thread counts and requires each to finish without an error;
* timing: ``--time`` prints the total, so the cold execution time of the chapters can be compared
  before and after a change (run it on two checkouts in one sitting; ``--rnnkit`` points the
  kernels at another checkout's ``rnnkit``).

Examples::

    python tools/run_chapters.py                                    # every chapter, this machine's BLAS
    python tools/run_chapters.py --coretype Prescott --threads 2 06 08
    python tools/run_chapters.py --time --rnnkit /tmp/before         # chapters and rnnkit of another tree
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CELL_TIMEOUT_S = 600


def chapter_paths(selection: list[str], book: Path = BOOK) -> list[Path]:
    """The chapter files (``book/NN-*.md``) whose number or name starts with one of ``selection``."""
    chapters = sorted(p for p in book.glob("[0-9][0-9]-*.md"))
    if not selection:
        return chapters
    chosen = [p for p in chapters if any(p.name.startswith(s) for s in selection)]
    missing = [s for s in selection if not any(p.name.startswith(s) for p in chapters)]
    if missing:
        raise SystemExit(f"no chapter starts with {missing}; chapters: {[p.name for p in chapters]}")
    return chosen


def blas_environment(coretype: str | None, threads: int | None, rnnkit_root: Path | None) -> dict[str, str]:
    """The kernel's environment: this process's, with the OpenBLAS settings asked for."""
    env = dict(os.environ, RNNKIT_PROGRESS="0", PYDEVD_DISABLE_FILE_VALIDATION="1")
    if coretype is not None:
        if coretype in ("", "auto"):
            env.pop("OPENBLAS_CORETYPE", None)
        else:
            env["OPENBLAS_CORETYPE"] = coretype
    if threads is not None:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
            env[name] = str(threads)
    if rnnkit_root is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(rnnkit_root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def execute_chapter(path: Path, env: dict[str, str], allow_errors: bool = False) -> tuple[float, str | None]:
    """Run one chapter in a fresh kernel; return (seconds, first error or None).

    With ``allow_errors`` every cell runs even after one fails (for timing a tree whose asserts
    fail on this machine); the first error is still returned.
    """
    import jupytext
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = jupytext.read(path)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    error = None
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)           # the kernel process inherits this environment
    try:
        client.execute()
        if allow_errors:
            error = _first_error_output(notebook)
    except CellExecutionError as exc:
        error = _last_error_lines(str(exc)) or repr(exc)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return time.perf_counter() - start, error


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _last_error_lines(text: str, n: int = 3) -> str:
    lines = [line for line in ANSI.sub("", text).strip().splitlines() if line.strip()]
    return " | ".join(lines[-n:])


def _first_error_output(notebook) -> str | None:
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"{output.get('ename')}: {ANSI.sub('', str(output.get('evalue')))}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="chapter numbers or name prefixes (default: all)")
    parser.add_argument("--coretype", help="OPENBLAS_CORETYPE for the kernels ('auto' unsets it)")
    parser.add_argument("--threads", type=int, help="OPENBLAS_NUM_THREADS and OMP_NUM_THREADS")
    parser.add_argument("--rnnkit", type=Path, help="import rnnkit from this checkout instead")
    parser.add_argument("--book", type=Path, default=BOOK, help="the folder of chapters (default: book/)")
    parser.add_argument("--time", action="store_true", help="print the total time at the end")
    parser.add_argument("--allow-errors", action="store_true",
                        help="run every cell even after an error (timing a tree that fails here)")
    args = parser.parse_args(argv)

    env = blas_environment(args.coretype, args.threads, args.rnnkit)
    label = f"OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE', '(unset)')} threads={args.threads or 'default'}"
    failures, total = 0, 0.0
    for path in chapter_paths(args.chapters, args.book):
        seconds, error = execute_chapter(path, env, args.allow_errors)
        total += seconds
        status = "ok" if error is None else f"FAILED: {error}"
        print(f"{label}  {path.name:34s} {seconds:7.1f} s  {status}", flush=True)
        failures += error is not None
    if args.time:
        print(f"{label}  total {total:.1f} s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
