import numpy as np
import pytest
import torch

from rnnbook import gru, reference


def test_autograd_gradients_of_a_known_function():
    # H = sum(a * b) + 3 c[0]: dH/da = b, dH/db = a, dH/dc = (3, 0); unused gets zeros of its shape
    params = {"a": np.array([1.0, -2.0]), "b": np.array([0.5, 4.0]), "c": [[2.0, 7.0]], "unused": np.ones((2, 3))}
    H, grads = reference.autograd_gradients(lambda t: (t["a"] * t["b"]).sum() + 3 * t["c"][0, 0], params)
    assert H == pytest.approx(0.5 - 8.0 + 6.0, rel=1e-15) and type(H) is float
    np.testing.assert_array_equal(grads["a"], params["b"])
    np.testing.assert_array_equal(grads["b"], params["a"])
    np.testing.assert_array_equal(grads["c"], [[3.0, 0.0]])
    np.testing.assert_array_equal(grads["unused"], np.zeros((2, 3)))
    assert list(grads) == list(params)


@pytest.mark.parametrize("f, params, error, message", [
    ("not a function", {"a": [1.0]}, TypeError, "f: expected a function"),
    (lambda t: t["a"].sum(), [1.0], TypeError, "params: expected a dict"),
    (lambda t: t["a"] * 2, {"a": [1.0, 2.0]}, ValueError, r"f: expected a scalar tensor .* \(2,\)"),
    (lambda t: 1.0, {"a": [1.0]}, ValueError, "f: expected a scalar tensor"),
])
def test_autograd_gradients_names_the_bad_argument(f, params, error, message):
    with pytest.raises(error, match=message):
        reference.autograd_gradients(f, params)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_mirrors_keep_the_dtype_of_their_tensors(dtype):
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((3, 2, 2)), dtype=dtype)
    rnn_weights = [torch.tensor(rng.standard_normal(shape), dtype=dtype) for shape in ((4, 4), (4, 2), (4,))]
    V = reference.rnn_forward(x, *rnn_weights)
    gru_params = {k: torch.tensor(v, dtype=dtype) for k, v in gru.init_params(2, 4, "after", seed=0).items()}
    out = {"rnn_forward": V, "output_forward": reference.output_forward(V, rnn_weights[0], rnn_weights[2]),
           "gru_forward": reference.gru_forward(x, gru_params, variant="after")}
    assert {k: a.dtype for k, a in out.items()} == {k: dtype for k in out}
    # the oracle itself works in float64, whatever it is given
    assert reference.as_tensor(np.ones(2, np.float32)).dtype == torch.float64
    _, grads = reference.autograd_gradients(lambda t: t["a"].sum(), {"a": np.ones(2, np.float32)})
    assert grads["a"].dtype == np.float64
