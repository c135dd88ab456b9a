"""The autograd oracle: torch mirrors of the library's numpy equations, and their gradients.

Each function computes the same equation as its numpy namesake, with torch operations only, so
that ``torch.autograd`` differentiates it; ``autograd_gradients`` does so in float64 and hands
back numpy arrays, the independent reference that every hand-written backward pass is checked
against. Importing this module imports torch.
"""
import torch

from ._validate import (ArgumentTypeError, array_arg, callable_arg, choice, dict_arg, entry,
                        flag_arg, name_dict, positive_int, tensor_arg)

__all__ = ["as_tensor", "rnn_forward", "output_forward", "gru_forward", "mingru_forward", "energy",
           "sequence_energy", "truncated_energy", "steady_state_energy", "autograd_gradients"]

_G = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "linear": lambda b: b}
# the arrays of a sequence problem's params: name -> axes, v0 optional
_NETWORK = {"w_vv": ("N", "N"), "w_vx": ("N", "K"), "theta_v": ("N",), "w_ov": ("M", "N"),
            "theta_o": ("M",)}


def as_tensor(a, requires_grad=False):
    """A float64 torch tensor copy of ``a`` (numpy array or tensor), any shape with an entry."""
    return _as_tensor("a", a, flag_arg("requires_grad", requires_grad))


def _as_tensor(name, a, requires_grad):
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu()
        if a.dtype.is_complex or a.dtype == torch.bool:
            raise ArgumentTypeError(f"{name}: expected real numbers, got dtype {a.dtype}")
        a = a.double().numpy()
    a = array_arg(name, a, None, {})
    return torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad)


def _tensors(sizes, **named):
    """Check the tensors ``named`` (name -> (value, dims)); v0 may be None (zeros)."""
    for name, (value, dims) in named.items():
        if value is not None or name != "v0":
            tensor_arg(name, value, dims, sizes)


def _params(params, layout, sizes, optional=None):
    """Check the dict of tensors ``params`` against ``layout`` (key -> dims)."""
    optional = optional or {}
    dict_arg("params", params, list(layout), optional, what="a dict of tensors")
    for key, dims in {**layout, **optional}.items():
        if key in params:
            tensor_arg(entry("params", key), params[key], dims, sizes)
    return params


def _g(name, g):
    return choice(name, g, _G)


def rnn_forward(x, w_vv, w_vx, theta_v, v0=None, g="tanh"):
    """Eq. (1.1) in torch: V(t) = g(w_vv V(t-1) + w_vx x(t) - theta_v). Shapes as ``rnnbook.rnn.rnn_forward``.

    Returns V of shape (T+1, B, N) as a tensor (a stack, so autograd sees every step).
    """
    _tensors({}, x=(x, ("T", "B", "K")), w_vv=(w_vv, ("N", "N")), w_vx=(w_vx, ("N", "K")),
             theta_v=(theta_v, ("N",)), v0=(v0, ("B", "N")))
    return _rnn_forward(x, w_vv, w_vx, theta_v, v0, _g("g", g))


def _rnn_forward(x, w_vv, w_vx, theta_v, v0, g):
    V = [torch.zeros(x.shape[1], w_vv.shape[0], dtype=x.dtype) if v0 is None else v0]
    for t in range(x.shape[0]):
        V.append(_G[g](V[-1] @ w_vv.T + x[t] @ w_vx.T - theta_v))
    return torch.stack(V)


def output_forward(V, w_ov, theta_o, g="linear"):
    """Readout in torch: O(t) = g(w_ov V(t) - theta_o) for t = 1..T. Returns (T, B, M)."""
    _tensors({}, V=(V, ("T+1", "B", "N")), w_ov=(w_ov, ("M", "N")), theta_o=(theta_o, ("M",)))
    return _output_forward(V, w_ov, theta_o, _g("g", g))


def _output_forward(V, w_ov, theta_o, g):
    return _G[g](V[1:] @ w_ov.T - theta_o)


def gru_forward(x, params, v0=None, variant="before", g="tanh"):
    """Eqs. (9.30a-d) in torch, for both reset placements. Shapes as ``rnnbook.gru.gru_forward``.

    ``params`` maps the book's names (w_zx, ..., theta_hv) to tensors. Returns V (T+1, B, N) in
    their dtype. The book's one transcription of the GRU in torch: the oracle of the tests, and
    the forward pass of the trainable ``rnnbook.train.BookGRU``.
    """
    from . import gru
    choice("variant", variant, gru.VARIANTS)
    sizes = {}
    tensor_arg("x", x, ("T", "B", "K"), sizes)
    _params(params, {n: gru.param_dims(n) for n in gru.param_names(variant)}, sizes)
    _tensors(sizes, v0=(v0, ("B", "N")))
    g = _g("g", g)
    p = params
    # the input parts of the three local fields, for all t at once
    a_z, a_r, a_h = (x @ p[f"w_{q}x"].T - p[f"theta_{q}"] for q in "zrh")
    V = [x.new_zeros(x.shape[1], p["w_zv"].shape[0]) if v0 is None else v0]
    for t in range(x.shape[0]):
        V_prev = V[-1]
        z = torch.sigmoid(a_z[t] + V_prev @ p["w_zv"].T)                  # (9.30a)
        r = torch.sigmoid(a_r[t] + V_prev @ p["w_rv"].T)                  # (9.30b)
        if variant == "before":                                          # (9.30c)
            h = _G[g](a_h[t] + (r * V_prev) @ p["w_hv"].T)
        else:                                                  # torch's (9.30c)
            h = _G[g](a_h[t] + r * (V_prev @ p["w_hv"].T - p["theta_hv"]))
        V.append((1 - z) * h + z * V_prev)                                # (9.30d)
    return torch.stack(V)


def _positive(b):
    """Feng et al.'s g in torch (``rnnbook.activations``' "positive"): b + 1/2 for b >= 0, sigma(b)
    below."""
    return torch.where(b >= 0, b + 0.5, torch.sigmoid(b))


# the minGRU's candidate may also take the positive g of its log-space form
_MINGRU_G = {**_G, "positive": _positive}


def mingru_forward(x, params, v0=None, g="tanh"):
    """The minGRU in torch: eqs. (9.30a, c, d) without recurrent weights in z and h (Feng et al.
    2024, with the book's z, which keeps the old state). Shapes as
    ``rnnbook.mingru.mingru_forward``.

    ``params`` maps w_zx, theta_z, w_hx, theta_h to tensors. Returns V (T+1, B, N) in their dtype.
    """
    from . import mingru
    sizes = {}
    tensor_arg("x", x, ("T", "B", "K"), sizes)
    _params(params, {n: mingru.param_dims(n) for n in mingru.PARAMS}, sizes)
    _tensors(sizes, v0=(v0, ("B", "N")))
    act = _MINGRU_G[choice("g", g, _MINGRU_G)]
    p = params
    z = torch.sigmoid(x @ p["w_zx"].T - p["theta_z"])
    h = act(x @ p["w_hx"].T - p["theta_h"])
    V = [x.new_zeros(x.shape[1], p["w_zx"].shape[0]) if v0 is None else v0]
    for t in range(x.shape[0]):
        V.append(z[t] * V[-1] + (1 - z[t]) * h[t])                       # (9.30d)
    return torch.stack(V)


def energy(O, y):
    """Eq. (2.6) in torch: H = 1/2 sum over time, batch and outputs of (y - O)^2. O and y: tensors
    of one shape, (T, B, M) or (B, M)."""
    sizes = {}
    tensor_arg("O", O, None, sizes)
    tensor_arg("y", y, None, sizes)
    if y.shape != O.shape:
        raise ValueError(f"y: expected the shape of O, {tuple(O.shape)}, got {tuple(y.shape)}")
    return _energy(O, y)


def _energy(O, y):
    return 0.5 * ((y - O) ** 2).sum()


def sequence_energy(x, y, params, g="tanh", g_out="linear"):
    """H of a sequence problem in torch, the forward half of ``rnnbook.bptt.gradients``.

    ``params`` maps w_vv, w_vx, theta_v, w_ov, theta_o and optionally v0 to float64 tensors.
    x (T, B, K), y (T, B, M).
    """
    g, g_out = _sequence_args(x, y, params, g, g_out, ("T", "B"))
    V = _rnn_forward(x, params["w_vv"], params["w_vx"], params["theta_v"], params.get("v0"), g)
    return _energy(_output_forward(V, params["w_ov"], params["theta_o"], g_out), y)


def _sequence_args(x, y, params, g, g_out, lead):
    """Check the energies' arguments: x (*lead, K), y (*lead, M), params, the names g and g_out."""
    sizes = {}
    tensor_arg("x", x, (*lead, "K"), sizes)
    tensor_arg("y", y, (*lead, "M"), sizes)
    _params(params, _NETWORK, sizes, {"v0": ("B", "N")})
    return _g("g", g), _g("g_out", g_out)


def truncated_energy(x, y, params, tau, g="tanh", g_out="linear"):
    """H on the graph of truncated BPTT (``rnnbook.bptt.truncated_errors``), in torch.

    The output at time t is recomputed from the state V(t - tau), detached from its past (a
    constant), or from v0 when t <= tau. The value equals H; autograd through it gives the
    truncated gradient. x (T, B, K), y (T, B, M), tau >= 1.
    """
    g, g_out = _sequence_args(x, y, params, g, g_out, ("T", "B"))
    tau = positive_int("tau", tau)
    w_vv, w_vx, theta_v = params["w_vv"], params["w_vx"], params["theta_v"]
    v0 = params.get("v0")
    with torch.no_grad():
        V = _rnn_forward(x, w_vv, w_vx, theta_v, v0, g)
    H = 0.0
    for t in range(1, x.shape[0] + 1):
        start = max(t - tau, 0)
        state = V[start].detach() if start > 0 or v0 is None else v0
        for s in range(start + 1, t + 1):
            state = _G[g](state @ w_vv.T + x[s - 1] @ w_vx.T - theta_v)
        H = H + _energy(_G[g_out](state @ params["w_ov"].T - params["theta_o"]), y[t - 1])
    return H


def steady_state_energy(x, y, params, n_iter, g="tanh", g_out="linear"):
    """H at the steady state in torch, after ``n_iter`` unrolled steps
    V <- g(w_vv V + w_vx x - theta_v) from v0 (or zero), with constant x (B, K) and targets
    y (B, M). For a stable fixed point, autograd through the unrolled steps approaches
    recurrent backpropagation as n_iter grows. n_iter >= 1.
    """
    g, g_out = _sequence_args(x, y, params, g, g_out, ("B",))
    n_iter = positive_int("n_iter", n_iter)
    V = params.get("v0")
    V = torch.zeros(x.shape[0], params["w_vv"].shape[0], dtype=x.dtype) if V is None else V
    for _ in range(n_iter):
        V = _G[g](V @ params["w_vv"].T + x @ params["w_vx"].T - params["theta_v"])
    return _energy(_G[g_out](V @ params["w_ov"].T - params["theta_o"]), y)


def autograd_gradients(f, params):
    """dH/da for every array a of ``params``, by torch autograd in float64, with H = f(tensors).

    ``params`` maps names to arrays; ``f`` takes the same dict with float64 tensors in their place
    and returns the scalar tensor H, e.g. ``lambda t: sequence_energy(x, y, t)``. Returns
    ``(H, grads)`` as ``rnnbook.bptt.gradients`` does: H a float, grads a dict of numpy float64
    arrays shaped like the parameters (zeros for an array that H does not depend on).
    """
    callable_arg("f", f)
    name_dict("params", params, "a dict of arrays")
    if not params:
        raise ValueError("params: expected at least one array, got an empty dict")
    t = {k: _as_tensor(entry("params", k), v, True) for k, v in params.items()}
    H = f(t)
    if not isinstance(H, torch.Tensor) or H.numel() != 1 or not H.requires_grad:
        raise ValueError("f: expected a scalar tensor computed from the parameters, got "
                         f"{type(H).__name__} {tuple(getattr(H, 'shape', ()))}")
    H.backward()
    return H.item(), {k: torch.zeros_like(v).numpy() if v.grad is None else v.grad.numpy()
                      for k, v in t.items()}
