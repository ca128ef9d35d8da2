"""The lesson's pictures with matplotlib and seaborn: a headless backend, one look, byte-stable PNGs.

Importing this module selects the non-interactive Agg backend (no display needed, same pixels everywhere).
Saved PNGs carry no timestamp and no software version, so identical inputs give identical bytes. They are
256-colour (palette) PNGs: a quarter of the size of matplotlib's RGBA ones, which matters because the
pictures are tracked in git and every data or model change commits new ones.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from penguins.columns import split_unit
from penguins.errors import PipelineError, warn
from penguins.io import atomic_path
from penguins.optional import no_garbage_collection, without
from penguins.params import DataParams, ExploreParams
from penguins.summary import class_order, plot_sample
from penguins.tables import Label, label_key

# Without the garbage collector (~0.07 s), and seaborn without SciPy: for statistics these pictures do not draw
with no_garbage_collection(), without("scipy"):
    import matplotlib

    matplotlib.use("Agg")  # before pyplot is imported
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.figure import Figure
    from PIL import Image

DPI = 100
# matplotlib writes "Software: Matplotlib version ..." into PNGs by default; Agg PNGs carry no timestamp.
PNG_METADATA: dict[str, str | None] = {"Software": None}
# Plots have few colours (a palette, anti-aliased edges): 256 are indistinguishable from RGBA by eye, and the
# files (git-tracked) shrink to a quarter. Fast octree is the quantizer Pillow allows for RGBA; it is deterministic.
PALETTE_COLOURS = 256
CURVES = (("loss", "Loss (categorical cross-entropy)"), ("accuracy", "Accuracy"))
CONFUSION_COLUMNS = ("actual", "predicted")  # and "count" (evaluate's file); without it, a row is one sample
# Every picture is bounded whatever the data (a 1,000-class heatmap, annotated, drew for minutes in 10 GB): the
# heatmap draws at most this many classes, those with the most test rows (actual or predicted) ...
HEATMAP_MAX_CLASSES = 30
# ... and the pairplot at most this many features (the first of data.features; 8 are 64 panels). Its rows are
# bounded by explore.max_points; the training curves by train.epochs (at most 10,000 points per line).
PAIRPLOT_MAX_FEATURES = 8
# ... and colours at most this many classes, the rest as one "other" (seaborn draws each class apart: 1,000
# classes took minutes even with 8 features; beyond ten colours the eye cannot tell them apart anyway).
PAIRPLOT_MAX_CLASSES = 10


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
    """Write ``figure`` as a 256-colour PNG atomically (no metadata, tight bounding box) and close it."""
    try:
        rgba = io.BytesIO()
        figure.savefig(rgba, format="png", dpi=DPI, metadata=PNG_METADATA, bbox_inches="tight", pad_inches=0.15)
    finally:
        plt.close(figure)
    with Image.open(rgba) as image:
        palette = image.quantize(PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE)
    with atomic_path(path, suffix=".png") as tmp:
        palette.save(tmp, format="png", optimize=True)  # Pillow writes no text or time chunks unless asked


def pairplot(
    complete: pd.DataFrame, features: Sequence[str], target: str, hue_order: Sequence[str], of_rows: int | None = None
) -> Figure:
    """The lesson's ``sns.pairplot(penguins, hue="species")`` on ``features``, with readable labels.

    ``of_rows``: when ``complete`` is a sample of a larger table, that table's row count, said in the title."""
    drawn = list(features)[:PAIRPLOT_MAX_FEATURES]
    labels = {feature: axis_label(feature) for feature in drawn}
    frame = complete[[*drawn, target]].rename(columns=labels)
    # The hue as text: seaborn draws a numeric hue (integer class codes 1, 2, 3) on a continuous colour scale.
    frame[target] = frame[target].map(lambda v: v if isinstance(v, str) or pd.isna(v) else str(v))
    order = list(dict.fromkeys(map(str, hue_order)))
    frame[target], coloured = pairplot_hue(frame[target], order)
    grid = sns.pairplot(
        frame,
        vars=list(labels.values()),
        hue=target,
        hue_order=coloured,
        height=2.2,
        plot_kws={"s": 16, "alpha": 0.75, "linewidth": 0},
    )
    shown = (
        f"{len(complete)} rows with every measurement"
        if of_rows is None or of_rows == len(complete)
        else f"a random sample of {len(complete):,} of the {of_rows:,} rows with every measurement, stratified"
    )
    if len(drawn) < len(features):
        shown += f"; the first {len(drawn)} of {len(features)} features"
    if len(coloured) < len(order):
        shown += f"; {len(coloured) - 1} of {len(order)} classes coloured, the rest as other"
    grid.figure.suptitle(
        f"Palmer penguins: measurements by {target} ({shown})",
        y=1.02,
        fontsize="large",
        fontweight="bold",
    )
    return grid.figure


def explore_pairplot(complete: pd.DataFrame, data: DataParams, explore: ExploreParams, source: str) -> Figure:
    """explore's pairplot of ``complete`` (the rows with every measurement): at most explore.max_points of them
    (plot_sample), coloured in data.classes' order; a warning line naming ``source`` when features or classes are
    left out (pairplot_note)."""
    drawn = plot_sample(complete, data.target, explore.max_points, explore.seed)
    hue_order = class_order(complete[data.target], data.classes)
    if note := pairplot_note(len(data.features), len(hue_order)):
        warn(f"{source}: {note}")
    return pairplot(drawn, data.features, data.target, hue_order, of_rows=len(complete))


def training_curves(history: pd.DataFrame) -> Figure:
    """Loss and accuracy per epoch side by side; training solid, validation dashed."""
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    for ax, (name, label) in zip(axes, CURVES, strict=True):
        ax.plot(history["epoch"], history[name], label="training", linewidth=2)
        if f"val_{name}" in history:
            ax.plot(history["epoch"], history[f"val_{name}"], label="validation", linewidth=2, linestyle="--")
        ax.set(xlabel="Epoch", ylabel=label, title=label.split(" (")[0] + " per epoch")
        ax.set_xlim(history["epoch"].min(), history["epoch"].max())
        ax.legend(loc="best")
    figure.suptitle(f"Training curves ({len(history)} epochs)", fontsize="large", fontweight="bold")
    return figure


def confusion_table(pairs: pd.DataFrame, classes: Sequence[Label], source: str) -> pd.DataFrame:
    """Counts of (actual, predicted) as a square table in class order: rows actual, columns predicted.

    Each row of ``pairs`` counts ``count`` samples (evaluate's aggregated plots/confusion.csv), or one where
    there is no such column (a per-sample file, as evaluate wrote before)."""
    by_key = {label_key(c): c for c in classes}  # labels as data.classes gives them: 1 for "1"
    for column in CONFUSION_COLUMNS:
        keys = pairs[column].map(label_key)
        unknown = ~keys.isin(list(by_key))
        if unknown.any():
            raise PipelineError(
                f"{source}: column {column!r} has label {pairs[column][unknown].iloc[0]!r}, not one of data.classes "
                f"({', '.join(map(str, classes))}); run `dvc repro` so evaluate and figures use the same params"
            )
        pairs = pairs.assign(**{column: keys.map(by_key)})
    weights = pairs["count"] if "count" in pairs else pd.Series(1, index=pairs.index)
    counts = weights.groupby([pairs["actual"], pairs["predicted"]]).sum().unstack(fill_value=0)
    return counts.reindex(index=list(classes), columns=list(classes), fill_value=0).astype("int64")


def pairplot_hue(labels: pd.Series, order: Sequence[str]) -> tuple[pd.Series, list[str]]:
    """``labels`` (text) and their colour order, with at most PAIRPLOT_MAX_CLASSES colours: above, the classes
    with the most rows (ties: ``order``) keep theirs and the others become one "other (N classes)"."""
    if len(order) <= PAIRPLOT_MAX_CLASSES:
        return labels, list(order)
    rows = labels.value_counts().reindex(list(order), fill_value=0)
    top = list(rows.sort_values(ascending=False, kind="stable").index[: PAIRPLOT_MAX_CLASSES - 1])
    other = f"other ({len(order) - len(top)} classes)"
    kept = [name for name in order if name in set(top)]
    return labels.where(labels.isin(kept), other), [*kept, other]


def pairplot_note(n_features: int, n_classes: int = 0) -> str | None:
    """The line explore prints when the pairplot leaves features out or lumps classes together, else None."""
    parts = []
    if n_features > PAIRPLOT_MAX_FEATURES:
        parts.append(
            f"draws the first {PAIRPLOT_MAX_FEATURES} of the {n_features} data.features ({n_features * n_features:,} "
            "panels would take minutes; list the ones to see first in data.features)"
        )
    if n_classes > PAIRPLOT_MAX_CLASSES:
        parts.append(
            f"colours the {PAIRPLOT_MAX_CLASSES - 1} of the {n_classes} classes with the most rows, the rest as one "
            "'other'"
        )
    return f"the pairplot {' and '.join(parts)}" if parts else None


def heatmap_classes(table: pd.DataFrame, max_classes: int = HEATMAP_MAX_CLASSES) -> pd.DataFrame:
    """``table`` (square, class order) cut to the ``max_classes`` classes with the most test rows, as actual or
    as predicted (ties: class order), kept in class order; the whole table when it has no more."""
    if len(table) <= max_classes:
        return table
    rows = pd.Series(table.to_numpy().sum(axis=1) + table.to_numpy().sum(axis=0), index=range(len(table)))
    kept = sorted(rows.sort_values(ascending=False, kind="stable").index[:max_classes])
    return table.iloc[kept, kept]


def heatmap_note(n_classes: int, max_classes: int = HEATMAP_MAX_CLASSES) -> str | None:
    """The line figures prints when the heatmap leaves classes out, else None."""
    if n_classes <= max_classes:
        return None
    return (
        f"the confusion heatmap draws {max_classes} of the {n_classes} classes, those with the most test rows; "
        "plots/confusion.csv and metrics/metrics.json have them all"
    )


def confusion_heatmap(table: pd.DataFrame, target: str, of_classes: int | None = None) -> Figure:
    """The lesson's ``sns.heatmap(confusion_df, annot=True)``, with titled axes and class names.

    Above HEATMAP_MAX_CLASSES classes it draws those with the most test rows (heatmap_classes) and says so in the
    title; ``of_classes``: when ``table`` is already a part of a larger one, that one's number of classes. The
    picture grows with the classes drawn, and its numbers shrink, up to HEATMAP_MAX_CLASSES."""
    of_classes = max(of_classes or 0, len(table))
    table = heatmap_classes(table)
    n_classes = len(table)
    size = (max(5.6, 0.4 * n_classes + 1.6), max(4.6, 0.4 * n_classes + 0.6))
    figure, ax = plt.subplots(figsize=size, layout="constrained")
    sns.heatmap(
        table,
        annot=True,
        fmt="d",
        cmap="Blues",
        square=True,
        linewidths=0.5,
        annot_kws={"size": 13 if n_classes <= 10 else 8},
        ax=ax,
        cbar_kws={"label": "Test samples", "shrink": 0.85},
    )
    ax.set(xlabel=f"Predicted {target}", ylabel=f"Actual {target}")
    n = int(table.to_numpy().sum())
    part = f"; {n_classes} of {of_classes} classes, most test rows" if of_classes and of_classes > n_classes else ""
    ax.set_title(f"Confusion matrix (test set, {n} sample{'s' if n != 1 else ''}{part})", fontweight="bold")
    ax.tick_params(axis="y", labelrotation=0)
    return figure
