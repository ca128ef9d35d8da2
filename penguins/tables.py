"""Checks of tabular input shared by the stages and predict: every bad cell is one error naming its CSV line."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from penguins.errors import PipelineError
from penguins.params import Label, label_key

DROP_NA_HINT = "fix the file or leave the cell empty (NA) to drop the row"
FEATURES_HINT = "data.features lists numeric input columns only: check data.features in params.yaml"


def csv_line(index: object) -> int:
    """The 1-based line number in the CSV of a row read with a default RangeIndex (header = line 1)."""
    return int(str(index)) + 2


def as_classes(labels: pd.Series, classes: Sequence[Label], source: str) -> pd.Series:
    """The labels as the values of data.classes (1 for "1", True for "true"); an empty or unknown label is an
    error naming the line."""
    empty = labels.isna() | (labels.astype(str).str.strip() == "")
    if empty.any():
        line = csv_line(labels.index[empty.to_numpy()][0])
        raise PipelineError(f"{source}: line {line}: column {labels.name!r} is empty; every row needs a label")
    by_key = {label_key(c): c for c in classes}
    keys = labels.map(label_key)
    unknown = ~keys.isin(list(by_key))
    if unknown.any():
        first = labels.index[unknown.to_numpy()][0]
        raise PipelineError(
            f"{source}: line {csv_line(first)}: column {labels.name!r} has unknown label {labels[first]!r} "
            f"(expected one of {', '.join(map(str, classes))}; add it to data.classes in params.yaml if it is real)"
        )
    return keys.map(by_key).astype(object)


def check_target(labels: pd.Series, classes: Sequence[Label], source: str) -> None:
    """Every row needs a known class label; an empty or unknown one is an error naming the line."""
    as_classes(labels, classes, source)


def to_numeric_features(
    frame: pd.DataFrame,
    features: Sequence[str],
    source: str,
    hint: str = DROP_NA_HINT,
    column_hint: str | None = FEATURES_HINT,
) -> pd.DataFrame:
    """Convert feature columns to floats; a value that is present but not a number is an error ending with ``hint``.

    A column without a single number (a text column such as island listed as a feature) is not a bad cell but a
    wrong column: its error ends with ``column_hint`` instead (None: treat it as a bad cell too)."""
    out = frame.copy()
    for column in features:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            first = frame.index[bad.to_numpy()][0]
            where, value = f"{source}: line {csv_line(first)}: column {column!r}", frame.at[first, column]
            if column_hint is not None and values.isna().all():
                raise PipelineError(f"{where} has non-numeric value {value!r} and no number in any row; {column_hint}")
            raise PipelineError(f"{where} has non-numeric value {value!r}; {hint}")
        check_finite(values, source, hint, written=frame[column])
        out[column] = values.astype("float64")
    return out


FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_finite(values: pd.Series, source: str, hint: str = DROP_NA_HINT, written: pd.Series | None = None) -> None:
    """A number the model cannot take: inf, -inf, a NaN written as a value, or beyond float32 (the model's
    type: 1e308 becomes inf there, and training goes to NaN). NA cells (missing) are not numbers: allowed here.
    The message quotes the cell as ``written`` (the column as read, before conversion), if given."""
    numbers = values.to_numpy("float64")
    bad = np.isinf(numbers) | (np.abs(np.nan_to_num(numbers)) > FLOAT32_MAX)
    if bad.any():
        first = values.index[bad][0]
        value = written[first] if written is not None else numbers[bad][0]
        value = value if isinstance(value, str) else f"{float(value):g}"
        raise PipelineError(
            f"{source}: line {csv_line(first)}: column {values.name!r} has value {value}, "
            f"not a finite float32 number (the model computes in float32: at most 3.4e38 in size); {hint}"
        )


def require_some_values(frame: pd.DataFrame, features: Sequence[str], source: str) -> None:
    """A feature empty (NA) in every row would leave no row after dropping the incomplete ones: name it."""
    for column in features:
        if frame[column].isna().all():
            raise PipelineError(
                f"{source}: column {column!r} of data.features is empty in every one of its {len(frame)} rows; "
                f"remove {column!r} from data.features or fill it in"
            )


# Rows the model sees identically to a fitted one (features and class, in float32) are answered from memory: above
# this share of the test rows (split) or of the validation rows (train) a warning, above the second a refusal (the
# data set concatenated with itself scored 0.998). Validation rows pick a sweep's best experiment (eval/accuracy).
DUPLICATE_WARN_SHARE = 0.05
DUPLICATE_REFUSE_SHARE = 0.5
DUPLICATE_PARTS = {  # part -> (its rows, which they are, what they copy, what is measured)
    "test": ("test rows", "", "a training row", "the test scores"),
    "validation": (
        "validation rows",
        "; the last train.validation_split of the training rows",
        "a fitted row",
        "the validation scores (eval/, which pick a sweep's best experiment)",
    ),
}


def rows_seen(known: np.ndarray, rows: np.ndarray) -> int:
    """How many of ``rows`` equal a row of ``known`` in every column, compared in float32 as the model sees them
    (values apart only beyond float32's precision are the same row to it; -0.0 is 0.0)."""

    def hashes(values: np.ndarray) -> pd.Series:
        return pd.util.hash_pandas_object(pd.DataFrame(np.asarray(values, "float32") + np.float32(0)), index=False)

    return int(hashes(rows).isin(set(hashes(known).to_numpy())).sum())


def rows_seen_in_training(train: pd.DataFrame, test: pd.DataFrame, columns: Sequence[str]) -> int:
    """How many test rows equal a training row in ``columns`` (data.features and the one-hot class), in float32."""
    return rows_seen(train[list(columns)].to_numpy("float64"), test[list(columns)].to_numpy("float64"))


def duplicate_note(n_seen: int, n_rows: int, source: str, part: str = "test") -> str | None:
    """The warning for ``n_seen`` of ``n_rows`` rows of ``part`` (DUPLICATE_PARTS) found among the rows fitted on
    (None below the warning share); a PipelineError above the refusing share."""
    share = n_seen / n_rows if n_rows else 0.0
    if share <= DUPLICATE_WARN_SHARE:
        return None
    rows, which, copied, scores = DUPLICATE_PARTS[part]
    text = (
        f"{source}: {n_seen} of the {n_rows} {rows} ({share:.1%}{which}) equal {copied} (duplicated rows in the data), "
        f"so {scores} measure memory, not new penguins; drop duplicate rows from the data"
    )
    if share > DUPLICATE_REFUSE_SHARE:
        raise PipelineError(f"{text} (more than {DUPLICATE_REFUSE_SHARE:.0%}: refused)")
    return text
