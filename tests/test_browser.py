"""The rendered book as a reader's browser shows it: headless Chromium, with no network.

Which build is tested:
- BOOK_HTML=<folder>: that build. CI sets BOOK_HTML=_build/html after `make book`, so the published
  pages themselves are tested.
- otherwise a build made here from the notebooks' stored outputs and widget state, with execution
  off, into _build/browser-test/ (about 10 s, faster when only a few pages changed). nbval, run by
  the same command, proves that those stored outputs are what the code produces now.

Chromium: $CHROMIUM, or chromium / google-chrome on the PATH (.ci/run installs it). Without one these
tests are skipped, saying so, unless BOOK_REQUIRE_BROWSER=1 (set by .ci/run), where they fail.
Screenshots of every chapter's first screen, one in dark mode, one widget and every explorer after its
controls were used go to _build/screenshots/, and of the first screen of every page and every explorer on
a phone (390 px wide) to _build/screenshots/phone/.
"""
import functools
import json
import os
import pathlib
import re
import subprocess
import sys
import urllib.parse

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
import browser  # noqa: E402  (tests/browser.py, test support)
import quick_start  # noqa: E402  (tests/quick_start.py)

from test_book import CONFIG, TOC, toc_files  # noqa: E402  (the book's configuration, read once)

TEST_BUILD = ROOT / "_build" / "browser-test"
DOCS = [TOC["root"], *toc_files(TOC)]
# every page a reader can reach: the table of contents, and the index and search pages Sphinx adds
PAGES = [f"{doc}.html" for doc in DOCS] + ["genindex.html", "search.html"]
CHAPTERS = [doc for doc in DOCS if (ROOT / f"{doc}.ipynb").exists()]
CHAPTER_PAGES = [f"{doc}.html" for doc in CHAPTERS]
SHOTS = {name: browser.SCREENSHOTS / f"{pathlib.Path(name).stem}.png" for name in CHAPTER_PAGES}
DARK_SHOT = SHOTS[CHAPTER_PAGES[0]].with_name(f"{SHOTS[CHAPTER_PAGES[0]].stem}-dark.png")
PHONE_SHOTS = {name: browser.SCREENSHOTS / "phone" / f"{pathlib.Path(name).stem}.png" for name in PAGES}
LOCAL_SCHEMES = ("data:", "blob:", "about:")
# the chapters with an explorer (rnnbook.widgets.frame_explorer), and the most widget state (its frames,
# as base64 PNGs) that a chapter page may carry
EXPLORER_DOCS = [doc for doc in CHAPTERS if "_explorer(" in (ROOT / f"{doc}.ipynb").read_text(encoding="utf8")]
MAX_WIDGET_STATE = 3_000_000
WIDGET_STATE = re.compile(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', re.S)
# TeX a reader should never see as text: MathJax's delimiters and common commands
RAW_TEX = re.compile(r"\\\(|\\\[|\$\$|\\(frac|mathbf|mathrm|partial|sum|left|right|begin|end)\b")


def build_from_stored_outputs():
    """Build the book with execution off into TEST_BUILD; return its HTML folder."""
    config = json.loads(json.dumps(CONFIG))
    config["execute"]["execute_notebooks"] = "off"
    # jupyter-book resolves these against the folder of the config file, which lives elsewhere here
    config["sphinx"]["local_extensions"] = {name: str(ROOT / path) for name, path
                                            in config["sphinx"]["local_extensions"].items()}
    TEST_BUILD.mkdir(parents=True, exist_ok=True)
    (TEST_BUILD / "_config.yml").write_text(yaml.safe_dump(config))
    command = [str(pathlib.Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT),
               "--config", str(TEST_BUILD / "_config.yml"), "--path-output", str(TEST_BUILD),
               "-W", "-n", "--keep-going", "-q"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                          env=quick_start.environment(TEST_BUILD / "quick_start"))
    if done.returncode:
        pytest.fail(f"the book does not build:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return TEST_BUILD / "_build" / "html"


@pytest.fixture(scope="session")
def chromium():
    found = browser.find_chromium()
    if not found:
        message = ("Chromium not found (install it, e.g. `apt-get install chromium`, or set CHROMIUM=/path): "
                   "the browser tests of the rendered book did not run")
        if os.environ.get("BOOK_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def book(chromium):
    html = pathlib.Path(os.environ["BOOK_HTML"]) if os.environ.get("BOOK_HTML") else build_from_stored_outputs()
    assert (html / "intro.html").is_file(), f"no built book in {html}"
    return html.resolve()


@pytest.fixture(scope="session")
def chrome(chromium):
    with browser.Browser(chromium) as running:
        yield running


@pytest.fixture(scope="session")
def site(book):
    with browser.serve(book) as base:
        yield base


@pytest.fixture(scope="session")
def screenshots():
    """The folder of screenshots, emptied once per session before any is taken."""
    browser.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in browser.SCREENSHOTS.glob("**/*.png"):
        old.unlink()
    return browser.SCREENSHOTS


@pytest.fixture(scope="session")
def opened(chrome, site, screenshots):
    """Every page, opened once over HTTP: {"reports": {page: its REPORT, console problems and
    requested URLs}, "explorers": {doc: its tab, still open}} for the chapters with an explorer,
    which test_every_explorer_control_changes_the_figure_without_a_kernel then uses (a second load
    of those pages took 25 s). Takes the screenshots of each chapter's first screen and of the first
    widget on the way."""
    pages, explorers = {}, {}
    for name in PAGES:
        page = chrome.new_page()
        report = browser.look(page, site + name)
        if name in CHAPTER_PAGES:
            page.screenshot(SHOTS[name])
            if report["widgets"] and not list(browser.SCREENSHOTS.glob("*-widget.png")):
                page.screenshot(SHOTS[name].with_name(f"{SHOTS[name].stem}-widget.png"),
                                selector=".widget-subarea > .jupyter-widgets")
        # copies: the explorer test adds to the problems and requests of the tab it keeps using
        pages[name] = dict(report, problems=list(page.problems), requests=list(page.requests))
        doc = name.removesuffix(".html")
        if doc in EXPLORER_DOCS:
            explorers[doc] = page
        else:
            page.close()
    yield {"reports": pages, "explorers": explorers}
    for page in explorers.values():
        page.close()


@pytest.fixture(scope="session")
def seen(opened):
    """{page: its REPORT, console problems and requested URLs} (``opened``)."""
    return opened["reports"]


@pytest.fixture(scope="session")
def seen_on_a_phone(chrome, site, seen, screenshots):
    """Every page on a phone held upright (390 x 844, mobile emulation): what cannot be reached.
    Takes a screenshot of each page's first screen and of each explorer (after `seen`, so that
    the desktop pass goes first when both are asked for)."""
    reports = {}
    for name in PAGES:
        page = chrome.new_page(viewport=browser.PHONE)
        browser.look(page, site + name)
        reports[name] = page.evaluate(browser.NARROW_REPORT)
        page.screenshot(PHONE_SHOTS[name])
        for i in range(page.evaluate("document.querySelectorAll('.rnnbook-explorer').length")):
            page.screenshot(PHONE_SHOTS[name].with_name(f"{PHONE_SHOTS[name].stem}-explorer-{i}.png"),
                            selector=".rnnbook-explorer", index=i)
        page.close()
    return reports


def html_path(book, url):
    """The file a same-site URL points at, and its fragment."""
    parsed = urllib.parse.urlsplit(url)
    return book / urllib.parse.unquote(parsed.path.lstrip("/")), urllib.parse.unquote(parsed.fragment)


@functools.lru_cache
def anchors(page):
    return set(re.findall(r'\sid="([^"]+)"', page.read_text(encoding="utf8")))


def test_every_page_of_the_book_is_checked(book):
    built = {p.relative_to(book).as_posix() for p in book.rglob("*.html")
             if not p.relative_to(book).as_posix().startswith(("_sources/", "_static/"))}
    assert built - {"index.html"} == set(PAGES)


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_without_console_errors(seen, name):
    assert seen[name]["problems"] == []


@pytest.mark.parametrize("name", PAGES)
def test_page_needs_no_network(seen, site, name):
    remote = [u for u in seen[name]["requests"] if not u.startswith((site, *LOCAL_SCHEMES))]
    assert remote == [], "the page loads files from outside the book"


@pytest.mark.parametrize("name", PAGES)
def test_math_is_typeset(seen, name):
    report = seen[name]
    assert report["math_unrendered"] == [], "MathJax left these as TeX"
    assert report["math_errors"] == [], "MathJax could not typeset these"
    prose = " ".join(report["prose"].split())
    raw = [prose[max(m.start() - 60, 0):m.end() + 40] for m in RAW_TEX.finditer(prose)]
    assert raw == [], "raw TeX in the text"


def test_chapters_and_notation_have_math(seen):
    for name in CHAPTER_PAGES + ["notation.html"]:
        assert seen[name]["math"] > 10, f"{name}: only {seen[name]['math']} formulas"


@pytest.mark.parametrize("name", PAGES)
def test_every_figure_is_an_image_that_loads(seen, name):
    broken = [i["src"] for i in seen[name]["images"] if not i["loaded"]]
    assert broken == []


@pytest.mark.parametrize("name", PAGES)
def test_figures_are_not_blown_up(seen, name):
    # a figure shown wider than it was drawn is blurred
    for image in seen[name]["images"]:
        (width, _), (shown, _) = image["natural"], image["shown"]
        assert shown <= width + 1, f"{image['src']} is drawn {width} px wide but shown at {shown} px"


@pytest.mark.parametrize("name", PAGES)
def test_nothing_scrolls_sideways(seen, name):
    # code, printed output, equations and widgets all fit the text column
    assert seen[name]["sideways"] == [], "these need a horizontal scrollbar"


@pytest.mark.parametrize("name", PAGES)
def test_nothing_is_cut_off_on_a_phone(seen_on_a_phone, name):
    # a wide equation, table or code block may scroll inside its own box, from its start; nothing
    # may start off the screen's left edge, be clipped, or make the page scroll sideways
    report = seen_on_a_phone[name]
    assert report["page_width"] <= report["width"], "the page scrolls sideways"
    assert report["cut"] == [], "these cannot be reached on a phone"
    assert report["numbers_off_screen"] == [], "these equations' numbers are off the screen"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_widgets_render_from_the_stored_state(seen, doc):
    widgets = seen[f"{doc}.html"]["widgets"]
    nb = json.loads((ROOT / f"{doc}.ipynb").read_text(encoding="utf8"))
    stored = sum("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                 for c in nb["cells"] for o in c.get("outputs", []))
    assert len(widgets) == stored
    for widget in widgets:
        assert widget["drawn"], "a widget area is blank"
        assert "Error" not in widget["text"], widget["text"]
        assert widget["controls"] > 0 and min(widget["size"]) > 20, f"the widget shows nothing: {widget}"
        assert all(width > 0 for width in widget["images"]), "a widget's image did not load"


def readout_agrees(state):
    """The readout that shows names exactly the values the controls show, in their order."""
    return state["readouts"] == [" · ".join(f"{c['label']} = {c['value']}" for c in state["controls"])]


@pytest.mark.parametrize("doc", EXPLORER_DOCS)
def test_every_explorer_control_changes_the_figure_without_a_kernel(chrome, site, opened, doc):
    # the published page, with no kernel and no network (browser.FLAGS resolve no host but this one):
    # an arrow key on each slider and dropdown, a click on another toggle button and on each Play.
    # The tab `opened` loaded and kept, brought to the front: Chromium slows the timers of the
    # tabs behind, which a Play runs on.
    page = opened["explorers"].pop(doc, None)
    if page is None:            # this test ran before in the session (a rerun): a tab of its own
        page = chrome.new_page()
        browser.look(page, site + f"{doc}.html")
    try:
        page.send("Page.bringToFront")
        check_every_explorer_control(page, site, doc)
    finally:
        page.close()


def check_every_explorer_control(page, site, doc):
    count = page.evaluate("document.querySelectorAll('.rnnbook-explorer').length")
    cells = json.loads((ROOT / f"{doc}.ipynb").read_text(encoding="utf8"))["cells"]
    assert count == sum("_explorer(" in "".join(c["source"]) for c in cells if c["cell_type"] == "code")
    stem = pathlib.Path(doc).name
    for i in range(count):
        first = browser.explorer_state(page, i)
        assert first["images"] == 1 and readout_agrees(first), first
        records = browser.use_explorer(page, i)
        assert len(records) == len(first["controls"]) + first["plays"]
        for j, record in enumerate(records):
            before, after = record["before"], record["after"]
            # a Play moves the slider it steps; the Plays come after the controls, in their order
            played = [k for k, c in enumerate(first["controls"]) if c["played"]]
            moved = j if j < len(first["controls"]) else played[j - len(first["controls"])]
            assert after["controls"][moved]["value"] != before["controls"][moved]["value"], \
                f"{record['control']} ({record['target']}) did not move"
            assert after["hash"] != before["hash"], f"{record['control']} did not change the figure"
            assert after["images"] == 1 and readout_agrees(after), after
            assert record["icons"] in ([], [1, 1]), f"the Play button shows {record['icons']} icons"
        page.screenshot(browser.SCREENSHOTS / f"{stem}-explorer-{i}.png", selector=".rnnbook-explorer", index=i)
    page.settle()
    assert page.problems == []
    assert [u for u in page.requests if not u.startswith((site, *LOCAL_SCHEMES))] == []


def test_the_explorers_have_every_kind_of_control(book):
    # so that the test above has pressed, chosen and clicked each kind on the published pages
    models = set()
    for doc in EXPLORER_DOCS:
        for state in WIDGET_STATE.findall((book / f"{doc}.html").read_text(encoding="utf8")):
            models |= {model["model_name"] for model in json.loads(state)["state"].values()}
    assert {"SelectionSliderModel", "DropdownModel", "ToggleButtonsModel", "PlayModel"} <= models


@pytest.mark.parametrize("doc", CHAPTERS)
def test_a_chapter_page_carries_little_widget_state(book, doc):
    html = (book / f"{doc}.html").read_text(encoding="utf8")
    size = sum(len(state.encode()) for state in WIDGET_STATE.findall(html))
    assert size <= MAX_WIDGET_STATE, f"{size / 1e6:.2f} MB of widget state"


def test_the_explorers_show_their_figure(seen):
    images = [w["images"] for doc in CHAPTERS for w in seen[f"{doc}.html"]["widgets"] if w["images"]]
    assert len(images) >= 3 and all(width >= 400 for shown in images for width in shown)


@pytest.mark.parametrize("doc", CHAPTERS)
def test_launch_buttons_point_at_the_chapter_in_the_repository(seen, doc):
    repo, launch = CONFIG["repository"], CONFIG["launch_buttons"]
    owner_repo, branch = urllib.parse.urlsplit(repo["url"]).path.strip("/"), repo["branch"]
    path = f"{repo.get('path_to_book') or ''}/{doc}.ipynb".lstrip("/")
    assert (ROOT / path).is_file()
    interface = {"jupyterlab": "lab/tree", "classic": "tree"}[launch["notebook_interface"]]
    expected = {
        "Launch on Binder": f"{launch['binderhub_url']}/v2/gh/{owner_repo}/{branch}?urlpath={interface}/{path}",
        "Launch on Colab": f"{launch['colab_url']}/github/{owner_repo}/blob/{branch}/{path}",
    }
    links = seen[f"{doc}.html"]["links"]
    assert {link["title"]: link["href"] for link in links if link["title"] in expected} == expected


def test_repository_button_points_at_the_repository(seen):
    links = seen["intro.html"]["links"]
    assert {link["href"].rstrip("/") for link in links if link["title"] == "Source repository"} == \
        {CONFIG["repository"]["url"]}


def test_internal_links_and_cross_references_resolve(seen, book, site):
    missing = []
    for name, report in seen.items():
        assert report["unresolved_refs"] == [], f"{name}: unresolved references"
        assert "??" not in report["prose"], f"{name}: an equation or figure number is missing"
        for link in report["links"]:
            if not link["href"].startswith(site):
                continue
            target, fragment = html_path(book, link["href"])
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                missing.append(f"{name}: {link['text']!r} -> {link['href']} (no such file)")
            elif fragment and target.suffix == ".html" and fragment not in anchors(target):
                missing.append(f"{name}: {link['text']!r} -> {link['href']} (no such anchor)")
    assert missing == []


def test_sidebar_lists_every_page_once(seen):
    # the introduction is the book's title above the list, so it is not in the list again
    sidebar = seen["intro.html"]["sidebar"]
    assert len(sidebar) == len(set(sidebar)) == len(DOCS) - 1, sidebar


def test_footer_names_the_licences(seen):
    footer = seen["intro.html"]["footer"]
    assert "MIT" in footer and "CC BY 4.0" in footer and "2026" in footer


def test_index_page_forwards_to_the_introduction(chrome, site):
    page = chrome.new_page()
    page.goto(site + "index.html")
    page.wait_for("location.pathname.endsWith('/intro.html')", 10, what="the forward to intro.html")
    page.close()


@pytest.fixture(scope="session")
def from_a_folder_in_the_dark(chrome, book, screenshots):
    """The first chapter opened as a file (file://), as after downloading the built book, in dark
    mode: (its REPORT, the page). Takes the screenshot of its first screen in dark mode. One load
    for both, as each takes 5 s: the colour scheme changes neither the scripts, fonts and files a
    page loads nor its math and widgets, which the folder test checks, and the light scheme over
    HTTP is what `opened` sees."""
    page = chrome.new_page(dark=True)
    report = browser.look(page, (book / CHAPTER_PAGES[0]).as_uri())
    page.screenshot(DARK_SHOT)
    page.close()
    return report, page


def test_the_book_reads_from_a_folder(from_a_folder_in_the_dark):
    """Opened as files: math, widgets and fonts work."""
    report, page = from_a_folder_in_the_dark
    assert page.problems == []
    assert report["math"] > 10 and report["math_unrendered"] == []
    assert report["widgets"] and all(w["drawn"] for w in report["widgets"])
    assert all(u.startswith(("file:", *LOCAL_SCHEMES)) for u in page.requests)


def test_screenshots_show_the_pages(seen, seen_on_a_phone, from_a_folder_in_the_dark):
    """Screenshots for a person to look at; here only checked to be there and not blank."""
    import matplotlib.image

    widget = list(browser.SCREENSHOTS.glob("*-widget.png"))
    assert len(widget) == 1, "no screenshot of a widget"
    for shot in [*SHOTS.values(), DARK_SHOT, *widget, *PHONE_SHOTS.values()]:
        pixels = matplotlib.image.imread(shot)
        assert pixels.std() > 0.05, f"{shot} is blank"
