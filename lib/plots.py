"""One plotting style for the whole book, and the network diagrams drawn by code."""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch

from ._validate import array_arg, axes_arg, integer_arg, positive_int

__all__ = ["COLORS", "MAX_FIGURE_PX", "BOOK_STYLE", "GATES_LAYOUT", "use_book_style", "draw_unrolled",
           "draw_resnet_analogy", "plot_gru_gates"]

# Colours from the Okabe-Ito palette: distinguishable with colour blindness and in grey print.
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

# The widest a stored figure may be, at 100 dpi: the book's text column is 677 px, so its labels
# then show at >= 95% of their size. tests/test_book.py holds every chapter's figures to it.
MAX_FIGURE_PX = 710

BOOK_STYLE = {
    "figure.figsize": (7.0, 3.2),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    # the notebooks store figures cropped to their contents plus this margin: a 7.0 in figure
    # is then at most 7.1 in (710 px) wide and fits the 677 px text column at >= 95%
    "savefig.pad_inches": 0.05,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.prop_cycle": plt.cycler(color=COLORS),
    "lines.linewidth": 1.8,
}


def use_book_style():
    """Apply the book's matplotlib style (call once at the top of a chapter)."""
    plt.rcParams.update(BOOK_STYLE)


def _node(ax, xy, label, color, radius=0.32):
    ax.add_patch(Circle(xy, radius, facecolor="white", edgecolor=color, linewidth=2, zorder=3))
    ax.text(*xy, label, ha="center", va="center", fontsize=11, zorder=4)


def _arrow(ax, start, end, label="", color="black", rad=0.0, label_offset=(0, 0), shrink=13):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color=color,
                                 linewidth=1.5, shrinkA=shrink, shrinkB=shrink,
                                 connectionstyle=f"arc3,rad={rad}", zorder=2))
    if label:
        mid = ((start[0] + end[0]) / 2 + label_offset[0], (start[1] + end[1]) / 2 + label_offset[1])
        ax.text(*mid, label, ha="center", va="center", fontsize=10, color=color,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1}, zorder=4)


def draw_unrolled(T=3, ax=None):
    """Draw the recurrent network folded (a loop) and unrolled over t = 0..T (eq. 1.1).

    Inputs x(t) at the bottom, hidden states V(t) in the middle, outputs O(t) on top; the same
    weights w^(vv), w^(vx), w^(ov) are shared by every time step. ``T`` >= 1, ``ax`` one Axes or
    None (a new figure). Returns the axes.
    """
    T = positive_int("T", T)
    ax = axes_arg("ax", ax, 1)
    if ax is None:
        # at most 7 in wide, the text column; the drawing keeps its scale up to T = 5
        fig, ax = plt.subplots(figsize=(7.0, 3.3))
        fig.subplots_adjust(left=0.01, right=0.99)
    blue, orange, green = COLORS[0], COLORS[1], COLORS[2]
    # folded network: one hidden layer with a loop onto itself
    _node(ax, (0, 0), "$x$", green)
    _node(ax, (0, 1.5), "$V$", blue)
    _node(ax, (0, 3), "$O$", orange)
    _arrow(ax, (0, 0), (0, 1.5), "$w^{(vx)}$", label_offset=(-0.45, 0))
    _arrow(ax, (0, 1.5), (0, 3), "$w^{(ov)}$", label_offset=(-0.45, 0))
    ax.add_patch(FancyArrowPatch((0.25, 1.7), (0.25, 1.3), arrowstyle="-|>", mutation_scale=14,
                                 connectionstyle="arc3,rad=-2.2", linewidth=1.5, color=blue))
    ax.text(1.0, 1.88, "$w^{(vv)}$", color=blue, ha="center", va="center", fontsize=10)
    ax.text(1.6, 1.5, "=", fontsize=18, ha="center", va="center")
    # unrolled network: one copy per time step, the recurrent weights pointing forward in time
    x0 = 2.3
    for t in range(T + 1):
        cx = x0 + 1.6 * t
        _node(ax, (cx, 1.5), f"$V({t})$", blue, radius=0.38)
        ax.text(cx, -0.75, f"$t={t}$", ha="center", fontsize=9, color="0.4")
        if t > 0:
            _node(ax, (cx, 0), f"$x({t})$", green, radius=0.38)
            _node(ax, (cx, 3), f"$O({t})$", orange, radius=0.38)
            _arrow(ax, (cx, 0), (cx, 1.5))
            _arrow(ax, (cx, 1.5), (cx, 3))
            _arrow(ax, (cx - 1.6, 1.5), (cx, 1.5), "$w^{(vv)}$", color=blue, label_offset=(0, 0.3))
    ax.set_xlim(-0.8, x0 + 1.6 * T + 0.6)
    ax.set_ylim(-1.0, 3.5)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def _box(ax, xy, text, color, width=1.5, height=0.7):
    from matplotlib.patches import FancyBboxPatch
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.05", facecolor="white", edgecolor=color,
                                linewidth=2, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=10, zorder=4)


def _skip(ax, bottom, top, side, color, start_radius):
    """An identity path from a node at (0, bottom) around the right of a block into (0, top)."""
    ax.plot([start_radius, side, side], [bottom, bottom, top], color=color, linewidth=1.5, zorder=2)
    ax.add_patch(FancyArrowPatch((side, top), (0.25, top), arrowstyle="-|>", mutation_scale=14,
                                 color=color, linewidth=1.5, zorder=2))
    ax.text(side + 0.15, (bottom + top) / 2, "identity", rotation=90, color=color,
            ha="left", va="center", fontsize=10)


def draw_resnet_analogy(axes=None):
    """Draw a residual block, y = x + F(x), beside one GRU step written the same way,
    V(t) = V(t-1) + (1 - z) * (h - V(t-1)) (eq. 9.30d). ``axes``: two Axes or None (a new
    figure). Returns the two axes."""
    axes = axes_arg("axes", axes, 2)
    # each panel as wide as its drawing, so that both fit the 7 in text column at one scale
    xlims = [(-1.4, 2.3), (-3.4, 2.9)]
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(7.0, 4.0), constrained_layout=True,
                               width_ratios=[high - low for low, high in xlims])
    blue, orange, green = COLORS[0], COLORS[1], COLORS[2]
    panels = [(axes[0], "$x$", "$y$", "$F(x)$\nweight layers", 2.2, None,
               "residual block (ResNet)\n$y = x + F(x)$"),
              (axes[1], "$V(t-1)$", "$V(t)$", "$(1-z)\\odot(h - V(t-1))$\ngates and candidate", 3.4,
               "$x(t)$", "one GRU step, eq. (9.30d) rewritten\n$V(t) = V(t-1) + (1-z)\\odot(h - V(t-1))$")]
    for (ax, below, above, block, width, side_input, title), xlim in zip(panels, xlims):
        _node(ax, (0, 0), below, green, radius=0.65)
        _box(ax, (0, 1.75), block, orange, width=width, height=0.95)
        _node(ax, (0, 3.3), "$+$", "black", radius=0.25)
        _node(ax, (0, 4.6), above, blue, radius=0.65)
        _arrow(ax, (0, 0.65), (0, 1.2), shrink=0)
        _arrow(ax, (0, 2.3), (0, 3.05), shrink=0)
        _arrow(ax, (0, 3.55), (0, 3.95), shrink=0)
        _skip(ax, 0, 3.3, width / 2 + 0.5, blue, start_radius=0.65)
        if side_input:
            _node(ax, (-width / 2 - 1.0, 1.75), side_input, green, radius=0.5)
            _arrow(ax, (-width / 2 - 0.5, 1.75), (-width / 2 - 0.08, 1.75), shrink=0)
        ax.set_title(title, fontsize=11)
        ax.set_xlim(*xlim)
        ax.set_ylim(-0.8, 5.4)
        ax.set_aspect("equal")
        ax.axis("off")
    return axes


# the three panels of plot_gru_gates, stacked in the 7 in text column (also used by the explorer)
GATES_LAYOUT = {"nrows": 3, "ncols": 1, "figsize": (7.0, 6.2), "sharex": True, "height_ratios": [1, 2, 1.6]}


def _gate_arrays(x, z, V, w_ov):
    """The arrays of a GRU's run on the adding problem, x (T, B, 2), z (T, B, N), V (T+1, B, N) and
    w_ov (N,), validated. Returns them and (T, B, N)."""
    sizes = {}
    x = array_arg("x", x, ("T", "B", "K"), sizes)
    z = array_arg("z", z, ("T", "B", "N"), sizes)
    V = array_arg("V", V, ("T+1", "B", "N"), sizes)
    w_ov = array_arg("w_ov", w_ov, ("N",), sizes)
    if sizes["K"] != 2:
        raise ValueError(f"x: expected shape (T, B, 2), the adding problem's inputs, got {x.shape}")
    return x, z, V, w_ov, (sizes["T"], sizes["B"], sizes["N"])


def plot_gru_gates(x, z, V, w_ov, sequence=0, n_units=None, axes=None):
    """A GRU at work on one sequence of the adding problem: the inputs with their markers, the
    update gates z_i(t) of the ``n_units`` units the readout weighs most, and three of their states.

    Shapes: x (T, B, 2), z (T, B, N), V (T+1, B, N), w_ov (N,) the readout weights; ``sequence``
    from 0 to B-1, with two marked steps (x[:, sequence, 1] != 0); ``n_units`` from 1 to N (None:
    8, or N if fewer); ``axes`` three Axes or None (a new figure). Returns the axes.
    """
    x, z, V, w_ov, (_, B, N) = _gate_arrays(x, z, V, w_ov)
    sequence = integer_arg("sequence", sequence, 0)
    if sequence >= B:
        raise ValueError(f"sequence: expected a sequence number from 0 to {B - 1}, got {sequence}")
    marked = np.count_nonzero(x[:, sequence, 1])
    if marked < 2:
        raise ValueError(f"x: expected two marked steps (x[:, {sequence}, 1] != 0) in sequence "
                         f"{sequence}, got {marked}")
    n_units = min(8, N) if n_units is None else positive_int("n_units", n_units)
    if n_units > N:
        raise ValueError(f"n_units: expected a number of units from 1 to N = {N}, got {n_units}")
    axes = axes_arg("axes", axes, 3)
    if axes is None:
        _, axes = plt.subplots(constrained_layout=True, **GATES_LAYOUT)
    ax_x, ax_z, ax_v = axes
    T = x.shape[0]
    t = np.arange(1, T + 1)
    marks = np.flatnonzero(x[:, sequence, 1]) + 1
    units = np.argsort(-np.abs(w_ov))[:n_units]
    ax_x.bar(t, x[:, sequence, 0], width=0.8, color="0.75")
    ax_x.bar(marks, x[marks - 1, sequence, 0], width=0.8, color=COLORS[1], label="marked numbers")
    ax_x.set(ylabel="$x_1(t)$", ylim=(0, 1.35), yticks=[0, 0.5, 1], title=f"sequence {sequence}: target "
             f"{x[marks[0] - 1, sequence, 0]:.2f} + {x[marks[1] - 1, sequence, 0]:.2f} = "
             f"{x[marks - 1, sequence, 0].sum():.2f}")
    ax_x.legend(loc="upper right")     # in the headroom above the bars, which end at 1
    image = ax_z.imshow(z[:, sequence, units].T, aspect="auto", cmap="viridis", vmin=0, vmax=1,
                        extent=(0.5, T + 0.5, n_units - 0.5, -0.5), interpolation="nearest")
    ax_z.set(ylabel="unit", yticks=range(n_units), yticklabels=[str(u) for u in units])
    ax_z.grid(False)
    ax_z.figure.colorbar(image, ax=ax_z, label="update gate $z_i(t)$", pad=0.01)
    lines = ax_v.plot(np.arange(T + 1), V[:, sequence, units[:3]])
    for m in marks:
        ax_v.axvline(m, color=COLORS[1], linewidth=1, linestyle="--")
    ax_v.set(xlabel="time step $t$", ylabel="$V_i(t)$", xlim=(0.5, T + 0.5))
    # beside the panel, in the margin that the colour bar above makes: over the lines it would
    # hide some of them
    ax_v.legend(lines, [str(u) for u in units[:3]], title="unit", loc="center left",
                bbox_to_anchor=(1.0, 0.5), handlelength=1.2).set_in_layout(False)
    return axes
