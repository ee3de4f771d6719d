"""``nbgrader collect`` that copies files, never links, from the exchange into ``submitted/``.

On a shared hub every student can write their own folder of the exchange's ``inbound/`` while the
instructor collects. nbgrader's collect copies it with ``shutil.copytree``, which follows a link
placed there with the instructor's rights, trusts the student id and the time in the folder's name
(``../x`` or a garbage time stop the whole collect or write outside ``submitted/``), and reads an
earlier ``timestamp.txt`` by path. :class:`SafeCollect` (``c.ExchangeFactory.collect`` in
``nbgrader_config.py``):

- takes a submission folder only if its name is ``<student>+<assignment>+<time>[+<random>]`` with a
  safe student id (:func:`~.submission_files.name_problem`) and a time as nbgrader writes it; others
  are skipped with an escaped warning, never stopping the others;
- copies it with :func:`~.submission_files.copy_submission` (descriptors opened with ``O_NOFOLLOW``:
  a file swapped for a link during the copy is refused, not followed), into a fresh folder that then
  replaces ``submitted/<student>/<assignment>``; what was dropped is written to
  :data:`~.submission_records.COLLECT_NOTES` there, which autograde puts at the top of the feedback;
- run as root, gives ``submitted/`` back to the course directory's owner;
- refuses to start while a grading pass of the same course runs (:func:`grading_processes`): it would
  change ``submitted/`` under that pass, whose post-check would then fail every later notebook with
  "the course tree changed during grading".

nbgrader's rules on which submission to take (the newest, or the newest before the due date with
``--before-duedate``; ``--update``) and its owner check (a warning) are kept.
"""
from __future__ import annotations

import fnmatch
import os
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect

from .ownership import hand_back_to_course_owner
from .safe_text import printable
from .submission_files import (BROWSER_DOCUMENTS, RefusedFolder, SubmissionLimits, copy_submission, name_problem,
                               read_small_file)
from .submission_records import COLLECT_NOTES, TIMESTAMP, check_records, parse_timestamp

if sys.platform != "win32":
    import pwd
else:  # pragma: no cover
    pwd = None

__all__ = ["SafeCollect", "grading_processes"]


class SafeCollect(ExchangeCollect):
    """nbgrader's collect with vetted copies (see the module docstring)."""

    #: What one submission may hold.
    limits = SubmissionLimits()

    def init_src(self):
        busy = grading_processes(self.coursedir.root)
        if busy:
            running = "; ".join(f"process {pid}: {printable(cmd, 160)}" for pid, cmd in busy)
            self.fail(f"Not collecting: a grading pass of this course is running ({running}). A collect now "
                      f"would change submitted/ under it and fail its post-check for every later notebook "
                      f"(\"the course tree changed during grading\"). Run the collect again when it has ended.")
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail("Course not found: {}".format(self.inbound_path))
        wanted = self.coursedir.student_id or None
        records = []
        for name in sorted(os.listdir(self.inbound_path)):
            rec = self._record(name)
            if rec is None or rec["assignment"] != self.coursedir.assignment_id:
                continue
            if wanted is not None and not fnmatch.fnmatchcase(rec["username"], wanted):
                continue
            records.append(rec)
        by_user = defaultdict(list)
        for rec in records:
            by_user[rec["username"]].append(rec)
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                self.duedate = None
        self.src_records = []
        for recs in by_user.values():
            recs = sorted(recs, key=lambda r: r["timestamp"], reverse=True)
            if self.duedate is not None and self.before_duedate:
                recs = [r for r in recs if r["timestamp"] <= self.duedate] or recs
            self.src_records.append(recs[0])

    def _record(self, name: str) -> dict | None:
        """The submission a folder name of ``inbound/`` stands for, or ``None`` (logged) if it is malformed."""
        parts = name.rsplit("+", 3)
        if len(parts) < 3 or printable(name) != name or len(name) > 255:
            self.log.warning("Skipping %s in the exchange: not a submission folder name", printable(name, 120))
            return None
        username, assignment, when = parts[0], parts[1], parts[2]
        timestamp = parse_timestamp(when.encode("utf-8", "replace"))
        if name_problem(username) is not None or timestamp is None:
            self.log.warning("Skipping %s in the exchange: unusable student id or time", printable(name, 120))
            return None
        return {"username": username, "assignment": assignment, "filename": name, "timestamp": timestamp}

    def copy_files(self):
        if not self.src_records:
            self.log.warning("No submissions of '%s' for course '%s' to collect",
                             self.coursedir.assignment_id, self.coursedir.course_id)
        for rec in self.src_records:
            try:
                self._collect(rec)
            except Exception as e:  # one student's folder never stops the others
                self.log.error("Could not collect %s: %s", printable(rec["filename"], 120),
                               printable(f"{type(e).__name__}: {e}", 300))
        hand_back_to_course_owner(self.coursedir.root, [self.coursedir.submitted_directory])

    def _collect(self, rec: dict) -> None:
        student_id, assignment_id = rec["username"], self.coursedir.assignment_id
        src = os.path.join(self.inbound_path, rec["filename"])
        if self.check_owner and pwd is not None:
            try:
                owner = pwd.getpwuid(os.lstat(src).st_uid).pw_name
            except KeyError:
                owner = "unknown id"
            if owner != student_id:
                self.log.warning("%s claims to be submitted by %s but is owned by %s; cheating attempt? "
                                 "(unset CollectApp.check_owner to silence this)",
                                 printable(rec["filename"], 120), student_id, printable(owner))
        dest = Path(self.coursedir.format_path(self.coursedir.submitted_directory, student_id, assignment_id))
        student_dir = dest.parent
        if student_dir.is_symlink() or dest.is_symlink():
            raise RefusedFolder(f"{student_dir} or {dest.name} in it is a link")
        student_dir.mkdir(parents=True, exist_ok=True)
        if dest.is_dir():
            existing = parse_timestamp(_read_record(dest, TIMESTAMP))
            newer = existing is None or rec["timestamp"] > existing
            if not ((self.update and newer) or (self.before_duedate and existing != rec["timestamp"])):
                self.log.info("Submission already exists, use --update to update: %s %s", student_id, assignment_id)
                return
        self.log.info("Collecting submission: %s %s", student_id, assignment_id)
        work = Path(tempfile.mkdtemp(prefix=".collecting-", dir=student_dir))
        try:
            copy = work / "copy"
            vetting = copy_submission(self.inbound_path, [rec["filename"]], copy, self.limits,
                                      skip=self.coursedir.ignore, reserved=BROWSER_DOCUMENTS)
            notes = vetting.notes + check_records(copy)
            if notes:
                (copy / COLLECT_NOTES).write_text("\n".join(notes) + "\n", encoding="utf-8")
                for note in notes:
                    self.log.warning("%s/%s: %s", student_id, assignment_id, note)
            os.chmod(copy, 0o755)
            if dest.exists():
                shutil.rmtree(dest)
            os.rename(copy, dest)
        finally:
            shutil.rmtree(work, ignore_errors=True)
            try:
                student_dir.rmdir()   # only if nothing was collected into it
            except OSError:
                pass


def grading_processes(course_root: str | os.PathLike) -> list[tuple[int, str]]:
    """The running grading passes of the course at ``course_root``: ``(pid, command line)`` pairs.

    A grading pass is an ``nbgrader autograde`` or a ``python -m rnnkit.grading.pipeline.grade_class``
    whose working directory is ``course_root`` (nbgrader finds the course there). Read from ``/proc``:
    processes of other users are seen only by root, which is enough, since collecting and grading one
    course run as its owner (or root). An autograde started from the formgrader's web page runs inside
    the Jupyter server and is not seen. Empty where there is no ``/proc``.
    """
    root = os.path.realpath(course_root)
    found = []
    try:
        pids = [int(n) for n in os.listdir("/proc") if n.isdigit()]
    except OSError:
        return []
    for pid in pids:
        if pid == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:   # gone, or another user's
            continue
        grading = ("autograde" in args and any(os.path.basename(a).startswith("nbgrader") for a in args)) \
            or "rnnkit.grading.pipeline.grade_class" in args
        if grading and cwd == root:
            found.append((pid, " ".join(args)))
    return found


def _read_record(folder: Path, name: str) -> bytes | None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        return read_small_file(fd, name, 64)
    finally:
        os.close(fd)
