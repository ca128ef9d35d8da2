"""params.yaml as pydantic models: the one place where params are read and validated.

Strict types (no "yes" for true, no 10.5 for an integer, no true for a number), unknown keys refused, bounds
and cross-field rules; every problem becomes one line naming the key and the bad value, e.g.
`params.yaml: train.epochs must be greater than or equal to 1, got 0`.

The file is read exactly as DVC reads it (penguins.yamlio), so that the stages and DVC never disagree about a
value; a stage run by DVC also refuses a file rewritten since validate_params checked it (penguins.guards).

A new hyperparameter: a field of TrainParams here, its value in params.yaml, its use in penguins/modeling.py
(docs/development.md has the whole path).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from penguins.errors import Hint, PipelineError, distinct_names, one_line
from penguins.guards import check_validated
from penguins.paths import PARAMS_FILE
from penguins.yamlio import loads_yaml, refuse_aliases

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
# A class label as the data file has it: text, or an integer or boolean code (1, 2, 3; true/false).
Label = bool | int | str
CLASSES_MAX = 10_000  # metrics/metrics.json (git-tracked) has a line of scores per class: 10,000 are about 1 MB
Labels = Annotated[
    tuple[bool | int | Name, ...],
    Field(min_length=2, max_length=CLASSES_MAX, strict=False),
    Hint("metrics/metrics.json, tracked by git, scores every class"),
]
Names = Annotated[tuple[Name, ...], Field(min_length=1, strict=False)]  # YAML lists arrive as lists
Fraction = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=1)]
SEED_MAX = 2**32 - 1  # NumPy's and scikit-learn's seeds are 32-bit: a larger one was a traceback in train
Seed = Annotated[int, Field(ge=0, le=SEED_MAX), Hint("NumPy and scikit-learn take 32-bit seeds")]
# Upper bounds: far above anything this data set needs, low enough that a typo (an extra 0, a 1e9) is refused in
# validate_params instead of training for hours. Each says why when it refuses; README "Params" lists them.
UNITS_MAX, LAYERS_MAX = 1024, 8
MAX_MB_LIMIT = 20_000  # fetch.max_mb's bound: 20 GB, far above any table this pipeline reads in memory


def label_key(value: Any) -> str:
    """How a class label is compared: as text, so that a label column read as text ("1", "NA", "True") matches
    data.classes written naturally in params.yaml (1, 'NA', true); true/false match in any case."""
    value = value.item() if hasattr(value, "item") else value  # a NumPy scalar
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    return text.lower() if text.lower() in ("true", "false") else text


def _one_or_many(value: Any) -> Any:
    """hidden_units: a single integer means one hidden layer."""
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


def _url(value: str) -> str:
    """http(s)://host/... or file:///absolute/path: anything else fails here, before DVC deletes data/raw."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https", "file"):
        raise ValueError(
            f"fetch.url must start with http://, https:// or file://, got {value!r}; "
            "download other sources yourself and use a file:// URL"
        )
    if parts.scheme == "file" and parts.netloc not in ("", "localhost"):
        raise ValueError(
            f"fetch.url {value!r} reads as host {parts.netloc!r}, path {parts.path!r}: a file:// URL takes an "
            "absolute path, three slashes: file:///home/me/penguins.csv"
        )
    if parts.scheme != "file" and not parts.hostname:
        raise ValueError(f"fetch.url {value!r} has no host name")
    return value


def _sha256(value: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise ValueError(f"fetch.sha256 must be 64 hex digits (sha256sum of the file), got {value!r}")
    return value.lower()


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class FetchParams(Section):
    source: Literal["package", "url"]
    url: Annotated[Name, AfterValidator(_url)]
    sha256: Annotated[str, AfterValidator(_sha256)] | None
    timeout_s: Annotated[
        float,
        Field(gt=0, le=600, allow_inf_nan=False),
        Hint("the whole download must finish within it; download a slower file yourself and use a file:// URL"),
    ]
    max_mb: Annotated[
        int,
        Field(ge=1, le=MAX_MB_LIMIT),
        Hint("a larger download is refused; download it yourself and use a file:// URL, or split the data"),
    ]

    @model_validator(mode="after")
    def _url_needs_checksum(self) -> Self:
        if self.source == "url" and self.sha256 is None:
            raise ValueError("fetch.source is 'url' so fetch.sha256 is required (sha256sum of the file)")
        return self


def label_kind(value: Any) -> str | None:
    """What a class label in params.yaml is: "text", "integers" or "booleans"; "a decimal number" for a float
    (refused: no label column is read as floats); None for anything else (pydantic says what is wrong)."""
    if isinstance(value, bool):
        return "booleans"
    if isinstance(value, int):
        return "integers"
    if isinstance(value, str):
        return "text"
    return "a decimal number" if isinstance(value, float) else None


class DataParams(Section):
    features: Names
    target: Name
    classes: Labels

    @model_validator(mode="before")
    @classmethod
    def _one_kind_of_label(cls, raw: Any) -> Any:
        """data.classes are all text, all integers or all booleans: a mixed list is refused here (NumPy would turn
        [1, 'x'] into text and 1 == true would make [0, 1, true] name one class twice), and so is a float."""
        classes = raw.get("classes") if isinstance(raw, dict) else None
        if not isinstance(classes, list):
            return raw
        kinds = [label_kind(value) for value in classes]
        if "a decimal number" in kinds:
            i = kinds.index("a decimal number")
            value = classes[i]
            whole = f"write {int(value)} if the data codes classes as integers, or " if value.is_integer() else ""
            raise ValueError(
                f"data.classes[{i}] is {value!r}, a decimal number; labels are text, integers or booleans: "
                f"{whole}quote it ('{value}') as the data file writes it"
            )
        named = sorted({kind for kind in kinds if kind is not None})
        if len(named) > 1:
            raise ValueError(
                f"data.classes mixes {' and '.join(named)} ({', '.join(map(repr, classes))}); labels are all text, "
                "all integers or all booleans: quote every one (e.g. '1', 'x') to match them as text"
            )
        return raw

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        distinct_names(self.features, "data.features")
        distinct_names(tuple(map(label_key, self.classes)), "data.classes")  # 1 and '1' are one label
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
        kind = "a list" if isinstance(raw, list) else f"a {type(raw).__name__}" if raw is not None else "empty"
        raise PipelineError(f"{source}: expected a mapping of sections ({section_names()}), got {kind}")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        raise PipelineError(one_line(exc, Params, source)) from None


def load_params(path: Path = PARAMS_FILE, checked: bool = True) -> Params:
    """Read and validate params.yaml (every section, so a bad value fails the first stage that runs); with
    ``checked`` (every stage but validate_params), refuse a file changed since validate_params checked it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError(f"{path.name} not found at {path}; run from a checkout of the project") from None
    except UnicodeDecodeError as exc:
        raise PipelineError(f"{path.name}: not UTF-8 text (byte {exc.start}); re-save it as UTF-8") from None
    refuse_aliases(text, path.name)
    raw = loads_yaml(text, path.name)
    params = parse_params(raw, path.name)
    if checked:
        check_validated(raw, path)
    return params
