"""The chapters on other floating-point code paths of this machine, run beside the main tests.

A training run amplifies rounding, so the same seed gives other digits on another CPU. What the
chapters print and glue must not depend on that. This module re-runs every chapter with nbval, in
the background while the rest of the test session runs, under code paths that round differently:

- ``ATEN_CPU_CAPABILITY`` picks PyTorch's vectorised kernels (tanh, sigmoid, reductions):
  ``default`` is the scalar code, ``avx2`` the AVX2 code (on an AVX-512 CPU, not the native one);
- ``MKL_CBWR`` picks MKL's matrix-product kernels: ``COMPATIBLE`` the plain SSE2 code, ``AVX`` the
  AVX code (here not the native AVX2 one).

Measured on the book's machine (AMD EPYC, AVX2), each of these changes the last digits of a
training run; together with the native run they are three different paths. The runs, one per
chapter and path, come from one queue: a background thread takes them one after the other, on the
core that the main session (one thread) leaves free, and when the main session reaches
``tests/test_portability.py``, which waits for them and reports, a second thread joins in.

To keep the two cores equally busy, the queue also holds the native nbval of the last chapters
(NATIVE_IN_BACKGROUND), which the main session then leaves out (conftest.py). Which paths a session
runs is chosen by BOOK_FLOAT_PATHS (below): `make test` runs two of the three, .ci/run the third.
"""
import contextlib
import json
import os
import pathlib
import queue
import re
import signal
import subprocess
import sys
import threading

import quick_start

ROOT = pathlib.Path(__file__).resolve().parents[1]
def _uses_torch(path):
    """Whether a chapter's code imports torch, or a lib module that does."""
    nb = json.loads(path.read_text(encoding="utf8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    return re.search(r"\bimport torch\b|\b(train|reference|torchnn|bridge|horizon|shortcut)\b", code) is not None


# The variables below choose PyTorch's and MKL's kernels; a chapter that does not use torch
# (numpy only) runs the same code on every path, so only the chapters that use it run again.
CHAPTERS = [path for path in sorted((ROOT / "chapters").glob("*.ipynb"))
            if _uses_torch(path)]
LOGS = ROOT / "_build" / "portability"
# The main session runs the browser tests, which the queue cannot take (one Chromium, one build),
# so it is the longer of the two: the native runs of the last chapters, and two test files that
# spend their time in kernels and subprocesses of their own, move to the queue (measured with
# Chapter 7 and nbgrader: make test took 442 s with only the chapters moved).
NATIVE_TESTS = [ROOT / "tests" / "test_student_edition.py", ROOT / "tests" / "test_nbgrader.py"]
NATIVE_IN_BACKGROUND = CHAPTERS[-4:] + NATIVE_TESTS
ALL_PATHS = {
    "native": {},
    "default-compatible": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"},
    "avx2-avx": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX"},
}
# Which of ALL_PATHS a session runs: BOOK_FLOAT_PATHS, a comma-separated list of their names. `make
# test` runs the native path (the chapters moved to the background) and the one furthest from it,
# scalar kernels and plain SSE2 matrix products; .ci/run then runs the AVX2 path on its own
# (BOOK_FLOAT_PATHS=avx2-avx), after `make test`. All three in one session took 6 minutes of the
# test command's budget of 6; one path costs about 65 s of it.
DEFAULT_PATHS = "native,default-compatible"


def _selected(value):
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in ALL_PATHS]
    if unknown or not names:
        raise ValueError(f"BOOK_FLOAT_PATHS: {value!r} names none or unknown paths {unknown}; "
                         f"choose from {', '.join(ALL_PATHS)}")
    return {name: ALL_PATHS[name] for name in names}


PATHS = _selected(os.environ.get("BOOK_FLOAT_PATHS", DEFAULT_PATHS))


# Each run is a pytest process of its own, so what pytest imports before the first cell is paid
# once per run, a dozen times over. Two imports are skipped: hypothesis's plugin (the chapters use
# none) and rfc3987_syntax (quick_start.py). Measured: collecting a chapter took 4.2 s with both,
# 1.9 s without.
PRELUDE = quick_start.SKIP + "import pytest; sys.exit(pytest.main(sys.argv[1:]))"


def command(chapters):
    """The nbval run of ``chapters``, with the options of pyproject.toml (full comparison)."""
    return [sys.executable, "-c", PRELUDE, "-q", "-p", "no:cacheprovider",
            "-p", "no:hypothesispytest",
            *[str(path.relative_to(ROOT)) for path in chapters]]


# Seconds each run took on a fresh clone on the book's machine (measured for release 0.5.0, in
# `make test`; the AVX2 path, which .ci/run runs on its own, for 0.4.0): the order of the queue on
# a machine that has no logs yet, so that the short runs are left for the end there too. A log of
# this machine's own last run takes precedence.
MEASURED = {("native", "04_gru"): 28, ("native", "05_memory_horizon"): 20,
            ("native", "06_language_model"): 21, ("native", "07_linear_recurrences"): 24,
            ("native", "test_student_edition"): 30, ("native", "test_nbgrader"): 25,
            ("default-compatible", "02_bptt"): 28, ("default-compatible", "03_vanishing"): 21,
            ("default-compatible", "04_gru"): 28, ("default-compatible", "05_memory_horizon"): 21,
            ("default-compatible", "06_language_model"): 19,
            ("default-compatible", "07_linear_recurrences"): 26,
            ("avx2-avx", "02_bptt"): 30, ("avx2-avx", "03_vanishing"): 22,
            ("avx2-avx", "04_gru"): 29, ("avx2-avx", "05_memory_horizon"): 20,
            ("avx2-avx", "06_language_model"): 27}


def last_seconds(name, path):
    """How long the run of ``path`` under ``name`` took last time (its log), else as MEASURED, or
    None (a chapter never measured)."""
    log = LOGS / f"{name}-{path.stem}.log"
    found = re.findall(r" in ([0-9.]+)s\b", log.read_text()) if log.is_file() else []
    return float(found[-1]) if found else MEASURED.get((name, path.stem))


def jobs(chapters=CHAPTERS):
    """(path name, chapter) pairs: every chapter on every other path, and the native run of
    NATIVE_IN_BACKGROUND. The longest first, by their last run (a run never seen counts as long), so
    that the short ones are left for the end, when the main session joins in."""
    pairs = [(name, path) for name in PATHS for path in chapters
             if name != "native" or path in NATIVE_IN_BACKGROUND]
    if "native" in PATHS:
        pairs += [("native", path) for path in NATIVE_TESTS]
    return sorted(pairs, key=lambda pair: -(last_seconds(*pair) or float("inf")))


class Runs:
    """Each chapter under each of PATHS, one nbval run per (path, chapter), taken from one queue.

    One worker thread starts with the session and runs on the core the main session (one thread)
    leaves free. When the main session has nothing left but to wait (the first ``wait``), a second
    worker joins, so that both cores stay busy until the queue is empty."""

    def __init__(self, chapters=CHAPTERS):
        self.chapters = list(chapters)
        self._queue = queue.Queue()
        self._expected = {name: 0 for name in PATHS}
        for name, path in jobs(self.chapters):
            self._queue.put((name, path))
            self._expected[name] += 1
        self._results = {name: [] for name in PATHS}     # (chapter, return code, log text)
        self.done = {name: threading.Event() for name in PATHS}
        for name, count in self._expected.items():
            if count == 0:
                self.done[name].set()
        self._lock = threading.Lock()
        self._processes, self._workers, self._stopped = set(), [], False

    def start(self):
        return self._add_worker()

    def _add_worker(self):
        worker = threading.Thread(target=self._work, daemon=True)
        self._workers.append(worker)
        worker.start()
        return self

    def _work(self):
        LOGS.mkdir(parents=True, exist_ok=True)
        while not self._stopped:
            try:
                name, path = self._queue.get_nowait()
            except queue.Empty:
                return
            # the log of a run that finishes replaces the last one; a run that stop() ends leaves
            # the last one, whose time orders the next session's queue (last_seconds)
            log = LOGS / f"{name}-{path.stem}.log"
            part = log.with_suffix(".part")
            env = {**os.environ, **PATHS[name], "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            with self._lock:
                if self._stopped:     # stop() came between taking the job and starting it
                    return
                with open(part, "w") as out:
                    # a process group of its own, which stop() ends (the kernel, in a session of
                    # its own, follows within a second: ipykernel watches its parent)
                    process = subprocess.Popen(command([path]), cwd=ROOT, env=env, stdout=out,
                                               stderr=subprocess.STDOUT, start_new_session=True)
                self._processes.add(process)
            code = process.wait()
            with self._lock:
                self._processes.discard(process)
                if self._stopped:
                    return
                part.replace(log)
                self._results[name].append((path.name, code, log.read_text()))
                if len(self._results[name]) == self._expected[name]:
                    self.done[name].set()

    def stop(self):
        """End the runs in progress, and the ones after them (the test session is over)."""
        with self._lock:
            self._stopped = True
            running = [p for p in self._processes if p.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):     # it ended since the poll
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def wait(self, name, timeout=1800):
        """[(chapter, return code, log text)] of the runs under path ``name``, once all have finished.
        The first call adds a second worker: the main session has nothing else left to do."""
        if len(self._workers) < 2:
            self._add_worker()
        if not self.done[name].wait(timeout):
            raise TimeoutError(f"the chapters under {name} did not finish in {timeout} s")
        return sorted(self._results[name])
