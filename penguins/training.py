"""What train checks before it imports TensorFlow: how the training rows divide into fitting and validation,
whether every class has rows on each side, and whether each feature can be learnt from (it varies over the
fitted rows, and Normalization can compute its variance in float32); and train_model, the stage's whole
training (checks, seeds, build, fit, divergence) that the stage and the lesson notebook both call."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from penguins.errors import PipelineError, warn
from penguins.params import Params, TrainParams
from penguins.tables import check_finite, duplicate_note, rows_seen


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


FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_features_vary(x_fit: np.ndarray, features: Sequence[str], source: str) -> None:
    """A feature with one value in every fitted row (``x_fit``, float32 as the model sees it) carries nothing, and
    Normalization would divide it by ~0: any other value in predict would then give a confident, baseless answer."""
    for i, feature in enumerate(features):
        column = x_fit[:, i]
        if len(column) and column.min() == column.max():
            raise PipelineError(
                f"{source}: feature {feature!r} is {float(column[0]):g} in every one of the {len(column)} fitted rows, "
                f"so the model can learn nothing from it; remove {feature!r} from data.features or fix the data"
            )


def check_variance_fits(x_fit: np.ndarray, features: Sequence[str], params: TrainParams, source: str) -> None:
    """With train.normalize, the Normalization layer squares each value's distance from its feature's mean in
    float32: beyond 3.4e38 (values around 1e19 apart and more) the variance overflows and training diverges."""
    if not params.normalize:
        return
    values = x_fit.astype("float64")
    spread = np.abs(values - values.mean(axis=0)).max(axis=0, initial=0.0)
    sizes = np.abs(values).max(axis=0, initial=0.0)
    for feature, distance, largest in zip(features, spread, sizes, strict=True):
        # the squares of the distances, and (conservatively) the sum the mean is computed from
        if distance * distance > FLOAT32_MAX or largest * len(values) > FLOAT32_MAX:
            raise PipelineError(
                f"{source}: feature {feature!r} has values up to {largest:.3g} in size: their variance overflows "
                f"float32 in the Normalization layer (train.normalize: true); rescale {feature!r} (other units) "
                "or fix the data"
            )


def divergence_hint(x_fit: np.ndarray, features: Sequence[str], params: TrainParams, source: str) -> str:
    """What to try when training diverged: the advice that applies to these params, and the feature with the
    largest values."""
    steps = ["lower train.learning_rate"] + ([] if params.normalize else ["set train.normalize: true"])
    values = np.abs(x_fit.astype("float64"))
    empty = np.isnan(values).any(axis=0)
    if empty.any():  # a NaN reaches the loss whatever the rate: name it first
        steps = [f"check the values in {source} ({features[int(empty.argmax())]!r} has an empty or NaN cell)"]
    elif len(features) and len(values):
        sizes = values.max(axis=0)
        i = int(sizes.argmax())
        steps.append(f"check the values in {source} (the largest: {features[i]!r}, up to {sizes[i]:.3g})")
    return ", ".join(steps[:-1]) + (" or " if len(steps) > 1 else "") + steps[-1]


def validation_duplicates(x: np.ndarray, y: np.ndarray, n_fit: int, source: str) -> str | None:
    """The warning for validation rows (after the first ``n_fit``) equal to a fitted row, features and class, in
    float32 (None below tables.DUPLICATE_WARN_SHARE); a PipelineError above DUPLICATE_REFUSE_SHARE."""
    rows = np.hstack([x, y])
    return duplicate_note(rows_seen(rows[:n_fit], rows[n_fit:]), len(rows) - n_fit, source, part="validation")


@dataclass(frozen=True)
class Trained:
    """What train_model made: the Keras model, how many leading rows it was fitted on, and its per-epoch history."""

    model: Any  # keras.Model (TensorFlow is imported only after the checks)
    n_fit: int
    history: dict[str, list[float]]


def train_model(
    frame: pd.DataFrame, targets: Sequence[str], classes: Sequence[str], params: Params, source: str, live_dir: Path
) -> Trained:
    """Check ``frame`` (the training split), then seed, build and fit the lesson's network on it, DVCLive logging
    every epoch into ``live_dir``; a PipelineError when an input check fails or training diverges (no model)."""
    features = list(params.data.features)
    n_fit = rows_to_fit(len(frame), params.train, source)
    for feature in features:  # float32, as the model computes: a 1e308 there is inf
        check_finite(frame[feature], source, hint="re-run clean (dvc repro)")
    x = frame[features].to_numpy("float32")
    y = frame[list(targets)].to_numpy("float32")
    check_rows_of_every_class(y, n_fit, classes, params.train, source)
    check_features_vary(x[:n_fit], features, source)
    check_variance_fits(x[:n_fit], features, params.train, source)
    if note := validation_duplicates(x, y, n_fit, source):  # they pick a sweep's best experiment
        warn(note)

    from penguins import modeling  # TensorFlow: imported only once the inputs are known to be good

    modeling.configure_determinism(params.train.seed, params.train.op_determinism)
    steps_per_epoch = math.ceil(n_fit / params.train.batch_size)  # one graph call per epoch
    model = modeling.build_model(x.shape[1], y.shape[1], params.train, x[:n_fit], steps_per_epoch)
    with modeling.open_live(live_dir) as live:
        live.log_metric("trainable_params", modeling.trainable_parameter_count(model), plot=False)
        history = modeling.fit(model, x, y, n_fit, params.train, live)
    diverged = modeling.divergence(history, model)
    if diverged:  # whatever the cause, a NaN model would predict one class for everything
        hint = divergence_hint(x[:n_fit], features, params.train, source)
        raise PipelineError(f"training diverged ({diverged}), no model saved; {hint}")
    return Trained(model, n_fit, history)
