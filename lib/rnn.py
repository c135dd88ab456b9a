"""The plain recurrent network of Chapter 1: forward pass, readout, autonomous runs, steady states.

Time-major throughout: inputs ``x[t-1]`` is x(t) for t = 1..T, states ``V[t]`` is V(t) for
t = 0..T with ``V[0]`` the initial state. Weights are stored as in the equations:
``w_vv[i, j]`` is w_ij^(vv), ``w_vx[i, k]`` is w_ik^(vx), ``theta_v[i]`` is theta_i^(v).
"""
import numpy as np

from . import activations
from ._validate import (activation_name, array_arg, floating_dtype, integer_arg, number_arg,
                        positive_int, positive_number, seed_arg)

__all__ = ["rnn_forward", "output_forward", "autonomous", "FixedPointNotFound", "steady_state",
           "random_weights", "lyapunov_exponent"]

# What the caches of rnn_forward and output_forward hold, for the functions that take them.
_CACHE = {"x": ("T", "B", "K"), "V": ("T+1", "B", "N"), "b": ("T", "B", "N"),
          "w_vv": ("N", "N"), "w_vx": ("N", "K")}
_OUTPUT_CACHE = {"V": ("T+1", "B", "N"), "b": ("T", "B", "M"), "w_ov": ("M", "N")}


def rnn_forward(x, w_vv, w_vx, theta_v, v0=None, g="tanh"):
    """Eq. (1.1): V(t) = g(w_vv V(t-1) + w_vx x(t) - theta_v), for t = 1..T.

    Shapes: x (T, B, K), w_vv (N, N), w_vx (N, K), theta_v (N,), and v0
    (B, N) or None for zeros. Returns V (T+1, B, N) with V[0] = v0, and a
    cache for the backward pass that holds the local fields b (T, B, N).
    """
    x, w_vv, w_vx, theta_v, v0 = _rnn_args(x, w_vv, w_vx, theta_v, v0, g)
    act = activations.get(g)
    T, B, N = x.shape[0], x.shape[1], w_vv.shape[0]
    V = np.empty((T + 1, B, N), dtype=x.dtype)
    V[0] = v0
    b = x @ w_vx.T - theta_v        # the input part of b(t), for all t at once
    for t in range(1, T + 1):
        b[t - 1] += V[t - 1] @ w_vv.T   # the recurrent part needs V(t-1)
        V[t] = act.g(b[t - 1])
    cache = {"x": x, "V": V, "b": b, "w_vv": w_vv, "w_vx": w_vx, "g": act.name}
    return V, cache


def _rnn_args(x, w_vv, w_vx, theta_v, v0, g):
    """Validate the arguments of eq. (1.1) and give them one floating dtype."""
    activation_name("g", g)
    sizes = {}
    args = [array_arg("x", x, ("T", "B", "K"), sizes),
            array_arg("w_vv", w_vv, ("N", "N"), sizes),
            array_arg("w_vx", w_vx, ("N", "K"), sizes),
            array_arg("theta_v", theta_v, ("N",), sizes)]
    if v0 is None:                  # zeros of the other arguments' dtype, not float64
        v0 = np.zeros((sizes["B"], sizes["N"]), dtype=np.result_type(*args))
    args.append(array_arg("v0", v0, ("B", "N"), sizes))
    dtype = np.result_type(*args)
    return [a.astype(dtype, copy=False) for a in args]


def output_forward(V, w_ov, theta_o, g="linear"):
    """Readout: O_k(t) = g(sum_j w_kj^(ov) V_j(t) - theta_k^(o)) for t = 1..T.

    Shapes: V (T+1, B, N) as returned by ``rnn_forward``, w_ov (M, N), theta_o (M,).
    Returns ``O`` of shape (T, B, M) and a cache holding the local fields.
    """
    sizes = {}
    V = array_arg("V", V, ("T+1", "B", "N"), sizes)
    w_ov = array_arg("w_ov", w_ov, ("M", "N"), sizes)
    theta_o = array_arg("theta_o", theta_o, ("M",), sizes)
    act = activations.get(activation_name("g", g))
    b = V[1:] @ w_ov.T - theta_o
    return act.g(b), {"V": V, "b": b, "w_ov": w_ov, "g": act.name}


def autonomous(w_vv, v0, T, theta_v=None, g="tanh"):
    """Eq. (1.1) with no input: V(t) = g(w^(vv) V(t-1) - theta^(v)) for t = 1..T.

    Shapes: w_vv (N, N), v0 (B, N), theta_v (N,) or None for zeros. Returns ``(V, cache)`` as
    ``rnn_forward`` does, with V of shape (T+1, B, N).
    """
    sizes = {}
    w_vv = array_arg("w_vv", w_vv, ("N", "N"), sizes)
    v0 = array_arg("v0", v0, ("B", "N"), sizes)
    T = positive_int("T", T)
    # zeros (a missing theta_v, the input and its weights) take the others' dtype, not float64
    theta_v = (np.zeros(sizes["N"], dtype=np.result_type(w_vv, v0)) if theta_v is None
               else array_arg("theta_v", theta_v, ("N",), sizes))
    dtype = np.result_type(w_vv, v0, theta_v)
    x = np.zeros((T, sizes["B"], 1), dtype=dtype)
    return rnn_forward(x, w_vv, np.zeros((sizes["N"], 1), dtype=dtype), theta_v, v0=v0, g=g)


class FixedPointNotFound(RuntimeError):
    """The iteration V <- g(w^(vv) V + w^(vx) x - theta^(v)) did not settle."""


def steady_state(x, w_vv, w_vx, theta_v, v0=None, g="tanh", tol=1e-12, max_iter=10_000):
    """Steady state V* = g(w^(vv) V* + w^(vx) x - theta^(v)) for a constant input x, by iteration.

    Shapes: x (B, K), w_vv (N, N), w_vx (N, K), theta_v (N,), v0 (B, N) or None for zeros.
    Returns ``(V_star, n_iter)`` with V_star of shape (B, N). Raises FixedPointNotFound when the
    largest change per step is still above ``tol`` after ``max_iter`` steps: the fixed point
    reached from ``v0`` is unstable, or the dynamics oscillate or are chaotic. Float32 iterates in
    float32, whose rounding (about 1e-7) stays above the default tol: give it a larger one.
    """
    sizes = {}
    x = array_arg("x", x, ("B", "K"), sizes)
    w_vv = array_arg("w_vv", w_vv, ("N", "N"), sizes)
    w_vx = array_arg("w_vx", w_vx, ("N", "K"), sizes)
    theta_v = array_arg("theta_v", theta_v, ("N",), sizes)
    max_iter = positive_int("max_iter", max_iter)
    tol = positive_number("tol", tol)
    act = activations.get(activation_name("g", g))
    args = [x, w_vv, w_vx, theta_v]
    if v0 is not None:
        args.append(array_arg("v0", v0, ("B", "N"), sizes))
    dtype = np.result_type(*args)   # a missing v0 is zeros of the others' dtype, not float64
    x, w_vv, w_vx, theta_v, *v0 = (a.astype(dtype, copy=False) for a in args)
    V = v0[0] if v0 else np.zeros((sizes["B"], sizes["N"]), dtype=dtype)
    drive = x @ w_vx.T - theta_v
    for n_iter in range(1, max_iter + 1):
        V_next = act.g(V @ w_vv.T + drive)
        step = np.max(np.abs(V_next - V))
        V = V_next
        if step < tol:
            return V, n_iter
    raise FixedPointNotFound(
        f"no steady state after {max_iter} iterations: the last step still changed V by {step:.2e} "
        f"(> tol = {tol:.0e}). The fixed point is unstable or the dynamics oscillate; "
        "try smaller recurrent weights, another v0, or a larger max_iter.")


def random_weights(K, N, scale, *, seed, dtype=np.float64):
    """Random recurrent network: w_vv = scale * G / sqrt(N) with G standard normal, so that the
    spectral radius of w_vv is close to ``scale`` for large N; w_vx standard normal / sqrt(K);
    theta_v = 0. Returns ``(w_vv, w_vx, theta_v)`` with shapes (N, N), (N, K), (N,), drawn in
    float64 and given ``dtype``.
    """
    K, N, dtype = positive_int("K", K), positive_int("N", N), floating_dtype("dtype", dtype)
    scale = number_arg("scale", scale, low=0.0)
    rng = np.random.default_rng(seed_arg("seed", seed))
    w_vv = scale * rng.standard_normal((N, N)) / np.sqrt(N)
    w_vx = rng.standard_normal((N, K)) / np.sqrt(K)
    return tuple(a.astype(dtype, copy=False) for a in (w_vv, w_vx, np.zeros(N)))


def lyapunov_exponent(w_vv, v0, T, transient=500, theta_v=None, g="tanh", *, seed):
    """Largest Lyapunov exponent of eq. (1.1) without input, lambda = lim (1/T) ln |dV(T)| / |dV(0)|.

    Shapes: w_vv (N, N), v0 (B, N), theta_v (N,) or None for zeros. Runs V(t) = g(w_vv V(t-1) -
    theta_v) from each row of v0 for ``transient`` steps, then follows a tangent vector
    dV(t) = g'(b(t)) * (w_vv dV(t-1)), whose random first direction is drawn from ``seed``, for
    T more steps, renormalising it at every step (Benettin's method), and returns lambda of shape
    (B,), in nats per step, in float64 (a measurement): the mean of ln |dV(t)| / |dV(t-1)|.
    Negative: nudges fade (near the zero state, at the rate ln rho); zero: a limit cycle or a
    quasi-periodic orbit; positive: chaos, nudges grow like e^(lambda t).
    """
    sizes = {}
    w_vv = array_arg("w_vv", w_vv, ("N", "N"), sizes)
    v0 = array_arg("v0", v0, ("B", "N"), sizes)
    T = positive_int("T", T)
    transient = integer_arg("transient", transient, minimum=0)
    theta_v = (np.zeros(sizes["N"]) if theta_v is None
               else array_arg("theta_v", theta_v, ("N",), sizes))
    act = activations.get(activation_name("g", g))
    V = v0.astype(np.float64)
    nudge = np.random.default_rng(seed_arg("seed", seed)).standard_normal(V.shape)
    nudge /= np.linalg.norm(nudge, axis=1, keepdims=True)
    log_growth = np.zeros(V.shape[0])
    w_T = np.ascontiguousarray(w_vv.T)
    for t in range(transient + T):
        V = act.g(V @ w_T - theta_v)
        nudge = act.g_prime_of_g(V) * (nudge @ w_T)
        norm = np.linalg.norm(nudge, axis=1, keepdims=True)
        if np.any(norm == 0):       # e.g. a nilpotent w_vv: every nudge is gone
            return np.full(V.shape[0], -np.inf)
        nudge /= norm
        if t >= transient:
            log_growth += np.log(norm[:, 0])
    return log_growth / T
