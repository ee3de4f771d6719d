"""The layout a maintainer relies on: small modules, a numpy-only import, no tools in the learner's
install, solution notebooks as reviewable text, no words that only the course's authors understand.

Each test is one bar of the layout; a failure names the files that break it.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "rnnkit"

#: Longest module of rnnkit/ (lines): past this a module does several jobs and should be split.
MAX_MODULE_LINES = 450

#: Top-level packages that `import rnnkit` must not load: rnnkit needs only numpy (matplotlib comes
#: with the plot extra, nbgrader with the grading extra; torch is only a reference in the tests).
HEAVY_PACKAGES = ("matplotlib", "nbgrader", "torch", "IPython", "jupyter_client", "ipykernel", "tqdm")


def _python(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (sys.modules of this one already holds what other tests imported)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_no_module_of_rnnkit_is_over_the_line_limit():
    too_long = {str(p.relative_to(ROOT)): n for p in sorted(PACKAGE.rglob("*.py"))
                if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert too_long == {}, f"modules over {MAX_MODULE_LINES} lines: {too_long}"


def test_import_rnnkit_loads_only_numpy_not_plotting_grading_or_notebook_tools():
    code = ("import sys, rnnkit, rnnkit.progress\n"
            f"heavy = {HEAVY_PACKAGES!r}\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))")
    run = _python(code)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]", f"import rnnkit loaded {run.stdout.strip()}"


def test_rnnkit_diagrams_without_matplotlib_names_the_extra_to_install():
    # None in sys.modules makes `import matplotlib` raise ImportError, as if it were not installed.
    run = _python("import sys; sys.modules['matplotlib'] = None\nimport rnnkit\nimport rnnkit.diagrams")
    assert run.returncode != 0
    last_line = run.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError: rnnkit.diagrams draws with matplotlib"), run.stderr
    assert 'pip install "rnnkit[plot]"' in last_line


def test_the_installed_package_depends_on_numpy_only():
    from importlib.metadata import requires
    unconditional = [r for r in requires("rnnkit") or [] if "extra ==" not in r]
    assert [re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0] for r in unconditional] == ["numpy"], unconditional


def test_no_release_or_bench_tool_in_the_package():
    tools = [str(p.relative_to(ROOT)) for p in sorted(PACKAGE.rglob("*"))
             if p.stem in ("release", "bench") and (p.suffix == ".py" or p.is_dir())]
    assert tools == [], f"course tools shipped in the learner's install: {tools}"


def test_solution_notebooks_are_text():
    assignments = sorted(p for p in (ROOT / "solutions").iterdir() if p.is_dir())
    assert assignments, "no solutions/<assignment>/ folders"
    missing = [f"{a.name}/{a.name}.md" for a in assignments if not (a / f"{a.name}.md").is_file()]
    tracked = subprocess.run(["git", "ls-files", "solutions/*/*.ipynb"], capture_output=True, text=True,
                             cwd=ROOT, check=True).stdout.split()
    assert missing == [] and tracked == [], (
        f"solution notebooks must be MyST text: missing {missing}; committed .ipynb {tracked}")


# ---------------------------------------------------------------------------
# authoring jargon
# ---------------------------------------------------------------------------

#: Phrases from how the course was written: a reader has no "seed texts", "Part 2" or "API contract".
#: Random seeds are fine: "seed 0", "five seeds each", "the seeds 0-4" are not matched.
JARGON = re.compile("|".join([
    r"\bseed\s+(?:texts?|documents?|chapters?|notebooks?|corpus)\b",
    r"\bthe\s+seeds\b(?!\s+(?:\d|of\b|used\b|given\b))",
    r"\bpart\s+\d+\b",
    r"\bapi\s+contract\b",
    r"\bsource\s+texts?\b",
    r"\bcourse-design\.md\b",
]), re.IGNORECASE)


def _shipped_text_files() -> list[Path]:
    """Code, docs and tests: everything a reader of the repository reads (not the corpus's own prose)."""
    files = [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.md"), *(PACKAGE / "grading" / "templates").rglob("*.*"),
             *ROOT.glob("book/*.md"), ROOT / "README.md", *ROOT.glob("solutions/*/*.md"),
             *ROOT.glob("solutions/*/*.ipynb"), *ROOT.glob("exercises/*/*.ipynb"),
             *(p for p in (ROOT / "tests").rglob("*.py") if p.name != Path(__file__).name),
             ROOT / "Makefile", ROOT / "pyproject.toml", ROOT / "_config.yml", ROOT / "_toc.yml"]
    return sorted({p for p in files if p.is_file()})


def test_no_authoring_jargon_in_code_docs_and_tests():
    hits = [f"{p.relative_to(ROOT)}:{n}: {m.group(0)!r}"
            for p in _shipped_text_files()
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
            for m in JARGON.finditer(line)]
    assert hits == [], "authoring jargon:\n" + "\n".join(hits)


def test_the_jargon_pattern_tells_authoring_words_from_random_seeds():
    jargon = ["the seed texts", "Seed documents", "as in the seeds, the state is", "see Part 2",
              "(see the API contract)", "the source texts of chapter 9", "course-design.md"]
    legit = ["seed 0", "five seeds each", "with the seeds 0-4", "the seeds of the five runs",
             "(Grading seed 20260511.)", "rng = np.random.default_rng(seed)", "RNNKIT_TABLE_SEEDS=1",
             "the second part of the gradient", "part of 2 steps"]
    assert [s for s in jargon if not JARGON.search(s)] == []
    assert [s for s in legit if JARGON.search(s)] == []


#: A repository path written in prose or a comment: ``tests/...``, ``tools/...``, ``rnnkit/...`` ending in a file
#: name with an extension (globs, ``<name>`` placeholders and folder names are not checked).
REPO_PATH = re.compile(r"(?<![\w/.])((?:tests|tools|rnnkit|solutions|exercises|book)/[\w./-]*\w\.(?:py|md|ipynb|yml|j2))\b")


def test_every_file_path_the_docs_and_code_name_exists():
    """Moving a file must not leave a guide or a comment pointing at where it used to be."""
    # the attack table plants files of those names in a submission: they are payloads, not references
    files = [p for p in _shipped_text_files() if p.name != "adversarial_cases.py"]
    missing = sorted({f"{p.relative_to(ROOT)}: {m.group(1)}" for p in files
                      for m in REPO_PATH.finditer(p.read_text(encoding="utf-8"))
                      if not (ROOT / m.group(1)).exists()})
    assert missing == [], "paths that do not exist:\n" + "\n".join(missing)


def test_the_path_pattern_finds_paths():
    text = "see tests/library/test_layers.py, `tools/release.py` and rnnkit/layers/lstm.py; not solutions/<a>/<a>.md"
    assert [m.group(1) for m in REPO_PATH.finditer(text)] == [
        "tests/library/test_layers.py", "tools/release.py", "rnnkit/layers/lstm.py"]
