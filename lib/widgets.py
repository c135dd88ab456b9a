"""Interactive explorers. Each is a pure plotting function plus a thin ipywidgets wrapper, so the
same figure can be drawn statically in the book and explored live in Jupyter, Binder or Colab."""
import io

import matplotlib.pyplot as plt
import numpy as np

from . import activations, diagnostics, rnn
from ._validate import choice, positive_int

# the explorers' figures are 7 in wide at 100 dpi, 700 px: the book's text column (677 px)
# shows them at nearly full size, and the Image widgets never stretch them beyond it
WIDTH = 7.0
DPI = 100

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
    return rnn.random_weights(1, 64, scale, seed=seed)[0]


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
    nudge /= np.linalg.norm(nudge)
    gain = np.empty(T + 1)
    gain[0] = 1.0
    for t in range(1, T + 1):
        nudge = g_prime[t - 1] * (w_vv @ nudge)
        gain[t] = np.linalg.norm(nudge)
    return {"V": V[:, 0], "gain": gain, "rho": diagnostics.spectral_radius(w_vv)}


def plot_dynamics(structure, scale, g="tanh", T=60, axes=None):
    """Two panels: a few units' V_i(t), and the remembered nudge on a log scale beside rho^t."""
    run = simulate_dynamics(structure, scale, g, T)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.3), constrained_layout=True)
    ax_v, ax_gain = axes
    t = np.arange(T + 1)
    ax_v.plot(t, run["V"][:, :5])
    ax_v.set(xlabel="time step $t$", ylabel="$V_i(t)$", title=f"{structure}\nscale {scale:.2f}, g = {g}")
    if g != "linear":
        ax_v.set_ylim(-1.05, 1.05)
    ax_gain.semilogy(t, np.maximum(run["gain"], 1e-16), label="measured")
    ax_gain.semilogy(t, np.maximum(run["rho"] ** t, 1e-16), "--", color="0.4",
                     label=rf"$\rho^t$, $\rho$ = {run['rho']:.2f}")
    lowest = min(run["gain"].min(), run["rho"] ** T)
    ax_gain.set(xlabel="time step $t$", ylabel=r"$\|\delta V(t)\| / \|\delta V(0)\|$",
                title="memory of a small nudge\nat $t = 0$", ylim=(max(lowest / 10, 1e-16), None))
    ax_gain.legend(loc="best")
    return run


def _image_widget():
    """The Image widget an explorer draws into: the full width of the text column, at most the
    figure's own width, and no margin, which would make the column scroll sideways."""
    import ipywidgets as w

    return w.Image(format="png", layout=w.Layout(width="100%", max_width=f"{WIDTH * DPI:.0f}px",
                                                 margin="0"))


def render_png(draw, figsize=(WIDTH, 3.3), **subplots):
    """Call ``draw(axes)`` on a new figure, two panels side by side unless ``subplots`` (passed to
    ``plt.subplots``) say otherwise, and return it as PNG bytes (the figure is closed)."""
    subplots = {"nrows": 1, "ncols": 2, **subplots}
    fig, axes = plt.subplots(figsize=figsize, constrained_layout=True, **subplots)
    try:
        draw(axes)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
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
    image = _image_widget()
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


GRADIENT_ACTIVATIONS = ("tanh", "sigmoid", "linear")
COLOR_TYPICAL = "#D55E00"       # the second colour of rnnbook.plots.COLORS
# the lag plot as wide as it was beside the eigenvalues' square; both legends go below the
# panels, where no line of any setting runs through them
GRADIENT_LAYOUT = {"figsize": (WIDTH, 4.3), "width_ratios": [1.5, 1]}


def simulate_gradients(scale, g="tanh", lag=100, N=128, B=8, seed=0):
    """Carry the gradient of a loss on V(T) back through a random network driven by noise.

    The network has w^(vv) = scale * G / sqrt(N) (``rnn.random_weights``) and runs for T = ``lag``
    steps on standard normal input; dL/dV(T) is a random unit vector for each of B sequences.
    Returns a dict: ``norms`` (lag+1,), the geometric mean over the batch of ||dL/dV(T-k)|| at lag
    k; ``sigma_max``, ``rho``; ``bound`` = gamma sigma_max and ``typical`` (eq. 3.7) per step;
    ``rate``, the fitted decay rate per step (None if the gradient underflows within two steps);
    and ``eigenvalues`` of w^(vv).
    """
    choice("g", g, GRADIENT_ACTIVATIONS)
    lag = positive_int("lag", lag)
    if not np.isfinite(scale) or scale < 0:
        raise ValueError(f"scale: expected a finite number >= 0, got {scale!r}")
    w_vv, w_vx, theta_v = rnn.random_weights(1, N, scale, seed=seed)
    rng = np.random.default_rng(seed + 1)
    _, cache = rnn.rnn_forward(rng.standard_normal((lag, B, 1)), w_vv, w_vx, theta_v, g=g)
    dV_T = rng.standard_normal((B, N))
    dV_T /= np.linalg.norm(dV_T, axis=1, keepdims=True)
    per_sequence = diagnostics.gradient_norms(cache, dV_T)
    with np.errstate(divide="ignore"):          # an exact zero (scale 0) becomes -inf, then 0
        norms = np.exp(np.log(per_sequence).mean(axis=1))
    usable = int(np.argmin(norms > 0)) if np.any(norms <= 0) else lag + 1
    return {"norms": norms, "sigma_max": float(diagnostics.singular_values(w_vv)[0]),
            "rho": diagnostics.spectral_radius(w_vv), "bound": diagnostics.bound_rate(w_vv, g),
            "typical": diagnostics.typical_rate(cache),
            "rate": diagnostics.decay_rate(norms[:usable]) if usable >= 2 else None,
            "eigenvalues": np.linalg.eigvals(w_vv)}


def plot_gradients(scale, g="tanh", lag=100, axes=None):
    """Two panels: ||dL/dV(T-k)|| against the lag k on a log scale, with the bound
    (gamma sigma_max)^k, rho^k and the typical rate^k; and the eigenvalues of w^(vv) with the circles
    of radius rho, sigma_max and 1. Returns the dict of ``simulate_gradients``."""
    run = simulate_gradients(scale, g, lag)
    if axes is None:
        _, axes = plt.subplots(1, 2, constrained_layout=True, **GRADIENT_LAYOUT)
    ax_lag, ax_eig = axes
    k = np.arange(lag + 1)
    positive = run["norms"][1:][run["norms"][1:] > 0]
    low = max(positive.min() / 10, 1e-300) if positive.size else 1e-20
    high = max(run["norms"].max(), 1.0) * 10
    ax_lag.semilogy(k, np.clip(run["norms"], low, None), label="measured")
    for rate, style, color, name in (
            (run["bound"], ":", "0.35", r"bound $(\gamma\sigma_{\max})^k$"),
            (run["rho"], "-.", "0.6", r"$\rho^k$"),
            (run["typical"], "--", COLOR_TYPICAL, "typical rate$^k$")):
        with np.errstate(divide="ignore", over="ignore"):
            line = rate ** k.astype(float)
        # lines that leave the axes are cut there, not drawn along its edge; the legend gives
        # each rate, so a line that leaves early is still read
        ax_lag.semilogy(k, np.where((line > 0) & np.isfinite(line), line, np.nan), style, color=color,
                        label=f"{name}: {rate:.2f}/step")
    ax_lag.set(xlabel="lag $k = T - s$", ylabel=r"$\|\partial L / \partial V(T-k)\|$", ylim=(low, high),
               title=f"g = {g}, scale {scale:.2f}")
    ax_lag.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, handlelength=1.5,
                  columnspacing=1.0)
    phi = np.linspace(0, 2 * np.pi, 200)
    for radius, style, name in ((1.0, "-", "1"), (run["rho"], "--", r"$\rho$"),
                                (run["sigma_max"], ":", r"$\sigma_{\max}$")):
        ax_eig.plot(radius * np.cos(phi), radius * np.sin(phi), style, color="0.6" if name == "1" else "0.3",
                    linewidth=1, label=f"radius {name}")
    ax_eig.plot(run["eigenvalues"].real, run["eigenvalues"].imag, ".", color=COLOR_TYPICAL, label="eigenvalues")
    reach = max(1.1, 1.1 * run["sigma_max"])
    ax_eig.set(xlim=(-reach, reach), ylim=(-reach, reach), aspect="equal", xlabel="Re", ylabel="Im",
               title=r"eigenvalues of $w^{(vv)}$")
    ax_eig.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=2, handlelength=1.5)
    ax_lag.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    return run


def gradient_explorer(lag=100):
    """An ipywidgets explorer of ``plot_gradients``: weight scale, activation and lag, drawn
    into an Image widget like ``dynamics_explorer``, so the notebook's stored output stays fixed."""
    import ipywidgets as w

    scale = w.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.05, description="scale",
                          continuous_update=False)
    g = w.Dropdown(options=GRADIENT_ACTIVATIONS, value="tanh", description="g",
                   layout=w.Layout(width="180px"))
    lag_slider = w.IntSlider(value=lag, min=1, max=300, step=1, description="lag",
                             continuous_update=False)
    image = _image_widget()
    readout = w.HTML()

    def update(_change=None):
        run = {}
        image.value = render_png(lambda axes: run.update(plot_gradients(scale.value, g.value, lag_slider.value, axes)),
                                 **GRADIENT_LAYOUT)
        rate = "n/a (the gradient is exactly 0)" if run["rate"] is None else f"{run['rate']:.3f}"
        readout.value = (f"&sigma;<sub>max</sub> = {run['sigma_max']:.2f}, &rho; = {run['rho']:.2f}; per step: "
                         f"bound {run['bound']:.3f}, typical {run['typical']:.3f}, measured {rate}. "
                         f"At lag {lag_slider.value} the gradient is {run['norms'][-1]:.1e} times its size at T.")

    for control in (scale, g, lag_slider):
        control.observe(update, names="value")
    update()
    return w.VBox([w.HBox([scale, g]), lag_slider, readout, image])


def gate_explorer(x, z, V, w_ov, start=0):
    """An ipywidgets explorer of ``plots.plot_gru_gates`` over the sequences of a batch: the
    inputs, the update gates and the states of a trained GRU, one sequence at a time, starting
    with sequence ``start``.

    Shapes: x (T, B, 2) adding-problem inputs, z (T, B, N), V (T+1, B, N), w_ov (N,).
    """
    import ipywidgets as w

    from . import plots

    sequence = w.IntSlider(value=start, min=0, max=x.shape[1] - 1, description="sequence",
                           continuous_update=False)
    units = w.IntSlider(value=8, min=1, max=z.shape[2], description="units shown",
                        continuous_update=False)
    image = _image_widget()

    def update(_change=None):
        image.value = render_png(
            lambda axes: plots.plot_gru_gates(x, z, V, w_ov, sequence.value, units.value, axes),
            **plots.GATES_LAYOUT)

    for control in (sequence, units):
        control.observe(update, names="value")
    update()
    return w.VBox([w.HBox([sequence, units]), image])
