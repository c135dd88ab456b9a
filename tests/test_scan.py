import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnbook import scan
from rnnbook._validate import ArgumentTypeError

ALL = {**scan.SCANS, "cumulative-product": scan.cumulative_product}
COMPLEX = ("sequential", "hillis-steele", "blelloch", "cumulative-product")


def problem(T=5, B=2, N=3, seed=0, low=0.05, high=1.5, dtype=np.float64):
    rng = np.random.default_rng(seed)
    a = rng.uniform(low, high, (T, B, N))
    b, v0 = rng.standard_normal((T, B, N)), rng.standard_normal((B, N))
    return a.astype(dtype), b.astype(dtype), v0.astype(dtype)


def scaled_error(V, a, b, v0):
    """max_t |V(t) - V_loop(t)| / V_abs(t), V_abs the recurrence of |a|, |b|, |v0|: the size that
    rounding errors of any bracketing of the steps are relative to (no cancellation assumed)."""
    ref = scan.sequential(a, b, v0)
    size = scan.sequential(np.abs(a), np.abs(b), np.abs(v0))
    return np.max(np.abs(V - ref) / np.maximum(size, 1e-300))


def test_sequential_is_the_definition():
    a, b, v0 = problem(T=4, B=1, N=1)
    V = [v0[0, 0]]
    for t in range(4):
        V.append(a[t, 0, 0] * V[-1] + b[t, 0, 0])
    np.testing.assert_array_equal(scan.sequential(a, b, v0)[:, 0, 0], V)


@settings(max_examples=60, deadline=None)
@given(T=st.integers(1, 40), B=st.integers(1, 3), N=st.integers(1, 4), seed=st.integers(0, 2**16),
       high=st.sampled_from([1.0, 1.5]), zero_start=st.booleans())
def test_every_scan_equals_the_loop(T, B, N, seed, high, zero_start):
    a, b, v0 = problem(T, B, N, seed, high=high)
    if zero_start:
        v0 = None
    for name, f in ALL.items():
        V = f(a, b, v0)
        assert V.shape == (T + 1, B, N) and V.dtype == np.float64, name
        start = np.zeros((B, N)) if v0 is None else v0
        np.testing.assert_array_equal(V[0], start, err_msg=name)
        assert scaled_error(V, a, b, start) < 1e-12, name


@pytest.mark.parametrize("name", list(ALL))
def test_one_time_step_is_one_step(name):
    a, b, v0 = problem(T=1)
    V = ALL[name](a, b, v0)
    assert V.shape == (2, 2, 3)
    np.testing.assert_allclose(V[1], a[0] * v0 + b[0], rtol=1e-14, atol=0)


@pytest.mark.parametrize("T", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100])
def test_blelloch_pads_any_length_with_the_identity(T):
    a, b, v0 = problem(T=T, B=1, N=2, seed=T)
    assert scaled_error(scan.blelloch(a, b, v0), a, b, v0) < 1e-13
    assert scaled_error(scan.hillis_steele(a, b, v0), a, b, v0) < 1e-13


@pytest.mark.parametrize("name", list(ALL))
def test_float32_stays_float32(name):
    a, b, v0 = problem(T=9, high=1.0, dtype=np.float32)
    for start in (v0, None):
        V = ALL[name](a, b, start)
        assert V.dtype == np.float32
    V64 = scan.sequential(*(u.astype(np.float64) for u in (a, b, v0)))
    np.testing.assert_allclose(ALL[name](a, b, v0), V64, rtol=1e-5, atol=1e-5)


def test_integers_count_as_float64():
    V = scan.hillis_steele(np.ones((3, 1, 2), dtype=int), np.ones((3, 1, 2), dtype=int))
    assert V.dtype == np.float64
    np.testing.assert_array_equal(V[:, 0, 0], [0, 1, 2, 3])


@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 40), B=st.integers(1, 3), N=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_complex_scans_equal_the_loop(T, B, N, seed):
    # the LRU's case: a = lambda inside the unit disk, complex b and v0
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.3, 1.0, (T, B, N)) * np.exp(1j * rng.uniform(-np.pi, np.pi, (T, B, N)))
    b = rng.standard_normal((T, B, N)) + 1j * rng.standard_normal((T, B, N))
    v0 = rng.standard_normal((B, N)) + 1j * rng.standard_normal((B, N))
    for name in COMPLEX:
        V = ALL[name](a, b, v0)
        assert V.dtype == np.complex128, name
        assert scaled_error(V, a, b, v0) < 1e-12, name


@pytest.mark.parametrize("name", COMPLEX)
def test_complex64_stays_complex64_and_real_b_is_promoted(name):
    a, b, v0 = problem(T=6, high=1.0, dtype=np.float32)
    lam = (a * np.exp(0.5j)).astype(np.complex64)
    V = ALL[name](lam, b, v0)
    assert V.dtype == np.complex64
    np.testing.assert_allclose(V, scan.sequential(lam.astype(complex), b, v0), rtol=1e-5, atol=1e-5)


def test_log_space_takes_v0_as_a_state_not_as_a_candidate():
    # a carried state enters the logcumsumexp as log v0, with no activation on it; applying the
    # candidate's activation to it (minGRU-pytorch issue #9: g(v) = v + 1/2 for v >= 0, sigma(v)
    # else) changes the result, so this test would catch that bug
    a, b, v0 = problem(T=30, high=1.0, seed=3)
    V = scan.log_space(a, b, v0)
    assert scaled_error(V, a, b, v0) < 1e-12
    np.testing.assert_array_equal(V[0], v0)

    def g(v):
        return np.where(v >= 0, v + 0.5, 1 / (1 + np.exp(-v)))

    wrong = scan.log_space(a, b, g(v0))
    assert np.max(np.abs(wrong - V)[1:5]) > 0.05
    # v0 alone: V(t) = a(1) ... a(t) v0, signs included
    V0 = scan.log_space(a, np.zeros_like(b), v0)
    np.testing.assert_allclose(V0[1:], np.cumprod(a, axis=0) * v0, rtol=1e-13, atol=0)


@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 40), seed=st.integers(0, 2**16), sign=st.sampled_from([-1, 0, 1]))
def test_log_space_handles_signs_and_zeros(T, seed, sign):
    # all-positive, all-negative and mixed-sign b and v0, with exact zeros among them
    a, b, v0 = problem(T, 2, 3, seed, high=1.2)
    if sign:
        b, v0 = sign * np.abs(b), sign * np.abs(v0)
    b[::3] = 0.0
    v0[0] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        V = scan.log_space(a, b, v0)
    assert scaled_error(V, a, b, v0) < 1e-12


def test_cumulative_product_fails_where_the_scans_do_not():
    # a = 1/2 for T = 2000: A(t) = 2**-t underflows to 0 past t = 1074, so b / A is inf and
    # A * (v0 + sum b / A) is inf or NaN; the loop and the log-space scan stay finite and agree
    T = 2000
    a = np.full((T, 1, 2), 0.5)
    b = np.random.default_rng(0).standard_normal((T, 1, 2))
    v0 = np.array([[1.0, -2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # the failure is silent, as documented
        naive = scan.cumulative_product(a, b, v0)
        V, V_log = scan.sequential(a, b, v0), scan.log_space(a, b, v0)
    assert not np.all(np.isfinite(naive[-1]))
    assert np.all(np.isfinite(naive[:1000]))    # fine while 2**t is a float
    assert np.all(np.isfinite(V)) and np.all(np.isfinite(V_log))
    assert scaled_error(V_log, a, b, v0) < 1e-12
    assert scaled_error(scan.blelloch(a, b, v0), a, b, v0) < 1e-12
    assert scaled_error(scan.hillis_steele(a, b, v0), a, b, v0) < 1e-12


@pytest.mark.parametrize("shape", [(6, 4), (6, 2, 3, 4)])
def test_other_trailing_shapes(shape):
    # (T, N) and Mamba's (T, B, K, N)
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.1, 1.0, shape), rng.standard_normal(shape)
    v0 = rng.standard_normal(shape[1:])
    for name, f in ALL.items():
        assert scaled_error(f(a, b, v0), a, b, v0) < 1e-12, name


@pytest.mark.parametrize("name", list(ALL))
def test_inputs_are_left_alone(name):
    # read-only inputs (the LRU passes a broadcast lambda) are read, never written
    a, b, v0 = problem(T=7, high=1.0)
    copies = [u.copy() for u in (a, b, v0)]
    lam = np.broadcast_to(a[:1], a.shape)
    for u in (a, b, v0):
        u.setflags(write=False)
    ALL[name](a, b, v0)
    ALL[name](lam, b, v0)
    for u, c in zip((a, b, v0), copies):
        np.testing.assert_array_equal(u, c)


def test_time_scans_returns_a_best_time_per_scan():
    times = scan.time_scans(33, 3, repeats=2, seed=0)
    assert list(times) == list(scan.SCANS)
    assert all(isinstance(t, float) and 0 < t < 5 for t in times.values())


GOOD = problem(T=4, B=2, N=3)


@pytest.mark.parametrize("name", list(ALL))
@pytest.mark.parametrize("args, message", [
    (dict(a=np.zeros((0, 2, 3))), "^a: expected at least one time step"),
    (dict(b=GOOD[1][:3]), r"^b: expected shape \(T, B, N\) = \(4, 2, 3\)"),
    (dict(b=GOOD[1][..., :2]), r"^b: expected shape"),
    (dict(v0=np.zeros((2, 4))), r"^v0: expected shape \(B, N\)"),
    (dict(v0=np.zeros(3)), r"^v0: expected 2 axes"),
    (dict(a=np.zeros((4, 2, 3, 1, 1))), r"^a: expected 3 axes \(T, B, N\)"),
    (dict(b=np.full((4, 2, 3), np.nan)), "^b: contains NaN"),
    (dict(v0=np.full((2, 3), np.inf)), "^v0: contains NaN or inf"),
    (dict(a=None), "^a: expected an array"),
    (dict(b="text"), "^b: expected an array"),
    (dict(a=[[1.0], [1.0, 2.0]]), "^a: expected"),
    (dict(a=np.zeros((4, 2, 3), dtype=bool)), "^a: expected real numbers"),
])
def test_bad_input_names_the_argument(name, args, message):
    a, b, v0 = GOOD
    args = {"a": a, "b": b, "v0": v0, **args}
    with pytest.raises(ValueError, match=message):
        ALL[name](**args)


@pytest.mark.parametrize("name", COMPLEX)
def test_nan_in_an_imaginary_part_is_found(name):
    a, b, v0 = GOOD
    with pytest.raises(ValueError, match="^b: contains NaN"):
        ALL[name](a, b + 1j * np.where(b > 0, np.nan, 0.0), v0)


def test_log_space_refuses_what_has_no_logarithm():
    a, b, v0 = GOOD
    for bad in (np.where(a > 0.5, a, 0.0), -a):
        with pytest.raises(ValueError, match="^a: expected positive entries"):
            scan.log_space(bad, b, v0)
    with pytest.raises(ArgumentTypeError, match="^a: expected real numbers"):
        scan.log_space(a * (1 + 0.1j), b, v0)
    with pytest.raises(ArgumentTypeError, match="^v0: expected real numbers"):
        scan.log_space(a, b, v0 + 0j)


@pytest.mark.parametrize("kwargs, message", [
    (dict(T=0), "^T: expected an integer >= 1"), (dict(N=2.5), "^N: expected an integer"),
    (dict(repeats=0), "^repeats: expected an integer >= 1"),
    (dict(seed=None), "^seed: expected an integer seed"), (dict(seed=-1), "^seed:"),
])
def test_time_scans_names_the_bad_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        scan.time_scans(**{"T": 4, "N": 2, "repeats": 1, "seed": 0, **kwargs})


# --- the schedule: the rounds of the two scans as data (Chapter 7's explorer)

def compose(x, y):
    """The operator (a1, b1) o (a2, b2) = (a1 a2, a2 b1 + b2), written as the scans write it."""
    return x[0] * y[0], y[0] * x[1] + y[1]


def elements(a, b, v0):
    """Element 0 = (1, v0), element t = (a(t), b(t))."""
    return [(np.ones_like(v0), v0)] + list(zip(a, b))


def replay(name, a, b, v0):
    """Run the schedule of ``name`` on (a, b, v0) with the operator; after every round, check that
    each position holds the composition of the elements its "holds" names. Returns the states."""
    T = len(a)
    rounds = scan.schedule(name, T)
    element = elements(a, b, v0)
    identity = (np.ones_like(v0), np.zeros_like(v0))
    if name == "hillis-steele":
        values = list(element)
    else:
        n = len(rounds[0]["holds"])
        values = [element[p + 1] if p < T else identity for p in range(n)]
    before = rounds[0]["holds"]
    for r in rounds[1:]:
        new = list(values)
        for source, target in r["pairs"]:
            x, y = values[source], values[target]
            # time order: the target first where its elements come before the source's
            if before[target] is not None and (before[source] is None
                                               or before[target] < before[source]):
                x, y = y, x
            new[target] = compose(x, y)
        for source, target in r["copies"]:
            new[target] = values[source]
        if r["phase"] == "v0 enters":
            new[-1] = element[0]
        if r["phase"] == "last step":
            new = [compose(values[p], element[p + 1]) if p < T else None
                   for p in range(len(values))]
        values, before = new, r["holds"]
        assert len(r["holds"]) == len(values), r["label"]
        got, want = [], []
        for held, value in zip(r["holds"], values):
            if held is None:        # padding: the identity, or dropped at the end
                assert value is None or all(np.array_equal(u, i) for u, i in zip(value, identity))
                continue
            first, last = held
            expected = element[first]
            for t in range(first + 1, last + 1):
                expected = compose(expected, element[t])
            got.append(value)
            want.append(expected)
        np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-12, atol=1e-14,
                                   err_msg=r["label"])
    if name == "hillis-steele":
        return np.stack([s for _, s in values])
    return np.stack([v0] + [s for _, s in values[:T]])


@settings(max_examples=40, deadline=None)
@given(T=st.integers(1, 40), N=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_the_schedule_is_the_algorithm(T, N, seed):
    # the replayed rounds give exactly the scans' states, bit for bit: the same operations
    a, b, v0 = problem(T, 1, N, seed)
    np.testing.assert_array_equal(replay("hillis-steele", a, b, v0), scan.hillis_steele(a, b, v0))
    np.testing.assert_array_equal(replay("blelloch", a, b, v0), scan.blelloch(a, b, v0))


@pytest.mark.parametrize("T", [1, 2, 3, 16, 17])
def test_the_schedule_is_the_algorithm_at_the_edges(T):
    a, b, v0 = problem(T, 2, 3, seed=T)
    np.testing.assert_array_equal(replay("hillis-steele", a, b, v0), scan.hillis_steele(a, b, v0))
    np.testing.assert_array_equal(replay("blelloch", a, b, v0), scan.blelloch(a, b, v0))


@pytest.mark.parametrize("T", range(1, 34))
def test_hillis_steele_takes_log2_rounds_and_ends_with_every_state(T):
    rounds = scan.schedule("hillis-steele", T)
    assert len(rounds) - 1 == int(np.ceil(np.log2(T + 1)))
    assert rounds[0]["holds"] == [(t, t) for t in range(T + 1)] and rounds[0]["pairs"] == []
    for k, r in enumerate(rounds[1:]):      # round k: the position 2**k back (Chapter 7)
        d = 2 ** k
        assert r["label"] == f"round {k}: combine with the position {d} back"
        assert r["phase"] == "combine" and r["copies"] == []
        assert r["pairs"] == [(t - d, t) for t in range(d, T + 1)]
        assert r["combines"] == T + 1 - d
        assert r["holds"] == [(max(0, t - 2 * d + 1), t) for t in range(T + 1)]
    assert rounds[-1]["holds"] == [(0, t) for t in range(T + 1)]      # V(t) at t


@pytest.mark.parametrize("T", range(1, 34))
def test_blelloch_sweeps_up_and_down_with_linear_work(T):
    rounds = scan.schedule("blelloch", T)
    n = 1 << (T - 1).bit_length()
    levels = n.bit_length() - 1
    phases = [r["phase"] for r in rounds]
    assert phases == (["start"] + ["up-sweep"] * levels + ["v0 enters"] + ["down-sweep"] * levels
                      + ["last step"])
    up = [r["label"] for r in rounds if r["phase"] == "up-sweep"]
    down = [r["label"] for r in rounds if r["phase"] == "down-sweep"]
    assert up == [f"up-sweep, blocks of {2 ** k}" for k in range(1, levels + 1)]
    assert down == [f"down-sweep, blocks of {2 ** k}" for k in range(levels - 1, -1, -1)]
    # the pairs of a block of 2d: its halves' ends (both sweeps), and each pair's copy goes the
    # other way; every round touches each position at most once
    sweeps = [r for r in rounds if r["phase"] in ("up-sweep", "down-sweep")]
    sizes = [2 ** k for k in range(levels)]
    for r, d in zip(sweeps, sizes + sizes[::-1]):
        assert r["pairs"] == [(e - d, e) for e in range(2 * d - 1, n, 2 * d)], r["label"]
    for r in rounds:
        targets = [t for _, t in r["pairs"] + r["copies"]]
        assert len(targets) == len(set(targets)) and len(r["holds"]) == n
        down = r["phase"] == "down-sweep"
        assert r["copies"] == ([(t, s) for s, t in r["pairs"]] if down else [])
    # the last position holds everything after the up-sweep, the states end at every position
    assert rounds[levels]["holds"][-1] == (1, T)
    assert rounds[-2]["holds"] == [(0, min(p, T)) for p in range(n)]      # the state before p+1
    assert rounds[-1]["holds"] == [(0, p + 1) if p < T else None for p in range(n)]
    assert rounds[0]["holds"] == [(p + 1, p + 1) if p < T else None for p in range(n)]
    # O(T) work: n - 1 combines each way and T in the last step, against Hillis-Steele's T log T
    assert sum(r["combines"] for r in rounds) == 2 * (n - 1) + T


def test_the_schedules_of_the_chapter():
    # T = 16: five rounds of Hillis-Steele, ten of Blelloch (4 up, v0, 4 down, the last step)
    hillis, blelloch = scan.schedule("hillis-steele", 16), scan.schedule("blelloch", 16)
    assert [r["combines"] for r in hillis] == [0, 16, 15, 13, 9, 1]
    assert [r["combines"] for r in blelloch] == [0, 8, 4, 2, 1, 0, 1, 2, 4, 8, 16]
    assert blelloch[5]["holds"][-1] == (0, 0)
    assert blelloch[5]["label"] == "v0 enters at the last position"
    # the work, for T + 1 a power of two: (T+1) log2(T+1) - T combines against 3T
    for T in (15, 255):
        levels = int(np.log2(T + 1))
        for name, work in (("hillis-steele", (T + 1) * levels - T), ("blelloch", 3 * T)):
            assert sum(r["combines"] for r in scan.schedule(name, T)) == work, name


@pytest.mark.parametrize("args, error, message", [
    (("sklansky", 4), ValueError, "^name: expected one of"),
    ((None, 4), ArgumentTypeError, "^name: expected a name"),
    (("blelloch", 0), ValueError, "^T: expected an integer >= 1"),
    (("hillis-steele", 2.0), ArgumentTypeError, "^T: expected an integer"),
    (("hillis-steele", True), ArgumentTypeError, "^T: expected an integer"),
])
def test_schedule_names_the_bad_argument(args, error, message):
    with pytest.raises(error, match=message):
        scan.schedule(*args)
