"""The jobs and records of class grading (rnnkit.grading.pipeline.records): what identifies a submission,
and every way a record can be refused, without running nbgrader or a sandbox."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest

from rnnkit.grading.pipeline.records import (apply_record, check_record, draw_cases, issued_of, make_job,
                                             make_record, notebook_digest)

ROOT = Path(__file__).resolve().parents[2]
A3 = "a3-bptt"
INFO = {"student": "alice", "assignment": A3, "notebook": A3}


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(ROOT / "exercises" / A3 / f"{A3}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def job(nb):
    return make_job(nb, INFO, draw_cases(nb, A3), {"timeout": 30}, "/course")


def record_of(job, nb, **changes):
    ran = copy.deepcopy(nb)
    for cell in ran.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
    rec = json.loads(json.dumps(make_record(job, ran, {"test_rnn_forward": "it ran longer than 30 s"}, "w1")))
    rec.update(changes)
    return rec


def test_a_record_of_its_own_job_is_accepted(job, nb):
    assert check_record(record_of(job, nb), issued_of(job), INFO, notebook_digest(nb)) is None


def test_the_issued_identity_holds_neither_notebook_nor_cases(job):
    issued = issued_of(job)
    assert "notebook_json" not in issued and "cases" not in issued
    assert set(issued["seeds"]) == set(job["cases"]) and len(issued["seeds"]) == 6  # a3's six hidden cells


@pytest.mark.parametrize("changes, info, reason", [
    ({"student": "bob"}, INFO, "another student"),
    ({}, {**INFO, "student": "bob"}, "another student"),
    ({"assignment": "a6-lstm"}, INFO, "another assignment"),
    ({"nonce": "0" * 32}, INFO, "another grading run"),
    ({"nonce": None}, INFO, "another grading run"),
    ({"nb_sha256": "0" * 64}, INFO, "another version of the notebook"),
    ({"format": 0}, INFO, "not a grading record of this version"),
    ({"kind": "job"}, INFO, "not a grading record of this version"),
    ({"cells": []}, INFO, "malformed"),
])
def test_a_foreign_stale_or_forged_record_is_refused(job, nb, changes, info, reason):
    problem = check_record(record_of(job, nb, **changes), issued_of(job), info, notebook_digest(nb))
    assert problem is not None and reason in problem, problem


def test_changed_seeds_or_case_digests_are_refused(job, nb):
    rec = record_of(job, nb)
    rec["seeds"] = {**rec["seeds"], "test_rnn_forward": rec["seeds"]["test_rnn_forward"] + 1}
    assert "seeds are not the ones issued" in check_record(rec, issued_of(job), INFO, notebook_digest(nb))
    rec = record_of(job, nb)
    rec["cases_sha256"] = {**rec["cases_sha256"], "test_rnn_forward": "0" * 64}
    assert "digests are not the ones issued" in check_record(rec, issued_of(job), INFO, notebook_digest(nb))


def test_a_submission_edited_after_its_job_was_issued_is_stale(job, nb):
    edited = copy.deepcopy(nb)
    next(c for c in edited.cells if c.cell_type == "code").source += "\n# edited"
    problem = check_record(record_of(job, nb), issued_of(job), INFO, notebook_digest(edited))
    assert "changed after its job was issued" in problem


def test_no_issued_job_no_record(job, nb):
    assert "no job was issued" in check_record(record_of(job, nb), None, INFO, notebook_digest(nb))
    assert "not a grading record" in check_record("not a dict", issued_of(job), INFO, notebook_digest(nb))


def test_the_digest_ignores_outputs_but_not_sources_or_metadata(nb):
    ran = copy.deepcopy(nb)
    ran.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x")] \
        if ran.cells[1].cell_type == "code" else []
    assert notebook_digest(ran) == notebook_digest(nb)
    meta = copy.deepcopy(nb)
    meta.cells[0].metadata["nbgrader"] = {"grade": True, "points": 99}
    assert notebook_digest(meta) != notebook_digest(nb)


def test_applied_outputs_are_checked_one_by_one(job, nb):
    rec = record_of(job, nb)
    index = next(k for k in rec["cells"])
    rec["cells"][index]["outputs"].append({"output_type": "stream", "name": "stdout", "text": 3})  # invalid
    rec["cells"][index]["execution_count"] = "7"  # not an int
    rec["cells"]["999999"] = {"outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}]}
    rec["events"]["test_rnn_forward"] = "\x1b[31mred\x1b[0m " + "x" * 1000
    target = copy.deepcopy(nb)
    events = apply_record(target, rec)
    cell = target.cells[int(index)]
    assert [o.get("text") for o in cell.outputs] == ["ran\n", "\n[an output that is not valid in a notebook was dropped]\n"]
    assert cell.execution_count is None
    shown = events["test_rnn_forward"]
    assert "\x1b" not in shown and shown.startswith("red x") and "more characters not shown" in shown
    assert len(shown) < 400  # EVENT_CHARS (300) and the line saying how much was cut
    nbformat.validate(target)
