"""Upper bounds of the numeric params (penguins/params.py): an implausible value (a typo, an extra zero) is refused
in validate_params with one line that says why, instead of training for hours or failing deep in a stage."""

from __future__ import annotations

from typing import Any

import pytest

from penguins.errors import PipelineError
from penguins.params import parse_params
from tests.helpers.faults import message_of
from tests.unit.test_params import ROOT_PARAMS, refusal

TOO_LARGE = [
    (
        "train",
        "epochs",
        1_000_000_000,
        "train.epochs must be less than or equal to 10000, got 1000000000; "
        "the lesson trains 100 epochs (a few seconds); 10000 take minutes, more is most likely a typo",
    ),
    (
        "train",
        "hidden_units",
        [10, 5000],
        "train.hidden_units[1] must be less than or equal to 1024, got 5000; "
        "the lesson has one layer of 10 units; up to 8 layers of up to 1024 units are accepted",
    ),
    (
        "train",
        "hidden_units",
        [4] * 9,
        "train.hidden_units must have at most 8 items, got [4, 4, 4, 4, 4, 4, 4, 4, 4]; "
        "the lesson has one layer of 10 units; up to 8 layers of up to 1024 units are accepted",
    ),
    (
        "train",
        "learning_rate",
        5.0,
        "train.learning_rate must be less than or equal to 1, got 5.0; Adam's useful rates are about 0.0001 to 0.1",
    ),
    (
        "train",
        "batch_size",
        1_000_000,
        "train.batch_size must be less than or equal to 65536, got 1000000; "
        "a batch larger than the training rows is one batch per epoch anyway",
    ),
    (
        "train",
        "seed",
        2**32,
        "train.seed must be less than or equal to 4294967295, got 4294967296; NumPy and scikit-learn take 32-bit seeds",
    ),
    (
        "split",
        "random_state",
        2**40,
        "split.random_state must be less than or equal to 4294967295, got 1099511627776; "
        "NumPy and scikit-learn take 32-bit seeds",
    ),
    (
        "fetch",
        "timeout_s",
        3600,
        "fetch.timeout_s must be less than or equal to 600, got 3600; "
        "the whole download must finish within it; download a slower file yourself and use a file:// URL",
    ),
]


@pytest.mark.parametrize(("section", "key", "value", "message"), TOO_LARGE)
def test_implausibly_large_values_are_refused_with_a_hint(
    raw_params: dict[str, Any], section: str, key: str, value: Any, message: str
) -> None:
    assert refusal(raw_params, section, key, value) == f"params.yaml: {message}"


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("train", "epochs", 10_000),
        ("train", "hidden_units", [1024] * 8),
        ("train", "learning_rate", 1.0),
        ("train", "seed", 2**32 - 1),
        ("split", "random_state", 2**32 - 1),
        ("train", "batch_size", 65_536),
    ],
)
def test_the_bounds_themselves_are_accepted(raw_params: dict[str, Any], section: str, key: str, value: Any) -> None:
    raw_params[section][key] = value
    parse_params(raw_params)


def test_a_lower_bound_says_no_upper_bound_hint(raw_params: dict[str, Any]) -> None:
    raw_params["train"]["epochs"] = 0
    with pytest.raises(PipelineError) as err:
        parse_params(raw_params)
    assert str(err.value) == "params.yaml: train.epochs must be greater than or equal to 1, got 0"


def test_too_many_classes_are_refused_in_one_short_line(raw_params: dict[str, Any]) -> None:
    """metrics/metrics.json, tracked by git, has a line per class: data.classes is bounded (issue 29)."""
    raw_params["data"]["classes"] = [f"c{i}" for i in range(10_001)]
    with pytest.raises(PipelineError) as err:
        parse_params(raw_params)
    assert str(err.value) == (
        "params.yaml: data.classes must have at most 10000 items, got 10001 items; "
        "metrics/metrics.json, tracked by git, scores every class"
    )


def test_max_mb_is_checked_like_the_other_params() -> None:
    raw = ROOT_PARAMS | {"fetch": {**ROOT_PARAMS["fetch"], "max_mb": 50_000}}
    assert message_of(parse_params, raw).startswith("params.yaml: fetch.max_mb must be less than or equal to 20000")
