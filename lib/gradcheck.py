"""Finite-difference gradient checks, with numpy only (no torch needed).

A hand-written backward pass is trusted when it agrees with central differences,
dH/da ~ [H(a + h) - H(a - h)] / (2h), entry by entry. The comparison uses one relative error per
array: the largest entrywise difference divided by the largest entry, which stays meaningful when
some entries of a gradient are (nearly) zero.
"""
import numpy as np


def numerical_gradients(f, params, h=1e-5, names=None):
    """Central differences of the scalar ``f(params)`` with respect to each array in ``params``.

    ``params`` maps names to arrays; ``names`` selects some of them (default: all). Each entry is
    moved by +h and -h in turn (2 calls of f per entry), on a copy: ``params`` is not changed.
    Returns a dict of arrays shaped like the parameters. The error of the estimate is of order
    h^2 (truncation) plus eps |f| / h (rounding), so h = 1e-5 suits float64 and values of order 1.
    """
    if not h > 0:
        raise ValueError(f"h: expected a positive step, got {h!r}")
    names = list(params) if names is None else list(names)
    work = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    grads = {}
    for name in names:
        if name not in work:
            raise ValueError(f"names: {name!r} is not one of the parameters {sorted(work)}")
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
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"expected arrays of the same shape, got {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("expected finite numbers, got NaN or inf")
    scale = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0))
    return 0.0 if scale == 0 else float(np.max(np.abs(a - b)) / scale)


def gradient_check(f, params, grads, h=1e-5):
    """Compare ``grads`` (e.g. from a backward pass) with central differences of ``f(params)``.

    Checks every name in ``grads``; returns a dict name -> relative error (see ``relative_error``).
    """
    missing = sorted(set(grads) - set(params))
    if missing:
        raise ValueError(f"grads: {missing} are not parameters of f "
                         f"(expected names from {sorted(params)})")
    numerical = numerical_gradients(f, params, h=h, names=list(grads))
    return {name: relative_error(grads[name], numerical[name]) for name in grads}


def report(errors, tol):
    """A table of relative errors, one line per array, each marked ok or FAILED against ``tol``."""
    lines = [f"{'array':10s} {'relative error':>15s}"]
    for name, err in errors.items():
        verdict = "ok" if err < tol else "FAILED"
        lines.append(f"{name:10s} {err:15.1e}  {verdict} (tolerance {tol:.0e})")
    return "\n".join(lines)


def _scalar(f, params):
    value = np.asarray(f(params))
    if value.shape != () or not np.isfinite(value):
        raise ValueError(f"f: expected a finite scalar, got {value!r}")
    return float(value)
