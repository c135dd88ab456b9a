import json
import math

import numpy as np
import pytest
import torch

from rnnbook import gru, horizon, tasks, torchnn, train

STORED = horizon.load_results()
CELL = ("gru", 10, 0)         # the fastest cell of the grid: solved after about a hundred steps


@pytest.fixture
def one_thread():
    """The grid was run on one thread per process; restore the thread count afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
             "gru-before": train.BookGRU, "gru-no-update": torch.nn.GRU}
    assert set(kinds) == set(horizon.MODELS) == set(horizon.GRID)
    x = torch.rand(5, 2, horizon.SETUP["K"])
    for name, kind in kinds.items():
        first, again, other = (horizon.make_model(name, seed=seed) for seed in (3, 3, 4))
        assert isinstance(first.recurrent, kind)
        assert torch.equal(first(x), again(x)) and not torch.equal(first(x), other(x))
    assert horizon.make_model("gru-before", seed=0).recurrent.variant == "before"
    with pytest.raises(ValueError, match="name: expected one of"):
        horizon.make_model("transformer", seed=0)


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
