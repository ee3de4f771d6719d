"""The files that nbgrader and the pipeline put in a submission, checked before anything reads them.

A learner can edit them like any other file, so they are checked before nbgrader reads them. In a
folder of already vetted copies (see :mod:`.submission_files`):

- ``timestamp.txt`` (written by ``nbgrader submit``: when it was submitted) must be one short line
  in the form nbgrader writes (``2026-12-07 16:23:33.123456 UTC``, or an ISO time with an offset)
  that parses to a time. Otherwise (garbage, escape sequences, too long, empty) it is removed, the
  submission is graded as one without a submission time (never late), and a note says so;
  nbgrader alone would stop grading that submission and echo the text to the instructor's terminal;
- ``submission_secret.txt`` (written by ``nbgrader submit``: it names the released feedback page)
  must be up to 256 letters and digits; otherwise it is removed and a note says that the feedback
  cannot be returned through the exchange;
- :data:`COLLECT_NOTES` is written by :class:`~rnnkit.grading.pipeline.SafeCollect`: one note per
  line about what collecting dropped. Its name starts with a dot, so no learner's file of that name
  survives collecting.
"""
from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

from nbgrader.utils import parse_utc

from .safe_text import printable
from .submission_files import read_small_file

__all__ = ["TIMESTAMP", "SECRET", "COLLECT_NOTES", "check_records", "parse_timestamp", "read_collect_notes",
           "read_secret"]

TIMESTAMP = "timestamp.txt"
SECRET = "submission_secret.txt"
COLLECT_NOTES = ".collect-notes.txt"

_TIMESTAMP_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?: ?(?:[A-Za-z]{1,6}|[+-][0-9]{2}:?[0-9]{2}))?\Z")
_SECRET_TEXT = re.compile(r"[0-9A-Za-z]{1,256}\Z")


def parse_timestamp(data: bytes | None) -> datetime.datetime | None:
    """The time in ``data`` (the bytes of a ``timestamp.txt``) as nbgrader reads it, or ``None`` if it is not one."""
    if data is None or len(data) > 64:
        return None
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    if not _TIMESTAMP_TEXT.match(text):
        return None
    try:
        return parse_utc(text)
    except (ValueError, OverflowError, TypeError):
        return None


def read_secret(dir_fd: int) -> str | None:
    """The submission secret in the folder ``dir_fd`` (read without following links), or ``None``."""
    data = read_small_file(dir_fd, SECRET, 512)
    text = data.decode("ascii", "replace").strip() if data is not None else ""
    return text if _SECRET_TEXT.match(text) else None


def read_collect_notes(dir_fd: int) -> list[str]:
    """The notes :class:`~rnnkit.grading.pipeline.SafeCollect` left in the submission folder ``dir_fd``."""
    data = read_small_file(dir_fd, COLLECT_NOTES, 64 * 1024)
    if not data:
        return []
    return [printable(line, limit=300) for line in data.decode("utf-8", "replace").splitlines()[:50] if line.strip()]


def check_records(folder: Path) -> list[str]:
    """Check ``timestamp.txt`` and ``submission_secret.txt`` in the vetted copy ``folder``; return notes.

    A record that fails its check is deleted from ``folder`` (so nbgrader sees it as missing).
    """
    notes = []
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if _present(fd, TIMESTAMP) and parse_timestamp(read_small_file(fd, TIMESTAMP, 64)) is None:
            os.unlink(TIMESTAMP, dir_fd=fd)
            notes.append(f"`{TIMESTAMP}` does not hold a submission time as nbgrader writes it; the submission "
                         f"was graded as one without a submission time.")
        if _present(fd, SECRET) and read_secret(fd) is None:
            os.unlink(SECRET, dir_fd=fd)
            notes.append(f"`{SECRET}` is not the one nbgrader wrote; this feedback cannot be returned to you "
                         f"through the exchange (ask your instructor for it).")
    finally:
        os.close(fd)
    return notes


def _present(fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False
