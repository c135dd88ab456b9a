"""Time and peak memory of BPTT against RTRL, and of the numpy BPTT against torch autograd.

Usage: python tools/bench/bench_bptt.py [--quick]      (or call main() from tools/bench/benchmark.py)
Run it with OMP_NUM_THREADS=1 (the Makefile sets it) to measure one core, as the chapters run.
Times are the best of a few repeats; peak memory is the largest extra memory that numpy (or torch,
where stated) allocated during one call, measured with tracemalloc, which numpy reports to.
"""
import sys
import time
import tracemalloc

import numpy as np

from rnnbook import bptt, rtrl

B, K, M = 8, 2, 1


def problem(T, N, seed=0, batch=B):
    rng = np.random.default_rng(seed)
    params = dict(w_vv=0.9 * rng.standard_normal((N, N)) / np.sqrt(N),
                  w_vx=rng.standard_normal((N, K)), theta_v=np.zeros(N),
                  w_ov=rng.standard_normal((M, N)) / np.sqrt(N), theta_o=np.zeros(M))
    return rng.standard_normal((T, batch, K)), rng.standard_normal((T, batch, M)), params


def best_time(fn, budget_s=0.3, max_repeats=7):
    """The fastest of up to ``max_repeats`` calls, fewer if they take longer than ``budget_s``."""
    best, spent, n = np.inf, 0.0, 0
    while n < max_repeats and (n == 0 or spent < budget_s):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        best, spent, n = min(best, elapsed), spent + elapsed, n + 1
    return best


def peak_bytes(fn):
    """Peak memory allocated during one call of ``fn``, beyond what was allocated before it."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def bptt_vs_rtrl(sizes):
    """Rows (T, N, BPTT s, RTRL s, BPTT MiB, RTRL MiB) for each (T, N) in ``sizes``."""
    rows = []
    for T, N in sizes:
        x, y, p = problem(T, N)
        runs = [lambda: bptt.gradients(x, y, p), lambda: rtrl.gradients(x, y, p)]
        times = [best_time(run) for run in runs]
        mems = [peak_bytes(run) / 2**20 for run in runs]
        rows.append((T, N, *times, *mems))
    return rows


def bptt_vs_autograd(T, N, batch):
    """Seconds per gradient: numpy BPTT, autograd through the torch mirror (a Python loop over
    time, like the numpy code), and autograd through torch.nn.RNN (its loop in C++); float64."""
    import torch
    from rnnbook import reference
    x, y, p = problem(T, N, batch=batch)
    xt, yt = reference.as_tensor(x), reference.as_tensor(y)

    def mirror():
        t = {k: reference.as_tensor(v, requires_grad=True) for k, v in p.items()}
        reference.sequence_energy(xt, yt, t).backward()

    module = torch.nn.RNN(K, N, dtype=torch.float64)
    w_ov, theta_o = reference.as_tensor(p["w_ov"], True), reference.as_tensor(p["theta_o"], True)

    def nn_rnn():
        module.zero_grad()
        states, _ = module(xt)
        reference.energy(states @ w_ov.T - theta_o, yt).backward()

    return {name: best_time(fn, budget_s=1.0) for name, fn in
            (("numpy BPTT", lambda: bptt.gradients(x, y, p)), ("torch autograd, mirror", mirror),
             ("torch autograd, nn.RNN", nn_rnn))}


def main(quick=False):
    Ns = (4, 8, 16, 32) if quick else (4, 8, 16, 32, 64)
    Ts = (10, 30, 100, 300) if quick else (10, 30, 100, 300, 1000)
    print(f"BPTT vs RTRL, batch B = {B}, K = {K} inputs, M = {M} output, float64 "
          "(time: best of a few runs; memory: peak extra numpy allocation)")
    print(f"{'T':>5s} {'N':>4s} {'BPTT ms':>9s} {'RTRL ms':>9s} {'RTRL/BPTT':>9s} "
          f"{'BPTT MiB':>9s} {'RTRL MiB':>9s}")
    rows = bptt_vs_rtrl([(100, N) for N in Ns] + [(T, 16) for T in Ts if T != 100])
    for T, N, tb, tr, mb, mr in rows:
        print(f"{T:5d} {N:4d} {1e3 * tb:9.2f} {1e3 * tr:9.2f} {tr / tb:9.1f} {mb:9.3f} {mr:9.3f}")
    print()
    print("numpy BPTT vs torch autograd on the same problem (float64, T = 100)")
    print(f"{'B':>4s} {'N':>4s} {'method':24s} {'ms':>8s} {'vs numpy':>9s}")
    for batch, N in ((8, 16), (32, 64)):
        times = bptt_vs_autograd(100, N, batch)
        for name, seconds in times.items():
            ratio = seconds / times["numpy BPTT"]
            print(f"{batch:4d} {N:4d} {name:24s} {1e3 * seconds:8.2f} {ratio:9.2f}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
