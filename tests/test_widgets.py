import warnings

import numpy as np
import pytest

from lib import widgets


@pytest.mark.parametrize("structure", widgets.STRUCTURES)
@pytest.mark.parametrize("scale", [0.0, 0.05, 1.0, 3.0])
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
    from lib import rnn
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
