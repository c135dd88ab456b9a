import functools

import numpy as np
import pytest

from rnnbook import tasks


@pytest.mark.parametrize("T", [2, 3, 7, 50])
def test_adding_problem_markers_and_target(T):
    x, y = tasks.adding_problem(T, 500, seed=0)
    assert x.shape == (T, 500, 2) and y.shape == (500, 1) and x.dtype == np.float64
    assert np.all((x[:, :, 0] >= 0) & (x[:, :, 0] <= 1))
    markers = x[:, :, 1]
    assert set(np.unique(markers)) <= {0.0, 1.0}
    half = T // 2
    # exactly one marker in the first half (t <= T // 2) and one in the second
    np.testing.assert_array_equal(markers[:half].sum(axis=0), 1.0)
    np.testing.assert_array_equal(markers[half:].sum(axis=0), 1.0)
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * markers).sum(axis=0), rtol=0, atol=1e-15)


def test_adding_problem_uses_every_position_of_each_half():
    x, _ = tasks.adding_problem(10, 5000, seed=1)
    counts = x[:, :, 1].sum(axis=1)
    assert np.all(counts > 0)
    # uniform within each half: 5000 / 5 = 1000 markers per position, give or take the noise
    np.testing.assert_allclose(counts, 1000, atol=150)


def test_adding_problem_baselines_are_one_sixth_and_one_twelfth():
    x, y = tasks.adding_problem(4, 400_000, seed=2)
    base = tasks.adding_baselines(x, y)
    # standard errors of these means are about 3e-4 and 1.3e-4
    assert base["predict 1"] == pytest.approx(1 / 6, abs=1.5e-3)
    assert base["remember the second number"] == pytest.approx(1 / 12, abs=7e-4)
    # and the best constant is the mean of y, 1
    assert np.mean(y) == pytest.approx(1.0, abs=3e-3)


def test_baseline_of_remembering_the_second_number_uses_the_second_marker():
    x = np.zeros((4, 1, 2))
    x[:, 0, 0] = [0.1, 0.2, 0.3, 0.4]
    x[[1, 2], 0, 1] = 1.0
    y = np.array([[0.5]])
    base = tasks.adding_baselines(x, y)
    assert base["predict 1"] == pytest.approx(0.25)
    assert base["remember the second number"] == pytest.approx((0.5 - 0.3 - 0.5) ** 2)


GENERATORS = [functools.partial(tasks.adding_problem, 12, 4), functools.partial(tasks.latch, 12, 4, p=0.3),
              functools.partial(tasks.delayed_echo, 12, 4, 2)]


@pytest.mark.parametrize("make", GENERATORS)
def test_generators_are_reproducible_for_a_seed(make):
    # called as the training loop calls a task: with the seed as a keyword
    x1, y1 = make(seed=5)
    x2, y2 = make(seed=5)
    x3, _ = make(seed=6)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    with pytest.raises(TypeError):      # a seed is never taken by position
        make(5)


def test_every_generator_makes_float64():
    dtypes = {f"{make.func.__name__}: {name}": a.dtype
              for make in GENERATORS for name, a in zip("xy", make(seed=0))}
    assert dtypes == {key: np.dtype(np.float64) for key in dtypes}


def test_latch_holds_the_latest_pulse():
    x, y = tasks.latch(300, 20, seed=3, p=0.1)
    assert x.shape == (300, 20, 2) and y.shape == (300, 20, 1)
    assert not np.any((x[:, :, 0] == 1) & (x[:, :, 1] == 1))
    assert x.sum(axis=2).mean() == pytest.approx(0.1, abs=0.015)  # 4 standard errors
    for n in range(20):
        stored = -1.0
        for t in range(300):
            if x[t, n, 0]:
                stored = 1.0
            elif x[t, n, 1]:
                stored = -1.0
            assert y[t, n, 0] == stored


def test_latch_with_a_pulse_every_step_follows_the_input():
    x, y = tasks.latch(50, 3, seed=4, p=1.0)
    np.testing.assert_array_equal(y[:, :, 0], x[:, :, 0] - x[:, :, 1])


@pytest.mark.parametrize("delay", [1, 3, 9])
def test_delayed_echo_plays_the_bits_back(delay):
    x, y = tasks.delayed_echo(10, 6, delay, seed=5)
    assert x.shape == y.shape == (10, 6, 1)
    assert set(np.unique(x)) == {0.0, 1.0}
    np.testing.assert_array_equal(y[delay:], x[:-delay])
    np.testing.assert_array_equal(y[:delay], 0.0)


@pytest.mark.parametrize("call, message", [
    (lambda: tasks.adding_problem(1, 4, seed=0), "T: expected a sequence length >= 2, got 1"),
    (lambda: tasks.adding_problem(0, 4, seed=0), "T: expected an integer >= 1"),
    (lambda: tasks.adding_problem(2.5, 4, seed=0), "T: expected an integer"),
    (lambda: tasks.adding_problem(10, 0, seed=0), "B: expected an integer >= 1, got 0"),
    (lambda: tasks.adding_problem(10, -3, seed=0), "B: expected an integer >= 1"),
    (lambda: tasks.adding_problem(True, 4, seed=0), "T: expected an integer"),
    (lambda: tasks.latch(0, 4, seed=0), "T: expected an integer >= 1"),
    (lambda: tasks.latch(10, 4, seed=0, p=0.0), r"p: expected a pulse probability in \(0, 1\]"),
    (lambda: tasks.latch(10, 4, seed=0, p=1.5), "p: expected a pulse probability"),
    (lambda: tasks.latch(10, 4, seed=0, p=float("nan")), "p: expected a pulse probability"),
    (lambda: tasks.delayed_echo(10, 4, 0, seed=0), "delay: expected an integer >= 1"),
    (lambda: tasks.delayed_echo(10, 4, 10, seed=0), "delay: expected a delay shorter than the sequence"),
    (lambda: tasks.delayed_echo(1, 4, 1, seed=0), "T: expected a sequence length >= 2"),
    (lambda: tasks.adding_baselines(np.zeros((5, 3, 3)), np.zeros((3, 1))), r"x: expected shape"),
    (lambda: tasks.adding_baselines(np.zeros((5, 3, 2)), np.zeros((4, 1))), r"y: expected shape"),
    (lambda: tasks.adding_problem(10, 4, seed=2.5), "seed: expected an integer seed >= 0"),
    (lambda: tasks.latch(10, 4, seed=-1), "seed: expected an integer seed >= 0"),
    (lambda: tasks.delayed_echo(10, 4, 2, seed=None), "seed: expected an integer seed"),
    (lambda: tasks.latch(10, 4, seed=0, p="often"), "p: expected a pulse probability"),
])
def test_bad_arguments_are_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()
