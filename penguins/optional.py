"""Importing a library without one of its optional dependencies, when what needs it is not used here.

Keras imports scikit-learn (and with it SciPy) for its scikit-learn wrappers only, seaborn imports SciPy for
statistics the pictures do not draw; both catch the ImportError and go on without. Each costs a large share of a
stage's start-up (docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def without(*names: str) -> Iterator[None]:
    """Inside the block, `import name` raises ImportError for each of ``names`` not imported yet (Python's own rule
    for a None entry in sys.modules); after it, they import as usual. A module already imported stays as it is."""
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]
