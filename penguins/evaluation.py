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

from penguins.metric_names import ACCURACY, F1_MACRO, LOSS
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


# plots/confusion.csv is tracked by git: every pair of classes, zeros included, up to this many classes (2,500
# rows); above, only the pairs that occur (1,000 classes would be 14 MB of zeros), and at most CONFUSION_MAX_PAIRS
# of them, those with the largest counts (about 300 kB).
CONFUSION_ALL_PAIRS_MAX_CLASSES = 50
CONFUSION_MAX_PAIRS = 10_000


def confusion_counts(
    actual: Sequence[str],
    predicted: Sequence[str],
    classes: Sequence[str],
    all_pairs_max: int = CONFUSION_ALL_PAIRS_MAX_CLASSES,
    max_pairs: int = CONFUSION_MAX_PAIRS,
) -> pd.DataFrame:
    """The confusion matrix as rows actual, predicted, count, in class order: every pair of classes, zeros
    included, up to ``all_pairs_max`` classes; above, only the pairs that occur, at most ``max_pairs`` of them (the
    largest counts; ties: the first pairs in class order), which confusion_note says.

    Its size depends on the number of classes (and above the bound, on the test rows too), not on the test set's:
    what git tracks (plots/confusion.csv), while the per-sample pairs stay in data/predictions/test.csv."""
    labels = list(classes)
    pairs = pd.DataFrame({"actual": list(actual), "predicted": list(predicted)})
    counts = pairs.value_counts()
    if len(labels) <= all_pairs_max:
        index = pd.MultiIndex.from_product([labels, labels], names=["actual", "predicted"])
        counts = counts.reindex(index, fill_value=0)
    else:
        position = {label: i for i, label in enumerate(labels)}
        in_order = sorted(counts.index, key=lambda pair: (position[pair[0]], position[pair[1]]))
        counts = counts.reindex(in_order)
        if len(counts) > max_pairs:
            kept = set(counts.sort_values(ascending=False, kind="stable").index[:max_pairs])
            counts = counts[[pair in kept for pair in counts.index]]
    return counts.rename("count").astype("int64").reset_index()


def confusion_note(
    n_classes: int, listed: pd.DataFrame, n_test: int, all_pairs_max: int = CONFUSION_ALL_PAIRS_MAX_CLASSES
) -> str | None:
    """The line evaluate prints when plots/confusion.csv (``listed``, of ``n_test`` test rows) leaves pairs out,
    else None."""
    if n_classes <= all_pairs_max:
        return None
    left_out = n_test - int(listed["count"].sum())
    text = (
        f"{n_classes} classes, more than {all_pairs_max}: the confusion matrix lists the {len(listed):,} pairs "
        f"of classes that occur, not all {n_classes * n_classes:,} (a pair not listed counts 0)"
    )
    if left_out:
        text += f"; at most {CONFUSION_MAX_PAIRS:,}, the largest: {left_out:,} test rows are in pairs left out"
    return text


def score(actual: Sequence[str], probabilities: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, categorical cross-entropy, macro F1 and per-class precision/recall/F1/support.

    scikit-learn's definitions (accuracy_score, log_loss, f1_score and precision_recall_fscore_support with
    zero_division=0), computed with its very NumPy operations: its import is ~0.7 s of evaluate's ~3 s, for
    twenty lines of arithmetic. tests/unit/test_model_stages.py (test_score_is_scikit_learns_bit_for_bit) checks
    them equal to scikit-learn's, bit for bit. What evaluate hands it, as scikit-learn required: at least one row,
    two classes or more, finite probabilities, one column per class (refused earlier, each with its own line)."""
    labels = list(classes)
    actual_idx = np.array([labels.index(a) for a in actual], dtype=np.int64)
    predicted_idx = probabilities.argmax(axis=1)
    n_classes = len(labels)
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)  # [actual, predicted]
    np.add.at(counts, (actual_idx, predicted_idx), 1)
    true_positives, support, predicted = np.diag(counts), counts.sum(axis=1), counts.sum(axis=0)

    def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:  # zero_division=0
        return np.where(denominator == 0, 0.0, numerator / np.where(denominator == 0, 1, denominator))

    precision, recall = ratio(true_positives, predicted), ratio(true_positives, support)
    f1 = ratio(2.0 * true_positives, (support + predicted).astype(np.float64))
    # log_loss: clipped to [eps, 1 - eps] in the probabilities' own dtype, -sum(y * log(p)) per row, then the mean
    clipped = np.clip(probabilities, 1e-7, 1.0)
    eps = np.finfo(clipped.dtype).eps
    clipped = np.clip(clipped, eps, 1 - eps)
    onehot = np.eye(n_classes, dtype=clipped.dtype)[actual_idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        row_loss = -np.sum(np.where(onehot == 0.0, np.asarray(0.0, dtype=clipped.dtype), onehot * np.log(clipped)), 1)

    def rounded(value: float) -> float:
        return round(float(value), DIGITS)

    return {
        ACCURACY: rounded(np.mean(actual_idx == predicted_idx)),
        LOSS: rounded(np.mean(row_loss)),
        F1_MACRO: rounded(np.mean(f1)),
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
