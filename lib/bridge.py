"""The library's hand-written GRU learning rule inside torch: eqs. (9.30a-d) as an autograd Function.

``lib.gru`` computes the forward pass and, by backpropagation through time, the gradients of
eqs. (9.30a-d) in numpy. Wrapped as a ``torch.autograd.Function`` they stand in for torch's own
differentiation: ``NumpyGRU`` is a module that torch optimisers and ``lib.train`` use like any
other, while every gradient it delivers is computed by ``gru.gru_backward``. Training it is the
test that the learning rule does not just match autograd on one batch but learns. CPU only;
importing this module imports torch.
"""
import numpy as np
import torch

from . import gru
from .reference import BookGRU


class GRUFunction(torch.autograd.Function):
    """Eqs. (9.30a-d) over t = 1..T with V(0) = 0: x (T, B, K), the parameters in the order of
    ``gru.param_names(variant)``; returns V(1..T) of shape (T, B, N). Backward: ``gru.gru_backward``."""

    @staticmethod
    def forward(ctx, x, variant, *weights):
        names = gru.param_names(variant)
        params = {name: w.detach().numpy() for name, w in zip(names, weights)}
        V, cache = gru.gru_forward(x.detach().numpy(), params, variant=variant)
        ctx.cache, ctx.names = cache, names
        return torch.from_numpy(V[1:].copy())   # a copy: the cache's V must not change

    @staticmethod
    def backward(ctx, dV):
        # dH/dV(t) from outside for t = 1..T; nothing comes from V(0), which is fixed at zero
        dV_all = np.zeros_like(ctx.cache["V"])
        dV_all[1:] = dV.numpy()
        grads = gru.gru_backward(dV_all, ctx.cache)
        return (torch.from_numpy(grads["x"]), None,
                *(torch.from_numpy(grads[name]) for name in ctx.names))


class NumpyGRU(BookGRU):
    """``reference.BookGRU`` (same parameters, names and initialisation) whose forward and backward
    passes are ``lib.gru``'s numpy code, through ``GRUFunction``. Inputs (T, B, K) on the CPU."""

    def forward(self, x):
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.device.type != "cpu":
            raise ValueError(f"x: expected a CPU tensor of shape (T, B, K), got "
                             f"{type(x).__name__} {tuple(getattr(x, 'shape', ()))} "
                             f"on {getattr(x, 'device', 'no device')}")
        if x.shape[2] != self.w_zx.shape[1]:
            raise ValueError(f"x: expected K = {self.w_zx.shape[1]} inputs per step, the module's "
                             f"input size, got shape {tuple(x.shape)}")
        weights = [getattr(self, name) for name in gru.param_names(self.variant)]
        return GRUFunction.apply(x.to(weights[0].dtype), self.variant, *weights)
