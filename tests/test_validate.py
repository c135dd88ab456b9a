import math

import numpy as np
import pytest
import torch

from rnnbook._validate import (ArgumentTypeError, array_arg, cache_arg, callable_arg, checked,
                               choice, dict_arg, flag_arg, integer_arg, name_dict, number_arg,
                               positive_int, positive_number, seed_arg, sizes_of, tensor_arg)


def test_sizes_are_shared_between_arguments_and_the_first_is_named():
    sizes = {}
    array_arg("a", np.zeros((2, 3)), ("B", "N"), sizes)
    with pytest.raises(ValueError, match=r"^b: expected shape \(N, N\) = \(3, 3\) to agree with a, got \(3, 4\)"):
        array_arg("b", np.zeros((3, 4)), ("N", "N"), sizes)


def test_t_plus_one_states_agree_with_t_steps():
    sizes = {}
    array_arg("V", np.zeros((5, 2, 3)), ("T+1", "B", "N"), sizes)
    assert sizes["T"] == 4
    array_arg("x", np.zeros((4, 2, 1)), ("T", "B", "K"), sizes)
    with pytest.raises(ValueError, match=r"^dV: expected shape \(T\+1, B, N\) = \(5, 2, 3\) to agree with V"):
        array_arg("dV", np.zeros((4, 2, 3)), ("T+1", "B", "N"), sizes)
    with pytest.raises(ValueError, match=r"^V: expected at least one time step \(T >= 1\)"):
        array_arg("V", np.zeros((1, 2, 3)), ("T+1", "B", "N"), {})
    assert sizes_of("cache", ("T+1", "N"), (5, 3)) == {"T": 4, ("by", "T"): "cache", "N": 3, ("by", "N"): "cache"}


@pytest.mark.parametrize("value, message, error", [
    (np.zeros((0, 2, 3)), "at least one time step", ValueError),
    (np.zeros((2, 3)), r"expected 3 axes \(T, B, K\)", ValueError),
    (np.array([[[np.nan]]]), "NaN or inf", ValueError),
    (np.array([[[np.inf]]]), "NaN or inf", ValueError),
    (np.zeros((2, 0, 3)), "B >= 1", ValueError),
    (np.ones((1, 1, 1), dtype=complex), "real numbers", ArgumentTypeError),
    (np.ones((1, 1, 1), dtype=bool), "real numbers", ArgumentTypeError),
    ([[[1.0], [2.0, 3.0]]], "expected an array", ArgumentTypeError),
    (None, r"expected an array of shape \(T, B, K\), got NoneType", ArgumentTypeError),
    ("x", "expected an array", ArgumentTypeError),
    ({"x": 1}, "expected an array", ArgumentTypeError),
])
def test_bad_arrays_are_rejected_by_name(value, message, error):
    with pytest.raises(error, match=message) as info:
        array_arg("x", value, ("T", "B", "K"), {})
    assert str(info.value).startswith("x:")


def test_a_wrong_kind_is_a_type_error_and_a_value_error():
    # so that code written against the ValueError of earlier versions still catches it
    assert issubclass(ArgumentTypeError, TypeError) and issubclass(ArgumentTypeError, ValueError)


def test_integers_become_float64_and_floats_keep_their_dtype():
    assert array_arg("x", [[1, 2]], ("B", "N"), {}).dtype == np.float64
    assert array_arg("x", np.ones((1, 2), np.float32), ("B", "N"), {}).dtype == np.float32


def test_any_shape_and_infinities_where_allowed():
    assert array_arg("a", 3.0, None, {}).shape == ()
    with pytest.raises(ValueError, match="^a: expected at least one entry"):
        array_arg("a", np.zeros((2, 0)), None, {})
    big = np.array([1e308, 1e308])      # the sum overflows, the entries are finite
    assert array_arg("a", big, ("L",), {}) is big
    assert np.isinf(array_arg("n", [1.0, np.inf], ("L",), {}, inf=True)[1])
    with pytest.raises(ValueError, match="^n: contains NaN$"):
        array_arg("n", [1.0, np.inf, np.nan], ("L",), {}, inf=True)
    with pytest.raises(ValueError, match="^n: contains inf$"):
        array_arg("n", np.full(5000, np.inf), ("L",), {}, nan=True)
    assert np.isnan(array_arg("c", [np.nan, np.inf], ("L",), {}, nan=True, inf=True)).any()


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "3", None, [3]])
def test_positive_int(bad):
    with pytest.raises(ValueError, match="^T: expected an integer >= 1"):
        positive_int("T", bad)
    assert positive_int("T", np.int64(3)) == 3
    assert integer_arg("s", 0, minimum=0) == 0


@pytest.mark.parametrize("bad", [-1, 2.5, True, None, "0", np.float64(1.0)])
def test_seeds_are_explicit_integers(bad):
    with pytest.raises(ValueError, match="^seed: expected an integer seed >= 0"):
        seed_arg("seed", bad)
    assert seed_arg("seed", np.uint64(2**63)) == 2**63


@pytest.mark.parametrize("bad", [0.0, -1, math.inf, math.nan, True, "1e-3", [1e-3], None])
def test_positive_numbers(bad):
    with pytest.raises(ValueError, match="^tol: expected a positive number, got"):
        positive_number("tol", bad)
    assert positive_number("tol", np.float32(0.5)) == 0.5 and positive_number("clip", None, none=True) is None
    assert number_arg("z", -3) == -3.0
    with pytest.raises(ValueError, match=r"^p: expected a probability in \(0, 1\], got 1.5"):
        number_arg("p", 1.5, 0.0, 1.0, low_open=True, what="a probability")


def test_choice_flags_and_functions():
    assert choice("g", "tanh", {"tanh"}) == "tanh"
    with pytest.raises(ValueError, match="^g: expected one of"):
        choice("g", "tan", {"tanh"})
    with pytest.raises(TypeError, match=r"^g: expected a name, one of \['tanh'\], got list"):
        choice("g", ["tanh"], {"tanh"})         # not "unhashable type: 'list'"
    assert flag_arg("f", np.bool_(True)) is True
    with pytest.raises(TypeError, match="^f: expected True or False"):
        flag_arg("f", 1)
    with pytest.raises(TypeError, match="^task: expected a function, got str"):
        callable_arg("task", "adding")


def test_dicts_and_caches_name_their_entries():
    with pytest.raises(ValueError, match=r"^params: expected a dict with the keys \['a'\]; missing \['a'\], unexpected \['b'\]"):
        dict_arg("params", {"b": 1}, ["a"])
    assert dict_arg("cache", {"a": 1, "b": 2}, ["a"], closed=False)
    with pytest.raises(TypeError, match="^errors: expected a dict, with names"):
        name_dict("errors", {1: 0.1}, "a dict")
    cache = {"b": np.zeros((3, 2)), "w": np.zeros((2, 2)), "g": "tanh", "extra": None}
    sizes = {}
    out = cache_arg("cache", cache, {"b": ("T", "N"), "w": ("N", "N")}, "f", sizes)
    assert set(out) == {"b", "w", "g"} and sizes["N"] == 2
    with pytest.raises(ValueError, match=r'^cache\["w"\]: expected shape \(N, N\) = \(2, 2\) to agree with cache\["b"\]'):
        cache_arg("cache", {**cache, "w": np.zeros((3, 3))}, {"b": ("T", "N"), "w": ("N", "N")}, "f", {})
    with pytest.raises(ValueError, match=r'^cache\["g"\]: expected one of'):
        cache_arg("cache", {**cache, "g": "cube"}, {"b": ("T", "N")}, "f", {})
    # a forward pass that overflowed leaves inf and NaN in its cache: its honest result
    overflowed = {**cache, "b": np.array([[np.inf, np.nan]] * 3)}
    assert np.isinf(cache_arg("cache", overflowed, {"b": ("T", "N")}, "f", {})["b"][0, 0])


def test_checked_validates_before_the_call_and_unchecked_does_not():
    def check(a):
        return {"a": positive_int("a", a)}

    @checked(check)
    def double(a):
        """Doubles."""
        return 2 * a

    assert double(2) == 4 and double.__doc__ == "Doubles." and double.unchecked(0.5) == 1.0
    with pytest.raises(ValueError, match="^a: expected an integer"):
        double(0.5)


@pytest.mark.parametrize("value, error, message", [
    (np.zeros((2, 3)), TypeError, r"^w: expected a torch tensor of shape \(N, K\), got ndarray"),
    ("torch", TypeError, "^w: expected a torch tensor"),
    (torch.zeros(2, 3, dtype=torch.int64), TypeError, "^w: expected a tensor of float32 or float64"),
    (torch.zeros(2, 3, dtype=torch.float32), ValueError, "^w: expected dtype torch.float64 to agree with x"),
    (torch.zeros(2, 4, dtype=torch.float64), ValueError, r"^w: expected shape \(N, K\) = \(2, 3\)"),
    (torch.zeros(3, dtype=torch.float64), ValueError, "^w: expected 2 axes"),
    (torch.full((2, 3), float("nan"), dtype=torch.float64), ValueError, "^w: contains NaN or inf"),
])
def test_tensor_arg_names_the_tensor(value, error, message):
    sizes = {}
    tensor_arg("x", torch.zeros(5, 3, dtype=torch.float64), ("B", "K"), sizes)
    sizes.update({"N": 2, ("by", "N"): "v0"})
    with pytest.raises(error, match=message):
        tensor_arg("w", value, ("N", "K"), sizes)


def test_tensor_arg_keeps_the_tensor_and_its_graph():
    w = torch.ones(2, 3, requires_grad=True)
    assert tensor_arg("w", w, ("N", "K"), {}) is w
