"""predict (penguins/predict.py, predict_input.py, predict_output.py): the options the card defines, every bad
input, the output formats, the model checks (pure functions on tiny in-test data; the CLI in-process, with tiny real
Keras models where one is needed), and the two commands, `python -m penguins.predict` and `penguins-predict`, which
help without TensorFlow. The light model itself: test_predict_light.py.

Messages of other modules (CSV reading, the model card, numeric cells) are said in their own tests; here only
that predict names the file, line and column of the problem, and ends with its own hint."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from penguins import predict
from penguins.card import ModelCard
from penguins.errors import PipelineError
from penguins.io import parse_csv, write_json
from penguins.light import layers_of, light_path_for, to_bytes
from penguins.paths import ROOT
from penguins.predict import check_model_fits_card
from penguins.predict_input import (
    NO_RANGES,
    check_values,
    csv_cell,
    feature_options,
    finite_number,
    option_for,
    plausible_range,
    user_path,
    values_from_csv,
    values_from_options,
)
from penguins.predict_output import Result, render_csv, render_json, render_table, result_table
from penguins.sources import read_package_csv
from tests.helpers.predict import cli
from tools.repo.run import BIN, ENV

FEATURES = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
# The Palmer data set's smallest and largest values (its 342 complete rows), as if the model were fitted on them all.
PALMER_RANGES = {
    "bill_length_mm": (32.1, 59.6),
    "bill_depth_mm": (13.1, 21.5),
    "flipper_length_mm": (172.0, 231.0),
    "body_mass_g": (2700.0, 6300.0),
}
CARD = ModelCard(features=FEATURES, target="species", classes=("Adelie", "Chinstrap", "Gentoo"), ranges=PALMER_RANGES)
CARD_JSON = CARD.as_json()
OPTIONS = feature_options(FEATURES)
HEADER = ",".join(FEATURES)
GOOD = f"{HEADER}\n39.1,18.7,181,3750\n46.5,17.9,192,3500\n"
NEEDS = "the model needs bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g"


@contextlib.contextmanager
def refused(start: str, end: str = "") -> Iterator[None]:
    """Expect a one-line PipelineError that starts with ``start`` and ends with ``end`` (literally)."""
    with pytest.raises(PipelineError) as info:
        yield
    message = str(info.value)
    assert message.startswith(start) and message.endswith(end) and "\n" not in message, message


def frame(text: str) -> pd.DataFrame:
    return parse_csv(io.StringIO(text), "new.csv")


def from_csv(text: str, ignore_extra: bool = False) -> tuple[np.ndarray, list[str]]:
    return values_from_csv(frame(text), CARD, "new.csv", ignore_extra)


# ---- the options the card defines -------------------------------------------------------------


def test_options_come_from_feature_names() -> None:
    assert OPTIONS == {
        "bill_length_mm": "--bill-length-mm",
        "bill_depth_mm": "--bill-depth-mm",
        "flipper_length_mm": "--flipper-length-mm",
        "body_mass_g": "--body-mass-g",
    }
    assert option_for("Wing Span (cm)") == "--wing-span-cm"
    # a name whose option is empty, repeated or one of predict's own gets none (--csv still works)
    assert feature_options(["model", "a_b", "a b", "__", "json", "x"]) == {"a_b": "--a-b", "x": "--x"}
    with refused("the model's feature 'model' has no command-line option (its name clashes); use --csv FILE"):
        values_from_options({"model": 1.0}, ModelCard(features=("model",), target="t", classes=("a", "b")), {})


def test_user_paths_are_relative_to_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert user_path("new.csv") == Path("new.csv")  # shown as typed; resolve() maps it back to ROOT
    monkeypatch.chdir(tmp_path)
    assert user_path("new.csv") == tmp_path / "new.csv"


# ---- input checks -----------------------------------------------------------------------------


def test_good_csv_any_column_order() -> None:
    values, warnings = from_csv("body_mass_g,bill_length_mm,bill_depth_mm,flipper_length_mm\n3750,39.1,18.7,181\n")
    assert values.tolist() == [[39.1, 18.7, 181.0, 3750.0]]  # card order
    assert warnings == []


def test_extra_columns_refused_unless_ignored() -> None:
    text = f"species,{HEADER},island\nAdelie,39.1,18.7,181,3750,Dream\n"
    with refused(
        "new.csv: unexpected column 'species'; the model uses only bill_length_mm, bill_depth_mm, flipper_length_mm, "
        "body_mass_g (remove it, or pass --ignore-extra to ignore such columns)"
    ):
        from_csv(text)
    values, _ = from_csv(text, ignore_extra=True)
    assert values.tolist() == [[39.1, 18.7, 181.0, 3750.0]]


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        # other modules' checks, with predict's hints
        (
            f"{HEADER.replace(',flipper_length_mm', '')}\n39.1,18.7,3750\n",
            "new.csv: missing column 'flipper_length_mm' ",
            NEEDS,
        ),
        (
            f"{GOOD}50,15,220,abc\n",
            "new.csv: line 4: column 'body_mass_g' ",
            "'abc'; every measurement must be a number",
        ),
        # predict's own
        (
            f"{GOOD}50,,220,5000\n",
            "new.csv: line 4: column 'bill_depth_mm' is empty (NA); every measurement is needed",
            "",
        ),
        (f"{GOOD}50,NA,220,5000\n", "new.csv: line 4: column 'bill_depth_mm' is empty (NA)", ""),
        (f"{HEADER}\n39.1,18.7,181\n", "new.csv: line 2: column 'body_mass_g' is empty (NA)", ""),  # a short row
        (
            f"{GOOD}50,15,220,inf\n",
            "new.csv: line 4: column 'body_mass_g' has value inf, not a finite float32 number",
            "; every measurement must be a number",
        ),
        (f"{GOOD}50,15,220,1e39\n", "new.csv: line 4: column 'body_mass_g' has value 1e+39, not a finite float32", ""),
        (
            f"{GOOD}50,-15,220,5000\n",
            "new.csv: line 4: column 'bill_depth_mm' is negative (-15); the model's training rows have 13.1 to 21.5, "
            "all positive",
            "",
        ),
        (f"{GOOD}0,15,220,5000\n", "new.csv: line 4: column 'bill_length_mm' value 0 is not plausible", ""),
        (
            f"{GOOD}50,15,220,5.0\n",  # kilograms instead of grams
            "new.csv: line 4: column 'body_mass_g' value 5 is not plausible: the model's training rows have 2700 to "
            "6300, predict accepts 1350 to 12600; check the unit",
            "",
        ),
        (f"{GOOD}50,15,22.0,5000\n", "new.csv: line 4: column 'flipper_length_mm' value 22 is not plausible", ""),  # cm
        (
            f"{GOOD}50,-15,220,-5\nx,1,1,1\n",
            "new.csv: line 5: column 'bill_length_mm' ",
            "'x'; every measurement must be a number",
        ),
        (f"{GOOD}50,-15,220,-5\n", "new.csv: line 4: column 'bill_depth_mm' is negative", ""),  # first in reading order
    ],
)
def test_bad_csv_values_name_line_and_column(text: str, start: str, end: str) -> None:
    with refused(start, end):
        from_csv(text)


def test_plausible_ranges_hold_the_whole_data_set_without_warnings() -> None:
    palmer = pd.read_csv(io.BytesIO(read_package_csv()))[list(FEATURES)].dropna()
    assert {f: (palmer[f].min(), palmer[f].max()) for f in FEATURES} == PALMER_RANGES
    assert check_values(palmer.to_numpy(), FEATURES, csv_cell("palmer"), PALMER_RANGES) == []
    assert plausible_range(32.1, 59.6) == (16.05, 119.2)  # positive: half the smallest to twice the largest
    assert plausible_range(-4.0, 6.0) == (-14.0, 16.0)  # not all positive: widened by the width on each side
    assert plausible_range(0.0, 0.0) == (0.0, 0.0)  # never varied: that value only (test_predict_light.py)


def test_every_feature_is_checked_against_its_training_range() -> None:
    """A model trained on other columns (the raw data set's 'Body Mass (g)') used to accept 3.75 silently."""
    card = ModelCard(
        features=("Body Mass (g)", "Delta 15 N (o/oo)"),
        target="Species",
        classes=("a", "b"),
        ranges={"Body Mass (g)": (2850.0, 6300.0), "Delta 15 N (o/oo)": (7.6, 10.0)},
    )
    with refused(
        "new.csv: line 2: column 'Body Mass (g)' value 3.75 is not plausible: the model's training rows have 2850 "
        "to 6300, predict accepts 1425 to 12600; check the unit"
    ):
        values_from_csv(frame("Body Mass (g),Delta 15 N (o/oo)\n3.75,8.5\n"), card, "new.csv", False)
    _, warnings = values_from_csv(frame("Body Mass (g),Delta 15 N (o/oo)\n3750,11\n"), card, "new.csv", False)
    assert warnings == [
        "new.csv: line 2: column 'Delta 15 N (o/oo)' value 11 is outside the model's training rows' 7.6 to 10; "
        "the prediction is an extrapolation"
    ]
    signed = ModelCard(features=("z",), target="t", classes=("a", "b"), ranges={"z": (-2.0, 3.0)})
    with refused("new.csv: line 2: column 'z' value -8 is not plausible: the model's training rows have -2 to 3, "):
        values_from_csv(frame("z\n-8\n"), signed, "new.csv", False)


def test_a_card_without_ranges_warns_and_checks_only_numbers() -> None:
    old = ModelCard(features=FEATURES, target="species", classes=CARD.classes)  # written before ranges existed
    values, warnings = values_from_csv(frame(f"{HEADER}\n39.1,18.7,181,3.75\n"), old, "new.csv", False)
    assert values[:, 3].tolist() == [3.75]
    assert warnings == [NO_RANGES]
    assert NO_RANGES.endswith("re-run `dvc repro train` to record them")


def test_out_of_data_set_values_warn() -> None:
    values, warnings = from_csv(f"{HEADER}\n39.1,18.7,181,7000\n62,18.7,181,7500\n65,18.7,181,6400\n")
    assert len(values) == 3
    assert warnings == [
        "new.csv: line 2: column 'body_mass_g' value 7000 is outside the model's training rows' 2700 to 6300 "
        "(as are 2 more rows); the prediction is an extrapolation",
        "new.csv: line 3: column 'bill_length_mm' value 62 is outside the model's training rows' 32.1 to 59.6 "
        "(as is 1 more row); the prediction is an extrapolation",
    ]


def test_one_penguin_from_options() -> None:
    given = {"bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181.0, "body_mass_g": 3750.0}
    values, warnings = values_from_options(given, CARD, OPTIONS)
    assert values.tolist() == [list(given.values())]
    assert warnings == []
    _, warnings = values_from_options({**given, "body_mass_g": 7000.0}, CARD, OPTIONS)
    assert warnings == [
        "--body-mass-g value 7000 is outside the model's training rows' 2700 to 6300; "
        "the prediction is an extrapolation"
    ]
    with refused("--bill-depth-mm is negative (-18.7); the model's training rows have 13.1 to 21.5, all positive"):
        values_from_options({**given, "bill_depth_mm": -18.7}, CARD, OPTIONS)
    with refused(
        "missing --flipper-length-mm, --body-mass-g: one penguin needs all of --bill-length-mm, --bill-depth-mm, "
        "--flipper-length-mm, --body-mass-g (or use --csv FILE)"
    ):
        values_from_options({**given, "flipper_length_mm": None, "body_mass_g": None}, CARD, OPTIONS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "'abc' is not a number"),
        ("nan", "'nan' is not a finite number"),
        ("-inf", "'-inf' is not a finite number"),
    ],
)
def test_option_values_must_be_finite_numbers(text: str, message: str) -> None:
    assert finite_number(" 39.1 ") == 39.1
    with pytest.raises(argparse.ArgumentTypeError) as err:
        finite_number(text)
    assert str(err.value) == message


# ---- model checks and output ------------------------------------------------------------------


def test_model_must_fit_its_card() -> None:
    check_model_fits_card([(None, 4)], [(None, 3)], CARD, "m.keras", "m.json")
    with refused(
        "m.keras: takes 3 features but the card m.json lists 4 (bill_length_mm, bill_depth_mm, flipper_length_mm, "
        "body_mass_g); the model was trained on other features: pass its own --card or retrain (dvc repro)"
    ):
        check_model_fits_card([(None, 3)], [(None, 3)], CARD, "m.keras", "m.json")
    with refused(
        "m.keras: outputs (None, 2) but the card m.json lists 3 classes (Adelie, Chinstrap, Gentoo); "
        "pass the model's own --card or retrain (dvc repro)"
    ):
        check_model_fits_card([(None, 4)], [(None, 2)], CARD, "m.keras", "m.json")
    with refused(
        "m.keras: takes inputs of shape (None, 4), (None, 4); "
        "predict needs one table of measurements (None, n_features)"
    ):
        check_model_fits_card([(None, 4), (None, 4)], [(None, 3)], CARD, "m.keras", "m.json")


PROBS = np.array([[0.9, 0.06, 0.04], [0.0011, 0.2, 0.7989]], dtype="float32")


def table() -> Result:
    values, _ = from_csv(GOOD)
    return result_table(values, PROBS, CARD.classes)


def test_outputs() -> None:
    assert render_table(table()) == (
        "row  predicted  Adelie  Chinstrap  Gentoo\n"
        "  1  Adelie      0.900      0.060   0.040\n"
        "  2  Gentoo      0.001      0.200   0.799\n"
    )
    written = pd.read_csv(io.StringIO(render_csv(table(), FEATURES)))
    assert list(written.columns) == ["row", *FEATURES, "predicted", "prob_Adelie", "prob_Chinstrap", "prob_Gentoo"]
    assert written["prob_Gentoo"].tolist() == [float(np.float32(0.04)), float(np.float32(0.7989))]  # full precision
    document = json.loads(render_json(table(), CARD, "m.keras"))
    assert document["model"] == "m.keras"
    assert document["classes"] == list(CARD.classes)
    assert document["predictions"][1] == {
        "row": 2,
        "input": {"bill_length_mm": 46.5, "bill_depth_mm": 17.9, "flipper_length_mm": 192.0, "body_mass_g": 3500.0},
        "predicted": "Gentoo",
        "probabilities": {c: float(np.float32(p)) for c, p in zip(CARD.classes, (0.0011, 0.2, 0.7989), strict=True)},
    }


# ---- the CLI, in-process ----------------------------------------------------------------------


@pytest.fixture
def card_only(tmp_path: Path) -> Path:
    """A directory with a model card but no model: input errors are found before the model is loaded."""
    write_json(tmp_path / "model.json", CARD_JSON)
    return tmp_path / "model.keras"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            [],
            "",
            "error: no input: give --csv FILE (- for stdin) or one penguin with --bill-length-mm X --bill-depth-mm X "
            "--flipper-length-mm X --body-mass-g X",
        ),
        (["--csv", "-"], f"{GOOD}50,15,x,5000\n", "error: stdin: line 4: column 'flipper_length_mm' "),
        (
            ["--csv", "-", "--bill-length-mm", "39"],
            GOOD,
            "error: give either --csv FILE or the one-penguin options, not both",
        ),
        (
            ["--bill-length-mm", "39", "--bill-depth-mm", "18"],
            "",
            "error: missing --flipper-length-mm, --body-mass-g: ",
        ),
        (["--bill-length-mm", "thirty"], "", "error: argument --bill-length-mm: 'thirty' is not a number (see --help)"),
        (["--csv", "-", "--format", "yaml"], GOOD, "error: argument --format: invalid choice: 'yaml'"),
        (
            ["--csv", "-", "--json", "--format", "csv"],
            GOOD,
            "error: argument --format: not allowed with argument --json",
        ),
        (["--csv", "no-such.csv"], "", "error: {dir}/no-such.csv: file not found\n"),
    ],
)
def test_cli_input_errors(
    card_only: Path,
    args: list[str],
    stdin: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(card_only.parent)
    status, out, err = cli(["--model", str(card_only), *args], capsys, monkeypatch, stdin)
    assert (status, out) == (1, "")
    assert err.startswith(message.format(dir=card_only.parent)), err
    assert err.count("\n") == 1, err


def test_cli_card_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing or broken card is one line naming it, whether found beside the model or given with --card."""
    model = tmp_path / "other.keras"
    status, _, err = cli(["--model", str(model), "--csv", "-"], capsys, monkeypatch, GOOD)
    assert status == 1
    assert err.startswith(f"error: {tmp_path}/other.json: ") and err.count("\n") == 1, err
    (tmp_path / "card.json").write_text("[1, 2]")
    argv = ["--model", str(model), "--card", str(tmp_path / "card.json"), "--csv", "-"]
    status, _, err = cli(argv, capsys, monkeypatch, GOOD)
    assert status == 1
    assert err.startswith(f"error: {tmp_path}/card.json: ") and err.count("\n") == 1, err


def test_cli_help_without_a_card_still_helps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, out, _ = cli(["--model", str(tmp_path / "none.keras"), "--help"], capsys, monkeypatch)
    assert status == 0
    assert "the one-penguin options come from the model card, which cannot be read" in out
    write_json(tmp_path / "none.json", {"features": ["f_1", "f_2"], "target": "t", "classes": ["a", "b"]})
    status, out, _ = cli(["--model", str(tmp_path / "none.keras"), "--help"], capsys, monkeypatch)
    assert status == 0
    assert "--f-1 VALUE" in out
    assert "--body-mass-g G" not in out  # the option of the default card's feature


# ---- the commands, as users run them: help without TensorFlow ---------------------------------

TWO_FEATURES = {"features": ["f_1", "f_2"], "target": "t", "classes": ["a", "b"]}


def run_logging_imports(command: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run a command with Python's import log on (-X importtime); return it and the top-level packages it imported."""
    proc = subprocess.run(
        command,
        cwd=cwd,
        env={**ENV, "PYTHONPROFILEIMPORTTIME": "1"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    log = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in log}
    assert "penguins" in imported, proc.stderr  # the log was read: an empty one would pass any check below
    return proc, imported


COMMANDS = {
    "python -m penguins.predict": [sys.executable, "-m", "penguins.predict"],
    "penguins-predict": [str(BIN / "penguins-predict")],
}


@pytest.mark.parametrize("name", COMMANDS)
def test_help_lists_the_cards_options_without_tensorflow(name: str, tmp_path: Path) -> None:
    write_json(tmp_path / "m.json", TWO_FEATURES)
    proc, imported = run_logging_imports([*COMMANDS[name], "--model", str(tmp_path / "m.keras"), "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: {name} [-h] ")
    assert "--f-1 VALUE" in proc.stdout
    assert not imported & {"tensorflow", "keras"}


def test_help_from_another_directory_names_the_repositorys_model(tmp_path: Path) -> None:
    """Run elsewhere, the default is still this repository's model (and --help says which file); a relative
    --model is the working directory's."""
    proc = subprocess.run([str(BIN / "penguins-predict"), "--help"], cwd=tmp_path, env=ENV, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert str(ROOT / "models/model.keras") in " ".join(proc.stdout.split())
    assert "relative to the working directory" in proc.stdout
    write_json(tmp_path / "m.json", TWO_FEATURES)  # m.keras itself is missing: its card is found beside it
    proc = subprocess.run([str(BIN / "penguins-predict"), "--model", "m.keras", "--help"], cwd=tmp_path, env=ENV,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)  # fmt: skip
    assert proc.returncode == 0 and "--f-1 VALUE" in proc.stdout, proc.stderr


# ---- with real (tiny) Keras models ------------------------------------------------------------


@pytest.fixture(scope="module")
def keras() -> Any:
    from penguins import modeling  # TensorFlow, for these tests only

    return modeling.keras


def tiny_model(keras: Any, n_features: int, n_classes: int, lambda_layer: bool = False) -> Any:
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(n_features,))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs) if lambda_layer else inputs
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))


def save(model: Any, path: Path, card: dict[str, Any], light: bool = True) -> Path:
    """The model, its light model (unless not ``light``) and its card, naming them as train's does (model_md5,
    light_md5, checksum)."""
    model.save(path)
    if light:
        light_path_for(path).write_bytes(to_bytes(layers_of(model)))
    named = ModelCard.model_validate(card).for_model(path, light_path_for(path) if light else None)
    write_json(path.with_suffix(".json"), named.as_json())
    return path


def test_classes_and_options_come_from_the_card(
    keras: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tiny_model(keras, 2, 3)
    card = {"features": ["width", "height"], "target": "kind", "classes": ["x", "y", "z"]}
    path = save(model, tmp_path / "m.keras", card)
    x = np.array([[1.5, -2.0], [-100.0, 3.0]], dtype="float32")  # a card without ranges: no range check
    expected = model.predict(x, verbose=0)
    status, out, err = cli(
        ["--model", str(path), "--csv", "-", "--json"], capsys, monkeypatch, "height,width\n-2,1.5\n3,-100\n"
    )
    assert (status, err) == (0, f"warning: {NO_RANGES}\n")
    document = json.loads(out)
    assert document["classes"] == ["x", "y", "z"]
    assert [p["predicted"] for p in document["predictions"]] == [["x", "y", "z"][i] for i in expected.argmax(axis=1)]
    light = [list(p["probabilities"].values()) for p in document["predictions"]]  # the light path (default)
    assert np.abs(np.array(light) - expected).max() <= 1e-6
    status, out, err = cli(
        ["--model", str(path), "--keras", "--csv", "-", "--json"], capsys, monkeypatch, "height,width\n-2,1.5\n3,-100\n"
    )
    assert (status, err) == (0, f"warning: {NO_RANGES}\n")
    keras_probabilities = [list(p["probabilities"].values()) for p in json.loads(out)["predictions"]]
    assert keras_probabilities == expected.astype("float64").tolist()  # --keras: Keras' own bits
    status, out, err = cli(["--model", str(path), "--width", "1.5", "--height", "-2"], capsys, monkeypatch)
    assert (status, err) == (0, f"warning: {NO_RANGES}\n")
    assert out.splitlines()[0].split() == ["row", "predicted", "x", "y", "z"]


def message_of(call: Callable[..., Any], *args: Any) -> str:
    with pytest.raises(PipelineError) as err:
        call(*args)
    return str(err.value)


@pytest.mark.parametrize("make", ["lambda", "text", "narrow", "classes"])
def test_cli_refuses_unusable_models(
    keras: Any, tmp_path: Path, make: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --keras, the CLI reports, as its one line, the message of the check that refuses the model (said where
    the check is tested: loading in test_model_stages.py, fitting the card above); the light path's own checks are in
    test_predict_light.py."""
    from penguins.modeling import load_model

    path = tmp_path / "m.keras"
    card = str(path.with_suffix(".json"))
    if make == "text":
        path.write_text("not a zip")
        write_json(path.with_suffix(".json"), CARD.for_model(path).as_json())
        expected = message_of(load_model, path)
    else:
        shape = {"lambda": (4, 3), "narrow": (3, 3), "classes": (4, 2)}[make]
        save(tiny_model(keras, *shape, lambda_layer=make == "lambda"), path, CARD_JSON, light=False)
        expected = (
            message_of(load_model, path)
            if make == "lambda"
            else message_of(check_model_fits_card, [(None, shape[0])], [(None, shape[1])], CARD, str(path), card)
        )
    status, out, err = cli(["--model", str(path), "--keras", "--csv", "-"], capsys, monkeypatch, GOOD)
    assert (status, out, err) == (1, "", f"error: {expected}\n")


# ---- coded labels and Latin-1 input -----------------------------------------------------------


def test_a_card_reports_coded_labels_as_given() -> None:
    from penguins.predict import render, result_table

    card = ModelCard(features=("x",), target="label", classes=(1, 2, 3))
    table = result_table(pd.DataFrame({"x": [1.0]}), pd.DataFrame([[0.1, 0.7, 0.2]]).to_numpy(), card.classes)
    document = json.loads(render(table, "json", card, "m.keras"))
    assert document["classes"] == [1, 2, 3]
    assert document["predictions"][0]["predicted"] == 2
    assert render(table, "table", card, "m.keras").splitlines()[1].split()[:2] == ["1", "2"]


@pytest.mark.parametrize("errors", ["surrogateescape", "strict"])
def test_latin1_on_stdin_is_one_line(errors: str) -> None:
    """sys.stdin decodes bad bytes as surrogates (surrogateescape): pandas failed with UnicodeEncodeError."""
    stdin = io.TextIOWrapper(
        io.BytesIO("bill_length_mm,island\n39.1,Bj\xf8rn\n".encode("latin-1")), encoding="utf-8", errors=errors
    )
    with pytest.raises(PipelineError) as err:
        predict.read_input("-", stdin)
    assert str(err.value) == (
        "stdin: not UTF-8 text (byte 0xf8 at offset 29, e.g. Latin-1 or Windows-1252); pipe it through iconv, "
        "e.g. `iconv -f latin1 -t utf-8 FILE | penguins-predict --csv -`"
    )
