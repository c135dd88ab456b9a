import functools

import numpy as np
import pytest
import torch

from rnnbook import gradcheck, gru, reference, tasks, train

ADDING = functools.partial(tasks.adding_problem, T=6, B=16)
ECHO = functools.partial(tasks.delayed_echo, T=8, B=16, delay=1)


def run(seed=0, steps=30, cell="rnn", **kwargs):
    model = train.make_model(cell, 2, 8, 1, seed=seed)
    return model, train.train(model, ADDING, steps, lr=1e-2, seed=seed, eval_every=10, **kwargs)


def test_training_is_deterministic_for_a_seed():
    _, first = run(seed=3)
    _, second = run(seed=3)
    assert first == second
    _, other = run(seed=4)
    assert other["loss"] != first["loss"]


def test_history_lists_every_step_and_the_evaluations():
    _, history = run(steps=25)
    assert history["step"] == list(range(1, 26))
    assert len(history["loss"]) == len(history["grad_norm"]) == 25
    assert history["eval_step"] == [0, 10, 20, 25]
    assert len(history["eval_loss"]) == 4 and history["stopped"] == "steps"
    assert all(n > 0 for n in history["grad_norm"])


def test_a_short_adding_problem_is_learned_below_the_baselines():
    model = train.make_model("rnn", 2, 16, 1, seed=0)
    task = functools.partial(tasks.adding_problem, T=4, B=64)
    history = train.train(model, task, 400, lr=1e-2, seed=0)
    assert history["eval_loss"][0] > 1 / 6
    assert history["eval_loss"][-1] < 1 / 12 / 4


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_gated_cells_train_every_step_targets(cell):
    model = train.make_model(cell, 1, 8, 1, seed=0, every_step=True)
    history = train.train(model, ECHO, 150, lr=2e-2, seed=0)
    assert history["eval_loss"][-1] < 0.5 * history["eval_loss"][0]


def test_any_module_that_returns_states_can_be_trained():
    class Cumulative(torch.nn.Module):
        """A toy recurrent module: V(t) = tanh(a * cumulative sum of x), returned as a tensor."""

        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.ones(3))

        def forward(self, x):
            return torch.tanh(self.a * torch.cumsum(x, dim=0).sum(-1, keepdim=True))

    model = train.SequenceModel(Cumulative(), 3, 1, seed=0)
    history = train.train(model, ADDING, 5, seed=0)
    assert len(history["loss"]) == 5 and model.recurrent.a.grad is not None


def test_clipping_rescales_the_gradient_and_records_the_norm_before_it():
    model, history = run(steps=5, clip=1e-3)
    after = torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters())).item()
    assert history["grad_norm"][-1] > 1e-3
    assert after == pytest.approx(1e-3, rel=1e-4)
    model, history = run(steps=5)
    after = torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters())).item()
    assert after == pytest.approx(history["grad_norm"][-1], rel=1e-5)


def test_early_stop_on_the_target_loss():
    _, history = run(steps=50, target_loss=100.0)
    assert history["stopped"] == "target_loss" and history["step"] == [] and history["eval_step"] == [0]
    model = train.make_model("rnn", 2, 16, 1, seed=0)
    task = functools.partial(tasks.adding_problem, T=4, B=64)
    history = train.train(model, task, 1000, lr=1e-2, seed=0, target_loss=0.05, eval_every=20)
    assert history["stopped"] == "target_loss" and history["eval_loss"][-1] <= 0.05
    assert history["step"][-1] == history["eval_step"][-1] < 1000


def test_the_callback_sees_the_model_at_every_evaluation_and_changes_nothing():
    def readout(step, model):
        return step, model.readout.weight.sum().item()

    model, history = run(steps=25, callback=readout)
    _, plain = run(steps=25)
    assert {k: v for k, v in history.items() if k != "callback"} == plain and "callback" not in plain
    assert [c[0] for c in history["callback"]] == history["eval_step"] == [0, 10, 20, 25]
    # the callback saw the weights of that moment: the readout moves between evaluations
    weights = [c[1] for c in history["callback"]]
    assert len(set(weights)) == 4 and weights[-1] == model.readout.weight.sum().item()
    # an early stop is an evaluation too: its measurement is the last one
    _, stopped = run(steps=50, target_loss=100.0, callback=lambda step, model: step)
    assert stopped["callback"] == stopped["eval_step"] == [0]


def test_a_non_finite_loss_stops_training():
    def broken(seed):
        x, y = ADDING(seed=seed)
        return x, np.full_like(y, np.inf)
    model = train.make_model("rnn", 2, 8, 1, seed=0)
    history = train.train(model, broken, 10, seed=0)
    assert history["stopped"] == "non-finite loss" and history["step"] == []


def test_make_model_leaves_the_global_random_state_alone():
    cell = torch.nn.GRU(2, 4)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train.make_model("rnn", 2, 4, 1, seed=0)
    train.SequenceModel(cell, 4, 1, seed=0)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())
    first = train.make_model("gru", 2, 4, 1, seed=5).state_dict()
    second = train.make_model("gru", 2, 4, 1, seed=5).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_the_readout_is_drawn_from_the_seed_or_from_torch_when_it_is_none():
    cell = torch.nn.GRU(2, 4)
    readouts = [train.SequenceModel(cell, 4, 1, seed=s).readout.weight for s in (7, 7, 8)]
    assert torch.equal(readouts[0], readouts[1]) and not torch.equal(readouts[0], readouts[2])
    torch.manual_seed(7)
    assert torch.equal(train.SequenceModel(cell, 4, 1, seed=None).readout.weight, readouts[0])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_models_are_float32_as_torch_unless_given_a_dtype(dtype):
    models = {"make_model": train.make_model("gru", 2, 4, 1, seed=0).to(dtype),
              "BookGRU": train.BookGRU(2, 4, seed=0, dtype=dtype)}
    x = torch.zeros(3, 2, 2, dtype=dtype)
    assert train.BookGRU(2, 4, seed=0).w_zv.dtype == torch.float32
    assert {name: model(x).dtype for name, model in models.items()} == {name: dtype for name in models}
    assert {a.dtype for a in models["BookGRU"].params().values()} == {np.dtype(np.float64)}


@pytest.mark.parametrize("variant", gru.VARIANTS)
def test_book_gru_computes_the_states_and_gradients_of_rnnbook_gru(variant):
    module = train.BookGRU(2, 4, variant, seed=5, z_bias=1.0, dtype=torch.float64)
    params = module.params()
    np.testing.assert_array_equal(params["w_hv"], gru.init_params(2, 4, variant, seed=5)["w_hv"])
    x = np.random.default_rng(6).standard_normal((7, 3, 2))
    out = module(reference.as_tensor(x))
    R = np.random.default_rng(7).standard_normal((7, 3, 4))
    (out * reference.as_tensor(R)).sum().backward()
    V, cache = gru.gru_forward(x, params, variant=variant)
    np.testing.assert_allclose(out.detach().numpy(), V[1:], rtol=0, atol=1e-15)
    grads = gru.gru_backward(np.concatenate([np.zeros((1, 3, 4)), R]), cache)
    for name, p in module.named_parameters():
        assert gradcheck.relative_error(grads[name], p.grad.numpy()) < 1e-12, name


def test_the_progress_bar_stays_off_unless_asked(capfd):
    run(steps=3)
    assert capfd.readouterr().err == ""
    run(steps=3, progress=True)
    assert "training" in capfd.readouterr().err


@pytest.mark.parametrize("kwargs, message", [
    (dict(steps=0), "steps: expected an integer >= 1"),
    (dict(lr=0.0), "lr: expected a positive number"),
    (dict(lr=float("nan")), "lr: expected a positive number"),
    (dict(clip=-1.0), "clip: expected a positive number or None"),
    (dict(target_loss="low"), "target_loss: expected a positive number or None"),
    (dict(eval_every=0), "eval_every: expected an integer >= 1"),
    (dict(device="abacus"), "device: expected 'cpu', 'cuda' or a torch.device"),
])
def test_bad_arguments_are_rejected(kwargs, message):
    model = train.make_model("rnn", 2, 4, 1, seed=0)
    with pytest.raises(ValueError, match=message):
        train.train(model, ADDING, **{"steps": 2, "seed": 0, **kwargs})


def test_asking_for_a_gpu_that_is_not_there_is_a_clear_error():
    model = train.make_model("rnn", 2, 4, 1, seed=0)
    if torch.cuda.is_available():
        history = train.train(model, ADDING, 2, seed=0, device="cuda")
        assert next(model.parameters()).device.type == "cuda" and len(history["loss"]) == 2
    else:
        with pytest.raises(ValueError, match="device: CUDA was asked for but torch finds no GPU"):
            train.train(model, ADDING, 2, seed=0, device="cuda")


def test_targets_at_every_step_need_every_step_outputs():
    model = train.make_model("rnn", 1, 4, 1, seed=0)
    with pytest.raises(ValueError, match=r"use every_step=True"):
        train.train(model, ECHO, 2, seed=0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(cell="transformer"), "cell: expected one of"),
    (dict(N=0), "N: expected an integer >= 1"),
])
def test_make_model_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train.make_model(**{"cell": "rnn", "K": 2, "N": 4, "M": 1, "seed": 0, **kwargs})


@pytest.mark.parametrize("call, message", [
    (lambda m: train.make_model("rnn", 2, 4, 1, seed=2.5), "^seed: expected an integer seed >= 0"),
    (lambda m: train.make_model("rnn", 2, 4, 1, seed=0, every_step=1), "^every_step: expected True or False"),
    (lambda m: train.make_model(["rnn"], 2, 4, 1, seed=0), "^cell: expected a name"),
    (lambda m: train.SequenceModel("rnn", 4, 1, seed=0), "^recurrent: expected a torch.nn.Module"),
    (lambda m: train.SequenceModel(torch.nn.RNN(2, 4), 4, 1, seed=-1), "^seed: expected an integer"),
    (lambda m: train.BookGRU(2, 4, seed=0, dtype=torch.int64), "^dtype: expected torch.float32"),
    (lambda m: train.BookGRU(2, 4, seed=0, z_bias=float("nan")), "^z_bias: expected a finite number"),
    (lambda m: train.train(None, ADDING, 2, seed=0), "^model: expected a torch.nn.Module"),
    (lambda m: train.train(m, "adding", 2, seed=0), "^task: expected a function"),
    (lambda m: train.train(m, ADDING, 2, seed=0, lr=True), "^lr: expected a positive number"),
    (lambda m: train.train(m, ADDING, 2, seed=-1), "^seed: expected an integer seed >= 0"),
    (lambda m: train.train(m, ADDING, 2, seed=0, eval_batches=0), "^eval_batches: expected an integer >= 1"),
    (lambda m: train.train(m, ADDING, 2, seed=0, progress="yes"), "^progress: expected True or False"),
    (lambda m: train.train(m, ADDING, 2, seed=0, callback="print"), "^callback: expected a function"),
])
def test_every_argument_is_checked_before_training(call, message):
    model = train.make_model("rnn", 2, 4, 1, seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=message):
        call(model)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
