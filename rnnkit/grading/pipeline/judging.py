"""Steps 3 and 4: the verdicts judged from the recorded outputs, and the check after the grades are
saved (scores equal verdicts, nothing alive, the course tree unchanged)."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import stat
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from ..kernel import RESULTS_MIME
from .. import registry
from ..engine import Verdict, wrap
from .notebook import (course_directory, defined_functions, is_hidden_test, is_solution, is_visible_test,
                       nbgrader_meta, pipeline_state)


# ---------------------------------------------------------------------------
# 3. the judge
# ---------------------------------------------------------------------------

def _payload(cell) -> tuple[bytes | None, str | None]:
    found = [o for o in cell.get("outputs", []) if o.get("output_type") == "display_data"
             and RESULTS_MIME in o.get("data", {})]
    if not found:
        return None, None
    if len(found) > 1:
        return None, "the cell displayed several result records"
    rec = found[0]["data"][RESULTS_MIME]
    try:
        if isinstance(rec, str):
            rec = json.loads(rec)
        return base64.b64decode(rec["npz"], validate=True), None
    except Exception:
        return None, "the result record is malformed"


def _kernel_error(cell) -> str | None:
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error":
            return f"{o.get('ename', 'Error')}: {str(o.get('evalue', ''))[:300]}"
    return None


class JudgeHiddenCells(NbGraderPreprocessor):
    """Judge each hidden test cell from its recorded outputs and write the verdict as the cell's output."""

    def preprocess(self, nb, resources):
        state = pipeline_state(resources)
        checks = registry.checks_for(resources["nbgrader"]["assignment"])
        for cell in nb.cells:
            if not is_hidden_test(cell):
                continue
            gid = nbgrader_meta(cell)["grade_id"]
            check = checks[gid]
            verdict = self._verdict(cell, check, gid, state)
            extra = state["cell_notes"].get(check.function) or state["cell_notes"].get(
                _solution_id_for(nb, check.function))
            message = verdict.message
            if extra and not verdict.passed:
                message += f"\n(Note: {'; '.join(extra)}.)"
            cell.outputs = [_verdict_output(Verdict(verdict.passed, message), check.function)]
            state["verdicts"][gid] = verdict.passed
        for cell in nb.cells:
            if is_visible_test(cell):
                cell.outputs = [nbformat.v4.new_output(
                    "stream", name="stdout", text="(visible tests are for you to run; grading does not run them)\n")]
        return nb, resources

    @staticmethod
    def _verdict(cell, check, gid, state) -> Verdict:
        event = state["events"].get(gid)
        data, problem = _payload(cell)
        if data is not None:
            context, seed = state["cases"][gid]
            try:
                return check.judge_payload(context, data, seed, cells=state["verdicts"])
            except Exception as exc:  # learner-made values the judge trips over: that cell fails, the batch goes on
                return Verdict(False, f"{check.function}: the outputs recorded for grading could not be judged "
                                      f"({type(exc).__name__}: {str(exc)[:200]}).")
        if event:
            return Verdict(False, f"{check.function}: not graded, because {event}.")
        if problem:
            return Verdict(False, f"{check.function}: {problem}.")
        err = _kernel_error(cell)
        if err and err.startswith("NameError"):
            return Verdict(False, f"{check.function} is not defined when the tests run ({err}). Check that its "
                                  f"cell runs without errors.")
        if err:
            return Verdict(False, f"{check.function}: the test cell stopped with {err}.")
        return Verdict(False, f"{check.function}: no outputs were recorded for grading.")


def _solution_id_for(nb, function: str) -> str | None:
    for cell in nb.cells:
        if is_solution(cell) and function in defined_functions(cell.source):
            return nbgrader_meta(cell).get("grade_id")
    return None


def _verdict_output(verdict: Verdict, function: str):
    text = wrap(verdict.message)
    if verdict.passed:
        return nbformat.v4.new_output("stream", name="stdout", text=f"PASSED - {text}\n")
    return nbformat.v4.new_output("error", ename="Failed", evalue=text, traceback=[f"FAILED - {text}"])


# ---------------------------------------------------------------------------
# 4. post-check
# ---------------------------------------------------------------------------

_WATCHED = ("solutions", "source", "exercises", "rnnkit", "nbgrader_config.py", "submitted")


def tree_digest(root: Path) -> str:
    """A digest of the parts of the course tree grading must never change.

    Nothing is followed or opened but regular files (a learner's ``submitted/`` may hold links to
    ``/proc/self/mem`` or ``/dev/zero``, or FIFOs): a link counts by its target's name, another
    special file by its type, a regular file over 1 MiB by its size, inode and times.
    """
    h = hashlib.sha256()
    for name in _WATCHED:
        p = root / name
        if os.path.isdir(p) and not os.path.islink(p):
            files = sorted(Path(d, f) for d, dirs, fs in os.walk(p) for f in fs + [x for x in dirs if
                           os.path.islink(os.path.join(d, x))] if "__pycache__" not in Path(d).parts)
        else:
            files = [p] if os.path.lexists(p) else []
        for f in files:
            h.update(str(f.relative_to(root)).encode())
            h.update(_entry_digest(f))
    return h.hexdigest()


def _entry_digest(path: Path) -> bytes:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return b"link:" + os.fsencode(os.readlink(path))
    if not stat.S_ISREG(st.st_mode):
        return f"type:{stat.S_IFMT(st.st_mode)}".encode()
    if st.st_size > 2**20:
        return f"file:{st.st_size}:{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}".encode()
    try:  # swapped for a link or a FIFO since the lstat: refused, never followed, never blocks
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        return f"unreadable:{e.errno}".encode()
    with os.fdopen(fd, "rb") as f:
        return hashlib.sha256(f.read(2**20 + 1)).digest() if stat.S_ISREG(os.fstat(fd).st_mode) else b"changed"


class PostCheck(NbGraderPreprocessor):
    """After ``SaveAutoGrades``: scores equal the verdicts, no sandbox process alive, course tree unchanged."""

    _digest = None

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook
        state = pipeline_state(resources)
        info = resources["nbgrader"]
        root = Path(course_directory(self.config).root).resolve()
        problems = []
        with Gradebook(info["db_url"]) as gb:
            sub = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            scores = {g.cell.name: (g.auto_score, g.max_score) for g in sub.grades}
        for gid, passed in state["verdicts"].items():
            score, max_score = scores.get(gid, (None, None))
            expected = max_score if passed else 0
            if score is None or abs(float(score) - float(expected)) > 1e-9:
                problems.append(f"cell {gid}: gradebook score {score}, judge's verdict {expected}")
        alive = [pid for pid in state.get("sandbox_pids", []) if _alive(pid)]
        if alive:
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            problems.append(f"sandbox processes {alive} were still alive (killed)")
        digest = tree_digest(root)
        if PostCheck._digest is None:
            PostCheck._digest = digest
        elif digest != PostCheck._digest:
            problems.append("the course tree changed during grading")
        if problems:
            raise RuntimeError("post-check failed for " + info["student"] + ": " + "; ".join(problems))
        return nb, resources


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
