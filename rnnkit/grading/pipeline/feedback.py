"""The feedback page: hidden-test cells named after their function, messages wrapped, MathJax inlined."""
from __future__ import annotations

import re
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor

from .. import registry
from .notebook import _is_hidden_test, _nb_meta


# ---------------------------------------------------------------------------
# feedback pages
# ---------------------------------------------------------------------------

#: Directory of the course's nbconvert templates (``rnnkit_feedback``).
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"  # rnnkit/grading/templates (package data)


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


class FeedbackCells(NbGraderPreprocessor):
    """Before nbgrader renders a feedback page: no hidden-test source, a name for each graded cell,
    and MathJax for the page itself (see templates/rnnkit_feedback)."""

    _js = None

    def preprocess(self, nb, resources):
        labels = {}
        checks = registry.checks_for(resources["nbgrader"]["assignment"])
        for cell in nb.cells:
            if not _is_hidden_test(cell):
                continue
            gid = _nb_meta(cell)["grade_id"]
            check = checks.get(gid)
            part = gid.rsplit("_", 1)[-1] if gid.endswith(("_parameters", "_inputs")) else ""
            labels[gid] = f"{check.function}" + (f" ({part})" if part else "") if check else gid
            cell.source = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?",
                                 "# (hidden tests: they ran when the notebook was graded; the verdict is below)\n",
                                 cell.source, flags=re.S)
        if FeedbackCells._js is None:
            FeedbackCells._js = _mathjax_js()
        resources["rnnkit_feedback"] = {"labels": labels, "mathjax_js": FeedbackCells._js}
        return nb, resources
