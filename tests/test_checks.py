import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def book_step_backward(dV, cache, *mistakes):
    """A student's learning rule for one GRU step, right or with the named ``mistakes``."""
    x, V, z, r, h, p = (cache[k] for k in ("x_t", "V_prev", "z", "r", "h", "params"))
    if "flipped" in mistakes:           # from V(t) = z h + (1 - z) V_prev
        da_h, dz, dV_prev = dV * z, dV * (h - V), dV * (1 - z)
    else:
        da_h, dz, dV_prev = dV * (1 - z), dV * (V - h), dV * z
    if "sign" in mistakes:
        dz = -dz
    if "shortcut" in mistakes:
        dV_prev = 0 * dV_prev
    a_h = x @ p["w_hx"].T + (r * V) @ p["w_hv"].T - p["theta_h"]
    da_h = da_h * {"tanh field": 1 - a_h ** 2, "tanh twice": 1 - np.tanh(h) ** 2}.get(
        next((m for m in mistakes if m.startswith("tanh")), None), 1 - h ** 2)
    da_z = dz * (z if "sigma z" in mistakes else z * (1 - z))
    if "after" in mistakes:             # as for h = tanh(... + r * (V_prev @ w_hv.T))
        dr, dw_hv = da_h * (V @ p["w_hv"].T), (da_h * r).T @ V
        dV_prev = dV_prev + (da_h * r) @ p["w_hv"]
    else:
        d_rV = da_h @ p["w_hv"]
        dr, dw_hv = d_rV * V, da_h.T @ (V if "w_hv input" in mistakes else r * V)
        if "no candidate route" not in mistakes:
            dV_prev = dV_prev + d_rV * (1 if "no r" in mistakes else r)
    da_r = dr * (r if "sigma r" in mistakes else r * (1 - r))
    if "no reset route" not in mistakes:
        dV_prev = dV_prev + da_r @ p["w_rv"]
    if "no update route" not in mistakes:
        dV_prev = dV_prev + da_z @ p["w_zv"]
    grads = {"V_prev": dV_prev, "w_zv": da_z.T @ V, "w_rv": da_r.T @ V, "w_hv": dw_hv}
    for q, da in (("z", da_z), ("r", da_r), ("h", da_h)):
        grads[f"w_{q}x"] = da.T @ x
        sign = 1 if "theta sign" in mistakes else -1
        grads[f"theta_{q}"] = sign * (da if "no batch sum" in mistakes else da.sum(axis=0))
    if "mean" in mistakes:
        grads = {k: g if k == "V_prev" else g / len(dV) for k, g in grads.items()}
    return grads


def test_gru_step_backward_passes_the_learning_rule(capsys):
    checks.check_gru_step_backward(book_step_backward)
    out = capsys.readouterr().out
    assert out.startswith("✓ gru_step_backward matches the learning rule")
    assert "(B=3, N=4, K=2)" in out


def test_gru_step_backward_gets_the_documented_cache_and_cannot_spoil_it(capsys):
    seen = {}

    def spoiling(dV, cache):
        grads = book_step_backward(dV, cache)
        seen.update(cache)
        for a in (dV, cache["z"], cache["V_prev"], *cache["params"].values()):
            a[...] = 0                  # the check's own copies must not change
        return grads
    checks.check_gru_step_backward(spoiling)
    assert set(seen) == {"x_t", "V_prev", "z", "r", "h", "params"}
    assert {k: v.shape for k, v in seen.items() if k != "params"} == {
        "x_t": (3, 2), "V_prev": (3, 4), "z": (3, 4), "r": (3, 4), "h": (3, 4)}
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize("mistake, message", [
    ("shortcut", r"the shortcut term is missing: .*dV \* z"),
    ("flipped", r"the update rule is flipped: in eq. \(9.30d\) z near 1 keeps the state"),
    ("sign", r"the update gate's term has the wrong sign: dV\(t\)/dz = V_prev - h"),
    ("sigma z", r"sigma'\(a_z\) is written as sigma\(a_z\)"),
    ("sigma r", r"sigma'\(a_r\) is written as sigma\(a_r\)"),
    ("tanh field", r"tanh'\(a_h\) is written as 1 - a_h\*\*2"),
    ("tanh twice", r"tanh'\(a_h\) is written as 1 - tanh\(h\)\*\*2"),
    ("no candidate route", r"the route through the candidate is missing from dV_prev"),
    ("no r", r"the factor r is missing on the route through the candidate"),
    ("w_hv input", r"w_hv multiplies r \* V_prev in eq. \(9.30c\): its gradient is "
                   r"da_h.T @ \(r \* V_prev\)"),
    ("no reset route", r"the route through the reset gate is missing from dV_prev.*da_r @ w_rv"),
    ("no update route", r"the route through the update gate is missing from dV_prev.*da_z @ w_zv"),
    ("after", r"the reset gate is applied after the product"),
    ("theta sign", r"the thresholds have the wrong sign: theta enters .* with a minus"),
    ("no batch sum", r"the thresholds' gradients are not summed over the batch"),
    ("mean", r"the gradients are averaged over the batch"),
])
def test_gru_step_backward_names_each_known_mistake(mistake, message):
    with pytest.raises(checks.SelfCheckFailed, match=r"does not match the learning rule of eqs. "
                       r"\(9.30a-d\): " + message):
        checks.check_gru_step_backward(lambda dV, cache: book_step_backward(dV, cache, mistake))


def test_the_known_mistakes_are_told_apart():
    # without slips the hints' learning rule is the library's; a student who makes exactly one
    # known mistake, or two, is told exactly those, and not that they apply to some gradients only
    dV, cache, expected = checks._step_backward_case()
    assert all(np.allclose(a, expected[k]) for k, a in checks._step_backward(dV, cache, {}).items())
    told = 0
    for hints, slips in checks._step_mistakes():
        with pytest.raises(checks.SelfCheckFailed) as failed:
            checks._hint_gru_step_backward(checks._step_backward(dV, cache, slips), expected,
                                           dV, cache)
        told += str(failed.value).endswith(": " + hints[0] + "." if len(hints) == 1 else
                                           f": two mistakes: {hints[0]}; and {hints[1]}.")
    assert told == len(checks._step_mistakes()) > 100


def test_a_mistake_in_one_gate_only_is_named_with_where():
    def one_threshold(dV, cache):
        return {**book_step_backward(dV, cache),
                "theta_r": -book_step_backward(dV, cache)["theta_r"]}
    with pytest.raises(checks.SelfCheckFailed,
                       match=r"thresholds have the wrong sign.*\(in theta_r\)\.$"):
        checks.check_gru_step_backward(one_threshold)

    def one_unsummed(dV, cache):
        wrong = book_step_backward(dV, cache, "no batch sum")["theta_h"]
        return {**book_step_backward(dV, cache), "theta_h": wrong}
    with pytest.raises(checks.SelfCheckFailed,
                       match=r"not summed over the batch.*\(in theta_h\)\.$"):
        checks.check_gru_step_backward(one_unsummed)


def test_two_mistakes_are_both_named():
    with pytest.raises(checks.SelfCheckFailed,
                       match=r"two mistakes: sigma'\(a_z\).*; and sigma'\(a_r\)"):
        checks.check_gru_step_backward(
            lambda dV, cache: book_step_backward(dV, cache, "sigma z", "sigma r"))
    with pytest.raises(checks.SelfCheckFailed,
                       match=r"two mistakes: the shortcut.*; and .*wrong sign"):
        checks.check_gru_step_backward(
            lambda dV, cache: book_step_backward(dV, cache, "theta sign", "shortcut"))


def test_three_mistakes_name_the_first_wrong_gradient():
    with pytest.raises(checks.SelfCheckFailed, match=r'\["theta_h"\]: at index \(\d,\) expected .*'
                       r"\(also wrong: w_hx, w_hv, theta_z, .*V_prev\)"):
        checks.check_gru_step_backward(
            lambda dV, cache: book_step_backward(dV, cache, "sigma z", "sigma r", "tanh field"))


def nudged(key, index, by=1e-3):
    def gru_step_backward(dV, cache):
        grads = book_step_backward(dV, cache)
        grads[key] = grads[key].copy()
        grads[key][index] += by
        return grads
    return gru_step_backward


def transposed(key):
    def gru_step_backward(dV, cache):
        return {**book_step_backward(dV, cache), key: book_step_backward(dV, cache)[key].T}
    return gru_step_backward


@pytest.mark.parametrize("fn, message", [
    (nudged("w_hv", (1, 2)), r'\["w_hv"\]: at index \(1, 2\) expected -?\d.*difference 1.00e-03'),
    (nudged("V_prev", (2, 0)), r'\["V_prev"\]: at index \(2, 0\) expected'),
    (transposed("w_zx"), r'\["w_zx"\] is the transpose .* shape \(4, 2\)'),
    (transposed("w_rv"), r'\["w_rv"\] is the transpose'),
    (lambda dV, cache: list(book_step_backward(dV, cache).values()),
     "expected a dict of gradients"),
    (lambda dV, cache: {k: g for k, g in book_step_backward(dV, cache).items() if k != "theta_r"},
     r"the gradients \['theta_r'\] are missing"),
    (lambda dV, cache: {**book_step_backward(dV, cache), "theta_z": np.zeros((4, 1))},
     r'\["theta_z"\]: expected shape \(4,\), got \(4, 1\)'),
    (lambda dV, cache: {**book_step_backward(dV, cache), "w_zx": None}, r'\["w_zx"\] is None'),
    (lambda dV, cache: {**book_step_backward(dV, cache), "w_zx": "dw"},
     "expected an array of numbers"),
    (lambda dV, cache: cache["missing"], "gru_step_backward raised KeyError: 'missing'"),
    (lambda dV: dV, "raised TypeError"),
    ("not a function", "gru_step_backward: expected a function"),
])
def test_gru_step_backward_explains_what_is_wrong(fn, message):
    if callable(fn):
        fn.__name__ = "gru_step_backward"
    with pytest.raises(checks.SelfCheckFailed, match=message):
        checks.check_gru_step_backward(fn)


def test_a_gru_step_backward_stub_is_reported_as_not_written():
    def gru_step_backward(dV, cache):
        raise NotImplementedError()
    with pytest.raises(checks.SelfCheckFailed, match="gru_step_backward is not written yet"):
        checks.check_gru_step_backward(gru_step_backward)


@pytest.mark.parametrize("key, told", [
    ("theta_z", "the thresholds have the wrong sign"),
    ("theta_r", "the thresholds have the wrong sign"),
])
def test_a_slip_in_one_gradient_is_not_blamed_on_an_upstream_error(key, told):
    # found in review: theta_z's sign alone was once told as the update gate's term (dz), which
    # would have had the student break a right dz
    def flipped(dV, cache):
        grads = book_step_backward(dV, cache)
        grads[key] = -grads[key]
        return grads
    with pytest.raises(checks.SelfCheckFailed, match=told):
        checks.check_gru_step_backward(flipped)


def test_a_sign_slip_in_one_weight_names_the_gradient_not_a_mistake():
    def flipped(dV, cache):
        grads = book_step_backward(dV, cache)
        grads["w_zx"] = -grads["w_zx"]
        return grads
    with pytest.raises(checks.SelfCheckFailed) as failed:
        checks.check_gru_step_backward(flipped)
    assert "wrong sign: dV(t)/dz" not in str(failed.value) and "w_zx" in str(failed.value)


# --- Chapter 6 -------------------------------------------------------------------------------

SIZES = ("(the self-check calls your function with T = 3, B = 2, K = 5: take the sizes from "
         "O.shape)")


def softmax_last(O):
    e = np.exp(O - O.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_along(O, axis, shift=True):
    e = np.exp(O - O.max(axis=axis, keepdims=True) if shift else O)
    return e / e.sum(axis=axis, keepdims=True)


def ce_backward(O, y, wrong=None):
    T, B, K = O.shape
    p, e = softmax_last(O), np.eye(K)[y]
    if wrong in ("every target", "every target colon"):
        if wrong == "every target":
            p[..., y] -= 1
        else:
            p[:, :, y] -= 1
        return p / (T * B)
    if wrong == "global":
        return (np.exp(O - O.max()) / np.exp(O - O.max()).sum(axis=-1, keepdims=True) - e) / (T * B)
    return {None: (p - e) / (T * B), "no softmax": (O - e) / (T * B), "sign": (e - p) / (T * B),
            "no mean": p - e, "T": (p - e) / T, "B": (p - e) / B, "TBK": (p - e) / (T * B * K),
            "axis": (np.exp(O) / np.exp(O).sum(axis=0) - e) / (T * B),
            "axis 1": (softmax_along(O, 1) - e) / (T * B),
            "unstable": (softmax_along(O, -1, shift=False) - e) / (T * B),
            "off": (p - e) / (T * B) + 1e-6}[wrong]


def ce_backward_in_place(O, y_ids):
    """The chapter's solution: 1 subtracted at the target, without a one-hot array."""
    T, B, K = O.shape
    e = np.exp(O - O.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    p[np.arange(T)[:, None], np.arange(B)[None, :], y_ids] -= 1
    return p / (T * B)


def ce_backward_autograd(O, y_ids):
    """dH/dO by torch's autograd of its own cross-entropy, the mean over the T B positions."""
    import torch
    O = torch.tensor(O, dtype=torch.float64, requires_grad=True)
    K = O.shape[-1]
    torch.nn.functional.cross_entropy(O.reshape(-1, K), torch.tensor(y_ids).reshape(-1)).backward()
    return O.grad.numpy()


@pytest.mark.parametrize("solution", [ce_backward, ce_backward_in_place, ce_backward_autograd])
def test_cross_entropy_backward_passes_the_rule(solution, capsys):
    checks.check_cross_entropy_backward(solution)
    out = capsys.readouterr().out
    assert out.startswith("✓ cross_entropy_backward gives dH/dO = (p - y)")
    assert "(T=3, B=2, K=5)" in out and "+800" in out and "M" not in out


@pytest.mark.parametrize("wrong, message", [
    ("no softmax", "the softmax is missing"), ("sign", "the sign is flipped"),
    ("no mean", "the mean over the T B positions is missing"), ("T", "divided by T only"),
    ("B", "divided by B only"), ("TBK", r"divided by T \* B \* K, a mean over every entry"),
    ("axis", r"along axis 0 \(time\).*normalise along the last axis"),
    ("axis 1", r"along axis 1 \(the sequences of the batch\)"),
    ("every target", r"p\[\.\.\., y_ids\] -= 1 .*index one target per position, "
                     r"p\[np\.arange\(T\)\[:, None\], np\.arange\(B\), y_ids\] -= 1"),
    ("every target colon", r"p\[:, :, y_ids\] -= 1\) subtracts 1 in every position"),
    ("unstable", r"shifted by \+800 and another by -800: exp overflowed \(inf/NaN\): subtract "
                 r"each position's largest logit, O\.max\(axis=-1, keepdims=True\), before "
                 r"exponentiating\.$"),
    ("global", r"shifted by \+800 .* subtracted one global maximum O\.max\(\).*NaN"),
    ("off", r"^cross_entropy_backward\(O, y_ids\): at index \(\d, \d, \d\) expected"),
])
def test_cross_entropy_backward_names_the_mistake(wrong, message):
    with pytest.raises(checks.SelfCheckFailed, match=message) as failed:
        checks.check_cross_entropy_backward(lambda O, y: ce_backward(O, y, wrong))
    # the sizes are told where they can be the cause, a wrong shape or an exception, only
    assert SIZES not in str(failed.value) and " M " not in str(failed.value)


def test_the_mistake_at_every_target_is_what_the_check_says():
    # p[..., y] -= 1 subtracts 1 at every character that is some position's target, in every
    # position, once even where targets repeat; T = 1 included
    rng = np.random.default_rng(0)
    cases = ((3, 2, 5, [[1, 1], [3, 1], [0, 3]]), (1, 1, 4, [[2]]), (1, 3, 3, [[0, 0, 2]]))
    for T, B, K, y in cases:
        p, y = rng.random((T, B, K)), np.array(y)
        wrong = checks._minus_one_at_every_target(p, y)
        assert np.array_equal(wrong, p - np.isin(np.arange(K), y))
        if len(np.unique(y)) > 1:
            assert not np.array_equal(wrong, p - np.eye(K)[y])


def test_a_wrong_value_only_at_the_shifted_positions_is_located():
    def shaky(O, y):
        dO = ce_backward(O, y)
        dO[np.abs(O).max(axis=-1) > 400] *= 2
        return dO
    with pytest.raises(checks.SelfCheckFailed, match=r"by -800: at index \(\d, \d, \d\) expected"):
        checks.check_cross_entropy_backward(shaky)


def test_cross_entropy_backward_stub_shape_and_exception():
    def cross_entropy_backward(O, y):
        raise NotImplementedError
    with pytest.raises(checks.SelfCheckFailed, match="is not written yet") as failed:
        checks.check_cross_entropy_backward(cross_entropy_backward)
    assert SIZES not in str(failed.value)
    shape = r"expected shape \(3, 2, 5\), got \(6, 5\) \(the self-check"
    with pytest.raises(checks.SelfCheckFailed, match=shape) as failed:
        checks.check_cross_entropy_backward(lambda O, y: ce_backward(O, y).reshape(6, 5))
    assert str(failed.value).endswith(SIZES)

    def hard_coded(O, y_ids):       # the sizes of the chapter's text, not of O
        T, B, K = 64, 32, 65
        return (softmax_last(O) - np.eye(K)[y_ids]) / (T * B)
    with pytest.raises(checks.SelfCheckFailed, match="hard_coded raised ValueError") as failed:
        checks.check_cross_entropy_backward(hard_coded)
    assert str(failed.value).endswith(SIZES) and f"  {SIZES}" not in str(failed.value)


def bigram(train, val, K, alpha, wrong=None):
    counts = np.full((K, K), 1.0 if wrong == "alpha 1" else float(alpha))
    source = val if wrong == "val" else train
    if wrong == "once":
        counts[source[:-1], source[1:]] += 1
    else:
        np.add.at(counts, (source[:-1], source[1:]), 1.0)
    total = {"axis": counts.sum(axis=0, keepdims=True), "keepdims": counts.sum(axis=1),
             "joint": counts.sum()}.get(wrong, counts.sum(axis=1, keepdims=True))
    logp = np.log(counts / total)
    u, v = (val[1:], val[:-1]) if wrong == "swap" else (val[:-1], val[1:])
    h = -logp[u, v].sum() / (len(val) if wrong == "len" else len(u))
    return {"bits": h / np.log(2), "inf": np.inf}.get(wrong, h + (1e-3 if wrong == "off" else 0))


def bigram_by_loops(train_ids, val_ids, K, alpha):
    """Another right answer: the counts by a plain loop, the score by a sum of logs."""
    counts = [[alpha] * K for _ in range(K)]
    for u, v in zip(train_ids[:-1], train_ids[1:]):
        counts[u][v] += 1
    nats = [np.log(sum(counts[u])) - np.log(counts[u][v])
            for u, v in zip(val_ids[:-1], val_ids[1:])]
    return sum(nats) / len(nats)


@pytest.mark.parametrize("solution", [bigram, bigram_by_loops])
def test_bigram_passes_the_counts(solution, capsys):
    checks.check_bigram_cross_entropy(solution)
    assert capsys.readouterr().out.startswith("✓ bigram_cross_entropy scores add-alpha")


@pytest.mark.parametrize("wrong, message", [
    ("bits", "in bits, not nats"),
    ("axis", r"normalised along the wrong axis: P\(v \| u\) divides the row of the current "
             r"character u"),
    ("val", "counted in the validation text"),
    ("swap", "the wrong way round: the row is the current character u, the column the next v"),
    ("inf", "unless alpha is added"), ("off", "expected [0-9.]+ nats per character, got"),
    ("keepdims", r"alpha = 1\.0: counts\.sum\(axis=1\) has shape \(K,\) and divides column v by "
                 r"the row sum of v: use keepdims=True\.$"),
    ("once", r"counts\[u, v\] \+= 1 with arrays of indices counts a pair that repeats once.*"
             r"np\.add\.at"),
    ("joint", r"counts / counts\.sum\(\) is the joint probability P\(u, v\) .* not P\(v \| u\)"),
    ("alpha 1", r"with alpha = 0\.1: that is the score for alpha = 1: alpha is an argument"),
    ("len", r"divided by len\(val_ids\): n characters hold n - 1 neighbouring pairs"),
])
def test_bigram_names_the_mistake(wrong, message):
    with pytest.raises(checks.SelfCheckFailed, match=message) as failed:
        checks.check_bigram_cross_entropy(lambda t, v, K, a: bigram(t, v, K, a, wrong))
    # the characters are u (current) and v (next): b is the book's local field
    assert not re.search(r"\([ab] \| [ab]\)|\(a, b\)|character [ab]\b|(column|of) b\b",
                         str(failed.value))


def test_the_bigram_texts_tell_the_missing_keepdims_from_the_answer():
    # without keepdims the score moves by (ln rowsum(last) - ln rowsum(first)) / pairs, nothing
    # on a validation text that starts and ends with the same character, as it once did
    train = np.array([0, 1, 1, 0, 2, 0, 1, 2])
    for val, caught in (([1, 0, 2, 1], False), ([0, 1, 2, 1, 0, 5], True)):
        val = np.array(val)
        right = checks._bigram_cross_entropy(train, val, 6, 0.5)
        assert (abs(bigram(train, val, 6, 0.5, "keepdims") - right) > 1e-6) == caught


def test_bigram_wants_one_number():
    with pytest.raises(checks.SelfCheckFailed, match="expected one number"):
        checks.check_bigram_cross_entropy(lambda t, v, K, a: np.zeros(2))


# --- Chapter 7 -------------------------------------------------------------------------------



def combine(first, second, wrong=None):
    (a1, b1), (a2, b2) = first, second
    a = a1 + a2 if wrong == "a summed" else a1 * a2
    b = {"swapped": a1 * b2 + b1, "no b2": a2 * b1, "no a2": b1 + b2,
         "off": a2 * b1 + b2 + 1e-6}.get(wrong, a2 * b1 + b2)
    return {"list": [a1 * a2, a2 * b1 + b2], "stacked": np.stack([a1 * a2, a2 * b1 + b2]),
            "one": a, "short b": (a, b[:2]), "triple": (a, b, b), "none": None}.get(wrong, (a, b))


@pytest.mark.parametrize("returns", [None, "list", "stacked"])
def test_combine_passes_any_pair_in_time_order(returns, capsys):
    checks.check_combine(lambda first, second: combine(first, second, returns))
    out = capsys.readouterr().out
    assert out.startswith("✓ combine composes two steps in time order, (a1 a2, a2 b1 + b2)")
    assert "T = 6" in out


def affine_compose(f, g):
    """The map V -> f(g(V)) of two pairs (a, b): the truth the test compares with itself."""
    return f[0] * g[0], f[0] * g[1] + f[1]


@pytest.mark.parametrize("wrong", ["swapped", "no a2"])
def test_combine_rejects_an_associative_operator_that_is_wrong(wrong):
    # associativity, which a parallel scan needs, holds for these two mistakes: it cannot be the
    # check, the comparison with the composed maps is
    rng = np.random.default_rng(5)
    p, q, r = (tuple(rng.standard_normal((2, 3))) for _ in range(3))
    op = lambda x, y: combine(x, y, wrong)  # noqa: E731
    assert all(np.allclose(u, v) for u, v in zip(op(op(p, q), r), op(p, op(q, r))))
    assert not np.allclose(op(p, q)[1], affine_compose(q, p)[1])
    with pytest.raises(checks.SelfCheckFailed):
        checks.check_combine(op)


@pytest.mark.parametrize("wrong, message", [
    ("swapped", r"^combine\(first, second\): the b-part is a1 \* b2 \+ b1: that applies `second` "
                r"first\. `first` is the earlier step"),
    ("no b2", r"the b-part is a2 \* b1: b2 is forgotten"),
    ("no a2", r"the b-part is b1 \+ b2: the factor a2 is forgotten"),
    ("a summed", r"the a-part is a1 \+ a2: composing the two maps multiplies their slopes"),
    ("off", r"^combine\(first, second\)\[1\], the b-part: at index \(\d, \d\) expected"),
    ("one", r"expected a pair \(a, b\) of arrays, got ndarray of length 3"),
    ("triple", r"expected a pair \(a, b\) of arrays, got tuple of length 3"),
    ("short b", r"\[1\], the b-part: expected shape \(3, 4\), got \(2, 4\)"),
    ("none", r"combine\(first, second\) is None: not set yet"),
])
def test_combine_names_the_mistake(wrong, message):
    with pytest.raises(checks.SelfCheckFailed, match=message):
        checks.check_combine(lambda first, second: combine(first, second, wrong))


def test_combine_folds_the_student_operator_and_compares_with_the_loop():
    calls = []

    def wears_out(first, second):   # right on its first calls only: the fold must notice
        calls.append(1)
        a, b = combine(first, second)
        return (a, b) if len(calls) < 3 else (a, 0.5 * b)
    with pytest.raises(checks.SelfCheckFailed,
                       match=r"^combine folded from the identity \(1, 0\) over the steps 1\.\.2, "
                             r"the b-part \(V\(2\) of the loop from V\(0\) = 0\): at index"):
        checks.check_combine(wears_out)
    # the loop the fold is compared with: V(t) = a(t) V(t-1) + b(t), T = 1 included
    a, b, v0 = np.array([[2.0], [3.0]]), np.array([[1.0], [-1.0]]), np.array([0.5])
    assert np.array_equal(checks._linear_loop(a, b, v0), [[0.5], [2.0], [5.0]])
    assert np.array_equal(checks._linear_loop(a[:1], b[:1], v0), [[0.5], [2.0]])


def test_combine_stub_exception_and_in_place_update():
    def combine_stub(first, second):
        raise NotImplementedError
    with pytest.raises(checks.SelfCheckFailed, match="combine_stub is not written yet"):
        checks.check_combine(combine_stub)
    with pytest.raises(checks.SelfCheckFailed, match=r"<lambda> raised IndexError: tuple index"):
        checks.check_combine(lambda first, second: (first[0] * second[0], first[2]))
    with pytest.raises(checks.SelfCheckFailed, match="combine: expected a function, got str"):
        checks.check_combine("combine")

    def in_place(first, second):
        (a1, b1), (a2, b2) = first, second
        a1 *= a2
        b1 *= a2
        b1 += b2
        return a1, b1
    with pytest.raises(checks.SelfCheckFailed, match="combine changed the arrays it was given"):
        checks.check_combine(in_place)


def log_scan(a, b, v0, wrong=None):
    """A student's log-space scan, right or with the ``wrong`` mistake."""
    log_a = np.log(a)
    A = np.cumsum(log_a, axis=0)                             # A(1) .. A(T)
    A_prev = np.concatenate([np.zeros_like(A[:1]), A[:-1]])  # A(0) .. A(T-1)
    log_v0 = {"sigmoid": np.log(1 / (1 + np.exp(-v0))), "half": np.log(v0 + 0.5),
              "twice": np.log(v0) + np.log(2.0)}.get(wrong, np.log(v0))
    inner = A_prev if wrong in ("exclusive", "inner") else A
    outer = A_prev if wrong in ("exclusive", "outer") else A
    terms = np.log(b) - inner
    if wrong in ("no v0", "no v0, T rows"):
        log_V = outer + np.logaddexp.accumulate(terms, axis=0)
    else:
        log_V = outer + np.logaddexp.accumulate(np.concatenate([log_v0[None], terms]),
                                                axis=0)[1:]
    if wrong in ("T rows", "no v0, T rows"):
        return np.exp(log_V)
    log_V = np.concatenate([np.log(v0)[None], log_V])
    return log_V if wrong == "log" else np.exp(log_V) * (1 + 1e-8 if wrong == "off" else 1)


def log_scan_by_steps(a, b, v0):
    """Another right answer: log V(t) = logaddexp(log a(t) + log V(t-1), log b(t)), step by step."""
    log_V = [np.log(v0)]
    for log_a, log_b in zip(np.log(a), np.log(b)):
        log_V.append(np.logaddexp(log_a + log_V[-1], log_b))
    return np.exp(np.array(log_V))


def products_scan(a, b, v0):
    """The products formed directly: right where they neither underflow nor overflow."""
    P = np.cumprod(a, axis=0)
    return np.concatenate([v0[None], P * (v0 + np.cumsum(b / P, axis=0))])


@pytest.mark.parametrize("solution", [log_scan, log_scan_by_steps])
def test_log_space_scan_passes_the_loop(solution, capsys):
    checks.check_log_space_scan(solution)
    out = capsys.readouterr().out
    assert out.startswith("✓ log_space_scan matches the loop V(t) = a(t) V(t-1) + b(t)")
    assert "T = 3000" in out


def test_the_long_case_defeats_the_products_and_not_the_loop():
    (a, b, v0), (a_long, b_long, v0_long) = checks._log_scan_cases()
    assert np.allclose(products_scan(a, b, v0), checks._linear_loop(a, b, v0), rtol=1e-12)
    with np.errstate(all="ignore"):
        naive = products_scan(a_long, b_long, v0_long)
        # a(1) ... a(T) underflows: exp(-1100) is far below the smallest float64, exp(-744)
        assert np.all(np.prod(a_long, axis=0) <= 5e-324)
        assert np.all(np.sum(np.log(a_long), axis=0) < -1000)
    assert not np.all(np.isfinite(naive))
    V = checks._linear_loop(a_long, b_long, v0_long)
    assert V.shape == (3001, 3) and np.all(np.isfinite(V)) and np.all(V > 0)
    assert np.allclose(log_scan(a_long, b_long, v0_long), V, rtol=1e-10, atol=0)


def test_log_space_scan_names_the_products_formed_directly():
    with pytest.raises(checks.SelfCheckFailed,
                       match=r"^log_space_scan\(a, b, v0\) over T = 3000 steps: inf or NaN, "
                             r"first at V\(\d{4}\): the products were formed directly\."):
        checks.check_log_space_scan(products_scan)


STATE = r"the initial state is a state, not a candidate \(lucidrains/minGRU-pytorch issue #9\)"


@pytest.mark.parametrize("wrong, message", [
    ("no v0", r"v0 is left out: that is the loop started at V\(0\) = 0"),
    ("sigmoid", r"sigmoid\(v0\) entered where v0 belongs: " + STATE),
    ("half", r"v0 \+ 1/2 entered where v0 belongs, Feng et al.'s g\(v0\) .*: " + STATE),
    ("twice", "v0 entered twice"),
    ("exclusive", r"a\*\(t-1\) is used in place of a\*\(t\), inside the sum and outside the log"),
    ("inner", r"inside the sum, a\*\(s-1\) is used in place of a\*\(s\): .*V\(t\) = a\(t\) "
              r"\[V\(t-1\) \+ b\(t\)\]"),
    ("outer", r"outside the log, a\*\(t-1\) is used in place of a\*\(t\)"),
    ("log", "that is log V: return V itself"),
    ("T rows", r"expected shape \(9, 3\), got \(8, 3\): V\[0\] = v0 is missing\. V holds"),
    ("no v0, T rows", r"V\[0\] = v0 is missing, and v0 is left out of the sum"),
    ("off", r"^log_space_scan\(a, b, v0\): at index \(\d, \d\) expected .*\(difference "
            r"[0-9.]+e-0[89], relative tolerance 1e-10\)$"),
])
def test_log_space_scan_names_the_mistake(wrong, message):
    with pytest.raises(checks.SelfCheckFailed, match=message):
        checks.check_log_space_scan(lambda a, b, v0: log_scan(a, b, v0, wrong))


@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 6), N=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_the_scans_by_products_are_the_recurrences_the_hints_name(T, N, seed):
    rng = np.random.default_rng(seed)
    a, b, v0 = rng.uniform(0.2, 2.0, (T, N)), rng.uniform(0.1, 1.0, (T, N)), rng.uniform(0, 2, N)
    V = checks._linear_loop(a, b, v0)
    assert V.shape == (T + 1, N) and np.array_equal(V[0], v0)
    assert np.allclose(checks._scan_by_products(a, b, v0), V, rtol=1e-12, atol=0)
    assert np.allclose(log_scan(a, b, v0 + 0.1), checks._linear_loop(a, b, v0 + 0.1), rtol=1e-12)
    # inside the sum a*(s-1): V(t) = a(t) [V(t-1) + b(t)]
    assert np.allclose(checks._scan_by_products(a, b, v0, 0, 1), checks._linear_loop(a, a * b, v0),
                       rtol=1e-12, atol=0)
    # a*(t-1) everywhere: step t multiplies by a(t-1), step 1 by 1
    shifted = np.concatenate([np.ones((1, N)), a[:-1]])
    assert np.allclose(checks._scan_by_products(a, b, v0, 1, 1),
                       checks._linear_loop(shifted, b, v0), rtol=1e-12, atol=0)
    # a*(t-1) outside the log only: V(t) / a(t)
    assert np.allclose(checks._scan_by_products(a, b, v0, 1, 0)[1:], V[1:] / a, rtol=1e-12, atol=0)


def test_the_log_scan_mistakes_differ_from_the_answer_and_each_other():
    (a, b, v0), _ = checks._log_scan_cases()
    c = checks.SimpleNamespace(a=a, b=b, v0=v0)
    rows = [mistake(c)[1:] for _, mistake in checks._LOG_SCAN_MISTAKES]
    rows.append(checks._linear_loop(a, b, v0)[1:])
    assert all(not np.allclose(x, y, rtol=1e-6) for i, x in enumerate(rows) for y in rows[i + 1:])
    # the products with no shift are the answer
    assert np.allclose(checks._scan_by_products(a, b, v0), checks._linear_loop(a, b, v0),
                       rtol=1e-12)


def test_log_space_scan_stub_and_exception():
    def log_space_scan(a, b, v0):
        raise NotImplementedError("write this")
    with pytest.raises(checks.SelfCheckFailed, match="log_space_scan is not written yet"):
        checks.check_log_space_scan(log_space_scan)
    with pytest.raises(checks.SelfCheckFailed,
                       match=r"<lambda> raised ValueError: .*could not be broadcast"):
        checks.check_log_space_scan(lambda a, b, v0: a + v0[:2])
    with pytest.raises(checks.SelfCheckFailed, match="log_space_scan: expected a function"):
        checks.check_log_space_scan(None)


def gate(s):
    e = np.exp(-np.abs(s))
    return np.where(s > 0, e, 1.0) / (1.0 + e)


@pytest.mark.parametrize("solution", [
    gate, lambda s: np.exp(-np.logaddexp(0.0, s)),
    lambda s: [1 / (1 + np.exp(v)) if v <= 0 else np.exp(-v) / (1 + np.exp(-v)) for v in s],
])
def test_theorem1_gate_passes_sigma_of_minus_s(solution, capsys):
    checks.check_theorem1_gate(solution)
    out = capsys.readouterr().out
    assert out.startswith("✓ theorem1_gate gives z = exp(-softplus(s)) = sigma(-s)")
    assert "without overflow" in out


def naive_softplus(s):
    return np.log1p(np.exp(s))


@pytest.mark.parametrize("fn, message", [
    (lambda s: gate(-s), r"^theorem1_gate\(s\) for s in \[-30, 30\]: that is sigma\(s\) = "
                         r"1 - exp\(-softplus\(s\)\), the paper's gate g = 1 - z, which takes in "
                         r"the new input x\(t\): the book's z keeps the state"),
    (lambda s: 1 - np.exp(-np.logaddexp(0.0, s)), r"that is sigma\(s\) = 1 - exp\(-softplus"),
    (lambda s: np.exp(-s), r"that is exp\(-s\), the step Delta = s: .* softplus\(s\)"),
    (lambda s: np.logaddexp(0.0, s), r"that is Delta = softplus\(s\) itself"),
    (lambda s: np.exp(-naive_softplus(s)),
     r"^theorem1_gate\(s\) at s = -1000, -800, 800, 1000: RuntimeWarning: overflow encountered "
     r"in exp\. Compute exp\(-softplus\(s\)\) as sigma\(-s\)"),
    (lambda s: 1 / (1 + np.exp(s)), r"RuntimeWarning: overflow encountered in exp\. Compute"),
    (lambda s: np.exp(-s) / (1 + np.exp(-s)),
     r"1000: gave inf or NaN; RuntimeWarning: overflow encountered in exp\. Compute"),
    (lambda s: gate(s) * (1 + 1e-9), r"^theorem1_gate\(s\) for s in linspace\(-30, 30, 121\): "
                                     r"at index \(\d+,\) expected .*relative tolerance 1e-12"),
    (lambda s: np.where(np.abs(s) > 100, 0.5, gate(s)),
     r"^theorem1_gate\(s\) at s = -1000, -800, 800, 1000: at index \(2,\) expected 0, got 0\.5 "
     r"\(difference 5\.00e-01, relative tolerance 1e-12\)$"),
    (lambda s: gate(s)[:-1], r"expected shape \(121,\), got \(120,\)"),
])
def test_theorem1_gate_names_the_mistake(fn, message):
    with pytest.raises(checks.SelfCheckFailed, match=message):
        checks.check_theorem1_gate(fn)


def test_theorem1_gate_stub_and_exception():
    def theorem1_gate(s):
        raise NotImplementedError
    with pytest.raises(checks.SelfCheckFailed, match="theorem1_gate is not written yet"):
        checks.check_theorem1_gate(theorem1_gate)

    def by_loop(s):
        return [1 / (1 + np.exp(v)) for v in s if v < 0][0] + s["z"]
    with pytest.raises(checks.SelfCheckFailed, match="by_loop raised IndexError"):
        checks.check_theorem1_gate(by_loop)


def test_theorem1_gate_leaves_the_warning_filters_as_they_were():
    import warnings
    before = list(warnings.filters)
    with pytest.raises(checks.SelfCheckFailed, match="overflow"):
        checks.check_theorem1_gate(lambda s: 1 / (1 + np.exp(s)))
    assert warnings.filters == before and np.geterr()["over"] == "warn"


# --- the hidden cases of the graded tests (hidden=True) ----------------------------------------
# The course folder (tools/scripts/course.py) runs each check twice in its graded test cell: as
# the student sees it, then with hidden=True in a block that nbgrader hides. Each right answer
# passes the hidden cases; each answer below fits the visible case (it passes the check as the
# student sees it) but not the exercise, and the hidden cases catch it.

def book_clip(grads, max_norm):
    """Chapter 3's solution, which leaves gradients that are all zero alone."""
    total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    scale = min(1.0, max_norm / total) if total > 0 else 1.0
    return [g * scale for g in grads]


def gru_step_solution(V_prev, x_t, params):
    return book_gru_step(V_prev, x_t, params)


def ce_backward_fixed_sizes(O, y_ids):
    """Takes its sizes from the text of the exercise (the self-check's T = 3, B = 2, K = 5)."""
    p = softmax_last(O)
    p[np.arange(3)[:, None], np.arange(2), y_ids] -= 1
    return p / 6


def bigram_sizing_itself(train_ids, val_ids, K, alpha):
    """Counts only the characters the texts hold, not the K it is given."""
    K = int(max(train_ids.max(), val_ids.max())) + 1
    return bigram(train_ids, val_ids, K, alpha)


def clip_in_python_floats(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads)))
    return [g * min(1.0, max_norm / total) for g in grads]


def squeezed(fn):
    """``fn`` whose result loses its axes of length 1, as np.squeeze does."""
    def wrapper(*args):
        out = fn(*args)
        if isinstance(out, dict):
            return {k: np.squeeze(v) for k, v in out.items()}
        return np.squeeze(out)
    return wrapper


LATCH_RIGHT = (np.array([[1.15]]), np.array([[2.0, -2.0]]), np.zeros(1))
# pulses that move V across 0 from a stored bit, but not from a freshly repeated pulse's V = 0.997
LATCH_WEAK_PULSES = (np.array([[1.5]]), np.array([[1.9, -1.9]]), np.zeros(1))

# (check, a right answer, an answer that fits the visible case only, what the hidden case says)
HIDDEN = [
    (checks.check_rnn_step, good_step, squeezed(good_step),
     r"^rnn_step\(\.\.\.\) with B=1, N=1, K=1: expected shape \(1, 1\), got \(\)$"),
    (checks.check_gru_step, gru_step_solution, squeezed(gru_step_solution),
     r"^gru_step\(\.\.\.\) with B=1, N=1, K=1: expected shape \(1, 1\), got \(\)$"),
    (checks.check_gru_step_backward, book_step_backward, squeezed(book_step_backward),
     r'^gru_step_backward\(\.\.\.\) with B=1, N=2, K=1\["w_hx"\]: expected shape \(2, 1\), '
     r"got \(2,\)"),
    (checks.check_bptt_step, good_bptt_step, squeezed(good_bptt_step),
     r"^bptt_step\(\.\.\.\) with T=1, B=1, N=1, K=1, M=1: expected shape \(1, 1\), got \(\)$"),
    (checks.check_backprop_states, good_backprop_states,
     lambda w, gp, d: good_backprop_states(w, gp, d) if len(gp) in (6, 1) else 0 * gp,
     r"^backprop_states\(\.\.\.\) with T=3, B=1, N=5: expected shape \(4, 1, 5\), "
     r"got \(3, 1, 5\)$"),
    (checks.check_clip_by_norm, book_clip, clip_in_python_floats,
     r"^clip_in_python_floats raised ZeroDivisionError: float division by zero$"),
    (checks.check_wilson_interval, good_wilson,
     lambda k, n, z=1.96: good_wilson(k, n, z) if n <= 20 else (0.0, 1.0),   # tuned to few trials
     r"^wilson_interval\(500, 1000, z=1\.96\): expected \(0\.4691, 0\.5309\), got \(0\.0000, "
     r"1\.0000\)$"),
    (checks.check_cross_entropy_backward, ce_backward_in_place, ce_backward_fixed_sizes,
     r"^ce_backward_fixed_sizes raised IndexError: .*\(the self-check calls your function with "
     r"T = 1, B = 1, K = 2: take the sizes from O\.shape\)$"),
    (checks.check_bigram_cross_entropy, bigram, bigram_sizing_itself,
     r"^bigram_cross_entropy\(train_ids, val_ids, K, alpha\) with alpha = 0\.5 \(a hidden case: "
     r"characters that neither text uses\): expected [0-9.]+ nats per character, got [0-9.]+$"),
]
HIDDEN_IDS = [check.__name__ for check, *_ in HIDDEN]


@pytest.mark.parametrize("check, right, fitted, message", HIDDEN, ids=HIDDEN_IDS)
def test_a_right_answer_passes_the_hidden_cases(check, right, fitted, message, capsys):
    check(right, hidden=True)
    name = check.__name__.removeprefix("check_")
    assert capsys.readouterr().out.startswith(f"✓ {name} passes the hidden cases: ")


@pytest.mark.parametrize("check, right, fitted, message", HIDDEN, ids=HIDDEN_IDS)
def test_an_answer_that_fits_the_visible_case_only_fails_the_hidden_cases(check, right, fitted,
                                                                        message, capsys):
    check(fitted)
    assert capsys.readouterr().out.startswith("✓ ")
    with pytest.raises(checks.SelfCheckFailed, match=message):
        check(fitted, hidden=True)


def test_the_latch_with_weak_pulses_fails_a_repeated_pulse(capsys):
    checks.check_latch(*LATCH_WEAK_PULSES)
    assert capsys.readouterr().out.startswith("✓ the latch works with self-weight 1.5")
    # t = 1005: the second set pulse (V = 0.997), t = 1006 the reset on the next step
    message = (r"^in a hidden case, after the reset pulse at t=1006 on the step after a set pulse, "
               r"V\(1006\) = -0\.38\d: expected below -0\.5 until t=2005\. The pulse does not move "
               r"V far enough from every state the latch can be in: make the pulses stronger\.$")
    with pytest.raises(checks.SelfCheckFailed, match=message):
        checks.check_latch(*LATCH_WEAK_PULSES, hidden=True)
    checks.check_latch(*LATCH_RIGHT, hidden=True)
    assert capsys.readouterr().out.startswith("✓ the latch passes the hidden cases: ")


@pytest.mark.parametrize("w_vv, w_vx, message", [
    (0.5, 3.0, r"after the set pulse at t=5, V\(6\) = \+0\.\d+: expected above \+0\.5 until "
               r"t=1004\. The stored bit leaks away\.$"),
    (2.0, 3.0, "the chapter's own latch uses 2"),
])
def test_the_hidden_latch_cases_keep_the_visible_requirements(w_vv, w_vx, message):
    with pytest.raises(checks.SelfCheckFailed, match=message):
        checks.check_latch(np.array([[w_vv]]), np.array([[w_vx, -w_vx]]), np.zeros(1),
                           hidden=True)


def test_the_hidden_cases_are_other_cases_than_the_visible_ones(capsys):
    # each hidden case differs from the visible one in its sizes, and the hidden cases include a
    # batch of one, where a squeeze or a sum without keepdims shows
    visible = {"rnn_step": (3, 4, 2), "gru_step": (3, 4, 2), "gru_step_backward": (3, 4, 2),
               "bptt_step": (5, 2, 3, 2, 2), "cross_entropy_backward": (3, 2, 5)}
    for name, sizes in visible.items():
        cases = checks._HIDDEN[name]
        assert sizes not in cases and len(set(cases)) == len(cases) >= 3
        assert any(case[-3 if name == "cross_entropy_backward" else 0] == 1 for case in cases)
    assert not {(6, 3, 4), (1, 1, 1)} & set(checks._HIDDEN["backprop_states"])


def test_the_hidden_clip_cases_have_zero_and_exact_thresholds(capsys):
    seen = []

    def recording(grads, max_norm):
        seen.append((sum(float(np.sum(g ** 2)) for g in grads) ** 0.5, max_norm))
        return book_clip(grads, max_norm)
    checks.check_clip_by_norm(recording, hidden=True)
    assert (0.0, 1) in seen                                          # all gradients zero
    assert any(total > 0 and max_norm == pytest.approx(total, rel=1e-15)
               for total, max_norm in seen)
    assert any(type(max_norm) is int and total > max_norm for total, max_norm in seen)


@pytest.mark.parametrize("check, args", [
    (checks.check_rnn_step, (good_step,)), (checks.check_latch, LATCH_RIGHT),
    (checks.check_gru_step, (gru_step_solution,)),
    (checks.check_gru_step_backward, (book_step_backward,)),
    (checks.check_bptt_step, (good_bptt_step,)),
    (checks.check_backprop_states, (good_backprop_states,)),
    (checks.check_clip_by_norm, (book_clip,)), (checks.check_wilson_interval, (good_wilson,)),
    (checks.check_cross_entropy_backward, (ce_backward_in_place,)),
    (checks.check_bigram_cross_entropy, (bigram,)),
])
@pytest.mark.parametrize("bad", [1, "yes", None, 0.0])
def test_hidden_must_be_a_flag(check, args, bad):
    with pytest.raises(ValueError, match=r"^hidden: expected True or False"):
        check(*args, hidden=bad)


def test_a_warning_in_a_hidden_edge_case_does_not_reach_stderr(capfd):
    # nbgrader scores a test cell with stderr output zero: 0 / 0.0 inside the student's function,
    # discarded by min(1, inf), is silenced in the hidden cases (and only there)
    def clip_dividing_by_zero(grads, max_norm):
        total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
        return [g * min(1.0, max_norm / total) for g in grads]
    checks.check_clip_by_norm(clip_dividing_by_zero, hidden=True)
    out, err = capfd.readouterr()
    assert out.startswith("✓ clip_by_norm passes the hidden cases") and err == ""
    with pytest.raises(RuntimeWarning, match="divide by zero"):
        clip_dividing_by_zero([np.zeros(2)], 1.0)


# --- Chapter 7's hidden cases ------------------------------------------------------------------

def combine_by_division(first, second):
    """The b-part by the closed form a (b1 / a1 + b2 / a): right unless a gate is 0."""
    (a1, b1), (a2, b2) = first, second
    a = a1 * a2
    return a, a * (b1 / a1 + b2 / a)


def combine_fixed_shape(first, second):
    """Writes into arrays of the visible case's shape (3, 4)."""
    out = np.empty((2, 3, 4))
    out[0], out[1] = first[0] * second[0], second[0] * first[1] + second[1]
    return out


def log_scan_fixed_width(a, b, v0):
    """The chapter's solution with the visible case's N = 3 typed in."""
    a_star = np.concatenate([np.zeros((1, 3)), np.cumsum(np.log(a), axis=0)])
    with np.errstate(divide="ignore"):
        log_b = np.log(np.concatenate([v0[None], b]))
    return np.exp(a_star + np.logaddexp.accumulate(log_b - a_star, axis=0))


def log_scan_v0_factored(a, b, v0):
    """V = v0 a(1)...a(t) (1 + sum b / (v0 a(1)...a(s))) in log space: right while v0 > 0."""
    A = np.concatenate([np.zeros((1, a.shape[1])), np.cumsum(np.log(a), axis=0)])
    terms = np.concatenate([np.zeros((1, a.shape[1])), np.log(b) - np.log(v0) - A[1:]])
    return v0 * np.exp(A + np.logaddexp.accumulate(terms, axis=0))


def gate_saturated(s):
    """sigma(-s) on the visible grid, 0 or 1 beyond |s| = 30."""
    return np.where(np.abs(s) > 30, (s < 0) * 1.0, gate(s))


def gate_by_entries(s):
    """A loop over the entries of a vector: elementwise for s of one axis only."""
    return [1 / (1 + np.exp(v)) if v <= 0 else np.exp(-v) / (1 + np.exp(-v)) for v in s]


def gate_masked(s):
    """1 / (1 + exp(s)), with s >= 800 set to 0 apart: no overflow on the visible grids only."""
    z = np.zeros_like(s)
    small = s < 800
    z[small] = 1 / (1 + np.exp(s[small]))
    return z


HIDDEN7 = [
    (checks.check_combine, combine, combine_by_division,
     r"^combine\(first, second\)\[1\], the b-part with arrays of shape \(4, 2\) \(a hidden "
     r"case: gates of 0 \(the past forgotten\), below 0 and above 1\): at index \(\d, \d\) "
     r"expected -?[0-9.]+, got nan"),
    (checks.check_combine, combine, combine_fixed_shape,
     r"^combine\(first, second\)\[0\], the a-part with arrays of shape \(1,\) \(a hidden case: "
     r"one unit over one step\): expected shape \(1,\), got \(3, 4\)$"),
    (checks.check_combine, combine, lambda f, s: np.squeeze(np.array(combine(f, s))),
     r"the a-part with arrays of shape \(1,\) .*: expected shape \(1,\), got \(\)$"),
    (checks.check_log_space_scan, log_scan, log_scan_fixed_width,
     r"^log_scan_fixed_width raised ValueError: .* \(the self-check calls your function with "
     r"T = 1, N = 1: take the sizes from a\.shape\)$"),
    (checks.check_log_space_scan, log_scan, log_scan_v0_factored,
     r"^log_space_scan\(a, b, v0\) \(a hidden case: initial states of 0 and inputs of 0\): inf "
     r"or NaN, first at V\(1\), where some V\(0\) = 0: log 0 = -inf is a fine first term"),
    (checks.check_theorem1_gate, gate, gate_saturated,
     r"^theorem1_gate\(s\) \(a hidden case: 30 < \|s\| < 800, between the visible grids, s of "
     r"shape \(78, 2\)\): at index \(\d+, 0\) expected [0-9.e-]+, got 0 \(difference"),
    (checks.check_theorem1_gate, gate, gate_by_entries,
     r"^gate_by_entries raised ValueError: The truth value .* \(the self-check calls your "
     r"function with s of shape \(78, 2\): the gate acts elementwise, on arrays of any shape\)$"),
    (checks.check_theorem1_gate, gate, gate_masked,
     r"^theorem1_gate\(s\) \(a hidden case: 30 < \|s\| < 800, .*\): RuntimeWarning: overflow "
     r"encountered in exp\. Compute exp\(-softplus\(s\)\) as sigma\(-s\)"),
]
HIDDEN7_IDS = [fitted.__name__ for _, _, fitted, _ in HIDDEN7]


@pytest.mark.parametrize("check, right, fitted, message", HIDDEN7, ids=HIDDEN7_IDS)
def test_chapter7_answers_that_fit_the_visible_case_only_fail_the_hidden_cases(
        check, right, fitted, message, capfd):
    check(right, hidden=True)
    name = check.__name__.removeprefix("check_")
    assert capfd.readouterr().out.startswith(f"✓ {name} passes the hidden cases: ")
    check(fitted)
    assert capfd.readouterr().out.startswith("✓ ")
    with pytest.raises(checks.SelfCheckFailed, match=message):
        check(fitted, hidden=True)
    assert capfd.readouterr().err == ""     # no numpy warning on stderr, as nbgrader wants


def affine_compose_in_time(first, second):
    """The maps composed, "second after first", by ``affine_compose``."""
    return affine_compose(second, first)


def scan_log_space(a, b, v0):
    """The library's own log-space scan: a student may call it, and the check cannot tell."""
    from rnnbook import scan
    return scan.log_space(a, b, v0)


@pytest.mark.parametrize("check, solutions", [
    (checks.check_combine, [lambda f, s: combine(f, s, "list"), affine_compose_in_time]),
    (checks.check_log_space_scan, [log_scan_by_steps, scan_log_space]),
    (checks.check_theorem1_gate, [lambda s: np.exp(-np.logaddexp(0.0, s)),
                                  lambda s: checks._sigma(-s)]),
])
def test_other_right_chapter7_answers_pass_the_hidden_cases(check, solutions, capsys):
    for solution in solutions:
        check(solution, hidden=True)
        assert capsys.readouterr().out.startswith("✓ ")


@pytest.mark.parametrize("check, answer", [
    (checks.check_combine, combine), (checks.check_log_space_scan, log_scan),
    (checks.check_theorem1_gate, gate)])
@pytest.mark.parametrize("bad", [1, "yes", None])
def test_chapter7_hidden_must_be_a_flag(check, answer, bad):
    with pytest.raises(ValueError, match=r"^hidden: expected True or False"):
        check(answer, hidden=bad)


def test_the_hidden_combine_cases_hold_one_step_of_one_unit_and_closed_gates():
    cases = checks._HIDDEN["combine"]
    assert (3, 4) not in {shape for shape, _, _ in cases.values()}
    assert ((1,), 1) in {(shape, T) for shape, T, _ in cases.values()}
    seen = []

    def recording(first, second):
        seen.append(np.concatenate([np.ravel(first[0]), np.ravel(second[0])]))
        return combine(first, second)
    checks.check_combine(recording, hidden=True)
    gates = np.concatenate(seen)
    assert np.any(gates == 0) and np.any(gates > 1) and np.any(gates < 0)
    assert np.any((gates > 0) & (gates < 1))


@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 9), N=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_the_scan_built_from_combine_is_hillis_and_steeles(T, N, seed):
    from rnnbook import scan
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((T, N)), rng.standard_normal((T, N))
    calls = []

    def counting(first, second):
        calls.append(np.shape(first[0]))
        return combine(first, second)
    S = checks._combine_scan(counting, a, b, "")
    assert np.allclose(S, checks._linear_loop(a, b, np.zeros(N))[1:], rtol=1e-12, atol=1e-12)
    assert np.allclose(S, scan.hillis_steele(a, b)[1:], rtol=1e-12, atol=1e-12)
    # one call a round, on all elements t >= d at once: (T - 1, N), (T - 2, N), (T - 4, N), ...
    assert calls == [(T - d, N) for d in (1, 2, 4, 8) if d < T]

    def last_round_wrong(first, second):
        a_part, b_part = combine(first, second)
        return a_part, b_part + (len(b_part) == T - max(d for d in (1, 2, 4, 8) if d < T))
    if T > 1:
        with pytest.raises(checks.SelfCheckFailed, match=r"^Hillis and Steele's scan with your "
                           r"combine, round d = \d \(it combines the elements t - \d and t for "
                           r"every t at once\), the b-part: at index"):
            checks._combine_scan(last_round_wrong, a, b, "")


def test_the_hidden_log_scan_cases_are_the_edge_cases_they_say():
    cases = checks._hidden_log_scan_cases()
    one, zeros, dip = cases.values()
    assert [a.shape for a in one] == [(1, 1), (1, 1), (1,)]
    visible = {a.shape for a, _, _ in checks._log_scan_cases()}
    assert not visible & {a.shape for a, _, _ in cases.values()}
    a, b, v0 = zeros
    V = checks._linear_loop(a, b, v0)
    assert np.any(v0 == 0) and np.any(b == 0) and np.any(V[1:] == 0) and np.any(V[1:] > 0)
    assert np.any(a > 1) and np.any(a < 1)
    a, b, v0 = dip
    A = np.cumsum(np.log(a), axis=0)
    # the products underflow on the way (exp(-745) is below the smallest float64), then recover
    assert np.all(A.min(axis=0) < -745) and np.all(A[-1] > -700)
    V = checks._linear_loop(a, b, v0)
    assert np.all(np.isfinite(V)) and np.all(V > 0) and V[-1].min() > 1e50
    assert np.allclose(log_scan(a, b, v0), V, rtol=1e-10, atol=0)
    with np.errstate(all="ignore"):
        assert not np.all(np.isfinite(products_scan(a, b, v0)))


def test_the_hidden_gate_cases_lie_between_the_visible_grids_and_around_the_overflow():
    rng = np.random.default_rng(0)
    s = {case: checks._hidden_gate_s(shape, kind, rng)
         for case, (shape, kind) in checks._HIDDEN["theorem1_gate"].items()}
    between = next(v for case, v in s.items() if case.startswith("30 < |s| < 800"))
    assert between.shape == (78, 2) and np.all((np.abs(between) > 30) & (np.abs(between) < 800))
    assert {709.5, 710.5} <= set(between[:, 0]) and np.array_equal(between[:, 1], -between[:, 0])
    # exp overflows from s = 709.78 on, and sigma(-s) is a normal float64 up to s = 708
    assert np.any(between > np.log(np.finfo(float).max)) and np.any(between < -708)
    assert all(v.shape != (121,) and v.ndim >= 2 for v in s.values())


def test_a_log_of_zero_in_a_hidden_case_does_not_reach_stderr(capfd):
    # v0 = 0 in a hidden case: np.log(v0) warns "divide by zero", and -inf is the right term;
    # the hidden cases silence it (nbgrader scores a test cell with stderr output zero)
    checks.check_log_space_scan(log_scan, hidden=True)
    out, err = capfd.readouterr()
    assert out.startswith("✓ log_space_scan passes the hidden cases") and err == ""
    with pytest.raises(RuntimeWarning, match="divide by zero"):
        log_scan(np.full((1, 1), 0.5), np.ones((1, 1)), np.zeros(1))


def test_the_chapter7_checks_keep_their_visible_case_with_hidden_false(capsys):
    # hidden=False, written out, is the visible check, as the student sees it
    for check, answer, start in ((checks.check_combine, combine, "✓ combine composes"),
                                 (checks.check_log_space_scan, log_scan, "✓ log_space_scan"),
                                 (checks.check_theorem1_gate, gate, "✓ theorem1_gate gives")):
        check(answer, hidden=False)
        assert capsys.readouterr().out.startswith(start)


@pytest.mark.parametrize("gate", [lambda s: 1 - 1 / (1 + np.exp(-s)),
                                  lambda s: 0.5 * (1 - np.tanh(s / 2))])
def test_theorem1_gate_names_the_digits_lost_by_one_minus_sigma(gate):
    # right in absolute terms, wrong relative to a tiny z: the hint says why
    with pytest.raises(checks.SelfCheckFailed, match=r"1 - sigma\(s\) subtracts two numbers close"):
        checks.check_theorem1_gate(gate)
