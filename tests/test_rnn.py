import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnbook import reference, rnn


def problem(T=5, B=3, N=4, K=2, seed=0):
    rng = np.random.default_rng(seed)
    return dict(x=rng.standard_normal((T, B, K)), w_vv=rng.standard_normal((N, N)) / np.sqrt(N),
                w_vx=rng.standard_normal((N, K)), theta_v=rng.standard_normal(N),
                v0=rng.standard_normal((B, N)))


def test_one_step_by_hand():
    # N = 1, K = 1: V(1) = tanh(w_vv V(0) + w_vx x(1) - theta)
    V, _ = rnn.rnn_forward(np.array([[[2.0]]]), np.array([[0.5]]), np.array([[-1.0]]),
                           np.array([0.25]), v0=np.array([[0.8]]))
    assert V.shape == (2, 1, 1)
    assert V[1, 0, 0] == pytest.approx(np.tanh(0.5 * 0.8 - 2.0 - 0.25), abs=1e-15)


def test_shapes_cache_and_initial_state():
    p = problem()
    V, cache = rnn.rnn_forward(**p)
    assert V.shape == (6, 3, 4) and cache["b"].shape == (5, 3, 4)
    np.testing.assert_array_equal(V[0], p["v0"])
    np.testing.assert_allclose(V[1:], np.tanh(cache["b"]), atol=0)
    V0, _ = rnn.rnn_forward(**{**p, "v0": None})
    np.testing.assert_array_equal(V0[0], 0.0)


@settings(max_examples=40, deadline=None)
@given(T=st.integers(1, 6), B=st.integers(1, 3), N=st.integers(1, 5), K=st.integers(1, 3),
       g=st.sampled_from(["tanh", "sigmoid", "relu", "linear"]), seed=st.integers(0, 2**16))
def test_forward_matches_torch_mirror(T, B, N, K, g, seed):
    p = problem(T, B, N, K, seed)
    V, _ = rnn.rnn_forward(**p, g=g)
    V_ref = reference.rnn_forward(*(reference.as_tensor(p[k]) for k in ("x", "w_vv", "w_vx", "theta_v", "v0")), g=g)
    np.testing.assert_allclose(V, V_ref.numpy(), rtol=1e-12, atol=1e-12)


def test_output_matches_torch_mirror():
    p = problem()
    rng = np.random.default_rng(1)
    w_ov, theta_o = rng.standard_normal((2, 4)), rng.standard_normal(2)
    V, _ = rnn.rnn_forward(**p)
    for g in ("linear", "sigmoid"):
        O, cache = rnn.output_forward(V, w_ov, theta_o, g=g)
        assert O.shape == (5, 3, 2) and cache["b"].shape == (5, 3, 2)
        O_ref = reference.output_forward(reference.as_tensor(V), reference.as_tensor(w_ov),
                                         reference.as_tensor(theta_o), g=g)
        np.testing.assert_allclose(O, O_ref.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_floating_outputs_keep_the_dtype_of_the_inputs(dtype):
    p = {k: v.astype(dtype) for k, v in problem().items()}
    w_vv, v0, theta_v = p["w_vv"], p["v0"], p["theta_v"]
    V = rnn.rnn_forward(**p)[0]
    # float32 cannot settle below its rounding, about 1e-7: a looser tol
    steady = dict(x=p["x"][0], w_vv=0.5 * w_vv, w_vx=p["w_vx"], theta_v=theta_v, tol=1e-5)
    out = {"rnn_forward": V, "rnn_forward, no v0": rnn.rnn_forward(**{**p, "v0": None})[0],
           "output_forward": rnn.output_forward(V, np.ones((2, 4), dtype), np.zeros(2, dtype))[0],
           "autonomous": rnn.autonomous(w_vv, v0, 3, theta_v=theta_v)[0],
           "autonomous, no theta_v": rnn.autonomous(w_vv, v0, 3)[0],
           "steady_state": rnn.steady_state(**steady, v0=v0)[0],
           "steady_state, no v0": rnn.steady_state(**steady)[0]}
    for name, a in zip(("w_vv", "w_vx", "theta_v"), rnn.random_weights(2, 4, 0.9, seed=0, dtype=dtype)):
        out[f"random_weights: {name}"] = a
    assert {k: a.dtype for k, a in out.items()} == {k: np.dtype(dtype) for k in out}
    # an initialiser makes float64 unless told otherwise; a measurement is float64 whatever its input
    assert {a.dtype for a in rnn.random_weights(2, 4, 0.9, seed=0)} == {np.dtype(np.float64)}
    assert rnn.lyapunov_exponent(w_vv, v0, T=5, transient=0, seed=0).dtype == np.float64


@pytest.mark.parametrize("change, message", [
    (dict(x=np.zeros((0, 3, 2))), "x: expected at least one time step"),
    (dict(w_vv=np.zeros((4, 5))), "w_vv: expected shape"),
    (dict(w_vx=np.zeros((4, 3))), "w_vx: expected shape"),
    (dict(theta_v=np.zeros(3)), "theta_v: expected shape"),
    (dict(v0=np.zeros((2, 4))), "v0: expected shape"),
    (dict(x=np.full((5, 3, 2), np.nan)), "x: contains NaN"),
    (dict(g="softplus"), "g: expected one of"),
])
def test_bad_input_names_the_argument(change, message):
    with pytest.raises(ValueError, match=message):
        rnn.rnn_forward(**{**problem(), **change})


def test_output_forward_rejects_bad_input():
    V = np.zeros((3, 2, 4))
    with pytest.raises(ValueError, match="w_ov: expected shape"):
        rnn.output_forward(V, np.zeros((2, 5)), np.zeros(2))
    with pytest.raises(ValueError, match="T >= 1"):
        rnn.output_forward(V[:1], np.zeros((2, 4)), np.zeros(2))


def test_autonomous_is_forward_with_zero_input():
    p = problem()
    V, _ = rnn.autonomous(p["w_vv"], p["v0"], 7, theta_v=p["theta_v"])
    V_ref, _ = rnn.rnn_forward(np.zeros((7, 3, 2)), p["w_vv"], p["w_vx"], p["theta_v"], v0=p["v0"])
    np.testing.assert_allclose(V, V_ref, atol=1e-15)
    with pytest.raises(ValueError, match="T: expected an integer >= 1"):
        rnn.autonomous(p["w_vv"], p["v0"], 0)


def test_steady_state_is_a_fixed_point():
    p = problem()
    x = p["x"][0]
    V_star, n_iter = rnn.steady_state(x, 0.5 * p["w_vv"], p["w_vx"], p["theta_v"])
    residual = np.tanh(V_star @ (0.5 * p["w_vv"]).T + x @ p["w_vx"].T - p["theta_v"]) - V_star
    assert np.max(np.abs(residual)) < 1e-11 and 1 < n_iter < 200


def test_one_unit_fixed_point_for_self_weight_above_one():
    V_star, _ = rnn.steady_state(np.zeros((1, 1)), np.array([[1.5]]), np.zeros((1, 1)), np.zeros(1),
                                 v0=np.array([[0.1]]))
    assert V_star[0, 0] == pytest.approx(0.8585596, abs=1e-6)   # the root of V = tanh(1.5 V)


def test_period_two_cycle_raises_a_named_error():
    # V = tanh(-1.5 V) flips sign every step: the fixed point 0 is unstable, there is no steady state
    with pytest.raises(rnn.FixedPointNotFound, match="no steady state after 500 iterations"):
        rnn.steady_state(np.zeros((1, 1)), np.array([[-1.5]]), np.zeros((1, 1)), np.zeros(1),
                         v0=np.array([[0.1]]), max_iter=500)


@pytest.mark.parametrize("kwargs, message", [(dict(tol=0), "tol"), (dict(max_iter=0), "max_iter")])
def test_steady_state_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rnn.steady_state(np.zeros((1, 1)), np.eye(1), np.eye(1), np.zeros(1), **kwargs)


def test_random_weights_spectral_radius_is_near_scale():
    w_vv, w_vx, theta_v = rnn.random_weights(3, 400, 0.7, seed=0)
    assert w_vv.shape == (400, 400) and w_vx.shape == (400, 3) and theta_v.shape == (400,)
    assert np.max(np.abs(np.linalg.eigvals(w_vv))) == pytest.approx(0.7, rel=0.05)
    np.testing.assert_array_equal(w_vv, rnn.random_weights(3, 400, 0.7, seed=0)[0])


def test_reference_is_differentiable():
    p = problem(T=3)
    w_vv = reference.as_tensor(p["w_vv"], requires_grad=True)
    V = reference.rnn_forward(reference.as_tensor(p["x"]), w_vv, reference.as_tensor(p["w_vx"]),
                              reference.as_tensor(p["theta_v"]))
    V[-1].sum().backward()
    assert w_vv.grad is not None and w_vv.grad.dtype == torch.float64


def test_lyapunov_exponent_is_ln_of_the_slope_for_one_unit():
    # V = tanh(w V) with |w| < 1 decays to 0, where a nudge shrinks by |w| per step
    lam = rnn.lyapunov_exponent(np.array([[0.6]]), np.array([[0.5], [-0.3]]), T=200, transient=100, seed=0)
    assert lam.shape == (2,)
    np.testing.assert_allclose(lam, np.log(0.6), atol=1e-6)
    # w = 2: at the stable fixed point V* the slope is w (1 - V*^2)
    v_star = rnn.steady_state(np.zeros((1, 1)), np.array([[2.0]]), np.zeros((1, 1)), np.zeros(1),
                              v0=np.array([[0.5]]))[0][0, 0]
    lam = rnn.lyapunov_exponent(np.array([[2.0]]), np.array([[0.5]]), T=100, seed=0)
    assert lam[0] == pytest.approx(np.log(2.0 * (1 - v_star**2)), abs=1e-9)


def test_lyapunov_exponent_tells_fading_cycles_and_chaos_apart():
    # a linear rotation by 30 degrees of modulus 1 neither shrinks nor grows a nudge
    phi = np.pi / 6
    rotation = np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]])
    lam = rnn.lyapunov_exponent(rotation, np.array([[0.3, 0.1]]), T=300, g="linear", seed=0)
    assert abs(lam[0]) < 1e-9
    # a large random tanh network is chaotic, but grows a nudge by far less than rho per step
    w_vv = rnn.random_weights(1, 64, 2.5, seed=0)[0]
    lam = rnn.lyapunov_exponent(w_vv, 0.5 * np.random.default_rng(1).standard_normal((2, 64)), T=400, seed=0)
    rho = np.max(np.abs(np.linalg.eigvals(w_vv)))
    assert np.all(lam > 0.05) and np.all(lam < 0.5 * np.log(rho))


def test_lyapunov_exponent_of_a_nilpotent_network_is_minus_infinity():
    shift = np.array([[0.0, 0.0], [1.0, 0.0]])
    assert rnn.lyapunov_exponent(shift, np.array([[1.0, 0.0]]), T=5, g="linear", seed=0)[0] == -np.inf


@pytest.mark.parametrize("kwargs, message", [
    (dict(w_vv=np.zeros((2, 3))), "w_vv: expected"), (dict(v0=np.zeros((1, 3))), "v0: expected shape"),
    (dict(T=0), "T: expected an integer"), (dict(transient=-1), "transient"),
    (dict(transient=1.5), "transient"), (dict(theta_v=np.zeros(3)), "theta_v: expected shape"),
    (dict(g="softplus"), "g: expected one of"),
])
def test_lyapunov_exponent_names_the_bad_argument(kwargs, message):
    args = {"w_vv": 0.5 * np.eye(2), "v0": np.ones((1, 2)), "T": 10, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        rnn.lyapunov_exponent(**args)


@pytest.mark.parametrize("call, message", [
    (lambda: rnn.random_weights(3, 2, 0.9, seed=2.5), "^seed: expected an integer seed >= 0"),
    (lambda: rnn.random_weights(3, 2, 0.9, seed=None), "^seed: expected an integer seed"),
    (lambda: rnn.random_weights(3, 2, float("nan"), seed=0), "^scale: expected a finite number >= 0"),
    (lambda: rnn.steady_state(np.ones((1, 2)), np.eye(3), np.ones((3, 2)), np.zeros(3),
                              tol=float("inf")), "^tol: expected a positive number"),
    (lambda: rnn.lyapunov_exponent(np.eye(2), np.ones((1, 2)), 5, seed=True), "^seed:"),
    (lambda: rnn.output_forward(np.zeros((3, 2, 4)), np.zeros((2, 4)), np.zeros(2), g=["tanh"]),
     "^g: expected a name"),
])
def test_seeds_tolerances_and_names_are_checked(call, message):
    with pytest.raises(ValueError, match=message):
        call()
