"""params.yaml validation: the defaults are the lesson's, and every bad value is named in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stages.common import Params, PipelineError, load_params, parse_params


def test_defaults_are_the_lessons(default_params: Params) -> None:
    assert default_params.data.features == ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
    assert default_params.data.classes == ("Adelie", "Chinstrap", "Gentoo")
    assert (default_params.split.test_size, default_params.split.random_state) == (0.2, 0)
    assert default_params.split.shuffle and default_params.split.stratify
    train = default_params.train
    assert (train.hidden_units, train.activation, train.epochs, train.learning_rate) == ((10,), "relu", 100, 0.001)
    assert default_params.fetch.source == "package"


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("split", "test_size", 1.5, "split.test_size must be a number in (0, 1), got 1.5"),
        ("split", "test_size", 0, "split.test_size must be a number in (0, 1)"),
        ("split", "random_state", -1, "split.random_state must be an integer >= 0"),
        ("split", "shuffle", "yes", "split.shuffle must be true or false, got 'yes'"),
        ("train", "epochs", 0, "train.epochs must be an integer >= 1, got 0"),
        ("train", "epochs", 10.5, "train.epochs must be an integer >= 1, got 10.5"),
        ("train", "seed", 1.5, "train.seed must be an integer >= 0, got 1.5"),
        ("train", "seed", "abc", "train.seed must be an integer >= 0, got 'abc'"),
        ("train", "batch_size", True, "train.batch_size must be an integer >= 1, got True"),
        ("train", "activation", "relux", "train.activation must be one of relu,"),
        ("train", "learning_rate", -0.1, "train.learning_rate must be a number in (0, 10]"),
        ("train", "learning_rate", float("nan"), "train.learning_rate must be a number"),
        ("train", "validation_split", 1.0, "train.validation_split must be a number in [0, 1)"),
        ("train", "hidden_units", [], "train.hidden_units must be an integer or a non-empty list of integers >= 1"),
        ("train", "hidden_units", [10, 0], "train.hidden_units must be an integer or a non-empty list"),
        ("train", "normalize", 1, "train.normalize must be true or false, got 1"),
        ("data", "features", [], "data.features must be a non-empty list of distinct names"),
        ("data", "features", ["a", "a"], "data.features must be a non-empty list of distinct names"),
        ("data", "classes", ["Adelie"], "data.classes needs at least 2 classes"),
        ("data", "target", "bill_length_mm", "data.target 'bill_length_mm' must not also be listed in data.features"),
        ("fetch", "source", "ftp", "fetch.source must be one of package, url, got 'ftp'"),
        ("fetch", "sha256", "abc", "fetch.sha256 must be 64 hex digits"),
        ("check", "metric_tolerance", -0.1, "check.metric_tolerance must be a number in [0, 1], got -0.1"),
    ],
)
def test_bad_value_is_named(raw_params: dict[str, Any], section: str, key: str, value: Any, message: str) -> None:
    raw_params[section][key] = value
    with pytest.raises(PipelineError) as err:
        parse_params(raw_params)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_key_is_a_typo(raw_params: dict[str, Any]) -> None:
    raw_params["train"]["epoch"] = 5
    with pytest.raises(PipelineError, match=r"unknown param train\.epoch \(known in 'train': "):
        parse_params(raw_params)


def test_missing_key_and_section(raw_params: dict[str, Any]) -> None:
    del raw_params["train"]["seed"]
    with pytest.raises(PipelineError, match=r"train\.seed must be set, got '<missing>'"):
        parse_params(raw_params)
    del raw_params["split"]
    with pytest.raises(PipelineError, match="section 'split' is missing"):
        parse_params(raw_params)


def test_url_source_requires_sha256(raw_params: dict[str, Any]) -> None:
    raw_params["fetch"]["source"] = "url"
    with pytest.raises(PipelineError, match="fetch.sha256 is required"):
        parse_params(raw_params)


def test_stratify_needs_shuffle(raw_params: dict[str, Any]) -> None:
    raw_params["split"]["shuffle"] = False
    with pytest.raises(PipelineError, match="stratify: true needs split.shuffle: true"):
        parse_params(raw_params)


def test_single_hidden_size_is_a_list_of_one(raw_params: dict[str, Any]) -> None:
    raw_params["train"]["hidden_units"] = 16
    assert parse_params(raw_params).train.hidden_units == (16,)


def test_unreadable_params_file(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="params.yaml not found"):
        load_params(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("train: [unclosed\n")
    with pytest.raises(PipelineError, match="params.yaml is not valid YAML"):
        load_params(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("- a list\n")
    with pytest.raises(PipelineError, match="expected a mapping of sections"):
        load_params(tmp_path / "params.yaml")
