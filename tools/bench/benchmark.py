"""Measure the budgets: each chapter's execution time and the time of the README's test command.

Usage: python tools/bench/benchmark.py [--no-tests]   (or: make benchmark)
Budgets on the book's two-core CPU machine: each chapter <= 60 s, the whole test command <= 6 min.
Chapters are executed on copies, so the stored notebooks are not changed.
"""
import copy
import importlib.util
import pathlib
import subprocess
import sys
import time

import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[2]
# the author script that executes chapters (tools/scripts/execute.py): one way to run a chapter
_spec = importlib.util.spec_from_file_location("execute", ROOT / "tools" / "scripts" / "execute.py")
_execute = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_execute)
execute = _execute.execute
CHAPTER_BUDGET_S, TEST_BUDGET_S = 60, 360


def time_chapter(path):
    """Execute a copy of the chapter next to the original (same folder, same imports)."""
    scratch = path.with_name(f".benchmark-{path.name}")
    nbformat.write(copy.deepcopy(nbformat.read(path, as_version=4)), scratch)
    try:
        return execute(str(scratch))
    finally:
        scratch.unlink()


def main():
    rows = []
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        rows.append((f"chapters/{path.name}", time_chapter(path), CHAPTER_BUDGET_S))
    if "--no-tests" not in sys.argv:
        start = time.perf_counter()
        subprocess.run(["make", "test"], cwd=ROOT, check=True, capture_output=True)
        rows.append(("make test", time.perf_counter() - start, TEST_BUDGET_S))
    print(f"{'what':40s} {'wall time':>10s} {'budget':>8s}")
    for name, seconds, budget in rows:
        flag = "" if seconds <= budget else "  OVER BUDGET"
        print(f"{name:40s} {seconds:9.1f}s {budget:7d}s{flag}")
    return any(seconds > budget for _, seconds, budget in rows)


if __name__ == "__main__":
    sys.exit(main())
