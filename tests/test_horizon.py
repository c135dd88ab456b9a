import json
import math

import numpy as np
import pytest
import torch

from rnnbook import gru, horizon, tasks, torchnn, train

STORED = horizon.load_results()
CELL = ("gru", 10, 0)         # the fastest cell of the grid: solved after about a hundred steps


@pytest.fixture(scope="module")
def script_run(tmp_path_factory):
    """One cell of the grid computed by the script itself, `python -m rnnbook.horizon`."""
    out = tmp_path_factory.mktemp("horizon") / "results.json"
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(horizon, "GRID", {CELL[0]: (CELL[1],)})
        patch.setattr(horizon, "SEEDS", (CELL[2],))
        horizon.main(["--out", str(out)])
    torch.set_num_threads(threads)
    return json.loads(out.read_text())


def test_the_script_reproduces_a_stored_cell(script_run):
    # the stored file was written by `python -m rnnbook.horizon --jobs 2`; this run is in one process,
    # perhaps on another CPU: the same result within the measured tolerances, not the same digits
    (live,) = script_run["runs"]
    stored = horizon.find_run(STORED, *CELL)
    assert horizon.same_result(live, stored), horizon.compare_runs(live, stored)
    assert live["solved"] and live["steps"] < live["budget"]
    assert script_run["setup"] == STORED["setup"] == horizon.SETUP


def test_a_changed_run_does_not_pass_as_the_stored_one(script_run):
    (live,) = script_run["runs"]
    stored = horizon.find_run(STORED, *CELL)
    factor, steps = horizon.CURVE_FACTOR, horizon.STEP_TOLERANCE
    assert horizon.same_result(stored, stored)
    assert horizon.compare_runs(stored, stored) == {
        "same_cell": True, "same_outcome": True, "step_difference": 0, "curve_gap": 1.0}
    lifted = dict(stored, eval_loss=[v * 1.5 * factor for v in stored["eval_loss"]])
    assert horizon.curve_gap(lifted, stored) > factor
    assert not horizon.same_result(lifted, stored)
    later = dict(stored, steps=stored["steps"] + steps + 25)
    assert not horizon.same_result(later, stored)
    assert horizon.same_result(dict(stored, steps=stored["steps"] + steps), stored)
    assert not horizon.same_result(dict(stored, solved=not stored["solved"]), stored)
    assert not horizon.same_result(horizon.find_run(STORED, "gru", 10, 1), stored)
    lowered = dict(stored, eval_loss=[v / (1.5 * factor) for v in stored["eval_loss"]])
    assert horizon.curve_gap(lowered, stored) > factor and not horizon.same_result(lowered, stored)


def test_the_tolerances_cover_what_was_measured_with_margin():
    assert horizon.STEP_TOLERANCE >= 2 * horizon.STEPS_MEASURED
    assert horizon.STEP_TOLERANCE % horizon.SETUP["eval_every"] == 0
    assert horizon.CURVE_FACTOR >= 1.5 * horizon.GAP_MEASURED
    assert horizon.CURVE_SHIFT < horizon.STEP_TOLERANCE


def test_curve_gap_allows_a_shift_within_the_band():
    stored = {"eval_step": [0, 25, 50, 75], "eval_loss": [1.0, 0.2, 0.02, 0.005]}
    early = {"eval_step": [0, 25, 50], "eval_loss": [1.0, 0.02, 0.005]}     # one evaluation ahead
    assert horizon.curve_gap(early, stored, shift=25) == 1.0
    assert horizon.curve_gap(early, stored, shift=0) == pytest.approx(10.0)
    beyond = {"eval_step": [0, 25, 50, 75, 100], "eval_loss": [1.0, 0.2, 0.02, 0.005, 0.001]}
    assert horizon.curve_gap(beyond, stored, shift=0) == 1.0     # steps after stored's end: not compared


def test_the_stored_file_holds_every_cell_of_the_grid_once():
    assert STORED["grid"] == {name: list(lengths) for name, lengths in horizon.GRID.items()}
    assert STORED["seeds"] == list(horizon.SEEDS)
    assert [(r["model"], r["T"], r["seed"]) for r in STORED["runs"]] == horizon.cells()


@pytest.mark.parametrize("run", STORED["runs"], ids=lambda r: f"{r['model']}-T{r['T']}-seed{r['seed']}")
def test_every_stored_record_is_consistent(run):
    setup = STORED["setup"]
    assert run["budget"] == setup["steps"]
    assert run["eval_step"] == sorted(set(range(0, run["steps"], setup["eval_every"])) | {run["steps"]})
    assert run["steps"] == run["eval_step"][-1] and run["test_mse"] == run["eval_loss"][-1]
    assert run["solved"] == (run["test_mse"] <= setup["target_loss"])
    assert run["solved"] or run["steps"] == run["budget"]
    assert all(v > setup["target_loss"] for v in run["eval_loss"][:-1])


def test_summary_counts_solved_seeds_and_their_median_steps():
    results = {"grid": {"a": [5, 9]}, "runs": [
        {"model": "a", "T": 5, "seed": 0, "solved": True, "steps": 100},
        {"model": "a", "T": 5, "seed": 1, "solved": True, "steps": 300},
        {"model": "a", "T": 5, "seed": 2, "solved": False, "steps": 1000},
        {"model": "a", "T": 9, "seed": 0, "solved": False, "steps": 1000},
        {"model": "b", "T": 5, "seed": 0, "solved": True, "steps": 50},
    ]}
    lengths, solved, total, median = horizon.summary(results, "a")
    assert lengths.tolist() == [5, 9] and solved.tolist() == [2, 0] and total.tolist() == [3, 1]
    assert median[0] == 200 and math.isnan(median[1])
    with pytest.raises(ValueError, match="name"):
        horizon.summary(results, "c")


def test_wilson_interval_values_and_properties():
    low, high = horizon.wilson_interval(3, 3)
    assert high == pytest.approx(1.0) and low == pytest.approx(0.43850, abs=1e-5)
    low0, high0 = horizon.wilson_interval(0, 3)
    assert low0 == pytest.approx(0.0, abs=1e-15) and high0 == pytest.approx(1 - low)   # mirror image
    k, n = np.arange(21), 20
    low, high = horizon.wilson_interval(k, n)
    assert np.all((low <= k / n) & (k / n <= high)) and np.all(np.diff(low) > 0)
    assert np.all(horizon.wilson_interval(7, 20, z=1.0)[1] < horizon.wilson_interval(7, 20)[1])
    for k, n in ((4, 3), (-1, 3), (0, 0)):
        with pytest.raises(ValueError, match="k, n"):
            horizon.wilson_interval(k, n)


def test_the_gru_without_update_gate_keeps_it_shut_while_training(one_thread):
    model = horizon.make_model("gru-no-update", seed=0)
    start = {k: v.detach().clone() for k, v in model.recurrent.named_parameters()}
    train.train(model, lambda seed: tasks.adding_problem(6, 8, seed=seed), steps=5, seed=0, lr=0.1)
    z, now = torchnn.gate_rows("z", horizon.SETUP["N"]), dict(model.recurrent.named_parameters())
    for name, value in start.items():
        assert torch.equal(now[name][z], value[z]), name
        assert not torch.equal(now[name], value), name
    x, _ = tasks.adding_problem(T=7, B=3, seed=1)
    _, cache = gru.gru_forward(x, torchnn.gru_params_from_torch(model.recurrent), variant="after")
    assert np.all(cache["z"] == 0.0)
    assert torch.equal(horizon.make_model("gru", seed=0).recurrent.weight_hh_l0,
                       horizon.make_model("gru-no-update", seed=0).recurrent.weight_hh_l0)


def test_make_model_builds_each_network_from_its_seed():
    kinds = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM,
             "gru-before": train.BookGRU, "gru-no-update": torch.nn.GRU,
             "gru-bias3": torch.nn.GRU, "gru-leaky": torch.nn.GRU, "gru-leaky5": torch.nn.GRU,
             "gru-no-reset": torch.nn.GRU, "mingru": train.MinGRU}
    assert set(kinds) == set(horizon.MODELS) == set(horizon.GRID)
    x = torch.rand(5, 2, horizon.SETUP["K"])
    for name, kind in kinds.items():
        first, again, other = (horizon.make_model(name, seed=seed) for seed in (3, 3, 4))
        assert isinstance(first.recurrent, kind)
        assert torch.equal(first(x), again(x)) and not torch.equal(first(x), other(x))
    assert horizon.make_model("gru-before", seed=0).recurrent.variant == "before"
    with pytest.raises(ValueError, match="name: expected one of"):
        horizon.make_model("transformer", seed=0)


def test_the_min_gru_is_its_seed_s_min_gru_with_its_seed_s_readout():
    model = horizon.make_model("mingru", seed=3)
    K, N, M = (horizon.SETUP[k] for k in "KNM")
    cell, readout = train.MinGRU(K, N, seed=3), train.SequenceModel(torch.nn.RNN(K, N), N, M,
                                                                     seed=3).readout
    assert model.recurrent.parallel and model.readout.weight.shape == (M, N)
    assert all(torch.equal(a, b) for a, b in zip(model.recurrent.parameters(), cell.parameters()))
    assert torch.equal(model.readout.weight, readout.weight)
    assert torch.equal(model.readout.bias, readout.bias)
    # four arrays of the input's equations (no recurrent weights), and the readout
    assert sum(p.numel() for p in model.parameters()) == 2 * N * (K + 1) + M * (N + 1)


def test_load_results_fetches_the_file_when_it_is_not_there(tmp_path):
    source = tmp_path / "published.json"
    horizon.save_results({"runs": [1, 2.5]}, source)
    assert horizon.load_results(tmp_path / "missing.json", url=source.as_uri()) == {"runs": [1, 2.5]}


def test_results_beside_a_chapter_are_read_without_the_network(tmp_path, monkeypatch):
    """Installed without the book's folders, the library reads data/ of the chapter's folder."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / horizon.RESULTS.name).write_text('{"runs": []}')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(horizon, "RESULTS", tmp_path / "absent" / horizon.RESULTS.name)

    def offline(*args, **kwargs):
        raise AssertionError("the network was used")
    monkeypatch.setattr(horizon.urllib.request, "urlopen", offline)
    assert horizon.load_results(horizon.RESULTS) == {"runs": []}


def _trained(name, steps=5):
    """The network ``name`` of seed 0, its weights before, and after a few steps of training."""
    model = horizon.make_model(name, seed=0)
    start = {k: v.detach().clone() for k, v in model.recurrent.named_parameters()}
    train.train(model, lambda seed: tasks.adding_problem(6, 8, seed=seed), steps=steps, seed=0,
                lr=0.1)
    return model, start, dict(model.recurrent.named_parameters())


def _gates(model):
    x, _ = tasks.adding_problem(T=7, B=3, seed=1)
    return gru.gru_forward(x, torchnn.gru_params_from_torch(model.recurrent), variant="after")[1]


@pytest.mark.parametrize("leaky", sorted(horizon.LEAKS))
def test_the_leaky_gru_keeps_its_update_gate_fixed_while_training(leaky, one_thread):
    model, start, now = _trained(leaky)
    z = torchnn.gate_rows("z", horizon.SETUP["N"])
    for name, value in start.items():
        assert torch.equal(now[name][z], value[z]), name       # frozen: Adam never moved them
        assert not torch.equal(now[name], value), name          # the other gates' rows learned
    assert torch.count_nonzero(now["weight_ih_l0"][z]) == torch.count_nonzero(now["weight_hh_l0"][z]) == 0
    np.testing.assert_allclose(_gates(model)["z"], 1 / (1 + np.exp(-horizon.LEAKS[leaky])),
                               rtol=1e-12)
    # without the hooks the same gradients would move the gate: they are not zero by themselves
    free = horizon.make_model("gru", seed=0)
    free.load_state_dict(horizon.make_model(leaky, seed=0).state_dict())    # no hooks
    x, y = (torch.as_tensor(a, dtype=torch.float32) for a in tasks.adding_problem(6, 8, seed=0))
    torch.mean((free(x) - y) ** 2).backward()
    assert torch.count_nonzero(free.recurrent.weight_hh_l0.grad[z]) > 0


def test_the_gru_without_reset_gate_has_r_exactly_one(one_thread):
    model, start, now = _trained("gru-no-reset")
    r = torchnn.gate_rows("r", horizon.SETUP["N"])
    for name, value in start.items():
        assert torch.equal(now[name][r], value[r]), name        # r (1 - r) = 0: no gradient
    cache = _gates(model)
    assert np.all(cache["r"] == 1.0) and not np.all(cache["z"] == 1.0)


def test_the_raised_bias_is_the_only_difference_from_the_gru():
    plain, raised = (horizon.make_model(name, seed=0) for name in ("gru", "gru-bias3"))
    z = torchnn.gate_rows("z", horizon.SETUP["N"])
    difference = {k: (dict(raised.named_parameters())[k] - v).detach()
                  for k, v in plain.named_parameters()}
    assert all(torch.count_nonzero(d) == 0 for k, d in difference.items() if k != "recurrent.bias_ih_l0")
    step = difference["recurrent.bias_ih_l0"]
    assert torch.allclose(step[z], torch.full((horizon.SETUP["N"],), horizon.RAISE))
    assert torch.count_nonzero(step) == horizon.SETUP["N"]
    assert abs(_gates(raised)["z"].mean() - 0.95) < 0.03


def _update(names, lengths=(100,), wall=7.0):
    """Results of run_grid for ``names``, made up (no training), in STORED's setting."""
    runs = [dict(horizon.find_run(STORED, "gru", T, s), model=name)
            for name in names for T in lengths for s in STORED["seeds"]]
    return {**{k: STORED[k] for k in ("setup", "seeds", "jobs", "environment")},
            "grid": {name: list(lengths) for name in names}, "wall_seconds": wall, "runs": runs}


def test_merging_adds_runs_and_keeps_the_stored_records_as_they_are():
    merged = horizon.merge_results(STORED, _update(["fresh"]))
    assert list(merged["grid"])[:-1] == list(STORED["grid"]) and merged["grid"]["fresh"] == [100]
    assert [json.dumps(r) for r in merged["runs"][:len(STORED["runs"])]] == \
        [json.dumps(r) for r in STORED["runs"]]
    assert [(r["model"], r["T"], r["seed"]) for r in merged["runs"]] == \
        [(n, T, s) for n, lengths in merged["grid"].items() for T in lengths for s in STORED["seeds"]]
    assert merged["wall_seconds"] == round(STORED["wall_seconds"] + 7.0, 1)
    # a network already there is replaced, in its place
    again = horizon.merge_results(merged, _update(["rnn"], lengths=(10, 20)))
    assert again["grid"]["rnn"] == [10, 20] and list(again["grid"]) == list(merged["grid"])
    assert [r for r in again["runs"] if r["model"] == "rnn"] == _update(["rnn"], (10, 20))["runs"]
    assert len(again["runs"]) == len(merged["runs"]) - 9


@pytest.mark.parametrize("change, message", [
    (lambda u: dict(u, setup=dict(u["setup"], lr=0.1)), "update: its setup"),
    (lambda u: dict(u, jobs=1), "update: its jobs"),
    (lambda u: dict(u, environment=dict(u["environment"], torch="1.0")), "update: its environment"),
    (lambda u: dict(u, runs=u["runs"][:-1]), "update: its runs do not fill the grid"),
    (lambda u: {k: v for k, v in u.items() if k != "seeds"}, "update: expected the results"),
])
def test_merging_refuses_runs_of_another_setting(change, message):
    with pytest.raises(ValueError, match=message):
        horizon.merge_results(STORED, change(_update(["fresh"])))


def test_the_script_merges_only_the_networks_asked_for(tmp_path, monkeypatch):
    out = tmp_path / "results.json"
    out.write_text(json.dumps(STORED, indent=1) + "\n")
    asked = []

    def run_grid(grid=None, seeds=None, jobs=1, report=None):
        asked.append(grid)
        return _update(list(grid), lengths=grid["gru-leaky"])
    monkeypatch.setattr(horizon, "run_grid", run_grid)
    horizon.main(["--only", "gru-leaky", "--out", str(out), "--jobs", str(STORED["jobs"])])
    assert asked == [{"gru-leaky": horizon.GRID["gru-leaky"]}]
    merged = json.loads(out.read_text())
    assert merged == horizon.merge_results(STORED, _update(["gru-leaky"], horizon.GRID["gru-leaky"]))
    for argv, message in ((["--only", "gru,transformer"], "only: expected one of"),
                          (["--only", "gru", "--jobs", "3"], "only: .* was made with jobs 2"),
                          (["--only", "gru", "--out", str(tmp_path / "none.json")], "does not exist")):
        with pytest.raises(ValueError, match=message):
            horizon.main(argv + (["--out", str(out)] if "--out" not in argv else []))
    assert len(asked) == 1
