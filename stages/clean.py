"""clean: keep the feature columns and the target, drop rows with missing measurements.

Input:  data/raw/penguins.csv
Output: data/clean/penguins.csv (target column first, then data.features)
Params: data.features, data.target, data.classes

Fails with one clear message if a column is missing, a feature value is not a number,
a target label is empty or not one of data.classes, or no rows are left.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

if __package__ in (None, ""):  # run as `python stages/clean.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stages.common import DataParams, Paths, PipelineError, load_params, read_csv, require_columns, run_cli, stage_parser, write_csv


def csv_line(index: object) -> int:
    """The 1-based line number in the CSV of a row read with a default RangeIndex (header = line 1)."""
    return int(index) + 2  # type: ignore[call-overload]


def check_target(labels: pd.Series, classes: Sequence[str], source: str) -> None:
    """Every row needs a known class label; an empty or unknown one is an error naming the line."""
    empty = labels.isna() | (labels.astype(str).str.strip() == "")
    if empty.any():
        line = csv_line(labels.index[empty.to_numpy()][0])
        raise PipelineError(f"{source}: line {line}: column {labels.name!r} is empty; every row needs a label")
    unknown = ~labels.isin(classes)
    if unknown.any():
        first = labels.index[unknown.to_numpy()][0]
        raise PipelineError(
            f"{source}: line {csv_line(first)}: column {labels.name!r} has unknown label {labels[first]!r} "
            f"(expected one of {', '.join(classes)}; add it to data.classes in params.yaml if it is real)"
        )


DROP_NA_HINT = "fix the file or leave the cell empty (NA) to drop the row"


def to_numeric_features(frame: pd.DataFrame, features: Sequence[str], source: str, hint: str = DROP_NA_HINT) -> pd.DataFrame:
    """Convert feature columns to floats; a value that is present but not a number is an error ending with ``hint``."""
    out = frame.copy()
    for column in features:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            first = frame.index[bad.to_numpy()][0]
            raise PipelineError(
                f"{source}: line {csv_line(first)}: column {column!r} has non-numeric value "
                f"{frame.at[first, column]!r}; {hint}"
            )
        out[column] = values.astype("float64")
    return out


def clean(raw: pd.DataFrame, data: DataParams, source: str = str(Paths.RAW)) -> pd.DataFrame:
    """The lesson's cleaning: keep target + features, validate them, drop rows with missing values."""
    columns = [data.target, *data.features]
    require_columns(raw, columns, source)
    kept = raw[columns]
    check_target(kept[data.target], data.classes, source)
    numeric = to_numeric_features(kept, data.features, source)
    cleaned = numeric.dropna().reset_index(drop=True)
    if cleaned.empty:
        raise PipelineError(f"{source}: no rows left after dropping rows with missing values")
    return cleaned


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    params = load_params()
    raw = read_csv(Paths.RAW)
    write_csv(Paths.CLEAN, clean(raw, params.data))


if __name__ == "__main__":
    run_cli(main)
