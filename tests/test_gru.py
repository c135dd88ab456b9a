import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnbook import gru, reference, rnn


def problem(T=4, B=3, N=5, K=2, variant="before", seed=0, scale=0.8):
    rng = np.random.default_rng(seed)
    params = gru.init_params(K, N, variant, seed=seed, scale=scale)
    return rng.standard_normal((T, B, K)), params, rng.standard_normal((B, N))


def loss_weights(T, B, N, seed=1):
    """dH/dV for H = sum_t sum_i R_i(t) V_i(t): random, including t = 0."""
    return np.random.default_rng(seed).standard_normal((T + 1, B, N))


def autograd(x, params, v0, R, variant, g="tanh"):
    """V and the gradients of H = sum_t R(t) . V(t) for every parameter, x and v0, by the oracle."""
    def H(t):
        V = reference.gru_forward(t["x"], {k: t[k] for k in params}, t["v0"], variant=variant, g=g)
        return (V * reference.as_tensor(R)).sum()
    _, grads = reference.autograd_gradients(H, {**params, "x": x, "v0": v0})
    tensors = {k: reference.as_tensor(v) for k, v in params.items()}
    V = reference.gru_forward(reference.as_tensor(x), tensors, reference.as_tensor(v0), variant=variant, g=g)
    return V.numpy(), grads


def max_rel_error(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


@pytest.mark.parametrize("variant", gru.VARIANTS)
def test_forward_and_backward_match_autograd(variant):
    x, params, v0 = problem(variant=variant)
    R = loss_weights(4, 3, 5)
    V, cache = gru.gru_forward(x, params, v0, variant=variant)
    grads = gru.gru_backward(R, cache)
    V_ref, grads_ref = autograd(x, params, v0, R, variant)
    np.testing.assert_allclose(V, V_ref, rtol=0, atol=1e-14)
    # the total dH/dV(t): at t = 0 it is dH/dV(0); at t = T only the direct term remains
    np.testing.assert_array_equal(grads.pop("V")[[0, -1]], [grads["v0"], R[-1]])
    assert set(grads) == set(grads_ref)
    for name in grads:
        assert max_rel_error(grads[name], grads_ref[name]) < 1e-10, name


@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 5), B=st.integers(1, 3), N=st.integers(1, 4), K=st.integers(1, 3),
       variant=st.sampled_from(gru.VARIANTS), g=st.sampled_from(["tanh", "sigmoid", "linear"]),
       seed=st.integers(0, 2**16))
def test_backward_matches_autograd_on_random_shapes(T, B, N, K, variant, g, seed):
    x, params, v0 = problem(T, B, N, K, variant, seed)
    R = loss_weights(T, B, N, seed + 1)
    V, cache = gru.gru_forward(x, params, v0, variant=variant, g=g)
    grads = gru.gru_backward(R, cache)
    V_ref, grads_ref = autograd(x, params, v0, R, variant, g)
    np.testing.assert_allclose(V, V_ref, rtol=1e-12, atol=1e-13)
    for name in grads_ref:
        assert max_rel_error(grads[name], grads_ref[name]) < 1e-10, name


@pytest.mark.parametrize("variant", gru.VARIANTS)
def test_backward_matches_finite_differences(variant):
    x, params, v0 = problem(T=3, B=2, N=3, K=2, variant=variant, seed=3)
    R = loss_weights(3, 2, 3, seed=4)

    def H(p):
        return np.sum(gru.gru_forward(x, p, v0, variant=variant)[0] * R)

    grads = gru.gru_backward(R, gru.gru_forward(x, params, v0, variant=variant)[1])
    eps = 1e-6
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            plus, minus = ({**params, name: value.copy()} for _ in range(2))
            plus[name][idx] += eps
            minus[name][idx] -= eps
            numeric[idx] = (H(plus) - H(minus)) / (2 * eps)
        assert max_rel_error(grads[name], numeric) < 1e-6, name


@pytest.mark.parametrize("variant", gru.VARIANTS)
def test_z_equal_one_is_the_identity_shortcut(variant):
    x, params, v0 = problem(T=5, variant=variant)
    params = {**params, "w_zx": np.zeros((5, 2)), "w_zv": np.zeros((5, 5)), "theta_z": np.full(5, -50.0)}
    V, cache = gru.gru_forward(x, params, v0, variant=variant)
    assert np.all(cache["z"] == 1.0)
    np.testing.assert_array_equal(V[-1], v0)
    # the Jacobian dV(t)/dV(t-1), row by row from the backward pass, is exactly the identity
    _, cache1 = gru.gru_forward(x[:1, :1], params, v0[:1], variant=variant)
    J = np.empty((5, 5))
    for i in range(5):
        dV = np.zeros((2, 1, 5))
        dV[1, 0, i] = 1.0
        J[i] = gru.gru_backward(dV, cache1)["v0"][0]
    np.testing.assert_array_equal(J, np.eye(5))


@pytest.mark.parametrize("variant", gru.VARIANTS)
def test_z_zero_and_r_one_is_the_plain_rnn(variant):
    x, params, v0 = problem(T=6, variant=variant)
    params = {**params, "w_zx": np.zeros((5, 2)), "w_zv": np.zeros((5, 5)), "theta_z": np.full(5, 50.0),
              "w_rx": np.zeros((5, 2)), "w_rv": np.zeros((5, 5)), "theta_r": np.full(5, -50.0)}
    theta = params["theta_h"] + (params["theta_hv"] if variant == "after" else 0.0)
    V, _ = gru.gru_forward(x, params, v0, variant=variant)
    V_rnn, _ = rnn.rnn_forward(x, params["w_hv"], params["w_hx"], theta, v0=v0)
    np.testing.assert_allclose(V, V_rnn, rtol=0, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_floating_outputs_keep_the_dtype_of_the_inputs(dtype):
    out = {}
    for variant in gru.VARIANTS:
        params = gru.init_params(2, 5, variant, seed=0, dtype=dtype)
        out.update({f"init_params, {variant}: {k}": a for k, a in params.items()})
        x, _, v0 = problem(variant=variant)
        for start in (v0.astype(dtype), None):
            V, cache = gru.gru_forward(x.astype(dtype), params, start, variant=variant)
            out[f"gru_forward, {variant}, v0 {start is not None}"] = V
            grads = gru.gru_backward(np.ones_like(V), cache)
            out.update({f"gru_backward, {variant}, v0 {start is not None}: {k}": g for k, g in grads.items()})
    assert {k: a.dtype for k, a in out.items()} == {k: np.dtype(dtype) for k in out}
    # an initialiser makes float64 unless told otherwise
    assert {a.dtype for a in gru.init_params(2, 5, seed=0).values()} == {np.dtype(np.float64)}


def test_init_params_follows_torch_and_raises_the_update_bias():
    p = gru.init_params(3, 16, "after", seed=0, z_bias=2.0)
    assert set(p) == set(gru.param_names("after"))
    assert np.all(np.abs(p["w_zv"]) <= 0.25) and p["w_zv"].shape == (16, 16) and p["w_hx"].shape == (16, 3)
    assert np.all(p["theta_z"] < -1.7)            # z starts near sigma(2) = 0.88
    np.testing.assert_array_equal(p["w_hv"], gru.init_params(3, 16, "after", seed=0)["w_hv"])


@pytest.mark.parametrize("change, message", [
    (dict(variant="middle"), "variant: expected one of"),
    (dict(params="weights"), "params: expected a dict"),
    (dict(drop="w_hv"), r"missing \['w_hv'\]"),
    (dict(add="theta_hv"), r"unexpected \['theta_hv'\]"),
    (dict(x=np.zeros((0, 3, 2))), "x: expected at least one time step"),
    (dict(x=np.full((4, 3, 2), np.nan)), "x: contains NaN"),
    (dict(v0=np.zeros((3, 4))), "v0: expected shape"),
    (dict(bad="w_zv"), r'params\["w_zv"\]: expected shape'),
])
def test_bad_input_names_the_argument(change, message):
    x, params, v0 = problem()
    variant = change.get("variant", "before")
    if "drop" in change:
        params.pop(change["drop"])
    if "add" in change:
        params[change["add"]] = np.zeros(5)
    if "bad" in change:
        params[change["bad"]] = np.zeros((5, 4))
    params = change.get("params", params)
    with pytest.raises(ValueError, match=message):
        gru.gru_forward(change.get("x", x), params, change.get("v0", v0), variant=variant)


def test_backward_rejects_a_wrong_upstream_gradient():
    x, params, v0 = problem()
    _, cache = gru.gru_forward(x, params, v0)
    with pytest.raises(ValueError, match="dV: expected shape"):
        gru.gru_backward(np.zeros((4, 3, 5)), cache)


@pytest.mark.parametrize("variant", gru.VARIANTS)
def test_total_state_gradient_at_every_time_step(variant):
    x, params, v0 = problem(T=6, variant=variant)
    R = loss_weights(6, 3, 5)
    V, cache = gru.gru_forward(x, params, v0, variant=variant)
    dV_total = gru.gru_backward(R, cache)["V"]
    tp = {k: reference.as_tensor(v) for k, v in params.items()}
    for t in range(7):
        # restart the recurrence at V(t) as a leaf: its gradient is the total dH/dV(t)
        leaf = reference.as_tensor(V[t], requires_grad=True)
        rest = reference.gru_forward(reference.as_tensor(x[t:]), tp, leaf, variant) if t < 6 else leaf[None]
        (rest * reference.as_tensor(R[t:])).sum().backward()
        assert max_rel_error(dV_total[t], leaf.grad.numpy()) < 1e-12, t


@pytest.mark.parametrize("change, message", [
    (lambda c: {}, r"^cache: expected the cache returned by gru.gru_forward .*missing \['V', 'g'"),
    (lambda c: [1, 2], "^cache: expected the cache returned by gru.gru_forward, got list"),
    (lambda c: {**c, "h": c["h"][:, :2]}, r'^cache\["h"\]: expected shape \(T, B, N\) = \(4, 3, 5\)'),
    (lambda c: {**c, "variant": "after"}, r'^cache\["params"\]: expected .* variant \'after\''),
    (lambda c: {**c, "params": {**c["params"], "w_hv": np.zeros((5, 4))}},
     r'^cache\["params"\]\["w_hv"\]: expected shape'),
    (lambda c: {**c, "z": np.full((4, 3), 0.5)}, r'^cache\["z"\]: expected 3 axes'),
    (lambda c: {**c, "u": c["h"]}, r'^cache\["u"\]: expected None for variant "before"'),
])
def test_backward_checks_the_cache(change, message):
    x, params, v0 = problem()
    _, cache = gru.gru_forward(x, params, v0)
    with pytest.raises(ValueError, match=message):
        gru.gru_backward(np.zeros((5, 3, 5)), change(cache))


@pytest.mark.parametrize("kwargs, message", [
    (dict(N=0), "^N: expected an integer >= 1"), (dict(K=0), "^K: expected an integer >= 1"),
    (dict(seed=2.5), "^seed: expected an integer seed >= 0"), (dict(seed=-1), "^seed: expected"),
    (dict(z_bias=float("nan")), "^z_bias: expected a finite number"),
    (dict(scale=0.0), "^scale: expected a positive number"), (dict(variant="x"), "^variant:"),
])
def test_init_params_names_the_bad_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gru.init_params(**{"N": 3, "K": 2, "variant": "after", "seed": 0, **kwargs})


def test_param_dims_names_unknown_parameters():
    assert gru.param_dims("theta_hv") == ("N",) and gru.param_dims("w_zx") == ("N", "K")
    with pytest.raises(ValueError, match="^name: expected one of"):
        gru.param_dims("nope")


def test_one_unit_computes_parity_as_the_guide_says():
    # instructors.md, "What the minGRU gives up": the update gate keeps the state on a 0 (sigma(60)
    # is exactly 1 in float64) and overwrites it on a 1 with h = tanh(-4 V), so from V(0) > 0 the
    # sign of the state is the parity at every step; c = tanh(4c) is the stable value it flips
    # between, and V(0) = 0 is a fixed point it never leaves
    params = dict(w_zx=np.array([[-120.0]]), w_zv=np.zeros((1, 1)), theta_z=np.array([-60.0]),
                  w_rx=np.zeros((1, 1)), w_rv=np.zeros((1, 1)), theta_r=np.array([-30.0]),
                  w_hx=np.zeros((1, 1)), w_hv=np.array([[-4.0]]), theta_h=np.zeros(1))
    c = 1.0
    for _ in range(100):
        c = np.tanh(4 * c)
    bits = np.random.default_rng(0).integers(0, 2, (10_000, 1, 1)).astype(float)
    V, cache = gru.gru_forward(bits, params, v0=np.array([[0.5]]))
    parity = np.cumsum(bits[:, 0, 0]) % 2
    assert np.array_equal(np.sign(V[1:, 0, 0]), 1 - 2 * parity)
    assert np.all(cache["z"][bits == 0] == 1.0)                  # kept bit for bit on a 0
    assert round(c, 4) == 0.9993 and np.abs(np.abs(V[-100:, 0, 0]) - c).max() < 1e-5
    W, _ = gru.gru_forward(np.ones((6, 1, 1)), params, v0=np.array([[0.05]]))
    assert abs(abs(W[-1, 0, 0]) - c) < 1e-5                       # a small state is pulled to +-c
    assert np.all(gru.gru_forward(bits, params)[0] == 0)          # from the default V(0) = 0
