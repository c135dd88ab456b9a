"""How the GRU's shortcut through time forms during training (Chapter 4).

At PyTorch's initialisation a GRU's update gates sit near 1/2 and its gradient |dO/dV(T - lag)|
vanishes with the lag as fast as a plain network's; yet it learns the adding problem at T = 100
within a few hundred steps, where the plain network does not. Chapter 4 shows how by measuring the
network while it trains: ``run`` trains a cell of Chapter 5's experiment (``rnnbook.horizon``,
the same settings and batches, so its learning curve is the stored one of that cell) and takes a
``snapshot`` at every evaluation, on a fixed probe batch of the adding problem:

- the lag profile |dO/dV(T - lag)|: how far back the output is sensitive;
- for a GRU, per unit, the mean update gate z at unmarked and at marked steps, and the memory
  half-life between the two markers, the number of steps after which the gates' product, the
  share of the state that the shortcut keeps, falls to 1/2;
- for a GRU, where the gradient that trains the update gate comes from: the errors
  dH/da_z(t) of the gate's local field (``update_gate_errors``), by lag.

``python -m rnnbook.shortcut`` (options --jobs 2, --out PATH) runs the GRU and the plain network
at T = 100 with seeds 0, 1, 2 and writes ``chapters/data/shortcut_results.json``; ``load_results``
reads it, ``compare`` checks a live rerun against it. Measurements are numpy float64, computed by
``rnnbook.gru``, ``rnnbook.rnn`` and ``rnnbook.diagnostics`` from the weights ``rnnbook.torchnn``
reads. Importing this module imports torch.
"""
import argparse
import json
import math
import re
import sys
import time

import numpy as np
import torch

from . import bridge, diagnostics, gru, horizon, rnn, tasks, torchnn, train
from ._validate import (ArgumentTypeError, array_arg, cache_arg, choice, dict_arg, entry,
                        positive_int, seed_arg)

__all__ = ["NETWORKS", "GRID", "PROBE_SEED", "DIGITS", "PROFILE_DECADES", "HALF_LIFE_FACTOR",
           "RESULTS", "RESULTS_URL", "RULES", "update_gate_errors", "snapshot", "run", "book_gru",
           "compare",
           "load_results", "main"]

# The networks of horizon.MODELS that are a torch.nn.GRU or torch.nn.RNN, which snapshot reads.
NETWORKS = ("rnn", "gru", "gru-bias3", "gru-leaky", "gru-no-reset", "gru-no-update")
# Who computes the gradients in ``run``: torch's autograd, or this book's gru.gru_backward.
RULES = ("torch", "book")
# What main runs, with horizon.SEEDS: the GRU and the plain network at the length of Chapter 4.
GRID = {"gru": (100,), "rnn": (100,)}
# The probe batch: adding_problem(T, B=SETUP["B"], seed=PROBE_SEED), the seed of the batch that
# Chapter 4 measures its untrained networks on. Training never sees it.
PROBE_SEED = 123
DIGITS = 4          # significant digits kept of every measurement
# How far the snapshots of a rerun may stray from the stored ones' band (``compare``). Measured for
# run("gru", 100, seed=0) on three float paths of the book's machine (native, ATEN_CPU_CAPABILITY=
# default with MKL_CBWR=COMPATIBLE, avx2 with MKL_CBWR=AVX): the same stopping step, curves within
# 4e-6 of each other, lag profiles within 2e-4 decades and the median half-lives equal to four
# digits. The band (horizon.CURVE_SHIFT) covers a run that learns an evaluation earlier or later,
# as horizon's tolerances allow; the tolerances are padded for CPUs that could not be tested.
PROFILE_DECADES = 1.0
HALF_LIFE_FACTOR = 2.0

RESULTS = horizon.RESULTS.with_name("shortcut_results.json")
RESULTS_URL = horizon.RESULTS_URL.rsplit("/", 1)[0] + "/" + RESULTS.name


def update_gate_errors(cache, dV):
    """Eq. (9.30d) differentiated for the update gate's local field a_z = w_zx x + w_zv V(t-1) -
    theta_z: dH/da_z(t) = dH/dV(t) * (V(t-1) - h(t)) * z(t) (1 - z(t)), for t = 1..T.

    ``cache`` from ``gru.gru_forward`` (either variant), ``dV`` (T+1, B, N) the total dH/dV(t)
    through all later steps, as ``gru.gru_backward`` returns under "V". Returns (T, B, N), row
    t - 1 for step t, in float64; minus its sum over steps and sequences is dH/dtheta_z.
    """
    sizes = {}
    c = cache_arg("cache", cache, {"V": ("T+1", "B", "N"), "z": ("T", "B", "N"),
                                   "h": ("T", "B", "N")}, "gru.gru_forward", sizes,
                  activations=())
    dV = array_arg("dV", dV, ("T+1", "B", "N"), sizes).astype(np.float64)
    V, z, h = (c[k].astype(np.float64) for k in ("V", "z", "h"))
    # dV[t] is dH/dV(t); the gate of step t mixes V(t-1) = V[t-1] and h(t) = h[t-1]
    return dV[1:] * (V[:-1] - h) * z * (1 - z)


def snapshot(model, x, y):
    """Measurements of a ``train.SequenceModel`` around torch.nn.GRU, torch.nn.RNN or
    ``bridge.NumpyGRU`` (either variant) on a batch of the adding problem: x (T, B, 2), y (B, 1). Returns a dict of floats and lists, rounded to
    DIGITS significant digits:

    - probe_mse: the mean squared error on the batch, H = mean over sequences of (O - y)^2;
    - lag_profile (T+1): |dO/dV(T - lag)| for lag = 0..T, averaged over the sequences.

    For a GRU also, per unit (N): z_unmarked and z_marked, the mean update gate at the steps
    without and with a marker (x[..., 1] == 1); half_life, -ln 2 / ln z between the markers (the
    mean of ln z over the steps strictly between them, so that z^half_life is the share that
    their product keeps; 0 if z = 0, inf if z = 1, NaN if the markers are adjacent in every
    sequence); and, by lag = T - t for t = T..1 (T values),
    z_error_by_lag, the sum over sequences and units of |dH/da_z(t)|, and z_push_by_lag, minus
    its signed sum: positive where a gradient step raises z, i.e. closes the gate to keep more.
    """
    N, M = _model_arg(model)
    sizes = {"K": 2, ("by", "K"): "the adding problem", "M": M, ("by", "M"): "model.readout"}
    x = array_arg("x", x, ("T", "B", "K"), sizes).astype(np.float64)
    y = array_arg("y", y, ("B", "M"), sizes).astype(np.float64)
    marked = x[..., 1] == 1
    if not (np.all(marked.sum(axis=0) == 2) and np.all(marked | (x[..., 1] == 0))):
        raise ValueError("x: expected the adding problem's markers, x[..., 1] zero but at "
                         "exactly two steps of each sequence")
    T, B = x.shape[:2]
    w_ov = model.readout.weight.detach().double().numpy()      # (1, N)
    theta_o = -model.readout.bias.detach().double().numpy()
    gated = not isinstance(model.recurrent, torch.nn.RNN)
    if gated:
        params, variant = _gru_weights(model.recurrent)
        V, cache = gru.gru_forward(x, params, variant=variant)
        dV = np.zeros_like(V)
        dV[-1] = w_ov
        dO_dV = gru.gru_backward(dV, cache)["V"]
    else:
        V, cache = rnn.rnn_forward(x, *torchnn.rnn_params_from_torch(model.recurrent))
        dO_dV = diagnostics.state_gradients(cache, np.repeat(w_ov, B, axis=0))
    O = V[-1] @ w_ov.T - theta_o
    out = {"probe_mse": float(np.mean((O - y) ** 2)),
           "lag_profile": np.linalg.norm(dO_dV, axis=2).mean(axis=1)[::-1]}
    if gated:
        # H = mean (O - y)^2 reaches V(T) as 2 (O - y) / B times dO/dV(T); sequences do not mix,
        # so dH/dV(t) is dO/dV(t) scaled by each sequence's factor
        errors = update_gate_errors(cache, dO_dV * (2 * (O - y) / B)[None])[::-1]
        z = cache["z"]
        first, second = (np.nonzero(marked.T)[1].reshape(B, 2)).T
        steps = np.arange(T)[:, None]
        between = (steps > first) & (steps < second)
        with np.errstate(divide="ignore", invalid="ignore"):    # z = 0 or 1; no step between
            log_z = np.log(z[between]).mean(axis=0)
            half_life = -math.log(2) / log_z
        out.update(z_unmarked=z[~marked].mean(axis=0), z_marked=z[marked].mean(axis=0),
                   half_life=np.where(log_z == 0, math.inf, half_life),
                   z_error_by_lag=np.abs(errors).sum(axis=(1, 2)),
                   z_push_by_lag=-errors.sum(axis=(1, 2)))
    return {key: _rounded(value) for key, value in out.items()}


def run(name, T, *, seed, steps=None, rule="torch"):
    """Train network ``name`` of NETWORKS on the adding problem of length ``T`` from ``seed``, as
    ``horizon.run_cell`` does (the same SETUP, batches and stopping rule), with a ``snapshot`` on
    the probe batch (PROBE_SEED) at every evaluation. Returns ``(record, model)``: the record of
    ``run_cell`` with "snapshots" (aligned with eval_step) and "cpu_seconds" (the process's CPU
    time, snapshots included) added, and the trained model.

    ``rule="book"`` (for "gru" only) trains the same network, from the same initial weights, with
    this book's learning rule: ``book_gru`` moves them into a ``bridge.NumpyGRU``, whose gradients
    come from ``gru.gru_backward``. Its record still names "gru", the cell it reruns.
    """
    choice("name", name, NETWORKS)
    choice("rule", rule, RULES)
    if rule == "book" and name != "gru":
        raise ValueError(f"name: the book's learning rule trains 'gru' only, got {name!r}")
    T, seed = positive_int("T", T), seed_arg("seed", seed)
    if T < 2:
        raise ValueError(f"T: expected a sequence length >= 2 (two markers), got {T}")
    steps = horizon.SETUP["steps"] if steps is None else positive_int("steps", steps)
    probe = tasks.adding_problem(T, horizon.SETUP["B"], seed=PROBE_SEED)
    start = time.process_time()
    record, model, history = horizon._train_cell(
        name, T, seed, steps, callback=lambda step, model: snapshot(model, *probe),
        convert=book_gru if rule == "book" else None)
    record["snapshots"] = history["callback"]
    record["cpu_seconds"] = round(time.process_time() - start, 2)
    return record, model


def book_gru(model):
    """A ``train.SequenceModel`` whose recurrent part is a ``bridge.NumpyGRU`` (variant "after")
    holding the weights of ``model``'s torch.nn.GRU, and whose readout is a copy of ``model``'s:
    the same function, differentiated by ``gru.gru_backward`` instead of torch's autograd."""
    N, M = _model_arg(model)
    if not isinstance(model.recurrent, torch.nn.GRU):
        raise ArgumentTypeError("model: expected a SequenceModel around a torch.nn.GRU, got one "
                                f"around {type(model.recurrent).__name__}")
    recurrent = bridge.NumpyGRU(2, N, variant="after", seed=0)     # overwritten below
    with torch.no_grad():
        for name, value in torchnn.gru_params_from_torch(model.recurrent).items():
            getattr(recurrent, name).copy_(torch.from_numpy(value))
    book = train.SequenceModel(recurrent, N, M, seed=0)
    book.readout.load_state_dict(model.readout.state_dict())
    return book


def compare(record, stored):
    """How a rerun ``record`` of ``run`` compares with the ``stored`` record of that cell:
    ``horizon.compare_runs``'s answer, and how far the rerun's snapshots leave the band of the
    stored ones, as ``horizon.curve_gap`` does for the learning curve: at each evaluation step t
    of the rerun up to the stored run's last, the band is the range of the stored snapshots within
    ``horizon.CURVE_SHIFT`` steps of t (a run that learns an evaluation earlier or later moves its
    snapshots with it). profile_decades: the largest distance, in powers of ten, of the lag
    profile relative to lag 0 from its band at any lag; half_life_factor: the largest factor of
    the median half-life from its band (1 for a network without gates). "same": the rerun gives
    the stored result, ``horizon.same_result`` holds and these stay within PROFILE_DECADES and
    HALF_LIFE_FACTOR.
    """
    for name, value in (("record", record), ("stored", stored)):
        horizon._record_arg(name, value, cell=True)
        dict_arg(name, value, ["snapshots"], what="a record of shortcut.run", closed=False)
        if not isinstance(value["snapshots"], list) or \
                len(value["snapshots"]) != len(value["eval_step"]):
            raise ValueError(f"{entry(name, 'snapshots')}: expected a list of snapshots, one per "
                             "evaluation step")
    answer = horizon.compare_runs(record, stored)
    steps = np.array(stored["eval_step"])
    profiles, halves = (np.array([_summary(s)[i] for s in stored["snapshots"]]) for i in (0, 1))
    decades, factor = 0.0, 1.0
    for t, snap in zip(record["eval_step"], record["snapshots"]):
        if t > steps[-1]:
            break
        near = np.abs(steps - t) <= horizon.CURVE_SHIFT
        profile, half = _summary(snap)
        low, high = profiles[near].min(axis=0), profiles[near].max(axis=0)
        decades = max(decades, float(np.max(np.maximum(low - profile, profile - high))))
        if np.isfinite(half) and np.all(np.isfinite(halves[near])):
            low, high = halves[near].min(), halves[near].max()
            with np.errstate(divide="ignore"):      # a half-life of 0: z = 0, no memory
                factor = max(factor, low / half if half < low else half / high if half > high
                             else 1.0)
    answer.update(profile_decades=decades, half_life_factor=float(factor))
    answer["same"] = bool(horizon.same_result(record, stored) and decades <= PROFILE_DECADES
                          and factor <= HALF_LIFE_FACTOR)
    return answer


def _summary(snap):
    """What ``compare`` compares of a snapshot: log10 of the lag profile relative to lag 0, and
    the median half-life (NaN for a network without gates; inf where more than half are)."""
    profile = np.log10(np.maximum(np.asarray(snap["lag_profile"], dtype=np.float64),
                                  np.finfo(np.float64).tiny))     # an underflow reads as tiny
    half = float(np.median(snap["half_life"])) if "half_life" in snap else math.nan
    return profile - profile[0], half


def load_results(path=RESULTS, url=RESULTS_URL):
    """Read the results file of ``main``: from ``path``, else (the library installed without the
    book's folders) data/shortcut_results.json in the working folder, else from ``url``, as
    ``horizon.load_results`` does. ``horizon.find_run(results, "gru", 100, 0)`` finds a run."""
    return horizon._read_results(path, RESULTS, url)


def _gru_weights(cell):
    """(params, variant) of a torch.nn.GRU (variant "after") or a bridge.NumpyGRU, for
    ``gru.gru_forward``."""
    if isinstance(cell, torch.nn.GRU):
        return torchnn.gru_params_from_torch(cell), "after"
    return cell.params(), cell.variant


def _model_arg(model):
    """(N, M) of a SequenceModel around a torch.nn.GRU, a tanh torch.nn.RNN or a bridge.NumpyGRU
    with one output."""
    if not isinstance(model, train.SequenceModel):
        raise ArgumentTypeError("model: expected a train.SequenceModel, "
                                f"got {type(model).__name__}")
    cell = model.recurrent
    if isinstance(cell, bridge.NumpyGRU):
        if model.every_step or model.readout.out_features != 1 or cell.w_zx.shape[1] != 2:
            raise ValueError("model: expected the adding problem's network: two inputs, one "
                             "output read from the last state (every_step=False)")
        return cell.w_zv.shape[0], 1
    if not isinstance(cell, (torch.nn.GRU, torch.nn.RNN)):
        raise ArgumentTypeError("model: expected a SequenceModel around a torch.nn.GRU, RNN or "
                                f"bridge.NumpyGRU, got one around {type(cell).__name__}")
    try:
        (torchnn.gru_params_from_torch if isinstance(cell, torch.nn.GRU)
         else torchnn.rnn_params_from_torch)(cell)
    except ValueError as exc:
        raise ValueError(f"model: {exc}") from None
    if model.every_step or model.readout.out_features != 1 or cell.input_size != 2:
        raise ValueError("model: expected the adding problem's network: two inputs, one output "
                         "read from the last state (every_step=False)")
    return cell.hidden_size, 1


def _rounded(value):
    """``value`` (a number or an array) as a float or a list of floats with DIGITS digits."""
    a = np.asarray(value, dtype=np.float64)
    rounded = [float(f"{v:.{DIGITS}g}") for v in a.ravel()]
    return rounded[0] if a.ndim == 0 else rounded


def _run(cell):
    return run(*cell[:2], seed=cell[2])[0]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m rnnbook.shortcut",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes, one thread each (default 1)")
    parser.add_argument("--out", default=str(RESULTS), help=f"results file (default {RESULTS})")
    if argv is not None and (not isinstance(argv, (list, tuple))
                             or not all(isinstance(a, str) for a in argv)):
        raise ArgumentTypeError(f"argv: expected a list of str, got {argv!r}")
    args = parser.parse_args(argv)
    jobs, out = positive_int("jobs", args.jobs), horizon._path_arg("out", args.out)
    todo = horizon.cells(GRID)
    print(f"{len(todo)} runs with snapshots, {jobs} process(es)", flush=True)
    start = time.perf_counter()
    if jobs == 1:
        horizon._one_thread()
        runs = [_report(_run(cell)) for cell in todo]
    else:
        import concurrent.futures
        import multiprocessing
        with concurrent.futures.ProcessPoolExecutor(
                jobs, mp_context=multiprocessing.get_context("spawn"),
                initializer=horizon._one_thread) as pool:
            runs = [_report(r) for r in pool.map(_run, todo)]
    results = {"setup": dict(horizon.SETUP),
               "probe": {"B": horizon.SETUP["B"], "seed": PROBE_SEED},
               "grid": {name: list(lengths) for name, lengths in GRID.items()},
               "seeds": list(horizon.SEEDS), "jobs": jobs, "environment": horizon._environment(),
               "wall_seconds": round(time.perf_counter() - start, 1), "runs": runs}
    _save(results, out)
    print(f"wrote {out}; wall time {results['wall_seconds']:.0f} s", flush=True)


def _save(results, path):
    """``horizon.save_results``'s JSON with each list of numbers on one line: a snapshot's arrays
    stay readable in a diff, and the file is much shorter."""
    text = json.dumps(results, indent=1) + "\n"
    text = re.sub(r"\[\s+([^\[\]{}\"]*?)\s+\]",
                  lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _report(r):
    outcome = f"solved after {r['steps']:4d} steps" if r["solved"] else "not solved"
    print(f"{r['model']:6s} T = {r['T']:3d}  seed {r['seed']}  {outcome:24s}"
          f"  {len(r['snapshots'])} snapshots  {r['cpu_seconds']:6.1f} CPU s", flush=True)
    return r


if __name__ == "__main__":
    sys.exit(main())
