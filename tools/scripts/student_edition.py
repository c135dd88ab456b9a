"""Write the student edition of every chapter: solution code replaced by stubs, solution text removed.

Usage: python tools/scripts/student_edition.py [OUTDIR] [NOTEBOOK ...]   (or: make student)

OUTDIR defaults to _build/student; the notebooks default to chapters/*.ipynb. The edition is a folder
that can be handed out as it is:

    OUTDIR/chapters/*.ipynb    the chapters, without outputs, solutions or hidden stub cells
    OUTDIR/chapters/data/      the data the chapters read (Chapter 5's results file), so that the
                               edition runs offline
    OUTDIR/lib/, pyproject.toml, requirements.txt, runtime.txt, README.md
                               the library the chapters import, installable with `pip install -e .`

One source, two editions. The chapters are the instructor edition; in the student edition

- every region of a code cell between `### BEGIN SOLUTION` and `### END SOLUTION` lines (nbgrader's
  convention) becomes a stub. Inside a function (an indented region) the stub is
  `raise NotImplementedError()`, so the self-check that follows reports "... is not written yet".
  At module level the region must consist of assignments, and each assigned name is set to `None`:
  the cell still runs, a later cell that uses the name finds it defined, and the self-check reports
  what is missing instead of a NameError;
- the `hide-input` tag is removed from those cells, since the student writes in them;
- every `{solution}` block is removed from the markdown cells, and a cell left empty is dropped;
- outputs, execution counts and saved widget state are cleared, and a banner cell says which edition
  this is.

A marker that is unbalanced, or a solution block that cannot be parsed, stops the tool with a message
naming the notebook and the cell, and nothing is written.
"""
import ast
import copy
import pathlib
import re
import shutil
import sys
import textwrap

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_OUTDIR = ROOT / "_build" / "student"
# written into OUTDIR so that a later run may replace the folder, and never a folder it did not write
STAMP = ".student-edition"
COPIED = ["lib", "pyproject.toml", "requirements.txt", "runtime.txt"]
# the chapters' data, copied into OUTDIR/chapters: rnnbook.horizon.load_results reads the file there and
# would otherwise fetch it from the book's repository, which needs the network
DATA = "chapters/data"
# folders whose files the tests and the book pick up: the edition must not be written inside them
SOURCES = ["chapters", "lib", "tests", "tools"]
# tags that hide a cell's code in the rendered book; a student must see the cell they write in
HIDING_TAGS = {"hide-input", "hide-cell", "remove-input", "remove-cell"}

MARKER = re.compile(r"^(?P<indent>[ \t]*)###[ \t]*(?P<kind>BEGIN|END) SOLUTION[ \t]*$")
# a line that mentions a marker without being one (a typo such as "## BEGIN SOLUTION") is an error
MARKER_WORDS = re.compile(r"(BEGIN|END)[ \t]+SOLUTION")
FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|:{3,})[ \t]*(?P<info>.*)$")
DIRECTIVE = re.compile(r"^\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*)$")
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
BANNER_ID = "student-edition-banner"
BANNER = """\
**Student edition.** The solutions are removed from this notebook. Each coding exercise has a cell for
you to complete, marked `# YOUR CODE HERE`, followed by a self-check cell: it prints a line starting
with ✓ when your code agrees with the book's library, and otherwise raises `SelfCheckFailed` with a
message that says what differs. Run the notebook from the top ("Restart Kernel and Run All Cells"):
the self-check of an exercise you have not done yet fails and says what is missing."""
README = """\
# Student edition

The chapters of the textbook *Recurrent networks, BPTT, vanishing gradients and the GRU*, with the
solutions to the exercises removed. Open the notebooks in `chapters/`; each coding exercise has a cell
for you to complete, followed by a self-check cell.

To run them on your own machine with Python 3.11, in this folder:

```bash
python3.11 -m venv .venv
.venv/bin/python -m pip install -r requirements.txt jupyterlab   # includes this folder's `lib`
.venv/bin/jupyter lab chapters/
```
"""


class EditionError(Exception):
    """The instructor edition breaks the conventions the student edition relies on."""


def solution_regions(source):
    """The marked solution regions of a code cell as (begin, end, indent) line numbers, 0-based,
    the marker lines included. Raises EditionError on unbalanced or malformed markers."""
    regions, begin = [], None
    for n, line in enumerate(source.splitlines()):
        marker = MARKER.match(line)
        if not marker:
            if MARKER_WORDS.search(line):
                raise EditionError(f"line {n + 1}: {line.strip()!r} is not a marker: write exactly "
                                   "'### BEGIN SOLUTION' or '### END SOLUTION' on a line of its own")
            continue
        if marker["kind"] == "BEGIN":
            if begin is not None:
                raise EditionError(f"line {n + 1}: BEGIN SOLUTION inside the region opened at "
                                   f"line {begin[0] + 1}: regions cannot nest")
            begin = (n, marker["indent"])
        else:
            if begin is None:
                raise EditionError(f"line {n + 1}: END SOLUTION without a BEGIN SOLUTION before it")
            if marker["indent"] != begin[1]:
                raise EditionError(f"line {n + 1}: END SOLUTION is indented differently from the "
                                   f"BEGIN SOLUTION at line {begin[0] + 1}")
            if n == begin[0] + 1:
                raise EditionError(f"line {n + 1}: the solution region opened at line "
                                   f"{begin[0] + 1} is empty")
            regions.append((begin[0], n, begin[1]))
            begin = None
    if begin is not None:
        raise EditionError(f"line {begin[0] + 1}: BEGIN SOLUTION is never closed by END SOLUTION")
    return regions


def assigned_names(code):
    """The names a module-level solution region assigns, in order; EditionError for anything else."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise EditionError(f"the solution region is not valid Python on its own: {exc}") from None
    names = []

    def collect(target):
        if isinstance(target, ast.Name):
            names.append(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                collect(element)
        else:
            raise EditionError(f"line {target.lineno} of the region assigns to "
                               f"{ast.unparse(target)!r}; only plain names can be stubbed")

    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                collect(target)
        elif isinstance(node, ast.AnnAssign):
            collect(node.target)
        else:
            raise EditionError(f"a solution region at module level may only assign names, but line "
                               f"{node.lineno} of it is a {type(node).__name__} statement: put the "
                               "code in a function and mark the function body instead")
    if not names:
        raise EditionError("the solution region at module level assigns nothing")
    return list(dict.fromkeys(names))


def stub_source(source):
    """The code cell ``source`` with every solution region replaced by its stub, and the number of
    regions replaced."""
    regions = solution_regions(source)
    lines = source.splitlines()
    for begin, end, indent in reversed(regions):
        if indent:
            stub = [indent + line for line in CODE_STUB]
        else:
            names = assigned_names("\n".join(lines[begin + 1:end]))
            stub = ["# YOUR CODE HERE: replace each None with your answer"]
            stub += [f"{name} = None" for name in names]
        lines[begin:end + 1] = stub
    return "\n".join(lines), len(regions)


def python_syntax_error(source):
    """None if the cell, IPython magics included, is valid Python, else the error message."""
    try:
        ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError as exc:
        return f"{exc.msg} at line {exc.lineno}"
    return None


def directive_blocks(markdown):
    """The fenced blocks of a markdown cell at top level, as (first, last, name, argument) line
    numbers, 0-based and inclusive; ``name`` is the directive name or None for a code block.
    Raises EditionError when a solution block is not closed."""
    lines, blocks, n = markdown.splitlines(), [], 0
    while n < len(lines):
        opening = FENCE.match(lines[n])
        if not opening:
            n += 1
            continue
        fence = opening["fence"]
        directive = DIRECTIVE.match(opening["info"].strip())
        name = directive["name"] if directive else None
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        last = next((m for m in range(n + 1, len(lines)) if closing.match(lines[m])), None)
        if last is None:
            if name and name.startswith("solution"):
                raise EditionError(f"line {n + 1}: the {{{name}}} block opened with {fence} is never "
                                   f"closed by a line of at least {len(fence)} {fence[0]!r}")
            last = len(lines) - 1    # CommonMark: an unclosed fence runs to the end of the cell
        blocks.append((n, last, name, directive["arg"].strip() if directive else ""))
        n = last + 1
    return blocks


def solution_blocks(markdown):
    """The {solution} blocks of a markdown cell as (first, last, label)."""
    found = []
    for first, last, name, arg in directive_blocks(markdown):
        if name in ("solution-start", "solution-end"):
            raise EditionError(f"line {first + 1}: gated solutions ({{{name}}}) are not supported; "
                               "write the solution as one {solution} block with :class: dropdown")
        if name == "solution":
            if not re.fullmatch(r"[\w-]+", arg):
                raise EditionError(f"line {first + 1}: a {{solution}} block must name the label of "
                                   f"its exercise, got {arg!r}")
            found.append((first, last, arg))
    return found


def exercise_labels(markdown):
    """The labels of the {exercise} blocks of a markdown cell, in order."""
    labels = []
    for first, last, name, _ in directive_blocks(markdown):
        if name == "exercise":
            option = re.search(r"^\s*:label:\s*(\S+)\s*$", "\n".join(markdown.splitlines()[first:last]),
                               re.M)
            labels.append(option[1] if option else None)
    return labels


def strip_solutions(markdown):
    """The markdown cell without its {solution} blocks and without the blank lines they leave."""
    lines = markdown.splitlines()
    for first, last, _ in reversed(solution_blocks(markdown)):
        del lines[first:last + 1]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def student_notebook(nb):
    """The student edition of one notebook (a new object; ``nb`` is not changed). Raises
    EditionError naming the cell that breaks the conventions."""
    nb = copy.deepcopy(nb)
    cells = []
    for index, cell in enumerate(nb.cells):
        try:
            if cell.cell_type == "code":
                source, replaced = stub_source(cell.source)
                if replaced:
                    error = python_syntax_error(source)
                    if error and not python_syntax_error(cell.source):
                        raise EditionError(f"the stubbed cell is not valid Python ({error})")
                    cell.source = source
                    tags = [t for t in cell.metadata.get("tags", []) if t not in HIDING_TAGS]
                    if tags:
                        cell.metadata["tags"] = tags
                    else:
                        cell.metadata.pop("tags", None)
                cell.outputs, cell.execution_count = [], None
                cell.metadata.pop("execution", None)
            elif cell.cell_type == "markdown":
                for n, line in enumerate(cell.source.splitlines()):
                    if MARKER.match(line):
                        raise EditionError(f"line {n + 1}: solution markers belong in code cells; "
                                           "put written solutions in a {solution} block")
                cell.source = strip_solutions(cell.source)
                if not cell.source.strip():
                    continue
        except EditionError as exc:
            raise EditionError(f"cell {index}: {exc}") from None
        cells.append(cell)
    banner = nbformat.v4.new_markdown_cell(BANNER)
    banner["id"] = BANNER_ID
    nb.cells = [banner] + cells
    nb.metadata.pop("widgets", None)
    nbformat.validate(nb)
    return nb


def prepare_outdir(outdir):
    """Empty ``outdir`` if an earlier run of this tool wrote it; refuse any other non-empty folder."""
    outdir = outdir.resolve()
    if ROOT.is_relative_to(outdir) or any(outdir.is_relative_to(ROOT / d) for d in SOURCES):
        raise EditionError(f"{outdir} would mix the edition with the book's sources: choose another folder")
    if outdir.exists() and any(outdir.iterdir()):
        if not (outdir / STAMP).exists():
            raise EditionError(f"{outdir} is not empty and was not written by this tool: "
                               "choose a new or empty folder")
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True, exist_ok=True)


def write_edition(outdir, notebooks):
    """Write the student edition of ``notebooks`` into ``outdir``; returns the paths written."""
    editions, problems = {}, []
    for path in notebooks:
        try:
            editions[path.name] = student_notebook(nbformat.read(path, as_version=4))
        except EditionError as exc:
            problems.append(f"{path}: {exc}")
    if problems:
        raise EditionError("\n".join(problems))
    prepare_outdir(outdir)
    (outdir / STAMP).write_text("written by tools/scripts/student_edition.py; rerunning it replaces this folder\n")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, outdir / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, outdir / name)
    (outdir / "README.md").write_text(README)
    (outdir / "chapters").mkdir()
    if (ROOT / DATA).is_dir():
        shutil.copytree(ROOT / DATA, outdir / DATA, ignore=shutil.ignore_patterns(".*"))
    written = []
    for name, nb in editions.items():
        nbformat.write(nb, outdir / "chapters" / name)
        written.append(outdir / "chapters" / name)
    return written


def command_line(argv, doc, default_outdir):
    """The arguments ``[OUTDIR [NOTEBOOK ...]]`` of this tool and of course.py: (outdir, notebooks),
    every chapter when no notebook is named; or the exit code, after printing ``doc`` for --help (0)
    or an error (1)."""
    if any(arg in ("-h", "--help") for arg in argv):
        print(doc)
        return 0
    outdir = pathlib.Path(argv[0]) if argv else default_outdir
    notebooks = [pathlib.Path(a) for a in argv[1:]] or sorted((ROOT / "chapters").glob("*.ipynb"))
    if not notebooks:
        print("no chapter notebooks found", file=sys.stderr)
        return 1
    return outdir, notebooks


def main(argv):
    parsed = command_line(argv, __doc__, DEFAULT_OUTDIR)
    if isinstance(parsed, int):
        return parsed
    outdir, notebooks = parsed
    try:
        written = write_edition(outdir, notebooks)
    except EditionError as exc:
        print(f"student edition not written:\n{textwrap.indent(str(exc), '  ')}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
