import os
import pathlib

# One thread for numpy, torch and every notebook kernel, as `make test` sets it: the stored outputs
# were made so, and on two cores the background runs and a second thread would fight over them.
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import matplotlib  # noqa: E402  (after the thread counts, which numpy reads when it loads)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# Tests draw figures without a screen.
matplotlib.use("Agg")

import portability  # noqa: E402  (tests/portability.py)

# Property tests draw the same examples on every run and machine: a failure CI sees is one anybody can
# reproduce, and a green run stays green. (Their examples still span the strategies; a change of a
# strategy or of max_examples draws new ones.)
settings.register_profile("book", derandomize=True, database=None)
settings.load_profile("book")
from rnnbook import gradcheck  # noqa: E402

_runs = None


def pytest_collection_modifyitems(session, config, items):
    """The portability tests go last: they wait for the runs that the rest of the session overlaps.
    With them, the chapters of portability.NATIVE_IN_BACKGROUND are checked natively in the
    background, so the main session leaves them out."""
    late = [item for item in items if _portability(item)]
    native = []
    if late and "native" in portability.PATHS:
        moved = {path.resolve() for path in portability.NATIVE_IN_BACKGROUND}
        native = [item for item in items if pathlib.Path(str(item.path)).resolve() in moved]
        config.hook.pytest_deselected(items=native)
    items[:] = [item for item in items if item not in late and item not in native] + late


def pytest_sessionstart(session):
    """Start the chapters on the other float paths before collection, if this session will test
    portability: collecting takes the main session 10 s, on one core, while the other one idles."""
    global _runs
    if _expects_portability(session.config):
        _runs = portability.Runs().start()


def pytest_collection_finish(session):
    """Start the runs now if the session tests portability after all, or stop them if it does not
    (a selection that pytest_sessionstart could not foresee)."""
    global _runs
    wanted = not session.config.option.collectonly and any(_portability(item) for item in session.items)
    if wanted and _runs is None:
        _runs = portability.Runs().start()
    elif not wanted and _runs is not None:
        _runs.stop()
        _runs = None


def _expects_portability(config):
    """Whether the command line names tests/test_portability.py, or a folder holding it, with no
    option that deselects or ignores tests or runs none. (A wrong guess costs little: runs started
    for nothing are stopped after collection, and runs not started early start then.)"""
    option = config.option
    leaves_out = ("collectonly", "keyword", "markexpr", "deselect", "ignore", "ignore_glob",
                  "showfixtures", "show_fixtures_per_test", "setuponly", "setupplan")
    if any(getattr(option, name, None) for name in leaves_out):
        return False
    target = pathlib.Path(__file__).with_name("test_portability.py").resolve()
    root = pathlib.Path(config.invocation_params.dir)
    for arg in config.args:
        path = (root / arg.split("::")[0]).resolve()
        if (path == target and "::" not in arg) or path in target.parents:
            return True
    return False


def pytest_sessionfinish(session):
    """No chapter run outlives the session (one stopped early, e.g. by -x or Ctrl-C)."""
    if _runs is not None:
        _runs.stop()


def _portability(item):
    return getattr(getattr(item, "module", None), "__name__", "") == "test_portability"


@pytest.fixture(scope="session")
def portability_runs():
    return _runs if _runs is not None else portability.Runs().start()


@pytest.fixture(scope="session")
def sequence_problem():
    """make(T=5, B=3, N=4, K=2, M=2, seed=0, scale=1.0) -> (x, y, params): a random problem for the
    network of Chapter 2 and its readout, x (T, B, K), y (T, B, M) and params with the arrays of
    ``bptt.PARAMS`` and v0, w_vv of entries ~ scale / sqrt(N). Session-scoped, so that
    hypothesis's tests can take it."""
    def make(T=5, B=3, N=4, K=2, M=2, seed=0, scale=1.0):
        rng = np.random.default_rng(seed)
        x, y = rng.standard_normal((T, B, K)), rng.standard_normal((T, B, M))
        params = dict(w_vv=scale * rng.standard_normal((N, N)) / np.sqrt(N), w_vx=rng.standard_normal((N, K)),
                      theta_v=rng.standard_normal(N), w_ov=rng.standard_normal((M, N)),
                      theta_o=rng.standard_normal(M), v0=rng.standard_normal((B, N)))
        return x, y, params
    return make


@pytest.fixture(scope="session")
def worst_error():
    """worst(a, b, names=None): the largest ``gradcheck.relative_error`` between the arrays of two
    gradient dicts, over ``names`` (default: every array of a)."""
    def worst(a, b, names=None):
        return max(gradcheck.relative_error(a[k], b[k]) for k in (a if names is None else names))
    return worst


@pytest.fixture(scope="session")
def sequence_autograd():
    """oracle(x, y, params, g, g_out) -> (H, grads): the energy H of a sequence problem and its
    gradients, by torch autograd in float64 (``reference.sequence_energy``): what BPTT and RTRL
    are both checked against."""
    from rnnbook import reference     # torch: only for the tests that ask for the oracle

    def oracle(x, y, params, g, g_out):
        x_t, y_t = reference.as_tensor(x), reference.as_tensor(y)
        return reference.autograd_gradients(
            lambda t: reference.sequence_energy(x_t, y_t, t, g=g, g_out=g_out), params)
    return oracle


@pytest.fixture
def one_thread():
    """torch on one thread, as the stored runs were made (one thread per process); the thread
    count is restored afterwards."""
    import torch      # only for the tests that train
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
