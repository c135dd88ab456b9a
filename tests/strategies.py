"""Hypothesis strategies that several test modules draw from (test support, like conftest's fixtures).

SEQUENCE_PROBLEMS: the sizes, activations and seed of a small sequence problem for the
``sequence_problem`` fixture: T = 1 included, every activation, shapes small enough for finite
differences and for autograd to run in milliseconds.
"""
from hypothesis import strategies as st

SEQUENCE_PROBLEMS = dict(
    T=st.integers(1, 6), B=st.integers(1, 3), N=st.integers(1, 4), K=st.integers(1, 3), M=st.integers(1, 3),
    g=st.sampled_from(["tanh", "sigmoid", "relu", "linear"]), g_out=st.sampled_from(["linear", "tanh", "sigmoid"]),
    seed=st.integers(0, 2**16))
