"""The lesson's data steps as pure functions on DataFrames: clean (dropna), encode (one-hot), split.

Every class of data.classes must survive each step: a class with no rows would still get a model output and a
support of 0, and the metrics would look perfect without it. clean and encode refuse a class with no rows; split
refuses a class too small to reach both parts (the minimum follows from split.test_size); train checks the
fitting and validation rows (penguins.training)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from penguins.columns import target_columns
from penguins.errors import PipelineError
from penguins.io import require_columns
from penguins.params import DataParams, SplitParams
from penguins.paths import Paths
from penguins.tables import Label, as_classes, to_numeric_features


def clean(raw: pd.DataFrame, data: DataParams, source: str = str(Paths.RAW)) -> pd.DataFrame:
    """The lesson's cleaning: keep target + features, validate them, drop rows with missing values."""
    columns = [data.target, *data.features]
    require_columns(raw, columns, source)
    kept = raw[columns].assign(**{data.target: as_classes(raw[data.target], data.classes, source)})
    cleaned = to_numeric_features(kept, data.features, source).dropna()
    if cleaned.empty:
        raise PipelineError(f"{source}: no rows left after dropping rows with missing values")
    before, after = class_counts(kept[data.target], data.classes), class_counts(cleaned[data.target], data.classes)
    for name in data.classes:
        if after[name] == 0:
            why = f"all {before[name]} of its rows miss a value of data.features" if before[name] else "it has no rows"
            raise PipelineError(
                f"{source}: class {name!r} of data.classes has no rows left after cleaning ({why}); "
                f"fix the data, change data.features, or remove {name!r} from data.classes"
            )
    return cleaned.reset_index(drop=True)


def class_counts(labels: pd.Series, classes: Sequence[Label]) -> dict[Label, int]:
    """Rows per class, in data.classes order (0 for a class with none)."""
    counts = labels.value_counts()
    return {name: int(counts.get(name, 0)) for name in classes}


def require_rows_of_every_class(counts: dict[Label, int], source: str) -> None:
    """A class with no rows (``counts``: rows per class) would be a model output never trained on nor tested."""
    for name, count in counts.items():
        if count == 0:
            raise PipelineError(
                f"{source}: class {name!r} of data.classes has no rows; "
                f"re-run clean (dvc repro) or remove {name!r} from data.classes"
            )


def encode(clean: pd.DataFrame, data: DataParams, source: str = str(Paths.CLEAN)) -> pd.DataFrame:
    """Features plus one float one-hot column per class, in data.classes order."""
    given = as_classes(clean[data.target], data.classes, source)
    require_rows_of_every_class(class_counts(given, data.classes), source)
    labels = pd.Categorical(given, categories=list(data.classes))
    onehot = pd.get_dummies(labels, dtype="float64")
    onehot.columns = target_columns(data.classes, data.target)
    onehot.index = clean.index
    return pd.concat([clean[list(data.features)], onehot], axis=1)


def class_record(data: DataParams) -> dict[str, Any]:
    """What train and evaluate need to turn model outputs back into names (data/encoded/classes.json)."""
    return {
        "target": data.target,
        "classes": list(data.classes),
        "columns": target_columns(data.classes, data.target),
        "features": list(data.features),
    }


def stratify_labels(onehot: pd.DataFrame) -> np.ndarray:
    """The labels scikit-learn makes of a 2-D ``stratify`` (each row's values as text, joined by spaces, e.g.
    "1.0 0.0 0.0"), made once per distinct row instead of once per row: the very same split (scikit-learn
    stratifies on these strings either way), much faster on large data (docs/benchmarks.md)."""
    distinct, inverse = np.unique(onehot.to_numpy("float64"), axis=0, return_inverse=True)
    text = np.array([" ".join(row.astype("str")) for row in distinct])
    return text[inverse.reshape(-1)]


def split_sizes(n_rows: int, test_size: float) -> tuple[int, int]:
    """(train, test) row counts, computed as scikit-learn's train_test_split computes them for a float test_size."""
    n_test = math.ceil(test_size * n_rows)
    return n_rows - n_test, n_test


def rows_per_class_for_stratified_split(n_rows: int, test_size: float) -> int:
    """The fewest rows a class needs for a stratified split to put at least one of them in train and in test,
    whatever split.random_state is.

    scikit-learn gives a class of c rows floor or ceil of c * n_train / n rows in train and the rest in test.
    So train gets one for sure when c >= n / n_train, and test when c - ceil(c * n_train / n) >= 1, that is
    c >= n / n_test; and it refuses to stratify a class of 1. With fewer rows it depends on the seed.
    """
    n_train, n_test = split_sizes(n_rows, test_size)
    if n_train < 1 or n_test < 1:
        return n_rows + 1  # no class can be in both parts
    return max(2, -(-n_rows // n_test), -(-n_rows // n_train))


def split(
    encoded: pd.DataFrame,
    params: SplitParams,
    onehot_columns: Sequence[str],
    classes: Sequence[Label],
    source: str = str(Paths.ENCODED),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The lesson's split; stratifying on the one-hot target exactly as the lesson passes it.

    Every class (``classes``, in the order of ``onehot_columns``) must end up in both parts: with stratify, a
    class below rows_per_class_for_stratified_split is refused before splitting; without, the parts are checked.
    """
    counts = dict(zip(classes, encoded[list(onehot_columns)].sum().astype(int).tolist(), strict=True))
    require_rows_of_every_class(counts, source)
    needed = rows_per_class_for_stratified_split(len(encoded), params.test_size)
    if params.stratify:
        name, count = min(counts.items(), key=lambda item: item[1])
        if count < needed:
            raise PipelineError(
                f"{source}: class {name!r} has {count} rows, too few for a stratified split with "
                f"split.test_size={params.test_size} of {len(encoded)} rows: it needs at least {needed} per class "
                f"to have one in train and one in test; add rows, change split.test_size, "
                f"or remove {name!r} from data.classes"
            )
    stratify = stratify_labels(encoded[list(onehot_columns)]) if params.stratify else None
    from sklearn.model_selection import train_test_split  # here: clean and encode would pay ~0.7 s to import it

    try:
        train, test = train_test_split(
            encoded,
            test_size=params.test_size,
            random_state=params.random_state,
            shuffle=params.shuffle,
            stratify=stratify,
        )
    except ValueError as exc:
        raise PipelineError(f"cannot split {len(encoded)} rows with split params {params}: {exc}") from None
    for part, other, rows in (("train", "test", train), ("test", "train", test)):
        for name, column in zip(classes, onehot_columns, strict=True):
            if rows[column].sum() == 0:
                raise PipelineError(
                    f"{source}: class {name!r} has no rows in the {part} part (all {counts[name]} of its rows are in "
                    f"{other}, split.stratify: {str(params.stratify).lower()}); set split.stratify: true "
                    f"(from {needed} rows per class it puts each class in both), "
                    "or change split.random_state or split.test_size"
                )
    return train, test
