"""penguins-predict's output: a table for people, CSV or JSON for programs (pure functions, no pandas)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from penguins import text_table
from penguins.card import ModelCard

FORMATS = ("table", "json", "csv")


@dataclass(frozen=True)
class Result:
    """Each row's features (card order), its probabilities (one column per class) and the class predicted."""

    values: np.ndarray
    probabilities: np.ndarray
    classes: tuple[Any, ...]

    @property
    def predicted(self) -> list[Any]:
        """The labels as the card has them (str, int or bool): evaluate's argmax, first class on a tie."""
        return [self.classes[i] for i in self.probabilities.argmax(axis=1)]


def result_table(values: Any, probabilities: np.ndarray, classes: Sequence[Any]) -> Result:
    """The result of predicting ``values`` (a matrix or a DataFrame, in card order)."""
    return Result(np.asarray(values, dtype=np.float64), np.asarray(probabilities), tuple(classes))


def render_table(result: Result) -> str:
    """For people: row, predicted and one probability column per class, aligned."""
    header = ["row", "predicted", *map(str, result.classes)]
    body = [
        [str(row), str(predicted), *(f"{p:.3f}" for p in probs)]
        for row, (predicted, probs) in enumerate(
            zip(result.predicted, result.probabilities.tolist(), strict=True), start=1
        )
    ]
    align = ["right", "left", *(["right"] * len(result.classes))]  # class names left-aligned, numbers right
    return text_table.render(header, body, align=align) + "\n"


def render_csv(result: Result, features: Sequence[str]) -> str:
    """row, the features, predicted, prob_<class>: the columns of evaluate's data/predictions/test.csv plus row,
    minus actual; numbers as Python writes them (shortest text that reads back to the same float, as pandas)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["row", *features, "predicted", *(f"prob_{c}" for c in result.classes)])
    probabilities = result.probabilities.astype(np.float64).tolist()
    for row, (values, predicted, probs) in enumerate(
        zip(result.values.tolist(), result.predicted, probabilities, strict=True), start=1
    ):
        writer.writerow([row, *map(repr, values), predicted, *map(repr, probs)])
    return buffer.getvalue()


def render_json(result: Result, card: ModelCard, model: str) -> str:
    predictions = [
        {
            "row": row,
            "input": dict(zip(card.features, values, strict=True)),
            "predicted": predicted,  # a coded label stays a number: 2, not "2"
            "probabilities": {str(c): p for c, p in zip(result.classes, probs, strict=True)},
        }
        for row, (values, predicted, probs) in enumerate(
            zip(
                result.values.tolist(), result.predicted, result.probabilities.astype(np.float64).tolist(), strict=True
            ),
            start=1,
        )
    ]
    document = {
        "model": model,
        "features": list(card.features),
        "classes": list(card.classes),
        "predictions": predictions,
    }
    return json.dumps(document, indent=2) + "\n"


def render(result: Result, fmt: str, card: ModelCard, model: str) -> str:
    if fmt == "json":
        return render_json(result, card, model)
    if fmt == "csv":
        return render_csv(result, card.features)
    return render_table(result)
