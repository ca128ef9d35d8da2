"""What train checks before it imports TensorFlow: how the training rows divide into fitting and validation, and
whether every class has rows on each side."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from penguins.errors import PipelineError
from penguins.params import TrainParams


def rows_to_fit(n_rows: int, params: TrainParams, source: str) -> int:
    """How many leading rows are fitted on; the rest (train.validation_split of them) validate.

    Needs at least one row on each side (on the fitting side only, when validation_split is 0).
    """
    n_val = math.floor(n_rows * params.validation_split)
    if n_rows - n_val < 1 or (params.validation_split > 0 and n_val < 1):
        raise PipelineError(
            f"{source}: {n_rows} rows cannot be divided with train.validation_split={params.validation_split}; "
            "use a value that leaves at least one row on each side (or 0 for no validation)"
        )
    return n_rows - n_val


def check_rows_of_every_class(
    y: np.ndarray, n_fit: int, classes: Sequence[str], params: TrainParams, source: str
) -> None:
    """Every class needs rows to fit on and, with validation, validation rows (the last rows of ``y``, one-hot
    in ``classes`` order, as Keras' validation_split takes them: not stratified); otherwise the model has an
    output it never learnt, or eval.accuracy silently leaves the class out."""
    fit_counts, val_counts = y[:n_fit].sum(axis=0).astype(int), y[n_fit:].sum(axis=0).astype(int)
    n_val = len(y) - n_fit
    for name, fitted, validating in zip(classes, fit_counts, val_counts, strict=True):
        where = f"the last {n_val} of {len(y)}, train.validation_split={params.validation_split}"
        if fitted + validating == 0:
            raise PipelineError(f"{source}: class {name!r} has no rows; re-run split (dvc repro)")
        if fitted == 0:
            raise PipelineError(
                f"{source}: class {name!r} has no rows to fit on: all {validating} of its rows are among the "
                f"validation rows ({where}); lower train.validation_split or add rows of {name!r}"
            )
        if n_val and validating == 0:
            raise PipelineError(
                f"{source}: class {name!r} has no validation rows ({where}; its {fitted} rows are all fitted on), "
                f"so eval.accuracy would leave it out; raise train.validation_split, add rows of {name!r}, "
                "or set train.validation_split: 0 for no validation"
            )
