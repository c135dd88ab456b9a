"""Wall time per training step of the minGRU (scan and loop) against torch's GRU, and the float32
scan's accuracy, on the adding problem at lengths T.

Usage: python tools/bench/bench_mingru.py [--device cuda] [--steps 50] [--lengths 10,100,200,1000]
Chapter 5's grid trains horizon.make_model("mingru"), a SequenceModel around train.MinGRU(2, 32)
with its parallel scan, batch 64. On one CPU thread the scan is no faster than the loop: torch's
logcumsumexp is a scalar loop over time, several times dearer than a GRU step's matrix products;
the scan pays where the T steps run in parallel (a GPU). The accuracy columns give the relative
error of the float32 scan's states and gradients (from the initial parameters) against the float64
loop's: the scan rounds to about eps |log A(t)|, which grows with T. Nothing here is stored.
"""
import argparse
import functools
import time

import numpy as np
import torch

from rnnbook import gradcheck, tasks, train

NETWORKS = ("mingru", "mingru-loop", "gru")


def make(name, N=32):
    if name == "gru":
        return train.make_model("gru", 2, N, 1, seed=0)
    cell = train.MinGRU(2, N, seed=0, parallel=name == "mingru")
    return train.SequenceModel(cell, N, 1, seed=0)


def time_per_step(name, T, steps, device, B=64):
    """Seconds per step of ``train.train`` (Adam, clipping at 1, no early stop, one evaluation
    batch), after one warm-up step."""
    task = functools.partial(tasks.adding_problem, T=T, B=B)
    model = make(name)
    train.train(model, task, 1, seed=0, lr=1e-2, clip=1.0, device=device, eval_every=1,
                eval_batches=1)
    start = time.perf_counter()
    train.train(model, task, steps, seed=0, lr=1e-2, clip=1.0, device=device, eval_every=steps,
                eval_batches=1)
    if device != "cpu":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def scan_errors(T, N=32, B=8):
    """Relative errors of the float32 scan's states, the candidate's and the gates' gradients
    against the float64 loop's, for H = sum_t R(t) . V(t) from the initial parameters."""
    rng = np.random.default_rng(T)
    x, R = rng.standard_normal((T, B, 2)), rng.standard_normal((T, B, N))
    out = {}
    for key, dtype, parallel in (("loop", torch.float64, False), ("scan", torch.float32, True)):
        module = train.MinGRU(2, N, seed=0, parallel=parallel, dtype=dtype)
        V = module(torch.tensor(x, dtype=dtype))
        (V * torch.tensor(R, dtype=dtype)).sum().backward()
        out[key] = {"V": V.detach().double().numpy(),
                    **{n: p.grad.double().numpy() for n, p in module.named_parameters()}}
    error = {k: gradcheck.relative_error(out["scan"][k], out["loop"][k]) for k in out["loop"]}
    return (error["V"], max(error["w_hx"], error["theta_h"]),
            max(error["w_zx"], error["theta_z"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--lengths", default="10,100,200,1000")
    args = parser.parse_args()
    lengths = [int(T) for T in args.lengths.split(",")]
    print(f"threads: {torch.get_num_threads()}, device: {args.device}, N = 32, batch 64")
    print(f"{'T':>5s} " + "".join(f"{name + ' ms/step':>20s}" for name in NETWORKS)
          + f"{'float32 scan: V':>17s} {'dV/dw_h':>8s} {'dV/dw_z':>8s}")
    for T in lengths:
        times = [time_per_step(name, T, args.steps, args.device) for name in NETWORKS]
        errors = scan_errors(T)
        print(f"{T:5d} " + "".join(f"{1e3 * s:20.1f}" for s in times)
              + f"{errors[0]:17.1e} {errors[1]:8.1e} {errors[2]:8.1e}", flush=True)


if __name__ == "__main__":
    main()
