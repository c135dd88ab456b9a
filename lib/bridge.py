"""The book's GRU learning rule inside torch: eqs. (9.30a-d) as a Function.

``rnnbook.gru`` computes the forward pass of eqs. (9.30a-d) and, by
backpropagation through time, their gradients, in numpy. Wrapped as a
``torch.autograd.Function`` they stand in for torch's own differentiation:
``NumpyGRU`` is a module that torch optimisers and ``rnnbook.train`` use like any
other, while every gradient it delivers is computed by ``gru.gru_backward``.
Training it shows that the learning rule does not only match autograd on one
batch: it learns. The initial state V(0) is an argument, and gets its gradient,
so that a state carried from one chunk of a long text to the next (truncated
BPTT, Chapter 6) works as with torch.nn.GRU. CPU only; imports torch.
"""
import numpy as np
import torch

from . import gru
from ._validate import ArgumentTypeError
from .train import BookGRU

__all__ = ["GRUFunction", "NumpyGRU"]


class GRUFunction(torch.autograd.Function):
    """Eqs. (9.30a-d) as a torch operation: forward gru_forward, backward
    gru_backward. Arguments x (T, B, K), the initial state v0 (B, N), the
    variant, then the parameters in the order of gru.param_names(variant);
    returns V(1..T)."""

    @staticmethod
    def forward(ctx, x, v0, variant, *weights):
        names = gru.param_names(variant)
        params = {name: w.detach().numpy() for name, w in zip(names, weights)}
        V, cache = gru.gru_forward(x.detach().numpy(), params,
                                   v0=v0.detach().numpy(), variant=variant)
        ctx.cache, ctx.names = cache, names
        # a copy: torch may change its output in place, the cache must not
        return torch.from_numpy(V[1:].copy())

    @staticmethod
    def backward(ctx, dV):
        # dH/dV(t) arrives for t = 1..T; V(0) gets it through the later steps
        dV_all = np.zeros_like(ctx.cache["V"])
        dV_all[1:] = dV.numpy()
        grads = gru.gru_backward(dV_all, ctx.cache)
        # one gradient per argument of forward: x, v0, variant (none), weights
        return (torch.from_numpy(grads["x"]), torch.from_numpy(grads["v0"]),
                None, *(torch.from_numpy(grads[name]) for name in ctx.names))


class NumpyGRU(BookGRU):
    """``train.BookGRU`` (the same parameters, names and initialisation)
    whose forward and backward passes are rnnbook.gru's, through GRUFunction.
    ``forward(x, v0=None)``: inputs (T, B, K) and the initial state V(0)
    (B, N) (None: zeros), CPU tensors; returns V(1..T) of shape (T, B, N), in
    the module's dtype. V(0) gets its gradient, dH/dV(0)."""

    def forward(self, x, v0=None):
        K, N = self.w_zx.shape[1], self.w_zx.shape[0]
        x = _cpu_tensor("x", x, "(T, B, K)")
        if x.shape[2] != K:
            raise ValueError(f"x: expected K = {K} inputs per step, the "
                             f"module's input size, got {tuple(x.shape)}")
        weights = [getattr(self, n) for n in gru.param_names(self.variant)]
        dtype = weights[0].dtype
        if v0 is None:
            v0 = x.new_zeros((x.shape[1], N), dtype=dtype)
        v0 = _cpu_tensor("v0", v0, "(B, N)")
        # a wrong B or N, or NaN, is named by gru.gru_forward: "v0: ..."
        return GRUFunction.apply(x.to(dtype), v0.to(dtype), self.variant,
                                 *weights)


def _cpu_tensor(name, value, dims):
    """``value`` if it is a CPU tensor of float32 or float64 with as many axes as ``dims``."""
    if not isinstance(value, torch.Tensor):
        raise ArgumentTypeError(f"{name}: expected a CPU tensor of shape {dims}, got "
                                f"{type(value).__name__} {tuple(getattr(value, 'shape', ()))}")
    if value.dim() != dims.count(",") + 1 or value.device.type != "cpu":
        raise ValueError(f"{name}: expected a CPU tensor of shape {dims}, got Tensor "
                         f"{tuple(value.shape)} on {value.device}")
    if value.dtype not in (torch.float32, torch.float64):
        raise ArgumentTypeError(f"{name}: expected a tensor of float32 or float64, "
                                f"got dtype {value.dtype}")
    return value
