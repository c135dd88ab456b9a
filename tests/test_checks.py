import numpy as np
import pytest

from rnnbook import checks


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


def test_latch_passes_a_small_self_weight_and_names_the_minimum(capsys):
    checks.check_latch(np.array([[1.15]]), np.array([[2.0, -2.0]]), np.zeros(1))
    assert "✓ the latch works with self-weight 1.15" in capsys.readouterr().out


def test_latch_refuses_the_chapters_own_self_weight():
    with pytest.raises(checks.SelfCheckFailed, match="the chapter's own latch uses 2"):
        checks.check_latch(np.array([[2.0]]), np.array([[3.0, -3.0]]), np.zeros(1))


def test_latch_just_below_the_minimum_leaks():
    with pytest.raises(checks.SelfCheckFailed, match="leaks away"):
        checks.check_latch(np.array([[1.09]]), np.array([[2.0, -2.0]]), np.zeros(1))


@pytest.mark.parametrize("w_vv, w_vx, theta, message", [
    ([[0.5]], [[3.0, -3.0]], [0.0], "leaks away"),
    ([[1.5]], [[0.1, -0.1]], [0.0], "does not move V far enough"),
    ([[1.5]], [[-3.0, 3.0]], [0.0], "after the set pulse"),
    ([[1.5]], [3.0, -3.0], [0.0], r"w_vx: expected shape \(1, 2\)"),
    ([[np.nan]], [[3.0, -3.0]], [0.0], "NaN"),
    ("two", [[3.0, -3.0]], [0.0], "w_vv: expected an array of numbers, got str"),
    (None, [[3.0, -3.0]], [0.0], "w_vv is None: not set yet"),
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
    (lambda V, x, p: book_gru_step(V, x, p, flip=True), "the update rule is flipped: .*near 1 keeps"),
    (lambda V, x, p: book_gru_step(V, x, p, reset_after=True),
     r"reset gate is applied after the product .*\(r \* V_prev\) @ w_hv.T"),
    (lambda V, x, p: book_gru_step(V, x, p, flip=True, reset_after=True), "two mistakes: .*flipped.*after"),
    (lambda V, x, p: book_gru_step(V, x, p) + 1e-3, r"at index \(\d, \d\) expected"),   # any other error
    (lambda V, x, p: V[:, :2], r"expected shape \(3, 4\), got \(3, 2\)"),
    (lambda V, x, p: p["w_zx"], r"expected shape \(3, 4\), got \(4, 2\)"),
    (lambda V, x, p: p["missing"], "raised KeyError"),
])
def test_gru_step_explains_what_is_wrong(step, message):
    with pytest.raises(checks.SelfCheckFailed, match=message):
        checks.check_gru_step(step)


def good_bptt_step(Delta_next, e_t, b_t, w_vv):
    return (1 - np.tanh(b_t) ** 2) * (e_t + Delta_next @ w_vv)


def test_bptt_step_passes_a_correct_step(capsys):
    checks.check_bptt_step(good_bptt_step)
    assert capsys.readouterr().out.startswith("✓ bptt_step matches eq. (2.10)")


def in_place_bptt_step(Delta_next, e_t, b_t, w_vv):
    w_vv *= 2                        # right value, but it overwrites the caller's weights
    return (1 - np.tanh(b_t) ** 2) * (e_t + Delta_next @ w_vv / 2)


@pytest.mark.parametrize("step, message", [
    (lambda D, e, b, w: (1 - np.tanh(b) ** 2) * (e + D @ w.T), "multiply by w_vv itself"),
    (lambda D, e, b, w: e + D @ w, r"g'\(b_i\(t\)\) = 1 - tanh\(b_i\(t\)\)\^2 is missing"),
    (lambda D, e, b, w: (1 - np.tanh(b) ** 2) * (-e + D @ w), "sign of e_t"),
    (lambda D, e, b, w: (1 - b ** 2) * (e + D @ w), r"at index \(\d, \d\) expected"),
    (lambda D, e, b, w: D @ w, "difference"),
    (lambda D, e, b, w: np.zeros(3), r"expected shape \(2, 3\), got \(3,\)"),
    (in_place_bptt_step, "changes its arguments in place"),
    (lambda D, e, b: D, "raised TypeError"),
])
def test_bptt_step_explains_what_is_wrong(step, message):
    with pytest.raises(checks.SelfCheckFailed, match=message):
        checks.check_bptt_step(step)


def good_backprop_states(w_vv, g_prime, dV_T):
    dV = np.empty((g_prime.shape[0] + 1,) + dV_T.shape)
    dV[-1] = dV_T
    for s in range(g_prime.shape[0], 0, -1):
        dV[s - 1] = (g_prime[s - 1] * dV[s]) @ w_vv
    return dV


def test_backprop_states_passes_the_equation(capsys):
    checks.check_backprop_states(good_backprop_states)
    assert capsys.readouterr().out.startswith("✓ backprop_states matches eq. (3.4)")


def transposed_backprop_states(w_vv, g_prime, dV_T):
    return good_backprop_states(w_vv.T, g_prime, dV_T)


def off_by_one_backprop_states(w_vv, g_prime, dV_T):
    # uses g'(b(s-1)) instead of g'(b(s)); for s = 1 there is none, so it uses 1
    shifted = np.concatenate([np.ones_like(g_prime[:1]), g_prime[:-1]])
    return good_backprop_states(w_vv, shifted, dV_T)


@pytest.mark.parametrize("fn, message", [
    (transposed_backprop_states, "travels backwards through the transpose"),
    (lambda w, gp, d: good_backprop_states(w, np.ones_like(gp), d), r"the factor g'\(b\(s\)\) is missing"),
    (lambda w, gp, d: good_backprop_states(w, gp, d)[::-1], "row s must hold dL/dV"),
    (off_by_one_backprop_states, r"at index \(\d, \d, \d\) expected"),
    (lambda w, gp, d: good_backprop_states(w, gp, d)[1:], r"expected shape \(7, 3, 4\), got \(6, 3, 4\)"),
    (lambda w, gp, d: None, "is None: not set yet, or a function without a return"),
    (lambda w, gp: gp, "raised TypeError"),
])
def test_backprop_states_explains_what_is_wrong(fn, message):
    with pytest.raises(checks.SelfCheckFailed, match=message):
        checks.check_backprop_states(fn)


def good_clip(grads, max_norm):
    total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    return [g * min(1.0, max_norm / total) for g in grads]


def test_clip_by_norm_passes_the_rule(capsys):
    checks.check_clip_by_norm(good_clip)
    assert capsys.readouterr().out.startswith("✓ clip_by_norm follows eq. (3.8)")


def in_place_clip(grads, max_norm):
    total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    for g in grads:
        g *= min(1.0, max_norm / total)
    return grads


@pytest.mark.parametrize("fn, message", [
    (lambda grads, c: [g * min(1.0, c / np.linalg.norm(g)) for g in grads], "each array was clipped on its own"),
    (in_place_clip, "changed the arrays it was given"),
    (lambda grads, c: [g * c / np.sqrt(sum(np.sum(h ** 2) for h in grads)) for g in grads], "below the threshold"),
    (lambda grads, c: [np.clip(g, -c, c) for g in grads], "above the threshold"),
    (lambda grads, c: grads[0], "expected a list of 3 arrays"),
])
def test_clip_by_norm_explains_what_is_wrong(fn, message):
    with pytest.raises(checks.SelfCheckFailed, match=message):
        checks.check_clip_by_norm(fn)


def good_wilson(k, n, z=1.96):
    centre = (k + z**2 / 2) / (n + z**2)
    half = z / (n + z**2) * np.sqrt(k * (n - k) / n + z**2 / 4)
    return centre - half, centre + half


def test_wilson_interval_passes_the_formula(capsys):
    checks.check_wilson_interval(good_wilson)
    assert capsys.readouterr().out.startswith("✓ wilson_interval gives Wilson's score interval")


@pytest.mark.parametrize("fn, message", [
    (lambda k, n, z=1.96: (k / n - z * np.sqrt(k / n * (1 - k / n) / n), k / n + z * np.sqrt(k / n * (1 - k / n) / n)),
     "normal approximation"),
    (lambda k, n, z=1.96: good_wilson(k, n), r"z=1.0\): expected"),
    (lambda k, n, z=1.96: good_wilson(k, n, z)[0], "expected a pair"),
    (lambda k, n, z=1.96: good_wilson(k, n, z)[::-1], r"wilson_interval\(3, 3, z=1.96\): expected \(0.4385, 1.0000\)"),
])
def test_wilson_interval_explains_what_is_wrong(fn, message):
    with pytest.raises(checks.SelfCheckFailed, match=message):
        checks.check_wilson_interval(fn)


def test_failures_hide_the_library_traceback():
    with pytest.raises(checks.SelfCheckFailed) as info:
        checks.check_rnn_step(lambda *a: 1 / 0)
    assert info.value.__suppress_context__ and info.value.__cause__ is None


@pytest.mark.parametrize("result, message", [
    (lambda V, x, wvv, wvx, th: np.tanh(V @ wvv.T + x @ wvx.T - th) + 0j, "complex numbers"),
    (lambda V, x, wvv, wvx, th: None, r"rnn_step\(...\) is None"),
    (lambda V, x, wvv, wvx, th: np.full((3, 4), 1e300), r"got 1e\+300"),
])
def test_odd_results_get_a_readable_message(result, message):
    with pytest.raises(checks.SelfCheckFailed, match=message):
        checks.check_rnn_step(result)


def test_a_torch_tensor_that_requires_grad_is_accepted():
    import torch
    checks.check_rnn_step(lambda V, x, wvv, wvx, th: torch.tanh(torch.tensor(V @ wvv.T + x @ wvx.T - th,
                                                                         requires_grad=True)))


def test_wilson_interval_rejects_nan():
    with pytest.raises(checks.SelfCheckFailed, match="got \\(nan, nan\\)"):
        checks.check_wilson_interval(lambda k, n, z=1.96: (float("nan"), float("nan")))
