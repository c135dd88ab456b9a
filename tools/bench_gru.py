"""The numpy GRU (lib.gru) against torch.nn.GRU, forward + backward, and the GRU on the adding problem.

Usage: python tools/bench_gru.py [--repeats 20]
Measures, in one run and on one thread: the best-of-n wall time of ``gru_forward`` + ``gru_backward``
("after" variant, the one torch.nn.GRU computes) and of torch.nn.GRU forward + backward, at B = 32,
T = 100, N = 64, K = 64, in float64 and float32; the FLOPs of that work and the machine's rate for
a 32x64 by 64x64 matrix product, to say how close to the arithmetic limit the numpy code is; and the
wall time for torch.nn.GRU (N = 32, batch 64, lr 0.01, clipping at 1) to reach test MSE < 0.01 on the
adding problem at T = 100. Timings vary from run to run; nothing here is stored.
"""
import argparse
import functools
import time

import numpy as np
import torch

from lib import gru, tasks, train

T, B, N, K = 100, 32, 64, 64


def best_time(fn, repeats):
    """The shortest of ``repeats`` wall times of ``fn()``, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def flops():
    """Multiply-adds x 2 of the matrix products in one forward + backward pass ("after" variant)."""
    recurrent = 3 * 2 * B * N * N * T              # V(t-1) @ w_*v.T, forward, every step
    inputs = 3 * 2 * T * B * K * N                 # x @ w_*x.T for all t at once
    backward = (3 * 2 * B * N * N * T              # carry @ w_*v, every step
                + 3 * 2 * T * B * N * N            # dH/dw_*v summed over time
                + 3 * 2 * T * B * N * K            # dH/dw_*x summed over time
                + 3 * 2 * T * B * N * K)           # dH/dx
    return recurrent + inputs + backward


def compare(dtype, repeats):
    rng = np.random.default_rng(0)
    params = {k: v.astype(dtype) for k, v in gru.init_params(N, K, "after").items()}
    x = rng.standard_normal((T, B, K)).astype(dtype)
    dV = rng.standard_normal((T + 1, B, N)).astype(dtype)

    def numpy_pass():
        gru.gru_backward(dV, gru.gru_forward(x, params, variant="after")[1])

    module = torch.nn.GRU(K, N).to(getattr(torch, np.dtype(dtype).name))
    tx, R = torch.tensor(x, requires_grad=True), torch.tensor(dV[1:])

    def torch_pass():
        module.zero_grad()
        (module(tx)[0] * R).sum().backward()

    A, W = rng.standard_normal((B, N)).astype(dtype), rng.standard_normal((N, N)).astype(dtype)
    matmul = best_time(lambda: [A @ W.T for _ in range(100)], repeats) / 100
    return best_time(numpy_pass, repeats), best_time(torch_pass, repeats), 2 * B * N * N / matmul


def time_to_solve(T_task=100, seed=0):
    model = train.make_model("gru", 2, 32, 1, seed=seed)
    start = time.perf_counter()
    history = train.train(model, functools.partial(tasks.adding_problem, T=T_task, B=64), steps=2000,
                          lr=1e-2, clip=1.0, target_loss=0.01, seed=seed, eval_every=25)
    return time.perf_counter() - start, history


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    work = flops()
    print(f"B={B}, T={T}, N={N}, K={K}: {work / 1e6:.0f} MFLOP of matrix products per forward + backward")
    print(f"{'dtype':8s} {'numpy':>9s} {'torch':>9s} {'ratio':>6s} {'matmul rate':>13s} {'FLOP limit':>11s} {'numpy/limit':>11s}")
    for dtype in (np.float64, np.float32):
        t_numpy, t_torch, rate = compare(dtype, args.repeats)
        limit = work / rate
        print(f"{np.dtype(dtype).name:8s} {t_numpy * 1e3:7.1f}ms {t_torch * 1e3:7.1f}ms {t_numpy / t_torch:6.2f} "
              f"{rate / 1e9:9.1f} GF/s {limit * 1e3:9.1f}ms {t_numpy / limit:11.1f}")
    seconds, history = time_to_solve()
    print(f"torch.nn.GRU on the adding problem, T=100: test MSE {history['eval_loss'][-1]:.4f} after "
          f"{history['eval_step'][-1]} steps, {seconds:.1f} s ({history['stopped']})")


if __name__ == "__main__":
    main()
