"""params.yaml as pydantic models: the one place where params are read and validated.

Strict types (no "yes" for true, no 10.5 for an integer, no true for a number), unknown keys refused, bounds
and cross-field rules; every problem becomes one line naming the key and the bad value, e.g.
`params.yaml: train.epochs must be greater than or equal to 1, got 0`.

The file is read exactly as DVC reads it (ruamel.yaml's safe loader, YAML 1.2, as DVC's), so that the stages
and DVC never disagree about a value: `1e-3` and the `1e-05` that `dvc exp run -S train.learning_rate=0.00001` writes
are numbers, `yes` is the string 'yes'. PyYAML (YAML 1.1) would read `1e-3` as a string.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from penguins.errors import Hint, PipelineError, distinct_names, one_line
from penguins.paths import PARAMS_FILE

Activation = Literal[
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "mish",
    "sigmoid",
    "hard_sigmoid",
    "tanh",
    "softplus",
    "softsign",
    "exponential",
    "linear",
]
Name = Annotated[str, Field(min_length=1, pattern=r"\S")]
Names = Annotated[tuple[Name, ...], Field(min_length=1, strict=False)]  # YAML lists arrive as lists
Fraction = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=1)]
SEED_MAX = 2**32 - 1  # NumPy's and scikit-learn's seeds are 32-bit: a larger one was a traceback in train
Seed = Annotated[int, Field(ge=0, le=SEED_MAX), Hint("NumPy and scikit-learn take 32-bit seeds")]
# Upper bounds: far above anything this data set needs, low enough that a typo (an extra 0, a 1e9) is refused in
# validate_params instead of training for hours. Each says why when it refuses; README "Params" lists them.
UNITS_MAX, LAYERS_MAX = 1024, 8


def _one_or_many(value: Any) -> Any:
    """hidden_units: a single integer means one hidden layer."""
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


def _sha256(value: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise ValueError(f"fetch.sha256 must be 64 hex digits (sha256sum of the file), got {value!r}")
    return value.lower()


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class FetchParams(Section):
    source: Literal["package", "url"]
    url: Name
    sha256: Annotated[str, AfterValidator(_sha256)] | None
    timeout_s: Annotated[
        float,
        Field(gt=0, le=600, allow_inf_nan=False),
        Hint("the whole download must finish within it; download a slower file yourself and use a file:// URL"),
    ]

    @model_validator(mode="after")
    def _url_needs_checksum(self) -> Self:
        if self.source == "url" and self.sha256 is None:
            raise ValueError("fetch.source is 'url' so fetch.sha256 is required (sha256sum of the file)")
        return self


class DataParams(Section):
    features: Names
    target: Name
    classes: Annotated[tuple[Name, ...], Field(min_length=2, strict=False)]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        distinct_names(self.features, "data.features")
        distinct_names(self.classes, "data.classes")
        if self.target in self.features:
            raise ValueError(f"data.target {self.target!r} must not also be listed in data.features")
        return self


class ExploreParams(Section):
    """explore's pairplot draws at most ``max_points`` rows: a seeded sample, stratified by class, above that.
    The pairplot's cost then stays the same at any data size; data_summary.json still counts every row."""

    max_points: Annotated[int, Field(ge=100, le=100_000)]  # below 100 a class may vanish; above, seconds per 10k
    seed: Seed


class SplitParams(Section):
    test_size: Fraction
    random_state: Seed
    shuffle: bool
    stratify: bool

    @model_validator(mode="after")
    def _stratify_needs_shuffle(self) -> Self:
        if self.stratify and not self.shuffle:
            raise ValueError("split.stratify: true needs split.shuffle: true (scikit-learn cannot stratify unshuffled)")
        return self


class TrainParams(Section):
    hidden_units: Annotated[
        tuple[Annotated[Count, Field(le=UNITS_MAX)], ...],
        Field(min_length=1, max_length=LAYERS_MAX, strict=False),
        BeforeValidator(_one_or_many),
        Hint(
            f"the lesson has one layer of 10 units; up to {LAYERS_MAX} layers of up to {UNITS_MAX} units are accepted"
        ),
    ]
    activation: Activation
    normalize: bool
    learning_rate: Annotated[
        float, Field(gt=0, le=1, allow_inf_nan=False), Hint("Adam's useful rates are about 0.0001 to 0.1")
    ]
    epochs: Annotated[
        int,
        Field(ge=1, le=10_000),
        Hint("the lesson trains 100 epochs (a few seconds); 10000 take minutes, more is most likely a typo"),
    ]
    batch_size: Annotated[
        int, Field(ge=1, le=65_536), Hint("a batch larger than the training rows is one batch per epoch anyway")
    ]
    validation_split: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
    seed: Seed
    op_determinism: bool


class CheckParams(Section):
    metric_tolerance: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class Params(Section):
    fetch: FetchParams
    data: DataParams
    explore: ExploreParams
    split: SplitParams
    train: TrainParams
    check: CheckParams


def section_names() -> str:
    """The sections params.yaml must have, for messages: "fetch, data, explore, split, train, check"."""
    return ", ".join(Params.model_fields)


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate the whole params mapping at once and return typed, immutable params."""
    if not isinstance(raw, dict):
        raise PipelineError(f"{source}: expected a mapping of sections ({section_names()})")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        raise PipelineError(one_line(exc, Params, source)) from None


def read_yaml(path: Path) -> Any:
    """A YAML file (params.yaml, dvc.yaml, dvc.lock) read exactly as DVC reads it (see loads_yaml).
    Raises FileNotFoundError, and PipelineError for invalid YAML."""
    return loads_yaml(path.read_text(encoding="utf-8"), path.name)


def loads_yaml(text: str, source: str = "YAML text") -> Any:
    """YAML text read as DVC reads it (ruamel.yaml's safe loader, YAML 1.2; an empty text is an empty mapping),
    so that a value means here what it means to DVC. Invalid YAML is a one-line PipelineError."""
    from ruamel.yaml import YAML, YAMLError  # imported when a file is read: stages that read none start sooner

    try:
        return YAML(typ="safe").load(text) or {}
    except YAMLError as exc:
        raise PipelineError(f"{source} is not valid YAML: {_yaml_problem(exc)}") from None


def _yaml_problem(exc: BaseException) -> str:
    """ruamel's error as one line: "found duplicate key 'a' (line 2, column 1)"."""
    problem, mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    if not problem:
        return str(exc).strip().splitlines()[0]
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{problem.splitlines()[0].rstrip(' .')}{where}"


def load_params(path: Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml (every section, so a bad value fails the first stage that runs)."""
    try:
        raw = read_yaml(path)
    except FileNotFoundError:
        raise PipelineError(f"{path.name} not found at {path}; run from a checkout of the project") from None
    return parse_params(raw, path.name)
