"""penguins/evaluation.py: the scores evaluate writes (scikit-learn's, bit for bit, without importing it) and the
prediction table, with labels kept as params.yaml gives them (integers, text, or both in one model's metrics)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from penguins.evaluation import PROBABILITY_DIGITS, actual_labels, prediction_table, score

CLASSES = ["Adelie", "Chinstrap", "Gentoo"]
PROBABILITIES = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]], dtype="float32")


def test_score() -> None:
    metrics = score(["Adelie", "Chinstrap", "Gentoo"], PROBABILITIES, CLASSES)
    assert metrics["accuracy"] == round(2 / 3, 6)
    assert metrics["n_test"] == 3
    assert metrics["per_class"]["Gentoo"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert metrics["per_class"]["Adelie"] == {"precision": 0.5, "recall": 1.0, "f1": round(2 / 3, 6), "support": 1}
    assert metrics["loss"] == round(float(-(np.log(0.8) + np.log(0.7) + np.log(0.1)) / 3), 6)


def sklearn_score(actual: list[Any], probabilities: np.ndarray, classes: list[Any]) -> dict[str, Any]:
    """What evaluate computed with scikit-learn before (its import cost ~0.7 s of evaluate): the oracle, unrounded."""
    from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_recall_fscore_support

    idx, pred, every = np.array([classes.index(a) for a in actual]), probabilities.argmax(axis=1), range(len(classes))
    precision, recall, f1, support = precision_recall_fscore_support(idx, pred, labels=every, zero_division=0)
    return {
        "accuracy": float(accuracy_score(idx, pred)),
        "loss": float(log_loss(idx, np.clip(probabilities, 1e-7, 1.0), labels=every)),
        "f1_macro": float(f1_score(idx, pred, labels=every, average="macro", zero_division=0)),
        "n_test": len(idx),
        "per_class": {
            str(name): {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                        "support": int(support[i])}
            for i, name in enumerate(classes)
        },
    }  # fmt: skip


@pytest.mark.parametrize("seed", range(40))
def test_score_is_scikit_learns_bit_for_bit(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """score() computes scikit-learn's metrics with its NumPy operations: equal to the last bit (unrounded), on
    random softmax outputs of 2-6 classes, with classes missing from the actual or the predicted labels, and
    probabilities that are 0 or 1 (clipped)."""
    import penguins.evaluation

    rng = np.random.default_rng(seed)
    n_classes, rows = int(rng.integers(2, 7)), int(rng.integers(1, 300))
    logits = rng.normal(scale=float(rng.choice([0.5, 5.0, 80.0])), size=(rows, n_classes))
    probabilities = (np.exp(logits - logits.max(axis=1, keepdims=True))).astype("float32")
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    classes = [f"c{i}" for i in range(n_classes)]
    present = rng.choice(n_classes, size=max(1, n_classes - int(rng.integers(0, 2))), replace=False)
    actual = [classes[i] for i in rng.choice(present, size=rows)]
    monkeypatch.setattr(penguins.evaluation, "round", lambda value, _digits: value, raising=False)  # unrounded
    assert score(actual, probabilities, classes) == sklearn_score(actual, probabilities, classes)


def test_prediction_table_full_precision_or_rounded() -> None:
    features = pd.DataFrame({"x": [1, 2, 3]}, index=[7, 8, 9])
    table = prediction_table(features, PROBABILITIES, CLASSES)
    assert list(table.columns) == ["x", "predicted", "prob_Adelie", "prob_Chinstrap", "prob_Gentoo"]
    assert table.index.tolist() == [0, 1, 2]
    assert table["predicted"].tolist() == ["Adelie", "Chinstrap", "Adelie"]
    assert table["prob_Chinstrap"].tolist() == [float(np.float32(v)) for v in (0.1, 0.7, 0.3)]  # float32's digits
    rounded = prediction_table(features, PROBABILITIES, CLASSES, digits=PROBABILITY_DIGITS)
    assert rounded["prob_Chinstrap"].tolist() == [0.1, 0.7, 0.3]
    assert (
        prediction_table(features, np.array([[0.123456, 0.3, 0.576544]] * 3), CLASSES, digits=2)["prob_Adelie"].tolist()
        == [0.12] * 3
    )


# ---- labels as given: integers, and integers beside text -------------------------------------------


def test_evaluate_keeps_labels_as_they_are() -> None:
    """np.asarray([1, 'x']) is text: score() then failed with a ValueError ('1' is not in list)."""
    classes = [1, "x"]
    onehot = np.array([[1, 0], [0, 1], [1, 0]])
    actual = actual_labels(onehot, classes)
    assert actual.tolist() == [1, "x", 1]
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    assert score(actual, probabilities, classes)["per_class"]["1"]["support"] == 2
    table = prediction_table(pd.DataFrame({"f": [1.0, 2.0, 3.0]}), probabilities, classes)
    assert table["predicted"].tolist() == [1, "x", "x"]


def test_metrics_of_mixed_labels_are_valid_json() -> None:
    """JSON keys are text: 1 and 'x' as labels of one model used to make json.dumps(sort_keys=True) fail."""
    probabilities = pd.DataFrame([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]).to_numpy()
    metrics = json.loads(json.dumps(score([1, "x", 1], probabilities, [1, "x"]), sort_keys=True))
    assert metrics["per_class"]["1"]["support"] == 2 and metrics["per_class"]["x"]["support"] == 1
