"""Interactive explorers. Each is a pure plotting function plus a thin ipywidgets wrapper, so the
same figure can be drawn statically in the book and explored live in Jupyter, Binder or Colab."""
import io

import matplotlib.pyplot as plt
import numpy as np

from . import activations, rnn
from ._validate import choice, positive_int

STRUCTURES = ("one unit", "two units, rotation", "64 units, random")


def recurrent_weights(structure, scale, seed=0):
    """Recurrent weights of spectral radius about ``scale`` for one of STRUCTURES. Returns (N, N)."""
    choice("structure", structure, STRUCTURES)
    if not np.isfinite(scale) or scale < 0:
        raise ValueError(f"scale: expected a finite number >= 0, got {scale!r}")
    if structure == "one unit":
        return np.array([[scale]])
    if structure == "two units, rotation":
        phi = 2 * np.pi / 12                     # a rotation by 30 degrees per step
        return scale * np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]])
    return rnn.random_weights(64, 1, scale, seed)[0]


def simulate_dynamics(structure, scale, g="tanh", T=60, seed=0):
    """Run the autonomous network (eq. 1.1, no input) from a fixed initial state, and follow how
    an infinitesimal nudge dV(0) of that state evolves: dV(t) = g'(b(t)) * (w^(vv) dV(t-1)).

    Returns a dict: ``V`` (T+1, N) the trajectory, ``gain`` (T+1,) the ratio |dV(t)| / |dV(0)|
    (how strongly the state still remembers the nudge), ``rho`` the spectral radius of w^(vv).
    """
    T = positive_int("T", T)
    w_vv = recurrent_weights(structure, scale, seed)
    N = w_vv.shape[0]
    rng = np.random.default_rng(seed + 1)
    v0 = np.array([[0.1]]) if N == 1 else 0.5 * rng.standard_normal((1, N))
    V, cache = rnn.autonomous(w_vv, v0, T, g=g)
    g_prime = activations.get(g).g_prime(cache["b"][:, 0])
    nudge = rng.standard_normal(N)
    gain = np.empty(T + 1)
    gain[0] = 1.0
    nudge /= np.linalg.norm(nudge)
    for t in range(1, T + 1):
        nudge = g_prime[t - 1] * (w_vv @ nudge)
        gain[t] = np.linalg.norm(nudge)
    return {"V": V[:, 0], "gain": gain, "rho": float(np.max(np.abs(np.linalg.eigvals(w_vv))))}


def plot_dynamics(structure, scale, g="tanh", T=60, axes=None):
    """Two panels: a few units' V_i(t), and the remembered nudge on a log scale beside rho^t."""
    run = simulate_dynamics(structure, scale, g, T)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.0), constrained_layout=True)
    ax_v, ax_gain = axes
    t = np.arange(T + 1)
    ax_v.plot(t, run["V"][:, :5])
    ax_v.set(xlabel="time step $t$", ylabel="$V_i(t)$", title=f"{structure}, scale {scale:.2f}, g = {g}")
    if g != "linear":
        ax_v.set_ylim(-1.05, 1.05)
    ax_gain.semilogy(t, np.maximum(run["gain"], 1e-16), label="measured")
    ax_gain.semilogy(t, np.maximum(run["rho"] ** t, 1e-16), "--", color="0.4",
                     label=rf"$\rho^t$, $\rho$ = {run['rho']:.2f}")
    lowest = min(run["gain"].min(), run["rho"] ** T)
    ax_gain.set(xlabel="time step $t$", ylabel=r"$\|\delta V(t)\| / \|\delta V(0)\|$",
                title="memory of a small nudge at $t = 0$", ylim=(max(lowest / 10, 1e-16), None))
    ax_gain.legend(loc="best")
    return run


def render_png(draw, figsize=(9, 3.0)):
    """Call ``draw(axes)`` on a new two-panel figure and return it as PNG bytes (the figure is closed)."""
    fig, axes = plt.subplots(1, 2, figsize=figsize, constrained_layout=True)
    try:
        draw(axes)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
    finally:
        plt.close(fig)
    return buf.getvalue()


def dynamics_explorer(T=60):
    """An ipywidgets explorer of ``plot_dynamics``: weight scale, structure and activation.

    The figure is drawn into an Image widget rather than printed to an Output area, so the
    explorer adds no text to the notebook's outputs and its last image is saved in the widget state.
    """
    import ipywidgets as w

    scale = w.FloatSlider(value=0.9, min=0.0, max=3.0, step=0.05, description="scale",
                          continuous_update=False)
    structure = w.Dropdown(options=STRUCTURES, value="two units, rotation", description="network")
    g = w.Dropdown(options=["tanh", "linear"], value="tanh", description="g",
                   layout=w.Layout(width="160px"))
    image = w.Image(format="png", layout=w.Layout(width="100%", max_width="900px"))
    readout = w.HTML()

    def update(_change=None):
        run = {}
        image.value = render_png(lambda axes: run.update(plot_dynamics(structure.value, scale.value, g.value, T, axes)))
        readout.value = (f"spectral radius &rho; = {run['rho']:.2f}; after {T} steps a nudge is "
                         f"multiplied by {run['gain'][-1]:.1e} (&rho;<sup>{T}</sup> = {run['rho'] ** T:.1e})")

    for control in (scale, structure, g):
        control.observe(update, names="value")
    update()
    return w.VBox([w.HBox([scale, g]), structure, readout, image])
