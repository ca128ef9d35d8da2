"""The model card, models/model.json: what a model expects (features, in input order, and the range of each in the
rows it was fitted on) and says (classes, in output order). Written by train beside the model; read and validated
by evaluate and predict (which checks new values against the ranges)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Self

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from penguins.errors import PipelineError, distinct_names, one_line
from penguins.io import read_json
from penguins.paths import resolve

Name = Annotated[str, Field(min_length=1, pattern=r"\S")]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Range = Annotated[tuple[Finite, Finite], Field(strict=False)]  # [smallest, largest]; a JSON list


class ModelCard(BaseModel):
    """models/model.json: features in input order, the target's name, the classes in output order and, per feature,
    its smallest and largest value in the rows the model was fitted on (None in cards written before ranges were
    recorded: predict then checks no range)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    features: Annotated[tuple[Name, ...], Field(min_length=1, strict=False)]
    target: Name
    classes: Annotated[tuple[Name, ...], Field(min_length=2, strict=False)]
    ranges: Annotated[dict[Name, Range], Field(strict=False)] | None = None

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        for key in ("features", "classes"):
            distinct_names(getattr(self, key), key)
        if self.ranges is not None:
            if sorted(self.ranges) != sorted(self.features):
                raise ValueError(f"ranges must name each of the features once ({', '.join(self.features)})")
            for feature, (low, high) in self.ranges.items():
                if low > high:
                    raise ValueError(f"ranges.{feature} must be [smallest, largest], got [{low}, {high}]")
        return self

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def feature_ranges(rows: pd.DataFrame, features: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Smallest and largest value of each feature in ``rows`` (the rows a model is fitted on), as in the CSV."""
    return {f: (float(rows[f].min()), float(rows[f].max())) for f in features}


def parse_card(raw: Any, source: str) -> ModelCard:
    """Validate a model card's JSON; any problem is one line naming ``source`` and the key."""
    if not isinstance(raw, dict):
        raise PipelineError(f"{source}: not a model card (expected a JSON object with features, target, classes)")
    try:
        return ModelCard.model_validate(raw)
    except ValidationError as exc:
        raise PipelineError(one_line(exc, ModelCard, f"{source}: not a valid model card")) from None


def card_path_for(model: Path) -> Path:
    """The card train writes beside a model: models/model.keras -> models/model.json."""
    return model.with_suffix(".json")


def read_card(path: Path, model: Path) -> ModelCard:
    if not resolve(path).is_file():
        raise PipelineError(
            f"{path}: model card not found (it names the features and classes of {model}); "
            "train with `dvc repro` or pass --card PATH"
        )
    return parse_card(read_json(path), str(path))
