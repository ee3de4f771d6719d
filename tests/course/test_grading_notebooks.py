"""The assignment notebooks: sources pass their own tests, releases are clean and reproducible.

1. every source notebook (solutions/<name>/<name>.md, built into a notebook) scores full points
   in every graded cell when executed;
2. every released notebook (exercises/) fails only with NotImplementedError or a self-check that says the
   function is not implemented yet, and every graded function's visible test fails that way (so nothing is
   silently solved);
3. regenerating the release reproduces exercises/ byte for byte.

What the sources and releases contain as text (leaks, points) is checked, fast, in
``tests/grading/test_notebook_sources.py``.

Notebooks are executed with nbclient in a temporary working directory; scores are
read with nbgrader's own ``determine_grade`` (the function autograde uses).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbclient
import nbformat
import pytest
from nbgrader import utils as nbgrader_utils

from nbgrader_course import ROOT, answer_source, available_assignments, generate_release, read_notebook

ASSIGNMENTS = available_assignments(ROOT)


def _source(name: str) -> dict:
    """The instructor notebook of ``name`` as nbgrader reads it (built from its MyST text)."""
    return json.loads(json.dumps(read_notebook(answer_source(ROOT, name))))


def _execute(nb: nbformat.NotebookNode, workdir: Path) -> nbformat.NotebookNode:
    # progress bars write to stderr, which nbgrader (and _errors below) count as a failure
    os.environ["RNNKIT_PROGRESS"] = "0"
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return nb


def _errors(cell) -> list[str]:
    return [o.get("ename", "stderr") for o in cell.get("outputs", [])
            if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")]


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_notebook_scores_full_points(name, tmp_path):
    nb = _execute(read_notebook(answer_source(ROOT, name)), tmp_path)
    graded = 0
    for cell in nb.cells:
        assert not _errors(cell), f"{name}: cell {cell.get('id')} failed: {cell.get('outputs')}"
        if nbgrader_utils.is_grade(cell):
            score, max_score = nbgrader_utils.determine_grade(cell)
            assert score == max_score, f"{name}: {cell.metadata.nbgrader['grade_id']} scored {score}/{max_score}"
            graded += 1
    assert graded >= 3


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_fails_only_with_not_implemented(name, tmp_path):
    nb = _execute(nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4), tmp_path)
    solution_seen, failing_after_solution = 0, 0
    pending = False
    for cell in nb.cells:
        errs = _errors(cell)
        printed = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")
        assert all(e == "NotImplementedError" or (e == "CheckFailed" and "not implemented yet" in printed)
                   for e in errs), f"{name}: cell {cell.get('id')} failed with {errs}: {printed[:2000]}"
        if nbgrader_utils.is_solution(cell):
            solution_seen += 1
            pending = True
        elif pending and errs:
            failing_after_solution += 1
            pending = False
    assert solution_seen >= 3
    assert failing_after_solution == solution_seen, (
        f"{name}: {solution_seen} functions to write but only {failing_after_solution} visible tests fail")


@pytest.mark.slow
def test_release_is_reproducible(tmp_path):
    generate_release(ROOT, tmp_path, ASSIGNMENTS)
    for name in ASSIGNMENTS:
        fresh = sorted(p.relative_to(tmp_path / name) for p in (tmp_path / name).rglob("*") if p.is_file())
        committed = sorted(p.relative_to(ROOT / "exercises" / name)
                           for p in (ROOT / "exercises" / name).rglob("*") if p.is_file())
        assert fresh == committed, f"{name}: files differ: {fresh} vs {committed}"
        for rel in fresh:
            assert (tmp_path / name / rel).read_bytes() == (ROOT / "exercises" / name / rel).read_bytes(), (
                f"exercises/{name}/{rel} differs from a fresh release: run python tools/release.py")
