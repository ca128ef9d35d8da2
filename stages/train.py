"""train: fit the lesson's Keras network on the training split and save it.

Input:  data/split/train.csv, data/encoded/classes.json
Output: models/model.keras  (loadable with keras.saving.load_model; byte-identical for identical params)
        models/model.safetensors  (its light model: the weights for penguins-predict's NumPy forward pass)
        models/model.json   (features and class order the model expects, and each feature's smallest and largest
                            value in the fitted rows: what predict needs; model_md5 and light_md5, the md5s of
                            the two files above, and a checksum: evaluate and predict refuse a card that is not
                            this model's)
        dvclive/            DVCLive's log: metrics.json (last epoch's train/ and eval/ loss and accuracy,
                            trainable_params) and plots/metrics/{train,eval}/{loss,accuracy}.tsv per epoch
Params: data.features and every train.* key (see README, "Params")

Refused before training, in one line naming the feature: a feature with one value in every fitted row, and
(with train.normalize) values whose variance overflows float32. Validation rows equal to a fitted row (in
float32) are counted as split counts test rows: a warning line above 5% of them, refused above 50%. No model is
saved when a loss or a weight went NaN or infinite (whatever the cause), nor when params.yaml changed while
training ran (DVC would record the new values for the model made with the old).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from penguins import light
from penguins.card import ModelCard, feature_ranges
from penguins.cli import run_stage, stage_parser
from penguins.errors import PipelineError, warn
from penguins.guards import require_unchanged
from penguins.io import read_csv, read_json, write_bytes, write_json
from penguins.params import load_params
from penguins.paths import Paths
from penguins.tables import check_finite
from penguins.training import (
    check_features_vary,
    check_rows_of_every_class,
    check_variance_fits,
    divergence_hint,
    rows_to_fit,
    validation_duplicates,
)


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    params = load_params()
    record = read_json(Paths.CLASSES)
    features, targets = list(params.data.features), record["columns"]
    frame = read_csv(Paths.TRAIN, required=[*features, *targets])
    n_fit = rows_to_fit(len(frame), params.train, str(Paths.TRAIN))
    for feature in features:  # float32, as the model computes: a 1e308 there is inf
        check_finite(frame[feature], str(Paths.TRAIN), hint="re-run clean (dvc repro)")
    x = frame[features].to_numpy("float32")
    y = frame[targets].to_numpy("float32")
    check_rows_of_every_class(y, n_fit, record["classes"], params.train, str(Paths.TRAIN))
    check_features_vary(x[:n_fit], features, str(Paths.TRAIN))
    check_variance_fits(x[:n_fit], features, params.train, str(Paths.TRAIN))
    if note := validation_duplicates(x, y, n_fit, str(Paths.TRAIN)):  # they pick a sweep's best experiment
        warn(note)

    from penguins import modeling  # TensorFlow: imported only once the inputs are known to be good

    modeling.configure_determinism(params.train.seed, params.train.op_determinism)
    steps_per_epoch = math.ceil(n_fit / params.train.batch_size)  # one graph call per epoch
    model = modeling.build_model(x.shape[1], y.shape[1], params.train, x[:n_fit], steps_per_epoch)
    with modeling.open_live(Paths.LIVE) as live:
        live.log_metric("trainable_params", modeling.trainable_parameter_count(model), plot=False)
        history = modeling.fit(model, x, y, n_fit, params.train, live)
    diverged = modeling.divergence(history, model)
    if diverged:  # whatever the cause, a NaN model would predict one class for everything
        hint = divergence_hint(x[:n_fit], features, params.train, str(Paths.TRAIN))
        raise PipelineError(f"training diverged ({diverged}), no model saved; {hint}")
    require_unchanged(params)  # DVC records params.yaml as it is now: it must still say what was trained
    modeling.save_model(model, Paths.MODEL)
    write_bytes(Paths.LIGHT_MODEL, light.to_bytes(light.layers_of(model)))  # predict's light path (penguins.light)
    card = ModelCard(
        features=tuple(features),
        target=record["target"],
        classes=tuple(record["classes"]),
        ranges=feature_ranges(frame.iloc[:n_fit], features),  # for predict's checks: what the model was fitted on
    ).for_model(Paths.MODEL, Paths.LIGHT_MODEL)
    write_json(Paths.MODEL_CARD, card.as_json())


if __name__ == "__main__":
    run_stage(main)
