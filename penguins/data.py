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
from penguins.errors import PipelineError, warn
from penguins.io import require_columns
from penguins.params import DataParams, SplitParams
from penguins.paths import Paths
from penguins.tables import (
    Label,
    as_classes,
    duplicate_note,
    require_some_values,
    rows_seen_in_training,
    to_numeric_features,
)


def clean(raw: pd.DataFrame, data: DataParams, source: str = str(Paths.RAW)) -> pd.DataFrame:
    """The lesson's cleaning: keep target + features, validate them, drop rows with missing values."""
    columns = [data.target, *data.features]
    require_columns(raw, columns, source)
    kept = raw[columns].assign(**{data.target: as_classes(raw[data.target], data.classes, source)})
    numeric = to_numeric_features(kept, data.features, source)
    require_some_values(numeric, data.features, source)
    cleaned = numeric.dropna()
    if cleaned.empty:
        raise PipelineError(f"{source}: no rows left after dropping rows with missing values")
    before, after = class_counts(kept[data.target], data.classes), class_counts(cleaned[data.target], data.classes)
    for name in data.classes:
        if after[name] == 0:
            why = f"all {before[name]} of its rows miss a value of data.features" if before[name] else "it has no rows"
            rows = numeric[numeric[data.target] == name]
            empty = [f for f in data.features if before[name] and rows[f].isna().all()]
            why += f"; {empty[0]!r} is empty in every one" if empty else ""
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


def allowed_test_sizes(n_rows: int, smallest_class: int) -> tuple[float, float] | None:
    """The smallest and largest split.test_size (to 2 decimals, more where needed) with which a stratified split
    of ``n_rows`` puts a class of ``smallest_class`` rows in both parts; None when none does."""
    if smallest_class < 2:
        return None
    least = -(-n_rows // smallest_class)  # each part needs n_rows / smallest_class rows (see above)
    if least > n_rows - least:
        return None

    def works(test_size: float) -> bool:
        return 0 < test_size < 1 and rows_per_class_for_stratified_split(n_rows, test_size) <= smallest_class

    found = []  # at 2 decimals or more: the first that works (0.34, not 0.4, for at least 0.333...)
    for bound, rounding, nudge in ((least - 1, math.ceil, 1e-9), (n_rows - least, math.floor, 0.0)):
        candidates = (rounding(bound / n_rows * 10**d + nudge) / 10**d for d in range(2, 10))
        found.append(next((t for t in candidates if works(t)), None))
    return None if None in found else (found[0], found[1])


def too_few_rows_message(counts: dict[Label, int], n_rows: int, test_size: float, source: str) -> str:
    """Why a stratified split with ``test_size`` cannot keep every class in both parts, and what works: a
    test_size in range when there is one (every class short: the size is the cause, not a class), else fewer
    classes or more rows."""
    needed = rows_per_class_for_stratified_split(n_rows, test_size)
    short = [name for name, count in counts.items() if count < needed]
    name, count = min(counts.items(), key=lambda item: item[1])
    where = f"a stratified split with split.test_size={test_size} of {n_rows} rows needs at least {needed} per class"
    allowed = allowed_test_sizes(n_rows, count)
    if allowed is not None:
        lo, hi = allowed
        fix = f"the smallest split.test_size that works is {lo}" if test_size < lo else (
            f"the largest split.test_size that works is {hi}")  # fmt: skip
        fix += f" (any from {lo} to {hi})"
    else:
        rows = f"{count} row{'s' if count != 1 else ''}"
        fix = f"no split.test_size works with {rows} in a class: add rows or remove {name!r} from data.classes"
    if len(short) == len(counts):
        return f"{source}: every class is short ({where}; the smallest, {name!r}, has {count}); {fix}"
    named = f"class {name!r} has {count} row{'s' if count != 1 else ''}" + (
        f" ({len(short) - 1} more classes too few)" if len(short) > 1 else ""
    )
    return f"{source}: {named}, too few: {where} to have one in train and one in test; {fix}"


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
            raise PipelineError(too_few_rows_message(counts, len(encoded), params.test_size, source))
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


def split_checked(
    encoded: pd.DataFrame,
    params: SplitParams,
    *,
    features: Sequence[str],
    onehot_columns: Sequence[str],
    classes: Sequence[Label],
    test_source: str = str(Paths.TEST),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """split, then the duplicate check the split stage makes: a warning line when more than DUPLICATE_WARN_SHARE of
    the test rows (``test_source``) equal a training row in what the model sees (``features`` and the class, in
    float32), a PipelineError above DUPLICATE_REFUSE_SHARE."""
    train, test = split(encoded, params, onehot_columns, classes)
    seen = rows_seen_in_training(train, test, [*features, *onehot_columns])
    if note := duplicate_note(seen, len(test), test_source):
        warn(note)
    return train, test
