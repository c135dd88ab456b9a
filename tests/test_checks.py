import numpy as np
import pytest

from lib import checks


def good_step(V_prev, x_t, w_vv, w_vx, theta_v):
    return np.tanh(V_prev @ w_vv.T + x_t @ w_vx.T - theta_v)


def test_rnn_step_passes_a_correct_step(capsys):
    checks.check_rnn_step(good_step)
    assert capsys.readouterr().out.startswith("✓ rnn_step matches eq. (1.1)")


@pytest.mark.parametrize("step, message", [
    (lambda V, x, wvv, wvx, th: np.tanh(V @ wvv + x @ wvx.T - th), r"at index \(\d, \d\) expected"),
    (lambda V, x, wvv, wvx, th: np.tanh(V @ wvv.T + x @ wvx.T + th), "difference"),
    (lambda V, x, wvv, wvx, th: (wvv @ V.T).T, r"expected|shape"),
    (lambda V, x, wvv, wvx, th: np.zeros((4, 3)), r"expected shape \(3, 4\), got \(4, 3\)"),
    (lambda V, x, wvv, wvx, th: "hello", "expected an array of numbers"),
    (lambda V, x, wvv, wvx, th: np.full((3, 4), np.nan), "got nan"),
    (lambda *a: 1 / 0, "raised ZeroDivisionError"),
    (lambda V, x: V, "raised TypeError"),
    ("not a function", "expected a function"),
])
def test_rnn_step_explains_what_is_wrong(step, message):
    with pytest.raises(checks.SelfCheckFailed, match=message):
        checks.check_rnn_step(step)


def test_a_stub_is_reported_as_not_written():
    def rnn_step(*args):
        raise NotImplementedError
    with pytest.raises(checks.SelfCheckFailed, match="rnn_step is not written yet"):
        checks.check_rnn_step(rnn_step)


def test_latch_passes_the_text_weights(capsys):
    checks.check_latch(np.array([[2.0]]), np.array([[3.0, -3.0]]), np.zeros(1))
    assert "✓ the latch works" in capsys.readouterr().out


@pytest.mark.parametrize("w_vv, w_vx, theta, message", [
    ([[0.5]], [[3.0, -3.0]], [0.0], "leaks away"),
    ([[2.0]], [[0.1, -0.1]], [0.0], "does not move V far enough"),
    ([[2.0]], [[-3.0, 3.0]], [0.0], "after the set pulse"),
    ([[2.0]], [3.0, -3.0], [0.0], r"w_vx: expected shape \(1, 2\)"),
    ([[np.nan]], [[3.0, -3.0]], [0.0], "NaN"),
    ("two", [[3.0, -3.0]], [0.0], "arrays of numbers"),
])
def test_latch_explains_what_is_wrong(w_vv, w_vx, theta, message):
    with pytest.raises(checks.SelfCheckFailed, match=message):
        checks.check_latch(w_vv, w_vx, theta)


def book_gru_step(V, x, p, flip=False, reset_after=False):
    sig = lambda a: 1 / (1 + np.exp(-a))
    z = sig(x @ p["w_zx"].T + V @ p["w_zv"].T - p["theta_z"])
    r = sig(x @ p["w_rx"].T + V @ p["w_rv"].T - p["theta_r"])
    if reset_after:
        h = np.tanh(x @ p["w_hx"].T + r * (V @ p["w_hv"].T) - p["theta_h"])
    else:
        h = np.tanh(x @ p["w_hx"].T + (r * V) @ p["w_hv"].T - p["theta_h"])
    return z * h + (1 - z) * V if flip else (1 - z) * h + z * V


def test_gru_step_passes_the_equations(capsys):
    checks.check_gru_step(book_gru_step)
    assert capsys.readouterr().out.startswith("✓ gru_step matches eqs. (9.30a-d)")


@pytest.mark.parametrize("step, message", [
    (lambda V, x, p: book_gru_step(V, x, p, flip=True), "at index"),          # the flipped z convention
    (lambda V, x, p: book_gru_step(V, x, p, reset_after=True), "at index"),   # reset after the product
    (lambda V, x, p: V[:, :2], r"expected shape \(3, 4\), got \(3, 2\)"),
    (lambda V, x, p: p["w_zx"], r"expected shape \(3, 4\), got \(4, 2\)"),
    (lambda V, x, p: p["missing"], "raised KeyError"),
])
def test_gru_step_explains_what_is_wrong(step, message):
    with pytest.raises(checks.SelfCheckFailed, match=message):
        checks.check_gru_step(step)
