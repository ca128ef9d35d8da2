"""Keras: determinism, the lesson's model, training logged with DVCLive, reproducible save and safe load.

The only module that imports TensorFlow, most of a model stage's start (docs/benchmarks.md): stages that need no
model never import it. The environment
knobs that change TensorFlow's numbers (penguins.environment) are applied here, before TensorFlow is imported.
"""

from __future__ import annotations

import os

from penguins.environment import PINNED_ENV, TF_THREADS

os.environ.update(PINNED_ENV)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter (not numerics)

from pathlib import Path
from typing import Any

import numpy as np

from penguins.optional import no_garbage_collection, without

# Without the garbage collector (penguins.optional.no_garbage_collection), and without what Keras imports them for
# but is not used here: scikit-learn and SciPy for keras.wrappers, matplotlib for keras.visualization (a share of
# every start, docs/benchmarks.md; a picture stage imports matplotlib itself).
with no_garbage_collection(), without("sklearn", "scipy", "matplotlib"):
    import keras
    import tensorflow as tf
from dvclive import Live  # the type of open_live's logger
from dvclive.keras import DVCLiveCallback

from penguins.archive import archive_problem, normalise_keras_archive
from penguins.errors import PipelineError
from penguins.internals import pipeline_live
from penguins.io import atomic_path
from penguins.params import TrainParams
from penguins.paths import resolve
from penguins.progress import Progress

tf.config.threading.set_intra_op_parallelism_threads(TF_THREADS["intra_op"])
tf.config.threading.set_inter_op_parallelism_threads(TF_THREADS["inter_op"])

HISTORY_DIGITS = 6  # per-epoch figures in DVCLive's files: readable diffs, and no float noise in tracked text


def configure_determinism(seed: int, op_determinism: bool) -> None:
    """Seed Python, NumPy and TensorFlow; optionally make TF ops deterministic."""
    keras.utils.set_random_seed(seed)
    if op_determinism:
        tf.config.experimental.enable_op_determinism()


def build_model(
    n_features: int, n_classes: int, params: TrainParams, x_train: np.ndarray, steps_per_execution: int = 1
) -> keras.Model:
    """The lesson's functional-API network, optionally with a Normalization layer adapted on x_train."""
    inputs = keras.Input(shape=(n_features,), name="measurements")
    x = inputs
    if params.normalize:
        normalize = keras.layers.Normalization(name="normalize")
        normalize.adapt(x_train)
        x = normalize(x)
    for i, units in enumerate(params.hidden_units, start=1):
        x = keras.layers.Dense(units, activation=params.activation, name=f"hidden_{i}")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="penguin_classifier")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=params.learning_rate),
        loss=keras.losses.CategoricalCrossentropy(),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


class RoundedDVCLiveCallback(DVCLiveCallback):
    """DVCLive's Keras callback (train/loss, eval/accuracy, ... per epoch), with values rounded to HISTORY_DIGITS.

    Unrounded, the TSV files carry float32 noise as 17-digit text; rounded, they read and diff like the lesson's
    numbers and stay byte-identical run to run (DVCLive writes no timestamps unless asked)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_epoch_end(epoch, {name: round(float(v), HISTORY_DIGITS) for name, v in (logs or {}).items()})


def open_live(directory: Path) -> Live:
    """A DVCLive logger that writes only into ``directory``: dvc.yaml declares the metrics and plots itself
    (dvcyaml=False: DVCLive would otherwise rewrite dvc.yaml), and no experiment is saved by DVCLive
    (save_dvc_exp=False: `dvc exp run` does that; plain `dvc repro` must not)."""
    return pipeline_live()(str(resolve(directory)), dvcyaml=False, save_dvc_exp=False, report=None)


def fit(
    model: keras.Model, x: np.ndarray, y: np.ndarray, n_fit: int, params: TrainParams, live: Live
) -> dict[str, list[float]]:
    """Train on the first ``n_fit`` rows, validating on the rest (Keras' validation_split semantics); every
    epoch's loss and accuracy go to ``live`` (train/..., and eval/... when there are validation rows), and
    progress lines to stderr (Progress).

    The data are tf.data pipelines built once and cached; the training rows are reshuffled every epoch
    with a seeded shuffle. This avoids Keras re-slicing NumPy arrays every epoch (docs/benchmarks.md)
    and stays deterministic. Returns Keras' history: each epoch's loss, accuracy, val_loss, val_accuracy.
    """
    train = (
        tf.data.Dataset.from_tensor_slices((x[:n_fit], y[:n_fit]))
        .cache()
        .shuffle(n_fit, seed=params.seed, reshuffle_each_iteration=True)
        .batch(params.batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    validation = None
    if n_fit < len(x):
        validation = tf.data.Dataset.from_tensor_slices((x[n_fit:], y[n_fit:])).batch(params.batch_size).cache()
    history = model.fit(
        train,
        validation_data=validation,
        epochs=params.epochs,
        shuffle=False,  # shuffled above, with the seed
        verbose=0,
        callbacks=[
            RoundedDVCLiveCallback(live=live),
            keras.callbacks.LambdaCallback(**Progress(params.epochs).hooks()),
        ],
    )
    return history.history


def divergence(history: dict[str, list[float]], model: keras.Model) -> str | None:
    """Why a trained model must not be saved (a loss or a weight that is NaN or infinite), or None."""
    for name in ("loss", "val_loss"):
        for epoch, value in enumerate(history.get(name, []), start=1):
            if not np.isfinite(value):
                return f"{name} is {value} from epoch {epoch}"
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        return "the model's weights are not all finite"
    return None


# Prediction: Keras' predict() in steps of PREDICT_BATCH rows (far faster than its default of 32 on large inputs),
# handed PREDICT_CHUNK rows at a time, so that what Keras holds per call stays bounded. The chunk is a multiple of
# the batch, so the steps are the very ones one call on all rows would make: identical bits (tested). Another
# batch size can change the last bits of the probabilities (docs/benchmarks.md has the measurement).
PREDICT_BATCH = 1024
PREDICT_CHUNK = 64 * PREDICT_BATCH


def predict(model: keras.Model, x: np.ndarray, batch: int = PREDICT_BATCH, chunk: int = PREDICT_CHUNK) -> np.ndarray:
    """The model's outputs for every row of ``x``, predicted ``chunk`` rows at a time in steps of ``batch`` rows;
    bit for bit what one ``model.predict(x, batch_size=batch)`` returns."""
    if chunk % batch:
        raise ValueError(f"chunk ({chunk} rows) must be a multiple of batch ({batch} rows)")
    parts = [model.predict(x[start : start + chunk], batch_size=batch, verbose=0) for start in range(0, len(x), chunk)]
    return np.concatenate(parts) if parts else np.zeros((0, model.output_shape[-1]), dtype="float32")


def trainable_parameter_count(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def save_model(model: keras.Model, path: Path) -> None:
    """Save atomically as .keras with identical bytes for identical weights."""
    with atomic_path(path, suffix=".keras") as final:
        raw = final.with_name(f"{final.stem}.unnormalised.keras")
        try:
            model.save(raw)
            normalise_keras_archive(raw, final)
        finally:
            raw.unlink(missing_ok=True)


def load_model(path: Path) -> keras.Model:
    """keras.saving.load_model in safe mode, with a one-line error for a missing, foreign or unsafe file."""
    full = resolve(path)
    if not full.is_file():
        raise PipelineError(f"{path}: model file not found; run `dvc repro train` or pass another --model")
    damage = archive_problem(full)
    if damage:  # Keras says "File not found" for these, which sends people looking for the wrong problem
        raise PipelineError(
            f"{path}: cannot load as a Keras model ({damage}); make it again (`dvc repro train`, or "
            "`dvc checkout` to restore the committed one) or pass another --model"
        )
    try:
        return keras.saving.load_model(full, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises many types for a foreign/corrupt file; all mean "not usable"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "safe_mode" in reason:  # e.g. a Lambda layer: loading it would run Python code stored in the file
            raise PipelineError(
                f"{path}: refused by Keras safe mode, the model carries Python code that would run on loading "
                f"({reason.split('. ')[0]}); only models built from standard Keras layers are loaded"
            ) from None
        raise PipelineError(f"{path}: cannot load as a Keras model ({reason[:300]})") from None
