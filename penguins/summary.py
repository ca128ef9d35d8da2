"""What the explore stage reports about the raw data: the complete rows, class balance, missing values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from penguins.errors import PipelineError
from penguins.io import require_columns
from penguins.params import DataParams
from penguins.paths import Paths
from penguins.tables import to_numeric_features

FRACTION_DIGITS = 4


def complete_rows(raw: pd.DataFrame, data: DataParams, source: str = str(Paths.RAW)) -> pd.DataFrame:
    """Target and numeric features of the rows that have all of them (the rows clean keeps)."""
    columns = [data.target, *data.features]
    require_columns(raw, columns, source)
    complete = to_numeric_features(raw[columns], data.features, source).dropna().reset_index(drop=True)
    if complete.empty:
        raise PipelineError(f"{source}: no row has a {data.target} label and every one of data.features")
    return complete


def class_order(labels: pd.Series, classes: Sequence[str]) -> list[str]:
    """data.classes first, then any other label found, so the pictures hide nothing."""
    extra = sorted(set(labels.dropna().astype(str)) - set(classes))
    return [*classes, *extra]


def data_summary(raw: pd.DataFrame, complete: pd.DataFrame, data: DataParams) -> dict[str, Any]:
    """Rows, columns, missing values per column and class balance of the raw table."""
    labels = raw[data.target].dropna().astype(str)
    counts = labels.value_counts()
    order = class_order(labels, data.classes)
    return {
        "rows": len(raw),
        "columns": raw.shape[1],
        "rows_complete": len(complete),
        "missing": {str(column): int(raw[column].isna().sum()) for column in raw.columns},
        "class_counts": {name: int(counts.get(name, 0)) for name in order},
        "class_fractions": {
            name: round(int(counts.get(name, 0)) / max(len(labels), 1), FRACTION_DIGITS) for name in order
        },
    }
