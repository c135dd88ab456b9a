"""The memory horizon (Chapter 5): on which sequence lengths T each recurrent network learns the
adding problem within a fixed budget of training steps.

One *cell* of the experiment is one network of ``MODELS``, one length T and one seed, trained with
the fixed settings of ``SETUP``; ``GRID`` and ``SEEDS`` list the cells of the full experiment. The
networks: the tanh RNN, the GRU and the LSTM of torch, the GRU's variants and ablations of
Chapters 4 and 5, and the minGRU (``train.MinGRU``), a GRU whose gates see only the input.
``run_cell`` runs one cell, ``run_grid`` runs many, ``save_results`` and ``load_results`` write and
read the results file, ``merge_results`` adds the runs of some networks to it, ``same_result``
compares a rerun of a cell with its stored record within measured tolerances, and ``summary`` and
``wilson_interval`` condense the results. From the repository root,

    python -m rnnbook.horizon            (options: --jobs 2, --out PATH, --only NAME,NAME)

runs the full grid on one thread per process and writes ``chapters/data/horizon_results.json``,
the file Chapter 5 plots; with ``--only`` it runs the cells of those networks and merges them into
the file, whose other records stay as they are. The functions that read and summarise results
need numpy only; those that train import torch when they are called.
"""
import argparse
import functools
import json
import math
import pathlib
import platform
import sys
import time
import urllib.request

import numpy as np

from . import tasks
from ._validate import (ArgumentTypeError, array_arg, callable_arg, choice, dict_arg, entry,
                        integer_arg, number_arg, positive_int, positive_number, seed_arg)

__all__ = ["SETUP", "MODELS", "GRID", "SEEDS", "SHUT", "RAISE", "LEAKS", "STEPS_MEASURED", "GAP_MEASURED",
           "STEP_TOLERANCE", "CURVE_SHIFT", "CURVE_FACTOR", "RESULTS", "RESULTS_URL", "make_model",
           "run_cell", "cells", "run_grid", "curve_gap", "compare_runs", "same_result", "find_run",
           "summary", "wilson_interval", "save_results", "load_results", "merge_results", "main"]

# Fixed before any run: the settings of Chapters 3 and 4, and a budget of 1000 steps of 64 sequences.
SETUP = {"K": 2, "N": 32, "M": 1, "B": 64, "lr": 0.01, "clip": 1.0, "steps": 1000,
         "target_loss": 0.01, "eval_every": 25, "eval_batches": 16}

MODELS = {
    "rnn": "tanh RNN",
    "gru": "GRU",
    "lstm": "LSTM",
    "gru-before": "GRU, reset before product",
    "gru-no-update": "GRU without update gate",
    "gru-bias3": "GRU, update-gate bias +3",
    "gru-leaky": "GRU, update gate fixed at σ(3)",
    "gru-no-reset": "GRU without reset gate",
    "gru-leaky5": "GRU, update gate fixed at σ(5)",
    "mingru": "minGRU",
}

# The three networks on every length; the GRU's variants and ablations where they answer a question
# (those of Chapter 4's shortcut, from gru-bias3 on, at the lengths where the plain GRU's gates must
# learn to close first); the minGRU, whose gates see only the input, on every length.
GRID = {
    "rnn": (10, 20, 40, 100, 200),
    "gru": (10, 20, 40, 100, 200),
    "lstm": (10, 20, 40, 100, 200),
    "gru-before": (40, 100),
    "gru-no-update": (10, 20, 40, 100),
    "gru-bias3": (100, 200),
    "gru-leaky": (100, 200),
    "gru-no-reset": (100, 200),
    "gru-leaky5": (100, 200),
    "mingru": (10, 20, 40, 100, 200),
}
SEEDS = (0, 1, 2)

# torch's bias of the update gate in the ablation, so negative that sigma(.) is exactly 0 in float32
# and so is its slope z (1 - z). torch adds a bias where the book subtracts a threshold: this is
# the threshold theta^(z) = +1e4 (a threshold of -1e4 would open the gate, z = 1).
SHUT = -1.0e4
# What gru-bias3 adds to torch's update-gate bias, and gru-leaky's fixed bias: z = sigma(3) = 0.95
# at first, a memory of -ln 2 / ln 0.9526 = 14.3 steps' half-life.
RAISE = 3.0
# The fixed biases of the leaky integrators: gru-leaky's RAISE, and gru-leaky5's 5, z = sigma(5) =
# 0.9933, a half-life of 103 steps, the lags of the adding problem at T = 100 and 200.
LEAKS = {"gru-leaky": RAISE, "gru-leaky5": 5.0}

# How far a rerun of a cell may differ from the stored record and still give the same result.
# Training amplifies rounding: the same seed on another CPU, or on another floating-point code
# path of the same CPU, stops a few evaluations earlier or later, and its learning curve shifts
# with it. Measured on five float paths of the book's machine (native, ATEN_CPU_CAPABILITY=default
# and/or MKL_CBWR=COMPATIBLE, avx2 with MKL_CBWR=AVX) for eight cells at T = 10 and 40: the
# outcome never changed, the stopping step moved by at most STEPS_MEASURED steps and the curve left
# the stored one's band by a factor of at most GAP_MEASURED. The tolerances below are padded for
# CPUs that could not be tested (AVX-512, ARM, OpenBLAS instead of MKL).
STEPS_MEASURED, GAP_MEASURED = 25, 1.7
STEP_TOLERANCE = 100      # steps: four evaluations
CURVE_SHIFT = 50          # steps: two evaluations either side
CURVE_FACTOR = 4

RESULTS = pathlib.Path(__file__).resolve().parents[1] / "chapters" / "data" / "horizon_results.json"
RESULTS_URL = ("https://raw.githubusercontent.com/open-rnn-book/rnn-gru-book/main/"
               "chapters/data/horizon_results.json")


def make_model(name, *, seed):
    """The network ``name`` of ``MODELS`` with SETUP's sizes, from ``seed``.

    "rnn", "gru" and "lstm" are ``train.make_model``'s torch.nn.RNN (tanh),
    torch.nn.GRU (the reset gate after the product) and torch.nn.LSTM.
    "gru-before" is ``train.BookGRU`` with eq. (9.30c) as printed.
    "gru-no-update" is the "gru" of the same seed with torch's update-gate
    bias at ``SHUT`` (the book's threshold at -SHUT = +1e4): z = 0, so
    V(t) = h(t) at every step, and no gradient reaches the gate.
    "gru-no-reset" likewise has the reset gate's bias at -SHUT: r = 1.
    "gru-bias3" is the "gru" of the same seed with the update gate's bias
    raised by ``RAISE``, z = sigma(3) = 0.95 at first (the chrono
    initialisation of Tallec & Ollivier 2018 is the principled version).
    "gru-leaky" is that shortcut without gating: the update gate's weights
    zero and its bias ``RAISE``, none of them trained (hooks zero their
    gradients, so Adam never moves them): V(t) = 0.05 h(t) + 0.95 V(t-1),
    a leaky integrator of the candidate. "gru-leaky5" is the same with the
    bias fixed at 5 (``LEAKS``): z = 0.9933, a half-life of 103 steps.
    "mingru" is ``train.MinGRU`` (Feng et al. 2024): the GRU without
    recurrent weights and reset gate, z and h computed from x(t) alone,
    g(b) = b + 1/2 or sigma(b), trained through its parallel scan; it and
    its readout are drawn from ``seed``.
    """
    import torch

    from . import torchnn, train
    choice("name", name, MODELS)
    seed = seed_arg("seed", seed)
    K, N, M = SETUP["K"], SETUP["N"], SETUP["M"]
    if name == "gru-before":
        gru = train.BookGRU(K, N, "before", seed=seed)
        return train.SequenceModel(gru, N, M, seed=seed)
    if name == "mingru":
        cell = train.MinGRU(K, N, seed=seed)
        return train.SequenceModel(cell, N, M, seed=seed)
    model = train.make_model(name.split("-")[0], K, N, M, seed=seed)
    cell, z = model.recurrent, torchnn.gate_rows("z", N)
    with torch.no_grad():
        if name == "gru-no-update":
            cell.bias_ih_l0[z] = SHUT
        elif name == "gru-no-reset":
            cell.bias_ih_l0[torchnn.gate_rows("r", N)] = -SHUT
        elif name == "gru-bias3":
            cell.bias_ih_l0[z] += RAISE
        elif name in LEAKS:
            for weights in (cell.weight_ih_l0, cell.weight_hh_l0,
                            cell.bias_hh_l0):
                weights[z] = 0.0
            cell.bias_ih_l0[z] = LEAKS[name]
    if name in LEAKS:
        for weights in (cell.weight_ih_l0, cell.weight_hh_l0,
                        cell.bias_ih_l0, cell.bias_hh_l0):
            weights.register_hook(functools.partial(_without_rows, z))
    return model


def _without_rows(rows, grad):
    """The gradient with ``rows`` zero: Adam's moments of those entries stay zero, and so do
    their steps."""
    grad = grad.clone()
    grad[rows] = 0.0
    return grad


def run_cell(name, T, *, seed, steps=None):
    """Train network ``name`` from ``seed`` on the adding problem of length
    ``T``, with SETUP.

    Training stops when the mean squared error on 1024 held-out sequences
    reaches the target (solved) or after ``steps`` steps (default: SETUP's
    budget). Deterministic for a seed on a given machine, thread count and
    float code path; elsewhere the digits differ (``same_result``).
    Returns the record of the cell: a dict with model, T, seed, budget,
    solved, steps (when it stopped), test_mse (the last held-out error), the
    learning curve eval_step / eval_loss, and seconds (wall time, the one
    entry that varies).
    """
    choice("name", name, MODELS)
    T, seed = positive_int("T", T), seed_arg("seed", seed)
    steps = SETUP["steps"] if steps is None else positive_int("steps", steps)
    return _train_cell(name, T, seed, steps)[0]


def _train_cell(name, T, seed, steps, callback=None, convert=None):
    """The training of ``run_cell`` (arguments checked), with ``train.train``'s ``callback``:
    returns the record, the trained model and the history. ``rnnbook.shortcut`` measures the
    same runs through the callback; ``convert(model)`` replaces the model before training (the
    same network, trained another way)."""
    from . import train
    model = make_model(name, seed=seed)
    if convert is not None:
        model = convert(model)
    task = functools.partial(tasks.adding_problem, T=T, B=SETUP["B"])
    start = time.perf_counter()
    history = train.train(model, task, steps, lr=SETUP["lr"],
                          clip=SETUP["clip"],
                          target_loss=SETUP["target_loss"], seed=seed,
                          eval_every=SETUP["eval_every"],
                          eval_batches=SETUP["eval_batches"], progress=False,
                          callback=callback)
    record = {"model": name, "T": T, "seed": seed, "budget": steps,
              "solved": history["stopped"] == "target_loss",
              "steps": history["eval_step"][-1],
              "test_mse": history["eval_loss"][-1],
              "eval_step": history["eval_step"],
              "eval_loss": history["eval_loss"],
              "seconds": round(time.perf_counter() - start, 2)}
    return record, model, history


def cells(grid=None, seeds=None):
    """The cells (name, T, seed) of ``grid`` (default GRID) for every seed of ``seeds`` (default
    SEEDS), in a fixed order."""
    grid = GRID if grid is None else _grid_arg("grid", grid)
    seeds = SEEDS if seeds is None else _seeds_arg("seeds", seeds)
    return [(name, T, seed) for name, lengths in grid.items() for T in lengths for seed in seeds]


def run_grid(grid=None, seeds=None, jobs=1, report=None):
    """Run every cell of ``cells(grid, seeds)`` in ``jobs`` processes of one thread each (with
    jobs = 1: in this process, whose torch then keeps one thread); ``report(record)`` is called as
    each cell finishes. Returns the results: SETUP, the grid, the seeds, the environment, the
    wall time and the records ("runs") in the order of ``cells``.
    """
    todo = cells(grid, seeds)       # checks grid and seeds before any training
    grid, seeds = GRID if grid is None else grid, SEEDS if seeds is None else seeds
    jobs = positive_int("jobs", jobs)
    if report is not None:
        callable_arg("report", report)
    start = time.perf_counter()
    if jobs == 1:
        _one_thread()
        runs = [_reported(run_cell(name, T, seed=seed), report) for name, T, seed in todo]
    else:
        import concurrent.futures
        import multiprocessing
        with concurrent.futures.ProcessPoolExecutor(
                jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread) as pool:
            futures = [pool.submit(run_cell, name, T, seed=seed) for name, T, seed in todo]
            for future in concurrent.futures.as_completed(futures):
                _reported(future.result(), report)
            runs = [future.result() for future in futures]
    return {"setup": dict(SETUP), "grid": {name: list(lengths) for name, lengths in grid.items()},
            "seeds": list(seeds), "jobs": jobs, "environment": _environment(),
            "wall_seconds": round(time.perf_counter() - start, 1), "runs": runs}


def _environment():
    import torch
    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "machine": platform.machine(), "threads per process": 1}


def curve_gap(record, stored, shift=None):
    """By how large a factor the learning curve of ``record`` leaves the band of ``stored``'s:
    at every evaluation step t of ``record`` up to the last one of ``stored``, the band is the
    range of ``stored``'s held-out errors within ``shift`` steps of t (default CURVE_SHIFT), and
    a value v outside [low, high] leaves it by low / v or v / high. Returns a float >= 1 (1: inside
    the band everywhere). The shift allows for a curve that falls a little earlier or later."""
    record, stored = _record_arg("record", record), _record_arg("stored", stored)
    shift = CURVE_SHIFT if shift is None else number_arg("shift", shift, low=0.0)
    steps, losses = np.array(stored["eval_step"]), np.array(stored["eval_loss"])
    gap = 1.0
    for t, v in zip(record["eval_step"], record["eval_loss"]):
        if t > steps[-1]:
            break
        near = losses[np.abs(steps - t) <= shift]
        if near.size:
            gap = max(gap, near.min() / v, v / near.max())
    return float(gap)


def compare_runs(record, stored):
    """How a rerun ``record`` of a cell compares with the ``stored`` record of that cell: a dict
    with same_cell (model, T, seed and budget), same_outcome (solved or not), step_difference
    (record's stopping step minus stored's) and curve_gap (``curve_gap``). Wall times are
    ignored."""
    keys = ("model", "T", "seed", "budget")
    record, stored = _record_arg("record", record, True), _record_arg("stored", stored, True)
    return {"same_cell": all(record[k] == stored[k] for k in keys),
            "same_outcome": record["solved"] == stored["solved"],
            "step_difference": record["steps"] - stored["steps"],
            "curve_gap": curve_gap(record, stored)}


def same_result(record, stored, steps=None, factor=None):
    """True if a rerun ``record`` gives the result of the ``stored`` record of the same cell: the
    same outcome, a stopping step within ``steps`` (default STEP_TOLERANCE) of the stored one,
    and a learning curve within a factor ``factor`` (default CURVE_FACTOR) of the stored curve's
    band (``curve_gap``). Two runs of a seed agree bit for bit only on the same float code path;
    these tolerances cover the differences measured between paths, with margin."""
    steps = STEP_TOLERANCE if steps is None else number_arg("steps", steps, low=0.0)
    factor = CURVE_FACTOR if factor is None else number_arg("factor", factor, low=1.0)
    c = compare_runs(record, stored)
    return bool(c["same_cell"] and c["same_outcome"] and abs(c["step_difference"]) <= steps
                and c["curve_gap"] <= factor)


def find_run(results, name, T, seed):
    """The record of cell (name, T, seed) in ``results``; ValueError naming ``name`` if the grid
    has no such network, KeyError if it has no such cell."""
    results = _results_arg("results", results)
    choice("name", name, results["grid"])
    T, seed = positive_int("T", T), seed_arg("seed", seed)
    for run in results["runs"]:
        if (run["model"], run["T"], run["seed"]) == (name, T, seed):
            return run
    raise KeyError(f"no run of {name!r} with T = {T} and seed {seed} in these results")


def summary(results, name):
    """For network ``name``: the lengths T, how many seeds solved each, how many ran, and the
    median number of steps of the solved runs (NaN where none solved). Arrays of equal length."""
    results = _results_arg("results", results)
    lengths = results["grid"][choice("name", name, results["grid"])]
    solved, total, median = [], [], []
    for T in lengths:
        runs = [r for r in results["runs"] if r["model"] == name and r["T"] == T]
        steps = [r["steps"] for r in runs if r["solved"]]
        solved.append(len(steps))
        total.append(len(runs))
        median.append(float(np.median(steps)) if steps else math.nan)
    return np.array(lengths), np.array(solved), np.array(total), np.array(median)


def wilson_interval(k, n, z=1.96):
    """Wilson's score interval for a success probability after k successes in n trials:
    (c -+ h) with c = (k + z^2/2) / (n + z^2) and h = z / (n + z^2) sqrt(k (n - k) / n + z^2 / 4).
    Unlike k/n -+ z sqrt(p (1 - p) / n), it stays inside [0, 1] and is not empty at k = 0 or n.
    Returns (low, high); k and n may be arrays."""
    k, n = array_arg("k", k, None, {}), array_arg("n", n, None, {})
    z = positive_number("z", z)
    try:
        np.broadcast_shapes(k.shape, n.shape)
    except ValueError:
        raise ValueError(f"n: expected a shape that broadcasts with k's {k.shape}, "
                         f"got {n.shape}") from None
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise ValueError(f"k, n: expected 0 <= k <= n and n >= 1, got k = {k}, n = {n}")
    centre = (k + z**2 / 2) / (n + z**2)
    half = z / (n + z**2) * np.sqrt(k * (n - k) / n + z**2 / 4)
    return centre - half, centre + half


def save_results(results, path=RESULTS):
    """Write ``results`` as JSON to ``path`` (creating its folder). Floats keep every digit."""
    if not isinstance(results, dict):
        raise ArgumentTypeError(f"results: expected a dict, got {type(results).__name__}")
    try:
        text = json.dumps(results, indent=1) + "\n"
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(f"results: expected what JSON can hold: {exc}") from None
    path = _path_arg("path", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def load_results(path=RESULTS, url=RESULTS_URL):
    """Read a results file. Where the default ``path`` does not exist (the library installed
    without the book's folders), ``data/horizon_results.json`` in the working folder is read if it
    is there (a chapter's folder that carries its data: the student edition, tools/scripts/colab_check.py);
    otherwise the file is fetched from ``url``, the one in the book's repository (Colab)."""
    return _read_results(path, RESULTS, url)


def _read_results(path, default, url):
    """``load_results`` for a file whose place in the book is ``default`` (``rnnbook.shortcut``
    reads its own file so)."""
    path = _path_arg("path", path)
    if not isinstance(url, str) or "://" not in url:
        raise ArgumentTypeError(f"url: expected an address such as https://..., got {url!r}")
    local = pathlib.Path("data") / default.name
    if not path.exists() and path == default and local.exists():
        path = local
    if path.exists():
        return json.loads(path.read_text())
    with urllib.request.urlopen(url) as response:
        return json.loads(response.read().decode())


def merge_results(results, update):
    """The results of ``run_grid`` with the networks of ``update`` (results of ``run_grid`` for
    some networks) added, or replaced where ``results`` has them: the other records are kept as
    they are, the runs stay in the order of ``cells`` (the networks of ``results`` first, then
    the new ones) and the wall time is the sum of both. Both must come from the same SETUP, seeds,
    environment and number of processes, which the file states once for all its runs."""
    results, update = _results_arg("results", results), _results_arg("update", update)
    for key in ("setup", "seeds", "environment", "jobs"):
        if key not in results or key not in update:
            raise ValueError(f"{'update' if key in results else 'results'}: expected the results "
                             f"of run_grid, with {key!r}")
        if update[key] != results[key]:
            raise ValueError(f"update: its {key} {update[key]!r} differs from the results' "
                             f"{results[key]!r}; one file states one {key} for all its runs")
    grid = {**results["grid"], **update["grid"]}
    runs = {(r["model"], r["T"], r["seed"]): r for r in results["runs"]
            if r["model"] not in update["grid"]}
    runs.update({(r["model"], r["T"], r["seed"]): r for r in update["runs"]})
    order = [(name, T, seed) for name, lengths in grid.items() for T in lengths
             for seed in results["seeds"]]
    missing = [cell for cell in order if cell not in runs]
    if missing or len(runs) != len(order):
        raise ValueError(f"update: its runs do not fill the grid: missing {missing}, "
                         f"{len(runs)} runs for {len(order)} cells")
    return {**results, "grid": grid, "wall_seconds": round(
        results["wall_seconds"] + update["wall_seconds"], 1), "runs": [runs[c] for c in order]}


def _path_arg(name, value):
    if not isinstance(value, (str, pathlib.PurePath)) or not str(value):
        raise ArgumentTypeError(f"{name}: expected a path (str or pathlib.Path), got {value!r}")
    return pathlib.Path(value)


def _grid_arg(name, grid, known=True):
    """``grid`` if it maps names (of MODELS where ``known``: networks to train) to non-empty
    lists of lengths T >= 1."""
    if not isinstance(grid, dict) or not grid:
        raise ArgumentTypeError(f"{name}: expected a dict network -> lengths, got {grid!r}")
    for model, lengths in grid.items():
        if known:
            choice(f"{name} key", model, MODELS)
        elif not isinstance(model, str):
            raise ArgumentTypeError(f"{name}: expected names (str) as keys, got {model!r}")
        if not isinstance(lengths, (list, tuple)) or not lengths:
            raise ArgumentTypeError(f"{entry(name, model)}: expected a list of lengths T, "
                                    f"got {lengths!r}")
        for T in lengths:
            positive_int(entry(name, model), T)
    return grid


def _seeds_arg(name, seeds):
    if not isinstance(seeds, (list, tuple)) or not seeds:
        raise ArgumentTypeError(f"{name}: expected a list of seeds, got {seeds!r}")
    return tuple(seed_arg(name, seed) for seed in seeds)


def _record_arg(name, record, cell=False):
    """``record`` if it is a cell's record: a learning curve eval_step / eval_loss (equal
    lengths, finite) and, with ``cell``, model, T, seed, budget, solved and steps."""
    keys = ["eval_step", "eval_loss"] + (["model", "T", "seed", "budget", "solved", "steps"]
                                         if cell else [])
    dict_arg(name, record, keys, what="a record of run_cell", closed=False)
    sizes = {}
    for key in ("eval_step", "eval_loss"):
        if not isinstance(record[key], (list, tuple, np.ndarray)):
            raise ArgumentTypeError(f"{entry(name, key)}: expected a list of numbers, "
                                    f"got {type(record[key]).__name__}")
        array_arg(entry(name, key), record[key], ("E",), sizes)
    if cell:
        if not isinstance(record["model"], str):
            raise ArgumentTypeError(f"{entry(name, 'model')}: expected a name, "
                                    f"got {record['model']!r}")
        for key in ("T", "budget", "steps"):
            integer_arg(entry(name, key), record[key], 0 if key == "steps" else 1)
        seed_arg(entry(name, "seed"), record["seed"])
        if not isinstance(record["solved"], (bool, np.bool_)):
            raise ArgumentTypeError(f"{entry(name, 'solved')}: expected True or False, "
                                    f"got {record['solved']!r}")
    return record


def _results_arg(name, results):
    """``results`` if it holds a grid and a list of runs (each with model and T)."""
    dict_arg(name, results, ["grid", "runs"], what="the results of run_grid", closed=False)
    _grid_arg(entry(name, "grid"), results["grid"], known=False)
    if not isinstance(results["runs"], list):
        raise ArgumentTypeError(f"{entry(name, 'runs')}: expected a list of records, "
                                f"got {type(results['runs']).__name__}")
    for run in results["runs"]:
        if not isinstance(run, dict) or not {"model", "T", "seed", "solved", "steps"} <= set(run):
            raise ValueError(f"{entry(name, 'runs')}: expected records of run_cell, got {run!r}")
    return results


def _one_thread():
    import torch
    torch.set_num_threads(1)


def _reported(record, report):
    if report is not None:
        report(record)
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m rnnbook.horizon", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1, help="processes, one thread each (default 1)")
    parser.add_argument("--out", default=str(RESULTS), help=f"results file (default {RESULTS})")
    parser.add_argument("--only", help="networks, comma-separated: run only their cells and merge "
                                       "them into the results file --out, keeping its other runs")
    if argv is not None and (not isinstance(argv, (list, tuple))
                             or not all(isinstance(a, str) for a in argv)):
        raise ArgumentTypeError(f"argv: expected a list of str, got {argv!r}")
    args = parser.parse_args(argv)
    positive_int("jobs", args.jobs)     # before the first cell trains
    grid, stored = None, None
    if args.only is not None:
        grid = {choice("only", name, MODELS): GRID[name] for name in args.only.split(",")}
        if not pathlib.Path(args.out).exists():
            raise ValueError(f"only: merges into the results file --out, but {args.out} does "
                             "not exist")
        stored = _results_arg("out", load_results(args.out))
        now = {"jobs": args.jobs, "environment": _environment(), "setup": SETUP}
        for key, value in now.items():      # what merge_results needs, before any training
            if stored.get(key) != value:
                raise ValueError(f"only: {args.out} was made with {key} {stored.get(key)!r}, "
                                 f"this run has {value!r}; merge only what the same setting ran")
    print(f"{len(cells(grid))} cells, budget {SETUP['steps']} steps, {args.jobs} process(es)",
          flush=True)

    def report(r):
        outcome = f"solved after {r['steps']:4d} steps" if r["solved"] else "not solved"
        print(f"{r['model']:14s} T = {r['T']:3d}  seed {r['seed']}  {outcome:24s}"
              f"  held-out MSE {r['test_mse']:.4f}  {r['seconds']:6.1f} s", flush=True)

    results = run_grid(grid, jobs=args.jobs, report=report)
    if stored is not None:
        results = merge_results(stored, results)
    save_results(results, args.out)
    print(f"wrote {args.out}; wall time {results['wall_seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
