"""``nbgrader release_feedback`` that releases the generated feedback pages and nothing else.

nbgrader's release_feedback copies every ``*.html`` of ``feedback/<student>/<assignment>/`` to the
exchange, following links, and stops for everyone when one folder lacks ``timestamp.txt`` or
``submission_secret.txt``. :class:`SafeReleaseFeedback` (``c.ExchangeFactory.release_feedback`` in
``nbgrader_config.py``) releases, for each student, only ``<notebook>.html`` for the notebooks of the
assignment in the gradebook (the pages ``generate_feedback`` writes), each a regular single-link
file read without following links; a folder it cannot use is skipped with an escaped warning and
the others are released. (A learner's own ``*.html`` never gets this far: autograde drops it, and
generate_feedback copies no learner file.)
"""
from __future__ import annotations

import fnmatch
import os
import tempfile

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.utils import notebook_hash

from .safe_text import printable
from .submission_files import RefusedFolder, name_problem, open_folder, read_small_file, shown_name
from .submission_records import read_secret

__all__ = ["SafeReleaseFeedback"]

#: Largest feedback page released (a page with its inlined MathJax is a few MiB).
MAX_PAGE_BYTES = 64 * 2**20


class SafeReleaseFeedback(ExchangeReleaseFeedback):
    """nbgrader's release_feedback limited to the generated pages (see the module docstring)."""

    def copy_files(self):
        cd = self.coursedir
        exclude = set(cd.student_id_exclude.split(",")) if cd.student_id_exclude else set()
        with Gradebook(cd.db_url, cd.course_id) as gb:
            try:
                notebooks = [nb.name for nb in gb.find_assignment(cd.assignment_id).notebooks]
            except MissingEntry:
                self.fail(f"No assignment {printable(cd.assignment_id)!r} in the gradebook")
        root = os.path.normpath(cd.format_path(cd.feedback_directory, ".", "."))
        pattern = cd.student_id or "*"
        for student_id in sorted(os.listdir(root)) if os.path.isdir(root) else []:
            if not fnmatch.fnmatchcase(student_id, pattern) or student_id in exclude:
                continue
            if name_problem(student_id) is not None:
                self.log.warning("Skipping feedback folder %s: not a student id", shown_name(student_id))
                continue
            try:
                self._release_student(root, student_id, notebooks)
            except Exception as e:  # one student's folder never stops the others
                self.log.error("Could not release feedback of %s: %s", student_id,
                               printable(f"{type(e).__name__}: {e}", 300))

    def _release_student(self, root: str, student_id: str, notebooks: list[str]) -> None:
        try:
            fd = open_folder(root, [student_id, self.coursedir.assignment_id])
        except RefusedFolder as e:
            if os.path.lexists(os.path.join(root, student_id, self.coursedir.assignment_id)):
                self.log.warning("Skipping feedback of %s: %s", student_id, e)
            return
        try:
            secret = read_secret(fd)
            for notebook in notebooks:
                page = read_small_file(fd, f"{notebook}.html", MAX_PAGE_BYTES)
                if page is None:
                    continue
                if secret is None:
                    self.log.warning("Not releasing feedback of %s for %s: no usable submission_secret.txt",
                                     student_id, notebook)
                    continue
                name = f"{notebook_hash(secret=secret, notebook_id=notebook)}.html"
                self._write(name, page)
                self.log.info("Releasing feedback for student '%s' on assignment '%s/%s/%s'", student_id,
                              self.coursedir.course_id, self.coursedir.assignment_id, notebook)
        finally:
            os.close(fd)

    def _write(self, name: str, page: bytes) -> None:
        """Write ``page`` to the exchange as ``name``, atomically (a reader sees the old or the new page)."""
        fd, tmp = tempfile.mkstemp(prefix=".releasing-", suffix=".html", dir=self.dest_path)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(page)
            os.chmod(tmp, 0o664 if self.coursedir.groupshared else 0o644)
            os.replace(tmp, os.path.join(self.dest_path, name))
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
