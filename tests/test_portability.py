"""Every chapter gives the same compared outputs on other floating-point code paths (portability.py),
and the chapters whose native nbval run was moved to the background give their stored outputs.

The runs start in the background when the session starts, before collection (conftest.py), and these
tests, which pytest runs last, wait for them. A failure shows nbval's report of the cell that differed.
"""
import pytest

from portability import PATHS


@pytest.mark.parametrize("name", PATHS)
def test_the_chapters_agree_on_another_float_path(name, portability_runs):
    runs = portability_runs.wait(name)
    settings = " ".join(f"{k}={v}" for k, v in PATHS[name].items()) or "the native float path"
    assert runs, f"no chapter ran under {settings}"
    for chapter, code, report in runs:
        assert code == 0, f"{chapter} under {settings} differs from its stored outputs:\n{report[-6000:]}"
        # nbval passes an empty notebook silently: every chapter must really have run
        assert " passed" in report and "no tests ran" not in report, f"{chapter}: {report[-2000:]}"
