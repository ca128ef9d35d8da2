"""Keras: determinism, the lesson's model, training logged with DVCLive, reproducible save and safe load.

The only module that imports TensorFlow (~4 s): stages that need no model never import it. The environment
knobs that change TensorFlow's numbers (penguins.environment) are applied here, before TensorFlow is imported.
"""

from __future__ import annotations

import os

from penguins.environment import PINNED_ENV, TF_THREADS

os.environ.update(PINNED_ENV)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter (not numerics)

import json
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from penguins.optional import no_garbage_collection, without

# Without the garbage collector (penguins.optional.no_garbage_collection), and without what Keras imports them for
# but is not used here: scikit-learn and SciPy for keras.wrappers, matplotlib for keras.visualization (~0.8 s and
# ~0.3 s of every start; a picture stage imports matplotlib itself).
with no_garbage_collection(), without("sklearn", "scipy", "matplotlib"):
    import keras
    import tensorflow as tf
from dvclive import Live
from dvclive.keras import DVCLiveCallback

from penguins.errors import PipelineError
from penguins.io import atomic_path
from penguins.params import TrainParams
from penguins.paths import resolve

tf.config.threading.set_intra_op_parallelism_threads(TF_THREADS["intra_op"])
tf.config.threading.set_inter_op_parallelism_threads(TF_THREADS["inter_op"])

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # earliest time a zip entry can carry
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


def duration(seconds: float) -> str:
    """12.3 s, 4 min 05 s, 2 h 03 min: for people reading progress lines."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min {int(seconds % 60):02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


class Progress:
    """Training progress on stderr (`train: epoch 30/100, 0.6 s elapsed, about 1.4 s left`), for `dvc repro` and
    `dvc queue logs`: a long run is visibly alive, and how long it will take is known early.

    A line every tenth of the epochs (10 lines for any run of 10 epochs or more, one per epoch below that), and
    one at least every ``every_s`` seconds when epochs are slow, so a long run never looks stuck. stderr is not
    a pipeline output: nothing DVC hashes changes."""

    def __init__(
        self,
        epochs: int,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        every_s: float = 30.0,
        parts: int = 10,
    ) -> None:
        self.epochs, self.stream, self.clock, self.every_s, self.parts = epochs, stream, clock, every_s, parts
        self.start()

    def start(self) -> None:
        self.started = self.last_time = self.clock()
        self.last_part = 0

    def line(self, epoch: int) -> str | None:
        """The line to print after ``epoch`` (1-based) is done, or None when it is not due."""
        now = self.clock()
        part = epoch * self.parts // self.epochs
        if part == self.last_part and now - self.last_time < self.every_s and epoch < self.epochs:
            return None
        self.last_part, self.last_time = part, now
        elapsed = now - self.started
        left = "done" if epoch >= self.epochs else f"about {duration(elapsed / epoch * (self.epochs - epoch))} left"
        return f"train: epoch {epoch}/{self.epochs}, {duration(elapsed)} elapsed, {left}"

    def epoch_done(self, epoch: int) -> None:
        text = self.line(epoch)
        if text is not None:
            stream = self.stream or sys.stderr
            print(text, file=stream, flush=True)


class ProgressCallback(keras.callbacks.Callback):
    """Reports Progress after each epoch (epoch hooks only: Keras' graph calls are unchanged)."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.progress.start()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.progress.epoch_done(epoch + 1)


class PipelineLive(Live):
    """DVCLive's Live, minus opening DVC's repository when DVC runs the stage (DVC_ROOT set): ~0.25 CPU s of train,
    most of it importing dvc.repo, for what this logger never does there (save an experiment, write dvc.yaml, track
    its directory in git: dvc.yaml declares it an output). Run by hand, it is DVCLive's own. Under DVC, Studio's
    live updates, unused here, then come from DVC_STUDIO_* environment variables only.

    DVCLive's one internal in the project: Live._init_dvc, _init_dvc_pipeline and _init_dvc_file, checked against
    dvclive 3.49.1; tests/unit/test_model_stages.py (test_pipeline_live_*) fails naming them if an upgrade changes
    them."""

    def _init_dvc(self) -> None:
        if not os.environ.get("DVC_ROOT"):
            super()._init_dvc()
            return
        self._inside_dvc_pipeline = True
        self._init_dvc_pipeline()  # what DVCLive itself does first under DVC: dvc exp run or dvc repro, no saving
        self._dvc_file = self._init_dvc_file()  # and last: Live.dvc_file as it would be


def open_live(directory: Path) -> Live:
    """A DVCLive logger that writes only into ``directory``: dvc.yaml declares the metrics and plots itself
    (dvcyaml=False: DVCLive would otherwise rewrite dvc.yaml), and no experiment is saved by DVCLive
    (save_dvc_exp=False: `dvc exp run` does that; plain `dvc repro` must not)."""
    return PipelineLive(str(resolve(directory)), dvcyaml=False, save_dvc_exp=False, report=None)


def fit(
    model: keras.Model, x: np.ndarray, y: np.ndarray, n_fit: int, params: TrainParams, live: Live
) -> dict[str, list[float]]:
    """Train on the first ``n_fit`` rows, validating on the rest (Keras' validation_split semantics); every
    epoch's loss and accuracy go to ``live`` (train/..., and eval/... when there are validation rows), and
    progress lines to stderr (Progress).

    The data are tf.data pipelines built once and cached; the training rows are reshuffled every epoch
    with a seeded shuffle. This avoids Keras re-slicing NumPy arrays every epoch (3-4x faster here)
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
        callbacks=[RoundedDVCLiveCallback(live=live), ProgressCallback(Progress(params.epochs))],
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


def renumber_shared_objects(config: Any, ids: dict[int, int] | None = None) -> Any:
    """Replace Keras' ``shared_object_id`` values (Python id()s, i.e. memory addresses) by 1, 2, ...
    in order of first appearance; objects that shared an id still share one."""
    ids = {} if ids is None else ids
    if isinstance(config, dict):
        return {
            key: ids.setdefault(value, len(ids) + 1)
            if key == "shared_object_id"
            else renumber_shared_objects(value, ids)
            for key, value in config.items()
        }
    if isinstance(config, list):
        return [renumber_shared_objects(item, ids) for item in config]
    return config


def normalise_keras_archive(src: Path, dst: Path) -> None:
    """Copy a .keras zip without what changes from save to save of the same model:
    metadata.json's date_saved, memory addresses in config.json and zip entry timestamps."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "metadata.json":
                metadata = json.loads(data)
                metadata.pop("date_saved", None)
                data = json.dumps(metadata, sort_keys=True).encode()
            elif info.filename == "config.json":
                data = json.dumps(renumber_shared_objects(json.loads(data))).encode()
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            entry.compress_type = info.compress_type
            entry.external_attr = 0o644 << 16
            zout.writestr(entry, data)


def save_model(model: keras.Model, path: Path) -> None:
    """Save atomically as .keras with identical bytes for identical weights."""
    with atomic_path(path, suffix=".keras") as final:
        raw = final.with_name(f"{final.stem}.unnormalised.keras")
        try:
            model.save(raw)
            normalise_keras_archive(raw, final)
        finally:
            raw.unlink(missing_ok=True)


# What a model file may unpack to, read from its zip directory before anything is inflated: a .keras file has
# three members (metadata.json, config.json, model.weights.h5); this project's model unpacks to ~30 KB. A zip
# bomb (a 1.5 MB file whose config.json inflates to 1.5 GB) is refused before it costs memory or minutes.
ARCHIVE_MAX_MEMBERS = 64
ARCHIVE_MAX_JSON = 64 * 2**20  # config.json and metadata.json are read into memory whole
# All members together: the largest network params.yaml allows (8 layers of 1024 units, Adam's state saved with
# it) is about 100 MB.
ARCHIVE_MAX_TOTAL = 512 * 2**20


def archive_bound_problem(members: list[zipfile.ZipInfo]) -> str | None:
    """Why a zip directory describes more than a model may unpack to (ARCHIVE_MAX_*), or None."""
    if len(members) > ARCHIVE_MAX_MEMBERS:
        return f"{len(members)} members in the zip, a .keras model has a few (at most {ARCHIVE_MAX_MEMBERS} accepted)"
    for info in members:
        if info.filename.endswith(".json") and info.file_size > ARCHIVE_MAX_JSON:
            return (
                f"{info.filename} unpacks to {info.file_size / 2**20:.0f} MiB "
                f"(at most {ARCHIVE_MAX_JSON // 2**20} MiB accepted): a zip bomb, not a model"
            )
    total = sum(info.file_size for info in members)
    if total > ARCHIVE_MAX_TOTAL:
        return (
            f"its members unpack to {total / 2**20:.0f} MiB (at most {ARCHIVE_MAX_TOTAL // 2**20} MiB accepted): "
            "a zip bomb, not a model of this project"
        )
    return None


def archive_problem(path: Path) -> str | None:
    """Why a file cannot be a .keras archive (a zip), or None: truncated (no zip directory at its end), more than a
    model unpacks to (archive_bound_problem, from the directory alone), damaged (a member fails its CRC)."""
    if not zipfile.is_zipfile(path):
        return f"not a complete .keras zip archive: truncated or not a model, {path.stat().st_size} bytes"
    try:
        with zipfile.ZipFile(path) as archive:
            too_large = archive_bound_problem(archive.infolist())
            if too_large:
                return too_large
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return f"a damaged .keras zip archive: {exc}"
    return f"a damaged .keras zip archive: {bad} fails its checksum" if bad else None


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
