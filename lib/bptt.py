"""Learning in the network of ``lib/rnn.py`` (Chapter 2): backpropagation through time (BPTT),
truncated BPTT, and recurrent backpropagation at a steady state.

The energy is H = 1/2 sum_t sum_k E_k(t)^2 with output errors E_k(t) = y_k(t) - O_k(t). Every
backward function returns TRUE gradients dH/d(parameter); a learning rule steps against them.
The errors of the hidden units carry the book's sign, Delta_i(t) = -dH/db_i(t), so the rule
reads delta w_ij = eta sum_t Delta_i(t) V_j(t-1) while the gradient is
dH/dw_ij = -sum_t Delta_i(t) V_j(t-1). Thresholds are subtracted (b = ... - theta), so
dH/dtheta_i = +sum_t Delta_i(t), the opposite sign of the gradient of an added bias.

Problems are given as ``x`` (T, B, K), ``y`` (T, B, M) and a dict ``params`` with ``w_vv``
(N, N), ``w_vx`` (N, K), ``theta_v`` (N,), ``w_ov`` (M, N), ``theta_o`` (M,) and optionally
``v0`` (B, N). The functions shown in the chapter keep their lines short.
"""
import numpy as np

from . import activations, rnn
from ._validate import (activation_name, array_arg, cache_arg, checked, dict_arg, entry,
                        positive_int)

__all__ = ["PARAMS", "energy", "output_backward", "rnn_backward", "bptt_errors",
           "truncated_errors", "weight_gradients", "gradients", "UnstableFixedPoint",
           "recurrent_backprop", "fixed_point_errors", "fixed_point_sensitivities"]

PARAMS = ("w_vv", "w_vx", "theta_v", "w_ov", "theta_o")


def energy(O, y):
    """Eq. (2.6): H = 1/2 sum_t sum_k E_k(t)^2 with E = y - O, summed over the batch.

    Shapes: O and y (T, B, M). Returns ``(H, dO)`` with dO = dH/dO = -E.
    """
    O, y = _energy_args(O, y)
    E = y - O
    return 0.5 * float(np.sum(E * E)), -E


def output_backward(dO, cache):
    """Backward through the readout O(t) = g(b^(o)(t)), eqs. (2.7) and (2.8).

    Shapes: dO = dH/dO (T, B, M); ``cache`` from ``rnn.output_forward``.
    Returns ``(dV, grads)``: dV = dH/dV (T+1, B, N) through the outputs,
    zero at t = 0, and grads for w_ov and theta_o.
    """
    dO, cache = _output_args(dO, cache)
    g_prime = activations.get(cache["g"]).g_prime(cache["b"])
    eps = -dO * g_prime                  # eps_k(t) = -dH/db_k^(o)(t)
    V = cache["V"]
    dV = np.zeros_like(V)
    dV[1:] = -eps @ cache["w_ov"]        # -e(t), e_i = sum_k eps_k w_ki
    grads = {"w_ov": -np.einsum("tbk,tbj->kj", eps, V[1:], optimize=True),
             "theta_o": eps.sum(axis=(0, 1))}
    return dV, grads


def rnn_backward(dV, cache, tau=None):
    """BPTT for eq. (1.1): the gradients of H given dH/dV(t) through the outputs,
    eqs. (2.9)-(2.11).

    Shapes: dV (T+1, B, N), as returned by ``output_backward``; ``cache`` from
    ``rnn.rnn_forward``. ``tau`` is None for full BPTT, or the truncation length of eq. (2.14):
    each error is sent back through at most ``tau`` time steps (tau >= T is full BPTT).
    Returns grads for w_vv, w_vx, theta_v and v0.
    """
    dV, cache, tau = _backward_args(dV, cache, tau)
    g_prime = activations.get(cache["g"]).g_prime(cache["b"])
    # validated once above: the loops below skip the checks of the public functions
    if tau is None or tau >= len(g_prime):
        Delta, dV0 = bptt_errors.unchecked(dV, g_prime, cache["w_vv"])
    else:
        Delta, dV0 = truncated_errors.unchecked(dV, g_prime, cache["w_vv"], tau)
    return {**weight_gradients.unchecked(Delta, cache["V"], cache["x"]), "v0": dV0}


def _errors_args(dV, g_prime, w_vv):
    sizes = {}
    return {"dV": array_arg("dV", dV, ("T+1", "B", "N"), sizes),
            "g_prime": array_arg("g_prime", g_prime, ("T", "B", "N"), sizes),
            "w_vv": array_arg("w_vv", w_vv, ("N", "N"), sizes)}


@checked(_errors_args)
def bptt_errors(dV, g_prime, w_vv):
    """Eq. (2.10), backwards from t = T:
    Delta(t) = g'(b(t)) * [-dV(t) + w_vv^T Delta(t+1)], with Delta(T+1) = 0.

    Shapes: dV (T+1, B, N) = dH/dV(t) through the outputs, so -dV(t) = e(t);
    g_prime (T, B, N) = g'(b(t)); w_vv (N, N).
    Returns Delta (T, B, N) and dH/dV(0) (B, N).
    """
    Delta = np.empty_like(g_prime)
    back = np.zeros_like(dV[0])     # sum_j Delta_j(t+1) w_ji, 0 at t = T
    for t in range(len(g_prime), 0, -1):
        Delta[t - 1] = g_prime[t - 1] * (back - dV[t])
        back = Delta[t - 1] @ w_vv
    return Delta, dV[0] - back


def _truncated_args(dV, g_prime, w_vv, tau):
    return {**_errors_args(dV, g_prime, w_vv), "tau": positive_int("tau", tau)}


@checked(_truncated_args)
def truncated_errors(dV, g_prime, w_vv, tau):
    """Eq. (2.14): eq. (2.10) with every error sent back at most tau steps.

    The error that enters at time s reaches b(s), ..., b(s-tau+1) and V(s-tau),
    and stops there, as if V(s-tau) were a constant. Shapes and result as
    ``bptt_errors``; tau >= T gives the same result, at O(tau) times the cost.
    """
    Delta = np.empty_like(g_prime)
    live = np.zeros((tau,) + dV[0].shape, dtype=g_prime.dtype)
    for t in range(len(g_prime), 0, -1):
        # live[a] becomes the error that entered at t + a, now at time t;
        # the one that entered at t + tau has made its tau steps: dropped
        live = np.concatenate([-dV[t][None], live[:-1] @ w_vv])
        live *= g_prime[t - 1]
        Delta[t - 1] = live.sum(axis=0)
    return Delta, dV[0] - live.sum(axis=0) @ w_vv


def _weight_args(Delta, V, x):
    sizes = {}
    return {"Delta": array_arg("Delta", Delta, ("T", "B", "N"), sizes),
            "V": array_arg("V", V, ("T+1", "B", "N"), sizes),
            "x": array_arg("x", x, ("T", "B", "K"), sizes)}


@checked(_weight_args)
def weight_gradients(Delta, V, x):
    """Eq. (2.11) as gradients, each summed over time and batch:
    dH/dw_ij^(vv) = -sum_t Delta_i(t) V_j(t-1),
    dH/dw_ik^(vx) = -sum_t Delta_i(t) x_k(t),  dH/dtheta_i = +sum_t Delta_i(t).

    Shapes: Delta (T, B, N), V (T+1, B, N), x (T, B, K).
    Returns grads for w_vv, w_vx and theta_v.
    """
    sum_tb = dict(optimize=True)    # contract time and batch with BLAS
    return {"w_vv": -np.einsum("tbi,tbj->ij", Delta, V[:-1], **sum_tb),
            "w_vx": -np.einsum("tbi,tbk->ik", Delta, x, **sum_tb),
            "theta_v": Delta.sum(axis=(0, 1))}


def gradients(x, y, params, g="tanh", g_out="linear", tau=None):
    """H and all its gradients by BPTT: forward pass, energy (2.6), backward
    pass (2.7)-(2.11).

    ``g``, ``g_out``: activations of the hidden and the output units; ``tau``
    as in ``rnn_backward``. Returns ``(H, grads)`` with grads for w_vv, w_vx,
    theta_v, w_ov, theta_o and v0 (without v0 in params: the gradient at 0).
    """
    p = _network_args(x, y, params, g=g, g_out=g_out)
    V, cache = rnn.rnn_forward(p["x"], p["w_vv"], p["w_vx"], p["theta_v"],
                               v0=p["v0"], g=g)
    O, out_cache = rnn.output_forward(V, p["w_ov"], p["theta_o"], g=g_out)
    H, dO = energy(O, p["y"])
    dV, grads = output_backward(dO, out_cache)
    return H, {**rnn_backward(dV, cache, tau=tau), **grads}


class UnstableFixedPoint(rnn.FixedPointNotFound):
    """The steady state was found but is unstable: rho(g'(b*) w_vv) >= 1. A subclass of
    ``rnn.FixedPointNotFound``, so that one ``except`` catches every case without a stable V*."""


def recurrent_backprop(x, y, params, g="tanh", g_out="linear", tol=1e-12,
                       max_iter=10_000):
    """Recurrent backpropagation at the steady state (Almeida 1987; Pineda
    1987), eqs. (2.1)-(2.5).

    For a constant input x (B, K) the network settles to V* (from params["v0"]
    if given, else from 0), the outputs to O* = g_out(w_ov V* - theta_o), and
    H = 1/2 sum_k (y_k - O_k*)^2 with y (B, M). Returns ``(H, grads, V_star)``
    with grads for w_vv, w_vx, theta_v, w_ov and theta_o. Raises
    ``rnn.FixedPointNotFound`` when the network does not settle and
    ``UnstableFixedPoint`` when V* is unstable: there the rule has no meaning.
    """
    p = _steady_args(x, y, params, g=g, g_out=g_out)
    x, w_vv, w_ov = p["x"], p["w_vv"], p["w_ov"]
    V, _ = rnn.steady_state(x, w_vv, p["w_vx"], p["theta_v"], v0=p["v0"],
                            g=g, tol=tol, max_iter=max_iter)
    b = V @ w_vv.T + x @ p["w_vx"].T - p["theta_v"]      # b*
    g_prime = activations.get(g).g_prime(b)
    _require_stable(g_prime, w_vv)
    out = activations.get(g_out)
    b_out = V @ w_ov.T - p["theta_o"]
    E = p["y"] - out.g(b_out)
    eps = E * out.g_prime(b_out)                # -dH/db^(o), as in (2.7)
    Delta = fixed_point_errors(eps @ w_ov, g_prime, w_vv)       # eq. (2.4)
    grads = {"w_vv": -Delta.T @ V, "w_vx": -Delta.T @ x,        # eq. (2.5)
             "theta_v": Delta.sum(axis=0),
             "w_ov": -eps.T @ V, "theta_o": eps.sum(axis=0)}
    return 0.5 * float(np.sum(E * E)), grads, V


def _fixed_point_args(e, g_prime, w_vv):
    sizes = {}
    return {"e": array_arg("e", e, ("B", "N"), sizes),
            "g_prime": array_arg("g_prime", g_prime, ("B", "N"), sizes),
            "w_vv": array_arg("w_vv", w_vv, ("N", "N"), sizes)}


@checked(_fixed_point_args)
def fixed_point_errors(e, g_prime, w_vv):
    """Eq. (2.4): solve Delta_i = g'(b_i*) [e_i + sum_j Delta_j w_ji], that is
    (1 - D w_vv^T) Delta = D e with D = diag(g'(b*)), once per sequence.

    Shapes: e = -dH/dV* through the outputs (B, N), g_prime = g'(b*) (B, N),
    w_vv (N, N). Returns Delta* (B, N).
    """
    eye = np.eye(len(w_vv), dtype=np.result_type(e, g_prime, w_vv))
    A = eye - g_prime[:, :, None] * w_vv.T     # one (N, N) matrix per sequence
    return np.linalg.solve(A, (g_prime * e)[:, :, None])[:, :, 0]


def fixed_point_sensitivities(x, w_vv, w_vx, theta_v, V_star, g="tanh"):
    """Eq. (2.3): dV_k*/dw_mn^(vv) for all k, m, n, by solving (1 - J) P = D (e_m V_n*) with
    J = g'(b*) w_vv: the forward route to the rule (2.2), one linear system per weight.

    Shapes: x (B, K), w_vv (N, N), w_vx (N, K), theta_v (N,), V_star (B, N), a stable steady
    state. Returns P (B, N, N, N) with P[b, k, m, n] = dV_k*/dw_mn^(vv) for sequence b.
    """
    sizes = {}
    x = array_arg("x", x, ("B", "K"), sizes)
    w_vv = array_arg("w_vv", w_vv, ("N", "N"), sizes)
    w_vx = array_arg("w_vx", w_vx, ("N", "K"), sizes)
    theta_v = array_arg("theta_v", theta_v, ("N",), sizes)
    V_star = array_arg("V_star", V_star, ("B", "N"), sizes)
    act = activations.get(activation_name("g", g))
    g_prime = act.g_prime(V_star @ w_vv.T + x @ w_vx.T - theta_v)
    _require_stable(g_prime, w_vv)
    B, N = V_star.shape
    eye = np.eye(N, dtype=np.result_type(x, w_vv, w_vx, theta_v, V_star))
    J = g_prime[:, :, None] * w_vv
    rhs = np.einsum("bk,km,bn->bkmn", g_prime, eye, V_star).reshape(B, N, N * N)
    return np.linalg.solve(eye - J, rhs).reshape(B, N, N, N)


def _network_args(x, y, params, **names):
    """Validate a sequence problem: x (T, B, K), y (T, B, M), the parameters of the network
    and its readout (see the module docstring) and the activations ``names`` (g=..., g_out=...).
    Returns a dict with the arrays, v0 filled with zeros when absent."""
    sizes = {}
    p = {"x": array_arg("x", x, ("T", "B", "K"), sizes),
         "y": array_arg("y", y, ("T", "B", "M"), sizes)}
    p.update(_params_args(params, sizes))
    for arg, name in names.items():
        activation_name(arg, name)
    return p


def _steady_args(x, y, params, **names):
    """Validate a steady-state problem: x (B, K), y (B, M), the parameters (v0 optional) and the
    activations ``names``."""
    sizes = {}
    p = {"x": array_arg("x", x, ("B", "K"), sizes), "y": array_arg("y", y, ("B", "M"), sizes)}
    p.update(_params_args(params, sizes))
    for arg, name in names.items():
        activation_name(arg, name)
    return p


_PARAM_DIMS = {"w_vv": ("N", "N"), "w_vx": ("N", "K"), "theta_v": ("N",),
               "w_ov": ("M", "N"), "theta_o": ("M",)}


def _params_args(params, sizes):
    dict_arg("params", params, PARAMS, optional=("v0",), what="a dict of arrays")
    p = {name: array_arg(entry("params", name), params[name], dims, sizes)
         for name, dims in _PARAM_DIMS.items()}
    v0 = params.get("v0")
    p["v0"] = (np.zeros((sizes["B"], sizes["N"]), dtype=np.result_type(*p.values()))
               if v0 is None else array_arg(entry("params", "v0"), v0, ("B", "N"), sizes))
    return p


def _require_stable(g_prime, w_vv):
    """Raise UnstableFixedPoint unless each sequence's J = g'(b*) w_vv has spectral radius < 1."""
    rho = np.abs(np.linalg.eigvals(g_prime[:, :, None] * w_vv)).max(axis=1)
    if np.any(rho >= 1):
        b = int(np.argmax(rho))
        raise UnstableFixedPoint(
            f"the steady state of sequence {b} is unstable: the spectral radius of "
            f"J = g'(b*) w_vv is {rho[b]:.4f} >= 1, so small deviations from V* grow and the "
            "network does not stay there. Recurrent backpropagation needs a stable fixed "
            "point: start from another v0 or use smaller recurrent weights.")


def _energy_args(O, y):
    sizes = {}
    return array_arg("O", O, ("T", "B", "M"), sizes), array_arg("y", y, ("T", "B", "M"), sizes)


def _output_args(dO, cache):
    sizes = {}
    cache = cache_arg("cache", cache, rnn._OUTPUT_CACHE, "rnn.output_forward", sizes)
    return array_arg("dO", dO, ("T", "B", "M"), sizes), cache


def _backward_args(dV, cache, tau):
    sizes = {}
    cache = cache_arg("cache", cache, rnn._CACHE, "rnn.rnn_forward", sizes)
    dV = array_arg("dV", dV, ("T+1", "B", "N"), sizes)
    return dV, cache, None if tau is None else positive_int("tau", tau)
