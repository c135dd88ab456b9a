"""Argument checks shared by every module: bad input raises an error whose message starts with the
name of the bad argument, e.g. ``x: contains NaN or inf``.

A bad value (a wrong shape, NaN, a size below 1, an unknown name) raises ValueError. A value of the
wrong kind (None, a list or a str where an array, a number or a name is expected) raises
ArgumentTypeError, which is both a TypeError and a ValueError, so that ``except ValueError`` still
catches every bad argument. An entry of a dict argument is named as in Python, ``params["w_vv"]``.

The checks cost O(size) numpy operations once per call: a public function that a loop calls at
every time step is wrapped with ``checked``, and the loop, whose caller validated once, calls it
through ``.unchecked``.
"""
import functools
import math
import numbers

import numpy as np


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong kind: a TypeError, and a ValueError like every bad argument."""


def array_arg(name, value, dims, sizes, nan=False, inf=False):
    """Return ``value`` as a real floating-point ndarray whose shape matches ``dims``.

    ``dims`` names each axis, e.g. ``("T", "B", "N")``, where "T+1" is one more than "T" (None:
    any shape with at least one entry). ``sizes`` maps those names to lengths; the first argument
    that fixes a length fills it in, so later arguments must agree, and under the key
    ``("by", dim)`` it records which argument that was, to name it in the message. Raises
    ValueError for a wrong number of axes, a disagreeing or empty axis, or NaN or inf entries
    (unless ``nan`` or ``inf`` allows them); ArgumentTypeError for what is not an array of real
    numbers.
    """
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise ArgumentTypeError(f"{name}: expected {_an_array(dims)}, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ArgumentTypeError(f"{name}: expected {_an_array(dims)}, "
                                f"got a ragged {type(value).__name__}") from exc
    if arr.dtype.kind not in "fiu":         # floats and integers; not bool, complex, str, object
        raise ArgumentTypeError(f"{name}: expected real numbers (float32 or float64), "
                                f"got dtype {arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    _shape_arg(name, arr.shape, dims, sizes)
    if nan and inf:
        return arr
    if arr.size < 4096:
        clean = np.isfinite(arr).all()
    else:   # the sum is finite unless an entry is NaN or inf (or it overflows): no temporary
        with np.errstate(over="ignore", invalid="ignore"):
            clean = np.isfinite(arr.sum())
    if not clean:
        found = np.isnan(arr) if inf else np.isinf(arr) if nan else ~np.isfinite(arr)
        if np.any(found):
            raise ValueError(f"{name}: contains {'NaN' if inf else 'inf' if nan else 'NaN or inf'}")
    return arr


def _shape_arg(name, shape, dims, sizes):
    """Check ``shape`` against the named axes ``dims`` and the lengths in ``sizes`` (array_arg)."""
    shape = tuple(shape)
    if dims is None:
        if math.prod(shape) == 0:
            raise ValueError(f"{name}: expected at least one entry, got shape {shape}")
        return
    if len(shape) != len(dims):
        raise ValueError(f"{name}: expected {len(dims)} axes {_spell(dims)}, got shape {shape}")
    for axis, ((base, extra), n) in enumerate(zip(_axes(tuple(dims)), shape)):
        if n - extra < 1:
            what = ("at least one time step (T >= 1)" if base == "T"
                    else f"{dims[axis]} >= {1 + extra}")
            raise ValueError(f"{name}: expected {what} on axis {axis} {_spell(dims)}, "
                             f"got shape {shape}")
        if sizes.setdefault(base, n - extra) != n - extra:
            want = tuple(_length(sizes, d) for d in dims)
            by = sizes.get(("by", base))
            raise ValueError(
                f"{name}: expected shape {_spell(dims)} = {want} to agree with "
                f"{by if by else 'the other arguments'}, got {shape}")
        sizes.setdefault(("by", base), name)


def tensor_arg(name, value, dims, sizes):
    """Return ``value`` if it is a torch tensor of float32 or float64 whose shape matches ``dims``
    (as for ``array_arg``) and whose entries are finite.

    The first tensor fixes the dtype in ``sizes`` (key "dtype"): torch does not mix float32 and
    float64 in a product, so later tensors must agree. Raises ArgumentTypeError for what is not a
    torch tensor of real floats, ValueError for a wrong shape, dtype or NaN or inf entries. The
    tensor stays where it is (device, autograd graph); the check costs a few torch operations.
    """
    import torch        # only the torch modules call this
    if not isinstance(value, torch.Tensor):
        shaped = "" if dims is None else f" of shape {_spell(dims)}"
        raise ArgumentTypeError(f"{name}: expected a torch tensor{shaped}, "
                                f"got {type(value).__name__}")
    if value.dtype not in (torch.float32, torch.float64):
        raise ArgumentTypeError(f"{name}: expected a tensor of float32 or float64, "
                                f"got dtype {value.dtype}")
    if sizes.setdefault("dtype", value.dtype) != value.dtype:
        raise ValueError(f"{name}: expected dtype {sizes['dtype']} to agree with "
                         f"{sizes.get(('by', 'dtype'), 'the other arguments')}, got {value.dtype}")
    sizes.setdefault(("by", "dtype"), name)
    _shape_arg(name, value.shape, dims, sizes)
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name}: contains NaN or inf")
    return value


def sizes_of(name, dims, shape):
    """The ``sizes`` for ``array_arg`` that the argument ``name`` of shape ``shape`` fixes."""
    sizes = {}
    for (base, extra), n in zip(_axes(tuple(dims)), shape):
        sizes[base], sizes[("by", base)] = n - extra, name
    return sizes


def dict_arg(name, value, keys, optional=(), what="a dict", closed=True):
    """Return ``value`` if it is a dict with all of ``keys``, some of ``optional`` and, if
    ``closed``, nothing else.

    Raises ArgumentTypeError for anything but a dict, ValueError naming the missing and the
    unexpected keys otherwise; ``what`` says what the dict should be, e.g. "the cache of ...".
    """
    if not isinstance(value, dict):
        raise ArgumentTypeError(f"{name}: expected {what}, got {type(value).__name__}")
    missing = sorted(set(keys) - set(value), key=str)
    unknown = sorted(set(value) - set(keys) - set(optional), key=str) if closed else []
    if missing or unknown:
        extra = f" and optionally {list(optional)}" if optional else ""
        raise ValueError(f"{name}: expected {what} with the keys {list(keys)}{extra}; "
                         f"missing {missing}, unexpected {unknown}")
    return value


def cache_arg(name, cache, arrays, source, sizes, activations=("g",)):
    """Return the entries of ``cache``, the dict that ``source`` returned, validated: the arrays
    ``arrays`` (key -> dims, checked by ``array_arg`` with ``sizes``) and the names of activation
    functions under the keys ``activations``. Other keys are left out. An entry is named as in
    ``cache["b"]: expected shape ...``. NaN and inf entries are let through: a cache records a
    forward pass whose inputs were checked, so they are its honest result (an overflow, say, in
    an exploding network), for the backward pass to carry on."""
    dict_arg(name, cache, [*arrays, *activations], what=f"the cache returned by {source}",
             closed=False)
    out = {key: array_arg(entry(name, key), cache[key], dims, sizes, nan=True, inf=True)
           for key, dims in arrays.items()}
    out.update({key: activation_name(entry(name, key), cache[key]) for key in activations})
    return out


def name_dict(name, value, what):
    """Return ``value`` if it is a dict whose keys are names (str); ``what`` it should be."""
    if not isinstance(value, dict):
        raise ArgumentTypeError(f"{name}: expected {what}, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise ArgumentTypeError(f"{name}: expected {what}, with names (str) as keys, "
                                    f"got the key {key!r}")
    return value


def entry(name, key):
    """The name of ``name[key]`` in a message: params["w_vv"]."""
    return f'{name}["{key}"]'


def integer_arg(name, value, minimum=1):
    """Return ``value`` as an int >= ``minimum``; a bool, float or str is not an integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ArgumentTypeError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def positive_int(name, value):
    """Return ``value`` as an int >= 1 (a size, a length, a count of steps)."""
    return integer_arg(name, value, 1)


def seed_arg(name, value, none=False):
    """Return ``value`` as an int >= 0: a seed for ``np.random.default_rng`` or torch, given
    explicitly. None, which draws from a random state not given, passes only where ``none``
    allows it (a function that documents what it then does)."""
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ArgumentTypeError(f"{name}: expected an integer seed >= 0, got {value!r}")
    if value < 0:
        raise ValueError(f"{name}: expected an integer seed >= 0, got {value!r}")
    return int(value)


def number_arg(name, value, low=-math.inf, high=math.inf, low_open=False, none=False,
               what="a number"):
    """Return ``value`` as a finite float in [low, high] ((low, high] with ``low_open``), or None
    when ``none`` allows it; ``what`` it is, for the message. A bool, a str or an array is not a
    number."""
    expected = f"{name}: expected {_interval(what, low, high, low_open)}"
    expected += " or None" if none else ""
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{expected}, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and (value > low if low_open else value >= low) and value <= high):
        raise ValueError(f"{expected}, got {value!r}")
    return value


def positive_number(name, value, none=False):
    """Return ``value`` as a finite float > 0 (a tolerance, a step, a learning rate), or None when
    ``none`` allows it."""
    return number_arg(name, value, low=0.0, low_open=True, none=none, what="a positive number")


def flag_arg(name, value):
    """Return ``value`` as a bool; 0, 1, "yes" or None are not flags."""
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def callable_arg(name, value):
    """Return ``value`` if it can be called."""
    if not callable(value):
        raise ArgumentTypeError(f"{name}: expected a function, got {type(value).__name__}")
    return value


def choice(name, value, options):
    """Return ``value`` if it is one of the names ``options``, or raise naming them."""
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name}: expected a name, one of {sorted(options)}, "
                                f"got {type(value).__name__} {value!r}")
    if value not in options:
        raise ValueError(f"{name}: expected one of {sorted(options)}, got {value!r}")
    return value


def activation_name(name, value):
    """Return ``value`` if it names an activation function of ``rnnbook.activations``."""
    from .activations import ACTIVATIONS    # that module imports this one
    return choice(name, value, ACTIVATIONS)


def axes_arg(name, value, count, none=True):
    """Return ``value`` if it is matplotlib Axes: one Axes for ``count`` 1, else a list, a tuple
    or an array (of ``plt.subplots``) of ``count`` Axes; None passes where ``none`` allows it,
    for a function that then makes its own figure."""
    from matplotlib.axes import Axes    # only the plotting modules call this
    if value is None and none:
        return None
    if count == 1:
        if not isinstance(value, Axes):
            raise ArgumentTypeError(f"{name}: expected matplotlib Axes, got {type(value).__name__}")
        return value
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise ArgumentTypeError(f"{name}: expected a sequence of {count} matplotlib Axes, "
                                f"got {type(value).__name__}")
    flat = list(value.ravel()) if isinstance(value, np.ndarray) else list(value)
    if len(flat) != count or not all(isinstance(ax, Axes) for ax in flat):
        raise ValueError(f"{name}: expected {count} matplotlib Axes, got "
                         f"{[type(ax).__name__ for ax in flat]}")
    return value


def floating_dtype(name, value):
    """Return ``value`` as a numpy dtype if it is float32 or float64 (None is not a dtype here,
    though numpy reads it as float64)."""
    try:
        dtype = None if value is None else np.dtype(value)
    except TypeError as exc:
        raise ArgumentTypeError(f"{name}: expected float32 or float64, got {value!r}") from exc
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{name}: expected float32 or float64, got {value!r}")
    return dtype


def checked(check):
    """Decorator for a function that loops call at every time step. Called by a reader, the
    function first passes its arguments through ``check``, which takes the same arguments,
    validates them and returns them as a dict by name; ``function.unchecked`` skips that, for a
    caller whose arguments were validated once, before its loop."""
    def decorate(function):
        @functools.wraps(function)
        def validated(*args, **kwargs):
            return function(**check(*args, **kwargs))
        validated.unchecked = function
        return validated
    return decorate


@functools.lru_cache(maxsize=None)
def _axes(dims):
    """(name, offset) of each axis: "T+1" is ("T", 1)."""
    return tuple((d[:-2], 1) if d.endswith("+1") else (d, 0) for d in dims)


def _an_array(dims):
    return "an array" if dims is None else f"an array of shape {_spell(dims)}"


def _length(sizes, dim):
    ((base, extra),) = _axes((dim,))
    return sizes[base] + extra if base in sizes else "?"


def _interval(what, low, high, low_open):
    if high < math.inf:
        return f"{what} in {'(' if low_open else '['}{low:g}, {high:g}]"
    if what != "a number" or low == -math.inf:
        return what.replace("a number", "a finite number")
    return f"a finite number {'>' if low_open else '>='} {low:g}"


def _spell(dims):
    return "(" + ", ".join(dims) + ")" if len(dims) != 1 else f"({dims[0]},)"
