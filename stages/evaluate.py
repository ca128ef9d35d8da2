"""evaluate: reload the saved model (as the lesson does), predict the test set and score it.

Input:  models/model.keras, models/model.json (refused unless it is that model's card: its model_md5 and
        checksum), models/model.safetensors (the light model the card names), data/split/test.csv
Checks: the light model gives the Keras model's probabilities on every test row (same class, max |difference|
        1e-5: penguins.light.AGREEMENT), else one line and exit 1; the metrics describe the Keras model
Output: metrics/metrics.json        accuracy, loss, f1_macro, n_test and per-class precision/recall/f1/support
        plots/confusion.csv         the confusion matrix as actual,predicted,count: one row per pair of classes,
                                    so its size does not grow with the test set (git tracks it; dvc.yaml draws
                                    it with .dvc/plots/confusion_counts.json, DVC's confusion template by count);
                                    above 50 classes only the pairs that occur (at most 10,000, the largest),
                                    said in one warning line
        data/predictions/test.csv   each test row's features, actual, predicted and one prob_<class> per class
                                    (4 decimals: the precision that is the same on every CPU)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from penguins.card import check_card_belongs, read_card
from penguins.cli import run_stage, stage_parser
from penguins.columns import target_columns
from penguins.errors import PipelineError, warn
from penguins.evaluation import (
    PROBABILITY_DIGITS,
    actual_labels,
    confusion_counts,
    confusion_note,
    prediction_table,
    score,
)
from penguins.io import read_csv, write_csv, write_json
from penguins.light import check_agreement
from penguins.params import load_params
from penguins.paths import Paths
from penguins.tables import check_finite, csv_line


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    load_params()  # fail on a bad params.yaml before loading TensorFlow
    card = read_card(Paths.MODEL_CARD, Paths.MODEL)
    if card.light_md5 is None:
        raise PipelineError(f"{Paths.MODEL_CARD}: names no light model (older); regenerate it with `dvc repro train`")
    check_card_belongs(card, str(Paths.MODEL_CARD), Paths.MODEL, Paths.LIGHT_MODEL)
    features, classes = list(card.features), list(card.classes)
    onehot = target_columns(classes, card.target)
    test = read_csv(Paths.TEST, required=[*features, *onehot])
    for feature in features:  # float32, as the model computes: a 1e308 there is inf
        check_finite(test[feature], str(Paths.TEST), hint="re-run clean (dvc repro)")

    from penguins import modeling  # TensorFlow: imported only once the inputs are known to be good

    model = modeling.load_model(Paths.MODEL)
    x = test[features].to_numpy("float32")
    probabilities = modeling.predict(model, x)  # in bounded chunks
    if not np.isfinite(probabilities).all():  # a model saved before train refused NaN weights
        row = int(np.flatnonzero(~np.isfinite(probabilities).all(axis=1))[0])
        raise PipelineError(
            f"{Paths.MODEL}: outputs non-finite probabilities (first for line {csv_line(row)} of {Paths.TEST}); "
            "retrain it (dvc repro train)"
        )
    check_agreement(probabilities, x, Paths.LIGHT_MODEL, Paths.MODEL, str(Paths.TEST))  # predict's light path
    actual = actual_labels(test[onehot].to_numpy(), classes)

    predictions = prediction_table(test[features], probabilities, classes, digits=PROBABILITY_DIGITS)
    predictions.insert(len(features), "actual", actual)
    write_json(Paths.METRICS, score(actual, probabilities, classes))
    confusion = confusion_counts(actual, predictions["predicted"], classes)
    if note := confusion_note(len(classes), confusion, len(actual)):
        warn(f"{Paths.CONFUSION}: {note}")
    write_csv(Paths.CONFUSION, confusion)
    write_csv(Paths.PREDICTIONS, predictions)


if __name__ == "__main__":
    run_stage(main)
