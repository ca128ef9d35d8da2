"""Matplotlib helpers shared by explore and figures: a headless backend, one look, byte-stable PNGs.

Importing this module selects the non-interactive Agg backend (no display needed, same pixels everywhere).
Saved PNGs carry no timestamp and no software version, so identical inputs give identical bytes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from stages.common import atomic_path, split_unit  # noqa: E402

DPI = 100
# matplotlib writes "Software: Matplotlib version ..." into PNGs by default; Agg PNGs carry no timestamp.
PNG_METADATA: dict[str, str | None] = {"Software": None}


@contextlib.contextmanager
def theme() -> Iterator[None]:
    """seaborn's whitegrid look at readable sizes, without touching the global rcParams."""
    rc = {**sns.axes_style("whitegrid"), **sns.plotting_context("notebook"), "figure.dpi": DPI, "savefig.dpi": DPI}
    with plt.rc_context(rc):
        yield


def axis_label(column: str) -> str:
    """A column name as an axis label: 'bill_length_mm' -> 'Bill length (mm)'."""
    name, unit = split_unit(column)
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:] + (f" ({unit})" if unit else "")


def save_png(figure: Figure, path: Path) -> None:
    """Write ``figure`` as a PNG atomically (fixed metadata, tight bounding box) and close it."""
    try:
        with atomic_path(path, suffix=".png") as tmp:
            figure.savefig(tmp, format="png", dpi=DPI, metadata=PNG_METADATA, bbox_inches="tight", pad_inches=0.15)
    finally:
        plt.close(figure)
