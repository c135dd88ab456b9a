"""The gated recurrent unit, eqs. (9.30a-d), forward and backward (the learning rule), in numpy.

Two placements of the reset gate r, both with z near 1 keeping the old state:

- ``variant="before"``, eq. (9.30c) as in Cho et al. (2014): h = g(w_hx x + w_hv (r * V) - theta_h);
- ``variant="after"``, as in torch.nn.GRU and cuDNN: h = g(w_hx x - theta_h + r * (w_hv V - theta_hv)),
  with a second candidate threshold theta_hv inside the bracket.

Parameters live in a dict with the names of the equations: ``w_zx, w_zv, theta_z`` (update gate),
``w_rx, w_rv, theta_r`` (reset gate), ``w_hx, w_hv, theta_h`` (candidate) and, for "after" only,
``theta_hv``. Shapes: w_*x (N, K), w_*v (N, N), theta_* (N,). Time-major as everywhere in the book:
x (T, B, K), V (T+1, B, N) with V[0] the initial state.
"""
import numpy as np

from . import activations
from ._validate import (activation_name, array_arg, cache_arg, choice, dict_arg, entry,
                        floating_dtype, number_arg, positive_int, positive_number, seed_arg)

__all__ = ["VARIANTS", "PARAMS", "param_names", "param_dims", "gru_forward", "gru_backward",
           "init_params"]

VARIANTS = ("before", "after")
PARAMS = ("w_zx", "w_zv", "theta_z", "w_rx", "w_rv", "theta_r", "w_hx", "w_hv", "theta_h")


def param_names(variant):
    """The parameter names that ``variant`` needs: PARAMS, plus theta_hv for "after"."""
    choice("variant", variant, VARIANTS)
    return PARAMS + (("theta_hv",) if variant == "after" else ())


def param_dims(name):
    """The named axes of a parameter: (N, K) for w_*x, (N, N) for w_*v, (N,) for thresholds."""
    choice("name", name, PARAMS + ("theta_hv",))
    return ("N",) if name.startswith("theta") else {"x": ("N", "K"), "v": ("N", "N")}[name[-1]]


def _sigmoid(a):
    """The logistic function sigma(a) = 1 / (1 + exp(-a)), without overflow."""
    return activations.get("sigmoid").g(a)


def gru_forward(x, params, v0=None, variant="before", g="tanh"):
    """Eqs. (9.30a-d) over t = 1..T, for either placement of the reset gate.

    Shapes: x (T, B, K), params as in the module docstring, v0 (B, N) or None
    for zeros. Returns V (T+1, B, N) with V[0] = v0, and a cache that holds
    the gates z, r and the candidate h, all (T, B, N), and for "after" also
    u = w_hv V(t-1) - theta_hv, the part that the reset gate multiplies.
    """
    x, p, v0 = _gru_args(x, params, v0, variant, g)
    act = activations.get(g)
    T, B, N = x.shape[0], x.shape[1], v0.shape[1]
    after = variant == "after"
    # the input parts of the three local fields, for all t at once
    a_z, a_r, a_h = (x @ p[f"w_{q}x"].T - p[f"theta_{q}"] for q in "zrh")
    V = np.empty((T + 1, B, N), dtype=x.dtype)
    V[0] = v0
    z, r, h = (np.empty((T, B, N), dtype=x.dtype) for _ in range(3))
    u = np.empty((T, B, N), dtype=x.dtype) if after else None
    for t in range(T):              # V[t] is V(t-1) here, V[t+1] is V(t)
        z[t] = _sigmoid(a_z[t] + V[t] @ p["w_zv"].T)              # (9.30a)
        r[t] = _sigmoid(a_r[t] + V[t] @ p["w_rv"].T)              # (9.30b)
        if after:                                     # torch's (9.30c)
            u[t] = V[t] @ p["w_hv"].T - p["theta_hv"]
            h[t] = act.g(a_h[t] + r[t] * u[t])
        else:
            h[t] = act.g(a_h[t] + (r[t] * V[t]) @ p["w_hv"].T)   # (9.30c)
        V[t + 1] = (1 - z[t]) * h[t] + z[t] * V[t]                # (9.30d)
    cache = {"x": x, "V": V, "z": z, "r": r, "h": h, "u": u,
             "params": p, "variant": variant, "g": act.name}
    return V, cache


def gru_backward(dV, cache):
    """The learning rule of eqs. (9.30a-d), by backpropagation through time.

    dV (T+1, B, N) holds dH/dV(t) from outside the recurrence (e.g. from
    the outputs). Returns a dict with dH/d(parameter) for every parameter of
    the variant, dH/dx (T, B, K) under "x", dH/dV(0) (B, N) under "v0" and,
    under "V", the total dH/dV(t) (T+1, B, N) through all later time steps
    (its norm against t shows vanishing gradients). Nothing is clipped.
    """
    dV, cache = _backward_args(dV, cache)
    x, V, z, r, h, u = (cache[k] for k in ("x", "V", "z", "r", "h", "u"))
    p, after = cache["params"], cache["variant"] == "after"
    # g'(a_h) from the stored h = g(a_h), e.g. 1 - h**2 for tanh
    g_prime = activations.get(cache["g"]).g_prime_of_g
    # the errors dH/da of the three local fields, filled backwards in time
    da_z, da_r, da_h = (np.empty_like(z) for _ in range(3))
    dV_total = np.empty_like(V)
    carry = np.zeros_like(V[0])     # dH/dV(t) through the later time steps
    for t in reversed(range(x.shape[0])):   # V[t] is V(t-1), V[t+1] is V(t)
        dV_t = dV_total[t + 1] = dV[t + 1] + carry
        # (9.30d): V(t) = (1 - z) h + z V(t-1); sigma' = sigma (1 - sigma)
        da_h[t] = dV_t * (1 - z[t]) * g_prime(h[t])
        da_z[t] = dV_t * (V[t] - h[t]) * z[t] * (1 - z[t])
        carry = dV_t * z[t]
        if after:           # a_h = w_hx x - theta_h + r * (w_hv V - theta_hv)
            da_r[t] = da_h[t] * u[t] * r[t] * (1 - r[t])
            carry += (da_h[t] * r[t]) @ p["w_hv"]
        else:               # (9.30c): a_h = w_hx x + w_hv (r * V) - theta_h
            d_rV = da_h[t] @ p["w_hv"]
            da_r[t] = d_rV * V[t] * r[t] * (1 - r[t])
            carry += d_rV * r[t]
        carry += da_z[t] @ p["w_zv"] + da_r[t] @ p["w_rv"]   # (9.30a, b)
    dV_total[0] = dV[0] + carry
    # each weight serves every time step: its gradient sums over t, which
    # one matrix product over all (t, sequence) pairs does at once
    dx = da_z @ p["w_zx"]
    dx += da_r @ p["w_rx"]
    dx += da_h @ p["w_hx"]
    grads = {"x": dx, "v0": dV_total[0], "V": dV_total}
    for gate, da in (("z", da_z), ("r", da_r), ("h", da_h)):
        grads[f"w_{gate}x"] = _sum_over_time(da, x)
        grads[f"theta_{gate}"] = -da.sum(axis=(0, 1))
    grads["w_zv"] = _sum_over_time(da_z, V[:-1])
    grads["w_rv"] = _sum_over_time(da_r, V[:-1])
    if after:       # w_hv and theta_hv see da_h through r; da_h has served
        da_h *= r   # w_hx, theta_h and dx, so it is reused in place
        grads["w_hv"] = _sum_over_time(da_h, V[:-1])
        grads["theta_hv"] = -da_h.sum(axis=(0, 1))
    else:
        grads["w_hv"] = _sum_over_time(da_h, r * V[:-1])
    return grads


def _sum_over_time(da, inputs):
    """sum_t da(t)^T inputs(t) over time and batch: (T, B, N), (T, B, M) -> (N, M)."""
    return da.reshape(-1, da.shape[-1]).T @ inputs.reshape(-1, inputs.shape[-1])


def init_params(K, N, variant="before", *, seed, scale=None, z_bias=0.0, dtype=np.float64):
    """Random parameters as torch.nn.GRU initialises them: uniform in [-1/sqrt(N), 1/sqrt(N)]
    (or [-scale, scale]), for K inputs and N units.

    ``z_bias`` is added to the update gate's bias (i.e. subtracted from theta_z): a positive value
    starts every unit with z near 1, keeping its state. Returns a dict of arrays drawn in float64
    and given ``dtype``.
    """
    return _uniform_params(param_names(variant), param_dims, K, N, seed, scale, z_bias, dtype)


def _uniform_params(names, dims, K, N, seed, scale, z_bias, dtype):
    """The arrays ``names``, of the axes ``dims(name)``, drawn in that order uniform in [-bound,
    bound] (bound 1/sqrt(N), or ``scale``) in float64, theta_z lowered by ``z_bias``, given
    ``dtype``: the initialisation of this module and of ``rnnbook.mingru``."""
    sizes = {"K": positive_int("K", K), "N": positive_int("N", N)}
    rng = np.random.default_rng(seed_arg("seed", seed))
    bound = 1 / np.sqrt(N) if scale is None else positive_number("scale", scale)
    z_bias, dtype = number_arg("z_bias", z_bias), floating_dtype("dtype", dtype)
    params = {name: rng.uniform(-bound, bound, size=[sizes[d] for d in dims(name)])
              for name in names}
    params["theta_z"] -= z_bias
    return {name: a.astype(dtype, copy=False) for name, a in params.items()}


def _gru_args(x, params, v0, variant, g):
    """Validate the arguments of eqs. (9.30a-d) and give them one floating dtype."""
    choice("variant", variant, VARIANTS)
    activation_name("g", g)
    sizes = {}
    x = array_arg("x", x, ("T", "B", "K"), sizes)
    p = _params_args("params", params, variant, sizes)
    dtype = np.result_type(x, *p.values())
    if v0 is None:                  # zeros of the other arguments' dtype, not float64
        v0 = np.zeros((sizes["B"], sizes["N"]), dtype=dtype)
    v0 = array_arg("v0", v0, ("B", "N"), sizes)
    dtype = np.result_type(dtype, v0)
    return x.astype(dtype, copy=False), {k: a.astype(dtype, copy=False) for k, a in p.items()}, \
        v0.astype(dtype, copy=False)


def _params_args(name, params, variant, sizes, cached=False):
    """Validate the parameters of ``variant`` (a dict, see the module docstring); ``cached``:
    they are in a cache, so NaN and inf pass as in ``cache_arg``."""
    needed = param_names(variant)
    dict_arg(name, params, needed, what=f"a dict of arrays, as variant {variant!r} needs")
    return {k: array_arg(entry(name, k), params[k], param_dims(k), sizes, nan=cached, inf=cached)
            for k in needed}


def _backward_args(dV, cache):
    """Validate a cache of ``gru_forward`` and dV against it."""
    sizes = {}
    gates = ("T", "B", "N")
    c = cache_arg("cache", cache, {"x": ("T", "B", "K"), "V": ("T+1", "B", "N"), "z": gates,
                                   "r": gates, "h": gates}, "gru.gru_forward", sizes)
    dict_arg("cache", cache, ("u", "params", "variant"), closed=False,
             what="the cache returned by gru.gru_forward")
    c["variant"] = choice(entry("cache", "variant"), cache["variant"], VARIANTS)
    c["params"] = _params_args(entry("cache", "params"), cache["params"], c["variant"], sizes,
                               cached=True)
    after = c["variant"] == "after"
    if after or cache["u"] is not None:     # u exists for "after" only
        if not after:
            raise ValueError('cache["u"]: expected None for variant "before", got '
                             f"{type(cache['u']).__name__}")
        c["u"] = array_arg(entry("cache", "u"), cache["u"], gates, sizes, nan=True, inf=True)
    else:
        c["u"] = None
    return array_arg("dV", dV, ("T+1", "B", "N"), sizes), c
