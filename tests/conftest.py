import os
import sys

import matplotlib

# Tests draw figures without a screen.
matplotlib.use("Agg")
# The repository root, so that `import lib` works even before `pip install -e .`.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
