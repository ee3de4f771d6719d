"""The project's own hostile and faulty submissions (run by ``test_grading_adversarial.py``).

Each :class:`Attack` starts from the instructor's solutions (``base="solution"``) or the untouched
release (``base="release"``), replaces some answer cells (``answers``, grade_id -> code), may edit
the notebook as a whole (``edit``) and add files to the submission folder (``files``), and states
which hidden test cells it must lose (``loses``): every other cell keeps its full points, since the
rest of the notebook is honest. An attack that earns a lost cell's points has beaten the grader.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

A3 = "a3-bptt"
A3_CELLS = ("test_rnn_step_forward", "test_rnn_step_backward", "test_rnn_forward",
            "test_rnn_backward_parameters", "test_rnn_backward_inputs", "test_output_backward")


@dataclass(frozen=True)
class Attack:
    name: str
    category: str
    assignment: str
    answers: dict = field(default_factory=dict)
    loses: tuple = ()
    base: str = "solution"
    edit: Callable | None = None
    files: dict = field(default_factory=dict)
    feedback: tuple = ()       # texts the autograded notebook must show

    def submission(self, course):
        nb = course.notebook(self.assignment, self.answers, base=self.base)
        if self.edit is not None:
            nb = self.edit(nb)
        return nb

    def expected_scores(self, course) -> dict:
        points = course.points(self.assignment)
        lost = set(points) if self.loses == "all" else set(self.loses)
        return {k: (0.0 if k in lost else v) for k, v in points.items()}


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------

#: a wrong rnn_backward (no carried gradient): the cells it would need to cheat on
NO_CARRY = '''
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
BACKWARD_CELLS = ("test_rnn_backward_parameters", "test_rnn_backward_inputs")


def with_prefix(code: str, body: str = NO_CARRY) -> str:
    """Attack code, then the learner's (wrong) rnn_backward."""
    return code + "\n" + body


def _cells(nb):
    return nb["cells"]


def _find(nb, gid):
    return next(i for i, c in enumerate(nb["cells"]) if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid)


def duplicate_cell(gid, source=None):
    def edit(nb):
        i = _find(nb, gid)
        copy = json.loads(json.dumps(nb["cells"][i]))
        if source is not None:
            copy["source"] = source
        copy.pop("id", None)
        nb["cells"].insert(i + 1, copy)
        return nb
    return edit


def set_meta(gid, **changes):
    def edit(nb):
        cell = nb["cells"][_find(nb, gid)]
        cell["metadata"]["nbgrader"].update(changes)
        return nb
    return edit


def move_before(gid, anchor):
    def edit(nb):
        cell = nb["cells"].pop(_find(nb, gid))
        nb["cells"].insert(_find(nb, anchor), cell)
        return nb
    return edit


def chain(*edits):
    def edit(nb):
        for e in edits:
            nb = e(nb)
        return nb
    return edit


ATTACKS: list[Attack] = [
    # -- forging what the kernel reports ---------------------------------------
    Attack("forge-run-check", "tamper with the case runner", A3, {"rnn_backward": with_prefix('''
import rnnkit.casefile as _cf
_real = _cf.run_calls
def _forged(fn, calls):
    out = _real(fn, calls)
    if getattr(fn, "__name__", "") == "rnn_backward":
        for rec in out:
            rec["value"] = tuple(np.zeros_like(np.asarray(v)) for v in rec["value"])
    return out
_cf.run_calls = _forged
''')}, loses=BACKWARD_CELLS),
    Attack("reference-import", "call the reference", A3, {"rnn_backward": '''
import rnnkit
def rnn_backward(dHs, cache):
    return rnnkit.rnn_backward(dHs, rnnkit.RNNCache(*cache))
'''}, loses=BACKWARD_CELLS, feedback=("rnn_backward raised",)),
    Attack("read-solutions", "read the course tree", A3, {"rnn_backward": '''
import json, glob
src = ""
for p in glob.glob("../../../solutions/*/*.ipynb") + glob.glob("/work/*/solutions/*/*.ipynb"):
    src = json.load(open(p))
exec("".join(c["source"] for c in src["cells"] if c["metadata"]["nbgrader"]["grade_id"] == "rnn_backward"))
'''}, loses=BACKWARD_CELLS),
    # -- crashing and hanging ----------------------------------------------------
    Attack("os-exit-in-output", "kernel death", A3, {"output_backward": '''
def output_backward(dO, Hs, Wy):
    import os
    os._exit(3)
'''}, loses=("test_output_backward",)),
    Attack("sigint-ignoring-loop", "timeout", A3, {"rnn_step_forward": '''
import signal
def rnn_step_forward(x, h_prev, Wx, Ws, b):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        pass
'''}, loses=("test_rnn_step_forward", "test_rnn_forward")),
    # -- the notebook as a file ----------------------------------------------------
    Attack("duplicated-answer-cell", "honest notebook edits", A3, {}, loses=(),
           edit=duplicate_cell("rnn_forward")),
    Attack("test-cell-moved-up", "honest notebook edits", A3, {}, loses=(),
           edit=move_before("test_rnn_forward", "rnn_forward")),
    Attack("schema-downgrade", "malformed metadata", A3, {}, loses=(),
           edit=chain(set_meta("rnn_forward", schema_version=1), set_meta("test_rnn_forward", schema_version=99))),
]
