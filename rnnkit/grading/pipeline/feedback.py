"""The feedback page: hidden-test cells named after their function, messages wrapped, MathJax inlined,
and a Content Security Policy that lets only the page's own scripts run.

:class:`FeedbackExporter` is the exporter of ``nbgrader generate_feedback`` (``GenerateFeedback.exporter_class``
in ``nbgrader_config.py``), whoever starts it: the command line or the formgrader's *Generate Feedback*
button (which sets ``HTMLExporter.template_name = "feedback"`` for the run). Its template is fixed here,
not in the global ``HTMLExporter`` configuration, which the formgrader's own pages use too; and it loads
its template and MathJax when it is created, so a broken installation stops ``generate_feedback``
before nbgrader removes any existing feedback (nbgrader deletes a student's feedback before it
regenerates it, and again when the conversion fails).

:class:`FeedbackCells` (a preprocessor of the same run) hides the hidden tests' source, names each graded
cell after its function, and hands the template the page's scripts with the policy that allows exactly
them (``script-src`` with their SHA-256 hashes, no ``'unsafe-inline'``, nothing from the network).
"""
from __future__ import annotations

import base64
import copy
import hashlib
import re
from pathlib import Path

import nbgrader
from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets.config import Config

from .. import registry
from .notebook import is_hidden_test, nbgrader_meta


# ---------------------------------------------------------------------------
# feedback pages
# ---------------------------------------------------------------------------

#: Directory of the course's nbconvert templates (``rnnkit_feedback``).
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"  # rnnkit/grading/templates (package data)
#: nbgrader's formgrader templates (the ``feedback`` template ours extends) and its Bootstrap CSS.
NBGRADER_TEMPLATES = Path(nbgrader.__file__).resolve().parent / "server_extensions" / "formgrader" / "templates"
NBGRADER_CSS = (Path(nbgrader.__file__).resolve().parent / "server_extensions" / "formgrader" / "static"
                / "node_modules" / "bootstrap" / "dist" / "css")

#: MathJax's configuration: TeX delimiters, SVG output, and math typeset only inside elements of class
#: ``rnnkit-math`` (the instructor's markdown cells): the body is ``rnnkit-no-math``, so no text a learner
#: wrote (outputs, messages, the pre-flight note) is ever read as TeX.
MATHJAX_CONFIG = """window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']], processEscapes: true},
  svg: {fontCache: 'global'},
  options: {ignoreHtmlClass: 'rnnkit-no-math', processHtmlClass: 'rnnkit-math'}
};"""


def _mathjax_js() -> str:
    """MathJax 3 (TeX input, SVG output: no font files to fetch) from the sphinx-mathjax-offline package."""
    from importlib.metadata import PackageNotFoundError, distribution
    try:
        path = Path(distribution("sphinx-mathjax-offline").locate_file(
            "sphinx-mathjax-offline/static/mathjax/tex-svg.js"))
        text = path.read_text(encoding="utf-8")
    except (PackageNotFoundError, OSError):
        raise RuntimeError("feedback pages inline MathJax from the sphinx-mathjax-offline package: "
                           "pip install 'rnnkit[grading]'") from None
    return text.replace("</script", "<\\/script")


def content_security_policy(scripts: list[str]) -> str:
    """The page's policy: only ``scripts`` (by hash) run; styles and ``data:`` images inline; no network."""
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'"
                      for s in scripts)
    return (f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:; "
            f"font-src data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-src 'none'; "
            f"connect-src 'none'; worker-src 'none'; manifest-src 'none'; media-src 'none'")


_page_scripts: dict = {}


def page_scripts() -> dict:
    """The feedback page's scripts (MathJax's configuration, MathJax) and the policy that allows them."""
    if not _page_scripts:
        scripts = [MATHJAX_CONFIG, _mathjax_js()]
        _page_scripts.update(scripts=scripts, csp=content_security_policy(scripts))
    return _page_scripts


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter with the course's feedback template, whatever ``HTMLExporter`` is set to.

    The template settings are laid over the given configuration in this class's own section, which
    takes precedence over ``HTMLExporter``'s; the template and MathJax are loaded at once.
    """

    def __init__(self, config=None, **kw):
        parent = kw.get("parent")
        base = config if config is not None else (parent.config if parent is not None else Config())
        fixed = Config()
        fixed.FeedbackExporter.template_name = "rnnkit_feedback"
        fixed.FeedbackExporter.template_file = "feedback.html.j2"  # extends nbgrader's feedback index.html.j2
        fixed.FeedbackExporter.extra_template_basedirs = [str(TEMPLATES), str(NBGRADER_TEMPLATES)]
        fixed.FeedbackExporter.extra_template_paths = [str(NBGRADER_CSS)]  # bootstrap.min.css, inlined
        merged = copy.deepcopy(base)
        merged.merge(fixed)
        super().__init__(config=merged, **kw)
        self.template  # noqa: B018 - a missing template fails here, before any feedback is removed
        page_scripts()  # so does a missing MathJax


class FeedbackCells(NbGraderPreprocessor):
    """Before nbgrader renders a feedback page: no hidden-test source, a name for each graded cell,
    and the page's scripts with their Content Security Policy (see templates/rnnkit_feedback)."""

    def preprocess(self, nb, resources):
        labels = {}
        checks = registry.checks_for(resources["nbgrader"]["assignment"])
        for cell in nb.cells:
            if not is_hidden_test(cell):
                continue
            gid = nbgrader_meta(cell)["grade_id"]
            check = checks.get(gid)
            part = gid.rsplit("_", 1)[-1] if gid.endswith(("_parameters", "_inputs")) else ""
            labels[gid] = f"{check.function}" + (f" ({part})" if part else "") if check else gid
            cell.source = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?",
                                 "# (hidden tests: they ran when the notebook was graded; the verdict is below)\n",
                                 cell.source, flags=re.S)
        resources["rnnkit_feedback"] = {"labels": labels, **page_scripts()}
        return nb, resources


__all__ = ["TEMPLATES", "FeedbackCells", "FeedbackExporter", "MATHJAX_CONFIG", "content_security_policy",
           "page_scripts"]
