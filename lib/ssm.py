"""Linear recurrent networks after the GRU, in the book's notation (Chapter 7): the LRU and
Mamba's selective state update. Both are V(t) = a(t) * V(t-1) + b(t), computed by rnnbook.scan.

The LRU (Orvieto et al. 2023, arXiv:2303.06349), N complex units driven by K real inputs:

    V(t) = lambda * V(t-1) + gamma * (w_vx x(t)),   y(t) = Re(w_ov V(t)) + w_ox * x(t),

with lambda = exp(-exp(nu) + i exp(phi)) and gamma = sqrt(1 - |lambda|^2). The paper's names:
its nu_log, theta_log are ``nu``, ``phi`` here (phi is the log of a phase; the book keeps theta
for thresholds), B = ``w_vx`` (N, K), C = ``w_ov`` (K, N), its diagonal D = ``w_ox`` (K,), its h = V,
its u = x. The paper trains gamma (as gamma_log) from this value; here it stays tied to lambda.

Mamba's selective SSM (Gu and Dao 2023, arXiv:2312.00752, its S6 without the convolution and
the gate around it): K channels, each with N states, V (T+1, B, K, N); A (K, N) diagonal <= 0,

    Delta(t) = softplus(w_dx x(t) - theta_d),
    B(t) = w_bx x(t) - theta_b,  C(t) = w_cx x(t) - theta_c,
    V(t) = exp(Delta A) * V(t-1) + (Delta A)^-1 (exp(Delta A) - 1) Delta B(t) * x(t),
    y(t) = sum_n C_n(t) V_n(t) + w_ox * x(t),

the zero-order hold (ZOH) of the paper's eq. (4), elementwise. Mamba's code keeps exp(Delta A)
but takes Delta B for the second factor (Euler's step), equal to first order in Delta (their
ratio is 1 + Delta A / 2 + ...; Theorem 1 needs the exact one). Its
dt_proj is low-rank, here w_dx (K, K) is full; its B and C have no thresholds (theta_b =
theta_c = 0); theta_d is minus its dt bias.
"""
import math

import numpy as np

from . import activations, scan
from ._validate import (array_arg, checked, dict_arg, entry, floating_dtype, number_arg,
                        positive_int, seed_arg)
from .scan import _array

__all__ = ["LRU_PARAMS", "SELECTIVE_PARAMS", "lru_init", "lru_lambda", "lru_gamma",
           "lru_forward", "lru_lag_gradient", "softplus", "zoh", "selective_init",
           "selective_step", "selective_forward", "theorem1_gate"]

LRU_PARAMS = {"nu": ("N",), "phi": ("N",), "w_vx": ("N", "K"), "w_ov": ("K", "N"),
              "w_ox": ("K",)}
SELECTIVE_PARAMS = {"A": ("K", "N"), "w_dx": ("K", "K"), "theta_d": ("K",),
                    "w_bx": ("N", "K"), "theta_b": ("N",), "w_cx": ("N", "K"),
                    "theta_c": ("N",), "w_ox": ("K",)}
_COMPLEX = ("w_vx", "w_ov")     # the LRU's complex weights


# ---------------------------------------------------------------- the LRU

def _lru_lambda_args(nu, phi):
    sizes = {}
    return {"nu": array_arg("nu", nu, ("N",), sizes),
            "phi": array_arg("phi", phi, ("N",), sizes)}


@checked(_lru_lambda_args)
def lru_lambda(nu, phi):
    """The LRU's eigenvalues lambda = exp(-exp(nu) + i exp(phi)), (N,).

    |lambda| = exp(-exp(nu)) < 1 for every real nu: stable by construction.
    (In floats |lambda| rounds to 1 once exp(nu) < 2**-54, nu < -37.4.)
    """
    return np.exp(-np.exp(nu) + 1j * np.exp(phi))


def _nu_args(nu):
    return {"nu": array_arg("nu", nu, ("N",), {})}


@checked(_nu_args)
def lru_gamma(nu):
    """The LRU's normalisation gamma = sqrt(1 - |lambda|^2), (N,).

    Written sqrt(-expm1(-2 exp(nu))): exact also where |lambda| is near 1.
    """
    return np.sqrt(-np.expm1(-2 * np.exp(nu)))


def _params_arg(name, params, dims, sizes, complex_keys=()):
    """Validate a dict of arrays with the keys and named axes ``dims``."""
    dict_arg(name, params, list(dims), what="a dict of arrays")
    return {k: _array(entry(name, k), params[k], d, sizes, k in complex_keys)
            for k, d in dims.items()}


def _lru_args(x, params, v0=None):
    """Validate x (T, B, K), the LRU's params and v0 (B, N) or None."""
    sizes = {}
    x = array_arg("x", x, ("T", "B", "K"), sizes)
    p = _params_arg("params", params, LRU_PARAMS, sizes, _COMPLEX)
    dtype = np.result_type(x, *p.values(), 1j)      # the state is complex
    if v0 is None:
        v0 = np.zeros((sizes["B"], sizes["N"]), dtype=dtype)
    v0 = _array("v0", v0, ("B", "N"), sizes, True)
    dtype = np.result_type(dtype, v0)
    return {"x": x, "params": p, "v0": v0.astype(dtype, copy=False)}


@checked(_lru_args)
def lru_forward(x, params, v0=None):
    """The LRU: V(t) = lambda V(t-1) + gamma w_vx x(t),
    y(t) = Re(w_ov V(t)) + w_ox x(t).

    Shapes: x (T, B, K), params as LRU_PARAMS, v0 (B, N) complex or None.
    Returns V (T+1, B, N) complex with V[0] = v0, and y (T, B, K) real.
    """
    p = params
    lam = lru_lambda.unchecked(p["nu"], p["phi"])
    b = lru_gamma.unchecked(p["nu"]) * (x @ p["w_vx"].T)
    a = np.broadcast_to(lam, b.shape)       # the same lambda at every t
    V = scan.sequential.unchecked(a, b, v0)
    y = (V[1:] @ p["w_ov"].T).real + p["w_ox"] * x
    return V, y


def lru_init(K, N, *, seed, r_min=0.0, r_max=1.0, max_phase=2 * math.pi,
             dtype=np.float64):
    """The LRU's initialisation (Orvieto et al. 2023, as their code): lambda
    uniform on the ring r_min <= |lambda| <= r_max, phase in [0, max_phase).

    |lambda|^2 is uniform in [r_min^2, r_max^2] (uniform on the ring's area),
    nu = log(-log|lambda|), phi = log(phase). w_vx is complex normal with
    variance 1/K, w_ov with variance 2/N; w_ox (the paper's D) is normal.
    Returns a dict as LRU_PARAMS: real arrays of ``dtype``, complex w_vx, w_ov.
    """
    sizes = {"K": positive_int("K", K), "N": positive_int("N", N)}
    rng = np.random.default_rng(seed_arg("seed", seed))
    r_min = number_arg("r_min", r_min, 0.0, 1.0)
    r_max = number_arg("r_max", r_max, max(r_min, 0.0), 1.0)
    if r_min == 1.0:
        raise ValueError("r_min: expected a number in [0, 1), got 1.0")
    max_phase = number_arg("max_phase", max_phase, 0.0, 2 * math.pi,
                           low_open=True)
    dtype = floating_dtype("dtype", dtype)
    r2 = rng.uniform(r_min ** 2, r_max ** 2, N)
    phase = max_phase * rng.uniform(size=N)
    p = {"nu": np.log(-0.5 * np.log(r2)), "phi": np.log(phase)}
    for name, scale in (("w_vx", math.sqrt(2 * K)), ("w_ov", math.sqrt(N))):
        shape = [sizes[d] for d in LRU_PARAMS[name]]
        re, im = rng.standard_normal(shape), rng.standard_normal(shape)
        p[name] = (re + 1j * im) / scale
    p["w_ox"] = rng.standard_normal(K)
    complex_dtype = np.result_type(dtype, 1j)
    return {k: v.astype(complex_dtype if k in _COMPLEX else dtype)
            for k, v in p.items()}


def _lag_args(nu, lags):
    lags = array_arg("lags", lags, ("L",), {})
    if not np.all((lags >= 0) & (lags == np.round(lags))):
        raise ValueError(f"lags: expected whole numbers >= 0, got {lags}")
    return {**_nu_args(nu), "lags": lags}


@checked(_lag_args)
def lru_lag_gradient(nu, lags):
    """|dV_i(t) / dV_i(t-k)| = |lambda_i|^k = exp(-k exp(nu_i)), exactly.

    Shapes: nu (N,), lags (L,) whole numbers k >= 0. Returns (L, N). The
    LRU's state has no activation, so nothing but |lambda| shrinks it.
    """
    return np.exp(-np.multiply.outer(lags, np.exp(nu)))


# ---------------------------------------------------------------- Mamba's selective update

def _any_arg(name, value):
    return {name: array_arg(name, value, None, {})}


@checked(lambda s: _any_arg("s", s))
def softplus(s):
    """softplus(s) = log(1 + e^s), without overflow; any shape."""
    return np.logaddexp(0, s)


def _zoh_args(delta, A, B):
    args = {**_any_arg("delta", delta), **_any_arg("A", A), **_any_arg("B", B)}
    if np.any(args["delta"] < 0):
        raise ValueError("delta: expected step sizes >= 0")
    if np.any(args["A"] > 0):
        raise ValueError("A: expected entries <= 0 (a decaying state)")
    try:
        np.broadcast_shapes(*(v.shape for v in args.values()))
    except ValueError:
        raise ValueError(f"B: expected a shape that broadcasts with delta "
                         f"{args['delta'].shape} and A {args['A'].shape}, "
                         f"got {args['B'].shape}") from None
    return args


@checked(_zoh_args)
def zoh(delta, A, B):
    """Zero-order hold: a_bar = exp(Delta A),
    b_bar = (Delta A)^-1 (exp(Delta A) - 1) Delta B, elementwise (diagonal A).

    Shapes: any that broadcast. (e^u - 1)/u is expm1(u)/u, and 1 at u = 0,
    so b_bar -> Delta B as Delta A -> 0, exact to rounding, no 0/0.
    """
    u = delta * A
    phi = np.divide(np.expm1(u), u, out=np.ones_like(u), where=u != 0)
    return np.exp(u), phi * delta * B


def _selective_terms(x, p):
    """a_bar, b_bar x and C of every step for inputs x (..., K)."""
    delta = softplus.unchecked(x @ p["w_dx"].T - p["theta_d"])   # (..., K)
    B = x @ p["w_bx"].T - p["theta_b"]                          # (..., N)
    C = x @ p["w_cx"].T - p["theta_c"]                          # (..., N)
    a_bar, b_bar = zoh.unchecked(delta[..., None], p["A"], B[..., None, :])
    return a_bar, b_bar * x[..., None], C


def _selective_params(sizes, params):
    p = _params_arg("params", params, SELECTIVE_PARAMS, sizes)
    if np.any(p["A"] > 0):
        raise ValueError('params["A"]: expected entries <= 0 (a decaying state)')
    return p


def _selective_args(x, params, v0=None):
    """Validate x (T, B, K), Mamba's params and v0 (B, K, N) or None."""
    sizes = {}
    x = array_arg("x", x, ("T", "B", "K"), sizes)
    p = _selective_params(sizes, params)
    dtype = np.result_type(x, *p.values())
    if v0 is None:
        v0 = np.zeros((sizes["B"], sizes["K"], sizes["N"]), dtype=dtype)
    v0 = array_arg("v0", v0, ("B", "K", "N"), sizes)
    dtype = np.result_type(dtype, v0)
    return {"x": x.astype(dtype, copy=False), "v0": v0.astype(dtype, copy=False),
            "params": {k: a.astype(dtype, copy=False) for k, a in p.items()}}


@checked(_selective_args)
def selective_forward(x, params, v0=None):
    """Mamba's selective SSM with ZOH over t = 1..T, as one scan.

    Shapes: x (T, B, K), params as SELECTIVE_PARAMS, v0 (B, K, N) or None.
    Returns V (T+1, B, K, N) with V[0] = v0, and y (T, B, K).
    """
    a_bar, b_bar_x, C = _selective_terms(x, params)
    V = scan.sequential.unchecked(a_bar, b_bar_x, v0)
    y = np.sum(V[1:] * C[..., None, :], axis=-1) + params["w_ox"] * x
    return V, y


def _step_args(v, x_t, params):
    sizes = {}
    v = array_arg("v", v, ("B", "K", "N"), sizes)
    x_t = array_arg("x_t", x_t, ("B", "K"), sizes)
    p = _selective_params(sizes, params)
    dtype = np.result_type(v, x_t, *p.values())
    return {"v": v.astype(dtype, copy=False), "x_t": x_t.astype(dtype, copy=False),
            "params": {k: a.astype(dtype, copy=False) for k, a in p.items()}}


@checked(_step_args)
def selective_step(v, x_t, params):
    """One step of ``selective_forward``, Mamba's recurrent mode (inference).

    Shapes: v = V(t-1) (B, K, N), x_t = x(t) (B, K). Returns V(t), y(t).
    """
    a_bar, b_bar_x, C = _selective_terms(x_t, params)
    v = a_bar * v + b_bar_x
    return v, np.sum(v * C[..., None, :], axis=-1) + params["w_ox"] * x_t


def selective_init(K, N, *, seed, dt_min=1e-3, dt_max=1e-1,
                   dtype=np.float64):
    """Parameters as Mamba initialises them: A_kn = -n (S4D-real),
    Delta = softplus(-theta_d) log-uniform in [dt_min, dt_max] at x = 0,
    w_dx, w_bx, w_cx uniform in [-1/sqrt(K), 1/sqrt(K)], theta_b = theta_c = 0,
    w_ox = 1 (its D). Returns a dict as SELECTIVE_PARAMS, of ``dtype``.
    """
    sizes = {"K": positive_int("K", K), "N": positive_int("N", N)}
    rng = np.random.default_rng(seed_arg("seed", seed))
    dt_min = number_arg("dt_min", dt_min, 0.0, low_open=True)
    dt_max = number_arg("dt_max", dt_max, dt_min)
    dtype = floating_dtype("dtype", dtype)
    bound = 1 / math.sqrt(K)
    p = {k: rng.uniform(-bound, bound, [sizes[d] for d in SELECTIVE_PARAMS[k]])
         for k in ("w_dx", "w_bx", "w_cx")}
    dt = np.exp(rng.uniform(math.log(dt_min), math.log(dt_max), K))
    p["theta_d"] = -(dt + np.log(-np.expm1(-dt)))   # softplus(-theta_d) = dt
    p["A"] = -np.tile(np.arange(1.0, N + 1), (K, 1))
    p.update(theta_b=np.zeros(N), theta_c=np.zeros(N), w_ox=np.ones(K))
    return {k: p[k].astype(dtype) for k in SELECTIVE_PARAMS}


@checked(lambda s: _any_arg("s", s))
def theorem1_gate(s):
    """Theorem 1 of the Mamba paper in the book's notation: with N = 1,
    A = -1, B = 1 and Delta = softplus(s), the selective update is the minGRU
    step V(t) = z V(t-1) + (1 - z) x(t) with z = exp(-softplus(s)) = sigma(-s).

    Shapes: s any. Returns z, the update gate (z near 1 keeps the state).
    """
    return activations.get("sigmoid").g(-s)
