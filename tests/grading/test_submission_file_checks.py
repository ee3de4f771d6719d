"""The file checks of a submission, fast: what :func:`copy_submission` keeps, drops and never reads.

``tests/course/test_submission_files.py`` runs the same rules through the real nbgrader commands.
"""
from __future__ import annotations

import datetime
import os
import socket
import stat
import time

import pytest

from rnnkit.grading.pipeline import submission_files
from rnnkit.grading.pipeline.ownership import hand_back_to_course_owner
from rnnkit.grading.pipeline.submission_files import (BROWSER_DOCUMENTS, RefusedFolder, SubmissionLimits, copy_submission,
                                                      name_problem, read_small_file)
from rnnkit.grading.pipeline.submission_records import check_records, parse_timestamp

SMALL = SubmissionLimits(max_file_bytes=1000, max_total_bytes=1500, max_entries=20, max_depth=2)


@pytest.fixture
def sub(tmp_path):
    """A course-like tree: ``tmp_path/submitted/s/a`` is the submission folder, ``tmp_path/secret`` a course file."""
    folder = tmp_path / "submitted" / "s" / "a"
    folder.mkdir(parents=True)
    (tmp_path / "secret").write_text("the instructor's solution")
    return folder


def _copy(sub, limits=SMALL, **kw):
    root = sub.parents[2]
    dest = root / "copy"
    return copy_submission(root, ["submitted", "s", "a"], dest, limits, **kw), dest


def _tree(dest):
    return sorted(str(p.relative_to(dest)) for p in dest.rglob("*"))


def test_regular_files_and_folders_are_copied_exactly(sub):
    (sub / "nb.ipynb").write_text('{"cells": []}')
    (sub / "data").mkdir()
    (sub / "data" / "x.csv").write_bytes(b"1,2\n")
    vetting, dest = _copy(sub)
    assert vetting.notes == []
    assert _tree(dest) == ["data", "data/x.csv", "nb.ipynb"]
    assert (dest / "data" / "x.csv").read_bytes() == b"1,2\n"
    assert vetting.copied == ["data/x.csv", "nb.ipynb"]


def test_links_are_dropped_with_a_note_and_never_followed(sub):
    course_file = sub.parents[2] / "secret"
    (sub / "nb.ipynb").symlink_to(course_file)
    (sub / "dir").symlink_to(sub.parents[2])
    (sub / "dangling").symlink_to(sub / "nowhere")
    vetting, dest = _copy(sub)
    assert _tree(dest) == []
    assert len(vetting.notes) == 3 and all("is a link" in n for n in vetting.notes)
    assert "instructor" not in "".join(vetting.notes)


def test_a_link_on_the_way_to_the_submission_refuses_it(sub, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "a").mkdir()
    (tmp_path / "elsewhere" / "a" / "nb.ipynb").write_text("{}")
    (tmp_path / "submitted" / "t").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RefusedFolder, match="is a link"):
        copy_submission(tmp_path, ["submitted", "t", "a"], tmp_path / "copy", SMALL)
    assert not (tmp_path / "copy").exists()


def test_special_files_are_dropped_without_blocking_or_reading(sub):
    os.mkfifo(sub / "pipe")          # opening it for reading would block without O_NONBLOCK
    (sub / "zero").symlink_to("/dev/zero")
    (sub / "mem").symlink_to("/proc/self/mem")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sub / "sock"))
    try:
        start = time.perf_counter()
        vetting, dest = _copy(sub)
        assert time.perf_counter() - start < 2
    finally:
        server.close()
    assert _tree(dest) == []
    text = "\n".join(vetting.notes)
    assert "`pipe` was not graded: it is a named pipe" in text
    assert "`sock` was not graded: it is a socket" in text
    assert "`zero` was not graded: it is a link" in text and "`mem` was not graded: it is a link" in text


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_a_device_node_is_dropped(sub):
    os.mknod(sub / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    vetting, dest = _copy(sub)
    assert _tree(dest) == [] and "is a device" in vetting.notes[0]


def test_hard_links_are_dropped(sub):
    # a second name for the inode: its content is reachable (and writable) from outside the submission
    os.link(sub.parents[2] / "secret", sub / "answers.txt")
    vetting, dest = _copy(sub)
    assert _tree(dest) == [] and "hard link" in vetting.notes[0]


def test_a_sparse_gigabyte_is_dropped_without_being_read(sub, monkeypatch):
    with open(sub / "big.bin", "wb") as f:
        f.truncate(2**30)
    reads = []
    real_read = os.read
    monkeypatch.setattr(submission_files.os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    vetting, dest = _copy(sub, SubmissionLimits())
    assert _tree(dest) == [] and reads == []
    assert "larger than 8 MiB" in vetting.notes[0]


def test_size_limits_per_file_and_per_submission(sub):
    (sub / "a.txt").write_bytes(b"a" * 900)
    (sub / "b.txt").write_bytes(b"b" * 900)     # fits alone, not after a.txt (1500 per submission)
    (sub / "c.txt").write_bytes(b"c" * 1001)    # over 1000 per file
    (sub / "d.txt").write_bytes(b"d" * 500)
    vetting, dest = _copy(sub)
    assert _tree(dest) == ["a.txt", "d.txt"]
    assert vetting.total_bytes == 1400
    assert any("`b.txt`" in n and "over" in n for n in vetting.notes)
    assert any("`c.txt`" in n and "larger than" in n for n in vetting.notes)


def test_entry_and_depth_limits(sub):
    (sub / "d1" / "d2" / "d3").mkdir(parents=True)
    (sub / "d1" / "d2" / "ok.txt").write_text("x")
    (sub / "d1" / "d2" / "d3" / "deep.txt").write_text("x")
    vetting, dest = _copy(sub)
    assert "d1/d2/ok.txt" in _tree(dest) and "d1/d2/d3" not in _tree(dest)
    assert any("levels deep" in n for n in vetting.notes)
    for i in range(30):
        (sub / f"f{i:02d}.txt").write_text("x")
    vetting = copy_submission(sub.parents[2], ["submitted", "s", "a"], sub.parents[2] / "copy2", SMALL)
    assert len(vetting.copied) < 20 and any("more than 20" in n for n in vetting.notes)


@pytest.mark.parametrize("name", ["..x", ".hidden", "a\x1b[31mred", "tab\there", "é.txt", "x" * 101, " lead",
                                  "a\u202eb"])
def test_unsafe_names_are_dropped_and_shown_escaped(sub, name):
    (sub / name).write_text("x")
    vetting, dest = _copy(sub)
    assert _tree(dest) == []
    assert len(vetting.notes) == 1
    assert not any(ch in vetting.notes[0] for ch in "\x1b\t\u202e")


def test_name_rules():
    assert name_problem("a1-recurrence.ipynb") is None
    assert name_problem("my data (1).csv") is not None   # parentheses are outside the set
    assert name_problem("notes v2.txt") is None
    assert name_problem("..") is not None and name_problem("") is not None


def test_skipped_and_reserved_names(sub):
    (sub / ".ipynb_checkpoints").mkdir()
    (sub / ".ipynb_checkpoints" / "nb-checkpoint.ipynb").write_text("{}")
    for name in ("nb.html", "plot.SVG", "page.xhtml", "x.js"):     # pages a browser would run, any case
        (sub / name).write_text("<script>")
    (sub / "data.csv").write_text("1,2\n")
    vetting, dest = _copy(sub, skip=[".ipynb_checkpoints"], reserved=BROWSER_DOCUMENTS)
    assert _tree(dest) == ["data.csv"]
    assert sorted(vetting.notes) == sorted(
        f"`{name}` was not graded: it is a kind of file a browser would open as a live page (the grader writes the "
        "only pages)." for name in ("nb.html", "plot.SVG", "page.xhtml", "x.js"))


def test_a_file_swapped_for_a_link_after_listing_is_not_followed(sub, monkeypatch):
    (sub / "nb.ipynb").write_text("{}")
    course_file = sub.parents[2] / "secret"
    real_stat = os.stat

    def stat_then_swap(path, *args, **kwargs):
        result = real_stat(path, *args, **kwargs)
        if path == "nb.ipynb" and kwargs.get("dir_fd") is not None:
            os.unlink(sub / "nb.ipynb")
            os.symlink(course_file, sub / "nb.ipynb")
        return result

    monkeypatch.setattr(submission_files.os, "stat", stat_then_swap)
    vetting, dest = _copy(sub)
    monkeypatch.undo()
    assert _tree(dest) == [] and "changed while it was read" in vetting.notes[0]


def test_a_file_swapped_for_another_file_after_listing_is_refused(sub, monkeypatch):
    (sub / "nb.ipynb").write_text("{}")
    (sub.parent / "other").write_text("someone else's")
    real_stat = os.stat

    def stat_then_swap(path, *args, **kwargs):
        result = real_stat(path, *args, **kwargs)
        if path == "nb.ipynb" and kwargs.get("dir_fd") is not None:
            os.replace(sub.parent / "other", sub / "nb.ipynb")
        return result

    monkeypatch.setattr(submission_files.os, "stat", stat_then_swap)
    vetting, dest = _copy(sub)
    monkeypatch.undo()
    assert _tree(dest) == [] and "changed while it was read" in vetting.notes[0]


def test_read_small_file_refuses_links_fifos_and_long_files(tmp_path):
    (tmp_path / "ok").write_bytes(b"abc")
    (tmp_path / "long").write_bytes(b"x" * 100)
    (tmp_path / "link").symlink_to(tmp_path / "ok")
    os.mkfifo(tmp_path / "fifo")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert read_small_file(fd, "ok", 10) == b"abc"
        assert [read_small_file(fd, n, 10) for n in ("long", "link", "fifo", "missing")] == [None] * 4
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# timestamp.txt and submission_secret.txt
# ---------------------------------------------------------------------------

def test_timestamps_as_nbgrader_writes_them_parse():
    assert parse_timestamp(b"2026-12-07 16:23:33.123456 UTC") == datetime.datetime(2026, 12, 7, 16, 23, 33, 123456)
    assert parse_timestamp(b"2026-12-07T17:23:33+01:00\n") == datetime.datetime(2026, 12, 7, 16, 23, 33)


@pytest.mark.parametrize("data", [b"", b"garbage", b"\x1b]0;pwned\x07 2026-12-07 16:23:33", b"9" * 10_000,
                                  b"2026-13-45 99:99:99 UTC", b"\xff\xfe", b"2026-12-07 16:23:33 UTC\x1b[2J"])
def test_broken_timestamps_are_none(data):
    assert parse_timestamp(data) is None


def test_check_records_removes_broken_records_with_a_note(tmp_path):
    (tmp_path / "timestamp.txt").write_text("\x1b[31mnot a time")
    (tmp_path / "submission_secret.txt").write_text("../../etc/passwd")
    notes = check_records(tmp_path)
    assert not (tmp_path / "timestamp.txt").exists() and not (tmp_path / "submission_secret.txt").exists()
    assert len(notes) == 2 and "without a submission time" in notes[0]
    assert "\x1b" not in "".join(notes)
    (tmp_path / "timestamp.txt").write_text("2026-12-07 16:23:33.123456 UTC")
    (tmp_path / "submission_secret.txt").write_text("ab12" * 32)
    assert check_records(tmp_path) == []
    assert (tmp_path / "timestamp.txt").exists() and (tmp_path / "submission_secret.txt").exists()


# ---------------------------------------------------------------------------
# ownership after grading as root
# ---------------------------------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason="files owned by root need root")
def test_grading_as_root_hands_files_back_to_the_course_owner(tmp_path):
    course = tmp_path / "course"
    (course / "autograded" / "s" / "a").mkdir(parents=True)
    (course / "autograded" / "s" / "a" / "nb.ipynb").write_text("{}")
    (course / "autograded" / "s" / "a" / "link").symlink_to("/etc/passwd")
    (course / "gradebook.db").write_text("")
    (tmp_path / "outside").write_text("")
    os.chown(course, 4242, 4343)
    changed = hand_back_to_course_owner(course, ["autograded", "gradebook.db", "../outside"])
    assert len(changed) == 6
    for p in [course / "autograded", *(course / "autograded").rglob("*"), course / "gradebook.db"]:
        assert (os.lstat(p).st_uid, os.lstat(p).st_gid) == (4242, 4343), p
    assert os.stat("/etc/passwd").st_uid == 0 and os.stat(tmp_path / "outside").st_uid == 0


def test_not_root_changes_nothing(tmp_path):
    calls = []
    (tmp_path / "autograded").mkdir()
    assert hand_back_to_course_owner(tmp_path, ["autograded"], euid=1000, chown=lambda *a, **k: calls.append(a)) == []
    assert calls == []


# ---------------------------------------------------------------------------
# wiring: nbgrader_config.py selects the vetted steps, and bypassing them fails closed
# ---------------------------------------------------------------------------

def test_nbgrader_config_selects_the_vetted_converters_and_exchange_steps():
    from pathlib import Path

    import nbgrader.apps.api
    import nbgrader.apps.autogradeapp
    import nbgrader.apps.generatefeedbackapp
    from traitlets.config.loader import PyFileConfigLoader

    from rnnkit.grading.pipeline import VettedAutograde, VettedGenerateFeedback

    root = Path(__file__).resolve().parents[2]
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    assert config.ExchangeFactory.collect == "rnnkit.grading.pipeline.SafeCollect"
    assert config.ExchangeFactory.release_feedback == "rnnkit.grading.pipeline.SafeReleaseFeedback"
    assert nbgrader.apps.autogradeapp.Autograde is VettedAutograde is nbgrader.apps.api.Autograde
    assert nbgrader.apps.generatefeedbackapp.GenerateFeedback is VettedGenerateFeedback \
        is nbgrader.apps.api.GenerateFeedback


def test_a_notebook_that_bypassed_the_vetting_is_refused():
    import nbformat

    from rnnkit.grading.pipeline import RebuildFromTemplate

    resources = {"nbgrader": {"assignment": "a1-recurrence", "notebook": "a1-recurrence", "student": "s"}}
    with pytest.raises(RuntimeError, match="VettedAutograde"):
        RebuildFromTemplate().preprocess(nbformat.v4.new_notebook(), resources)
