"""Hand numbers and sentences computed in a chapter's cells to its text (myst-nb "glue").

The book's pages refer to values computed by their own cells with ``{glue:text}`name``` and
``{glue:md}`name```. myst-nb's own ``myst_nb.glue`` does this, but its first call imports the
Sphinx side of myst-nb, which costs seconds in every chapter's kernel. :func:`glue` writes the
same record with IPython alone: a display output whose MIME keys carry myst-nb's prefix for
hidden values and whose metadata names the value (``tests/library/test_booktext.py`` checks it
against ``myst_nb.glue``). Outside a notebook nothing is displayed and nothing happens.
"""
from __future__ import annotations

__all__ = ["glue"]

# The prefix myst-nb gives the MIME types of a value glued with display=False (not shown where it
# is computed, only where the text refers to it).
_HIDDEN_PREFIX = "application/papermill.record/"


def glue(name: str, value, display: bool = False) -> None:
    """Record ``value`` under ``name`` for the page's text (hidden in the cell unless ``display``).

    Parameters
    ----------
    name : str
        The name the text refers to, unique within the page.
    value : object
        Anything IPython can display: a number (``{glue:text}`name:.3f```), or an
        ``IPython.display.Markdown`` sentence (``{glue:md}`name```).
    display : bool
        Also show the value in the cell's output.
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display as show

    bundle, metadata = format_display_data(value)
    prefix = "" if display else _HIDDEN_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    show({prefix + mime: data for mime, data in bundle.items()}, raw=True, metadata=metadata)
