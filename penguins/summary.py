"""What the explore stage reports about the raw data: the complete rows, class balance, missing values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from penguins.errors import PipelineError
from penguins.io import require_columns
from penguins.params import DataParams
from penguins.paths import Paths
from penguins.tables import Label, label_key, require_some_values, to_numeric_features

FRACTION_DIGITS = 4
# metrics/data_summary.json is tracked by git: labels found beyond data.classes are listed up to this many (the
# most frequent), the rest counted as one "(N other labels)"; columns of the raw file up to this many in "missing"
# (above, only data.target, data.features and the columns with missing values, still at most this many).
SUMMARY_MAX_OTHER_LABELS = 100
SUMMARY_MAX_COLUMNS = 1000


def complete_rows(raw: pd.DataFrame, data: DataParams, source: str = str(Paths.RAW)) -> pd.DataFrame:
    """Target and numeric features of the rows that have all of them (the rows clean keeps)."""
    columns = [data.target, *data.features]
    require_columns(raw, columns, source)
    kept = raw[columns].assign(**{data.target: known_labels(raw[data.target], data.classes)})
    numeric = to_numeric_features(kept, data.features, source)
    require_some_values(numeric, data.features, source)
    complete = numeric.dropna().reset_index(drop=True)
    if complete.empty:
        raise PipelineError(f"{source}: no row has a {data.target} label and every one of data.features")
    return complete


def known_labels(labels: pd.Series, classes: Sequence[Label]) -> pd.Series:
    """The labels as data.classes gives them (1 for "1"), others as written, empty ones NA (explore draws and
    counts every label; clean refuses the unknown ones)."""
    by_key = {label_key(c): c for c in classes}
    text = labels.where(labels.isna() | (labels.astype(str).str.strip() != ""))
    return text.map(lambda v: v if pd.isna(v) else by_key.get(label_key(v), v)).astype(object)


def class_order(labels: pd.Series, classes: Sequence[Label]) -> list[Label]:
    """data.classes first, then any other label found, so the pictures hide nothing."""
    extra = sorted({str(v) for v in labels.dropna()} - {str(c) for c in classes})
    return [*classes, *extra]


def data_summary(raw: pd.DataFrame, complete: pd.DataFrame, data: DataParams) -> dict[str, Any]:
    """Rows, columns, missing values per column and class balance of the raw table."""
    given = known_labels(raw[data.target], data.classes)
    labels = given.dropna().map(str)  # counted by their text: 1 and "x" may be labels of one file
    counts = labels.value_counts()
    order = [str(name) for name in class_order(labels, data.classes)]
    known = {str(name) for name in data.classes}
    others = [name for name in order if name not in known]
    if len(others) > SUMMARY_MAX_OTHER_LABELS:
        frequent = set(
            counts.reindex(others).sort_values(ascending=False, kind="stable").index[:SUMMARY_MAX_OTHER_LABELS]
        )
        rest = f"({len(others) - SUMMARY_MAX_OTHER_LABELS} other labels)"
        counts = pd.concat(
            [counts, pd.Series({rest: int(counts.reindex([n for n in others if n not in frequent]).sum())})]
        )
        order = [name for name in order if name in known or name in frequent] + [rest]
    missing = raw.isna().sum().to_dict() | {data.target: int(given.isna().sum())}  # labels are read as text
    columns = list(raw.columns)
    if len(columns) > SUMMARY_MAX_COLUMNS:  # the target and features first, whatever their place in the file
        wanted = [data.target, *data.features]
        rest = [c for c in columns if c not in set(wanted) and missing[c]]
        kept = set(list(dict.fromkeys(wanted + rest))[:SUMMARY_MAX_COLUMNS])
        columns = [c for c in columns if c in kept]
    return {
        "rows": len(raw),
        "columns": raw.shape[1],
        "rows_complete": len(complete),
        "missing": {str(column): int(missing[column]) for column in columns},
        "class_counts": {name: int(counts.get(name, 0)) for name in order},
        "class_fractions": {
            name: round(int(counts.get(name, 0)) / max(len(labels), 1), FRACTION_DIGITS) for name in order
        },
    }


def sample_quotas(counts: Sequence[int], size: int) -> list[int]:
    """How many rows of each class a stratified sample of ``size`` rows takes: proportional to ``counts``, the
    rounding left-overs to the largest remainders (ties: the earlier class), and at least one row of every
    class that has rows (taken from the class with the most, while it has two), so that no colour vanishes."""
    total = sum(counts)
    exact = [count * size / total for count in counts]
    quotas = [int(q) for q in exact]
    by_remainder = sorted(range(len(counts)), key=lambda i: (-(exact[i] - quotas[i]), i))
    for i in by_remainder[: size - sum(quotas)]:
        quotas[i] += 1
    for i, count in enumerate(counts):
        donor = max(range(len(counts)), key=lambda j: (quotas[j], -j))
        if count and not quotas[i] and quotas[donor] > 1:  # (more classes than rows: some must go)
            quotas[i] += 1
            quotas[donor] -= 1
    return quotas


def plot_sample(complete: pd.DataFrame, target: str, max_points: int, seed: int) -> pd.DataFrame:
    """``complete`` itself if it has at most ``max_points`` rows; otherwise a seeded random sample of exactly
    ``max_points`` rows, stratified by ``target`` (each class in its share), in the original row order.

    A picture of a sample costs the same at any data size; the same data and seed give the same sample."""
    if len(complete) <= max_points:
        return complete
    labels = complete[target].astype(str).to_numpy()
    classes = sorted(set(labels))
    members = [np.flatnonzero(labels == name) for name in classes]
    quotas = sample_quotas([len(rows) for rows in members], max_points)
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(rows, size=n, replace=False) for rows, n in zip(members, quotas, strict=True)])
    return complete.iloc[np.sort(chosen)].reset_index(drop=True)
