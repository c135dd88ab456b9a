"""One plotting style for the whole book, and the network diagrams drawn by code.

One colour per network, in every figure of the book: ``NETWORK_COLORS[name]``, with
``NETWORK_LINESTYLES[name]`` (names as in ``horizon.MODELS``):

=================  ===================  ========================================================
network            colour, line         why
=================  ===================  ========================================================
``rnn``            vermillion, solid    the plain tanh network of eq. (1.1)
``gru``            blue, solid          the GRU of eqs. (9.30a-d), whichever reset variant
``lstm``           bluish green, solid
``mingru``         sky blue, solid      a relative of the GRU: a lighter blue
``gru-no-update``  reddish purple       ablations that remove or fix a part of the GRU get a
``gru-no-reset``   orange               colour of their own: they are other networks, and a
``gru-leaky``      black                figure sets them against the GRU
``gru-leaky5``     black, dashed        the same leaky integrator with a slower leak
``gru-before``     blue, dashed         the GRU itself, with eq. (9.30c) as printed
``gru-bias3``      blue, dotted         the GRU itself, its update-gate bias raised by 3
=================  ===================  ========================================================

The colour says which network, the line style which variant of the same network. Nine networks
do not fit the seven colours of ``COLORS`` (the colour-blind-safe palette) one each, and dashes
alone tell five ablations apart poorly, least of all in figures of a few markers; so the two
variants that keep the GRU's equations share its blue, and the rest take the palette's colours.
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.path import Path
from matplotlib.ticker import NullLocator

from . import gru, scan
from ._validate import array_arg, axes_arg, choice, integer_arg, positive_int

__all__ = ["COLORS", "NETWORK_COLORS", "NETWORK_LINESTYLES", "MAX_FIGURE_PX", "BOOK_STYLE",
           "GATES_LAYOUT", "GATE_FLOOR", "use_book_style", "draw_unrolled", "draw_resnet_analogy",
           "draw_gru_cell", "draw_lstm_cell", "plot_gru_gates", "draw_scan_round"]

# Colours from the Okabe-Ito palette: distinguishable with colour blindness and in grey print.
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

# the table of the module docstring
NETWORK_COLORS = {"rnn": COLORS[1], "gru": COLORS[0], "lstm": COLORS[2], "mingru": COLORS[5],
                  "gru-no-update": COLORS[3], "gru-no-reset": COLORS[4], "gru-leaky": COLORS[6],
                  "gru-before": COLORS[0], "gru-bias3": COLORS[0], "gru-leaky5": COLORS[6]}
NETWORK_LINESTYLES = {**{name: "-" for name in NETWORK_COLORS},
                      "gru-before": "--", "gru-bias3": ":", "gru-leaky5": "--"}

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


# --- cell drawings: one step of a gated cell, in one visual language for the GRU and the LSTM.
# The state that the cell can pass on unchanged runs along the top as a thick line in the network's
# colour; gates are sigma boxes, candidates g boxes, pointwise operations small circles; the inputs
# enter from the left (the state) and from below (x(t)), the new state leaves on the right.

_GATE, _CANDIDATE, _WIRE = COLORS[4], COLORS[3], "0.25"


def _wire(ax, points, color=_WIRE, width=1.3, arrow=True, gid=None, over=False):
    """A wire along ``points``, with an arrow head at the end. ``over``: it crosses other wires,
    so a white rim shows which one passes over."""
    patch = FancyArrowPatch(path=Path(points), arrowstyle="-|>" if arrow else "-",
                            mutation_scale=11 + 2 * width, color=color, linewidth=width,
                            joinstyle="miter", capstyle="butt", zorder=2.5 if over else 2, gid=gid)
    if over:
        patch.set_path_effects([patheffects.withStroke(linewidth=4.5, foreground="white")])
    ax.add_patch(patch)
    return patch


def _dot(ax, xy, color=_WIRE):
    ax.add_patch(Circle(xy, 0.07, color=color, zorder=3))


def _op(ax, xy, label, gid=None, radius=0.25):
    """A pointwise operation (product, sum, 1 - z) as a small circle."""
    ax.add_patch(Circle(xy, radius, facecolor="white", edgecolor="black", linewidth=1.3, zorder=3,
                        gid=gid))
    ax.text(*xy, label, ha="center", va="center", fontsize=10 if len(label) < 8 else 8.5, zorder=4)


def _unit_box(ax, xy, label, color, width=0.8, height=0.75, gid=None):
    """A box that applies weights and a function: a gate (sigma) or a candidate (g)."""
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.12", facecolor="white",
                                edgecolor=color, linewidth=2, zorder=3, gid=gid))
    ax.text(x, y, label, ha="center", va="center", fontsize=12 if len(label) < 12 else 9.5,
            zorder=4)


def _cell_frame(ax, left, right, bottom, top, color):
    """The cell, a light patch in the network's colour."""
    ax.add_patch(FancyBboxPatch((left, bottom), right - left, top - bottom,
                                boxstyle="round,pad=0,rounding_size=0.4", facecolor=color,
                                edgecolor=color, alpha=0.07, linewidth=0, zorder=0))


def _label(ax, xy, text, color=_WIRE, ha="center", va="bottom"):
    """The name of a signal, beside its wire."""
    ax.text(*xy, text, color=color, fontsize=10, ha=ha, va=va, zorder=4)


def _gate_inputs(ax, boxes, v_bus, x_bus, bottom):
    """The inputs of the boxes ``boxes``, pairs (centre x, takes V(t-1)): V(t-1) from the bus
    at height ``v_bus``, if it takes it, and x(t) from the one at ``x_bus``."""
    for center, takes_v in boxes:
        if takes_v:
            _wire(ax, [(center - 0.2, v_bus), (center - 0.2, bottom)])
            _dot(ax, (center - 0.2, v_bus))
        _wire(ax, [(center + 0.2, x_bus), (center + 0.2, bottom)], over=True)
        _dot(ax, (center + 0.2, x_bus))


def draw_gru_cell(variant="before", ax=None):
    """Draw one step of the GRU, eqs. (9.30a-d): the update gate z and the reset gate r, the
    candidate h and the mixture V(t) = (1 - z) h + z V(t-1), whose shortcut from V(t-1) to V(t)
    along the top is the identity where z = 1.

    ``variant`` "before": the reset gate acts on V(t-1) before the product with w^(hv), eq.
    (9.30c); "after": on the product w^(hv) V(t-1) - theta^(hv), as torch.nn.GRU does (see
    rnnbook.gru). ``ax`` one Axes or None (a new figure). Returns the axes.
    """
    variant = choice("variant", variant, gru.VARIANTS)
    ax = _drawing_axes(ax)
    color = NETWORK_COLORS["gru"]
    top, v_bus, x_bus, boxes, left, right = 5.2, 1.7, 0.8, 3.2, 1.45, 13.3
    _cell_frame(ax, left, right, 0.15, 6.0, color)
    _node(ax, (0.7, top), "$V(t-1)$", COLORS[0], radius=0.7)
    _node(ax, (14.05, top), "$V(t)$", COLORS[0], radius=0.55)
    _node(ax, (2.6, -0.45), "$x(t)$", COLORS[2], radius=0.45)
    # the shortcut: V(t-1) times z, plus (1 - z) h, is V(t)
    _wire(ax, [(1.4, top), (13.5, top)], color=color, width=3.5, gid="shortcut")
    _label(ax, (7.6, top + 0.3), "shortcut: where $z = 1$, $V(t) = V(t-1)$", color=color)
    _op(ax, (4.2, top), r"$\times$")
    _op(ax, (12.2, top), "$+$")
    # V(t-1) down to the gates, x(t) up to them
    _wire(ax, [(1.95, top), (1.95, v_bus), (8.15 if variant == "before" else 7.35, v_bus)])
    _dot(ax, (1.95, top), color)
    _wire(ax, [(2.6, 0.0), (2.6, x_bus), (12.4, x_bus)], arrow=False)
    bottom = boxes - 0.375
    _gate_inputs(ax, [(4.2, True), (6.0, True), (12.2, False)], v_bus, x_bus, bottom)
    # update gate: z multiplies V(t-1) on the shortcut, 1 - z the candidate
    _unit_box(ax, (4.2, boxes), r"$\sigma$", _GATE, gid="z")
    _wire(ax, [(4.2, boxes + 0.375), (4.2, top - 0.25)], color=_GATE)
    _dot(ax, (4.2, 4.3), _GATE)
    _wire(ax, [(4.2, 4.3), (7.65, 4.3)], color=_GATE)
    _label(ax, (5.9, 4.35), "$z(t)$", _GATE)
    _op(ax, (7.95, 4.3), "$1-$", radius=0.3)
    _wire(ax, [(8.25, 4.3), (11.95, 4.3)], color=_GATE)
    _label(ax, (10.0, 4.35), "$1-z(t)$", _GATE)
    _op(ax, (12.2, 4.3), r"$\times$")
    _wire(ax, [(12.2, 4.55), (12.2, top - 0.25)])
    # reset gate and candidate, eq. (9.30c): where r acts is where the variants differ
    _unit_box(ax, (6.0, boxes), r"$\sigma$", _GATE, gid="r")
    reset, weights = (8.4, 10.0) if variant == "before" else (10.2, 8.3)
    _wire(ax, [(6.4, boxes), (reset, boxes), (reset, v_bus + 0.25)], color=_GATE)
    _label(ax, ((6.4 + reset) / 2, boxes + 0.05), "$r(t)$", _GATE)
    _op(ax, (reset, v_bus), r"$\times$", gid="reset")
    if variant == "before":
        _unit_box(ax, (weights, v_bus), r"$\mathbf{w}^{(hv)}$", _CANDIDATE, width=1.0, height=0.6,
                  gid="w_hv")
        _wire(ax, [(reset + 0.25, v_bus), (weights - 0.5, v_bus)])
        _wire(ax, [(weights + 0.5, v_bus), (12.0, v_bus), (12.0, bottom)])
    else:
        _unit_box(ax, (weights, v_bus), "$\\mathbf{w}^{(hv)}V(t-1)$\n$-\\,\\theta^{(hv)}$",
                  _CANDIDATE, width=1.9, height=0.85, gid="w_hv")
        _wire(ax, [(weights + 0.95, v_bus), (reset - 0.25, v_bus)])
        _wire(ax, [(reset + 0.25, v_bus), (12.0, v_bus), (12.0, bottom)])
    _unit_box(ax, (12.2, boxes), "$g$", _CANDIDATE, gid="h")
    _wire(ax, [(12.2, boxes + 0.375), (12.2, 4.05)], color=_CANDIDATE)
    _label(ax, (12.4, 3.72), "$h(t)$", _CANDIDATE, ha="left", va="center")
    _footnote(ax, "z")
    ax.set_title("one GRU step, eqs. (9.30a–d): reset gate before $\\mathbf{w}^{(hv)}$"
                 if variant == "before" else
                 "one step of torch.nn.GRU: reset gate after $\\mathbf{w}^{(hv)}$", fontsize=11)
    return _finish_drawing(ax)


def draw_lstm_cell(ax=None):
    """Draw one step of the LSTM in the visual language of ``draw_gru_cell``: forget gate f, input
    gate i, output gate q, candidate c~ = g(w^(cx) x + w^(cv) V(t-1) - theta^(c)), the cell state
    c(t) = f c(t-1) + i c~ along the top (the constant error carousel, where the GRU has its
    shortcut) and the state V(t) = q g(c(t)). Each gate as z in eq. (9.30a), e.g.
    f = sigma(w^(fx) x + w^(fv) V(t-1) - theta^(f)); the output gate is q, since w^(ov) is the
    readout. ``ax`` one Axes or None (a new figure). Returns the axes.
    """
    ax = _drawing_axes(ax)
    color = NETWORK_COLORS["lstm"]
    top, v_bus, x_bus, boxes, left, right = 5.2, 1.7, 0.8, 3.2, 1.45, 13.3
    _cell_frame(ax, left, right, 0.15, 6.0, color)
    _node(ax, (0.7, top), "$c(t-1)$", color, radius=0.7)
    _node(ax, (14.05, top), "$c(t)$", color, radius=0.55)
    _node(ax, (0.7, v_bus), "$V(t-1)$", COLORS[0], radius=0.7)
    _node(ax, (14.05, v_bus), "$V(t)$", COLORS[0], radius=0.55)
    _node(ax, (2.6, -0.45), "$x(t)$", COLORS[2], radius=0.45)
    # the carousel: c(t-1) times f, plus i times the candidate, is c(t)
    _wire(ax, [(1.4, top), (13.5, top)], color=color, width=3.5, gid="carousel")
    _label(ax, (7.6, top + 0.3), "cell state $c$; where $f = 1$, the constant error carousel",
           color=color)
    _op(ax, (4.2, top), r"$\times$")
    _op(ax, (8.0, top), "$+$")
    _wire(ax, [(1.4, v_bus), (10.0 - 0.2, v_bus)], arrow=False)
    _wire(ax, [(2.6, 0.0), (2.6, x_bus), (10.0 + 0.2, x_bus)], arrow=False)
    bottom = boxes - 0.375
    _gate_inputs(ax, [(4.2, True), (6.2, True), (8.0, True), (10.0, True)], v_bus, x_bus, bottom)
    _unit_box(ax, (4.2, boxes), r"$\sigma$", _GATE, gid="f")
    _wire(ax, [(4.2, boxes + 0.375), (4.2, top - 0.25)], color=_GATE)
    _label(ax, (4.3, 4.3), "$f(t)$", _GATE, ha="left", va="center")
    _unit_box(ax, (6.2, boxes), r"$\sigma$", _GATE, gid="i")
    _wire(ax, [(6.2, boxes + 0.375), (6.2, 4.3), (7.75, 4.3)], color=_GATE)
    _label(ax, (6.95, 4.35), "$i(t)$", _GATE)
    _unit_box(ax, (8.0, boxes), "$g$", _CANDIDATE, gid="c~")
    _wire(ax, [(8.0, boxes + 0.375), (8.0, 4.05)], color=_CANDIDATE)
    _label(ax, (8.2, 3.72), r"$\tilde{c}(t)$", _CANDIDATE, ha="left", va="center")
    _op(ax, (8.0, 4.3), r"$\times$")
    _wire(ax, [(8.0, 4.55), (8.0, top - 0.25)])
    # the state: the output gate q times g(c(t))
    _unit_box(ax, (10.0, boxes), r"$\sigma$", _GATE, gid="q")
    _wire(ax, [(10.4, boxes), (11.95, boxes)], color=_GATE)
    _label(ax, (11.15, boxes + 0.05), "$q(t)$", _GATE)
    _dot(ax, (12.2, top), color)
    _wire(ax, [(12.2, top), (12.2, 4.625)], color=color)
    _unit_box(ax, (12.2, 4.25), "$g$", _CANDIDATE, gid="g(c)")
    _wire(ax, [(12.2, 3.875), (12.2, boxes + 0.25)])
    _op(ax, (12.2, boxes), r"$\times$")
    _wire(ax, [(12.2, boxes - 0.25), (12.2, v_bus), (13.5, v_bus)], color=COLORS[0])
    _footnote(ax, "f")
    ax.set_title("one LSTM step: the cell state $c$ runs where the GRU's shortcut runs",
                 fontsize=11)
    return _finish_drawing(ax)


def _footnote(ax, gate):
    """What the boxes compute, once, in the words of eqs. (9.30a, b)."""
    example = (rf"${gate}(t) = \sigma(\mathbf{{w}}^{{({gate}x)}}x(t)"
               rf" + \mathbf{{w}}^{{({gate}v)}}V(t-1) - \theta^{{({gate})}})$")
    ax.text(3.3, -0.45, r"each $\sigma$ or $g$ box applies its function to its weighted inputs minus a"
            " threshold, e.g."
            "\n" + example, ha="left", va="center", fontsize=9, color="0.3", linespacing=1.6)


def _drawing_axes(ax):
    ax = axes_arg("ax", ax, 1)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.0, 3.6))
        fig.subplots_adjust(left=0.0, right=1.0, bottom=0.0, top=0.92)
    return ax


def _finish_drawing(ax):
    ax.set_xlim(-0.1, 14.7)
    ax.set_ylim(-1.0, 6.2)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


# the three panels of plot_gru_gates, stacked in the 7 in text column (also used by the explorer)
GATES_LAYOUT = {"nrows": 3, "ncols": 1, "figsize": (7.0, 6.2), "sharex": True,
                "height_ratios": [1, 2.1, 1.4]}
# the units in colour in the gate figure (the others are grey), and their colours: not the marker's
_SHOWN = 3
_UNIT_COLORS = (COLORS[0], COLORS[2], COLORS[3])
_MARK = COLORS[1]
# 1 - z below this is drawn at it: a gate that rounds to 1 would have no place on a log scale
GATE_FLOOR = 1e-6


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
    if z.min() < 0 or z.max() > 1:
        raise ValueError(f"z: expected update gates in [0, 1], got values from {z.min():.3g} to "
                         f"{z.max():.3g}")
    return x, z, V, w_ov, (sizes["T"], sizes["B"], sizes["N"])


def _gate_floor(one_minus_z):
    """The bottom of the gate panel: the power of ten at or below the smallest 1 - z shown."""
    return max(GATE_FLOOR, 10.0 ** np.floor(np.log10(max(one_minus_z.min(), GATE_FLOOR))))


def _bars(t, heights, color, width=0.8):
    """Bars as one collection: a hundred Rectangles of ``ax.bar`` take most of an explorer
    frame's time."""
    left, right = t - width / 2, t + width / 2
    corners = np.stack([np.stack([left, 0 * t], -1), np.stack([left, heights], -1),
                        np.stack([right, heights], -1), np.stack([right, 0 * t], -1)], axis=1)
    return PolyCollection(corners, facecolors=color, edgecolors="none")


def _gate_axes(axes, T, units, floor, v_limits):
    """What the panels of the gate figure share over sequences: limits, scales, labels, legends.
    ``units``: the units drawn, by readout weight; ``v_limits``: (low, high) of the states."""
    ax_x, ax_z, ax_v = axes
    ax_x.set(ylabel="$x_1(t)$", xlim=(0.5, T + 0.5), ylim=(0, 1.35), yticks=[0, 0.5, 1])
    # in the headroom above the bars, which end at 1
    ax_x.legend(handles=[Patch(color="0.75", label="numbers"),
                         Patch(color=_MARK, label="marked numbers")], loc="upper right", ncols=2)
    ax_z.set_yscale("log")
    ax_z.set(ylim=(floor, 1.0), ylabel="$1 - z_i(t)$, log scale")
    # the same axis read as z: 1 - z = 10^-k is z = 0.9...9, k nines
    decades = 10.0 ** np.arange(0, np.log10(floor) - 0.5, -1)
    right = ax_z.secondary_yaxis("right")
    right.set_yticks(decades, ["0"] + [f"{1 - d:.{k}f}" for k, d in enumerate(decades[1:], 1)])
    # no minor ticks: the decades suffice, and each tick costs an explorer's background time
    for axis in (ax_z.yaxis, right.yaxis):
        axis.set_minor_locator(NullLocator())
    right.set_ylabel("update gate $z_i(t)$")
    ax_z.text(0.99, 0.03, "$z$ near 1: the unit keeps its state", transform=ax_z.transAxes,
              ha="right", va="bottom", fontsize=9, color="0.35",
              bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    handles = [Line2D([], [], color=c, label=f"unit {u}") for c, u in zip(_UNIT_COLORS, units)]
    more = len(units) - len(handles)
    if more:
        handles.append(Line2D([], [], color="0.7", linewidth=1,
                              label=f"{more} more unit{'s' if more > 1 else ''}"))
    ax_z.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1), ncols=len(handles),
                title="the units with the largest readout weights $|w^{(ov)}_i|$",
                alignment="left", borderaxespad=0.2)
    margin = 0.05 * (v_limits[1] - v_limits[0]) + 1e-9
    ax_v.set(xlabel="time step $t$", ylabel="$V_i(t)$",
             ylim=(v_limits[0] - margin, v_limits[1] + margin))


def _gate_traces(axes, x, z, V, units, sequence, floor):
    """One sequence's data on the gate figure's panels; returns its marked numbers."""
    ax_x, ax_z, ax_v = axes
    T = x.shape[0]
    t = np.arange(1, T + 1)
    marks = np.flatnonzero(x[:, sequence, 1]) + 1
    ax_x.add_collection(_bars(t, x[:, sequence, 0], "0.75"))
    ax_x.add_collection(_bars(marks, x[marks - 1, sequence, 0], _MARK))
    for ax in (ax_z, ax_v):
        for m in marks:
            ax.axvspan(m - 0.5, m + 0.5, color=_MARK, alpha=0.3, linewidth=0, zorder=0.5)
    gates = np.clip(1 - z[:, sequence, units], floor, 1.0)
    if len(units) > _SHOWN:     # one artist for all grey lines: an explorer draws 32 frames
        grey = np.stack([np.broadcast_to(t, gates[:, _SHOWN:].T.shape), gates[:, _SHOWN:].T], -1)
        ax_z.add_collection(LineCollection(grey, colors="0.7", linewidths=0.8, zorder=2,
                                           gid="other gates"))
    for i, (unit, color) in enumerate(zip(units[:_SHOWN], _UNIT_COLORS)):
        ax_z.plot(t, gates[:, i], color=color, linewidth=1.6, zorder=3, gid=f"gate {unit}")
        ax_v.plot(np.arange(T + 1), V[:, sequence, unit], color=color, zorder=3,
                  gid=f"state {unit}")
    return x[marks - 1, sequence, 0]


def plot_gru_gates(x, z, V, w_ov, sequence=0, n_units=None, axes=None):
    """A trained GRU's update gates at work on one sequence of the adding problem, eq. (9.30d).

    Three panels over t: the inputs with their two marked steps (shaded in every panel); 1 - z_i(t)
    on a log scale for the ``n_units`` units that the readout weighs most, the first three in
    colour: near 0 (z near 1) a unit keeps its state, higher it writes part of its candidate in;
    and the states V_i(t) of the three coloured units.

    Shapes: x (T, B, 2), z (T, B, N) in [0, 1], V (T+1, B, N), w_ov (N,) the readout weights;
    ``sequence`` from 0 to B-1, with two marked steps (x[:, sequence, 1] != 0); ``n_units`` from
    1 to N (None: 8, or N if fewer); ``axes`` three Axes or None (a new figure). 1 - z below
    GATE_FLOOR is drawn at it. Returns the axes.
    """
    x, z, V, w_ov, (T, B, N) = _gate_arrays(x, z, V, w_ov)
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
    units = np.argsort(-np.abs(w_ov), kind="stable")[:n_units]
    floor = _gate_floor(1 - z[:, sequence, units])
    states = V[:, sequence, units[:_SHOWN]]
    _gate_axes(axes, T, units, floor, (states.min(), states.max()))
    numbers = _gate_traces(axes, x, z, V, units, sequence, floor)
    axes[0].set_title(f"sequence {sequence}: target " + " + ".join(f"{n:.2f}" for n in numbers)
                      + f" = {numbers.sum():.2f}")
    return axes


# --- Chapter 7: the scans, round by round (scan.schedule)

_SCAN_TITLES = {"hillis-steele": "Hillis\u2013Steele", "blelloch": "Blelloch"}
# green: the range includes v0, so it is a state; blue: a block of steps, an (a, b) pair
_STATE, _BLOCK, _COMBINED, _COPIED = COLORS[2], COLORS[0], COLORS[1], COLORS[3]
_SCAN_FIGSIZE = (7.0, 4.8)
_BAR = 0.25         # half the height of a bar, in rows


def draw_scan_round(ax, name, T, round):
    """A scan round by round (Chapter 7): what each position holds after
    round ``round`` of ``scan.schedule(name, T)``, one row per position.

    A position's bar spans the steps whose composition it holds: green if
    they include v0 (a state), blue if not (a block of steps); faint if the
    round left it alone, with a white seam where it joined two pieces. A dot
    marks the position's own step. Arrows go from source to target: the
    pairs combined (vermillion) and Blelloch's copies (purple), whose
    targets' old ranges show dashed. ``name`` "hillis-steele" or
    "blelloch"; ``T`` >= 1; ``round`` from 0 to the last of the schedule;
    ``ax`` one Axes or None (a new figure). Returns the axes.
    """
    rounds = scan.schedule(name, T)
    round = integer_arg("round", round, 0)
    if round >= len(rounds):
        raise ValueError(f"round: expected a round from 0 to {len(rounds) - 1} of {name} "
                         f"at T = {T}, got {round}")
    ax = axes_arg("ax", ax, 1)
    if ax is None:
        _, ax = plt.subplots(figsize=_SCAN_FIGSIZE, layout="constrained")
    now = rounds[round]
    before = rounds[max(round - 1, 0)]["holds"]
    own = 1 if name == "blelloch" else 0    # Blelloch's position p starts with step p + 1
    P = len(now["holds"])
    changed = _changed(now, P, T)
    _scan_bars(ax, now["holds"], changed)
    _scan_seams(ax, now, before, T)
    lost = {target for _, target in now["copies"]}     # overwritten: shown as outlines
    if now["phase"] == "v0 enters":
        lost.add(P - 1)
    _scan_outlines(ax, [before[p] if p in lost else None for p in range(P)])
    ax.plot(np.arange(P) + own, np.arange(P), "o", color="black", markersize=2.5, zorder=3.5,
            gid="own step")
    for pairs, color, gid in ((now["pairs"], _COMBINED, "combined"),
                              (now["copies"], _COPIED, "copied")):
        for source, target in pairs:
            x = before[source][1] if before[source] else source + own
            _scan_arrow(ax, x, source, target, color, gid)
    _scan_axes(ax, name, T, P + own - 1, P)
    ax.set_title(f"{_SCAN_TITLES[name]}, {now['label']}", fontsize=11)
    return ax


def _changed(now, P, T):
    """The positions whose value this round writes."""
    if now["phase"] == "start":
        return set(range(P))
    if now["phase"] == "v0 enters":
        return {P - 1}
    if now["phase"] == "last step":
        return set(range(T))
    return {target for _, target in now["pairs"] + now["copies"]}


def _bar_corners(holds):
    """The rectangles of the bars over the held ranges (None, padding: no bar)."""
    corners = {}
    for p, held in enumerate(holds):
        if held is not None:
            left, right = held[0] - 0.42, held[1] + 0.42
            corners[p] = [(left, p - _BAR), (right, p - _BAR), (right, p + _BAR), (left, p + _BAR)]
    return corners


def _scan_bars(ax, holds, changed):
    """One bar per position over the steps it holds, faint where the round left it alone."""
    corners = _bar_corners(holds)
    colors = [to_rgba(_STATE if holds[p][0] == 0 else _BLOCK, 1.0 if p in changed else 0.3)
              for p in corners]
    ax.add_collection(PolyCollection(list(corners.values()), facecolors=colors,
                                     edgecolors="none", zorder=2, gid="held"))


def _scan_seams(ax, now, before, T):
    """A white seam in each bar that this round composed of two pieces, where they meet."""
    if now["phase"] == "last step":             # the state before step p + 1, then that step
        seams = [(p + 1, p) for p in range(T)]
    else:
        seams = [(max(before[source], before[target])[0], target)
                 for source, target in now["pairs"]
                 if before[source] is not None and before[target] is not None]
    ax.add_collection(LineCollection([[(x - 0.5, p - _BAR), (x - 0.5, p + _BAR)]
                                      for x, p in seams], colors="white", linewidths=2,
                                     zorder=2.5, gid="seams"))


def _scan_outlines(ax, holds):
    """Dashed outlines of the ranges ``holds`` (None: none)."""
    ax.add_collection(PolyCollection(list(_bar_corners(holds).values()), facecolors="none",
                                     edgecolors="0.25", linestyles="--", linewidths=0.9,
                                     zorder=3, gid="held before"))


def _scan_arrow(ax, x, source, target, color, gid):
    """An arrow at step ``x`` from the source's row to the target's, bar edge to bar edge."""
    down = 1 if target > source else -1     # rows count down the page
    arrow = FancyArrowPatch((x, source + down * _BAR), (x, target - down * _BAR),
                            arrowstyle="-|>", mutation_scale=9, color=color, linewidth=1.4,
                            shrinkA=0, shrinkB=0, zorder=4, gid=gid)
    arrow.set_path_effects([patheffects.withStroke(linewidth=3.5, foreground="white")])
    ax.add_patch(arrow)


def _scan_axes(ax, name, T, last, P):
    """Limits, ticks, labels and the legend of a scan's frame: the same in every round."""
    ax.set_xlim(-0.7, last + 0.7)
    ax.set_ylim(P - 0.5, -0.5)
    every = 1 if last <= 17 else 2 if last <= 34 else 4
    ax.set_xticks(np.arange(0, last + 1, every))
    ax.set_yticks(np.arange(0, P, every))
    ax.tick_params(labelsize=8)
    ax.grid(axis="y", visible=False)
    ax.set_axisbelow(True)
    ax.set_xlabel("time step $t$: the element $(a(t), b(t))$; at 0, $(1, v_0)$")
    ax.set_ylabel("position")
    handles = [Patch(color=_STATE, label="a state: from v0 on"),
               Patch(color=_BLOCK, label="a block of steps"),
               Line2D([], [], color=_COMBINED, marker=">", label="combined")]
    if name == "blelloch":
        handles += [Line2D([], [], color=_COPIED, marker=">", label="copied"),
                    Patch(facecolor="none", edgecolor="0.25", linestyle="--",
                          label="overwritten")]
    if last > T:
        ax.axvspan(T + 0.5, last + 0.5, color="0.9", linewidth=0, zorder=0.5)
        handles.append(Patch(color="0.9", label="padding (1, 0)"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13),
              ncols=len(handles), fontsize=8, handlelength=1.5, columnspacing=1.2)
