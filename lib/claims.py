"""The book's words, tied to its computations: numbers glued into the prose, and claims checked.

A number that a chapter's text quotes from an experiment is never typed by hand. The cell that
computes it calls ``glue("name", text)``, and the prose says {glue:text}`name`; when the book is
built, myst-nb pastes the text in. ``glue`` writes the same output as myst-nb's own ``glue``, so it
works where myst-nb is not installed (Colab, a student's laptop): there it simply shows nothing.

A sentence that says something about an experiment or a figure ("the GRU reaches the target, the
RNN stays near 1/6") is guarded by ``check(claim, holds, measured, says)`` in a cell of its own,
hidden in the rendered book: it raises ``ClaimFailed`` when the data no longer bear the sentence
out, so the tests, which re-run every chapter, fail. ``says`` quotes the sentence (or the part of it
the check guards); ``tests/test_claims.py`` makes sure that the quote is still in the chapter, and
``claims.md`` lists every check beside the sentence it guards.

Both are written for outputs that hold on every CPU. A glued text is compared by the tests like any
other output, so it must show what the experiment determines, at the precision it determines it
(an outcome, a count, a rate to its stable digits), not the raw digits of a training run; a check's
tolerance must hold on every machine, not just on the one that stored the outputs.
"""
import re

import numpy as np

__all__ = ["GLUE_PREFIX", "ClaimFailed", "glue", "check"]

GLUE_PREFIX = "application/papermill.record/"   # myst-nb's mime prefix for a value not shown
_NAME = re.compile(r"[A-Za-z][\w-]*")


class ClaimFailed(AssertionError):
    """A sentence of the book is no longer borne out by its own computation."""


def glue(name, text):
    """Glue ``text`` under ``name`` for the prose's {glue:text}`name` role; returns ``text``.

    name: letters, digits, "-" and "_", starting with a letter (unique within a chapter).
    text: a str, already formatted at the precision the experiment determines.
    Outside a Jupyter kernel (a plain script) nothing is displayed.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"name: expected letters, digits, '-' or '_' starting with a letter, "
                         f"got {name!r}")
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str formatted at the precision the experiment "
                        f"determines (e.g. f'{{x:.2f}}'), got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"text: expected something to paste for {name!r}, got an empty string")
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:          # not in a notebook: there is no prose to paste into
        return text
    if get_ipython() is None:
        return text
    # exactly what myst_nb.glue(name, text, display=False) writes: the build reads it from there
    display({GLUE_PREFIX + "text/plain": repr(text)}, raw=True,
            metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}})
    return text


def check(claim, holds, measured, says):
    """Raise ClaimFailed unless ``holds``: the computation still bears out the sentence ``says``.

    claim: the claim's name, e.g. "ch3-rnn-fails-T40" (letters, digits, "-" and "_").
    holds: a bool (numpy's bool too), the outcome of the check on the data.
    measured: a str with the numbers the check looked at, for the failure message.
    says: the sentence of the chapter that the check guards, quoted from its text.
    Returns None; a check that passes prints nothing.
    """
    if not isinstance(claim, str) or not _NAME.fullmatch(claim):
        raise ValueError(f"claim: expected letters, digits, '-' or '_' starting with a letter, "
                         f"got {claim!r}")
    if not isinstance(holds, (bool, np.bool_)):
        raise TypeError(f"holds: expected a bool, got {type(holds).__name__} (compare first)")
    for arg, value in (("measured", measured), ("says", says)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{arg}: expected a non-empty str, got {value!r}")
    if not holds:
        raise ClaimFailed(f"claim {claim} no longer holds.\n  The text says: {says}\n"
                          f"  The computation gives: {measured}") from None
