"""The chapters on other floating-point code paths of this machine, run beside the main tests.

A training run amplifies rounding, so the same seed gives other digits on another CPU. What the
chapters print and glue must not depend on that. This module re-runs every chapter with nbval, in
the background while the rest of the test session runs, under code paths that round differently:

- ``ATEN_CPU_CAPABILITY`` picks PyTorch's vectorised kernels (tanh, sigmoid, reductions):
  ``default`` is the scalar code, ``avx2`` the AVX2 code (on an AVX-512 CPU, not the native one);
- ``MKL_CBWR`` picks MKL's matrix-product kernels: ``COMPATIBLE`` the plain SSE2 code, ``AVX`` the
  AVX code (here not the native AVX2 one).

Measured on the book's machine (AMD EPYC, AVX2), each of these changes the last digits of a
training run; together with the native run they are three different paths. The runs happen one
after the other in one background thread, on the core that the main session (one thread) leaves
free. ``tests/test_portability.py`` waits for them and reports.

To keep the two cores equally busy, the background also runs the native nbval of the last two
chapters (NATIVE_IN_BACKGROUND), which the main session then leaves out (conftest.py): measured on
the book's machine, the main session otherwise ran about 420 s and the background 270 s; with them
moved, about 340 s each.
"""
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import threading

ROOT = pathlib.Path(__file__).resolve().parents[1]
def _uses_torch(path):
    """Whether a chapter's code imports torch, or a lib module that does."""
    nb = json.loads(path.read_text(encoding="utf8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    return re.search(r"\bimport torch\b|\b(train|reference|bridge|horizon)\b", code) is not None


# The variables below choose PyTorch's and MKL's kernels; a chapter that does not use torch
# (numpy only) runs the same code on every path, so only the chapters that use it run again.
CHAPTERS = [path for path in sorted((ROOT / "chapters").glob("*.ipynb"))
            if _uses_torch(path)]
LOGS = ROOT / "_build" / "portability"
NATIVE_IN_BACKGROUND = CHAPTERS[-2:]
PATHS = {
    "native": {},
    "default-compatible": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"},
    "avx2-avx": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX"},
}


def command(chapters):
    """The nbval run of ``chapters``, with the options of pyproject.toml (full comparison)."""
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            *[str(path.relative_to(ROOT)) for path in chapters]]


class Runs:
    """The chapters under each of PATHS, one path after the other, in a background thread."""

    def __init__(self, chapters=CHAPTERS):
        self.chapters = list(chapters)
        self.results = {}           # path name -> (return code, log file)
        self.done = {name: threading.Event() for name in PATHS}
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._process, self._stopped = None, False

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        LOGS.mkdir(parents=True, exist_ok=True)
        for name, settings in PATHS.items():
            log = LOGS / f"{name}.log"
            env = {**os.environ, **settings, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            chapters = NATIVE_IN_BACKGROUND if name == "native" else self.chapters
            with open(log, "w") as out:
                if self._stopped:
                    return
                # a session of its own, so that stop() ends its kernel too
                self._process = subprocess.Popen(command(chapters), cwd=ROOT, env=env, stdout=out,
                                                 stderr=subprocess.STDOUT, start_new_session=True)
                code = self._process.wait()
            self.results[name] = (code, log)
            self.done[name].set()

    def stop(self):
        """End the run in progress, and the ones after it (the test session is over)."""
        self._stopped = True
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            self._process.wait()

    def wait(self, name, timeout=1800):
        """(return code, log file) of the run under path ``name``, once it has finished."""
        if not self.done[name].wait(timeout):
            raise TimeoutError(f"the chapters under {name} did not finish in {timeout} s")
        return self.results[name]
