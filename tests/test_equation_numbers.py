"""The equation numbers in the library's source that the chapters display agree with the book's.

A chapter shows a library function with ``literalinclude`` and ``:pyobject:``; its docstring and
comments cite the book's equations as "eq. (C.n)". The book numbers its labelled equations the way
Sphinx does with ``numfig`` and ``math_numfig``: per numbered chapter (the chapters of the numbered
parts of _toc.yml, in order), in the order of their ``$$ ... $$ (label)`` blocks; unlabelled
display math gets no number. Adding a labelled equation renumbers every later one, so these tests
recompute the numbers from the chapters and compare them with what the displayed source cites.
"""
import ast
import json
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
LABELLED = re.compile(r"^\$\$\s*\((eq-[\w-]+)\)\s*$", re.M)      # the closing line of $$ ... $$ (label)
MATH_LABEL = re.compile(r"^```\{math\}[^\n]*\n(?::[^\n]*\n)*?:label:\s*(\S+)", re.M)
INCLUDE = re.compile(r"```\{literalinclude\}\s+(\S+)\s*\n((?::[\w-]+:[^\n]*\n)*)")
CITED = re.compile(r"\((\d+)\.(\d+)\)(?:\s*-\s*\((\d+)\.(\d+)\))?")

# What each displayed object cites, by label: a number that is right today but points at another
# equation after a renumbering fails here. An object that cites equations must be listed.
MEANT = {
    ("lib/rnn.py", "rnn_forward"): ["eq-rnn-update"],
    ("lib/diagnostics.py", "jacobian_product"): ["eq-jacobian-product"],
    ("lib/diagnostics.py", "state_gradients"): ["eq-backward"],
    ("lib/bptt.py", "recurrent_backprop"): [
        "eq-ch2-steady-energy", "eq-ch2-source-rule", "eq-ch2-sensitivity", "eq-ch2-adjoint",
        "eq-ch2-rbp-rule", "eq-ch2-output-errors"],
    ("lib/bptt.py", "fixed_point_errors"): ["eq-ch2-adjoint"],
    ("lib/bptt.py", "output_backward"): ["eq-ch2-output-errors", "eq-ch2-output-rule"],
    ("lib/bptt.py", "bptt_errors"): ["eq-ch2-bptt"],
    ("lib/bptt.py", "weight_gradients"): ["eq-ch2-bptt-rule"],
    ("lib/bptt.py", "gradients"): [
        "eq-ch2-energy", "eq-ch2-output-errors", "eq-ch2-output-rule", "eq-ch2-two-paths",
        "eq-ch2-bptt", "eq-ch2-bptt-rule"],
    ("lib/rtrl.py", "rtrl_step"): ["eq-ch2-rtrl"],
    ("lib/bptt.py", "truncated_errors"): ["eq-ch2-truncated", "eq-ch2-bptt"],
    ("lib/charlm.py", "cross_entropy_backward"): ["eq-ch6-output-error", "eq-ch2-energy"],
}

# Library source that the chapters do not display but that cites the same equations (the
# functions beside the displayed ones, read by whoever follows a listing into the file).
ALSO = {
    ("lib/bptt.py", "energy"): ["eq-ch2-energy"],
    ("lib/bptt.py", "rnn_backward"): [
        "eq-rnn-update", "eq-ch2-two-paths", "eq-ch2-bptt", "eq-ch2-bptt-rule",
        "eq-ch2-truncated"],
    ("lib/bptt.py", "fixed_point_sensitivities"): ["eq-ch2-sensitivity", "eq-ch2-source-rule"],
    ("lib/rtrl.py", "gradients"): ["eq-ch2-rtrl", "eq-ch2-rtrl-gradient", "eq-ch2-output-errors"],
}


def numbered_chapters():
    """The chapters of the numbered parts of _toc.yml, in order: {number: path}."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc.get("parts", []) if part.get("numbered")
             for c in part["chapters"]]
    return {i: ROOT / f"{f}.ipynb" for i, f in enumerate(files, start=1)}


def markdown(path):
    nb = json.loads(path.read_text(encoding="utf8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def equation_numbers():
    """{label: "C.n"} for every labelled equation of the book."""
    numbers = {}
    for chapter, path in numbered_chapters().items():
        text = markdown(path)
        labels = [(m.start(), m.group(1)) for m in LABELLED.finditer(text)]
        labels += [(m.start(), m.group(1)) for m in MATH_LABEL.finditer(text)]
        for n, (_, label) in enumerate(sorted(labels), start=1):
            assert label not in numbers, f"{label} is defined twice"
            numbers[label] = f"{chapter}.{n}"
    return numbers


def source_of(file, name):
    """The source of the function or class ``name`` in ``file``, as :pyobject: displays it."""
    text = (ROOT / file).read_text()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return ast.get_source_segment(text, node)
    raise AssertionError(f"{file} has no function or class {name}")


def cited(source):
    """The equation numbers "C.n" that ``source`` cites; a range (C.a)-(C.b) cites a..b."""
    found = set()
    for m in CITED.finditer(source):
        c, a = int(m.group(1)), int(m.group(2))
        if m.group(3) is None:
            found.add(f"{c}.{a}")
        else:
            assert int(m.group(3)) == c, f"a range across chapters: {m.group(0)}"
            found.update(f"{c}.{n}" for n in range(a, int(m.group(4)) + 1))
    return found


def displayed():
    """Every (file, object) that a chapter shows with literalinclude and :pyobject:."""
    shown = []
    for path in numbered_chapters().values():
        for m in INCLUDE.finditer(markdown(path)):
            options = dict(re.findall(r":([\w-]+):\s*([^\n]*)", m.group(2)))
            if "pyobject" in options:
                file = (path.parent / m.group(1)).resolve().relative_to(ROOT).as_posix()
                shown.append((file, options["pyobject"].strip()))
    return shown


NUMBERS = equation_numbers()


def test_the_numbering_is_worked_out_as_sphinx_does():
    assert NUMBERS["eq-rnn-update"] == "1.1"
    assert NUMBERS["eq-ch2-steady-energy"] == "2.1"
    assert NUMBERS["eq-ch2-bptt"] == "2.10"          # the algorithm box of Chapter 2 says so
    assert cited("eqs. (2.9)-(2.11) and (3.4)") == {"2.9", "2.10", "2.11", "3.4"}
    assert displayed(), "no literalinclude with :pyobject: found: has the syntax changed?"


@pytest.mark.parametrize("file, name", sorted(set(displayed()) | set(ALSO)),
                         ids=lambda v: v)
def test_cited_equations_exist_and_are_the_ones_meant(file, name):
    numbers = cited(source_of(file, name))
    existing = set(NUMBERS.values())
    assert numbers <= existing, (
        f"{file}:{name} cites {sorted(numbers - existing)}, which the book does not number")
    if not numbers:
        return
    meant = MEANT.get((file, name), ALSO.get((file, name)))
    assert meant is not None, (
        f"{file}:{name} cites {sorted(numbers)}: add the labels it means to MEANT in {__file__}")
    unknown = [label for label in meant if label not in NUMBERS]
    assert not unknown, f"labels not in the book: {unknown}"
    expected = {NUMBERS[label] for label in meant}
    assert numbers == expected, (
        f"{file}:{name} cites {sorted(numbers)}, but the equations it means "
        f"({', '.join(meant)}) are now {sorted(expected)}")
