"""evaluate: reload the saved model (as the lesson does), predict the test set and score it.

Input:  models/model.keras, models/model.json, data/split/test.csv
Output: metrics/metrics.json        accuracy, loss, f1_macro, n_test and per-class precision/recall/f1/support
        plots/confusion.csv         one row per test sample: actual,predicted (DVC's `confusion` template)
        data/predictions/test.csv   each test row's features, actual, predicted and one prob_<class> per class
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

if __package__ in (None, ""):  # run as `python stages/evaluate.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stages.common import Paths, load_params, read_card, read_csv, run_cli, stage_parser, target_columns, write_csv, write_json

DIGITS = 6  # metrics are rounded so that `dvc metrics diff` reads well


def prediction_table(features: pd.DataFrame, probabilities: np.ndarray, classes: Sequence[str]) -> pd.DataFrame:
    """Features, predicted class name and one probability column per class."""
    table = features.reset_index(drop=True).copy()
    table["predicted"] = np.asarray(classes)[probabilities.argmax(axis=1)]
    for i, name in enumerate(classes):
        table[f"prob_{name}"] = probabilities[:, i].astype("float64")
    return table


def score(actual: Sequence[str], probabilities: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, categorical cross-entropy, macro F1 and per-class precision/recall/F1/support."""
    from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_recall_fscore_support

    labels = list(classes)
    actual_idx = np.array([labels.index(a) for a in actual])
    predicted_idx = probabilities.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        actual_idx, predicted_idx, labels=range(len(labels)), zero_division=0
    )
    r = lambda v: round(float(v), DIGITS)  # noqa: E731
    return {
        "accuracy": r(accuracy_score(actual_idx, predicted_idx)),
        "loss": r(log_loss(actual_idx, np.clip(probabilities, 1e-7, 1.0), labels=range(len(labels)))),
        "f1_macro": r(f1_score(actual_idx, predicted_idx, labels=range(len(labels)), average="macro", zero_division=0)),
        "n_test": len(actual_idx),
        "per_class": {
            name: {"precision": r(precision[i]), "recall": r(recall[i]), "f1": r(f1[i]), "support": int(support[i])}
            for i, name in enumerate(labels)
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    load_params()  # fail on a bad params.yaml before loading TensorFlow
    card = read_card(Paths.MODEL_CARD, Paths.MODEL)
    features, classes = list(card.features), list(card.classes)
    onehot = target_columns(classes, card.target)
    test = read_csv(Paths.TEST, required=[*features, *onehot])

    from stages import modeling

    model = modeling.load_model(Paths.MODEL)
    probabilities = model.predict(test[features].to_numpy("float32"), verbose=0)
    actual = np.asarray(classes)[test[onehot].to_numpy().argmax(axis=1)]

    predictions = prediction_table(test[features], probabilities, classes)
    predictions.insert(len(features), "actual", actual)
    write_json(Paths.METRICS, score(actual, probabilities, classes))
    write_csv(Paths.CONFUSION, predictions[["actual", "predicted"]])
    write_csv(Paths.PREDICTIONS, predictions)


if __name__ == "__main__":
    run_cli(main)
