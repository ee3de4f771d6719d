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


# ---------------------------------------------------------------------------
# gated cells (chapter 8)
# ---------------------------------------------------------------------------

def _graph(ax):
    g = diagrams.cell_graph(ax)
    succ = {}
    for _, src, dst in g["edges"]:
        succ.setdefault(src, set()).add(dst)
    return g["kinds"], g["edges"], succ


def _reaches(succ, a, b):
    seen, todo = set(), [a]
    while todo:
        n = todo.pop()
        if n == b:
            return True
        if n not in seen:
            seen.add(n)
            todo.extend(succ.get(n, ()))
    return False


def test_lstm_cell_has_its_gates_products_and_one_stacked_matrix():
    ax = diagrams.draw_lstm_cell()
    nodes, edges = counts(ax)
    assert nodes == {"input": 3, "output": 2, "stack": 1, "affine": 1, "gate": 3, "candidate": 1,
                     "mul": 3, "add": 1, "tanh": 1}
    assert edges == {"cell": 3, "data": 15}
    assert set(nodes) <= set(diagrams.CELL_NODE_KINDS)
    kinds, triples, succ = _graph(ax)
    # one affine map, fed only by the stack [h_{t-1}; x_t], which is fed by h_{t-1} and x_t
    assert {s for _, s, d in triples if d == "W"} == {"hx"}
    assert {s for _, s, d in triples if d == "hx"} == {"h_prev", "x"}
    # the four gate blocks all come out of that one matrix and each goes into an element-wise product
    assert succ["W"] == {"f", "i", "q", "c_tilde"}
    for gate in ("f", "i", "q", "c_tilde"):
        assert all(kinds[d] == "mul" for d in succ[gate]), gate
    # the cell path: c_{t-1} -> (x f) -> (+) -> c_t, only a product and a sum, drawn as kind "cell"
    cell_path = [(s, d) for k, s, d in triples if k == "cell"]
    assert cell_path == [("c_prev", "mul_f"), ("mul_f", "add"), ("add", "c")]
    assert kinds["mul_f"] == "mul" and kinds["add"] == "add"
    assert ("f", "mul_f") in [(s, d) for _, s, d in triples]
    # h_t = q * tanh(c_t): c_t reaches h_t through the tanh and the output-gate product
    assert succ["add"] >= {"tanh_c"} and succ["tanh_c"] == {"mul_q"} and succ["q"] == {"mul_q"}
    assert succ["mul_q"] == {"h"}
    # every input reaches both outputs
    for src in ("c_prev", "h_prev", "x"):
        for dst in ("c", "h"):
            assert _reaches(succ, src, dst), (src, dst)


def test_lstm_cell_labels_use_the_books_symbols():
    ax = diagrams.draw_lstm_cell()
    texts = {t.get_text() for t in ax.texts}
    for symbol in (r"$f_t$", r"$i_t$", r"$q_t$", r"$\tilde c_t$", r"$c_{t-1}$", r"$h_{t-1}$", r"$x_t$",
                   r"$c_t$", r"$h_t$"):
        assert symbol in texts, symbol
    assert any("W" in t and "[h_{t-1}" in t for t in texts), "the stacked product W [h; x] must be labelled"
    assert not any("o_t" in t for t in texts), "o is the logits in this book, not the output gate"


def test_gru_cell_has_two_gates_a_candidate_and_the_carry_path():
    ax = diagrams.draw_gru_cell()
    nodes, edges = counts(ax)
    assert nodes == {"input": 2, "output": 1, "gate": 2, "candidate": 1, "mul": 3, "add": 1, "oneminus": 1}
    assert edges == {"carry": 3, "data": 13}
    kinds, triples, succ = _graph(ax)
    assert [(s, d) for k, s, d in triples if k == "carry"] == [("h_prev", "mul_z"), ("mul_z", "add"),
                                                               ("add", "h")]
    # both gates see both the state and the input
    for gate in ("r", "z"):
        assert {s for _, s, d in triples if d == gate} == {"h_prev", "x"}, gate
    # the reset gate only scales the state's part of the candidate
    assert succ["r"] == {"mul_r"} and {s for _, s, d in triples if d == "mul_r"} == {"r", "h_prev"}
    assert {s for _, s, d in triples if d == "n"} == {"mul_r", "x"}
    # h_t = (1 - z) * n + z * h_{t-1}
    assert succ["z"] == {"mul_z", "one_minus_z"} and succ["one_minus_z"] == {"mul_n"}
    assert {s for _, s, d in triples if d == "add"} == {"mul_z", "mul_n"}
    texts = {t.get_text() for t in ax.texts}
    assert {r"$r_t$", r"$z_t$", r"$n_t$", r"$W_{hn}$", r"$W_{xn}$"} <= texts


@pytest.mark.parametrize("draw", [diagrams.draw_lstm_cell, diagrams.draw_gru_cell])
def test_cell_drawings_fit_their_axes_and_accept_an_axes(draw):
    fig, ax = plt.subplots(figsize=(8.4, 5.8))
    assert draw(ax, title=None) is ax and len(fig.axes) == 1
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    for text in ax.texts:
        extent = text.get_window_extent(renderer)
        assert box.x0 - 1 <= extent.x0 and extent.x1 <= box.x1 + 1, text.get_text()
        assert box.y0 - 1 <= extent.y0 and extent.y1 <= box.y1 + 1, text.get_text()
        assert text.get_fontsize() >= 10, text.get_text()   # readable at the column width


MARGIN_PX = 3.0   # at 100 dpi: every label keeps this gap to every other label, node and line


def _cell_collisions(ax) -> list[str]:
    """Labels that touch something they do not belong to, in the rendered figure (display pixels).

    Every text's box, grown by MARGIN_PX, must not overlap another text's box, a node other than
    the one it labels, or a line or arrow other than its own edge (or the edges of the node it
    labels, which start at that node's rim). A node's label must fit its circle: the text box at
    most 0.92 of the diameter wide and 0.8 high.
    """
    import numpy as np
    fig = ax.figure
    fig.set_dpi(100)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for t in ax.texts if t.get_text()]
    box = {id(t): t.get_window_extent(renderer).padded(MARGIN_PX) for t in texts}
    problems = []
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if box[id(a)].overlaps(box[id(b)]):
                problems.append(f"label {a.get_text()!r} touches label {b.get_text()!r}")

    def polylines():
        for patch in ax.patches:
            if isinstance(patch, FancyArrowPatch):
                yield patch.get_gid() or "", ax.transData.transform(patch._path_original.vertices)
        for line in ax.lines:
            yield line.get_gid() or "", ax.transData.transform(line.get_xydata())

    lines = list(polylines())
    for text in texts:
        gid = text.get_gid() or ""
        node = gid.split(":", 2)[2] if gid.startswith("label:") else None
        edge = gid.split(":", 1)[1] if gid.startswith("edgelabel:") else None
        bb = box[id(text)]
        for patch in ax.patches:
            pgid = patch.get_gid() or ""
            if pgid.startswith("node:") and pgid.split(":", 2)[2] != node and \
                    bb.overlaps(patch.get_window_extent(renderer)):
                problems.append(f"label {text.get_text()!r} touches node {pgid}")
            if pgid == "junction" and bb.overlaps(patch.get_window_extent(renderer)):
                problems.append(f"label {text.get_text()!r} touches a junction dot")
        for lgid, xy in lines:
            if edge is not None and lgid.split(":", 1)[-1] == edge:
                continue
            if node is not None and lgid.startswith("edge:") and node in lgid.split(":", 2)[2].split(">"):
                continue
            for p0, p1 in zip(xy[:-1], xy[1:]):
                n = max(2, int(np.hypot(*(p1 - p0))))          # one sample per pixel
                if any(bb.contains(*pt) for pt in np.linspace(p0, p1, n)):
                    problems.append(f"label {text.get_text()!r} lies on {lgid}")
                    break
        if node is not None:
            circle = next(p for p in ax.patches if (p.get_gid() or "").endswith(f":{node}"))
            if isinstance(circle, Circle):
                tb = text.get_window_extent(renderer)
                diameter = 2 * (ax.transData.transform((circle.radius, 0))[0] - ax.transData.transform((0, 0))[0])
                if tb.width > 0.92 * diameter or tb.height > 0.8 * diameter:
                    problems.append(f"label {text.get_text()!r} ({tb.width:.0f} x {tb.height:.0f} px) does not fit "
                                    f"its circle ({diameter:.0f} px)")
    return problems


@pytest.mark.parametrize("draw", [diagrams.draw_lstm_cell, diagrams.draw_gru_cell])
@pytest.mark.parametrize("figsize,fontsize", [(None, 12), ((6.4, 4.6), 11)], ids=["default", "book-6.4in"])
def test_cell_drawing_labels_do_not_collide(draw, figsize, fontsize):
    """At the default size and at the size chapter 8 draws them (6.4 x 4.6 inches, 11 pt)."""
    if figsize is None:
        ax = draw(fontsize=fontsize)
    else:
        _, ax = plt.subplots(figsize=figsize)
        draw(ax=ax, title=None, fontsize=fontsize)
    assert _cell_collisions(ax) == []


def test_the_collision_check_sees_a_collision():
    ax = diagrams.draw_gru_cell()
    ax.text(2.35, 5.0, "on the carry path", gid="note:test")     # right over mul_z and the red line
    problems = _cell_collisions(ax)
    assert any("on the carry path" in p and "mul_z" in p for p in problems), problems


def test_cell_graph_reads_back_nothing_from_other_drawings():
    ax = diagrams.draw_unrolled(3)
    g = diagrams.cell_graph(ax)
    assert g["edges"] == []


def test_every_drawing_the_book_calls_is_a_public_name_of_rnnkit_diagrams():
    import re
    from pathlib import Path
    book = Path(__file__).resolve().parents[2] / "book"
    used = {m for page in book.glob("*.md") for m in re.findall(r"\bdiagrams\.(\w+)\(", page.read_text())}
    # (chapter 2 stacks draw_folded over draw_unrolled itself, for a phone-width figure; draw_unfolding
    # stays public and tested above)
    assert {"draw_folded", "draw_unrolled", "draw_family", "draw_lstm_cell", "draw_gru_cell"} <= used
    assert used - set(diagrams.__all__) == set()
    assert all(callable(getattr(diagrams, name)) for name in used)
