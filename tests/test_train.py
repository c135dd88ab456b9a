import functools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _min_gru_run(module, x, R, v0=None):
    """The states of ``module`` (a float64 MinGRU) and the gradients of H = sum_t R(t) . V(t)
    for every parameter, x and (if given) v0: numpy float64."""
    x = torch.tensor(x, requires_grad=True)
    v0 = None if v0 is None else torch.tensor(v0, requires_grad=True)
    module.zero_grad()
    V = module(x, v0)
    (V * torch.as_tensor(R)).sum().backward()
    grads = {name: p.grad.numpy().copy() for name, p in module.named_parameters()}
    grads.update(x=x.grad.numpy(), **({} if v0 is None else {"v0": v0.grad.numpy()}))
    return V.detach().numpy(), grads


def _min_gru_pair(K, N, seed, scale=1.0):
    """The parallel and the looping MinGRU of one seed in float64, parameters times ``scale``."""
    pair = [train.MinGRU(K, N, seed=seed, parallel=p, dtype=torch.float64) for p in (True, False)]
    with torch.no_grad():
        for module in pair:
            for p in module.parameters():
                p.mul_(scale)
    return pair


@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 6), B=st.integers(1, 3), N=st.integers(1, 4), K=st.integers(1, 3),
       scale=st.sampled_from([1.0, 4.0]), seed=st.integers(0, 2**16))
def test_the_min_gru_scan_computes_the_loop_and_its_gradients(T, B, N, K, scale, seed):
    rng = np.random.default_rng(seed)
    x, R, v0 = (rng.standard_normal(shape) for shape in ((T, B, K), (T, B, N), (B, N)))
    scan, loop = _min_gru_pair(K, N, seed, scale)
    for start in (None, v0):
        (V, grads), (V_loop, grads_loop) = (_min_gru_run(m, x, R, start) for m in (scan, loop))
        assert gradcheck.relative_error(V, V_loop) < 1e-10
        assert set(grads) == set(grads_loop) == {"w_zx", "theta_z", "w_hx", "theta_h", "x"} | (
            set() if start is None else {"v0"})
        for name in grads:
            assert gradcheck.relative_error(grads[name], grads_loop[name]) < 1e-10, name


def test_the_min_gru_computes_its_equations():
    # one step from V(0) = 0, by hand in numpy: V(1) = (1 - z) h with g's two branches
    module = train.MinGRU(2, 3, seed=4, dtype=torch.float64)
    p = module.params()
    x = np.array([[[2.0, -1.0]], [[-2.0, 1.0]], [[0.3, 0.1]]])     # (1, 3, 2): a batch of three
    x = x.transpose(1, 0, 2)
    z = 1 / (1 + np.exp(-(x[0] @ p["w_zx"].T - p["theta_z"])))
    b = x[0] @ p["w_hx"].T - p["theta_h"]
    assert np.any(b > 0) and np.any(b < 0)
    h = np.where(b >= 0, b + 0.5, 1 / (1 + np.exp(-b)))
    for parallel in (True, False):
        module.parallel = parallel
        V = module(torch.tensor(x)).detach().numpy()
        np.testing.assert_allclose(V[0], (1 - z) * h, rtol=1e-13, atol=0)
    # the book's z keeps the state: with the gate shut open (theta_z far below), V(t) stays V(0)
    with torch.no_grad():
        module.theta_z.fill_(-40.0)
    v0 = torch.tensor([[0.7, -2.0, 0.0]], dtype=torch.float64)
    xs = torch.tensor(np.random.default_rng(1).standard_normal((50, 1, 2)))
    for parallel in (True, False):
        module.parallel = parallel
        torch.testing.assert_close(module(xs, v0), v0.expand(50, 1, 3), rtol=0, atol=1e-12)


def test_the_min_gru_gradients_match_finite_differences():
    module = train.MinGRU(2, 3, seed=2, dtype=torch.float64)
    rng = np.random.default_rng(3)
    x, R, v0 = (rng.standard_normal(shape) for shape in ((5, 2, 2), (5, 2, 3), (2, 3)))
    _, grads = _min_gru_run(module, x, R, v0)

    def H(p):
        # the energy by the loop, with numpy arrays in and a float out
        loop = train.MinGRU(2, 3, seed=0, parallel=False, dtype=torch.float64)
        with torch.no_grad():
            for name, value in loop.named_parameters():
                value.copy_(torch.as_tensor(p[name]))
            V = loop(torch.as_tensor(p["x"]), torch.as_tensor(p["v0"]))
            return float((V * torch.as_tensor(R)).sum())
    errors = gradcheck.gradient_check(H, {**module.params(), "x": x, "v0": v0}, grads)
    assert max(errors.values()) < 1e-8, errors


def test_the_min_gru_carries_a_state_from_one_chunk_to_the_next():
    module = train.MinGRU(3, 4, seed=1, dtype=torch.float64)
    x = torch.tensor(np.random.default_rng(2).standard_normal((9, 2, 3)))
    whole = module(x)
    torch.testing.assert_close(module(x, torch.zeros(2, 4, dtype=torch.float64)), whole,
                               rtol=0, atol=0)
    first = module(x[:4])
    torch.testing.assert_close(torch.cat([first, module(x[4:], first[-1])]), whole,
                               rtol=0, atol=1e-14)
    # a negative V(0) too: it enters as A(t) V(0), not through the logarithm
    assert not torch.equal(module(x, -torch.ones(2, 4, dtype=torch.float64)), whole)
    module.parallel = False
    loop = module(x, -torch.ones(2, 4, dtype=torch.float64))
    module.parallel = True
    torch.testing.assert_close(module(x, -torch.ones(2, 4, dtype=torch.float64)), loop,
                               rtol=0, atol=1e-14)


def _float32_run(module, x, R):
    """``_min_gru_run`` of ``module``'s parameters in float32, without v0: float64 numpy out."""
    single = train.MinGRU(module.w_zx.shape[1], module.w_zx.shape[0], seed=0)
    single.load_state_dict({k: v.float() for k, v in module.state_dict().items()})
    x = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    V = single(x)
    (V * torch.as_tensor(R, dtype=torch.float32)).sum().backward()
    grads = {name: p.grad.double().numpy() for name, p in single.named_parameters()}
    return V.detach().double().numpy(), {**grads, "x": x.grad.double().numpy()}


@pytest.mark.parametrize("T, gate_error", [(200, 1e-2), (1000, 0.3)])
def test_the_min_gru_scan_is_stable_on_long_sequences(T, gate_error):
    # The scan adds and subtracts log A(t) = sum of log z, which falls about linearly in t: its
    # results round to about eps |log A|. Gates from nearly shut to nearly open (parameters x 30,
    # log A(T) near -6 T): float64 still keeps 1e-10 in the states and 1e-7 in the gradients,
    # and float32 stays finite.
    rng = np.random.default_rng(T)
    x, R = rng.standard_normal((T, 4, 2)), rng.standard_normal((T, 4, 5))
    scan, loop = _min_gru_pair(2, 5, seed=0, scale=30.0)
    assert np.abs(scan.params()["theta_z"]).max() > 5
    (V, grads), (V_loop, grads_loop) = (_min_gru_run(m, x, R) for m in (scan, loop))
    assert gradcheck.relative_error(V, V_loop) < 1e-10
    assert max(gradcheck.relative_error(grads[k], grads_loop[k]) for k in grads) < 1e-7
    V32, grads32 = _float32_run(scan, x, R)
    assert np.all(np.isfinite(V32)) and all(np.all(np.isfinite(g)) for g in grads32.values())
    # From the initial parameters, float32's states keep 1e-4 and the candidate's and the inputs'
    # gradients 1e-3, but the gates' gradients, a difference of two such sums, lose digits as T
    # grows (measured: 1e-3 at T = 200, 9e-2 at T = 1000; the float32 loop's keep 1e-6)
    scan, loop = _min_gru_pair(2, 5, seed=0)
    (V_loop, grads_loop), (V32, grads32) = _min_gru_run(loop, x, R), _float32_run(scan, x, R)
    error = {k: gradcheck.relative_error(grads32[k], grads_loop[k]) for k in grads32}
    assert gradcheck.relative_error(V32, V_loop) < 1e-4
    assert max(error["w_hx"], error["theta_h"], error["x"]) < 1e-3, error
    assert gate_error / 100 < max(error["w_zx"], error["theta_z"]) < gate_error, error


def test_the_float32_min_gru_is_close_to_the_float64_one():
    x = np.random.default_rng(0).standard_normal((50, 3, 2))
    V64 = train.MinGRU(2, 6, seed=7, dtype=torch.float64)(torch.tensor(x)).detach().numpy()
    V32 = train.MinGRU(2, 6, seed=7)(torch.tensor(x, dtype=torch.float32))
    assert V32.dtype == torch.float32
    assert 0 < gradcheck.relative_error(V32.detach().numpy(), V64) < 1e-5


def test_the_min_gru_is_drawn_from_its_seed_in_torch_grus_range():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first, again, other = (train.MinGRU(2, 16, seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())   # global state kept
    assert [n for n, _ in first.named_parameters()] == ["w_zx", "theta_z", "w_hx", "theta_h"]
    shapes = {n: tuple(p.shape) for n, p in first.named_parameters()}
    assert shapes == {"w_zx": (16, 2), "theta_z": (16,), "w_hx": (16, 2), "theta_h": (16,)}
    assert all(torch.equal(a, b) for a, b in zip(first.parameters(), again.parameters()))
    assert not any(torch.equal(a, b) for a, b in zip(first.parameters(), other.parameters()))
    values = np.concatenate([a.ravel() for a in first.params().values()])
    assert np.abs(values).max() <= 0.25 and np.abs(values).max() > 0.2     # 1 / sqrt(16)
    assert abs(values.mean()) < 0.05 and abs(values.std() - 0.25 / np.sqrt(3)) < 0.02   # uniform
    # the float32 model is the float64 one rounded, and params() are float64 either way
    wide = train.MinGRU(2, 16, seed=5, dtype=torch.float64)
    assert wide.w_hx.dtype == torch.float64 and first.w_hx.dtype == torch.float32
    for name, value in wide.params().items():
        np.testing.assert_array_equal(value.astype(np.float32), first.params()[name])
        assert first.params()[name].dtype == np.float64


def test_a_sequence_model_around_the_min_gru_trains(one_thread):
    task = functools.partial(tasks.adding_problem, T=6, B=64)
    histories = []
    for parallel in (True, False):
        cell = train.MinGRU(2, 16, seed=0, parallel=parallel)
        model = train.SequenceModel(cell, 16, 1, seed=0)
        histories.append(train.train(model, task, 200, lr=3e-2, seed=0, eval_every=50))
    scan, loop = histories
    assert scan["eval_loss"][0] > 1 / 6 and scan["eval_loss"][-1] < 1 / 12 / 4
    # the same training either way, up to float32's rounding of the two computations
    np.testing.assert_allclose(scan["eval_loss"], loop["eval_loss"], rtol=1e-2)


@pytest.mark.parametrize("call, message", [
    (lambda: train.MinGRU(0, 4, seed=0), "^K: expected an integer >= 1"),
    (lambda: train.MinGRU(2, 2.5, seed=0), "^N: expected an integer >= 1"),
    (lambda: train.MinGRU(2, 4, seed=None), "^seed: expected an integer seed >= 0"),
    (lambda: train.MinGRU(2, 4, seed=0, parallel=1), "^parallel: expected True or False"),
    (lambda: train.MinGRU(2, 4, seed=0, dtype=torch.float16), "^dtype: expected torch.float32"),
    (lambda: train.MinGRU(2, 4, seed=0)(np.zeros((3, 1, 2))), "^x: expected a torch tensor"),
    (lambda: train.MinGRU(2, 4, seed=0)(torch.zeros(3, 1, 3)), "^x: expected shape"),
    (lambda: train.MinGRU(2, 4, seed=0)(torch.zeros(3, 2)), "^x: expected 3 axes"),
    (lambda: train.MinGRU(2, 4, seed=0)(torch.zeros(0, 1, 2)), "^x: expected at least one time"),
    (lambda: train.MinGRU(2, 4, seed=0)(torch.zeros(3, 1, 2, dtype=torch.float64)),
     "^x: expected dtype torch.float32 to agree with the parameters"),
    (lambda: train.MinGRU(2, 4, seed=0)(torch.full((3, 1, 2), float("nan"))), "^x: contains NaN"),
    (lambda: train.MinGRU(2, 4, seed=0)(torch.zeros(3, 1, 2), torch.zeros(2, 4)),
     "^v0: expected shape"),
    (lambda: train.MinGRU(2, 4, seed=0)(torch.zeros(3, 1, 2), [[0.0] * 4]),
     "^v0: expected a torch tensor"),
])
def test_the_min_gru_checks_its_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


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
