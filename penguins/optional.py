"""Importing a large library for less: without one of its optional dependencies, when what needs it is not used
here, and without the garbage collector.

Keras imports scikit-learn (and with it SciPy) for its scikit-learn wrappers only and matplotlib for
keras.visualization, seaborn imports SciPy for statistics the pictures do not draw; each catches the ImportError and
goes on without. Each costs a large share of a stage's start-up (docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import gc
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


@contextlib.contextmanager
def no_garbage_collection() -> Iterator[None]:
    """Inside the block, Python's cyclic garbage collector does not run; after it, every object made so far is frozen
    (gc.freeze: later collections skip it) and the collector runs again, if it ran before.

    Importing TensorFlow and Keras makes hundreds of thousands of objects that live until the process ends: while
    they load, the collector would run hundreds of times, full scans among them, to free next to nothing
    (docs/benchmarks.md has the count)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
