"""The error contract, fuzzed: every public function of the library (but those of horizon,
shortcut and shakespeare that train: TRAINS), given one bad argument at a time, raises ValueError
or TypeError, and the message names that argument. The drawing functions of plots and widgets
draw on small figures of their own (matplotlib's Figure, no pyplot state) and small grids; the
book's style is undone after the module.

``CALLS`` holds one valid call of each public function (two for ``gru_backward``, one per variant),
with every argument given by keyword and described by its *kind*: an array with named axes, a dict
of parameters, a cache, a size, a seed, a name, a tolerance... Each kind knows the bad values of its
sort (hypothesis strategies): NaN and inf entries, wrong types, a wrong number of axes, an empty
axis, an axis that disagrees with another argument's; sizes of 0, -1, 2.5 or True; unknown names
and lists where a name is expected; missing keys and wrong shapes inside caches. The fuzz replaces
one argument of a valid call by such a value and checks the answer. The sizes of the valid calls are
all different, so that a wrong length can never pass for another axis's length. Chapter 6's
language models (shakespeare) are fuzzed tiny, K = 6 characters and N = 5 units, in float64.
Chapter 7's scans and the LRU take complex arrays too: there a complex value is valid, and NaN or
inf in its imaginary part is not. The wrong values that a call lists itself (``also=``: a < 0 for
the log-space scan, r_min = 1 for the LRU), which the fuzz draws rarely, are each tried once, and
every module file of the library must be in MODULES, so that none is left out unnoticed.
"""
import functools
import hashlib
import inspect
import json
import lzma
import math
import pathlib
import re
import tempfile

import matplotlib
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rnnbook import (activations, bptt, bridge, charlm, checks, claims, diagnostics, gradcheck,
                     gru, horizon, mingru, plots, reference, rnn, rtrl, scan, shakespeare,
                     shortcut, ssm, tasks, text, torchnn, train, widgets)

MODULES = (activations, rnn, bptt, rtrl, gru, mingru, scan, ssm, tasks, diagnostics, gradcheck,
           train, reference, torchnn, bridge, horizon, shortcut, checks, claims, plots, widgets,
           text, charlm, shakespeare)
# the module files of lib/ that MODULES may leave out (none today), and why
NOT_FUZZED = {}
SIZES = {"T": 3, "B": 2, "N": 5, "K": 6, "M": 7, "P": 8, "L": 9, "R": 10, "C": 11}
# what the fuzz does not call, and why
NOT_CALLED = {
    "activations.ACTIVATIONS": "a constant", "activations.Activation": "the record that get returns",
    "rnn.FixedPointNotFound": "an exception", "bptt.UnstableFixedPoint": "an exception",
    "bptt.PARAMS": "a constant", "gru.PARAMS": "a constant", "mingru.PARAMS": "a constant", "gru.VARIANTS": "a constant",
    "train.CELLS": "a constant", "torchnn.GATES": "a constant", "scan.SCANS": "a constant",
    "ssm.LRU_PARAMS": "a constant", "ssm.SELECTIVE_PARAMS": "a constant",
    "bridge.GRUFunction": "a torch.autograd.Function: NumpyGRU applies it (its forward is fuzzed)",
    "checks.SelfCheckFailed": "an exception", "claims.ClaimFailed": "an exception",
    "claims.GLUE_PREFIX": "a constant",
    "text.CORPUS": "a constant", "text.SHA256": "a constant",
    **{f"charlm.{name}": "a constant" for name in ("GRU_PARAMS", "PARAMS", "RNN_PARAMS")},
    **{f"plots.{name}": "a constant" for name in (
        "COLORS", "NETWORK_COLORS", "NETWORK_LINESTYLES", "MAX_FIGURE_PX", "BOOK_STYLE",
        "GATES_LAYOUT", "GATE_FLOOR")},
    **{f"widgets.{name}": "a constant" for name in (
        "WIDTH", "DPI", "KINDS", "MAX_FRAMES", "COLORS_PER_FRAME", "SEED", "STRUCTURES", "DYNAMICS_SCALES",
        "DYNAMICS_ACTIVATIONS", "GRADIENT_ACTIVATIONS", "GRADIENT_SCALES", "GRADIENT_LAYOUT")},
    "widgets.Control": "the record that control returns",
    **{f"horizon.{name}": "a constant" for name in (
        "SETUP", "MODELS", "GRID", "SEEDS", "SHUT", "RAISE", "LEAKS", "STEPS_MEASURED", "GAP_MEASURED",
        "STEP_TOLERANCE", "CURVE_SHIFT", "CURVE_FACTOR", "RESULTS", "RESULTS_URL")},
    **{f"shortcut.{name}": "a constant" for name in (
        "NETWORKS", "GRID", "PROBE_SEED", "DIGITS", "PROFILE_DECADES", "HALF_LIFE_FACTOR", "RESULTS",
        "RESULTS_URL", "RULES")},
    **{f"shakespeare.{name}": "a constant" for name in (
        "SETUP", "CELLS", "HEAD", "START_MEASURED", "START_TOLERANCE", "START_STEPS", "RESULTS",
        "RESULTS_URL", "WEIGHTS", "WEIGHTS_URL")},
}
# public functions that train networks (minutes): test_what_trains_refuses_a_bad_argument_before_...
# below checks that their bad arguments are refused before any training starts (train.train and
# shakespeare.train_lm replaced by a function that fails)
TRAINS = {"horizon.run_cell": "trains one network for up to 1000 steps",
          "horizon.run_grid": "trains every cell of the grid",
          "horizon.main": "runs the full grid from the command line",
          "shortcut.run": "trains one network for up to 1000 steps, measuring it",
          "shortcut.main": "trains six networks from the command line",
          "shakespeare.run": "trains a network of 256 units on the corpus for up to 2500 steps",
          "shakespeare.main": "trains four language models from the command line"}
FUZZ = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
_rng = np.random.default_rng(0)


def shape(dims):
    """The shape of named axes "T+1 B N" with SIZES; a digit is a fixed length."""
    return tuple(int(d) if d.isdigit() else SIZES[d[:-2]] + 1 if d.endswith("+1") else SIZES[d]
                 for d in dims.split())


def base(dim):
    return dim[:-2] if dim.endswith("+1") else dim


# ---------------------------------------------------------------- kinds of arguments and bad values

WRONG_TYPES = [None, "text", {"a": 1.0}, [[1.0], [1.0, 2.0]], ["a", "b"], object()]
NOT_INTEGERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                         st.text(max_size=3), st.lists(st.integers(1, 3), min_size=1, max_size=2),
                         st.just(np.float64(3.0)), st.just(np.array([3])))


class Kind:
    """A kind of argument: its valid ``value`` and, from ``bad``, a strategy of bad values;
    ``free`` are the axes that no other argument's must match. ``optional``: None is valid."""
    optional = False

    def __init__(self, value):
        self.value = value

    def dims(self):
        return []

    def bad(self, free):
        raise NotImplementedError

    def maybe_none(self, strategy):
        return strategy if self.optional else st.one_of(strategy, st.none())


class A(Kind):
    """An array with named axes, e.g. A("T B K"); positive=True for entries in (0.1, 1);
    ``complex_ok``: complex entries are valid (a complex value: ``value=complex_normal(dims)``),
    NaN or inf in the imaginary part is not; ``also``: other values that are wrong for this call."""

    def __init__(self, dims, value=None, optional=False, positive=False, scale=0.5, ndims=None,
                 complex_ok=False, also=()):
        self.axes, self.optional, self.ndims = dims, optional, ndims
        self.complex_ok, self.also = complex_ok, tuple(also)
        if value is None:
            value = (_rng.uniform(0.1, 1.0, shape(dims)) if positive
                     else scale * _rng.standard_normal(shape(dims)))
        super().__init__(value)

    def dims(self):
        return [self.axes.split()]

    def bad(self, free):
        return bad_arrays(self.value, self.axes.split(), free, self.optional, self.ndims,
                          complex_ok=self.complex_ok, also=self.also)


def real_normal(dims, scale=0.5):
    """Normal entries of shape ``dims`` with std ``scale`` (A's own value, given explicitly)."""
    return scale * _rng.standard_normal(shape(dims))


def complex_normal(dims, scale=0.5):
    """Complex entries of shape ``dims``, real and imaginary parts normal with std ``scale``."""
    return scale * (_rng.standard_normal(shape(dims)) + 1j * _rng.standard_normal(shape(dims)))


def bad_arrays(value, dims, free, optional, ndims=None, finite=True, complex_ok=False, also=()):
    """Bad values for an array of named axes ``dims``, whose axes in ``free`` need not agree
    with other arguments; ``ndims``: the numbers of axes it may have (default len(dims));
    ``finite``: NaN and inf are bad (not in a cache: there they are a forward pass's result);
    ``complex_ok``: complex entries are valid (but NaN or inf parts); ``also``: other bad values."""
    arr = np.asarray(value)
    ndims = (len(dims),) if ndims is None else ndims
    options = [
        st.sampled_from([w for w in WRONG_TYPES if w is not None or not optional]
                        + ([] if complex_ok else [arr.astype(complex)]) + [arr.real > 0]),
        st.sampled_from([a for a in [arr[None], arr[..., None], arr.reshape(-1)[0], arr[0]]
                         if np.ndim(a) not in ndims]),
        st.integers(0, arr.ndim - 1).map(lambda axis: np.take(arr, [], axis=axis)),
    ]
    if finite:
        nonfinite = [np.nan, np.inf, -np.inf] + ([complex(0, np.nan), complex(1, -np.inf)]
                                                 if complex_ok else [])
        options.append(st.tuples(st.integers(0, arr.size - 1), st.sampled_from(nonfinite))
                       .map(lambda iv: _with_entry(arr, *iv)))
    if dims[0] == "T+1":            # states for t = 0 only: no time step
        options.append(st.just(arr[:1]))
    shared = [axis for axis, d in enumerate(dims) if base(d) not in free and not d.isdigit()]
    fixed = [axis for axis, d in enumerate(dims) if d.isdigit()]
    if shared or fixed:
        options.append(st.tuples(st.sampled_from(shared + fixed), st.sampled_from([-1, 1, 2]))
                       .map(lambda ad: _resized(arr, *ad)))
    if also:
        options.append(st.sampled_from(list(also)))
    return st.one_of(options)


def _with_entry(arr, index, v):
    out = arr.astype(np.result_type(arr, np.float64, v))      # a copy; complex if either is
    out.reshape(-1)[index] = v
    return out


def _resized(arr, axis, delta):
    n = arr.shape[axis]
    m = n + delta if n + delta >= 1 else n + 1
    return np.take(arr, np.arange(m) % n, axis=axis)


class Ids(Kind):
    """An integer array of ids with named axes, e.g. Ids("T B", K=6): each id in [0, K) (K None:
    any id >= 0). ``ndims``: the numbers of axes it may have (default len(dims)); ``empty``: an
    array without entries is valid (a text of no characters); ``also``: other wrong values."""

    def __init__(self, dims, K=None, value=None, ndims=None, empty=False, also=()):
        self.axes, self.K, self.ndims, self.empty, self.also = dims, K, ndims, empty, also
        if value is None:
            value = _rng.integers(0, SIZES["K"] if K is None else K, shape(dims))
        super().__init__(np.asarray(value, dtype=np.int64))

    def dims(self):
        return [self.axes.split()]

    def bad(self, free):
        arr, dims = self.value, self.axes.split()
        ndims = (len(dims),) if self.ndims is None else self.ndims
        # floats, even whole ones, and bools are not ids; nor a list of names
        wrong = WRONG_TYPES + [arr.astype(np.float64), arr + 0.5, arr > 0, arr.astype(complex),
                               arr.astype(np.float32).tolist()]
        outside = [-1, -2**40] + ([] if self.K is None else [self.K, self.K + 3, 2**40])
        options = [st.sampled_from(wrong + list(self.also)),
                   st.tuples(st.integers(0, arr.size - 1), st.sampled_from(outside))
                   .map(lambda iv: _with_id(arr, *iv))]
        wrong_axes = [a for a in [arr[None], arr[..., None], arr.reshape(-1)[0], arr[0]]
                      if np.ndim(a) not in ndims]
        if wrong_axes:
            options.append(st.sampled_from(wrong_axes))
        if not self.empty:
            options.append(st.integers(0, arr.ndim - 1).map(lambda axis: np.take(arr, [], axis)))
        shared = [axis for axis, d in enumerate(dims) if base(d) not in free]
        if shared:
            options.append(st.tuples(st.sampled_from(shared), st.sampled_from([-1, 1, 2]))
                           .map(lambda ad: _resized(arr, *ad)))
        return st.one_of(options)


def _with_id(arr, index, v):
    out = arr.copy()
    out.reshape(-1)[index] = v
    return out


class Layout(Kind):
    """A dict of arrays (params, a cache) with a layout: key -> dims, a Kind (a Name, Ids), a
    nested layout, or None for an entry that is None and stays so. ``optional``: keys that may be
    missing. A ``cache`` may hold more keys than a function reads, and NaN or inf (cache_arg)."""

    def __init__(self, value, layout, optional=(), cache=False):
        super().__init__(value)
        self.layout, self.optional_keys, self.cache = layout, optional, cache

    def dims(self):
        return _layout_dims(self.layout)

    def bad(self, free):
        return bad_layouts(self.value, self.layout, free, self.optional_keys, self.cache)


def _layout_dims(layout):
    out = []
    for spec in layout.values():
        if isinstance(spec, str):
            out.append(spec.split())
        elif isinstance(spec, Kind):
            out.extend(spec.dims())
        elif isinstance(spec, dict):
            out.extend(_layout_dims(spec))
    return out


def bad_layouts(value, layout, free, optional=(), cache=False):
    required = [k for k in layout if k in value and k not in optional]
    options = [st.sampled_from([None, "params", [1.0, 2.0], tuple(value.values()), {}]),
               st.sampled_from(required).map(lambda k: {q: v for q, v in value.items() if q != k})]
    if not cache:
        options.append(st.just({**value, "w_unknown": np.zeros(1)}))
    for key, spec in layout.items():
        if key not in value:
            continue
        if isinstance(spec, str):
            entries = bad_arrays(value[key], spec.split(), free, optional=key in optional,
                                 finite=not cache)
        elif isinstance(spec, Kind):
            entries = spec.bad(free)
        elif isinstance(spec, dict):
            entries = bad_layouts(value[key], spec, free, cache=cache)
        else:
            continue
        options.append(entries.map(functools.partial(_replace, value, key)))
    return st.one_of(options)


def _replace(d, key, v):
    return {**d, key: v}


class Name(Kind):
    def __init__(self, value, options, optional=False):
        super().__init__(value)
        self.options, self.optional = tuple(options), optional

    def bad(self, free):
        return self.maybe_none(st.one_of(
            st.text(max_size=6).filter(lambda s: s not in self.options),
            st.lists(st.sampled_from(self.options), min_size=1, max_size=2),
            st.integers(), st.just(b"tanh")))


class Int(Kind):
    """An integer >= minimum (a size: minimum 1; a count or an index: minimum 0); ``also``: other
    integers that are wrong for this call."""

    def __init__(self, value, minimum=1, optional=False, also=()):
        super().__init__(value)
        self.minimum, self.optional, self.also = minimum, optional, tuple(also)

    def bad(self, free):
        too_small = st.integers(max_value=self.minimum - 1)
        return self.maybe_none(st.one_of(too_small, NOT_INTEGERS, *map(st.just, self.also)))


class Seed(Int):
    def __init__(self, value=0, optional=False):
        super().__init__(value, minimum=0, optional=optional)

    def bad(self, free):
        return st.one_of(super().bad(free), st.just(2.5))


class Real(Kind):
    """A finite number in [low, high] ((low, high] with low_open); ``also``: other numbers that
    are wrong for this call."""

    def __init__(self, value, low=-math.inf, high=math.inf, low_open=False, optional=False,
                 also=()):
        super().__init__(value)
        self.low, self.high, self.low_open, self.optional = low, high, low_open, optional
        self.also = list(also)

    def bad(self, free):
        outside = [np.nan, np.inf, -np.inf] + self.also
        if self.low > -math.inf:
            outside += [self.low - 1.0] + ([self.low] if self.low_open else [])
        if self.high < math.inf:
            outside += [self.high + 0.5]
        return self.maybe_none(st.one_of(
            st.sampled_from(outside), st.booleans(), st.text(max_size=3),
            st.lists(st.floats(0.1, 1.0), min_size=1, max_size=2)))


def Positive(value, optional=False):
    return Real(value, low=0.0, low_open=True, optional=optional)


class Flag(Kind):
    def __init__(self, value, optional=False):
        super().__init__(value)
        self.optional = optional

    def bad(self, free):
        return self.maybe_none(st.one_of(st.integers(), st.text(max_size=3), st.floats()))


class Thing(Kind):
    """A function or a torch module: other objects are wrong."""

    def bad(self, free):
        return st.one_of(st.none(), st.integers(), st.text(max_size=3), st.just(np.zeros(3)))


class Dtype(Kind):
    """A numpy floating dtype, float32 or float64 (``torch``: a torch one)."""

    def __init__(self, value, torch_dtype=False):
        super().__init__(value)
        self.torch_dtype = torch_dtype

    def bad(self, free):
        wrong = ([torch.int64, torch.float16, "float32", np.float32, np.zeros(3)] if self.torch_dtype
                 else [np.int32, np.float16, "float16", "nope", complex, [np.float32]])
        return st.one_of(st.sampled_from(wrong), st.none(), st.integers())


class Device(Kind):
    def bad(self, free):
        return st.one_of(st.sampled_from(["abacus", "gpu0", "", "cpu:x"]), st.none(),
                         st.lists(st.just("cpu"), min_size=1, max_size=1), st.floats())


class FreeDict(Kind):
    """gradcheck's params: a dict of named arrays of any shapes."""

    def bad(self, free):
        entry = st.one_of(st.sampled_from([np.nan, np.inf]).map(lambda v: np.array([1.0, v])),
                          st.sampled_from(WRONG_TYPES + [np.zeros(0), np.ones(2, complex)]))
        key = st.sampled_from(sorted(self.value))
        return st.one_of(
            st.sampled_from([None, "a", [np.zeros(2)], {}, {1: np.zeros(2)}]),
            st.tuples(key, entry).map(lambda kv: _replace(self.value, *kv)))


class Grads(Kind):
    """gradcheck's grads: arrays for some of the parameters, shaped like them."""

    def bad(self, free):
        key = st.sampled_from(sorted(self.value))
        entry = st.one_of(
            st.sampled_from([np.nan, np.inf]).map(lambda v: np.full(2, v)),
            st.sampled_from(WRONG_TYPES + [np.ones(2, complex)]),
            st.sampled_from([np.zeros(3), np.zeros((2, 1)), np.zeros(())]))
        return st.one_of(
            st.sampled_from([None, "a", [np.zeros(2)], {"z": np.zeros(2)}, {1: np.zeros(2)}]),
            st.tuples(key, entry).map(lambda kv: _replace(self.value, *kv)))


class Errors(Kind):
    """report's errors: a dict name -> relative error >= 0."""

    def bad(self, free):
        value = st.one_of(st.sampled_from([np.nan, np.inf, -0.5, "x", None, [0.1], True]))
        return st.one_of(st.sampled_from([None, "a", [0.1], {1: 0.1}]),
                         value.map(lambda v: {**self.value, "b": v}))


class NameList(Kind):
    """numerical_gradients' names: a list of parameter names, or None."""
    optional = True

    def bad(self, free):
        return st.sampled_from(["a", ["z"], [1], 5, [["a"]], [None]])


def tensorized(value):
    """A numpy array (or a dict of them) as torch tensors; anything else as it is."""
    if isinstance(value, dict):
        return {k: tensorized(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiubc":
        return torch.from_numpy(value.copy())
    return value


def _float32(value):
    return {k: v.float() for k, v in value.items()} if isinstance(value, dict) else value.float()


class TA(A):
    """A torch tensor (float64) with named axes: the bad values of an array, as tensors, and the
    numpy array itself, a float16 or float32 copy (the other tensors are float64)."""

    def __init__(self, dims, optional=False, scale=0.5, alone=False):
        super().__init__(dims, optional=optional, scale=scale)
        self.array, self.value = self.value, torch.from_numpy(self.value)
        self.alone = alone      # the only tensor: float32 is no disagreement

    def bad(self, free):
        wrong = [self.array, self.value.half(), self.value.to(torch.complex128)]
        return st.one_of(bad_arrays(self.array, self.axes.split(), free, self.optional, self.ndims)
                         .map(tensorized),
                         st.sampled_from(wrong + ([] if self.alone else [self.value.float()])))


class TLayout(Layout):
    """A dict of float64 tensors with a layout (see Layout)."""

    def __init__(self, value, layout, optional=()):
        super().__init__(tensorized(value), layout, optional)
        self.array = value

    def bad(self, free):
        return st.one_of(bad_layouts(self.array, self.layout, free, self.optional_keys)
                         .map(tensorized),
                         st.sampled_from([self.array, _float32(self.value)]))


class AnyArray(Kind):
    """An array of any shape with at least one real, finite entry; ``also``: other values that
    are wrong for this call."""

    def __init__(self, value, also=()):
        super().__init__(value)
        self.also = list(also)

    def bad(self, free):
        arr = np.asarray(self.value)
        return st.one_of(st.sampled_from(WRONG_TYPES + [np.zeros((2, 0)), arr.astype(complex),
                                                        arr > 0, torch.ones(2, dtype=torch.bool)]
                                         + self.also),
                         st.sampled_from([np.nan, np.inf]).map(lambda v: _with_entry(arr, 0, v)))


class Text(Kind):
    """A non-empty str; ``label``: letters, digits, "-" and "_", starting with a letter."""

    def __init__(self, value, label=False):
        super().__init__(value)
        self.label = label

    def bad(self, free):
        wrong = [None, 5, ["a"], b"abc", "", "   "] + (["1a", "a b", "a.b", "-a"] if self.label
                                                     else [])
        return st.sampled_from(wrong)


class Chars(Kind):
    """A str whose characters are all in ``vocab``: a str with another character is wrong."""

    def __init__(self, value, vocab):
        super().__init__(value)
        self.vocab = vocab

    def bad(self, free):
        return st.one_of(st.sampled_from([None, 5, ["a"], b"abc", list(self.value)]),
                         st.text(min_size=1, max_size=5)
                         .filter(lambda s: not set(s) <= set(self.vocab)))

class PathKind(Kind):
    def bad(self, free):
        return st.sampled_from([None, 5, ["a.json"], b"a.json", ""])


class Url(Kind):
    def bad(self, free):
        return st.sampled_from([None, 5, ["https://a"], "", "results.json"])


class Record(Kind):
    """A record of horizon.run_cell (``cell``: with the cell's keys, else the learning curve)."""

    def __init__(self, value, cell=False):
        super().__init__(value)
        self.cell = cell

    def bad(self, free):
        v = self.value
        keys = ["eval_step", "eval_loss"] + (["model", "T", "seed", "budget", "solved", "steps"]
                                             if self.cell else [])
        curves = [{**v, "eval_loss": bad} for bad in
                  ([], [np.nan] * len(v["eval_step"]), v["eval_loss"][:-1], "x", None,
                   [[0.1]] * len(v["eval_step"]), [str(a) for a in v["eval_loss"]])]
        cell = [{**v, "T": 0}, {**v, "seed": -1}, {**v, "solved": "yes"}, {**v, "model": 3},
                {**v, "steps": 2.5}, {**v, "budget": None}] if self.cell else []
        return st.sampled_from([None, "record", [], *({q: x for q, x in v.items() if q != k}
                                                      for k in keys), *curves, *cell])


class Sampled(Kind):
    """A kind whose bad values are listed: ``Sampled(value, [bad, ...])``."""

    def __init__(self, value, wrong, optional=False):
        super().__init__(value)
        self.wrong, self.optional = wrong, optional

    def bad(self, free):
        return st.sampled_from(self.wrong)


class Axes(Kind):
    """``count`` matplotlib Axes of a figure of its own (one Axes, not a list, for 1), or None."""
    optional = True

    def __init__(self, count):
        fig = Figure(figsize=(2.0, 1.5), dpi=50)
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, count, squeeze=False)[0]
        super().__init__(axes[0] if count == 1 else list(axes))
        self.count = count

    def bad(self, free):
        wrong = ["axes", 5, np.zeros(3), Figure()]
        if self.count == 1:
            wrong.append([self.value])
        else:
            wrong += [self.value[:-1], self.value + self.value[:1], [*self.value[:-1], "ax"],
                      self.value[0]]
        return st.sampled_from(wrong)


class Results(Kind):
    """The results of horizon.run_grid: a grid and a list of runs."""

    def bad(self, free):
        v = self.value
        return st.sampled_from([None, "results", {}, {"runs": v["runs"]}, {"grid": v["grid"]},
                                {**v, "runs": "x"}, {**v, "runs": [1]}, {**v, "grid": {1: [10]}},
                                {**v, "grid": {"rnn": []}}, {**v, "grid": {"rnn": [0]}},
                                {**v, "grid": None}])


# ---------------------------------------------------------------- the valid calls

class Call:
    """One valid call, its arguments by kind; ``fixed``: axes whose lengths an object that is no
    argument fixes (a bound method's module: its K and N), never free."""

    def __init__(self, function, tag="", fixed="", **kinds):
        self.function, self.kinds = function, kinds
        self.name = f"{function.__module__.split('.')[-1]}.{function.__qualname__}"
        self.id = self.name + (f"[{tag}]" if tag else "")
        self.kwargs = {arg: kind.value for arg, kind in kinds.items()}
        counts = {}
        for kind in kinds.values():
            for dims in kind.dims():
                for d in dims:
                    counts[base(d)] = counts.get(base(d), 0) + 1
        # an axis no other one must match
        self.free = {d for d, n in counts.items() if n == 1} - set(fixed.split())

    def __call__(self, **changes):
        return self.function(**{**self.kwargs, **changes})

    @functools.cache
    def bad(self, arg):
        """The strategy of bad values for ``arg``."""
        return self.kinds[arg].bad(self.free)


G = tuple(activations.ACTIVATIONS)
NETWORK = {"w_vv": "N N", "w_vx": "N K", "theta_v": "N", "w_ov": "M N", "theta_o": "M",
           "v0": "B N"}
RNN_CACHE = {"x": "T B K", "V": "T+1 B N", "b": "T B N", "w_vv": "N N", "w_vx": "N K",
             "g": Name("tanh", G)}
# what the diagnostics read from it
TRAJECTORY = {"b": "T B N", "w_vv": "N N", "g": Name("tanh", G)}
OUT_CACHE = {"V": "T+1 B N", "b": "T B M", "w_ov": "M N", "g": Name("linear", G)}


MINGRU = {"w_zx": "N K", "theta_z": "N", "w_hx": "N K", "theta_h": "N"}
PAPER = {"W_z": "N K", "b_z": "N", "W_h": "N K", "b_h": "N"}


def _network(small=False):
    p = {k: _rng.standard_normal(shape(d)) / np.sqrt(SIZES["N"]) for k, d in NETWORK.items()}
    if small:
        p["w_vv"] *= 0.3
    return p


def _gru_layout(variant):
    return {name: " ".join(gru.param_dims(name)) for name in gru.param_names(variant)}


def _student_solutions():
    """Correct answers to the exercises that checks.check_* take as functions."""
    def rnn_step(V_prev, x_t, w_vv, w_vx, theta_v):
        return np.tanh(V_prev @ w_vv.T + x_t @ w_vx.T - theta_v)

    def gru_step(V_prev, x_t, params):
        return gru.gru_forward(x_t[None], params, V_prev, variant="before")[0][1]

    def gru_step_backward(dV, cache):
        _, full = gru.gru_forward(cache["x_t"][None], cache["params"], cache["V_prev"])
        grads = gru.gru_backward(np.stack([np.zeros_like(dV), dV]), full)
        return {"V_prev": grads["v0"], **{name: grads[name] for name in gru.PARAMS}}

    def bptt_step(Delta_next, e_t, b_t, w_vv):
        return (1 - np.tanh(b_t) ** 2) * (e_t + Delta_next @ w_vv)

    def backprop_states(w_vv, g_prime, dV_T):
        dV = np.empty((g_prime.shape[0] + 1, *dV_T.shape))
        dV[-1] = dV_T
        for s in range(g_prime.shape[0], 0, -1):
            dV[s - 1] = (g_prime[s - 1] * dV[s]) @ w_vv
        return dV

    def clip_by_norm(grads, max_norm):
        total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
        return [g * min(1.0, max_norm / total) for g in grads]

    def cross_entropy_backward(O, y_ids):
        T, B, M = O.shape
        return (text.softmax(O) - np.eye(M)[y_ids]) / (T * B)

    def bigram_cross_entropy(train_ids, val_ids, K, alpha):
        counts = np.full((K, K), float(alpha))
        np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1.0)
        log_p = np.log(counts / counts.sum(axis=1, keepdims=True))
        return float(-log_p[val_ids[:-1], val_ids[1:]].mean())

    def combine(first, second):
        (a1, b1), (a2, b2) = first, second
        return a1 * a2, a2 * b1 + b2

    def log_space_scan(a, b, v0):
        A = np.concatenate([np.zeros((1, *v0.shape)), np.cumsum(np.log(a), axis=0)])
        terms = np.concatenate([np.log(v0)[None], np.log(b) - A[1:]])
        return np.exp(A + np.logaddexp.accumulate(terms, axis=0))

    def theorem1_gate(s):
        e = np.exp(-np.abs(s))
        return np.where(s > 0, e, 1.0) / (1.0 + e)

    return {"combine": combine, "log_space_scan": log_space_scan, "theorem1_gate": theorem1_gate,
            "rnn_step": rnn_step, "gru_step": gru_step, "gru_step_backward": gru_step_backward,
            "bptt_step": bptt_step, "backprop_states": backprop_states, "clip_by_norm": clip_by_norm,
            "wilson_interval": horizon.wilson_interval,
            "cross_entropy_backward": cross_entropy_backward,
            "bigram_cross_entropy": bigram_cross_entropy}


def _corpus_files():
    """A small xz corpus, its sha256, and files that are not one (missing, not xz, cut short)."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="rnnbook-contract-"))
    data = "First Citizen:\nBefore we proceed any further, hear me speak.\n".encode()
    packed = lzma.compress(data)
    (folder / "corpus.txt.xz").write_bytes(packed)
    (folder / "plain.txt").write_bytes(data)
    (folder / "cut.txt.xz").write_bytes(packed[:len(packed) // 2])
    return folder, hashlib.sha256(data).hexdigest()



def _calls():
    net, steady = _network(), _network(small=True)
    x, w = _rng.standard_normal(shape("T B K")), net
    V, cache = rnn.rnn_forward(x, w["w_vv"], w["w_vx"], w["theta_v"], v0=w["v0"])
    _, out_cache = rnn.output_forward(V, w["w_ov"], w["theta_o"])
    V_star, _ = rnn.steady_state(_rng.standard_normal(shape("B K")), steady["w_vv"],
                                 steady["w_vx"], steady["theta_v"])
    gru_params = {v: gru.init_params(N=SIZES["N"], K=SIZES["K"], variant=v, seed=1)
                  for v in gru.VARIANTS}
    gru_caches = {v: gru.gru_forward(x, gru_params[v], variant=v)[1] for v in gru.VARIANTS}
    min_params = mingru.init_params(K=SIZES["K"], N=SIZES["N"], seed=1)
    _, min_cache = mingru.mingru_forward(x, min_params, g="positive")
    a_pos = _rng.uniform(0.1, 1.0, shape("T B N"))
    lru = ssm.lru_init(K=SIZES["K"], N=SIZES["N"], seed=2)
    lru_layout = {"nu": "N", "phi": "N", "w_ox": "K",       # complex weights, or real
                  **{k: A(" ".join(ssm.LRU_PARAMS[k]), value=lru[k], complex_ok=True)
                     for k in ("w_vx", "w_ov")}}
    selective = ssm.selective_init(K=SIZES["K"], N=SIZES["N"], seed=2)
    selective_layout = {**{k: " ".join(d) for k, d in ssm.SELECTIVE_PARAMS.items()},
                        "A": A("K N", value=selective["A"], also=[-selective["A"]])}
    delta, A_zoh = _rng.uniform(0.1, 1.0, (SIZES["B"], 1)), -np.arange(1.0, SIZES["N"] + 1)[None]
    min_models = {tag: train.MinGRU(K=SIZES["K"], N=SIZES["N"], seed=0, parallel=parallel,
                                    dtype=torch.float64)
                  for tag, parallel in (("parallel", True), ("loop", False))}
    s_any = np.array([[-30.0, -1.0, 0.0], [0.5, 2.0, 40.0]])
    adding_x, adding_y = tasks.adding_problem(T=SIZES["T"], B=SIZES["B"], seed=0)
    free = {"a": _rng.standard_normal((2, 3)), "b": _rng.standard_normal(2)}

    def quadratic(p):
        return float(np.sum(p["a"] ** 2) + np.sum(p["b"] ** 2))

    model = train.make_model(cell="rnn", K=2, N=3, M=1, seed=0)
    T, L = SIZES["T"], SIZES["L"]
    RG = tuple(reference._G)
    record = {"model": "gru", "T": 10, "seed": 0, "budget": 1000, "solved": True, "steps": 75,
              "test_mse": 0.009, "eval_step": [0, 25, 50, 75], "eval_loss": [0.2, 0.1, 0.05, 0.009]}
    results = {"grid": {"gru": [10]}, "runs": [record]}
    ran = {"setup": dict(horizon.SETUP), "seeds": [0], "jobs": 1, "environment": {"torch": "2"},
           "wall_seconds": 1.0}
    measured = dict(record, snapshots=[{"lag_profile": [1.0, 0.5, 0.25, 0.125]}] * 4)
    shortcut_file = pathlib.Path(tempfile.mkdtemp(prefix="rnnbook-contract-")) / "results.json"
    horizon.save_results({"grid": {"gru": [10]}, "runs": [measured]}, shortcut_file)
    adding_net = train.make_model(cell="gru", K=2, N=SIZES["N"], M=1, seed=0)
    results_file = pathlib.Path(tempfile.mkdtemp(prefix="rnnbook-contract-")) / "results.json"
    horizon.save_results(results, results_file)
    module_gru = torch.nn.GRU(SIZES["K"], SIZES["N"])
    module_rnn = torch.nn.RNN(SIZES["K"], SIZES["N"])
    numpy_gru = bridge.NumpyGRU(K=SIZES["K"], N=SIZES["N"], variant="after", seed=0,
                                dtype=torch.float64)
    student = _student_solutions()
    gate_x, _ = tasks.adding_problem(T=SIZES["T"], B=SIZES["B"], seed=0)
    ctrl = widgets.control("k", (1, 2))
    tiny = {"figsize": Sampled((2.0, 1.0), [None, "x", 5, (0, 1), (1.0,), (np.nan, 1.0),
                                            (1.0, 2.0, 3.0), (True, 1.0), ("a", 1.0)]),
            "colors": Int(16, minimum=2, also=[257])}
    grids = {"controls": Sampled([ctrl], [None, 5, "x", [], [1], [ctrl, ctrl], ctrl._replace]),
             "draw": Thing(lambda axes, k: axes.plot([0, k])[0].get_label()),
             "setup": Sampled(None, [5, "x", lambda axes, nope: None], optional=True)}
    scales = [None, 5, "0.5", (0.5,), (0.5, 0.5), (0.5, 0.501), (0.5, np.nan), (0.5, -1.0),
              ("a", 1.0), (0.5, None)]
    names = [None, 5, "tanh", ("tanh",), ("tanh", "tanh"), ("tanh", "nope"), ("tanh", 1), {"tanh"}]
    lm = charlm.init_params(SIZES["K"], SIZES["N"], seed=2)
    lm_layout = {**_gru_layout("after"), "w_ov": "K N", "theta_o": "K"}
    lm_ids = _rng.integers(0, SIZES["K"], shape("T B"))
    _, lm_cache = charlm.lm_forward(lm_ids, lm)
    lm_rnn = dict(zip(charlm.RNN_PARAMS, rnn.random_weights(SIZES["K"], SIZES["N"], 0.9, seed=2)))
    lm_rnn.update({k: lm[k] for k in ("w_ov", "theta_o")})
    O_ce = _rng.standard_normal(shape("T B M"))
    _, ce_cache = charlm.cross_entropy_forward(O_ce, _rng.integers(0, SIZES["M"], shape("T B")))
    corpus, corpus_sha = _corpus_files()
    line = "to be or not"
    vocab = text.vocabulary(line)
    bad_vocab = [None, 5, "", "aab", b"ab", ["a"], list(vocab)]
    entropies = [None, "1.5", -0.5, np.nan, np.inf, -np.inf, True, [-0.5], np.array([0.5, -0.1]),
                 np.array([0.5, np.nan]), np.zeros(0), np.ones(2, complex), [[1.0], [1.0, 2.0]],
                 np.array([True])]
    calls = [
        # text
        Call(text.load_corpus,
             path=Sampled(corpus / "corpus.txt.xz",
                          [None, 5, ["a.xz"], b"a.xz", "", corpus / "missing.txt.xz", corpus,
                           corpus / "plain.txt", str(corpus / "cut.txt.xz"), "bad\0name.xz"]),
             sha256=Sampled(corpus_sha, [None, 5, b"0" * 64, "", "xyz", "g" * 64, corpus_sha[:-1],
                                         corpus_sha + "0", text.SHA256, [corpus_sha]])),
        Call(text.vocabulary, text=Sampled(line, [None, 5, ["a"], b"abc", "", tuple(line)])),
        Call(text.encode, text=Chars(line, vocab), vocab=Sampled(vocab, bad_vocab)),
        Call(text.decode, ids=Ids("R", K=len(vocab), empty=True), vocab=Sampled(vocab, bad_vocab)),
        Call(text.split, ids=Ids("L", also=[np.arange(1)]),
             fraction=Sampled(0.5, [0.0, 1.0, -0.5, 1.5, 0.01, np.nan, np.inf, True, "0.5", None,
                                    [0.5]])),
        Call(text.chunks, ids=Ids("L", also=[np.arange(1)]), B=Int(2, also=[9]),
             T=Int(3, also=[5])),
        Call(text.one_hot, ids=Ids("T B", K=6, value=[[0, 5], [3, 1], [2, 4]], ndims=range(5),
                                   empty=True),
             K=Int(6, also=[3, 5]), dtype=Dtype(np.float32)),
        Call(text.softmax, O=A("B K", ndims=(1, 2, 3)), temperature=Positive(0.7)),
        Call(text.sample_next, O=A("B K", ndims=(1, 2, 3)), temperature=Real(0.7, low=0.0),
             rng=Sampled(np.random.default_rng(0),
                         [None, 0, 1.5, "rng", np.random.RandomState(0), np.random.default_rng,
                          np.random.PCG64(0)])),
        Call(text.nats_to_bits, h=Sampled(1.5, entropies)),
        Call(text.perplexity, h=Sampled(1.5, entropies)),
        # charlm: K = 6 characters, the readout's M = K
        Call(charlm.cross_entropy_forward, O=A("T B M", value=O_ce),
             y_ids=Ids("T B", K=SIZES["M"])),
        Call(charlm.cross_entropy_backward, cache=Layout(
            ce_cache, {"p": "T B M", "y_ids": Ids("T B", K=SIZES["M"], value=ce_cache["y_ids"])},
            cache=True)),
        Call(charlm.lm_forward, x_ids=Ids("T B", K=SIZES["K"]), params=Layout(lm, lm_layout),
             v0=A("B N", optional=True)),
        Call(charlm.lm_backward, dO=A("T B K"), cache=Layout(lm_cache, {
            "gru": {"x": "T B K", "V": "T+1 B N", "z": "T B N", "r": "T B N", "h": "T B N",
                    "u": "T B N", "params": _gru_layout("after"),
                    "variant": Name("after", gru.VARIANTS), "g": Name("tanh", G)},
            "readout": {"V": "T+1 B N", "b": "T B K", "w_ov": "K N", "g": Name("linear", G)}},
            cache=True)),
        Call(charlm.loss_and_gradients, x_ids=Ids("T B", K=SIZES["K"]),
             y_ids=Ids("T B", K=SIZES["K"]), params=Layout(lm, lm_layout),
             v0=A("B N", optional=True)),
        Call(charlm.init_params, K=Int(6), N=Int(5), seed=Seed(0), dtype=Dtype(np.float32)),
        Call(charlm.evaluate, params=Layout(lm, lm_layout), ids=Ids("L", K=SIZES["K"]),
             B=Int(2, also=[9]), T=Int(3, also=[5]), carry=Flag(True)),
        Call(charlm.next_char_probabilities, params=Layout(lm, lm_layout),
             prompt_ids=Ids("T", K=SIZES["K"])),
        Call(charlm.generate, params=Layout(lm, lm_layout), prompt_ids=Ids("T", K=SIZES["K"]),
             n=Int(4), temperature=Real(0.7, low=0.0), seed=Seed(0)),
        Call(charlm.state_gradient_norms, params=Layout(lm, lm_layout),
             x_ids=Ids("T", K=SIZES["K"]), y_ids=Ids("T", K=SIZES["K"])),
        Call(charlm.rnn_state_gradient_norms, params_rnn=Layout(lm_rnn, {
            "w_vv": "N N", "w_vx": "N K", "theta_v": "N", "w_ov": "K N", "theta_o": "K"}),
             x_ids=Ids("T", K=SIZES["K"]), y_ids=Ids("T", K=SIZES["K"])),
        Call(activations.get, name=Name("tanh", G)),
        # rnn
        Call(rnn.rnn_forward, x=A("T B K"), w_vv=A("N N"), w_vx=A("N K"), theta_v=A("N"),
             v0=A("B N", optional=True), g=Name("tanh", G)),
        Call(rnn.output_forward, V=A("T+1 B N"), w_ov=A("M N"), theta_o=A("M"),
             g=Name("linear", G)),
        Call(rnn.autonomous, w_vv=A("N N"), v0=A("B N"), T=Int(4), theta_v=A("N", optional=True),
             g=Name("tanh", G)),
        Call(rnn.steady_state, x=A("B K"), w_vv=A("N N", scale=0.1), w_vx=A("N K"),
             theta_v=A("N"), v0=A("B N", optional=True), g=Name("tanh", G),
             tol=Positive(1e-10), max_iter=Int(1000)),
        Call(rnn.random_weights, K=Int(6), N=Int(5), scale=Real(0.9, low=0.0), seed=Seed(1),
             dtype=Dtype(np.float32)),
        Call(rnn.lyapunov_exponent, w_vv=A("N N"), v0=A("B N"), T=Int(20), transient=Int(5, 0),
             theta_v=A("N", optional=True), g=Name("tanh", G), seed=Seed(0)),
        # bptt
        Call(bptt.energy, O=A("T B M"), y=A("T B M")),
        Call(bptt.output_backward, dO=A("T B M"), cache=Layout(out_cache, OUT_CACHE, cache=True)),
        Call(bptt.rnn_backward, dV=A("T+1 B N"), cache=Layout(cache, RNN_CACHE, cache=True),
             tau=Int(2, optional=True)),
        Call(bptt.bptt_errors, dV=A("T+1 B N"), g_prime=A("T B N", positive=True), w_vv=A("N N")),
        Call(bptt.truncated_errors, dV=A("T+1 B N"), g_prime=A("T B N", positive=True),
             w_vv=A("N N"), tau=Int(2)),
        Call(bptt.weight_gradients, Delta=A("T B N"), V=A("T+1 B N"), x=A("T B K")),
        Call(bptt.gradients, x=A("T B K"), y=A("T B M"), params=Layout(net, NETWORK, ("v0",)),
             g=Name("tanh", G), g_out=Name("linear", G), tau=Int(2, optional=True)),
        Call(bptt.recurrent_backprop, x=A("B K"), y=A("B M"),
             params=Layout(steady, NETWORK, ("v0",)), g=Name("tanh", G),
             g_out=Name("linear", G), tol=Positive(1e-10), max_iter=Int(1000)),
        Call(bptt.fixed_point_errors, e=A("B N"), g_prime=A("B N", positive=True),
             w_vv=A("N N", scale=0.2)),
        Call(bptt.fixed_point_sensitivities, x=A("B K"), w_vv=A("N N", scale=0.1),
             w_vx=A("N K"), theta_v=A("N"), V_star=A("B N", value=V_star), g=Name("tanh", G)),
        # rtrl
        Call(rtrl.rtrl_step, p=A("B N P"), g_prime=A("B N", positive=True), w_vv=A("N N"),
             db=A("B N P", optional=True)),
        Call(rtrl.gradients, x=A("T B K"), y=A("T B M"), params=Layout(net, NETWORK, ("v0",)),
             g=Name("tanh", G), g_out=Name("linear", G)),
        # gru
        Call(gru.param_names, variant=Name("after", gru.VARIANTS)),
        Call(gru.param_dims, name=Name("w_hv", gru.param_names("after"))),
        *(Call(gru.gru_forward, v, x=A("T B K"),
               params=Layout(gru_params[v], _gru_layout(v)), v0=A("B N", optional=True),
               variant=Name(v, gru.VARIANTS), g=Name("tanh", G)) for v in gru.VARIANTS),
        *(Call(gru.gru_backward, v, dV=A("T+1 B N"), cache=Layout(gru_caches[v], {
            "x": "T B K", "V": "T+1 B N", "z": "T B N", "r": "T B N", "h": "T B N",
            "u": "T B N" if v == "after" else None, "params": _gru_layout(v),
            "variant": Name(v, gru.VARIANTS), "g": Name("tanh", G)}, cache=True))
          for v in gru.VARIANTS),
        Call(gru.init_params, K=Int(6), N=Int(5), variant=Name("after", gru.VARIANTS),
             seed=Seed(3), scale=Positive(0.5, optional=True), z_bias=Real(1.0),
             dtype=Dtype(np.float32)),
        # mingru
        Call(mingru.param_dims, name=Name("w_hx", mingru.PARAMS)),
        Call(mingru.init_params, K=Int(6), N=Int(5), seed=Seed(3),
             scale=Positive(0.5, optional=True), z_bias=Real(1.0), dtype=Dtype(np.float32)),
        Call(mingru.gates, x=A("T B K"), params=Layout(min_params, MINGRU), g=Name("tanh", G)),
        Call(mingru.mingru_forward, x=A("T B K"), params=Layout(min_params, MINGRU),
             v0=A("B N", optional=True), g=Name("positive", G)),
        Call(mingru.mingru_backward, dV=A("T+1 B N"), cache=Layout(min_cache, {
            "x": "T B K", "V": "T+1 B N", "z": "T B N", "h": "T B N", "params": MINGRU,
            "g": Name("positive", G)}, cache=True)),
        Call(mingru.lag_products, z=A("T B N", positive=True), t=Int(2, minimum=0, also=[4])),
        Call(mingru.rtrl_gradients, x=A("T B K"), params=Layout(min_params, MINGRU),
             dV=A("T+1 B N"), v0=A("B N", optional=True), g=Name("tanh", G)),
        Call(mingru.from_paper, paper=Layout(mingru.to_paper(min_params), PAPER)),
        Call(mingru.to_paper, params=Layout(min_params, MINGRU)),
        # scan: a of (T, N), (T, B, N) or (T, B, K, N); real or complex (but log_space)
        *(Call(function, tag, a=A("T B N", value=draw("T B N"), ndims=(2, 3, 4), complex_ok=True),
               b=A("T B N", value=draw("T B N"), complex_ok=True),
               v0=A("B N", value=draw("B N"), optional=True, complex_ok=True))
          for function in (scan.sequential, scan.hillis_steele, scan.blelloch,
                           scan.cumulative_product)
          for tag, draw in (("", real_normal), ("complex", complex_normal))),
        Call(scan.log_space, a=A("T B N", value=a_pos, ndims=(2, 3, 4),
                                 also=[-a_pos, _with_entry(a_pos, 1, 0.0)]),
             b=A("T B N"), v0=A("B N", optional=True)),
        Call(scan.time_scans, T=Int(4), N=Int(5), repeats=Int(1), seed=Seed(0)),
        Call(scan.schedule, name=Name("blelloch", ("hillis-steele", "blelloch")), T=Int(5)),
        # ssm
        Call(ssm.lru_lambda, nu=A("N"), phi=A("N")),
        Call(ssm.lru_gamma, nu=A("N")),
        Call(ssm.lru_forward, x=A("T B K"), params=Layout(lru, lru_layout),
             v0=A("B N", value=complex_normal("B N"), optional=True, complex_ok=True)),
        Call(ssm.lru_lag_gradient, nu=A("N"),
             lags=A("L", value=np.arange(L), also=[np.array([1.0, -1.0]), np.array([0.5, 2.0])])),
        Call(ssm.lru_init, K=Int(6), N=Int(5), seed=Seed(0),
             r_min=Real(0.5, low=0.0, high=1.0, also=[1.0]),
             r_max=Real(1.0, low=0.5, high=1.0, also=[0.4]),
             max_phase=Real(math.pi, low=0.0, high=2 * math.pi, low_open=True),
             dtype=Dtype(np.float32)),
        Call(ssm.softplus, s=AnyArray(s_any)),
        Call(ssm.theorem1_gate, s=AnyArray(s_any)),
        Call(ssm.zoh, delta=AnyArray(delta, also=[-delta, np.ones(4)]),
             A=AnyArray(A_zoh, also=[-A_zoh, -np.ones(4)]),
             B=AnyArray(_rng.standard_normal(shape("B N")), also=[np.ones(4), np.ones((3, 5))])),
        Call(ssm.selective_init, K=Int(6), N=Int(5), seed=Seed(0), dt_min=Positive(1e-3),
             dt_max=Real(1e-1, low=1e-3, also=[1e-4]), dtype=Dtype(np.float32)),
        Call(ssm.selective_forward, x=A("T B K"), params=Layout(selective, selective_layout),
             v0=A("B K N", optional=True)),
        Call(ssm.selective_step, v=A("B K N"), x_t=A("B K"),
             params=Layout(selective, selective_layout)),
        # tasks
        Call(tasks.adding_problem, T=Int(4, also=[1]), B=Int(3), seed=Seed(0)),
        Call(tasks.adding_baselines, x=A("T B 2", value=adding_x), y=A("B 1", value=adding_y)),
        Call(tasks.latch, T=Int(5), B=Int(2), seed=Seed(0),
             p=Real(0.3, low=0.0, high=1.0, low_open=True)),
        Call(tasks.delayed_echo, T=Int(6, also=[1, 2]), B=Int(2), delay=Int(2, also=[6, 7]),
             seed=Seed(0)),
        # diagnostics
        Call(diagnostics.jacobian_product, cache=Layout(cache, TRAJECTORY, cache=True),
             s=Int(1, 0, also=[3, T + 1]), t=Int(2, 0, also=[0, T + 1])),
        Call(diagnostics.state_gradients, cache=Layout(cache, TRAJECTORY, cache=True),
             dV_T=A("B N")),
        Call(diagnostics.input_gradients,
             cache=Layout(cache, {**TRAJECTORY, "w_vx": "N K"}, cache=True),
             dV=A("T+1 B N")),
        Call(diagnostics.gradient_norms, cache=Layout(cache, TRAJECTORY, cache=True),
             dV_T=A("B N"), wrt=Name("x", ("V", "x"))),
        Call(diagnostics.decay_rate, norms=A("L", positive=True, ndims=(1, 2)),
             start=Int(0, 0, also=[L - 1, L]), stop=Int(L, 0, optional=True, also=[0, 1])),
        Call(diagnostics.singular_values, w=A("N N")),
        Call(diagnostics.spectral_radius, w=A("N N")),
        Call(diagnostics.bound_rate, w_vv=A("N N"), g=Name("sigmoid", G)),
        Call(diagnostics.typical_rate, cache=Layout(cache, TRAJECTORY, cache=True)),
        # gradcheck
        Call(gradcheck.numerical_gradients, f=Thing(quadratic), params=FreeDict(free),
             h=Positive(1e-5), names=NameList(["a"])),
        Call(gradcheck.relative_error, a=A("R C"), b=A("R C")),
        Call(gradcheck.gradient_check, f=Thing(quadratic), params=FreeDict(free),
             grads=Grads({"b": 2 * free["b"]}), h=Positive(1e-5)),
        Call(gradcheck.report, errors=Errors({"a": 1e-9, "b": 0.2}), tol=Positive(1e-6)),
        # reference: torch tensors in float64
        Call(reference.as_tensor, a=AnyArray(np.ones((2, 3))), requires_grad=Flag(False)),
        Call(reference.rnn_forward, x=TA("T B K"), w_vv=TA("N N"), w_vx=TA("N K"), theta_v=TA("N"),
             v0=TA("B N", optional=True), g=Name("tanh", RG)),
        Call(reference.output_forward, V=TA("T+1 B N"), w_ov=TA("M N"), theta_o=TA("M"),
             g=Name("linear", RG)),
        Call(reference.gru_forward, x=TA("T B K"),
             params=TLayout(gru_params["after"], _gru_layout("after")),
             v0=TA("B N", optional=True), variant=Name("after", gru.VARIANTS), g=Name("tanh", RG)),
        Call(reference.mingru_forward, x=TA("T B K"), params=TLayout(min_params, MINGRU),
             v0=TA("B N", optional=True), g=Name("positive", RG + ("positive",))),
        Call(reference.energy, O=TA("T B M"), y=TA("T B M")),
        Call(reference.sequence_energy, x=TA("T B K"), y=TA("T B M"),
             params=TLayout(net, NETWORK, ("v0",)), g=Name("tanh", RG), g_out=Name("linear", RG)),
        Call(reference.truncated_energy, x=TA("T B K"), y=TA("T B M"),
             params=TLayout(net, NETWORK, ("v0",)), tau=Int(2), g=Name("tanh", RG),
             g_out=Name("linear", RG)),
        Call(reference.steady_state_energy, x=TA("B K"), y=TA("B M"),
             params=TLayout(steady, NETWORK, ("v0",)), n_iter=Int(5), g=Name("tanh", RG),
             g_out=Name("linear", RG)),
        Call(reference.autograd_gradients, f=Thing(lambda t: (t["a"] ** 2).sum() + t["b"].sum()),
             params=FreeDict(free)),
        # torchnn
        Call(torchnn.gate_rows, gate=Name("z", torchnn.GATES), N=Int(5)),
        Call(torchnn.gru_params_from_torch, module=Thing(module_gru)),
        Call(torchnn.gru_params_to_torch, params=Layout(gru_params["after"], _gru_layout("after")),
             module=Thing(module_gru)),
        Call(torchnn.rnn_params_from_torch, module=Thing(module_rnn)),
        # bridge
        Call(bridge.NumpyGRU, K=Int(6), N=Int(5), variant=Name("after", gru.VARIANTS), seed=Seed(1),
             z_bias=Real(0.5), dtype=Dtype(torch.float64, torch_dtype=True)),
        Call(numpy_gru.forward, x=TA("T B K", alone=True)),
        # claims
        Call(claims.glue, name=Text("demo-name", label=True), text=Text("0.50")),
        Call(claims.check, claim=Text("ch0-demo", label=True), holds=Flag(True),
             measured=Text("x = 1"), says=Text("x is one")),
        # checks: correct solutions of the exercises
        *(Call(getattr(checks, f"check_{name}"), **{name: Thing(solution)})
          for name, solution in student.items()),
        Call(checks.check_latch, w_vv=A("1 1", value=np.array([[1.15]])),
             w_vx=A("1 2", value=np.array([[2.0, -2.0]])), theta_v=A("1", value=np.zeros(1)),
             hold=Int(100)),
        # plots: drawings on small axes of their own
        Call(plots.use_book_style),
        Call(plots.draw_unrolled, T=Int(2), ax=Axes(1)),
        Call(plots.draw_resnet_analogy, axes=Axes(2)),
        Call(plots.draw_gru_cell, variant=Name("after", gru.VARIANTS), ax=Axes(1)),
        Call(plots.draw_lstm_cell, ax=Axes(1)),
        Call(plots.draw_scan_round, ax=Axes(1),
             name=Name("blelloch", ("hillis-steele", "blelloch")), T=Int(5),
             round=Int(6, 0, also=[9])),
        Call(plots.plot_gru_gates, x=A("T B 2", value=gate_x), z=A("T B N", positive=True),
             V=A("T+1 B N"), w_ov=A("N"), sequence=Int(1, 0, also=[SIZES["B"]]),
             n_units=Int(3, optional=True, also=[SIZES["N"] + 1]), axes=Axes(3)),
        # widgets: grids of 2 settings, tiny figures
        Call(widgets.control, name=Text("k", label=True),
             values=Sampled((0.5, 1.0, 1.5), [None, 5, "ab", (), (0.5,), (0.5, 0.5), {"a": 1}]),
             kind=Name("slider", widgets.KINDS),
             description=Sampled("a scale", [5, "", "  ", ["a"]], optional=True),
             fmt=Sampled("{:.1f}", [None, 5, "", "x", "{:d}", "{} {}", "{x}", "{{}}"]),
             start=Sampled(1.0, [2.0, "1.0", [1.0], np.ones(3)], optional=True),
             play=Flag(True)),
        Call(widgets.render_frames, **grids, **tiny),
        Call(widgets.frame_explorer, **grids, **tiny),
        Call(widgets.recurrent_weights, structure=Name("two units, rotation", widgets.STRUCTURES),
             scale=Real(0.9, low=0.0), seed=Seed(0)),
        Call(widgets.simulate_dynamics, structure=Name("one unit", widgets.STRUCTURES),
             scale=Real(0.9, low=0.0), g=Name("tanh", G), T=Int(4), seed=Seed(0)),
        Call(widgets.plot_dynamics, structure=Name("one unit", widgets.STRUCTURES),
             scale=Real(0.9, low=0.0), g=Name("tanh", G), T=Int(4), axes=Axes(2)),
        Call(widgets.dynamics_explorer, T=Int(3),
             scales=Sampled((0.5, 1.0), scales),
             structures=Sampled(("one unit", "two units, rotation"), names),
             activations=Sampled(("tanh", "linear"), names[:-2] + [("tanh", "sigmoid")])),
        Call(widgets.simulate_gradients, scale=Real(0.9, low=0.0),
             g=Name("tanh", widgets.GRADIENT_ACTIVATIONS), lag=Int(3), N=Int(4), B=Int(2),
             seed=Seed(0)),
        Call(widgets.plot_gradients, scale=Real(0.9, low=0.0),
             g=Name("tanh", widgets.GRADIENT_ACTIVATIONS), lag=Int(3), axes=Axes(2)),
        Call(widgets.gradient_explorer, lag=Int(3), scales=Sampled((0.5, 1.0), scales),
             activations=Sampled(("tanh", "linear"), names)),
        Call(widgets.gate_explorer, x=A("T B 2", value=gate_x), z=A("T B N", positive=True),
             V=A("T+1 B N"), w_ov=A("N"), start=Int(1, 0, also=[SIZES["B"]]),
             units=Sampled((2, 5), [5, "ab", (), (0,), (6,), (2.5,), (True, 2), (2, 2), [None]],
                           optional=True)),
        # horizon (not run_cell, run_grid, main: see TRAINS)
        Call(horizon.make_model, name=Name("gru", tuple(horizon.MODELS)), seed=Seed(0)),
        Call(horizon.cells,
             grid=Sampled({"rnn": [10, 20]}, ["x", {}, {"nope": [10]}, {"rnn": []}, {"rnn": [0]},
                                              {"rnn": [2.5]}, {"rnn": "10"}, {1: [10]}]),
             seeds=Sampled([0, 1], ["x", [], [-1], [2.5], [True], 5, [None]])),
        Call(horizon.curve_gap, record=Record(record), stored=Record(record),
             shift=Real(50.0, low=0.0, optional=True)),
        Call(horizon.compare_runs, record=Record(record, cell=True),
             stored=Record(record, cell=True)),
        Call(horizon.same_result, record=Record(record, cell=True),
             stored=Record(record, cell=True), steps=Real(100.0, low=0.0, optional=True),
             factor=Real(4.0, low=1.0, optional=True)),
        Call(horizon.find_run, results=Results(results), name=Name("gru", ("gru",)), T=Int(10),
             seed=Seed(0)),
        Call(horizon.summary, results=Results(results), name=Name("gru", ("gru",))),
        Call(horizon.wilson_interval,
             k=Sampled(2, [None, "x", np.nan, np.inf, -1, 4, [np.nan], np.zeros(0), True]),
             n=Sampled(3, [None, "x", np.nan, 0, 1, np.zeros(0), [[3], [3, 3]], False]),
             z=Positive(1.96)),
        Call(horizon.save_results,
             results=Sampled(results, [None, "x", [1], {"a": object()}, {"a": {1, 2}}]),
             path=PathKind(results_file)),
        Call(horizon.load_results, path=PathKind(results_file), url=Url(horizon.RESULTS_URL)),
        Call(horizon.merge_results, results=Results({**ran, **results}),
             update=Results({**ran, "grid": {"rnn": [10]}, "runs": [dict(record, model="rnn")]})),
        # shortcut (not run, main: see TRAINS)
        Call(shortcut.update_gate_errors, dV=A("T+1 B N"), cache=Layout(
            gru_caches["after"], {"V": "T+1 B N", "z": "T B N", "h": "T B N"}, cache=True)),
        Call(shortcut.snapshot, model=Thing(adding_net),
             x=Sampled(adding_x, [None, "x", adding_x[..., :1], adding_x[None], 2 * adding_x,
                                  np.full_like(adding_x, np.nan), adding_x * 0]),
             y=Sampled(adding_y, [None, "y", adding_y[:1], adding_y[:, [0, 0]], adding_y[:, 0],
                                  np.full_like(adding_y, np.inf)])),
        Call(shortcut.book_gru, model=Thing(adding_net)),
        Call(shortcut.compare, record=Record(measured, cell=True),
             stored=Record(measured, cell=True)),
        Call(shortcut.load_results, path=PathKind(shortcut_file), url=Url(shortcut.RESULTS_URL)),
        # train
        Call(train.SequenceModel, recurrent=Thing(torch.nn.RNN(2, 3)), N=Int(3), M=Int(1),
             seed=Seed(0, optional=True), every_step=Flag(False)),
        Call(train.BookGRU, K=Int(2), N=Int(3), variant=Name("after", gru.VARIANTS), seed=Seed(1),
             z_bias=Real(0.5), dtype=Dtype(torch.float64, torch_dtype=True)),
        Call(train.MinGRU, K=Int(2), N=Int(3), seed=Seed(1), parallel=Flag(True),
             dtype=Dtype(torch.float64, torch_dtype=True)),
        *(Call(model.forward, tag, fixed="K N", x=TA("T B K"), v0=TA("B N", optional=True))
          for tag, model in min_models.items()),
        Call(train.make_model, cell=Name("gru", tuple(train.CELLS)), K=Int(2), N=Int(3), M=Int(1),
             seed=Seed(0), every_step=Flag(False)),
        Call(train.train, model=Thing(model),
             task=Thing(functools.partial(tasks.adding_problem, T=3, B=2)), steps=Int(1),
             lr=Positive(1e-3), clip=Positive(1.0, optional=True),
             target_loss=Positive(1e-3, optional=True), seed=Seed(0), device=Device("cpu"),
             eval_every=Int(1, optional=True), eval_batches=Int(1),
             progress=Flag(False, optional=True)),
    ]
    return calls


def _shakespeare_calls():
    """Chapter 6's language models, tiny (K = 6 characters, N = 5 units, float64), and records
    and files of a few entries (not run, main: see TRAINS)."""
    K, N = SIZES["K"], SIZES["N"]

    def model(cell):
        return shakespeare.CharModel(cell, K, N, seed=0, dtype=torch.float64)

    book, torch_gru, lstm = model("book-gru"), model("gru"), model("lstm")
    V, c = (torch.from_numpy(_rng.standard_normal(shape("B N"))) for _ in range(2))
    not_models = [None, 5, "gru", np.zeros(3), torch.nn.GRU(K, N)]
    states = [np.zeros(shape("B N")), "state", 5, [V, c], (V,), (V, c, V), (V, np.zeros(N)),
              {"V": V}]
    lstm_states = [V, (V,), (V, c, V), [V, c], (V, c.float()), (V, c[:, :-1]), (V, c[:1]),
                   (V, torch.full_like(c, torch.nan)), (V, c.numpy())]
    R = SIZES["R"]      # ids of L = 9 and R = 10: B T + 1 = 7 are one chunk of T = 3 in B = 2
    loss = [2.1, 2.05, 1.98, 1.9, 1.85]
    live = {"network": "gru", "seed": 0, "loss": loss}
    stored = {"network": "gru", "seed": 0, "loss": [v + 3e-5 for v in loss]}
    records = [None, "record", [], {}, {"losses": loss}, *({**live, "loss": bad} for bad in (
        "x", None, loss[:2], [[v] for v in loss], [2.1, "a", 1.9, 1.8, 1.7], np.array(["a"] * 5),
        [2.1, None, 1.9, 1.8, 1.7], [2.1, np.nan, 1.9, 1.8, 1.7]))]
    folder = pathlib.Path(tempfile.mkdtemp(prefix="rnnbook-contract-"))
    results = {"setup": dict(shakespeare.SETUP), "environment": {"torch": "2"}, "jobs": 1,
               "networks": {"gru": live, "rnn": dict(live, network="rnn")},
               "weights": {"gru": "gru", "rnn": "rnn"}, "wall_seconds": 1.0}
    update = {**results, "networks": {"book-gru": dict(live, network="book-gru")},
              "weights": {"gru": "book-gru"}, "wall_seconds": 2.0}
    (folder / "results.json").write_text(json.dumps(results))
    np.savez(folder / "weights.npz", **{f"gru/{name}": value.astype(np.float32)
                                        for name, value in shakespeare.params(book).items()})

    def bad_results(v):
        return [None, "results", [], {}, {k: x for k, x in v.items() if k != "networks"},
                {**v, "setup": {}}, {**v, "jobs": 2}, {**v, "networks": "x"},
                {**v, "networks": {"nope": live}}, {**v, "networks": {1: live}},
                {**v, "networks": {"gru": "record"}}, {**v, "weights": "x"},
                {**v, "weights": {"gru": "lstm"}}, {**v, "weights": {"lstm": "lstm"}},
                {**v, "wall_seconds": "1"}, {**v, "wall_seconds": np.nan},
                {**v, "wall_seconds": -1.0}]

    return [
        Call(shakespeare.CharModel, cell=Name("book-gru", tuple(shakespeare.CELLS)), K=Int(K),
             N=Int(N), seed=Seed(0), dtype=Dtype(torch.float64, torch_dtype=True)),
        Call(torch_gru.forward, "gru", fixed="K N", x=TA("T B K"), state=TA("B N", optional=True)),
        Call(book.forward, "book-gru", fixed="K N", x=TA("T B K"), state=TA("B N", optional=True)),
        Call(lstm.forward, "lstm", fixed="K N", x=TA("T B K"), state=Sampled((V, c), lstm_states)),
        Call(shakespeare.detach_state, state=Sampled(V * 2, states, optional=True)),
        Call(shakespeare.evaluate, model=Sampled(book, not_models), ids=Ids("L", K=K),
             B=Int(2, also=[5]), T=Int(3, also=[5])),
        Call(shakespeare.train_lm, model=Sampled(model("gru"), not_models),
             train_ids=Ids("L", K=K), val_ids=Ids("R", K=K), steps=Int(1), seed=Seed(0),
             B=Int(2, also=[5]), T=Int(3, also=[5]), lr=Positive(1e-3),
             clip=Positive(1.0, optional=True), eval_every=Int(1, optional=True),
             val_chars=Int(7, also=[6, R + 1]),
             decay_steps=Int(2, optional=True), progress=Flag(False, optional=True),
             callback=Sampled(lambda step, net: step, [5, "x", np.zeros(3)], optional=True)),
        Call(shakespeare.params, model=Sampled(torch_gru, not_models + [lstm])),
        Call(shakespeare.same_start, live=Sampled(live, records), stored=Sampled(stored, records),
             steps=Int(3, also=[len(loss) + 1, shakespeare.START_STEPS + 1]),
             tol=Positive(1e-4, optional=True)),
        Call(shakespeare.load_results, path=PathKind(folder / "results.json"),
             url=Url(shakespeare.RESULTS_URL)),
        Call(shakespeare.load_weights, path=PathKind(folder / "weights.npz"),
             url=Url(shakespeare.WEIGHTS_URL)),
        Call(shakespeare.merge_results, results=Sampled(results, bad_results(results)),
             update=Sampled(update, bad_results(update))),
    ]


CALLS = _calls() + _shakespeare_calls()


# ---------------------------------------------------------------- the checks

def named(arg, message):
    """Does ``message`` name the argument ``arg`` (as a word, e.g. not "g" inside "g_out"; the
    scans' "a" not as the article, "expected a dict")?"""
    article = r"(?! [a-z])" if arg == "a" else ""
    return re.search(rf"(?<![\w.]){re.escape(arg)}(?![\w]){article}", message) is not None


def violation(call, arg, bad):
    """None if ``call`` with ``arg`` replaced by ``bad`` keeps the contract, else what went wrong."""
    try:
        call(**{arg: bad})
    except (ValueError, TypeError) as exc:
        if named(arg, str(exc)):
            return None
        return f"{type(exc).__name__} that does not name {arg}: {exc}"
    except Exception as exc:  # noqa: BLE001 - any other exception breaks the contract
        return f"{type(exc).__name__}: {exc}"
    return "accepted"


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.id)
def test_the_valid_calls_succeed(call):
    call()


@pytest.fixture(scope="module", autouse=True)
def _book_style_undone():
    """plots.use_book_style changes matplotlib's global rcParams: other test modules keep theirs."""
    with matplotlib.rc_context():
        yield


@pytest.mark.parametrize("call", [c for c in CALLS if c.kinds], ids=lambda c: c.id)
@FUZZ
@given(data=st.data())
def test_one_bad_argument_is_rejected_by_name(call, data):
    arg = data.draw(st.sampled_from(sorted(call.kinds)), label="argument")
    bad = data.draw(call.bad(arg), label="bad value")
    problem = violation(call, arg, bad)
    assert problem is None, f"{call.id}({arg}={_show(bad)}): {problem}"


def _listed_wrong_values(kind):
    """The values that ``kind`` lists as wrong for its call (``also``), inside a layout too."""
    if isinstance(kind, Layout):
        return [_replace(kind.value, key, bad) for key, spec in kind.layout.items()
                if isinstance(spec, Kind) and key in kind.value
                for bad in _listed_wrong_values(spec)]
    return list(getattr(kind, "also", ()))


LISTED = [pytest.param(call, arg, bad, id=f"{call.id}-{arg}-{i}") for call in CALLS
          for arg, kind in call.kinds.items()
          for i, bad in enumerate(_listed_wrong_values(kind))]


@pytest.mark.parametrize("call, arg, bad", LISTED)
def test_every_listed_wrong_value_is_rejected_by_name(call, arg, bad):
    """The fuzz draws these rarely (one option among many): each is tried here once."""
    problem = violation(call, arg, bad)
    assert problem is None, f"{call.id}({arg}={_show(bad)}): {problem}"


def _show(value):
    text = repr(value)
    return text if len(text) < 200 else text[:200] + "..."


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_public_name_is_listed_and_fuzzed(module):
    short = module.__name__.split(".")[-1]
    defined = {name for name, obj in vars(module).items()
               if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
               and obj.__module__ == module.__name__}
    assert defined <= set(module.__all__), f"public but not in __all__: {defined - set(module.__all__)}"
    called = {c.name for c in CALLS}
    for name in module.__all__:
        full = f"{short}.{name}"
        assert hasattr(module, name), f"{full} is in __all__ but not defined"
        if full in TRAINS:
            continue            # test_what_trains_refuses_a_bad_argument_before_training
        if full in NOT_CALLED:
            obj = getattr(module, name)
            assert not inspect.isfunction(obj), f"{full} is a function: give it a call in CALLS"
        else:
            assert full in called, f"{full} is public: add a valid call of it to CALLS"


def test_every_module_file_is_listed():
    """A new lib/*.py (not private, "_validate") is fuzzed, or NOT_FUZZED says why not."""
    folder = pathlib.Path(MODULES[0].__file__).parent
    files = {path.stem for path in folder.glob("*.py") if not path.stem.startswith("_")}
    listed = {module.__name__.split(".")[-1] for module in MODULES}
    assert files, f"no module files found in {folder}"
    assert files - set(NOT_FUZZED) == listed, (
        f"not in MODULES: {sorted(files - listed - set(NOT_FUZZED))}; "
        f"in MODULES without a file: {sorted(listed - files)}")
    assert set(NOT_FUZZED) <= files and not set(NOT_FUZZED) & listed


@pytest.mark.parametrize("name", sorted(TRAINS))
def test_what_trains_is_listed_and_not_fuzzed(name):
    module, function = name.split(".")
    module = {"horizon": horizon, "shortcut": shortcut, "shakespeare": shakespeare}[module]
    assert inspect.isfunction(getattr(module, function)) and name not in {c.name for c in CALLS}


def _main_files():
    """For shakespeare.main --only: results of another setup, a file that holds no results, and
    a file that is not there."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="rnnbook-contract-"))
    other = {"setup": dict(shakespeare.SETUP, steps=1), "environment": {}, "jobs": 1,
             "networks": {}, "weights": {}, "wall_seconds": 0.0}
    (folder / "other.json").write_text(json.dumps(other))
    (folder / "list.json").write_text("[1, 2]")
    return {name: str(folder / f"{name}.json") for name in ("other", "list", "missing")}


_MAIN = _main_files()


@pytest.mark.parametrize("call, message", [
    (lambda: horizon.run_cell("nope", 10, seed=0), "name"),
    (lambda: horizon.run_cell("gru", 10, seed=-1), "seed"),
    (lambda: horizon.run_cell("gru", 0, seed=0), "T"),
    (lambda: horizon.run_cell("gru", 10, seed=0, steps=0), "steps"),
    (lambda: horizon.run_grid(grid={"gru": [10]}, seeds=[2.5]), "seeds"),
    (lambda: horizon.run_grid(grid={"nope": [10]}), "grid key"),
    (lambda: horizon.run_grid(grid={"gru": [10]}, seeds=[0], jobs=0), "jobs"),
    (lambda: horizon.run_grid(grid={"gru": [10]}, seeds=[0], report="print"), "report"),
    (lambda: horizon.main(["--jobs", "0"]), "jobs"),
    (lambda: horizon.main("--jobs 2"), "argv"),
    (lambda: horizon.main(["--only", "gru,nope"]), "only"),
    (lambda: shortcut.run("lstm", 10, seed=0), "name"),
    (lambda: shortcut.run("gru", 10, seed=-1), "seed"),
    (lambda: shortcut.run("gru", 1, seed=0), "T"),
    (lambda: shortcut.run("gru", 10, seed=0, steps=0), "steps"),
    (lambda: shortcut.run("gru", 10, seed=0, rule="numpy"), "rule"),
    (lambda: shortcut.run("rnn", 10, seed=0, rule="book"), "name"),
    (lambda: shortcut.main(["--jobs", "0"]), "jobs"),
    (lambda: shortcut.main("--jobs 2"), "argv"),
    (lambda: shortcut.main(["--out", ""]), "out"),
    (lambda: shakespeare.run("nope", seed=0), "cell"),
    (lambda: shakespeare.run(["gru"], seed=0), "cell"),
    (lambda: shakespeare.run("gru", seed=-1), "seed"),
    (lambda: shakespeare.run("gru", seed=None), "seed"),
    (lambda: shakespeare.run("gru", seed=0, steps=0), "steps"),
    (lambda: shakespeare.run("gru", seed=0, steps=2.5), "steps"),
    (lambda: shakespeare.run("gru", seed=0, validate="no"), "validate"),
    (lambda: shakespeare.main(["--jobs", "0"]), "jobs"),
    (lambda: shakespeare.main("--jobs 2"), "argv"),
    (lambda: shakespeare.main(["--steps", "0"]), "steps"),
    (lambda: shakespeare.main(["--out", ""]), "out"),
    (lambda: shakespeare.main(["--weights", ""]), "weights"),
    (lambda: shakespeare.main(["--only", "gru,nope"]), "only"),
    (lambda: shakespeare.main(["--only", "gru", "--out", _MAIN["missing"]]), "only"),
    (lambda: shakespeare.main(["--only", "gru", "--out", _MAIN["other"]]), "only"),
    (lambda: shakespeare.main(["--only", "gru", "--out", _MAIN["list"]]), "out"),
])
def test_what_trains_refuses_a_bad_argument_before_training(call, message, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("training started")
    monkeypatch.setattr(train, "train", no_training)
    monkeypatch.setattr(shakespeare, "train_lm", no_training)
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert named(message.split()[0], str(info.value)), str(info.value)


def test_the_names_are_matched_as_words():
    assert named("g", "g: expected one of") and not named("g", "g_out: expected one of")
    assert named("cache", 'cache["b"]: contains NaN') and not named("b", "dV_b: x")
    assert named("params", 'params["w_vv"]: contains NaN or inf')
    assert not named("T", "cache.T: x")
    assert named("a", "a: contains NaN") and named("a", "b: expected (T, N) to agree with a, got")
    assert not named("a", "b: expected a dict, got list")
