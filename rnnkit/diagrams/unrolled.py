r"""Recurrent networks drawn as graphs over time: folded, unrolled, and the three families.

The drawings of chapters 1-3:

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

from ._axes import fit_axes, new_axes

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
        fit_axes(self.ax, (min(xs) - 0.9, max(xs) + 0.9), (min(ys) - 0.7, max(ys) + 0.7), title)


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
    ax = new_axes(ax, 2.6, 4.0)
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
    ax = new_axes(ax, min(1.4 * T + 2.0, 16.0), 4.0)
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
    ax = new_axes(ax, min(1.4 * T + 1.0, 16.0), 5.2 if teacher_forcing else 4.0)
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
