import functools

import numpy as np
import pytest
import torch

from rnnbook import bridge, gru, tasks, train


@pytest.mark.parametrize("variant", gru.VARIANTS)
def test_the_function_passes_torch_gradcheck(variant):
    # finite differences of the numpy forward against the numpy backward, through torch's wiring
    module = bridge.NumpyGRU(2, 3, variant, seed=1, z_bias=0.5, dtype=torch.float64)
    weights = [getattr(module, name) for name in gru.param_names(variant)]
    x = torch.tensor(np.random.default_rng(2).standard_normal((4, 2, 2)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, *w: bridge.GRUFunction.apply(x, variant, *w),
                                    (x, *weights), eps=1e-6, atol=1e-8)


@pytest.mark.parametrize("variant", gru.VARIANTS)
def test_same_states_and_gradients_as_autograd_through_the_equations(variant):
    ours = bridge.NumpyGRU(2, 5, variant, seed=3, dtype=torch.float64)
    theirs = train.BookGRU(2, 5, variant, seed=3, dtype=torch.float64)
    x = torch.tensor(np.random.default_rng(4).standard_normal((9, 3, 2)))
    R = torch.tensor(np.random.default_rng(5).standard_normal((9, 3, 5)))
    outs = []
    for module in (ours, theirs):
        out = module(x)
        (out * R).sum().backward()
        outs.append(out.detach())
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=1e-14)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-12, atol=1e-14, msg=name)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_states_and_gradients_keep_the_module_dtype(dtype):
    module = bridge.NumpyGRU(2, 3, "after", seed=0, dtype=dtype)
    x = torch.zeros(4, 2, 2, dtype=dtype, requires_grad=True)
    out = module(x)
    out.sum().backward()
    dtypes = {"out": out.dtype, "x": x.grad.dtype, **{name: p.grad.dtype for name, p in module.named_parameters()}}
    assert dtypes == {name: dtype for name in dtypes}


def test_trains_exactly_like_the_autograd_module():
    # same initial weights, batches and optimiser: after 20 steps the parameters still agree
    task = functools.partial(tasks.adding_problem, T=10, B=16)
    models = [train.SequenceModel(cls(2, 8, "after", seed=0), 8, 1, seed=0)
              for cls in (bridge.NumpyGRU, train.BookGRU)]
    models[1].load_state_dict(models[0].state_dict())
    histories = [train.train(m, task, steps=20, lr=1e-2, clip=1.0, seed=0, eval_every=10)
                 for m in models]
    assert histories[0]["loss"][-1] < histories[0]["loss"][0]
    np.testing.assert_allclose(histories[0]["loss"], histories[1]["loss"], rtol=1e-4)
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("x, message", [
    (np.zeros((3, 2, 2)), r"^x: expected a CPU tensor of shape \(T, B, K\), got ndarray"),
    (torch.zeros(3, 2), r"^x: .*got Tensor \(3, 2\)"),
    (torch.zeros(3, 2, 5), r"^x: expected K = 2 inputs per step, .* got \(3, 2, 5\)"),
    (torch.zeros(0, 2, 2), r"^x: expected at least one time step"),
    (torch.full((3, 2, 2), float("nan")), r"^x: contains NaN"),
])
def test_bad_input_is_named(x, message):
    with pytest.raises(ValueError, match=message):
        bridge.NumpyGRU(2, 3, seed=0)(x)
