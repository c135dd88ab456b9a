"""The minimal GRU (minGRU) of Feng et al. (2024), in the book's notation: forward, backward
(BPTT) and real-time recurrent learning, in numpy.

Take eqs. (9.30a-d) and remove the recurrent weights from the gate and the candidate:

    z_i(t) = sigma(sum_k w_zx[i, k] x_k(t) - theta_z[i])
    h_i(t) = g(sum_k w_hx[i, k] x_k(t) - theta_h[i])
    V_i(t) = z_i(t) V_i(t-1) + [1 - z_i(t)] h_i(t)                    (9.30d)

There is no reset gate: no V inside h to reset. As in the book's GRU, z near 1 KEEPS the old state.
Neither z nor h depends on V, so both are computed for all t at once (``gates``), and what remains
is the linear recurrence V(t) = a(t) V(t-1) + b(t) with a = z and b = (1 - z) h: a scan. Each unit
talks only to itself, dV_i(t)/dV_j(t-1) = delta_ij z_i(t): the gradient across a lag of k steps is
exactly a product of k z's (``lag_products``), and RTRL's sensitivities have the size of the
weights (``rtrl_gradients``).

The paper's convention is the other way round. Feng et al. write h_t = (1 - z_t) h_{t-1} + z_t h~_t
with z_t = sigma(W_z x_t + b_z) and h~_t = g(W_h x_t + b_h): their z takes in the NEW candidate, and
the book's z is 1 - theirs. Since 1 - sigma(a) = sigma(-a), the gate's pre-activation changes
sign: w_zx = -W_z and theta_z = b_z (a threshold is subtracted, a bias added, so the two sign flips
cancel), while the candidate only renames its bias: w_hx = W_h, theta_h = -b_h. ``from_paper`` and
``to_paper`` convert. Their plain minGRU has a linear candidate (g = "linear"); their log-space form
needs h > 0 and takes g = "positive" (``rnnbook.activations``).

Parameters live in a dict with the names of the equations, ``PARAMS = (w_zx, theta_z, w_hx,
theta_h)``; shapes w_*x (N, K), theta_* (N,). Time-major as everywhere in the book: x (T, B, K),
V (T+1, B, N) with V[0] the initial state.
"""
import numpy as np

from . import activations, gru
from ._validate import (activation_name, array_arg, cache_arg, choice, dict_arg,
                        entry, integer_arg)

__all__ = ["PARAMS", "param_dims", "init_params", "gates", "mingru_forward", "mingru_backward",
           "lag_products", "rtrl_gradients", "from_paper", "to_paper"]

PARAMS = ("w_zx", "theta_z", "w_hx", "theta_h")
# Feng et al.'s names: their z_t = sigma(W_z x + b_z), h~_t = g(W_h x + b_h)
_PAPER = ("W_z", "b_z", "W_h", "b_h")


def param_dims(name):
    """The named axes of a parameter: (N, K) for w_zx and w_hx, (N,) for the thresholds (and
    the same for Feng et al.'s W_z, W_h and b_z, b_h)."""
    choice("name", name, PARAMS + _PAPER)
    return ("N", "K") if name[0] in "wW" else ("N",)


def _sigmoid(a):
    """The logistic function sigma(a) = 1 / (1 + exp(-a)), without overflow."""
    return activations.get("sigmoid").g(a)


def init_params(K, N, *, seed, scale=None, z_bias=0.0, dtype=np.float64):
    """Random parameters as ``gru.init_params`` draws them: uniform in [-1/sqrt(N), 1/sqrt(N)]
    (or [-scale, scale]), for K inputs and N units.

    ``z_bias`` is subtracted from theta_z: a positive value starts every unit with z near 1,
    keeping its state. Returns a dict of arrays drawn in float64 and given ``dtype``.
    """
    return gru._uniform_params(PARAMS, param_dims, K, N, seed, scale, z_bias, dtype)


def gates(x, params, g="tanh"):
    """The gate z and the candidate h of the minGRU, for all t at once.

    Shapes: x (T, B, K), params as in the module docstring. Returns z and
    h, each (T, B, N): everything that does not depend on V, so that the
    recurrence is the scan V(t) = a(t) V(t-1) + b(t), a = z, b = (1 - z) h.
    """
    x, p, _ = _args(x, params, None, g)
    z = _sigmoid(x @ p["w_zx"].T - p["theta_z"])          # (9.30a), no w_zv
    h = activations.get(g).g(x @ p["w_hx"].T - p["theta_h"])  # (9.30c), no r
    return z, h


def mingru_forward(x, params, v0=None, g="tanh"):
    """The minGRU over t = 1..T: V(t) = z(t) V(t-1) + (1 - z(t)) h(t).

    Shapes: x (T, B, K), params as in the module docstring, v0 (B, N) or
    None for zeros. Returns V (T+1, B, N) with V[0] = v0, and a cache that
    holds x, V, the gate z and the candidate h, both (T, B, N).
    """
    x, p, v0 = _args(x, params, v0, g)
    z, h = gates(x, p, g)          # no V inside: all t at once
    V = np.empty((x.shape[0] + 1, *v0.shape), dtype=x.dtype)
    V[0] = v0
    for t in range(x.shape[0]):    # V[t] is V(t-1) here, V[t+1] is V(t)
        V[t + 1] = z[t] * V[t] + (1 - z[t]) * h[t]             # (9.30d)
    cache = {"x": x, "V": V, "z": z, "h": h, "params": p, "g": g}
    return V, cache


def mingru_backward(dV, cache):
    """The learning rule of the minGRU, by backpropagation through time.

    dV (T+1, B, N) holds dH/dV(t) from outside the recurrence (e.g. from
    the outputs), as for ``gru.gru_backward``. Returns a dict with dH/d of
    w_zx, theta_z, w_hx and theta_h, dH/dx (T, B, K) under "x", dH/dV(0)
    (B, N) under "v0" and the total dH/dV(t) (T+1, B, N) under "V".
    """
    dV, c = _backward_args(dV, cache)
    x, V, z, h, p = (c[k] for k in ("x", "V", "z", "h", "params"))
    # g'(a_h) from the stored h = g(a_h), e.g. 1 - h**2 for tanh
    g_prime = activations.get(c["g"]).g_prime_of_g
    # dV_i(t)/dV_j(t-1) = delta_ij z_i(t): the errors go back unit by
    # unit, Delta(t-1) = dV(t-1) + z(t) Delta(t), a scan backwards
    Delta = np.empty_like(V)
    Delta[-1] = dV[-1]
    for t in reversed(range(x.shape[0])):   # z[t] is z(t+1) here
        Delta[t] = dV[t] + z[t] * Delta[t + 1]
    # (9.30d) at fixed V(t-1), for all t at once; sigma' = sigma (1 - sigma)
    da_z = Delta[1:] * (V[:-1] - h) * z * (1 - z)
    da_h = Delta[1:] * (1 - z) * g_prime(h)
    grads = {"x": da_z @ p["w_zx"] + da_h @ p["w_hx"],
             "v0": Delta[0], "V": Delta}
    for q, da in (("z", da_z), ("h", da_h)):
        grads[f"w_{q}x"] = _sum_over_time(da, x)
        grads[f"theta_{q}"] = -da.sum(axis=(0, 1))
    return grads


def _sum_over_time(da, inputs):
    """sum_t da(t)^T inputs(t) over time and batch: (T, B, N), (T, B, K) -> (N, K)."""
    return da.reshape(-1, da.shape[-1]).T @ inputs.reshape(-1, inputs.shape[-1])


def lag_products(z, t):
    """The gradient across k steps: dV_i(t)/dV_i(t-k) = prod_s z_i(s), s > t-k.

    z (T, B, N), the gate (``gates``, or a cache's "z"; z[s-1] is z(s)),
    and 0 <= t <= T. Returns (t+1, B, N): entry k is the product over the
    k steps s = t-k+1..t, for the lag k = 0..t (k = 0: 1); dV_i(t)/dV_j(t-k)
    is zero for j != i. In float64 whatever z: a product that shrinks
    geometrically would underflow float32 to an exact zero.
    """
    z = array_arg("z", z, ("T", "B", "N"), {})
    t = integer_arg("t", t, 0)
    if t > z.shape[0]:
        raise ValueError(f"t: expected an integer <= T = {z.shape[0]} "
                         f"(the length of z), got {t}")
    out = np.ones((t + 1, *z.shape[1:]))
    # back from z(t) = z[t-1]: the factors z(t), z(t-1), ..., z(t-k+1)
    out[1:] = np.cumprod(z[:t][::-1], axis=0, dtype=np.float64)
    return out


def rtrl_gradients(x, params, dV, v0=None, g="tanh"):
    """Real-time recurrent learning for the minGRU: exact, forward in time.

    Arguments as ``mingru_forward``, and dV (T+1, B, N) as for
    ``mingru_backward``; step t reads only dV[t], which may arrive online.
    V_i(t) depends on the row w[i, :] of a weight and on no other, so the
    sensitivities P[b, i, k] = dV_i(t)/dw[i, k] have the size of the
    weights, B N K numbers each (``rnnbook.rtrl``: B N^3 for w_vv alone):

      P_zx(t) = z(t) P_zx(t-1) + (V(t-1) - h(t)) z(t) (1 - z(t)) x(t)
      P_hx(t) = z(t) P_hx(t-1) + (1 - z(t)) g'(t) x(t)

    (the last factor an outer product over k), the thresholds' with -1 for
    x(t), and dV_i(t)/dV_i(0) = z_i(t) dV_i(t-1)/dV_i(0). Returns dH/d of
    w_zx, theta_z, w_hx, theta_h and dH/dV(0) (B, N) under "v0": the same
    gradient as ``mingru_backward``'s.
    """
    x, p, v0, dV = _rtrl_args(x, params, dV, v0, g)
    g_prime = activations.get(g).g_prime_of_g
    z, h = gates(x, p, g)
    # at t = 0: nothing depends on the weights yet; dV(0)/dV(0) = 1
    P = {"w_zx": np.zeros_like(p["w_zx"], shape=(*v0.shape, x.shape[2])),
         "theta_z": np.zeros_like(v0), "v0": np.ones_like(v0)}
    P["w_hx"], P["theta_h"] = np.zeros_like(P["w_zx"]), np.zeros_like(v0)
    grads = {k: np.zeros_like(a) for k, a in p.items()}
    grads["v0"] = dV[0].copy()
    V = v0
    for t in range(x.shape[0]):     # z[t] is z(t+1): this step makes V[t+1]
        # dV(t)/da at fixed V(t-1), for the local fields a of z and h
        d = {"z": (V - h[t]) * z[t] * (1 - z[t]),
             "h": (1 - z[t]) * g_prime(h[t])}
        for q in "zh":
            P[f"w_{q}x"] *= z[t][:, :, None]
            P[f"w_{q}x"] += d[q][:, :, None] * x[t][:, None, :]
            P[f"theta_{q}"] = z[t] * P[f"theta_{q}"] - d[q]
        P["v0"] *= z[t]
        V = z[t] * V + (1 - z[t]) * h[t]                       # (9.30d)
        e = dV[t + 1]               # dH/dV(t), known now: this step's share
        for q in "zh":
            w, theta = f"w_{q}x", f"theta_{q}"
            grads[w] += np.einsum("bi,bik->ik", e, P[w])
            grads[theta] += np.sum(e * P[theta], axis=0)
        grads["v0"] += e * P["v0"]
    return grads


def from_paper(paper):
    """Feng et al.'s minGRU in the book's notation: w_zx = -W_z, theta_z = b_z, w_hx = W_h,
    theta_h = -b_h.

    ``paper`` maps W_z, b_z, W_h, b_h to arrays, W_* (N, K) and b_* (N,), for their
    z_t = sigma(W_z x_t + b_z) (which gates the new candidate) and h~_t = g(W_h x_t + b_h).
    Returns a dict of new arrays keyed by PARAMS; ``to_paper`` undoes it.
    """
    q = _convert_args("paper", paper, _PAPER)
    return {"w_zx": -q["W_z"], "theta_z": q["b_z"].copy(), "w_hx": q["W_h"].copy(),
            "theta_h": -q["b_h"]}


def to_paper(params):
    """The book's minGRU in Feng et al.'s notation: W_z = -w_zx, b_z = theta_z, W_h = w_hx,
    b_h = -theta_h (see ``from_paper``). Returns a dict of new arrays keyed W_z, b_z, W_h, b_h."""
    p = _convert_args("params", params, PARAMS)
    return {"W_z": -p["w_zx"], "b_z": p["theta_z"].copy(), "W_h": p["w_hx"].copy(),
            "b_h": -p["theta_h"]}


def _convert_args(name, value, keys):
    sizes = {}
    dict_arg(name, value, keys, what="a dict of arrays")
    return {k: array_arg(entry(name, k), value[k], param_dims(k), sizes) for k in keys}


def _args(x, params, v0, g, sizes=None):
    """Validate the arguments of the forward pass and give them one floating dtype; ``sizes``
    receives the lengths of the named axes."""
    activation_name("g", g)
    sizes = {} if sizes is None else sizes
    x = array_arg("x", x, ("T", "B", "K"), sizes)
    p = _params_args("params", params, sizes)
    dtype = np.result_type(x, *p.values())
    if v0 is None:                  # zeros of the other arguments' dtype, not float64
        v0 = np.zeros((sizes["B"], sizes["N"]), dtype=dtype)
    v0 = array_arg("v0", v0, ("B", "N"), sizes)
    dtype = np.result_type(dtype, v0)
    return (x.astype(dtype, copy=False), {k: a.astype(dtype, copy=False) for k, a in p.items()},
            v0.astype(dtype, copy=False))


def _params_args(name, params, sizes, cached=False):
    """Validate the parameters (a dict, see the module docstring); ``cached``: they are in a
    cache, so NaN and inf pass as in ``cache_arg``."""
    dict_arg(name, params, PARAMS, what="a dict of the minGRU's arrays")
    return {k: array_arg(entry(name, k), params[k], param_dims(k), sizes, nan=cached, inf=cached)
            for k in PARAMS}


def _rtrl_args(x, params, dV, v0, g):
    """Validate the arguments of ``rtrl_gradients``: those of the forward pass, and dV."""
    sizes = {}
    x, p, v0 = _args(x, params, v0, g, sizes)
    dV = array_arg("dV", dV, ("T+1", "B", "N"), sizes)
    dtype = np.result_type(x, dV)
    return (x.astype(dtype, copy=False), {k: a.astype(dtype, copy=False) for k, a in p.items()},
            v0.astype(dtype, copy=False), dV.astype(dtype, copy=False))


def _backward_args(dV, cache):
    """Validate a cache of ``mingru_forward`` and dV against it."""
    sizes = {}
    gate = ("T", "B", "N")
    source = "mingru.mingru_forward"
    c = cache_arg("cache", cache, {"x": ("T", "B", "K"), "V": ("T+1", "B", "N"), "z": gate,
                                   "h": gate}, source, sizes)
    dict_arg("cache", cache, ("params",), closed=False, what=f"the cache returned by {source}")
    c["params"] = _params_args(entry("cache", "params"), cache["params"], sizes, cached=True)
    return array_arg("dV", dV, ("T+1", "B", "N"), sizes), c
