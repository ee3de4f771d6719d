"""Progress bars for long loops (training runs), with tqdm when it is installed.

``progress(range(steps), desc="training")`` wraps an iterable: in a terminal or a notebook with
tqdm installed (the ``lab`` and ``book`` extras bring it) it shows a bar; without tqdm, or when
``RNNKIT_PROGRESS=0`` (set while the book is built, whose pages should show results rather than
bars), it returns the iterable unchanged. tqdm is the ecosystem's standard; rnnkit itself only
depends on numpy, hence the optional import.
"""
from __future__ import annotations

import os
from typing import Iterable, TypeVar

__all__ = ["progress", "enabled"]

T = TypeVar("T")


def enabled() -> bool:
    """Whether bars are shown: tqdm importable and ``RNNKIT_PROGRESS`` not set to ``0``."""
    if os.environ.get("RNNKIT_PROGRESS", "1") == "0":
        return False
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def progress(iterable: Iterable[T], desc: str = "", total: int | None = None, **tqdm_options) -> Iterable[T]:
    """``iterable`` with a progress bar (see the module docstring for when one is shown).

    Parameters
    ----------
    iterable : iterable
        What the loop runs over, e.g. ``range(steps)``.
    desc : str
        Label in front of the bar.
    total : int, optional
        Number of items, when ``len(iterable)`` does not give it.
    **tqdm_options
        Passed to ``tqdm`` (e.g. ``mininterval``).
    """
    if not enabled():
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, desc=desc, total=total, **tqdm_options)
