# Two commands do everything (see README.md):
#   make book   build the rendered book into _build/html
#   make test   run every test: the library's tests and nbval over every chapter
# Each creates the virtual environment .venv from requirements.txt (and requirements-graders.txt,
# nbgrader for the course folder) on first use.
# For instructors (see instructors.md):
#   make student   write the student edition, without solutions, into _build/student (or OUTDIR=folder)
#   make course    write the nbgrader course folder into _build/course (or COURSEDIR=folder)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# Notebooks run on a fixed thread count so that their stored outputs are reproducible.
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test env clean execute benchmark student course

env: $(VENV)/.installed

# One resolution for both files: nbgrader (tests/test_nbgrader.py grades a chapter with it) must
# fit every pin of requirements.txt, and pip fails rather than change one.
$(VENV)/.installed: requirements.txt requirements-graders.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-graders.txt
	touch $@

# jupyter-cache re-executes a notebook when its code changes, and Sphinx re-reads a page when its
# source changes; neither sees a change in lib/. This stamp starts the book afresh (cache, doctrees,
# pages) whenever lib/ or the pinned environment changes, so every chapter is executed again.
_build/.lib-stamp: $(wildcard lib/*.py) requirements.txt
	rm -rf _build/.jupyter_cache _build/.doctrees _build/html _build/jupyter_execute
	mkdir -p _build && touch $@

book: env _build/.lib-stamp
	$(BIN)/jupyter-book build -W -n --keep-going .
	$(BIN)/python tools/sphinx/check_build.py _build/html

test: env
	$(BIN)/python -m pytest

# Re-run every chapter in place and store its outputs (after changing lib/ or a chapter).
execute: env
	$(BIN)/python tools/scripts/execute.py chapters/*.ipynb

benchmark: env
	$(BIN)/python tools/bench/benchmark.py

# The chapters with solution code replaced by stubs and written solutions removed (instructors.md).
OUTDIR ?= _build/student
student: env
	$(BIN)/python tools/scripts/student_edition.py $(OUTDIR)

# Every chapter as an nbgrader assignment, with points, locked self-checks and hidden tests
# (instructors.md, "Grading with nbgrader"). A rerun keeps the gradebook and the students' folders.
COURSEDIR ?= _build/course
course: env
	$(BIN)/python tools/scripts/course.py $(COURSEDIR)

clean:
	rm -rf _build
