import os
import sys

import matplotlib
import pytest

# Tests draw figures without a screen.
matplotlib.use("Agg")
# The repository root, so that `import lib` works even before `pip install -e .`.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import portability  # noqa: E402  (tests/portability.py)

_runs = None


def pytest_collection_modifyitems(session, config, items):
    """The portability tests go last: they wait for the runs that the rest of the session overlaps."""
    late = [item for item in items if _portability(item)]
    items[:] = [item for item in items if item not in late] + late


def pytest_collection_finish(session):
    """Start the chapters on the other float paths now, if this session tests portability."""
    global _runs
    if any(_portability(item) for item in session.items):
        _runs = portability.Runs().start()


def _portability(item):
    return getattr(getattr(item, "module", None), "__name__", "") == "test_portability"


@pytest.fixture(scope="session")
def portability_runs():
    return _runs if _runs is not None else portability.Runs().start()
