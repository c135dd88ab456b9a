import os
import pathlib

# One thread for numpy, torch and every notebook kernel, as `make test` sets it: the stored outputs
# were made so, and on two cores the background runs and a second thread would fight over them.
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import matplotlib  # noqa: E402  (after the thread counts, which numpy reads when it loads)
import pytest  # noqa: E402

# Tests draw figures without a screen.
matplotlib.use("Agg")

import portability  # noqa: E402  (tests/portability.py)

_runs = None


def pytest_collection_modifyitems(session, config, items):
    """The portability tests go last: they wait for the runs that the rest of the session overlaps.
    With them, the chapters of portability.NATIVE_IN_BACKGROUND are checked natively in the
    background, so the main session leaves them out."""
    late = [item for item in items if _portability(item)]
    native = []
    if late:
        moved = {path.resolve() for path in portability.NATIVE_IN_BACKGROUND}
        native = [item for item in items if pathlib.Path(str(item.path)).resolve() in moved]
        config.hook.pytest_deselected(items=native)
    items[:] = [item for item in items if item not in late and item not in native] + late


def pytest_collection_finish(session):
    """Start the chapters on the other float paths now, if this session tests portability."""
    global _runs
    if not session.config.option.collectonly and any(_portability(item) for item in session.items):
        _runs = portability.Runs().start()


def pytest_sessionfinish(session):
    """No chapter run outlives the session (one stopped early, e.g. by -x or Ctrl-C)."""
    if _runs is not None:
        _runs.stop()


def _portability(item):
    return getattr(getattr(item, "module", None), "__name__", "") == "test_portability"


@pytest.fixture(scope="session")
def portability_runs():
    return _runs if _runs is not None else portability.Runs().start()
