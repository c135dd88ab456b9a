"""Fail if any page of the built book shows an error output, a traceback or stderr text.

Usage: python tools/sphinx/check_build.py _build/html
"""
import pathlib
import re
import sys

# myst-nb marks stream and error outputs with these CSS classes
BAD = re.compile(r'class="[^"]*\b(output (stderr|traceback|error)|cell_output_error)\b')


def main(html_dir):
    pages = sorted(pathlib.Path(html_dir).rglob("*.html"))
    if not pages:
        sys.exit(f"no HTML pages under {html_dir}: was the book built?")
    bad = [(p, m.group(0)) for p in pages for m in [BAD.search(p.read_text(encoding="utf8"))] if m]
    for page, what in bad:
        print(f"{page}: {what}")
    if bad:
        sys.exit(f"{len(bad)} page(s) show error or stderr output")
    print(f"{len(pages)} pages checked: no error or stderr output")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "_build/html")
