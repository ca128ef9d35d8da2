"""The model card (penguins/card.py): a pydantic model of models/model.json, strict, every problem one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from penguins.card import ModelCard, card_path_for, feature_ranges, parse_card, read_card
from penguins.errors import PipelineError

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
