import functools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnbook import bridge, gradcheck, gru, reference, tasks, train


@pytest.mark.parametrize("variant", gru.VARIANTS)
def test_the_function_passes_torch_gradcheck(variant):
    # finite differences of the numpy forward against the numpy backward, through torch's wiring
    module = bridge.NumpyGRU(2, 3, variant, seed=1, z_bias=0.5, dtype=torch.float64)
    weights = [getattr(module, name) for name in gru.param_names(variant)]
    rng = np.random.default_rng(2)
    x = torch.tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    v0 = torch.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, v0, *w: bridge.GRUFunction.apply(x, v0, variant, *w),
        (x, v0, *weights), eps=1e-6, atol=1e-8)


def _through_both(T, B, N, K, variant, seed):
    """The gradients of H = sum_t R(t) . V(t), V(0) = v0 random, for x, v0 and every parameter:
    (by NumpyGRU, by autograd through reference.gru_forward), numpy float64 dicts."""
    rng = np.random.default_rng(seed)
    module = bridge.NumpyGRU(K, N, variant, seed=seed, z_bias=0.5, dtype=torch.float64)
    x, v0, R = (rng.standard_normal(shape) for shape in ((T, B, K), (B, N), (T, B, N)))
    x_t, v0_t = (torch.tensor(a, requires_grad=True) for a in (x, v0))
    (module(x_t, v0_t) * torch.tensor(R)).sum().backward()
    ours = {"x": x_t.grad.numpy(), "v0": v0_t.grad.numpy(),
            **{name: p.grad.numpy() for name, p in module.named_parameters()}}
    params = module.params()

    def H(t):
        weights = {name: t[name] for name in params}
        V = reference.gru_forward(t["x"], weights, t["v0"], variant=variant)
        return (V[1:] * reference.as_tensor(R)).sum()
    return ours, reference.autograd_gradients(H, {**params, "x": x, "v0": v0})[1]


@pytest.mark.parametrize("variant", gru.VARIANTS)
def test_the_initial_state_gets_autograds_gradient(variant):
    ours, theirs = _through_both(5, 3, 4, 2, variant, seed=6)
    assert set(ours) == set(theirs)
    for name in ours:
        assert gradcheck.relative_error(ours[name], theirs[name]) < 1e-10, name
    assert np.abs(ours["v0"]).min() > 0     # V(0) matters: a zero gradient would pass too easily


@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 5), B=st.integers(1, 3), N=st.integers(1, 4), K=st.integers(1, 3),
       variant=st.sampled_from(gru.VARIANTS), seed=st.integers(0, 2**16))
def test_the_initial_states_gradient_on_random_shapes(T, B, N, K, variant, seed):
    ours, theirs = _through_both(T, B, N, K, variant, seed)
    for name in ours:
        assert gradcheck.relative_error(ours[name], theirs[name]) < 1e-10, name


def test_v0_none_is_zeros_and_a_given_state_changes_the_states():
    module = bridge.NumpyGRU(2, 3, "after", seed=0, dtype=torch.float64)
    x = torch.tensor(np.random.default_rng(1).standard_normal((4, 2, 2)))
    torch.testing.assert_close(module(x), module(x, torch.zeros(2, 3, dtype=torch.float64)),
                               rtol=0, atol=0)
    assert not torch.equal(module(x), module(x, torch.ones(2, 3, dtype=torch.float64)))
    # a state carried from one chunk into the next gives the states of one run over both chunks
    whole = module(x)
    first = module(x[:2])
    torch.testing.assert_close(torch.cat([first, module(x[2:], first[-1])]), whole,
                               rtol=0, atol=1e-15)


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
    v0 = torch.zeros(2, 3, dtype=dtype, requires_grad=True)
    out = module(x, v0)
    out.sum().backward()
    dtypes = {"out": out.dtype, "x": x.grad.dtype, "v0": v0.grad.dtype,
              **{name: p.grad.dtype for name, p in module.named_parameters()}}
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


class _AutogradGRU(train.BookGRU):
    """BookGRU with an initial state: autograd through reference.gru_forward from v0."""

    def forward(self, x, v0):
        return reference.gru_forward(x, dict(self.named_parameters()), v0,
                                     variant=self.variant)[1:]


@pytest.mark.parametrize("variant", gru.VARIANTS)
def test_trains_with_a_carried_state_exactly_like_autograd(variant):
    # truncated BPTT over consecutive chunks of one long sequence, the state carried and detached
    # between them: the gradients into the carried state flow within each chunk only
    rng = np.random.default_rng(7)
    T, B, N, K, chunks = 4, 3, 5, 2, 6
    x = torch.tensor(rng.standard_normal((T * chunks, B, K)))
    y = torch.tensor(rng.standard_normal((T * chunks, B, 1)))
    cells = [cls(K, N, variant, seed=0, dtype=torch.float64)
             for cls in (bridge.NumpyGRU, _AutogradGRU)]
    readouts = [torch.nn.Linear(N, 1).double() for _ in cells]
    readouts[1].load_state_dict(readouts[0].state_dict())
    losses = []
    for cell, readout in zip(cells, readouts):
        optimiser = torch.optim.Adam([*cell.parameters(), *readout.parameters()], lr=1e-2)
        state, curve = torch.zeros(B, N, dtype=torch.float64), []
        for c in range(chunks):
            V = cell(x[c * T:(c + 1) * T], state)
            loss = torch.mean((readout(V) - y[c * T:(c + 1) * T]) ** 2)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            state, curve = V[-1].detach(), curve + [loss.item()]
        losses.append(curve)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-12)
    assert losses[0][-1] != losses[0][0]
    for (name, p), q in zip(cells[0].named_parameters(), cells[1].parameters()):
        torch.testing.assert_close(p, q, rtol=1e-11, atol=1e-13, msg=name)
        assert not torch.equal(p, getattr(bridge.NumpyGRU(K, N, variant, seed=0,
                                                          dtype=torch.float64), name)), name


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


@pytest.mark.parametrize("v0, message", [
    (np.zeros((2, 3)), r"^v0: expected a CPU tensor of shape \(B, N\), got ndarray"),
    ([[0.0] * 3] * 2, r"^v0: expected a CPU tensor"),
    (torch.zeros(1, 2, 3), r"^v0: .*got Tensor \(1, 2, 3\)"),
    (torch.zeros(3, 3), r"^v0: expected shape \(B, N\) = \(2, 3\)"),
    (torch.zeros(2, 4), r"^v0: expected shape \(B, N\) = \(2, 3\)"),
    (torch.zeros(2, 3, dtype=torch.float16), r"^v0: expected a tensor of float32 or float64"),
    (torch.full((2, 3), float("inf")), r"^v0: contains NaN or inf"),
])
def test_bad_initial_state_is_named(v0, message):
    with pytest.raises(ValueError, match=message):
        bridge.NumpyGRU(2, 3, seed=0)(torch.zeros(4, 2, 2), v0)
