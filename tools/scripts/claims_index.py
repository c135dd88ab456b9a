"""Write claims.md, the page that lists every claim check beside the sentence it guards, and every
number glued into the prose with the value the stored outputs give it.

Usage: python tools/scripts/claims_index.py          (tests/test_claims.py fails while the page is stale)
"""
import ast
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGE = ROOT / "claims.md"
GLUE_ROLE = re.compile(r"\{glue:text\}`([\w-]+)(?::[^`]*)?`")
GLUE_PREFIX = "application/papermill.record/"


def chapters():
    return sorted((ROOT / "chapters").glob("*.ipynb"))


def _code(cell):
    # IPython's magics and shell escapes are not Python
    lines = "".join(cell["source"]).splitlines()
    return "\n".join(line[:len(line) - len(line.lstrip())] + "pass"
                     if line.lstrip().startswith(("%", "!")) else line for line in lines)


def _literal(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def calls(nb, function):
    """The calls ``claims.<function>(...)`` in the notebook's code: (cell index, call node)."""
    found = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse(_code(cell))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == function and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "claims"):
                found.append((index, node))
    return found


def checks(nb):
    """Every claims.check in the notebook: dicts with cell, claim, says (None where not literal)."""
    result = []
    for index, node in calls(nb, "check"):
        args = dict(zip(("claim", "holds", "measured", "says"), node.args))
        args.update({kw.arg: kw.value for kw in node.keywords})
        result.append({"cell": index, "claim": _literal(args.get("claim")),
                       "says": _literal(args.get("says"))})
    return result


def glued(nb):
    """The glued texts stored in the notebook's outputs: {name: text}."""
    values = {}
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook")
            if meta:
                text = out["data"][meta.get("mime_prefix", "") + "text/plain"]
                values[meta["name"]] = ast.literal_eval(text)
    return values


def prose(nb):
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def page():
    lines = ["# How the book checks itself", "",
             "Every number in a chapter's text that comes from an experiment is *glued*: the cell that",
             "computes it hands it to the text (`rnnbook.claims.glue`), so the prose and the outputs of the",
             "build cannot disagree. Every sentence about what an experiment or a figure shows is",
             "*checked*: a hidden cell of the chapter (`rnnbook.claims.check`) tests it on the data drawn, with",
             "a tolerance that holds on every CPU, and the tests fail when it stops holding. Both run",
             "whenever the tests re-run the chapters, natively and on two other floating-point code",
             "paths (`tests/portability.py`).", "",
             "This page is written by `tools/scripts/claims_index.py` from the chapters; the values are those of",
             "the stored outputs.", ""]
    for path in chapters():
        nb = json.loads(path.read_text(encoding="utf8"))
        title = next(line[2:] for c in nb["cells"] if c["cell_type"] == "markdown"
                     for line in "".join(c["source"]).splitlines() if line.startswith("# "))
        values = glued(nb)
        found = checks(nb)
        lines += [f"## {title}", "",
                  f"{len(values)} glued numbers and {len(found)} checked claims in "
                  f"{{doc}}`chapters/{path.stem}`.", ""]
        if found:
            lines += ["Claims, each with the sentence it guards:", ""]
            for item in found:
                says = GLUE_ROLE.sub(lambda m: values.get(m.group(1), m.group(0)), item["says"] or "")
                lines.append(f"- `{item['claim']}`: {says}")
            lines.append("")
        if values:
            lines += ["Glued numbers, as stored:", "", ", ".join(
                f"`{name}` = {text}" for name, text in values.items()), ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    PAGE.write_text(page())
    print(f"wrote {PAGE.relative_to(ROOT)}", file=sys.stderr)
