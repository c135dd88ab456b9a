"""Run a chapter the way Colab does: in an environment without `lib`, where the chapter's first cell
installs it because `google.colab` is imported.

Usage: python tools/scripts/colab_check.py [chapters/01_recurrence.ipynb ...]

For each chapter, in a fresh virtual environment (with requirements.txt but not the book's own
package: Colab brings torch, numpy, matplotlib and ipywidgets itself):
- check that `import rnnbook` fails there;
- copy the chapter to an empty folder (so nothing is imported from this checkout), put a cell in front
  that registers a stand-in `google.colab` module, and point the first cell's install at this
  repository on disk (`git+file://localhost/<checkout>@<release tag>`, or @HEAD before the release is
  tagged: the committed files, as Colab gets
  them from GitHub) instead of the GitHub address;
- execute it top to bottom and report the time. Any error stops it.

Takes a minute or two (the environment is created once). Not part of `make test`: it needs pip.
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

import nbformat
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
FAKE_COLAB = ("# colab_check: make the chapter believe it runs in Colab\n"
              "import sys, types\n"
              "sys.modules['google.colab'] = types.ModuleType('google.colab')")
EXECUTE = """import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, sys.argv[1])"""


def make_environment(folder):
    """A virtual environment with the book's pinned requirements, without the book's package."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith(("#", "-e"))]
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *pins], check=True)
    return python


def release():
    """The tag the chapters install in Colab: v<version of pyproject.toml>."""
    return "v" + re.search(r'^version = "([0-9.]+)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)


def colab_copy(chapter, folder):
    """The chapter as Colab would run it, in `folder`; returns its path."""
    nb = nbformat.read(chapter, as_version=4)
    install = nb.cells[0]
    tag = release()
    remote = f"git+{CONFIG['repository']['url']}@{tag}"
    if remote not in install.source:
        sys.exit(f"{chapter}: the first cell does not install {remote}")
    # the release's tag when this checkout has it (what Colab installs), else the last commit
    ref = tag if subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}"],
                                cwd=ROOT, capture_output=True).returncode == 0 else "HEAD"
    # pip's requirement parser wants a host in a file URL, hence localhost
    install.source = install.source.replace(remote, f"git+file://localhost{ROOT.as_posix()}@{ref}")
    nb.cells.insert(0, nbformat.v4.new_code_cell(FAKE_COLAB))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    data = chapter.parent / "data"
    if data.is_dir():
        shutil.copytree(data, folder / "data")
    path = folder / chapter.name
    nbformat.write(nb, path)
    return path


def main(chapters):
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
    with tempfile.TemporaryDirectory(prefix="colab-check-") as tmp:
        tmp = pathlib.Path(tmp)
        start = time.perf_counter()
        python = make_environment(tmp / "venv")
        print(f"environment without lib: {time.perf_counter() - start:.0f} s")
        for chapter in chapters:
            work = tmp / chapter.stem
            work.mkdir()
            # each chapter starts as a fresh Colab runtime does: without the book's package
            subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "rnnbook"],
                           capture_output=True)
            probe = subprocess.run([str(python), "-c", "import rnnbook"], cwd=work, capture_output=True)
            if probe.returncode == 0:
                sys.exit("rnnbook is importable before the chapter installs it: the check would prove nothing")
            copy = colab_copy(chapter, work)
            start = time.perf_counter()
            run = subprocess.run([str(python), "-c", EXECUTE, str(copy), str(work)], cwd=work, env=env,
                                 capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if run.returncode:
                sys.exit(f"{chapter.name} failed on the Colab path after {elapsed:.0f} s:\n{run.stderr[-3000:]}")
            installed = subprocess.run([str(python), "-m", "pip", "show", "rnnbook"], capture_output=True,
                                       text=True).stdout.splitlines()[:2]
            print(f"{chapter.name}: ran to the end on the Colab path in {elapsed:.0f} s ({', '.join(installed)})")


if __name__ == "__main__":
    main([pathlib.Path(p).resolve() for p in sys.argv[1:]] or [ROOT / "chapters" / "01_recurrence.ipynb"])
