"""Grading as root leaves files the instructor owns.

The deployment guide's fallback grades as root (book/deploy.md). Files root creates in the course
directory (``autograded/``, ``feedback/``, ``submitted/``, a new ``gradebook.db``) would then belong to
root, and the instructor's next ``nbgrader autograde --force`` as themself would fail to replace
them. :func:`hand_back_to_course_owner` gives every such file to the owner of the course directory
(the folder of ``nbgrader_config.py``); it does nothing unless the process runs as root.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

__all__ = ["hand_back_to_course_owner", "sqlite_path"]


def sqlite_path(db_url: str) -> str | None:
    """The file of an ``sqlite:///path`` URL (nbgrader's gradebook), or ``None`` for another database."""
    prefix = "sqlite:///"
    return db_url[len(prefix):] if db_url.startswith(prefix) else None


def hand_back_to_course_owner(root: str | os.PathLike, paths: Iterable[str | os.PathLike], *,
                              euid: int | None = None,
                              chown: Callable[..., None] = os.chown) -> list[str]:
    """As root, give the files and folders at ``paths`` (and below) that root owns to the owner of ``root``.

    Paths are taken relative to ``root``; those outside ``root`` are left alone, and links are
    neither followed nor changed in what they point to (``lchown``). Only entries owned by uid 0 change
    owner, to the uid and gid of ``root``. Returns the paths changed. Not root, or a course directory
    owned by root: nothing to do.
    """
    if (os.geteuid() if euid is None else euid) != 0:
        return []
    root = Path(root).resolve()
    st_root = os.stat(root)
    if st_root.st_uid == 0:
        return []
    changed = []

    def give(p: str) -> None:
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            return
        if st.st_uid == 0:
            chown(p, st_root.st_uid, st_root.st_gid, follow_symlinks=False)
            changed.append(p)

    for path in paths:
        top = os.path.normpath(Path(root, path))
        if root not in Path(top).parents:
            continue
        give(top)
        if os.path.isdir(top) and not os.path.islink(top):
            for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
                for name in dirnames + filenames:
                    give(os.path.join(dirpath, name))
    return changed
