"""Subprocesses of the tests start without one slow optional import.

jsonschema, which nbformat's validation of a notebook imports, loads rfc3987_syntax when it is
installed (jupyterlab's dependencies install it) and builds a grammar on import: 1.6 to 2.5 s on the
book's machine, in every process that reads a notebook. It checks IRI formats, which no notebook
schema uses, and jsonschema does without it when the import fails. The tests' subprocesses (the
chapters' nbval runs, the student-edition and course tools, nbgrader, jupyter-book, `jupyter
execute`) skip it in one of two ways:

- ``SKIP``, a line of Python to run first, where the test writes the command (``python -c``);
- ``environment(folder)``, where the command is a program found on the PATH: a folder that holds a
  module rfc3987_syntax whose import fails, first on the PYTHONPATH.
"""
import os

SKIP = "import sys; sys.modules['rfc3987_syntax'] = None; "


def environment(folder, env=None):
    """A copy of ``env`` (default os.environ) whose Python processes fail to import rfc3987_syntax:
    writes the module that fails into ``folder`` and puts ``folder`` first on PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rfc3987_syntax.py").write_text(
        'raise ImportError("rfc3987_syntax is skipped in the tests (tests/quick_start.py)")\n')
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")]))
    return env
