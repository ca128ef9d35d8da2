"""predict: the card, the options it defines, every bad input, the output formats, and the model checks
(pure functions on tiny in-test data; the CLI in-process, with tiny real Keras models where one is needed)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from stages.common import ROOT, CliParser, ModelCard, PipelineError, parse_card, parse_csv, read_csv, run_cli, write_json
from stages.fetch import read_package_csv
from stages.predict import (
    DATASET_RANGES, check_model_fits_card, check_values, csv_cell, feature_options, finite_number, main,
    option_for, plausible_range, render_csv, render_json, render_table, result_table,
    user_path, values_from_csv, values_from_options,
)  # fmt: skip

FEATURES = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
CARD = ModelCard(features=FEATURES, target="species", classes=("Adelie", "Chinstrap", "Gentoo"))
CARD_JSON = {"features": list(FEATURES), "target": "species", "classes": ["Adelie", "Chinstrap", "Gentoo"]}
OPTIONS = feature_options(FEATURES)
HEADER = ",".join(FEATURES)
GOOD = f"{HEADER}\n39.1,18.7,181,3750\n46.5,17.9,192,3500\n"


@contextlib.contextmanager
def refused(prefix: str) -> Iterator[None]:
    """Expect a PipelineError whose message starts with ``prefix`` (literally)."""
    with pytest.raises(PipelineError) as info:
        yield
    assert str(info.value).startswith(prefix), str(info.value)


def frame(text: str) -> pd.DataFrame:
    return parse_csv(io.StringIO(text), "new.csv")


def from_csv(text: str, ignore_extra: bool = False) -> tuple[pd.DataFrame, list[str]]:
    return values_from_csv(frame(text), CARD, "new.csv", ignore_extra)


# ---- the card and its options -----------------------------------------------------------------


def test_parse_card() -> None:
    assert parse_card(CARD_JSON, "m.json") == CARD


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (["bill_length_mm"], "m.json: not a model card"),
        ({**CARD_JSON, "features": []}, "m.json: 'features' must be a list of at least 1 distinct names, got []"),
        ({**CARD_JSON, "features": ["a", "a"]}, "m.json: 'features' must be a list of at least 1 distinct names"),
        ({**CARD_JSON, "classes": ["Adelie"]}, "m.json: 'classes' must be a list of at least 2 distinct names"),
        ({"features": ["a"], "classes": ["x", "y"]}, "m.json: 'target' must be a non-empty name, got None"),
    ],
)
def test_parse_card_refuses(raw: Any, message: str) -> None:
    with refused(message):
        parse_card(raw, "m.json")


def test_options_come_from_feature_names() -> None:
    assert OPTIONS == {
        "bill_length_mm": "--bill-length-mm", "bill_depth_mm": "--bill-depth-mm",
        "flipper_length_mm": "--flipper-length-mm", "body_mass_g": "--body-mass-g",
    }  # fmt: skip
    assert option_for("Wing Span (cm)") == "--wing-span-cm"
    # a name whose option is empty, repeated or one of predict's own gets none (--csv still works)
    assert feature_options(["model", "a_b", "a b", "__", "json", "x"]) == {"a_b": "--a-b", "x": "--x"}
    with pytest.raises(PipelineError, match="the model's feature 'model' has no command-line option"):
        values_from_options({"model": 1.0}, ModelCard(("model",), "t", ("a", "b")), {})


def test_user_paths_are_relative_to_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert user_path("new.csv") == Path("new.csv")  # shown as typed; resolve() maps it back to ROOT
    monkeypatch.chdir(tmp_path)
    assert user_path("new.csv") == tmp_path / "new.csv"


# ---- input checks -----------------------------------------------------------------------------


def test_good_csv_any_column_order() -> None:
    values, warnings = from_csv("body_mass_g,bill_length_mm,bill_depth_mm,flipper_length_mm\n3750,39.1,18.7,181\n")
    assert list(values.columns) == list(FEATURES)
    assert values.iloc[0].tolist() == [39.1, 18.7, 181.0, 3750.0]
    assert warnings == []


def test_extra_columns_refused_unless_ignored() -> None:
    text = f"species,{HEADER},island\nAdelie,39.1,18.7,181,3750,Dream\n"
    with pytest.raises(PipelineError, match=r"^new.csv: unexpected column 'species'; the model uses only bill_length_mm, .* --ignore-extra"):
        from_csv(text)
    values, _ = from_csv(text, ignore_extra=True)
    assert list(values.columns) == list(FEATURES)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bill_length_mm,bill_depth_mm,body_mass_g\n39.1,18.7,3750\n",
         "new.csv: missing column 'flipper_length_mm' (has: bill_length_mm, bill_depth_mm, body_mass_g); "
         "the model needs bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g"),
        (f"{GOOD}50,15,220,abc\n",
         "new.csv: line 4: column 'body_mass_g' has non-numeric value 'abc'; every measurement must be a number"),
        (f"{GOOD}50,,220,5000\n", r"new.csv: line 4: column 'bill_depth_mm' is empty (NA); every measurement is needed"),
        (f"{GOOD}50,NA,220,5000\n", r"new.csv: line 4: column 'bill_depth_mm' is empty (NA)"),
        (f"{HEADER}\n39.1,18.7,181\n", r"new.csv: line 2: column 'body_mass_g' is empty (NA)"),  # short row
        (f"{GOOD}50,15,220,inf\n", r"new.csv: line 4: column 'body_mass_g' is not a finite number (inf)"),
        (f"{GOOD}50,-15,220,5000\n", r"new.csv: line 4: column 'bill_depth_mm' is negative (-15); sizes are positive"),
        (f"{GOOD}0,15,220,5000\n", "new.csv: line 4: column 'bill_length_mm' value 0 is not plausible"),
        (f"{GOOD}50,15,220,5.0\n",  # kilograms instead of grams
         "new.csv: line 4: column 'body_mass_g' value 5 is not plausible: the Palmer data set has 2700 to 6300, "
         "predict accepts 1350 to 12600; check the unit"),
        (f"{GOOD}50,15,22.0,5000\n", "new.csv: line 4: column 'flipper_length_mm' value 22 is not plausible"),  # cm
        (f"{GOOD}50,-15,220,-5\nx,1,1,1\n", "new.csv: line 5: column 'bill_length_mm' has non-numeric value 'x'"),
        (f"{GOOD}50,-15,220,-5\n", "new.csv: line 4: column 'bill_depth_mm' is negative"),  # first in reading order
    ],
)
def test_bad_csv_values_name_line_and_column(text: str, message: str) -> None:
    with refused(message):
        from_csv(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "new.csv: file is empty; expected a CSV with a header row"),
        (f"{HEADER}\n", "new.csv: has a header but no data rows"),
        ("a,b\n1,2,3\n", "new.csv: the data rows have more fields than the header's 2 names"),
        ('a,b\n"1,2\n', "new.csv: not a readable CSV"),
    ],
)
def test_empty_or_malformed_input(text: str, message: str) -> None:
    with refused(message):
        frame(text)


def test_plausible_ranges_hold_the_whole_data_set_without_warnings() -> None:
    palmer = pd.read_csv(io.BytesIO(read_package_csv()))[list(FEATURES)].dropna()
    assert {f: (palmer[f].min(), palmer[f].max()) for f in FEATURES} == DATASET_RANGES
    assert check_values(palmer, csv_cell("palmer")) == []
    assert plausible_range("bill_length_mm") == (16.05, 119.2)
    assert plausible_range("year") is None  # unknown feature: only finiteness is checked


def test_out_of_data_set_values_warn() -> None:
    values, warnings = from_csv(f"{HEADER}\n39.1,18.7,181,7000\n62,18.7,181,7500\n65,18.7,181,6400\n")
    assert len(values) == 3
    assert warnings == [
        "new.csv: line 2: column 'body_mass_g' value 7000 is outside the Palmer data set's 2700 to 6300 "
        "(as are 2 more rows); the prediction is an extrapolation",
        "new.csv: line 3: column 'bill_length_mm' value 62 is outside the Palmer data set's 32.1 to 59.6 "
        "(as is 1 more row); the prediction is an extrapolation",
    ]


def test_one_penguin_from_options() -> None:
    given = {"bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181.0, "body_mass_g": 3750.0}
    values, warnings = values_from_options(given, CARD, OPTIONS)
    assert values.to_dict("records") == [given] and warnings == []
    _, warnings = values_from_options({**given, "body_mass_g": 7000.0}, CARD, OPTIONS)
    assert warnings == ["--body-mass-g value 7000 is outside the Palmer data set's 2700 to 6300; the prediction is an extrapolation"]
    with pytest.raises(PipelineError, match=r"^--bill-depth-mm is negative \(-18.7\); sizes are positive"):
        values_from_options({**given, "bill_depth_mm": -18.7}, CARD, OPTIONS)
    with pytest.raises(PipelineError, match="^missing --flipper-length-mm, --body-mass-g: one penguin needs all of --bill-length-mm, "):
        values_from_options({**given, "flipper_length_mm": None, "body_mass_g": None}, CARD, OPTIONS)


@pytest.mark.parametrize(("text", "message"), [("abc", "'abc' is not a number"), ("nan", "'nan' is not a finite number"), ("-inf", "not a finite")])
def test_option_values_must_be_finite_numbers(text: str, message: str) -> None:
    assert finite_number(" 39.1 ") == 39.1
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        finite_number(text)


def test_usage_errors_are_pipeline_errors() -> None:
    parser = CliParser()
    with pytest.raises(PipelineError, match=r"^unrecognized arguments: --nope \(see --help\)$"):
        parser.parse_args(["--nope"])


def test_pipeline_read_csv_keeps_its_messages(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"file not found; run the stage that makes it first \(dvc repro\)"):
        read_csv(tmp_path / "missing.csv")
    (tmp_path / "x.csv").write_text("a\n1\n")
    with pytest.raises(PipelineError, match=r"missing column 'b' \(has: a\); check data.features / data.target in params.yaml"):
        read_csv(tmp_path / "x.csv", required=["b"])


# ---- model checks and output ------------------------------------------------------------------


def test_model_must_fit_its_card() -> None:
    check_model_fits_card([(None, 4)], [(None, 3)], CARD, "m.keras", "m.json")
    with pytest.raises(PipelineError, match=r"^m.keras: takes 3 features but the card m.json lists 4 \(bill_length_mm, .*\); the model was trained on other features"):
        check_model_fits_card([(None, 3)], [(None, 3)], CARD, "m.keras", "m.json")
    with pytest.raises(PipelineError, match=r"^m.keras: outputs \(None, 2\) but the card m.json lists 3 classes"):
        check_model_fits_card([(None, 4)], [(None, 2)], CARD, "m.keras", "m.json")
    with pytest.raises(PipelineError, match="^m.keras: takes inputs of shape .*; predict needs one table of measurements"):
        check_model_fits_card([(None, 4), (None, 4)], [(None, 3)], CARD, "m.keras", "m.json")


PROBS = np.array([[0.9, 0.06, 0.04], [0.0011, 0.2, 0.7989]], dtype="float32")


def table() -> pd.DataFrame:
    values, _ = from_csv(GOOD)
    return result_table(values, PROBS, CARD.classes)


def test_outputs() -> None:
    assert render_table(table(), CARD.classes) == (
        "row  predicted  Adelie  Chinstrap  Gentoo\n"
        "  1  Adelie      0.900      0.060   0.040\n"
        "  2  Gentoo      0.001      0.200   0.799\n"
    )
    written = pd.read_csv(io.StringIO(render_csv(table())))
    assert list(written.columns) == ["row", *FEATURES, "predicted", "prob_Adelie", "prob_Chinstrap", "prob_Gentoo"]
    assert written["prob_Gentoo"].tolist() == [float(np.float32(0.04)), float(np.float32(0.7989))]  # full precision
    document = json.loads(render_json(table(), CARD, "m.keras"))
    assert document["model"] == "m.keras" and document["classes"] == list(CARD.classes)
    assert document["predictions"][1] == {
        "row": 2,
        "input": {"bill_length_mm": 46.5, "bill_depth_mm": 17.9, "flipper_length_mm": 192.0, "body_mass_g": 3500.0},
        "predicted": "Gentoo",
        "probabilities": {"Adelie": float(np.float32(0.0011)), "Chinstrap": float(np.float32(0.2)), "Gentoo": float(np.float32(0.7989))},
    }


# ---- the CLI, in-process ----------------------------------------------------------------------


def cli(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> tuple[int, str, str]:
    """Run predict as `python -m stages.predict` would: (exit status, stdout, stderr)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        run_cli(main, argv)
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def card_only(tmp_path: Path) -> Path:
    """A directory with a model card but no model: input errors are found before the model is loaded."""
    write_json(tmp_path / "model.json", CARD_JSON)
    return tmp_path / "model.keras"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        ([], "", "error: no input: give --csv FILE (- for stdin) or one penguin with --bill-length-mm X --bill-depth-mm X"),
        (["--csv", "-"], "", "error: stdin: file is empty; expected a CSV with a header row"),
        (["--csv", "-"], f"{HEADER}\n", "error: stdin: has a header but no data rows"),
        (["--csv", "-"], f"{GOOD}50,15,x,5000\n", "error: stdin: line 4: column 'flipper_length_mm' has non-numeric value 'x'"),
        (["--csv", "-", "--bill-length-mm", "39"], GOOD, "error: give either --csv FILE or the one-penguin options, not both"),
        (["--bill-length-mm", "39", "--bill-depth-mm", "18"], "", "error: missing --flipper-length-mm, --body-mass-g: "),
        (["--bill-length-mm", "thirty"], "", "error: argument --bill-length-mm: 'thirty' is not a number (see --help)"),
        (["--csv", "-", "--format", "yaml"], GOOD, "error: argument --format: invalid choice: 'yaml'"),
        (["--csv", "-", "--json", "--format", "csv"], GOOD, "error: argument --format: not allowed with argument --json"),
        (["--csv", "no-such.csv"], "", "error: {dir}/no-such.csv: file not found"),
    ],
)
def test_cli_input_errors(
    card_only: Path, args: list[str], stdin: str, message: str,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(card_only.parent)
    status, out, err = cli(["--model", str(card_only), *args], capsys, monkeypatch, stdin)
    assert (status, out) == (1, "")
    assert err.startswith(message.format(dir=card_only.parent)) and err.count("\n") == 1, err
    assert not (card_only.parent / "no-such.csv").exists()


def test_cli_card_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "other.keras"
    status, _, err = cli(["--model", str(model), "--csv", "-"], capsys, monkeypatch, GOOD)
    assert status == 1
    assert err == f"error: {tmp_path}/other.json: model card not found (it names the features and classes of {model}); train with `dvc repro` or pass --card PATH\n"
    (tmp_path / "card.json").write_text("[1, 2]")
    status, _, err = cli(["--model", str(model), "--card", str(tmp_path / "card.json"), "--csv", "-"], capsys, monkeypatch, GOOD)
    assert (status, err) == (1, f"error: {tmp_path}/card.json: not a model card (expected a JSON object with features, target, classes)\n")


def test_cli_help_without_a_card_still_helps(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    status, out, _ = cli(["--model", str(tmp_path / "none.keras"), "--help"], capsys, monkeypatch)
    assert status == 0
    assert "the one-penguin options come from the model card, which cannot be read" in out
    write_json(tmp_path / "none.json", {"features": ["f_1", "f_2"], "target": "t", "classes": ["a", "b"]})
    status, out, _ = cli(["--model", str(tmp_path / "none.keras"), "--help"], capsys, monkeypatch)
    assert status == 0 and "--f-1 VALUE" in out and "--body-mass-g G" not in out


# ---- with real (tiny) Keras models ------------------------------------------------------------


@pytest.fixture(scope="module")
def keras() -> Any:
    return pytest.importorskip("stages.modeling").keras


def tiny_model(keras: Any, n_features: int, n_classes: int, lambda_layer: bool = False) -> Any:
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(n_features,))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs) if lambda_layer else inputs
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))


def save(keras: Any, model: Any, path: Path, card: dict[str, Any]) -> Path:
    model.save(path)
    write_json(path.with_suffix(".json"), card)
    return path


def test_classes_and_options_come_from_the_card(
    keras: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tiny_model(keras, 2, 3)
    path = save(keras, model, tmp_path / "m.keras", {"features": ["width", "height"], "target": "kind", "classes": ["x", "y", "z"]})
    x = np.array([[1.5, -2.0], [-100.0, 3.0]], dtype="float32")  # unknown features: no range check
    expected = model.predict(x, verbose=0)
    status, out, err = cli(["--model", str(path), "--csv", "-", "--json"], capsys, monkeypatch, "height,width\n-2,1.5\n3,-100\n")
    assert (status, err) == (0, "")
    document = json.loads(out)
    assert document["classes"] == ["x", "y", "z"]
    assert [p["predicted"] for p in document["predictions"]] == [["x", "y", "z"][i] for i in expected.argmax(axis=1)]
    assert [list(p["probabilities"].values()) for p in document["predictions"]] == expected.astype("float64").tolist()
    status, out, err = cli(["--model", str(path), "--width", "1.5", "--height", "-2"], capsys, monkeypatch)
    assert (status, err) == (0, "")
    assert out.splitlines()[0].split() == ["row", "predicted", "x", "y", "z"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        ("lambda", "refused by Keras safe mode, the model carries Python code that would run on loading (Requested the deserialization of a `Lambda` layer"),
        ("text", "cannot load as a Keras model"),
        ("narrow", "takes 3 features but the card {card} lists 4 (bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g); the model was trained on other features"),
        ("classes", "outputs (None, 2) but the card {card} lists 3 classes (Adelie, Chinstrap, Gentoo)"),
    ],
)
def test_cli_refuses_unusable_models(
    keras: Any, tmp_path: Path, make: str, message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.keras"
    if make == "text":
        path.write_text("not a zip")
        write_json(path.with_suffix(".json"), CARD_JSON)
    else:
        shape = {"lambda": (4, 3), "narrow": (3, 3), "classes": (4, 2)}[make]
        save(keras, tiny_model(keras, *shape, lambda_layer=make == "lambda"), path, CARD_JSON)
    status, out, err = cli(["--model", str(path), "--csv", "-"], capsys, monkeypatch, GOOD)
    assert (status, out) == (1, "")
    assert err.startswith(f"error: {path}: {message.format(card=path.with_suffix('.json'))}") and err.count("\n") == 1, err


def test_load_model_refuses_lambda_in_safe_mode(keras: Any, tmp_path: Path) -> None:
    from stages.modeling import load_model

    path = tmp_path / "lambda.keras"
    tiny_model(keras, 4, 3, lambda_layer=True).save(path)
    with pytest.raises(PipelineError, match=r"lambda.keras: refused by Keras safe mode"):
        load_model(path)
