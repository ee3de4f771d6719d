r"""Matplotlib drawings of recurrent computational graphs, made by the book at build time.

Two kinds of drawing, one module each:

* ``rnnkit.diagrams.unrolled`` -- the network as a graph over time (chapters 1-3):
  :func:`draw_folded`, :func:`draw_unrolled`, :func:`draw_unfolding`, :func:`draw_family`,
  and :func:`diagram_counts`, which counts the nodes and edges drawn;
* ``rnnkit.diagrams.cells`` -- one step of a gated cell as a data-flow graph (chapter 8):
  :func:`draw_lstm_cell`, :func:`draw_gru_cell`, and :func:`cell_graph`, which reads the
  drawn graph back.

Every name is used from here: ``from rnnkit import diagrams; diagrams.draw_unrolled(4)``.

matplotlib is not a dependency of rnnkit (``import rnnkit`` needs only numpy); it comes with
the ``plot`` extra, ``pip install "rnnkit[plot]"``, and with the ``lab`` and ``book`` extras.
"""
from __future__ import annotations

try:
    import matplotlib  # noqa: F401  (only to fail early, with the install command)
except ImportError as err:
    raise ImportError(
        "rnnkit.diagrams draws with matplotlib, which is not installed. Install the plotting extra: "
        "pip install \"rnnkit[plot]\" (the lab and book extras include it)") from err

from . import cells, unrolled
from .cells import cell_graph, draw_gru_cell, draw_lstm_cell
from .unrolled import diagram_counts, draw_family, draw_folded, draw_unfolding, draw_unrolled

# Bound here, with their descriptions, so the API page (which documents this module) shows them.

#: The three families of Goodfellow et al. (2016), section 10.2, by the names used in rnnkit.models.
FAMILIES = unrolled.FAMILIES

#: Kinds of node in :func:`draw_lstm_cell` and :func:`draw_gru_cell` (the ``<row>`` of their gids).
CELL_NODE_KINDS = cells.CELL_NODE_KINDS

__all__ = ["FAMILIES", "draw_folded", "draw_unrolled", "draw_unfolding", "draw_family", "diagram_counts",
           "CELL_NODE_KINDS", "draw_lstm_cell", "draw_gru_cell", "cell_graph"]
