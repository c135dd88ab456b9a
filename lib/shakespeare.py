"""Chapter 6's experiment: character-level language models on Tiny Shakespeare, trained by
truncated BPTT with the state carried from chunk to chunk.

``CharModel`` is a recurrent network with a linear readout, one output per character: the book's
GRU trained by its own learning rule ("book-gru", ``bridge.NumpyGRU``), torch.nn.GRU ("gru"), a
tanh network ("rnn") and an LSTM ("lstm"). ``train_lm`` trains one on consecutive chunks of the
text (``text.chunks``) with Adam and gradient clipping, ``evaluate`` measures its cross-entropy
on a text, ``run`` does both with the book's settings ``SETUP``, and ``params`` reads a trained
network's weights in the book's names, for the numpy code of the chapter. From the repository
root,

    python -m rnnbook.shakespeare    (options: --jobs 2, --only CELL ..., --steps S, --out PATH,
                                      --weights PATH)

trains the four networks on one budget and writes ``chapters/data/shakespeare_results.json``
(the learning curves) and ``chapters/data/shakespeare_weights.npz`` (the trained GRU's and tanh
network's weights); ``load_results`` and ``load_weights`` read them, and ``same_start`` checks a
live rerun of the first steps against the stored run. Importing this module imports torch.
"""
import argparse
import functools
import io
import json
import math
import os
import pathlib
import platform
import sys
import time
import urllib.request

import numpy as np
import torch

from . import bridge, horizon, text, torchnn, train
from ._validate import (ArgumentTypeError, array_arg, callable_arg, choice, dict_arg, entry,
                        flag_arg, name_dict, number_arg, positive_int, positive_number, seed_arg,
                        tensor_arg)

__all__ = ["SETUP", "CELLS", "HEAD", "START_MEASURED", "START_TOLERANCE", "START_STEPS",
           "RESULTS", "RESULTS_URL", "WEIGHTS", "WEIGHTS_URL", "CharModel", "detach_state",
           "evaluate", "train_lm", "run", "params", "same_start", "load_results",
           "load_weights", "merge_results", "main"]

# The book's settings. 256 units read 32 streams of the text, 64 characters per chunk (truncated
# BPTT: the gradient reaches 64 steps back, the state further). Adam's learning rate 4e-3 falls
# along a cosine to 0 over the budget of 2500 steps, about 5 passes over the training text: tuned
# once (the GRU, 2500 steps: a constant 2e-3 reached 1.613 nats/char on the validation text, a
# constant 4e-3 stalled at 1.603, the decay from 4e-3 reached 1.572). Clipping the gradient's
# norm at 1 is insurance against Chapter 3's exploding gradients: a rare batch whose gradient is
# many times the typical one would move every weight by a full Adam step in its direction, since
# Adam's running average of squared gradients has not yet seen it; rescaling bounds that step
# (Pascanu et al. 2013). In the stored runs it acted on 0% of the GRUs' steps, 0.16% of the LSTM's
# and 1.4% of the tanh network's (the records' "clipped"). The curve is measured on the first
# val_chars characters of the validation text, the final loss on all of it, the state carried.
SETUP = {"N": 256, "B": 32, "T": 64, "optimizer": "Adam", "lr": 4e-3, "decay": "cosine",
         "clip": 1.0, "steps": 2500, "eval_every": 100, "val_chars": 16384, "split": 0.9,
         "seed": 0, "dtype": "float32"}

CELLS = {
    "book-gru": "GRU, the book's learning rule",
    "gru": "torch.nn.GRU",
    "rnn": "tanh RNN",
    "lstm": "LSTM",
}

# The stored file keeps the training loss of each of the first HEAD steps (what a live rerun
# compares), then the mean of each later block of eval_every steps.
HEAD = 500

# How far the first training losses of a rerun may differ from the stored run's and still be the
# same run (nats, at every step compared), for the first START_STEPS steps. Measured for "book-gru"
# and "gru" over their first 100 steps, unrounded, on the book's machine (AMD EPYC, AVX2): native;
# ATEN_CPU_CAPABILITY=default with MKL_CBWR=COMPATIBLE; avx2 with MKL_CBWR=AVX; OpenBLAS's
# Sandybridge and Prescott kernels (OPENBLAS_CORETYPE, numpy's products: the book's GRU); two
# threads. The ten runs and the two networks all stayed within START_MEASURED of each other: a
# float32 rounding or two, not amplified in 100 steps (another seed differs by 0.04 nats at the
# first step and by up to 0.4 within 20). The stored losses are rounded to 5 decimals, which
# adds up to 1e-5 to a difference; the tolerance is ten times that, padded for CPUs that could
# not be tried (AVX-512, ARM).
START_MEASURED = 7.2e-7
START_TOLERANCE = 1e-4
START_STEPS = 100

RESULTS = horizon.RESULTS.with_name("shakespeare_results.json")
RESULTS_URL = horizon.RESULTS_URL.rsplit("/", 1)[0] + "/" + RESULTS.name
WEIGHTS = horizon.RESULTS.with_name("shakespeare_weights.npz")
WEIGHTS_URL = horizon.RESULTS_URL.rsplit("/", 1)[0] + "/" + WEIGHTS.name


class CharModel(torch.nn.Module):
    """A character-level language model: a recurrent network of N units
    and a linear readout O(t) = w_ov V(t) - theta_o, one score per
    character. Inputs one-hot (T, B, K); ``forward(x, state=None)``
    returns the scores O (T, B, K) and the final state, to carry into the
    next chunk: V(T) (B, N) for the GRUs and the RNN, (V(T), c(T)) for the
    LSTM; None starts from zeros.

    cell: "gru", "rnn" or "lstm" (torch.nn.GRU, RNN with tanh, LSTM in
    PyTorch's initialisation, the readout drawn next from the same
    ``seed``; torch's global random state is left as it was), or
    "book-gru": ``bridge.NumpyGRU`` (eqs. (9.30a-d), reset gate after the
    product) holding the weights of the "gru" of the same seed, with its
    readout: the same network at the start, trained by the book's
    learning rule. The "gru" has the book's parameters: torch gives the
    reset and update gates two biases each where the book has one
    threshold, and Adam would move their sum twice as fast as the book's
    threshold (each bias takes a full step), so the second bias of those
    two gates is folded into the first and held at zero (its gradient
    zeroed, as horizon's frozen gates are).
    """

    def __init__(self, cell, K, N, *, seed, dtype=torch.float32):
        super().__init__()
        self.cell = choice("cell", cell, CELLS)
        self.K, self.N = positive_int("K", K), positive_int("N", N)
        seed = seed_arg("seed", seed)
        if not isinstance(dtype, torch.dtype) or dtype not in (torch.float32,
                                                               torch.float64):
            raise ArgumentTypeError(f"dtype: expected torch.float32 or "
                                    f"torch.float64, got {dtype!r}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            recurrent = train.CELLS[cell.removeprefix("book-")](K, N)
            readout = torch.nn.Linear(N, K)
        if cell in ("gru", "book-gru"):
            _one_bias_per_gate(recurrent)
        if cell == "book-gru":
            book = bridge.NumpyGRU(K, N, "after", seed=seed, dtype=dtype)
            with torch.no_grad():       # torch's two biases become one
                for name, value in torchnn.gru_params_from_torch(
                        recurrent).items():
                    getattr(book, name).copy_(torch.from_numpy(value))
            recurrent = book
        self.recurrent = recurrent.to(dtype)
        self.readout = readout.to(dtype)
        if cell == "gru":
            # the reset and update gates' rows: r, z, then the candidate
            self.recurrent.bias_hh_l0.register_hook(functools.partial(
                horizon._without_rows, slice(0, 2 * N)))

    def forward(self, x, state=None):
        sizes = {"K": self.K, ("by", "K"): "the model's K",
                 "N": self.N, ("by", "N"): "the model's N",
                 "dtype": self.readout.weight.dtype,
                 ("by", "dtype"): "the model"}
        tensor_arg("x", x, ("T", "B", "K"), sizes)
        if state is not None:
            _state_arg(state, self.cell == "lstm", sizes)
        if self.cell == "book-gru":
            V = self.recurrent(x, state)
            return self.readout(V), V[-1]
        if self.cell == "lstm":
            # torch's states carry a layer axis: (1, B, N)
            h0 = None if state is None else tuple(s[None] for s in state)
            V, (h, c) = self.recurrent(x, h0)
            return self.readout(V), (h[0], c[0])
        h0 = None if state is None else state[None]
        V, h = self.recurrent(x, h0)
        return self.readout(V), h[0]


def _one_bias_per_gate(module):
    """Fold the hidden bias of a torch.nn.GRU's reset and update gates into their input bias, in
    place: b_ir + b_hr, the sum the gate sees, stays as it was, and b_hr = 0."""
    rows = slice(0, 2 * module.hidden_size)
    with torch.no_grad():
        module.bias_ih_l0[rows] += module.bias_hh_l0[rows]
        module.bias_hh_l0[rows] = 0.0


def detach_state(state):
    """The state (a tensor, or the LSTM's pair) cut from the graph that
    made it: the next chunk starts from its values, but the gradient stops
    at the chunk's border (truncated BPTT). None stays None."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    if (isinstance(state, tuple) and len(state) == 2
            and all(isinstance(s, torch.Tensor) for s in state)):
        return tuple(s.detach() for s in state)
    raise ArgumentTypeError(f"state: expected a tensor or a pair of tensors "
                            f"(the LSTM's), got {type(state).__name__}")


def evaluate(model, ids, *, B, T):
    """The mean cross-entropy of ``model`` on the text ``ids``, in nats
    per character: the text read as ``text.chunks(ids, B, T)``, B streams
    side by side, the state carried from chunk to chunk, no gradient. What
    the chunks leave out (the end of each stream, fewer than T + 1
    characters) is not counted. Returns a float."""
    model = _model_arg("model", model)
    B, T = positive_int("B", B), positive_int("T", T)
    ids = _ids_arg("ids", ids, model.K, B, T)
    xs, ys = text.chunks(ids, B, T)
    total, state = 0.0, None
    with torch.no_grad():
        for x, y in zip(xs, ys):
            O, state = model(_one_hot(x, model), state)
            total += _cross_entropy(O, y).item()
    return total / len(xs)


def train_lm(model, train_ids, val_ids, steps, *, seed, B, T, lr, clip,
             eval_every, val_chars, decay_steps=None, progress=None,
             callback=None):
    """Train ``model`` (a CharModel) on the text ``train_ids`` by
    truncated BPTT: ``steps`` steps of Adam on the mean cross-entropy of
    one chunk each, gradients rescaled to norm ``clip`` where larger
    (None: never). The learning rate is ``lr``, or with ``decay_steps`` S
    it falls from ``lr`` to 0 along a cosine: lr (1 + cos(pi s / S)) / 2
    at step s (0 after S), so that a run cut short follows the start of
    the full one.

    The chunks are those of ``text.chunks(train_ids, B, T)``, in order,
    the state carried from each into the next and detached (the gradient
    stops at the border); when they run out, training starts again from
    zeros on the chunks of the text shifted by an offset in [0, T), drawn
    from ``seed`` (the first pass has offset 0), so that the borders move.
    Every ``eval_every`` steps, and after the last, the mean cross-entropy
    on the first ``val_chars`` characters of ``val_ids`` (``evaluate``);
    ``eval_every=None`` validates never.
    ``progress``: a progress bar (None: only in an interactive terminal).
    ``callback(step, model)``, if given, is called after each evaluation;
    it must leave the model as it is. torch's global random state is not
    used. A loss that is not finite stops the run.

    Returns the record, a dict: loss (the training loss of every step,
    nats, 5 decimals), eval_step and val_loss (the curve), clipped (the
    fraction of steps whose gradient was rescaled), seconds_per_step (mean
    wall time of a training step), params (the number of parameters),
    stopped ("steps" or "non-finite loss") and, with a callback, callback
    (what it returned, aligned with eval_step).
    """
    model = _model_arg("model", model)
    steps = positive_int("steps", steps)
    B, T = positive_int("B", B), positive_int("T", T)
    train_ids = _ids_arg("train_ids", train_ids, model.K, B, T)
    val_ids = _ids_arg("val_ids", val_ids, model.K, B, T)
    val_chars = _val_chars_arg(val_chars, len(val_ids), B * T + 1)
    lr = positive_number("lr", lr)
    clip = positive_number("clip", clip, none=True)
    if decay_steps is not None:
        decay_steps = positive_int("decay_steps", decay_steps)
    if eval_every is not None:      # None: no validation (a short rerun)
        eval_every = positive_int("eval_every", eval_every)
    offsets = np.random.default_rng(seed_arg("seed", seed))
    show = (sys.stderr.isatty() if progress is None
            else flag_arg("progress", progress))
    if callback is not None:
        callable_arg("callback", callback)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    record = {"loss": [], "eval_step": [], "val_loss": [], "clipped": 0.0,
              "seconds_per_step": 0.0,
              "params": sum(p.numel() for p in model.parameters()),
              "stopped": "steps"}
    if callback is not None:
        record["callback"] = []
    bar = train._progress_bar(steps) if show else None
    xs, c, clipped, seconds = (), 0, 0, 0.0
    for step in range(steps + 1):
        if eval_every is not None and (step % eval_every == 0 or step == steps):
            record["eval_step"].append(step)
            record["val_loss"].append(round(evaluate(
                model, val_ids[:val_chars], B=B, T=T), 5))
            if callback is not None:
                record["callback"].append(callback(step, model))
        if step == steps:
            break
        start = time.perf_counter()
        if c == len(xs):        # a new pass over the text, from zeros
            offset = 0 if step == 0 else int(offsets.integers(T))
            (xs, ys), c, state = text.chunks(train_ids[offset:], B, T), 0, None
        if decay_steps is not None:
            optimiser.param_groups[0]["lr"] = _cosine(lr, step, decay_steps)
        O, state = model(_one_hot(xs[c], model), state)
        loss = _cross_entropy(O, ys[c])
        optimiser.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(
            model.parameters(), torch.inf if clip is None else clip)
        if not (torch.isfinite(loss) and torch.isfinite(norm)):
            record["stopped"] = "non-finite loss"
            break
        optimiser.step()
        state, c = detach_state(state), c + 1
        seconds += time.perf_counter() - start
        clipped += clip is not None and norm.item() > clip
        record["loss"].append(round(loss.item(), 5))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    if bar is not None:
        bar.close()
    done = max(len(record["loss"]), 1)
    record["clipped"] = round(clipped / done, 4)
    record["seconds_per_step"] = round(seconds / done, 5)
    return record


def run(cell, *, seed, steps=None, validate=True):
    """Train the network ``cell`` of CELLS from ``seed`` on the corpus
    with SETUP: ``CharModel(cell, K, SETUP["N"], seed=seed)`` trained by
    ``train_lm`` on the first SETUP["split"] of the text, validated on the
    rest, for the budget of SETUP["steps"] steps, the learning rate
    decaying over them, or for its first ``steps`` steps only (the start
    of the full run). Deterministic for a seed on a given machine, thread
    count and float code path; elsewhere the digits differ
    (``same_start``). ``validate=False`` skips the validation (a rerun of
    the first steps, compared by its training losses). Returns (record,
    model): train_lm's record with the network's name and the seed added,
    and the trained model."""
    choice("cell", cell, CELLS)
    seed = seed_arg("seed", seed)
    steps = SETUP["steps"] if steps is None else positive_int("steps", steps)
    return _run(cell, seed, steps, SETUP["steps"], flag_arg("validate", validate))


def _run(cell, seed, steps, budget, validate=True):
    """``run`` (arguments checked) for ``steps`` steps of a budget of ``budget`` steps."""
    train_ids, val_ids, K = _corpus()
    model = CharModel(cell, K, SETUP["N"], seed=seed)
    record = train_lm(model, train_ids, val_ids, steps, seed=seed, B=SETUP["B"],
                      T=SETUP["T"], lr=SETUP["lr"], clip=SETUP["clip"],
                      eval_every=SETUP["eval_every"] if validate else None,
                      val_chars=SETUP["val_chars"],
                      decay_steps=budget if SETUP["decay"] == "cosine" else None,
                      progress=False)
    return {"network": cell, "seed": seed, **record}, model


def params(model):
    """The weights of a trained CharModel in the book's names, as numpy float64 arrays, for the
    numpy code of Chapter 6: for the GRUs those of ``gru.param_names("after")`` (w_zx, ...,
    theta_hv; ``torchnn.gru_params_from_torch`` for "gru"), for the tanh network w_vv, w_vx and
    theta_v (``torchnn.rnn_params_from_torch``), and the readout's w_ov (K, N) and theta_o (K,),
    O = w_ov V - theta_o. The LSTM has no numpy twin in the book: ValueError."""
    model = _model_arg("model", model)
    if model.cell == "book-gru":
        out = model.recurrent.params()
    elif model.cell == "gru":
        out = torchnn.gru_params_from_torch(model.recurrent)
    elif model.cell == "rnn":
        out = dict(zip(("w_vv", "w_vx", "theta_v"),
                       torchnn.rnn_params_from_torch(model.recurrent)))
    else:
        raise ValueError(f"model: expected a GRU or the tanh network, whose equations the book's "
                         f"numpy code computes, got the {model.cell!r} network")
    readout = model.readout
    return {**out, "w_ov": readout.weight.detach().double().numpy().copy(),
            "theta_o": -readout.bias.detach().double().numpy()}


def same_start(live, stored, steps, tol=None):
    """True if the first ``steps`` training losses of a ``live`` rerun (the record of ``run`` or
    ``train_lm``) agree with those of the ``stored`` record of the same network and seed within
    ``tol`` nats each (default START_TOLERANCE): the same run, up to the rounding of another float
    code path, which the tolerance covers. ``steps``: at most START_STEPS, for which the
    tolerance was measured, and both records must hold that many losses; where both name their
    network and seed, they must be the same."""
    losses = {}
    for name, record in (("live", live), ("stored", stored)):
        dict_arg(name, record, ["loss"], what="a record of run or train_lm", closed=False)
        if not isinstance(record["loss"], (list, tuple, np.ndarray)):
            raise ArgumentTypeError(f"{entry(name, 'loss')}: expected a list of losses, "
                                    f"got {type(record['loss']).__name__}")
        # finite numbers: train_lm stops at a loss that is not finite, without recording it
        losses[name] = array_arg(entry(name, "loss"), record["loss"], ("losses",), {})
    steps = positive_int("steps", steps)
    if steps > START_STEPS:
        raise ValueError(f"steps: expected at most START_STEPS = {START_STEPS}, the steps for "
                         f"which the tolerance was measured, got {steps}")
    tol = START_TOLERANCE if tol is None else positive_number("tol", tol)
    for name, loss in losses.items():
        if len(loss) < steps:
            raise ValueError(f"steps: expected at most the {len(loss)} losses of {name}, "
                             f"got {steps}")
    if any(key in live and key in stored and live[key] != stored[key]
           for key in ("network", "seed")):
        return False
    difference = np.abs(losses["live"][:steps] - losses["stored"][:steps])
    return bool(np.all(difference <= tol))


def load_results(path=RESULTS, url=RESULTS_URL):
    """Read the results file of ``main``: from ``path``, else (the library installed without the
    book's folders) data/shakespeare_results.json in the working folder, else from ``url``, as
    ``horizon.load_results`` does. ``results["networks"]["gru"]`` is the GRU's record."""
    return horizon._read_results(path, RESULTS, url)


def load_weights(path=WEIGHTS, url=WEIGHTS_URL):
    """Read the weights file of ``main`` (found as ``load_results`` finds its file): a dict
    {"gru": params, "rnn": params} of the trained GRU (the book's learning rule's, or
    torch.nn.GRU's where that one was not run: ``load_results()["weights"]`` says) and tanh
    network, each as ``params`` returns it, numpy float64 arrays in the book's names."""
    path = horizon._path_arg("path", path)
    if not isinstance(url, str) or "://" not in url:
        raise ArgumentTypeError(f"url: expected an address such as https://..., got {url!r}")
    local = pathlib.Path("data") / WEIGHTS.name
    if not path.exists() and path == WEIGHTS and local.exists():
        path = local
    if path.exists():
        data = path.read_bytes()
    else:
        with urllib.request.urlopen(url) as response:
            data = response.read()
    out = {}
    with np.load(io.BytesIO(data)) as arrays:
        for key in arrays.files:
            network, name = key.split("/")
            out.setdefault(network, {})[name] = arrays[key].astype(np.float64)
    return out


def merge_results(results, update):
    """The results of ``main`` with the networks of ``update`` (results of a run of some
    networks) added, or replaced where ``results`` has them, in the order of CELLS; the others
    are kept as they are and the wall time is the sum of both. Both must come from the same
    setup, environment and number of processes, which the file states once for all networks."""
    results, update = _results_arg("results", results), _results_arg("update", update)
    for key in ("setup", "environment", "jobs"):
        if update[key] != results[key]:
            raise ValueError(f"update: its {key} {update[key]!r} differs from the results' "
                             f"{results[key]!r}; one file states one {key} for all its networks")
    networks = {**results["networks"], **update["networks"]}
    return {**results, "networks": {cell: networks[cell] for cell in CELLS if cell in networks},
            "weights": _weight_sources(results["weights"], update["weights"]),
            "wall_seconds": round(results["wall_seconds"] + update["wall_seconds"], 1)}


# the networks whose weights the weights file may keep under each name, the preferred first
_WEIGHT_SOURCES = {"gru": ("book-gru", "gru"), "rnn": ("rnn",)}


def _results_arg(name, results):
    """``results`` if it is what ``main`` writes: setup, environment, jobs, networks (a record
    for each of some CELLS), weights (which network's weights the file keeps under "gru" and
    "rnn") and wall_seconds."""
    dict_arg(name, results, ["setup", "environment", "jobs", "networks", "weights",
                             "wall_seconds"], what="the results of main", closed=False)
    networks = name_dict(entry(name, "networks"), results["networks"],
                         "a dict network -> record")
    for cell, record in networks.items():
        choice(f"{entry(name, 'networks')} key", cell, CELLS)
        if not isinstance(record, dict):
            raise ArgumentTypeError(f"{entry(name, 'networks')}: expected a record (dict) "
                                    f"for {cell!r}, got {type(record).__name__}")
    weights = name_dict(entry(name, "weights"), results["weights"], "a dict name -> network")
    for key, cell in weights.items():
        choice(f"{entry(name, 'weights')} key", key, _WEIGHT_SOURCES)
        choice(entry(name, "weights"), cell, _WEIGHT_SOURCES[key])
    number_arg(entry(name, "wall_seconds"), results["wall_seconds"], low=0.0)
    return results


def _weight_sources(old, new):
    """Which network's weights the file keeps under "gru" and "rnn": the book's GRU before
    torch.nn.GRU; a network just run replaces the stored weights of the same or a later choice."""
    sources = dict(old)
    for key, choices in _WEIGHT_SOURCES.items():
        if key in new and (key not in old or choices.index(new[key]) <= choices.index(old[key])):
            sources[key] = new[key]
    return {key: sources[key] for key in ("gru", "rnn") if key in sources}


def _stored(record, full_val_loss, seconds):
    """What the results file keeps of a record of ``run``: the training loss of the first HEAD
    steps, then the mean of each later block of eval_every steps (block_step: the last step of
    each block), the validation curve, the final loss on the whole validation text
    (full_val_loss) and the wall time in seconds, evaluations included."""
    loss, every = record["loss"], SETUP["eval_every"]
    starts = range(HEAD, len(loss), every)
    keep = ("network", "seed", "eval_step", "val_loss", "clipped", "seconds_per_step", "params",
            "stopped")
    return {**{key: record[key] for key in keep}, "steps": len(loss), "loss": loss[:HEAD],
            "block_step": [min(s + every, len(loss)) for s in starts],
            "block_loss": [round(float(np.mean(loss[s:s + every])), 5) for s in starts],
            "full_val_loss": round(full_val_loss, 5), "seconds": round(seconds, 1)}


def _run_network(cell, steps):
    """Train ``cell`` with SETUP on one thread, for main: (stored record, its weights in the
    book's names as float32, or None for the LSTM)."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    record, model = _run(cell, SETUP["seed"], steps, steps)
    val_ids = _corpus()[1]
    full = evaluate(model, val_ids, B=SETUP["B"], T=SETUP["T"])
    weights = None if cell == "lstm" else {
        name: value.astype(np.float32) for name, value in params(model).items()}
    return _stored(record, full, time.perf_counter() - start), weights


def _environment():
    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "machine": platform.machine(), "cpu": _cpu(),
            "threads per process": 1}


def _cpu():
    """The CPU's model name (Linux's /proc/cpuinfo; elsewhere what platform says)."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _save_weights(weights, path):
    """Write ``weights`` ({"gru": params, "rnn": params}) as float32 arrays "gru/w_zx", ...
    into the npz file ``path``, keeping what it holds under other prefixes."""
    arrays = {}
    if path.exists():
        with np.load(path) as old:
            arrays = {key: old[key] for key in old.files if key.split("/")[0] not in weights}
    for network, values in weights.items():
        arrays.update({f"{network}/{name}": np.asarray(v, dtype=np.float32)
                       for name, v in values.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        np.savez_compressed(file, **dict(sorted(arrays.items())))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m rnnbook.shakespeare",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes, one thread each (default 1)")
    parser.add_argument("--out", default=str(RESULTS), help=f"results file (default {RESULTS})")
    parser.add_argument("--weights", default=str(WEIGHTS),
                        help=f"weights file (default {WEIGHTS})")
    parser.add_argument("--only", nargs="+", metavar="CELL",
                        help="networks (also comma-separated): train only these and merge them "
                             "into the files --out and --weights, keeping the others")
    parser.add_argument("--steps", type=int, default=SETUP["steps"],
                        help=f"training steps of each network (default {SETUP['steps']})")
    if argv is not None and (not isinstance(argv, (list, tuple))
                             or not all(isinstance(a, str) for a in argv)):
        raise ArgumentTypeError(f"argv: expected a list of str, got {argv!r}")
    args = parser.parse_args(argv)
    jobs, steps = positive_int("jobs", args.jobs), positive_int("steps", args.steps)
    out = horizon._path_arg("out", args.out)
    weights_path = horizon._path_arg("weights", args.weights)
    todo = list(CELLS)
    if args.only is not None:
        todo = [choice("only", name, CELLS) for names in args.only for name in names.split(",")]
    setup, environment = dict(SETUP, steps=steps), _environment()
    stored = None
    if args.only is not None and set(todo) != set(CELLS):
        if not out.exists():
            raise ValueError(f"only: merges into the results file --out, but {out} does not "
                             "exist")
        stored = _results_arg("out", load_results(out))
        now = {"setup": setup, "environment": environment, "jobs": jobs}
        for key, value in now.items():      # what merge_results needs, before any training
            if stored.get(key) != value:
                raise ValueError(f"only: {out} was made with {key} {stored.get(key)!r}, this "
                                 f"run has {value!r}; merge only what the same setting ran")
    print(f"{', '.join(todo)}: {steps} steps each, {jobs} process(es)", flush=True)
    # the slowest first, so that two processes finish together
    order = sorted(todo, key=lambda cell: ("gru", "lstm", "book-gru", "rnn").index(cell))
    start, done = time.perf_counter(), {}

    def report(cell, result):
        r = result[0]
        done[cell] = result
        last = (r["block_loss"] or r["loss"])[-1]
        print(f"{cell:9s} validation {r['full_val_loss']:.4f} nats/char, training {last:.4f}, "
              f"{r['seconds_per_step'] * 1e3:.0f} ms/step, {r['seconds']:.0f} s", flush=True)

    if jobs == 1:
        for cell in order:
            report(cell, _run_network(cell, steps))
    else:
        import concurrent.futures
        import multiprocessing
        # one thread per process for numpy's products too (the book's GRU), which read these
        # when the new process imports numpy
        names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
        saved = {name: os.environ.get(name) for name in names}
        os.environ.update({name: "1" for name in names})
        try:
            with concurrent.futures.ProcessPoolExecutor(
                    jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = {pool.submit(_run_network, cell, steps): cell for cell in order}
                for future in concurrent.futures.as_completed(futures):
                    report(futures[future], future.result())
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    networks = {cell: done[cell][0] for cell in CELLS if cell in done}
    sources = {}
    for key, choices in (("gru", ("book-gru", "gru")), ("rnn", ("rnn",))):
        ran = [cell for cell in choices if cell in done]
        if ran:
            sources[key] = ran[0]
    results = {"setup": setup, "environment": environment, "jobs": jobs, "networks": networks,
               "weights": sources, "wall_seconds": round(time.perf_counter() - start, 1)}
    if stored is not None:
        results = merge_results(stored, results)
    # the weights of a network whose stored ones are kept stay as they are
    new = {key: done[cell][1] for key, cell in results["weights"].items() if cell in done}
    _save_weights(new, weights_path)
    horizon.save_results(results, out)
    print(f"wrote {out} and {weights_path}; wall time {results['wall_seconds']:.0f} s",
          flush=True)


def _state_arg(state, lstm, sizes):
    """Check a state for ``CharModel.forward``: (B, N), or the LSTM's pair."""
    if lstm:
        if not isinstance(state, tuple) or len(state) != 2:
            raise ArgumentTypeError(f"state: expected the LSTM's pair (V, c) of tensors (B, N), "
                                    f"got {type(state).__name__}")
        for s in state:
            tensor_arg("state", s, ("B", "N"), sizes)
    else:
        tensor_arg("state", state, ("B", "N"), sizes)


def _model_arg(name, value):
    if not isinstance(value, CharModel):
        raise ArgumentTypeError(f"{name}: expected a shakespeare.CharModel, "
                                f"got {type(value).__name__}")
    return value


def _ids_arg(name, value, K, B, T):
    """``value`` if it is a 1-D integer array of ids in [0, K), long enough for one chunk of T
    steps in each of B streams."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iu":
        raise ArgumentTypeError(f"{name}: expected a 1-D numpy array of integer ids, got "
                                f"{type(value).__name__} {getattr(value, 'dtype', '')}".rstrip())
    if value.ndim != 1 or len(value) < B * T + 1:
        raise ValueError(f"{name}: expected a 1-D array of at least B T + 1 = {B * T + 1} ids "
                         f"(one chunk of T = {T} steps in B = {B} streams), got shape "
                         f"{value.shape}")
    if value.min() < 0 or value.max() >= K:
        raise ValueError(f"{name}: expected ids in [0, {K - 1}] (K = {K}, the model's), got "
                         f"ids from {value.min()} to {value.max()}")
    return value


def _val_chars_arg(value, available, minimum):
    value = positive_int("val_chars", value)
    if not minimum <= value <= available:
        raise ValueError(f"val_chars: expected between B T + 1 = {minimum} and the "
                         f"{available} ids of val_ids, got {value}")
    return value


def _one_hot(ids, model):
    """The chunk ``ids`` (T, B) as the model's one-hot inputs (T, B, K)."""
    single = model.readout.weight.dtype == torch.float32
    return torch.from_numpy(text.one_hot(ids, model.K, dtype=np.float32 if single else np.float64))


def _cosine(lr, step, S):
    """The learning rate at ``step`` of a cosine decay from ``lr`` to 0 over ``S`` steps."""
    return lr * (1 + math.cos(math.pi * min(step, S) / S)) / 2


def _cross_entropy(O, y):
    """The mean cross-entropy, nats per character, of scores O (T, B, K) for targets y (T, B)."""
    return torch.nn.functional.cross_entropy(O.reshape(-1, O.shape[-1]),
                                             torch.from_numpy(y).reshape(-1))


def _corpus():
    """(train_ids, val_ids, K): the corpus encoded and split as SETUP says."""
    corpus = text.load_corpus()
    vocab = text.vocabulary(corpus)
    train_ids, val_ids = text.split(text.encode(corpus, vocab), SETUP["split"])
    return train_ids, val_ids, len(vocab)


if __name__ == "__main__":
    sys.exit(main())
