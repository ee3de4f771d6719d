"""Grade a whole class: the sandboxes in parallel (phase 1), the judge and the gradebook here (phase 2).

Run from the course directory, like ``nbgrader autograde``::

    python -m rnnkit.grading.pipeline.grade_class a3-bptt --jobs 2          # this machine, 2 sandboxes at once
    python -m rnnkit.grading.pipeline.grade_class a3-bptt --scheduler tcp://10.0.0.5:8786   # a Dask cluster
    python -m rnnkit.grading.pipeline.grade_class a3-bptt --student alice   # nbgrader's --student glob

nbgrader's converter runs twice in this process. First with :class:`~.phases.IssueJob` in place of the
sandbox: every submission is vetted and rebuilt as ``nbgrader autograde`` does and sent at once to a
worker: to a remote one as a job with its cases drawn here (:func:`~.phases.run_job`); to a local one —
the grader's own process — as a request whose cases it draws itself (:func:`~.phases.prepare_and_run`). Then with :class:`~.phases.LoadRecord`:
each submission is rebuilt again, its record checked and judged, and nbgrader saves the grades — one
writer to the gradebook — while the workers run the later submissions. The scores are those of
``nbgrader autograde <assignment>`` (the same steps on the same records); a record that is missing or
rejected is run here instead. Workers: a Dask ``LocalCluster`` of ``--jobs`` processes (one sandbox
each) when ``distributed`` is installed (``pip install rnnkit[cluster]``), else a process pool; or the
workers of the Dask scheduler at ``--scheduler``. A progress bar (done/total, rate, time left) is shown
on a terminal, a line per tenth of the batch otherwise (stdout). Exit status as ``nbgrader autograde``:
non-zero when a notebook could not be graded.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from .phases import drawn, hooks, prepare_and_run, rejected, run_job
from .records import learner_lib_files, read_json, write_json

__all__ = ["grade_class", "main"]

SANDBOX_STEP = "rnnkit.grading.pipeline.SandboxedExecute"
ISSUE = "rnnkit.grading.pipeline.phases.IssueJob"
LOAD = "rnnkit.grading.pipeline.phases.LoadRecord"


def autograde_pass(assignment: str, student: str | None, step: str | None, records: Path, *,
                   log_level: str | None = None) -> int:
    """nbgrader's ``autograde`` in this process with the course's configuration, the sandbox step replaced
    by ``step`` (``None``: only :class:`IssueJob`, nothing after it). Returns the exit status."""
    from nbgrader.apps.autogradeapp import AutogradeApp
    argv = [assignment, "--force"] + ([f"--student={student}"] if student else [])
    argv += [f"--log-level={log_level}"] if log_level else []
    app = AutogradeApp()
    app.initialize(argv)
    steps = list(app.config.Autograde.get("autograde_preprocessors", []))
    if SANDBOX_STEP not in steps:
        raise SystemExit(f"grade_class: the course's Autograde.autograde_preprocessors do not run "
                         f"{SANDBOX_STEP}; nothing to run in parallel (use nbgrader autograde)")
    app.config.Autograde.autograde_preprocessors = [ISSUE] if step is None else \
        [step if s == SANDBOX_STEP else s for s in steps]
    app.config.IssueJob.records_dir = app.config.LoadRecord.records_dir = str(records)
    try:
        app.start()
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    return 0


class Progress:
    """done/total, rate and time left: tqdm on a terminal, a plain line per tenth of the batch otherwise."""

    def __init__(self, total: int | None, what: str):
        self.done, self.total, self.what, self.t0 = 0, total, what, time.monotonic()
        self.bar = None
        if sys.stdout.isatty():
            try:
                from tqdm import tqdm
            except ImportError:  # the plain lines below (tqdm comes with rnnkit[cluster])
                return
            self.bar = tqdm(total=total, desc=what, unit="notebook", file=sys.stdout, dynamic_ncols=True)

    def add_total(self, n: int = 1) -> None:
        self.total = (self.total or 0) + n
        if self.bar is not None:
            self.bar.total = self.total
            self.bar.refresh()

    def update(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            return
        step = max(1, (self.total or 1) // 10)
        if self.done % step == 0 or self.done == self.total:
            elapsed = time.monotonic() - self.t0
            rate = self.done / elapsed if elapsed > 0 else 0.0
            left = (self.total - self.done) / rate if rate and self.total else 0.0
            print(f"{self.what}: {self.done}/{self.total} done, {rate:.2f} notebooks/s, "
                  f"about {left:.0f} s left", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class Workers:
    """Sends jobs to the workers as they are issued and writes each record as it comes back."""

    def __init__(self, jobs: int, scheduler: str | None, records: Path, progress: Progress):
        self.records, self.progress = records, progress
        self.pending: dict[Path, threading.Event] = {}
        self.lib: dict[str, dict] = {}
        self.futures: dict = {}
        self.lock = threading.Lock()
        self.failures: list[str] = []
        self.client = self.cluster = self.pool = None
        if scheduler:
            from distributed import Client
            self.client = Client(scheduler, timeout="30s")
        else:
            try:
                from distributed import Client, LocalCluster
            except ImportError:
                import multiprocessing
                self.pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))
            else:
                self.cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=logging.CRITICAL)
                self.client = Client(self.cluster)
        self.collector = threading.Thread(target=self._collect, daemon=True)
        self.collector.start()

    def send(self, job_path: Path) -> None:
        job = read_json(job_path)
        record = job_path.with_name(job_path.name.replace(".job.json", ".record.json"))
        lib = self.lib.get(job["assignment"]) or self.lib.setdefault(job["assignment"],
                                                                    learner_lib_files(job["assignment"]))
        with self.lock:
            self.pending[record] = threading.Event()
            if self.client is not None:
                future = self.client.submit(run_job, job, lib, pure=False, retries=1,
                                            key=f"rnnkit-phase1-{job['nonce']}")
            else:
                future = self.pool.submit(run_job, job, lib)
            self.futures[future] = (record, f"{job['student']}/{job['assignment']}/{job['notebook']}")
        self.progress.add_total()

    def prepare(self, request: dict, record: Path) -> None:
        """Send a request to a local worker that draws the cases and runs the job (:func:`prepare_and_run`)."""
        a = request["assignment"]
        lib = self.lib.get(a) or self.lib.setdefault(a, learner_lib_files(a))
        with self.lock:
            self.pending[record] = threading.Event()
            if self.client is not None:
                future = self.client.submit(prepare_and_run, request, lib, pure=False, retries=1,
                                            key=f"rnnkit-phase1-{request['nonce']}")
            else:
                future = self.pool.submit(prepare_and_run, request, lib)
            self.futures[future] = (record, f"{request['student']}/{a}/{request['notebook']}")
        self.progress.add_total()

    def wait(self, record: Path) -> None:
        event = self.pending.get(record)
        if event is not None:
            event.wait()

    def _collect(self) -> None:
        seen = set()
        while not self.closing or len(seen) < len(self.futures):
            with self.lock:
                todo = [f for f in self.futures if f not in seen]
            if not todo:
                time.sleep(0.05)
                continue
            done = _first_done(todo, self.client is not None)
            for future in done:
                seen.add(future)
                record, name = self.futures[future]
                try:
                    result = future.result()
                    if result.get("kind") != "record":  # prepare_and_run: issued here, context kept here
                        issued = result["issued"]
                        write_json(record.with_name(record.name.replace(".record.", ".issued.")), issued)
                        key = tuple(issued[k] for k in ("student", "assignment", "notebook", "nonce"))
                        drawn[key] = result["contexts"]
                        result = result["record"]
                    write_json(record, result)
                except BaseException as exc:  # a worker's failure: phase 2 runs this submission itself
                    self.failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
                finally:
                    self.pending[record].set()
                    self.progress.update()

    closing = False

    def close(self) -> None:
        self.closing = True
        self.collector.join()
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def _first_done(futures: list, dask: bool) -> list:
    if dask:
        from distributed import wait
        return list(wait(futures, timeout=None, return_when="FIRST_COMPLETED").done)
    return [next(as_completed(futures))]


def grade_class(assignment: str, *, jobs: int = 2, scheduler: str | None = None, student: str | None = None,
                records: Path | None = None, phase: str = "all") -> int:
    """Grade every submission of ``assignment`` (optionally of the students matching ``student``) with
    ``jobs`` sandboxes at once (or on the Dask cluster at ``scheduler``). Returns the exit status.

    ``phase``: ``all`` (both, overlapped), or one at a time on the folder ``records``: ``issue`` (write
    the jobs), ``run`` (run every job found there, write the records), ``judge`` (phase 2 from the records).
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if phase not in ("all", "issue", "run", "judge"):
        raise ValueError(f"phase must be one of all, issue, run, judge; got {phase!r}")
    if phase != "all" and records is None:
        raise ValueError(f"phase {phase!r} needs a records folder (--records)")
    rejected.clear()
    drawn.clear()
    with tempfile.TemporaryDirectory(prefix="rnnkit-records-") as tmp:
        root = Path(records) if records else Path(tmp)
        if phase in ("issue", "judge"):
            return autograde_pass(assignment, student, None if phase == "issue" else LOAD, root)
        progress = Progress(0, "sandboxes")
        workers = Workers(jobs, scheduler, root, progress)
        status = 0
        try:
            if phase == "run":
                for job in sorted((root / assignment).glob(f"{student or '*'}/*.job.json")):
                    workers.send(job)
            else:
                # local workers are the grader's own processes: they draw the cases too; remote ones get jobs
                hooks.update(wait=workers.wait, **({"issued": workers.send} if scheduler else
                                                   {"prepare": workers.prepare}))
                status = autograde_pass(assignment, student, None, root, log_level="WARN")
                status = max(status, autograde_pass(assignment, student, LOAD, root))
        finally:
            hooks.update(issued=None, wait=None, prepare=None)
            workers.close()
            progress.close()
    for text in workers.failures:
        print(f"grade_class: a worker failed on {text} (phase 2 runs it itself)", file=sys.stderr)
    print(f"grade_class: {progress.done} notebook(s) run by the workers, {len(rejected)} record(s) "
          f"missing or rejected and run here ({time.monotonic() - progress.t0:.1f} s)", flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rnnkit.grading.pipeline.grade_class",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("assignment")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="sandboxes at once on this machine (default: the number of cores)")
    ap.add_argument("--scheduler", help="address of a Dask scheduler whose workers run the sandboxes")
    ap.add_argument("--student", help="only students matching this glob (as nbgrader's --student)")
    ap.add_argument("--records", type=Path, help="keep the jobs and records in this folder (default: a temporary one)")
    ap.add_argument("--phase", choices=("all", "issue", "run", "judge"), default="all",
                    help="both phases overlapped (default), or one of them on the --records folder")
    args = ap.parse_args(argv)
    return grade_class(args.assignment, jobs=args.jobs, scheduler=args.scheduler, student=args.student,
                       records=args.records, phase=args.phase)


if __name__ == "__main__":
    raise SystemExit(main())
