"""Seeded sequence tasks that need memory: the adding problem, a latch and a delayed echo.

Every generator takes the sequence length ``T``, the batch size ``B`` and a keyword ``seed``
(``np.random.default_rng(seed)``; the training loop calls a task as ``task(seed=...)``), and
returns float64 numpy arrays, time-major like the rest of the library: inputs ``x`` of shape
(T, B, K) with ``x[t-1]`` = x(t), and targets ``y`` of shape (B, M) for a task answered once at
the end, or (T, B, M) for a task answered at every step.
"""
import numpy as np

from ._validate import array_arg, number_arg, positive_int, seed_arg

__all__ = ["adding_problem", "adding_baselines", "latch", "delayed_echo"]


def adding_problem(T, B, *, seed):
    """The adding problem: y = x_0(t1) + x_0(t2), the sum of the two marked numbers.

    Channel 0 of x holds numbers drawn uniformly from [0, 1]; channel 1 holds the markers, exactly
    two ones per sequence: t1 uniform in the first half, 1 <= t1 <= T // 2, and t2 uniform in the
    second half, T // 2 < t2 <= T (the convention of Arjovsky et al. 2016). Shapes: x (T, B, 2),
    y (B, 1). Needs T >= 2.
    """
    T, B = _length("T", T, minimum=2), positive_int("B", B)
    rng = np.random.default_rng(seed_arg("seed", seed))
    x = np.zeros((T, B, 2))
    x[:, :, 0] = rng.uniform(0.0, 1.0, size=(T, B))
    half = T // 2
    rows = np.arange(B)
    first = rng.integers(0, half, size=B)           # index t1 - 1
    second = rng.integers(half, T, size=B)          # index t2 - 1
    x[first, rows, 1] = 1.0
    x[second, rows, 1] = 1.0
    y = (x[first, rows, 0] + x[second, rows, 0])[:, None]
    return x, y


def adding_baselines(x, y):
    """Mean squared errors of two strategies that need (almost) no memory, on a batch of the
    adding problem: always predicting 1 (expected 1/6, the variance of a sum of two U[0, 1]) and
    remembering only the second marked number, predicting it plus the mean 1/2 of the first
    (expected 1/12, the variance of one U[0, 1]). Shapes: x (T, B, 2), y (B, 1). Returns a dict.
    """
    sizes = {"K": 2, "M": 1}
    x = array_arg("x", x, ("T", "B", "K"), sizes)
    y = array_arg("y", y, ("B", "M"), sizes)
    second = x[::-1, :, 1].argmax(axis=0)           # the last marker, counted from the end
    remembered = x[x.shape[0] - 1 - second, np.arange(x.shape[1]), 0]
    return {"predict 1": float(np.mean((y[:, 0] - 1.0) ** 2)),
            "remember the second number": float(np.mean((y[:, 0] - remembered - 0.5) ** 2))}


def latch(T, B, *, seed, p=0.05):
    """A latch (flip-flop): y(t) = +1 if the latest pulse up to time t was a set, -1 if it was a
    reset or if no pulse has come yet (the latch starts reset).

    At each step a pulse arrives with probability ``p``, a set (channel 0) or a reset (channel 1)
    with equal chance. The network must hold the bit for as long as no pulse comes, on average
    1/p steps. Shapes: x (T, B, 2), y (T, B, 1).
    """
    T, B = _length("T", T, minimum=1), positive_int("B", B)
    p = number_arg("p", p, low=0.0, high=1.0, low_open=True, what="a pulse probability")
    rng = np.random.default_rng(seed_arg("seed", seed))
    pulse = rng.random((T, B)) < p
    is_set = rng.random((T, B)) < 0.5
    x = np.zeros((T, B, 2))
    x[:, :, 0] = pulse & is_set
    x[:, :, 1] = pulse & ~is_set
    y = np.empty((T, B, 1))
    state = np.full(B, -1.0)
    for t in range(T):           # a pulse overwrites the stored bit; otherwise it is kept
        state = np.where(pulse[t], np.where(is_set[t], 1.0, -1.0), state)
        y[t, :, 0] = state
    return x, y


def delayed_echo(T, B, delay, *, seed):
    """Delayed echo: y(t) = x(t - delay), a stream of random bits played back ``delay`` steps
    late, with y(t) = 0 for t <= delay (as if the stream had been preceded by zeros).

    Shapes: x (T, B, 1) with entries 0 or 1, y (T, B, 1). Needs 1 <= delay < T.
    """
    T, B = _length("T", T, minimum=2), positive_int("B", B)
    delay = positive_int("delay", delay)
    if delay >= T:
        raise ValueError(f"delay: expected a delay shorter than the sequence, 1 <= delay < T = {T}, "
                         f"got {delay}")
    rng = np.random.default_rng(seed_arg("seed", seed))
    x = rng.integers(0, 2, size=(T, B, 1)).astype(np.float64)
    y = np.zeros_like(x)
    y[delay:] = x[:-delay]
    return x, y


def _length(name, value, minimum):
    value = positive_int(name, value)
    if value < minimum:
        raise ValueError(f"{name}: expected a sequence length >= {minimum}, got {value}")
    return value
