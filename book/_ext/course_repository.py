"""The course repository's address in the book's text, from ONE setting: ``repository.url`` in ``_config.yml``.

Jupyter Book passes ``repository.url`` to the theme (``html_theme_options["repository_url"]``, which the
launch buttons use). This extension reads it there and defines the MyST substitution
``{{ course_install }}``: with an address, the exact install command for this course
(``pip install "rnnkit[lab] @ git+<the address>"``); without one, a sentence saying the address is
the instructor's (so no page ever shows a ``<placeholder>`` to paste). ``tools/release.py`` reads the
same setting for the notebooks' install cell.
"""
from __future__ import annotations


def course_install(url: str) -> str:
    """The Markdown ``{{ course_install }}`` stands for, for the repository address ``url`` ('' = not set)."""
    url = (url or "").strip()
    if not url:
        return ("(This copy of the book names no repository: its address is the one your instructor gives "
                "you, set as `repository.url` in the book's `_config.yml` by whoever publishes it.)")
    return f'For this course that is `COURSE_REPO={url}`, so the command is `pip install "rnnkit[lab] @ git+{url}"`.'


def _define(app, config):
    url = str((config.html_theme_options or {}).get("repository_url") or "")
    substitutions = dict(config.myst_substitutions or {})
    substitutions["course_install"] = course_install(url)
    config.myst_substitutions = substitutions


def setup(app):
    app.connect("config-inited", _define)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
