import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnbook import gradcheck, scan, ssm


def lru_problem(T=5, B=2, K=3, N=4, seed=0, **ring):
    rng = np.random.default_rng(seed + 1)
    params = ssm.lru_init(K, N, seed=seed, **ring)
    v0 = rng.standard_normal((B, N)) + 1j * rng.standard_normal((B, N))
    return rng.standard_normal((T, B, K)), params, v0


def selective_problem(T=5, B=2, K=3, N=4, seed=0):
    rng = np.random.default_rng(seed + 1)
    params = ssm.selective_init(K, N, seed=seed, dt_min=0.01, dt_max=1.0)
    return rng.standard_normal((T, B, K)), params, rng.standard_normal((B, K, N))


def max_rel_error(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


# ---------------------------------------------------------------- the LRU

@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 6), B=st.integers(1, 3), K=st.integers(1, 3), N=st.integers(1, 4),
       seed=st.integers(0, 2**16), zero_start=st.booleans())
def test_lru_forward_is_the_complex_loop(T, B, K, N, seed, zero_start):
    x, p, v0 = lru_problem(T, B, K, N, seed, r_min=0.3, r_max=0.99)
    v0 = None if zero_start else v0
    V, y = ssm.lru_forward(x, p, v0)
    assert V.shape == (T + 1, B, N) and V.dtype == np.complex128
    assert y.shape == (T, B, K) and y.dtype == np.float64
    # the paper's equations written out, one sequence and one unit at a time
    lam = np.exp(-np.exp(p["nu"]) + 1j * np.exp(p["phi"]))
    gamma = np.sqrt(1 - np.abs(lam) ** 2)
    for s in range(B):
        h = np.zeros(N, complex) if v0 is None else v0[s].copy()
        for t in range(T):
            h = np.array([lam[i] * h[i] + gamma[i] * sum(p["w_vx"][i, k] * x[t, s, k]
                                                         for k in range(K)) for i in range(N)])
            out = [sum(p["w_ov"][k, i] * h[i] for i in range(N)).real + p["w_ox"][k] * x[t, s, k]
                   for k in range(K)]
            np.testing.assert_allclose(V[t + 1, s], h, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(y[t, s], out, rtol=1e-12, atol=1e-14)
    # and the recurrence is the scan of (lambda, gamma w_vx x), by any bracketing
    b = gamma * (x @ p["w_vx"].T)
    a = np.broadcast_to(lam, b.shape)
    start = np.zeros((B, N), complex) if v0 is None else v0
    for f in (scan.sequential, scan.hillis_steele, scan.blelloch):
        assert max_rel_error(f(a, b, start), V) < 1e-12


@settings(max_examples=200, deadline=None)
@given(nu=st.floats(-36, 700), phi=st.floats(-30, 30))
def test_lambda_lies_inside_the_unit_circle(nu, phi):
    lam = ssm.lru_lambda(np.array([nu]), np.array([phi]))
    assert abs(lam[0]) < 1
    np.testing.assert_allclose(abs(lam[0]), math.exp(-math.exp(nu)), rtol=1e-13, atol=0)
    if abs(lam[0]) > 1e-100:     # its phase is exp(phi)
        np.testing.assert_allclose(np.exp(1j * np.angle(lam[0])), np.exp(1j * math.exp(phi)),
                                   rtol=0, atol=1e-9)


def test_lambda_rounds_to_one_only_below_the_documented_nu():
    lam = ssm.lru_lambda(np.array([-37.4, -37.5]), np.zeros(2))
    assert abs(lam[0]) < 1 and abs(lam[1]) == 1.0


def test_gamma_is_exact_near_the_unit_circle():
    nu = np.array([-3.0, 0.0, 2.0])
    lam = ssm.lru_lambda(nu, np.zeros(3))
    np.testing.assert_allclose(ssm.lru_gamma(nu), np.sqrt(1 - np.abs(lam) ** 2), rtol=1e-13)
    # |lambda| = 1 - 1e-13: 1 - |lambda|^2 cancels to 3 digits, -expm1 does not
    nu = np.array([math.log(1e-13)])
    exact = math.sqrt(2e-13 - 2e-26)                        # 1 - exp(-2e-13) to 1e-39
    assert abs(ssm.lru_gamma(nu)[0] / exact - 1) < 1e-15
    naive = math.sqrt(1 - abs(ssm.lru_lambda(nu, np.zeros(1))[0]) ** 2)
    assert abs(naive / exact - 1) > 1e-5


def test_gamma_keeps_the_state_variance_at_the_input_variance():
    # white noise u(t) = w_vx x(t), E|u_i|^2 = s_i^2 = sum_k |w_ik|^2: then E|V_i(t)|^2 =
    # gamma_i^2 s_i^2 sum_{j<t} |lambda_i|^(2j) = s_i^2 (1 - |lambda_i|^(2t)), exactly. The mean
    # of |V_i(T)|^2 over B = 2000 independent sequences has relative standard deviation at most
    # sqrt(2 / B) = 3.2% (|V|^2 of a Gaussian V has variance <= 2 (E|V|^2)^2): 5 of those, 16%,
    # is a tolerance that one of 16 units fails by chance with probability < 1e-5. Without gamma
    # E|V|^2 = s^2 / (1 - |lambda|^2) >= 1.33 s^2 for |lambda| >= 0.5: the test would see it.
    T, B, K, N = 200, 2000, 4, 16
    x, p, _ = lru_problem(T, B, K, N, seed=7, r_min=0.5, r_max=0.95)
    V, _ = ssm.lru_forward(x, p)
    s2 = np.sum(np.abs(p["w_vx"]) ** 2, axis=1)
    r2 = np.abs(ssm.lru_lambda(p["nu"], p["phi"])) ** 2
    ratio = np.mean(np.abs(V[-1]) ** 2, axis=0) / (s2 * (1 - r2 ** T))
    assert np.all(np.abs(ratio - 1) < 5 * math.sqrt(2 / B)), ratio
    assert np.all(1 / (1 - r2) > 1 + 5 * math.sqrt(2 / B))   # the unnormalised variance


@pytest.mark.parametrize("k", [0, 1, 5, 17])
def test_lag_gradient_is_the_derivative_of_the_forward_pass(k):
    # |dV_i(t)/dV_i(t-k)| by central differences of the forward pass restarted at V(t-k),
    # with respect to the real part of that state: its derivative is lambda^k, complex
    x, p, v0 = lru_problem(T=20, B=1, K=2, N=4, seed=2, r_min=0.6, r_max=0.99)
    V, _ = ssm.lru_forward(x, p, v0)
    t = 20

    def part(i, f):
        def h(q):
            return f(ssm.lru_forward(x[t - k:t], p, q["v"] + 1j * V[t - k].imag)[0][-1, 0, i])
        return h

    numeric = np.zeros(4, complex)
    for i in range(4):
        grads = [gradcheck.numerical_gradients(part(i, f), {"v": V[t - k].real})["v"][0, i]
                 for f in (np.real, np.imag)] if k else [1.0, 0.0]
        numeric[i] = grads[0] + 1j * grads[1]
    exact = ssm.lru_lag_gradient(p["nu"], [k])[0]
    np.testing.assert_allclose(np.abs(numeric), exact, rtol=1e-8, atol=1e-12)
    lam = ssm.lru_lambda(p["nu"], p["phi"])
    np.testing.assert_allclose(exact, np.abs(np.prod([lam] * k, axis=0)), rtol=1e-13)


def test_lru_init_draws_the_ring():
    p = ssm.lru_init(64, 20000, seed=0, r_min=0.4, r_max=0.9, max_phase=math.pi / 10)
    r = np.abs(ssm.lru_lambda(p["nu"], p["phi"]))
    phase = np.exp(p["phi"])
    assert r.min() >= 0.4 and r.max() <= 0.9 and phase.min() >= 0 and phase.max() < math.pi / 10
    # |lambda|^2 uniform on [0.16, 0.81], i.e. uniform on the ring's area: its median is 0.485
    # (a uniform |lambda| would give 0.4225); 20000 draws: standard error of the fraction 0.0035
    assert abs(np.mean(r ** 2 < 0.485) - 0.5) < 0.02
    assert abs(np.mean(r ** 2 < 0.4225) - 0.5) > 0.05
    # E|w_vx|^2 = 1/K, E|w_ov|^2 = 2/N (the paper's 1/sqrt(2 K) and 1/sqrt(N) per part)
    assert abs(np.mean(np.abs(p["w_vx"]) ** 2) * 64 - 1) < 0.02
    assert abs(np.mean(np.abs(p["w_ov"]) ** 2) * 20000 / 2 - 1) < 0.02
    assert p["w_vx"].shape == (20000, 64) and p["w_ov"].shape == (64, 20000)
    assert p["w_ox"].shape == (64,)
    np.testing.assert_array_equal(ssm.lru_init(64, 20000, seed=0, r_min=0.4, r_max=0.9,
                                               max_phase=math.pi / 10)["nu"], p["nu"])


# ---------------------------------------------------------------- zero-order hold

def test_zoh_is_the_integral_of_the_continuous_system():
    # b_bar = int_0^Delta exp(A s) ds B = (exp(Delta A) - 1) / A * B for A != 0
    rng = np.random.default_rng(0)
    delta, A, B = rng.uniform(0.01, 2, 50), -rng.uniform(0.1, 5, 50), rng.standard_normal(50)
    a_bar, b_bar = ssm.zoh(delta, A, B)
    np.testing.assert_allclose(a_bar, np.exp(delta * A), rtol=1e-15)
    np.testing.assert_allclose(b_bar, (np.exp(delta * A) - 1) / A * B, rtol=1e-13)
    # Mamba's code takes Delta B (Euler): not small for these Delta A ...
    assert np.max(np.abs(delta * B - b_bar)) > 0.1
    # ... the same to first order in Delta A, off by Delta^2 A B / 2 (+ O(Delta^3 A^2 B))
    small = delta / 100
    error = small * B - ssm.zoh(small, A, B)[1]
    np.testing.assert_allclose(error, -small ** 2 * A * B / 2, rtol=0.04)


def test_zoh_limits_are_finite_and_exact():
    delta = np.array([0.0, 1e-300, 1e-12, 0.3, 0.0])
    A = np.array([-1.0, -1.0, -2.0, 0.0, 0.0])
    B = np.array([1.5, -2.0, 3.0, 0.5, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Delta -> 0 and A -> 0: b_bar -> Delta B, without 0 / 0
        a_bar, b_bar = ssm.zoh(delta, A, B)
    np.testing.assert_array_equal(a_bar, [1.0, 1.0, math.exp(-2e-12), 1.0, 1.0])
    assert a_bar[2] < 1
    np.testing.assert_array_equal(b_bar[[0, 1, 3, 4]], [0.0, -2e-300, 0.15, 0.0])
    np.testing.assert_allclose(b_bar[2], 3e-12 * (1 - 1e-12), rtol=1e-15)
    # small Delta A: (e^u - 1) / u against its series, truncated after u^4 / 120 (error < 2e-18)
    u = -np.logspace(-8, -3, 11)
    series = 1 + u / 2 + u ** 2 / 6 + u ** 3 / 24 + u ** 4 / 120
    np.testing.assert_allclose(ssm.zoh(np.ones(11), u, np.ones(11))[1], series, rtol=1e-15)


# ---------------------------------------------------------------- Mamba's selective update

def selective_loop(x, p, v0):
    """Mamba's recurrence one channel k and one state n at a time (its selective_scan_ref,
    with the zero-order hold of the paper's eq. (4) for B)."""
    T, B, K = x.shape
    N = p["A"].shape[1]
    V = np.zeros((T + 1, B, K, N))
    V[0] = v0
    y = np.zeros((T, B, K))
    for t in range(T):
        for s in range(B):
            Bt = p["w_bx"] @ x[t, s] - p["theta_b"]
            Ct = p["w_cx"] @ x[t, s] - p["theta_c"]
            for k in range(K):
                delta = math.log1p(math.exp(p["w_dx"][k] @ x[t, s] - p["theta_d"][k]))
                for n in range(N):
                    dA = delta * p["A"][k, n]
                    V[t + 1, s, k, n] = (math.exp(dA) * V[t, s, k, n]
                                         + (math.exp(dA) - 1) / dA * delta * Bt[n] * x[t, s, k])
                y[t, s, k] = Ct @ V[t + 1, s, k] + p["w_ox"][k] * x[t, s, k]
    return V, y


@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 5), B=st.integers(1, 2), K=st.integers(1, 3), N=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_selective_forward_is_mambas_loop_and_the_step(T, B, K, N, seed):
    x, p, v0 = selective_problem(T, B, K, N, seed)
    V, y = ssm.selective_forward(x, p, v0)
    V_ref, y_ref = selective_loop(x, p, v0)
    assert V.shape == (T + 1, B, K, N) and y.shape == (T, B, K)
    assert max_rel_error(V, V_ref) < 1e-12 and max_rel_error(y, y_ref) < 1e-12
    v = v0
    for t in range(T):
        v, y_t = ssm.selective_step(v, x[t], p)
        np.testing.assert_allclose(v, V[t + 1], rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(y_t, y[t], rtol=1e-14, atol=1e-15)
    V0, _ = ssm.selective_forward(x, p)
    assert max_rel_error(V0, selective_loop(x, p, np.zeros_like(v0))[0]) < 1e-12


@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 30), B=st.integers(1, 3), w=st.floats(-3, 3), theta=st.floats(-3, 3),
       seed=st.integers(0, 2**16))
def test_theorem1_the_selective_update_is_a_mingru_step(T, B, w, theta, seed):
    # N = K = 1, A = -1, B = 1 (w_bx = 0, theta_b = -1), C = 1, no skip: Delta = softplus(s),
    # s = w x - theta, and V(t) = z V(t-1) + (1 - z) x(t) with z = theorem1_gate(s)
    rng = np.random.default_rng(seed)
    x, v0 = rng.standard_normal((T, B, 1)), rng.standard_normal((B, 1, 1))
    one, zero = np.ones((1, 1)), np.zeros((1, 1))
    p = {"A": -one, "w_dx": w * one, "theta_d": np.array([theta]), "w_bx": zero,
         "theta_b": -one[0], "w_cx": zero, "theta_c": -one[0], "w_ox": zero[0]}
    V, y = ssm.selective_forward(x, p, v0)
    z = ssm.theorem1_gate(w * x - theta)
    expected = scan.sequential(z, (1 - z) * x, v0[..., 0])
    np.testing.assert_allclose(V[..., 0], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, expected[1:], rtol=1e-12, atol=1e-12)
    # z is sigma(-s) = exp(-Delta) = a_bar; Mamba's Euler B would give Delta x, not (1 - z) x
    delta = ssm.softplus(w * x - theta)
    np.testing.assert_allclose(z, 1 / (1 + np.exp(w * x - theta)), rtol=1e-14)
    np.testing.assert_allclose(z, np.exp(-delta), rtol=1e-13)
    euler = scan.sequential(z, delta * x, v0[..., 0])
    assert np.max(np.abs(euler - expected)) > 1e-3 * np.max(np.abs(expected))


def test_theorem1_gate_and_softplus_do_not_overflow():
    s = np.array([-800.0, -30.0, 0.0, 30.0, 800.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z, sp = ssm.theorem1_gate(s), ssm.softplus(s)
    np.testing.assert_allclose(z, [1.0, 1 - 1e-13, 0.5, math.exp(-30), 0.0], rtol=1e-12,
                               atol=1e-300)
    np.testing.assert_allclose(sp, [0.0, math.exp(-30), math.log(2), 30.0, 800.0], rtol=1e-12,
                               atol=1e-300)


def test_selective_init_follows_mamba():
    p = ssm.selective_init(8, 5, seed=0, dt_min=1e-3, dt_max=1e-1)
    assert {k: v.shape for k, v in p.items()} == {
        "A": (8, 5), "w_dx": (8, 8), "theta_d": (8,), "w_bx": (5, 8), "theta_b": (5,),
        "w_cx": (5, 8), "theta_c": (5,), "w_ox": (8,)}
    np.testing.assert_array_equal(p["A"][3], [-1, -2, -3, -4, -5])
    dt = ssm.softplus(-p["theta_d"])                 # Delta at x = 0
    assert dt.min() >= 1e-3 * (1 - 1e-12) and dt.max() <= 1e-1 * (1 + 1e-12)
    assert np.all(np.abs(p["w_bx"]) <= 1 / math.sqrt(8)) and np.all(p["w_ox"] == 1)
    np.testing.assert_array_equal(ssm.selective_init(8, 5, seed=0)["w_cx"], p["w_cx"])


# ---------------------------------------------------------------- dtypes and bad input

def test_float32_stays_float32():
    x, p, v0 = lru_problem()
    p32 = ssm.lru_init(3, 4, seed=0, dtype=np.float32)
    assert {k: v.dtype for k, v in p32.items()} == {
        "nu": np.float32, "phi": np.float32, "w_vx": np.complex64, "w_ov": np.complex64,
        "w_ox": np.float32}
    V, y = ssm.lru_forward(x.astype(np.float32), p32)
    assert (V.dtype, y.dtype) == (np.complex64, np.float32)
    V64, _ = ssm.lru_forward(x, p32)                  # float64 x promotes, as numpy does
    assert V64.dtype == np.complex128
    assert ssm.lru_lambda(p32["nu"], p32["phi"]).dtype == np.complex64
    assert ssm.lru_gamma(p32["nu"]).dtype == np.float32
    x, q, v0 = selective_problem()
    q32 = {k: v.astype(np.float32) for k, v in q.items()}
    V, y = ssm.selective_forward(x.astype(np.float32), q32)
    assert (V.dtype, y.dtype) == (np.float32, np.float32)
    v, y_t = ssm.selective_step(v0.astype(np.float32), x[0].astype(np.float32), q32)
    assert (v.dtype, y_t.dtype) == (np.float32, np.float32)
    s = np.ones(3, np.float32)
    assert {ssm.softplus(s).dtype, ssm.theorem1_gate(s).dtype} == {np.dtype(np.float32)}
    assert {u.dtype for u in ssm.zoh(s, -s, s)} == {np.dtype(np.float32)}
    assert {v.dtype for v in ssm.selective_init(2, 3, seed=0, dtype=np.float32).values()} == {
        np.dtype(np.float32)}


def _without(d, key):
    return {k: v for k, v in d.items() if k != key}


@pytest.mark.parametrize("change, message", [
    (lambda x, p, v0: (x[:0], p, v0), "^x: expected at least one time step"),
    (lambda x, p, v0: (x, _without(p, "nu"), v0), r"^params: expected a dict .*missing \['nu'\]"),
    (lambda x, p, v0: (x, {**p, "w_vx": p["w_vx"][:, :2]}, v0), r'^params\["w_vx"\]: expected'),
    (lambda x, p, v0: (x, {**p, "nu": p["nu"] + 0j}, v0), r'^params\["nu"\]: expected real'),
    (lambda x, p, v0: (x, {**p, "w_ov": p["w_ov"] * np.nan}, v0), r'^params\["w_ov"\]: contains'),
    (lambda x, p, v0: (x, p, v0[:, :3]), r"^v0: expected shape \(B, N\)"),
    (lambda x, p, v0: (x + 0j, p, v0), "^x: expected real numbers"),
    (lambda x, p, v0: (x, "params", v0), "^params: expected a dict"),
])
def test_lru_forward_names_the_bad_argument(change, message):
    with pytest.raises(ValueError, match=message):
        ssm.lru_forward(*change(*lru_problem()))


@pytest.mark.parametrize("call, message", [
    (lambda: ssm.lru_lambda(np.zeros(3), np.zeros(4)), r"^phi: expected shape \(N,\) = \(3,\)"),
    (lambda: ssm.lru_lambda(np.zeros((3, 1)), np.zeros(3)), "^nu: expected 1 axes"),
    (lambda: ssm.lru_gamma([np.nan]), "^nu: contains NaN"),
    (lambda: ssm.lru_lag_gradient(np.zeros(3), [1, -1]), "^lags: expected whole numbers >= 0"),
    (lambda: ssm.lru_lag_gradient(np.zeros(3), [0.5]), "^lags: expected whole numbers"),
    (lambda: ssm.lru_lag_gradient(np.zeros(3), []), r"^lags: expected L >= 1"),
    (lambda: ssm.lru_init(0, 3, seed=0), "^K: expected an integer >= 1"),
    (lambda: ssm.lru_init(2, 3, seed=None), "^seed: expected an integer seed"),
    (lambda: ssm.lru_init(2, 3, seed=0, r_min=0.5, r_max=0.4), "^r_max: expected a number in"),
    (lambda: ssm.lru_init(2, 3, seed=0, r_min=1.0), r"^r_min: expected a number in \[0, 1\)"),
    (lambda: ssm.lru_init(2, 3, seed=0, r_max=1.5), "^r_max: expected a number in"),
    (lambda: ssm.lru_init(2, 3, seed=0, max_phase=0.0), "^max_phase: expected a number in"),
    (lambda: ssm.lru_init(2, 3, seed=0, dtype=int), "^dtype: expected float32 or float64"),
    (lambda: ssm.zoh(-np.ones(2), -np.ones(2), np.ones(2)), "^delta: expected step sizes >= 0"),
    (lambda: ssm.zoh(np.ones(2), np.ones(2), np.ones(2)), "^A: expected entries <= 0"),
    (lambda: ssm.zoh(np.ones(2), -np.ones(2), np.ones(3)), "^B: expected a shape that broadcasts"),
    (lambda: ssm.zoh(np.ones(2), None, np.ones(2)), "^A: expected an array"),
    (lambda: ssm.softplus("s"), "^s: expected an array"),
    (lambda: ssm.theorem1_gate([np.inf]), "^s: contains NaN or inf"),
    (lambda: ssm.selective_init(2, 0, seed=0), "^N: expected an integer >= 1"),
    (lambda: ssm.selective_init(2, 3, seed=0, dt_min=0.0), "^dt_min: expected a finite number >"),
    (lambda: ssm.selective_init(2, 3, seed=0, dt_min=0.1, dt_max=0.01), "^dt_max: expected"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("change, message", [
    (lambda x, p, v0: (x, {**p, "A": -p["A"]}, v0), r'^params\["A"\]: expected entries <= 0'),
    (lambda x, p, v0: (x, _without(p, "theta_b"), v0), r"^params: .*missing \['theta_b'\]"),
    (lambda x, p, v0: (x, {**p, "w_bx": p["w_bx"].T}, v0), r'^params\["w_bx"\]: expected shape'),
    (lambda x, p, v0: (x[..., :2], p, v0), r'^params\["A"\]: expected shape'),
    (lambda x, p, v0: (x, p, v0[..., :2]), r"^v0: expected shape \(B, K, N\)"),
    (lambda x, p, v0: (x, p, v0[0]), "^v0: expected 3 axes"),
    (lambda x, p, v0: (x * np.nan, p, v0), "^x: contains NaN"),
])
def test_selective_forward_names_the_bad_argument(change, message):
    with pytest.raises(ValueError, match=message):
        ssm.selective_forward(*change(*selective_problem()))


@pytest.mark.parametrize("change, message", [
    (lambda v, x, p: (v[..., :2], x, p), "^params"),
    (lambda v, x, p: (v[:1], x, p), r"^x_t: expected shape \(B, K\)"),
    (lambda v, x, p: (v, x[:, :2], p), r"^x_t: expected shape \(B, K\)"),
    (lambda v, x, p: (v[0], x, p), "^v: expected 3 axes"),
    (lambda v, x, p: (v, x, [p]), "^params: expected a dict"),
])
def test_selective_step_names_the_bad_argument(change, message):
    x, p, v0 = selective_problem()
    with pytest.raises(ValueError, match=message):
        ssm.selective_step(*change(v0, x[0], p))
