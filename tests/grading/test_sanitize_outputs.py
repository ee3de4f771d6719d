"""Fast tests of the steps that make graded notebooks and feedback pages inert.

:class:`SanitizeOutputs` keeps only text and validated PNG/JPEG outputs, escapes the pre-flight note
and bounds metadata; :class:`LimitNotebookOutputs` bounds all outputs together; the feedback page
(:class:`FeedbackExporter` with its template) escapes what it adds and carries a Content Security
Policy that allows exactly its own scripts. The browser check of the same page is
tests/course/test_feedback_browser.py.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

import nbformat
import pytest
from nbconvert.filters import markdown2html

from rnnkit.grading.pipeline import FeedbackCells, FeedbackExporter, LimitNotebookOutputs, SanitizeOutputs
from rnnkit.grading.pipeline.sanitize_outputs import NOTE_KEY, NOTE_REASON, inert_markdown

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(20)
JPEG = b"\xff\xd8\xff\xe0" + bytes(20)
ESC = "\x1b"
SCRIPT = "<script>document.title='PW'+'NED'</script>"


def notebook(cells) -> nbformat.NotebookNode:
    """A notebook of ``cells``, not validated (a hostile one is not valid)."""
    return nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def display(data: dict, metadata: dict | None = None, kind: str = "display_data"):
    out = nbformat.v4.new_output(kind, data=data, metadata=metadata or {})
    if kind == "execute_result":
        out.execution_count = 3
    return out


def sanitize(*outputs, **traits):
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.outputs = list(outputs)
    nb = notebook([cell])
    nb, _ = SanitizeOutputs(**traits).preprocess(nb, {})
    return nb.cells[0].outputs


def shown(outputs) -> str:
    return json.dumps(outputs)


# ---------------------------------------------------------------------------
# one output at a time
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("mime, value", [
    ("text/html", SCRIPT + "<img src=x onerror=\"document.title='PW'+'NED'\">"),
    ("text/html", "<iframe srcdoc=\"<script>parent.document.title='PW'+'NED'</script>\"></iframe>"),
    ("text/markdown", "<b onmouseover=alert(1)>hi</b> [click](javascript:alert(1))"),
    ("image/svg+xml", "<svg xmlns='http://www.w3.org/2000/svg' onload=\"document.title='PW'+'NED'\"/>"),
    ("application/javascript", "document.title='PW'+'NED'"),
    ("text/latex", r"$\href{javascript:alert(1)}{click}$"),
    ("application/vnd.jupyter.widget-view+json", {"model_id": "x"}),
    ("application/pdf", b64(b"%PDF-1.4")),
])
def test_markup_outputs_are_reduced_to_their_plain_text_with_a_note(mime, value):
    out = sanitize(display({mime: value, "text/plain": "<HTML object>"}))
    assert [o.output_type for o in out] == ["display_data", "stream"]
    assert out[0].data == {"text/plain": "<HTML object>"}
    assert mime in out[1].text and "shown as its plain text" in out[1].text and NOTE_REASON in out[1].text
    assert (value if isinstance(value, str) else "model_id") not in shown(out)


def test_markup_output_without_plain_text_leaves_only_the_note():
    out = sanitize(display({"text/html": SCRIPT}))
    assert [o.output_type for o in out] == ["stream"] and "text/html output: not shown" in out[0].text
    assert "script" not in out[0].text


def test_a_valid_png_and_jpeg_are_kept_with_integer_sizes_only():
    out = sanitize(display({"image/png": b64(PNG) + "\n", "text/plain": "<Figure>"},
                           {"image/png": {"width": 300, "height": "1 onerror=alert(1)", "unconfined": True}}),
                   display({"image/jpeg": b64(JPEG)}, {"image/jpeg": {"width": True, "height": 20}}))
    assert out[0].data["image/png"] == b64(PNG) and out[0].metadata == {"image/png": {"width": 300}}
    assert out[1].data["image/jpeg"] == b64(JPEG) and out[1].metadata == {"image/jpeg": {"height": 20}}
    assert "onerror" not in shown(out)


@pytest.mark.parametrize("mime, value", [
    ("image/png", "\"><script>alert(1)</script>"),       # not base64
    ("image/png", b64(JPEG)),                            # base64 of another format
    ("image/jpeg", b64(b"<svg onload=alert(1)>")),       # base64 of markup
    ("image/png", b64(PNG + bytes(3 * 2**20))),          # larger than max_image
])
def test_an_image_that_is_not_what_it_claims_is_dropped(mime, value):
    out = sanitize(display({mime: value}))
    assert [o.output_type for o in out] == ["stream"] and mime in out[0].text
    assert "script" not in shown(out) and "svg" not in shown(out)


def test_output_metadata_carries_nothing_else():
    out = sanitize(display({"text/plain": "x"}, {"filenames": {"image/png": "http://127.0.0.1:9/x.png"},
                                                "big": "m" * 15_000_000}))
    assert out[0].metadata == {}


def test_stream_and_error_texts_lose_escape_sequences_and_are_bounded():
    evil_name = f"{ESC}]0;retitled{ESC}\\Evil{ESC}[31mError"
    out = sanitize(nbformat.v4.new_output("stream", name="stdout\"><script>", text=f"a{ESC}[2Jb\x07c\n"),
                   nbformat.v4.new_output("error", ename=evil_name, evalue="m" * 20_000_000 + ESC,
                                          traceback=[f"{ESC}[0;31m{evil_name}{ESC}[0m: boom"] * 3))
    assert out[0].name == "stdout" and out[0].text == "abc\n"
    assert out[1].ename == "EvilError"
    assert len(out[1].evalue) < 200_000 and "more characters not shown" in out[1].evalue
    assert out[1].traceback[0] == "EvilError: boom"
    assert ESC not in shown(out) and "\x07" not in shown(out)


def test_execution_counts_are_integers_or_nothing():
    cell = nbformat.v4.new_code_cell("x")
    cell.execution_count = "<script>alert(1)</script>"
    cell.outputs = [display({"text/plain": "1"}, kind="execute_result")]
    cell.outputs[0].execution_count = "1 onerror=x"
    nb, _ = SanitizeOutputs().preprocess(notebook([cell]), {})
    assert nb.cells[0].execution_count is None and nb.cells[0].outputs[0].execution_count is None


def test_a_malformed_or_unknown_output_costs_only_itself():
    out = sanitize({"output_type": "display_data", "data": ["not", "a", "dict"]},
                   {"output_type": "<img src=x onerror=alert(1)>"},
                   nbformat.v4.new_output("stream", name="stdout", text="kept\n"))
    assert [o.output_type for o in out] == ["stream"] * 3 and out[2].text == "kept\n"
    assert "malformed" in out[0].text and "not shown" in out[1].text


def test_sanitizing_twice_changes_nothing():
    outputs = [display({"text/html": SCRIPT, "text/plain": "p"}), display({"image/png": b64(PNG)}),
               nbformat.v4.new_output("error", ename="E", evalue="v", traceback=["t"])]
    once = sanitize(*outputs)
    assert sanitize(*json.loads(json.dumps(once))) == once


# ---------------------------------------------------------------------------
# the pre-flight note and metadata
# ---------------------------------------------------------------------------

HOSTILE_CELL_TYPE = ("<img src=x onerror=\"document.title='PW'+'NED'\"> [x](javascript:alert(1)) "
                     r"<javascript:alert(1)> ![i](http://127.0.0.1:9/t.png) $\href{javascript:alert(1)}{m}$ "
                     "\\(x\\) &lt;b&gt; `<b>` " + ESC + "]0;t" + "\x07")


def test_the_preflight_note_renders_as_text():
    note = ("**Notes from grading (your notebook as it was submitted):**\n\n"
            f"- The cell `unroll` was turned into a {HOSTILE_CELL_TYPE} cell; it is graded as unanswered.")
    html = markdown2html(inert_markdown(note))
    tags = set(re.findall(r"<\s*([a-zA-Z0-9]+)", html))
    assert tags <= {"p", "ul", "li", "strong", "code"}, tags
    assert "<code>unroll</code>" in html and "<strong>Notes from grading" in html
    assert re.findall(r"<[a-z]+\s[^>]*>", html) == []  # no tag with attributes (no link, image, handler)
    assert "$" not in html and ESC not in html
    assert "onerror" in html  # shown as text, escaped


def test_the_note_escaped_twice_is_escaped_once():
    """Autograde escapes the note, generate_feedback escapes it again: the page must read the same."""
    note = ("**Notes from grading (your notebook as it was submitted):**\n\n"
            f"- The cell `unroll` was turned into a {HOSTILE_CELL_TYPE} cell \\\\(x\\\\) \\$y\\$.")
    once = inert_markdown(note)
    assert inert_markdown(once) == once
    html = markdown2html(once)
    assert "<strong>Notes from grading (your notebook as it was submitted):</strong>" in html
    assert "\\(" not in html and "$" not in html and "\uff3c(x\uff3c)" in html  # no MathJax delimiter


def test_only_the_marked_note_cell_is_escaped():
    note = nbformat.v4.new_markdown_cell("- a <b>x</b>")
    note.metadata[NOTE_KEY] = True
    instructor = nbformat.v4.new_markdown_cell("The state $h^{(t)}$ <em>is</em> kept.")
    nb, _ = SanitizeOutputs().preprocess(notebook([note, instructor]), {})
    assert "<b>" not in nb.cells[0].source and nb.cells[1].source == instructor.source


def test_cell_and_notebook_metadata_are_bounded():
    cell = nbformat.v4.new_code_cell("x")
    cell.metadata.update(nbgrader={"grade_id": "t", "grade": False}, blob="x" * 15_000_000,
                         tags=["ok-tag", "x\" onmouseover=\"alert(1)"])
    nb = notebook([cell])
    nb.metadata.update(blob="y" * 15_000_000, widgets={"application/vnd.jupyter.widget-state+json": {}},
                       kernelspec={"name": "python3", "display_name": "Python 3", "language": "python"})
    nb, _ = SanitizeOutputs().preprocess(nb, {})
    assert set(nb.metadata) == {"kernelspec"}
    assert nb.cells[0].metadata == {"nbgrader": {"grade_id": "t", "grade": False}, "tags": ["ok-tag"]}


# ---------------------------------------------------------------------------
# one budget for the notebook
# ---------------------------------------------------------------------------

def _verdict_cell(gid: str, passed: bool):
    cell = nbformat.v4.new_code_cell("check()")
    cell.metadata.nbgrader = {"grade": True, "solution": False, "points": 1, "grade_id": gid,
                              "score": 1 if passed else 0}
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="PASSED\n") if passed else
                    nbformat.v4.new_output("error", ename="Failed", evalue="wrong", traceback=["FAILED"])]
    return cell


def test_many_cells_under_their_cap_stay_under_the_notebook_budget():
    flood = [nbformat.v4.new_code_cell("print('x' * 60_000)") for _ in range(1500)]
    for cell in flood:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 60_000)]
    cells = flood[:700] + [_verdict_cell("test_a", False)] + flood[700:] + [_verdict_cell("test_b", True)]
    nb = notebook(cells)
    nb, _ = LimitNotebookOutputs().preprocess(nb, {})
    size = len(nbformat.writes(nb))
    assert size < 3 * 2**20, size
    assert nb.cells[700].outputs[0].output_type == "error" and nb.cells[-1].outputs[0].text == "PASSED\n"
    notes = [c.outputs[-1].text for c in nb.cells if c.outputs and "not kept" in c.outputs[-1].get("text", "")]
    assert "reached the grading limit of 2 MB]" in notes[0] and "from here on" in notes[0]
    assert "in an earlier cell" in notes[1] and len(notes) == 1500 - 34


def test_a_notebook_within_the_budget_is_unchanged():
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb = notebook([cell, _verdict_cell("t", True)])
    before = nbformat.writes(nb)
    nb, _ = LimitNotebookOutputs().preprocess(nb, {})
    assert nbformat.writes(nb) == before


# ---------------------------------------------------------------------------
# the feedback page: the real exporter and template, on a hostile notebook
# ---------------------------------------------------------------------------

class _Page(HTMLParser):
    """Scripts, event-handler attributes, active elements and URLs of a page."""

    def __init__(self):
        super().__init__()
        self.scripts, self.handlers, self.active, self.urls, self.csp = [], [], [], [], None
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
        if tag in ("iframe", "object", "embed", "svg", "base", "form", "frame", "link"):
            self.active.append(tag)
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp = attrs.get("content")
        self.handlers += [name for name in attrs if name.startswith("on")]
        self.urls += [v for name, v in attrs.items() if name in ("href", "src", "action", "srcdoc") and v]

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def hostile_notebook() -> nbformat.NotebookNode:
    """Release-like a1 cells, then a learner cell with one output of every hostile kind."""
    md = nbformat.v4.new_markdown_cell("The recurrence $h^{(t)} = \\tanh(W_x x^{(t)} + W_s h^{(t-1)})$.")
    note = nbformat.v4.new_markdown_cell(
        f"**Notes from grading (your notebook as it was submitted):**\n\n- The cell `unroll` was turned into a "
        f"{HOSTILE_CELL_TYPE} cell; it is graded as unanswered.")
    note.metadata[NOTE_KEY] = True
    cell = nbformat.v4.new_code_cell("evil()")
    cell.execution_count = 7
    cell.outputs = [
        display({"text/html": SCRIPT + "<img src=x onerror=\"document.title='PW'+'NED'\">"}),
        display({"image/png": b64(PNG)}, {"image/png": {"width": "1 onerror=document.title='PW'+'NED'"}}),
        display({"text/markdown": "<b onclick=x>b</b> [c](javascript:alert(1))"}),
        display({"image/svg+xml": "<svg onload=\"document.title='PW'+'NED'\"></svg>"}),
        display({"application/javascript": "document.title='PW'+'NED'"}),
        display({"text/latex": r"$\href{javascript:alert(1)}{x}$"}),
        display({"text/html": "<iframe srcdoc=\"<script>top.document.title='PW'+'NED'</script>\"></iframe>"}),
        nbformat.v4.new_output("stream", name="stdout", text=r"$\href{javascript:alert(1)}{math}$" + "\n"),
        nbformat.v4.new_output("error", ename=f"{ESC}]0;t\x07<script>E", evalue=f"{ESC}[31m<b>m</b>",
                               traceback=[f"{ESC}]8;;javascript:alert(1)\x07link{ESC}]8;;\x07"]),
    ]
    test = _verdict_cell("test_unroll", False)
    test.outputs[0].evalue = "unroll raised <script>x</script>" + ESC
    nb = notebook([note, md, cell, test])
    nb.metadata.widgets = {"application/vnd.jupyter.widget-state+json": {"state": "</script><script>x"}}
    return nb


@pytest.fixture(scope="module")
def feedback_page() -> str:
    exporter = FeedbackExporter()
    for step in (SanitizeOutputs, LimitNotebookOutputs, FeedbackCells):
        exporter.register_preprocessor(step, enabled=True)
    resources = {"nbgrader": {"assignment": "a1-recurrence", "notebook": "<b>a1</b>", "student": "s",
                              "score": 0, "max_score": 1, "late_penalty": 0}}
    html, _ = exporter.from_notebook_node(hostile_notebook(), resources=resources)
    return html


def test_feedback_page_runs_only_its_own_scripts_by_hash(feedback_page):
    page = _Page()
    page.feed(feedback_page)
    assert page.csp and feedback_page.index("Content-Security-Policy") < feedback_page.index("<script")
    policy = dict(part.strip().split(" ", 1) for part in page.csp.split(";"))
    assert policy["default-src"] == "'none'" and policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert "unsafe-inline" not in policy["script-src"] and "http" not in page.csp
    hashes = {"'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
              for s in page.scripts}
    assert len(page.scripts) == 2 and hashes == set(policy["script-src"].split())
    assert "window.MathJax" in page.scripts[0]


def test_feedback_page_has_no_learner_markup(feedback_page):
    page = _Page()
    page.feed(feedback_page)
    assert page.handlers == [] and page.active == []
    assert [u for u in page.urls if not (u.startswith("#") or u.startswith("data:image/png;base64,"))] == []
    assert ESC not in feedback_page and "\x07" not in feedback_page
    assert "<b>" not in feedback_page.split("</head>")[1]  # the notebook name and the note are escaped
    assert "rnnkit-no-math" in feedback_page and feedback_page.count('class="rnnkit-math"') == 1


def test_exporter_keeps_its_template_whatever_html_exporter_is_set_to():
    """The formgrader's Generate Feedback button sets HTMLExporter.template_name = "feedback"."""
    from traitlets.config import Config
    c = Config()
    c.HTMLExporter.template_name = "feedback"
    c.HTMLExporter.template_file = "index.html.j2"
    exporter = FeedbackExporter(config=c)
    assert exporter.template_name == "rnnkit_feedback" and exporter.template.filename.endswith("feedback.html.j2")
