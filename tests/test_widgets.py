import io
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from rnnbook import plots, widgets


# --- the simulations behind the explorers

def test_linear_rotation_remembers_exactly_rho_to_the_t():
    run = widgets.simulate_dynamics("two units, rotation", 0.9, g="linear", T=50, seed=0)
    np.testing.assert_allclose(run["gain"], 0.9 ** np.arange(51), rtol=1e-12)
    assert run["rho"] == pytest.approx(0.9)


def test_tangent_gain_matches_a_finite_nudge():
    # the linearised gain must agree with the separation of two runs that start 1e-7 apart
    from rnnbook import rnn
    w_vv = widgets.recurrent_weights("64 units, random", 0.8, seed=0)
    run = widgets.simulate_dynamics("64 units, random", 0.8, T=10, seed=0)
    rng = np.random.default_rng(1)
    v0 = 0.5 * rng.standard_normal((1, 64))
    nudge = rng.standard_normal((1, 64))
    nudge /= np.linalg.norm(nudge)
    V = rnn.autonomous(w_vv, np.vstack([v0, v0 + 1e-7 * nudge]), 10)[0]
    np.testing.assert_allclose(np.linalg.norm(V[:, 1] - V[:, 0], axis=1) / 1e-7, run["gain"], rtol=1e-4)


def test_one_unit_above_one_settles_on_a_fixed_point():
    run = widgets.simulate_dynamics("one unit", 1.5, T=80, seed=0)
    assert run["V"][-1, 0] == pytest.approx(0.8585596, abs=1e-6)
    assert run["gain"][-1] < 1e-20


@pytest.mark.parametrize("kwargs, message", [
    (dict(structure="ring", scale=1.0), "structure: expected one of"),
    (dict(structure="one unit", scale=-1.0), "scale: expected a finite number >= 0"),
    (dict(structure="one unit", scale=float("nan")), "scale"),
])
def test_bad_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        widgets.recurrent_weights(**kwargs, seed=0)


def test_a_zero_network_forgets_at_once_and_reports_no_rate():
    run = widgets.simulate_gradients(0.0, "tanh", lag=20, seed=0)
    assert run["norms"][0] == pytest.approx(1.0) and np.all(run["norms"][1:] == 0.0)
    assert run["rate"] is None and run["rho"] == 0.0 and run["bound"] == 0.0


def test_a_linear_network_decays_at_its_spectral_radius():
    run = widgets.simulate_gradients(0.8, "linear", lag=300, seed=0)
    assert run["rate"] == pytest.approx(run["rho"], rel=0.01)
    assert run["bound"] == pytest.approx(run["sigma_max"])


def test_the_rates_come_from_one_spectrum():
    from rnnbook import activations
    run = widgets.simulate_gradients(1.3, "sigmoid", lag=5, seed=0)
    assert run["rho"] == max(abs(run["eigenvalues"])) < run["sigma_max"]
    assert run["bound"] == activations.get("sigmoid").gamma * run["sigma_max"]


def test_sigmoid_gradients_vanish_faster_than_tanh_gradients():
    tanh, sigmoid = (widgets.simulate_gradients(1.0, g, lag=100, seed=0) for g in ("tanh", "sigmoid"))
    assert sigmoid["rate"] < 0.5 * tanh["rate"] < 0.5
    assert sigmoid["bound"] == pytest.approx(tanh["bound"] / 4)


@pytest.mark.parametrize("kwargs, message", [
    (dict(scale=-0.1), "scale: expected a finite number >= 0"),
    (dict(scale=float("inf")), "scale"),
    (dict(scale=1.0, g="relu"), "g: expected one of"),
    (dict(scale=1.0, lag=0), "lag: expected an integer >= 1"),
])
def test_bad_gradient_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        widgets.simulate_gradients(**kwargs, seed=0)


# --- the frame explorer

def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def png_width(png):
    return int.from_bytes(png[16:20], "big")


def lines(axes, a, b, c="x"):
    """A cheap drawing whose frames all differ: a line of slope a, offset b, and c in the corner."""
    axes.plot([0, 1], [b, b + a], color="C0")
    axes.text(0.05, 0.9, c)
    return f"slope {a}"


def frame_axes(axes):
    axes.set(xlim=(0, 1), ylim=(-3, 3))


GRID = [widgets.control("a", [-1.0, 0.5], "dropdown", "slope", fmt="{:.1f}"),
        widgets.control("b", [0, 1, 2], "toggle", "offset"),
        widgets.control("c", ["p", "q", "r", "s"], start="q", play=True)]


@pytest.fixture(scope="module")
def explorer():
    return widgets.frame_explorer(GRID, lines, frame_axes, figsize=(2.0, 1.5))


def test_one_frame_per_setting_of_the_grid(explorer):
    assert sorted(explorer.panes) == list(itertools.product(range(2), range(3), range(4)))
    images = [bytes(pane.children[1].value) for pane in explorer.panes.values()]
    assert all(png[:8] == b"\x89PNG\r\n\x1a\n" for png in images)
    assert len(set(images)) == 2 * 3 * 4, "two settings drew the same frame"


def test_the_stacks_nest_one_level_per_control(explorer):
    top = explorer.children[1]
    assert [len(level) for level in explorer.stacks] == [1, 2, 6]
    assert explorer.stacks[0] == [top]
    for (i, j, k), pane in explorer.panes.items():
        assert top.children[i].children[j].children[k] is pane


def test_every_control_is_linked_to_every_stack_of_its_level(explorer):
    linked = {(id(link.source[0]), link.source[1], id(link.target[0]), link.target[1]) for link in explorer.links}
    for widget, level in zip(explorer.control_widgets, explorer.stacks):
        for stack in level:
            assert (id(widget), "index", id(stack), "selected_index") in linked
    play, slider = explorer.children[0].children[2].children
    assert play.__class__.__name__ == "Play" and play.max == 3 and slider is explorer.control_widgets[2]
    assert (id(play), "value", id(explorer.control_widgets[2]), "index") in linked
    assert len(explorer.links) == 1 + 2 + 6 + 1


def test_controls_and_stacks_start_on_the_same_frame(explorer):
    assert [w.index for w in explorer.control_widgets] == [0, 0, 1]
    assert all(stack.selected_index == 1 for stack in explorer.stacks[2])
    kinds = [w.__class__.__name__ for w in explorer.control_widgets]
    assert kinds == ["Dropdown", "ToggleButtons", "SelectionSlider"]
    assert explorer.control_widgets[2].options == (("p", 0), ("q", 1), ("r", 2), ("s", 3))


def test_each_frame_reads_out_its_own_setting(explorer):
    for (i, j, k), pane in explorer.panes.items():
        readout = pane.children[0].value
        setting = readout.split("<br>")[0]
        labels = [f"slope = {['-1.0', '0.5'][i]}", f"offset = {j}", f"c = {'pqrs'[k]}"]
        assert all(label in setting for label in labels), readout
        assert readout.endswith(f"<br>slope {[-1.0, 0.5][i]}</div>")


def test_frames_match_a_full_drawing_of_their_setting(explorer):
    # the frames are drawn over a shared background; a figure drawn from scratch must look the same
    fig, ax = plt.subplots(figsize=(2.0, 1.5), dpi=widgets.DPI, layout="constrained")
    frame_axes(ax)
    lines(ax, 0.5, 2, "r")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    full, frame = pixels(buf.getvalue()), pixels(bytes(explorer.panes[1, 2, 2].children[1].value))
    assert full.shape == frame.shape
    assert np.mean(np.abs(full - frame).max(axis=2) > 48) < 0.005


def test_images_fill_the_column_but_never_exceed_their_width(explorer):
    image = explorer.panes[0, 0, 0].children[1]
    assert png_width(bytes(image.value)) == 200 and image.layout.max_width == "200px" and image.layout.width == "100%"


def test_setup_runs_once_per_setting_of_the_controls_it_takes():
    calls = []

    def setup(axes, b):
        calls.append(b)
        axes.set(xlim=(0, 1), ylim=(-3, 3), title=f"offset {b}")

    frames = widgets.render_frames(GRID, lines, setup, figsize=(2.0, 1.5))
    assert sorted(calls) == [0, 1, 2] and len(frames) == 24


def draws_outside(axes, a):
    axes.plot([0, 1], [0, 10 * a])
    axes.set_ylim(0, 10 * a)


@pytest.mark.parametrize("make, message", [
    (lambda: widgets.control("a", [1.0]), "values: a control needs at least 2 values"),
    (lambda: widgets.control("a", []), "values: a control needs at least 2"),
    (lambda: widgets.control("a", [0.501, 0.499], fmt="{:.1f}"), "values: two values show as '0.5'"),
    (lambda: widgets.control("a", 3), "values: expected a sequence"),
    (lambda: widgets.control("a b", [1, 2]), "name: expected a Python identifier"),
    (lambda: widgets.control("a", [1, 2], kind="knob"), "kind: expected one of"),
    (lambda: widgets.control("a", [1, 2], start=3), "start: expected one of the values"),
    (lambda: widgets.control("a", [1, 2], kind="dropdown", play=True), "play: a Play button steps a slider"),
    (lambda: widgets.frame_explorer([], lines), "controls: expected at least one control"),
    (lambda: widgets.frame_explorer([("a", [1, 2])], lines), "controls: expected Controls"),
    (lambda: widgets.frame_explorer([widgets.control("a", [1, 2])] * 2, lines), "controls: two controls are called 'a'"),
    (lambda: widgets.frame_explorer([widgets.control(n, range(5)) for n in "abc"], lines),
     "controls: the grid has 125 settings, more than MAX_FRAMES"),
    (lambda: widgets.frame_explorer(GRID, "lines"), "draw: expected a function"),
    (lambda: widgets.frame_explorer(GRID, lines, colors=1), "colors: expected a palette of 2 to 256"),
    (lambda: widgets.frame_explorer(GRID, lines, setup=lambda axes, d: None), r"setup: takes \['d'\]"),
    (lambda: widgets.frame_explorer(GRID, lines, setup=3), "setup: expected a function"),
    (lambda: widgets.frame_explorer(GRID[:1], draws_outside, figsize=(2, 1.5)), "draw: it changed the limits"),
    (lambda: widgets.frame_explorer(GRID[:1], lambda axes, a: 3, figsize=(2, 1.5)), "draw: expected it to return"),
])
def test_bad_grids_and_drawings_are_refused(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


# --- the book's three explorers

def test_dynamics_explorer_draws_every_network_and_activation_at_the_ends_of_the_scale():
    box = widgets.dynamics_explorer(scales=(0.05, 3.0))
    assert [c.name for c in box.explorer_controls] == ["structure", "g", "scale"]
    assert len(box.panes) == 3 * 2 * 2
    assert len({bytes(pane.children[1].value) for pane in box.panes.values()}) == 12
    assert [w.index for w in box.control_widgets] == [1, 0, 0]   # the rotation network, tanh
    for (s, g, k), pane in box.panes.items():
        readout = pane.children[0].value
        assert f"scale = {[0.05, 3.0][k]:.2f}" in readout and "spectral radius &rho; =" in readout
        # a linear state grows without bound above 1 and leaves the panel; a tanh state never does
        assert ("leaves the panel" in readout) == (g == 1 and k == 1), readout
    png = bytes(box.panes[0, 0, 0].children[1].value)
    assert png_width(png) <= plots.MAX_FIGURE_PX and box.panes[0, 0, 0].children[1].layout.max_width == f"{png_width(png)}px"


def test_the_dynamics_grid_has_every_regime_of_the_chapter():
    scales = np.array(widgets.DYNAMICS_SCALES)
    # fading, the edge, the 64 units' cycles (1.0 to 1.4) and chaos (from 1.5), and the exercises'
    # scale 1 and just above it
    assert np.any(scales < 0.9) and 1.0 in scales and 1.05 in scales
    assert np.any((scales > 1.0) & (scales < 1.4)) and np.any(scales >= 1.5)
    defaults = widgets.dynamics_explorer.__defaults__
    assert defaults[1:] == (widgets.DYNAMICS_SCALES, widgets.STRUCTURES, ("tanh", "linear"))


def test_gradient_explorer_draws_every_activation_at_the_ends_of_the_scale_and_the_lag():
    lag = 1     # the default, 300, is drawn by Chapter 3 at every scale of the grid
    box = widgets.gradient_explorer(lag=lag, scales=(0.0, 3.0))
    assert [c.name for c in box.explorer_controls] == ["g", "scale"] and len(box.panes) == 6
    # a network of scale 0 forgets at once whatever its g; at scale 3 each g draws its own frame
    images = {g: {bytes(box.panes[g, k].children[1].value) for k in range(2)} for g in range(3)}
    assert len(images[0] | images[1] | images[2]) == 4
    for (g, k), pane in box.panes.items():
        readout = pane.children[0].value
        assert f"g = {widgets.GRADIENT_ACTIVATIONS[g]}" in readout and f"At lag {lag} the gradient" in readout
        assert ("n/a (the gradient is exactly 0)" in readout) == (k == 0)
    assert [w.__class__.__name__ for w in box.children[0].children[1].children] == ["Play", "SelectionSlider"]


def test_the_gradient_grid_holds_the_answers_of_the_exercise():
    scales = widgets.GRADIENT_SCALES
    tanh = [widgets.simulate_gradients(s, "tanh", 300, seed=0)["rate"] for s in scales if 1.7 <= s <= 2.0]
    assert min(abs(rate - 1) for rate in tanh) < 0.02, "no scale where a tanh network keeps its gradient"
    assert widgets.simulate_gradients(max(scales), "sigmoid", 300, seed=0)["rate"] < 0.5
    assert 1.0 in scales and min(scales) < 1


def gate_data(T=12, B=3, N=4):
    """Adding-problem inputs with markers at t = 3 and 10, and random gates, states and readout."""
    rng = np.random.default_rng(0)
    x = np.zeros((T, B, 2))
    x[:, :, 0] = rng.uniform(size=(T, B))
    x[[2, 9], :, 1] = 1.0
    return x, rng.uniform(size=(T, B, N)), rng.standard_normal((T + 1, B, N)), rng.standard_normal(N)


def test_gate_explorer_draws_every_sequence_and_unit_count():
    x, z, V, w_ov = gate_data(B=3)
    box = widgets.gate_explorer(x, z, V, w_ov, start=1, units=(2, 4))
    assert [c.description for c in box.explorer_controls] == ["units shown", "sequence"]
    assert [w.index for w in box.control_widgets] == [0, 1]
    assert len({bytes(pane.children[1].value) for pane in box.panes.values()}) == 2 * 3
    for (_, b), pane in box.panes.items():
        a, c = x[[2, 9], b, 0]
        assert pane.children[0].value.endswith(f"<br>target {a:.2f} + {c:.2f} = {a + c:.2f}</div>")


def test_gate_explorer_with_one_unit_count_has_only_the_sequence_slider():
    box = widgets.gate_explorer(*gate_data(B=2, N=4))
    assert [c.name for c in box.explorer_controls] == ["sequence"] and len(box.panes) == 2


@pytest.mark.parametrize("change, message", [
    (dict(start=3), "start: expected a sequence number from 0 to 2"),
    (dict(units=(2, 5)), "units: expected numbers of units from 1 to 4"),
    (dict(x=np.zeros((12, 3, 3))), r"x: expected shape \(T, B, 2\)"),
    (dict(z=np.zeros((12, 2, 4))), "z: expected shape"),
    (dict(V=np.zeros((12, 3, 4))), "V: expected shape"),
])
def test_gate_explorer_refuses_bad_input(change, message):
    x, z, V, w_ov = gate_data()
    kwargs = {**dict(x=x, z=z, V=V, w_ov=w_ov), **change}
    with pytest.raises(ValueError, match=message):
        widgets.gate_explorer(**kwargs)


def test_plot_functions_draw_a_setting_off_the_grid():
    # in a notebook, any setting between the explorer's frames
    fig, axes = plt.subplots(1, 2)
    run = widgets.plot_dynamics("64 units, random", 1.37, "tanh", 40, axes)
    assert len(axes[0].lines) == 5 and len(axes[1].lines) == 2 and run["gain"].shape == (41,)
    plt.close(fig)
    fig, axes = plt.subplots(1, 2)
    run = widgets.plot_gradients(1.37, "sigmoid", 50, axes)
    assert len(axes[0].lines) == 4 and run["norms"].shape == (51,)
    plt.close(fig)
