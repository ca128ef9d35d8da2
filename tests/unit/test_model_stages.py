"""train and evaluate logic: the network, reproducible saving, history and scores (real Keras, tiny data)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from stages.common import KERAS_ACTIVATIONS, Params, PipelineError
from stages.evaluate import prediction_table, score
from stages.train import history_frame, rows_to_fit, train_summary

modeling = pytest.importorskip("stages.modeling")
keras = modeling.keras

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 4)).astype("float32")
Y = np.eye(3, dtype="float32")[np.arange(30) % 3]


def test_every_allowed_activation_exists_in_keras() -> None:
    for name in KERAS_ACTIVATIONS:
        assert callable(keras.activations.get(name)), name


@pytest.mark.parametrize(("normalize", "hidden", "trainable"), [(True, (10,), 83), (False, (10,), 83), (True, (16, 8), 80 + 136 + 27)])
def test_lesson_network_shape(default_params: Params, normalize: bool, hidden: tuple[int, ...], trainable: int) -> None:
    params = dataclasses.replace(default_params.train, normalize=normalize, hidden_units=hidden)
    model = modeling.build_model(4, 3, params, X)
    assert modeling.trainable_parameter_count(model) == trainable
    assert model.output_shape == (None, 3)
    assert any(isinstance(layer, keras.layers.Normalization) for layer in model.layers) == normalize


def test_renumber_shared_objects_keeps_sharing() -> None:
    config = {"a": {"shared_object_id": 140001}, "b": [{"shared_object_id": 999}, {"shared_object_id": 140001}]}
    assert modeling.renumber_shared_objects(config) == {
        "a": {"shared_object_id": 1},
        "b": [{"shared_object_id": 2}, {"shared_object_id": 1}],
    }


def trained_model(default_params: Params) -> keras.Model:
    params = dataclasses.replace(default_params.train, epochs=2)
    modeling.configure_determinism(params.seed, params.op_determinism)
    model = modeling.build_model(4, 3, params, X[:24], steps_per_execution=3)
    history = modeling.fit(model, X, Y, 24, params)
    assert [len(history[k]) for k in ("loss", "accuracy", "val_loss", "val_accuracy")] == [2, 2, 2, 2]
    return model


def test_fit_is_deterministic(default_params: Params) -> None:
    weights = [trained_model(default_params).get_weights() for _ in range(2)]
    for first, second in zip(*weights, strict=True):
        np.testing.assert_array_equal(first, second)


def test_saved_model_is_byte_stable_and_reloads_identically(default_params: Params, tmp_path: Path) -> None:
    model = trained_model(default_params)
    first, second = tmp_path / "a.keras", tmp_path / "b.keras"
    modeling.save_model(model, first)
    modeling.save_model(model, second)
    assert hashlib.md5(first.read_bytes()).digest() == hashlib.md5(second.read_bytes()).digest()
    with zipfile.ZipFile(first) as archive:
        assert {info.date_time for info in archive.infolist()} == {modeling.ZIP_EPOCH}
        assert "date_saved" not in json.loads(archive.read("metadata.json"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.keras", "b.keras"]  # no temporary files left
    reloaded = modeling.load_model(first)
    np.testing.assert_array_equal(reloaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_load_model_refuses_foreign_and_missing_files(tmp_path: Path) -> None:
    fake = tmp_path / "model.keras"
    fake.write_text("not a zip")
    with pytest.raises(PipelineError, match=r"model.keras: cannot load as a Keras model"):
        modeling.load_model(fake)
    with pytest.raises(PipelineError, match="model file not found"):
        modeling.load_model(tmp_path / "missing.keras")


def test_history_and_summary() -> None:
    history = history_frame({"loss": [1.0, 0.51234567], "accuracy": [0.5, 0.75], "val_loss": [1.1, 0.6], "val_accuracy": [0.4, 0.7]})
    assert list(history.columns) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    assert history["epoch"].tolist() == [1, 2]
    assert history["loss"].tolist() == [1.0, 0.512346]
    summary = train_summary(history, trainable_params=83)
    assert summary == {"trainable_params": 83, "epochs": 2, "final_loss": 0.512346, "final_accuracy": 0.75, "final_val_loss": 0.6, "final_val_accuracy": 0.7}
    assert list(history_frame({"loss": [1.0], "accuracy": [0.5]}).columns) == ["epoch", "loss", "accuracy"]


def test_rows_to_fit_follow_validation_split(default_params: Params) -> None:
    assert rows_to_fit(273, default_params.train) == 219  # the lesson's split: 54 validation rows
    assert rows_to_fit(5, default_params.train) == 4
    assert rows_to_fit(1, dataclasses.replace(default_params.train, validation_split=0.0)) == 1
    with pytest.raises(PipelineError, match="4 rows cannot be divided with train.validation_split=0.2"):
        rows_to_fit(4, default_params.train)


def test_score_and_prediction_table() -> None:
    classes = ["Adelie", "Chinstrap", "Gentoo"]
    probabilities = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]], dtype="float32")
    metrics = score(["Adelie", "Chinstrap", "Gentoo"], probabilities, classes)
    assert metrics["accuracy"] == round(2 / 3, 6)
    assert metrics["n_test"] == 3
    assert metrics["per_class"]["Gentoo"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert metrics["loss"] == round(float(-(np.log(0.8) + np.log(0.7) + np.log(0.1)) / 3), 6)
    table = prediction_table(__import__("pandas").DataFrame({"x": [1, 2, 3]}), probabilities, classes)
    assert table["predicted"].tolist() == ["Adelie", "Chinstrap", "Adelie"]
    assert table["prob_Chinstrap"].tolist() == [float(np.float32(v)) for v in (0.1, 0.7, 0.3)]
