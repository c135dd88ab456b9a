"""Milliseconds per training step of Chapter 6's language models: the book's GRU (its numpy
learning rule, bridge.NumpyGRU) against torch.nn.GRU, at the book's SETUP.

Usage: python tools/bench/bench_shakespeare.py [--repeats 15] [--steps 5] [--cells book-gru gru]
One training step is what shakespeare.train_lm does per chunk: the one-hot chunk (T = 64 steps of
B = 32 streams) forward with the carried state, the cross-entropy, the backward pass, clipping,
Adam's step and the state detached. Both networks start from the same weights (CharModel) and
train on the same chunks of the corpus, on one thread. The repeats alternate between the networks
(each repeat: ``--steps`` steps of one, then of the next), so that a slow spell of a shared machine
falls on both; each network's time per step is the median over its repeats. Timings vary from run
to run; nothing here is stored.
"""
import argparse
import statistics
import time

import torch

from rnnbook import shakespeare, text

SETUP = shakespeare.SETUP


def stepper(cell, chunks, K):
    """A function that runs one more training step of a fresh ``cell`` network at SETUP."""
    model = shakespeare.CharModel(cell, K, SETUP["N"], seed=SETUP["seed"])
    optimiser = torch.optim.Adam(model.parameters(), lr=SETUP["lr"])
    xs, ys = chunks
    position = {"c": 0, "state": None}

    def step():
        c = position["c"] % len(xs)
        x = torch.from_numpy(text.one_hot(xs[c], K))
        O, state = model(x, None if c == 0 else position["state"])
        loss = torch.nn.functional.cross_entropy(O.reshape(-1, K),
                                                 torch.from_numpy(ys[c]).reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), SETUP["clip"])
        optimiser.step()
        position["c"], position["state"] = c + 1, shakespeare.detach_state(state)
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--steps", type=int, default=5, help="training steps per repeat")
    parser.add_argument("--cells", nargs="+", default=["book-gru", "gru"],
                        choices=list(shakespeare.CELLS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    train_ids, _, K = shakespeare._corpus()
    chunks = text.chunks(train_ids, SETUP["B"], SETUP["T"])
    steps = {cell: stepper(cell, chunks, K) for cell in args.cells}
    for step in steps.values():     # warm-up: allocations, Adam's state
        step()
        step()
    times = {cell: [] for cell in args.cells}
    for _ in range(args.repeats):
        for cell, step in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            times[cell].append((time.perf_counter() - start) / args.steps)
    print(f"one thread, N = {SETUP['N']}, B = {SETUP['B']}, T = {SETUP['T']}, K = {K}; median of "
          f"{args.repeats} alternating repeats of {args.steps} steps")
    median = {cell: statistics.median(t) for cell, t in times.items()}
    for cell, seconds in median.items():
        spread = (min(times[cell]) * 1e3, max(times[cell]) * 1e3)
        print(f"{cell:9s} {seconds * 1e3:7.1f} ms per training step  "
              f"(repeats from {spread[0]:.1f} to {spread[1]:.1f} ms)")
    first, *others = args.cells
    for cell in others:
        print(f"{first} / {cell}: {median[first] / median[cell]:.2f}")


if __name__ == "__main__":
    main()
