import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rnnbook import activations, gradcheck, gru, mingru, reference


def problem(T=4, B=3, N=5, K=2, seed=0, scale=0.8):
    rng = np.random.default_rng(seed)
    params = mingru.init_params(K, N, seed=seed, scale=scale)
    return rng.standard_normal((T, B, K)), params, rng.standard_normal((B, N))


def loss_weights(T, B, N, seed=1):
    """dH/dV for H = sum_t sum_i R_i(t) V_i(t): random, including t = 0."""
    return np.random.default_rng(seed).standard_normal((T + 1, B, N))


def tensors(params):
    return {k: reference.as_tensor(v) for k, v in params.items()}


def autograd(x, params, v0, R, g="tanh"):
    """V and the gradients of H = sum_t R(t) . V(t) for every parameter, x and v0, by the oracle."""
    def H(t):
        V = reference.mingru_forward(t["x"], {k: t[k] for k in params}, t["v0"], g=g)
        return (V * reference.as_tensor(R)).sum()
    _, grads = reference.autograd_gradients(H, {**params, "x": x, "v0": v0})
    V = reference.mingru_forward(reference.as_tensor(x), tensors(params), reference.as_tensor(v0), g=g)
    return V.numpy(), grads


def max_rel_error(a, b):
    return gradcheck.relative_error(a, b)


@pytest.mark.parametrize("g", ["tanh", "positive"])
def test_forward_is_the_torch_mirror_and_the_loop_of_the_gates(g):
    x, params, v0 = problem()
    V, cache = mingru.mingru_forward(x, params, v0, g=g)
    V_ref, _ = autograd(x, params, v0, loss_weights(4, 3, 5), g)
    # to the last bit but one: torch's matmul, exp and tanh round differently from numpy's
    np.testing.assert_allclose(V, V_ref, rtol=0, atol=4e-16)
    z, h = mingru.gates(x, params, g=g)
    np.testing.assert_array_equal(cache["z"], z)
    np.testing.assert_array_equal(cache["h"], h)
    # (9.30d) by hand, one unit at one time step: z keeps the old state
    assert V[3, 1, 2] == z[2, 1, 2] * V[2, 1, 2] + (1 - z[2, 1, 2]) * h[2, 1, 2]
    np.testing.assert_array_equal(V[0], v0)


@pytest.mark.parametrize("g", ["tanh", "positive"])
def test_backward_and_rtrl_match_autograd(g):
    x, params, v0 = problem()
    R = loss_weights(4, 3, 5)
    V, cache = mingru.mingru_forward(x, params, v0, g=g)
    grads = mingru.mingru_backward(R, cache)
    online = mingru.rtrl_gradients(x, params, R, v0, g=g)
    _, grads_ref = autograd(x, params, v0, R, g)
    # the total dH/dV(t): at t = 0 it is dH/dV(0); at t = T only the direct term remains
    np.testing.assert_array_equal(grads.pop("V")[[0, -1]], [grads["v0"], R[-1]])
    assert set(grads) == set(grads_ref) == set(mingru.PARAMS) | {"x", "v0"}
    assert set(online) == set(mingru.PARAMS) | {"v0"}
    for name in grads:
        assert max_rel_error(grads[name], grads_ref[name]) < 1e-10, name
    for name in online:
        assert max_rel_error(online[name], grads[name]) < 1e-12, name
        assert max_rel_error(online[name], grads_ref[name]) < 1e-10, name


@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 6), B=st.integers(1, 3), N=st.integers(1, 4), K=st.integers(1, 3),
       g=st.sampled_from(sorted(activations.ACTIVATIONS)), seed=st.integers(0, 2**16))
@example(T=1, B=1, N=1, K=1, g="tanh", seed=0)
@example(T=1, B=2, N=3, K=2, g="positive", seed=1)
def test_rtrl_equals_backward_equals_autograd_on_random_shapes(T, B, N, K, g, seed):
    x, params, v0 = problem(T, B, N, K, seed, scale=1.5)
    R = loss_weights(T, B, N, seed + 1)
    V, cache = mingru.mingru_forward(x, params, v0, g=g)
    grads = mingru.mingru_backward(R, cache)
    online = mingru.rtrl_gradients(x, params, R, v0, g=g)
    V_ref, grads_ref = autograd(x, params, v0, R, g)
    np.testing.assert_allclose(V, V_ref, rtol=0, atol=1e-15)
    for name in grads_ref:
        assert max_rel_error(grads[name], grads_ref[name]) < 1e-10, name
    for name in online:
        assert max_rel_error(online[name], grads_ref[name]) < 1e-10, name


def test_backward_and_rtrl_match_finite_differences():
    x, params, v0 = problem(T=3, B=2, N=3, K=2, seed=3)
    R = loss_weights(3, 2, 3, seed=4)

    def H(q):
        V, _ = mingru.mingru_forward(q["x"], {k: q[k] for k in mingru.PARAMS}, q["v0"])
        return np.sum(V * R)

    grads = mingru.mingru_backward(R, mingru.mingru_forward(x, params, v0)[1])
    grads.pop("V")
    errors = gradcheck.gradient_check(H, {**params, "x": x, "v0": v0}, grads)
    assert max(errors.values()) < 1e-8, errors
    online = mingru.rtrl_gradients(x, params, R, v0)
    errors = gradcheck.gradient_check(H, {**params, "x": x, "v0": v0}, online)
    assert max(errors.values()) < 1e-8, errors


def paper_forward(x, paper, h0, g):
    """Feng et al.'s minGRU as they write it: h_t = (1 - z_t) h_{t-1} + z_t h~_t, with their z."""
    act = activations.get(g).g
    h = [h0]
    for x_t in x:
        z_t = 1 / (1 + np.exp(-(x_t @ paper["W_z"].T + paper["b_z"])))
        h_tilde = act(x_t @ paper["W_h"].T + paper["b_h"])
        h.append((1 - z_t) * h[-1] + z_t * h_tilde)
    return np.stack(h)


@pytest.mark.parametrize("g", ["linear", "positive"])
def test_the_papers_convention_is_ours_with_the_gate_flipped(g):
    x, _, v0 = problem(T=6)
    rng = np.random.default_rng(5)
    paper = {"W_z": rng.standard_normal((5, 2)), "b_z": rng.standard_normal(5),
             "W_h": rng.standard_normal((5, 2)), "b_h": rng.standard_normal(5)}
    # by hand: the gate's pre-activation changes sign (1 - sigma(a) = sigma(-a)), and a
    # threshold is a bias subtracted
    ours = {"w_zx": -paper["W_z"], "theta_z": paper["b_z"], "w_hx": paper["W_h"],
            "theta_h": -paper["b_h"]}
    converted = mingru.from_paper(paper)
    assert set(converted) == set(mingru.PARAMS)
    for name in mingru.PARAMS:
        np.testing.assert_array_equal(converted[name], ours[name])
    V, cache = mingru.mingru_forward(x, ours, v0, g=g)
    np.testing.assert_allclose(V, paper_forward(x, paper, v0, g), rtol=0, atol=1e-13)
    # without the flip the two conventions differ: their z is not ours
    V_unflipped, _ = mingru.mingru_forward(x, {**ours, "w_zx": paper["W_z"], "theta_z": -paper["b_z"]},
                                           v0, g=g)
    assert np.max(np.abs(V_unflipped - V)) > 0.1
    back = mingru.to_paper(converted)
    assert all(np.array_equal(back[k], paper[k]) for k in paper) and set(back) == set(paper)
    assert back["b_z"] is not converted["theta_z"]      # new arrays, not views


def test_lag_products_are_the_state_jacobian():
    T, B, N = 6, 2, 3
    x, params, v0 = problem(T=T, B=B, N=N, K=2)
    V, cache = mingru.mingru_forward(x, params, v0)
    lags = mingru.lag_products(cache["z"], T)
    assert lags.shape == (T + 1, B, N)
    np.testing.assert_array_equal(lags[0], np.ones((B, N)))
    tp = tensors(params)
    for k in range(1, T + 1):
        # restart the recurrence at V(T-k): the Jacobian of V(T) with respect to it
        def final_state(start):
            return reference.mingru_forward(reference.as_tensor(x[T - k:]), tp, start)[-1]
        jac = torch.autograd.functional.jacobian(final_state, reference.as_tensor(V[T - k])).numpy()
        jac = jac.reshape(B * N, B * N)
        np.testing.assert_allclose(np.diag(jac), lags[k].ravel(), rtol=1e-13, atol=0)
        np.testing.assert_array_equal(jac - np.diag(np.diag(jac)), 0.0)    # diagonal: exactly
    # and at an earlier t: the last entry is the product of z(1..t)
    np.testing.assert_allclose(mingru.lag_products(cache["z"], 3)[-1], np.prod(cache["z"][:3], axis=0),
                               rtol=1e-15)
    assert mingru.lag_products(cache["z"], 0).shape == (1, B, N)


def test_total_state_gradient_is_the_lag_products_times_the_direct_terms():
    # Delta(s) = sum over t >= s of dV_i(t)/dV_i(s) dV(t): the backward scan, summed out
    T = 7
    x, params, v0 = problem(T=T)
    R = loss_weights(T, 3, 5)
    _, cache = mingru.mingru_forward(x, params, v0)
    Delta = mingru.mingru_backward(R, cache)["V"]
    for s in range(T + 1):
        direct = sum(mingru.lag_products(cache["z"], t)[t - s] * R[t] for t in range(s, T + 1))
        np.testing.assert_allclose(Delta[s], direct, rtol=1e-12, atol=1e-14)


def test_z_one_keeps_the_state_and_z_zero_is_the_candidate():
    x, params, v0 = problem(T=5)
    keep = {**params, "w_zx": np.zeros((5, 2)), "theta_z": np.full(5, -50.0)}
    V, cache = mingru.mingru_forward(x, keep, v0)
    assert np.all(cache["z"] == 1.0)
    np.testing.assert_array_equal(V[-1], v0)
    np.testing.assert_array_equal(mingru.lag_products(cache["z"], 5), np.ones((6, 3, 5)))
    forget = {**params, "w_zx": np.zeros((5, 2)), "theta_z": np.full(5, 50.0)}
    V, cache = mingru.mingru_forward(x, forget, v0)
    np.testing.assert_allclose(V[1:], np.tanh(x @ params["w_hx"].T - params["theta_h"]),
                               rtol=0, atol=1e-15)


def test_positive_candidate_keeps_a_positive_state():
    # h > 0 and a positive start: every V(t) is a convex mixture of positives (the log-space form)
    x, params, _ = problem(T=20, scale=3.0)
    V, cache = mingru.mingru_forward(x, params, np.full((3, 5), 0.5), g="positive")
    assert np.all(cache["h"] > 0) and np.all(V > 0)
    assert np.any(cache["h"] > 1) and np.any(cache["h"] < 0.5)     # both branches of g used


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_floating_outputs_keep_the_dtype_of_the_inputs(dtype):
    params = mingru.init_params(2, 5, seed=0, dtype=dtype)
    out = {f"init_params: {k}": a for k, a in params.items()}
    x, _, v0 = problem()
    x = x.astype(dtype)
    for start in (v0.astype(dtype), None):
        V, cache = mingru.mingru_forward(x, params, start, g="positive")
        out[f"mingru_forward, v0 {start is not None}"] = V
        grads = mingru.mingru_backward(np.ones_like(V), cache)
        out.update({f"mingru_backward, v0 {start is not None}: {k}": g for k, g in grads.items()})
        online = mingru.rtrl_gradients(x, params, np.ones_like(V), start, g="positive")
        out.update({f"rtrl_gradients, v0 {start is not None}: {k}": g for k, g in online.items()})
    out.update(zip(("gates: z", "gates: h"), mingru.gates(x, params)))
    out.update({f"from_paper: {k}": a for k, a in mingru.from_paper(mingru.to_paper(params)).items()})
    assert {k: a.dtype for k, a in out.items()} == {k: np.dtype(dtype) for k in out}
    # a measurement: the lag products answer in float64 (float32 would underflow to zero)
    assert mingru.lag_products(cache["z"], 4).dtype == np.float64
    assert mingru.lag_products(np.full((200, 1, 1), 0.5, np.float32), 200)[-1, 0, 0] == 0.5 ** 200


def test_init_params_follows_the_gru_and_raises_the_update_bias():
    p = mingru.init_params(3, 16, seed=0, z_bias=2.0)
    assert list(p) == list(mingru.PARAMS)
    assert p["w_zx"].shape == (16, 3) and p["theta_h"].shape == (16,)
    assert all(np.all(np.abs(a) <= 0.25) for k, a in p.items() if k != "theta_z")
    assert np.all(p["theta_z"] < -1.7)            # z starts near sigma(2) = 0.88
    np.testing.assert_array_equal(mingru.init_params(3, 16, seed=0)["theta_z"] - 2.0, p["theta_z"])
    assert np.all(np.abs(mingru.init_params(3, 16, seed=0, scale=3.0)["w_hx"]) <= 3.0)
    assert np.max(np.abs(mingru.init_params(3, 16, seed=0, scale=3.0)["w_hx"])) > 1.0
    assert gru.param_dims("w_zx") == mingru.param_dims("w_zx") == mingru.param_dims("W_h")


@pytest.mark.parametrize("change, message", [
    (dict(g="softsign"), "^g: expected one of"),
    (dict(params="weights"), "^params: expected a dict"),
    (dict(drop="w_hx"), r"^params: .*missing \['w_hx'\]"),
    (dict(add="w_zv"), r"^params: .*unexpected \['w_zv'\]"),
    (dict(x=np.zeros((0, 3, 2))), "^x: expected at least one time step"),
    (dict(x=np.full((4, 3, 2), np.nan)), "^x: contains NaN"),
    (dict(v0=np.zeros((3, 4))), "^v0: expected shape"),
    (dict(bad="theta_z"), r'^params\["theta_z"\]: expected 1 axes'),
    (dict(bad="w_zx"), r'^params\["w_zx"\]: expected shape'),
])
def test_bad_input_names_the_argument(change, message):
    x, params, v0 = problem()
    if "drop" in change:
        params.pop(change["drop"])
    if "add" in change:
        params[change["add"]] = np.zeros((5, 5))
    if "bad" in change:
        params[change["bad"]] = np.zeros((5, 4))
    params = change.get("params", params)
    x, v0, g = change.get("x", x), change.get("v0", v0), change.get("g", "tanh")
    with pytest.raises(ValueError, match=message):
        mingru.mingru_forward(x, params, v0, g=g)
    with pytest.raises(ValueError, match=message):
        mingru.rtrl_gradients(x, params, np.zeros((5, 3, 5)), v0, g=g)
    if "v0" not in change:
        with pytest.raises(ValueError, match=message):
            mingru.gates(x, params, g=g)


def test_rtrl_and_backward_reject_a_wrong_upstream_gradient():
    x, params, v0 = problem()
    _, cache = mingru.mingru_forward(x, params, v0)
    with pytest.raises(ValueError, match=r"^dV: expected shape \(T\+1, B, N\) = \(5, 3, 5\)"):
        mingru.mingru_backward(np.zeros((4, 3, 5)), cache)
    with pytest.raises(ValueError, match="^dV: expected shape"):
        mingru.rtrl_gradients(x, params, np.zeros((5, 3, 4)), v0)
    with pytest.raises(ValueError, match="^dV: contains NaN"):
        mingru.rtrl_gradients(x, params, np.full((5, 3, 5), np.nan), v0)


@pytest.mark.parametrize("change, message", [
    (lambda c: {}, r"^cache: expected the cache returned by mingru.mingru_forward .*missing \['V'"),
    (lambda c: [1, 2], "^cache: expected the cache returned by mingru.mingru_forward, got list"),
    (lambda c: {**c, "h": c["h"][:, :2]}, r'^cache\["h"\]: expected shape \(T, B, N\) = \(4, 3, 5\)'),
    (lambda c: {k: v for k, v in c.items() if k != "params"}, r"^cache: .*missing \['params'\]"),
    (lambda c: {**c, "params": {**c["params"], "w_hx": np.zeros((5, 3))}},
     r'^cache\["params"\]\["w_hx"\]: expected shape'),
    (lambda c: {**c, "z": np.full((4, 3), 0.5)}, r'^cache\["z"\]: expected 3 axes'),
    (lambda c: {**c, "g": "cube"}, r'^cache\["g"\]: expected one of'),
])
def test_backward_checks_the_cache(change, message):
    x, params, v0 = problem()
    _, cache = mingru.mingru_forward(x, params, v0)
    with pytest.raises(ValueError, match=message):
        mingru.mingru_backward(np.zeros((5, 3, 5)), change(cache))


@pytest.mark.parametrize("z, t, message", [
    (np.full((4, 2, 3), 0.5), 5, r"^t: expected an integer <= T = 4"),
    (np.full((4, 2, 3), 0.5), -1, "^t: expected an integer >= 0"),
    (np.full((4, 2, 3), 0.5), 2.0, "^t: expected an integer"),
    (np.full((4, 3), 0.5), 2, r"^z: expected 3 axes \(T, B, N\)"),
    (np.full((4, 2, 3), np.nan), 2, "^z: contains NaN"),
    (None, 2, "^z: expected an array"),
])
def test_lag_products_name_the_bad_argument(z, t, message):
    with pytest.raises(ValueError, match=message):
        mingru.lag_products(z, t)


@pytest.mark.parametrize("kwargs, message", [
    (dict(N=0), "^N: expected an integer >= 1"), (dict(K=0), "^K: expected an integer >= 1"),
    (dict(seed=2.5), "^seed: expected an integer seed >= 0"), (dict(seed=None), "^seed: expected"),
    (dict(z_bias=float("nan")), "^z_bias: expected a finite number"),
    (dict(scale=0.0), "^scale: expected a positive number"), (dict(dtype=np.int32), "^dtype:"),
])
def test_init_params_names_the_bad_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mingru.init_params(**{"N": 3, "K": 2, "seed": 0, **kwargs})


def test_conversions_and_param_dims_name_the_bad_argument():
    paper = mingru.to_paper(mingru.init_params(2, 3, seed=0))
    with pytest.raises(ValueError, match=r"^paper: .*missing \['b_h'\]"):
        mingru.from_paper({k: v for k, v in paper.items() if k != "b_h"})
    with pytest.raises(ValueError, match=r'^paper\["b_z"\]: expected shape \(N,\) = \(3,\)'):
        mingru.from_paper({**paper, "b_z": np.zeros(4)})
    with pytest.raises(ValueError, match=r"^params: expected a dict"):
        mingru.to_paper([1.0])
    with pytest.raises(ValueError, match="^name: expected one of"):
        mingru.param_dims("w_zv")
