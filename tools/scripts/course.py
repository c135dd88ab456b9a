"""Write the course folder: every chapter as an nbgrader assignment, with points and hidden tests.

Usage: python tools/scripts/course.py [OUTDIR] [NOTEBOOK ...]   (or: make course)

OUTDIR defaults to _build/course; the notebooks default to chapters/*.ipynb. OUTDIR is an nbgrader
course directory, ready for `nbgrader generate_assignment chN` run inside it:

    OUTDIR/nbgrader_config.py          the course's settings: its id, and a cell timeout that fits
                                       the book's longest cell (nbgrader's default is 30 s)
    OUTDIR/source/chN/NN_name.ipynb    chapter N as the instructor's version of assignment chN
    OUTDIR/source/chN/data/            the stored results that chapter N reads: nbgrader copies the
                                       folder into the students' release, so the chapter runs
                                       offline wherever the book's library is installed
    OUTDIR/README.md                   the steps (instructors.md, "Grading with nbgrader", has more)

The instructor's version is the chapter with nbgrader's cell metadata (schema 3):

- each code cell with solution regions (`### BEGIN SOLUTION` ... `### END SOLUTION`) is an
  autograded answer whose grade_id is its exercise's label, e.g. `ex-ch1-rnn-step`; nbgrader
  replaces the regions by `raise NotImplementedError()`. A region at module level (the latch's
  arrays) is preceded by a line that sets its names to None, so that the self-check says what is
  missing instead of stopping at an undefined name;
- the self-check cell after it is an autograded test, locked, worth the exercise's points
  (grade_id: the label and `-check`). It calls the check again with `hidden=True` in a
  `### BEGIN HIDDEN TESTS` block, which nbgrader removes from the students' copy and restores
  when it grades (rnnbook.checks: other sizes and numbers, a batch of one, edge cases);
- every written exercise (derivation, analysis, experiment) is followed by a manually graded
  markdown answer cell with its points, whose solution region holds the book's worked solution,
  and so do the written parts of five coding exercises (after their test cell);
- the `{solution}` blocks are removed from the text, outputs are cleared, and a read-only banner
  says how the assignment works.

POINTS gives each exercise's points, (autograded, graded by hand): about one point per five
minutes of the time instructors.md gives it. A chapter whose exercises and POINTS disagree, or
whose conventions the student edition's tool refuses, stops the tool with a message, and nothing
is written.
"""
import ast
import copy
import importlib.util
import pathlib
import re
import shutil
import sys
import textwrap

import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_OUTDIR = ROOT / "_build" / "course"
# written into OUTDIR: a later run may then replace what this tool wrote there, and nothing else
STAMP = ".course-folder"
COURSE_ID = "rnnbook"
# nbgrader interrupts a cell after Execute.timeout seconds (30 by default). The book's longest cell,
# Chapter 5's live rerun of a slice of its grid, took 22 s on the book's two-core machine, executed
# with nbclient as autograde does while other jobs shared the machine (release 0.4.0); a student's
# laptop may be several times slower, and a student's own experiment cell longer still.
CELL_TIMEOUT = 300

_spec = importlib.util.spec_from_file_location("student_edition", pathlib.Path(__file__).with_name(
    "student_edition.py"))
se = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(se)

# (autograded, graded by hand) points of each exercise
POINTS = {
    "ex-ch1-fixed-points": (0, 6), "ex-ch1-rnn-step": (4, 0), "ex-ch1-latch": (4, 2),
    "ex-ch1-delay": (0, 6), "ex-ch1-explore": (0, 6),
    "ex-ch2-threshold": (0, 6), "ex-ch2-bptt-step": (6, 0), "ex-ch2-relaxation": (0, 9),
    "ex-ch2-rtrl-wins": (0, 6), "ex-ch2-borderline": (0, 6),
    "ex-ch3-sigmoid-bound": (0, 6), "ex-ch3-backprop-states": (6, 0), "ex-ch3-clip": (3, 0),
    "ex-ch3-no-clip": (0, 12), "ex-ch3-clipping-vanishing": (0, 4), "ex-ch3-explore": (0, 6),
    "ex-ch4-jacobian": (0, 9), "ex-ch4-step": (6, 0), "ex-ch4-backward": (15, 0),
    "ex-ch4-flip": (0, 6), "ex-ch4-bias": (0, 12), "ex-ch4-before": (0, 6),
    "ex-ch5-wilson": (4, 2), "ex-ch5-criterion": (0, 6), "ex-ch5-budget": (0, 9),
    "ex-ch5-lstm": (0, 9), "ex-ch5-jacobian": (0, 4),
    "ex-ch6-softmax": (4, 0), "ex-ch6-bigram": (4, 2), "ex-ch6-temperature": (0, 6),
    "ex-ch6-carry": (0, 9), "ex-ch6-units": (0, 8),
    "ex-ch7-combine": (2, 2), "ex-ch7-log-space": (6, 0), "ex-ch7-theorem1": (2, 3),
    "ex-ch7-parity": (0, 6), "ex-ch7-gamma": (0, 6), "ex-ch7-crossover": (0, 6),
}
# the library's readers of stored results, and the file each reads; where the file is not beside
# the library (an installed rnnbook), they read data/<file> in the notebook's folder
DATA_READERS = {"horizon.load_results": "horizon_results.json",
                "shortcut.load_results": "shortcut_results.json",
                "shakespeare.load_results": "shakespeare_results.json",
                "shakespeare.load_weights": "shakespeare_weights.npz"}
READER_CALL = re.compile(r"\b(\w+\.load_\w+)\(")
# readers whose data travel with the library itself (rnnbook/data/)
PACKAGED = {"text.load_corpus"}
CHECK_CALL = re.compile(r"\bchecks\.check_\w+\(")
BANNER_ID = "course-banner"
BANNER = """\
**Course edition: assignment {assignment}.** Write your code in the cells marked `YOUR CODE HERE`
(complete the function, or set the arrays) and your written answers in the cells marked
`YOUR ANSWER HERE`; for an experiment, add code cells of your own above its answer cell. Each
coding exercise is followed by its self-check, a read-only test cell worth the exercise's points:
it prints a line starting with ✓ when your code agrees with the book's library. When your work is
graded, that cell also runs hidden cases (other sizes, a batch of one, edge cases), so code that
fits only the visible check loses the points. Before you submit, run the notebook from the top
("Restart Kernel and Run All Cells"), and do not delete or copy the cells that are graded."""
CONFIG = f'''\
# nbgrader's settings for this course folder, written by tools/scripts/course.py (make course).
# Run nbgrader's commands in this folder: README.md lists the steps.
c = get_config()  # noqa: F821 (nbgrader defines get_config when it reads this file)

c.CourseDirectory.course_id = "{COURSE_ID}"
# Autograding runs every cell of a chapter, and nbgrader interrupts a cell after 30 s by default.
# The book's longest cell took 22 s on the book's two-core machine; a student's computer may be
# slower, and a student's own experiment cell longer.
c.Execute.timeout = {CELL_TIMEOUT}
'''
README = """\
# Course folder (nbgrader)

Every chapter of the textbook *Recurrent networks, BPTT, vanishing gradients and the GRU* as an
nbgrader assignment: `source/ch1/` to `source/ch7/`, with points, locked self-checks and hidden
tests. Grade with it in an environment that has nbgrader 0.9.6 and the book's library (`pip install
-r requirements.txt -r requirements-graders.txt` in the book's folder installs both), from this
folder:

```bash
nbgrader generate_assignment ch1        # writes release/ch1/, the students' version
# collect the students' notebooks into submitted/STUDENT/ch1/, then
nbgrader autograde ch1                  # runs them, with the hidden tests; scores in gradebook.db
nbgrader formgrader                     # or the Formgrader tab: grade the written answers
nbgrader generate_feedback ch1
```

The book's instructors.md ("Grading with nbgrader") explains each step, the points and the rubrics.
"""


class CourseError(Exception):
    """A chapter breaks the conventions the course folder relies on."""


def assignment_name(path):
    """The assignment of a chapter's notebook: 01_recurrence.ipynb -> ch1."""
    match = re.match(r"(\d+)_", pathlib.Path(path).name)
    if not match:
        raise CourseError(f"{pathlib.Path(path).name}: expected a chapter named NN_name.ipynb")
    return f"ch{int(match[1])}"


def nbgrader_metadata(grade_id, *, solution=False, grade=False, locked=False, points=None):
    """A cell's nbgrader metadata, schema 3: an answer (solution), a test or a manually graded
    answer (grade, with points), or a read-only cell (locked)."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def hidden_call(source):
    """The self-check call of a test cell with ``hidden=True`` added."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise CourseError(f"the self-check cell is not valid Python: {exc}") from None
    calls = [node.value for node in tree.body if isinstance(node, ast.Expr)
             and isinstance(node.value, ast.Call) and CHECK_CALL.match(ast.unparse(node.value))]
    if len(tree.body) != 1 or len(calls) != 1:
        raise CourseError("a self-check cell must hold one call checks.check_...(...) and nothing "
                          f"else, got {source!r}")
    call = calls[0]
    if any(keyword.arg == "hidden" for keyword in call.keywords):
        raise CourseError(f"the self-check {source!r} already says hidden=")
    call.keywords.append(ast.keyword("hidden", ast.Constant(True)))
    return ast.unparse(call)


def check_cell_source(source):
    """A graded test cell: the visible self-check, then the hidden one in nbgrader's block."""
    return (f"{source.strip()}\n### BEGIN HIDDEN TESTS\n{hidden_call(source)}\n"
            "### END HIDDEN TESTS")


def answer_source(source):
    """An autograded answer cell: a module-level solution region is preceded by a line that sets
    the names it assigns to None (nbgrader's stub raises NotImplementedError in its place)."""
    lines = source.splitlines()
    for begin, end, indent in reversed(se.solution_regions(source)):
        if not indent:
            names = se.assigned_names("\n".join(lines[begin + 1:end]))
            lines[begin:begin] = ["# your answer, None until you set it below",
                                  " = ".join(names) + " = None"]
    return "\n".join(lines)


def solution_texts(nb):
    """The body of every {solution} block of the notebook, by the label of its exercise: the
    lines inside the fences, without the directive's options."""
    texts = {}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for first, last, label in se.solution_blocks(cell.source):
            body = lines[first + 1:last]
            while body and (re.match(r"\s*:[\w-]+:", body[0]) or not body[0].strip()):
                body = body[1:]
            texts[label] = textwrap.dedent("\n".join(body)).strip("\n")
    return texts


def markdown_parts(markdown, answers):
    """The markdown cell without its {solution} blocks, cut after every exercise block whose
    label is in ``answers``: a list of (text, label), label the exercise whose answer cell comes
    after the text (None for the last part)."""
    se.solution_blocks(markdown)            # refuses what the student edition refuses
    lines, parts, kept, start = markdown.splitlines(), [], [], 0
    for first, last, name, arg in se.directive_blocks(markdown):
        if name == "solution":
            kept += lines[start:first]
            start = last + 1
        elif name == "exercise":
            label = se.exercise_labels("\n".join(lines[first:last + 1]))[0]
            if label in answers:
                kept += lines[start:last + 1]
                start = last + 1
                parts.append((_tidy(kept), label))
                kept = []
    kept += lines[start:]
    parts.append((_tidy(kept), None))
    return [(text, label) for text, label in parts if text.strip() or label]


def _tidy(lines):
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def answer_cell(label, points, solution, part=False):
    """A manually graded answer: a markdown cell whose solution region holds the book's answer."""
    what = f"the questions of `{label}`" if part else f"`{label}`"
    cell = nbformat.v4.new_markdown_cell(
        f"**Your answer to {what}** ({points} points, graded by hand):\n\n"
        f"### BEGIN SOLUTION\n{solution}\n### END SOLUTION")
    cell["id"] = f"answer-{label}"
    grade_id = f"{label}-answer" if part else label
    cell.metadata["nbgrader"] = nbgrader_metadata(grade_id, solution=True, grade=True,
                                                  points=points)
    return cell


def course_notebook(nb, assignment):
    """The instructor's version of one chapter as nbgrader's assignment ``assignment`` (a new
    object; ``nb`` is not changed). Raises CourseError naming the cell that breaks the
    conventions."""
    nb = copy.deepcopy(nb)
    labels = [label for cell in nb.cells if cell.cell_type == "markdown"
              for label in se.exercise_labels(cell.source)]
    ours = {lb for lb in POINTS if lb.startswith(f"ex-{assignment}-")}
    unknown, missing = set(labels) - set(POINTS), ours - set(labels)
    if unknown or missing or None in labels:
        raise CourseError(f"the exercises {sorted(map(str, unknown))} have no points in POINTS, "
                          f"and POINTS lists {sorted(missing)} that the chapter does not have")
    solutions = solution_texts(nb)
    coded = set()           # exercises with solution code
    cells, label, check_of = [], None, None
    for index, cell in enumerate(nb.cells):
        try:
            if cell.cell_type == "markdown":
                for n, line in enumerate(cell.source.splitlines()):
                    if se.MARKER.match(line) or "HIDDEN TESTS" in line:
                        raise CourseError(f"line {n + 1}: nbgrader's markers belong in code cells")
                written = {lb for lb in se.exercise_labels(cell.source) if POINTS[lb][0] == 0}
                for k, (text, after) in enumerate(markdown_parts(cell.source, written)):
                    part = copy.deepcopy(cell)
                    part.source, part["id"] = text, cell["id"] if k == 0 else f"{cell['id']}-{k}"
                    if text.strip():
                        cells.append(part)
                    if after:
                        cells.append(answer_cell(after, POINTS[after][1], solutions[after]))
                    label = after or (se.exercise_labels(text) or [label])[-1]
                continue
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
            regions = se.solution_regions(cell.source)
            if regions:
                if label is None or label in coded:
                    raise CourseError("solution code that does not follow an exercise of its "
                                      "own: one coding exercise, one cell with solution code")
                follower = nb.cells[index + 1] if index + 1 < len(nb.cells) else None
                if not (follower and follower.cell_type == "code"
                        and CHECK_CALL.search(follower.source)):
                    raise CourseError("solution code must be followed by its self-check cell")
                coded.add(label)
                cell.source = answer_source(cell.source)
                cell.metadata["nbgrader"] = nbgrader_metadata(label, solution=True)
                tags = [t for t in cell.metadata.get("tags", []) if t not in se.HIDING_TAGS]
                cell.metadata.pop("tags", None)
                if tags:
                    cell.metadata["tags"] = tags
                check_of = index + 1
            elif index == check_of:
                cell.source = check_cell_source(cell.source)
                cell.metadata["nbgrader"] = nbgrader_metadata(
                    f"{label}-check", grade=True, locked=True, points=POINTS[label][0])
                cells.append(cell)
                if POINTS[label][1]:
                    cells.append(answer_cell(label, POINTS[label][1], solutions[label], part=True))
                continue
            elif "BEGIN HIDDEN TESTS" in cell.source or "END HIDDEN TESTS" in cell.source:
                raise CourseError("nbgrader's hidden-test markers outside a self-check cell")
        except (CourseError, se.EditionError) as exc:
            raise CourseError(f"cell {index}: {exc}") from None
        cells.append(cell)
    auto = {lb for lb in labels if POINTS[lb][0]}
    if auto != coded:
        raise CourseError(f"POINTS gives autograded points to {sorted(auto)}, but the exercises "
                          f"with solution code are {sorted(coded)}")
    banner = nbformat.v4.new_markdown_cell(BANNER.format(assignment=assignment))
    banner["id"] = BANNER_ID
    banner.metadata["nbgrader"] = nbgrader_metadata(BANNER_ID, locked=True)
    nb.cells = [banner] + cells
    nb.metadata.pop("widgets", None)
    nbformat.validate(nb)
    return nb


def points(nb):
    """The points of a course notebook: {"auto": autograded tests, "manual": graded by hand}."""
    total = {"auto": 0, "manual": 0}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            total["manual" if meta.get("solution") else "auto"] += meta["points"]
    return total


def data_files(nb):
    """The stored results that a chapter's code reads (names of files in chapters/data)."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    readers = set(READER_CALL.findall(code))
    unknown = readers - set(DATA_READERS) - PACKAGED
    if unknown:
        raise CourseError(f"the chapter calls {sorted(unknown)}: say in DATA_READERS which file "
                          "each reads (or in PACKAGED that the library carries it)")
    return sorted(DATA_READERS[r] for r in readers & set(DATA_READERS))


def prepare_outdir(outdir):
    """Make ``outdir`` ready: new or empty, or written by this tool before (then what nbgrader
    wrote there, the gradebook and the students' folders, stays). Refuses anything else."""
    outdir = outdir.resolve()
    if ROOT.is_relative_to(outdir) or any(outdir.is_relative_to(ROOT / d) for d in se.SOURCES):
        raise CourseError(f"{outdir} would mix the course with the book's sources: choose another "
                          "folder")
    if outdir.exists() and any(outdir.iterdir()) and not (outdir / STAMP).exists():
        raise CourseError(f"{outdir} is not empty and was not written by this tool: choose a new "
                          "or empty folder")
    outdir.mkdir(parents=True, exist_ok=True)


def write_course(outdir, notebooks):
    """Write the course folder for ``notebooks`` into ``outdir``; returns the notebooks written.
    A rerun replaces the source folders of these chapters, the config and the README only."""
    courses, problems = {}, []
    for path in notebooks:
        try:
            assignment = assignment_name(path)
            nb = nbformat.read(path, as_version=4)
            courses[path.name] = (assignment, course_notebook(nb, assignment), data_files(nb))
        except CourseError as exc:
            problems.append(f"{path}: {exc}")
    if problems:
        raise CourseError("\n".join(problems))
    prepare_outdir(outdir)
    (outdir / STAMP).write_text("written by tools/scripts/course.py; rerunning it replaces the "
                                "source folders it wrote, nbgrader_config.py and README.md\n")
    (outdir / "nbgrader_config.py").write_text(CONFIG)
    (outdir / "README.md").write_text(README)
    written = []
    for name, (assignment, nb, data) in courses.items():
        folder = outdir / "source" / assignment
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / name)
        for file in data:
            (folder / "data").mkdir(exist_ok=True)
            shutil.copy2(ROOT / se.DATA / file, folder / "data" / file)
        written.append(folder / name)
    return written


def main(argv):
    parsed = se.command_line(argv, __doc__, DEFAULT_OUTDIR)
    if isinstance(parsed, int):
        return parsed
    outdir, notebooks = parsed
    try:
        written = write_course(outdir, notebooks)
    except CourseError as exc:
        print(f"course folder not written:\n{exc}", file=sys.stderr)
        return 1
    for path in written:
        total = points(nbformat.read(path, as_version=4))
        print(f"{path.relative_to(outdir)}: {total['auto']} points autograded, "
              f"{total['manual']} graded by hand")
    print(f"course folder written to {outdir}: run nbgrader there, e.g. "
          "`nbgrader generate_assignment ch1`")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
