import numpy as np
import pytest

from rnnbook import gradcheck


def quadratic(p):
    # f = 1/2 a^T A a + sin(b) . c, with known gradients A a and (cos(b) c, sin(b))
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    return 0.5 * p["a"] @ A @ p["a"] + np.sin(p["b"]) @ p["c"]


PARAMS = {"a": np.array([0.3, -1.2]), "b": np.array([0.1, 2.0, -0.7]), "c": np.array([1.0, -2.0, 0.5])}
EXACT = {"a": np.array([[2.0, 0.5], [0.5, 1.0]]) @ PARAMS["a"],
         "b": np.cos(PARAMS["b"]) * PARAMS["c"], "c": np.sin(PARAMS["b"])}


def test_central_differences_are_accurate_to_second_order():
    num = gradcheck.numerical_gradients(quadratic, PARAMS)
    for k in PARAMS:
        np.testing.assert_allclose(num[k], EXACT[k], atol=1e-9)
    # the error of a central difference shrinks like h^2: a hundred times for h ten times smaller
    coarse = gradcheck.numerical_gradients(quadratic, PARAMS, h=1e-2, names=["b"])["b"]
    fine = gradcheck.numerical_gradients(quadratic, PARAMS, h=1e-3, names=["b"])["b"]
    ratio = np.max(np.abs(coarse - EXACT["b"])) / np.max(np.abs(fine - EXACT["b"]))
    assert 90 < ratio < 110


def test_params_are_not_changed():
    before = {k: v.copy() for k, v in PARAMS.items()}
    gradcheck.numerical_gradients(quadratic, PARAMS)
    assert all(np.array_equal(PARAMS[k], before[k]) for k in PARAMS)


def test_finite_differences_work_in_float64_whatever_the_input():
    # a measurement: float32's rounding would swamp a difference quotient with h = 1e-5
    params32 = {k: v.astype(np.float32) for k, v in PARAMS.items()}
    num = gradcheck.numerical_gradients(quadratic, params32)
    assert {a.dtype for a in num.values()} == {np.dtype(np.float64)}
    np.testing.assert_allclose(num["a"], EXACT["a"], atol=1e-6)
    error = gradcheck.relative_error(num["b"].astype(np.float32), EXACT["b"])
    assert type(error) is float and error < 1e-6


def test_matrix_parameters_keep_their_shape():
    W = np.arange(6.0).reshape(2, 3) / 10
    num = gradcheck.numerical_gradients(lambda p: np.sum(p["W"] ** 3), {"W": W})["W"]
    assert num.shape == (2, 3)
    np.testing.assert_allclose(num, 3 * W ** 2, atol=1e-9)


def test_relative_error():
    a = np.array([1.0, -2.0, 0.0])
    assert gradcheck.relative_error(a, a) == 0.0
    assert gradcheck.relative_error(a, -a) == 2.0
    assert gradcheck.relative_error(a, np.zeros(3)) == 1.0
    assert gradcheck.relative_error(np.zeros(2), np.zeros(2)) == 0.0
    # relative to the largest entry, so tiny entries do not blow it up, and scale-free
    b = a + np.array([0.0, 0.0, 1e-8])
    assert gradcheck.relative_error(a, b) == pytest.approx(0.5e-8)
    assert gradcheck.relative_error(1e6 * a, 1e6 * b) == pytest.approx(0.5e-8)
    assert gradcheck.relative_error(a, b) == gradcheck.relative_error(b, a)


def test_gradient_check_finds_a_wrong_gradient():
    errors = gradcheck.gradient_check(quadratic, PARAMS, EXACT)
    assert max(errors.values()) < 1e-8
    wrong = {**EXACT, "b": -EXACT["b"]}          # a sign error, the classic bug
    errors = gradcheck.gradient_check(quadratic, PARAMS, wrong)
    assert errors["b"] == pytest.approx(2.0, rel=1e-6) and errors["a"] < 1e-8
    text = gradcheck.report(errors, tol=1e-6)
    assert "b" in text and "FAILED" in text and text.count("ok") == 2


@pytest.mark.parametrize("call, message", [
    (lambda: gradcheck.relative_error(np.zeros(2), np.zeros(3)), r"same shape, got \(2,\) and \(3,\)"),
    (lambda: gradcheck.relative_error(np.array([np.nan]), np.zeros(1)), "NaN or inf"),
    (lambda: gradcheck.numerical_gradients(quadratic, PARAMS, h=0), "h: expected a positive number"),
    (lambda: gradcheck.numerical_gradients(quadratic, PARAMS, h=True), "h: expected a positive number"),
    (lambda: gradcheck.numerical_gradients(quadratic, PARAMS, names="a"), "names: expected a list"),
    (lambda: gradcheck.numerical_gradients(None, PARAMS), "f: expected a function"),
    (lambda: gradcheck.numerical_gradients(quadratic, {}), "params: expected at least one array"),
    (lambda: gradcheck.relative_error(np.zeros(2), [np.inf, 0.0]), "^b: contains NaN or inf"),
    (lambda: gradcheck.relative_error("a", np.zeros(1)), "^a: expected an array"),
    (lambda: gradcheck.gradient_check(quadratic, PARAMS, {"a": np.zeros(5)}), r'^grads\["a"\]: expected the shape'),
    (lambda: gradcheck.report({"a": float("nan")}, tol=1e-6), r'^errors\["a"\]: expected a relative error'),
    (lambda: gradcheck.report({"a": 0.1}, tol=float("inf")), "^tol: expected a positive number"),
    (lambda: gradcheck.numerical_gradients(quadratic, PARAMS, names=["d"]), "'d' is not one of the parameters"),
    (lambda: gradcheck.numerical_gradients(lambda p: p["a"], PARAMS), "f: expected a finite scalar"),
    (lambda: gradcheck.numerical_gradients(lambda p: np.nan, PARAMS), "f: expected a finite scalar"),
    (lambda: gradcheck.gradient_check(quadratic, PARAMS, {"z": np.zeros(1)}), r"grads: \['z'\] are not parameters"),
])
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
