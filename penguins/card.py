"""The model card, models/model.json: what a model expects (features, in input order, and the range of each in the
rows it was fitted on) and says (classes, in output order). Written by train beside the model; read and validated
by evaluate and predict (which checks new values against the ranges).

A card names the model it describes (model_md5: the model file's md5, as in dvc.lock) and the light model
exported from it (light_md5: models/model.safetensors, penguins.light), and carries a checksum of its content:
evaluate and predict refuse a card of another model (another experiment's, a stale copy) or one edited by hand
(reversed classes would turn every Adelie into a Gentoo with exit 0)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from penguins.errors import PipelineError, distinct_names, one_line
from penguins.io import file_md5, read_json
from penguins.params import Labels, Name, label_key
from penguins.paths import resolve

if TYPE_CHECKING:  # predict's light path imports no pandas (docs/benchmarks.md)
    import pandas as pd

Finite = Annotated[float, Field(allow_inf_nan=False)]
Range = Annotated[tuple[Finite, Finite], Field(strict=False)]  # [smallest, largest]; a JSON list


class ModelCard(BaseModel):
    """models/model.json: features in input order, the target's name, the classes in output order and, per feature,
    its smallest and largest value in the rows the model was fitted on (None in cards written before ranges were
    recorded: predict then checks no range)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    features: Annotated[tuple[Name, ...], Field(min_length=1, strict=False)]
    target: Name
    classes: Labels
    ranges: Annotated[dict[Name, Range], Field(strict=False)] | None = None
    model_md5: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = None  # None: a card from before
    light_md5: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = None  # None: no light model (older)
    checksum: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = None  # md5 of the rest: see content_md5

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        distinct_names(self.features, "features")
        distinct_names(tuple(map(label_key, self.classes)), "classes")
        if self.ranges is not None:
            if sorted(self.ranges) != sorted(self.features):
                raise ValueError(f"ranges must name each of the features once ({', '.join(self.features)})")
            for feature, (low, high) in self.ranges.items():
                if low > high:
                    raise ValueError(f"ranges.{feature} must be [smallest, largest], got [{low}, {high}]")
        return self

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def content_md5(self) -> str:
        """md5 of the card's JSON without its checksum (sorted keys, compact): what ``checksum`` must be."""
        content = {key: value for key, value in self.as_json().items() if key != "checksum"}
        return hashlib.md5(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def for_model(self, model: Path, light: Path | None = None) -> ModelCard:
        """This card naming ``model`` and ``light`` (their md5s) and checksummed: what train writes."""
        md5s = {"model_md5": file_md5(resolve(model)), "light_md5": file_md5(resolve(light)) if light else None}
        named = self.model_copy(update={**md5s, "checksum": None})
        return named.model_copy(update={"checksum": named.content_md5()})


def check_card_belongs(card: ModelCard, source: str, model: Path, light: Path | None = None) -> None:
    """Refuse, in one line naming the file to regenerate, a card that is not ``model``'s own (and, given ``light``,
    that light model's): one without model_md5 (older than this check), edited since train wrote it, or naming
    another model file. A missing file is left to the loader's message; a card that names no light model, to the
    caller (predict falls back to Keras)."""
    regenerate = (
        f"regenerate it with `dvc repro train` (or `dvc checkout train` for the committed pair: {model} and its card)"
    )
    if card.model_md5 is None or card.checksum is None:
        raise PipelineError(f"{source}: the card does not name its model (no model_md5/checksum: older); {regenerate}")
    if card.content_md5() != card.checksum:
        raise PipelineError(f"{source}: the card was edited after train wrote it (checksum mismatch); {regenerate}")
    full = resolve(model)
    if full.is_file():
        actual = file_md5(full)
        if actual != card.model_md5:
            raise PipelineError(
                f"{source}: the card describes another model (model_md5 {card.model_md5}, {model} has md5 {actual}); "
                f"{regenerate}, or pass the model's own card (--card)"
            )
    if light is None or card.light_md5 is None or not resolve(light).is_file():
        return
    actual = file_md5(resolve(light))
    if actual != card.light_md5:
        raise PipelineError(
            f"{light}: not the light model of {model} (md5 {actual}, its card {source} names {card.light_md5}); "
            f"regenerate both with `dvc repro train` (or `dvc checkout train` for the committed ones)"
        )


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
