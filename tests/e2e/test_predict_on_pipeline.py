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
from tests.conftest import BIN, run

pytestmark = pytest.mark.e2e

PREDICT = [str(BIN / "python"), "-m", "penguins.predict"]
FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


def test_predictions_on_the_test_split_equal_evaluates(pipeline: dict[str, Any]) -> None:
    """Same rows, same model: the same predicted names and probabilities as evaluate wrote (which rounds them to
    4 decimals: predict prints full precision)."""
    repo = pipeline["repo"]
    proc = run([*PREDICT, "--csv", "data/split/test.csv", "--ignore-extra", "--format", "csv"], cwd=repo)
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
