"""A hostile class's feedback page opened in a real browser runs no script a learner wrote.

One submission of assignment 1 carries every payload the outside check found: a ``text/html`` display
with ``<script>`` and ``<img onerror>``, an ``<iframe srcdoc>``, an ``image/png`` whose width/height
metadata carry ``onerror``, ``text/markdown`` with raw HTML and a ``javascript:`` link, SVG with
``onload``, ``application/javascript``, LaTeX ``\\href{javascript:…}`` (as ``text/latex`` and as printed
text), a forged stream name, an answer cell whose ``cell_type`` is HTML (echoed in the pre-flight
note), an exception whose class name, message and docstring carry ANSI/OSC escapes, and outputs no
per-cell cap stops (many cells, megabytes of metadata and of an error value).
Each script payload retitles the page to a marker that appears nowhere in the page's text (it is
assembled at run time) and requests a URL of a server this test runs on 127.0.0.1.

The submission and an honest one go through the real ``nbgrader autograde`` and ``generate_feedback``
(the course's nbgrader_config.py); Chromium (headless, no network beyond 127.0.0.1) opens each page and
dumps the DOM after MathJax has had time to run. The bar: no marker, no request, no ``javascript:`` URL
and no event-handler attribute in the rendered DOM, no raw ESC byte in the page, the outputs within the
notebook's budget with the cut stated; and the honest and the hostile page both show their math
typeset by MathJax (the Content Security Policy lets it run). A control page with one payload and no
policy proves the browser harness sees a script that runs.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it). Without it the test skips, unless
``CI=true`` or ``RNNKIT_REQUIRE_BROWSER=1``, which turn the skip into a failure.
"""
from __future__ import annotations

import html
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from nbgrader_course import Course

A1 = "a1-recurrence"
MARKER = "PW" + "NED"   # never written literally by a payload: only a script that runs can make it
#: A 1x1 PNG (valid image, so it reaches the page; its metadata carries the payload).
PNG_1X1 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def _browser() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def chromium() -> str:
    path = _browser()
    if path is None:
        if os.environ.get("CI") == "true" or os.environ.get("RNNKIT_REQUIRE_BROWSER") == "1":
            pytest.fail("no chromium: the feedback pages must be checked in a browser in CI "
                        "(apt-get install -y chromium; .ci/run does)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return path


class _Listener:
    """An HTTP server on 127.0.0.1 that records every request path (a payload's beacon)."""

    def __init__(self):
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def listener():
    server = _Listener()
    yield server
    server.close()


def _js(port: int, tag: str) -> str:
    """A payload: retitle the page to the marker, and call the listener."""
    return (f"document.title='PW'+'NED-{tag}';"
            f"fetch('http://127.0.0.1:{port}/{tag}').catch(function(){{}});"
            f"new Image().src='http://127.0.0.1:{port}/img-{tag}'")


def _displays(port: int) -> list[tuple[dict, dict]]:
    """(data, metadata) of every hostile display: each is published as it is (``raw=True``)."""
    js = lambda tag: _js(port, tag)  # noqa: E731
    attr = lambda tag: html.escape(js(tag), quote=True)  # noqa: E731
    return [
        ({"text/html": f'<script>{js("script")}</script><img src=x onerror="{attr("onerror")}">'}, {}),
        ({"text/html": f'<iframe srcdoc="<script>parent.{attr("srcdoc")}</script>"></iframe>'}, {}),
        ({"text/html": f"<b>isolated</b><script>{js('isolated')}</script>"}, {"text/html": {"isolated": True}}),
        ({"text/html": f'<img src="http://127.0.0.1:{port}/remote-image">', "text/plain": "remote image"}, {}),
        ({"image/png": PNG_1X1}, {"image/png": {"width": f"1 onerror={js('png-width')}",
                                                "height": f'1" onerror="{attr("png-height")}'}}),
        ({"text/markdown": f'<img src=x onerror="{attr("markdown")}"> [click](javascript:{js("md-link")})',
          "text/plain": "markdown"}, {}),
        ({"image/svg+xml": f'<svg xmlns="http://www.w3.org/2000/svg" onload="{attr("svg")}">'
                           f'<script>{js("svg-script")}</script></svg>'}, {}),
        ({"application/javascript": js("javascript")}, {}),
        ({"text/latex": f"$\\href{{javascript:{js('latex')}}}{{click}}$"}, {}),
    ]


def _payload_cells(port: int) -> list[str]:
    """Code cells a learner adds: the hostile displays, printed TeX, a forged stream name, an exception."""
    displays = json.dumps(_displays(port))
    printed = "$" + "\\" + "href{javascript:" + _js(port, "printed-latex") + "}{math}$"
    stream_name = 'stdout"><img src=x onerror="' + html.escape(_js(port, "stream-name"), quote=True) + '">'
    return [
        "import json\nfrom IPython.display import display\n"
        f"for data, metadata in json.loads({displays!r}):\n"
        "    display(data, raw=True, metadata=metadata)\n"
        f"print({printed!r})",
        "pub = get_ipython().display_pub\n"
        f"_ = pub.session.send(pub.pub_socket, 'stream', {{'name': {stream_name!r}, 'text': 'x'}},\n"
        "                      parent=pub.parent_header, ident=pub.topic)",
        '''Evil = type("\\x1b]0;retitled\\x07Evil\\x1b[31mError", (Exception,),
            {"__doc__": "\\x1b]8;;javascript:alert(1)\\x07docs\\x1b]8;;\\x07 <script>x</script>"})
raise Evil("\\x1b[2J\\x1b]52;c;cGF5bG9hZA==\\x07<img src=x onerror=alert(1)> cleared your screen")''',
    ]


#: Outputs that no single cell's cap stops: megabytes of display metadata and of an exception's value
#: (neither counts as printed text), then 40 cells of 60 000 characters each (2.4 MB together).
FLOOD_CELLS = ["""
for _ in range(2):
    display({"text/plain": "meta"}, raw=True, metadata={"junk": "m" * 5_000_000})

class Quiet(Exception):
    def _render_traceback_(self):
        return ["Quiet: (a short traceback)"]

raise Quiet("v" * 5_000_000)"""] + ["print('x' * 60_000)"] * 40


def _hostile_submission(course: Course, port: int) -> dict:
    raising = ('def rnn_parameter_count(D, H, K):\n'
               '    E = type("\\x1b]0;t\\x07Count\\x1b[41mError", (Exception,), {"__doc__": "\\x1b[8m<b>doc</b>"})\n'
               '    raise E("\\x1b]8;;javascript:alert(1)\\x07<script>x</script>\\x1b]8;;\\x07 \\x9b31m")\n')
    nb = course.notebook(A1, {"rnn_parameter_count": raising})
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "unroll":
            cell["cell_type"] = f'<img src=x onerror="{html.escape(_js(port, "cell-type"), quote=True)}">'
    for source in _payload_cells(port) + FLOOD_CELLS:
        nb["cells"].append({"cell_type": "code", "metadata": {}, "source": source, "outputs": [],
                            "execution_count": None})
    return nb


@pytest.fixture(scope="module")
def pages(tmp_path_factory, listener):
    course = Course(tmp_path_factory.mktemp("browser"), [A1])
    course.submit("hostile", A1, _hostile_submission(course, listener.port))
    course.submit("honest", A1, course.notebook(A1))
    run = course.run("autograde", A1, "--force", "--Execute.timeout=10", check=False, timeout=600)
    assert course.scores(A1, "honest") == course.points(A1), run.stderr[-3000:]
    lost = {k for k, v in course.scores(A1, "hostile").items() if not v}
    assert lost == {"test_unroll", "test_rnn_parameter_count"}, (lost, run.stderr[-3000:])
    run = course.run("generate_feedback", A1, "--force", check=False, timeout=600)
    found = {s: course.path / "feedback" / s / A1 / f"{A1}.html" for s in ("hostile", "honest")}
    assert all(p.is_file() for p in found.values()), run.stderr[-3000:]
    found["autograded"] = course.path / "autograded" / "hostile" / A1 / f"{A1}.ipynb"
    return found


def _dump_dom(chromium: str, url: str) -> str:
    """The DOM of ``url`` after 8 s of virtual time, from a fresh profile, no network but 127.0.0.1."""
    with tempfile.TemporaryDirectory(prefix="rnnkit-chromium-") as profile:
        proc = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
             "--disable-default-apps", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
             f"--user-data-dir={profile}", "--virtual-time-budget=8000", "--dump-dom", url],
            capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


class _Dom(HTMLParser):
    def __init__(self, text: str):
        super().__init__()
        self.handlers, self.script_urls, self.math = [], [], 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.math += tag == "mjx-container"
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
            if value and re.match(r"\s*(javascript|vbscript|data:text/html)", value, flags=re.I):
                self.script_urls.append(f"<{tag} {name}={value[:60]}>")


def _math_in_markdown(page: str) -> int:
    """Math spans ($…$, $$…$$) in the instructor's markdown cells of a feedback page."""
    cells = re.findall(r'<div class="rnnkit-math">(.*?)</div>\s*</div>\s*</div>', page, flags=re.S)
    return sum(len(re.findall(r"\$\$.+?\$\$|\$[^$]+\$", cell, flags=re.S)) for cell in cells)


def test_the_browser_harness_sees_a_script_that_runs(chromium, listener, tmp_path):
    """Control: the same kind of payload on a page without sanitising or policy runs and is seen."""
    page = tmp_path / "control.html"
    page.write_text(f"<html><head><title>t</title></head><body><script>{_js(listener.port, 'control')}</script>"
                    f"</body></html>")
    listener.hits.clear()
    dom = _dump_dom(chromium, page.as_uri())
    assert MARKER in dom and "/control" in listener.hits


def test_no_learner_script_runs_in_the_hostile_feedback_page(chromium, listener, pages):
    page = pages["hostile"].read_text(encoding="utf-8")
    assert "\x1b" not in page and "\x9b" not in page and "\x07" not in page
    listener.hits.clear()
    dom = _dump_dom(chromium, pages["hostile"].as_uri())
    parsed = _Dom(dom)
    assert MARKER not in dom, re.search(r"<title>[^<]*", dom).group(0)
    assert listener.hits == [], listener.hits
    assert parsed.handlers == [] and parsed.script_urls == [], (parsed.handlers, parsed.script_urls)
    assert "cleared your screen" in dom and "graded notebooks show only text" in dom  # as text, with notes
    assert "Notes from grading (your notebook as it was submitted):" in dom  # escaped twice, reads as once
    assert "was turned into a &lt;img src=x onerror=" in dom
    assert 'src="data:image/png;base64,' in dom  # the valid image is shown, without its hostile sizes
    assert parsed.math >= _math_in_markdown(page) > 0  # MathJax ran under the policy


def test_hostile_outputs_are_bounded_and_the_cut_is_stated(pages):
    autograded = pages["autograded"].read_text(encoding="utf-8")
    assert len(autograded) < 3 * 2**20, f"autograded notebook of {len(autograded)} characters"
    page = pages["hostile"].read_text(encoding="utf-8")
    assert len(page) < len(pages["honest"].read_text(encoding="utf-8")) + 3 * 2**20
    assert "more characters not shown" in autograded  # the error value, cut (pages show its traceback)
    assert "\\u001b" not in autograded and "\\u009b" not in autograded  # what the formgrader shows
    for text in (autograded, page):
        assert "reached the grading limit of 2 MB" in text
        assert "m" * 200_000 not in text and "v" * 200_000 not in text


def test_the_honest_feedback_page_shows_its_math(chromium, listener, pages):
    page = pages["honest"].read_text(encoding="utf-8")
    dom = _dump_dom(chromium, pages["honest"].as_uri())
    expected = _math_in_markdown(page)
    assert expected > 0 and _Dom(dom).math >= expected, f"{_Dom(dom).math} of {expected} math spans typeset"
    assert "<svg" in dom and MARKER not in dom
