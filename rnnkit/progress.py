"""Progress bars for long loops (training runs), with tqdm when it is installed.

``progress(range(steps), desc="training")`` wraps an iterable and shows a bar while the loop runs:

- in a Jupyter kernel (JupyterLab, Jupyter Notebook, VS Code) with ipywidgets installed (the ``lab``
  extra brings it): tqdm's widget bar;
- anywhere else (a terminal, a script, a kernel without ipywidgets): tqdm's text bar, written to
  **standard output**. Never to standard error, which a notebook shows in red and nbgrader counts as a
  failed cell, and never tqdm's "IProgress not found" warning, which ``tqdm.auto`` gives in a kernel
  without ipywidgets;
- without tqdm, or when ``RNNKIT_PROGRESS=0`` (set while the book is built, whose pages should show
  results rather than bars): the iterable unchanged.

:func:`display` says which of the three applies. tqdm is the ecosystem's standard; rnnkit itself only
depends on numpy, hence the optional imports (made when a bar is asked for, not at import).
"""
from __future__ import annotations

import os
import sys
from typing import Iterable, TypeVar

__all__ = ["progress", "enabled", "display"]

T = TypeVar("T")


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def _in_jupyter_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (IPython with a kernel attached), not a terminal."""
    ipython = sys.modules.get("IPython")          # a kernel has imported IPython; a plain script has not
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def enabled() -> bool:
    """Whether bars are shown: tqdm importable and ``RNNKIT_PROGRESS`` not set to ``0``."""
    return os.environ.get("RNNKIT_PROGRESS", "1") != "0" and _importable("tqdm")


def display() -> str:
    """How :func:`progress` shows a bar here: ``"widget"``, ``"text"`` (on stdout) or ``"none"``."""
    if not enabled():
        return "none"
    return "widget" if _in_jupyter_kernel() and _importable("ipywidgets") else "text"


def progress(iterable: Iterable[T], desc: str = "", total: int | None = None, **tqdm_options) -> Iterable[T]:
    """``iterable`` with a progress bar (see the module docstring for which bar, and when none).

    Parameters
    ----------
    iterable : iterable
        What the loop runs over, e.g. ``range(steps)``.
    desc : str
        Label in front of the bar.
    total : int, optional
        Number of items, when ``len(iterable)`` does not give it.
    **tqdm_options
        Passed to ``tqdm`` (e.g. ``mininterval``). A ``file`` option is honoured by the text bar.
    """
    kind = display()
    if kind == "none":
        return iterable
    if kind == "widget":
        from tqdm.notebook import tqdm as widget_bar
        return widget_bar(iterable, desc=desc, total=total, **tqdm_options)
    from tqdm.std import tqdm as text_bar
    options = {"file": sys.stdout, **tqdm_options}
    if _in_jupyter_kernel():
        # a kernel keeps every update in the cell's output (the page shows only the last, after "\r"):
        # one update a second keeps a long run's output small
        options.setdefault("mininterval", 1.0)
    return text_bar(iterable, desc=desc, total=total, **options)
