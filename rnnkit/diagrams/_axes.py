"""The axes every drawing of :mod:`rnnkit.diagrams` is made on: created on demand, fitted to the drawing."""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes


def new_axes(ax: Axes | None, width: float, height: float) -> Axes:
    """``ax`` itself, or the axes of a new figure of ``width`` x ``height`` inches."""
    if ax is None:
        _, ax = plt.subplots(figsize=(width, height))
    return ax


def fit_axes(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float], title: str | None = None,
             fontsize: float = 11) -> None:
    """Show exactly ``xlim`` x ``ylim`` at equal aspect (circles stay round), without axis lines."""
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=fontsize)
