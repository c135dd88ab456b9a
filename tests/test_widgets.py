import warnings

import numpy as np
import pytest

from rnnbook import plots, widgets


@pytest.mark.parametrize("structure", widgets.STRUCTURES)
# the slider's ends, 0 and 3, are drawn for every structure and activation by
# test_explorer_redraws_at_every_extreme; here a tiny scale and the edge of stability
@pytest.mark.parametrize("scale", [0.05, 1.0])
@pytest.mark.parametrize("g", ["tanh", "linear"])
def test_plot_survives_the_extreme_settings(structure, scale, g):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = widgets.render_png(lambda axes: widgets.plot_dynamics(structure, scale, g, 60, axes))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_linear_rotation_remembers_exactly_rho_to_the_t():
    run = widgets.simulate_dynamics("two units, rotation", 0.9, g="linear", T=50)
    np.testing.assert_allclose(run["gain"], 0.9 ** np.arange(51), rtol=1e-12)
    assert run["rho"] == pytest.approx(0.9)


def test_tangent_gain_matches_a_finite_nudge():
    # the linearised gain must agree with the separation of two runs that start 1e-7 apart
    from rnnbook import rnn
    w_vv = widgets.recurrent_weights("64 units, random", 0.8)
    run = widgets.simulate_dynamics("64 units, random", 0.8, T=10)
    rng = np.random.default_rng(1)
    v0 = 0.5 * rng.standard_normal((1, 64))
    nudge = rng.standard_normal((1, 64))
    nudge /= np.linalg.norm(nudge)
    V = rnn.autonomous(w_vv, np.vstack([v0, v0 + 1e-7 * nudge]), 10)[0]
    np.testing.assert_allclose(np.linalg.norm(V[:, 1] - V[:, 0], axis=1) / 1e-7, run["gain"], rtol=1e-4)


def test_one_unit_above_one_settles_on_a_fixed_point():
    run = widgets.simulate_dynamics("one unit", 1.5, T=80)
    assert run["V"][-1, 0] == pytest.approx(0.8585596, abs=1e-6)
    assert run["gain"][-1] < 1e-20


@pytest.mark.parametrize("kwargs, message", [
    (dict(structure="ring", scale=1.0), "structure: expected one of"),
    (dict(structure="one unit", scale=-1.0), "scale: expected a finite number >= 0"),
    (dict(structure="one unit", scale=float("nan")), "scale"),
])
def test_bad_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        widgets.recurrent_weights(**kwargs)


def test_explorer_redraws_at_every_extreme():
    box = widgets.dynamics_explorer()
    (scale, g), (structure, readout, image) = box.children[0].children, box.children[1:]
    first = image.value
    for s in (scale.min, scale.max):
        for st in widgets.STRUCTURES:
            for act in g.options:
                scale.value, structure.value, g.value = s, st, act
                assert image.value[:4] == b"\x89PNG" and "spectral radius" in readout.value
    assert image.value != first


@pytest.mark.parametrize("g", widgets.GRADIENT_ACTIVATIONS)
@pytest.mark.parametrize("scale", [0.0, 3.0])
@pytest.mark.parametrize("lag", [1, 300])
def test_gradient_plot_survives_the_extreme_settings(g, scale, lag):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = widgets.render_png(lambda axes: widgets.plot_gradients(scale, g, lag, axes))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_a_zero_network_forgets_at_once_and_reports_no_rate():
    run = widgets.simulate_gradients(0.0, "tanh", lag=20)
    assert run["norms"][0] == pytest.approx(1.0) and np.all(run["norms"][1:] == 0.0)
    assert run["rate"] is None and run["rho"] == 0.0 and run["bound"] == 0.0


def test_a_linear_network_decays_at_its_spectral_radius():
    run = widgets.simulate_gradients(0.8, "linear", lag=300)
    assert run["rate"] == pytest.approx(run["rho"], rel=0.01)
    assert run["bound"] == pytest.approx(run["sigma_max"])


def test_sigmoid_gradients_vanish_faster_than_tanh_gradients():
    tanh, sigmoid = (widgets.simulate_gradients(1.0, g, lag=100) for g in ("tanh", "sigmoid"))
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
        widgets.simulate_gradients(**kwargs)


def test_gradient_explorer_redraws_at_every_extreme():
    box = widgets.gradient_explorer()
    (scale, g), (lag, readout, image) = box.children[0].children, box.children[1:]
    # every control redraws; the plot itself is tested at every extreme above
    for control, value in ((scale, scale.max), (g, "sigmoid"), (lag, lag.min), (scale, scale.min),
                           (g, "linear"), (lag, lag.max)):
        before = image.value
        control.value = value
        assert image.value[:4] == b"\x89PNG" and image.value != before
        assert "&rho; =" in readout.value and f"lag {lag.value}" in readout.value


def png_width(png):
    return int.from_bytes(png[16:20], "big")


def gate_data(T=12, B=3, N=4):
    """Adding-problem inputs with markers at t = 3 and 10, and random gates, states and readout."""
    rng = np.random.default_rng(0)
    x = np.zeros((T, B, 2))
    x[:, :, 0] = rng.uniform(size=(T, B))
    x[[2, 9], :, 1] = 1.0
    return x, rng.uniform(size=(T, B, N)), rng.standard_normal((T + 1, B, N)), rng.standard_normal(N)


def test_gate_explorer_survives_every_sequence_and_unit_count():
    B = 3
    box = widgets.gate_explorer(*gate_data(B=B))
    (sequence, units), image = box.children[0].children, box.children[1]
    seen = set()
    for b in range(B):
        for n in (units.min, units.max):
            sequence.value, units.value = b, n
            assert image.value[:4] == b"\x89PNG"
            seen.add(image.value)
    assert len(seen) == 2 * B


@pytest.mark.parametrize("make", [widgets.dynamics_explorer, widgets.gradient_explorer,
                                  lambda: widgets.gate_explorer(*gate_data())],
                         ids=["dynamics", "gradient", "gate"])
def test_explorer_images_fit_the_text_column(make):
    # no wider than the book allows, and the Image widget never stretches it beyond its own width
    image = next(c for c in make().children if c.__class__.__name__ == "Image")
    assert image.value[:4] == b"\x89PNG" and png_width(image.value) <= plots.MAX_FIGURE_PX
    assert image.layout.max_width == f"{png_width(image.value)}px"
