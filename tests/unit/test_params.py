"""params.yaml as pydantic models (penguins/params.py): the defaults are the lesson's, types are strict, unknown
keys and broken cross-field rules are refused, and every problem is one line naming the key and the value."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from penguins.errors import PipelineError
from penguins.params import Params, load_params, parse_params
from penguins.yamlio import read_yaml
from tests.conftest import ROOT
from tests.helpers.faults import message_of

TRAIN_KEYS = (
    "hidden_units, activation, normalize, learning_rate, epochs, batch_size, validation_split, seed, op_determinism"
)


def test_defaults_are_the_lessons_but_the_swept_learning_rate(default_params: Params) -> None:
    """The lesson's data, split and network; the learning rate is 0.01, chosen by a validation sweep (README)."""
    assert default_params.data.features == ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
    assert default_params.data.classes == ("Adelie", "Chinstrap", "Gentoo")
    split = default_params.split
    assert (split.test_size, split.random_state, split.shuffle, split.stratify) == (0.2, 0, True, True)
    train = default_params.train
    assert (train.hidden_units, train.activation, train.epochs, train.learning_rate) == ((10,), "relu", 100, 0.01)
    assert default_params.fetch.source == "package"


# One row per rule: (section, key, value, the whole message after "params.yaml: ").
BAD_VALUES = [
    # bounds
    ("split", "test_size", 1.5, "split.test_size must be less than 1, got 1.5"),
    ("split", "test_size", 0, "split.test_size must be greater than 0, got 0"),
    ("split", "random_state", -1, "split.random_state must be greater than or equal to 0, got -1"),
    ("train", "epochs", 0, "train.epochs must be greater than or equal to 1, got 0"),
    ("train", "learning_rate", float("nan"), "train.learning_rate must be a finite number, got nan"),
    ("train", "hidden_units", [], "train.hidden_units must have at least 1 item, got []"),
    ("train", "hidden_units", [10, 0], "train.hidden_units[1] must be greater than or equal to 1, got 0"),
    ("data", "classes", ["Adelie"], "data.classes must have at least 2 items, got ['Adelie']"),
    ("data", "target", "", "data.target must have at least 1 character, got ''"),
    # strict types: no float, string or bool for an integer, no "yes" or 1 for a bool, no bool for a number
    ("train", "epochs", 10.5, "train.epochs must be a valid integer, got 10.5"),
    ("train", "seed", "5", "train.seed must be a valid integer, got '5'"),
    ("train", "batch_size", True, "train.batch_size must be a valid integer, got True"),
    ("train", "hidden_units", [10, True], "train.hidden_units[1] must be a valid integer, got True"),
    ("split", "shuffle", "yes", "split.shuffle must be a valid boolean, got 'yes'"),
    ("train", "normalize", 1, "train.normalize must be a valid boolean, got 1"),
    ("check", "metric_tolerance", True, "check.metric_tolerance must be a valid number, got True"),
    ("train", "learning_rate", "0.1", "train.learning_rate must be a valid number, got '0.1'"),
    ("data", "features", "bill_length_mm", "data.features must be a list, got 'bill_length_mm'"),
    ("data", "features", ["bill_length_mm", None], "data.features[1] must be a valid string, got None"),
    # choices and formats
    ("fetch", "source", "ftp", "fetch.source must be 'package' or 'url', got 'ftp'"),
    ("fetch", "sha256", "abc", "fetch.sha256 must be 64 hex digits (sha256sum of the file), got 'abc'"),
    # rules across values
    ("data", "features", ["a", "b", "a"], "data.features must be distinct names, 'a' is listed twice"),
    ("data", "target", "bill_length_mm", "data.target 'bill_length_mm' must not also be listed in data.features"),
    ("fetch", "source", "url", "fetch.source is 'url' so fetch.sha256 is required (sha256sum of the file)"),
    (
        "split",
        "shuffle",
        False,
        "split.stratify: true needs split.shuffle: true (scikit-learn cannot stratify unshuffled)",
    ),
]


@pytest.mark.parametrize(("section", "key", "value", "message"), BAD_VALUES)
def test_bad_value_is_named_in_one_line(
    raw_params: dict[str, Any], section: str, key: str, value: Any, message: str
) -> None:
    assert refusal(raw_params, section, key, value) == f"params.yaml: {message}"


def refusal(raw_params: dict[str, Any], section: str, key: str, value: Any) -> str:
    """The one-line error for params.yaml with ``section.key`` set to ``value``."""
    raw_params[section][key] = value
    with pytest.raises(PipelineError) as err:
        parse_params(raw_params)
    return str(err.value)


def test_activation_names_every_choice(raw_params: dict[str, Any]) -> None:
    raw_params["train"]["activation"] = "relux"
    with pytest.raises(PipelineError) as err:
        parse_params(raw_params)
    assert str(err.value).startswith("params.yaml: train.activation must be 'relu', 'relu6', ")
    assert str(err.value).endswith(" or 'linear', got 'relux'")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p["train"].update(epoch=5), f"unknown key train.epoch (known in 'train': {TRAIN_KEYS})"),
        (lambda p: p.update(extra={}), "unknown key extra (known: fetch, data, explore, split, train, check)"),
        (lambda p: p["train"].pop("seed"), "train.seed must be set"),
        (lambda p: p.pop("split"), "split must be set"),
        (lambda p: p.update(train=[1]), "train must be a mapping, got [1]"),
    ],
)
def test_unknown_and_missing_keys(raw_params: dict[str, Any], edit: Any, message: str) -> None:
    edit(raw_params)
    with pytest.raises(PipelineError) as err:
        parse_params(raw_params)
    assert str(err.value) == f"params.yaml: {message}"


def test_lenient_where_it_helps(raw_params: dict[str, Any]) -> None:
    """A single hidden size is one layer, an integer is a number, a checksum's case does not matter."""
    raw_params["train"]["hidden_units"] = 16
    raw_params["train"]["learning_rate"] = 1
    raw_params["fetch"].update(source="url", sha256="AB" * 32)
    params = parse_params(raw_params)
    assert params.train.hidden_units == (16,)
    assert params.train.learning_rate == 1.0
    assert isinstance(params.train.learning_rate, float)
    assert params.fetch.sha256 == "ab" * 32


def test_params_are_immutable(default_params: Params) -> None:
    with pytest.raises(ValueError, match="frozen"):
        default_params.train.epochs = 5


def test_unreadable_params_file(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    with pytest.raises(PipelineError) as err:
        load_params(path)
    assert str(err.value) == f"params.yaml not found at {path}; run from a checkout of the project"
    path.write_text("train: [unclosed\n")
    with pytest.raises(PipelineError, match=r"^params\.yaml is not valid YAML: "):
        load_params(path)
    path.write_text("- a list\n")
    with pytest.raises(
        PipelineError, match=r"^params\.yaml: expected a mapping of sections \(fetch, data, explore, split, "
    ):
        load_params(path)


ROOT_PARAMS = read_yaml(ROOT / "params.yaml")


def with_classes(classes: list[Any]) -> dict[str, Any]:
    raw = copy.deepcopy(ROOT_PARAMS)
    raw["data"]["classes"] = classes
    return raw


# ---- data.classes: one kind of label; a float named as such -----------------------------------


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        (
            [1, "x"],
            "params.yaml: data.classes mixes integers and text (1, 'x'); labels are all text, all integers or all "
            "booleans: quote every one (e.g. '1', 'x') to match them as text",
        ),
        (
            [0, 1, True],  # 1 == True: encode said "Categorical categories must be unique"
            "params.yaml: data.classes mixes booleans and integers (0, 1, True); labels are all text, all integers "
            "or all booleans: quote every one (e.g. '1', 'x') to match them as text",
        ),
        (
            [1.0, 2.0],
            "params.yaml: data.classes[0] is 1.0, a decimal number; labels are text, integers or booleans: write 1 "
            "if the data codes classes as integers, or quote it ('1.0') as the data file writes it",
        ),
        (
            ["a", 2.5],
            "params.yaml: data.classes[1] is 2.5, a decimal number; labels are text, integers or booleans: "
            "quote it ('2.5') as the data file writes it",
        ),
    ],
)
def test_classes_of_one_kind_only(classes: list[Any], message: str) -> None:
    assert message_of(parse_params, with_classes(classes)) == message


@pytest.mark.parametrize("classes", [["Adelie", "Gentoo"], [1, 2, 3], [True, False], ["1", "NA"]])
def test_classes_of_one_kind_are_accepted(classes: list[Any]) -> None:
    assert list(parse_params(with_classes(classes)).data.classes) == classes


# ---- fetch.url: only what fetch can use, refused before DVC deletes data/raw ------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "ftp://example.org/penguins.csv",
            "fetch.url must start with http://, https:// or file://, got 'ftp://example.org/penguins.csv'; "
            "download other sources yourself and use a file:// URL",
        ),
        (
            "file://data/orig.csv",
            "fetch.url 'file://data/orig.csv' reads as host 'data', path '/orig.csv': a file:// URL takes an "
            "absolute path, three slashes: file:///home/me/penguins.csv",
        ),
    ],
)
def test_validate_params_refuses_urls_fetch_cannot_use(url: str, message: str) -> None:
    """Before DVC deletes data/raw (it did for ftp://, and file://data/orig.csv opened /orig.csv)."""
    raw = ROOT_PARAMS | {"fetch": {**ROOT_PARAMS["fetch"], "url": url}}
    assert message_of(parse_params, raw) == f"params.yaml: {message}"


# ---- a params.yaml that is a list (the alias bomb: tests/unit/test_yamlio.py) -------------------------------


def test_a_params_file_that_is_a_list(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("- fetch\n- data\n")
    assert message_of(load_params, params) == (
        "params.yaml: expected a mapping of sections (fetch, data, explore, split, train, check), got a list"
    )
