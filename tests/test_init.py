"""The package itself: its numpy modules must import on a machine without torch."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
TORCH_MODULES = {"bridge", "reference", "shakespeare", "shortcut", "torchnn", "train"}


def test_numpy_modules_import_without_torch():
    numpy_modules = sorted(p.stem for p in (ROOT / "lib").glob("*.py")
                           if p.stem not in TORCH_MODULES | {"__init__"})
    assert {"rnn", "gru", "bptt", "checks"} <= set(numpy_modules)
    # sys.modules["torch"] = None makes every `import torch` fail, as on a machine without it
    code = ("import sys; sys.modules['torch'] = None\n"
            + "".join(f"import rnnbook.{name}\n" for name in numpy_modules))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_torch_modules_really_need_torch():
    code = "import sys; sys.modules['torch'] = None\nimport rnnbook.reference\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and "torch" in result.stderr
