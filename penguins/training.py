"""What train checks before it imports TensorFlow: how the training rows divide into fitting and validation."""

from __future__ import annotations

import math

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
