"""What a submission may contain, and the one way its files are copied: regular files, never links.

:func:`copy_submission` copies a submission folder into a fresh folder the grader owns and keeps only
what may be graded:

- **regular files with a single link.** A symbolic link (the entry itself or any folder on the way
  down from the folder the caller trusts), a device, a FIFO or a socket is dropped. A regular file
  with ``st_nlink > 1`` is dropped too: its inode is also reachable under a name outside the
  submission (a course file, or a file someone can still write through the other name while it is
  graded), and nothing ``nbgrader submit``, ``collect`` or a learner's editor writes has a second
  link, so no honest submission loses anything by the rule;
- **safe names** (:func:`name_problem`): ASCII letters, digits, space and ``. _ - +``, not starting
  with a dot or a space, at most :attr:`SubmissionLimits.max_name_chars` characters. No ``..``, no
  separators, no control characters ever reach a path, a log or a page;
- **within** :class:`SubmissionLimits`: bytes per file and per submission, entries, folder depth.

Every file is opened relative to its folder's descriptor with ``O_NOFOLLOW | O_NONBLOCK``, and its
folder with ``O_NOFOLLOW | O_DIRECTORY``; the descriptor is checked with ``fstat`` (regular, one
link, the inode that was listed) before a byte is read. A file swapped for a link, a FIFO or another
file between listing and copying (a learner on a shared hub writing into the exchange while the
instructor collects) is refused, never followed, and never blocks. Sizes come from ``fstat`` and no
more than the limit is ever read, so a sparse or endless file costs nothing.

What was dropped is returned as notes (one sentence each, safe to show: names pass through
:func:`shown_name`), which the pipeline writes at the top of the feedback.
"""
from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from .safe_text import printable

__all__ = ["BROWSER_DOCUMENTS", "SubmissionLimits", "Vetting", "RefusedFolder", "copy_submission", "name_problem", "open_folder",
           "read_small_file", "shown_name"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
_SAFE_NAME = re.compile(r"[A-Za-z0-9_+\-][A-Za-z0-9_.+\- ]*\Z")


#: Names of files a browser opens as live documents (pages that may run scripts). The grader writes
#: the feedback pages (``*.html``) itself; a learner's file of any of these kinds, served by the
#: formgrader from ``autograded/`` on the Jupyter origin, would run with the instructor's session if
#: opened, so none is taken from a submission.
BROWSER_DOCUMENTS = ("*.html", "*.htm", "*.xhtml", "*.xht", "*.shtml", "*.svg", "*.svgz", "*.xml", "*.xsl",
                     "*.xslt", "*.mht", "*.mhtml", "*.js", "*.mjs")

@dataclass(frozen=True)
class SubmissionLimits:
    """How much one submission may hold. Past a limit the file (or the rest of the folder) is dropped."""

    max_file_bytes: int = 8 * 2**20       # a notebook with outputs is well under 1 MiB
    max_total_bytes: int = 16 * 2**20
    max_entries: int = 200                # names listed, over all folders
    max_depth: int = 3                    # folders below the submission folder
    max_name_chars: int = 100


class RefusedFolder(Exception):
    """The submission folder itself cannot be read safely (a link, not a folder, gone); ``str`` is safe to show."""


@dataclass
class Vetting:
    """What :func:`copy_submission` did: the relative paths it copied, and a note per dropped entry."""

    copied: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    total_bytes: int = 0


def shown_name(name: str) -> str:
    """``name`` as it may appear in a log, a note or a page: escapes for anything unusual, at most 60 characters."""
    return printable(ascii(name)[1:-1], limit=60).replace("`", "'")


def name_problem(name: str, limits: SubmissionLimits = SubmissionLimits()) -> str | None:
    """Why ``name`` (one path component) is not allowed in a submission, or ``None`` if it is."""
    if name in ("", ".", ".."):
        return "an empty or dot-only name"
    if len(name) > limits.max_name_chars:
        return f"a name longer than {limits.max_name_chars} characters"
    if name.startswith("."):
        return "a hidden name (it starts with a dot)"
    if not _SAFE_NAME.match(name):
        return "characters other than letters, digits, spaces and . _ - +"
    return None


def open_folder(root: str | os.PathLike, parts: Sequence[str]) -> int:
    """A descriptor of ``root/parts[0]/…`` in which no part is a symbolic link (``root`` itself is trusted).

    Raises :class:`RefusedFolder` if a part is a link, not a folder, or missing. The caller closes
    the descriptor.
    """
    fd = os.open(os.fspath(root), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            try:
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                raise RefusedFolder(f"`{shown_name(part)}` does not exist") from None
            if stat.S_ISLNK(st.st_mode):
                raise RefusedFolder(f"`{shown_name(part)}` is a link (a submission is files, never links)")
            if not stat.S_ISDIR(st.st_mode):
                raise RefusedFolder(f"`{shown_name(part)}` is not a folder")
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as e:  # swapped for a link since the stat: ELOOP / ENOTDIR
                raise RefusedFolder(f"`{shown_name(part)}` could not be opened as a folder ({e.strerror})") from None
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def read_small_file(dir_fd: int, name: str, limit: int) -> bytes | None:
    """The bytes of the regular, single-link file ``name`` in the folder ``dir_fd``, or ``None``.

    ``None`` if it is missing, a link, not a regular file, hard-linked elsewhere, or longer than
    ``limit`` bytes (decided from ``fstat``; at most ``limit + 1`` bytes are read).
    """
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_size > limit:
            return None
        data = _read_at_most(fd, limit + 1)
        return None if len(data) > limit else data
    finally:
        os.close(fd)


def copy_submission(src_root: str | os.PathLike, parts: Sequence[str], dest: str | os.PathLike,
                    limits: SubmissionLimits = SubmissionLimits(), *, skip: Iterable[str] = (),
                    reserved: Iterable[str] = ()) -> Vetting:
    """Copy the allowed files of ``src_root/parts…`` into the new folder ``dest``; return what was dropped.

    ``src_root`` is trusted (the course directory, the exchange's inbound folder); no part below it
    may be a link (:class:`RefusedFolder` otherwise, and nothing is copied). ``skip`` are glob
    patterns of names left out silently (nbgrader's ``CourseDirectory.ignore``: checkpoints,
    caches); ``reserved`` are glob patterns of names the grader writes itself (feedback pages), left
    out with a note. ``dest`` is created (mode 0700) and must not exist.
    """
    fd = open_folder(src_root, parts)
    try:
        os.mkdir(dest, 0o700)
        copier = _Copier(limits, tuple(skip), tuple(reserved))
        try:
            copier.folder(fd, Path(dest), "", 0)
        except _Full:
            pass
        return copier.vetting
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# the walk
# ---------------------------------------------------------------------------

def _read_at_most(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "is a link (a submission is files, never links)"
    if stat.S_ISFIFO(mode):
        return "is a named pipe, not a file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file"
    return "is not a regular file"


def _mib(n: int) -> str:
    return f"{n / 2**20:.3g} MiB"


class _Copier:
    def __init__(self, limits: SubmissionLimits, skip: tuple[str, ...], reserved: tuple[str, ...]):
        self.limits, self.skip, self.reserved = limits, skip, reserved
        self.vetting = Vetting()
        self.entries = 0

    def drop(self, rel: str, why: str) -> None:
        self.vetting.notes.append(f"`{shown_name(rel)}` was not graded: it {why}.")

    def folder(self, fd: int, dest: Path, rel: str, depth: int) -> None:
        names = sorted(os.listdir(fd))
        for i, name in enumerate(names):
            if any(fnmatch.fnmatchcase(name, p) for p in self.skip):
                continue
            self.entries += 1
            if self.entries > self.limits.max_entries:
                self.vetting.notes.append(
                    f"The submission holds more than {self.limits.max_entries} files and folders; "
                    f"{len(names) - i} entries of `{shown_name(rel or '.')}` and anything after them were not graded.")
                raise _Full
            path = rel + name
            problem = name_problem(name, self.limits)
            if problem:
                self.drop(path, f"has {problem}")
                continue
            if any(fnmatch.fnmatchcase(name.lower(), p) for p in self.reserved):
                self.drop(path, "is a kind of file a browser would open as a live page (the grader writes the only pages)")
                continue
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError:
                self.drop(path, "disappeared while it was read")
                continue
            if stat.S_ISDIR(st.st_mode):
                self.subfolder(fd, name, dest, path, depth)
            elif stat.S_ISREG(st.st_mode):
                self.file(fd, name, st, dest / name, path)
            else:
                self.drop(path, _kind(st.st_mode))

    def subfolder(self, fd: int, name: str, dest: Path, path: str, depth: int) -> None:
        if depth >= self.limits.max_depth:
            self.drop(path, f"is a folder more than {self.limits.max_depth} levels deep")
            return
        try:
            sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
        except OSError:
            self.drop(path, "changed into something other than a folder while it was read")
            return
        try:
            os.mkdir(dest / name, 0o700)
            self.folder(sub, dest / name, path + "/", depth + 1)
        finally:
            os.close(sub)

    def file(self, fd: int, name: str, listed: os.stat_result, target: Path, path: str) -> None:
        lim = self.limits
        if listed.st_nlink != 1:
            self.drop(path, "is a hard link to a file outside the submission")
            return
        if listed.st_size > lim.max_file_bytes:
            self.drop(path, f"is larger than {_mib(lim.max_file_bytes)} ({_mib(listed.st_size)})")
            return
        room = lim.max_total_bytes - self.vetting.total_bytes
        if listed.st_size > room:
            self.drop(path, f"would take the submission over {_mib(lim.max_total_bytes)}")
            return
        try:
            src = os.open(name, _FILE_FLAGS, dir_fd=fd)
        except OSError:  # ELOOP: swapped for a link since it was listed
            self.drop(path, "changed while it was read")
            return
        try:
            st = os.fstat(src)
            if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (listed.st_dev, listed.st_ino) \
                    or st.st_nlink != 1:
                self.drop(path, "changed while it was read")
                return
            allowed = min(lim.max_file_bytes, room)
            data = _read_at_most(src, allowed + 1)
            if len(data) > allowed:
                self.drop(path, "grew past the size limit while it was read")
                return
        finally:
            os.close(src)
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(out, view):]
        finally:
            os.close(out)
        self.vetting.total_bytes += len(data)
        self.vetting.copied.append(path)


class _Full(Exception):
    """The entry limit was reached: the walk stops (caught in :func:`copy_submission`)."""
