"""Linear recurrences V(t) = a(t) * V(t-1) + b(t) and the scans that compute them (Chapter 7).

Take the recurrent weights out of the GRU's gates and eq. (9.30d) becomes linear in V, with
a = z and b = (1 - z) * h known for every t before the loop starts. Such a recurrence is a
*scan* with the associative operator (a1, b1) o (a2, b2) = (a1 a2, a2 b1 + b2): step 1 then
step 2 is V -> a2 (a1 V + b1) + b2. Any bracketing gives the same V, so the T steps can be
grouped into log2 T rounds of whole-array operations instead of T steps of a loop.

Every function here takes a, b of shape (T, B, N) (time-major, elementwise: a diagonal
recurrence; (T, N) and Mamba's (T, B, K, N) work too) and v0 of shape a.shape[1:] or None for
zeros, and returns V of shape (T+1, B, N) with V[0] = v0, like the rest of the book. The dtype
of the inputs is kept (float32 in, float32 out); complex a, b, v0 (the LRU's) are allowed but
in ``log_space``, which needs a > 0.
"""
import time

import numpy as np

from ._validate import array_arg, checked, choice, positive_int, seed_arg

__all__ = ["sequential", "hillis_steele", "blelloch", "cumulative_product", "log_space",
           "SCANS", "time_scans", "schedule"]

# the named axes of a by its number of axes (Mamba's state has K channels of N each)
AXES = {2: ("T", "N"), 3: ("T", "B", "N"), 4: ("T", "B", "K", "N")}


def _array(name, value, dims, sizes, complex_ok):
    """``array_arg``, letting a complex ndarray through where ``complex_ok``."""
    if complex_ok and getattr(value, "dtype", None) is not None and value.dtype.kind == "c":
        array_arg(name, value.real, dims, sizes)
        array_arg(name, value.imag, dims, sizes)    # NaN or inf in the imaginary part
        return value
    return array_arg(name, value, dims, sizes)


def _scan_args(a, b, v0=None):
    """Validate a, b (T, B, N) and v0 (B, N) or None; give them one dtype."""
    return _validated(a, b, v0, complex_ok=True)


def _validated(a, b, v0, complex_ok):
    """``_scan_args``, with complex numbers allowed or not."""
    try:
        dims = AXES.get(np.ndim(a), AXES[3])
    except ValueError:          # a ragged list: array_arg names it
        dims = AXES[3]
    sizes = {}
    a = _array("a", a, dims, sizes, complex_ok)
    b = _array("b", b, dims, sizes, complex_ok)
    if v0 is None:              # zeros of the other arguments' dtype
        v0 = np.zeros(a.shape[1:], dtype=np.result_type(a, b))
    v0 = _array("v0", v0, dims[1:], sizes, complex_ok)
    dtype = np.result_type(a, b, v0)
    return {"a": a.astype(dtype, copy=False), "b": b.astype(dtype, copy=False),
            "v0": v0.astype(dtype, copy=False)}


@checked(_scan_args)
def sequential(a, b, v0=None):
    """The definition, V(t) = a(t) * V(t-1) + b(t), one step at a time.

    Shapes: a, b (T, B, N); v0 (B, N) or None for zeros.
    Returns V (T+1, B, N) with V[0] = v0. T steps, each waiting for the last.
    """
    V = np.empty((len(a) + 1,) + v0.shape, dtype=v0.dtype)
    V[0] = v0
    for t in range(len(a)):         # V[t] is V(t-1), a[t] is a(t+1)
        V[t + 1] = a[t] * V[t] + b[t]
    return V


@checked(_scan_args)
def hillis_steele(a, b, v0=None):
    """Hillis and Steele's (1986) inclusive scan of (a, b) with the operator
    (a1, b1) o (a2, b2) = (a1 a2, a2 b1 + b2), in log2(T+1) rounds.

    Shapes as ``sequential``. v0 is the element (1, v0) before the first, so
    the scan's b-part is V itself. O(T log T) work, every round one numpy op.
    """
    A = np.concatenate([np.ones_like(v0)[None], a])
    V = np.concatenate([v0[None], b])
    d = 1
    while d < len(V):   # V[t] composed elements t-d+1..t; now t-2d+1..t
        V[d:], A[d:] = A[d:] * V[:-d] + V[d:], A[:-d] * A[d:]
        d *= 2
    return V


@checked(_scan_args)
def blelloch(a, b, v0=None):
    """Blelloch's (1990) work-efficient scan: an up-sweep and a down-sweep,
    2 log2(T) rounds and O(T) work, with the operator of ``hillis_steele``.

    Shapes as ``sequential``. T is padded to a power of two with (1, 0),
    the identity. The down-sweep starts from v0 and leaves V(t-1) at t.
    """
    T = len(a)
    n = 1 << (T - 1).bit_length()           # the power of two >= T
    A = np.ones((n,) + v0.shape, dtype=v0.dtype)
    S = np.zeros_like(A)        # the b-parts; at the end, the states
    A[:T], S[:T] = a, b
    d = 1
    while d < n:        # up-sweep: each block of 2d gets its total at its end
        L, R = slice(d - 1, None, 2 * d), slice(2 * d - 1, None, 2 * d)
        A[R], S[R] = A[L] * A[R], A[R] * S[L] + S[R]
        d *= 2
    S[-1] = v0          # what comes before the first element: the state
    while d > 1:        # down-sweep: a left block starts where its parent
        d //= 2         # starts, the right block after the left block
        L, R = slice(d - 1, None, 2 * d), slice(2 * d - 1, None, 2 * d)
        S[L], S[R] = S[R], A[L] * S[R] + S[L]
    V = np.empty((T + 1,) + v0.shape, dtype=v0.dtype)
    V[0] = v0
    V[1:] = a * S[:T] + b           # one more step, for all t at once
    return V


@checked(_scan_args)
def cumulative_product(a, b, v0=None):
    """The closed form V(t) = A(t) (v0 + sum_{s<=t} b(s) / A(s)),
    A(t) = a(1) a(2) ... a(t): exact in exact arithmetic, not in floats.

    Shapes as ``sequential``. For long T, b / A overflows once A(t) falls
    below 1 / 1.8e308 (before A underflows to 0), or A overflows for a > 1:
    V becomes inf or NaN.
    No warning: the book shows it failing.
    """
    with np.errstate(over="ignore", under="ignore", divide="ignore",
                     invalid="ignore"):
        A = np.cumprod(a, axis=0)
        V = A * (v0 + np.cumsum(b / A, axis=0))
    return np.concatenate([v0[None], V])


def _log_space_args(a, b, v0=None):
    """As ``_scan_args``, real numbers only, and a > 0."""
    args = _validated(a, b, v0, complex_ok=False)
    if not np.all(args["a"] > 0):
        raise ValueError("a: expected positive entries for the log-space scan "
                         f"(it takes log a), got min {args['a'].min():g}")
    return args


@checked(_log_space_args)
def log_space(a, b, v0=None):
    """Heinsen's (2023) scan in log space, for a > 0:
    log V(t) = a*(t) + logcumsumexp_{s<=t}(log b(s) - a*(s)),
    a* = cumsum log a, where v0 is the term s = 0 (b(0) = v0, a*(0) = 0).

    Shapes as ``sequential``. Signed b, v0: V = V+ - V-, one scan each.
    """
    zero = np.zeros_like(v0)[None]
    a_star = np.concatenate([zero, np.cumsum(np.log(a), axis=0)])
    b0 = np.concatenate([v0[None], b])      # v0 is a state: taken as it is

    def scan(b0):       # the recurrence with the nonnegative inputs b0
        with np.errstate(divide="ignore"):  # log 0 = -inf, exp(-inf) = 0
            log_b0 = np.log(b0)
        return np.exp(a_star + np.logaddexp.accumulate(log_b0 - a_star))

    V = scan(np.maximum(b0, 0)) - scan(np.maximum(-b0, 0))
    V[0] = v0           # not exp(log v0), which may differ in the last bit
    return V


SCANS = {"sequential": sequential, "hillis-steele": hillis_steele,
         "blelloch": blelloch, "log-space": log_space}


def time_scans(T, N, repeats=3, *, seed):
    """The best of ``repeats`` wall times (seconds, time.perf_counter) of
    each scan in SCANS on a (T, 1, N) problem, a in [0.5, 1), b normal.

    Machine-dependent: numpy's speed, the cores, the load. Run with
    OMP_NUM_THREADS=1 to compare like with like.
    """
    T, N = positive_int("T", T), positive_int("N", N)
    repeats = positive_int("repeats", repeats)
    rng = np.random.default_rng(seed_arg("seed", seed))
    a = rng.uniform(0.5, 1.0, (T, 1, N))
    b = rng.standard_normal((T, 1, N))
    best = {}
    for name, scan in SCANS.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            scan(a, b)
            times.append(time.perf_counter() - start)
        best[name] = min(times)
    return best


def schedule(name, T):
    """The rounds of the scan ``name`` ("hillis-steele" or "blelloch") on T
    steps, as data for teaching: what each position holds, round by round.

    Element 0 is the start (1, v0), element t the step (a(t), b(t)).
    Returns a list, the start first, then one dict per round: "label";
    "phase" ("start", "combine", "up-sweep", "v0 enters", "down-sweep",
    "last step"); "pairs", (source, target): the target gets both old
    values composed in time order, the earlier elements first; "copies",
    (source, target): the target gets the source's old value; "combines",
    how often the operator is applied; "holds", per position (first, last):
    it holds the composition of elements first..last, or None (padding).
    Hillis-Steele works on T+1 positions, V's; its round d (item d + 1)
    combines with the position 2**d back. Blelloch works on n >= T, a power
    of two, position p starting with element p + 1 and padded with the
    identity (1, 0); its ranges stop at element T.
    """
    name = choice("name", name, ("hillis-steele", "blelloch"))
    T = positive_int("T", T)
    if name == "hillis-steele":
        return _hillis_steele_rounds(T)
    return _blelloch_rounds(T)


def _round(label, phase, holds, pairs=(), copies=(), combines=None):
    pairs = list(pairs)
    return {"label": label, "phase": phase, "pairs": pairs,
            "copies": list(copies), "holds": list(holds),
            "combines": len(pairs) if combines is None else combines}


def _merge(x, y):
    """The range that two held ranges make together; padding adds none."""
    if x is None or y is None:
        return y if x is None else x
    (first, _), (_, last) = sorted([x, y])
    return first, last


def _combined(holds, pairs):
    """What the positions hold after the pairs are combined, all at once."""
    new = list(holds)
    for source, target in pairs:
        new[target] = _merge(holds[source], holds[target])
    return new


def _hillis_steele_rounds(T):
    holds = [(t, t) for t in range(T + 1)]
    rounds = [_round("start: each position holds its own element", "start",
                     holds)]
    d = 1
    while d < T + 1:    # as in hillis_steele: every t >= d takes t - d's
        pairs = [(t - d, t) for t in range(d, T + 1)]
        holds = _combined(holds, pairs)
        rounds.append(_round(f"round {len(rounds) - 1}: combine with the "
                             f"position {d} back", "combine", holds, pairs))
        d *= 2
    return rounds


def _blelloch_rounds(T):
    n = 1 << (T - 1).bit_length()
    holds = [(p + 1, p + 1) if p < T else None for p in range(n)]
    rounds = [_round("start: each position holds its own element", "start",
                     holds)]
    d = 1
    while d < n:        # up-sweep: each block of 2d gets its total at its end
        pairs = [(r - d, r) for r in range(2 * d - 1, n, 2 * d)]
        holds = _combined(holds, pairs)
        rounds.append(_round(f"up-sweep, blocks of {2 * d}", "up-sweep",
                             holds, pairs))
        d *= 2
    holds = holds[:-1] + [(0, 0)]      # the total is not needed any more
    rounds.append(_round("v0 enters at the last position", "v0 enters",
                         holds))
    while d > 1:        # down-sweep: a left block gets its parent's state,
        d //= 2         # the right one that state and the left block
        pairs = [(r - d, r) for r in range(2 * d - 1, n, 2 * d)]
        copies = [(r, r - d) for r in range(2 * d - 1, n, 2 * d)]
        new = _combined(holds, pairs)
        for source, target in copies:
            new[target] = holds[source]
        holds = new
        rounds.append(_round(f"down-sweep, blocks of {d}", "down-sweep",
                             holds, pairs, copies))
    # each position holds the state before its element: one step more
    holds = [_merge(h, (p + 1, p + 1)) if p < T else None
             for p, h in enumerate(holds)]
    rounds.append(_round("last step: each position adds its own element",
                         "last step", holds, combines=T))
    return rounds
