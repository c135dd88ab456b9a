"""Self-checks for the exercises: each prints a clear pass, or raises SelfCheckFailed saying what
differed. They compare a student's work with the library, never with a stored answer."""
import numpy as np

from . import rnn


class SelfCheckFailed(AssertionError):
    """A self-check did not pass; the message says what differed and where."""


def _fail(message):
    raise SelfCheckFailed(message)


def _call(fn, *args):
    """Call the student's function, turning an exception inside it into a readable failure."""
    if not callable(fn):
        _fail(f"expected a function, got {type(fn).__name__}")
    try:
        return fn(*args)
    except NotImplementedError:
        _fail(f"{getattr(fn, '__name__', 'your function')} is not written yet (it raises NotImplementedError)")
    except Exception as exc:
        _fail(f"{getattr(fn, '__name__', 'your function')} raised {type(exc).__name__}: {exc}")


def _compare(name, got, expected, atol=1e-10):
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        _fail(f"{name}: expected an array of numbers, got {type(got).__name__}")
    if got.shape != expected.shape:
        _fail(f"{name}: expected shape {expected.shape}, got {got.shape}")
    err = np.abs(got - expected)
    if not np.all(err <= atol):          # also catches NaN
        idx = np.unravel_index(np.nanargmax(np.where(np.isnan(err), np.inf, err)), err.shape)
        _fail(f"{name}: at index {tuple(int(i) for i in idx)} expected {expected[idx]:.6f}, "
              f"got {got[idx]:.6f} (difference {err[idx]:.2e}, tolerance {atol:.0e})")


def check_rnn_step(rnn_step):
    """Exercise: ``rnn_step(V_prev, x_t, w_vv, w_vx, theta_v)`` computes one step of eq. (1.1) with
    g = tanh. Shapes: V_prev (B, N), x_t (B, K), w_vv (N, N), w_vx (N, K), theta_v (N,) -> (B, N)."""
    rng = np.random.default_rng(2026)
    B, N, K = 3, 4, 2
    x = rng.standard_normal((1, B, K))
    v0 = rng.standard_normal((B, N))
    w_vv, w_vx, theta_v = rng.standard_normal((N, N)), rng.standard_normal((N, K)), rng.standard_normal(N)
    expected = rnn.rnn_forward(x, w_vv, w_vx, theta_v, v0=v0)[0][1]
    got = _call(rnn_step, v0, x[0], w_vv, w_vx, theta_v)
    _compare("rnn_step(...)", got, expected)
    print(f"✓ rnn_step matches eq. (1.1) on a random batch (B={B}, N={N}, K={K}).")


def check_latch(w_vv, w_vx, theta_v, hold=1000):
    """Exercise: one tanh unit with inputs (set, reset) that stores a bit.

    A pulse x = (1, 0) must drive V above +0.5 and a pulse x = (0, 1) below -0.5, and V must stay
    there for ``hold`` steps of zero input. Shapes: w_vv (1, 1), w_vx (1, 2), theta_v (1,).
    """
    try:
        w_vv, w_vx, theta_v = (np.asarray(a, dtype=float) for a in (w_vv, w_vx, theta_v))
    except (TypeError, ValueError):
        _fail("w_vv, w_vx and theta_v must be arrays of numbers")
    for name, a, shape in (("w_vv", w_vv, (1, 1)), ("w_vx", w_vx, (1, 2)), ("theta_v", theta_v, (1,))):
        if a.shape != shape:
            _fail(f"{name}: expected shape {shape} for one unit with inputs (set, reset), got {a.shape}")
        if not np.all(np.isfinite(a)):
            _fail(f"{name}: contains NaN or inf")
    pulses = {5: "set", 5 + hold: "reset", 5 + 2 * hold: "set"}
    T = 5 + 3 * hold
    x = np.zeros((T, 1, 2))
    for t, kind in pulses.items():
        x[t - 1, 0, 0 if kind == "set" else 1] = 1.0
    V = rnn.rnn_forward(x, w_vv, w_vx, theta_v)[0][:, 0, 0]
    for t, kind in pulses.items():
        want = 1.0 if kind == "set" else -1.0
        held = V[t:t + hold] * want
        if not np.all(held > 0.5):
            bad = t + int(np.argmax(held <= 0.5))
            _fail(f"after the {kind} pulse at t={t}, V({bad}) = {V[bad]:+.3f}: expected "
                  f"{'above +0.5' if want > 0 else 'below -0.5'} for {hold} steps. "
                  + ("The pulse does not move V far enough." if bad == t else
                     "The stored bit leaks away: with no input, V = g(w V - theta) needs a stable "
                     "fixed point on each side."))
    print(f"✓ the latch works: set and reset, each value held for {hold} steps.")


def check_gru_step(gru_step):
    """Exercise: ``gru_step(V_prev, x_t, params)`` computes one step of eqs. (9.30a-d), reset gate
    before the product (eq. 9.30c), g = tanh. Shapes: V_prev (B, N), x_t (B, K), params as in
    ``lib.gru`` (w_zx, w_zv, theta_z, w_rx, w_rv, theta_r, w_hx, w_hv, theta_h) -> (B, N)."""
    from . import gru
    B, N, K = 3, 4, 2
    params = gru.init_params(N, K, "before", seed=7, scale=1.0)
    rng = np.random.default_rng(8)
    x, v0 = rng.standard_normal((1, B, K)), rng.standard_normal((B, N))
    expected = gru.gru_forward(x, params, v0)[0][1]
    got = _call(gru_step, v0, x[0], {k: v.copy() for k, v in params.items()})
    _compare("gru_step(...)", got, expected)
    print(f"✓ gru_step matches eqs. (9.30a-d) on a random batch (B={B}, N={N}, K={K}).")
