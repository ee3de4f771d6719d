"""The assignment sources as text: what they contain, what the release leaks, and points in one place.

These read files only (fast); ``tests/course/test_grading_notebooks.py`` executes the notebooks.

1. the instructor notebooks are MyST text, one per assignment, each with a committed release;
2. no release contains a solution, a hidden test or an instructor-only file, and hidden tests
   only call a check (no answer key that feedback could reveal);
3. the points stated anywhere (notebook text, instructor guide, exercises page, README) are
   the nbgrader metadata's;
4. ``nbgrader_config.py`` wires in the trusted-grading steps.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # tools/ is a folder of the repository, not of the installed package
    sys.path.insert(0, str(ROOT))

from rnnkit.grading import registry  # noqa: E402
from tools.release import answer_source, available_assignments, cell_id, graded_points, read_notebook  # noqa: E402

ASSIGNMENTS = available_assignments(ROOT)


def _source(name: str) -> dict:
    """The instructor notebook of ``name`` as nbgrader reads it (built from its MyST text)."""
    return json.loads(json.dumps(read_notebook(answer_source(ROOT, name))))


def test_assignments_exist():
    assert ASSIGNMENTS == list(registry.MODULES), ASSIGNMENTS
    for name in ASSIGNMENTS:
        assert (ROOT / "exercises" / name / f"{name}.ipynb").is_file(), (
            f"{name} has no release: run python tools/release.py")


def test_solutions_are_text_only():
    """The instructor notebooks are MyST text; the .ipynb nbgrader reads is generated, never committed here."""
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "solutions").rglob("*") if p.is_file()
                   and ".ipynb_checkpoints" not in p.parts)
    assert files == [f"solutions/{a}/{a}.md" for a in ASSIGNMENTS], files


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
    source = _source(name)
    rel_cells = {c["metadata"]["nbgrader"]["grade_id"]: c for c in release["cells"] if "nbgrader" in c["metadata"]}
    for cell in source["cells"]:
        if "nbgrader" not in cell["metadata"]:  # a learner's own cell (a7's extra training): never graded
            assert "skip-grading" in cell["metadata"].get("tags", []), f"{name}: a cell without nbgrader metadata"
            continue
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
CALL = re.compile(r"from rnnkit\.grading\.kernel import run_check\n"
                  r"run_check\(\"(\w+)\", (\w+)\)\n")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_hidden_tests_hold_no_answer_key(name):
    """Hidden tests only call a check: no numbers, arrays or expected values that feedback could reveal."""
    source = _source(name)
    graded = [c for c in source["cells"]
              if c["metadata"].get("nbgrader", {}).get("grade") and c["metadata"]["nbgrader"]["points"]]
    assert graded
    for cell in graded:
        regions = HIDDEN.findall("".join(cell["source"]))
        assert len(regions) == 1, f"{name}: {cell['id']} must hold one hidden-test region"
        match = CALL.fullmatch(regions[0])
        assert match, f"{name}: {cell['id']} hidden tests must only call run_check: {regions[0]!r}"
        assert match.group(1) == cell["metadata"]["nbgrader"]["grade_id"], (
            f"{name}: {cell['id']} runs the check of another cell ({match.group(1)})")
        assert match.group(1) in registry.checks_for(name), f"{name}: no check for {match.group(1)}"


# ---------------------------------------------------------------------------
# Points in one place: the `points` of the hidden test cells' nbgrader metadata. Every other
# statement of points is checked against it here (change the metadata, then the text).
# ---------------------------------------------------------------------------

#: "(2 points)", "(1 point)", "(3 + 2 points)", "**14 points**", "6 points"
POINTS_MENTION = re.compile(r"\b(\d+(?:\s*\+\s*\d+)*) points?\b")


def _said(values: list[float]) -> str:
    """How the text states these points: "1 point", "2 points", "3 + 2 points"."""
    return " + ".join(f"{v:g}" for v in values) + (" point" if values == [1] else " points")


def _course_points() -> dict[str, dict[str, float]]:
    return {name: graded_points(_source(name)) for name in ASSIGNMENTS}


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_notebook_text_states_the_metadata_points(name):
    """The intro states the total, each "## " section the points of its hidden test cells, each
    hidden test cell its own; no other mention of points is in the notebook."""
    nb = _source(name)
    points = graded_points(nb)
    assert len(points) >= 3, points
    expected = {nb["cells"][0]["id"]: f"**{_said([sum(points.values())])}**"}   # the intro
    sections = []   # [markdown cell, points of the hidden test cells up to the next section]
    for cell in nb["cells"][1:]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and src.startswith("## "):
            sections.append((cell, []))
        elif cell_id(cell) in points:
            assert sections, f"{name}: hidden test {cell_id(cell)} comes before the first section"
            sections[-1][1].append(points[cell_id(cell)])
            expected[cell["id"]] = f"# Hidden tests ({_said([points[cell_id(cell)]])})"
            assert src.startswith(expected[cell["id"]]), (
                f"{name}: {cell_id(cell)} has {points[cell_id(cell)]:g} points in its metadata; its first line "
                f"must start {expected[cell['id']]!r}, not {src.splitlines()[0]!r}")
    for cell, values in sections:
        heading = "".join(cell["source"]).splitlines()[0]
        if values:
            expected[cell["id"]] = f"({_said(values)})"
            assert heading.endswith(expected[cell["id"]]), (
                f"{name}: the section {heading!r} holds hidden tests worth {values}: end it with "
                f"{expected[cell['id']]!r}")
    assert expected[nb["cells"][0]["id"]] in "".join(nb["cells"][0]["source"]), (
        f"{name}: the intro must say the notebook is worth {expected[nb['cells'][0]['id']]}")
    mentions = {cell["id"]: POINTS_MENTION.findall("".join(cell["source"])) for cell in nb["cells"]}
    unchecked = {cid: found for cid, found in mentions.items() if len(found) != (cid in expected)}
    assert unchecked == {}, f"{name}: points stated where this test does not check them: {unchecked}"


def test_instructor_guide_lists_the_points():
    guide = (ROOT / "book" / "instructor-guide.md").read_text(encoding="utf-8")
    for name, points in _course_points().items():
        row = next((line for line in guide.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"the instructor guide has no row for {name}"
        cells = ", ".join(f"`{gid}` ({p:g})" for gid, p in points.items())
        assert row == f"| `{name}` | {cells} | **{sum(points.values()):g}** |", (
            f"{name}: the guide's row must read | `{name}` | {cells} | **{sum(points.values()):g}** |")


def test_exercises_page_lists_the_totals():
    page = (ROOT / "book" / "exercises.md").read_text(encoding="utf-8")
    for name, points in _course_points().items():
        row = next((line for line in page.splitlines() if line.startswith(f"| {{download}}`{name}.ipynb ")), None)
        assert row is not None, f"the exercises page has no row for {name}"
        assert row.rstrip().endswith(f"| {sum(points.values()):g} |"), f"{name}: total {sum(points.values()):g}"


#: A cell of a MyST source quoted in a page (between ````text fences).
EXAMPLE_CELL = re.compile(r"````text\n(.*?)\n````", re.S)


def test_guide_quotes_a_real_cell():
    """The instructor guide's example of a MyST cell (points included) is copied from a source."""
    examples = EXAMPLE_CELL.findall((ROOT / "book" / "instructor-guide.md").read_text(encoding="utf-8"))
    sources = [answer_source(ROOT, name).read_text(encoding="utf-8") for name in ASSIGNMENTS]
    assert examples and all(any(example in text for text in sources) for example in examples), examples


def test_pages_state_only_metadata_points():
    """README and the two course pages: a number of points in prose is the course total, or the 0
    points of the visible test cells (grade cells that are not hidden tests)."""
    course = _course_points()
    total = sum(sum(p.values()) for p in course.values())
    visible = [c["metadata"]["nbgrader"] for name in ASSIGNMENTS for c in _source(name)["cells"]
               if c["metadata"].get("nbgrader", {}).get("grade") and cell_id(c) not in course[name]]
    assert visible and all(m["points"] == 0 for m in visible)
    for page in ("README.md", "book/instructor-guide.md", "book/exercises.md"):
        text = EXAMPLE_CELL.sub("", (ROOT / page).read_text(encoding="utf-8"))
        prose = [line for line in text.splitlines() if not line.startswith("|")]
        stated = [sum(float(v) for v in m.split("+")) for line in prose for m in POINTS_MENTION.findall(line)]
        assert all(v in (0, total) for v in stated), f"{page} states {stated} points; the course has {total:g}"


def test_nbgrader_config():
    """The settings the grading pipeline relies on (the e2e test shortens the timeout on the command line)."""
    from traitlets.config.loader import PyFileConfigLoader
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.CourseDirectory.source_directory == "source"   # generated by tools/release.py
    assert config.CourseDirectory.release_directory == "exercises"
    assert config.Execute.timeout == 30
    assert config.Autograde.sanitize_preprocessors[0] == "rnnkit.grading.pipeline.RebuildFromTemplate"
    steps = config.Autograde.autograde_preprocessors
    assert steps[:2] == ["rnnkit.grading.pipeline.SandboxedExecute", "rnnkit.grading.pipeline.JudgeHiddenCells"]
    assert steps[-1] == "rnnkit.grading.pipeline.PostCheck"
    assert "nbgrader.preprocessors.Execute" not in steps  # never an unsandboxed kernel
    assert config.OverwriteCells.add_missing_cells is True
    assert config.ClearSolutions.code_stub == {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
