"""Every chapter in the download menu as a notebook (.ipynb), with no launch service configured.

myst-nb writes each executed MyST notebook to ``<build>/jupyter_execute/<page>.ipynb``.
sphinx-book-theme offers it in the download menu only when a launch button is configured, which
in turn needs a public repository; this course builds offline and anywhere, so the notebook is
copied to ``_sources`` and announced to the theme here, for every page that has one.
"""
from __future__ import annotations

import shutil
from pathlib import Path


def _offer_notebook(app, pagename, templatename, context, doctree):
    if context.get("ipynb_source"):
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app):
    # before sphinx-book-theme builds the header buttons (priority 501)
    app.connect("html-page-context", _offer_notebook, priority=450)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
