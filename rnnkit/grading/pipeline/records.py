"""What passes between the two phases of grading a class: jobs, what was issued, and records.

Phase 1 runs the learner's code: the instructor's process rebuilds each submission, draws its cases
and writes a **job** (the rebuilt notebook, the encoded cases, the learner package, the time limits,
and what identifies the submission); a worker — this machine or another, trusted with nothing —
runs the job in the sandbox and returns a **record**: the outputs the kernel displayed, cell by cell,
and what stopped a cell (a crash, a timeout), together with the identity it was given. Phase 2 (the
judge, the gradebook, the feedback) reads only records, and only after :func:`check_record` has
compared a record with what was **issued** (kept by the instructor, never sent): the student, the
assignment, the notebook, the SHA-256 of the rebuilt notebook, the seed and digest of every check's
cases and a random nonce of this grading run. A record of another student (foreign), of an earlier
run or an edited submission (stale), or with any of these changed (forged) is rejected.

What a record holds is judged exactly as the sandbox's own outputs are: as untrusted data. A
worker can only lie about the outputs of the learner's functions — what the learner's own kernel can
do for its own submission anyway. Plain JSON throughout (arrays inside as base64 ``.npz`` as the
kernel displays them): nothing is unpickled.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import tempfile
from pathlib import Path

import nbformat

from .. import learner_package, registry
from .notebook import is_hidden_test, nbgrader_meta
from .safe_text import printable

__all__ = ["FORMAT", "MAX_RECORD_BYTES", "draw_cases", "notebook_digest", "make_job", "issued_of", "make_record",
           "check_record", "apply_record", "learner_lib_files", "write_json", "read_json", "paths"]

#: Version of the job/record format; a record of another version is rejected.
FORMAT = 1
#: A record larger than this is rejected unread (a kernel's outputs are bounded well below it).
MAX_RECORD_BYTES = 256 * 2**20
#: Characters of an event's text kept (the sandbox writes one short sentence).
EVENT_CHARS = 300
_IDENTITY = ("student", "assignment", "notebook", "nb_sha256", "nonce", "seeds", "cases_sha256")


def draw_cases(nb, assignment: str) -> dict[str, tuple[bytes, object, int]]:
    """grade_id -> ``(encoded calls, context, seed)`` of every hidden test cell of ``nb``, freshly drawn."""
    checks = registry.checks_for(assignment)
    out = {}
    for cell in nb.cells:
        if is_hidden_test(cell):
            gid = nbgrader_meta(cell)["grade_id"]
            if gid not in checks:
                raise KeyError(f"hidden test cell {gid!r} has no check in rnnkit.grading ({assignment})")
            out[gid] = checks[gid].cases()
    return out


def notebook_digest(nb) -> str:
    """SHA-256 of what decides a run: every cell's type, source and metadata and the notebook's metadata
    (outputs, execution counts and cell ids left out: they are not inputs of the run)."""
    cells = [[c.get("cell_type"), c.get("source"), c.get("metadata", {})] for c in nb.get("cells", [])]
    text = json.dumps([cells, nb.get("metadata", {})], sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def learner_lib_files(assignment: str) -> dict[str, str]:
    """The learner package of ``assignment`` (what its sandbox may import) as relative path -> base64."""
    with tempfile.TemporaryDirectory(prefix="rnnkit-lib-") as tmp:
        learner_package.build_learner_package(registry.module_for(assignment), Path(tmp))
        return {str(p.relative_to(tmp)): base64.b64encode(p.read_bytes()).decode()
                for p in sorted(Path(tmp).rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def make_job(nb, info: dict, cases: dict[str, tuple[bytes, object, int]], settings: dict, course_root: str) -> dict:
    """The job of one submission (``info``: nbgrader's student, assignment, notebook). The learner package
    is added by whoever sends it (:func:`learner_lib_files`, once per assignment)."""
    return {"format": FORMAT, "kind": "job", "student": info["student"], "assignment": info["assignment"],
            "notebook": info["notebook"], "nb_sha256": notebook_digest(nb), "nonce": secrets.token_hex(16),
            "seeds": {gid: int(seed) for gid, (_, _, seed) in cases.items()},
            "cases_sha256": {gid: _sha(data) for gid, (data, _, _) in cases.items()},
            "cases": {gid: base64.b64encode(data).decode() for gid, (data, _, _) in cases.items()},
            "notebook_json": nbformat.writes(nb), "settings": dict(settings), "course_root": course_root}


def issued_of(job: dict) -> dict:
    """What the instructor keeps of a job to check its record against (no notebook, no cases)."""
    return {"format": FORMAT, "kind": "issued", **{k: job[k] for k in _IDENTITY}}


def make_record(job: dict, nb, events: dict[str, str], worker: str) -> dict:
    """The record of a job run: its identity, each code cell's outputs (by index), the events."""
    cells = {str(i): {"outputs": c.get("outputs", []), "execution_count": c.get("execution_count")}
             for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("outputs")}
    return {"format": FORMAT, "kind": "record", **{k: job[k] for k in _IDENTITY}, "cells": cells,
            "events": {str(k): str(v) for k, v in events.items()}, "worker": str(worker)}


def check_record(record, issued: dict | None, info: dict, digest: str) -> str | None:
    """Why ``record`` may not be judged as the run of this submission (``None``: it may).

    ``issued`` is what was sent, ``info`` nbgrader's student/assignment/notebook of the submission being
    graded, ``digest`` the :func:`notebook_digest` of its rebuilt notebook now.
    """
    if issued is None:
        return "no job was issued for this submission in this grading run"
    if not isinstance(record, dict) or record.get("format") != FORMAT or record.get("kind") != "record":
        return "it is not a grading record of this version"
    for key in ("student", "assignment", "notebook"):
        if record.get(key) != info[key] or issued.get(key) != info[key]:
            return f"it is the record of another {key} ({printable(str(record.get(key)), limit=80)!s})"
    if issued.get("nb_sha256") != digest:
        return "the submission changed after its job was issued (stale)"
    if record.get("nb_sha256") != digest:
        return "it was recorded for another version of the notebook (stale or foreign)"
    if not isinstance(record.get("nonce"), str) or not secrets.compare_digest(record["nonce"], issued["nonce"]):
        return "it belongs to another grading run (stale)"
    for key in ("seeds", "cases_sha256"):
        if record.get(key) != issued.get(key):
            return f"its {key.replace('_sha256', ' digests')} are not the ones issued"
    if not isinstance(record.get("cells"), dict) or not isinstance(record.get("events"), dict):
        return "it is malformed"
    return None


def apply_record(nb, record: dict) -> dict[str, str]:
    """Put the record's outputs into ``nb`` (checked against the notebook format, one by one); return the events.

    An output that is not a valid notebook output is dropped with a line saying so, as the sandbox's
    own client does; outputs of a cell that is not a code cell of ``nb`` are ignored.
    """
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    for key, data in record["cells"].items():
        if not (isinstance(key, str) and key.isdigit() and int(key) < len(nb.cells)) or not isinstance(data, dict):
            continue
        cell = nb.cells[int(key)]
        if cell.cell_type != "code":
            continue
        count = data.get("execution_count")
        cell.execution_count = count if isinstance(count, int) and not isinstance(count, bool) else None
        outputs = data.get("outputs") if isinstance(data.get("outputs"), list) else []
        for out in outputs:
            try:
                node = nbformat.from_dict(out)
                nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[node])]))
                cell.outputs.append(node)
            except Exception:
                cell.outputs.append(nbformat.v4.new_output(
                    "stream", name="stdout", text="\n[an output that is not valid in a notebook was dropped]\n"))
    events = record["events"]
    return {printable(str(k), limit=100): printable(str(v), limit=EVENT_CHARS) for k, v in events.items()}


# ---------------------------------------------------------------------------
# files: <records>/<assignment>/<student>/<notebook>.{job,issued,record}.json
# ---------------------------------------------------------------------------

def paths(root: Path, assignment: str, student: str, notebook: str) -> dict[str, Path]:
    """Where the job, the issued identity and the record of one submission live under ``root``."""
    folder = Path(root) / assignment / student
    return {kind: folder / f"{notebook}.{kind}.json" for kind in ("job", "issued", "record")}


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` atomically (a reader never sees half a file), private to the grader."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def read_json(path: Path) -> dict | None:
    """The JSON object in ``path`` (``None`` if it is missing, too large or not JSON)."""
    try:
        if os.path.getsize(path) > MAX_RECORD_BYTES:
            return None
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
