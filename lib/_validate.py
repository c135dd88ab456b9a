"""Argument checks shared by every module: bad input raises ValueError naming the argument."""
import numpy as np


def array_arg(name, value, dims, sizes):
    """Return ``value`` as a real floating-point ndarray whose shape matches ``dims``.

    ``dims`` names each axis, e.g. ``("T", "B", "N")``; ``sizes`` maps those names to lengths
    and is filled in by the first argument that fixes them, so later arguments must agree.
    Raises ValueError for a wrong number of axes, a disagreeing or empty axis, a non-real
    dtype, or NaN/inf entries.
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name}: expected an array of shape {_spell(dims)}, got {type(value).__name__}") from exc
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name}: expected real numbers (float32 or float64), got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if arr.ndim != len(dims):
        raise ValueError(f"{name}: expected {len(dims)} axes {_spell(dims)}, got shape {arr.shape}")
    for axis, (dim, n) in enumerate(zip(dims, arr.shape)):
        if n == 0:
            what = "at least one time step" if dim == "T" else f"{dim} >= 1"
            raise ValueError(f"{name}: expected {what} on axis {axis} {_spell(dims)}, got shape {arr.shape}")
        if sizes.setdefault(dim, n) != n:
            raise ValueError(
                f"{name}: expected shape {_spell(dims)} = {tuple(sizes.get(d, '?') for d in dims)} "
                f"to agree with the other arguments, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or inf")
    return arr


def positive_int(name, value):
    """Return ``value`` as an int >= 1, or raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return int(value)


def choice(name, value, options):
    """Return ``value`` if it is one of ``options``, or raise ValueError listing them."""
    if value not in options:
        raise ValueError(f"{name}: expected one of {sorted(options)}, got {value!r}")
    return value


def floating_dtype(name, value):
    """Return ``value`` as a numpy dtype if it is float32 or float64, or raise ValueError."""
    try:
        dtype = np.dtype(value)
    except TypeError as exc:
        raise ValueError(f"{name}: expected float32 or float64, got {value!r}") from exc
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{name}: expected float32 or float64, got {value!r}")
    return dtype


def _spell(dims):
    return "(" + ", ".join(dims) + ")"

