"""The book builds with warnings as errors, every cell executed, and loads nothing from the network.

The full build (about half a minute with every notebook executed) runs once per session
(module-scoped fixture) and its output is shared by the checks below. Execution is FORCED
through a temporary copy of ``_config.yml``: the real configuration keeps
``execute_notebooks: cache``, and jupyter-cache would not notice a change inside rnnkit.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

pytestmark = pytest.mark.slow  # builds the book

ROOT = Path(__file__).resolve().parents[2]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")
BUILD_FLAGS = ["--warningiserror", "--nitpick", "--keep-going"]   # as in the Makefile's `make book`
BUILD_TIMEOUT_S = 1200   # generous: the forced build takes ~30 s on a laptop; a hang must still end
# Sphinx and docutils report problems as "<where>: WARNING: ..." / "<where>: ERROR: ...".
SPHINX_PROBLEM = re.compile(r": (WARNING|ERROR|CRITICAL|SEVERE): ")

# Every page of the book, in reading order: a page renamed, dropped or moved must be changed here too.
EXPECTED_PAGES = [
    "book/intro", "book/notation",
    "book/01-feedforward-to-recurrent", "book/02-unfolding", "book/03-three-families",
    "book/04-forward-and-loss", "book/05-bptt", "book/06-vanishing-exploding", "book/07-teacher-forcing",
    "book/08-lstm", "book/09-char-lm", "book/10-where-next",
    "book/exercises", "book/instructor-guide", "book/deploy", "book/grading-reference", "book/api",
]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    files += [chapter["file"] for chapter in toc.get("chapters", [])]
    return files


def forced_config(tmp_dir: Path) -> Path:
    """A copy of _config.yml that executes every notebook, whatever the cache holds."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = "force"
    # jupyter-book resolves local extension paths against the config file's folder: keep them the repo's
    local = config.get("sphinx", {}).get("local_extensions") or {}
    for name, folder in local.items():
        local[name] = str(ROOT / folder)
    path = tmp_dir / "_config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def run_build(source: Path, output: Path, config: Path) -> subprocess.CompletedProcess:
    cmd = [str(JUPYTER_BOOK), "build", str(source), "--path-output", str(output), "--config", str(config),
           *BUILD_FLAGS]
    env = dict(os.environ, RNNKIT_PROGRESS="0")  # as `make book`: pages show results, not progress bars
    return subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, cwd=source, env=env)


def sphinx_problems(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (proc.stdout + proc.stderr).splitlines() if SPHINX_PROBLEM.search(line)]


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("book")
    proc = run_build(ROOT, tmp / "out", forced_config(tmp))
    problems = sphinx_problems(proc)
    assert proc.returncode == 0 and not problems, (
        f"book build failed (exit code {proc.returncode}) with {len(problems)} warnings/errors:\n"
        + "\n".join(problems[:30]) + "\n--- last lines of the log ---\n"
        + "\n".join((proc.stdout + proc.stderr).splitlines()[-40:]))
    html = tmp / "out" / "_build" / "html"
    assert html.is_dir(), f"no HTML output in {html}"
    return html


def test_toc_lists_every_page_in_the_fixed_order():
    assert toc_files() == EXPECTED_PAGES
    missing = [page for page in EXPECTED_PAGES if not (ROOT / f"{page}.md").is_file()]
    assert not missing, f"pages listed in _toc.yml without a source file: {missing}"


def test_real_config_keeps_the_execution_cache():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"]["execute_notebooks"] == "cache"
    assert config["execute"]["raise_on_error"] is True
    assert config["execute"].get("allow_errors", False) is False


def test_book_builds_and_every_page_exists(built_book):
    assert (built_book / "index.html").is_file()
    missing = [page for page in toc_files() if not (built_book / f"{page}.html").is_file()]
    assert not missing, f"pages missing from the built book: {missing}"


def test_api_reference_documents_the_library(built_book):
    page = (built_book / "book" / "api.html").read_text(encoding="utf-8")
    for name in ("rnnkit.layers.rnn_forward", "rnnkit.layers.rnn_backward", "rnnkit.gradcheck.numerical_gradient",
                 "rnnkit.diagrams.draw_unrolled"):
        assert f'id="{name}"' in page, f"{name} is not documented on the API page"


def test_every_chapter_is_offered_as_a_notebook(built_book):
    """Each chapter's download menu links its .ipynb, which the build generated from the executed page."""
    import nbformat
    for page in toc_files():
        if not page.startswith("book/0") and not page.startswith("book/1"):
            continue
        nb_path = built_book / "_sources" / f"{page}.ipynb"
        assert nb_path.is_file(), f"no notebook for {page}"
        nb = nbformat.read(nb_path, as_version=4)
        assert sum(c.cell_type == "code" for c in nb.cells) >= 3, page
        html = (built_book / f"{page}.html").read_text(encoding="utf-8")
        assert f"_sources/{page}.ipynb" in html or f"{Path(page).name}.ipynb" in html, f"{page} has no .ipynb link"


def test_every_page_states_the_content_licence(built_book):
    for page in toc_files():
        html = (built_book / f"{page}.html").read_text(encoding="utf-8")
        assert "CC BY 4.0" in html and "MIT" in html, page


def test_binder_environment_installs_the_lab_extra_and_jupytext():
    assert "jupytext" in (ROOT / "binder" / "requirements.txt").read_text()
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert '.[lab]' in post_build
    # A launch button opens book/NN-*.md in JupyterLab: jupytext's notebook view must be the default viewer.
    assert "set-default-viewer markdown myst" in post_build


def test_launch_buttons_are_off_until_a_deployment_names_its_repository():
    """Launch buttons need the public repository's address, which only a deployment knows; book/deploy.md
    names the settings to fill in, and the README and the exercises page show no <placeholder> command."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["repository"]["url"] == "" and not config["launch_buttons"]["binderhub_url"]
    deploy = (ROOT / "book" / "deploy.md").read_text(encoding="utf-8")
    for setting in ("repository.url", "launch_buttons.binderhub_url", "launch_buttons.jupyterhub_url",
                    "set-default-viewer markdown myst"):
        assert setting in deploy, f"book/deploy.md does not mention {setting}"
    for page in ("README.md", "book/exercises.md", "book/deploy.md"):
        text = (ROOT / page).read_text(encoding="utf-8")
        assert "<repository-url>" not in text and "git+<" not in text, f"{page} shows a <placeholder> to paste"


def _search_index(built_book: Path) -> dict:
    text = (built_book / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1:text.rindex(")")])


def test_search_puts_chapters_before_grading_internals(built_book):
    """Sphinx ranks object names first; the grading machinery is kept out of the object index, and the
    course's main terms are in chapter titles (a title match outranks every partial object match)."""
    index = _search_index(built_book)
    objects = json.dumps(index.get("objects", {}))
    assert "rnnkit.grading" not in objects  # the kernel too: rnnkit.grading.kernel
    import snowballstemmer  # Sphinx's English search index stores Porter stems
    stem = snowballstemmer.stemmer("porter").stemWord
    docnames = index["docnames"]
    for term, chapter in (("lstm", "book/08-lstm"), ("backpropagation", "book/05-bptt"), ("teacher", "book/07-teacher-forcing")):
        hits = index["titleterms"].get(stem(term), [])
        hits = [hits] if isinstance(hits, int) else hits
        assert docnames.index(chapter) in hits, f"{term!r} is not in the title of {chapter}"


class _AssetCollector(HTMLParser):
    """Collects the URLs a page loads: <script src>, <link href>, <img src>, <iframe src>."""

    def __init__(self):
        super().__init__()
        self.assets: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self._in_script = "src" not in attrs
            if attrs.get("src"):
                self.assets.append(attrs["src"])
        elif tag == "link" and attrs.get("href"):
            self.assets.append(attrs["href"])
        elif tag in ("img", "iframe") and attrs.get("src"):
            self.assets.append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.inline_scripts.append(data)


def _pages(html_root: Path) -> list[Path]:
    return sorted(p for p in html_root.rglob("*.html") if "_static" not in p.parts)


def test_no_page_loads_anything_from_the_network(built_book):
    offenders = []
    for page in _pages(built_book):
        parser = _AssetCollector()
        parser.feed(page.read_text(encoding="utf-8"))
        for url in parser.assets:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") or url.startswith("//"):
                offenders.append(f"{page.relative_to(built_book)}: {url}")
            elif not parts.scheme and parts.path:
                target = (page.parent / parts.path).resolve()
                if not target.exists():
                    offenders.append(f"{page.relative_to(built_book)}: {url} (local file missing)")
            elif parts.scheme not in ("", "data"):
                offenders.append(f"{page.relative_to(built_book)}: {url} (unexpected scheme)")
        for script in parser.inline_scripts:
            for host in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "googleapis.com"):
                if host in script:
                    offenders.append(f"{page.relative_to(built_book)}: inline script mentions {host}")
    assert not offenders, "pages reference non-local assets:\n" + "\n".join(offenders)


def test_math_is_rendered_by_a_local_mathjax(built_book):
    for chapter in ("book/04-forward-and-loss", "book/05-bptt", "book/api"):
        parser = _AssetCollector()
        parser.feed((built_book / f"{chapter}.html").read_text(encoding="utf-8"))
        mathjax = [url for url in parser.assets if "mathjax" in url.lower()]
        assert mathjax, f"{chapter}: no MathJax script on a page with equations"
        for url in mathjax:
            assert "_static/mathjax/" in url and not urlsplit(url).scheme, f"{chapter}: MathJax from {url}"
    # MathJax loads its fonts relative to its own script: they must have been copied too.
    assert any((built_book / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff")), \
        "MathJax fonts are missing from _static/mathjax"


def test_a_failing_cell_fails_the_build(tmp_path):
    """The execution settings of _config.yml turn an exception in a cell into a failed build."""
    source = tmp_path / "src"
    (source / "book").mkdir(parents=True)
    shutil.copy(ROOT / "references.bib", source / "references.bib")
    (source / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n", encoding="utf-8")
    (source / "book" / "intro.md").write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
        "kernelspec:\n  name: python3\n  display_name: Python 3\n---\n\n# A page\n\n"
        "```{code-cell} ipython3\nraise RuntimeError('this cell must fail the build')\n```\n",
        encoding="utf-8")
    proc = run_build(source, tmp_path / "out", forced_config(tmp_path))
    assert proc.returncode != 0, "a notebook cell raised, but the build reported success"
    assert "this cell must fail the build" in proc.stdout + proc.stderr


# --- In a real browser (headless Chromium, driven on 127.0.0.1 by tools/phone_check.py) -------------
# Not skipped when Chromium is missing: `make test` and .ci/run install it (Debian: apt-get install chromium).

def _browser_tools():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import phone_check
    finally:
        sys.path.pop(0)
    assert phone_check.find_chromium(), \
        "these checks need Chromium (Debian/Ubuntu: sudo apt-get install chromium; `make test` does it as root)"
    return phone_check


# (query, the page that must be the first result, pages that must come after it)
SEARCH_EXPECTATIONS = [
    ("bptt", "book/05-bptt.html", ["book/api.html", "book/06-vanishing-exploding.html"]),
    ("vanishing gradient", "book/06-vanishing-exploding.html", ["book/05-bptt.html", "book/08-lstm.html"]),
    ("exploding gradient", "book/06-vanishing-exploding.html", ["book/05-bptt.html"]),
    ("backpropagation through time", "book/05-bptt.html", ["book/api.html"]),
]


def test_search_ranks_the_chapter_that_teaches_the_term_first(built_book):
    """The book's own search page (Sphinx's searchtools.js, in Chromium): the chapter that teaches a
    term is the first result, above the API entries whose names contain it and the chapters that use it
    (main index entries in chapters 5 and 6: an index entry scores 100 x len(query)/len(entry))."""
    results = _browser_tools().search(built_book, [query for query, _, _ in SEARCH_EXPECTATIONS])
    for query, first, later in SEARCH_EXPECTATIONS:
        pages = [hit["href"].split("#")[0] for hit in results[query]]
        shown = [(hit["score"], hit["href"]) for hit in results[query][:5]]
        assert pages and pages[0] == first, f"search {query!r}: first result is not {first}: {shown}"
        for page in later:
            if page in pages:
                assert pages.index(page) > 0, f"search {query!r}: {page} ties with {first}: {shown}"


def test_no_page_scrolls_sideways_on_a_phone(built_book):
    """At 390 x 844 CSS px (a phone), no page is wider than the screen, and no display equation is cut
    off: wide equations, tables and code scroll inside their own box (book/_static/phone.css).
    Tolerance: none; scrollWidth is an integer of CSS pixels and must not exceed the viewport's."""
    phone_check = _browser_tools()
    # the root index.html only redirects to book/intro.html (measured there): waiting for it to stay loaded
    # races the redirect
    pages = [str(p.relative_to(built_book).with_suffix("")) for p in _pages(built_book)
             if p.stem not in ("genindex", "search", "py-modindex") and p.relative_to(built_book) != Path("index.html")]
    assert len(pages) >= len(EXPECTED_PAGES), pages
    results = phone_check.measure(built_book, pages)
    problems = []
    for page, r in sorted(results.items()):
        if r["clientWidth"] != phone_check.PHONE["width"]:
            problems.append(f"{page}: the viewport is {r['clientWidth']} px, not {phone_check.PHONE['width']}")
        if r["scrollWidth"] > r["clientWidth"]:
            culprits = "; ".join(f"{o['element'][:60]} to {o['right']} px ({o['text'][:40]!r})" for o in r["offenders"])
            problems.append(f"{page}: {r['scrollWidth']} px wide in a {r['clientWidth']} px screen: {culprits}")
        for m in r["clippedMath"]:
            problems.append(f"{page}: display equation cut off ({m['width']} px in {m['box']} px): {m['equation']!r}")
    assert not problems, "on a 390 px phone:\n" + "\n".join(problems)
