import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnbook import diagnostics, reference, rnn


def trajectory(T=6, B=2, N=4, K=2, g="tanh", seed=0, scale=1.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    p = dict(x=rng.standard_normal((T, B, K)), w_vv=scale * rng.standard_normal((N, N)) / np.sqrt(N),
             w_vx=rng.standard_normal((N, K)), theta_v=rng.standard_normal(N), v0=rng.standard_normal((B, N)))
    p = {k: v.astype(dtype) for k, v in p.items()}
    V, cache = rnn.rnn_forward(**p, g=g)
    return p, V, cache


def autograd_jacobian(p, V, s, t, g):
    """dV(t)/dV(s) by torch autograd in float64: run the torch mirror from V(s) over x(s+1..t)."""
    ref = {k: reference.as_tensor(p[k]) for k in ("x", "w_vv", "w_vx", "theta_v")}
    out = []
    for n in range(V.shape[1]):
        def v_t(v_s):
            x = ref["x"][s:t, n:n + 1]
            if t == s:
                return v_s
            return reference.rnn_forward(x, ref["w_vv"], ref["w_vx"], ref["theta_v"], v0=v_s[None], g=g)[-1, 0]
        out.append(torch.autograd.functional.jacobian(v_t, reference.as_tensor(V[s, n])).numpy())
    return np.stack(out)


@settings(max_examples=40, deadline=None)
@given(T=st.integers(1, 6), B=st.integers(1, 2), N=st.integers(1, 4), K=st.integers(1, 2),
       g=st.sampled_from(["tanh", "sigmoid", "linear"]), seed=st.integers(0, 2**16), data=st.data())
def test_jacobian_product_matches_autograd(T, B, N, K, g, seed, data):
    s = data.draw(st.integers(0, T))
    t = data.draw(st.integers(s, T))
    p, V, cache = trajectory(T, B, N, K, g, seed)
    J = diagnostics.jacobian_product(cache, s, t)
    J_ref = autograd_jacobian(p, V, s, t, g)
    assert J.shape == (B, N, N) and J.dtype == np.float64
    np.testing.assert_allclose(J, J_ref, rtol=1e-10, atol=1e-12)


def test_jacobian_over_no_steps_is_the_identity_and_over_one_step_is_D_w():
    p, V, cache = trajectory()
    np.testing.assert_array_equal(diagnostics.jacobian_product(cache, 3, 3), np.broadcast_to(np.eye(4), (2, 4, 4)))
    D = 1 - np.tanh(cache["b"][2]) ** 2
    np.testing.assert_allclose(diagnostics.jacobian_product(cache, 2, 3), D[:, :, None] * p["w_vv"], rtol=1e-14)


@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 6), B=st.integers(1, 3), N=st.integers(1, 4), K=st.integers(1, 3),
       g=st.sampled_from(["tanh", "sigmoid", "linear"]), seed=st.integers(0, 2**16))
def test_state_and_input_gradients_match_autograd(T, B, N, K, g, seed):
    p, V, cache = trajectory(T, B, N, K, g, seed)
    dV_T = np.random.default_rng(seed + 1).standard_normal((B, N))
    def L(t):                   # a loss with dL/dV(T) = dV_T
        V_ref = reference.rnn_forward(t["x"], t["w_vv"], t["w_vx"], t["theta_v"], v0=t["v0"], g=g)
        return (V_ref[-1] * reference.as_tensor(dV_T)).sum()
    _, ref = reference.autograd_gradients(L, p)
    dV = diagnostics.state_gradients(cache, dV_T)
    dx = diagnostics.input_gradients(cache, dV)
    assert dV.shape == (T + 1, B, N) and dx.shape == (T, B, K)
    np.testing.assert_allclose(dV[0], ref["v0"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, ref["x"], rtol=1e-10, atol=1e-12)
    # every row is the transposed Jacobian product applied to dL/dV(T), eq. (3.1)
    for s in range(T + 1):
        J = diagnostics.jacobian_product(cache, s, T)
        np.testing.assert_allclose(dV[s], np.einsum("bij,bi->bj", J, dV_T), rtol=1e-10, atol=1e-12)


def test_gradient_norms_are_indexed_by_lag():
    p, V, cache = trajectory(T=5, B=3)
    dV_T = np.ones((3, 4))
    dV = diagnostics.state_gradients(cache, dV_T)
    norms = diagnostics.gradient_norms(cache, dV_T)
    np.testing.assert_allclose(norms, np.linalg.norm(dV, axis=-1)[::-1], rtol=1e-15)
    assert norms[0] == pytest.approx(np.full(3, 2.0))           # lag 0: ||dL/dV(T)|| = ||(1, 1, 1, 1)||
    norms_x = diagnostics.gradient_norms(cache, dV_T, wrt="x")
    assert norms_x.shape == (5, 3)
    np.testing.assert_allclose(norms_x[0], np.linalg.norm(diagnostics.input_gradients(cache, dV)[-1], axis=-1))


def test_float32_trajectories_are_measured_in_float64():
    # a linear network with rho = 0.5: after 200 steps the gradient is 0.5**200 = 6e-61,
    # which float32 cannot represent (it would read 0) and float64 can
    w_vv = 0.5 * np.eye(3, dtype=np.float32)
    x = np.zeros((200, 1, 1), dtype=np.float32)
    _, cache = rnn.rnn_forward(x, w_vv, np.zeros((3, 1), np.float32), np.zeros(3, np.float32), g="linear")
    norms = diagnostics.gradient_norms(cache, np.array([[1.0, 0.0, 0.0]], dtype=np.float32))
    assert norms.dtype == np.float64
    assert norms[-1, 0] == pytest.approx(0.5 ** 200, rel=1e-12)
    assert np.float32(norms[-1, 0]) == 0.0


def test_norms_of_tiny_gradients_do_not_underflow():
    # 0.1**250 = 1e-250: squaring its entries would underflow, the norm itself does not
    _, cache = rnn.rnn_forward(np.zeros((250, 1, 1)), 0.1 * np.eye(3), np.zeros((3, 1)), np.zeros(3), g="linear")
    norms = diagnostics.gradient_norms(cache, np.array([[3.0, 4.0, 0.0]]))
    np.testing.assert_allclose(norms[:, 0], 5.0 * 0.1 ** np.arange(251), rtol=1e-12)


def linear_network_rate(w_vv, T=300, start=100, seed=0):
    N = w_vv.shape[0]
    x = np.random.default_rng(seed).standard_normal((T, 2, 1))
    _, cache = rnn.rnn_forward(x, w_vv, np.ones((N, 1)), np.zeros(N), g="linear")
    dV_T = np.random.default_rng(seed + 1).standard_normal((2, N))
    return diagnostics.decay_rate(diagnostics.gradient_norms(cache, dV_T), start=start)


def test_decay_rate_of_a_linear_network_is_its_spectral_radius_even_when_sigma_max_exceeds_one():
    # a non-normal matrix: eigenvalues 0.8 (the largest) and smaller ones, but sigma_max > 1
    rng = np.random.default_rng(7)
    P = rng.standard_normal((6, 6))
    w_vv = P @ np.diag([0.8, -0.4, 0.35, 0.3, -0.2, 0.1]) @ np.linalg.inv(P)
    assert diagnostics.singular_values(w_vv)[0] > 1.0
    assert diagnostics.spectral_radius(w_vv) == pytest.approx(0.8, abs=1e-12)
    assert abs(linear_network_rate(w_vv) - 0.8) < 1e-6


@pytest.mark.parametrize("rho", [0.3, 0.95, 1.2])
def test_decay_rate_of_a_scaled_rotation_is_rho(rho):
    # complex eigenvalues rho * exp(+-i phi): the norm is exactly rho**k, no transient
    phi = 0.7
    w_vv = rho * np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]])
    assert abs(linear_network_rate(w_vv, T=100, start=0) - rho) < 1e-6


def test_decay_rate_fits_a_geometric_sequence_and_averages_logs_over_the_batch():
    k = np.arange(30)
    assert diagnostics.decay_rate(3.0 * 0.7 ** k) == pytest.approx(0.7, rel=1e-12)
    batch = np.stack([2.0 * 0.7 ** k, 5.0 * 0.7 ** k], axis=1)
    assert diagnostics.decay_rate(batch, start=5, stop=20) == pytest.approx(0.7, rel=1e-12)
    assert diagnostics.decay_rate(1.1 ** k) == pytest.approx(1.1, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(N=st.integers(1, 5), g=st.sampled_from(["tanh", "sigmoid"]), seed=st.integers(0, 2**16),
       scale=st.floats(0.1, 3.0))
def test_the_bound_holds_on_every_trajectory(N, g, seed, scale):
    _, _, cache = trajectory(T=8, B=2, N=N, g=g, seed=seed, scale=scale)
    rate = diagnostics.bound_rate(cache["w_vv"], g)
    for lag in range(9):
        J = diagnostics.jacobian_product(cache, 8 - lag, 8)
        assert np.all(np.linalg.norm(J, ord=2, axis=(1, 2)) <= rate ** lag * (1 + 1e-12) + 1e-300)


@settings(max_examples=30, deadline=None)
@given(N=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_spectral_radius_never_exceeds_sigma_max(N, seed):
    w = np.random.default_rng(seed).standard_normal((N, N))
    sv = diagnostics.singular_values(w)
    assert np.all(np.diff(sv) <= 0) and sv[0] == pytest.approx(np.linalg.norm(w, 2), rel=1e-12)
    assert diagnostics.spectral_radius(w) <= sv[0] * (1 + 1e-12)


def test_bound_rate_uses_gamma():
    w = np.diag([2.0, -0.5])
    assert diagnostics.bound_rate(w, "tanh") == pytest.approx(2.0)
    assert diagnostics.bound_rate(w, "sigmoid") == pytest.approx(0.5)


def test_typical_rate_predicts_a_large_random_tanh_network():
    # the estimate of eq. (3.7) against the measured decay rate, for a driven network of 256 units
    N, T = 256, 120
    for scale in (0.5, 1.0, 1.5):
        w_vv, w_vx, theta_v = rnn.random_weights(1, N, scale, seed=3)
        x = np.random.default_rng(4).standard_normal((T, 4, 1))
        _, cache = rnn.rnn_forward(x, w_vv, w_vx, theta_v)
        dV_T = np.random.default_rng(5).standard_normal((4, N))
        measured = diagnostics.decay_rate(diagnostics.gradient_norms(cache, dV_T), start=10)
        assert measured == pytest.approx(diagnostics.typical_rate(cache), rel=0.04)


def test_typical_rate_of_a_linear_orthogonal_network_is_its_scale():
    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((5, 5)))[0]
    _, cache = rnn.rnn_forward(np.zeros((3, 1, 1)), 0.9 * Q, np.zeros((5, 1)), np.zeros(5), g="linear")
    assert diagnostics.typical_rate(cache) == pytest.approx(0.9, rel=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda c: diagnostics.jacobian_product(c, 3, 2), r"s, t: expected integers with 0 <= s <= t <= T = 6"),
    (lambda c: diagnostics.jacobian_product(c, 0, 7), r"0 <= s <= t <= T"),
    (lambda c: diagnostics.jacobian_product(c, -1, 2), r"0 <= s <= t <= T"),
    (lambda c: diagnostics.jacobian_product(c, 0.5, 2), r"expected integers"),
    (lambda c: diagnostics.jacobian_product({"b": 1}, 0, 1), "cache: expected the cache returned by rnn.rnn_forward"),
    (lambda c: diagnostics.state_gradients(c, np.zeros((2, 3))), r"dV_T: expected shape"),
    (lambda c: diagnostics.state_gradients(c, np.full((2, 4), np.nan)), "dV_T: contains NaN"),
    (lambda c: diagnostics.input_gradients(c, np.zeros((6, 2, 4))), r"dV: expected shape"),
    (lambda c: diagnostics.gradient_norms(c, np.zeros((2, 4)), wrt="w"), "wrt: expected one of"),
    (lambda c: diagnostics.decay_rate(np.array([1.0])), "at least two lags"),
    (lambda c: diagnostics.decay_rate(np.array([1.0, 0.5, 0.0])), "underflowed"),
    (lambda c: diagnostics.decay_rate(np.array([1.0, np.inf])), "not finite"),
    (lambda c: diagnostics.decay_rate(np.ones((2, 2, 2))), r"norms: expected shape \(L,\) or \(L, B\)"),
    (lambda c: diagnostics.spectral_radius(np.ones((2, 3))), "w: expected shape"),
    (lambda c: diagnostics.bound_rate(np.eye(2), "softsign"), "g: expected one of"),
    (lambda c: diagnostics.bound_rate(np.ones((2, 3)), "tanh"), "^w_vv: expected shape"),
    (lambda c: diagnostics.decay_rate(np.ones(5), start=[1]), "^start: expected an integer"),
    (lambda c: diagnostics.decay_rate(np.ones(5), stop=1.5), "^stop: expected an integer"),
    (lambda c: diagnostics.decay_rate(np.array([1.0, np.nan, 0.5])), "^norms: a norm in the fitted range"),
    (lambda c: diagnostics.decay_rate(np.array([1.0, 0.5, np.nan]), stop=1), r"^norms\[start:stop\]: expected"),
    (lambda c: diagnostics.typical_rate({**c, "b": c["b"][..., :3]}), r'^cache\["b"\]|^cache\["w_vv"\]'),
    (lambda c: diagnostics.input_gradients({k: v for k, v in c.items() if k != "w_vx"}, np.zeros((7, 2, 4))),
     r"^cache: .*missing \['w_vx'\]"),
])
def test_bad_input_is_rejected(call, message):
    _, _, cache = trajectory()
    with pytest.raises(ValueError, match=message):
        call(cache)


def test_an_overflowed_trajectory_is_measured_not_refused():
    # an exploding linear network overflows to inf: its cache is its honest record, and the
    # lags before the overflow can still be fitted
    with np.errstate(over="ignore", invalid="ignore"):
        _, cache = rnn.rnn_forward(np.ones((400, 1, 1)), 8.0 * np.eye(2), np.ones((2, 1)),
                                   np.zeros(2), g="linear")
        norms = diagnostics.gradient_norms(cache, np.ones((1, 2)))
    assert not np.isfinite(cache["b"][-1]).any() and not np.isfinite(norms[-1]).any()
    assert diagnostics.decay_rate(norms, stop=50) == pytest.approx(8.0, rel=1e-9)
