"""Finite-difference gradient checks, with numpy only (no torch needed).

A hand-written backward pass is trusted when it agrees with central differences,
dH/da ~ [H(a + h) - H(a - h)] / (2h), entry by entry. The comparison uses one relative error per
array: the largest entrywise difference divided by the largest entry, which stays meaningful when
some entries of a gradient are (nearly) zero.
"""
import numpy as np

from ._validate import (ArgumentTypeError, array_arg, callable_arg, entry, name_dict, number_arg,
                        positive_number)

__all__ = ["numerical_gradients", "relative_error", "gradient_check", "report"]


def numerical_gradients(f, params, h=1e-5, names=None):
    """Central differences of the scalar ``f(params)`` with respect to each array in ``params``.

    ``params`` maps names to arrays; ``names`` selects some of them (default: all). Each entry is
    moved by +h and -h in turn (2 calls of f per entry), on a copy: ``params`` is not changed.
    Returns a dict of arrays shaped like the parameters. The error of the estimate is of order
    h^2 (truncation) plus eps |f| / h (rounding), so h = 1e-5 suits float64 and values of order 1.
    """
    f = callable_arg("f", f)
    work = {k: np.array(v, dtype=np.float64) for k, v in _params_arg(params).items()}
    h = positive_number("h", h)
    names = list(work) if names is None else _names_arg(names, work)
    grads = {}
    for name in names:
        a, g = work[name], np.zeros_like(work[name])
        for i in np.ndindex(a.shape):
            saved = a[i]
            a[i] = saved + h
            up = _scalar(f, work)
            a[i] = saved - h
            down = _scalar(f, work)
            a[i] = saved
            g[i] = (up - down) / (2 * h)
        grads[name] = g
    return grads


def relative_error(a, b):
    """max |a - b| / max(max |a|, max |b|): 0 for equal arrays, 1 for a = -b or one of them zero.

    Two all-zero arrays have relative error 0. Raises ValueError for different shapes or NaN/inf.
    """
    a, b = array_arg("a", a, None, {}), array_arg("b", b, None, {})
    if a.shape != b.shape:
        raise ValueError(f"a, b: expected arrays of the same shape, got {a.shape} and {b.shape}")
    a, b = a.astype(np.float64), b.astype(np.float64)
    scale = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0))
    return 0.0 if scale == 0 else float(np.max(np.abs(a - b)) / scale)


def gradient_check(f, params, grads, h=1e-5):
    """Compare ``grads`` (e.g. from a backward pass) with central differences of ``f(params)``.

    Checks every name in ``grads``; returns a dict name -> relative error (see ``relative_error``).
    """
    f, params = callable_arg("f", f), _params_arg(params)
    unknown = sorted(set(name_dict("grads", grads, "a dict of arrays")) - set(params))
    if unknown:
        raise ValueError(f"grads: {unknown} are not parameters of f (expected names from "
                         f"params, {sorted(params)})")
    for name, grad in grads.items():
        grad = array_arg(entry("grads", name), grad, None, {})
        if grad.shape != np.shape(params[name]):
            raise ValueError(f"{entry('grads', name)}: expected the shape of "
                             f"{entry('params', name)}, {np.shape(params[name])}, "
                             f"got {grad.shape}")
    numerical = numerical_gradients(f, params, h=h, names=list(grads))
    return {name: relative_error(grads[name], numerical[name]) for name in grads}


def report(errors, tol):
    """A table of relative errors, one line per array, each marked ok or FAILED against ``tol``."""
    tol = positive_number("tol", tol)
    for name, err in name_dict("errors", errors, "a dict name -> relative error").items():
        number_arg(entry("errors", name), err, low=0.0, what="a relative error")
    lines = [f"{'array':10s} {'relative error':>15s}"]
    for name, err in errors.items():
        verdict = "ok" if err < tol else "FAILED"
        lines.append(f"{name:10s} {err:15.1e}  {verdict} (tolerance {tol:.0e})")
    return "\n".join(lines)


def _params_arg(params):
    """params: a dict name -> array of real numbers, any shapes."""
    params = name_dict("params", params, "a dict name -> array")
    if not params:
        raise ValueError("params: expected at least one array, got an empty dict")
    return {k: array_arg(entry("params", k), v, None, {}) for k, v in params.items()}


def _names_arg(names, params):
    """names: a list of names of ``params``."""
    if isinstance(names, (str, bytes)) or not isinstance(names, (list, tuple)):
        raise ArgumentTypeError(f"names: expected a list of parameter names, got {names!r}")
    for name in names:
        if not isinstance(name, str) or name not in params:
            raise ValueError(f"names: {name!r} is not one of the parameters {sorted(params)}")
    return list(names)


def _scalar(f, params):
    value = np.asarray(f(params))
    if value.shape != () or not np.isfinite(value):
        raise ValueError(f"f: expected a finite scalar, got {value!r}")
    return float(value)
