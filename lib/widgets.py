"""Interactive explorers that move on the static page of the book, where no kernel runs.

An explorer is a grid of settings drawn when the chapter runs, one PNG per setting, shown in nested
``ipywidgets.Stack``s whose ``selected_index`` follows the controls through ``jslink``: the widget
manager of the published page swaps the frames in the browser, offline. Each frame carries its own
readout, so the text always agrees with the figure. ``frame_explorer`` builds one from named
controls and a ``draw`` function; the book's three explorers are built on it.
"""
import html
import inspect
import io
import itertools
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import activations, diagnostics, plots, rnn
from ._validate import (ArgumentTypeError, activation_name, axes_arg, choice, flag_arg,
                        integer_arg, number_arg, positive_int, seed_arg)

__all__ = ["WIDTH", "DPI", "KINDS", "MAX_FRAMES", "COLORS_PER_FRAME", "SEED", "Control", "control", "render_frames",
           "frame_explorer", "STRUCTURES", "DYNAMICS_SCALES", "DYNAMICS_ACTIVATIONS", "recurrent_weights",
           "simulate_dynamics", "plot_dynamics", "dynamics_explorer", "GRADIENT_ACTIVATIONS", "GRADIENT_SCALES",
           "GRADIENT_LAYOUT", "simulate_gradients", "plot_gradients", "gradient_explorer", "gate_explorer"]

# the explorers' figures are 7 in wide at 100 dpi, 700 px: the book's text column (677 px)
# shows them at nearly full size, and the Image widgets never stretch them beyond it
WIDTH = 7.0
DPI = 100
KINDS = ("slider", "dropdown", "toggle")
# each frame is about 20-40 kB of PNG, a third more in the page's widget state: this many keep
# a chapter page within its 3 MB
MAX_FRAMES = 120
# a palette of this many colours keeps a frame's lines and text crisp at a third of the bytes
COLORS_PER_FRAME = 64
# the seed of the networks the plots and explorers draw (the chapters' own figures pass theirs)
SEED = 0
COLOR_LINE, COLOR_TYPICAL = plots.COLORS[0], plots.COLORS[1]


class Control(NamedTuple):
    """One control of a frame explorer: ``draw`` receives ``name=value`` for one of ``values``;
    the reader sees ``description`` and the ``labels``."""
    name: str
    values: tuple
    labels: tuple
    kind: str
    description: str
    start: int
    play: bool


def control(name, values, kind="slider", description=None, fmt="{}", start=None, play=False):
    """A control of ``frame_explorer``: the keyword ``name`` steps through ``values`` (the grid,
    at least two, shown as ``fmt.format(value)``, all different) with a ``kind`` of KINDS, starting
    at ``start`` (default the first value); ``play`` adds a Play button to a slider."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name: expected a Python identifier, got {name!r}")
    choice("kind", kind, KINDS)
    if description is not None and (not isinstance(description, str) or not description.strip()):
        raise ArgumentTypeError(f"description: expected a non-empty str or None, got {description!r}")
    if not isinstance(fmt, str) or "{" not in fmt:
        raise ArgumentTypeError(f"fmt: expected a format string such as '{{:.2f}}', got {fmt!r}")
    play = flag_arg("play", play)
    # a str is a sequence too, of letters: not a grid of settings
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise ArgumentTypeError(f"values: expected a sequence of settings, got {type(values).__name__}")
    values = tuple(values)
    if len(values) < 2:
        raise ValueError(f"values: a control needs at least 2 values to choose from, got {len(values)}")
    try:
        labels = tuple(fmt.format(v) for v in values)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise ValueError(f"fmt: cannot show the values with {fmt!r}: {exc}") from None
    if len(set(labels)) < len(labels):
        same = next(label for label in labels if labels.count(label) > 1)
        raise ValueError(f"values: two values show as {same!r} (fmt {fmt!r}); the grid needs "
                         "distinct values")
    if start is None:
        start = values[0]
    index = next((i for i, v in enumerate(values) if _same(v, start)), None)
    if index is None:
        raise ValueError(f"start: expected one of the values {list(labels)}, got {start!r}")
    if play and kind != "slider":
        raise ValueError(f"play: a Play button steps a slider, not a {kind}")
    return Control(name, values, labels, kind, description or name, index, play)


def _same(value, start):
    """Is ``start`` the setting ``value``? (an array's == is no answer)"""
    try:
        return bool(value == start) and isinstance(value, bool) == isinstance(start, bool)
    except (ValueError, TypeError):
        return False


def _grid_control(arg, name, values, *args, **kwargs):
    """The ``control`` of an explorer's argument ``arg``, whose bad grid it names."""
    try:
        return control(name, values, *args, **kwargs)
    except ValueError as exc:       # ArgumentTypeError is one too
        raise type(exc)(f"{arg}: {exc}") from None


def _figsize(figsize):
    if (not isinstance(figsize, (tuple, list)) or len(figsize) != 2
            or not all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                       and np.isfinite(v) and v > 0 for v in figsize)):
        raise ValueError(f"figsize: expected (width, height) in inches, two numbers > 0, got {figsize!r}")
    return tuple(float(v) for v in figsize)


def _artists(fig):
    return {id(a): a for ax in fig.axes for a in ax.get_children()} | {id(a): a for a in fig.get_children()}


def _axes_state(fig):
    return [(ax.get_xlim(), ax.get_ylim(), ax.get_title()) for ax in fig.axes]


def _png(fig, colors):
    """The canvas as a PNG with a palette of ``colors`` colours (deterministic bytes)."""
    from PIL import Image

    width, height = fig.canvas.get_width_height()
    rgb = Image.frombuffer("RGBA", (width, height), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
    buf = io.BytesIO()
    rgb.quantize(colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(buf, format="png")
    return buf.getvalue()


class _Background:
    """A figure with what every frame of one setup shares drawn once: frames are drawn over a copy."""

    def __init__(self, setup, fixed, figsize, subplots):
        self.fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
        FigureCanvasAgg(self.fig)
        self.axes = self.fig.subplots(**subplots)
        if setup is not None:
            setup(self.axes, **fixed)
        self.fig.canvas.draw()
        # frames must land on the axes the background has: no more layout, no autoscaling
        self.fig.set_layout_engine("none")
        for ax in self.fig.axes:
            ax.set_autoscale_on(False)
        self.state = _axes_state(self.fig)
        self.pixels = self.fig.canvas.copy_from_bbox(self.fig.bbox)

    def frame(self, draw, setting, colors):
        """Draw one setting over the background; return (PNG bytes, what ``draw`` returned)."""
        before = _artists(self.fig)
        for ax in self.fig.axes:
            ax.set_prop_cycle(None)          # every frame starts with the first colour
        text = draw(self.axes, **setting)
        added = [a for key, a in _artists(self.fig).items() if key not in before]
        try:
            if _axes_state(self.fig) != self.state:
                raise ValueError("draw: it changed the limits or a title of the axes, which the frames "
                                 "share; set them in setup")
            if text is not None and not isinstance(text, str):
                raise TypeError(f"draw: expected it to return the readout as HTML (a str) or None, "
                                f"got {type(text).__name__}")
            self.fig.canvas.restore_region(self.pixels)
            for artist in sorted(added, key=lambda a: a.get_zorder()):
                self.fig.draw_artist(artist)
            return _png(self.fig, colors), text
        finally:
            for artist in added:
                artist.remove()


def render_frames(controls, draw, setup=None, figsize=(WIDTH, 3.3), colors=COLORS_PER_FRAME, **subplots):
    """Draw every setting of the grid of ``controls``: returns {index tuple: (PNG, readout or None)}.

    ``setup(axes, **fixed)`` draws what the frames share (limits, labels, legends, fixed lines)
    for the controls it names as parameters; ``draw(axes, **setting)`` adds one setting's
    artists and returns its readout (HTML) or None. ``subplots`` go to ``Figure.subplots``.
    """
    controls = _check_controls(controls)
    figsize = _figsize(figsize)
    if isinstance(colors, bool) or not isinstance(colors, (int, np.integer)) or not 2 <= colors <= 256:
        raise ValueError(f"colors: expected a palette of 2 to 256 colours, got {colors!r}")
    if not callable(draw):
        raise TypeError(f"draw: expected a function draw(axes, **setting), got {type(draw).__name__}")
    fixed_names = _setup_names(setup, controls)
    size = int(np.prod([len(c.values) for c in controls]))
    if size > MAX_FRAMES:
        raise ValueError(f"controls: the grid has {size} settings, more than MAX_FRAMES = {MAX_FRAMES}; "
                         "a page that heavy loads slowly")
    backgrounds, frames = {}, {}
    for index in itertools.product(*(range(len(c.values)) for c in controls)):
        setting = {c.name: c.values[i] for c, i in zip(controls, index)}
        fixed = {name: setting[name] for name in fixed_names}
        key = tuple(fixed.items())
        if key not in backgrounds:
            backgrounds[key] = _Background(setup, fixed, figsize, subplots)
        frames[index] = backgrounds[key].frame(draw, setting, colors)
    return frames


def _check_controls(controls):
    if isinstance(controls, Control):
        controls = [controls]
    if not isinstance(controls, (list, tuple)):
        raise ArgumentTypeError(f"controls: expected a list of Controls made by widgets.control, "
                                f"got {type(controls).__name__}")
    controls = list(controls)
    if not controls:
        raise ValueError("controls: expected at least one control")
    for c in controls:
        if not isinstance(c, Control):
            raise ArgumentTypeError(f"controls: expected Controls made by widgets.control, "
                                    f"got {type(c).__name__}")
    names = [c.name for c in controls]
    if len(set(names)) < len(names):
        raise ValueError(f"controls: two controls are called {next(n for n in names if names.count(n) > 1)!r}")
    return controls


def _setup_names(setup, controls):
    """The controls ``setup`` takes (its parameters after the axes)."""
    if setup is None:
        return []
    if not callable(setup):
        raise TypeError(f"setup: expected a function setup(axes, **fixed) or None, got {type(setup).__name__}")
    names = list(inspect.signature(setup).parameters)[1:]
    unknown = [n for n in names if n not in {c.name for c in controls}]
    if unknown:
        raise ValueError(f"setup: takes {unknown}, which are not controls")
    return names


def _readout(controls, index, text):
    setting = " &middot; ".join(f"{html.escape(c.description)} = {html.escape(c.labels[i])}"
                                for c, i in zip(controls, index))
    # the widget's own line height (28 px, a control's) spreads a readout of two lines apart
    return (f'<div style="line-height: 1.4"><span class="explorer-setting">{setting}</span>'
            + (f"<br>{text}" if text else "") + "</div>")


def _control_widget(c):
    import ipywidgets as w

    options = list(zip(c.labels, range(len(c.values))))
    style = {"description_width": "initial"}
    if c.kind == "slider":
        # continuous: the frames follow the handle while it is dragged, which costs nothing here
        widget = w.SelectionSlider(options=options, index=c.start, description=c.description, style=style,
                                   continuous_update=True)
    elif c.kind == "dropdown":
        widget = w.Dropdown(options=options, index=c.start, description=c.description, style=style,
                            layout=w.Layout(width="max-content"))
    else:
        # a flex row, so that the description stands before the buttons, as other controls' do
        widget = w.ToggleButtons(options=options, index=c.start, description=c.description,
                                 style={**style, "button_width": "auto"},
                                 layout=w.Layout(display="flex", align_items="center", grid_gap="0 4px"))
    return widget.add_class("explorer-control")


def frame_explorer(controls, draw, setup=None, figsize=(WIDTH, 3.3), colors=COLORS_PER_FRAME, **subplots):
    """An explorer that moves without a kernel: every setting of the grid of ``controls`` drawn
    (``render_frames``, which says what ``draw`` and ``setup`` do) into an Image under its readout,
    in nested Stacks, one level per control, each Stack's ``selected_index`` linked to its control's
    ``index`` (and a Play's ``value`` to its slider) through ``jslink``.

    Returns the VBox to show, which also keeps its parts for tests and for readers who look inside:
    ``explorer_controls`` (the Controls), ``control_widgets``, ``stacks`` (a list of Stacks per
    level), ``panes`` ({index tuple: the frame's VBox of readout and image}) and ``links``.
    """
    import ipywidgets as w

    controls = _check_controls(controls)
    frames = render_frames(controls, draw, setup, figsize, colors, **subplots)
    width = int.from_bytes(next(iter(frames.values()))[0][16:20], "big")
    # shared by every frame: one layout model each instead of one per widget; the image fills the
    # column up to its own width, never wider (a blurred figure), with no margin (a column that
    # scrolls sideways); the readout keeps two lines, so that the image does not jump
    image_layout = w.Layout(width="100%", max_width=f"{width}px", margin="0")
    readout_layout = w.Layout(min_height="2.6em", margin="0 0 0 4px")
    from ipywidgets.widgets.widget_string import HTMLStyle
    readout_style = HTMLStyle(font_size="0.9em")
    panes = {index: w.VBox([w.HTML(_readout(controls, index, text), layout=readout_layout, style=readout_style)
                            .add_class("explorer-readout"),
                            w.Image(value=png, format="png", layout=image_layout).add_class("explorer-frame")])
             for index, (png, text) in frames.items()}
    widgets = [_control_widget(c) for c in controls]
    stacks = [[] for _ in controls]

    def nest(prefix):
        level = len(prefix)
        if level == len(controls):
            return panes[prefix]
        stack = w.Stack([nest(prefix + (i,)) for i in range(len(controls[level].values))],
                        selected_index=controls[level].start)
        stacks[level].append(stack)
        return stack

    top = nest(())
    links = [w.jslink((widgets[level], "index"), (stack, "selected_index"))
             for level in range(len(controls)) for stack in stacks[level]]
    row = []
    for c, widget in zip(controls, widgets):
        if c.play:
            play = w.Play(value=c.start, min=0, max=len(c.values) - 1, interval=900, show_repeat=False,
                          description=f"play {c.description}", layout=w.Layout(width="auto"))
            links.append(w.jslink((play, "value"), (widget, "index")))
            # the button and its slider stay together when the controls wrap onto a second line
            widget = w.HBox([play.add_class("explorer-play"), widget], layout=w.Layout(align_items="center"))
        row.append(widget)
    box = w.VBox([w.HBox(row, layout=w.Layout(flex_flow="row wrap", align_items="center")), top])
    box.explorer_controls, box.control_widgets, box.stacks, box.panes, box.links = (
        controls, widgets, stacks, panes, links)
    return box.add_class("rnnbook-explorer")


# --- Chapter 1: the dynamics of an autonomous network

# below, at and just above 1 (memory fades, lasts, cycles) and far above (chaos in the 64 units)
DYNAMICS_SCALES = (0.5, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.5, 2.0, 2.5, 3.0)
DYNAMICS_ACTIVATIONS = ("tanh", "linear")
# the memory panel shows how fast a nudge fades or grows near scale 1 (by 0.95^60 = 0.05 or
# 1.05^60 = 19); further out it leaves the panel, and the readout gives its size at T
GAIN_LIMITS = (1e-6, 1e6)
STATE_LIMIT = 1.05
DYNAMICS_FIGSIZE = (WIDTH, 3.5)
STRUCTURES = ("one unit", "two units, rotation", "64 units, random")


def recurrent_weights(structure, scale, *, seed):
    """Recurrent weights of spectral radius about ``scale`` for one of STRUCTURES. Returns (N, N)."""
    choice("structure", structure, STRUCTURES)
    scale = number_arg("scale", scale, low=0.0)
    seed = seed_arg("seed", seed)
    if structure == "one unit":
        return np.array([[scale]])
    if structure == "two units, rotation":
        phi = 2 * np.pi / 12                     # a rotation by 30 degrees per step
        return scale * np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]])
    return rnn.random_weights(1, 64, scale, seed=seed)[0]


def simulate_dynamics(structure, scale, g="tanh", T=60, *, seed):
    """Run the autonomous network (eq. 1.1, no input) from a fixed initial state, and follow how
    an infinitesimal nudge dV(0) of that state evolves: dV(t) = g'(b(t)) * (w^(vv) dV(t-1)).

    Returns a dict: ``V`` (T+1, N) the trajectory, ``gain`` (T+1,) the ratio |dV(t)| / |dV(0)|
    (how strongly the state still remembers the nudge), ``rho`` the spectral radius of w^(vv).
    """
    T = positive_int("T", T)
    activation_name("g", g)
    w_vv = recurrent_weights(structure, scale, seed=seed)
    N = w_vv.shape[0]
    rng = np.random.default_rng(seed + 1)
    v0 = np.array([[0.1]]) if N == 1 else 0.5 * rng.standard_normal((1, N))
    V, cache = rnn.autonomous(w_vv, v0, T, g=g)
    g_prime = activations.get(g).g_prime(cache["b"][:, 0])
    nudge = rng.standard_normal(N)
    nudge /= np.linalg.norm(nudge)
    gain = np.empty(T + 1)
    gain[0] = 1.0
    for t in range(1, T + 1):
        nudge = g_prime[t - 1] * (w_vv @ nudge)
        gain[t] = np.linalg.norm(nudge)
    return {"V": V[:, 0], "gain": gain, "rho": diagnostics.spectral_radius(w_vv)}


def _dynamics_axes(axes, T):
    """What every frame of the dynamics explorer shares: limits, labels, the legend."""
    ax_v, ax_gain = axes
    ax_v.set(xlim=(0, T), ylim=(-STATE_LIMIT, STATE_LIMIT), xlabel="time step $t$", ylabel="$V_i(t)$",
             title="the state (up to five units)")
    ax_gain.set(yscale="log", xlim=(0, T), ylim=GAIN_LIMITS, xlabel="time step $t$",
                ylabel=r"$\|\delta V(t)\| / \|\delta V(0)\|$", title="memory of a small nudge\nat $t = 0$")
    ax_gain.set_yticks(10.0 ** np.arange(-6, 7, 3))
    ax_gain.legend(handles=[Line2D([], [], color=COLOR_LINE, label="measured"),
                            Line2D([], [], linestyle="--", color="0.4", label=r"$\rho^t$")],
                   # below the panel: in it, some setting's line would run through the legend
                   loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)


def _draw_dynamics(axes, structure, g, scale, T):
    run = simulate_dynamics(structure, scale, g, T, seed=SEED)
    ax_v, ax_gain = axes
    t = np.arange(T + 1)
    # a linear state that grows leaves the panel for good: drawn on, its lines would streak across it
    V = run["V"][:, :5]
    ax_v.plot(t, np.where(np.abs(V) <= STATE_LIMIT, V, np.nan))
    # the log axis cannot show 0: a nudge that vanished entirely leaves through the bottom
    ax_gain.plot(t, np.maximum(run["gain"], 1e-300), color=COLOR_LINE)
    ax_gain.plot(t, np.maximum(run["rho"] ** t, 1e-300), "--", color="0.4")
    return run


def _dynamics_readout(run, T):
    text = (f"spectral radius &rho; = {run['rho']:.2f}; after {T} steps a nudge is multiplied by "
            f"{run['gain'][-1]:.1e} (&rho;<sup>{T}</sup> = {run['rho'] ** T:.1e})")
    peak = np.abs(run["V"][:, :5]).max()
    if peak > STATE_LIMIT:
        text += f"; the state leaves the panel: |V<sub>i</sub>| reaches {peak:.1e}"
    return text


def plot_dynamics(structure, scale, g="tanh", T=60, axes=None):
    """Two panels: a few units' V_i(t), and the remembered nudge on a log scale beside rho^t, for
    any setting (the explorer shows a grid of them). ``axes``: two Axes or None (a new figure).
    Returns the dict of ``simulate_dynamics``."""
    T = positive_int("T", T)
    choice("structure", structure, STRUCTURES)
    number_arg("scale", scale, low=0.0)
    activation_name("g", g)
    axes = axes_arg("axes", axes, 2)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=DYNAMICS_FIGSIZE, layout="constrained")
    _dynamics_axes(axes, T)
    return _draw_dynamics(axes, structure, g, scale, T)


def dynamics_explorer(T=60, scales=DYNAMICS_SCALES, structures=STRUCTURES, activations=DYNAMICS_ACTIVATIONS):
    """The explorer of ``plot_dynamics`` over networks x activations x scales (a Play steps the
    scale), drawn by ``frame_explorer``: it moves on the static page."""
    T = positive_int("T", T)
    structures = _names("structures", structures, STRUCTURES)
    activations = _names("activations", activations, DYNAMICS_ACTIVATIONS)
    scales = _scales(scales)
    controls = [_grid_control("structures", "structure", structures, "dropdown", "network",
                              start="two units, rotation" if "two units, rotation" in structures else None),
                _grid_control("activations", "g", activations, "toggle"),
                _grid_control("scales", "scale", scales, fmt="{:.2f}", start=0.9 if 0.9 in scales else None,
                              play=True)]

    def draw(axes, structure, g, scale):
        return _dynamics_readout(_draw_dynamics(axes, structure, g, scale, T), T)

    return frame_explorer(controls, draw, lambda axes: _dynamics_axes(axes, T), figsize=DYNAMICS_FIGSIZE, ncols=2)


def _names(arg, values, options):
    """A grid of names, each one of ``options``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise ArgumentTypeError(f"{arg}: expected a list of names from {list(options)}, got {values!r}")
    return tuple(choice(arg, v, options) for v in values)


def _scales(scales):
    """A grid of scales, each a finite number >= 0."""
    if not isinstance(scales, (list, tuple, np.ndarray)):
        raise ArgumentTypeError(f"scales: expected a list of numbers >= 0, got {scales!r}")
    return tuple(number_arg("scales", s, low=0.0) for s in scales)


# --- Chapter 3: the gradient carried back through time

GRADIENT_ACTIVATIONS = ("tanh", "sigmoid", "linear")
# below and at 1, and on to where a tanh network keeps its gradient (about 1.8) and beyond
GRADIENT_SCALES = (0.5, 0.75, 0.9, 1.0, 1.25, 1.5, 1.75, 1.8, 1.9, 2.0, 2.5, 3.0)
GRADIENT_LIMITS = (1e-60, 1e40)
# the lag plot as wide as it was beside the eigenvalues' square; both legends go below the
# panels, where no line of any setting runs through them
GRADIENT_LAYOUT = {"figsize": (WIDTH, 4.3), "width_ratios": [1.5, 1]}


def simulate_gradients(scale, g="tanh", lag=100, N=128, B=8, *, seed):
    """Carry the gradient of a loss on V(T) back through a random network driven by noise.

    The network has w^(vv) = scale * G / sqrt(N) (``rnn.random_weights``) and runs for T = ``lag``
    steps on standard normal input; dL/dV(T) is a random unit vector for each of B sequences.
    Returns a dict: ``norms`` (lag+1,), the geometric mean over the batch of ||dL/dV(T-k)|| at lag
    k; ``sigma_max``, ``rho``; ``bound`` = gamma sigma_max and ``typical`` (eq. 3.7) per step;
    ``rate``, the fitted decay rate per step (None if the gradient underflows within two steps);
    and ``eigenvalues`` of w^(vv).
    """
    scale = number_arg("scale", scale, low=0.0)
    choice("g", g, GRADIENT_ACTIVATIONS)
    lag = positive_int("lag", lag)
    N, B, seed = positive_int("N", N), positive_int("B", B), seed_arg("seed", seed)
    w_vv, w_vx, theta_v = rnn.random_weights(1, N, scale, seed=seed)
    rng = np.random.default_rng(seed + 1)
    _, cache = rnn.rnn_forward(rng.standard_normal((lag, B, 1)), w_vv, w_vx, theta_v, g=g)
    dV_T = rng.standard_normal((B, N))
    dV_T /= np.linalg.norm(dV_T, axis=1, keepdims=True)
    per_sequence = diagnostics.gradient_norms(cache, dV_T)
    with np.errstate(divide="ignore"):          # an exact zero (scale 0) becomes -inf, then 0
        norms = np.exp(np.log(per_sequence).mean(axis=1))
    usable = int(np.argmin(norms > 0)) if np.any(norms <= 0) else lag + 1
    # as diagnostics.spectral_radius and bound_rate compute them, each decomposition done once
    eigenvalues = np.linalg.eigvals(w_vv)
    sigma_max = float(diagnostics.singular_values(w_vv)[0])
    return {"norms": norms, "sigma_max": sigma_max, "rho": float(np.max(np.abs(eigenvalues))),
            "bound": activations.get(g).gamma * sigma_max, "typical": diagnostics.typical_rate(cache),
            "rate": diagnostics.decay_rate(norms[:usable]) if usable >= 2 else None,
            "eigenvalues": eigenvalues}


def _gradient_axes(axes, lag, reach):
    """What every frame of the gradient explorer shares: limits, labels, the unit circle, legends."""
    ax_lag, ax_eig = axes
    ax_lag.set(yscale="log", xlim=(0, lag), ylim=GRADIENT_LIMITS, xlabel="lag $k = T - s$",
               ylabel=r"$\|\partial L / \partial V(T-k)\|$", title="the gradient, carried back")
    ax_lag.set_yticks(10.0 ** np.arange(-60, 41, 20))
    ax_lag.xaxis.set_major_locator(plt.MaxNLocator(nbins=6, integer=True, steps=[1, 2, 5, 10]))
    ax_lag.legend(handles=[Line2D([], [], color=COLOR_LINE, label="measured"),
                           Line2D([], [], linestyle=":", color="0.35", label=r"bound $(\gamma\sigma_{\max})^k$"),
                           Line2D([], [], linestyle="-.", color="0.6", label=r"$\rho^k$"),
                           Line2D([], [], linestyle="--", color=COLOR_TYPICAL, label="typical rate$^k$")],
                  loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, handlelength=1.5, columnspacing=1.0)
    phi = np.linspace(0, 2 * np.pi, 200)
    ax_eig.plot(np.cos(phi), np.sin(phi), color="0.6", linewidth=1)
    ax_eig.set(xlim=(-reach, reach), ylim=(-reach, reach), aspect="equal", xlabel="Re", ylabel="Im",
               title=r"eigenvalues of $w^{(vv)}$")
    ax_eig.legend(handles=[Line2D([], [], color="0.6", linewidth=1, label="radius 1"),
                           Line2D([], [], linestyle="--", color="0.3", linewidth=1, label=r"radius $\rho$"),
                           Line2D([], [], linestyle=":", color="0.3", linewidth=1, label=r"radius $\sigma_{\max}$"),
                           Line2D([], [], linestyle="", marker=".", color=COLOR_TYPICAL, label="eigenvalues")],
                  loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=2, handlelength=1.5)


def _draw_gradients(axes, scale, g, lag):
    run = simulate_gradients(scale, g, lag, seed=SEED)
    ax_lag, ax_eig = axes
    k = np.arange(lag + 1)
    ax_lag.plot(k, np.maximum(run["norms"], 1e-300), color=COLOR_LINE)
    for rate, style, color in ((run["bound"], ":", "0.35"), (run["rho"], "-.", "0.6"),
                               (run["typical"], "--", COLOR_TYPICAL)):
        with np.errstate(divide="ignore", over="ignore"):
            line = rate ** k.astype(float)
        # a line that overflows is cut where it does, not drawn along the edge of the axes
        ax_lag.plot(k, np.where((line > 0) & np.isfinite(line), line, np.nan), style, color=color)
    phi = np.linspace(0, 2 * np.pi, 200)
    for radius, style in ((run["rho"], "--"), (run["sigma_max"], ":")):
        ax_eig.plot(radius * np.cos(phi), radius * np.sin(phi), style, color="0.3", linewidth=1)
    ax_eig.plot(run["eigenvalues"].real, run["eigenvalues"].imag, ".", color=COLOR_TYPICAL)
    return run


def _gradient_readout(run, lag):
    rate = "n/a (the gradient is exactly 0)" if run["rate"] is None else f"{run['rate']:.3f}"
    return (f"&sigma;<sub>max</sub> = {run['sigma_max']:.2f}, &rho; = {run['rho']:.2f}; per step: "
            f"bound {run['bound']:.3f}, typical {run['typical']:.3f}, measured {rate}. "
            f"At lag {lag} the gradient is {run['norms'][-1]:.1e} times its size at T.")


def plot_gradients(scale, g="tanh", lag=300, axes=None):
    """Two panels: ||dL/dV(T-k)|| against the lag k on a log scale, with the bound
    (gamma sigma_max)^k, rho^k and the typical rate^k; and the eigenvalues of w^(vv) with the circles
    of radius rho, sigma_max and 1, for any setting (the explorer shows a grid of them).
    ``axes``: two Axes or None (a new figure). Returns the dict of ``simulate_gradients``."""
    lag = positive_int("lag", lag)
    number_arg("scale", scale, low=0.0)
    choice("g", g, GRADIENT_ACTIVATIONS)
    axes = axes_arg("axes", axes, 2)
    if axes is None:
        _, axes = plt.subplots(1, 2, layout="constrained", **GRADIENT_LAYOUT)
    run = simulate_gradients(scale, g, lag, seed=SEED)
    _gradient_axes(axes, lag, max(1.2, 1.1 * run["sigma_max"]))
    return _draw_gradients(axes, scale, g, lag)


def gradient_explorer(lag=300, scales=GRADIENT_SCALES, activations=GRADIENT_ACTIVATIONS):
    """The explorer of ``plot_gradients`` over activations x scales (a Play steps the scale), drawn
    by ``frame_explorer`` on axes that every frame shares: it moves on the static page."""
    lag = positive_int("lag", lag)
    activations = _names("activations", activations, GRADIENT_ACTIVATIONS)
    scales = _scales(scales)
    controls = [_grid_control("activations", "g", activations, "toggle"),
                _grid_control("scales", "scale", scales, fmt="{:.2f}", start=1.0 if 1.0 in scales else None,
                              play=True)]
    # the largest scale's eigenvalues (radius rho, about 1.07 times the scale here) stay in view
    reach = max(1.2, 1.15 * max(scales))

    def draw(axes, g, scale):
        return _gradient_readout(_draw_gradients(axes, scale, g, lag), lag)

    return frame_explorer(controls, draw, lambda axes: _gradient_axes(axes, lag, reach),
                          figsize=GRADIENT_LAYOUT["figsize"], ncols=2,
                          width_ratios=GRADIENT_LAYOUT["width_ratios"])


# --- Chapter 4: a trained GRU's update gates at work

def gate_explorer(x, z, V, w_ov, start=0, units=None):
    """The explorer of a trained GRU's gates (``plots.plot_gru_gates``, drawn by the same code)
    over the sequences of a batch: the inputs, 1 - z_i(t) of the units the readout weighs most
    and the states of the first three, one sequence at a time (starting with ``start``), for each
    number of units in ``units`` (default 8 and all of them), drawn by ``frame_explorer``.

    Shapes: x (T, B, 2) adding-problem inputs, z (T, B, N) in [0, 1], V (T+1, B, N), w_ov (N,).
    """
    x, z, V, w_ov, (T, B, N) = plots._gate_arrays(x, z, V, w_ov)
    if integer_arg("start", start, 0) >= B:
        raise ValueError(f"start: expected a sequence number from 0 to {B - 1}, got {start!r}")
    if units is None:
        units = tuple(sorted({min(8, N), N}))
    elif not isinstance(units, (list, tuple)):
        raise ArgumentTypeError(f"units: expected a list of numbers of units from 1 to {N}, got {units!r}")
    units = tuple(units)
    if not units or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and 1 <= n <= N
                            for n in units):
        raise ValueError(f"units: expected numbers of units from 1 to {N}, got {units}")
    order = np.argsort(-np.abs(w_ov), kind="stable")
    states = V[:, :, order[:plots._SHOWN]]
    # every frame of one unit count on the same axes: limits over all sequences
    floors = {n: plots._gate_floor(1 - z[:, :, order[:n]]) for n in units}

    def setup(axes, n_units):
        plots._gate_axes(axes, T, order[:n_units], floors[n_units], (states.min(), states.max()))

    def draw(axes, n_units, sequence):
        numbers = plots._gate_traces(axes, x, z, V, order[:n_units], sequence, floors[n_units])
        return "target " + " + ".join(f"{n:.2f}" for n in numbers) + f" = {numbers.sum():.2f}"

    sequences = control("sequence", range(B), start=start)
    if len(units) > 1:
        controls = [_grid_control("units", "n_units", units, "toggle", "units shown"), sequences]
        return frame_explorer(controls, draw, setup, colors=64, **plots.GATES_LAYOUT)

    def setup_all(axes):
        setup(axes, units[0])

    def draw_all(axes, sequence):
        return draw(axes, units[0], sequence)

    return frame_explorer([sequences], draw_all, setup_all, colors=64, **plots.GATES_LAYOUT)
