"""The training history DVCLive wrote during train, read back as one table for the figures stage.

DVCLive's Keras callback writes one TSV per metric under <dir>/plots/metrics/: train/loss.tsv,
train/accuracy.tsv and, with validation rows, eval/loss.tsv and eval/accuracy.tsv, each with columns
`step` (0-based epoch) and the metric's name.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from penguins.errors import PipelineError
from penguins.io import read_csv
from penguins.paths import resolve
from penguins.tables import csv_line, to_numeric_features

# (DVCLive's split/name, the column in the history table)
SERIES = (
    ("train/loss", "loss"),
    ("train/accuracy", "accuracy"),
    ("eval/loss", "val_loss"),
    ("eval/accuracy", "val_accuracy"),
)
REQUIRED = ("loss", "accuracy")


def metric_file(live_dir: Path, name: str) -> Path:
    return live_dir / "plots" / "metrics" / f"{name}.tsv"


RERUN_HINT = "re-run train (dvc repro)"


def read_series(live_dir: Path, name: str) -> pd.Series:
    """One metric per epoch, indexed by DVCLive's step (whole numbers, each once)."""
    path = metric_file(live_dir, name)
    frame = read_csv(path, required=["step", path.stem], sep="\t", hint=RERUN_HINT)
    frame = to_numeric_features(frame, ["step", path.stem], str(path), hint=RERUN_HINT)
    steps = frame["step"]
    bad = steps.isna() | (steps != steps.round()) | steps.duplicated()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise PipelineError(
            f"{path}: line {csv_line(row)}: step {float(frame.at[row, 'step']):g} is missing, not a whole number or "
            f"repeated; {RERUN_HINT}"
        )
    return frame.set_index(steps.astype(int))[path.stem]


def read_history(live_dir: Path) -> pd.DataFrame:
    """Columns epoch (1-based), loss, accuracy and, when train validated, val_loss, val_accuracy."""
    table = pd.DataFrame(
        {
            column: read_series(live_dir, name)
            for name, column in SERIES
            if column in REQUIRED or resolve(metric_file(live_dir, name)).is_file()
        }
    )
    if table.isna().any().any():  # aligned on step: a gap means an empty cell or files of different runs
        raise PipelineError(f"{live_dir}: its metric files have an empty value or cover different epochs; {RERUN_HINT}")
    table.index = pd.Index(table.index + 1, name="epoch")
    return table.reset_index()
