"""Vanishing and exploding gradients, measured: Jacobian products, gradients against time lag,
spectra, and the fitted decay rate per step.

Everything is computed in float64 whatever the dtype of the trajectory: a gradient that shrinks
by a factor 0.5 per step falls below float32's smallest number after about 150 steps and would
read as exactly zero. Trajectories are the caches of ``rnn.rnn_forward``, whose local fields
b(u) give the step Jacobians dV(u)/dV(u-1) = D(u) w^(vv) with D(u) = diag g'(b(u)).
"""
import numpy as np

from . import activations, rnn
from ._validate import (ArgumentTypeError, activation_name, array_arg, cache_arg, choice,
                        integer_arg, sizes_of)

__all__ = ["jacobian_product", "state_gradients", "input_gradients", "gradient_norms",
           "decay_rate", "singular_values", "spectral_radius", "bound_rate", "typical_rate"]


def jacobian_product(cache, s, t):
    """Eq. (3.3): dV(t)/dV(s) = D(t) w D(t-1) w ... D(s+1) w, D = diag g'(b).

    ``cache`` from ``rnn.rnn_forward`` (T steps, B sequences, N units), and
    0 <= s <= t <= T. Returns (B, N, N): [n, i, j] is dV_i(t)/dV_j(s) for
    sequence n.
    """
    w_vv, g_prime = _trajectory(cache)
    s, t = _lags(s, t, g_prime.shape[0])
    B, N = g_prime.shape[1:]
    P = np.broadcast_to(np.eye(N), (B, N, N)).copy()
    for u in range(s + 1, t + 1):
        P = g_prime[u - 1][:, :, None] * (w_vv @ P)   # times D(u) w
    return P


def state_gradients(cache, dV_T):
    """Eq. (3.4): dL/dV(s-1) = w^T [g'(b(s)) * dL/dV(s)], for a loss on V(T).

    Shapes: ``dV_T`` = dL/dV(T) is (B, N); returns (T+1, B, N), whose row s
    is dL/dV(s).
    """
    w_vv, g_prime = _trajectory(cache)
    T = g_prime.shape[0]
    dV = np.empty((T + 1,) + g_prime.shape[1:])
    dV[T] = _end_gradient(dV_T, g_prime.shape[1:])
    for s in range(T, 0, -1):
        dV[s - 1] = (g_prime[s - 1] * dV[s]) @ w_vv   # u @ w = w^T u
    return dV


def input_gradients(cache, dV):
    """dL/dx(s) = w_vx^T [g'(b(s)) * dL/dV(s)] for s = 1..T, from the state gradients ``dV``
    (T+1, B, N) of ``state_gradients``. Returns (T, B, K), indexed like x."""
    sizes = {}
    _, g_prime = _trajectory(cache, sizes)
    w_vx = cache_arg("cache", cache, {"w_vx": rnn._CACHE["w_vx"]}, "rnn.rnn_forward", sizes,
                     activations=())["w_vx"]
    dV = array_arg("dV", dV, ("T+1", "B", "N"), sizes)
    return (g_prime * dV[1:]) @ w_vx.astype(np.float64)


def gradient_norms(cache, dV_T, wrt="V"):
    """The norm of the gradient at each time lag k: ||dL/dV(T-k)|| for k = 0..T (``wrt="V"``,
    shape (T+1, B)) or ||dL/dx(T-k)|| for k = 0..T-1 (``wrt="x"``, shape (T, B)), for a loss on
    V(T) with dL/dV(T) = ``dV_T`` (B, N). Row k is the lag, column the sequence."""
    choice("wrt", wrt, ("V", "x"))
    dV = state_gradients(cache, dV_T)
    grads = dV if wrt == "V" else input_gradients(cache, dV)
    return _norm(grads[::-1])


def decay_rate(norms, start=0, stop=None):
    """The decay factor per step, lambda, fitted to norms[k] ~ c * lambda**k over the lags
    start <= k < stop by least squares on log norms (for a batch, on the mean log norm per lag).

    ``norms`` is (L,) or (L, B), as from ``gradient_norms``. lambda < 1 means vanishing, > 1
    exploding. Raises ValueError if the range holds fewer than two lags or a norm that is zero,
    negative or not finite (an underflow: fit a shorter range).
    """
    norms = _norms_arg(norms)
    start = integer_arg("start", start, minimum=0)
    stop = None if stop is None else integer_arg("stop", stop, minimum=0)
    window = norms[start:stop]
    if window.shape[0] < 2:
        raise ValueError(f"norms[start:stop]: expected at least two lags to fit, got lags "
                         f"{start}..{stop} of {norms.shape[0]}")
    if not np.all(np.isfinite(window) & (window > 0)):
        raise ValueError("norms: a norm in the fitted range is zero, negative or not finite "
                         "(the gradient underflowed or overflowed); fit a shorter range")
    log_norms = np.log(window).reshape(window.shape[0], -1).mean(axis=1)
    lags = np.arange(window.shape[0])
    slope = np.polyfit(lags, log_norms, 1)[0]
    return float(np.exp(slope))


def singular_values(w):
    """The singular values of a matrix, largest first; the first is sigma_max = ||w||_2."""
    return np.linalg.svd(array_arg("w", w, ("N", "N"), {}), compute_uv=False)


def spectral_radius(w):
    """rho(w): the largest modulus of an eigenvalue of the square matrix w. rho <= sigma_max."""
    return float(np.max(np.abs(np.linalg.eigvals(array_arg("w", w, ("N", "N"), {})))))


def bound_rate(w_vv, g):
    """Eq. (3.5): gamma * sigma_max(w), the bound on how much one step can stretch a gradient."""
    w_vv = array_arg("w_vv", w_vv, ("N", "N"), {})
    return activations.get(activation_name("g", g)).gamma * float(singular_values(w_vv)[0])


def typical_rate(cache):
    """Eq. (3.7): sigma_rms(w) * rms g'(b), with sigma_rms = ||w||_F / sqrt(N): the factor by
    which one step shrinks or stretches a gradient of generic direction along this trajectory."""
    w_vv, g_prime = _trajectory(cache)
    sigma_rms = np.linalg.norm(w_vv) / np.sqrt(w_vv.shape[0])
    return float(sigma_rms * np.sqrt(np.mean(g_prime ** 2)))


def _trajectory(cache, sizes=None):
    """The recurrent weights and g'(b(t)) (T, B, N) of a cache from ``rnn.rnn_forward``, in
    float64; ``sizes`` receives T, B and N."""
    cache = cache_arg("cache", cache, {"b": rnn._CACHE["b"], "w_vv": rnn._CACHE["w_vv"]},
                      "rnn.rnn_forward", {} if sizes is None else sizes)
    b = cache["b"].astype(np.float64)
    return cache["w_vv"].astype(np.float64), activations.get(cache["g"]).g_prime(b)


def _norms_arg(norms):
    """norms (L,) or (L, B); zeros, inf and NaN (underflow, overflow) are allowed outside the
    range that decay_rate fits, which checks that range."""
    try:        # None, a str, a ragged list...: array_arg names these mistakes
        ndim = np.ndim(norms) if isinstance(norms, (list, tuple)) or hasattr(norms, "ndim") else 1
    except ValueError:
        ndim = 1
    if ndim not in (1, 2):
        raise ValueError(f"norms: expected shape (L,) or (L, B), got {np.shape(norms)}")
    return array_arg("norms", norms, ("L", "B")[:ndim], {}, nan=True, inf=True).astype(np.float64)


def _end_gradient(dV_T, shape):
    return array_arg("dV_T", dV_T, ("B", "N"), sizes_of('cache["b"]', ("B", "N"), shape))


def _norm(a):
    """Euclidean norm over the last axis, scaled first so that squares of tiny entries such as
    1e-200 do not underflow (np.linalg.norm squares them and returns 0 below about 1e-154)."""
    scale = np.max(np.abs(a), axis=-1, keepdims=True)
    safe = np.where(scale > 0, scale, 1.0)
    return scale[..., 0] * np.sqrt(np.sum((a / safe) ** 2, axis=-1))


def _lags(s, t, T):
    expected = f"s, t: expected integers with 0 <= s <= t <= T = {T}, got s = {s!r}, t = {t!r}"
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (s, t)):
        raise ArgumentTypeError(expected)
    if not 0 <= s <= t <= T:
        raise ValueError(expected)
    return int(s), int(t)
