"""Execute chapter notebooks in place, top to bottom, and store their outputs and widget state.

Usage: python tools/scripts/execute.py chapters/*.ipynb   (or: make execute)
Run this after changing lib/ or a chapter; `make test` then checks the stored outputs with nbval.
"""
import os
import sys
import time

import nbformat
from nbclient import NotebookClient

# the same single-threaded environment as the tests, so that stored outputs are reproducible
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


def execute(path, timeout=600):
    """Run the notebook at ``path`` in its own folder and write it back. Returns the wall time."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}}).execute()
    elapsed = time.perf_counter() - start
    nbformat.write(nb, path)
    return elapsed


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for path in sys.argv[1:]:
        print(f"{path}: executed in {execute(path):.1f} s", flush=True)
