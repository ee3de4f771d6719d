"""The two phases of grading as nbgrader preprocessors, and the job a worker runs.

* :class:`IssueJob` (phase 1, in the instructor's process): in place of :class:`~.execute.SandboxedExecute`,
  draws the cases of the rebuilt notebook and writes its job and what was issued
  (:mod:`.records`); it runs nothing.
* :func:`run_job` (phase 1, on a worker: a process of this machine or a Dask worker elsewhere): runs a
  job in the sandbox and returns its record. It needs bubblewrap, this package and the job; no course,
  gradebook, solution or reference — the job carries the learner package the sandbox imports.
* :class:`LoadRecord` (phase 2, in the instructor's process): in place of ``SandboxedExecute``, puts the
  record's outputs into the notebook after :func:`~.records.check_record` accepted it, with the context of
  its cases (the judge's, which never leaves this process): kept from phase 1 when it ran in this process,
  else drawn again from the issued seeds. A
  missing or rejected record is logged and that submission is run here, in the sandbox, as
  ``nbgrader autograde`` would run it: the result is the same, only later.

nbgrader's own steps (vetted copies, the rebuild, the judge, ``SaveAutoGrades``, the post-check, the
feedback) stay as ``nbgrader_config.py`` lists them; :mod:`.grade_class` runs nbgrader's converter once
with :class:`IssueJob` and once with :class:`LoadRecord`, and one process writes the gradebook.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import tempfile
from pathlib import Path
from typing import Callable

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from .. import registry
from .execute import SandboxedExecute
from .notebook import course_directory, pipeline_state
from .records import (apply_record, check_record, draw_cases, issued_of, make_job, make_record, notebook_digest,
                      paths, read_json, write_json)

__all__ = ["IssueJob", "LoadRecord", "run_job", "prepare_and_run", "SETTINGS", "drawn", "hooks", "rejected"]

#: The settings of :class:`~.execute.SandboxedExecute` a job carries to its worker.
SETTINGS = ("timeout", "notebook_timeout", "start_attempts", "start_retry_delay", "max_restarts",
            "max_cell_output", "kill_output")

#: Set by :mod:`.grade_class` for one grading run: ``issued(job_path)`` is called when a job is written
#: (to send it at once), ``wait(record_path)`` before a record is read (until its worker answered).
#: With ``prepare(request, record_path)`` set, the jobs go to trusted local workers that also draw the cases
#: (:func:`prepare_and_run`), instead of being drawn and written here.
hooks: dict[str, Callable | None] = {"issued": None, "wait": None, "prepare": None}

#: Submissions whose record was rejected or missing in this process, with the reason (run here instead).
rejected: list[str] = []

#: The cases drawn by :class:`IssueJob` in this process, by (student, assignment, notebook, nonce): when both
#: phases run in one process, phase 2 takes their context from here instead of drawing them again.
drawn: dict[tuple, dict[str, tuple[object, int]]] = {}


class IssueJob(NbGraderPreprocessor):
    """Phase 1 in the instructor's process: write the job of this rebuilt notebook (nothing is run)."""

    records_dir = Unicode("", help="Folder of the jobs, issued identities and records").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        if not self.records_dir:
            raise ValueError("IssueJob.records_dir is not set (the folder of the jobs and records)")
        runner = SandboxedExecute(config=self.config)
        settings = {name: getattr(runner, name) for name in SETTINGS}
        root = str(Path(course_directory(self.config).root).resolve())
        where = paths(Path(self.records_dir), info["assignment"], info["student"], info["notebook"])
        for old in where.values():
            old.unlink(missing_ok=True)
        if hooks["prepare"] is not None:  # trusted local workers draw the cases too (prepare_and_run)
            hooks["prepare"]({**{k: info[k] for k in ("student", "assignment", "notebook")},
                              "nb_sha256": notebook_digest(nb), "nonce": secrets.token_hex(16),
                              "notebook_json": nbformat.writes(nb), "settings": settings, "course_root": root},
                             where["record"])
            return nb, resources
        cases = draw_cases(nb, info["assignment"])
        job = make_job(nb, info, cases, settings, root)
        key = (info["student"], info["assignment"], info["notebook"], job["nonce"])
        drawn[key] = {gid: (context, seed) for gid, (_, context, seed) in cases.items()}
        write_json(where["issued"], issued_of(job))
        write_json(where["job"], job)
        if hooks["issued"] is not None:
            hooks["issued"](where["job"])
        return nb, resources


def run_job(job: dict, lib: dict[str, str]) -> dict:
    """Phase 1 on a worker: run ``job`` in a fresh sandbox with the learner package ``lib`` and return its
    record. A learner's crash or timeout is in the record; a sandbox that cannot start raises
    :class:`~.execute.GraderFailure` (the instructor's side then runs the submission itself)."""
    nb = nbformat.reads(job["notebook_json"], as_version=4)
    if notebook_digest(nb) != job["nb_sha256"]:
        raise ValueError("the job's notebook does not match its digest")
    runner = SandboxedExecute(**{k: v for k, v in job["settings"].items() if k in SETTINGS})
    cases = {gid: base64.b64decode(data) for gid, data in job["cases"].items()}
    for gid, data in cases.items():
        if hashlib.sha256(data).hexdigest() != job["cases_sha256"].get(gid):
            raise ValueError(f"the job's cases of {gid!r} do not match their digest")

    def build_lib(dest: Path) -> None:
        for rel, data in lib.items():
            target = (dest / rel).resolve()
            if dest.resolve() not in target.parents:
                raise ValueError(f"learner package path {rel!r} leaves its folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(base64.b64decode(data))

    state = pipeline_state({})
    name = f"{job['student']}/{job['assignment']}/{job['notebook']}"
    course_root = Path(job.get("course_root") or "/nonexistent")
    with tempfile.TemporaryDirectory(prefix="rnnkit-worker-") as empty:
        # on another machine the course does not exist: the sandbox masks an empty folder instead
        root = course_root if course_root.is_dir() else Path(empty)
        runner.run_sandboxed(nb, {}, state, name, root, cases, build_lib)
    return make_record(job, nb, state["events"], socket.gethostname())


def prepare_and_run(request: dict, lib: dict[str, str]) -> dict:
    """Phase 1 whole, in a worker process the instructor started on the grading machine (trusted like the
    grader: it has the references): draw the cases of the request's notebook, run its job, and return the
    record, what was issued, and the judge's context of the cases (which stays on this machine)."""
    nb = nbformat.reads(request["notebook_json"], as_version=4)
    if notebook_digest(nb) != request["nb_sha256"]:
        raise ValueError("the request's notebook does not match its digest")
    cases = draw_cases(nb, request["assignment"])
    job = {**make_job(nb, request, cases, request["settings"], request["course_root"]), "nonce": request["nonce"]}
    return {"issued": issued_of(job), "record": run_job(job, lib),
            "contexts": {gid: (context, seed) for gid, (_, context, seed) in cases.items()}}


class LoadRecord(SandboxedExecute):
    """Phase 2: the outputs of this notebook's record, checked; a missing or rejected record is run here."""

    records_dir = Unicode("", help="Folder of the jobs, issued identities and records").tag(config=True)

    def preprocess(self, nb, resources, km=None):
        info = resources["nbgrader"]
        state = pipeline_state(resources)
        name = f"{info['student']}/{info['assignment']}/{info['notebook']}"
        where = paths(Path(self.records_dir), info["assignment"], info["student"], info["notebook"])
        if hooks["wait"] is not None:
            hooks["wait"](where["record"])
        issued = read_json(where["issued"])
        record = read_json(where["record"])
        problem = ("no record came back for it" if record is None
                   else check_record(record, issued, info, notebook_digest(nb)))
        if problem is None:
            key = (info["student"], info["assignment"], info["notebook"], issued["nonce"])
            kept = drawn.pop(key, None)
            if kept is not None and {gid: seed for gid, (_, seed) in kept.items()} == issued["seeds"]:
                state["cases"].update(kept)
            else:
                problem = self._cases_again(issued, info["assignment"], state)
        if problem is not None:
            self.log.warning("%s: the grading record was rejected (%s); it is run here", name, problem)
            rejected.append(f"{name}: {problem}")
            state["cases"].clear()
            return super().preprocess(nb, resources, km)
        state["events"] = apply_record(nb, record)
        state["sandbox_pids"] = []  # the worker's sandbox; its own pid namespace died with it
        return nb, resources

    @staticmethod
    def _cases_again(issued: dict, assignment: str, state: dict) -> str | None:
        """Draw each check's cases again from the issued seed (the judge's context stays here)."""
        checks = registry.checks_for(assignment)
        for gid, seed in issued["seeds"].items():
            if gid not in checks or not isinstance(seed, int):
                return f"it names an unknown check {gid!r}"
            data, context, seed = checks[gid].cases(seed=seed)
            if hashlib.sha256(data).hexdigest() != issued["cases_sha256"].get(gid):
                return f"the cases of {gid} drawn again from their seed differ from those issued"
            state["cases"][gid] = (context, seed)
        return None
