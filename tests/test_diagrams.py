"""rnnkit.diagrams draws what it claims: one node per quantity and step, one edge per use of a matrix."""
import matplotlib

matplotlib.use("Agg")  # no display needed; must precede the pyplot import

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle  # noqa: E402

from rnnkit import diagrams  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def counts(ax):
    c = diagrams.diagram_counts(ax)
    return dict(c["nodes"]), dict(c["edges"])


def node_centres(ax, row):
    """x positions of the nodes of one row, ordered by their time index."""
    found = {}
    for patch in ax.patches:
        gid = patch.get_gid() or ""
        if isinstance(patch, Circle) and gid.startswith(f"node:{row}:"):
            found[int(gid.rsplit(":", 1)[1])] = patch.center[0]
    return [found[t] for t in sorted(found)]


def test_folded_has_three_nodes_three_edges_and_a_delay():
    ax = diagrams.draw_folded()
    assert counts(ax) == ({"x": 1, "s": 1, "o": 1}, {"Wx": 1, "Ws": 1, "Wy": 1})
    assert sum(isinstance(p, Rectangle) and p.get_gid() == "delay" for p in ax.patches) == 1
    labels = {t.get_text() for t in ax.texts}
    assert {"$x$", "$s$", "$y$"} <= labels


@pytest.mark.parametrize("T", [1, 2, 5, 9])
def test_unrolled_counts_grow_with_T(T):
    ax = diagrams.draw_unrolled(T)
    nodes, edges = counts(ax)
    assert nodes == {"x": T, "s": T + 1, "o": T}          # s(0) .. s(T)
    assert edges == {"Wx": T, "Ws": T, "Wy": T}
    assert sum(isinstance(p, FancyArrowPatch) for p in ax.patches) == 3 * T
    node_labels = [t for t in ax.texts if (t.get_gid() or "").startswith("label:")]
    assert len(node_labels) == 3 * T + 1
    assert f"$s^{{({T})}}$" in {t.get_text() for t in node_labels}
    # time runs left to right
    xs = node_centres(ax, "s")
    assert xs == sorted(xs) and len(set(xs)) == T + 1


@pytest.mark.parametrize("T", [1, 4])
def test_unrolled_without_initial_state(T):
    nodes, edges = counts(diagrams.draw_unrolled(T, initial_state=False))
    assert nodes == {"x": T, "s": T, "o": T}
    assert edges.get("Ws", 0) == T - 1 and edges["Wx"] == T and edges["Wy"] == T


def test_unrolled_uses_requested_symbols():
    ax = diagrams.draw_unrolled(2, state="h", output="o")
    labels = {t.get_text() for t in ax.texts}
    assert "$h^{(2)}$" in labels and "$o^{(1)}$" in labels and "$s^{(1)}$" not in labels


@pytest.mark.parametrize("T", [2, 6])
def test_unfolding_figure_has_folded_and_unrolled_panels(T):
    fig = diagrams.draw_unfolding(T)
    assert len(fig.axes) == 2
    assert counts(fig.axes[0]) == ({"x": 1, "s": 1, "o": 1}, {"Wx": 1, "Ws": 1, "Wy": 1})
    assert counts(fig.axes[1])[1] == {"Wx": T, "Ws": T, "Wy": T}


@pytest.mark.parametrize("T", [1, 3, 7])
def test_family_a_hidden_to_hidden(T):
    nodes, edges = counts(diagrams.draw_family("hidden_to_hidden", T))
    assert nodes == {"x": T, "s": T, "o": T}
    assert edges.get("Ws", 0) == T - 1 and edges["Wx"] == T and edges["Wy"] == T and "Wo" not in edges


@pytest.mark.parametrize("T", [1, 3, 7])
def test_family_b_output_to_hidden_has_no_state_recurrence(T):
    nodes, edges = counts(diagrams.draw_family("b", T))
    assert nodes == {"x": T, "s": T, "o": T}
    assert "Ws" not in edges and edges.get("Wo", 0) == T - 1
    nodes_tf, edges_tf = counts(diagrams.draw_family("output_to_hidden", T, teacher_forcing=True))
    assert nodes_tf == {"x": T, "s": T, "o": T, "y": T}   # the targets are drawn as their own row
    assert edges_tf == edges


@pytest.mark.parametrize("T", [1, 3, 7])
def test_family_c_sequence_to_one_has_a_single_output(T):
    ax = diagrams.draw_family("c", T)
    nodes, edges = counts(ax)
    assert nodes == {"x": T, "s": T, "o": 1}
    assert edges.get("Ws", 0) == T - 1 and edges["Wy"] == 1
    # the single output sits above the last state
    assert node_centres(ax, "o") == [node_centres(ax, "s")[-1]]


@pytest.mark.parametrize("bad_T", [0, -3, 2.5, True, "3", None])
@pytest.mark.parametrize("draw", [diagrams.draw_unrolled, diagrams.draw_unfolding,
                                  lambda T: diagrams.draw_family("a", T)])
def test_bad_T_is_rejected(draw, bad_T):
    with pytest.raises(ValueError, match="'T'"):
        draw(bad_T)


def test_bad_family_and_misplaced_teacher_forcing_are_rejected():
    with pytest.raises(ValueError, match="family"):
        diagrams.draw_family("lstm", 3)
    with pytest.raises(ValueError, match="teacher_forcing"):
        diagrams.draw_family("a", 3, teacher_forcing=True)


def test_drawing_into_a_given_axes_returns_it():
    fig, ax = plt.subplots()
    assert diagrams.draw_unrolled(3, ax) is ax
    assert len(fig.axes) == 1
