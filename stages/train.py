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

from collections.abc import Sequence

from penguins import light
from penguins.card import ModelCard, feature_ranges
from penguins.cli import run_stage, stage_parser
from penguins.guards import require_unchanged
from penguins.io import read_csv, read_json, write_bytes, write_json
from penguins.params import load_params
from penguins.paths import Paths
from penguins.training import train_model


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    params = load_params()
    record = read_json(Paths.CLASSES)
    features, targets = list(params.data.features), record["columns"]
    frame = read_csv(Paths.TRAIN, required=[*features, *targets])
    trained = train_model(frame, targets, record["classes"], params, str(Paths.TRAIN), Paths.LIVE)
    model, n_fit = trained.model, trained.n_fit
    from penguins import modeling  # TensorFlow, which train_model imported once the inputs were known to be good

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
