import numpy as np
import pytest
import torch

from rnnbook import activations, gru, mingru, reference


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
    mingru_params = {k: torch.tensor(v, dtype=dtype) for k, v in mingru.init_params(2, 4, seed=0).items()}
    out["mingru_forward"] = reference.mingru_forward(x, mingru_params, g="positive")
    assert {k: a.dtype for k, a in out.items()} == {k: dtype for k in out}
    # the oracle itself works in float64, whatever it is given
    assert reference.as_tensor(np.ones(2, np.float32)).dtype == torch.float64
    _, grads = reference.autograd_gradients(lambda t: t["a"].sum(), {"a": np.ones(2, np.float32)})
    assert grads["a"].dtype == np.float64


def test_the_minGRU_mirror_takes_the_positive_candidate():
    # one step from zero by hand: V(1) = (1 - z) g(w_hx x - theta_h), g = b + 1/2 or sigma(b)
    x = torch.tensor([[[1.0, -2.0]]], dtype=torch.float64)
    p = {"w_zx": torch.tensor([[0.5, 0.0], [0.0, 0.0]], dtype=torch.float64),
         "theta_z": torch.zeros(2, dtype=torch.float64),
         "w_hx": torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64),
         "theta_h": torch.tensor([0.25, 0.0], dtype=torch.float64)}
    V = reference.mingru_forward(x, p, g="positive").numpy()
    z = activations.get("sigmoid").g(np.array([0.5, 0.0]))
    np.testing.assert_allclose(V[1, 0], (1 - z) * np.array([0.75 + 0.5, activations.get("sigmoid").g(-2.0)]),
                               rtol=1e-15)
    np.testing.assert_array_equal(V[0], 0.0)
    with pytest.raises(ValueError, match="^g: expected one of"):
        reference.mingru_forward(x, p, g="cube")
    with pytest.raises(ValueError, match=r"^params: .*missing \['theta_h'\]"):
        reference.mingru_forward(x, {k: v for k, v in p.items() if k != "theta_h"})
