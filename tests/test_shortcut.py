import json
import math

import numpy as np
import pytest
import torch

from rnnbook import bridge, gru, horizon, shortcut, tasks, torchnn, train

STORED = shortcut.load_results()
X, Y = tasks.adding_problem(T=9, B=5, seed=1)
SIGMA3 = 1 / (1 + math.exp(-horizon.RAISE))


def _adding_net(cell, seed=0, N=4):
    return train.make_model(cell, 2, N, 1, seed=seed)


def _by_hand(model, x, y):
    """The snapshot's quantities by torch autograd in float64, from torch's own weights: a loop
    over time with the gates of torch.nn.GRU (or torch.nn.RNN's step) written out, every state
    and the update gate's local fields kept for their gradients."""
    p = {k: v.detach().double() for k, v in model.recurrent.named_parameters()}
    w_o, b_o = (t.detach().double() for t in (model.readout.weight, model.readout.bias))
    x = torch.as_tensor(x)
    V, states, fields = torch.zeros(x.shape[1], model.recurrent.hidden_size, dtype=torch.float64), [], []
    states.append(V.requires_grad_())
    for t in range(x.shape[0]):
        gi, gh = x[t] @ p["weight_ih_l0"].T + p["bias_ih_l0"], V @ p["weight_hh_l0"].T + p["bias_hh_l0"]
        if isinstance(model.recurrent, torch.nn.GRU):
            (ir, iz, i_n), (hr, hz, hn) = gi.chunk(3, 1), gh.chunk(3, 1)    # torch's order r, z, n
            a_z = iz + hz
            a_z.retain_grad()
            fields.append(a_z)
            r, z = torch.sigmoid(ir + hr), torch.sigmoid(a_z)
            V = (1 - z) * torch.tanh(i_n + r * hn) + z * V
        else:
            V = torch.tanh(gi + gh)
        V.retain_grad()
        states.append(V)
    O = V @ w_o.T + b_o
    np.testing.assert_allclose(O.detach().numpy(), model(x.float()).detach().numpy(), atol=1e-5)
    O.sum().backward(retain_graph=True)        # sequences do not mix: one pass gives each dO/dV
    profile = torch.stack([s.grad.norm(dim=1).mean() for s in states]).numpy()[::-1]
    out = {"lag_profile": profile, "probe_mse": torch.mean((O - torch.as_tensor(y)) ** 2).item()}
    if fields:
        for s in states + fields:
            s.grad = None
        torch.mean((O - torch.as_tensor(y)) ** 2).backward()
        errors = torch.stack([a.grad for a in fields]).numpy()[::-1]
        out.update(z_error_by_lag=np.abs(errors).sum(axis=(1, 2)), z_push_by_lag=-errors.sum(axis=(1, 2)))
    return out


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_the_snapshot_agrees_with_autograd_of_torchs_own_weights(cell):
    model = _adding_net(cell, seed=3)
    with torch.no_grad():       # away from initialisation, so that the gates are not all near 1/2
        for p in model.parameters():
            p.mul_(3.0)
    snap, expected = shortcut.snapshot(model, X, Y), _by_hand(model, X, Y)
    assert set(snap) == ({"probe_mse", "lag_profile"} | ({"z_unmarked", "z_marked", "half_life",
                         "z_error_by_lag", "z_push_by_lag"} if cell == "gru" else set()))
    assert len(snap["lag_profile"]) == X.shape[0] + 1
    for key, value in expected.items():
        # the snapshot keeps four digits; a wrong index or a missing factor is far off that
        scale = np.max(np.abs(value))
        np.testing.assert_allclose(snap[key], value, rtol=1e-3, atol=1e-4 * scale, err_msg=key)
    assert snap["lag_profile"][0] != snap["lag_profile"][-1]


@pytest.mark.parametrize("variant", gru.VARIANTS)
def test_the_update_gate_errors_sum_to_the_threshold_gradient(variant):
    rng = np.random.default_rng(0)
    params = gru.init_params(3, 4, variant, seed=1, scale=1.0)
    x = rng.standard_normal((6, 2, 3))
    _, cache = gru.gru_forward(x, params, variant=variant)
    grads = gru.gru_backward(rng.standard_normal((7, 2, 4)), cache)
    errors = shortcut.update_gate_errors(cache, grads["V"])
    assert errors.shape == (6, 2, 4) and errors.dtype == np.float64
    np.testing.assert_allclose(-errors.sum(axis=(0, 1)), grads["theta_z"], rtol=1e-12, atol=0)
    # and the weights' gradients: each step's error times what the gate saw at that step
    np.testing.assert_allclose(np.einsum("tbi,tbj->ij", errors, cache["V"][:-1]), grads["w_zv"],
                               rtol=1e-12, atol=1e-15)
    # one step later or earlier would not do
    assert not np.allclose(-errors[1:].sum(axis=(0, 1)), grads["theta_z"], rtol=1e-3)


def test_the_gate_summaries_of_fixed_gates():
    x, y = tasks.adding_problem(T=30, B=8, seed=2)
    leaky = shortcut.snapshot(horizon.make_model("gru-leaky", seed=0), x, y)
    N = horizon.SETUP["N"]
    np.testing.assert_allclose(leaky["z_marked"], [SIGMA3] * N, rtol=1e-4)
    np.testing.assert_allclose(leaky["z_unmarked"], [SIGMA3] * N, rtol=1e-4)
    np.testing.assert_allclose(leaky["half_life"], [-math.log(2) / math.log(SIGMA3)] * N, rtol=1e-3)
    shut = shortcut.snapshot(horizon.make_model("gru-no-update", seed=0), x, y)
    assert shut["half_life"] == [0.0] * N and shut["z_error_by_lag"] == [0.0] * 30
    closed = horizon.make_model("gru", seed=0)          # z = 1: the state is copied, untouched
    with torch.no_grad():
        closed.recurrent.bias_ih_l0[torchnn.gate_rows("z", N)] = -horizon.SHUT
    kept = shortcut.snapshot(closed, x, y)
    assert kept["half_life"] == [math.inf] * N and kept["z_marked"] == [1.0] * N
    w_ov = closed.readout.weight.detach().double().norm().item()
    np.testing.assert_allclose(kept["lag_profile"], [w_ov] * 31, rtol=1e-4)    # dV(t)/dV(t-1) = I


def test_the_half_life_counts_the_steps_between_the_markers():
    model = horizon.make_model("gru", seed=1)
    x, y = tasks.adding_problem(T=12, B=6, seed=3)
    _, cache = gru.gru_forward(x, torchnn.gru_params_from_torch(model.recurrent), variant="after")
    logs = []
    for b in range(6):
        t1, t2 = np.flatnonzero(x[:, b, 1])
        logs.extend(np.log(cache["z"][t1 + 1:t2, b]))
    expected = -math.log(2) / np.mean(logs, axis=0)
    snap = shortcut.snapshot(model, x, y)
    np.testing.assert_allclose(snap["half_life"], expected, rtol=1e-3)
    marked = x[..., 1] == 1
    np.testing.assert_allclose(snap["z_marked"], cache["z"][marked].mean(axis=0), rtol=1e-3)


@pytest.mark.parametrize("call, message", [
    (lambda: shortcut.snapshot(train.make_model("lstm", 2, 4, 1, seed=0), X, Y), "model: expected"),
    (lambda: shortcut.snapshot(train.make_model("gru", 2, 4, 1, seed=0, every_step=True), X, Y),
     "model: expected the adding problem's network"),
    (lambda: shortcut.snapshot(train.make_model("gru", 3, 4, 1, seed=0), X, Y), "model: expected"),
    (lambda: shortcut.snapshot(torch.nn.GRU(2, 4), X, Y), "model: expected a train.SequenceModel"),
    (lambda: shortcut.snapshot(_adding_net("gru"), X * 0, Y), "x: expected the adding problem's markers"),
    (lambda: shortcut.snapshot(_adding_net("gru"), X[..., :1], Y), "x: expected shape"),
    (lambda: shortcut.snapshot(_adding_net("gru"), X, Y[:-1]), "y: expected shape"),
    (lambda: shortcut.run("lstm", 10, seed=0), "name: expected one of"),
    (lambda: shortcut.run("gru", 1, seed=0), "T: expected a sequence length >= 2"),
    (lambda: shortcut.run("gru", 10, seed=0, steps=0), "steps: expected"),
])
def test_bad_arguments_are_refused_by_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("name", ["gru", "rnn"])
def test_a_short_run_measures_the_run_of_horizon(name, one_thread):
    record, model = shortcut.run(name, 8, seed=0, steps=2)
    plain = horizon.run_cell(name, 8, seed=0, steps=2)
    assert set(record) == set(plain) | {"snapshots", "cpu_seconds"}
    assert {k: v for k, v in record.items() if k not in ("snapshots", "cpu_seconds", "seconds")} == \
        {k: v for k, v in plain.items() if k != "seconds"}        # the same training, bit for bit
    assert record["eval_step"] == [0, 2] and len(record["snapshots"]) == 2
    probe = tasks.adding_problem(8, horizon.SETUP["B"], seed=shortcut.PROBE_SEED)
    assert record["snapshots"][0] == shortcut.snapshot(horizon.make_model(name, seed=0), *probe)
    assert record["snapshots"][-1] == shortcut.snapshot(model, *probe)
    assert record["snapshots"][0] != record["snapshots"][-1]
    assert 0 < record["cpu_seconds"] and json.loads(json.dumps(record)) == record


def test_compare_accepts_the_stored_run_and_refuses_changed_ones():
    stored = horizon.find_run(STORED, "gru", 100, 0)
    same = shortcut.compare(stored, stored)
    assert same["same"] and same["profile_decades"] == 0 and same["half_life_factor"] == 1
    # one evaluation ahead, as on another CPU: its snapshots stay in the band of the stored ones
    ahead = dict(stored, snapshots=stored["snapshots"][1:] + stored["snapshots"][-1:])
    assert shortcut.compare(ahead, stored)["profile_decades"] == 0
    assert shortcut.compare(ahead, stored)["same"]
    two = dict(stored, snapshots=stored["snapshots"][3:] + stored["snapshots"][-1:] * 3)
    assert shortcut.compare(two, stored)["profile_decades"] > shortcut.PROFILE_DECADES
    last = stored["snapshots"][-1]
    deeper = [v * 10 ** (-2 * shortcut.PROFILE_DECADES) if lag > 50 else v
              for lag, v in enumerate(last["lag_profile"])]
    changed = dict(stored, snapshots=stored["snapshots"][:-1] + [dict(last, lag_profile=deeper)])
    assert shortcut.compare(changed, stored)["profile_decades"] > shortcut.PROFILE_DECADES
    assert not shortcut.compare(changed, stored)["same"]
    longer = [h * 2 * shortcut.HALF_LIFE_FACTOR for h in last["half_life"]]
    changed = dict(stored, snapshots=stored["snapshots"][:-1] + [dict(last, half_life=longer)])
    assert shortcut.compare(changed, stored)["half_life_factor"] > shortcut.HALF_LIFE_FACTOR
    assert not shortcut.compare(changed, stored)["same"]
    assert not shortcut.compare(horizon.find_run(STORED, "gru", 100, 1), stored)["same"]
    with pytest.raises(ValueError, match="record"):
        shortcut.compare(dict(stored, snapshots=stored["snapshots"][:-1]), stored)


def test_the_stored_file_has_the_runs_the_chapter_needs():
    assert STORED["setup"] == horizon.SETUP and STORED["seeds"] == list(horizon.SEEDS)
    assert STORED["grid"] == {k: list(v) for k, v in shortcut.GRID.items()}
    assert STORED["probe"] == {"B": horizon.SETUP["B"], "seed": shortcut.PROBE_SEED}
    grid = horizon.load_results()
    N = horizon.SETUP["N"]
    for name, T, seed in horizon.cells(shortcut.GRID):
        run = horizon.find_run(STORED, name, T, seed)
        # the same training as Chapter 5's stored cell: its learning curve, digit for digit
        assert run["eval_loss"] == horizon.find_run(grid, name, T, seed)["eval_loss"]
        assert len(run["snapshots"]) == len(run["eval_step"])
        for snap in run["snapshots"]:
            assert len(snap["lag_profile"]) == T + 1
            if name == "gru":
                assert len(snap["half_life"]) == len(snap["z_marked"]) == N
                assert len(snap["z_error_by_lag"]) == len(snap["z_push_by_lag"]) == T
    assert all(r["solved"] for r in STORED["runs"] if r["model"] == "gru")
    assert not any(r["solved"] for r in STORED["runs"] if r["model"] == "rnn")


def test_the_script_writes_a_results_file(tmp_path, monkeypatch):
    monkeypatch.setattr(shortcut, "GRID", {"gru": (6,)})
    monkeypatch.setattr(horizon, "SEEDS", (0,))
    monkeypatch.setitem(horizon.SETUP, "steps", 30)
    threads = torch.get_num_threads()
    shortcut.main(["--out", str(tmp_path / "r.json")])
    torch.set_num_threads(threads)
    results = shortcut.load_results(tmp_path / "r.json")
    (run,) = results["runs"]
    assert (run["model"], run["T"], run["seed"]) == ("gru", 6, 0) and results["jobs"] == 1
    assert run["eval_step"] == [0, 25, 30] and len(run["snapshots"]) == 3
    assert results["setup"]["steps"] == run["budget"] == 30


def test_the_books_learning_rule_takes_over_the_same_network(one_thread):
    torch_model = _adding_net("gru", seed=3)
    book = shortcut.book_gru(torch_model)
    x = torch.as_tensor(X, dtype=torch.float32)
    # the same function: the reset gate after the product, torch's weights in the book's names
    np.testing.assert_allclose(book(x).detach().numpy(), torch_model(x).detach().numpy(), atol=1e-6)
    ours, theirs = shortcut.snapshot(book, X, Y), shortcut.snapshot(torch_model, X, Y)
    assert set(ours) == set(theirs)
    for key in ours:        # float32 weights read in float64 by both: equal to the digits kept
        np.testing.assert_allclose(ours[key], theirs[key], rtol=2e-3, err_msg=key)
    # the same gradient of the readout, the recurrent part's now from gru.gru_backward
    for model in (book, torch_model):
        model.zero_grad()
        ((model(x) - torch.as_tensor(Y, dtype=torch.float32)) ** 2).mean().backward()
    # (test_bridge proves gru_backward's gradients against autograd; here: they all arrive)
    ours = {name: p.grad.double().numpy() for name, p in book.recurrent.named_parameters()}
    assert set(ours) == set(gru.param_names("after")) and all(np.any(g != 0) for g in ours.values())
    np.testing.assert_allclose(book.readout.weight.grad.numpy(), torch_model.readout.weight.grad.numpy(),
                               rtol=1e-4, atol=1e-7)
    with pytest.raises(TypeError, match="model"):
        shortcut.book_gru(_adding_net("rnn"))


def test_a_short_run_with_the_books_learning_rule_follows_torch(one_thread):
    ours, model = shortcut.run("gru", 8, seed=0, steps=3, rule="book")
    theirs, _ = shortcut.run("gru", 8, seed=0, steps=3)
    assert ours["model"] == "gru" and isinstance(model.recurrent, bridge.NumpyGRU)
    # float32 rounding in another order, which Adam's first steps (about lr per weight, whatever
    # the gradient's size) can turn into a visible difference: the same curve to a percent
    np.testing.assert_allclose(ours["eval_loss"], theirs["eval_loss"], rtol=1e-2)
    assert shortcut.compare(ours, theirs)["same"]
