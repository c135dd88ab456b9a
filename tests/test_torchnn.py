import numpy as np
import pytest
import torch

from rnnbook import gru, rnn, torchnn


def test_gate_rows_follow_torch_nn_gru():
    torch.manual_seed(0)
    N = 3
    module = torch.nn.GRU(2, N).double()
    assert torchnn.GATES == ("r", "z", "h")
    assert [torchnn.gate_rows(g, N) for g in torchnn.GATES] == [slice(0, 3), slice(3, 6), slice(6, 9)]
    with torch.no_grad():       # a bias of +50 on the update gate's rows: z = 1 keeps the state
        module.bias_ih_l0[torchnn.gate_rows("z", N)] = 50.0
    h0 = torch.randn(1, 4, N, dtype=torch.float64)
    out, _ = module(torch.randn(5, 4, 2, dtype=torch.float64), h0)
    torch.testing.assert_close(out[-1], h0[0], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="gate: expected one of"):
        torchnn.gate_rows("n", N)


def test_after_variant_reproduces_torch_gru_through_the_adapter():
    torch.manual_seed(0)
    T, B, N, K = 6, 3, 5, 4
    module = torch.nn.GRU(K, N).double()
    params = torchnn.gru_params_from_torch(module)
    x = torch.randn(T, B, K, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(1, B, N, dtype=torch.float64, requires_grad=True)
    out, _ = module(x, h0)
    R = torch.randn(T, B, N, dtype=torch.float64)
    (out * R).sum().backward()

    V, cache = gru.gru_forward(x.detach().numpy(), params, h0[0].detach().numpy(), variant="after")
    np.testing.assert_allclose(V[1:], out.detach().numpy(), rtol=0, atol=1e-12)
    dV = np.concatenate([np.zeros((1, B, N)), R.numpy()])
    grads = gru.gru_backward(dV, cache)
    np.testing.assert_allclose(grads["x"], x.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(grads["v0"], h0.grad[0].numpy(), rtol=0, atol=1e-12)
    # map the book's gradients back onto torch's stacked weights, gate by gate
    hh = {"r": "theta_r", "z": "theta_z", "h": "theta_hv"}
    expected = {
        "weight_ih_l0": np.concatenate([grads[f"w_{g}x"] for g in torchnn.GATES]),
        "weight_hh_l0": np.concatenate([grads[f"w_{g}v"] for g in torchnn.GATES]),
        # b_ir and b_hr both enter as -theta_r, so both get -dH/dtheta_r
        "bias_ih_l0": -np.concatenate([grads[f"theta_{g}"] for g in torchnn.GATES]),
        "bias_hh_l0": -np.concatenate([grads[hh[g]] for g in torchnn.GATES]),
    }
    for name, value in expected.items():
        np.testing.assert_allclose(value, getattr(module, name).grad.numpy(), rtol=0, atol=1e-12)


def test_adapter_round_trips():
    torch.manual_seed(1)
    module = torch.nn.GRU(3, 4).double()
    params = gru.init_params(3, 4, "after", seed=2)
    back = torchnn.gru_params_from_torch(torchnn.gru_params_to_torch(params, module))
    for name in params:
        np.testing.assert_array_equal(back[name], params[name])
    # torch -> book -> torch keeps every weight and the sum of each gate's two biases
    original = torch.nn.GRU(3, 4).double()
    copy = torchnn.gru_params_to_torch(torchnn.gru_params_from_torch(original), torch.nn.GRU(3, 4).double())
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    torch.testing.assert_close(copy(x)[0], original(x)[0], rtol=0, atol=1e-14)


def test_adapter_rejects_what_it_cannot_map():
    with pytest.raises(ValueError, match="one-layer"):
        torchnn.gru_params_from_torch(torch.nn.GRU(3, 4, num_layers=2))
    with pytest.raises(ValueError, match="batch_first=False"):
        torchnn.gru_params_from_torch(torch.nn.GRU(3, 4, batch_first=True))
    with pytest.raises(ValueError, match="'after' variant"):
        torchnn.gru_params_to_torch(gru.init_params(3, 4, "before", seed=0), torch.nn.GRU(3, 4))


def test_before_variant_is_a_different_function_from_torch_gru():
    torch.manual_seed(2)
    module = torch.nn.GRU(2, 4).double()
    params = torchnn.gru_params_from_torch(module)
    x = torch.randn(8, 3, 2, dtype=torch.float64)
    out = module(x)[0].detach().numpy()
    before = {k: v for k, v in params.items() if k != "theta_hv"}
    V_before, _ = gru.gru_forward(x.numpy(), before, variant="before")
    # the same weights give visibly different states: reset before vs after the product
    assert np.max(np.abs(V_before[1:] - out)) > 1e-2
    # they coincide only in the degenerate case: one unit (w_hv is 1x1) and b_hn = 0
    module1 = torch.nn.GRU(2, 1).double()
    with torch.no_grad():
        module1.bias_hh_l0[torchnn.gate_rows("h", 1)] = 0.0
    p1 = torchnn.gru_params_from_torch(module1)
    V1, _ = gru.gru_forward(x.numpy(), {k: v for k, v in p1.items() if k != "theta_hv"}, variant="before")
    np.testing.assert_allclose(V1[1:], module1(x)[0].detach().numpy(), rtol=0, atol=1e-14)


def test_torch_rnn_adapter_reproduces_torch_rnn():
    torch.manual_seed(0)
    module = torch.nn.RNN(3, 5).double()
    w_vv, w_vx, theta_v = torchnn.rnn_params_from_torch(module)
    x = torch.randn(9, 4, 3, dtype=torch.float64)
    V, _ = rnn.rnn_forward(x.numpy(), w_vv, w_vx, theta_v)
    np.testing.assert_allclose(V[1:], module(x)[0].detach().numpy(), rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="tanh"):
        torchnn.rnn_params_from_torch(torch.nn.RNN(3, 5, nonlinearity="relu"))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_readers_make_float64_from_any_module(dtype):
    gru_params = torchnn.gru_params_from_torch(torch.nn.GRU(2, 3).to(dtype))
    rnn_params = torchnn.rnn_params_from_torch(torch.nn.RNN(2, 3).to(dtype))
    assert {a.dtype for a in [*gru_params.values(), *rnn_params]} == {np.dtype(np.float64)}
