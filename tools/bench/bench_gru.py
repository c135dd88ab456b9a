"""The numpy GRU (rnnbook.gru) against torch.nn.GRU, forward + backward, and the GRU on the adding problem.

Usage: python tools/bench/bench_gru.py [--repeats 20]
Measures, in one run and on one thread: the best-of-n wall time of ``gru_forward`` + ``gru_backward``
("after" variant, the one torch.nn.GRU computes) and of torch.nn.GRU forward + backward, at B = 32,
T = 100, N = 64, K = 64, in float64 and float32; the page faults per call; the FLOPs of that work
and the machine's rate for a 32x64 by 64x64 matrix product, to say how close to the arithmetic limit
the numpy code is; and the wall time to reach test MSE < 0.01 on the adding problem at T = 100
(N = 32, batch 64, lr 0.01, clipping at 1) for torch.nn.GRU, for the book's equations differentiated
by torch (train.BookGRU) and for the book's own learning rule, rnnbook.gru's numpy forward and
backward passes inside torch's training loop (bridge.NumpyGRU).

Why page faults: each call allocates some 20 MB of (T, B, N) arrays. With glibc's default settings
memory that large is returned to the system when freed and faulted back in, zeroed, by the next
call, at about 3 microseconds per 4 KiB page on this virtual machine: a third of the numpy time in
float64. The comparison is therefore made twice, first with the allocator as it comes, then with
glibc told to keep freed memory (``mallopt``, for both numpy and torch). Timings vary from run to
run; nothing here is stored.
"""
import argparse
import ctypes
import functools
import resource
import time

import numpy as np
import torch

from rnnbook import bridge, gru, tasks, train

T, B, N, K = 100, 32, 64, 64


def best_time(fn, repeats):
    """The shortest of ``repeats`` wall times of ``fn()`` after two warm-up calls, and the
    number of page faults per call."""
    fn()
    fn()
    times, faults = [], resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / repeats


def keep_freed_memory():
    """Tell glibc to keep freed memory for reuse rather than return it to the system."""
    libc = ctypes.CDLL("libc.so.6")
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    if not (libc.mallopt(M_MMAP_THRESHOLD, 32 << 20) and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)):
        raise RuntimeError("mallopt refused the settings")


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
    params = gru.init_params(K, N, "after", seed=0, dtype=dtype)
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
    matmul = best_time(lambda: [A @ W.T for _ in range(100)], repeats)[0] / 100
    return best_time(numpy_pass, repeats), best_time(torch_pass, repeats), 2 * B * N * N / matmul


def book_model(cls):
    """The book's GRU ``cls`` (N = 32, "after") with a readout, all from seed 0."""
    return train.SequenceModel(cls(2, 32, "after", seed=0), 32, 1, seed=0)


def time_to_solve(model, T_task=100, seed=0):
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
    print(f"{'allocator':10s} {'dtype':8s} {'numpy':>8s} {'torch':>8s} {'ratio':>6s} {'faults/call':>13s} "
          f"{'matmul rate':>12s} {'FLOP limit':>10s} {'numpy/limit':>11s}")
    for allocator in ("default", "keep"):
        if allocator == "keep":
            keep_freed_memory()
        for dtype in (np.float64, np.float32):
            (t_numpy, f_numpy), (t_torch, f_torch), rate = compare(dtype, args.repeats)
            limit = work / rate
            print(f"{allocator:10s} {np.dtype(dtype).name:8s} {t_numpy * 1e3:6.1f}ms {t_torch * 1e3:6.1f}ms "
                  f"{t_numpy / t_torch:6.2f} {f_numpy:6.0f} {f_torch:6.0f} {rate / 1e9:7.1f} GF/s "
                  f"{limit * 1e3:8.1f}ms {t_numpy / limit:11.1f}")
    models = {"torch.nn.GRU": train.make_model("gru", 2, 32, 1, seed=0),
              "train.BookGRU": book_model(train.BookGRU),
              "bridge.NumpyGRU": book_model(bridge.NumpyGRU)}
    for name, model in models.items():
        seconds, history = time_to_solve(model)
        print(f"{name} on the adding problem, T=100: test MSE {history['eval_loss'][-1]:.4f} after "
              f"{history['eval_step'][-1]} steps, {seconds:.1f} s ({history['stopped']})")


if __name__ == "__main__":
    main()
