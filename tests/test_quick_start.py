"""tests/quick_start.py: the import it skips takes from jsonschema only the two formats that no
notebook schema uses, in both of its ways, and nothing where the module is not installed."""
import importlib.util
import subprocess
import sys

import quick_start

CHECKERS = ("from jsonschema import FormatChecker; "
            "print(' '.join(sorted(FormatChecker.checkers)))")
# what rfc3987_syntax adds to jsonschema (jupyterlab's dependencies install it, through
# jsonschema[format-nongpl]); nothing if it is not installed
IRI = {"iri", "iri-reference"} if importlib.util.find_spec("rfc3987_syntax") else set()


def checkers(command, env=None):
    run = subprocess.run([sys.executable, "-c", command], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    return set(run.stdout.split())


def test_only_the_iri_formats_are_lost(tmp_path):
    full = checkers(CHECKERS)
    assert len(full) > 10
    assert full - checkers(quick_start.SKIP + CHECKERS) == IRI
    assert full - checkers(CHECKERS, env=quick_start.environment(tmp_path)) == IRI
