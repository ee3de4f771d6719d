r"""The gated cells of chapter 8 drawn as data-flow graphs: one LSTM step, one GRU step.

Nodes are circles (gates, element-wise operations, states) or rounded boxes (the stacked
input, the affine maps); every patch carries a ``gid`` (``"node:<kind>:<name>"``,
``"edge:<kind>:<src>><dst>"``), so that :func:`cell_graph` reads the drawn graph back and the
tests can check it against the equations of the cell.

See chapter 8, :doc:`/book/08-lstm`.
"""
from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.path import Path

from ._axes import fit_axes, new_axes

__all__ = ["CELL_NODE_KINDS", "draw_lstm_cell", "draw_gru_cell", "cell_graph"]

#: Kinds of node in :func:`draw_lstm_cell` and :func:`draw_gru_cell` (the ``<row>`` of their gids).
CELL_NODE_KINDS = ("input", "output", "stack", "affine", "gate", "candidate", "mul", "add", "tanh", "oneminus")
_CELL_COLORS = {"input": "#d9ead3", "output": "#ead1dc", "stack": "#eeeeee", "affine": "#cfe2f3",
                "gate": "#fff2cc", "candidate": "#fce5cd", "mul": "#ffffff", "add": "#ffffff",
                "tanh": "#fce5cd", "oneminus": "#ffffff"}
_CELL_RADIUS = {"input": 0.42, "output": 0.42, "gate": 0.34, "candidate": 0.40, "mul": 0.22, "add": 0.22,
                "tanh": 0.40, "oneminus": 0.31}   # wide enough that "tanh" and "1-" stay inside their circles,
                                                  # also in the book's 6.4-inch figures
_PATH_COLOR = "#cc0000"     # the additive path (LSTM cell path, GRU carry path)
_DATA_COLOR = "#333333"


class _CellCanvas:
    """Nodes (circles or boxes) joined by arrows that may bend at waypoints.

    Every node patch has the gid ``"node:<kind>:<name>"``, its text ``"label:<kind>:<name>"``;
    every arrow ``"edge:<kind>:<src>><dst>"``, so that :func:`diagram_counts` counts them by kind
    and :func:`cell_graph` recovers the graph.
    """

    def __init__(self, ax: Axes, fontsize: float):
        self.ax = ax
        self.fontsize = fontsize
        self.shape: dict[str, tuple] = {}     # name -> ("circle", centre, r) or ("box", centre, half-sizes)
        self.kind: dict[str, str] = {}

    def circle(self, kind: str, name: str, xy, label: str, *, fontsize: float | None = None) -> None:
        r = _CELL_RADIUS[kind]
        self.shape[name] = ("circle", np.asarray(xy, float), r)
        self.kind[name] = kind
        self.ax.add_patch(Circle(xy, r, facecolor=_CELL_COLORS[kind], edgecolor="black", linewidth=1.1,
                                 zorder=3, gid=f"node:{kind}:{name}"))
        self.ax.text(*xy, label, ha="center", va="center", fontsize=fontsize or self.fontsize, zorder=4,
                     gid=f"label:{kind}:{name}")

    def box(self, kind: str, name: str, xy, width: float, height: float, label: str,
            *, fontsize: float | None = None) -> None:
        centre = np.asarray(xy, float)
        self.shape[name] = ("box", centre, np.array([width / 2, height / 2]))
        self.kind[name] = kind
        self.ax.add_patch(FancyBboxPatch(tuple(centre - [width / 2, height / 2]), width, height,
                                         boxstyle="round,pad=0,rounding_size=0.12",
                                         facecolor=_CELL_COLORS[kind], edgecolor="black", linewidth=1.1,
                                         zorder=3, gid=f"node:{kind}:{name}"))
        self.ax.text(*centre, label, ha="center", va="center", fontsize=fontsize or self.fontsize, zorder=4,
                     gid=f"label:{kind}:{name}")

    def _rim(self, name: str, towards) -> np.ndarray:
        """Where the straight line from a node's centre towards ``towards`` leaves the node."""
        shape, centre, size = self.shape[name]
        d = np.asarray(towards, float) - centre
        n = np.linalg.norm(d)
        if n == 0:
            return centre
        if shape == "circle":
            return centre + size * d / n
        with np.errstate(divide="ignore"):
            t = np.min(np.where(np.abs(d) > 0, size / np.abs(d), np.inf))
        return centre + t * d

    def edge(self, kind: str, src: str, dst: str, via=(), *, label: str | None = None,
             label_at: float = 0.5, label_offset=(0.0, 0.0), src_at=None, start=None, end=None) -> None:
        """Arrow from ``src`` to ``dst`` through the waypoints ``via``.

        ``src_at`` starts it at a point on another line (a branch, marked with a dot) instead of
        the rim of ``src``; ``start`` and ``end`` give the end points explicitly (on a box's side).
        """
        via = [np.asarray(p, float) for p in via]
        begin = src_at if src_at is not None else start
        first = via[0] if via else (np.asarray(end, float) if end is not None else self.shape[dst][1])
        last = via[-1] if via else (np.asarray(begin, float) if begin is not None else self.shape[src][1])
        start = np.asarray(begin, float) if begin is not None else self._rim(src, first)
        end = np.asarray(end, float) if end is not None else self._rim(dst, last)
        points = np.vstack([start, *via, end])
        path_kind = kind in ("cell", "carry")
        color = _PATH_COLOR if path_kind else _DATA_COLOR
        self.ax.add_patch(FancyArrowPatch(path=Path(points), arrowstyle="-|>", mutation_scale=14,
                                          color=color, linewidth=3.0 if path_kind else 1.3,
                                          shrinkA=0, shrinkB=0, zorder=2, gid=f"edge:{kind}:{src}>{dst}"))
        if src_at is not None:
            self.ax.add_patch(Circle(tuple(start), 0.06, color=color, zorder=2, gid="junction"))
        if label:
            # place the label along the polyline, at the fraction label_at of its length
            seg = np.diff(points, axis=0)
            lengths = np.linalg.norm(seg, axis=1)
            target = label_at * lengths.sum()
            k = int(np.searchsorted(np.cumsum(lengths), target))
            k = min(k, len(seg) - 1)
            before = np.cumsum(lengths)[k] - lengths[k]
            point = points[k] + seg[k] * ((target - before) / lengths[k] if lengths[k] else 0.0)
            self.ax.text(*(point + np.asarray(label_offset)), label, ha="center", va="center",
                         fontsize=self.fontsize - 1, color=color, zorder=5,
                         bbox=dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none", alpha=0.9),
                         gid=f"edgelabel:{kind}:{src}>{dst}")

    def line(self, points, *, gid: str) -> None:
        """A plain line (a bus that several arrows branch off); not an edge of the graph."""
        xs, ys = zip(*points)
        self.ax.add_line(Line2D(xs, ys, color=_DATA_COLOR, linewidth=1.3, zorder=2, gid=gid))

    def frame(self, x0, y0, x1, y1, title: str | None) -> None:
        self.ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="#f7f7f7", edgecolor="0.55",
                                    linewidth=1.0, linestyle="--", zorder=0, gid="frame"))
        if title:
            self.ax.set_title(title, fontsize=self.fontsize + 1)


def draw_lstm_cell(ax: Axes | None = None, *, title: str | None = "LSTM cell", fontsize: float = 12) -> Axes:
    r"""Draw one LSTM step as a data-flow graph, in the book's symbols.

    The drawing shows

    * the stacked input :math:`[h_{t-1}; x_t]` and the **one** affine map
      :math:`W [h_{t-1}; x_t] + b` with :math:`W` of shape ``(4H, H + D)``; its four row blocks
      (rnnkit order i, f, q, :math:`\tilde c`, i.e. code blocks i, f, o, g) feed
    * the three sigmoid gates :math:`i_t` (input), :math:`f_t` (forget), :math:`q_t` (output)
      and the tanh candidate :math:`\tilde c_t`;
    * the element-wise products :math:`f_t \odot c_{t-1}`, :math:`i_t \odot \tilde c_t` and
      :math:`q_t \odot \tanh(c_t)`, the sum that gives :math:`c_t` and the tanh of the cell;
    * the **cell path** :math:`c_{t-1} \to \odot \to + \to c_t` (thick, red): the only
      operations on it are a product with :math:`f_t` and an addition.

    Parameters
    ----------
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure (8.4 x 5.6 inches) is created if omitted.
    title : str or None
        Axes title.
    fontsize : float
        Size of the labels in points.

    Returns
    -------
    matplotlib.axes.Axes
        Node kinds (see :data:`CELL_NODE_KINDS`) and their numbers: input 3
        (:math:`c_{t-1}, h_{t-1}, x_t`), output 2 (:math:`c_t, h_t`), stack 1, affine 1,
        gate 3, candidate 1, mul 3, add 1, tanh 1. Edges: 3 of kind ``"cell"`` (the cell
        path) and 14 of kind ``"data"``. :func:`cell_graph` returns the graph.

    See chapter 8, :doc:`/book/08-lstm`.
    """
    ax = new_axes(ax, 8.4, 5.8)
    cv = _CellCanvas(ax, fontsize)
    small = fontsize - 1
    y_cell, y_mid, y_gate, y_aff = 5.0, 4.2, 3.0, 1.6
    x_f, x_i, x_c, x_q, x_tanh = 2.6, 3.8, 5.0, 6.2, 7.3
    half_height = 0.36
    cv.frame(0.85, 0.55, 8.25, 5.75, title)
    # states entering and leaving the cell
    cv.circle("input", "c_prev", (-0.1, y_cell), r"$c_{t-1}$")
    cv.circle("input", "h_prev", (-0.1, y_aff), r"$h_{t-1}$")
    cv.circle("input", "x", (1.55, -0.55), r"$x_t$")
    cv.circle("output", "c", (9.2, y_cell), r"$c_t$")
    cv.circle("output", "h", (9.2, y_aff), r"$h_t$")
    # the stacked vector and the one affine map
    cv.box("stack", "hx", (1.55, y_aff), 0.9, 0.95, "$h_{t-1}$\n$x_t$", fontsize=small)
    cv.box("affine", "W", (4.45, y_aff), 4.2, 2 * half_height, r"$W\,[h_{t-1};\, x_t] + b$", fontsize=small)
    # gates and candidate, each fed by its own block of rows of W (drawn as vertical arrows)
    for name, x in (("f", x_f), ("i", x_i), ("q", x_q)):
        cv.circle("gate", name, (x, y_gate), r"$\sigma$")
    cv.circle("candidate", "c_tilde", (x_c, y_gate), r"$\tanh$", fontsize=small)
    for name, x in (("f", x_f), ("i", x_i), ("c_tilde", x_c), ("q", x_q)):
        cv.edge("data", "W", name, start=(x, y_aff + half_height))
    # element-wise operations
    cv.circle("mul", "mul_f", (x_f, y_cell), r"$\odot$")
    cv.circle("mul", "mul_i", (x_c, y_mid), r"$\odot$")
    cv.circle("add", "add", (x_c, y_cell), r"$+$")
    cv.circle("tanh", "tanh_c", (x_tanh, y_mid), r"$\tanh$", fontsize=small)
    cv.circle("mul", "mul_q", (x_tanh, y_gate), r"$\odot$")
    # the cell path
    cv.edge("cell", "c_prev", "mul_f")
    cv.edge("cell", "mul_f", "add")
    cv.edge("cell", "add", "c")
    # everything else, gate outputs labelled with their symbols
    cv.edge("data", "h_prev", "hx")
    cv.edge("data", "x", "hx")
    cv.edge("data", "hx", "W")
    cv.edge("data", "f", "mul_f", label=r"$f_t$", label_offset=(0.3, 0.0))
    cv.edge("data", "i", "mul_i", via=[(x_i, y_mid)], label=r"$i_t$", label_at=0.3, label_offset=(-0.3, 0.0))
    cv.edge("data", "c_tilde", "mul_i", label=r"$\tilde c_t$", label_offset=(0.36, 0.0))
    cv.edge("data", "mul_i", "add")
    cv.edge("data", "add", "tanh_c", src_at=(x_tanh, y_cell))
    cv.edge("data", "q", "mul_q", label=r"$q_t$", label_offset=(0.0, 0.3))
    cv.edge("data", "tanh_c", "mul_q")
    cv.edge("data", "mul_q", "h", via=[(x_tanh, y_aff)])
    ax.text(1.45, y_cell + 0.12, "cell path", color=_PATH_COLOR, fontsize=small, ha="center",
            va="bottom", gid="note:cell-path")
    ax.text(4.45 - 2.1, y_aff - half_height - 0.12, r"row blocks: $i$ 0:H, $f$ H:2H, $q$ 2H:3H, $\tilde c$ 3H:4H",
            fontsize=small - 1, ha="left", va="top", color="0.25", gid="note:blocks")   # under W, clear of [h; x]
    fit_axes(ax, (-0.7, 9.8), (-1.1, 6.0))
    return ax


def draw_gru_cell(ax: Axes | None = None, *, title: str | None = "GRU cell", fontsize: float = 12) -> Axes:
    r"""Draw one GRU step (rnnkit and PyTorch convention) as a data-flow graph.

    The input and the state each pass through their own affine map, :math:`W_x x_t + b_x` and
    :math:`W_h h_{t-1} + b_h` (3H rows each, blocks r, z, n). The drawing shows the reset
    gate :math:`r_t`, the update gate :math:`z_t`, the candidate
    :math:`n_t = \tanh(\dots + r_t \odot (\dots))`, the element-wise products
    :math:`r_t \odot (W_{hn} h_{t-1} + b_{hn})`, :math:`(1 - z_t) \odot n_t` and
    :math:`z_t \odot h_{t-1}`, and the **carry path** :math:`h_{t-1} \to \odot \to + \to h_t`
    (thick, red), the GRU's counterpart of the LSTM cell path.

    Parameters
    ----------
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure (8.4 x 5.6 inches) is created if omitted.
    title : str or None
        Axes title.
    fontsize : float
        Size of the labels in points.

    Returns
    -------
    matplotlib.axes.Axes
        Node kinds and numbers: input 2 (:math:`h_{t-1}, x_t`), output 1 (:math:`h_t`),
        affine 2, gate 2, candidate 1, mul 3, add 1, oneminus 1. Edges: 3 of kind
        ``"carry"`` and 13 of kind ``"data"``.

    See chapter 8, :doc:`/book/08-lstm`.
    """
    ax = new_axes(ax, 8.4, 5.8)
    cv = _CellCanvas(ax, fontsize)
    small = fontsize - 1
    y_top, y_mid, y_gate, y_hbus, y_xbus = 5.0, 4.05, 2.9, 1.25, 0.55
    x_z, x_r, x_mr, x_n, x_mix = 2.35, 4.25, 5.45, 6.45, 7.45
    cv.frame(0.75, 0.2, 8.25, 5.75, title)
    cv.circle("input", "h_prev", (-0.1, y_top), r"$h_{t-1}$")
    cv.circle("input", "x", (1.35, -0.6), r"$x_t$")
    cv.circle("output", "h", (9.2, y_top), r"$h_t$")
    # two buses: the previous state (a branch of the carry path) and the input
    x_branch = 1.2
    cv.line([(x_branch, y_top), (x_branch, y_hbus), (x_mr, y_hbus)], gid="bus:h")
    cv.ax.add_patch(Circle((x_branch, y_top), 0.06, color=_PATH_COLOR, zorder=2, gid="junction"))
    cv.line([(1.35, -0.6 + _CELL_RADIUS["input"]), (1.35, y_xbus), (x_n + 0.35, y_xbus)], gid="bus:x")
    cv.circle("gate", "z", (x_z, y_gate), r"$\sigma$")
    cv.circle("gate", "r", (x_r, y_gate), r"$\sigma$")
    cv.circle("candidate", "n", (x_n, y_gate), r"$\tanh$", fontsize=small)
    cv.circle("mul", "mul_r", (x_mr, 2.15), r"$\odot$")
    cv.circle("oneminus", "one_minus_z", (x_z + 1.3, y_mid), r"$1-$", fontsize=small)
    cv.circle("mul", "mul_z", (x_z, y_top), r"$\odot$")
    cv.circle("mul", "mul_n", (x_mix, y_mid), r"$\odot$")
    cv.circle("add", "add", (x_mix, y_top), r"$+$")
    # the carry path
    cv.edge("carry", "h_prev", "mul_z")
    cv.edge("carry", "mul_z", "add")
    cv.edge("carry", "add", "h")
    # each gate adds a block of W_h h_{t-1} (left arrow) and of W_x x_t (right arrow), then sigma
    off = 0.2
    for gate, x in (("z", x_z), ("r", x_r)):
        cv.edge("data", "h_prev", gate, src_at=(x - off, y_hbus), end=(x - off, y_gate - 0.28),
                label=rf"$W_{{h{gate}}}$", label_at=0.55, label_offset=(-0.42, 0.0))
        cv.edge("data", "x", gate, src_at=(x + off, y_xbus), end=(x + off, y_gate - 0.28),
                label=rf"$W_{{x{gate}}}$", label_at=0.55, label_offset=(0.42, 0.0))
    cv.edge("data", "h_prev", "mul_r", src_at=(x_mr, y_hbus), label=r"$W_{hn}$", label_at=0.45,
            label_offset=(0.4, 0.0))
    r_n = _CELL_RADIUS["candidate"]
    cv.edge("data", "x", "n", src_at=(x_n + 0.35, y_xbus), end=(x_n + 0.2, y_gate - np.sqrt(r_n ** 2 - 0.2 ** 2)),
            label=r"$W_{xn}$", label_at=0.5, label_offset=(0.42, 0.0))
    cv.edge("data", "r", "mul_r", label=r"$r_t$", label_at=0.5, label_offset=(0.12, 0.3))
    cv.edge("data", "mul_r", "n")
    cv.edge("data", "z", "mul_z", label=r"$z_t$", label_offset=(-0.3, 0.0))
    cv.edge("data", "z", "one_minus_z", start=(x_z + 0.24, y_gate + 0.24))
    cv.edge("data", "one_minus_z", "mul_n")
    cv.edge("data", "n", "mul_n", label=r"$n_t$", label_at=0.45, label_offset=(0.3, -0.15))
    cv.edge("data", "mul_n", "add")
    # the notes sit where no arrow or node is: above the long stretch of the carry path, and
    # under the frame's bottom edge (tests/library/test_diagrams.py checks that no label collides)
    ax.text((x_z + x_mix) / 2, y_top + 0.14, "carry path", color=_PATH_COLOR, fontsize=small, ha="center",
            va="bottom", gid="note:carry-path")
    ax.text(8.25, 0.08, "biases omitted", fontsize=small - 1, ha="right", va="top", color="0.35",
            gid="note:biases")
    fit_axes(ax, (-0.7, 9.8), (-1.15, 6.0))
    return ax


def cell_graph(ax: Axes) -> dict[str, object]:
    """The graph that :func:`draw_lstm_cell` or :func:`draw_gru_cell` drew on ``ax``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes

    Returns
    -------
    dict
        ``"kinds"``: node name -> kind; ``"edges"``: list of ``(kind, src, dst)`` triples,
        read back from the gids of the patches.
    """
    kinds: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    for patch in ax.patches:
        gid = patch.get_gid() or ""
        head, _, rest = gid.partition(":")
        if head == "node":
            kind, _, name = rest.partition(":")
            kinds[name] = kind
        elif head == "edge" and ">" in rest:
            kind, _, ends = rest.partition(":")
            src, _, dst = ends.partition(">")
            edges.append((kind, src, dst))
    return {"kinds": kinds, "edges": edges}
