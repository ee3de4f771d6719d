"""nbgrader's ``autograde`` and ``generate_feedback`` on vetted copies of the submissions: files, never links.

nbgrader itself follows links everywhere a submission is read: ``BaseConverter.init_assignment``
copies every other file of ``submitted/<student>/<a>/`` into ``autograded/`` with ``shutil.copy``,
the exporter reads ``<notebook>.ipynb`` by path, ``CourseDirectory.get_existing_timestamp`` reads
``timestamp.txt`` (and stops the submission on garbage), and ``GenerateFeedback`` copies every
other file of ``autograded/`` into ``feedback/``. A link to the instructor's notebook, the
gradebook or ``/dev/zero`` is followed with the grader's rights.

:class:`VettedAutograde` therefore never lets nbgrader see ``submitted/``. For each submission in
turn it makes a vetted copy (:func:`~.submission_files.copy_submission`: regular files read through
``O_NOFOLLOW`` descriptors, safe names, size limits; :func:`~.submission_records.check_records`)
in a private temporary folder, and points nbgrader's sanitizing pass at that copy; nbgrader's own
code then runs unchanged on files the grader wrote itself. A notebook that was dropped (a link, a
device, too large…) is replaced by an empty notebook: :class:`~.preflight.RebuildFromTemplate`
grades it as the untouched release (0 points) with the note. The notes reach the feedback through
``resources[VETTED]``. Only one submission's copy exists at a time; all are removed at the end.

:class:`VettedGenerateFeedback` copies only the two records ``release_feedback`` needs
(``timestamp.txt``, ``submission_secret.txt``) from ``autograded/`` to ``feedback/``, read without
following links; a learner's other files never reach the feedback folder.

Both hand what they created back to the course directory's owner when run as root
(:mod:`.ownership`).

nbgrader's apps instantiate ``Autograde`` and ``GenerateFeedback`` by name and have no option to
choose another converter, so :func:`use_vetted_converters` (called by ``nbgrader_config.py``)
rebinds those names in the modules that use them. If a later nbgrader no longer looks them up
there, grading fails closed: :class:`~.preflight.RebuildFromTemplate` refuses every notebook that
did not come through :class:`VettedAutograde`.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from nbgrader.converters import Autograde, GenerateFeedback, NbGraderException

from .ownership import hand_back_to_course_owner, sqlite_path
from .safe_text import printable
from .submission_files import (BROWSER_DOCUMENTS, RefusedFolder, SubmissionLimits, copy_submission, name_problem, open_folder,
                               read_small_file, shown_name)
from .submission_records import COLLECT_NOTES, SECRET, TIMESTAMP, check_records, read_collect_notes

__all__ = ["VETTED", "VettedAutograde", "VettedGenerateFeedback", "use_vetted_converters"]

#: Key in nbconvert's ``resources`` of a notebook that came through :class:`VettedAutograde`:
#: ``{"notes": [...], "refused": bool}`` (``refused``: the notebook itself was dropped).
VETTED = "rnnkit_vetted_submission"

_EMPTY_NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


class VettedAutograde(Autograde):
    """``nbgrader autograde`` reading only vetted copies of the submitted files (see the module docstring)."""

    #: What one submission may hold.
    limits = SubmissionLimits()

    def start(self) -> None:
        self._stage_root = Path(tempfile.mkdtemp(prefix="rnnkit-submission-"))
        self._vetting: dict[tuple[str, str], tuple[list[str], set[str]]] = {}
        try:
            super().start()
        finally:
            shutil.rmtree(self._stage_root, ignore_errors=True)
            _hand_back(self, [self.coursedir.autograded_directory])

    # -- where nbgrader reads a submission: the vetted copy ------------------------------------
    def _format_source(self, assignment_id: str, student_id: str, escape: bool = False) -> str:
        if not self._sanitizing:  # the autograding pass reads the notebook nbgrader wrote to autograded/
            return super()._format_source(assignment_id, student_id, escape=escape)
        if escape:
            return re.escape(os.path.sep).join([re.escape(str(self._stage_root)), student_id, assignment_id])
        return os.path.join(self._stage_root, student_id, assignment_id)

    def _submitted_root(self) -> Path:
        return Path(os.path.normpath(self.coursedir.format_path(self.coursedir.submitted_directory, ".", ".")))

    def init_notebooks(self) -> None:
        """List ``submitted/<student>/<assignment>/*.ipynb`` without following a link (nbgrader globs)."""
        self.assignments, self.notebooks = {}, []
        cd = self.coursedir
        root = self._submitted_root()
        for student_id, folder in _matching(root, [], cd.student_id or "*", self.log):
            for assignment_id, _ in _matching(folder, [student_id], cd.assignment_id, self.log):
                names = _matching(folder / assignment_id, [student_id, assignment_id],
                                  f"{cd.notebook_id}.ipynb", self.log, folders=False, quiet=True)
                if not names:
                    self.log.warning("No notebooks in the submission of %s for %s", printable(student_id),
                                     printable(assignment_id))
                    continue
                stage = self._format_source(assignment_id, student_id)
                self.assignments[stage] = [os.path.join(stage, name) for name, _ in names]
        if not self.assignments:
            msg = f"No submitted notebooks were found under {root} for {printable(cd.assignment_id)!r}"
            self.log.error(msg)
            raise NbGraderException(msg)

    def init_destination(self, assignment_id: str, student_id: str) -> bool:
        self._stage(assignment_id, student_id)
        return super().init_destination(assignment_id, student_id)

    def init_single_notebook_resources(self, notebook_filename: str) -> dict:
        resources = super().init_single_notebook_resources(notebook_filename)
        if self._sanitizing:
            info = resources["nbgrader"]
            notes, refused = self._vetting.get((info["student"], info["assignment"]), ([], set()))
            resources[VETTED] = {"notes": list(notes), "refused": info["notebook"] in refused}
        return resources

    # -- the vetted copy ----------------------------------------------------------------------
    def _stage(self, assignment_id: str, student_id: str) -> None:
        """Replace the previous submission's copy by this one's; record notes and dropped notebooks."""
        for old in self._stage_root.iterdir():
            shutil.rmtree(old, ignore_errors=True)
        dest = Path(self._format_source(assignment_id, student_id))
        dest.parent.mkdir(mode=0o700, exist_ok=True)
        notes: list[str] = []
        parts = [student_id, assignment_id]
        try:
            fd = open_folder(self._submitted_root(), parts)
            try:
                notes += read_collect_notes(fd)
            finally:
                os.close(fd)
            vetting = copy_submission(self._submitted_root(), parts, dest, self.limits,
                                      skip=[*self.coursedir.ignore, COLLECT_NOTES], reserved=BROWSER_DOCUMENTS)
            notes += vetting.notes + check_records(dest)
        except RefusedFolder as e:
            notes.append(f"The submission folder was not graded: {e}.")
        except OSError as e:
            notes.append(f"The submission could not be read ({printable(e.strerror or type(e).__name__)}).")
        dest.mkdir(mode=0o700, exist_ok=True)
        refused = set()
        for notebook in self.notebooks:
            path = Path(notebook)   # in the copy, which holds only regular files the grader wrote
            if not path.is_file():
                path.write_text(_EMPTY_NOTEBOOK)
                refused.add(path.stem)
                notes.append(f"`{shown_name(path.name)}` could not be graded; it is graded as the unanswered "
                             f"release (0 points).")
        self._vetting[(student_id, assignment_id)] = (notes, refused)
        for note in notes:
            self.log.warning("%s/%s: %s", printable(student_id), printable(assignment_id), note)


class VettedGenerateFeedback(GenerateFeedback):
    """``nbgrader generate_feedback`` that copies only ``timestamp.txt`` and ``submission_secret.txt`` besides the pages."""

    def start(self) -> None:
        try:
            super().start()
        finally:
            _hand_back(self, [self.coursedir.feedback_directory])

    def init_assignment(self, assignment_id: str, student_id: str) -> None:
        """Replaces nbgrader's copy of every other file: the two records, read without following links."""
        src_root = Path(os.path.normpath(self.coursedir.format_path(self.coursedir.autograded_directory, ".", ".")))
        dest = Path(self._format_dest(assignment_id, student_id))
        dest.mkdir(parents=True, exist_ok=True)
        fd = open_folder(src_root, [student_id, assignment_id])
        try:
            for name in (TIMESTAMP, SECRET):
                data = read_small_file(fd, name, 4096)
                target = dest / name
                if target.is_symlink() or target.exists():
                    target.unlink()
                if data is not None:
                    target.write_bytes(data)
        finally:
            os.close(fd)


def use_vetted_converters() -> None:
    """Make ``nbgrader autograde``, ``generate_feedback`` and the formgrader use the vetted converters.

    Called by ``nbgrader_config.py``, which every nbgrader command of the course loads first.
    """
    import nbgrader.apps.api as api
    import nbgrader.apps.autogradeapp as autogradeapp
    import nbgrader.apps.generatefeedbackapp as generatefeedbackapp

    autogradeapp.Autograde = api.Autograde = VettedAutograde
    generatefeedbackapp.GenerateFeedback = api.GenerateFeedback = VettedGenerateFeedback


def _hand_back(converter, folders: list[str]) -> None:
    cd = converter.coursedir
    paths = list(folders)
    db = sqlite_path(cd.db_url)
    if db:
        paths += [db, db + "-journal"]
    hand_back_to_course_owner(cd.root, paths)


def _matching(folder: Path, parts: list[str], pattern: str, log, *, folders: bool = True,
              quiet: bool = False) -> list[tuple[str, Path]]:
    """Names in ``folder`` matching the glob ``pattern`` that are folders (or, with ``folders=False``, any
    entry with a safe name); unsafe names and links to folders are logged (escaped) and left out."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    out = []
    for name in names:
        if not fnmatch.fnmatchcase(name, pattern):
            continue
        if name_problem(name) is not None:
            if not quiet:
                log.warning("Not graded: %s has %s", shown_name(name), name_problem(name))
            continue
        if folders:
            if os.path.islink(folder / name) or not os.path.isdir(folder / name):
                log.warning("Not graded: %s is not a folder (a submission is files, never links)",
                            shown_name("/".join([*parts, name])))
                continue
        out.append((name, folder / name))
    return out
