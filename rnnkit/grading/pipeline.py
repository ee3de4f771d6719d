"""nbgrader preprocessors of the trusted grading pipeline (wired in by ``nbgrader_config.py``).

``nbgrader autograde <assignment>`` stays the instructor's command; for every submitted notebook:

1. :class:`RebuildFromTemplate` (first sanitize step): the notebook is rebuilt from the released
   template; only the learner's solution cells, matched by ``grade_id``, come from the submission.
   Duplicated, renamed, moved, flipped or missing cells and foreign schema versions cost that cell
   (or nothing) and are explained in a note at the top of the feedback; they never stop the batch.
2. :class:`SandboxedExecute` (replaces nbgrader's ``Execute``): the trusted side draws the inputs
   of every check and writes them as plain arrays; the kernel runs in the bubblewrap sandbox of
   :mod:`rnnkit.grading.sandbox`. It runs the set-up cells, the learner's solution cells and the
   hidden test cells (visible tests are advisory and are not run). A crash, kill, timeout or
   limit costs the cell it happened in: the kernel is restarted, the definitions before it are
   replayed, and grading goes on with the next cell.
3. :class:`JudgeHiddenCells`: in this process, which never imports learner code, each hidden cell's
   recorded outputs are judged and the cell's outputs are replaced by the verdict (an error output
   for a failure, so nbgrader scores it 0; a plain line for a pass).
4. :class:`PostCheck` (after ``SaveAutoGrades``): every grade cell's score in the gradebook equals
   the judge's verdict, no sandbox process is alive, the course tree is unchanged.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import shutil
import signal
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from jupyter_client.manager import AsyncKernelManager
from traitlets import Float, Instance, Integer, Unicode

from ..casefile import RESULTS_MIME
from . import registry, sandbox
from ._core import Verdict, wrap

#: Key of this pipeline's data in nbconvert's ``resources``.
KEY = "rnnkit_grading"


def _nb_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_solution(cell) -> bool:
    return bool(_nb_meta(cell).get("solution")) and cell.get("cell_type") == "code"


def _is_hidden_test(cell) -> bool:
    m = _nb_meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and float(m.get("points", 0) or 0) > 0 \
        and not m.get("solution")


def _is_visible_test(cell) -> bool:
    m = _nb_meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and not _is_hidden_test(cell) \
        and not m.get("solution")


def _defined_functions(source: str) -> set[str]:
    return set(re.findall(r"^def\s+([A-Za-z_]\w*)\s*\(", source, flags=re.M))


def _course(config) -> CourseDirectory:
    return CourseDirectory(config=config)


def _state(resources) -> dict:
    return resources.setdefault(KEY, {"notes": [], "cell_notes": {}, "events": {}, "cases": {}, "verdicts": {}})


# ---------------------------------------------------------------------------
# 1. pre-flight
# ---------------------------------------------------------------------------

class RebuildFromTemplate(NbGraderPreprocessor):
    """Rebuild a submission from the released notebook, keeping only the learner's solution cells."""

    def preprocess(self, nb, resources):
        state = _state(resources)
        info = resources["nbgrader"]
        course = _course(self.config)
        if PostCheck._digest is None:  # before any learner code of this batch has run
            PostCheck._digest = tree_digest(Path(course.root).resolve())
        template_path = Path(course.format_path(course.release_directory, ".", info["assignment"])) \
            / f"{info['notebook']}.ipynb"
        if not template_path.exists():
            raise FileNotFoundError(f"release template {template_path} is missing: run "
                                    f"'nbgrader generate_assignment {info['assignment']}' first")
        template = nbformat.read(str(template_path), as_version=4)
        submitted = [c for c in nb.get("cells", []) if isinstance(c, dict)]
        by_id: dict[str, list] = {}
        for c in submitted:
            gid = _nb_meta(c).get("grade_id") if isinstance(_nb_meta(c), dict) else None
            if isinstance(gid, str):
                by_id.setdefault(gid, []).append(c)
        used: set[int] = set()
        cells = []
        for tcell in template.cells:
            cell = copy.deepcopy(tcell)
            if _is_solution(tcell):
                gid = _nb_meta(tcell)["grade_id"]
                cell.source = self._learner_source(tcell, gid, by_id, submitted, used, state)
            cells.append(cell)
        cells = self._with_learner_cells(cells, submitted, used, {_nb_meta(c).get("grade_id") for c in template.cells})
        nb = copy.deepcopy(template)
        nb.cells = cells
        if state["notes"]:
            note = nbformat.v4.new_markdown_cell(
                "**Notes from grading (your notebook as it was submitted):**\n\n"
                + "\n".join(f"- {n}" for n in state["notes"]))
            note.metadata["rnnkit_grading_note"] = True
            nb.cells.insert(0, note)
        return nb, resources

    @staticmethod
    def _with_learner_cells(cells, submitted, used, template_ids):
        """Keep code cells the learner added (helpers, experiments), after the template cell they followed.

        They run in the sandbox like the answer cells and decide nothing; as plain cells without
        nbgrader metadata they can never be graded themselves.
        """
        anchors: dict[str | None, list] = {}
        anchor = None
        for c in submitted:
            gid = _nb_meta(c).get("grade_id") if isinstance(_nb_meta(c), dict) else None
            if gid in template_ids:
                anchor = gid
                continue
            if c.get("cell_type") != "code" or id(c) in used:
                continue
            src = c.get("source", "")
            extra = nbformat.v4.new_code_cell("".join(src) if isinstance(src, list) else str(src))
            anchors.setdefault(anchor, []).append(extra)
        out = list(anchors.get(None, []))
        for cell in cells:
            out.append(cell)
            out.extend(anchors.get(_nb_meta(cell).get("grade_id"), []))
        return out

    @staticmethod
    def _learner_source(tcell, gid, by_id, submitted, used, state) -> str:
        def code_of(c):
            src = c.get("source", "")
            return "".join(src) if isinstance(src, list) else str(src)

        candidates = [c for c in by_id.get(gid, []) if c.get("cell_type") == "code"]
        if len(candidates) > 1:
            state["notes"].append(f"The cell `{gid}` appears {len(candidates)} times; the last copy was graded "
                                  f"(as *Run All* would leave it).")
        if candidates:
            chosen = candidates[-1]
            used.add(id(chosen))
            if not _nb_meta(chosen).get("solution"):
                state["notes"].append(f"The cell `{gid}` was no longer marked as an answer cell; its code was "
                                      f"graded anyway.")
            return code_of(chosen)
        if by_id.get(gid):
            state["notes"].append(f"The cell `{gid}` was turned into a {by_id[gid][-1].get('cell_type')} cell; "
                                  f"it is graded as unanswered.")
            state["cell_notes"].setdefault(gid, []).append("its answer cell was not a code cell")
            return tcell.source
        # renamed or re-created: find an unmatched code cell that defines the same functions
        wanted = _defined_functions(tcell.source)
        for c in reversed(submitted):
            if id(c) in used or c.get("cell_type") != "code" or not wanted:
                continue
            if wanted <= _defined_functions(code_of(c)):
                used.add(id(c))
                state["notes"].append(f"The answer cell `{gid}` was not found under its name; the cell that "
                                      f"defines {', '.join(sorted(wanted))} was graded instead.")
                return code_of(c)
        state["notes"].append(f"The answer cell `{gid}` is missing from the submission; it is graded as "
                              f"unanswered.")
        state["cell_notes"].setdefault(gid, []).append("its answer cell is missing from the submission")
        return tcell.source


# ---------------------------------------------------------------------------
# 2. execution in the sandbox
# ---------------------------------------------------------------------------

class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs inside the grading sandbox, over ipc sockets."""

    workspace = Unicode("", help="Per-notebook directory holding cases/ and lib/").tag(config=False)
    course_root = Unicode("").tag(config=False)

    def format_kernel_cmd(self, extra_arguments=None):
        ws = Path(self.workspace)
        kernel_dir = ws / "kernel"
        conn = kernel_dir / "kernel.json"
        info = json.loads(Path(self.connection_file).read_text())
        info["ip"] = f"{sandbox.IPC_DIR}/{Path(self.ip).name}"  # the same sockets, seen through the bind mount
        conn.write_text(json.dumps(info))
        sandbox.prepare_private_dir(Path(self.ip).parent, conn)
        argv = [_python(), "-m", "ipykernel_launcher", "-f", sandbox.CONNECTION_FILE,
                "--HistoryManager.hist_file=:memory:", "--IPKernelApp.parent_handle=1"]
        cmd = sandbox.sandbox_command(argv, course_root=Path(self.course_root), cases_dir=ws / "cases",
                                      lib_dir=ws / "lib", connection_file=conn, ipc_dir=Path(self.ip).parent)
        self.cgroup = sandbox.Cgroup.create(f"rnnkit-{ws.name}-{os.getpid()}-{id(self)}", sandbox.Limits())
        if self.cgroup is None:
            self.log.warning("no writable cgroup: the sandbox's total memory and processes are not limited "
                             "(each process still is)")
            return cmd
        return self.cgroup.wrap(cmd)

    cgroup = None

    #: Characters of the kernel process's own stdout/stderr kept (for the grader's debug log).
    output_tail = 20_000

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        """Launch with the kernel's own stdout and stderr on a pipe drained here.

        Learner code can write to those file descriptors past ipykernel's capture (``os.write`` to
        the saved original stdout); inherited, they would be the instructor's terminal and log. Here
        only the last :attr:`output_tail` characters are kept, and logged at debug level.
        """
        import subprocess
        import threading
        kw["stdout"] = subprocess.PIPE
        kw["stderr"] = subprocess.STDOUT
        await super()._async_launch_kernel(kernel_cmd, **kw)
        proc = getattr(self.provisioner, "process", None)
        if proc is not None and proc.stdout is not None:
            fd = os.dup(proc.stdout.fileno())  # ours: the provisioner closes its file object on its own
            threading.Thread(target=self._drain, args=(fd,), daemon=True).start()

    def _drain(self, fd: int):
        tail = b""
        try:
            for chunk in iter(lambda: os.read(fd, 65536), b""):  # EOF when the sandbox is gone
                tail = (tail + chunk)[-self.output_tail:]
        except OSError:
            pass
        finally:
            os.close(fd)
        if tail.strip():
            self.log.debug("sandboxed kernel output (last %d bytes):\n%s", len(tail),
                           tail.decode("utf-8", "replace"))


def _python() -> str:
    import sys
    return sys.executable


class _Restart(Exception):
    """Internal: the kernel must be replaced before the next cell."""


class SandboxedExecute(Execute):
    """nbgrader's ``Execute``, with the kernel in the sandbox and the crash-resilient loop described above."""

    notebook_timeout = Integer(300, help="Wall-clock budget of one notebook (seconds)").tag(config=True)
    max_restarts = Integer(4, help="Kernel restarts allowed per notebook after crashes or timeouts").tag(config=True)
    max_cell_output = Integer(100_000, help="Characters of text output kept per cell").tag(config=True)
    kill_output = Integer(50 * 2**20, help="A cell printing more than this many characters is stopped").tag(
        config=True)

    def create_kernel_manager(self):
        self.km = SandboxKernelManager(config=self.config, transport="ipc",
                                       ip=str(Path(self._workspace) / "ipc" / "k"),
                                       workspace=str(self._workspace), course_root=str(self._course_root))
        self._last_km = self.km  # nbclient forgets km when it cleans up; the sandbox's cgroup is on it
        return self.km

    # --- output limits -----------------------------------------------------
    @staticmethod
    def _size(msg) -> int:
        content = msg.get("content", {})
        return len(content.get("text", "")) if msg["msg_type"] == "stream" else \
            sum(len(str(v)) for v in content.get("data", {}).values()) if "data" in content else \
            sum(len(str(x)) for x in content.get("traceback", []))

    def _over_kill_budget(self, size: int, cell_index: int) -> bool:
        """Count ``size`` characters against the running cell; past :attr:`kill_output` the kernel is killed."""
        self._cell_output += size
        if self._cell_output <= self.kill_output:
            return False
        if not self._output_killed:
            self._output_killed = True
            self._events.setdefault(cell_index, f"it printed more than {self.kill_output // 2**20} MB of output "
                                                 f"and was stopped")
            proc = getattr(getattr(self.km, "provisioner", None), "process", None)
            if proc is not None:
                proc.kill()
        return True

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = self._size(msg)
        if self._over_kill_budget(size, cell_index):
            return None
        # only a hidden test cell's result record is exempt from the text limit; one displayed by any
        # other cell is just output (it decides nothing, and must not bloat the graded notebook)
        is_payload = msg["msg_type"] == "display_data" and RESULTS_MIME in content.get("data", {}) \
            and 0 <= cell_index < len(self.nb.cells) and _is_hidden_test(self.nb.cells[cell_index])
        if not is_payload and self._cell_text + size > self.max_cell_output:
            if not self._truncated:
                self._truncated = True
                room = self.max_cell_output - self._cell_text
                if msg["msg_type"] == "stream" and room > 0:  # keep the beginning of a long text
                    self._cell_text += room
                    super().output(outs, {**msg, "content": {**content, "text": content.get("text", "")[:room]}},
                                   display_id, cell_index)
                out = nbformat.v4.new_output("stream", name="stdout",
                                             text=f"\n[output cut after {self.max_cell_output} characters]\n")
                outs.append(out)
            return None
        if not is_payload:
            self._cell_text += size
        return super().output(outs, msg, display_id, cell_index)

    def _update_display_id(self, display_id, msg):
        """A display that replaces earlier outputs (``update_display``, or ``display`` with a used
        ``display_id``) is output of the running cell: it counts against that cell's limits (else it
        would bypass them, in any earlier cell too), and it never carries a result record."""
        size = self._size(msg)
        index = getattr(self, "_current_index", -1)
        if self._over_kill_budget(size, index) or RESULTS_MIME in msg.get("content", {}).get("data", {}) \
                or self._cell_text + size > self.max_cell_output:
            return
        self._cell_text += size
        try:
            super()._update_display_id(display_id, msg)
        except (IndexError, KeyError, TypeError):  # an id recorded by a replayed (scratch) copy of a cell
            pass

    # --- the loop ------------------------------------------------------------
    def preprocess(self, nb, resources, km=None):
        state = _state(resources)
        info = resources["nbgrader"]
        checks = registry.checks_for(info["assignment"])
        course = _course(self.config)
        self._course_root = Path(course.root).resolve()
        sandbox.tools()  # refuse clearly, before any learner code runs, if the sandbox is missing
        base = Path(tempfile.mkdtemp(prefix="rkg-", dir="/tmp"))
        self._workspace = base
        try:
            (base / "cases").mkdir()
            (base / "ipc").mkdir()
            (base / "kernel").mkdir(mode=0o700)
            sandbox.build_learner_package(registry.module_for(info["assignment"]), base / "lib")
            for cell in nb.cells:
                if _is_hidden_test(cell):
                    gid = _nb_meta(cell)["grade_id"]
                    if gid not in checks:
                        raise KeyError(f"hidden test cell {gid!r} has no check in rnnkit.grading "
                                       f"({info['assignment']})")
                    data, context, seed = checks[gid].cases()
                    (base / "cases" / f"{gid}.npz").write_bytes(data)
                    state["cases"][gid] = (context, seed)
            for p in (base, base / "cases", base / "lib"):
                os.chmod(p, 0o755)
            for p in (base / "lib").rglob("*"):
                os.chmod(p, 0o755 if p.is_dir() else 0o644)
            self._run(nb, resources, state)
        finally:
            shutil.rmtree(base, ignore_errors=True)
        return nb, resources

    def _plan(self, nb) -> list[int]:
        plan = []
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if _is_visible_test(cell) or "skip-grading" in cell.metadata.get("tags", []):
                cell.outputs = []
                continue
            plan.append(i)
        return plan

    def _run(self, nb, resources, state):
        NotebookClientInit(self, nb)
        # no widget emulation: comm messages are learner-made data that nbclient would keep (widget
        # state, unbounded) or parse (an Output-widget hook, a KeyError on a malformed comm_open)
        self.store_widget_state = False
        self.comm_open_handlers = {}
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self.shutdown_kernel = "immediate"
        self.interrupt_on_timeout = False  # a timeout kills and replaces the kernel (see class docstring)
        self._events: dict[int, str] = {}
        plan = self._plan(nb)
        start, restarts, t0 = 0, 0, time.monotonic()
        self._t0 = t0
        while start < len(plan):
            self.km, self.kc = None, None
            try:
                with self.setup_kernel():
                    self._remember_sandbox()
                    self._replay(nb, plan[:start])
                    for pos in range(start, len(plan)):
                        idx = plan[pos]
                        if time.monotonic() - t0 > self.notebook_timeout:
                            for j in plan[pos:]:
                                self._events.setdefault(j, f"it was not run: the notebook used up its "
                                                           f"{self.notebook_timeout} s of grading time")
                            start = len(plan)
                            break
                        # a crash or timeout in this cell costs this cell only: the next kernel
                        # resumes after it (its event is recorded, so replay skips it too)
                        start = pos + 1
                        self._execute_one(nb, idx)
                    else:
                        start = len(plan)
            except _Restart:
                restarts += 1
                if restarts > self.max_restarts:
                    for j in plan[start:]:
                        self._events.setdefault(j, "it was not run: the kernel crashed too often")
                    break
            finally:
                self._kill_sandbox()
        state["events"] = {nb.cells[i].metadata.get("nbgrader", {}).get("grade_id", str(i)): text
                           for i, text in self._events.items()}
        state["sandbox_pids"] = list(getattr(self, "_sandbox_pids", []))

    def _execute_one(self, nb, idx):
        cell = nb.cells[idx]
        self._current_index = idx
        self._cell_output = self._cell_text = 0
        self._truncated = self._output_killed = False
        try:
            self.execute_cell(cell, idx, store_history=True)
        except (DeadKernelError, CellTimeoutError) as exc:
            if idx not in self._events:
                self._events[idx] = (f"it ran longer than {self.timeout} s and was stopped"
                                     if isinstance(exc, CellTimeoutError) else self._death_text())
            raise _Restart() from None
        if self._output_killed:
            raise _Restart()

    def _replay(self, nb, done: list[int]):
        """Re-run, silently, the set-up and answer cells that ran before a restart.

        Replays count against the notebook's time budget (slow cells and repeated crashes must not
        multiply it): once it is used up, replaying stops and the loop marks the rest as not run.
        """
        for idx in done:
            if time.monotonic() - self._t0 > self.notebook_timeout:
                return
            cell = nb.cells[idx]
            if idx in self._events or _is_hidden_test(cell):
                continue
            scratch = copy.deepcopy(cell)
            self._current_index = idx
            self._cell_output = self._cell_text = 0
            self._truncated = self._output_killed = False
            try:
                self.execute_cell(scratch, idx, store_history=False)
            except (DeadKernelError, CellTimeoutError):
                self._events[idx] = "it stopped the kernel when it was run again after a crash"
                raise _Restart() from None

    def _death_text(self) -> str:
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        code = proc.poll() if proc is not None else None
        if code is not None and code < 0:
            return f"the kernel was killed by signal {signal.Signals(-code).name} while it ran"
        if code is not None and code > 128:
            try:
                return f"the kernel was killed by signal {signal.Signals(code - 128).name} while it ran"
            except ValueError:
                pass
        return (f"the kernel stopped while it ran (exit status {code}; e.g. os._exit, a crash, "
                f"or a memory or process limit)")

    def _remember_sandbox(self):
        sandbox.seal_private_dir(Path(self._workspace) / "ipc")  # the kernel is up: its sockets exist
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        if proc is not None:
            self._sandbox_pids = getattr(self, "_sandbox_pids", []) + [proc.pid]

    def _kill_sandbox(self):
        proc = getattr(getattr(self.km, "provisioner", None), "process", None) if self.km else None
        group = getattr(getattr(self, "_last_km", None), "cgroup", None)
        self._last_km = None
        try:
            if self.km is not None:
                self._cleanup_kernel()
        except Exception as exc:  # a dead or wedged kernel: kill below
            self.log.warning("kernel cleanup: %s", exc)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if group is not None:
            left = group.alive()
            if left:
                self._sandbox_leftovers = getattr(self, "_sandbox_leftovers", []) + left
            group.remove()
        self.km, self.kc = None, None


def NotebookClientInit(client, nb):
    """nbconvert's ExecutePreprocessor re-initialises the client for each notebook; do the same."""
    from nbclient import NotebookClient
    NotebookClient.__init__(client, nb, None)


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
        state = _state(resources)
        checks = registry.checks_for(resources["nbgrader"]["assignment"])
        for cell in nb.cells:
            if not _is_hidden_test(cell):
                continue
            gid = _nb_meta(cell)["grade_id"]
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
            if _is_visible_test(cell):
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
        if _is_solution(cell) and function in _defined_functions(cell.source):
            return _nb_meta(cell).get("grade_id")
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
    """A digest of the parts of the course tree grading must never change."""
    h = hashlib.sha256()
    for name in _WATCHED:
        p = root / name
        files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file() and "__pycache__" not in q.parts) \
            if p.exists() else []
        for f in files:
            h.update(str(f.relative_to(root)).encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


class PostCheck(NbGraderPreprocessor):
    """After ``SaveAutoGrades``: scores equal the verdicts, no sandbox process alive, course tree unchanged."""

    _digest = None

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook
        state = _state(resources)
        info = resources["nbgrader"]
        root = Path(_course(self.config).root).resolve()
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


# ---------------------------------------------------------------------------
# feedback pages
# ---------------------------------------------------------------------------

#: Directory of the course's nbconvert templates (``rnnkit_feedback``).
TEMPLATES = Path(__file__).resolve().parent / "templates"


def _mathjax_js() -> str:
    """MathJax 3 (TeX input, SVG output: no font files to fetch) from the sphinx-mathjax-offline package."""
    from importlib.metadata import PackageNotFoundError, distribution
    try:
        path = Path(distribution("sphinx-mathjax-offline").locate_file(
            "sphinx-mathjax-offline/static/mathjax/tex-svg.js"))
        text = path.read_text(encoding="utf-8")
    except (PackageNotFoundError, OSError):
        raise RuntimeError("feedback pages inline MathJax from the sphinx-mathjax-offline package: "
                           "pip install 'rnnkit[grading]'") from None
    return text.replace("</script", "<\\/script")


class FeedbackCells(NbGraderPreprocessor):
    """Before nbgrader renders a feedback page: no hidden-test source, a name for each graded cell,
    and MathJax for the page itself (see templates/rnnkit_feedback)."""

    _js = None

    def preprocess(self, nb, resources):
        labels = {}
        checks = registry.checks_for(resources["nbgrader"]["assignment"])
        for cell in nb.cells:
            if not _is_hidden_test(cell):
                continue
            gid = _nb_meta(cell)["grade_id"]
            check = checks.get(gid)
            part = gid.rsplit("_", 1)[-1] if gid.endswith(("_parameters", "_inputs")) else ""
            labels[gid] = f"{check.function}" + (f" ({part})" if part else "") if check else gid
            cell.source = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?",
                                 "# (hidden tests: they ran when the notebook was graded; the verdict is below)\n",
                                 cell.source, flags=re.S)
        if FeedbackCells._js is None:
            FeedbackCells._js = _mathjax_js()
        resources["rnnkit_feedback"] = {"labels": labels, "mathjax_js": FeedbackCells._js}
        return nb, resources
