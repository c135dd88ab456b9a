"""The book's words against its computations (lib/claims.py): glued numbers and checked claims.

nbval re-runs every chapter, so a claim check that no longer holds fails its cell. These tests make
sure the checks guard sentences that are really in the text, that every glued number the text uses
is computed, and that claims.md, the page that lists them, is current.
"""
import importlib.util
import json
import pathlib
import re

import pytest

from rnnbook import claims

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("claims_index", ROOT / "tools" / "scripts" / "claims_index.py")
claims_index = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(claims_index)

CHAPTERS = claims_index.chapters()


def load(path):
    return json.loads(path.read_text(encoding="utf8"))


def flat(text):
    return " ".join(text.split())


# --- rnnbook.claims itself --------------------------------------------------------------------------

def test_a_claim_that_holds_is_silent_and_one_that_fails_says_which_sentence(capsys):
    claims.check("ch0-demo", True, "x = 1", says="x is one")
    assert capsys.readouterr().out == ""
    with pytest.raises(claims.ClaimFailed, match=r"ch0-demo.*\n.*x is one\n.*x = 2"):
        claims.check("ch0-demo", 2 == 1, "x = 2", says="x is one")


def test_numpy_booleans_are_accepted_and_anything_else_is_refused():
    import numpy as np
    claims.check("ch0-demo", np.float64(1.0) > 0, "1.0", says="positive")
    with pytest.raises(TypeError, match="holds"):
        claims.check("ch0-demo", 0.5, "0.5", says="a number is not a verdict")


@pytest.mark.parametrize("args, argument", [
    (("", True, "m", "s"), "claim"), (("a b", True, "m", "s"), "claim"), ((3, True, "m", "s"), "claim"),
    (("c", True, "", "s"), "measured"), (("c", True, "m", " "), "says"), (("c", True, "m", None), "says"),
])
def test_check_names_the_bad_argument(args, argument):
    with pytest.raises(ValueError, match=argument):
        claims.check(*args)


def test_glue_outside_a_notebook_returns_the_text_and_shows_nothing(capsys):
    assert claims.glue("rate", "0.63") == "0.63"
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("name, text, error", [
    ("rate", 0.63, TypeError), ("rate", "", ValueError), ("1rate", "1", ValueError),
    ("a rate", "1", ValueError), (None, "1", ValueError),
])
def test_glue_refuses_bad_input(name, text, error):
    with pytest.raises(error, match="text" if error is TypeError or text == "" else "name"):
        claims.glue(name, text)


def test_glue_writes_what_myst_nb_reads():
    """The same display data as myst_nb.glue(name, text, display=False)."""
    from IPython.core.interactiveshell import InteractiveShell
    from myst_nb import glue as myst_glue
    shell = InteractiveShell.instance()
    shown = []
    shell.display_pub.publish = lambda data, metadata=None, **kw: shown.append((data, metadata))
    try:
        claims.glue("rate", "0.63")
        myst_glue("rate", "0.63", display=False)
    finally:
        InteractiveShell.clear_instance()
    assert len(shown) == 2 and shown[0] == shown[1], shown


# --- the chapters -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_claim_quotes_a_sentence_of_its_chapter(path):
    nb = load(path)
    text = flat(claims_index.prose(nb))
    for item in claims_index.checks(nb):
        assert item["claim"] and item["says"], f"{path.name}, cell {item['cell']}: claim and says must be literal strings"
        assert item["claim"].startswith(f"ch{path.name[1]}-"), f"{item['claim']}: name it ch{path.name[1]}-..."
        assert flat(item["says"]) in text, (
            f"{path.name}: claim {item['claim']} guards a sentence that is no longer in the text:\n"
            f"{item['says']!r}\nUpdate the quote with the sentence, or the check with the claim.")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_claim_cells_are_quiet_and_hidden(path):
    nb = load(path)
    for index in {item["cell"] for item in claims_index.checks(nb)}:
        cell = nb["cells"][index]
        assert "remove-cell" in cell["metadata"].get("tags", []), f"{path.name}, cell {index}: tag it remove-cell"
        assert not [o for o in cell["outputs"] if "scrapbook" not in o.get("metadata", {})], (
            f"{path.name}, cell {index}: a cell with claim checks prints nothing")


def test_claim_names_are_unique():
    names = [item["claim"] for path in CHAPTERS for item in claims_index.checks(load(path))]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_glued_number_in_the_text_is_computed_and_every_computed_one_used(path):
    nb = load(path)
    used = set(claims_index.GLUE_ROLE.findall(claims_index.prose(nb)))
    stored = claims_index.glued(nb)
    calls = [node for _, node in claims_index.calls(nb, "glue")]
    assert len(calls) == len(stored), f"{path.name}: every glue call stores one value (run `make execute`)"
    assert used <= set(stored), f"{path.name}: the text uses numbers that no cell glues: {sorted(used - set(stored))}"
    assert set(stored) <= used, f"{path.name}: glued but never used in the text: {sorted(set(stored) - used)}"


def test_raw_glue_is_only_that_of_lib_claims():
    """Chapters glue through rnnbook.claims (which works without myst-nb), never myst_nb directly."""
    for path in CHAPTERS:
        for cell in load(path)["cells"]:
            assert "myst_nb" not in "".join(cell["source"]), f"{path.name}: use rnnbook.claims.glue"


def test_the_claims_page_is_current():
    assert (ROOT / "claims.md").read_text() == claims_index.page(), (
        "claims.md is stale: run `python tools/scripts/claims_index.py`")
