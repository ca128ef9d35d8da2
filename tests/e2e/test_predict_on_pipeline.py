"""End-to-end: the predict tool on the model `dvc repro` trained in the shared temporary clone."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from penguins.card import parse_card
from penguins.io import write_json
from tests.conftest import BIN, dvc, edit_params, run
from tools.repo import run as workspace

pytestmark = pytest.mark.e2e

PREDICT = [str(BIN / "python"), "-m", "penguins.predict"]
FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


def test_predictions_on_the_test_split_equal_evaluates(pipeline: dict[str, Any]) -> None:
    """Same rows, same model: with --keras, the same predicted names and probabilities as evaluate wrote (which
    rounds them to 4 decimals: predict prints full precision); the light path (default), the same names and
    probabilities within 1e-5."""
    repo = pipeline["repo"]
    command = [*PREDICT, "--csv", "data/split/test.csv", "--ignore-extra", "--format", "csv"]
    light = pd.read_csv(io.StringIO(run(command, cwd=repo).stdout))
    proc = run([*command, "--keras"], cwd=repo)
    # One test penguin's bill depth (21.5 mm) is deeper than any in the rows the model was fitted on (21.2): warned.
    assert proc.stderr == (
        "warning: data/split/test.csv: line 54: column 'bill_depth_mm' value 21.5 is outside the model's training "
        "rows' 13.1 to 21.2; the prediction is an extrapolation\n"
    )
    predicted = pd.read_csv(io.StringIO(proc.stdout))
    written = pd.read_csv(repo / "data/predictions/test.csv")
    assert predicted["row"].tolist() == list(range(1, len(written) + 1))
    probabilities = [c for c in predicted.columns if c.startswith("prob_")]
    predicted[probabilities] = predicted[probabilities].round(4)
    pd.testing.assert_frame_equal(predicted.drop(columns="row"), written.drop(columns="actual"), check_exact=True)
    assert light["predicted"].tolist() == written["predicted"].tolist()
    keras = pd.read_csv(io.StringIO(proc.stdout))
    assert (light[probabilities] - keras[probabilities]).abs().to_numpy().max() <= 1e-5


def test_real_penguins_are_classified_correctly(pipeline: dict[str, Any]) -> None:
    """The first three complete rows of each species in the raw data, as published (all 8 columns), on stdin."""
    raw = pd.read_csv(pipeline["repo"] / "data/raw/penguins.csv").dropna(subset=FEATURES)
    penguins = raw.groupby("species", sort=False).head(3)
    assert sorted(penguins["species"].value_counts().items()) == [("Adelie", 3), ("Chinstrap", 3), ("Gentoo", 3)]
    proc = run(
        [*PREDICT, "--csv", "-", "--ignore-extra", "--json"], cwd=pipeline["repo"], stdin=penguins.to_csv(index=False)
    )
    assert proc.stderr == ""
    document = json.loads(proc.stdout)
    assert document["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert [p["predicted"] for p in document["predictions"]] == penguins["species"].tolist()
    for p in document["predictions"]:
        assert p["probabilities"][p["predicted"]] == max(p["probabilities"].values())
        assert sum(p["probabilities"].values()) == pytest.approx(1, abs=1e-6)


def test_one_penguin_as_options_from_anywhere(pipeline: dict[str, Any], tmp_path: Path) -> None:
    """The `penguins-predict` console script run outside the repository still finds models/model.keras."""
    penguin = [
        "--bill-length-mm",
        "39.1",
        "--bill-depth-mm",
        "18.7",
        "--flipper-length-mm",
        "181",
        "--body-mass-g",
        "3750",
    ]
    model = pipeline["repo"] / "models/model.keras"
    proc = run([str(BIN / "penguins-predict"), "--model", str(model), *penguin], cwd=tmp_path)
    assert proc.stderr == ""
    header, row = proc.stdout.splitlines()
    assert header.split() == ["row", "predicted", "Adelie", "Chinstrap", "Gentoo"]
    assert row.split()[:2] == ["1", "Adelie"] and float(row.split()[2]) > 0.9


def imported_modules(stderr: str) -> set[str]:
    return {line.split("|")[-1].strip().split(".")[0] for line in stderr.splitlines() if "|" in line}


def test_help_and_bad_input_are_fast_and_clear(pipeline: dict[str, Any]) -> None:
    """--help lists the card's options, and a bad input fails before TensorFlow is imported."""
    repo = pipeline["repo"]
    helped = run([str(BIN / "python"), "-X", "importtime", "-m", "penguins.predict", "--help"], cwd=repo)
    assert helped.stdout.startswith("usage: ") and "--flipper-length-mm MM" in helped.stdout
    bad = run(
        [str(BIN / "python"), "-X", "importtime", "-m", "penguins.predict", "--csv", "-"],
        cwd=repo,
        check=False,
        stdin="bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n39.1,18.7,181,3.75\n",
    )
    assert bad.returncode == 1 and bad.stdout == ""
    errors = [line for line in bad.stderr.splitlines() if "|" not in line]
    assert len(errors) == 1 and errors[0].startswith("error: stdin: line 2: column 'body_mass_g' "), errors
    for proc in (helped, bad):
        assert not imported_modules(proc.stderr) & {"tensorflow", "keras"}


def test_lambda_model_refused_in_one_line(pipeline: dict[str, Any], tmp_path: Path) -> None:
    """Keras' safe mode refuses a model carrying a Python lambda: one line, exit 1, no traceback or log noise."""
    from penguins import modeling

    keras = modeling.keras
    inputs = keras.Input(shape=(4,))
    scaled = keras.layers.Lambda(lambda t: t / 10.0)(inputs)
    keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(scaled)).save(tmp_path / "lambda.keras")
    card = parse_card(json.loads((pipeline["repo"] / "models/model.json").read_text()), "models/model.json")
    write_json(tmp_path / "lambda.json", card.for_model(tmp_path / "lambda.keras").as_json())  # its own card
    model, data = ["--model", str(tmp_path / "lambda.keras")], "data/split/test.csv"
    proc = run([*PREDICT, *model, "--csv", data, "--ignore-extra"], cwd=pipeline["repo"], check=False)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith(f"error: {tmp_path}/lambda.keras: refused by Keras safe mode"), proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr


def test_the_pipeline_proves_the_light_model_of_a_non_default_network(pipeline_copy: Path) -> None:
    """Two hidden layers, tanh, a few epochs: evaluate checks the light model against Keras on the test rows and
    passes; the light model is written byte-identically again; a light model from another run stops evaluate in one
    line, and predict refuses it."""
    repo = pipeline_copy
    edit_params(repo, train__hidden_units=[8, 6], train__activation="tanh", train__epochs=3)
    dvc("repro", "evaluate", cwd=repo)
    light = (repo / "models/model.safetensors").read_bytes()
    # train again, as `dvc repro -f --single-item train` runs it (its environment), without a dvc process
    train = [str(BIN / "python"), "-m", "stages.train"]
    workspace.run(train, cwd=repo, env={"DVC_ROOT": str(repo), "DVC_STAGE": "train"})
    assert (repo / "models/model.safetensors").read_bytes() == light
    command = [*PREDICT, "--csv", "data/split/test.csv", "--ignore-extra", "--json"]
    light_doc, keras_doc = (json.loads(run([*command, *extra], cwd=repo).stdout) for extra in ([], ["--keras"]))
    assert [p["predicted"] for p in light_doc["predictions"]] == [p["predicted"] for p in keras_doc["predictions"]]

    other = repo / "models/model.safetensors"
    other.chmod(0o644)  # DVC may link it read-only from its cache
    other.unlink()
    other.write_bytes(light[:-4] + bytes(4))  # the last weight changed: not the card's any more
    proc = run([str(BIN / "python"), "-m", "stages.evaluate"], cwd=repo, check=False)  # evaluate alone, by hand
    assert proc.returncode != 0
    assert "models/model.safetensors: not the light model of models/model.keras" in proc.stdout + proc.stderr
    proc = run([*command], cwd=repo, check=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("error: models/model.safetensors: not the light model of models/model.keras")


def test_the_card_records_each_features_range_in_the_fitted_rows(pipeline: dict[str, Any]) -> None:
    """predict's checks come from these: the rows fitted on, not the validation rows."""
    repo = pipeline["repo"]
    card = json.loads((repo / "models/model.json").read_text())
    fitted = pd.read_csv(repo / "data/split/train.csv").iloc[:219]  # 273 rows, the last 54 validate
    assert card["ranges"] == {f: [fitted[f].min(), fitted[f].max()] for f in card["features"]}
    assert card["ranges"]["body_mass_g"] == [2700.0, 6300.0]
