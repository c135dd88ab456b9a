"""The book as a whole: configuration, table of contents, and the chapter notebooks as stored.

nbval (run by the same `pytest` command) re-executes every chapter and compares its outputs; it
passes silently on a notebook saved without outputs, which these tests rule out.
"""
import ast
import base64
import json
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

from rnnbook import plots

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# the longest line that the book's code and output boxes show without a horizontal scrollbar
# (13 px code font, window 1280 px wide); tests/test_browser.py measures it in the rendered pages
WIDTH = 79
LISTING = re.compile(r"```\{literalinclude\} \.\./(lib/\w+\.py)\n:pyobject: (\w+)")


def toc_files(node):
    if isinstance(node, dict):
        return ([node["file"]] if "file" in node else []) + [f for v in node.values() for f in toc_files(v)]
    if isinstance(node, list):
        return [f for v in node for f in toc_files(v)]
    return []


def load(path):
    return json.loads(path.read_text(encoding="utf8"))


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell):
    return "".join(cell["source"])


def test_there_are_chapters():
    assert CHAPTERS, "no chapter notebooks found in chapters/"


def test_every_chapter_is_in_the_toc_and_every_toc_page_exists():
    listed = toc_files(TOC)
    assert sorted(f for f in listed if f.startswith("chapters/")) == [f"chapters/{p.stem}" for p in CHAPTERS]
    for f in [TOC["root"], *listed]:
        assert any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb")), f"{f} is in _toc.yml but missing"


def test_config_publishes_current_outputs_and_fails_on_errors():
    assert CONFIG["execute"]["execute_notebooks"] in ("cache", "force")
    assert CONFIG["execute"]["allow_errors"] is False
    assert CONFIG["execute"]["stderr_output"] == "error"
    assert CONFIG["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert {"sphinx_exercise", "sphinx_proof"} <= set(CONFIG["sphinx"]["extra_extensions"])
    repo = CONFIG["repository"]
    assert repo["url"].startswith("https://github.com/") and repo["branch"] == "main"
    assert CONFIG["launch_buttons"]["binderhub_url"] and CONFIG["launch_buttons"]["colab_url"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_was_run_top_to_bottom(path):
    counts = [c["execution_count"] for c in code_cells(load(path)) if source(c).strip()]
    assert None not in counts, f"{path.name} has unexecuted code cells: run `make execute`"
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: execution counts {counts} are not 1, 2, 3, ..."


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_outputs_are_stored_and_clean(path):
    nb = load(path)
    for i, cell in enumerate(code_cells(nb)):
        src, outputs = source(cell), cell.get("outputs", [])
        kinds = {o["output_type"] for o in outputs}
        assert "error" not in kinds, f"{path.name} code cell {i} stored an error"
        assert not any(o.get("name") == "stderr" for o in outputs), f"{path.name} code cell {i} stored stderr text"
        if "print(" in src or re.search(r"checks\.check_\w+\(", src):
            assert any(o.get("name") == "stdout" for o in outputs), f"{path.name} code cell {i} prints but has no stored text"
        if "plt.show()" in src:
            assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name} code cell {i} plots but stored no image"
        if "_explorer(" in src:
            assert any(WIDGET_STATE.split("-state")[0] + "-view+json" in o.get("data", {}) for o in outputs)
            assert WIDGET_STATE in nb["metadata"].get("widgets", {}), f"{path.name}: widget state was not saved"


def shown_text(output):
    """The text of a stored output as the rendered page shows it ('' for figures and widgets)."""
    if output["output_type"] == "stream":
        return "".join(output["text"])
    data = output.get("data", {})
    if WIDGET_VIEW in data or "image/png" in data or "text/html" in data:
        return ""
    return "".join(data.get("text/plain", ""))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_code_and_printed_text_fit_the_page(path):
    for i, cell in enumerate(code_cells(load(path))):
        if "remove-cell" in cell["metadata"].get("tags", []):
            continue
        lines = source(cell).splitlines()
        for output in cell.get("outputs", []):
            lines += shown_text(output).splitlines()
        too_long = [line for line in lines if len(line) > WIDTH]
        assert too_long == [], f"{path.name} code cell {i}: lines over {WIDTH} characters"


def markdown_of(doc):
    """The markdown text of a page of the book: a .md file, or a notebook's markdown cells."""
    path = next(p for p in (ROOT / f"{doc}.md", ROOT / f"{doc}.ipynb") if p.exists())
    if path.suffix == ".md":
        return path.read_text(encoding="utf8")
    return "\n".join(source(c) for c in load(path)["cells"] if c["cell_type"] == "markdown")


@pytest.mark.parametrize("doc", [TOC["root"], *toc_files(TOC)])
def test_code_blocks_in_the_text_fit_the_page(doc):
    too_long, fence = [], None      # the open fence: its backticks and info string
    for line in markdown_of(doc).splitlines():
        ticks = re.match(r"\s*(`{3,})(.*)", line)
        if ticks and fence is None:
            fence = ticks.group(1), ticks.group(2).strip()
        elif ticks and line.strip() == fence[0]:
            fence = None
        elif fence and fence[1] in ("", "text", "bash", "python") and len(line) > WIDTH:
            too_long.append(line)
    assert too_long == [], f"{doc}: code-block lines over {WIDTH} characters"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_code_shown_from_lib_fits_the_page(path):
    markdown = "".join(source(c) for c in load(path)["cells"] if c["cell_type"] == "markdown")
    for module, name in LISTING.findall(markdown):
        tree = ast.parse((ROOT / module).read_text(encoding="utf8"))
        node = next(n for n in ast.walk(tree) if getattr(n, "name", None) == name)
        lines = ast.get_source_segment((ROOT / module).read_text(encoding="utf8"), node).splitlines()
        too_long = [line for line in lines if len(line) > WIDTH]
        assert too_long == [], f"{module}:{name}, shown in {path.name}, has lines over {WIDTH} characters"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_nbval_markers_carry_a_reason(path):
    for i, cell in enumerate(code_cells(load(path))):
        lines = source(cell).splitlines()
        for n, line in enumerate(lines):
            if "NBVAL_" in line:
                assert re.fullmatch(r"\s*# NBVAL_(IGNORE_OUTPUT|SKIP|RAISES_EXCEPTION)\s*", line), \
                    f"{path.name} cell {i}: an nbval marker must stand alone on its line: {line!r}"
                assert n + 1 < len(lines) and re.match(r"\s*# \w+", lines[n + 1]), \
                    f"{path.name} cell {i}: put the reason for {line.strip()} on the next line"


def release():
    """The book's release, v<version of pyproject.toml>: the tag the chapters install in Colab."""
    return "v" + re.search(r'^version = "([0-9.]+)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)


def expected_colab_cell():
    url, tag = CONFIG["repository"]["url"], release()
    return (f"# Colab only: install the book's library, release {tag} (Colab's torch and numpy stay as they are).\n"
            "import subprocess\nimport sys\n\n"
            'if "google.colab" in sys.modules:\n'
            "    install = subprocess.run(\n"
            '        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",\n'
            f'         "rnnbook @ git+{url}@{tag}"],\n'
            "        capture_output=True, text=True)\n"
            "    if install.returncode != 0:\n"
            '        raise RuntimeError("Could not install the book\'s library (rnnbook "\n'
            f'                           "{tag}) from GitHub. pip said:\\n" + install.stderr)')


def test_the_workflow_runs_what_ci_runs():
    # one definition of CI: the GitHub workflow calls .ci/run and restates none of its commands
    steps = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())["jobs"]["build"]["steps"]
    commands = [step["run"].strip() for step in steps if "run" in step]
    assert commands == [".ci/run"], commands


def test_the_colab_cell_stops_when_the_install_fails(tmp_path):
    # in a stand-in Colab whose install cannot succeed (a repository that does not exist), the
    # first cell must stop the notebook with a message, not let the next cell fail on the import
    source = expected_colab_cell().replace(f"git+{CONFIG['repository']['url']}",
                                           f"git+file://localhost{tmp_path.as_posix()}/missing")
    code = ("import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n"
            + source.replace("%pip", "#"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode != 0
    assert "RuntimeError: Could not install the book's library (rnnbook " + release() in done.stderr
    assert "pip said:" in done.stderr and "missing" in done.stderr


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_first_code_cell_installs_lib_only_in_colab(path):
    first = code_cells(load(path))[0]
    assert source(first) == expected_colab_cell()
    assert "remove-cell" in first["metadata"].get("tags", []), "the Colab cell must be hidden in the book"
    assert not first["outputs"]


def test_project_name_matches_the_colab_install():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^name = "rnnbook"$', pyproject, re.M)
    assert "torch" not in re.search(r"^dependencies = \[(.*)\]$", pyproject, re.M).group(1)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_figure_has_alt_text(path):
    for i, cell in enumerate(code_cells(load(path))):
        if any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt.split()) >= 8, f"{path.name} code cell {i}: describe the figure in metadata mystnb.image.alt"


def png_inches(png):
    """Width of a stored PNG in inches: pixels over the dpi of its pHYs chunk."""
    width = int.from_bytes(png[16:20], "big")
    at = png.find(b"pHYs")
    per_metre = int.from_bytes(png[at + 4:at + 8], "big") if at > 0 else 0
    return width / (per_metre * 0.0254) if per_metre else width / 100


# rnnbook.plots.MAX_FIGURE_PX at 100 dpi
MAX_FIGURE_INCHES = plots.MAX_FIGURE_PX / 100


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_figures_fit_the_text_column(path):
    nb = load(path)
    for i, cell in enumerate(code_cells(nb)):
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                inches = png_inches(base64.b64decode(output["data"]["image/png"]))
                assert round(inches, 2) <= MAX_FIGURE_INCHES, f"{path.name} code cell {i}: figure {inches:.1f} in wide"
    # an explorer's frames are stored in the widget state, each the base64 buffer of an ImageModel
    state = nb["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    images = [model for model in state.values() if model.get("model_name") == "ImageModel" and model.get("buffers")]
    explorers = sum("_explorer(" in source(c) for c in code_cells(nb))
    assert len(images) >= explorers and bool(images) == bool(explorers), \
        f"{path.name}: {explorers} explorers but {len(images)} stored images"
    for model in images:
        png = base64.b64decode(model["buffers"][0]["data"])
        assert png[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name}: an explorer's stored image is not a PNG"
        inches = png_inches(png)
        assert round(inches, 2) <= MAX_FIGURE_INCHES, f"{path.name}: an explorer's image is {inches:.1f} in wide"
