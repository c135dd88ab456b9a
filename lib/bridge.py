"""The book's GRU learning rule inside torch: eqs. (9.30a-d) as a Function.

``rnnbook.gru`` computes the forward pass of eqs. (9.30a-d) and, by
backpropagation through time, their gradients, in numpy. Wrapped as a
``torch.autograd.Function`` they stand in for torch's own differentiation:
``NumpyGRU`` is a module that torch optimisers and ``rnnbook.train`` use like any
other, while every gradient it delivers is computed by ``gru.gru_backward``.
Training it shows that the learning rule does not only match autograd on one
batch: it learns. CPU only; imports torch.
"""
import numpy as np
import torch

from . import gru
from .train import BookGRU

__all__ = ["GRUFunction", "NumpyGRU"]


class GRUFunction(torch.autograd.Function):
    """Eqs. (9.30a-d) with V(0) = 0 as a torch operation: forward gru_forward,
    backward gru_backward. Arguments x (T, B, K), the variant, then the
    parameters in the order of gru.param_names(variant); returns V(1..T)."""

    @staticmethod
    def forward(ctx, x, variant, *weights):
        names = gru.param_names(variant)
        params = {name: w.detach().numpy() for name, w in zip(names, weights)}
        V, cache = gru.gru_forward(x.detach().numpy(), params, variant=variant)
        ctx.cache, ctx.names = cache, names
        # a copy: torch may change its output in place, the cache must not
        return torch.from_numpy(V[1:].copy())

    @staticmethod
    def backward(ctx, dV):
        # dH/dV(t) arrives for t = 1..T; V(0) = 0 is no parameter
        dV_all = np.zeros_like(ctx.cache["V"])
        dV_all[1:] = dV.numpy()
        grads = gru.gru_backward(dV_all, ctx.cache)
        # one gradient per argument of forward: x, variant (none), weights
        return (torch.from_numpy(grads["x"]), None,
                *(torch.from_numpy(grads[name]) for name in ctx.names))


class NumpyGRU(BookGRU):
    """``train.BookGRU`` (the same parameters, names and initialisation)
    whose forward and backward passes are rnnbook.gru's, through GRUFunction.
    Inputs (T, B, K) on the CPU; returns V(1..T) of shape (T, B, N)."""

    def forward(self, x):
        K = self.w_zx.shape[1]
        if (not isinstance(x, torch.Tensor) or x.dim() != 3
                or x.device.type != "cpu"):
            raise ValueError(
                f"x: expected a CPU tensor of shape (T, B, K), got "
                f"{type(x).__name__} {tuple(getattr(x, 'shape', ()))} "
                f"on {getattr(x, 'device', 'no device')}")
        if x.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"x: expected a tensor of float32 or float64, "
                             f"got dtype {x.dtype}")
        if x.shape[2] != K:
            raise ValueError(f"x: expected K = {K} inputs per step, the "
                             f"module's input size, got {tuple(x.shape)}")
        weights = [getattr(self, n) for n in gru.param_names(self.variant)]
        return GRUFunction.apply(x.to(weights[0].dtype), self.variant,
                                 *weights)
