import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from strategies import SEQUENCE_PROBLEMS  # tests/strategies.py

from rnnbook import bptt, gradcheck, reference, rnn

NAMES = bptt.PARAMS + ("v0",)


# ---- the energy and the readout ------------------------------------------------------------------

def test_energy_by_hand():
    O = np.array([[[1.0, 2.0]], [[0.5, -1.0]]])
    y = np.array([[[0.0, 2.0]], [[1.5, 1.0]]])
    H, dO = bptt.energy(O, y)
    assert H == pytest.approx(0.5 * (1 + 0 + 1 + 4))
    np.testing.assert_array_equal(dO, O - y)         # dH/dO = -E = O - y


def test_one_step_one_unit_by_hand():
    # T = B = N = K = M = 1, linear output: H = 1/2 (y - w_o tanh(w v0 + u x - th) + th_o)^2
    w, u, th, wo, tho, v0, x, y = 0.7, -1.3, 0.2, 1.5, 0.1, 0.4, 0.9, 0.3
    b = w * v0 + u * x - th
    V = np.tanh(b)
    E = y - (wo * V - tho)
    Delta = (1 - V ** 2) * E * wo                     # -dH/db, eq. (2.10) with Delta(2) = 0
    H, grads = bptt.gradients(np.full((1, 1, 1), x), np.full((1, 1, 1), y),
                              dict(w_vv=[[w]], w_vx=[[u]], theta_v=[th], w_ov=[[wo]], theta_o=[tho], v0=[[v0]]))
    assert H == pytest.approx(0.5 * E ** 2, rel=1e-15)
    expected = dict(w_vv=-Delta * v0, w_vx=-Delta * x, theta_v=Delta, v0=-Delta * w, w_ov=-E * V, theta_o=E)
    for name, value in expected.items():
        assert grads[name].ravel()[0] == pytest.approx(value, rel=1e-14), name


def test_output_backward_leaves_the_initial_state_alone(sequence_problem):
    x, y, p = sequence_problem()
    V, _ = rnn.rnn_forward(x, p["w_vv"], p["w_vx"], p["theta_v"], v0=p["v0"])
    O, cache = rnn.output_forward(V, p["w_ov"], p["theta_o"], g="sigmoid")
    dV, grads = bptt.output_backward(bptt.energy(O, y)[1], cache)
    assert dV.shape == V.shape and not np.any(dV[0]) and np.all(np.abs(dV[1:]) > 0)
    assert grads["w_ov"].shape == (2, 4) and grads["theta_o"].shape == (2,)


# ---- BPTT: three-way agreement ----------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(**SEQUENCE_PROBLEMS)
@example(T=1, B=1, N=1, K=1, M=1, g="tanh", g_out="linear", seed=0)
def test_bptt_matches_autograd(T, B, N, K, M, g, g_out, seed, sequence_problem, worst_error, sequence_autograd):
    x, y, p = sequence_problem(T, B, N, K, M, seed)
    H, grads = bptt.gradients(x, y, p, g=g, g_out=g_out)
    H_ref, ref = sequence_autograd(x, y, p, g, g_out)
    assert H == pytest.approx(H_ref, rel=1e-12)
    assert set(grads) == set(NAMES)
    assert worst_error(grads, ref) < 1e-10


@settings(max_examples=12, deadline=None)
@given(T=st.integers(1, 5), B=st.integers(1, 2), N=st.integers(1, 3), K=st.integers(1, 2), M=st.integers(1, 2),
       g=st.sampled_from(["tanh", "sigmoid", "linear"]), g_out=st.sampled_from(["linear", "tanh"]),
       seed=st.integers(0, 2**16))
@example(T=1, B=1, N=1, K=1, M=1, g="tanh", g_out="linear", seed=0)
@example(T=5, B=2, N=1, K=1, M=1, g="sigmoid", g_out="tanh", seed=303)   # v0's gradient 4e-6
def test_bptt_matches_finite_differences(T, B, N, K, M, g, g_out, seed, sequence_problem):
    # central differences err by O(h^2) times the third derivative of H, which grows quickly with
    # the recurrent weights (a linear network's H is a polynomial of degree 2T in them): keep them small
    x, y, p = sequence_problem(T, B, N, K, M, seed, scale=0.5)
    _, grads = bptt.gradients(x, y, p, g=g, g_out=g_out)
    numerical = gradcheck.numerical_gradients(lambda q: bptt.gradients(x, y, q, g=g, g_out=g_out)[0], p)
    # the differences' error is absolute (about 1e-10 here), so it is measured against the gradient's
    # scale: an array whose gradient is itself tiny (v0 at a long lag: 1e-5) is not held to a relative
    # 1e-6 that no difference quotient reaches (the exact comparison is the autograd test's)
    scale = max(np.abs(a).max() for a in grads.values())
    errors = {k: np.abs(numerical[k] - grads[k]).max() / scale for k in grads}
    assert max(errors.values()) < 1e-7, errors


def test_missing_v0_means_zero_and_still_gets_a_gradient(sequence_problem):
    x, y, p = sequence_problem()
    without = {k: v for k, v in p.items() if k != "v0"}
    H, grads = bptt.gradients(x, y, without)
    H0, grads0 = bptt.gradients(x, y, {**without, "v0": np.zeros((3, 4))})
    assert H == H0 and all(np.array_equal(grads[k], grads0[k]) for k in NAMES)
    assert grads["v0"].shape == (3, 4)


def test_weights_match_torch_nn_rnn_and_threshold_is_minus_a_bias(sequence_problem):
    # torch.nn.RNN adds biases, b = W_ih x + b_ih + W_hh h + b_hh; the book subtracts theta = -(b_ih + b_hh)
    x, y, p = sequence_problem(T=6, B=2, N=3, K=2, M=1, seed=3)
    _, grads = bptt.gradients(x, y, p)
    module = torch.nn.RNN(2, 3, nonlinearity="tanh", dtype=torch.float64)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.tensor(p["w_vx"]))
        module.weight_hh_l0.copy_(torch.tensor(p["w_vv"]))
        module.bias_ih_l0.copy_(torch.tensor(-p["theta_v"]))
        module.bias_hh_l0.zero_()
    states, _ = module(torch.tensor(x), torch.tensor(p["v0"])[None])
    O = states @ torch.tensor(p["w_ov"]).T - torch.tensor(p["theta_o"])
    reference.energy(O, torch.tensor(y)).backward()
    assert gradcheck.relative_error(grads["w_vv"], module.weight_hh_l0.grad.numpy()) < 1e-10
    assert gradcheck.relative_error(grads["w_vx"], module.weight_ih_l0.grad.numpy()) < 1e-10
    np.testing.assert_allclose(grads["theta_v"], -module.bias_ih_l0.grad.numpy(), rtol=1e-10)
    assert np.all(np.sign(grads["theta_v"]) == -np.sign(module.bias_hh_l0.grad.numpy()))


def test_rnn_backward_is_linear_in_the_incoming_derivatives(sequence_problem):
    x, _, p = sequence_problem()
    _, cache = rnn.rnn_forward(x, p["w_vv"], p["w_vx"], p["theta_v"], v0=p["v0"])
    rng = np.random.default_rng(5)
    d1, d2 = rng.standard_normal((2, 6, 3, 4))
    g1, g2, g12 = (bptt.rnn_backward(d, cache) for d in (d1, d2, 2 * d1 - d2))
    for k in ("w_vv", "w_vx", "theta_v", "v0"):
        np.testing.assert_allclose(g12[k], 2 * g1[k] - g2[k], atol=1e-12)


# ---- truncated BPTT -------------------------------------------------------------------------------------

def test_tau_at_least_T_is_full_bptt_exactly(sequence_problem):
    x, y, p = sequence_problem(T=6)
    _, full = bptt.gradients(x, y, p)
    for tau in (6, 7, 100):
        _, grads = bptt.gradients(x, y, p, tau=tau)
        assert all(np.array_equal(grads[k], full[k]) for k in NAMES)


def test_truncated_recursion_with_tau_T_agrees_with_the_full_recursion(sequence_problem):
    # the dispatch above makes tau >= T exact by construction; the truncated loop itself must agree
    x, y, p = sequence_problem(T=6)
    V, cache = rnn.rnn_forward(x, p["w_vv"], p["w_vx"], p["theta_v"], v0=p["v0"])
    dV = np.random.default_rng(1).standard_normal(V.shape)
    g_prime = 1 - V[1:] ** 2
    Delta, dV0 = bptt.bptt_errors(dV, g_prime, p["w_vv"])
    Delta_tau, dV0_tau = bptt.truncated_errors(dV, g_prime, p["w_vv"], tau=6)
    np.testing.assert_allclose(Delta_tau, Delta, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dV0_tau, dV0, rtol=1e-13, atol=1e-14)


@settings(max_examples=25, deadline=None)
@given(T_tau=st.integers(2, 7).flatmap(lambda T: st.tuples(st.just(T), st.integers(1, T - 1))),
       B=st.integers(1, 2), N=st.integers(1, 4), g=st.sampled_from(["tanh", "sigmoid"]),
       seed=st.integers(0, 2**16))
@example(T_tau=(2, 1), B=1, N=1, g="tanh", seed=0)
def test_truncated_bptt_is_autograd_on_the_detached_graph(T_tau, B, N, g, seed, sequence_problem, worst_error, sequence_autograd):
    T, tau = T_tau
    x, y, p = sequence_problem(T, B, N, seed=seed)
    H, grads = bptt.gradients(x, y, p, g=g, tau=tau)
    H_ref, ref = reference.autograd_gradients(
        lambda t: reference.truncated_energy(*map(reference.as_tensor, (x, y)), t, tau, g=g), p)
    assert H == pytest.approx(H_ref, rel=1e-12)
    assert worst_error(grads, ref) < 1e-10


def test_truncation_below_T_changes_the_recurrent_gradients_only(sequence_problem):
    x, y, p = sequence_problem(T=8, N=3, scale=1.5)
    _, full = bptt.gradients(x, y, p)
    for tau in (1, 3, 7):
        _, grads = bptt.gradients(x, y, p, tau=tau)
        for k in ("w_vv", "w_vx", "theta_v"):
            assert gradcheck.relative_error(grads[k], full[k]) > 1e-4, (tau, k)
        for k in ("w_ov", "theta_o"):                 # the readout has no path back in time
            np.testing.assert_array_equal(grads[k], full[k])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_floating_outputs_keep_the_dtype_of_the_inputs(dtype, sequence_problem, steady_problem):
    x, y, p = sequence_problem()
    x, y, p = x.astype(dtype), y.astype(dtype), {k: v.astype(dtype) for k, v in p.items()}
    cases = {"full": dict(params=p), "tau = 2": dict(params=p, tau=2),
             "no v0": dict(params={k: v for k, v in p.items() if k != "v0"})}
    out = {f"gradients, {case}: {k}": g for case, kwargs in cases.items()
           for k, g in bptt.gradients(x, y, **kwargs)[1].items()}
    xs, ys, ps = steady_problem()
    xs, ys, ps = xs.astype(dtype), ys.astype(dtype), {k: v.astype(dtype) for k, v in ps.items()}
    # float32 cannot settle below its rounding, about 1e-7: a looser tol
    _, grads, V_star = bptt.recurrent_backprop(xs, ys, ps, tol=1e-5)
    out.update({f"recurrent_backprop: {k}": g for k, g in grads.items()}, V_star=V_star)
    out["fixed_point_sensitivities"] = bptt.fixed_point_sensitivities(
        xs, ps["w_vv"], ps["w_vx"], ps["theta_v"], V_star)
    assert {k: a.dtype for k, a in out.items()} == {k: np.dtype(dtype) for k in out}


def test_tau_one_keeps_only_the_immediate_dependence(sequence_problem):
    # with tau = 1 the error at t only reaches b(t): Delta(t) = g'(b(t)) e(t)
    x, y, p = sequence_problem(T=5)
    V, cache = rnn.rnn_forward(x, p["w_vv"], p["w_vx"], p["theta_v"], v0=p["v0"])
    dV = np.random.default_rng(2).standard_normal(V.shape)
    Delta, dV0 = bptt.truncated_errors(dV, 1 - V[1:] ** 2, p["w_vv"], tau=1)
    np.testing.assert_allclose(Delta, -(1 - V[1:] ** 2) * dV[1:], atol=1e-15)
    np.testing.assert_allclose(dV0, dV[0] - Delta[0] @ p["w_vv"], atol=1e-15)


# ---- recurrent backpropagation at a steady state ---------------------------------------------------------

@pytest.fixture(scope="module")
def steady_problem(sequence_problem):
    """make(B, N, K, M, seed, scale) -> (x, y, params): a problem whose iteration is a contraction,
    the largest singular value of w_vv being ``scale``."""
    def make(B=2, N=4, K=2, M=2, seed=0, scale=0.6):
        x, y, p = sequence_problem(1, B, N, K, M, seed)
        p["w_vv"] *= scale / np.linalg.norm(p["w_vv"], 2)
        return x[0], y[0], {k: v for k, v in p.items() if k != "v0"}
    return make


@settings(max_examples=20, deadline=None)
@given(B=st.integers(1, 3), N=st.integers(1, 5), K=st.integers(1, 3), M=st.integers(1, 3),
       g=st.sampled_from(["tanh", "sigmoid"]), g_out=st.sampled_from(["linear", "tanh"]), seed=st.integers(0, 2**16))
@example(B=1, N=1, K=1, M=1, g="tanh", g_out="linear", seed=0)
@example(B=1, N=2, K=1, M=1, g="tanh", g_out="linear", seed=3776)   # a near-perfect fit: tiny errors
def test_recurrent_backprop_matches_autograd_through_the_unrolled_iteration(B, N, K, M, g, g_out, seed, steady_problem, worst_error):
    x, y, p = steady_problem(B, N, K, M, seed)
    # V* to rounding: with the default tol = 1e-12 an error of V* of ~1e-12 is a relative error of
    # the gradient of ~1e-12 / |y - O*|, above 1e-10 where the network already fits y closely
    H, grads, V_star = bptt.recurrent_backprop(x, y, p, g=g, g_out=g_out, tol=1e-15)
    # scale 0.6 makes the iteration a contraction; 300 steps shrink the memory of V(0) below 1e-30
    H_ref, ref = reference.autograd_gradients(
        lambda t: reference.steady_state_energy(*map(reference.as_tensor, (x, y)), t, 300, g=g, g_out=g_out), p)
    assert H == pytest.approx(H_ref, rel=1e-10)
    assert worst_error(grads, ref, names=bptt.PARAMS) < 1e-10


def test_recurrent_backprop_matches_finite_differences_of_the_steady_state(steady_problem):
    x, y, p = steady_problem(scale=0.9)
    _, grads, _ = bptt.recurrent_backprop(x, y, p)
    errors = gradcheck.gradient_check(lambda q: bptt.recurrent_backprop(x, y, q, tol=1e-15)[0], p, grads)
    assert max(errors.values()) < 1e-6, errors


def test_recurrent_backprop_is_the_source_documents_rule(steady_problem):
    # delta w_mn = eta sum_k e_k dV_k*/dw_mn with e = -dH/dV*, the sensitivities from eq. (2.3)
    x, y, p = steady_problem(N=5)
    _, grads, V_star = bptt.recurrent_backprop(x, y, p)
    P = bptt.fixed_point_sensitivities(x, p["w_vv"], p["w_vx"], p["theta_v"], V_star)
    e = (y - (V_star @ p["w_ov"].T - p["theta_o"])) @ p["w_ov"]
    assert gradcheck.relative_error(-np.einsum("bk,bkmn->mn", e, P), grads["w_vv"]) < 1e-12


def test_recurrent_backprop_is_bptt_on_a_long_settling_run(steady_problem):
    # constant input for T steps, error only at the end: as T grows BPTT's gradient tends to RBP's
    x, y, p = steady_problem(B=1, scale=0.5)
    _, grads, _ = bptt.recurrent_backprop(x, y, p)
    T = 200
    V, cache = rnn.rnn_forward(np.repeat(x[None], T, axis=0), p["w_vv"], p["w_vx"], p["theta_v"])
    O, out_cache = rnn.output_forward(V[-1:].repeat(2, axis=0), p["w_ov"], p["theta_o"])
    dV_last, out_grads = bptt.output_backward(bptt.energy(O, y[None])[1], out_cache)
    dV = np.zeros_like(V)
    dV[-1] = dV_last[-1]
    rec = bptt.rnn_backward(dV, cache)
    for k in ("w_vv", "w_vx", "theta_v"):
        assert gradcheck.relative_error(rec[k], grads[k]) < 1e-10, k
    for k in ("w_ov", "theta_o"):
        assert gradcheck.relative_error(out_grads[k], grads[k]) < 1e-10, k


def test_unstable_fixed_point_raises_a_named_error():
    # V = tanh(1.5 V) from V(0) = 0 stays at the fixed point 0, where the slope is 1.5 > 1
    p = dict(w_vv=[[1.5]], w_vx=[[0.0]], theta_v=[0.0], w_ov=[[1.0]], theta_o=[0.0])
    with pytest.raises(bptt.UnstableFixedPoint, match=r"spectral radius of J = g'\(b\*\) w_vv is 1.5000 >= 1"):
        bptt.recurrent_backprop(np.zeros((1, 1)), np.ones((1, 1)), p)
    with pytest.raises(rnn.FixedPointNotFound):           # the subclass is caught by the general error
        bptt.recurrent_backprop(np.zeros((1, 1)), np.ones((1, 1)), p)
    # started away from 0 the same network settles on the stable fixed point 0.8586 and learns there
    H, _, V_star = bptt.recurrent_backprop(np.zeros((1, 1)), np.ones((1, 1)), {**p, "v0": [[0.1]]})
    assert V_star[0, 0] == pytest.approx(0.8585596, abs=1e-6)
    with pytest.raises(bptt.UnstableFixedPoint):
        bptt.fixed_point_sensitivities(np.zeros((1, 1)), [[1.5]], [[0.0]], [0.0], np.zeros((1, 1)))


def test_no_steady_state_raises_fixed_point_not_found():
    p = dict(w_vv=[[-1.5]], w_vx=[[0.0]], theta_v=[0.0], w_ov=[[1.0]], theta_o=[0.0], v0=[[0.1]])
    with pytest.raises(rnn.FixedPointNotFound, match="no steady state after 300 iterations") as info:
        bptt.recurrent_backprop(np.zeros((1, 1)), np.ones((1, 1)), p, max_iter=300)
    assert not isinstance(info.value, bptt.UnstableFixedPoint)


# ---- bad input -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    (dict(y=np.zeros((4, 3, 2))), r"y: expected shape \(T, B, M\)"),
    (dict(y=np.zeros((5, 2, 2))), r"y: expected shape"),
    (dict(x=np.zeros((0, 3, 2))), "x: expected at least one time step"),
    (dict(x=np.full((5, 3, 2), np.inf)), "x: contains NaN or inf"),
    (dict(params="weights"), "params: expected a dict"),
    (dict(drop="theta_o"), r"missing \['theta_o'\]"),
    (dict(extra="bias"), r"unexpected \['bias'\]"),
    (dict(set=("w_ov", np.zeros((2, 5)))), r'params\["w_ov"\]: expected shape'),
    (dict(set=("v0", np.zeros((2, 4)))), r'params\["v0"\]: expected shape'),
    (dict(set=("w_vv", np.full((4, 4), np.nan))), r'params\["w_vv"\]: contains NaN'),
    (dict(g_out="softsign"), "^g_out: expected one of"),          # not blamed on g
    (dict(g=["tanh"]), "^g: expected a name"),                    # not "unhashable type"
    (dict(tau=0), "tau: expected an integer >= 1, got 0"),
    (dict(tau=-3), "tau: expected an integer >= 1"),
    (dict(tau=2.5), "tau: expected an integer >= 1, got 2.5"),
    (dict(g="softsign"), "g: expected one of"),
])
def test_bad_input_names_the_argument(change, message, sequence_problem):
    x, y, p = sequence_problem()
    change = dict(change)
    if "drop" in change:
        p.pop(change.pop("drop"))
    if "extra" in change:
        p[change.pop("extra")] = np.zeros(4)
    if "set" in change:
        name, value = change.pop("set")
        p[name] = value
    kwargs = {"x": x, "y": y, "params": p, **change}
    with pytest.raises(ValueError, match=message):
        bptt.gradients(**kwargs)


def test_backward_functions_check_their_arguments(sequence_problem):
    x, y, p = sequence_problem()
    V, cache = rnn.rnn_forward(x, p["w_vv"], p["w_vx"], p["theta_v"])
    O, out_cache = rnn.output_forward(V, p["w_ov"], p["theta_o"])
    with pytest.raises(ValueError, match=r"dV: expected shape \(T\+1, B, N\) = \(6, 3, 4\)"):
        bptt.rnn_backward(np.zeros((5, 3, 4)), cache)
    with pytest.raises(ValueError, match="dV: contains NaN"):
        bptt.rnn_backward(np.full((6, 3, 4), np.nan), cache)
    with pytest.raises(ValueError, match="tau: expected an integer >= 1"):
        bptt.rnn_backward(np.zeros((6, 3, 4)), cache, tau=0)
    with pytest.raises(ValueError, match=r"dO: expected shape \(T, B, M\) = \(5, 3, 2\)"):
        bptt.output_backward(np.zeros((5, 3, 1)), out_cache)
    with pytest.raises(ValueError, match=r"y: expected shape"):
        bptt.energy(O, y[:, :, :1])
    with pytest.raises(ValueError, match="O: expected at least one time step"):
        bptt.energy(np.zeros((0, 1, 1)), np.zeros((0, 1, 1)))


def test_steady_state_arguments_are_checked(steady_problem):
    x, y, p = steady_problem()
    with pytest.raises(ValueError, match=r"x: expected 2 axes \(B, K\)"):
        bptt.recurrent_backprop(x[None], y, p)
    with pytest.raises(ValueError, match=r"y: expected shape \(B, M\)"):
        bptt.recurrent_backprop(x, y[:1], p)
    with pytest.raises(ValueError, match="tol"):
        bptt.recurrent_backprop(x, y, p, tol=0)


def test_the_low_level_steps_check_their_arguments_too(sequence_problem):
    # they are public (Chapter 2 shows them): a wrong shape once gave an IndexError or a silent NaN
    x, y, p = sequence_problem()
    V, cache = rnn.rnn_forward(x, p["w_vv"], p["w_vx"], p["theta_v"])
    dV, g_prime = np.ones((6, 3, 4)), 1 - V[1:] ** 2
    with pytest.raises(ValueError, match=r"^g_prime: expected shape .* to agree with dV"):
        bptt.bptt_errors(dV, g_prime[:4], p["w_vv"])
    with pytest.raises(ValueError, match="^w_vv: contains NaN"):
        bptt.truncated_errors(dV, g_prime, np.full((4, 4), np.nan), 2)
    with pytest.raises(ValueError, match="^tau: expected an integer >= 1"):
        bptt.truncated_errors(dV, g_prime, p["w_vv"], 0)
    with pytest.raises(ValueError, match="^x: expected 3 axes"):
        bptt.weight_gradients(g_prime, V, x[0])
    with pytest.raises(ValueError, match=r"^w_vv: expected shape \(N, N\) = \(4, 4\) to agree with e"):
        bptt.fixed_point_errors(np.ones((3, 4)), np.ones((3, 4)), np.eye(5))
    # the checks wrap the equations; the loops of rnn_backward call them unchecked
    Delta, dV0 = bptt.bptt_errors(dV, g_prime, p["w_vv"])
    np.testing.assert_array_equal(Delta, bptt.bptt_errors.unchecked(dV, g_prime, p["w_vv"])[0])


@pytest.mark.parametrize("cache, message", [
    ({}, r"^cache: expected the cache returned by rnn.rnn_forward .* missing \['V', 'b', 'g',"),
    (None, "^cache: expected the cache returned by rnn.rnn_forward, got NoneType"),
    ("drop b", r"missing \['b'\]"),
    ("short b", r'^cache\["b"\]: expected shape \(T, B, N\) = \(5, 3, 4\) to agree with cache\["x"\]'),
    ("g unknown", r'^cache\["g"\]: expected one of'),
])
def test_backward_passes_check_the_cache(cache, message, sequence_problem):
    x, y, p = sequence_problem()
    _, full = rnn.rnn_forward(x, p["w_vv"], p["w_vx"], p["theta_v"])
    if isinstance(cache, str):
        change = {"drop b": {}, "short b": {"b": full["b"][:4]}, "g unknown": {"g": "cube"}}[cache]
        cache = {k: v for k, v in {**full, **change}.items() if cache != "drop b" or k != "b"}
    with pytest.raises(ValueError, match=message):
        bptt.rnn_backward(np.zeros((6, 3, 4)), cache)
