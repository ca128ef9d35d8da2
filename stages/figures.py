"""figures: the lesson's pictures of training and evaluation, as PNG files.

Input:  plots/history.csv     per epoch: loss, accuracy and (with validation) val_loss, val_accuracy
        plots/confusion.csv   per test sample: actual, predicted
Output: plots/training_curves.png    loss and accuracy per epoch, training and validation, side by side
        plots/confusion_heatmap.png  the lesson's annotated seaborn heatmap of the confusion matrix,
                                     data.classes on both axes (rows: actual, columns: predicted)
Params: data.target (axis titles), data.classes (row and column order)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

if __package__ in (None, ""):  # run as `python stages/figures.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stages.clean import to_numeric_features
from stages.common import DataParams, Paths, PipelineError, load_params, read_csv, run_cli, stage_parser
from stages.plotting import save_png, theme  # selects the non-interactive Agg backend

CURVES = (("loss", "Loss (categorical cross-entropy)"), ("accuracy", "Accuracy"))
CONFUSION_COLUMNS = ("actual", "predicted")


def read_history(path: Path = Paths.HISTORY) -> pd.DataFrame:
    """plots/history.csv with numeric epoch, loss and accuracy (validation columns are optional)."""
    history = read_csv(path, required=["epoch", *(name for name, _ in CURVES)])
    present = [c for c in history.columns if c == "epoch" or c.removeprefix("val_") in dict(CURVES)]
    return to_numeric_features(history, present, str(path))


def confusion_table(pairs: pd.DataFrame, classes: Sequence[str], source: str = str(Paths.CONFUSION)) -> pd.DataFrame:
    """Counts of (actual, predicted) as a square table in class order: rows actual, columns predicted."""
    for column in CONFUSION_COLUMNS:
        unknown = ~pairs[column].isin(classes)
        if unknown.any():
            raise PipelineError(
                f"{source}: column {column!r} has label {pairs[column][unknown].iloc[0]!r}, not one of data.classes "
                f"({', '.join(classes)}); run `dvc repro` so evaluate and figures use the same params"
            )
    counts = pd.crosstab(pairs["actual"], pairs["predicted"])
    return counts.reindex(index=list(classes), columns=list(classes), fill_value=0)


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


def confusion_heatmap(table: pd.DataFrame, target: str) -> Figure:
    """The lesson's ``sns.heatmap(confusion_df, annot=True)``, with titled axes and class names."""
    figure, ax = plt.subplots(figsize=(5.6, 4.6), layout="constrained")
    sns.heatmap(table, annot=True, fmt="d", cmap="Blues", square=True, linewidths=0.5, annot_kws={"size": 13}, ax=ax,
                cbar_kws={"label": "Test samples", "shrink": 0.85})  # fmt: skip
    ax.set(xlabel=f"Predicted {target}", ylabel=f"Actual {target}")
    ax.set_title(f"Confusion matrix (test set, {int(table.to_numpy().sum())} samples)", fontweight="bold")
    ax.tick_params(axis="y", labelrotation=0)
    return figure


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    data: DataParams = load_params().data
    history = read_history()
    table = confusion_table(read_csv(Paths.CONFUSION, required=CONFUSION_COLUMNS), data.classes)
    with theme():
        save_png(training_curves(history), Paths.TRAINING_CURVES)
        save_png(confusion_heatmap(table, data.target), Paths.CONFUSION_HEATMAP)


if __name__ == "__main__":
    run_cli(main)
