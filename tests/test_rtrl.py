import numpy as np
import pytest
import torch
from hypothesis import example, given, settings

from strategies import SEQUENCE_PROBLEMS  # tests/strategies.py

from rnnbook import bptt, gradcheck, reference, rnn, rtrl


@settings(max_examples=30, deadline=None)
@given(**SEQUENCE_PROBLEMS)
@example(T=1, B=1, N=1, K=1, M=1, g="tanh", g_out="linear", seed=0)
def test_rtrl_equals_bptt_and_autograd(T, B, N, K, M, g, g_out, seed, sequence_problem, worst_error, sequence_autograd):
    x, y, p = sequence_problem(T, B, N, K, M, seed)
    H, grads = rtrl.gradients(x, y, p, g=g, g_out=g_out)
    H_bptt, grads_bptt = bptt.gradients(x, y, p, g=g, g_out=g_out)
    H_ref, ref = sequence_autograd(x, y, p, g, g_out)
    assert set(grads) == set(bptt.PARAMS) | {"v0"}
    assert H == pytest.approx(H_bptt, rel=1e-13) and H == pytest.approx(H_ref, rel=1e-12)
    assert worst_error(grads, grads_bptt) < 1e-10
    assert worst_error(grads, ref) < 1e-10


def test_rtrl_matches_finite_differences(sequence_problem):
    x, y, p = sequence_problem(T=4, B=2, N=3, K=2, M=2, seed=7, scale=0.5)
    _, grads = rtrl.gradients(x, y, p, g_out="tanh")
    errors = gradcheck.gradient_check(lambda q: rtrl.gradients(x, y, q, g_out="tanh")[0], p, grads)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_floating_outputs_keep_the_dtype_of_the_inputs(dtype, sequence_problem):
    x, y, p = sequence_problem(T=3)
    x, y, p = x.astype(dtype), y.astype(dtype), {k: v.astype(dtype) for k, v in p.items()}
    for params in (p, {k: v for k, v in p.items() if k != "v0"}):
        H, grads = rtrl.gradients(x, y, params)
        assert isinstance(H, float)
        assert {k: g.dtype for k, g in grads.items()} == {k: np.dtype(dtype) for k in grads}


def test_sensitivities_are_the_jacobian_of_the_state(sequence_problem):
    # run eq. (2.12) for w_vv by hand and compare p(T) with torch's Jacobian dV(T)/dw_vv
    x, _, p = sequence_problem(T=4, B=2, N=3)
    V, cache = rnn.rnn_forward(x, p["w_vv"], p["w_vx"], p["theta_v"], v0=p["v0"])
    B, N = 2, 3
    sens = np.zeros((B, N, N * N))
    for t in range(1, 5):
        db = np.einsum("km,bn->bkmn", np.eye(N), V[t - 1]).reshape(B, N, -1)
        sens = rtrl.rtrl_step(sens, 1 - V[t] ** 2, p["w_vv"], db)
    t = {k: reference.as_tensor(v) for k, v in p.items()}

    def final_state(w_vv):
        return reference.rnn_forward(reference.as_tensor(x), w_vv, t["w_vx"], t["theta_v"], t["v0"])[-1]

    jac = torch.autograd.functional.jacobian(final_state, t["w_vv"]).numpy()   # (B, N, N, N)
    np.testing.assert_allclose(sens.reshape(B, N, N, N), jac, rtol=1e-12, atol=1e-14)


def test_rtrl_step_without_explicit_term_only_carries():
    rng = np.random.default_rng(0)
    sens, g_prime, w = rng.standard_normal((2, 3, 5)), rng.uniform(0, 1, (2, 3)), rng.standard_normal((3, 3))
    np.testing.assert_allclose(rtrl.rtrl_step(sens, g_prime, w, None),
                               g_prime[:, :, None] * np.einsum("kj,bja->bka", w, sens), atol=1e-14)


def test_rtrl_rejects_bad_input_like_bptt(sequence_problem):
    x, y, p = sequence_problem()
    with pytest.raises(ValueError, match=r"y: expected shape"):
        rtrl.gradients(x, y[:, :2], p)
    with pytest.raises(ValueError, match=r"missing \['w_vv'\]"):
        rtrl.gradients(x, y, {k: v for k, v in p.items() if k != "w_vv"})
    with pytest.raises(ValueError, match="x: contains NaN"):
        rtrl.gradients(np.full_like(x, np.nan), y, p)
    with pytest.raises(ValueError, match="g_out|g: expected one of"):
        rtrl.gradients(x, y, p, g_out="cube")


def test_rtrl_step_checks_its_arguments():
    rng = np.random.default_rng(1)
    p, g_prime, w = rng.standard_normal((2, 3, 5)), rng.uniform(0, 1, (2, 3)), rng.standard_normal((3, 3))
    with pytest.raises(ValueError, match=r"^db: expected shape \(B, N, P\) = \(2, 3, 5\) to agree with p"):
        rtrl.rtrl_step(p, g_prime, w, np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="^g_prime: contains NaN"):
        rtrl.rtrl_step(p, np.full((2, 3), np.nan), w, None)
    with pytest.raises(ValueError, match="^w_vv: expected shape"):
        rtrl.rtrl_step(p, g_prime, w[:2], None)
