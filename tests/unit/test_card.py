"""The model card (penguins/card.py): a pydantic model of models/model.json, strict, every problem one line; it
names the model it describes (md5 and checksum), and predict refuses a card that is not its model's."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from penguins.card import ModelCard, card_path_for, check_card_belongs, feature_ranges, parse_card, read_card
from penguins.errors import PipelineError
from tests.helpers.faults import message_of

CARD_JSON = {"features": ["bill_length_mm", "body_mass_g"], "target": "species", "classes": ["Adelie", "Gentoo"]}


def test_a_card_round_trips_through_json() -> None:
    card = parse_card(CARD_JSON, "m.json")
    assert card == ModelCard(features=("bill_length_mm", "body_mass_g"), target="species", classes=("Adelie", "Gentoo"))
    assert card.as_json() == CARD_JSON  # a card written before ranges were recorded stays valid, without them
    with_ranges = {**CARD_JSON, "ranges": {"bill_length_mm": [32.1, 59.6], "body_mass_g": [2700.0, 6300.0]}}
    assert parse_card(with_ranges, "m.json").ranges == {"bill_length_mm": (32.1, 59.6), "body_mass_g": (2700, 6300)}
    assert parse_card(with_ranges, "m.json").as_json() == with_ranges


def test_feature_ranges_are_the_rows_smallest_and_largest_values() -> None:
    rows = pd.DataFrame({"a": [3.5, -1.0, 2.0], "b": [10.0, 10.0, 10.0], "c": ["x", "y", "z"]})
    assert feature_ranges(rows, ["a", "b"]) == {"a": (-1.0, 3.5), "b": (10.0, 10.0)}


def test_a_card_is_a_json_object() -> None:
    with pytest.raises(PipelineError) as err:
        parse_card(["bill_length_mm"], "m.json")
    assert str(err.value) == "m.json: not a model card (expected a JSON object with features, target, classes)"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {**CARD_JSON, "date": "today"},
            "unknown key date (known: features, target, classes, ranges, model_md5, light_md5, checksum)",
        ),
        (
            {**CARD_JSON, "ranges": {"bill_length_mm": [32.1, 59.6]}},
            "ranges must name each of the features once (bill_length_mm, body_mass_g)",
        ),
        (
            {**CARD_JSON, "ranges": {"bill_length_mm": [32.1, 59.6], "body_mass_g": [6300, 2700]}},
            "ranges.body_mass_g must be [smallest, largest], got [6300.0, 2700.0]",
        ),
        (
            {**CARD_JSON, "ranges": {"bill_length_mm": [32.1], "body_mass_g": [1, 2]}},
            "ranges.bill_length_mm[1] must be set",
        ),
        ({**CARD_JSON, "features": []}, "features must have at least 1 item, got []"),
        ({**CARD_JSON, "classes": ["Adelie", "Adelie"]}, "classes must be distinct names, 'Adelie' is listed twice"),
        ({**CARD_JSON, "classes": ["Adelie"]}, "classes must have at least 2 items, got ['Adelie']"),
        ({**CARD_JSON, "features": ["a", 1]}, "features[1] must be a valid string, got 1"),
        ({**CARD_JSON, "target": ""}, "target must have at least 1 character, got ''"),
        ({key: CARD_JSON[key] for key in ("features", "classes")}, "target must be set"),
    ],
)
def test_parse_card_refuses(raw: Any, message: str) -> None:
    with pytest.raises(PipelineError) as err:
        parse_card(raw, "m.json")
    assert str(err.value) == f"m.json: not a valid model card: {message}"


def test_read_card_beside_the_model(tmp_path: Path) -> None:
    model = tmp_path / "model.keras"
    assert card_path_for(model) == tmp_path / "model.json"
    with pytest.raises(PipelineError) as err:
        read_card(card_path_for(model), model)
    assert str(err.value) == (
        f"{tmp_path}/model.json: model card not found (it names the features and classes of {model}); "
        "train with `dvc repro` or pass --card PATH"
    )
    card_path_for(model).write_text(json.dumps(CARD_JSON))
    assert read_card(card_path_for(model), model).classes == ("Adelie", "Gentoo")


# ---- the card names the model it describes --------------------------------------------------------


CARD = ModelCard(
    features=("bill_length_mm", "body_mass_g"),
    target="species",
    classes=("Adelie", "Chinstrap", "Gentoo"),
    ranges={"bill_length_mm": (32.1, 59.6), "body_mass_g": (2700.0, 6300.0)},
)


@pytest.fixture
def model_and_card(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    model = tmp_path / "model.keras"
    model.write_bytes(b"the model's bytes")  # only its md5 matters here
    return model, CARD.for_model(model).as_json()


def test_train_names_the_model_in_its_card(model_and_card: tuple[Path, dict[str, Any]]) -> None:
    model, card = model_and_card
    assert card["model_md5"] == hashlib.md5(model.read_bytes()).hexdigest()
    check_card_belongs(ModelCard.model_validate(card), "models/model.json", model)  # its own: accepted


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda card, model: card | {"classes": card["classes"][::-1]},  # hand-edited: Adelie -> Gentoo
            "models/model.json: the card was edited after train wrote it (checksum mismatch); "
            "regenerate it with `dvc repro train` (or `dvc checkout train` for the committed pair: ",
        ),
        (
            lambda card, model: model.write_bytes(b"another experiment's model") and card,
            "models/model.json: the card describes another model (model_md5 ",
        ),
        (
            lambda card, model: {k: v for k, v in card.items() if k not in ("model_md5", "checksum")},
            "models/model.json: the card does not name its model (no model_md5/checksum: older); regenerate it",
        ),
    ],
)
def test_a_card_that_is_not_the_models_is_refused(
    model_and_card: tuple[Path, dict[str, Any]], edit: Callable[..., Any], message: str
) -> None:
    model, card = model_and_card
    edited = ModelCard.model_validate(edit(card, model))
    assert message_of(check_card_belongs, edited, "models/model.json", model).startswith(message)


def test_predict_refuses_a_reversed_card_before_predicting(
    model_and_card: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's example: the textbook Adelie came out "Gentoo" with exit 0."""
    from penguins import predict

    model, card = model_and_card
    (model.parent / "model.json").write_text(json.dumps(card | {"classes": card["classes"][::-1]}))
    args = ["--model", str(model), "--bill-length-mm", "39.1", "--body-mass-g", "3750"]
    with pytest.raises(SystemExit) as exit_:
        predict.run_cli(predict.main, args)
    assert exit_.value.code == 1
    err = capsys.readouterr()
    assert err.out == ""
    assert err.err.startswith(f"error: {model.parent / 'model.json'}: the card was edited after train wrote it")
    assert err.err.count("\n") == 1
