"""Activation functions g, their derivatives g', and gamma = max |g'|."""
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._validate import choice

__all__ = ["Activation", "ACTIVATIONS", "get"]


@dataclass(frozen=True)
class Activation:
    """An activation function ``g(b)``, its derivative ``g_prime(b)`` and ``gamma = max_b |g'(b)|``.

    ``g_prime_of_g(y)`` is the same derivative written through the output y = g(b), e.g.
    1 - y**2 for tanh: a backward pass that kept g(b) needs no second call to g.
    """

    name: str
    g: Callable[[np.ndarray], np.ndarray]
    g_prime: Callable[[np.ndarray], np.ndarray]
    gamma: float
    g_prime_of_g: Callable[[np.ndarray], np.ndarray]


def _sigmoid(b):
    # exp(-b) overflows to inf for b < -709, and 1 / (1 + inf) = 0 is the right limit
    with np.errstate(over="ignore", under="ignore"):
        return 1.0 / (1.0 + np.exp(-b))


def _step(b):
    return (b > 0).astype(np.result_type(b, np.float32))


def _positive(b):
    # Feng et al. (2024): linear, shifted to 1/2, for b >= 0; the sigmoid below, which meets it
    # at 1/2: positive everywhere, so that log g(b) exists (the minGRU's log-space scan)
    return np.where(b >= 0, b + 0.5, _sigmoid(np.minimum(b, 0)))


def _positive_prime(b):
    s = _sigmoid(np.minimum(b, 0))
    return np.where(b >= 0, np.ones_like(s), s * (1.0 - s))


def _positive_prime_of_g(y):
    # g >= 1/2 exactly where b >= 0 (slope 1); below, g is the sigmoid, whose slope is y (1 - y)
    return np.where(y >= 0.5, np.ones_like(y), y * (1.0 - y))


ACTIVATIONS = {
    "tanh": Activation("tanh", np.tanh, lambda b: 1.0 - np.tanh(b) ** 2, 1.0, lambda y: 1.0 - y * y),
    "sigmoid": Activation("sigmoid", _sigmoid, lambda b: _sigmoid(b) * (1.0 - _sigmoid(b)), 0.25,
                          lambda y: y * (1.0 - y)),
    "relu": Activation("relu", lambda b: np.maximum(b, 0.0), _step, 1.0, _step),
    "linear": Activation("linear", lambda b: b * 1.0, np.ones_like, 1.0, np.ones_like),
    "positive": Activation("positive", _positive, _positive_prime, 1.0, _positive_prime_of_g),
}


def get(name):
    """Return the Activation called ``name`` ('tanh', 'sigmoid', 'relu', 'linear' or 'positive')."""
    return ACTIVATIONS[choice("name", name, ACTIVATIONS)]
