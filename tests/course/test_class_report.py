"""The class report (rnnkit.grading.pipeline.class_report): every mistake text is recognised, and a synthetic
class whose bugs are known is reported with the right counts, escaped, as an offline page and a CSV.

The class here is judged by the engine in this process (``check.grade``: the same judge, the same messages as
the pipeline writes into the autograded notebooks); tests/course/test_rehearsal.py builds the report from a
class graded by nbgrader itself.
"""
from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnkit.grading import registry
from rnnkit.grading.engine import wrap
from rnnkit.grading.pipeline import class_report as cr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grading"))
from grading_bugs import a3_bptt as bugs  # noqa: E402

A3 = "a3-bptt"
SF, SB, FWD = "test_rnn_step_forward", "test_rnn_step_backward", "test_rnn_forward"

#: (grade_id, learner-style function, the Mistake.name its verdict must name (None: must pass), students)
KNOWN = [(SF, bugs.step_fwd_ok, None, 2), (SF, bugs.step_fwd_no_tanh, "no-tanh", 3),
         (SF, bugs.step_fwd_no_bias, "no-bias", 1), (SF, bugs.step_fwd_raises, None, 2),
         (SB, bugs.step_bwd_ok, None, 1), (SB, bugs.step_bwd_db_not_summed, "db-not-summed", 2),
         (SB, bugs.step_bwd_batch_mean, "batch-mean", 1), (SB, bugs.step_bwd_no_tanh_prime, "no-tanh-prime", 2),
         (FWD, bugs.fwd_not_carried, "state-not-carried", 2)]
HOSTILE = "<script>alert('id')</script>"


def test_every_mistake_text_of_every_spec_is_recognised():
    """Each Mistake's text on cases the catalogue never saw (other seeds), inside a wrapped verdict, names it."""
    checked = 0
    for assignment in registry.MODULES:
        catalogue = cr.mistake_catalogue(assignment)
        for gid, check in registry.checks_for(assignment).items():
            spec = check.spec
            for case in cr.spec_cases(spec, range(40, 44)):
                try:
                    mistakes = spec.mistakes(case) if callable(spec.mistakes) else spec.mistakes
                except Exception:  # this (probe) case is not one the spec's mistakes are computed on
                    continue
                for m in mistakes:
                    message = wrap(f"{spec.function}: x is wrong: largest relative error 1.0e+00. Likely cause: "
                                   f"{m.text}\n(Checked on fresh inputs: T=3, B=2.)")
                    found = cr.named_mistakes(message, catalogue[gid])
                    assert len(found) == 1 and m.name in found[0].split(" / "), (gid, m.name, found)
                    checked += 1
    assert checked > 1000  # every assignment's mistakes took part


@pytest.fixture(scope="module")
def known_class():
    rows, expected, n = [], {}, 0
    for gid, fn, name, count in KNOWN:
        check = registry.find_check(gid)
        for _ in range(count):
            student = HOSTILE if n == 2 else f"s{n:02d}"  # an id that is markup (a no-tanh student) must stay text
            verdict = check.grade(fn, rng=np.random.default_rng(1000 + n))
            assert verdict.passed == (fn.__name__.endswith("_ok")), (fn.__name__, verdict.message)
            points = 1.0
            rows.append(cr.Row(student, gid, points if verdict.passed else 0.0, points, wrap(verdict.message)))
            if name:
                expected.setdefault(gid, {}).setdefault(name, []).append(student)
            n += 1
    return rows, expected


def test_known_class_every_named_mistake_with_its_count_and_students(known_class):
    rows, expected = known_class
    reports = {r.grade_id: r for r in cr.summarise(A3, rows)}
    for gid in (SF, SB, FWD):
        assert reports[gid].named == expected.get(gid, {}), gid
    assert reports[SF].students == 8 and reports[SF].full_marks == 2
    assert reports[SB].full_marks == 1 and reports[FWD].full_marks == 0
    # the two students whose function raises: one unnamed group, by what was raised
    assert list(reports[SF].unnamed) == ["raised KeyError"] and len(reports[SF].unnamed["raised KeyError"]) == 2
    assert reports[FWD].first_steps  # "the first wrong step is t=..." is read from rnn_forward's verdicts
    assert not reports[SB].unnamed and not reports[FWD].unnamed


def test_known_class_page_and_csv(known_class, tmp_path):
    rows, expected = known_class
    catalogue = cr.mistake_catalogue(A3)
    reports = cr.summarise(A3, rows, catalogue)
    rows = rows + [cr.Row("s99", SF, 0.0, 1.0, "rnn_step_forward raised ValueError: <img src=x onerror=alert(1)>")]
    page = tmp_path / "report.html"
    cr.write_html(page, A3, cr.summarise(A3, rows, catalogue), 16)
    text = page.read_text()
    assert "<script" not in text and "<img" not in text and "&lt;script&gt;" in text
    # offline: nothing is fetched (the SVG's xmlns names are identifiers, never loaded)
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:|//)", text) and "<link" not in text
    assert "@import" not in text and not re.search(r"url\(\s*[\"']?\s*(https?:|//)", text)
    assert text.count("<svg") >= 3  # a plot per function with named mistakes
    for rep in reports:
        for name, students in rep.named.items():
            assert f"<td>{name}</td><td>{len(students)}</td>" in text
    table = tmp_path / "report.csv"
    cr.write_csv(table, A3, rows, catalogue)
    lines = list(csv.DictReader(table.open()))
    assert len(lines) == len(rows)
    counted = {}
    for line in lines:
        for name in line["mistakes"].split():
            counted[(line["grade_id"], name)] = counted.get((line["grade_id"], name), 0) + 1
    assert counted == {(gid, name): len(s) for gid, named in expected.items() for name, s in named.items()}


def test_signature_and_where_read_the_message():
    msg = ("lstm_backward: dW is wrong: largest relative error 1.0e+00 at index [0, 1]. Going backwards from t=T=5 "
           "(the order of BPTT), the first wrong step is t=3; wrong at t=1..3. Gate blocks of dW and db (rows in the "
           "order i, f, o, g): both are wrong in the blocks of i (input gate, rows 0..3) and g (candidate, rows "
           "12..15); right in f and o.")
    assert cr.where(msg) == (["t=3"], ["i", "g"])
    assert cr.signature(msg, "lstm_backward") == "dW wrong"
    assert cr.signature("rnn_forward: not graded, because the kernel died.", "rnn_forward") == \
        "not graded (killed, timed out or refused)"
