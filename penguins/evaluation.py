"""Scores and the prediction table of a model's output probabilities (pure functions, no TensorFlow).

Probabilities and metrics are rounded to DIGITS decimals in the files the pipeline writes: the same model
computes probabilities that differ in the 8th decimal on another CPU (other SIMD kernels sum in another
order), and full-precision text would make dvc.lock differ there although nothing that matters did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from penguins.params import Label

DIGITS = 6  # metrics: 6 decimals read well in `dvc metrics diff`
PROBABILITY_DIGITS = 4  # per-row probabilities in data/predictions/test.csv


def prediction_table(
    features: pd.DataFrame, probabilities: np.ndarray, classes: Sequence[str], digits: int | None = None
) -> pd.DataFrame:
    """Features, predicted class name and one probability column per class (rounded to ``digits`` if given)."""
    table = features.reset_index(drop=True).copy()
    table["predicted"] = np.asarray(classes, dtype=object)[probabilities.argmax(axis=1)]  # labels as they are
    for i, name in enumerate(classes):
        column = probabilities[:, i].astype("float64")
        table[f"prob_{name}"] = column if digits is None else column.round(digits)
    return table


def actual_labels(onehot: np.ndarray, classes: Sequence[Label]) -> np.ndarray:
    """Each row's class from its one-hot columns, as the label itself (dtype object: NumPy would turn integer
    labels mixed with text into text, which score then cannot find among the classes)."""
    return np.asarray(classes, dtype=object)[onehot.argmax(axis=1)]


def confusion_counts(actual: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> pd.DataFrame:
    """The confusion matrix as rows actual, predicted, count: every pair of classes in class order, zeros included.

    Its size depends on the number of classes only, not on the test set's: what git tracks (plots/confusion.csv),
    while the per-sample pairs stay in data/predictions/test.csv (DVC's cache)."""
    labels = list(classes)
    index = pd.MultiIndex.from_product([labels, labels], names=["actual", "predicted"])
    pairs = pd.DataFrame({"actual": list(actual), "predicted": list(predicted)})
    counts = pairs.value_counts().reindex(index, fill_value=0)
    return counts.rename("count").astype("int64").reset_index()


def score(actual: Sequence[str], probabilities: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, categorical cross-entropy, macro F1 and per-class precision/recall/F1/support."""
    # Imported here: predict uses prediction_table and should not pay for scikit-learn's metrics.
    from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_recall_fscore_support

    labels = list(classes)
    actual_idx = np.array([labels.index(a) for a in actual])
    predicted_idx = probabilities.argmax(axis=1)
    everything = range(len(labels))
    precision, recall, f1, support = precision_recall_fscore_support(
        actual_idx, predicted_idx, labels=everything, zero_division=0
    )

    def rounded(value: float) -> float:
        return round(float(value), DIGITS)

    return {
        "accuracy": rounded(accuracy_score(actual_idx, predicted_idx)),
        "loss": rounded(log_loss(actual_idx, np.clip(probabilities, 1e-7, 1.0), labels=everything)),
        "f1_macro": rounded(f1_score(actual_idx, predicted_idx, labels=everything, average="macro", zero_division=0)),
        "n_test": len(actual_idx),
        "per_class": {  # keyed by the label's text: JSON keys are text, and coded labels (1, 2) may mix with names
            str(name): {
                "precision": rounded(precision[i]),
                "recall": rounded(recall[i]),
                "f1": rounded(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(labels)
        },
    }
