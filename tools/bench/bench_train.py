"""Wall time per training step of rnnbook.train on the adding problem, for each cell and length T.

Usage: python tools/bench/bench_train.py [--device cuda] [--steps 200]
Chapter 3 trains a tanh RNN (N = 32, batch 64) for up to 1500 steps at T = 10, 20 and 40; this
script says what such runs cost here, for the RNN, GRU and LSTM, so that a chapter's training budget
can be planned. Timings vary from run to run; nothing here is stored.
"""
import argparse
import functools
import time

import torch

from rnnbook import tasks, train


def time_per_step(cell, T, steps, device, N=32, B=64):
    """Seconds per step of ``train.train`` (Adam, clipping at 1, no early stop), after one warm-up step."""
    task = functools.partial(tasks.adding_problem, T=T, B=B)
    model = train.make_model(cell, 2, N, 1, seed=0)
    train.train(model, task, 1, seed=0, lr=1e-2, clip=1.0, device=device, eval_every=1, eval_batches=1)
    start = time.perf_counter()
    train.train(model, task, steps, seed=0, lr=1e-2, clip=1.0, device=device, eval_every=steps, eval_batches=1)
    if device != "cpu":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    print(f"threads: {torch.get_num_threads()}, device: {args.device}, N = 32, batch 64")
    print(f"{'cell':6s} {'T':>5s} {'ms/step':>9s} {'1500 steps':>11s}")
    for cell in train.CELLS:
        for T in (10, 20, 40, 100):
            seconds = time_per_step(cell, T, args.steps, args.device)
            print(f"{cell:6s} {T:5d} {1e3 * seconds:9.2f} {1500 * seconds:10.1f}s", flush=True)


if __name__ == "__main__":
    main()
