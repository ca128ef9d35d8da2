"""figures: the lesson's pictures of training and evaluation, as PNG files.

Input:  dvclive/plots/metrics/   per epoch: train/loss, train/accuracy and (with validation) eval/loss, eval/accuracy
        plots/confusion.csv      the confusion matrix: actual, predicted, count
Output: plots/training_curves.png    loss and accuracy per epoch, training and validation, side by side
        plots/confusion_heatmap.png  the lesson's annotated seaborn heatmap of the confusion matrix,
                                     data.classes on both axes (rows: actual, columns: predicted); above
                                     30 classes the 30 with the most test rows, said in its title and a line
Params: data.target (axis titles), data.classes (row and column order)
"""

from __future__ import annotations

from collections.abc import Sequence

from penguins.cli import run_stage, stage_parser
from penguins.errors import warn
from penguins.history import read_history
from penguins.io import read_csv
from penguins.params import load_params
from penguins.paths import Paths
from penguins.plotting import (
    CONFUSION_COLUMNS,
    confusion_heatmap,
    confusion_table,
    heatmap_note,
    save_png,
    theme,
    training_curves,
)


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    data = load_params().data
    history = read_history(Paths.LIVE)
    pairs = read_csv(Paths.CONFUSION, required=CONFUSION_COLUMNS, labels=CONFUSION_COLUMNS)
    table = confusion_table(pairs, data.classes, str(Paths.CONFUSION))
    with theme():
        save_png(training_curves(history), Paths.TRAINING_CURVES)
        if note := heatmap_note(len(table)):
            warn(f"{Paths.CONFUSION_HEATMAP}: {note}")
        save_png(confusion_heatmap(table, data.target), Paths.CONFUSION_HEATMAP)  # at most HEATMAP_MAX_CLASSES


if __name__ == "__main__":
    run_stage(main)
