"""Launching the course: the repository's address in one setting, the notebooks' install cell, Windows commands.

1. ``repository.url`` in ``_config.yml`` is the one place the course repository's address is written:
   tools/release.py reads it for every released notebook's install cell, book/_ext/course_repository.py
   for the book's ``{{ course_install }}``; no ``<placeholder>`` reaches a page, the built page or a notebook;
2. the install cell installs ``rnnkit[lab]`` from that address only when ``import rnnkit`` fails, and
   where rnnkit is installed it does nothing and prints nothing (checked by running it, with pip
   replaced by a recorder: nothing is fetched);
3. every shell block of the README has a Windows counterpart (or says it runs in WSL).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
for folder in (ROOT, ROOT / "book" / "_ext"):   # tools/ and the book's extensions are not in the package
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from course_repository import course_install  # noqa: E402
from tools.release import (INSTALL_ID, answer_source, available_assignments, install_cell, read_notebook,  # noqa: E402
                           repository_url)

ASSIGNMENTS = available_assignments(ROOT)
URL = "https://git.example.org/course/rnn-course"
#: A "paste your address here" marker that must never reach a learner.
PLACEHOLDER = re.compile(r"<repository-url>|git\+<|<your[-_ ]|\{\{")


def _config(tmp_path: Path, url: str) -> Path:
    text = (ROOT / "_config.yml").read_text(encoding="utf-8")
    text, n = re.subn(r'(?m)^(repository:\n  url: )""', rf'\g<1>"{url}"', text)
    assert n == 1, "_config.yml: `repository:` is no longer followed by `url: \"\"`"
    (tmp_path / "_config.yml").write_text(text, encoding="utf-8")
    return tmp_path


def test_the_repository_address_is_read_from_config_yml(tmp_path):
    assert repository_url(ROOT) == ""      # the default: no address, nothing is ever fetched
    assert repository_url(_config(tmp_path, URL)) == URL


@pytest.mark.parametrize("bad", ["<repository-url>", "github.com/org/repo", "https://x.org/a b"])
def test_a_placeholder_address_is_refused_with_the_setting_named(tmp_path, bad):
    with pytest.raises(ValueError, match="repository.url"):
        repository_url(_config(tmp_path, bad))


def test_the_source_notebook_takes_the_address_from_its_course(tmp_path):
    """read_notebook reads the setting of the course the MyST file belongs to (root/_config.yml)."""
    course = _config(tmp_path, URL)
    target = answer_source(course, ASSIGNMENTS[0])
    target.parent.mkdir(parents=True)
    target.write_text(answer_source(ROOT, ASSIGNMENTS[0]).read_text(encoding="utf-8"), encoding="utf-8")
    cell = read_notebook(target).cells[1]
    assert cell.id == INSTALL_ID and f'"rnnkit[lab] @ git+{URL}"' in cell.source


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_released_notebook_starts_with_the_install_cell(name):
    """After the introduction, the committed release has the install cell for the configured address,
    locked, ungraded and skipped by grading; the rest of the notebook is the MyST source's."""
    release = nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4)
    cell = release.cells[1]
    expected = install_cell(repository_url(ROOT))
    assert cell.cell_type == "code" and cell.source == expected.source, (
        f"{name}: the release's second cell is not the install cell: run python tools/release.py")
    meta = cell.metadata["nbgrader"]
    assert meta["grade_id"] == INSTALL_ID and meta["locked"] and not meta["grade"] and not meta["solution"]
    assert "skip-grading" in cell.metadata["tags"]
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in release.cells]
    assert ids.count(INSTALL_ID) == 1, f"{name}: {ids.count(INSTALL_ID)} install cells"
    source = answer_source(ROOT, name).read_text(encoding="utf-8")
    assert "pip install" not in source, f"{name}: the MyST source holds an install cell; tools/release.py adds it"
    assert not PLACEHOLDER.search(json.dumps(release.dict())), f"{name}: a placeholder reached the release"


def _run(cell_source: str, blocked: bool) -> subprocess.CompletedProcess:
    """Run the cell in a fresh interpreter; with ``blocked``, ``import rnnkit`` fails until "pip" has run.

    pip is replaced by a recorder (subprocess.check_call prints its arguments as JSON and "installs"
    rnnkit by unblocking it), so nothing is fetched.
    """
    prelude = textwrap.dedent("""
        import json, subprocess, sys
        def _pip(args, **kw):
            print("PIP " + json.dumps(args[1:]))
            sys.modules.pop("rnnkit", None)
            return 0
        subprocess.check_call = _pip
    """) + ('sys.modules["rnnkit"] = None\n' if blocked else "")
    return subprocess.run([sys.executable, "-c", prelude + cell_source], capture_output=True, text=True, timeout=60)


def test_where_rnnkit_is_installed_the_install_cell_does_nothing():
    """No output, and neither rnnkit nor numpy imported (a7's set-up cell sets the BLAS threads before numpy)."""
    probe = "\nprint(sorted(m for m in ('numpy', 'rnnkit') if m in sys.modules))"
    for url in ("", URL):
        proc = _run(install_cell(url).source + probe, blocked=False)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "[]\n", ""), proc


def test_without_rnnkit_the_install_cell_installs_the_lab_extra_from_the_address():
    proc = _run(install_cell(URL).source + "\nimport rnnkit", blocked=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    calls = [json.loads(line[4:]) for line in proc.stdout.splitlines() if line.startswith("PIP ")]
    assert calls == [["-m", "pip", "install", "--quiet", f"rnnkit[lab] @ git+{URL}"]], proc.stdout


def test_without_an_address_the_install_cell_says_how_to_install():
    proc = _run(install_cell("").source, blocked=True)
    assert proc.returncode == 1 and "PIP" not in proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: rnnkit is not installed") and "COURSE_REPO" in last, last
    assert not PLACEHOLDER.search(proc.stderr)


def test_the_book_states_the_install_command_from_the_setting():
    """``{{ course_install }}``: the exact command for a set address; a sentence naming the setting otherwise."""
    assert f'`pip install "rnnkit[lab] @ git+{URL}"`' in course_install(URL)
    assert "repository.url" in course_install("") and "git+" not in course_install("")
    for url in ("", URL):
        assert not PLACEHOLDER.search(course_install(url)), url
    page = (ROOT / "book" / "exercises.md").read_text(encoding="utf-8")
    assert "{{ course_install }}" in page
    assert "course_repository" in (ROOT / "_config.yml").read_text(encoding="utf-8")


@pytest.mark.parametrize("url", ["", URL])
def test_the_built_exercises_page_shows_the_command_and_no_placeholder(tmp_path, url):
    """The exercises page built by Sphinx with MyST and this extension, the address taken from the
    theme option Jupyter Book fills from ``repository.url``: the substitution is made, no marker is left."""
    from sphinx.cmd import build as sphinx   # the [book] extra, installed by `make test`
    src = tmp_path / "src"
    src.mkdir()
    page = (ROOT / "book" / "exercises.md").read_text(encoding="utf-8")
    (src / "index.md").write_text(page, encoding="utf-8")
    (src / "conf.py").write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / "book" / "_ext")!r})
        extensions = ["myst_parser", "course_repository"]
        myst_enable_extensions = ["substitution", "colon_fence", "dollarmath", "amsmath", "deflist"]
        html_theme_options = {{"repository_url": {url!r}}}
        html_theme = "basic"
    """), encoding="utf-8")
    out = tmp_path / "html"
    code = sphinx.build_main(["-q", "-b", "html", str(src), str(out)])
    assert code == 0
    html = (out / "index.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", html).replace("&quot;", '"').replace("&#64;", "@")
    assert "{{" not in text and "<repository-url>" not in html and "git+&lt;" not in html
    if url:
        assert f'pip install "rnnkit[lab] @ git+{url}"' in text
    else:
        assert "repository.url" in text


def _fenced_blocks(text: str) -> list[tuple[str, str, int, int]]:
    """(language, body, start, end) of every fenced block of a Markdown text."""
    return [(m.group(1), m.group(2), m.start(), m.end()) for m in re.finditer(r"(?ms)^```(\w*)\n(.*?)^```", text)]


def test_every_shell_block_of_the_readme_has_a_windows_counterpart():
    """After each ```bash block: a ```powershell block before the next shell block, or the text says WSL."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = _fenced_blocks(readme)
    shells = [b for b in blocks if b[0] == "bash"]
    assert len(shells) >= 3, shells
    for lang, body, start, end in shells:
        later = [b for b in blocks if b[2] > end]
        nxt_shell = next((b for b in later if b[0] == "bash"), None)
        window = readme[max(0, start - 400):nxt_shell[2] if nxt_shell else len(readme)]
        windows = [b for b in later if b[0] == "powershell" and (nxt_shell is None or b[2] < nxt_shell[2])]
        assert windows or "WSL" in window, f"README: no Windows commands for\n{body}"
        for win in windows:
            assert "/bin/" not in win[1] and "source " not in win[1], win[1]


def test_the_windows_learner_set_up_is_the_shell_one_translated():
    """Same commands, Windows paths: .venv/bin/X -> .venv\\Scripts\\X, python3 -> py (README and the exercises page)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = (ROOT / "book" / "exercises.md").read_text(encoding="utf-8")
    shell = ["python3 -m venv .venv", '.venv/bin/pip install -e ".[lab]"', ".venv/bin/jupyter lab exercises/"]
    for line in shell:
        win = line.replace("python3 ", "py ").replace(".venv/bin/", ".venv\\Scripts\\").replace("exercises/",
                                                                                             "exercises\\")
        for name, text in (("README.md", readme), ("book/exercises.md", page)):
            assert line in text and win in text, f"{name}: {win!r} (Windows for {line!r}) is missing"
    for variable in ("$env:COURSE_REPO", "%COURSE_REPO%"):
        assert variable in readme and variable in page, variable
