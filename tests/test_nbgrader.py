"""The course folder (tools/scripts/course.py), and nbgrader run on it end to end.

The first tests check every chapter's course notebook without running anything: its points, the
nbgrader metadata of its answers, tests and written answers, the data it carries. The last ones
run nbgrader as an instructor does, by the steps of instructors.md ("Grading with nbgrader"):

1. course.py writes the course folder of every chapter;
2. `nbgrader generate_assignment "ch*"` writes the students' version of every chapter (nbgrader
   validates each notebook's metadata, removes solutions and hidden tests, copies the data);
3. three submissions of Chapter 1 go into submitted/: the instructor's version itself (solved),
   the release as it is (blank), and the release with planted answers that pass the visible
   self-checks but are wrong (planted);
4. `nbgrader autograde ch1` runs the three, hidden tests included, and fills the gradebook.

Then: solved has every autograded point and its written answers wait for a grader; blank has
zero everywhere; planted passes each visible self-check (the ✓ line is in the graded cell's
output) and loses the exercise's points to the hidden test. nbgrader missing fails the tests.

Time: autograde runs each submission in a fresh kernel, and each process of nbgrader (and of the
`alembic` it calls) takes seconds to start. The three submissions hold the chapter's setup and its
exercises only, as in tests/test_student_edition.py: the cells they leave out are the same in the
source and the release, nbval runs them in full (with nbclient, nbgrader's executor too), and a
student may delete them without changing a grade. The processes skip rfc3987_syntax (below).
"""
import importlib.metadata
import importlib.util
import os
import pathlib
import re
import sqlite3
import subprocess
import sys

import nbformat
import pytest

import quick_start  # tests/quick_start.py
from test_student_edition import setup_and_exercises  # the submissions' cells

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
IDS = [p.name for p in CHAPTERS]
spec = importlib.util.spec_from_file_location("course", ROOT / "tools" / "scripts" / "course.py")
course = importlib.util.module_from_spec(spec)
spec.loader.exec_module(course)
se = course.se
# nbgrader's command line, without rfc3987_syntax (tests/quick_start.py)
NBGRADER = quick_start.SKIP + "from nbgrader.apps.nbgraderapp import main; sys.exit(main())"
# nbgrader runs `alembic heads` when it creates the gradebook, and alembic imports nbgrader: the
# same command, from this environment, without rfc3987_syntax
ALEMBIC = ("#!{python}\n" + quick_start.SKIP.replace("; ", "\n")
           + "from alembic.config import main\nsys.exit(main())\n")
CH1 = "01_recurrence.ipynb"
# answers that pass Chapter 1's visible self-checks and are wrong: a step that drops the axes of
# length 1 (wrong for a batch of one), and a latch whose pulses cannot flip a bit that a second
# pulse has just pushed to V = 0.997
PLANTED = {
    "ex-ch1-rnn-step": "def rnn_step(V_prev, x_t, w_vv, w_vx, theta_v):\n"
                       "    return np.tanh(V_prev @ w_vv.T + x_t @ w_vx.T - theta_v).squeeze()",
    "ex-ch1-latch": "latch_w_vv = np.array([[1.5]])\nlatch_w_vx = np.array([[1.9, -1.9]])\n"
                    "latch_theta_v = np.array([0.0])",
}


def read(path):
    return nbformat.read(path, as_version=4)


def meta(cell):
    return cell.metadata.get("nbgrader", {})


@pytest.fixture(scope="module")
def courses():
    """The course notebook of every chapter, by the chapter's file name."""
    return {path.name: course.course_notebook(read(path), course.assignment_name(path))
            for path in CHAPTERS}


# --- the course notebooks ------------------------------------------------------------------------

def test_the_command_line_prints_its_help(capsys):
    assert course.main(["--help"]) == 0
    assert "make course" in capsys.readouterr().out


def test_every_exercise_has_points_and_every_point_an_exercise():
    labels = [label for path in CHAPTERS for cell in read(path).cells
              if cell.cell_type == "markdown" for label in se.exercise_labels(cell.source)]
    assert sorted(labels) == sorted(course.POINTS)
    assert all(auto >= 0 and manual >= 0 and auto + manual > 0
               for auto, manual in course.POINTS.values())


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_each_exercise_is_graded_as_its_kind(path, courses):
    nb, teacher = courses[path.name], read(path)
    graded = {meta(c)["grade_id"]: c for c in nb.cells if meta(c)}
    labels = [label for c in teacher.cells if c.cell_type == "markdown"
              for label in se.exercise_labels(c.source)]
    stubs = [i for i, c in enumerate(teacher.cells)
             if c.cell_type == "code" and se.solution_regions(c.source)]
    for label in labels:
        auto, manual = course.POINTS[label]
        if auto:        # coding: an answer named after the label, then its locked test
            answer, test = graded[label], graded[f"{label}-check"]
            assert answer.cell_type == "code" and meta(answer)["solution"]
            assert not meta(answer)["grade"] and not meta(answer)["locked"]
            assert meta(test) == course.nbgrader_metadata(f"{label}-check", grade=True,
                                                          locked=True, points=auto)
            assert nb.cells.index(test) == nb.cells.index(answer) + 1
            call = test.source.splitlines()[0]
            assert test.source == (f"{call}\n### BEGIN HIDDEN TESTS\n{call[:-1]}, hidden=True)\n"
                                   "### END HIDDEN TESTS")
        if manual:      # written: a markdown answer graded by hand, holding the book's solution
            cell = graded[label if not auto else f"{label}-answer"]
            assert cell.cell_type == "markdown" and meta(cell)["points"] == manual
            assert meta(cell)["solution"] and meta(cell)["grade"]
            body = re.search(r"### BEGIN SOLUTION\n(.*)\n### END SOLUTION$", cell.source, re.S)
            assert body and body[1] == course.solution_texts(teacher)[label]
    assert len(stubs) == sum(1 for label in labels if course.POINTS[label][0])
    total = course.points(nb)
    assert total == {"auto": sum(course.POINTS[lb][0] for lb in labels),
                     "manual": sum(course.POINTS[lb][1] for lb in labels)}


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_the_course_notebook_is_the_chapter_without_its_solution_blocks(path, courses):
    nb, teacher = courses[path.name], read(path)
    assert nb.cells[0].id == course.BANNER_ID and meta(nb.cells[0])["locked"]
    ours = [c for c in nb.cells[1:] if not c.id.startswith("answer-")]
    # code cells: the chapter's, but for the answers (the latch's preamble) and the tests
    for t, c in zip([c for c in teacher.cells if c.cell_type == "code"],
                    [c for c in ours if c.cell_type == "code"], strict=True):
        tested = course.CHECK_CALL.search(t.source) and course.check_cell_source(t.source)
        assert c.source in (t.source, course.answer_source(t.source), tested)
        assert ("nbgrader" in c.metadata) == bool(se.solution_regions(t.source) or tested)
    assert all(c.outputs == [] and c.execution_count is None for c in ours if c.cell_type == "code")
    # markdown: the chapter's text with the {solution} blocks removed, cut after written exercises
    text = "\n".join(c.source for c in ours if c.cell_type == "markdown")
    expected = "\n".join(se.strip_solutions(c.source) for c in teacher.cells
                         if c.cell_type == "markdown")
    assert re.sub(r"\s+", " ", text) == re.sub(r"\s+", " ", expected)
    assert "{solution}" not in text and "widgets" not in nb.metadata
    assert len({c.id for c in nb.cells}) == len(nb.cells)


def test_the_guide_gives_each_exercise_its_points_and_a_rubric_that_adds_up(courses):
    guide = (ROOT / "instructors.md").read_text(encoding="utf8")
    for label, (auto, manual) in course.POINTS.items():
        row = re.search(rf"^\| {{ref}}`{label}` \| `{label}` \|.*\| ([^|,]+), [^|]+ \|$", guide,
                        re.M)
        want = " + ".join(part for part in (f"{auto} auto" * bool(auto),
                                            f"{manual} by hand" * bool(manual)) if part)
        assert row and row[1].strip() == want, f"instructors.md: the points of {label}"
        if manual:      # "`label` (6 points)" or "`label`, the question in words (2 points)"
            rubric = re.search(rf"^`{label}`[^\n]*\((\d+) points\)\n((?:- .*\n(?:  .*\n)*)+)",
                               guide, re.M)
            assert rubric and int(rubric[1]) == manual, f"instructors.md: no rubric for {label}"
            lines = [int(n) for n in re.findall(r"^- (\d+): ", rubric[2], re.M)]
            assert len(lines) >= 2 and sum(lines) == manual, f"the rubric of {label}: {lines}"
    for path in CHAPTERS:
        total = course.points(courses[path.name])
        row = re.search(rf"^\| `{course.assignment_name(path)}` \| [^|]+ \| (\d+) \| (\d+) \| "
                        r"(\d+) \|$", guide, re.M)
        assert row and tuple(map(int, row.groups())) == (total["auto"], total["manual"],
                                                         total["auto"] + total["manual"])
    assert re.search(rf"a cell timeout\s+of {course.CELL_TIMEOUT} s", guide)
    assert f"`nbgrader_config.py` sets {course.CELL_TIMEOUT}." in guide


def test_a_module_level_answer_sets_its_names_before_the_stub():
    source = "### BEGIN SOLUTION\na = np.ones(2)\nb, c = 1, 2\n### END SOLUTION"
    assert course.answer_source(source) == (
        "# your answer, None until you set it below\na = b = c = None\n" + source)
    function = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"
    assert course.answer_source(function) == function


@pytest.mark.parametrize("source, message", [
    ("print(1)", "must hold one call checks.check_"),
    ("checks.check_a(f)\nchecks.check_b(g)", "must hold one call"),
    ("checks.check_a(f, hidden=True)", "already says hidden="),
    ("checks.check_a(f", "not valid Python"),
])
def test_a_self_check_cell_that_cannot_take_hidden_tests_is_refused(source, message):
    with pytest.raises(course.CourseError, match=message):
        course.check_cell_source(source)


def test_a_chapter_whose_exercises_lack_points_is_refused(tmp_path, capsys):
    nb = read(CHAPTERS[0])
    cell = next(c for c in nb.cells if "ex-ch1-delay" in c.source and "{exercise}" in c.source)
    cell.source = cell.source.replace(":label: ex-ch1-delay", ":label: ex-ch1-new")
    refused = r"\['ex-ch1-new'\] have no points.*\['ex-ch1-delay'\]"
    with pytest.raises(course.CourseError, match=refused):
        course.course_notebook(nb, "ch1")
    path = tmp_path / CH1
    nbformat.write(nb, path)
    assert course.main([str(tmp_path / "out"), str(path)]) == 1
    assert "ex-ch1-new" in capsys.readouterr().err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_every_reader_of_stored_results_is_known(path):
    code = "\n".join(c.source for c in read(path).cells if c.cell_type == "code")
    for reader in set(course.READER_CALL.findall(code)):
        assert reader in course.DATA_READERS or reader in course.PACKAGED, reader
    assert all((ROOT / se.DATA / name).is_file() for name in course.DATA_READERS.values())


def test_a_rerun_replaces_what_the_tool_wrote_and_keeps_the_grades(tmp_path):
    course.write_course(tmp_path, CHAPTERS[:1])
    (tmp_path / "gradebook.db").write_bytes(b"grades")
    (tmp_path / "submitted" / "someone").mkdir(parents=True)
    stale = tmp_path / "source" / "ch1" / "stale.txt"
    stale.write_text("from an older run")
    assert course.write_course(tmp_path, CHAPTERS[:1]) == [tmp_path / "source" / "ch1" / CH1]
    assert (tmp_path / "gradebook.db").read_bytes() == b"grades"
    assert (tmp_path / "submitted" / "someone").is_dir() and not stale.exists()
    assert (tmp_path / "nbgrader_config.py").read_text() == course.CONFIG


def test_the_course_folder_refuses_the_books_folders_and_others(tmp_path):
    for folder in (ROOT, ROOT / "chapters" / "course"):
        with pytest.raises(course.CourseError, match="mix the course with the book's sources"):
            course.prepare_outdir(folder)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(course.CourseError, match="not written by this tool"):
        course.prepare_outdir(tmp_path)


# --- nbgrader, end to end ------------------------------------------------------------------------

def nbgrader(folder, *args, tools=None):
    """Run nbgrader's command line in ``folder``; the `alembic` it calls is the one in ``tools``,
    else this environment's."""
    path = [str(p) for p in (tools, pathlib.Path(sys.executable).parent) if p]
    env = dict(os.environ, PATH=os.pathsep.join([*path, os.environ["PATH"]]))
    run = subprocess.run([sys.executable, "-c", NBGRADER, *args], cwd=folder, capture_output=True,
                         text=True, env=env, timeout=600)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
    return run


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course folder after generate_assignment of every chapter and autograde of Chapter 1."""
    if importlib.util.find_spec("nbgrader") is None:
        pytest.fail("nbgrader is not installed: `make env` installs requirements-graders.txt")
    folder, tools = tmp_path_factory.mktemp("course"), tmp_path_factory.mktemp("tools")
    (tools / "alembic").write_text(ALEMBIC.format(python=sys.executable))
    (tools / "alembic").chmod(0o755)
    assert course.main([str(folder)]) == 0
    nbgrader(folder, "generate_assignment", "ch*", tools=tools)
    release = read(folder / "release" / "ch1" / CH1)
    planted = read(folder / "release" / "ch1" / CH1)
    for cell in planted.cells:
        if meta(cell).get("grade_id") in PLANTED:
            cell.source = PLANTED[meta(cell)["grade_id"]]
    for student, nb in (("solved", setup_and_exercises(read(folder / "source" / "ch1" / CH1))),
                        ("blank", setup_and_exercises(release)),
                        ("planted", setup_and_exercises(planted))):
        (folder / "submitted" / student / "ch1").mkdir(parents=True)
        nbformat.write(nb, folder / "submitted" / student / "ch1" / CH1)
    nbgrader(folder, "autograde", "ch1")
    return folder


def grades(folder):
    """{student: {grade_id: (automatic score, maximum, needs a manual grade)}}, from the grade
    book."""
    db = sqlite3.connect(folder / "gradebook.db")
    rows = db.execute(
        "SELECT sa.student_id, bc.name, g.auto_score, gc.max_score, g.needs_manual_grade "
        "FROM grade g JOIN submitted_notebook sn ON g.notebook_id = sn.id "
        "JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
        "JOIN grade_cells gc ON g.cell_id = gc.id JOIN base_cell bc ON gc.id = bc.id").fetchall()
    db.close()
    out = {}
    for student, name, score, maximum, manual in rows:
        out.setdefault(student, {})[name] = (score, maximum, bool(manual))
    return out


def test_nbgrader_is_the_pinned_version():
    pin = re.search(r"^nbgrader==(\S+)$", (ROOT / "requirements-graders.txt").read_text(), re.M)
    assert importlib.metadata.version("nbgrader") == pin[1]


def test_the_config_holds_the_cell_timeout(graded):
    config = (graded / "nbgrader_config.py").read_text()
    assert f"c.Execute.timeout = {course.CELL_TIMEOUT}" in config and course.CELL_TIMEOUT > 30


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_the_release_has_no_solution_and_no_hidden_test_and_carries_its_data(path, graded):
    assignment = course.assignment_name(path)
    written = graded / "release" / assignment / path.name
    release, teacher = read(written), read(path)
    text = written.read_text(encoding="utf8")
    assert "HIDDEN TESTS" not in text and "hidden=True" not in text and "SOLUTION" not in text
    secrets = []
    for cell in teacher.cells:
        lines = cell.source.splitlines()
        if cell.cell_type == "code":
            secrets += [ln for a, b, _ in se.solution_regions(cell.source) for ln in lines[a + 1:b]]
        elif cell.cell_type == "markdown":
            secrets += [ln for a, b, _ in se.solution_blocks(cell.source) for ln in lines[a + 1:b]]
    secrets = [s.strip() for s in secrets if len(re.findall(r"\w", s)) >= 4
               and not s.strip().startswith(":")
               and not re.fullmatch(r"\\(begin|end)\{\w+\}", s.strip())]
    sources = "\n".join(c.source for c in release.cells)
    assert len(secrets) >= 10 and not [s for s in secrets if s in sources]
    stubs = [c for c in release.cells if meta(c).get("solution")]
    assert all("raise NotImplementedError()" in c.source for c in stubs if c.cell_type == "code")
    assert all(c.source.endswith("YOUR ANSWER HERE") for c in stubs if c.cell_type == "markdown")
    for name in course.data_files(teacher):
        assert (written.parent / "data" / name).read_bytes() == (ROOT / se.DATA / name).read_bytes()


def test_the_instructors_solution_gets_every_automatic_point(graded):
    solved = grades(graded)["solved"]
    auto = {k: v for k, v in solved.items() if k.endswith("-check")}
    assert auto and all(score == maximum > 0 for score, maximum, _ in auto.values()), auto
    written = {k: v for k, v in solved.items() if not k.endswith("-check")}
    assert written and all(score is None and manual for score, _, manual in written.values())
    assert sum(v[1] for v in solved.values()) == sum(course.points(read(
        graded / "source" / "ch1" / CH1)).values())


def test_the_blank_release_gets_zero(graded):
    blank = grades(graded)["blank"]
    assert blank.keys() == grades(graded)["solved"].keys()
    assert all(score == 0 and not manual for score, _, manual in blank.values()), blank


def test_planted_answers_pass_the_visible_checks_and_fail_the_hidden_ones(graded):
    planted = grades(graded)["planted"]
    autograded = read(graded / "autograded" / "planted" / "ch1" / CH1)
    for label in PLANTED:
        assert planted[f"{label}-check"][0] == 0
        cell = next(c for c in autograded.cells if meta(c).get("grade_id") == f"{label}-check")
        visible, hidden = cell.source.split("### BEGIN HIDDEN TESTS")       # nbgrader restored it
        assert visible.strip().startswith("checks.check_") and "hidden=True" in hidden
        (printed,), (error,) = ([o for o in cell.outputs if o.output_type == kind]
                                for kind in ("stream", "error"))
        assert printed.text.startswith("✓ ") and "hidden cases" not in printed.text
        assert error.ename == "SelfCheckFailed"
        # the hidden cases named in the message: a batch of one; a pulse on the step after another
        assert re.search(r"with B=1, N=1, K=1|in a hidden case", error.evalue), error.evalue
