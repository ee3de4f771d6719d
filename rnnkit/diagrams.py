r"""Matplotlib drawings of recurrent computational graphs.

The book draws every figure with code at build time; this module holds the
drawings of chapters 1-3:

* :func:`draw_folded` -- the recurrent network as a cycle (one state node with
  a self-loop through a one-step delay);
* :func:`draw_unrolled` -- the same network unrolled over ``T`` steps into a
  chain, one copy of each node per time step, every copy of an edge carrying
  the *same* weight matrix;
* :func:`draw_unfolding` -- both side by side (chapter 2, :doc:`/book/02-unfolding`);
* :func:`draw_family` -- the three design patterns of Goodfellow et al. (2016),
  section 10.2 (chapter 3, :doc:`/book/03-three-families`).

Every node is a matplotlib ``Circle`` patch and every edge a
``FancyArrowPatch``; each carries a ``gid`` of the form
``"node:<row>:<t>"`` or ``"edge:<weight>:<t>"`` so that :func:`diagram_counts`
(and the tests) can count what was drawn.
"""
from __future__ import annotations

from collections import Counter
from numbers import Integral

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle
from matplotlib.path import Path

__all__ = ["FAMILIES", "draw_folded", "draw_unrolled", "draw_unfolding", "draw_family", "diagram_counts"]

#: The three families of Goodfellow et al. (2016), section 10.2, by the names used in rnnkit.models.
FAMILIES = ("hidden_to_hidden", "output_to_hidden", "sequence_to_one")
_FAMILY_ALIASES = {"a": "hidden_to_hidden", "b": "output_to_hidden", "c": "sequence_to_one"}
_FAMILY_TITLES = {
    "hidden_to_hidden": "(a) hidden-to-hidden,\nan output at every step",
    "output_to_hidden": "(b) output-to-hidden only,\nan output at every step",
    "sequence_to_one": "(c) hidden-to-hidden,\none output at the end",
}

_RADIUS = 0.34          # node radius in data units (axes use an equal aspect)
_COLUMN = 1.6           # horizontal distance between time steps
_ROWS = {"x": 0.0, "s": 1.5, "o": 3.0, "y": 4.5}   # vertical position of each kind of node
_COLORS = {"x": "#d9ead3", "s": "#cfe2f3", "o": "#fce5cd", "y": "#ead1dc"}
_EDGE_COLORS = {"Wx": "#38761d", "Ws": "#1155cc", "Wy": "#b45f06", "Wo": "#a61c00"}


def _check_T(T, func: str) -> int:
    """T must be a positive integer (bool is rejected: ``True`` is not a length)."""
    if isinstance(T, bool) or not isinstance(T, Integral):
        raise ValueError(f"{func}: argument 'T' must be a positive int, got {T!r} of type {type(T).__name__}")
    if T < 1:
        raise ValueError(f"{func}: argument 'T' must be >= 1 (the number of time steps), got {T}")
    return int(T)


def _new_axes(ax: Axes | None, width: float, height: float) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(width, height))
    return ax


class _Canvas:
    """Places nodes and weight-labelled edges on an axes, in data coordinates."""

    def __init__(self, ax: Axes):
        self.ax = ax
        self.pos: dict[tuple[str, int], tuple[float, float]] = {}

    def node(self, row: str, t: int, label: str, x: float) -> None:
        y = _ROWS[row]
        self.pos[(row, t)] = (x, y)
        self.ax.add_patch(Circle((x, y), _RADIUS, facecolor=_COLORS[row], edgecolor="black",
                                 linewidth=1.2, zorder=3, gid=f"node:{row}:{t}"))
        self.ax.text(x, y, label, ha="center", va="center", fontsize=11, zorder=4, gid=f"label:{row}:{t}")

    def edge(self, src: tuple[str, int], dst: tuple[str, int], weight: str, t: int,
             label_side: float = 1.0, label: bool = True) -> None:
        (x0, y0), (x1, y1) = self.pos[src], self.pos[dst]
        direction = np.array([x1 - x0, y1 - y0])
        direction = direction / np.linalg.norm(direction)
        # Start and end on the circles' rims, not their centres.
        start = np.array([x0, y0]) + _RADIUS * direction
        end = np.array([x1, y1]) - _RADIUS * direction
        color = _EDGE_COLORS.get(weight, "black")
        self.ax.add_patch(FancyArrowPatch(tuple(start), tuple(end), arrowstyle="-|>", mutation_scale=13,
                                          color=color, linewidth=1.4, zorder=2, gid=f"edge:{weight}:{t}"))
        if label:
            mid = (start + end) / 2
            normal = np.array([-direction[1], direction[0]]) * 0.2 * label_side
            self.ax.text(*(mid + normal), rf"$W_{{{weight[1:]}}}$", color=color, fontsize=9,
                         ha="center", va="center", zorder=4, gid=f"weightlabel:{weight}:{t}")

    def finish(self, title: str | None) -> None:
        xs = [p[0] for p in self.pos.values()]
        ys = [p[1] for p in self.pos.values()]
        self.ax.set_xlim(min(xs) - 0.9, max(xs) + 0.9)
        self.ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
        self.ax.set_aspect("equal")
        self.ax.set_axis_off()
        if title:
            self.ax.set_title(title, fontsize=11)


def draw_folded(ax: Axes | None = None, *, state: str = "s", output: str = "y",
                title: str | None = "folded") -> Axes:
    r"""Draw the folded recurrent network: input, state with a self-loop, output.

    The self-loop :math:`W_s` passes through a small black square, the usual mark
    for a delay of one time step: the state read at step :math:`t` is the one
    written at step :math:`t-1`.

    Parameters
    ----------
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is created if omitted.
    state, output : str
        Symbols of the state and output nodes (``"s", "y"`` as in the book's first chapters,
        ``"h", "o"`` as in Goodfellow et al.).
    title : str or None
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        Contains 3 nodes and 3 edges (``Wx``, ``Ws``, ``Wy``), each with time index 0.
    """
    ax = _new_axes(ax, 2.6, 4.0)
    canvas = _Canvas(ax)
    canvas.node("x", 0, f"${'x'}$", 0.0)
    canvas.node("s", 0, f"${state}$", 0.0)
    canvas.node("o", 0, f"${output}$", 0.0)
    canvas.edge(("x", 0), ("s", 0), "Wx", 0, label_side=-1.0)
    canvas.edge(("s", 0), ("o", 0), "Wy", 0, label_side=-1.0)
    # The self-loop: an arc of a circle to the right of the state node that leaves
    # the node at its lower right and comes back in at its upper right.
    sx, sy = canvas.pos[("s", 0)]
    loop_radius = 0.42
    centre = np.array([sx + _RADIUS + 0.30, sy])
    angles = np.deg2rad(np.linspace(-150.0, 150.0, 41))
    arc = centre + loop_radius * np.column_stack([np.cos(angles), np.sin(angles)])
    ax.add_patch(FancyArrowPatch(path=Path(arc), arrowstyle="-|>", mutation_scale=13,
                                 color=_EDGE_COLORS["Ws"], linewidth=1.4, zorder=2, gid="edge:Ws:0"))
    delay_x = centre[0] + loop_radius   # the point of the arc farthest from the node
    ax.add_patch(Rectangle((delay_x - 0.08, sy - 0.08), 0.16, 0.16, color="black", zorder=4, gid="delay"))
    ax.text(delay_x + 0.18, sy, r"$W_s$", color=_EDGE_COLORS["Ws"], fontsize=9, ha="left", va="center",
            gid="weightlabel:Ws:0")
    canvas.pos[("loop", 0)] = (delay_x + 0.2, sy)   # widen the limits to fit the loop and its label
    canvas.finish(title)
    return ax


def draw_unrolled(T: int, ax: Axes | None = None, *, state: str = "s", output: str = "y",
                  initial_state: bool = True, title: str | None = None) -> Axes:
    r"""Draw the network unrolled over ``T`` time steps.

    Step :math:`t` has an input node :math:`x^{(t)}`, a state node
    :math:`s^{(t)}` and an output node :math:`y^{(t)}`; the edges
    :math:`x^{(t)} \to s^{(t)}` (``Wx``), :math:`s^{(t-1)} \to s^{(t)}` (``Ws``)
    and :math:`s^{(t)} \to y^{(t)}` (``Wy``) are drawn once per step, all copies
    of an edge labelled with the same matrix.

    Parameters
    ----------
    T : int
        Number of time steps, ``T >= 1``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is created if omitted.
    state, output : str
        Symbols of the state and output nodes.
    initial_state : bool
        Draw the initial state :math:`s^{(0)}` (and its ``Ws`` edge into
        :math:`s^{(1)}`); without it the chain starts at :math:`s^{(1)}`.
    title : str or None
        Axes title; defaults to ``"unrolled, T = <T>"``.

    Returns
    -------
    matplotlib.axes.Axes
        Contains ``3 T (+1)`` nodes and ``3 T`` (or ``3 T - 1``) edges.

    Raises
    ------
    ValueError
        If ``T`` is not a positive integer.
    """
    T = _check_T(T, "draw_unrolled")
    ax = _new_axes(ax, min(1.4 * T + 2.0, 16.0), 4.0)
    canvas = _Canvas(ax)
    first = 0 if initial_state else 1
    if initial_state:
        canvas.node("s", 0, f"${state}^{{(0)}}$", 0.0)
    for t in range(1, T + 1):
        x = t * _COLUMN
        canvas.node("x", t, f"$x^{{({t})}}$", x)
        canvas.node("s", t, f"${state}^{{({t})}}$", x)
        canvas.node("o", t, f"${output}^{{({t})}}$", x)
        canvas.edge(("x", t), ("s", t), "Wx", t, label_side=1.0)
        canvas.edge(("s", t), ("o", t), "Wy", t, label_side=1.0)
        if t - 1 >= first:
            canvas.edge(("s", t - 1), ("s", t), "Ws", t)
    canvas.finish(f"unrolled, T = {T}" if title is None else title)
    return ax


def draw_unfolding(T: int, *, state: str = "s", output: str = "y") -> Figure:
    """Draw the folded network next to its unrolling over ``T`` steps.

    Parameters
    ----------
    T : int
        Number of time steps of the unrolled chain, ``T >= 1``.
    state, output : str
        Symbols of the state and output nodes.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: :func:`draw_folded` and :func:`draw_unrolled`.

    Raises
    ------
    ValueError
        If ``T`` is not a positive integer.
    """
    T = _check_T(T, "draw_unfolding")
    width = min(1.4 * T + 2.0, 16.0)
    fig, (ax_folded, ax_unrolled) = plt.subplots(
        1, 2, figsize=(width + 2.8, 4.0), gridspec_kw={"width_ratios": [2.4, width]})
    draw_folded(ax_folded, state=state, output=output, title="folded (a cycle)")
    draw_unrolled(T, ax_unrolled, state=state, output=output, title=f"unrolled over T = {T} steps (a chain)")
    fig.text(0.5, 0.06, "the same three matrices Wx, Ws, Wy label every copy of an edge", ha="center",
             fontsize=9, color="0.3")
    return fig


def draw_family(family: str, T: int = 3, ax: Axes | None = None, *, teacher_forcing: bool = False) -> Axes:
    r"""Draw one of the three recurrent design patterns of Goodfellow et al. (2016), section 10.2.

    Nodes use Goodfellow's symbols: inputs :math:`x`, hidden states :math:`h`,
    outputs :math:`o`; edges are labelled with the rnnkit weight names.

    * ``"hidden_to_hidden"`` (``"a"``): edges ``Wx``, ``Ws`` (state to state) and
      ``Wy`` at every step; ``T`` outputs.
    * ``"output_to_hidden"`` (``"b"``): no ``Ws``; instead ``Wo`` carries the
      previous output :math:`o^{(t-1)}` into :math:`h^{(t)}` (``T-1`` such edges).
      With ``teacher_forcing=True`` the fed-back value is the ground truth
      :math:`y^{(t-1)}`, drawn as an extra row of target nodes.
    * ``"sequence_to_one"`` (``"c"``): edges ``Wx`` and ``Ws`` at every step and a
      single ``Wy`` edge from :math:`h^{(T)}` to the one output.

    Parameters
    ----------
    family : {"hidden_to_hidden", "output_to_hidden", "sequence_to_one", "a", "b", "c"}
        Which pattern.
    T : int
        Number of time steps, ``T >= 1``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is created if omitted.
    teacher_forcing : bool
        Only for ``"output_to_hidden"``: feed back the targets instead of the outputs.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``family`` is unknown, ``T`` is not a positive integer, or
        ``teacher_forcing`` is requested for a family without output recurrence.
    """
    name = _FAMILY_ALIASES.get(family, family)
    if name not in FAMILIES:
        raise ValueError(f"draw_family: argument 'family' must be one of {FAMILIES} or 'a', 'b', 'c'; "
                         f"got {family!r}")
    T = _check_T(T, "draw_family")
    if teacher_forcing and name != "output_to_hidden":
        raise ValueError("draw_family: teacher_forcing=True only applies to family 'output_to_hidden' (b)")
    ax = _new_axes(ax, min(1.4 * T + 1.0, 16.0), 5.2 if teacher_forcing else 4.0)
    canvas = _Canvas(ax)
    for t in range(1, T + 1):
        x = t * _COLUMN
        canvas.node("x", t, f"$x^{{({t})}}$", x)
        canvas.node("s", t, f"$h^{{({t})}}$", x)
        canvas.edge(("x", t), ("s", t), "Wx", t)
        if name != "output_to_hidden" and t > 1:
            canvas.edge(("s", t - 1), ("s", t), "Ws", t)
        if name != "sequence_to_one" or t == T:
            canvas.node("o", t, f"$o^{{({t})}}$", x)
            canvas.edge(("s", t), ("o", t), "Wy", t)
        if name == "output_to_hidden" and teacher_forcing:
            canvas.node("y", t, f"$y^{{({t})}}$", x)
    if name == "output_to_hidden":
        source_row = "y" if teacher_forcing else "o"
        for t in range(2, T + 1):
            canvas.edge((source_row, t - 1), ("s", t), "Wo", t, label=(t == 2))
    title = _FAMILY_TITLES[name] + (",\ntrained with teacher forcing" if teacher_forcing else "")
    canvas.finish(title)
    return ax


def diagram_counts(ax: Axes) -> dict[str, Counter]:
    """Count what a drawing function put on ``ax``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes returned by one of the ``draw_*`` functions.

    Returns
    -------
    dict
        ``{"nodes": Counter(row -> n), "edges": Counter(weight -> n)}`` where row is
        ``"x"`` (inputs), ``"s"`` (states), ``"o"`` (outputs) or ``"y"`` (targets)
        and weight is ``"Wx"``, ``"Ws"``, ``"Wy"`` or ``"Wo"``.
    """
    nodes: Counter = Counter()
    edges: Counter = Counter()
    for patch in ax.patches:
        gid = patch.get_gid() or ""
        kind, _, rest = gid.partition(":")
        if kind == "node":
            nodes[rest.split(":")[0]] += 1
        elif kind == "edge":
            edges[rest.split(":")[0]] += 1
    return {"nodes": nodes, "edges": edges}


# ---------------------------------------------------------------------------
# Gated cells (chapter 8): the LSTM and the GRU drawn as data-flow graphs
# ---------------------------------------------------------------------------

#: Kinds of node in :func:`draw_lstm_cell` and :func:`draw_gru_cell` (the ``<row>`` of their gids).
CELL_NODE_KINDS = ("input", "output", "stack", "affine", "gate", "candidate", "mul", "add", "tanh", "oneminus")
_CELL_COLORS = {"input": "#d9ead3", "output": "#ead1dc", "stack": "#eeeeee", "affine": "#cfe2f3",
                "gate": "#fff2cc", "candidate": "#fce5cd", "mul": "#ffffff", "add": "#ffffff",
                "tanh": "#fce5cd", "oneminus": "#ffffff"}
_CELL_RADIUS = {"input": 0.42, "output": 0.42, "gate": 0.34, "candidate": 0.34, "mul": 0.22, "add": 0.22,
                "tanh": 0.30, "oneminus": 0.26}
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
        from matplotlib.patches import FancyBboxPatch
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
        from matplotlib.lines import Line2D
        xs, ys = zip(*points)
        self.ax.add_line(Line2D(xs, ys, color=_DATA_COLOR, linewidth=1.3, zorder=2, gid=gid))

    def frame(self, x0, y0, x1, y1, title: str | None) -> None:
        self.ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="#f7f7f7", edgecolor="0.55",
                                    linewidth=1.0, linestyle="--", zorder=0, gid="frame"))
        if title:
            self.ax.set_title(title, fontsize=self.fontsize + 1)


def _finish_cell(ax: Axes, xlim, ylim) -> None:
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_axis_off()


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
    ax = _new_axes(ax, 8.4, 5.8)
    cv = _CellCanvas(ax, fontsize)
    small = fontsize - 1
    y_cell, y_mid, y_gate, y_aff = 5.0, 4.05, 3.0, 1.6
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
    cv.edge("data", "c_tilde", "mul_i", label=r"$\tilde c_t$", label_offset=(0.32, 0.0))
    cv.edge("data", "mul_i", "add")
    cv.edge("data", "add", "tanh_c", src_at=(x_tanh, y_cell))
    cv.edge("data", "q", "mul_q", label=r"$q_t$", label_offset=(0.0, 0.3))
    cv.edge("data", "tanh_c", "mul_q")
    cv.edge("data", "mul_q", "h", via=[(x_tanh, y_aff)])
    ax.text(1.45, y_cell + 0.12, "cell path", color=_PATH_COLOR, fontsize=small, ha="center",
            va="bottom", gid="note:cell-path")
    ax.text(4.45, y_aff - half_height - 0.12, r"row blocks: $i$ 0:H, $f$ H:2H, $q$ 2H:3H, $\tilde c$ 3H:4H",
            fontsize=small - 1, ha="center", va="top", color="0.25", gid="note:blocks")
    _finish_cell(ax, (-0.7, 9.8), (-1.1, 6.0))
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
    ax = _new_axes(ax, 8.4, 5.8)
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
    cv.line([(x_branch, y_top), (x_branch, y_hbus), (x_mr + 0.1, y_hbus)], gid="bus:h")
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
    cv.edge("data", "x", "n", src_at=(x_n + 0.35, y_xbus), end=(x_n + 0.2, y_gate - 0.28),
            label=r"$W_{xn}$", label_at=0.5, label_offset=(0.42, 0.0))
    cv.edge("data", "r", "mul_r", label=r"$r_t$", label_at=0.5, label_offset=(0.05, -0.3))
    cv.edge("data", "mul_r", "n")
    cv.edge("data", "z", "mul_z", label=r"$z_t$", label_offset=(-0.3, 0.0))
    cv.edge("data", "z", "one_minus_z", start=(x_z + 0.24, y_gate + 0.24))
    cv.edge("data", "one_minus_z", "mul_n")
    cv.edge("data", "n", "mul_n", label=r"$n_t$", label_at=0.45, label_offset=(0.3, -0.15))
    cv.edge("data", "mul_n", "add")
    ax.text(1.75, y_top + 0.12, "carry path", color=_PATH_COLOR, fontsize=small, ha="center", va="bottom",
            gid="note:carry-path")
    ax.text(4.5, 0.32, "biases omitted", fontsize=small - 1, ha="left", va="center", color="0.35",
            gid="note:biases")
    _finish_cell(ax, (-0.7, 9.8), (-1.15, 6.0))
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


__all__ += ["CELL_NODE_KINDS", "draw_lstm_cell", "draw_gru_cell", "cell_graph"]
