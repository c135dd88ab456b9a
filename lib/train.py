"""Trainable models and a small torch training loop for the sequence tasks of ``rnnbook.tasks``:
Adam, optional gradient-norm clipping, early stopping, seeded, on the CPU unless a GPU is asked for.

The models: ``SequenceModel`` (a recurrent module with a linear readout), built by ``make_model``
around torch.nn.RNN, GRU or LSTM, ``BookGRU``, eqs. (9.30a-d) with either reset placement, and
``MinGRU``, the GRU whose gates see only the input, computed as a parallel scan over time.
Training uses torch autograd in float32 (the library's numpy code is for checking the equations;
this module is for running experiments). Importing it imports torch.
"""
import math
import sys

import numpy as np
import torch

from . import gru, mingru, reference
from ._validate import (ArgumentTypeError, callable_arg, choice, flag_arg, positive_int,
                        positive_number, seed_arg, sizes_of, tensor_arg)

__all__ = ["CELLS", "SequenceModel", "BookGRU", "MinGRU", "make_model", "train"]

CELLS = {
    "rnn": lambda K, N: torch.nn.RNN(K, N, nonlinearity="tanh"),
    "gru": lambda K, N: torch.nn.GRU(K, N),
    "lstm": lambda K, N: torch.nn.LSTM(K, N),
}


class SequenceModel(torch.nn.Module):
    """A recurrent network with a linear readout, O = w_ov V - theta_o, of its last state
    V(T) (output (B, M)) or, with ``every_step=True``, of every state V(t) (output (T, B, M)).

    ``recurrent`` is any module that maps x of shape (T, B, K) to the states V(1..T) of shape
    (T, B, N), or to a tuple whose first item is that, as ``torch.nn.RNN``, ``GRU`` and ``LSTM`` do.
    The readout starts as ``torch.nn.Linear(N, M)`` does, drawn from ``seed`` (torch's global
    random state is left as it was) or, with ``seed=None``, from that global state.
    """

    def __init__(self, recurrent, N, M, *, seed, every_step=False):
        super().__init__()
        self.recurrent = _module_arg("recurrent", recurrent)
        N, M = positive_int("N", N), positive_int("M", M)
        seed = seed_arg("seed", seed, none=True)
        if seed is None:
            self.readout = torch.nn.Linear(N, M)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.readout = torch.nn.Linear(N, M)
        self.every_step = flag_arg("every_step", every_step)

    def forward(self, x):
        V = self.recurrent(x)
        V = V[0] if isinstance(V, tuple) else V
        return self.readout(V if self.every_step else V[-1])


class BookGRU(torch.nn.Module):
    """Eqs. (9.30a-d) as a trainable torch module, for either reset placement.

    ``forward(x)`` maps inputs (T, B, K) to the states V(1..T) of shape (T, B, N), starting from
    V(0) = 0, like ``torch.nn.GRU``; autograd differentiates ``reference.gru_forward``. The
    parameters carry the book's names and start as ``gru.init_params(K, N, variant, seed=seed,
    z_bias=z_bias)`` (torch.nn.GRU's uniform range, ``z_bias`` raising the update gate's bias), in
    ``dtype``. ``params()`` returns them as numpy float64 arrays for ``rnnbook.gru``.
    """

    def __init__(self, K, N, variant="before", *, seed, z_bias=0.0, dtype=torch.float32):
        super().__init__()
        self.variant = variant
        dtype = _torch_dtype("dtype", dtype)
        init = gru.init_params(K, N, variant, seed=seed, z_bias=z_bias)
        for name, value in init.items():
            setattr(self, name, torch.nn.Parameter(torch.tensor(value, dtype=dtype)))

    def params(self):
        """The parameters as a dict of numpy float64 arrays, in the book's names."""
        return {name: p.detach().cpu().double().numpy() for name, p in self.named_parameters()}

    def forward(self, x):
        return reference.gru_forward(x, dict(self.named_parameters()), variant=self.variant)[1:]


class MinGRU(torch.nn.Module):
    """The minGRU (Feng et al. 2024), eqs. (9.30a-d) without recurrent weights: x (T, B, K) ->
    V(1..T) (T, B, N).

        z(t) = sigma(w_zx x(t) - theta_z),    h(t) = g(w_hx x(t) - theta_h),
        V(t) = z(t) V(t-1) + (1 - z(t)) h(t),

    with g(b) = b + 1/2 for b >= 0 and sigma(b) below ("positive", so that h > 0 and log h
    exists). The book's z keeps the old state: the paper's z is our 1 - z. No reset gate, and no
    V(t-1) inside the gates: every z(t) and h(t) is known before the recursion starts, and
    V(t) = A(t) [V(0) + sum_{s <= t} (1 - z(s)) h(s) / A(s)] with A(t) = z(1) ... z(t), a prefix
    sum over time. ``parallel=True`` computes it in log space (Heinsen 2023) with torch's cumsum
    and logcumsumexp; ``parallel=False`` runs the plain loop, one step after another (the
    reference of the tests). ``forward(x, v0=None)`` starts from V(0) = ``v0`` (default 0).
    The scan rounds to about eps |log A(t)|, which grows with t: in float32, from the initial
    parameters, its states keep 1e-5 at T = 200, but the gates' gradients only 1e-3 (9e-2 at
    T = 1000; the loop's keep 1e-6): precise enough for Adam, not for comparing digits.

    The parameters carry the book's names (theta subtracted) and start as torch.nn.GRU's input
    weights do, uniform in [-1/sqrt(N), 1/sqrt(N)], drawn in float64 by numpy from ``seed`` (as
    ``gru.init_params``; torch's random state is not used) and given ``dtype``: the float32 model
    is the float64 one rounded. ``params()`` returns them as numpy float64 arrays.
    """

    def __init__(self, K, N, *, seed, parallel=True, dtype=torch.float32):
        super().__init__()
        K, N = positive_int("K", K), positive_int("N", N)
        seed = seed_arg("seed", seed)
        self.parallel = flag_arg("parallel", parallel)
        dtype = _torch_dtype("dtype", dtype)
        # numpy's generator, through mingru.init_params: torch's, seeded with the same seed for
        # the readout of SequenceModel(..., seed=seed), would make the two draws depend on each other
        for name, value in mingru.init_params(K, N, seed=seed).items():
            setattr(self, name, torch.nn.Parameter(torch.tensor(value, dtype=dtype)))

    def params(self):
        """The parameters as a dict of numpy float64 arrays, in the book's names."""
        return {name: p.detach().cpu().double().numpy() for name, p in self.named_parameters()}

    def forward(self, x, v0=None):
        sizes = sizes_of("w_zx", ("N", "K"), self.w_zx.shape)
        sizes.update({"dtype": self.w_zx.dtype, ("by", "dtype"): "the parameters"})
        tensor_arg("x", x, ("T", "B", "K"), sizes)
        if v0 is not None:
            tensor_arg("v0", v0, ("B", "N"), sizes)
        a_z = x @ self.w_zx.T - self.theta_z
        a_h = x @ self.w_hx.T - self.theta_h
        return (_mingru_scan if self.parallel else _mingru_loop)(a_z, a_h, v0)


def _mingru_loop(a_z, a_h, v0):
    """The minGRU's states V(1..T) from the local fields a_z, a_h (T, B, N), step by step."""
    V = [torch.zeros_like(a_z[0]) if v0 is None else v0]
    # unbind, not z[t]: the gradient of each z[t] would be a zero tensor of all T steps
    for z, h in zip(torch.sigmoid(a_z).unbind(0), _positive(a_h).unbind(0)):
        V.append(z * V[-1] + (1 - z) * h)
    return torch.stack(V[1:])


def _mingru_scan(a_z, a_h, v0):
    """``_mingru_loop`` as a prefix sum in log space: log A(t) = cumsum of log z, and the sum
    over s <= t of (1 - z(s)) h(s) / A(s) is exp of a logcumsumexp, so that no quotient is
    formed that could overflow (A(s) shrinks geometrically)."""
    functional = torch.nn.functional
    log_z = -functional.softplus(-a_z)                          # log sigma(a)
    log_b = -functional.softplus(a_z) + _log_positive(a_h)      # log (1 - z) h
    log_A = torch.cumsum(log_z, dim=0)
    V = torch.exp(log_A + torch.logcumsumexp(log_b - log_A, dim=0))
    # V(0) enters as it is, A(t) V(0), not through g (lucidrains/minGRU-pytorch issue #9)
    return V if v0 is None else V + torch.exp(log_A) * v0


def _positive(b):
    """Feng et al.'s g: b + 1/2 for b >= 0, sigma(b) below, continuous at 0 and > 0."""
    return torch.where(b >= 0, b + 0.5, torch.sigmoid(b))


def _log_positive(b):
    """log g(b), computed without forming g: log(b + 1/2), or log sigma(b) = -softplus(-b)."""
    # relu keeps the branch that where discards finite: a NaN there would reach the gradient
    return torch.where(b >= 0, torch.log(torch.relu(b) + 0.5),
                       -torch.nn.functional.softplus(-b))


def make_model(cell, K, N, M, *, seed, every_step=False):
    """A ``SequenceModel`` around ``torch.nn.RNN`` (tanh), ``GRU`` or ``LSTM`` (``cell`` = "rnn",
    "gru" or "lstm") with K inputs, N units and M outputs, in PyTorch's default initialisation
    drawn from ``seed`` (the global torch random state is left as it was)."""
    build = CELLS[choice("cell", cell, CELLS)]
    K, N, M = positive_int("K", K), positive_int("N", N), positive_int("M", M)
    seed, every_step = seed_arg("seed", seed), flag_arg("every_step", every_step)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        # the readout continues the stream that drew the cell (seed=None): so were the stored runs made
        return SequenceModel(build(K, N), N, M, seed=None, every_step=every_step)


def train(model, task, steps, *, seed, lr=1e-3, clip=None, target_loss=None, device="cpu",
          eval_every=None, eval_batches=4, progress=None, callback=None):
    """Train ``model`` with Adam on the mean squared error, one fresh batch per step.

    ``task(seed=...)`` returns a batch ``(x, y)`` of numpy arrays, e.g.
    ``functools.partial(tasks.adding_problem, T=20, B=64)``; batch i is drawn with a seed derived
    from ``seed``, and the evaluation set (``eval_batches`` batches) with seeds of its own, so a
    run is reproducible. With ``clip``, gradients whose norm exceeds it are rescaled to norm
    ``clip`` (Pascanu et al. 2013). Training stops early once the evaluation loss reaches
    ``target_loss``, or when a loss is not finite. ``progress``: show a progress bar (None: only
    in an interactive terminal, so that notebook outputs stay clean). ``callback(step, model)``,
    if given, is called at every evaluation, once its loss is recorded (at step 0 and at the last
    evaluation too), to measure the model while it learns; it must leave the model and torch's
    random state as they are, so that the run does not change.

    Returns the history, a dict of lists: ``step``, ``loss`` (the training loss of each step),
    ``grad_norm`` (the gradient norm before clipping), ``eval_step`` and ``eval_loss`` (every
    ``eval_every`` steps, starting before the first step), and ``stopped``: "steps", "target_loss"
    or "non-finite loss"; with a ``callback``, also ``callback``: what it returned at each
    evaluation, aligned with ``eval_step``.
    """
    model, task = _module_arg("model", model), callable_arg("task", task)
    steps = positive_int("steps", steps)
    eval_every = max(1, steps // 50) if eval_every is None else positive_int("eval_every", eval_every)
    lr = positive_number("lr", lr)
    clip = positive_number("clip", clip, none=True)
    target_loss = positive_number("target_loss", target_loss, none=True)
    seed, eval_batches = seed_arg("seed", seed), positive_int("eval_batches", eval_batches)
    show = sys.stderr.isatty() if progress is None else flag_arg("progress", progress)
    if callback is not None:
        callable_arg("callback", callback)
    device = _device(device)
    model.to(device)
    seeds = np.random.default_rng(seed).integers(2**63, size=steps + eval_batches)
    # the batch axis is the second-last one of x (T, B, K), y (B, M) and y (T, B, M) alike
    x_eval, y_eval = (_tensor(np.concatenate(a, axis=-2), device)
                      for a in zip(*(task(seed=int(s)) for s in seeds[steps:])))
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history = {"step": [], "loss": [], "grad_norm": [], "eval_step": [], "eval_loss": [], "stopped": "steps"}
    if callback is not None:
        history["callback"] = []
    bar = _progress_bar(steps) if show else None
    for step in range(steps + 1):
        if step % eval_every == 0 or step == steps:
            history["eval_step"].append(step)
            history["eval_loss"].append(_evaluate(model, x_eval, y_eval))
            if callback is not None:
                history["callback"].append(callback(step, model))
            if target_loss is not None and history["eval_loss"][-1] <= target_loss:
                history["stopped"] = "target_loss"
                break
        if step == steps:
            break
        x, y = (_tensor(a, device) for a in task(seed=int(seeds[step])))
        loss = _mse(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        # with max_norm = inf nothing is rescaled: the call only measures the norm
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), math.inf if clip is None else clip)
        if not (torch.isfinite(loss) and torch.isfinite(norm)):
            history["stopped"] = "non-finite loss"
            break
        optimiser.step()
        history["step"].append(step + 1)
        history["loss"].append(loss.item())
        history["grad_norm"].append(norm.item())
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{history['loss'][-1]:.4f}", refresh=False)
    if bar is not None:
        bar.close()
    return history


def _evaluate(model, x, y):
    """The mean squared error of ``model`` on inputs ``x`` and targets ``y`` (tensors on the
    model's device), without building a graph. Returns a float."""
    with torch.no_grad():
        return _mse(model(x), y).item()


def _mse(out, y):
    if out.shape != y.shape:
        raise ValueError(f"y: the model's output has shape {tuple(out.shape)} but the targets have "
                         f"shape {tuple(y.shape)}; use every_step=True for targets at every step (T, B, M)")
    return torch.mean((out - y) ** 2)


def _tensor(a, device):
    return torch.as_tensor(np.asarray(a), dtype=torch.float32).to(device)


def _module_arg(name, value):
    if not isinstance(value, torch.nn.Module):
        raise ArgumentTypeError(f"{name}: expected a torch.nn.Module, got {type(value).__name__}")
    return value


def _torch_dtype(name, value):
    # a dtype first: `in` would compare an array elementwise and raise numpy's own error
    if not isinstance(value, torch.dtype) or value not in (torch.float32, torch.float64):
        raise ArgumentTypeError(f"{name}: expected torch.float32 or torch.float64, got {value!r}")
    return value


def _device(device):
    if not isinstance(device, (str, torch.device)):
        raise ArgumentTypeError(f"device: expected 'cpu', 'cuda' or a torch.device, got {device!r}")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device: expected 'cpu', 'cuda' or a torch.device, got {device!r}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: CUDA was asked for but torch finds no GPU on this machine; use device='cpu'")
    return device


def _progress_bar(steps):
    from tqdm.auto import tqdm
    return tqdm(total=steps, desc="training", unit="step")
