"""Work around two bugs of this book's Sphinx stack that a reader meets on every page.

A local Sphinx extension, listed under `sphinx.local_extensions` in _config.yml.

1. Sphinx 7.4: an inline script that an extension adds after the builder starts (sphinx-togglebutton's
selector, sphinx-thebe's `const THEBE_JS_URL = ...`) is registered without a file name (None), and
Sphinx adds it again before writing with the name '' (`prepare_writing`), so each page carries it
twice; the second `const` declaration is a SyntaxError on every page. Drop the repeats.

2. pydata-sphinx-theme 0.17 puts a search field in a header bar unless `navbar_persistent` is set,
which sphinx-book-theme 1.3 leaves unset: an empty bar across the top of every page, with a second
search field beside the one in the sidebar. Set it to nothing.

3. On a phone (a screen 390 px wide) a displayed equation wider than the text column overflowed to
the left of a box that clips it, and the start of the book's central equations could not be reached.
_static/book.css now lets such an equation scroll inside its own box, from its start; and on narrow
screens MathJax puts equation numbers on the left (MathJax 3 reads `tex.tagSide` when it starts;
the page loads it deferred, so this script runs first), where they are seen with the equation's start
instead of at the far end of the scroll.
"""

PHONE_TAGS = """if (window.MathJax && window.matchMedia("(max-width: 600px)").matches) {
  window.MathJax.tex = Object.assign({}, window.MathJax.tex, {tagSide: "left"});
}"""


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # in place: the list is the builder's, which Sphinx restores before the next page
    context["script_files"][:] = unique


def _no_header_bar(app, config):
    config.html_theme_options = {"navbar_persistent": [], **config.html_theme_options}


def setup(app):
    # priority 900: after the page's `window.MathJax = {...}` configuration, before MathJax runs
    app.add_js_file(None, body=PHONE_TAGS, priority=900)
    app.connect("config-inited", _no_header_bar)
    # after every other handler of the event has added its scripts
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
