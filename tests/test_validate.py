import numpy as np
import pytest

from rnnbook._validate import array_arg, choice, positive_int


def test_sizes_are_shared_between_arguments():
    sizes = {}
    array_arg("a", np.zeros((2, 3)), ("B", "N"), sizes)
    with pytest.raises(ValueError, match=r"b: expected shape \(N, N\) = \(3, 3\).*got \(3, 4\)"):
        array_arg("b", np.zeros((3, 4)), ("N", "N"), sizes)


@pytest.mark.parametrize("value, message", [
    (np.zeros((0, 2, 3)), "at least one time step"),
    (np.zeros((2, 3)), r"expected 3 axes \(T, B, K\)"),
    (np.array([[[np.nan]]]), "NaN or inf"),
    (np.array([[[np.inf]]]), "NaN or inf"),
    (np.ones((1, 1, 1), dtype=complex), "real numbers"),
    (np.ones((1, 1, 1), dtype=bool), "real numbers"),
    ([[[1.0], [2.0, 3.0]]], "expected an array"),
    (np.zeros((2, 0, 3)), "B >= 1"),
])
def test_bad_arrays_are_rejected_by_name(value, message):
    with pytest.raises(ValueError, match=message) as info:
        array_arg("x", value, ("T", "B", "K"), {})
    assert str(info.value).startswith("x:")


def test_integers_become_float64_and_floats_keep_their_dtype():
    assert array_arg("x", [[1, 2]], ("B", "N"), {}).dtype == np.float64
    assert array_arg("x", np.ones((1, 2), np.float32), ("B", "N"), {}).dtype == np.float32


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "3", None])
def test_positive_int(bad):
    with pytest.raises(ValueError, match="T: expected an integer >= 1"):
        positive_int("T", bad)
    assert positive_int("T", np.int64(3)) == 3


def test_choice():
    assert choice("g", "tanh", {"tanh"}) == "tanh"
    with pytest.raises(ValueError, match="g: expected one of"):
        choice("g", "tan", {"tanh"})
