import io

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

from rnnbook import plots


@pytest.fixture(autouse=True)
def _book_style_undone():
    """use_book_style changes the global rcParams (savefig.dpi among them): the test modules that
    run after this one, in the same process, keep matplotlib's defaults."""
    with plt.rc_context():
        yield
    plt.close("all")


def test_bad_arguments_are_refused_by_name():
    x = np.zeros((4, 2, 2))
    x[[0, 2], :, 1] = 1.0
    z, V, w_ov = np.full((4, 2, 3), 0.5), np.zeros((5, 2, 3)), np.ones(3)
    for kwargs, name in [({"sequence": 2}, "sequence"), ({"n_units": 4}, "n_units"),
                         ({"axes": [None] * 3}, "axes"), ({"x": x[:, :, :1]}, "x"),
                         ({"x": np.zeros((4, 2, 2))}, "x"), ({"V": V[:4]}, "V")]:
        with pytest.raises(ValueError, match=rf"^{name}:"):
            plots.plot_gru_gates(**{"x": x, "z": z, "V": V, "w_ov": w_ov, **kwargs})
    with pytest.raises(ValueError, match="^T:"):
        plots.draw_unrolled(T=0)
    with pytest.raises(TypeError, match="^axes:"):
        plots.draw_resnet_analogy(axes="two")
    with pytest.raises(ValueError, match="^z: expected update gates in"):
        plots.plot_gru_gates(x, z + 0.6, V, w_ov)
    with pytest.raises(ValueError, match="^variant:"):
        plots.draw_gru_cell("cudnn")
    for draw in (plots.draw_gru_cell, plots.draw_lstm_cell):
        with pytest.raises(TypeError, match="^ax:"):
            draw(ax=[plt.figure().add_subplot()])


def test_unrolled_diagram_has_one_state_per_time_step():
    ax = plots.draw_unrolled(T=4)
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    # folded x, V, O; unrolled V(0..4), x(1..4), O(1..4)
    assert len(circles) == 3 + 5 + 4 + 4
    texts = {t.get_text() for t in ax.texts}
    assert {"$V(0)$", "$V(4)$", "$x(4)$", "$O(4)$", "$w^{(vv)}$"} <= texts
    plt.close("all")


def test_book_style_is_applied():
    plots.use_book_style()
    assert plt.rcParams["axes.spines.top"] is False
    assert plt.rcParams["axes.prop_cycle"].by_key()["color"][0] == plots.COLORS[0]


def test_resnet_analogy_labels_both_shortcuts():
    axes = plots.draw_resnet_analogy()
    for ax in axes:
        texts = [t.get_text() for t in ax.texts]
        assert texts.count("identity") == 1 and "$+$" in texts
    assert "9.30d" in axes[1].get_title()
    plt.close("all")


def gate_run(T=20, B=2, N=5):
    """Adding-problem inputs with markers at t = 4 and 15 in sequence 1, and gates, states and a
    readout whose order by |w_ov| is 1, 4, 2, 0, 3."""
    rng = np.random.default_rng(0)
    x = np.zeros((T, B, 2))
    x[:, :, 0] = rng.uniform(size=(T, B))
    x[[3, 14], 1, 1] = 1.0
    x[[0, 1], 0, 1] = 1.0
    z = rng.uniform(0.5, 1.0, size=(T, B, N))
    return x, z, rng.standard_normal((T + 1, B, N)), np.array([0.1, -0.9, 0.3, 0.0, 0.5])


def test_gate_lines_are_one_minus_z_of_the_units_the_readout_weighs_most():
    x, z, V, w_ov = gate_run()
    ax_x, ax_z, ax_v = plots.plot_gru_gates(x, z, V, w_ov, sequence=1, n_units=4)
    t = np.arange(1, 21)
    assert ax_z.get_yscale() == "log"
    # the three coloured units by readout weight, each in its own colour in both panels
    gates = {line.get_gid(): line for line in ax_z.lines}
    states = {line.get_gid(): line for line in ax_v.lines}
    assert sorted(gates) == ["gate 1", "gate 2", "gate 4"]
    colors = set()
    for unit in (1, 4, 2):
        line = gates[f"gate {unit}"]
        np.testing.assert_array_equal(line.get_xdata(), t)
        np.testing.assert_allclose(line.get_ydata(), 1 - z[:, 1, unit])
        np.testing.assert_array_equal(states[f"state {unit}"].get_ydata(), V[:, 1, unit])
        assert line.get_color() == states[f"state {unit}"].get_color()
        colors.add(line.get_color())
    assert len(colors) == 3 and plots.COLORS[1] not in colors       # not the markers' colour
    # the fourth unit (0), grey, under the coloured ones
    (grey,) = ax_z.collections
    (segment,) = grey.get_segments()
    np.testing.assert_allclose(segment, np.stack([t, 1 - z[:, 1, 0]], -1))
    assert grey.get_zorder() < gates["gate 1"].get_zorder()
    labels = [text.get_text() for text in ax_z.get_legend().get_texts()]
    assert labels == ["unit 1", "unit 4", "unit 2", "1 more unit"]
    # the marked steps shaded in the gate and state panels, their numbers in the title
    for ax in (ax_z, ax_v):
        spans = [p.get_x() + p.get_width() / 2 for p in ax.patches]
        assert spans == [4, 15]
    assert ax_x.get_title() == (f"sequence 1: target {x[3, 1, 0]:.2f} + {x[14, 1, 0]:.2f} = "
                                f"{x[3, 1, 0] + x[14, 1, 0]:.2f}")
    plt.close("all")


def test_gate_axis_reads_as_z_on_the_right_and_clips_gates_of_one():
    x, z, V, w_ov = gate_run()
    z[:, 1, 1] = 1 - 10.0 ** -np.linspace(0.5, 2.5, 20)        # down to 1 - z = 0.003
    z[5, 1, 4] = 1.0                                          # a gate that rounds to 1
    _, ax_z, _ = plots.plot_gru_gates(x, z, V, w_ov, sequence=1, n_units=2)
    assert not ax_z.collections                    # two units: both in colour, none grey
    # the floor is the decade below the smallest 1 - z that is not 0 ... or GATE_FLOOR
    assert ax_z.get_ylim() == (plots.GATE_FLOOR, 1.0)
    line = next(line for line in ax_z.lines if line.get_gid() == "gate 4")
    assert line.get_ydata()[5] == plots.GATE_FLOOR
    (right,) = ax_z.child_axes
    ticks = [t.get_text() for t in right.get_yticklabels()]
    assert ticks == ["0", "0.9", "0.99", "0.999", "0.9999", "0.99999", "0.999999"]
    np.testing.assert_allclose(right.get_yticks(), 10.0 ** -np.arange(7))
    plt.close("all")
    z[5, 1, 4] = 0.5
    _, ax_z, _ = plots.plot_gru_gates(x, z, V, w_ov, sequence=1, n_units=2)
    assert ax_z.get_ylim() == pytest.approx((1e-3, 1.0))
    plt.close("all")


def test_every_network_has_a_colour_of_the_palette_and_a_style_of_its_own():
    from rnnbook import horizon
    names = {"rnn", "gru", "lstm", "mingru", "gru-before", "gru-no-update", "gru-bias3",
             "gru-leaky", "gru-leaky5", "gru-no-reset"}
    assert set(plots.NETWORK_COLORS) == set(plots.NETWORK_LINESTYLES) == names
    assert set(horizon.MODELS) <= names
    assert set(plots.NETWORK_COLORS.values()) <= set(plots.COLORS)
    styles = {(plots.NETWORK_COLORS[n], plots.NETWORK_LINESTYLES[n]) for n in names}
    assert len(styles) == len(names)
    # a colour per architecture: only the GRU's own variants share the GRU's
    same_as_gru = {n for n in names if plots.NETWORK_COLORS[n] == plots.NETWORK_COLORS["gru"]}
    assert same_as_gru == {"gru", "gru-before", "gru-bias3"}
    # and the two leaky integrators share theirs, told apart by the line
    same_as_leaky = {n for n in names if plots.NETWORK_COLORS[n] == plots.NETWORK_COLORS["gru-leaky"]}
    assert same_as_leaky == {"gru-leaky", "gru-leaky5"}
    others = [plots.NETWORK_COLORS[n] for n in names - same_as_gru - {"gru-leaky5"}]
    assert len(set(others)) == len(others)
    # the chapters' curves of the GRU and the plain network keep their old colours in Ch. 5
    assert plots.NETWORK_COLORS["gru"] == plots.COLORS[0]
    assert plots.NETWORK_COLORS["rnn"] == plots.COLORS[1]


def patches_by_gid(ax):
    return {p.get_gid(): p for p in ax.patches if p.get_gid()}


def centre(patch):
    box = patch.get_path().get_extents(patch.get_patch_transform())
    return (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2


def test_gru_cell_has_the_gates_the_candidate_and_the_shortcut():
    ax = plots.draw_gru_cell("before")
    texts = [t.get_text() for t in ax.texts]
    for label in ["$V(t-1)$", "$V(t)$", "$x(t)$", "$z(t)$", "$r(t)$", "$h(t)$", "$1-z(t)$",
                  "$1-$", r"$\mathbf{w}^{(hv)}$", "$g$", "$+$"]:
        assert label in texts, label
    assert texts.count(r"$\sigma$") == 2 and texts.count(r"$\times$") == 3
    assert "9.30a" in ax.get_title()
    # the shortcut along the top, from V(t-1) to an arrow head at V(t), in the GRU's colour and
    # more than twice as thick as any other wire
    shortcut = patches_by_gid(ax)["shortcut"]
    assert top_line(shortcut) == pytest.approx((1.4, 13.4, 5.2), abs=0.1)
    assert type(shortcut.get_arrowstyle()).__name__ == "CurveFilledB"          # "-|>"
    assert all(centre(p)[1] < 5.2 for p in ax.patches if p.get_gid() in {"z", "r", "h", "w_hv"})
    assert shortcut.get_edgecolor()[:3] == pytest.approx(
        matplotlib.colors.to_rgb(plots.NETWORK_COLORS["gru"]))
    others = [p.get_linewidth() for p in ax.patches
              if isinstance(p, FancyArrowPatch) and p is not shortcut]
    assert shortcut.get_linewidth() > 2 * max(others)
    plt.close("all")


def top_line(wire):
    """(left end, right end before the arrow head, height) of a straight horizontal wire."""
    (x0, y0), (x1, y1) = wire.get_path().vertices[:2]
    assert y0 == y1
    return x0, x1, y0


def test_the_variant_moves_the_reset_gate_across_w_hv():
    before, after = (patches_by_gid(plots.draw_gru_cell(v)) for v in ("before", "after"))
    # r multiplies V(t-1) on its way to w^(hv) (9.30c), or w^(hv) V(t-1) - theta^(hv) (torch)
    assert centre(before["reset"])[0] < centre(before["w_hv"])[0]
    assert centre(after["reset"])[0] > centre(after["w_hv"])[0]
    texts = [[t.get_text() for t in ax.texts] for ax in plt.gcf().axes]
    assert any("theta^{(hv)}" in t for t in texts[0])
    assert "torch.nn.GRU" in plt.gcf().axes[0].get_title()
    plt.close("all")
    ax = plots.draw_gru_cell("before")
    assert not any("theta^{(hv)}" in t.get_text() for t in ax.texts)
    plt.close("all")


def test_lstm_cell_puts_its_cell_state_where_the_gru_has_its_shortcut():
    lstm, gru = plots.draw_lstm_cell(), plots.draw_gru_cell()
    texts = [t.get_text() for t in lstm.texts]
    for label in ["$c(t-1)$", "$c(t)$", "$V(t-1)$", "$V(t)$", "$x(t)$", "$f(t)$", "$i(t)$",
                  "$q(t)$", r"$\tilde{c}(t)$"]:
        assert label in texts, label
    assert texts.count(r"$\sigma$") == 3 and texts.count("$g$") == 2
    # the output gate is q: o and w^(ov) belong to the readout
    assert not any("o(t)" in t or "(o" in t for t in texts)
    assert any("(fx)" in t and "(fv)" in t for t in texts)
    carousel = patches_by_gid(lstm)["carousel"]
    shortcut = patches_by_gid(gru)["shortcut"]
    assert top_line(carousel) == top_line(shortcut)
    assert carousel.get_linewidth() == shortcut.get_linewidth()
    assert carousel.get_edgecolor()[:3] == pytest.approx(
        matplotlib.colors.to_rgb(plots.NETWORK_COLORS["lstm"]))
    plt.close("all")


def stored_width(fig):
    """The width in pixels of ``fig`` as a notebook stores it: cropped to its contents."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=fig.dpi)
    plt.close(fig)
    return int.from_bytes(buf.getvalue()[16:20], "big")


def test_drawings_fit_the_text_column():
    plots.use_book_style()
    for T in (1, 3, 5, 8):
        assert stored_width(plots.draw_unrolled(T=T).figure) <= plots.MAX_FIGURE_PX
    assert stored_width(plots.draw_resnet_analogy()[0].figure) <= plots.MAX_FIGURE_PX
    for ax in (plots.draw_gru_cell("before"), plots.draw_gru_cell("after"), plots.draw_lstm_cell()):
        assert stored_width(ax.figure) <= plots.MAX_FIGURE_PX
    rng = np.random.default_rng(0)
    x = np.zeros((100, 1, 2))
    x[:, 0, 0] = rng.uniform(size=100)
    x[[18, 59], 0, 1] = 1.0
    axes = plots.plot_gru_gates(x, rng.uniform(size=(100, 1, 32)), rng.standard_normal((101, 1, 32)),
                                rng.standard_normal(32))
    assert stored_width(axes[0].figure) <= plots.MAX_FIGURE_PX


# --- Chapter 7: the scans, round by round

def by_gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


@pytest.mark.parametrize("name", ["hillis-steele", "blelloch"])
@pytest.mark.parametrize("T", [1, 5, 16])
def test_scan_rounds_draw_what_each_position_holds(name, T):
    from rnnbook import scan
    rounds = scan.schedule(name, T)
    own = 1 if name == "blelloch" else 0
    fig = Figure(figsize=(7, 4.8))
    for k, r in enumerate(rounds):
        ax = fig.add_subplot()
        assert plots.draw_scan_round(ax, name, T, k) is ax
        assert ax.get_title().endswith(r["label"]) and ax.yaxis_inverted()
        # a bar per position that holds something, over exactly its steps, at its row
        (bars,) = by_gid(ax, "held")
        held = [(p, h) for p, h in enumerate(r["holds"]) if h is not None]
        assert len(bars.get_paths()) == len(held)
        for path, (p, (first, last)) in zip(bars.get_paths(), held):
            box = path.get_extents()
            assert (box.x0, box.x1) == pytest.approx((first - 0.42, last + 0.42))
            assert (box.y0 + box.y1) / 2 == pytest.approx(p)
        # green where v0 is among the steps, blue where not; full where the round wrote
        colors = bars.get_facecolors()
        for color, (p, (first, _)) in zip(colors, held):
            assert color[:3] == pytest.approx(matplotlib.colors.to_rgb(
                plots.COLORS[2] if first == 0 else plots.COLORS[0]))
        written = {t for _, t in r["pairs"] + r["copies"] if r["holds"][t] is not None}
        if r["phase"] in ("combine", "up-sweep", "down-sweep"):
            assert {p for (p, _), c in zip(held, colors) if c[3] == 1.0} == written
        # each pair an arrow from the source's row to the target's, at the end of what the
        # source held before the round
        before = rounds[max(k - 1, 0)]["holds"]
        for gid, pairs in (("combined", r["pairs"]), ("copied", r["copies"])):
            arrows = by_gid(ax, gid)
            assert len(arrows) == len(pairs)
            for arrow, (source, target) in zip(arrows, pairs):
                (x0, y0), (x1, y1) = arrow._posA_posB
                x = before[source][1] if before[source] else source + own
                assert x0 == x1 == x and abs(y0 - source) < 0.5 and abs(y1 - target) < 0.5
        (dots,) = by_gid(ax, "own step")
        np.testing.assert_array_equal(dots.get_xdata() - dots.get_ydata(), own)
        # a seam where a bar was joined from two pieces: at the start of the later one
        (seams,) = by_gid(ax, "seams")
        if r["phase"] == "last step":
            joins = [(p + 1, p) for p in range(T)]
        else:
            joins = [(max(before[s], before[t])[0], t) for s, t in r["pairs"]
                     if before[s] is not None and before[t] is not None]
        assert [(x0 + 0.5, y0 + 0.25) for (x0, y0), _ in seams.get_segments()] == joins
        for x, t in joins:
            assert r["holds"][t][0] < x <= r["holds"][t][1]
        # outlines of what copies and v0 overwrote
        (outlines,) = by_gid(ax, "held before")
        lost = [t for _, t in r["copies"]] + ([len(r["holds"]) - 1] if r["phase"] == "v0 enters"
                                              else [])
        boxes = [path.get_extents() for path in outlines.get_paths()]
        centres = [((b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2) for b in boxes]
        expected = [((before[t][0] + before[t][1]) / 2, t) for t in sorted(lost) if before[t]]
        np.testing.assert_allclose(np.reshape(centres, (-1, 2)), np.reshape(expected, (-1, 2)))
        fig.delaxes(ax)


def test_a_scan_round_shows_the_padding_and_the_copies():
    ax = plots.draw_scan_round(None, "blelloch", 5, 6)      # n = 8: steps 6, 7, 8 are padding
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["a state: from v0 on", "a block of steps", "combined", "copied",
                      "overwritten", "padding (1, 0)"]
    assert ax.get_xlim() == (-0.7, 8.7) and ax.get_ylim() == (7.5, -0.5)
    assert ax.get_title() == "Blelloch, down-sweep, blocks of 2"
    plt.close("all")
    ax = plots.draw_scan_round(None, "hillis-steele", 16, 0)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["a state: from v0 on", "a block of steps", "combined"]
    assert ax.get_title() == "Hillis\u2013Steele, start: each position holds its own element"
    plt.close("all")


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(name="sklansky"), ValueError, "^name: expected one of"),
    (dict(name=None), TypeError, "^name:"),
    (dict(T=0), ValueError, "^T: expected an integer >= 1"),
    (dict(T=4.0), TypeError, "^T:"),
    (dict(round=-1), ValueError, "^round: expected an integer >= 0"),
    (dict(round=1.0), TypeError, "^round:"),
    (dict(round=6), ValueError, r"^round: expected a round from 0 to 5 of hillis-steele at T = 16"),
    (dict(name="blelloch", round=11), ValueError, r"^round: expected a round from 0 to 10"),
    (dict(ax="axes"), TypeError, "^ax: expected matplotlib Axes"),
])
def test_scan_round_refuses_bad_arguments_by_name(kwargs, error, message):
    with pytest.raises(error, match=message):
        plots.draw_scan_round(**{"ax": None, "name": "hillis-steele", "T": 16, "round": 1,
                                 **kwargs})
    assert not plt.get_fignums()        # refused before any figure was made


def overlaps(a, b):
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("name, T, k", [
    ("blelloch", 16, 9),            # the chapter's T, the most arrows
    ("blelloch", 5, 6),             # the longest legend: copies, padding
    ("hillis-steele", 32, 1),       # the most ticks
    ("blelloch", 1, 2),             # the fewest
])
def test_scan_rounds_fit_the_text_column_and_stay_readable(name, T, k):
    plots.use_book_style()
    ax = plots.draw_scan_round(None, name, T, k)
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]
    assert min(t.get_fontsize() for t in texts) >= 8
    # neither the tick labels nor the legend, x label and title run into each other
    for axis in (ax.get_xticklabels(), ax.get_yticklabels()):
        boxes = [t.get_window_extent(renderer) for t in axis]
        assert not any(overlaps(a, b) for a, b in zip(boxes, boxes[1:]))
    boxes = [p.get_window_extent(renderer) for p in (ax.get_legend(), ax.xaxis.label, ax.title)]
    assert not any(overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert stored_width(fig) <= plots.MAX_FIGURE_PX
