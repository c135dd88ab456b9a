"""Torch float64 mirrors of the library's numpy equations, for autograd comparisons.

Each function computes the same equation as its numpy namesake, with torch operations only, so
that ``torch.autograd`` differentiates it. Importing this module imports torch.
"""
import torch

_G = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "linear": lambda b: b}


def as_tensor(a, requires_grad=False):
    """A float64 torch tensor copy of ``a`` (numpy array or tensor)."""
    return torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad)


def rnn_forward(x, w_vv, w_vx, theta_v, v0=None, g="tanh"):
    """Eq. (1.1) in torch: V(t) = g(w_vv V(t-1) + w_vx x(t) - theta_v). Shapes as ``lib.rnn.rnn_forward``.

    Returns V of shape (T+1, B, N) as a tensor (a stack, so autograd sees every step).
    """
    V = [torch.zeros(x.shape[1], w_vv.shape[0], dtype=x.dtype) if v0 is None else v0]
    for t in range(x.shape[0]):
        V.append(_G[g](V[-1] @ w_vv.T + x[t] @ w_vx.T - theta_v))
    return torch.stack(V)


def output_forward(V, w_ov, theta_o, g="linear"):
    """Readout in torch: O(t) = g(w_ov V(t) - theta_o) for t = 1..T. Returns (T, B, M)."""
    return _G[g](V[1:] @ w_ov.T - theta_o)
