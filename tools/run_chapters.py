"""Execute the book's chapters outside the book build, under a chosen BLAS configuration.

Each chapter (a MyST Markdown notebook in ``book/``) is read with jupytext and executed with
nbclient in a fresh kernel whose environment carries the OpenBLAS settings asked for. The tool
prints one line per chapter (seconds, and the first error if any) and exits non-zero if a chapter
failed. It serves two jobs:

* the portability test (``tests/course/test_portability.py``) runs every chapter under several
  OpenBLAS kernels and thread counts and requires each to finish without an error;
  after a chapter's last cell a probe cell asks the OpenBLAS library loaded in that kernel which
  kernel (core type) and how many threads it really uses, and ``--verify`` fails the chapter when
  they differ from the ones asked for (an environment variable that did not reach the kernel, or a
  numpy without OpenBLAS, would otherwise pass silently);
* timing: ``--time`` prints the total, so the cold execution time of the chapters can be compared
  before and after a change (run it on two checkouts in one sitting; ``--rnnkit`` points the
  kernels at another checkout's ``rnnkit``).

Examples::

    python tools/run_chapters.py                                    # every chapter, this machine's BLAS
    python tools/run_chapters.py --coretype Prescott --threads 2 06 08
    python tools/run_chapters.py --coretype Sandybridge --threads 1 --verify --report out.json
    python tools/run_chapters.py --time --rnnkit /tmp/before         # chapters and rnnkit of another tree
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import signal
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


# Appended after a chapter's last cell: what the BLAS of that kernel really is. numpy's wheels bundle
# OpenBLAS with prefixed symbols (scipy_openblas_*64_); other builds export openblas_*. threadpoolctl
# is used when installed, and is not needed.
PROBE_MARK = "RNNKIT-BLAS-PROBE "
PROBE_SOURCE = r"""
import ctypes as _ct, json as _json, os as _os, zlib as _zlib
import numpy as _np
_probe = {"OPENBLAS_CORETYPE": _os.environ.get("OPENBLAS_CORETYPE"),
          "OPENBLAS_NUM_THREADS": _os.environ.get("OPENBLAS_NUM_THREADS"),
          "OMP_NUM_THREADS": _os.environ.get("OMP_NUM_THREADS"), "numpy": _np.__version__}
_libs = sorted({line.split()[-1] for line in open("/proc/self/maps") if "openblas" in line.lower() and ".so" in line})
for _path in _libs:
    _lib = _ct.CDLL(_path)          # already loaded by numpy: the same library, not a second copy
    for _pre in ("scipy_openblas_", "openblas_"):
        for _suf in ("64_", "_64", ""):
            _corename = getattr(_lib, f"{_pre}get_corename{_suf}", None)
            _threads = getattr(_lib, f"{_pre}get_num_threads{_suf}", None)
            if _corename is not None and _threads is not None and "corename" not in _probe:
                _corename.restype = _ct.c_char_p
                _probe.update(library=_path, corename=_corename().decode(), threads=int(_threads()))
try:
    import threadpoolctl as _tpc
    _probe["threadpoolctl"] = [{k: i.get(k) for k in ("internal_api", "architecture", "num_threads")}
                               for i in _tpc.threadpool_info() if i.get("user_api") == "blas"]
except ImportError:
    pass
# The kernel's fingerprint: the bits of one float64 matrix product (FMA or not, block order).
_g = _np.random.default_rng(0)
_probe["gemm_crc32"] = "%08x" % _zlib.crc32((_g.standard_normal((97, 131)) @ _g.standard_normal((131, 89))).tobytes())
import time as _time
_probe["kernel_cpu_s"] = round(_time.process_time(), 2)   # CPU time of the whole chapter, all threads
print(__MARK__ + _json.dumps(_probe))
""".replace("__MARK__", repr(PROBE_MARK))


def execute_chapter(path: Path, env: dict[str, str], allow_errors: bool = False,
                    probe: bool = True) -> tuple[float, str | None, dict | None]:
    """Run one chapter in a fresh kernel; return (seconds, first error or None, BLAS probe or None).

    With ``allow_errors`` every cell runs even after one fails (for timing a tree whose asserts
    fail on this machine); the first error is still returned. The error names the cell, the
    statement that failed (the whole ``assert``, from the cell's source) and the exception.
    With ``probe`` a last cell reports the OpenBLAS core type and thread count the kernel used.
    """
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = jupytext.read(path)
    n_chapter_cells = len(notebook.cells)
    if probe:
        notebook.cells.append(nbformat.v4.new_code_cell(PROBE_SOURCE))
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
            error = _first_error(notebook)
    except CellExecutionError as exc:
        error = _first_error(notebook) or _last_error_lines(str(exc)) or repr(exc)
    except Exception as exc:         # a timeout or a dead kernel is a failure of this chapter too
        error = f"{type(exc).__name__}: {_last_error_lines(str(exc)) or repr(exc)}"
    finally:
        os.environ.clear()
        os.environ.update(saved)
    seconds = time.perf_counter() - start
    found = _probe_output(notebook.cells[n_chapter_cells]) if probe and len(notebook.cells) > n_chapter_cells else None
    return seconds, error, found


def _probe_output(cell) -> dict | None:
    for output in cell.get("outputs", []):
        for line in str(output.get("text", "")).splitlines():
            if line.startswith(PROBE_MARK):
                return json.loads(line[len(PROBE_MARK):])
    return None


# OpenBLAS reports a kernel table by the first name that points at it: on x86-64 builds the old
# Intel names share Prescott's table (and this numpy's DYNAMIC_LIST maps Core2 there too), so
# OPENBLAS_CORETYPE=Prescott reads back as "Katmai".
CORENAME_ALIASES = {"prescott": {"prescott", "katmai", "coppermine", "northwood", "banias", "core2"}}


def probe_mismatch(found: dict | None, coretype: str | None, threads: int | None) -> str | None:
    """Why the probe contradicts the configuration asked for, or None when it confirms it."""
    if found is None:
        return "the BLAS probe cell did not run or printed nothing"
    if "corename" not in found:
        return f"no OpenBLAS found in the kernel (libraries: {found.get('library', 'none')}); cannot verify"
    if coretype not in (None, "", "auto") and \
            found["corename"].lower() not in CORENAME_ALIASES.get(coretype.lower(), {coretype.lower()}):
        return f"OpenBLAS used core type {found['corename']!r}, not {coretype!r}"
    if threads is not None and found["threads"] != threads:
        return f"OpenBLAS used {found['threads']} threads, not {threads}"
    return None


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _last_error_lines(text: str, n: int = 3) -> str:
    lines = [line for line in ANSI.sub("", text).strip().splitlines() if line.strip()]
    return " | ".join(lines[-n:])


CELL_FRAME = re.compile(r"^Cell In\[\d+\], line (\d+)")


def _failing_statement(source: str, line: int) -> str:
    """The whole statement of ``source`` that contains ``line`` (1-based): a multi-line assert in full."""
    lines = source.splitlines()
    try:
        tree = ast.parse(source)
    except SyntaxError:              # IPython magics: fall back to the one line
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""
    containing = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)
                  and node.lineno <= line <= (node.end_lineno or node.lineno)]
    if not containing:
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""
    best = min(containing, key=lambda node: (node.end_lineno or node.lineno) - node.lineno)   # the innermost
    last = best.end_lineno or best.lineno
    body = getattr(best, "body", None)
    if isinstance(body, list) and body:          # a compound statement: its header only (for ..., if ...)
        last = max(best.lineno, body[0].lineno - 1)
    statement = " ".join(part.strip() for part in lines[best.lineno - 1:last])
    return statement if len(statement) <= 400 else statement[:400] + " ..."


def _first_error(notebook) -> str | None:
    """'cell N (line L): <statement> -> <Exception>: <message>' for the first cell with an error output."""
    code_number = 0
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        code_number += 1
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            where, statement = f"code cell {code_number}", ""
            frames = [CELL_FRAME.match(ANSI.sub("", part).strip()) for part in
                      "\n".join(output.get("traceback", [])).splitlines()]
            frames = [m for m in frames if m]
            if frames:               # the innermost frame in the cell's own code
                line = int(frames[-1].group(1))
                where += f" (line {line})"
                statement = _failing_statement(cell.source, line)
            message = ANSI.sub("", str(output.get("evalue", ""))).strip().replace("\n", " | ")
            return f"{where}: {statement or '?'}  ->  {output.get('ename')}: {message[:600]}"
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
    parser.add_argument("--verify", action="store_true",
                        help="fail a chapter whose kernel did not use the OpenBLAS core type and threads asked for")
    parser.add_argument("--report", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    # Terminated (a test timeout, a killed CI job): unwind, so nbclient shuts the running kernel down.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    env = blas_environment(args.coretype, args.threads, args.rnnkit)
    label = f"OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE', '(unset)')} threads={args.threads or 'default'}"
    failures, total, results = 0, 0.0, []
    for path in chapter_paths(args.chapters, args.book):
        seconds, error, found = execute_chapter(path, env, args.allow_errors)
        if error is None and args.verify:
            mismatch = probe_mismatch(found, args.coretype, args.threads)
            if mismatch:
                error = f"configuration not in effect: {mismatch}"
        total += seconds
        status = "ok" if error is None else f"FAILED: {error}"
        blas = "" if not found or "corename" not in found else \
            f"[blas {found['corename']}, {found['threads']} thr, gemm {found['gemm_crc32']}, " \
            f"cpu {found.get('kernel_cpu_s', 0):.1f} s]  "
        print(f"{label}  {path.name:34s} {seconds:7.1f} s  {blas}{status}", flush=True)
        failures += error is not None
        results.append({"chapter": path.name, "seconds": round(seconds, 2), "error": error, "blas": found})
    if args.time:
        print(f"{label}  total {total:.1f} s", flush=True)
    if args.report is not None:
        args.report.write_text(json.dumps({"coretype": args.coretype, "threads": args.threads, "label": label,
                                           "total_seconds": round(total, 2), "chapters": results}, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
