"""Torch float64 mirrors of the library's numpy equations, for autograd comparisons.

Each function computes the same equation as its numpy namesake, with torch operations only, so
that ``torch.autograd`` differentiates it. Importing this module imports torch.
"""
import numpy as np
import torch

_G = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "linear": lambda b: b}


def as_tensor(a, requires_grad=False):
    """A float64 torch tensor copy of ``a`` (numpy array or tensor)."""
    return torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad)


def rnn_forward(x, w_vv, w_vx, theta_v, v0=None, g="tanh"):
    """Eq. (1.1) in torch: V(t) = g(w_vv V(t-1) + w_vx x(t) - theta_v). Shapes as ``rnnbook.rnn.rnn_forward``.

    Returns V of shape (T+1, B, N) as a tensor (a stack, so autograd sees every step).
    """
    V = [torch.zeros(x.shape[1], w_vv.shape[0], dtype=x.dtype) if v0 is None else v0]
    for t in range(x.shape[0]):
        V.append(_G[g](V[-1] @ w_vv.T + x[t] @ w_vx.T - theta_v))
    return torch.stack(V)


def output_forward(V, w_ov, theta_o, g="linear"):
    """Readout in torch: O(t) = g(w_ov V(t) - theta_o) for t = 1..T. Returns (T, B, M)."""
    return _G[g](V[1:] @ w_ov.T - theta_o)


def gru_forward(x, params, v0=None, variant="before", g="tanh"):
    """Eqs. (9.30a-d) in torch, for both reset placements. Shapes as ``rnnbook.gru.gru_forward``.

    ``params`` maps the book's names (w_zx, ..., theta_hv) to float64 tensors. Returns V (T+1, B, N).
    """
    p = params
    V = [torch.zeros(x.shape[1], p["w_zv"].shape[0], dtype=x.dtype) if v0 is None else v0]
    for t in range(x.shape[0]):
        V_prev = V[-1]
        z = torch.sigmoid(x[t] @ p["w_zx"].T + V_prev @ p["w_zv"].T - p["theta_z"])
        r = torch.sigmoid(x[t] @ p["w_rx"].T + V_prev @ p["w_rv"].T - p["theta_r"])
        if variant == "before":
            a_h = x[t] @ p["w_hx"].T + (r * V_prev) @ p["w_hv"].T - p["theta_h"]
        else:
            a_h = x[t] @ p["w_hx"].T - p["theta_h"] + r * (V_prev @ p["w_hv"].T - p["theta_hv"])
        V.append((1 - z) * _G[g](a_h) + z * V_prev)
    return torch.stack(V)


def gru_params_from_torch(module):
    """Read a one-layer ``torch.nn.GRU`` into the book's "after" parameters (numpy float64).

    torch stacks the rows of its weights in the order r, z, n and adds two biases per gate;
    the book subtracts thresholds: theta_r = -(b_ir + b_hr), theta_z = -(b_iz + b_hz),
    theta_h = -b_in and theta_hv = -b_hn (the bias that the reset gate multiplies).
    """
    if not isinstance(module, torch.nn.GRU) or module.num_layers != 1 or module.bidirectional:
        raise ValueError("module: expected a one-layer, unidirectional torch.nn.GRU")
    if not module.bias or module.batch_first:
        raise ValueError("module: expected bias=True and batch_first=False (time-major, as the book)")
    N = module.hidden_size
    get = {name: getattr(module, name).detach().double().numpy() for name in
           ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")}
    rows = {"r": slice(0, N), "z": slice(N, 2 * N), "h": slice(2 * N, 3 * N)}
    params = {}
    for gate, rows_ in rows.items():
        params[f"w_{gate}x"] = get["weight_ih_l0"][rows_].copy()
        params[f"w_{gate}v"] = get["weight_hh_l0"][rows_].copy()
    params["theta_r"] = -(get["bias_ih_l0"][rows["r"]] + get["bias_hh_l0"][rows["r"]])
    params["theta_z"] = -(get["bias_ih_l0"][rows["z"]] + get["bias_hh_l0"][rows["z"]])
    params["theta_h"] = -get["bias_ih_l0"][rows["h"]]
    params["theta_hv"] = -get["bias_hh_l0"][rows["h"]]
    return params


def gru_params_to_torch(params, module):
    """Write the book's "after" parameters into a one-layer ``torch.nn.GRU``, in place.

    The gates' single thresholds become b_i = -theta and b_h = 0, so a round trip book -> torch ->
    book is exact, while torch -> book -> torch keeps only the sum of each gate's two biases
    (which is all the model depends on). Returns the module.
    """
    N = module.hidden_size
    expected = {"w_zx": (N, module.input_size), "w_zv": (N, N), "theta_hv": (N,)}
    for name, shape in expected.items():
        if name not in params or tuple(params[name].shape) != shape:
            raise ValueError(f"params: expected the 'after' variant with {name} of shape {shape}")
    order = ("r", "z", "h")
    new = {
        "weight_ih_l0": np.concatenate([params[f"w_{g}x"] for g in order]),
        "weight_hh_l0": np.concatenate([params[f"w_{g}v"] for g in order]),
        "bias_ih_l0": -np.concatenate([params["theta_r"], params["theta_z"], params["theta_h"]]),
        "bias_hh_l0": np.concatenate([np.zeros(2 * N), -params["theta_hv"]]),
    }
    with torch.no_grad():
        for name, value in new.items():
            getattr(module, name).copy_(torch.as_tensor(value))
    return module


class BookGRU(torch.nn.Module):
    """Eqs. (9.30a-d) as a trainable torch module, for either reset placement.

    ``forward(x)`` maps inputs (T, B, K) to the states V(1..T) of shape (T, B, N), starting from
    V(0) = 0, like ``torch.nn.GRU``. Parameters carry the book's names and are initialised as
    ``rnnbook.gru.init_params`` does (torch.nn.GRU's uniform range), with ``z_bias`` raising the update
    gate's bias. ``params()`` returns them as numpy arrays for ``rnnbook.gru``.
    """

    def __init__(self, K, N, variant="before", seed=0, z_bias=0.0, dtype=torch.float32):
        from . import gru    # numpy-only module; imported here to keep the two files independent
        super().__init__()
        self.variant = variant
        init = gru.init_params(N, K, variant, seed=seed, z_bias=z_bias)
        for name, value in init.items():
            setattr(self, name, torch.nn.Parameter(torch.tensor(value, dtype=dtype)))

    def params(self):
        """The parameters as a dict of numpy float64 arrays, in the book's names."""
        return {name: p.detach().double().numpy() for name, p in self.named_parameters()}

    def forward(self, x):
        # the input parts of the three local fields, for all t at once
        xz = x @ self.w_zx.T - self.theta_z
        xr = x @ self.w_rx.T - self.theta_r
        xh = x @ self.w_hx.T - self.theta_h
        V = x.new_zeros(x.shape[1], self.w_zv.shape[0])
        states = []
        for t in range(x.shape[0]):
            z = torch.sigmoid(xz[t] + V @ self.w_zv.T)
            r = torch.sigmoid(xr[t] + V @ self.w_rv.T)
            if self.variant == "before":
                h = torch.tanh(xh[t] + (r * V) @ self.w_hv.T)
            else:
                h = torch.tanh(xh[t] + r * (V @ self.w_hv.T - self.theta_hv))
            V = (1 - z) * h + z * V
            states.append(V)
        return torch.stack(states)


def energy(O, y):
    """Eq. (2.6) in torch: H = 1/2 sum over time, batch and outputs of (y - O)^2."""
    return 0.5 * ((y - O) ** 2).sum()


def sequence_energy(x, y, params, g="tanh", g_out="linear"):
    """H of a sequence problem in torch, the forward half of ``rnnbook.bptt.gradients``.

    ``params`` maps w_vv, w_vx, theta_v, w_ov, theta_o and optionally v0 to float64 tensors.
    """
    V = rnn_forward(x, params["w_vv"], params["w_vx"], params["theta_v"], params.get("v0"), g=g)
    return energy(output_forward(V, params["w_ov"], params["theta_o"], g=g_out), y)


def truncated_energy(x, y, params, tau, g="tanh", g_out="linear"):
    """H on the graph of truncated BPTT (``rnnbook.bptt.truncated_errors``), in torch.

    The output at time t is recomputed from the state V(t - tau), detached from its past (a
    constant), or from v0 when t <= tau. The value equals H; autograd through it gives the
    truncated gradient.
    """
    w_vv, w_vx, theta_v = params["w_vv"], params["w_vx"], params["theta_v"]
    v0 = params.get("v0")
    with torch.no_grad():
        V = rnn_forward(x, w_vv, w_vx, theta_v, v0, g=g)
    H = 0.0
    for t in range(1, x.shape[0] + 1):
        start = max(t - tau, 0)
        state = V[start].detach() if start > 0 or v0 is None else v0
        for s in range(start + 1, t + 1):
            state = _G[g](state @ w_vv.T + x[s - 1] @ w_vx.T - theta_v)
        H = H + energy(_G[g_out](state @ params["w_ov"].T - params["theta_o"]), y[t - 1])
    return H


def steady_state_energy(x, y, params, n_iter, g="tanh", g_out="linear"):
    """H at the steady state in torch, after ``n_iter`` unrolled steps
    V <- g(w_vv V + w_vx x - theta_v) from v0 (or zero), with constant x (B, K) and targets
    y (B, M). For a stable fixed point, autograd through the unrolled steps approaches
    recurrent backpropagation as n_iter grows.
    """
    V = params.get("v0")
    V = torch.zeros(x.shape[0], params["w_vv"].shape[0], dtype=x.dtype) if V is None else V
    for _ in range(n_iter):
        V = _G[g](V @ params["w_vv"].T + x @ params["w_vx"].T - params["theta_v"])
    return energy(_G[g_out](V @ params["w_ov"].T - params["theta_o"]), y)


def rnn_params_from_torch(module):
    """Read a one-layer tanh ``torch.nn.RNN`` into the book's names (numpy float64):
    w_vv = W_hh, w_vx = W_ih and theta_v = -(b_ih + b_hh), for ``rnnbook.rnn.rnn_forward``."""
    if (not isinstance(module, torch.nn.RNN) or module.num_layers != 1 or module.bidirectional
            or module.nonlinearity != "tanh" or not module.bias or module.batch_first):
        raise ValueError("module: expected a one-layer, unidirectional, time-major torch.nn.RNN "
                         "with tanh and biases")
    get = {name: getattr(module, name).detach().double().numpy().copy()
           for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")}
    return {"w_vv": get["weight_hh_l0"], "w_vx": get["weight_ih_l0"],
            "theta_v": -(get["bias_ih_l0"] + get["bias_hh_l0"])}
