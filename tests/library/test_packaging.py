"""What each install brings: a learner's (`lab`) has no nbgrader; `import rnnkit` needs only numpy."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest brings tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_core_dependency_is_numpy_only():
    assert [d.split(">")[0].split("=")[0] for d in _project()["dependencies"]] == ["numpy"]


def test_every_extra_that_draws_has_the_plot_extras_matplotlib():
    """rnnkit.diagrams needs matplotlib: the plot extra brings it, and so must every extra that draws."""
    extras = _project()["optional-dependencies"]
    assert extras["plot"] == ["matplotlib>=3.7"]
    for name in ("lab", "book", "grading", "test"):
        pins = [d for d in extras[name] if d.split(">")[0].split("=")[0] == "matplotlib"]
        assert pins == extras["plot"], f"the {name} extra: {pins}"


def test_learner_extra_has_jupyter_and_no_grading_tools():
    lab = " ".join(_project()["optional-dependencies"]["lab"])
    assert "jupyterlab" in lab and "ipykernel" in lab
    assert "nbgrader" not in lab


def test_import_rnnkit_pulls_in_neither_matplotlib_nor_nbgrader():
    code = ("import sys, rnnkit, rnnkit.grading, rnnkit.selfcheck; "
            "print(sorted(m for m in ('matplotlib', 'nbgrader', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_jupytext_comes_with_the_grading_and_test_tools():
    """tools/release.py builds the nbgrader notebooks from the MyST sources with jupytext."""
    extras = _project()["optional-dependencies"]
    for extra in ("grading", "test"):
        assert any(d.startswith("jupytext") for d in extras[extra]), extra


def test_licences_are_shipped():
    project = _project()
    assert project["license"] == "MIT"
    assert set(project["license-files"]) == {"LICENSE", "LICENSE-CONTENT.md"}
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert "CC BY 4.0" in (ROOT / "LICENSE-CONTENT.md").read_text()


def test_one_learner_setup_in_readme_and_book():
    """README and the book's exercises page give the same learner commands."""
    import re
    readme = (ROOT / "README.md").read_text()
    page = (ROOT / "book" / "exercises.md").read_text()
    commands = ['python3 -m venv .venv', '.venv/bin/pip install -e ".[lab]"', ".venv/bin/jupyter lab exercises/",
                'pip install "rnnkit[lab] @ git+$COURSE_REPO"']
    for command in commands:
        assert command in readme and command in page, command
    assert not re.search(r'pip install -e "\.\[grading\]"', page)
