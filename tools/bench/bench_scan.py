"""The scans of rnnbook.scan against the loop: best-of-n wall time on one thread.

Usage: OMP_NUM_THREADS=1 python tools/bench/bench_scan.py [--repeats 5]
Two shapes (B = 1): T = 4096, N = 2048, where each step of the loop is a whole-array operation
on 2048 numbers and the loop's T Python steps cost little against the arithmetic; and T = 16384,
N = 1, where the loop pays the Python overhead of 16384 steps of one number each and the scans'
log2 T rounds win. The issue that asked for this chapter measured loop 17.7 ms against Blelloch
144 ms for the first, loop 13.9 ms against Hillis-Steele 0.15 ms for the second. Timings vary
with the machine and its load; nothing here is stored.
"""
import argparse
import os

from rnnbook import scan

SHAPES = ((4096, 2048), (16384, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if os.environ.get("OMP_NUM_THREADS") != "1":
        print("note: OMP_NUM_THREADS is not 1")
    names = list(scan.SCANS)
    print(f"{'T':>6s} {'N':>5s} " + " ".join(f"{name:>14s}" for name in names))
    for T, N in SHAPES:
        best = scan.time_scans(T, N, args.repeats, seed=0)
        print(f"{T:6d} {N:5d} " + " ".join(f"{best[name] * 1e3:11.2f} ms" for name in names))
        loop = best["sequential"]
        print(f"{'':6s} {'':5s} " + " ".join(f"{best[name] / loop:10.2f} x " for name in names))


if __name__ == "__main__":
    main()
