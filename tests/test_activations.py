import numpy as np
import pytest

from rnnbook import activations


@pytest.mark.parametrize("name", sorted(activations.ACTIVATIONS))
def test_derivative_matches_central_difference(name):
    act = activations.get(name)
    b = np.linspace(-4, 4, 81) + 0.0123      # avoid relu's kink at exactly 0
    h = 1e-6
    numeric = (act.g(b + h) - act.g(b - h)) / (2 * h)
    np.testing.assert_allclose(act.g_prime(b), numeric, atol=1e-8)


@pytest.mark.parametrize("name", sorted(activations.ACTIVATIONS))
def test_derivative_through_the_output_is_the_derivative(name):
    act = activations.get(name)
    b = np.linspace(-4, 4, 81) + 0.0123
    np.testing.assert_allclose(act.g_prime_of_g(act.g(b)), act.g_prime(b), rtol=0, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_floating_outputs_keep_the_dtype_of_the_inputs(dtype):
    b = np.linspace(-2, 2, 5, dtype=dtype)
    dtypes = {f"{name}: {f}": getattr(act, f)(b).dtype
              for name, act in activations.ACTIVATIONS.items() for f in ("g", "g_prime", "g_prime_of_g")}
    assert dtypes == {key: np.dtype(dtype) for key in dtypes}


@pytest.mark.parametrize("name", sorted(activations.ACTIVATIONS))
def test_gamma_is_the_largest_slope(name):
    act = activations.get(name)
    b = np.linspace(-20, 20, 40001)
    assert np.max(np.abs(act.g_prime(b))) == pytest.approx(act.gamma, rel=1e-6)


def test_sigmoid_does_not_overflow():
    with np.errstate(all="raise"):
        v = activations.get("sigmoid").g(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(v, [0.0, 0.5, 1.0])


def test_unknown_activation_is_named():
    with pytest.raises(ValueError, match=r"^name: expected one of .*'tanh'.*got 'softsign'"):
        activations.get("softsign")
    with pytest.raises(TypeError, match=r"^name: expected a name"):     # not "unhashable type"
        activations.get(["tanh"])


def test_positive_is_positive_continuous_and_linear_above_zero():
    # Feng et al.'s g: b + 1/2 for b >= 0, sigma(b) below; log g(b) must exist everywhere
    act = activations.get("positive")
    b = np.linspace(-30, 30, 6001)
    assert np.all(act.g(b) > 0) and np.all(np.diff(act.g(b)) > 0)
    np.testing.assert_array_equal(act.g(b[b >= 0]), b[b >= 0] + 0.5)
    np.testing.assert_array_equal(act.g(b[b < 0]), activations.get("sigmoid").g(b[b < 0]))
    # continuous at 0, where the slope jumps from 1/4 to 1
    for h in (1e-4, 1e-8, 1e-12):
        assert abs(act.g(np.array(-h)) - act.g(np.array(h))) < 2 * h
    assert act.g_prime(np.array(-1e-9)) == pytest.approx(0.25) and act.g_prime(np.array(0.0)) == 1.0
    # far below, sigma(b) ~ exp(b): still positive down to float64's exp(-708)
    assert act.g(np.array(-700.0)) == pytest.approx(np.exp(-700.0), rel=1e-12)
