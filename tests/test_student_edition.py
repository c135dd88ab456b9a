"""The coursework: the exercise conventions of every chapter, and the student edition written from them
by tools/scripts/student_edition.py.

The chapters in chapters/ are the instructor edition; nbval runs them in full. The tests here

- check the conventions on the instructor edition, so that they guard chapters still to come: 3-6
  exercises, each with a solution of the same label hidden in a dropdown; balanced solution markers;
  every coding exercise a hidden stub cell followed by a self-check cell;
- check that no line of solution code or solution text reaches the student edition;
- execute the student edition. Every code cell that the tool does not stub is identical to the
  instructor edition (tested below), and nbval already runs those. So only the cells that differ in
  behaviour are run here: the setup cells before the first section, and everything from the first
  exercise on (the stubs, their self-checks and whatever follows), for all chapters in one kernel
  whose namespace is cleared between them. If that part uses a name defined earlier in the chapter (a
  NameError), the whole chapter is run instead, in a kernel of its own. Every error must then be a
  stub's NotImplementedError or the SelfCheckFailed of a stub's self-check; anything else fails.
"""
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

import quick_start  # tests/quick_start.py

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
spec = importlib.util.spec_from_file_location("student_edition", ROOT / "tools" / "scripts" / "student_edition.py")
se = importlib.util.module_from_spec(spec)
spec.loader.exec_module(se)

IDS = [p.name for p in CHAPTERS]
CHECK_CALL = re.compile(r"\bchecks\.check_\w+\(")


def read(path):
    return nbformat.read(path, as_version=4)


def stub_cells(nb):
    """Indices of the code cells with solution regions, and whether each region is a function body."""
    return {i: [bool(indent) for _, _, indent in se.solution_regions(c.source)]
            for i, c in enumerate(nb.cells) if c.cell_type == "code" and se.solution_regions(c.source)}


def exercises_and_solutions(nb):
    """(cell index, label) of every exercise block, and of every solution block."""
    exercises = [(i, label) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                 for label in se.exercise_labels(c.source)]
    solutions = [(i, label) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                 for _, _, label in se.solution_blocks(c.source)]
    return exercises, solutions


# The tool, run as a reader runs it, but for one optional import (tests/quick_start.py)
TOOL = (quick_start.SKIP + "import runpy; sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')")


def tool(*args):
    """The command line that runs tools/scripts/student_edition.py with ``args``."""
    return [sys.executable, "-c", TOOL, str(ROOT / "tools" / "scripts" / "student_edition.py"),
            *map(str, args)]


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    """The student edition of every chapter, written by the command line tool."""
    outdir = tmp_path_factory.mktemp("student")
    run = subprocess.run(tool(outdir), capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    return outdir


# --- the conventions, on the instructor edition --------------------------------------------------

@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_every_exercise_has_a_hidden_solution_with_its_label(path):
    nb = read(path)
    exercises, solutions = exercises_and_solutions(nb)
    labels = [label for _, label in exercises]
    assert 3 <= len(labels) <= 6, f"{path.name} has {len(labels)} exercises, expected 3 to 6: {labels}"
    assert None not in labels, f"{path.name}: an exercise block has no :label:"
    assert len(set(labels)) == len(labels), f"{path.name}: duplicate exercise labels {labels}"
    assert sorted(label for _, label in solutions) == sorted(labels), \
        f"{path.name}: exercises {sorted(labels)} but solutions {sorted(l for _, l in solutions)}"
    exercise_cell = {label: cell for cell, label in exercises}
    for cell, label in solutions:
        assert cell >= exercise_cell[label], f"{path.name}: the solution of {label} precedes its exercise"
        block = next(nb.cells[cell].source.splitlines()[a:b] for a, b, lab
                     in se.solution_blocks(nb.cells[cell].source) if lab == label)
        assert any(re.fullmatch(r"\s*:class:.*\bdropdown\b.*", line) for line in block), \
            f"{path.name}: the solution of {label} is not hidden (:class: dropdown)"


def test_solutions_are_hidden_without_hide_solutions():
    # sphinx-exercise's hide_solutions crashes the build (DESIGN.md section 8): dropdowns hide them
    assert not CONFIG["sphinx"]["config"].get("hide_solutions")


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_coding_exercises_are_hidden_stubs_followed_by_a_self_check(path):
    nb = read(path)
    stubs = stub_cells(nb)        # raises EditionError on unbalanced or malformed markers
    assert stubs, f"{path.name} has no coding exercise (no ### BEGIN SOLUTION region)"
    exercises, solutions = exercises_and_solutions(nb)
    solution_cell = {label: cell for cell, label in solutions}
    for i in stubs:
        where = f"{path.name} cell {i}"
        assert {"hide-input", "hide-cell", "remove-input"} & set(nb.cells[i].metadata.get("tags", [])), \
            f"{where}: solution code must be hidden in the book (tag hide-input)"
        follower = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
        assert follower and follower.cell_type == "code" and CHECK_CALL.search(follower.source), \
            f"{where}: a coding exercise must be followed by a code cell calling checks.check_...()"
        before = [label for cell, label in exercises if cell < i]
        assert before, f"{where}: solution code before the first exercise"
        assert solution_cell[before[-1]] > i + 1, \
            f"{where}: the stub and its self-check belong between exercise {before[-1]} and its solution"


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_markers_are_balanced(path):
    # an independent count, so that a bug in the tool's parser cannot hide an unbalanced marker
    for i, cell in enumerate(read(path).cells):
        pattern = r"(BEGIN|END) SOLUTION" if cell.cell_type == "code" else r"^\s*#+\s*(BEGIN|END) SOLUTION"
        kinds = [m[1] for line in cell.source.splitlines() if (m := re.search(pattern, line))]
        if cell.cell_type == "markdown":
            assert not kinds, f"{path.name} cell {i}: solution markers in a markdown cell"
        assert kinds == ["BEGIN", "END"] * (len(kinds) // 2), f"{path.name} cell {i}: markers {kinds}"


def test_the_instructors_guide_names_every_exercise():
    guide = (ROOT / "instructors.md").read_text(encoding="utf8")
    labels = {label for path in CHAPTERS for _, label in exercises_and_solutions(read(path))[0]}
    named = set(re.findall(r"\bex-ch\d+-[a-z0-9-]*[a-z0-9]", guide))
    assert not labels - named, f"instructors.md does not list the exercises {sorted(labels - named)}"
    assert not named - labels, f"instructors.md lists exercises that do not exist: {sorted(named - labels)}"


# --- the tool ------------------------------------------------------------------------------------

FUNCTION = ("def f(x):\n    y = 2 * x\n    ### BEGIN SOLUTION\n    # why\n    return y + 1\n"
            "    ### END SOLUTION\n")


def test_a_function_body_becomes_an_indented_stub():
    source, n = se.stub_source(FUNCTION)
    assert n == 1
    assert source == ("def f(x):\n    y = 2 * x\n    # YOUR CODE HERE\n    raise NotImplementedError()")
    namespace = {}
    exec(source, namespace)
    with pytest.raises(NotImplementedError):
        namespace["f"](1)


def test_module_level_assignments_become_none():
    source, n = se.stub_source("import numpy as np\n### BEGIN SOLUTION\na = np.ones(2)\n"
                               "b, (c, d) = 1, (2, 3)\ne: int = 4\na = 5\n### END SOLUTION\nprint(a)")
    assert n == 1
    namespace = {}
    exec(source, namespace)
    assert [namespace[k] for k in "abcde"] == [None] * 5
    assert "np.ones" not in source and source.endswith("print(a)")


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("x = 1\n### END SOLUTION\n", "without a BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n### END SOLUTION\n", "cannot nest"),
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n### END SOLUTION\n", "indented differently"),
    ("### BEGIN SOLUTION\n### END SOLUTION\n", "empty"),
    ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", "is not a marker"),
    ("### BEGIN SOLUTION\nprint(1)\n### END SOLUTION\n", "may only assign names"),
    ("### BEGIN SOLUTION\nx[0] = 1\n### END SOLUTION\n", "only plain names"),
])
def test_bad_markers_are_refused_with_a_reason(source, message):
    with pytest.raises(se.EditionError, match=message):
        se.stub_source(source)


SOLVED = """\
````{exercise} A title
:label: ex-a

Do it.
````

````{solution} ex-a
:class: dropdown

Secret first line.
```python
secret_code = 1
```
````
Text after."""


def test_solution_blocks_with_nested_fences_are_removed():
    assert se.solution_blocks(SOLVED) == [(6, 13, "ex-a")]
    assert se.exercise_labels(SOLVED) == ["ex-a"]
    # the blank line before the block stays, so that the text after it remains a paragraph of its own
    assert se.strip_solutions(SOLVED) == SOLVED.split("````{solution}")[0] + "Text after."
    colon = ":::{solution} ex-b\n:class: dropdown\nSecret.\n:::\nAfter."
    assert se.strip_solutions(colon) == "After."


@pytest.mark.parametrize("markdown, message", [
    ("````{solution} ex-a\n:class: dropdown\nSecret.\n```\n", "never closed"),
    ("```{solution}\nSecret.\n```\n", "must name the label"),
    ("```{solution-start} ex-a\n```\nSecret.\n```{solution-end}\n```\n", "gated solutions"),
])
def test_unparseable_solution_blocks_are_refused(markdown, message):
    with pytest.raises(se.EditionError, match=message):
        se.strip_solutions(markdown)


def test_the_command_fails_loudly_and_writes_nothing(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n")])
    nbformat.write(nb, tmp_path / "broken.ipynb")
    out = tmp_path / "out"
    run = subprocess.run(tool(out, tmp_path / "broken.ipynb"), capture_output=True, text=True)
    assert run.returncode != 0
    assert "broken.ipynb: cell 0: line 1: BEGIN SOLUTION is never closed" in run.stderr
    assert not out.exists()


def test_the_command_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    run = subprocess.run(tool(tmp_path), capture_output=True, text=True)
    assert run.returncode != 0 and "not written by this tool" in run.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_the_command_line_of_both_tools(tmp_path, capsys):
    # tools/scripts/course.py parses its arguments with this function too
    assert se.command_line(["--help"], "the help", tmp_path) == 0
    assert capsys.readouterr().out == "the help\n"
    assert se.command_line([], "", tmp_path) == (tmp_path, CHAPTERS)
    named = [str(CHAPTERS[1])]
    assert se.command_line([str(tmp_path / "out"), *named], "", tmp_path) == (tmp_path / "out", [CHAPTERS[1]])


# --- the student edition -------------------------------------------------------------------------

def test_the_edition_holds_every_chapter_and_what_they_import(edition):
    assert sorted(p.name for p in (edition / "chapters").glob("*.ipynb")) == IDS
    for path in (ROOT / "lib").glob("*.py"):
        assert (edition / "lib" / path.name).read_text() == path.read_text()
    assert (edition / "requirements.txt").read_text() == (ROOT / "requirements.txt").read_text()
    for path in (ROOT / "chapters" / "data").glob("*"):
        assert (edition / "chapters" / "data" / path.name).read_bytes() == path.read_bytes()


def test_chapter_5_of_the_edition_reads_its_results_without_the_network(edition):
    # rnnbook.horizon.load_results fetches the results file from the book's repository only where it
    # is missing; the edition carries it. Run the chapter's setup cells with the edition's own lib
    # as the package and every URL unreachable, then check that the results were read.
    name = "05_memory_horizon.ipynb"
    student = read(edition / "chapters" / name)
    first_section = setup_end(student)
    offline = nbformat.v4.new_code_cell(
        # the edition's lib/ as the package rnnbook, as `pip install -e .` in the edition maps it
        "import importlib.util, sys, urllib.request\n"
        f"spec = importlib.util.spec_from_file_location('rnnbook', {str(edition / 'lib' / '__init__.py')!r}, "
        f"submodule_search_locations=[{str(edition / 'lib')!r}])\n"
        "sys.modules['rnnbook'] = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(sys.modules['rnnbook'])\n"
        "def unreachable(*args, **kwargs):\n    raise OSError('no network in this test')\n"
        "urllib.request.urlopen = unreachable")
    probe = nbformat.v4.new_code_cell(
        "import rnnbook\n"
        f"assert rnnbook.__file__.startswith({str(edition)!r}), rnnbook.__file__\n"
        "assert len(results['runs']) == len(horizon.cells())")
    student.cells = ([offline] + [c for c in student.cells[:first_section] if c.cell_type == "code"]
                     + [probe])
    errors = run_cells(student, range(len(student.cells)), edition / "chapters")
    failed = {i: (e.ename, e.evalue) for i, e in errors.items() if e is not None}
    assert not failed, f"{name} in the student edition, offline: {failed}"


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_only_stub_cells_change_and_nothing_is_left_to_run_or_see(path, edition):
    teacher, student = read(path), read(edition / "chapters" / path.name)
    assert student.cells[0].source == se.BANNER
    stubs = stub_cells(teacher)
    pairs = list(zip([c for c in teacher.cells if c.cell_type == "code"],
                     [c for c in student.cells if c.cell_type == "code"], strict=True))
    changed = [t for t, s in pairs if t.source != s.source]
    assert changed == [teacher.cells[i] for i in stubs], "a code cell without solution markers changed"
    for t, s in pairs:
        assert s.outputs == [] and s.execution_count is None
        if t.source != s.source:
            assert "YOUR CODE HERE" in s.source
            assert not {"hide-input", "hide-cell", "remove-input"} & set(s.metadata.get("tags", []))
    assert "widgets" not in student.metadata


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_no_solution_reaches_the_student_edition(path, edition):
    teacher, written = read(path), edition / "chapters" / path.name
    # the cells' sources, and the file itself with its metadata and (empty) outputs
    student_text = "\n".join(c.source for c in read(written).cells) + written.read_text(encoding="utf8")
    secrets = []
    for cell in teacher.cells:
        lines = cell.source.splitlines()
        if cell.cell_type == "code":
            secrets += [line for a, b, _ in se.solution_regions(cell.source) for line in lines[a + 1:b]]
        elif cell.cell_type == "markdown":
            secrets += [line for a, b, _ in se.solution_blocks(cell.source) for line in lines[a + 1:b]]
    # fences, directive options and lines like "$$" are not secrets; every line with words is
    secrets = [s.strip() for s in secrets
               if len(re.findall(r"\w", s)) >= 4 and not s.strip().startswith(":")
               and not re.fullmatch(r"\\(begin|end)\{\w+\}", s.strip())]   # LaTeX environments
    assert len(secrets) >= 10, f"{path.name}: only {len(secrets)} lines of solutions found"
    leaked = [s for s in secrets if s in student_text]
    assert not leaked, f"{path.name}: solution lines in the student edition: {leaked}"


def run_cells(nb, keep, cwd):
    """Execute the code cells with indices in ``keep`` (in order) in a fresh kernel; returns
    {index: error output or None}."""
    part = nbformat.v4.new_notebook(metadata=nb.metadata)
    part.cells = [nb.cells[i] for i in keep]
    NotebookClient(part, timeout=120, kernel_name="python3", allow_errors=True, record_timing=False,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return {i: next((o for o in c.outputs if o.output_type == "error"), None)
            for i, c in zip(keep, part.cells)}


def setup_end(nb):
    """The index of the first cell of the first section (## heading): the cells before it set up."""
    return next(i for i, c in enumerate(nb.cells)
                if c.cell_type == "markdown" and re.search(r"^## ", c.source, re.M))


def exercises_start(nb):
    """The index of the first cell with an exercise block."""
    return next(i for i, c in enumerate(nb.cells)
                if c.cell_type == "markdown" and se.exercise_labels(c.source))


def stub_layout(path, student):
    """Where the stubs of a chapter are in its student edition: (function_stub, checks_of, keep).
    function_stub maps each stub cell to True for a function body (False for assignments),
    checks_of maps each self-check cell to its stub, and keep lists the code cells that differ in
    behaviour from the instructor edition: the setup before the first section, and everything from
    the first exercise (or stub) on."""
    code = [i for i, c in enumerate(student.cells) if c.cell_type == "code"]
    teacher_code = [i for i, c in enumerate(read(path).cells) if c.cell_type == "code"]
    function_stub = {code[teacher_code.index(i)]: all(kinds) for i, kinds in stub_cells(read(path)).items()}
    checks_of = {code[code.index(i) + 1]: i for i in function_stub}
    first_section = setup_end(student)
    first_exercise = min([exercises_start(student), *function_stub])
    return function_stub, checks_of, [i for i in code if i < first_section or i >= first_exercise]


@pytest.fixture(scope="module")
def stub_runs(edition):
    """{chapter: {cell index: error output or None}}: the kept cells of every chapter's student
    edition (stub_layout), run in one kernel, chapter after chapter, with the namespace cleared
    (%reset -f) before each. One kernel instead of seven saves a kernel start and the imports of
    torch and the library per chapter, 25 of the 45 s this took. A name that one chapter defines
    cannot reach the next; module state can (print options, rcParams, torch's thread count), which
    changes what a cell prints, not which errors it raises, and no self-check depends on it.
    {} if the shared kernel died or a cell timed out: every chapter then runs in a kernel of its
    own, as does one that raises a NameError (test_the_student_edition_runs_up_to_its_stubs)."""
    students = {path.name: read(edition / "chapters" / path.name) for path in CHAPTERS}
    everything = nbformat.v4.new_notebook(metadata=students[CHAPTERS[0].name].metadata)
    where = []      # (chapter, cell index) of each cell of `everything`, None for a reset
    for path in CHAPTERS:
        everything.cells.append(nbformat.v4.new_code_cell("%reset -f"))
        where.append(None)
        for i in stub_layout(path, students[path.name])[2]:
            everything.cells.append(students[path.name].cells[i])
            where.append((path.name, i))
    try:
        errors = run_cells(everything, range(len(everything.cells)), edition / "chapters")
    except Exception:       # nbclient's DeadKernelError, CellTimeoutError: each chapter on its own
        return {}
    assert all(errors[k] is None for k, place in enumerate(where) if place is None), "a %reset failed"
    runs = {path.name: {} for path in CHAPTERS}
    for k, place in enumerate(where):
        if place is not None:
            runs[place[0]][place[1]] = errors[k]
    return runs


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_the_student_edition_runs_up_to_its_stubs(path, edition, stub_runs):
    student = read(edition / "chapters" / path.name)
    function_stub, checks_of, keep = stub_layout(path, student)
    errors = stub_runs.get(path.name) or run_cells(student, keep, edition / "chapters")
    if any(e is not None and e.ename == "NameError" for e in errors.values()):
        code = [i for i, c in enumerate(student.cells) if c.cell_type == "code"]
        errors = run_cells(student, code, edition / "chapters")
    for i, error in errors.items():
        if i in checks_of:
            stub = checks_of[i]
            assert error is not None and error.ename == "SelfCheckFailed", \
                f"{path.name} cell {i}: the self-check of the stub in cell {stub} did not fail with " \
                f"SelfCheckFailed: {error and (error.ename, error.evalue)}"
            if function_stub[stub]:
                assert "is not written yet" in error.evalue, f"{path.name} cell {i}: {error.evalue}"
        elif error is not None:
            assert error.ename == "NotImplementedError", \
                f"{path.name} cell {i} raised {error.ename}: {error.evalue}\n{student.cells[i].source}"


def setup_and_exercises(nb):
    """The notebook without the cells between its first section heading and its first exercise
    (also the submissions that tests/test_nbgrader.py grades)."""
    first_section, first_exercise = setup_end(nb), exercises_start(nb)
    part = nbformat.v4.new_notebook(metadata=nb.metadata)
    part.cells = [c for i, c in enumerate(nb.cells) if i < first_section or i >= first_exercise]
    return part


def test_the_grading_script_of_the_guide_grades(edition, tmp_path):
    # the script printed in instructors.md, run as the guide says on two submissions of chapter 1:
    # the instructor edition (every check passes) and the untouched student edition (every check fails)
    guide = (ROOT / "instructors.md").read_text(encoding="utf8")
    section = guide[guide.index("## Grading with the self-checks"):]
    script = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "grade.py").write_text(script, encoding="utf8")
    name = "01_recurrence.ipynb"
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    # the chapter's setup and its exercises, without the sections in between: the script grades them
    # the same way, in half the time of whole chapters
    for stem, source in (("a_solved", ROOT / "chapters" / name), ("b_blank", edition / "chapters" / name)):
        nbformat.write(setup_and_exercises(read(source)), submissions / f"{stem}.ipynb")
    # the script calls `jupyter execute`: the one of this environment (without a slow import,
    # tests/quick_start.py)
    env = dict(os.environ, PATH=f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env = quick_start.environment(tmp_path / "quick_start", env)
    run = subprocess.run([sys.executable, "grade.py", str(edition / "chapters" / name), "submissions"],
                         cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr
    solved, blank = run.stdout.split("b_blank.ipynb")
    checks = len(CHECK_CALL.findall("\n".join(c.source for c in read(ROOT / "chapters" / name).cells
                                            if c.cell_type == "code")))
    assert solved.count("    ✓") == checks > 0, run.stdout
    assert blank.count("SelfCheckFailed") == checks, run.stdout
