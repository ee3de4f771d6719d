"""A temporary copy of the course for tests that run the real nbgrader command line.

One helper for every such test: the course copy of ``tools/release.py`` (``nbgrader_config.py``,
the notebooks built from the MyST sources, ``nbgrader generate_assignment``), then submissions
built from the release, nbgrader commands, scores read back from the gradebook. Nothing is
written to the repository.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # tools/ is a folder of the repository, not of the installed package
    sys.path.insert(0, str(ROOT))

from tools.release import (ASSIGNMENTS, SOURCE, answer_source, available_assignments,  # noqa: E402,F401
                           cell_id, generate_release, graded_points, nbgrader_env, prepare_course,
                           read_notebook, run_nbgrader)

#: A learner's rnn_backward (a3) that forgets the gradient carried back from step t+1: the classic bug
#: the end-to-end tests submit (its two hidden cells score 0, everything else full points).
NO_CARRY_BPTT = '''
def rnn_backward(dHs, cache):
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        h_prev = Hs[t - 1] if t > 0 else h0
        dX[t], dh_next, a, b_, c = rnn_step_backward(dHs[t], (X[t], h_prev, Hs[t], Wx, Ws))
        dWx += a; dWs += b_; db += c
    return dX, dh_next, dWx, dWs, db
'''


def source_points(assignment: str) -> dict[str, float]:
    """:func:`graded_points` of the instructor notebook built from ``solutions/<assignment>/<assignment>.md``."""
    return graded_points(read_notebook(answer_source(ROOT, assignment)))


class Course:
    """``Course(tmp_path, ["a3-bptt"])``: a course directory with those assignments generated."""

    def __init__(self, path: Path, assignments: list[str]):
        self.assignments = list(assignments)
        self.path = prepare_course(Path(path), self.assignments)
        self.release = {a: json.loads((self.path / "exercises" / a / f"{a}.ipynb").read_text())
                        for a in self.assignments}
        self.source = {a: json.loads((self.path / SOURCE / a / f"{a}.ipynb").read_text())
                       for a in self.assignments}

    # -- commands -------------------------------------------------------------
    def run(self, *args: str, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
        return run_nbgrader(self.path, *args, check=check, timeout=timeout)

    # -- submissions ----------------------------------------------------------
    def solutions(self, assignment: str) -> dict[str, str]:
        """grade_id -> source of every answer cell of the instructor's notebook."""
        return {cell_id(c): "".join(c["source"]) for c in self.source[assignment]["cells"]
                if c["metadata"].get("nbgrader", {}).get("solution")}

    def points(self, assignment: str) -> dict[str, float]:
        """grade_id -> points of every hidden test cell."""
        return graded_points(self.source[assignment])

    def notebook(self, assignment: str, answers: dict[str, str] | None = None, *, base: str = "solution") -> dict:
        """The release with answer cells filled: from the solutions (``base="solution"``) or left as
        stubs (``base="release"``), then ``answers`` (grade_id -> source) on top."""
        nb = json.loads(json.dumps(self.release[assignment]))
        fill = self.solutions(assignment) if base == "solution" else {}
        fill.update(answers or {})
        for cell in nb["cells"]:
            if cell_id(cell) in fill:
                cell["source"] = fill[cell_id(cell)]
        return nb

    def submit(self, student: str, assignment: str, nb: dict | str | bytes, files: dict[str, str | bytes] = None):
        target = self.path / "submitted" / student / assignment
        target.mkdir(parents=True, exist_ok=True)
        data = nb if isinstance(nb, (str, bytes)) else json.dumps(nb, indent=1)
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(target / f"{assignment}.ipynb", mode) as f:
            f.write(data)
        for name, content in (files or {}).items():
            p = target / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content if isinstance(content, bytes) else content.encode())

    # -- results --------------------------------------------------------------
    def scores(self, assignment: str, student: str) -> dict[str, float | None]:
        with Gradebook(f"sqlite:///{self.path / 'gradebook.db'}") as gb:
            out = {}
            for gid in self.points(assignment):
                try:
                    out[gid] = gb.find_grade(gid, assignment, assignment, student).score
                except MissingEntry:
                    out[gid] = None
            return out

    def autograded(self, assignment: str, student: str) -> dict | None:
        p = self.path / "autograded" / student / assignment / f"{assignment}.ipynb"
        return json.loads(p.read_text()) if p.exists() else None

    def digest(self, *names: str) -> str:
        """A digest of files of the course directory (default: everything grading must not change)."""
        names = names or ("solutions", "exercises", "nbgrader_config.py", "submitted", "source")
        h = hashlib.sha256()
        for name in names:
            p = self.path / name
            files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file()) if p.exists() else []
            for f in files:
                h.update(str(f.relative_to(self.path)).encode())
                h.update(f.read_bytes())
        return h.hexdigest()


def sandbox_processes() -> list[str]:
    """Processes running as the sandbox uid (65534) anywhere on the machine."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                status = (d / "status").read_text()
            except OSError:
                continue
            uid_line = next((line for line in status.splitlines() if line.startswith("Uid:")), "")
            if uid_line.split()[1:2] == ["65534"]:
                out.append(f"{d.name}: {(d / 'cmdline').read_bytes()[:80]!r}")
    return out
