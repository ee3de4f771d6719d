"""The assignment notebooks: sources pass their own tests, releases are clean and reproducible.

1. every source notebook (solutions/) scores full points in every graded cell when executed;
2. every released notebook (exercises/) fails only with NotImplementedError, and every
   graded function's visible test fails that way (so nothing is silently solved);
3. regenerating the release reproduces exercises/ byte for byte;
4. no release contains a solution, a hidden test or an instructor-only file.

Notebooks are executed with nbclient in a temporary working directory; scores are
read with nbgrader's own ``determine_grade`` (the function autograde uses).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbclient
import nbformat
import pytest
from nbgrader import utils as nbgrader_utils

from rnnkit.grading import registry
from rnnkit.release import available_assignments, generate_release

pytestmark = pytest.mark.slow  # executes notebooks and runs nbgrader

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = available_assignments(ROOT)


def _execute(path: Path, workdir: Path) -> nbformat.NotebookNode:
    # progress bars write to stderr, which nbgrader (and _errors below) count as a failure
    os.environ["RNNKIT_PROGRESS"] = "0"
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return nb


def _errors(cell) -> list[str]:
    return [o.get("ename", "stderr") for o in cell.get("outputs", [])
            if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")]


def test_assignments_exist():
    assert "a3-bptt" in ASSIGNMENTS, ASSIGNMENTS
    for name in ASSIGNMENTS:
        assert (ROOT / "exercises" / name / f"{name}.ipynb").is_file(), (
            f"{name} has no release: run python -m rnnkit.release")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_notebook_scores_full_points(name, tmp_path):
    nb = _execute(ROOT / "solutions" / name / f"{name}.ipynb", tmp_path)
    total, graded = 0.0, 0
    for cell in nb.cells:
        assert not _errors(cell), f"{name}: cell {cell.get('id')} failed: {cell.get('outputs')}"
        if nbgrader_utils.is_grade(cell):
            score, max_score = nbgrader_utils.determine_grade(cell)
            assert score == max_score, f"{name}: {cell.metadata.nbgrader['grade_id']} scored {score}/{max_score}"
            total += max_score
            graded += 1
    assert graded >= 3
    intro = "".join(nb.cells[0].source)
    assert f"**{int(total)} points**" in intro, f"{name}: the intro must state the total, {total:g} points"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_fails_only_with_not_implemented(name, tmp_path):
    nb = _execute(ROOT / "exercises" / name / f"{name}.ipynb", tmp_path)
    solution_seen, failing_after_solution = 0, 0
    pending = False
    for cell in nb.cells:
        errs = _errors(cell)
        assert all(e == "NotImplementedError" for e in errs), f"{name}: cell {cell.get('id')} failed with {errs}"
        if nbgrader_utils.is_solution(cell):
            solution_seen += 1
            pending = True
        elif pending and errs:
            failing_after_solution += 1
            pending = False
    assert solution_seen >= 3
    assert failing_after_solution == solution_seen, (
        f"{name}: {solution_seen} functions to write but only {failing_after_solution} visible tests fail")


def test_release_is_reproducible(tmp_path):
    generate_release(ROOT, tmp_path, ASSIGNMENTS)
    for name in ASSIGNMENTS:
        fresh = sorted(p.relative_to(tmp_path / name) for p in (tmp_path / name).rglob("*") if p.is_file())
        committed = sorted(p.relative_to(ROOT / "exercises" / name)
                           for p in (ROOT / "exercises" / name).rglob("*") if p.is_file())
        assert fresh == committed, f"{name}: files differ: {fresh} vs {committed}"
        for rel in fresh:
            assert (tmp_path / name / rel).read_bytes() == (ROOT / "exercises" / name / rel).read_bytes(), (
                f"exercises/{name}/{rel} differs from a fresh release: run python -m rnnkit.release")


def _solution_lines(source: str) -> list[str]:
    """Substantial lines inside BEGIN/END SOLUTION regions of a source cell."""
    lines, inside = [], False
    for line in source.splitlines():
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside and len(line.strip()) > 12 and not line.strip().startswith("#"):
            lines.append(line.strip())
    return lines


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_leaks_nothing(name):
    release_dir = ROOT / "exercises" / name
    files = sorted(p.name for p in release_dir.rglob("*") if p.is_file())
    assert files == [f"{name}.ipynb"], f"{name}: unexpected files in the release: {files}"
    text = (release_dir / f"{name}.ipynb").read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "rnnkit.grading"):
        assert marker not in text, f"{name}: the release contains {marker!r}"
    release = json.loads(text)
    source = json.loads((ROOT / "solutions" / name / f"{name}.ipynb").read_text(encoding="utf-8"))
    rel_cells = {c["metadata"]["nbgrader"]["grade_id"]: c for c in release["cells"]}
    for cell in source["cells"]:
        meta = cell["metadata"]["nbgrader"]
        rel = rel_cells[meta["grade_id"]]
        assert rel["metadata"]["nbgrader"].get("points") == meta.get("points")
        rel_src = "".join(rel["source"])
        rel_lines = {line.strip() for line in rel_src.splitlines()}
        for line in _solution_lines("".join(cell["source"])):
            assert line not in rel_lines, f"{name}: solution line leaked into {meta['grade_id']}: {line!r}"
        if meta["solution"]:
            assert "raise NotImplementedError()" in rel_src
        if meta["grade"] and meta["points"] > 0:
            assert re.fullmatch(r"(#[^\n]*\n?)*", rel_src.strip() + "\n"), (
                f"{name}: graded cell {meta['grade_id']} must hold only comments in the release: {rel_src!r}")


HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
CALL = re.compile(r"from rnnkit\.casefile import run_check\n"
                  r"run_check\(\"(\w+)\", (\w+)\)\n")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_hidden_tests_hold_no_answer_key(name):
    """Hidden tests only call a check: no numbers, arrays or expected values that feedback could reveal."""
    source = json.loads((ROOT / "solutions" / name / f"{name}.ipynb").read_text(encoding="utf-8"))
    graded = [c for c in source["cells"]
              if c["metadata"]["nbgrader"]["grade"] and c["metadata"]["nbgrader"]["points"]]
    assert graded
    for cell in graded:
        regions = HIDDEN.findall("".join(cell["source"]))
        assert len(regions) == 1, f"{name}: {cell['id']} must hold one hidden-test region"
        match = CALL.fullmatch(regions[0])
        assert match, f"{name}: {cell['id']} hidden tests must only call run_check: {regions[0]!r}"
        assert match.group(1) == cell["metadata"]["nbgrader"]["grade_id"], (
            f"{name}: {cell['id']} runs the check of another cell ({match.group(1)})")
        assert match.group(1) in registry.checks_for(name), f"{name}: no check for {match.group(1)}"


def test_instructor_guide_lists_the_points():
    guide = (ROOT / "book" / "instructor-guide.md").read_text(encoding="utf-8")
    for name in ASSIGNMENTS:
        source = json.loads((ROOT / "solutions" / name / f"{name}.ipynb").read_text(encoding="utf-8"))
        cells = [c["metadata"]["nbgrader"] for c in source["cells"]
                 if c["metadata"]["nbgrader"]["grade"] and c["metadata"]["nbgrader"]["points"]]
        row = next((line for line in guide.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"the instructor guide has no row for {name}"
        for meta in cells:
            assert f"`{meta['grade_id']}` ({meta['points']:g})" in row, (
                f"{name}: {meta['grade_id']} missing from the guide")
        assert row.rstrip().endswith(f"**{sum(m['points'] for m in cells):g}** |"), f"{name}: total in the guide"


def test_nbgrader_config():
    """The settings the grading pipeline relies on (the e2e test shortens the timeout on the command line)."""
    from traitlets.config.loader import PyFileConfigLoader
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.CourseDirectory.source_directory == "solutions"
    assert config.CourseDirectory.release_directory == "exercises"
    assert config.Execute.timeout == 30
    assert config.Autograde.sanitize_preprocessors[0] == "rnnkit.grading.pipeline.RebuildFromTemplate"
    steps = config.Autograde.autograde_preprocessors
    assert steps[:2] == ["rnnkit.grading.pipeline.SandboxedExecute", "rnnkit.grading.pipeline.JudgeHiddenCells"]
    assert steps[-1] == "rnnkit.grading.pipeline.PostCheck"
    assert "nbgrader.preprocessors.Execute" not in steps  # never an unsandboxed kernel
    assert config.OverwriteCells.add_missing_cells is True
    assert config.ClearSolutions.code_stub == {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
