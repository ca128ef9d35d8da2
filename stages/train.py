"""train: fit the lesson's Keras network on the training split and save it.

Input:  data/split/train.csv, data/encoded/classes.json
Output: models/model.keras  (loadable with keras.saving.load_model; byte-identical for identical params)
        models/model.json   (features and class order the model expects: what predict needs)
        plots/history.csv   (per epoch: loss, accuracy, val_loss, val_accuracy)
        metrics/train.json  (trainable_params and the last epoch's figures)
        metrics/environment.json  (Python, TensorFlow, Keras, NumPy versions, CPU, pinned knobs)
Params: data.features and every train.* key (see README, "Params")
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

if __package__ in (None, ""):  # run as `python stages/train.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stages.common import (
    ModelCard, Paths, PipelineError, TrainParams, load_params, read_csv, read_json, run_cli, stage_parser, write_csv, write_json,
)  # fmt: skip

HISTORY_COLUMNS = ("loss", "accuracy", "val_loss", "val_accuracy")


def rows_to_fit(n_rows: int, params: TrainParams, source: str = str(Paths.TRAIN)) -> int:
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


def history_frame(history: Mapping[str, Sequence[float]]) -> pd.DataFrame:
    """Keras' History.history as a table with an `epoch` column (1-based), rounded for readable diffs."""
    columns = {name: [round(float(v), 6) for v in history[name]] for name in HISTORY_COLUMNS if name in history}
    n_epochs = len(next(iter(columns.values())))
    return pd.DataFrame({"epoch": range(1, n_epochs + 1), **columns})


def train_summary(history: pd.DataFrame, trainable_params: int) -> dict[str, Any]:
    """metrics/train.json: the parameter count and the last epoch's figures."""
    last = history.iloc[-1]
    return {
        "trainable_params": trainable_params,
        "epochs": int(last["epoch"]),
        **{f"final_{name}": float(last[name]) for name in HISTORY_COLUMNS if name in history},
    }


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    params = load_params()
    record = read_json(Paths.CLASSES)
    features, targets = list(params.data.features), record["columns"]
    frame = read_csv(Paths.TRAIN, required=[*features, *targets])
    n_fit = rows_to_fit(len(frame), params.train)
    x = frame[features].to_numpy("float32")
    y = frame[targets].to_numpy("float32")

    from stages import modeling  # TensorFlow: imported only once inputs are known to be good

    modeling.configure_determinism(params.train.seed, params.train.op_determinism)
    steps_per_epoch = math.ceil(n_fit / params.train.batch_size)  # one graph call per epoch
    model = modeling.build_model(x.shape[1], y.shape[1], params.train, x[:n_fit], steps_per_epoch)
    history = history_frame(modeling.fit(model, x, y, n_fit, params.train))
    modeling.save_model(model, Paths.MODEL)
    card = ModelCard(features=tuple(features), target=record["target"], classes=tuple(record["classes"]))
    write_json(Paths.MODEL_CARD, card.as_json())
    write_csv(Paths.HISTORY, history)
    write_json(Paths.TRAIN_METRICS, train_summary(history, modeling.trainable_parameter_count(model)))
    write_json(Paths.ENVIRONMENT, modeling.environment_record(params.train.op_determinism))


if __name__ == "__main__":
    run_cli(main)
