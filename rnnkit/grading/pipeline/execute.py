"""Step 2, sandboxed execution: the kernel in the bubblewrap sandbox, crash-resilient.

Two kinds of failure are told apart:

* **the learner's**: once the kernel has answered ``kernel_info``, a crash, kill, timeout or limit
  costs the cell it happened in (the kernel is replaced, earlier definitions are replayed);
* **the grader's**: a sandbox that cannot start, or a kernel that dies before it answers
  ``kernel_info`` (no learner code has run in it yet), is retried (:attr:`SandboxedExecute.start_attempts`,
  each in a fresh sandbox with fresh socket directory); if every attempt fails,
  :class:`GraderFailure` is raised naming the cause. nbgrader then records no score for the
  submission (``SaveAutoGrades`` never runs for it), goes on with the next one and exits non-zero;
  a summary of such failures is the last thing the command prints.
"""
from __future__ import annotations

import atexit
import copy
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
from nbformat.validator import NotebookValidationError
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute
from jupyter_client.manager import AsyncKernelManager
from traitlets import Float, Integer, Unicode

from ..kernel import RESULTS_MIME
from .. import learner_package, registry, sandbox
from .notebook import course_directory, is_hidden_test, is_visible_test, pipeline_state
from .records import draw_cases


# ---------------------------------------------------------------------------
# 2. execution in the sandbox
# ---------------------------------------------------------------------------

class GraderFailure(RuntimeError):
    """The grader, not the learner, failed on a submission: no score may be recorded for it.

    Raised when the sandbox cannot start or its kernel dies before answering ``kernel_info``
    on every attempt. The message names the submission and the cause (the sandbox's own output).
    """


#: Grader failures of this process, for the summary printed when the command exits.
_FAILURES: list[str] = []


def _print_failure_summary() -> None:
    if _FAILURES:
        lines = [f"rnnkit grading: {len(_FAILURES)} notebook(s) NOT graded because the grader failed "
                 f"(no score recorded for them; fix the cause and run autograde again):"]
        lines += [f"  - {text}" for text in _FAILURES]
        print("\n".join(lines), file=sys.stderr, flush=True)


def record_grader_failure(text: str) -> None:
    """Remember ``text`` for the summary printed at exit (registered with the first failure)."""
    if not _FAILURES:
        atexit.register(_print_failure_summary)
    _FAILURES.append(text)


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
        argv = ["-m", "ipykernel_launcher", "-f", sandbox.CONNECTION_FILE,
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
        kw["stdout"] = subprocess.PIPE
        kw["stderr"] = subprocess.STDOUT
        await super()._async_launch_kernel(kernel_cmd, **kw)
        proc = self.sandbox_process = getattr(self.provisioner, "process", None)
        if proc is not None and proc.stdout is not None:
            fd = os.dup(proc.stdout.fileno())  # ours: the provisioner closes its file object on its own
            self._drainer = threading.Thread(target=self._drain, args=(fd,), daemon=True)
            self._drainer.start()

    #: The sandbox's process (kept after nbclient's clean-up forgets it).
    sandbox_process = None
    _drainer = None
    _tail = b""

    def _drain(self, fd: int):
        try:
            for chunk in iter(lambda: os.read(fd, 65536), b""):  # EOF when the sandbox is gone
                self._tail = (self._tail + chunk)[-self.output_tail:]
        except OSError:
            pass
        finally:
            os.close(fd)
        if self._tail.strip():
            self.log.debug("sandboxed kernel output (last %d bytes):\n%s", len(self._tail),
                           self._tail.decode("utf-8", "replace"))

    def sandbox_output(self, wait: float = 2.0, chars: int = 2000) -> str:
        """The end of what the sandbox printed outside the kernel's capture (bwrap's own errors, a
        traceback of a kernel that could not start), once it has exited (waiting up to ``wait`` s)."""
        if self._drainer is not None:
            self._drainer.join(wait)
        return self._tail.decode("utf-8", "replace").strip()[-chars:]


class _Restart(Exception):
    """Internal: the kernel must be replaced before the next cell."""


class SandboxedExecute(Execute):
    """nbgrader's ``Execute``, with the kernel in the sandbox and the crash-resilient loop described above."""

    notebook_timeout = Integer(300, help="Wall-clock budget of one notebook (seconds)").tag(config=True)
    max_restarts = Integer(4, help="Kernel restarts allowed per notebook after crashes or timeouts").tag(config=True)
    start_attempts = Integer(3, help="Attempts to start a sandboxed kernel (each time one is needed) before the "
                                     "notebook is reported as not graded: the grader's failure").tag(config=True)
    start_retry_delay = Float(1.0, help="Seconds before the second start attempt (doubled for each further "
                                        "one)").tag(config=True)
    max_cell_output = Integer(100_000, help="Characters of text output kept per cell").tag(config=True)
    kill_output = Integer(50 * 2**20, help="A cell printing more than this many characters is stopped").tag(
        config=True)

    def create_kernel_manager(self):
        # a fresh socket directory for every kernel: nothing an earlier kernel (learner code) did to
        # its directory can stop the next one from starting
        self._kernels_started = getattr(self, "_kernels_started", 0) + 1
        ipc = Path(self._workspace) / "ipc" / str(self._kernels_started)
        ipc.mkdir(mode=0o755)
        self.km = SandboxKernelManager(config=self.config, transport="ipc",
                                       ip=str(ipc / "k"),
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
            and 0 <= cell_index < len(self.nb.cells) and is_hidden_test(self.nb.cells[cell_index])
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
        try:
            return super().output(outs, msg, display_id, cell_index)
        except NotebookValidationError:   # a learner-forged message (e.g. a string execution_count)
            outs.append(nbformat.v4.new_output("stream", name="stdout",
                                               text="\n[an output that is not valid in a notebook was dropped]\n"))
            return None

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
        state = pipeline_state(resources)
        info = resources["nbgrader"]
        assignment = info["assignment"]
        cases = {}
        for gid, (data, context, seed) in draw_cases(nb, assignment).items():
            cases[gid] = data
            state["cases"][gid] = (context, seed)
        self.run_sandboxed(nb, resources, state, f"{info['student']}/{assignment}/{info['notebook']}",
                           Path(course_directory(self.config).root).resolve(), cases,
                           lambda lib: learner_package.build_learner_package(registry.module_for(assignment), lib))
        return nb, resources

    def run_sandboxed(self, nb, resources, state, name: str, course_root: Path, cases: dict[str, bytes],
                      build_lib) -> None:
        """Run ``nb`` in a fresh sandbox on the drawn ``cases`` (grade_id -> encoded calls); ``build_lib(path)``
        writes the learner package there. The outputs land in ``nb``, the events in ``state``."""
        self._course_root = course_root
        sandbox.tools()  # refuse clearly, before any learner code runs, if the sandbox is missing
        sandbox.interpreter()  # and if the sandbox's Python cannot be assembled (a missing distribution)
        base = Path(tempfile.mkdtemp(prefix="rkg-", dir="/tmp"))
        self._workspace = base
        try:
            (base / "cases").mkdir()
            (base / "ipc").mkdir()
            (base / "kernel").mkdir(mode=0o700)
            build_lib(base / "lib")
            for gid, data in cases.items():
                (base / "cases" / f"{gid}.npz").write_bytes(data)
            for p in (base, base / "cases", base / "lib"):
                os.chmod(p, 0o755)
            for p in (base / "lib").rglob("*"):
                os.chmod(p, 0o755 if p.is_dir() else 0o644)
            self._run(nb, resources, state, name)
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def _plan(self, nb) -> list[int]:
        plan = []
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if is_visible_test(cell) or "skip-grading" in cell.metadata.get("tags", []):
                cell.outputs = []
                continue
            plan.append(i)
        return plan

    def _run(self, nb, resources, state, name: str):
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
        start, restarts, failed_starts = 0, 0, 0
        self._t0 = time.monotonic()
        while start < len(plan):
            self.km, self.kc = None, None
            self._kernel_ready = False
            attempt_began = time.monotonic()
            try:
                with self.setup_kernel():
                    self._kernel_ready = True
                    failed_starts = 0
                    self._remember_sandbox()
                    self._replay(nb, plan[:start])
                    for pos in range(start, len(plan)):
                        idx = plan[pos]
                        if time.monotonic() - self._t0 > self.notebook_timeout:
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
            except Exception as exc:
                if self._kernel_ready:
                    raise
                failed_starts += 1
                cause = self._start_failure_cause(exc)
                self.log.warning("%s: the sandboxed kernel did not start (attempt %d of %d): %s", name,
                                 failed_starts, self.start_attempts, cause)
                if failed_starts >= self.start_attempts:
                    text = (f"{name}: the grading sandbox's kernel did not start ({failed_starts} attempts; "
                            f"no learner code ran, no score recorded): {cause}")
                    record_grader_failure(text)
                    raise GraderFailure(text) from exc
                time.sleep(self.start_retry_delay * 2 ** (failed_starts - 1))
                self._t0 += time.monotonic() - attempt_began  # the grader's lost time is not the learner's
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
            if idx in self._events or is_hidden_test(cell):
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

    def _start_failure_cause(self, exc: BaseException) -> str:
        """What stopped a kernel from starting: the exception, the sandbox's exit status and output."""
        km = getattr(self, "_last_km", None) or self.km
        proc = getattr(km, "sandbox_process", None)
        parts = [f"{type(exc).__name__}: {exc}"]
        if proc is not None:
            try:
                code = proc.wait(5)
            except Exception:
                code = proc.poll()
            if code is not None:
                parts.append(f"sandbox exit status {code}")
        output = km.sandbox_output() if isinstance(km, SandboxKernelManager) else ""
        if output:
            parts.append("sandbox output: " + " | ".join(output.splitlines()[-8:]))
        return "; ".join(parts)

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
        sandbox.seal_private_dir(Path(self.km.ip).parent)  # the kernel is up: its sockets exist
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
