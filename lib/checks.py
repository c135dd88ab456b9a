"""Self-checks for the exercises: each prints a clear pass, or raises SelfCheckFailed saying what
differed. They compare a student's work with the library, never with a stored answer."""
import functools
from types import SimpleNamespace

import numpy as np

from . import rnn
from ._validate import flag_arg, positive_int

__all__ = ["SelfCheckFailed", "check_rnn_step", "check_latch", "check_gru_step",
           "check_gru_step_backward", "check_bptt_step", "check_backprop_states",
           "check_clip_by_norm", "check_wilson_interval", "check_cross_entropy_backward",
           "check_bigram_cross_entropy"]
__all__ += ["check_combine", "check_log_space_scan", "check_theorem1_gate"]     # Chapter 7


class SelfCheckFailed(AssertionError, ValueError):
    """A self-check did not pass; the message says what differed and where. Also a ValueError: an
    argument that is no answer at all (not a function, not an array of the exercise's shape) is, by
    the library's contract, a bad argument, and the student sees it as the failed check it is."""


def _fail(message, error=SelfCheckFailed):
    # "from None": the student sees this message, not the library's exception chain behind it
    raise error(message) from None


# The hidden cases of the graded tests: a check called with hidden=True runs these instead of its
# visible case. The course folder of tools/scripts/course.py calls each check so in a hidden block
# of its test cell (nbgrader removes the block from the students' copy and restores it when it
# grades), to catch what fits the visible case only: sizes or numbers copied from the check, a
# batch or a network of one (a squeeze, a sum without keepdims), edge cases of the exercise.
# Hidden from the notebook, not secret: this file is part of the library the students have.
_HIDDEN = {
    "rnn_step": ((1, 1, 1), (1, 5, 3), (6, 3, 5)),                      # (B, N, K)
    # (fraction of hold, extra steps) after t = 5, and the pulse: a set pulse while set, then
    # a reset on the next step; a reset while reset, then a set on the next step
    "latch": (((0, 0), "set"), ((1, 0), "set"), ((1, 1), "reset"), ((2, 1), "reset"),
              ((2, 2), "set")),
    "bptt_step": ((1, 1, 1, 1, 1), (4, 3, 5, 2, 3), (2, 1, 2, 3, 1)),      # (T, B, N, K, M)
    "backprop_states": ((3, 1, 5), (8, 4, 2), (2, 2, 1)),               # (T, B, N)
    "clip_by_norm": {       # case: (shapes of the arrays, max_norm: an int, or a float * the norm)
        "all gradients zero": (((2, 3), (3,)), (1,)),
        "one array": (((5,),), (0.01,)),
        "arrays of three axes and of none": (((2, 3, 2), ()), (0.5,)),
        "a norm exactly at the threshold": (((4,), (2, 2)), (1.0,)),
        "a whole-number threshold": (((4, 4), (4,)), (1,)),
    },
    "gru_step": ((1, 1, 1), (1, 3, 5), (5, 2, 1)),                      # (B, N, K)
    "gru_step_backward": ((1, 2, 1), (5, 3, 4), (2, 6, 3)),             # (B, N, K)
    "wilson_interval": ((500, 1000, 1.96), (1000, 1000, 1.96), (0, 100_000, 1.96),
                        (np.int64(5), np.int64(12), 1.96), (7, 20, 3.0), (3, 10, 0.5)),
    "cross_entropy_backward": ((1, 1, 2), (4, 3, 7), (2, 5, 3)),        # (T, B, K)
    "bigram_cross_entropy": {   # case: (K, characters used, training and validation length, alpha)
        "characters that neither text uses": (9, 4, 300, 60, 0.5),
        "one validation pair": (4, 4, 200, 2, 2.0),
        "a large alpha": (5, 5, 200, 50, 100.0),
    },
}


def _quiet_when_hidden(check):
    """``check``, run under np.errstate(all="ignore") when called with hidden=True. nbgrader scores
    a test cell that writes to stderr zero, and a numpy warning from the student's code in an
    edge case (a division by zero whose inf the code then discards, as min(1, inf) does) is no
    wrong answer: the values decide."""
    @functools.wraps(check)
    def run(*args, **kwargs):
        if kwargs.get("hidden") is True:
            with np.errstate(all="ignore"):
                return check(*args, **kwargs)
        return check(*args, **kwargs)
    return run


def _function_arg(name, fn):
    """``fn`` if it can be called: the student's function, the argument ``name``."""
    if not callable(fn):
        _fail(f"{name}: expected a function, got {type(fn).__name__}", SelfCheckFailed)
    return fn


def _as_numbers(name, value, error=SelfCheckFailed):
    """``value`` as a real float array, or a failure (``error``) that says what it was instead."""
    if value is None:
        _fail(f"{name} is None: not set yet, or a function without a return?", error)
    try:
        arr = np.asarray(value.detach() if hasattr(value, "detach") else value)
        if np.iscomplexobj(arr) or arr.dtype == bool:
            what = "complex numbers" if np.iscomplexobj(arr) else "True/False values"
            _fail(f"{name}: expected real numbers, got {what}", error)
        return arr.astype(float)
    except SelfCheckFailed:
        raise
    except Exception:           # ragged lists, strings, objects numpy cannot convert
        _fail(f"{name}: expected an array of numbers, got {type(value).__name__}", error)


def _shaped_like(got, expected):
    """``got`` as a float array if it has ``expected``'s shape, else None: the hints compare only
    such arrays with the known mistakes, and the comparison after them reports anything else."""
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None
    return got if got.shape == np.shape(expected) else None


def _call(fn, *args):
    """Call the student's function, turning an exception inside it into a readable failure."""
    if not callable(fn):
        _fail(f"expected a function, got {type(fn).__name__}")
    try:
        return fn(*args)
    except NotImplementedError:
        _fail(f"{getattr(fn, '__name__', 'your function')} is not written yet (it raises NotImplementedError)")
    except Exception as exc:
        _fail(f"{getattr(fn, '__name__', 'your function')} raised {type(exc).__name__}: {exc}")


def _compare(name, got, expected, atol=1e-10):
    got = _as_numbers(name, got)
    if got.shape != expected.shape:
        _fail(f"{name}: expected shape {expected.shape}, got {got.shape}")
    err = np.abs(got - expected)
    if not np.all(err <= atol):          # also catches NaN
        idx = np.unravel_index(np.nanargmax(np.where(np.isnan(err), np.inf, err)), err.shape)
        _fail(f"{name}: at index {tuple(int(i) for i in idx)} expected {expected[idx]:.6g}, "
              f"got {got[idx]:.6g} (difference {err[idx]:.2e}, tolerance {atol:.0e})")


@_quiet_when_hidden
def check_rnn_step(rnn_step, *, hidden=False):
    """Exercise: ``rnn_step(V_prev, x_t, w_vv, w_vx, theta_v)`` computes one step of eq. (1.1) with
    g = tanh. Shapes: V_prev (B, N), x_t (B, K), w_vv (N, N), w_vx (N, K), theta_v (N,) -> (B, N).

    ``hidden=True`` runs the hidden cases of a graded test instead (see ``_HIDDEN``)."""
    if flag_arg("hidden", hidden):
        return _hidden_rnn_step(_function_arg("rnn_step", rnn_step))
    _function_arg("rnn_step", rnn_step)
    rng = np.random.default_rng(2026)
    B, N, K = 3, 4, 2
    x = rng.standard_normal((1, B, K))
    v0 = rng.standard_normal((B, N))
    w_vv, w_vx, theta_v = rng.standard_normal((N, N)), rng.standard_normal((N, K)), rng.standard_normal(N)
    expected = rnn.rnn_forward(x, w_vv, w_vx, theta_v, v0=v0)[0][1]
    got = _call(rnn_step, v0, x[0], w_vv, w_vx, theta_v)
    _compare("rnn_step(...)", got, expected)
    print(f"✓ rnn_step matches eq. (1.1) on a random batch (B={B}, N={N}, K={K}).")


def _hidden_rnn_step(rnn_step):
    for seed, (B, N, K) in enumerate(_HIDDEN["rnn_step"], start=3026):
        rng = np.random.default_rng(seed)
        x, v0 = rng.standard_normal((1, B, K)), rng.standard_normal((B, N))
        w_vv, w_vx, theta_v = (rng.standard_normal(s) for s in ((N, N), (N, K), (N,)))
        expected = rnn.rnn_forward(x, w_vv, w_vx, theta_v, v0=v0)[0][1]
        got = _call(rnn_step, v0, x[0].copy(), w_vv.copy(), w_vx.copy(), theta_v.copy())
        _compare(f"rnn_step(...) with B={B}, N={N}, K={K}", got, expected)
    print("✓ rnn_step passes the hidden cases: one sequence of one unit (B = N = K = 1),\n"
          "  other sizes and other random numbers.")


@_quiet_when_hidden
def check_latch(w_vv, w_vx, theta_v, hold=1000, *, hidden=False):
    """Exercise: one tanh unit with inputs (set, reset) that stores a bit.

    A pulse x = (1, 0) must drive V above +0.5 and a pulse x = (0, 1) below -0.5, and V must stay
    there for ``hold`` steps of zero input. The exercise asks for a smaller self-weight than the
    chapter's 2, so w_vv >= 2 fails too. Shapes: w_vv (1, 1), w_vx (1, 2), theta_v (1,).

    ``hidden=True`` runs the hidden cases of a graded test instead: a pulse repeated while the
    bit is stored, and the opposite pulse on the very next step (``_HIDDEN``).
    """
    hold = positive_int("hold", hold)
    hidden = flag_arg("hidden", hidden)
    w_vv, w_vx, theta_v = (_as_numbers(name, a, SelfCheckFailed) for name, a in
                           (("w_vv", w_vv), ("w_vx", w_vx), ("theta_v", theta_v)))
    for name, a, shape in (("w_vv", w_vv, (1, 1)), ("w_vx", w_vx, (1, 2)), ("theta_v", theta_v, (1,))):
        if a.shape != shape:
            _fail(f"{name}: expected shape {shape} for one unit with inputs (set, reset), got {a.shape}",
                  SelfCheckFailed)
        if not np.all(np.isfinite(a)):
            _fail(f"{name}: contains NaN or inf", SelfCheckFailed)
    if hidden:
        return _hidden_latch(w_vv, w_vx, theta_v, hold)
    pulses = {5: "set", 5 + hold: "reset", 5 + 2 * hold: "set"}
    T = 5 + 3 * hold
    x = np.zeros((T, 1, 2))
    for t, kind in pulses.items():
        x[t - 1, 0, 0 if kind == "set" else 1] = 1.0
    V = rnn.rnn_forward(x, w_vv, w_vx, theta_v)[0][:, 0, 0]
    for t, kind in pulses.items():
        want = 1.0 if kind == "set" else -1.0
        held = V[t:t + hold] * want
        if not np.all(held > 0.5):
            bad = t + int(np.argmax(held <= 0.5))
            _fail(f"after the {kind} pulse at t={t}, V({bad}) = {V[bad]:+.3f}: expected "
                  f"{'above +0.5' if want > 0 else 'below -0.5'} for {hold} steps. "
                  + ("The pulse does not move V far enough." if bad == t else
                     "The stored bit leaks away: with no input, V = g(w V - theta) needs a stable "
                     "fixed point on each side."))
    if w_vv[0, 0] >= 2:
        _fail(f"the latch works, but with self-weight {w_vv[0, 0]:g}: the chapter's own latch uses 2. "
              "The exercise asks how small the self-weight can be: try smaller ones.")
    print(f"✓ the latch works with self-weight {w_vv[0, 0]:.3g}: each bit held {hold} steps\n"
          f"  (the smallest possible is 2 artanh(0.5) = {2 * np.arctanh(0.5):.3f}, at theta = 0).")


def _hidden_latch(w_vv, w_vx, theta_v, hold):
    # the pulses at the times _HIDDEN["latch"] gives in units of hold, each held until the next
    pulses = {5 + int(a * hold) + b: kind for (a, b), kind in _HIDDEN["latch"]}
    times = sorted(pulses)
    T = times[-1] + hold
    x = np.zeros((T, 1, 2))
    for t, kind in pulses.items():
        x[t - 1, 0, 0 if kind == "set" else 1] = 1.0
    V = rnn.rnn_forward(x, w_vv, w_vx, theta_v)[0][:, 0, 0]
    for n, (t, end) in enumerate(zip(times, times[1:] + [T + 1])):
        kind, want = pulses[t], 1.0 if pulses[t] == "set" else -1.0
        held = V[t:end] * want
        if not np.all(held > 0.5):
            bad = t + int(np.argmax(held <= 0.5))
            previous = pulses[times[n - 1]] if n else None
            before = (f" on the step after a {previous} pulse" if n and t == times[n - 1] + 1
                      else f" while V = {V[t - 1]:+.3f} is stored" if n else "")
            _fail(f"in a hidden case, after the {kind} pulse at t={t}{before}, V({bad}) = "
                  f"{V[bad]:+.3f}: expected {'above +0.5' if want > 0 else 'below -0.5'} until "
                  f"t={end - 1}. " + ("The pulse does not move V far enough from every state "
                                      "the latch can be in: make the pulses stronger."
                                      if bad == t else "The stored bit leaks away."))
    if w_vv[0, 0] >= 2:
        _fail(f"the latch works, but with self-weight {w_vv[0, 0]:g}: the chapter's own latch uses "
              "2. The exercise asks how small the self-weight can be: try smaller ones.")
    print("✓ the latch passes the hidden cases: a pulse repeated while its bit is stored,\n"
          "  and the opposite pulse on the very next step.")


@_quiet_when_hidden
def check_gru_step(gru_step, *, hidden=False):
    """Exercise: ``gru_step(V_prev, x_t, params)`` computes one step of eqs. (9.30a-d), reset gate
    before the product (eq. 9.30c), g = tanh. Shapes: V_prev (B, N), x_t (B, K), params as in
    ``rnnbook.gru`` (w_zx, w_zv, theta_z, w_rx, w_rv, theta_r, w_hx, w_hv, theta_h) -> (B, N).

    A result that matches one of the two classic mistakes (the flipped update rule, the reset gate
    after the product) fails with a message that names the mistake. ``hidden=True`` runs the
    hidden cases of a graded test instead (``_HIDDEN``).
    """
    if flag_arg("hidden", hidden):
        return _hidden_gru_step(_function_arg("gru_step", gru_step))
    _function_arg("gru_step", gru_step)
    from . import gru
    B, N, K = 3, 4, 2
    params = gru.init_params(K, N, "before", seed=7, scale=1.0)
    rng = np.random.default_rng(8)
    x, v0 = rng.standard_normal((1, B, K)), rng.standard_normal((B, N))
    expected = gru.gru_forward(x, params, v0)[0][1]
    got = _call(gru_step, v0, x[0], {k: v.copy() for k, v in params.items()})
    _hint_gru_step(got, expected, v0, x[0], params)
    _compare("gru_step(...)", got, expected)
    print(f"✓ gru_step matches eqs. (9.30a-d) on a random batch (B={B}, N={N}, K={K}).")


def _hidden_gru_step(gru_step):
    from . import gru
    for seed, (B, N, K) in enumerate(_HIDDEN["gru_step"], start=3007):
        params = gru.init_params(K, N, "before", seed=seed, scale=1.5)
        rng = np.random.default_rng(seed)
        x, v0 = rng.standard_normal((1, B, K)), rng.standard_normal((B, N))
        expected = gru.gru_forward(x, params, v0)[0][1]
        got = _call(gru_step, v0.copy(), x[0].copy(), {k: v.copy() for k, v in params.items()})
        _hint_gru_step(got, expected, v0, x[0], params)
        _compare(f"gru_step(...) with B={B}, N={N}, K={K}", got, expected)
    print("✓ gru_step passes the hidden cases: one sequence of one unit (B = N = K = 1),\n"
          "  other sizes and other random numbers.")


def _hint_gru_step(got, expected, V, x, p):
    """Fail with a named hint if ``got`` is one of the classic wrong GRU steps."""
    got = _shaped_like(got, expected)
    if got is None:
        return
    from .activations import ACTIVATIONS
    sigmoid = ACTIVATIONS["sigmoid"].g
    z = sigmoid(x @ p["w_zx"].T + V @ p["w_zv"].T - p["theta_z"])
    r = sigmoid(x @ p["w_rx"].T + V @ p["w_rv"].T - p["theta_r"])
    a_h = x @ p["w_hx"].T - p["theta_h"]
    h_before, h_after = np.tanh(a_h + (r * V) @ p["w_hv"].T), np.tanh(a_h + r * (V @ p["w_hv"].T))
    flipped = ("the update rule is flipped: with eq. (9.30d) an update gate near 1 keeps the old "
               "state, V(t) = (1 - z) * h + z * V_prev, not z * h + (1 - z) * V_prev")
    after = ("the reset gate is applied after the product (torch.nn.GRU's placement): eq. (9.30c) "
             "resets the old state first, (r * V_prev) @ w_hv.T, not r * (V_prev @ w_hv.T)")
    hints = [(z * h_before + (1 - z) * V, flipped),
             ((1 - z) * h_after + z * V, after),
             (z * h_after + (1 - z) * V, f"two mistakes: {flipped}; and {after}")]
    for wrong, hint in hints:
        if np.allclose(got, wrong, atol=1e-10) and not np.allclose(wrong, expected, atol=1e-10):
            _fail(f"gru_step(...) does not match eqs. (9.30a-d): {hint}.")


# the gradients of one GRU step, in the order the chain rule reaches them: eq. (9.30d) gives da_h
# and da_z, eq. (9.30c) da_r, and dH/dV(t-1) collects every route last
_STEP_GRADIENTS = ("theta_h", "w_hx", "w_hv", "theta_z", "w_zx", "w_zv", "theta_r", "w_rx",
                   "w_rv", "V_prev")


@_quiet_when_hidden
def check_gru_step_backward(gru_step_backward, *, hidden=False):
    """Exercise: ``gru_step_backward(dV, cache)`` is the learning rule of one step of eqs.
    (9.30a-d), reset gate before the product, g = tanh. Shapes: dV = dH/dV(t) (B, N); ``cache``
    holds x_t (B, K), V_prev (B, N), the gates z, r and the candidate h of that step (B, N), and
    params as in ``rnnbook.gru`` -> a dict with dH/dV(t-1) (B, N) under "V_prev" and
    dH/d(parameter) under each parameter's name, shaped like the parameter.

    Compares with ``gru.gru_backward`` on one time step. Where every wrong gradient is what one
    known mistake, or two on different lines, would give, the message names the mistakes;
    otherwise it names the first wrong gradient and the index where it differs. ``hidden=True``
    runs the hidden cases of a graded test instead (``_HIDDEN``).
    """
    if flag_arg("hidden", hidden):
        _function_arg("gru_step_backward", gru_step_backward)
        for seed, (B, N, K) in enumerate(_HIDDEN["gru_step_backward"], start=3009):
            _step_backward_compare(gru_step_backward, *_step_backward_case(seed, B, N, K),
                                   f"gru_step_backward(...) with B={B}, N={N}, K={K}")
        print("✓ gru_step_backward passes the hidden cases: one sequence (B = 1),\n"
              "  other sizes and other random numbers.")
        return
    _function_arg("gru_step_backward", gru_step_backward)
    dV, cache, expected = _step_backward_case()
    _step_backward_compare(gru_step_backward, dV, cache, expected, "gru_step_backward(...)")
    (B, K), N = cache["x_t"].shape, cache["V_prev"].shape[1]
    print(f"✓ gru_step_backward matches the learning rule of eqs. (9.30a-d):\n"
          f"  all ten gradients agree with gru.gru_backward on a random batch\n"
          f"  (B={B}, N={N}, K={K}).")


def _step_backward_compare(gru_step_backward, dV, cache, expected, name):
    """Fail unless ``gru_step_backward`` gives the ``expected`` gradients for ``dV`` and
    ``cache``; ``name`` names the call in the message."""
    got = _call(gru_step_backward, dV.copy(), _copied(cache))
    if not isinstance(got, dict):
        _fail(f"{name}: expected a dict of gradients with the keys {list(_STEP_GRADIENTS)}, "
              f"got {type(got).__name__}")
    missing = [key for key in _STEP_GRADIENTS if key not in got]
    if missing:
        _fail(f"{name}: the gradients {missing} are missing (expected the keys "
              f"{list(_STEP_GRADIENTS)})")
    got = {key: _as_numbers(f'{name}["{key}"]', got[key]) for key in _STEP_GRADIENTS}
    _hint_gru_step_backward(got, expected, dV, cache)
    wrong = [key for key in _STEP_GRADIENTS if not _same(got[key], expected[key])]
    if wrong:               # the first in the order of the chain rule, the likeliest cause
        key, also = wrong[0], f" (also wrong: {', '.join(wrong[1:])})" if wrong[1:] else ""
        if got[key].ndim == 2 and _same(got[key].T, expected[key]):
            _fail(f'{name}["{key}"] is the transpose of the gradient: dH/d{key}[i, j] belongs '
                  f"where {key}[i, j] is, in an array of shape {expected[key].shape}{also}")
        try:
            _compare(f'{name}["{key}"]', got[key], expected[key])
        except SelfCheckFailed as failed:
            _fail(f"{failed}{also}")


def _step_backward_case(seed=9, B=3, N=4, K=2):
    """The exercise's data: dV (B, N), the cache of one step, and gru.gru_backward's gradients
    for that step, by the names of the exercise (the visible case by default)."""
    from . import gru
    params = gru.init_params(K, N, "before", seed=seed, scale=1.0)
    rng = np.random.default_rng(seed + 1)
    x, v0, dV = (rng.standard_normal(shape) for shape in ((1, B, K), (B, N), (B, N)))
    _, full = gru.gru_forward(x, params, v0)
    grads = gru.gru_backward(np.stack([np.zeros_like(dV), dV]), full)
    expected = {key: grads["v0" if key == "V_prev" else key] for key in _STEP_GRADIENTS}
    cache = {"x_t": x[0], "V_prev": v0, "z": full["z"][0], "r": full["r"][0], "h": full["h"][0],
             "params": params}
    return dV, cache, expected


def _copied(cache):
    """A copy of the exercise's cache, so that a student's function cannot change the check's."""
    return {k: {n: a.copy() for n, a in v.items()} if k == "params" else v.copy()
            for k, v in cache.items()}


def _same(got, want):
    # not np.allclose, ten times slower on these small arrays; NaN compares as different
    return got.shape == np.shape(want) and bool(np.max(np.abs(got - want)) <= 1e-10)


# the known mistakes, each with the lines of _step_backward that it gets wrong
_STEP_MISTAKES = (
    ("the shortcut term is missing: V_prev enters eq. (9.30d) directly, so dV_prev starts with "
     "dV * z", {"shortcut": "none"}),
    ("the update gate's term has the wrong sign: dV(t)/dz = V_prev - h, not h - V_prev",
     {"dz": "h - V"}),
    ("the update rule is flipped: in eq. (9.30d) z near 1 keeps the state, V(t) = (1 - z) * h "
     "+ z * V_prev, so the shortcut is dV * z, da_h has the factor (1 - z) and da_z the factor "
     "(V_prev - h)", {"shortcut": "1 - z", "mix": "z", "dz": "h - V"}),
    ("sigma'(a_z) is written as sigma(a_z): the logistic function's derivative is z * (1 - z)",
     {"sigma_z": "z"}),
    ("sigma'(a_r) is written as sigma(a_r): the logistic function's derivative is r * (1 - r)",
     {"sigma_r": "r"}),
    ("tanh'(a_h) is written as 1 - a_h**2: it is 1 - tanh(a_h)**2 = 1 - h**2", {"tanh": "field"}),
    ("tanh'(a_h) is written as 1 - tanh(h)**2: h is tanh(a_h) already, so tanh'(a_h) = 1 - h**2",
     {"tanh": "twice"}),
    ("the route through the candidate is missing from dV_prev: eq. (9.30c) contains r * V_prev, "
     "which adds (da_h @ w_hv) * r", {"candidate": "none"}),
    ("the factor r is missing on the route through the candidate: by the product rule, "
     "r * V_prev adds (da_h @ w_hv) * r to dV_prev", {"candidate": "no r"}),
    ("w_hv multiplies r * V_prev in eq. (9.30c): its gradient is da_h.T @ (r * V_prev), not "
     "da_h.T @ V_prev", {"w_hv": "V"}),
    ("the route through the reset gate is missing from dV_prev: r depends on V_prev (eq. 9.30b), "
     "so the product rule for r * V_prev adds da_r @ w_rv", {"reset_route": "none"}),
    ("the route through the update gate is missing from dV_prev: z depends on V_prev "
     "(eq. 9.30a), which adds da_z @ w_zv", {"update_route": "none"}),
    ("the reset gate is applied after the product (torch.nn.GRU's placement): eq. (9.30c) resets "
     "the old state first, so dH/d(r * V_prev) = da_h @ w_hv", {"placement": "after"}),
    ("the thresholds have the wrong sign: theta enters each local field with a minus, so "
     "d theta = -(sum of the local-field errors over the batch)", {"theta": "+"}),
    ("the thresholds' gradients are not summed over the batch: H sums over the sequences, so "
     "d theta = -da.sum(axis=0), of shape (N,)", {"batch": "no sum"}),
    ("the gradients are averaged over the batch: H sums over the sequences, so each parameter's "
     "gradient is the sum, as da.T @ x_t gives it", {"batch": "mean"}),
)


# the slips of _STEP_MISTAKES that change single gradients, not an error that others depend on
_LOCAL_SLIPS = {"theta", "batch", "w_hv"}


def _step_backward(dV, c, slips):
    """The learning rule of one GRU step as the exercise asks for it, with the ``slips`` of
    _STEP_MISTAKES ({} for none): dV (B, N) and the exercise's cache -> its dict of gradients."""
    x, V, z, r, h, p = (c[k] for k in ("x_t", "V_prev", "z", "r", "h", "params"))
    a_h = x @ p["w_hx"].T + (r * V) @ p["w_hv"].T - p["theta_h"]
    g_prime = {"field": 1 - a_h ** 2, "twice": 1 - np.tanh(h) ** 2}.get(slips.get("tanh"),
                                                                         1 - h ** 2)
    # (9.30d): V(t) = (1 - z) h + z V_prev, with sigma'(a_z) = z (1 - z)
    da_h = dV * (z if "mix" in slips else 1 - z) * g_prime
    da_z = dV * (h - V if "dz" in slips else V - h) * (z if "sigma_z" in slips else z * (1 - z))
    shortcut = {"none": 0, "1 - z": 1 - z}.get(slips.get("shortcut"), z)
    # (9.30c): a_h = ... + w_hv (r * V_prev), or ... + r * (w_hv V_prev) placed "after"
    after, d_rV = slips.get("placement") == "after", da_h @ p["w_hv"]
    sigma_r = r if "sigma_r" in slips else r * (1 - r)
    da_r = (da_h * (V @ p["w_hv"].T) if after else d_rV * V) * sigma_r          # (9.30b)
    r_w = 1 if "w_hv" in slips else r       # the factor r in w_hv's gradient ...
    r_V = 1 if slips.get("candidate") == "no r" else r      # ... and on the route to V_prev
    dw_hv = (da_h * r_w).T @ V if after else da_h.T @ (r_w * V)
    via_h = (da_h * r_V) @ p["w_hv"] if after else d_rV * r_V
    dV_prev = dV * shortcut + (0 if slips.get("candidate") == "none" else via_h)
    dV_prev = dV_prev + (0 if "reset_route" in slips else da_r @ p["w_rv"])    # (9.30b)
    dV_prev = dV_prev + (0 if "update_route" in slips else da_z @ p["w_zv"])   # (9.30a)
    grads = {"V_prev": dV_prev, "w_hv": dw_hv, "w_zv": da_z.T @ V, "w_rv": da_r.T @ V}
    batch = slips.get("batch")
    for q, da in (("z", da_z), ("r", da_r), ("h", da_h)):
        grads[f"w_{q}x"] = da.T @ x
        grads[f"theta_{q}"] = (1 if "theta" in slips else -1) * (
            da if batch == "no sum" else da.sum(axis=0))
    for key in _STEP_GRADIENTS[:-1] if batch == "mean" else ():
        grads[key] = grads[key] / len(dV)
    return grads


def _step_mistakes():
    """(hints, slips) of every known mistake, then of every two on different lines."""
    singles = [((hint,), slips) for hint, slips in _STEP_MISTAKES]
    pairs = [((a, b), {**sa, **sb}) for i, (a, sa) in enumerate(_STEP_MISTAKES)
             for b, sb in _STEP_MISTAKES[i + 1:] if not set(sa) & set(sb)]
    return singles + pairs


def _hint_gru_step_backward(got, expected, dV, cache):
    """Fail with the names of the mistakes if every gradient in ``got`` is either right or what
    one known mistake, or two on different lines of the learning rule, would give: a student who
    makes a mistake in one gate only (a threshold's sign, say) is told too, and where."""
    wrong = [key for key in _STEP_GRADIENTS if not _same(got[key], expected[key])]
    if not wrong:
        return
    # a mistake that explains every wrong gradient and no more comes first; one that would also
    # change gradients the student got right counts only if it acts on single gradients (a
    # threshold's sign, a sum): a wrong error upstream (da_z, ...) would have spoiled the others
    found = []
    for hints, slips in _step_mistakes():
        mistaken = _step_backward(dV, cache, slips)
        if all(_same(got[key], mistaken[key]) for key in wrong):
            partly = any(not _same(mistaken[key], expected[key])
                         for key in _STEP_GRADIENTS if key not in wrong)
            if not partly or set(slips) <= _LOCAL_SLIPS:
                found.append((partly, hints))
    if found:
        partly, hints = min(found, key=lambda item: item[0])
        told = hints[0] if len(hints) == 1 else f"two mistakes: {hints[0]}; and {hints[1]}"
        where = f" (in {', '.join(wrong)})" if partly else ""
        _fail(f"gru_step_backward(...) does not match the learning rule of eqs. (9.30a-d): "
              f"{told}{where}.")

@_quiet_when_hidden
def check_bptt_step(bptt_step, *, hidden=False):
    """Exercise: ``bptt_step(Delta_next, e_t, b_t, w_vv)`` computes one step of BPTT, eq. (2.10),
    Delta_i(t) = g'(b_i(t)) [e_i(t) + sum_j Delta_j(t+1) w_ji], with g = tanh. Shapes: Delta_next
    = Delta(t+1), e_t = -dH/dV(t) through the outputs, b_t = b(t), all (B, N); w_vv (N, N) -> (B, N).

    Checks one step against ``rnnbook.bptt``, then runs the student's step backwards through a whole
    sequence and compares the gradients it gives with finite differences. ``hidden=True`` runs
    the hidden cases of a graded test instead (``_HIDDEN``).
    """
    if flag_arg("hidden", hidden):
        _function_arg("bptt_step", bptt_step)
        for seed, sizes in enumerate(_HIDDEN["bptt_step"], start=3027):
            where = " with T={}, B={}, N={}, K={}, M={}".format(*sizes)
            _bptt_step_case(bptt_step, seed, *sizes, where)
        print("✓ bptt_step passes the hidden cases: one time step of one unit\n"
              "  (T = B = N = 1), other sizes and other random numbers.")
        return
    _function_arg("bptt_step", bptt_step)
    T, B, N = _bptt_step_case(bptt_step, 2027, 5, 2, 3, 2, 2, "")
    print(f"✓ bptt_step matches eq. (2.10) on a random batch (B={B}, N={N}),\n"
          f"  and run backwards over T={T} steps it gives gradients that agree with\n"
          "  finite differences.")


def _bptt_step_case(bptt_step, seed, T, B, N, K, M, where):
    """Check one step of ``bptt_step``, then the gradients of a whole backward pass made of it, on
    a random network of these sizes; ``where`` follows the call's name in a message."""
    from . import bptt, gradcheck
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((T, B, K)), rng.standard_normal((T, B, M))
    p = dict(w_vv=rng.standard_normal((N, N)), w_vx=rng.standard_normal((N, K)), theta_v=rng.standard_normal(N),
             w_ov=rng.standard_normal((M, N)), theta_o=rng.standard_normal(M), v0=rng.standard_normal((B, N)))
    V, cache = rnn.rnn_forward(x, p["w_vv"], p["w_vx"], p["theta_v"], v0=p["v0"])
    O, out_cache = rnn.output_forward(V, p["w_ov"], p["theta_o"])
    dV, _ = bptt.output_backward(bptt.energy(O, y)[1], out_cache)
    b, e = cache["b"], -dV[1:]
    Delta, _ = bptt.bptt_errors(dV, 1 - V[1:] ** 2, p["w_vv"])
    # one step in the middle of the sequence, where both terms of eq. (2.10) matter (the last
    # step, with Delta(T+1) = 0, where the sequence is too short to have a middle)
    s = min(1, T - 1)
    after = Delta[s + 1] if s + 1 < T else np.zeros((B, N))
    got = _call(bptt_step, after.copy(), e[s].copy(), b[s].copy(), p["w_vv"].copy())
    g_prime = 1 - np.tanh(b[s]) ** 2
    hints = [(g_prime * (e[s] + after @ p["w_vv"].T),
              "the error travels backwards along w_ji (from unit j at t+1 to unit i at t): "
              "multiply by w_vv itself, Delta_next @ w_vv, not by its transpose"),
             (e[s] + after @ p["w_vv"], "the factor g'(b_i(t)) = 1 - tanh(b_i(t))^2 is missing"),
             (g_prime * (-e[s] + after @ p["w_vv"]), "check the sign of e_t")]
    got_arr = _shaped_like(got, Delta[s])
    if got_arr is not None:
        for wrong, hint in hints:
            if (np.allclose(got_arr, wrong, atol=1e-10)
                    and not np.allclose(wrong, Delta[s], atol=1e-10)):
                _fail(f"bptt_step(...){where} does not match eq. (2.10): {hint}.")
    _compare(f"bptt_step(...){where}", got, Delta[s])
    # the whole backward pass built from the student's step, against finite differences
    mine = np.zeros_like(Delta)
    Delta_next = np.zeros((B, N))
    for t in range(T, 0, -1):
        Delta_next = mine[t - 1] = np.asarray(_call(bptt_step, Delta_next, e[t - 1], b[t - 1], p["w_vv"]), dtype=float)
    grads = bptt.weight_gradients(mine, V, x)
    errors = gradcheck.gradient_check(lambda q: bptt.gradients(x, y, q)[0], p, grads)
    for name, err in errors.items():
        if not err < 1e-6:
            _fail(f"one step is right{where}, but the gradient of H with respect to {name} built "
                  f"from your Delta differs from finite differences (relative error {err:.1e}, "
                  "tolerance 1e-06): perhaps bptt_step changes its arguments in place?")
    return T, B, N


@_quiet_when_hidden
def check_backprop_states(backprop_states, *, hidden=False):
    """Exercise (Chapter 3): ``backprop_states(w_vv, g_prime, dV_T)`` carries the gradient of a loss
    on V(T) back to every state by eq. (3.4), dL/dV(s-1) = w^T [g'(b(s)) * dL/dV(s)]. Shapes:
    w_vv (N, N), g_prime (T, B, N) with g_prime[t-1] = g'(b(t)), dV_T (B, N) -> (T+1, B, N).

    ``hidden=True`` runs the hidden cases of a graded test instead (``_HIDDEN``)."""
    hidden = flag_arg("hidden", hidden)
    _function_arg("backprop_states", backprop_states)
    from . import diagnostics
    rng = np.random.default_rng(3028 if hidden else 2028)
    for T, B, N in _HIDDEN["backprop_states"] if hidden else ((6, 3, 4), (1, 1, 1)):
        x, v0 = rng.standard_normal((T, B, 2)), rng.standard_normal((B, N))
        w_vv, w_vx, theta_v = rng.standard_normal((N, N)), rng.standard_normal((N, 2)), rng.standard_normal(N)
        _, cache = rnn.rnn_forward(x, w_vv, w_vx, theta_v, v0=v0)
        g_prime, dV_T = 1 - np.tanh(cache["b"]) ** 2, rng.standard_normal((B, N))
        expected = diagnostics.state_gradients(cache, dV_T)
        got = _call(backprop_states, w_vv.copy(), g_prime.copy(), dV_T.copy())
        _hint_backprop_states(got, expected, w_vv, g_prime, dV_T)
        _compare(f"backprop_states(...) with T={T}, B={B}, N={N}", got, expected)
    if hidden:
        print("✓ backprop_states passes the hidden cases: other lengths, sizes and\n"
              "  random numbers, with one sequence (B = 1) and one unit (N = 1).")
        return
    print("✓ backprop_states matches eq. (3.4) for every s = 0..T (T = 6 and T = 1).")


def _hint_backprop_states(got, expected, w_vv, g_prime, dV_T):
    got = _shaped_like(got, expected)
    if got is None:
        return
    T = g_prime.shape[0]
    wrong = {"reversed": expected[::-1], "no_g": np.empty_like(expected), "w": np.empty_like(expected)}
    for key in ("no_g", "w"):
        wrong[key][-1] = dV_T
    for s in range(T, 0, -1):
        wrong["no_g"][s - 1] = wrong["no_g"][s] @ w_vv
        wrong["w"][s - 1] = (g_prime[s - 1] * wrong["w"][s]) @ w_vv.T
    hints = {"reversed": "row s must hold dL/dV(s), with dV_T in the last row (index T), not the first",
             "no_g": "the factor g'(b(s)) is missing: V(s) = g(b(s)), so the chain rule passes through g'",
             "w": "the gradient travels backwards through the transpose: (g_prime[s-1] * dV[s]) @ w_vv "
                  "is w^T applied to each row, while @ w_vv.T applies w itself"}
    for key, hint in hints.items():
        if np.allclose(got, wrong[key], atol=1e-10) and not np.allclose(wrong[key], expected, atol=1e-10):
            _fail(f"backprop_states(...) does not match eq. (3.4): {hint}.")


@_quiet_when_hidden
def check_clip_by_norm(clip_by_norm, *, hidden=False):
    """Exercise (Chapter 3): ``clip_by_norm(grads, max_norm)`` rescales a list of gradient arrays so
    that their joint norm is at most ``max_norm``, eq. (3.8), and returns the new list.

    ``hidden=True`` runs the hidden cases of a graded test instead (``_HIDDEN``): gradients that
    are all zero, a single array, arrays of three axes and of none, a norm exactly at the
    threshold, a whole-number threshold."""
    if flag_arg("hidden", hidden):
        _function_arg("clip_by_norm", clip_by_norm)
        rng = np.random.default_rng(3029)
        for case, (shapes, factors) in _HIDDEN["clip_by_norm"].items():
            grads = [rng.standard_normal(shape) for shape in shapes]
            if case == "all gradients zero":
                grads = [np.zeros_like(g) for g in grads]
            total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
            norms = [f if isinstance(f, int) else f * total for f in factors]
            _clip_case(clip_by_norm, grads, norms, f" (a hidden case: {case})")
        print("✓ clip_by_norm passes the hidden cases: gradients that are all zero, one array,\n"
              "  arrays of three axes and of none, a norm exactly at the threshold.")
        return
    _function_arg("clip_by_norm", clip_by_norm)
    rng = np.random.default_rng(2029)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((2, 2))]
    total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    _clip_case(clip_by_norm, grads, (0.1 * total, 10.0 * total), "")
    print("✓ clip_by_norm follows eq. (3.8), above and below the threshold.")


def _clip_case(clip_by_norm, grads, max_norms, where):
    """Fail unless ``clip_by_norm`` clips ``grads`` by eq. (3.8) at each of ``max_norms``;
    ``where`` ends the message that names a wrong array."""
    total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    for max_norm in max_norms:
        copies = [g.copy() for g in grads]
        got = _call(clip_by_norm, copies, max_norm)
        if any(not np.array_equal(c, g) for c, g in zip(copies, grads)):
            _fail("clip_by_norm changed the arrays it was given: return rescaled copies instead")
        if not isinstance(got, (list, tuple)) or len(got) != len(grads):
            _fail(f"expected a list of {len(grads)} arrays, one per gradient, got {type(got).__name__}")
        scale = min(1.0, max_norm / total) if total > 0 else 1.0       # eq. (3.8)
        got = [_as_numbers(f"clip_by_norm(...)[{i}]", a) for i, a in enumerate(got)]
        if scale < 1 and len(grads) > 1:     # one array is clipped on its own by eq. (3.8)
            per_array = [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]
            if all(a.shape == p.shape and np.allclose(a, p) for a, p in zip(got, per_array)):
                _fail("each array was clipped on its own: eq. (3.8) uses the norm of all gradients "
                      "together, so that the direction of the whole update is kept")
        for i, (a, g) in enumerate(zip(got, grads)):
            _compare(f"clip_by_norm(...)[{i}] with max_norm = {max_norm:.3g} "
                     f"({'above' if scale < 1 else 'below'} the threshold){where}", a, scale * g)


@_quiet_when_hidden
def check_wilson_interval(wilson_interval, *, hidden=False):
    """Exercise (Chapter 5): ``wilson_interval(k, n, z=1.96)`` returns Wilson's score interval
    (low, high) for a success probability after k successes in n trials.

    ``hidden=True`` runs the hidden cases of a graded test instead (``_HIDDEN``): many trials,
    counts given as numpy integers, other values of z."""
    hidden = flag_arg("hidden", hidden)
    _function_arg("wilson_interval", wilson_interval)
    from . import horizon    # numpy-only at import; the module trains networks only when asked
    for k, n, z in _HIDDEN["wilson_interval"] if hidden else (
            (3, 3, 1.96), (0, 3, 1.96), (2, 3, 1.96), (1, 1, 1.96), (7, 20, 1.96), (7, 20, 1.0),
            (0, 1, 2.5)):
        got = _call(wilson_interval, k, n) if z == 1.96 else _call(wilson_interval, k, n, z)
        try:
            low, high = (float(v) for v in got)
        except (TypeError, ValueError):
            _fail(f"wilson_interval({k}, {n}): expected a pair (low, high), got {got!r}")
        want = horizon.wilson_interval(k, n, z)
        if not max(abs(low - want[0]), abs(high - want[1])) <= 1e-9:     # NaN fails too
            p = k / n
            wald = (p - z * np.sqrt(p * (1 - p) / n), p + z * np.sqrt(p * (1 - p) / n))
            hint = (": that is the normal approximation k/n -+ z sqrt(p (1 - p) / n), which collapses "
                    "to a point at k = 0 and k = n" if np.allclose((low, high), wald) else "")
            _fail(f"wilson_interval({k}, {n}, z={z}): expected ({want[0]:.4f}, {want[1]:.4f}), "
                  f"got ({low:.4f}, {high:.4f}){hint}")
    if hidden:
        print("✓ wilson_interval passes the hidden cases: many trials, counts given as\n"
              "  numpy integers, other values of z.")
        return
    print("✓ wilson_interval gives Wilson's score interval at k = 0, k = n and between.")


@_quiet_when_hidden
def check_cross_entropy_backward(cross_entropy_backward, *, hidden=False):
    """Exercise (Chapter 6): ``cross_entropy_backward(O, y_ids)`` is dH/dO for the cross-entropy
    energy H = -(1/(T B)) sum_t sum_n ln p_y(t)(t) of a softmax readout, eq. (6.3). Shapes: O
    (T, B, K) logits, y_ids (T, B) the next characters -> dH/dO (T, B, K).

    Compares with ``charlm.cross_entropy_backward`` twice: on random logits, then on the same
    logits with one position shifted by +800 and another by -800, which leaves p as it was but
    overflows a softmax that does not subtract each position's largest logit. A result that a
    known mistake gives (``_SOFTMAX_MISTAKES``) is named. ``hidden=True`` runs the hidden cases
    of a graded test instead: other sizes, one position among them (``_HIDDEN``).
    """
    if flag_arg("hidden", hidden):
        _function_arg("cross_entropy_backward", cross_entropy_backward)
        for seed, (T, B, K) in enumerate(_HIDDEN["cross_entropy_backward"], start=3030):
            _cross_entropy_case(cross_entropy_backward, seed, T, B, K)
        print("✓ cross_entropy_backward passes the hidden cases: one position\n"
              "  (T = B = 1), other sizes and other random logits, shifted too.")
        return
    _function_arg("cross_entropy_backward", cross_entropy_backward)
    T, B, K = 3, 2, 5
    _cross_entropy_case(cross_entropy_backward, 2030, T, B, K)
    print(f"✓ cross_entropy_backward gives dH/dO = (p - y) / (T B), eq. (6.4),\n"
          f"  on random logits (T={T}, B={B}, K={K}), and stays finite\n"
          f"  when a position's logits are shifted by +800 or -800.")


def _cross_entropy_case(cross_entropy_backward, seed, T, B, K):
    """Check ``cross_entropy_backward`` on random logits of these sizes, then on the same logits
    with the position (0, B-1) shifted by +800 and (T-1, 0), if another, by -800."""
    from . import charlm, text
    rng = np.random.default_rng(seed)
    O = 2.0 * rng.standard_normal((T, B, K))
    y = rng.integers(0, K, size=(T, B))
    shifted = O.copy()
    shifted[0, B - 1] += 800.0      # exp(800 + ...) overflows float64 to inf
    if (T - 1, 0) != (0, B - 1):
        shifted[T - 1, 0] -= 800.0  # exp(-800 + ...) underflows to 0, and 0 / 0 is NaN
    name = "cross_entropy_backward(O, y_ids)"
    sizes = (f"(the self-check calls your function with T = {T}, B = {B}, K = {K}: take the "
             "sizes from O.shape)")
    shift = ("one position shifted by +800 and another by -800" if T * B > 1
             else "the one position shifted by +800")
    for logits, where in ((O, ""), (shifted, f" on logits with {shift}")):
        want = charlm.cross_entropy_backward(charlm.cross_entropy_forward(logits, y)[1])
        with np.errstate(all="ignore"):     # an overflow is a mistake to name, not to warn of
            got = _as_numbers(name, _call_telling(cross_entropy_backward, sizes,
                                                  logits.copy(), y.copy()))
            if got.shape != want.shape:
                _fail(f"{name}: expected shape {want.shape}, got {got.shape} {sizes}")
            c = SimpleNamespace(O=logits, y=y, p=text.softmax(logits), T=T, B=B, K=K,
                                e=text.one_hot(y, K, dtype=np.float64))
            for hint, mistake in _SOFTMAX_MISTAKES:
                wrong = mistake(c)
                if _matches(got, wrong) and not _matches(wrong, want):
                    _fail(f"{name}{where} does not match eq. (6.4): {hint}.")
        if where and not np.all(np.isfinite(got)):  # the first call passed: the shift did this
            _fail(f"{name}{where}: exp overflowed (inf/NaN): subtract each position's largest "
                  "logit, O.max(axis=-1, keepdims=True), before exponentiating.")
        _compare(name + where, got, want)


def _call_telling(fn, told, *args):
    """``_call``, with ``told`` at the end of the message when ``fn`` raised (a stub aside)."""
    try:
        return _call(fn, *args)
    except SelfCheckFailed as failed:
        # _call raises inside its except clause: the context is the student's own exception
        if isinstance(failed.__context__, NotImplementedError):
            raise
        _fail(f"{str(failed).rstrip()} {told}")


def _matches(got, wrong):
    # NaN and inf where the mistake has them count as agreement: they are what it gives
    return bool(np.allclose(got, wrong, rtol=0.0, atol=1e-10, equal_nan=True))


def _softmax_shifted(O, shift, axis=-1):
    """exp(O - shift) normalised along ``axis``: a softmax, made right or wrong by the two."""
    e = np.exp(O - shift)
    return e / e.sum(axis=axis, keepdims=True)


def _minus_one_at_every_target(p, y_ids):
    """What ``p[..., y_ids] -= 1`` (or ``p[:, :, y_ids] -= 1``) gives. The index, of shape (T, B),
    selects along the last axis in every position, so every position loses 1 at each character
    that is some position's target; numpy writes the buffered result back, so a target that
    repeats counts once: p - isin(arange(K), y_ids)."""
    p = p.copy()
    p[..., y_ids] -= 1
    return p


_WRONG_AXIS = ("the softmax is taken along axis {} ({}): each position's probabilities over the "
               "K characters sum to 1, so normalise along the last axis, axis=-1")

# Exercise ex-ch6-softmax's known mistakes: each hint with the dH/dO that the mistake gives from
# c.O (T, B, K) and c.y (T, B), with the right probabilities c.p, the one-hot targets c.e and the
# sizes c.T, c.B, c.K. A mistake that gives the right answer on one of the calls is not named there.
_SOFTMAX_MISTAKES = (
    ("the softmax is missing: O - y is the rule of the quadratic energy with a linear readout; "
     "for the cross-entropy of a softmax it becomes p - y, with p = softmax(O)",
     lambda c: (c.O - c.e) / (c.T * c.B)),
    ("the sign is flipped: dH/dO = (p - y) / (T B), the probability minus the target",
     lambda c: (c.e - c.p) / (c.T * c.B)),
    ("the mean over the T B positions is missing: H averages -ln p over every (t, n), so each "
     "position's gradient carries the factor 1 / (T B)", lambda c: c.p - c.e),
    ("divided by T only: H is the mean over all T B positions, so divide by T * B",
     lambda c: (c.p - c.e) / c.T),
    ("divided by B only: H is the mean over all T B positions, so divide by T * B",
     lambda c: (c.p - c.e) / c.B),
    ("divided by T * B * K, a mean over every entry of O: H is the mean over the T B positions "
     "of -ln p at the target, so divide by T * B",
     lambda c: (c.p - c.e) / (c.T * c.B * c.K)),
    (_WRONG_AXIS.format(0, "time"),
     lambda c: (_softmax_shifted(c.O, c.O.max(axis=0, keepdims=True), axis=0) - c.e)
     / (c.T * c.B)),
    (_WRONG_AXIS.format(1, "the sequences of the batch"),
     lambda c: (_softmax_shifted(c.O, c.O.max(axis=1, keepdims=True), axis=1) - c.e)
     / (c.T * c.B)),
    ("p[..., y_ids] -= 1 (or p[:, :, y_ids] -= 1) subtracts 1 in every position at every "
     "character that is some position's target: index one target per position, "
     "p[np.arange(T)[:, None], np.arange(B), y_ids] -= 1",
     lambda c: _minus_one_at_every_target(c.p, c.y) / (c.T * c.B)),
    ("subtracted one global maximum O.max(): the other positions' logits lie about 800 below "
     "it, their exps underflow to 0 and p = 0 / 0 = NaN; subtract each position's own largest "
     "logit, O.max(axis=-1, keepdims=True)",
     lambda c: (_softmax_shifted(c.O, c.O.max()) - c.e) / (c.T * c.B)),
)


def _bigram_counts(ids, K, alpha):
    """alpha plus the number of times character v follows character u in ``ids``, at [u, v]."""
    counts = np.full((K, K), float(alpha))
    np.add.at(counts, (ids[:-1], ids[1:]), 1.0)     # a pair that repeats counts every time
    return counts


def _rows(counts):
    """P(v | u): each row of ``counts`` divided by its sum."""
    return counts / counts.sum(axis=1, keepdims=True)


def _nats(P, u, v):
    """The mean of -ln P[u, v] over the pairs (u[i], v[i]): nats per character."""
    return float(-np.log(P[u, v]).mean())


def _bigram_cross_entropy(train_ids, val_ids, K, alpha):
    """The exercise's answer: add-alpha bigram counts of the training text, scored on the
    validation text, in nats per character (the first character is not predicted)."""
    counts = _bigram_counts(train_ids, K, alpha)
    return _nats(_rows(counts), val_ids[:-1], val_ids[1:])


@_quiet_when_hidden
def check_bigram_cross_entropy(bigram_cross_entropy, *, hidden=False):
    """Exercise (Chapter 6): ``bigram_cross_entropy(train_ids, val_ids, K, alpha)`` counts the
    pairs (u, v) of neighbouring characters of the training ids, the current u and the next v,
    adds ``alpha`` to every count, and returns the mean of -ln P(v | u) over the neighbouring
    pairs of the validation ids (nats). A result that a known mistake gives
    (``_BIGRAM_MISTAKES``) is named. ``hidden=True`` runs the hidden cases of a graded test
    instead (``_HIDDEN``): characters that neither text uses, one validation pair, a large
    alpha."""
    if flag_arg("hidden", hidden):
        _function_arg("bigram_cross_entropy", bigram_cross_entropy)
        rng = np.random.default_rng(3031)
        for case, (K, used, n_train, n_val, alpha) in _HIDDEN["bigram_cross_entropy"].items():
            # texts of the first `used` characters, as the visible ones: after u, mostly u + 1
            train, val = (np.cumsum(rng.integers(0, 3, size=n) == 0) % used
                          for n in (n_train, n_val))
            _bigram_case(bigram_cross_entropy, train, val, K, (alpha,), f" (a hidden case: {case})")
        print("✓ bigram_cross_entropy passes the hidden cases: characters that neither text\n"
              "  uses, one validation pair, a large alpha.")
        return
    _function_arg("bigram_cross_entropy", bigram_cross_entropy)
    rng = np.random.default_rng(2031)
    K = 6
    # a text with structure: after u, mostly u + 1. Character 5 never occurs in training but
    # ends the validation text, after a 4, so that smoothing matters; and the validation text
    # starts with a common character, whose row sum is large, and ends with 5, whose row holds
    # alpha alone: counts / counts.sum(axis=1), without keepdims, moves the score by
    # (ln rowsum(last) - ln rowsum(first)) / pairs, nothing on a text that starts and ends alike
    train = np.cumsum(rng.integers(0, 3, size=400) == 0) % 5
    val = np.concatenate([np.cumsum(rng.integers(0, 3, size=120) == 0) % 5, [4, 5]])
    _bigram_case(bigram_cross_entropy, train, val, K, (1.0, 0.1), "")
    print("✓ bigram_cross_entropy scores add-alpha bigram counts in nats per character,\n"
          "  for alpha = 1 and alpha = 0.1.")


def _bigram_case(bigram_cross_entropy, train, val, K, alphas, where):
    """Fail unless ``bigram_cross_entropy`` scores these ids right at each of ``alphas``;
    ``where`` follows "with alpha = ..." in a message."""
    name = "bigram_cross_entropy(train_ids, val_ids, K, alpha)"
    for alpha in alphas:
        want = _bigram_cross_entropy(train, val, K, alpha)
        got = _as_numbers(name, _call(bigram_cross_entropy, train.copy(), val.copy(), K, alpha))
        if got.shape != ():
            _fail(f"{name}: expected one number (nats per character), got shape {got.shape}")
        got = float(got)
        if not np.isfinite(got):
            _fail(f"{name} with alpha = {alpha}{where}: got {got}; a pair never seen in training "
                  f"has probability 0 unless alpha is added to every count")
        counts = _bigram_counts(train, K, alpha)
        c = SimpleNamespace(train=train, val=val, K=K, alpha=alpha, want=want, counts=counts,
                            P=_rows(counts), u=val[:-1], v=val[1:])
        for hint, mistake in _BIGRAM_MISTAKES:
            wrong = mistake(c)
            if abs(got - wrong) <= 1e-9 and abs(wrong - want) > 1e-6:
                _fail(f"{name} with alpha = {alpha}{where}: {hint}.")
        if abs(got - want) > 1e-9:
            _fail(f"{name} with alpha = {alpha}{where}: expected {want:.6f} nats per character, "
                  f"got {got:.6f}")


def _counted_once(ids, K, alpha):
    """The counts that ``counts[u, v] += 1`` with arrays of indices gives: numpy writes the
    buffered result back, so a pair that repeats is counted once."""
    counts = np.full((K, K), float(alpha))
    counts[ids[:-1], ids[1:]] += 1
    return counts


# Exercise ex-ch6-bigram's known mistakes: each hint with the score that the mistake gives from
# the ids c.train and c.val, c.K and c.alpha, the right score c.want, the right c.counts and
# c.P = P(v | u) (K, K), and the validation pairs c.u, c.v. A mistake that gives the right score
# at one alpha is not named there.
_BIGRAM_MISTAKES = (
    ("that is in bits, not nats: use the natural logarithm (bits = nats / ln 2)",
     lambda c: c.want / np.log(2)),
    ("the counts are normalised along the wrong axis: P(v | u) divides the row of the current "
     "character u by its sum, counts / counts.sum(axis=1, keepdims=True)",
     lambda c: _nats(c.counts / c.counts.sum(axis=0), c.u, c.v)),
    ("counts.sum(axis=1) has shape (K,) and divides column v by the row sum of v: use "
     "keepdims=True", lambda c: _nats(c.counts / c.counts.sum(axis=1), c.u, c.v)),
    ("counts / counts.sum() is the joint probability P(u, v) of a pair, not P(v | u): divide "
     "each row by its own sum, counts.sum(axis=1, keepdims=True)",
     lambda c: _nats(c.counts / c.counts.sum(), c.u, c.v)),
    ("counts[u, v] += 1 with arrays of indices counts a pair that repeats once, not every "
     "time: use np.add.at(counts, (u, v), 1)",
     lambda c: _nats(_rows(_counted_once(c.train, c.K, c.alpha)), c.u, c.v)),
    ("the pairs are counted in the validation text: the model may only learn from the "
     "training ids, and is scored on the validation ids",
     lambda c: _bigram_cross_entropy(c.val, c.val, c.K, c.alpha)),
    ("the pairs are read the wrong way round: the row is the current character u, the column "
     "the next v", lambda c: _nats(c.P, c.v, c.u)),
    ("that is the score for alpha = 1: alpha is an argument, add it (not 1) to every count",
     lambda c: _bigram_cross_entropy(c.train, c.val, c.K, 1.0)),
    ("divided by len(val_ids): n characters hold n - 1 neighbouring pairs, and the mean is "
     "over the pairs", lambda c: c.want * len(c.u) / len(c.val)),
)


# --- Chapter 7: the linear recurrence V(t) = a(t) V(t-1) + b(t), elementwise ----------------

def _linear_loop(a, b, v0):
    """V(t) = a(t) V(t-1) + b(t) from V(0) = v0, one step at a time: the truth of Chapter 7's
    checks. Shapes: a, b (T, ...), v0 (...) -> V (T+1, ...), float64."""
    V = np.empty((len(a) + 1, *np.shape(v0)))
    V[0] = v0
    for t in range(len(a)):                 # a[t] is a(t+1), V[t + 1] is V(t+1)
        V[t + 1] = a[t] * V[t] + b[t]
    return V


def _pair(name, got):
    """The two parts of ``got``, which should be a pair (a, b): any sequence of two arrays."""
    if got is None:
        _fail(f"{name} is None: not set yet, or a function without a return?")
    try:
        first, second = got
    except (TypeError, ValueError):         # not iterable, or not two things
        try:
            what = f"{type(got).__name__} of length {len(got)}"
        except TypeError:
            what = type(got).__name__
        _fail(f"{name}: expected a pair (a, b) of arrays, got {what}")
    return first, second


def _near(got, wrong, rtol=1e-9):
    # relative: the known mistakes' values span orders of magnitude (exp(-s) up to 1e13)
    return bool(np.allclose(got, wrong, rtol=rtol, atol=1e-12))


def _compare_relative(name, got, expected, rtol):
    """``_compare`` with a tolerance relative to each expected value."""
    got = _as_numbers(name, got)
    if got.shape != expected.shape:
        _fail(f"{name}: expected shape {expected.shape}, got {got.shape}")
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: NaN, reported as such
        err = np.abs(got - expected)
        # an expected 0 (sigma(-s) at s = 800) wants 0, or a subnormal number: 1e-300
        excess = err / (rtol * np.abs(expected) + 1e-300)
    if not np.all(excess <= 1):             # also catches NaN
        idx = np.unravel_index(np.nanargmax(np.where(np.isnan(excess), np.inf, excess)),
                               err.shape)
        _fail(f"{name}: at index {tuple(int(i) for i in idx)} expected {expected[idx]:.6g}, "
              f"got {got[idx]:.6g} (difference {err[idx]:.2e}, relative tolerance {rtol:.0e})")


# Exercise ex-ch7-combine's known mistakes in the b-part: each hint with the b-part that the
# mistake gives from the pairs (a1, b1), the earlier step, and (a2, b2)
_COMBINE_MISTAKES = (
    ("the b-part is a1 * b2 + b1: that applies `second` first. `first` is the earlier step, so "
     "the result is V -> a2 (a1 V + b1) + b2, whose b-part is a2 * b1 + b2",
     lambda a1, b1, a2, b2: a1 * b2 + b1),
    ("the b-part is a2 * b1: b2 is forgotten. After `first`, `second` multiplies by a2 and then "
     "adds b2: a2 * b1 + b2", lambda a1, b1, a2, b2: a2 * b1),
    ("the b-part is b1 + b2: the factor a2 is forgotten. `second` multiplies all it is given by "
     "a2, b1 included: a2 * b1 + b2", lambda a1, b1, a2, b2: b1 + b2),
)


# Chapter 7's hidden cases (see _HIDDEN above). An answer that fits the visible case only: a shape
# typed in (the visible arrays are (3, 4); N = 3 in both of log_space_scan's cases), a squeeze, a
# division by a gate or by v0 (the visible ones are never 0), a gate saturated beyond the visible
# grid (|s| <= 30, then |s| >= 800) or a loop over the entries of a vector s.
_HIDDEN.update({
    "combine": {    # case: (shape of a and b, T of the fold and the scan, a drawn from)
        "one unit over one step": ((1,), 1, "normal"),
        "arrays of three axes, (B, K, N) as Mamba's state": ((2, 3, 2), 5, "normal"),
        "gates of 0 (the past forgotten), below 0 and above 1": ((4, 2), 6, "closed"),
    },
    "log_space_scan": {     # case: (T, N, what a, b and v0 are)
        "one unit over one step (T = N = 1)": (1, 1, "random"),
        "initial states of 0 and inputs of 0": (8, 4, "zeros"),
        "gates that fall below 1, then rise above it": (3000, 2, "dip"),
    },
    "theorem1_gate": {      # case: (shape of s, s drawn from)
        "one gate, s of shape (1, 1)": ((1, 1), "one"),
        "30 < |s| < 800, between the visible grids, s of shape (78, 2)": ((78, 2), "between"),
        "random s of three axes (T, B, N) = (6, 2, 3)": ((6, 2, 3), "normal"),
    },
})


def _combine_pair(combine, given, where=""):
    """Fail unless ``combine`` gives (a1 a2, a2 b1 + b2) for the arrays ``given`` = (a1, b1, a2,
    b2) and leaves them as they were; ``where`` follows the call's name in a message."""
    a1, b1, a2, b2 = given
    copies = [x.copy() for x in given]
    got = _call(combine, (copies[0], copies[1]), (copies[2], copies[3]))
    if any(not np.array_equal(c, x) for c, x in zip(copies, given)):
        _fail("combine changed the arrays it was given: return new arrays instead (a scan "
              "combines each partial result more than once)")
    name = "combine(first, second)"
    got_a, got_b = (_as_numbers(f"{name}[{i}], the {part}-part{where}", x)
                    for i, (part, x) in enumerate(zip("ab", _pair(name + where, got))))
    want_a, want_b = a1 * a2, a2 * b1 + b2
    if _shaped_like(got_a, want_a) is not None and _near(got_a, a1 + a2):
        _fail(f"{name}{where}: the a-part is a1 + a2: composing the two maps multiplies their "
              "slopes, a2 (a1 V + b1) + b2 = (a1 a2) V + (a2 b1 + b2).")
    if _shaped_like(got_b, want_b) is not None:
        for hint, mistake in _COMBINE_MISTAKES:
            if _near(got_b, mistake(a1, b1, a2, b2)):
                _fail(f"{name}{where}: {hint}.")
    _compare(f"{name}[0], the a-part{where}", got_a, want_a)
    _compare(f"{name}[1], the b-part{where}", got_b, want_b)


def _combine_fold(combine, a, b, where=""):
    """Fail unless ``combine``, folded left to right from the identity (1, 0) over the steps
    (a, b) (T, ...), gives the loop's V(t) from V(0) = 0 as its b-part at every t."""
    shape = np.shape(a[0])
    V = _linear_loop(a, b, np.zeros(shape))
    running = (np.ones(shape), np.zeros(shape))         # the identity, V -> 1 V + 0
    for t in range(1, len(a) + 1):
        running = _call(combine, running, (a[t - 1].copy(), b[t - 1].copy()))
        fold = f"combine folded from the identity (1, 0) over the steps 1..{t}{where}"
        part_a, part_b = _pair(fold, running)
        _compare(f"{fold}, the b-part (V({t}) of the loop from V(0) = 0)", part_b, V[t])
        _compare(f"{fold}, the a-part (a(1) ... a({t}))", part_a, np.prod(a[:t], axis=0))


def _combine_scan(combine, a, b, where):
    """Fail unless Hillis and Steele's scan, with ``combine`` as its operator, gives the loop's
    V(1) .. V(T) from V(0) = 0: round d combines the elements t - d and t for every t >= d at
    once, so ``combine`` gets pairs of arrays of shape (T - d, ...), partial results of other
    bracketings than the fold's. Returns the b-parts, V(1) .. V(T)."""
    A, S = a.copy(), b.copy()               # element t: the steps t - d + 1 .. t composed
    d = 1
    while d < len(a):
        got = _call(combine, (A[:-d].copy(), S[:-d].copy()), (A[d:].copy(), S[d:].copy()))
        rounds = (f"Hillis and Steele's scan with your combine, round d = {d} (it combines the "
                  f"elements t - {d} and t for every t at once){where}")
        part_a, part_b = _pair(rounds, got)
        want_a, want_b = A[:-d] * A[d:], A[d:] * S[:-d] + S[d:]
        _compare(f"{rounds}, the a-part", part_a, want_a)
        _compare(f"{rounds}, the b-part", part_b, want_b)
        A[d:], S[d:] = want_a, want_b
        d *= 2
    return S


@_quiet_when_hidden
def check_combine(combine, *, hidden=False):
    """Exercise (Chapter 7): ``combine(first, second)`` composes two steps of the recurrence
    V(t) = a(t) V(t-1) + b(t). Each step is a pair (a, b) of arrays of one shape, the map
    V -> a V + b, and ``first`` is the earlier one: the answer is the pair of "first, then
    second", (a1 * a2, a2 * b1 + b2), as a tuple or any other sequence of two arrays.

    Compares with that answer on random arrays (3, 4): that the operator is associative is not
    enough, since wrong ones can be. Then folds ``combine`` left to right from the identity (1, 0)
    over T = 6 steps: the b-part must be V(t) of the loop from V(0) = 0 for every t, the a-part
    a(1) ... a(t). A result that a known mistake gives (``_COMBINE_MISTAKES``) is named.
    ``hidden=True`` runs the hidden cases of a graded test instead (``_HIDDEN``): other shapes,
    one unit over one step among them, gates of 0, and Hillis and Steele's scan built from
    ``combine``.
    """
    if flag_arg("hidden", hidden):
        _function_arg("combine", combine)
        rng = np.random.default_rng(3032)
        for case, (shape, T, kind) in _HIDDEN["combine"].items():
            where = f" with arrays of shape {shape} (a hidden case: {case})"
            a = (rng.choice([0.0, -0.8, 0.4, 1.0, 1.7], (2 + T, *shape)) if kind == "closed"
                 else rng.standard_normal((2 + T, *shape)))
            b = rng.standard_normal((2 + T, *shape))
            _combine_pair(combine, (a[0], b[0], a[1], b[1]), where)
            _combine_fold(combine, a[2:], b[2:], where)
            _combine_scan(combine, a[2:], b[2:], where)
        print("✓ combine passes the hidden cases: one unit over one step, arrays of\n"
              "  three axes, gates of 0, and Hillis and Steele's scan built from it.")
        return
    _function_arg("combine", combine)
    rng = np.random.default_rng(2032)
    _combine_pair(combine, rng.standard_normal((4, 3, 4)))
    T = 6
    a, b = rng.uniform(0.5, 1.5, (T, 3, 4)), rng.standard_normal((T, 3, 4))
    _combine_fold(combine, a, b)
    print(f"✓ combine composes two steps in time order, (a1 a2, a2 b1 + b2), and folded\n"
          f"  from the identity (1, 0) over T = {T} steps its b-part is V(t) of the loop.")


def _log_scan_cases():
    """The cases (a, b, v0) of ``check_log_space_scan``: a short random one (T = 8, N = 3), then
    T = 3000 steps with a in [0.5, 0.9], whose products a(1) ... a(t) fall to about exp(-1100),
    far below float64's smallest number, about 5e-324 = exp(-744): they underflow."""
    rng = np.random.default_rng(2033)
    N = 3
    return [(rng.uniform(lo, hi, (T, N)), rng.uniform(0.1, 1.0, (T, N)), rng.uniform(0.5, 2.0, N))
            for T, lo, hi in ((8, 0.3, 1.5), (3000, 0.5, 0.9))]


def _hidden_log_scan_cases():
    """The hidden cases (a, b, v0) of ``check_log_space_scan``, by the names of
    ``_HIDDEN["log_space_scan"]``. In "zeros", unit 0 starts at 0 and gets b = 0 for three
    steps, so V = 0 exactly there, unit 2 is 0 throughout; in "dip", a(1) ... a(t) falls to
    about exp(-800) by t = 1500 and rises to about exp(-660) at T = 3000 while V grows to 1e58."""
    rng = np.random.default_rng(3033)
    cases = {}
    for case, (T, N, kind) in _HIDDEN["log_space_scan"].items():
        a, b = rng.uniform(0.3, 1.7, (T, N)), rng.uniform(0.1, 1.0, (T, N))
        v0 = rng.uniform(0.5, 2.0, N)
        if kind == "zeros":
            v0[[0, 2]] = 0.0
            b[:3, 0], b[5, 1], b[:, 2] = 0.0, 0.0, 0.0
        elif kind == "dip":
            half = T // 2
            a = np.concatenate([rng.uniform(0.4, 0.8, (half, N)),
                                rng.uniform(1.0, 1.2, (T - half, N))])
        cases[case] = (a, b, v0)
    return cases


def _scan_by_products(a, b, v0, outer=0, inner=0):
    """V(t) = P(t - outer) [v0 + sum_{s<=t} b(s) / P(s - inner)] with P(t) = a(1) ... a(t), the
    products formed directly (short cases only): the answer for outer = inner = 0, the two
    off-by-ones of a*(t) = log P(t) for a shift of 1."""
    P = np.concatenate([np.ones((1, *v0.shape)), np.cumprod(a, axis=0)])     # P[t] is P(t)
    t = np.arange(1, len(a) + 1)
    return np.concatenate([v0[None], P[t - outer] * (v0 + np.cumsum(b / P[t - inner], axis=0))])


_STATE = ("the initial state is a state, not a candidate (lucidrains/minGRU-pytorch issue #9): "
          "it enters as log v0, not through the candidate's activation")

# Exercise ex-ch7-log-scan's known mistakes: each hint with the V (T+1, N) that the mistake gives
# from c.a, c.b (T, N) and c.v0 (N,), compared from row 1 on (V[0] may be v0 all the same)
_LOG_SCAN_MISTAKES = (
    ("v0 is left out: that is the loop started at V(0) = 0. v0 is the first term inside the log, "
     "log V(t) = a*(t) + log(v0 + sum_{s<=t} exp(log b(s) - a*(s))): put log v0 in front of the "
     "terms given to np.logaddexp.accumulate", lambda c: _linear_loop(c.a, c.b, 0 * c.v0)),
    (f"sigmoid(v0) entered where v0 belongs: {_STATE}",
     lambda c: _linear_loop(c.a, c.b, 1 / (1 + np.exp(-c.v0)))),
    (f"v0 + 1/2 entered where v0 belongs, Feng et al.'s g(v0) for v0 >= 0 ('positive'): {_STATE}",
     lambda c: _linear_loop(c.a, c.b, c.v0 + 0.5)),
    ("v0 entered twice: log v0 is the first term given to np.logaddexp.accumulate, once, and "
     "nothing else adds v0", lambda c: _linear_loop(c.a, c.b, 2 * c.v0)),
    ("a*(t-1) is used in place of a*(t), inside the sum and outside the log: a*(t) = log a(1) + ... "
     "+ log a(t) includes a(t), by which step t multiplies, np.cumsum(np.log(a), axis=0)",
     lambda c: _scan_by_products(c.a, c.b, c.v0, outer=1, inner=1)),
    ("inside the sum, a*(s-1) is used in place of a*(s): that decays b(s) by a(s) on the very step "
     "it enters, V(t) = a(t) [V(t-1) + b(t)]; the term of b(s) is exp(log b(s) - a*(s))",
     lambda c: _scan_by_products(c.a, c.b, c.v0, outer=0, inner=1)),
    ("outside the log, a*(t-1) is used in place of a*(t): log V(t) = a*(t) + log(...), with a*(t) "
     "the sum of log a up to and including t", lambda c: _scan_by_products(c.a, c.b, c.v0, 1, 0)),
    ("that is log V: return V itself, the exp of the log",
     lambda c: np.log(_linear_loop(c.a, c.b, c.v0))),
)


def _log_scan_case(log_space_scan, a, b, v0, where, long=False, hidden=False):
    """Fail unless ``log_space_scan(a, b, v0)`` is the loop's V (T+1, N), relative tolerance
    1e-10; ``where`` follows the call's name in a message. The known mistakes are named in a
    short case; in a ``long`` one, where they overflow, inf or NaN is told as products formed
    directly. A ``hidden`` case says its sizes when the function raises."""
    name = "log_space_scan(a, b, v0)"
    want = _linear_loop(a, b, v0)
    T, N = a.shape
    sizes = (f"(the self-check calls your function with T = {T}, N = {N}: take the sizes from "
             "a.shape)")
    with np.errstate(all="ignore"):     # an overflow is a mistake to name, not to warn of
        got = _call_telling(log_space_scan, sizes, a.copy(), b.copy(), v0.copy()) if hidden \
            else _call(log_space_scan, a.copy(), b.copy(), v0.copy())
        got = _as_numbers(name, got)
        if got.shape == want[1:].shape:     # T rows: V(1) .. V(T) without V(0)?
            without = _linear_loop(a, b, 0 * v0)[1:]
            for rows, hint in ((want[1:], ""), (without, ", and v0 is left out of the sum: the "
                                                "rows are those of the loop from V(0) = 0")):
                if _near(got, rows):
                    _fail(f"{name}{where}: expected shape {want.shape}, got {got.shape}: V[0] = "
                          f"v0 is missing{hint}. V holds the T + 1 states V(0), ..., V(T).")
        if not long and got.shape == want.shape:       # the long case: inf or NaN would match
            c = SimpleNamespace(a=a, b=b, v0=v0)
            for hint, mistake in _LOG_SCAN_MISTAKES:
                wrong = mistake(c)[1:]
                if _near(got[1:], wrong) and not _near(wrong, want[1:]):
                    _fail(f"{name}{where}: {hint}.")
    finite = np.all(np.isfinite(got), axis=1) if got.ndim == 2 else np.array([True])
    if long and not np.all(finite):
        t = int(np.argmax(~finite))
        A = np.cumsum(np.log(a), axis=0)
        falls = (f"a(1) ... a(t) falls to about exp({A.max(axis=1).min():.0f}) on the way"
                 if hidden else f"a(1) ... a(T) is about exp({A[-1].max():.0f}) here")
        _fail(f"{name}{where}: inf or NaN, first at V({t}): the products were formed "
              f"directly. {falls}, far below float64's smallest number, about exp(-744): the "
              "products underflow and b(s) / (a(1) ... a(s)) overflows. Keep the sums of logs, "
              "a*(t), and add in log space, np.logaddexp.accumulate.")
    broken = ~np.all(np.isfinite(got), axis=0) if got.shape == want.shape else False
    if hidden and np.any(broken) and np.all(v0[broken] == 0):
        t = int(np.argmax(~finite))
        _fail(f"{name}{where}: inf or NaN, first at V({t}), where some V(0) = 0: log 0 = -inf "
              "is a fine first term for np.logaddexp.accumulate (exp(-inf) = 0), but -inf - "
              "(-inf) and 0 * inf are NaN. Keep log v0 as one term of the sum, as the terms "
              "log b(s) - a*(s) are, and neither subtract it nor divide by v0.")
    _compare_relative(name + where, got, want, rtol=1e-10)


@_quiet_when_hidden
def check_log_space_scan(log_space_scan, *, hidden=False):
    """Exercise (Chapter 7): ``log_space_scan(a, b, v0)`` solves V(t) = a(t) V(t-1) + b(t) for
    a > 0, b >= 0, v0 >= 0 in log space, log V(t) = a*(t) + log(v0 + sum_{s<=t} exp(log b(s) -
    a*(s))) with a*(t) = sum_{s<=t} log a(s), the sum by np.logaddexp.accumulate. Shapes: a, b
    (T, N), v0 (N,) -> V (T+1, N) with V[0] = v0.

    Compares with the loop (relative tolerance 1e-10) on a short random case, then over
    T = 3000 steps with a in [0.5, 0.9], where the products a(1) ... a(t) underflow and a version
    that forms them directly gives inf or NaN. A result that a known mistake gives
    (``_LOG_SCAN_MISTAKES``) is named. ``hidden=True`` runs the hidden cases of a graded test
    instead (``_HIDDEN``): one unit over one step, initial states and inputs of 0, and 3000
    steps whose products underflow on the way and recover.
    """
    _function_arg("log_space_scan", log_space_scan)
    if flag_arg("hidden", hidden):
        for case, (a, b, v0) in _hidden_log_scan_cases().items():
            long = len(a) > 100
            where = f"{' over T = 3000 steps' if long else ''} (a hidden case: {case})"
            _log_scan_case(log_space_scan, a, b, v0, where, long=long, hidden=True)
        print("✓ log_space_scan passes the hidden cases: one unit over one step, initial\n"
              "  states and inputs of 0, and 3000 steps whose gates fall below 1, then\n"
              "  rise above it.")
        return
    for (a, b, v0), where in zip(_log_scan_cases(), ("", " over T = 3000 steps")):
        _log_scan_case(log_space_scan, a, b, v0, where, long=bool(where))
    print("✓ log_space_scan matches the loop V(t) = a(t) V(t-1) + b(t) on a random case,\n"
          "  and over T = 3000 steps, where the products a(1) ... a(t) underflow.")


def _sigma(s):
    from .activations import ACTIVATIONS     # numpy only: stable for any s
    return ACTIVATIONS["sigmoid"].g(s)


# Exercise ex-ch7-theorem1's known mistakes: each hint with the z that the mistake gives from s
_GATE_MISTAKES = (
    ("that is sigma(s) = 1 - exp(-softplus(s)), the paper's gate g = 1 - z, which takes in the "
     "new input x(t): the book's z keeps the state, z = exp(-Delta) = sigma(-s)", _sigma),
    ("that is exp(-s), the step Delta = s: Mamba's step is Delta = softplus(s), positive, so "
     "that z = exp(-Delta) lies between 0 and 1", lambda s: np.exp(-s)),
    ("that is Delta = softplus(s) itself: zero-order hold with A = -1 turns the step Delta into "
     "the decay z = exp(A Delta) = exp(-softplus(s))", lambda s: np.logaddexp(0.0, s)),
)

_BIG = np.array([-1000.0, -800.0, 800.0, 1000.0])      # exp(s) overflows from s = 710 on

_CANCELLED = ("right to about 1e-16 in absolute terms, but not relative to z where z is small "
              "(z = 9e-14 at s = 30): 1 - sigma(s) subtracts two numbers close to 1 and loses "
              "z's digits. Compute sigma(-s) itself, e.g. np.exp(-np.logaddexp(0, s))")

_OVERFLOW = ("Compute exp(-softplus(s)) as sigma(-s) without exponentiating a large positive "
             "number: with e = np.exp(-np.abs(s)), z = np.where(s > 0, e, 1.0) / (1.0 + e).")


def _gate_without_overflow(theorem1_gate, s, where, call=None):
    """``theorem1_gate(s)`` as numbers, or a failure if it gave inf or NaN or a RuntimeWarning
    (an overflow): each warning is recorded, none printed, none raised. ``call`` calls it (by
    default ``_call``)."""
    import warnings
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn", under="ignore"):
        warnings.simplefilter("always")             # each overflow is recorded, none raised
        got = _as_numbers(where, (call or _call)(theorem1_gate, s.copy()))
    told = ["gave inf or NaN"] if not np.all(np.isfinite(got)) else []
    told += [f"RuntimeWarning: {w.message}" for w in caught
             if issubclass(w.category, RuntimeWarning)][:1]
    if told:
        _fail(f"{where}: {'; '.join(told)}. {_OVERFLOW}")
    return got


def _hidden_gate_s(shape, kind, rng):
    """The s of a hidden case of ``check_theorem1_gate``: in "between", the first column
    30.5 < s < 790 with 709.5 and 710.5 (exp(s) overflows at 709.8), the second its negative."""
    if kind == "one":
        return np.full(shape, -0.7)
    if kind == "between":
        s = np.concatenate([np.linspace(30.5, 790.0, shape[0] - 2), [709.5, 710.5]])
        return np.stack([s, -s], axis=1)
    return 8.0 * rng.standard_normal(shape)


@_quiet_when_hidden
def check_theorem1_gate(theorem1_gate, *, hidden=False):
    """Exercise (Chapter 7): ``theorem1_gate(s)`` is the gate of Mamba's Theorem 1 (Gu and Dao
    2023) in the book's notation, elementwise. A one-dimensional selective SSM with A = -1,
    B = 1, Delta = softplus(s) and zero-order hold is V(t) = exp(-Delta) V(t-1) + (1 -
    exp(-Delta)) x(t): a minGRU step with h = x and z = exp(-softplus(s)) = sigma(-s), the z
    that keeps the state. Shapes: s of any shape -> z of its shape (the visible case: (n,)).

    Compares with sigma(-s) (relative tolerance 1e-12) for s in linspace(-30, 30, 121), then at
    s = -1000, -800, 800, 1000, where exp(s) overflows: an overflow there (a RuntimeWarning,
    inf or NaN) fails. A result that a known mistake gives (``_GATE_MISTAKES``) is named.
    ``hidden=True`` runs the hidden cases of a graded test instead (``_HIDDEN``): s of other
    shapes (elementwise means any), and 30 < |s| < 800, where a gate saturated beyond the
    visible grid is wrong; an overflow fails there too, as the exercise asks for none.
    """
    _function_arg("theorem1_gate", theorem1_gate)
    name = "theorem1_gate(s)"
    if flag_arg("hidden", hidden):
        rng = np.random.default_rng(3034)
        for case, (shape, kind) in _HIDDEN["theorem1_gate"].items():
            s = _hidden_gate_s(shape, kind, rng)
            where = f"{name} (a hidden case: {case})"
            sizes = (f"(the self-check calls your function with s of shape {shape}: the gate "
                     "acts elementwise, on arrays of any shape)")
            got = _gate_without_overflow(theorem1_gate, s, where,
                                         lambda fn, *args: _call_telling(fn, sizes, *args))
            _compare_relative(where, got, _sigma(-s), rtol=1e-12)
        print("✓ theorem1_gate passes the hidden cases: s of other shapes, and\n"
              "  30 < |s| < 800 without overflow.")
        return
    s = np.linspace(-30.0, 30.0, 121)
    want = _sigma(-s)
    got = _as_numbers(name, _call(theorem1_gate, s.copy()))
    if got.shape == want.shape:
        for hint, mistake in _GATE_MISTAKES:
            wrong = mistake(s)
            if _near(got, wrong) and not _near(wrong, want):
                _fail(f"{name} for s in [-30, 30]: {hint}.")
        if (np.allclose(got, want, rtol=0, atol=1e-15)
                and not np.allclose(got, want, rtol=1e-12, atol=0)):
            _fail(f"{name} for s in [-30, 30]: {_CANCELLED}.")
    _compare_relative(f"{name} for s in linspace(-30, 30, 121)", got, want, rtol=1e-12)
    where = f"{name} at s = {', '.join(f'{v:g}' for v in _BIG)}"
    got = _gate_without_overflow(theorem1_gate, _BIG, where)
    _compare_relative(where, got, _sigma(-_BIG), rtol=1e-12)
    print("✓ theorem1_gate gives z = exp(-softplus(s)) = sigma(-s) for s in [-30, 30],\n"
          "  and at |s| = 800 and 1000 without overflow: Theorem 1's selective SSM\n"
          "  is a minGRU step whose z keeps the state.")
