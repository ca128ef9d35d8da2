"""Shared plumbing for every stage: paths, validated params, atomic I/O and the CLI wrapper.

Nothing here imports TensorFlow; Keras-specific helpers live in ``stages/modeling.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
PARAMS_FILE = ROOT / "params.yaml"

# What can change TensorFlow's numbers besides code, params and data, pinned here for every stage
# (set before TensorFlow is imported; stages/modeling.py applies the thread counts) and recorded by
# train in metrics/environment.json so that a mismatch on another machine can be explained.
PINNED_ENV = {
    "TF_ENABLE_ONEDNN_OPTS": "0",  # oneDNN reorders float sums by CPU; off gives the same numbers on more CPUs
    "KERAS_BACKEND": "tensorflow",
}
TF_THREADS = {"intra_op": 1, "inter_op": 1}  # sums split across threads can round differently
os.environ.update(PINNED_ENV)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter (not numerics)


class Paths:
    """Every file the pipeline reads or writes, relative to the repository root (as in dvc.yaml)."""

    PARAMS_OK = Path("data/params.ok")
    RAW = Path("data/raw/penguins.csv")
    CLEAN = Path("data/clean/penguins.csv")
    ENCODED = Path("data/encoded/penguins.csv")
    CLASSES = Path("data/encoded/classes.json")
    TRAIN = Path("data/split/train.csv")
    TEST = Path("data/split/test.csv")
    MODEL = Path("models/model.keras")
    MODEL_CARD = Path("models/model.json")
    HISTORY = Path("plots/history.csv")
    TRAIN_METRICS = Path("metrics/train.json")
    ENVIRONMENT = Path("metrics/environment.json")
    METRICS = Path("metrics/metrics.json")
    CONFUSION = Path("plots/confusion.csv")
    PREDICTIONS = Path("data/predictions/test.csv")
    PAIRPLOT = Path("plots/pairplot.png")
    DATA_SUMMARY = Path("metrics/data_summary.json")
    TRAINING_CURVES = Path("plots/training_curves.png")
    CONFUSION_HEATMAP = Path("plots/confusion_heatmap.png")


class PipelineError(Exception):
    """A problem the user can fix (bad input file, bad param). Printed as one line, exit code 1."""


# --------------------------------------------------------------------------------------------
# Params: the one place where params.yaml is read and validated.
# --------------------------------------------------------------------------------------------

KERAS_ACTIVATIONS = (
    "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "mish",
    "sigmoid", "hard_sigmoid", "tanh", "softplus", "softsign", "exponential", "linear",
)  # fmt: skip
FETCH_SOURCES = ("package", "url")


@dataclass(frozen=True)
class FetchParams:
    source: str
    url: str
    sha256: str | None
    timeout_s: float


@dataclass(frozen=True)
class DataParams:
    features: tuple[str, ...]
    target: str
    classes: tuple[str, ...]


@dataclass(frozen=True)
class SplitParams:
    test_size: float
    random_state: int
    shuffle: bool
    stratify: bool


@dataclass(frozen=True)
class TrainParams:
    hidden_units: tuple[int, ...]
    activation: str
    normalize: bool
    learning_rate: float
    epochs: int
    batch_size: int
    validation_split: float
    seed: int
    op_determinism: bool


@dataclass(frozen=True)
class CheckParams:
    metric_tolerance: float


@dataclass(frozen=True)
class Params:
    fetch: FetchParams
    data: DataParams
    split: SplitParams
    train: TrainParams
    check: CheckParams


class _Section:
    """Reads one section of params.yaml, turning every problem into a PipelineError naming the key."""

    def __init__(self, raw: dict[str, Any], name: str, source: str):
        value = raw.get(name)
        if not isinstance(value, dict):
            raise PipelineError(f"{source}: section '{name}' is missing or not a mapping; see README 'Params'")
        self.values, self.name, self.source, self.used = value, name, source, set()

    def _fail(self, key: str, expected: str) -> PipelineError:
        got = self.values.get(key, "<missing>")
        return PipelineError(f"{self.source}: {self.name}.{key} must be {expected}, got {got!r}")

    def get(self, key: str) -> Any:
        self.used.add(key)
        if key not in self.values:
            raise self._fail(key, "set")
        return self.values[key]

    def integer(self, key: str, minimum: int) -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._fail(key, f"an integer >= {minimum}")
        return value

    def number(self, key: str, low: float, high: float, *, low_open: bool, high_open: bool) -> float:
        value = self.get(key)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok:
            ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
        if not ok:
            interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
            raise self._fail(key, f"a number in {interval}")
        return float(value)

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def choice(self, key: str, choices: Sequence[str]) -> str:
        value = self.get(key)
        if value not in choices:
            raise self._fail(key, f"one of {', '.join(choices)}")
        return value

    def string(self, key: str, *, optional: bool = False) -> str | None:
        value = self.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self._fail(key, "a non-empty string" + (" or null" if optional else ""))
        return value

    def string_list(self, key: str) -> tuple[str, ...]:
        value = self.get(key)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
            or len(set(value)) != len(value)
        ):
            raise self._fail(key, "a non-empty list of distinct names")
        return tuple(value)

    def int_list(self, key: str, minimum: int) -> tuple[int, ...]:
        value = self.get(key)
        items = [value] if isinstance(value, int) and not isinstance(value, bool) else value
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in items)
        ):
            raise self._fail(key, f"an integer or a non-empty list of integers >= {minimum}")
        return tuple(items)

    def finish(self) -> None:
        unknown = sorted(set(self.values) - self.used)
        if unknown:
            known = ", ".join(sorted(self.used))
            raise PipelineError(f"{self.source}: unknown param {self.name}.{unknown[0]} (known in '{self.name}': {known})")


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate the whole params mapping at once and return typed, immutable params."""
    if not isinstance(raw, dict):
        raise PipelineError(f"{source}: expected a mapping of sections (fetch, data, split, train, check)")

    s = _Section(raw, "fetch", source)
    fetch = FetchParams(
        source=s.choice("source", FETCH_SOURCES),
        url=s.string("url"),
        sha256=s.string("sha256", optional=True),
        timeout_s=s.number("timeout_s", 0, 600, low_open=True, high_open=False),
    )
    if fetch.sha256 is not None and (len(fetch.sha256) != 64 or not all(c in "0123456789abcdef" for c in fetch.sha256.lower())):
        raise PipelineError(f"{source}: fetch.sha256 must be 64 hex digits, got {fetch.sha256!r}")
    if fetch.source == "url" and fetch.sha256 is None:
        raise PipelineError(f"{source}: fetch.source is 'url' so fetch.sha256 is required (sha256sum of the file)")
    s.finish()

    s = _Section(raw, "data", source)
    data = DataParams(
        features=s.string_list("features"), target=s.string("target"), classes=s.string_list("classes")
    )
    if data.target in data.features:
        raise PipelineError(f"{source}: data.target {data.target!r} must not also be listed in data.features")
    if len(data.classes) < 2:
        raise PipelineError(f"{source}: data.classes needs at least 2 classes, got {list(data.classes)}")
    s.finish()

    s = _Section(raw, "split", source)
    split = SplitParams(
        test_size=s.number("test_size", 0, 1, low_open=True, high_open=True),
        random_state=s.integer("random_state", 0),
        shuffle=s.boolean("shuffle"),
        stratify=s.boolean("stratify"),
    )
    if split.stratify and not split.shuffle:
        raise PipelineError(f"{source}: split.stratify: true needs split.shuffle: true (scikit-learn cannot stratify without shuffling)")
    s.finish()

    s = _Section(raw, "train", source)
    train = TrainParams(
        hidden_units=s.int_list("hidden_units", 1),
        activation=s.choice("activation", KERAS_ACTIVATIONS),
        normalize=s.boolean("normalize"),
        learning_rate=s.number("learning_rate", 0, 10, low_open=True, high_open=False),
        epochs=s.integer("epochs", 1),
        batch_size=s.integer("batch_size", 1),
        validation_split=s.number("validation_split", 0, 1, low_open=False, high_open=True),
        seed=s.integer("seed", 0),
        op_determinism=s.boolean("op_determinism"),
    )
    s.finish()

    s = _Section(raw, "check", source)
    check = CheckParams(metric_tolerance=s.number("metric_tolerance", 0, 1, low_open=False, high_open=False))
    s.finish()
    return Params(fetch=fetch, data=data, split=split, train=train, check=check)


def load_params(path: Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml (every section, so a bad value fails the first stage that runs)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise PipelineError(f"{path.name} not found at {path}; run from a checkout of the project") from None
    except yaml.YAMLError as exc:
        raise PipelineError(f"{path.name} is not valid YAML: {str(exc).splitlines()[0]}") from None
    return parse_params(raw, path.name)


# --------------------------------------------------------------------------------------------
# I/O: outputs are written to a temporary file beside the target and renamed into place.
# --------------------------------------------------------------------------------------------


def resolve(path: Path) -> Path:
    """Paths in this project are relative to the repository root, whatever the working directory."""
    return path if path.is_absolute() else ROOT / path


@contextlib.contextmanager
def atomic_path(path: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds."""
    path = resolve(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix or path.suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: Path, obj: Any) -> None:
    """Stable JSON: sorted keys, two-space indent, trailing newline."""
    write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")


def read_json(path: Path) -> Any:
    full = resolve(path)
    try:
        return json.loads(full.read_text())
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found; run the stage that makes it first (dvc repro)") from None
    except json.JSONDecodeError as exc:
        raise PipelineError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


PARAMS_HINT = "check data.features / data.target in params.yaml"


def parse_csv(source: Path | IO[str], name: str, required: Sequence[str] = (), hint: str = PARAMS_HINT) -> pd.DataFrame:
    """pd.read_csv of a file or an open text stream (e.g. stdin), every problem one PipelineError naming
    ``name``: empty, unreadable, rows wider than the header, a missing ``required`` column, no data rows.
    A missing file raises FileNotFoundError: callers know what to suggest."""
    try:
        frame = pd.read_csv(source)
    except FileNotFoundError:
        raise
    except pd.errors.EmptyDataError:
        raise PipelineError(f"{name}: file is empty; expected a CSV with a header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{name}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    except OSError as exc:
        raise PipelineError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if not isinstance(frame.index, pd.RangeIndex):  # pandas silently turns extra leading fields into an index
        raise PipelineError(
            f"{name}: the data rows have more fields than the header's {frame.shape[1]} names; check the header and the delimiter"
        )
    require_columns(frame, required, name, hint)
    if frame.empty:
        raise PipelineError(f"{name}: has a header but no data rows")
    return frame


def read_csv(path: Path, required: Sequence[str] = ()) -> pd.DataFrame:
    """Read a pipeline CSV, failing clearly if it is missing, empty or lacks one of the ``required`` columns."""
    try:
        return parse_csv(resolve(path), str(path), required)
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found; run the stage that makes it first (dvc repro)") from None


def require_columns(frame: pd.DataFrame, required: Sequence[str], source: str, hint: str = PARAMS_HINT) -> None:
    """Raise naming the first of ``required`` that ``frame`` lacks, ending with ``hint``."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise PipelineError(f"{source}: missing column {missing[0]!r} (has: {', '.join(map(str, frame.columns))}); {hint}")


# --------------------------------------------------------------------------------------------
# The model card: models/model.json, written by train beside the model, read by evaluate and predict.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelCard:
    """models/model.json: what the model expects (features, in input order) and says (classes, in output order)."""

    features: tuple[str, ...]
    target: str
    classes: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"features": list(self.features), "target": self.target, "classes": list(self.classes)}


def parse_card(raw: Any, source: str) -> ModelCard:
    """Validate a model card: distinct non-empty feature names, a target name, at least two distinct classes."""
    if not isinstance(raw, dict):
        raise PipelineError(f"{source}: not a model card (expected a JSON object with features, target, classes)")

    def names(key: str, minimum: int) -> tuple[str, ...]:
        value = raw.get(key)
        if (
            not isinstance(value, list)
            or len(value) < minimum
            or not all(isinstance(v, str) and v.strip() for v in value)
            or len(set(value)) != len(value)
        ):
            raise PipelineError(f"{source}: '{key}' must be a list of at least {minimum} distinct names, got {value!r}")
        return tuple(value)

    features, classes = names("features", 1), names("classes", 2)
    target = raw.get("target")
    if not isinstance(target, str) or not target.strip():
        raise PipelineError(f"{source}: 'target' must be a non-empty name, got {target!r}")
    return ModelCard(features=features, target=target, classes=classes)


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


UNITS = ("mm", "cm", "m", "g", "kg")


def split_unit(column: str) -> tuple[str, str | None]:
    """A column name and its unit suffix, if it has a known one: 'body_mass_g' -> ('body_mass', 'g')."""
    name, _, suffix = column.rpartition("_")
    return (name, suffix) if name and suffix in UNITS else (column, None)


def target_columns(classes: Sequence[str], target: str) -> list[str]:
    """Names of the one-hot columns, in class order (e.g. species_Adelie)."""
    return [f"{target}_{c}" for c in classes]


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


class CliParser(argparse.ArgumentParser):
    """argparse whose usage errors are PipelineErrors: one `error: ...` line and exit status 1, like every other error."""

    def error(self, message: str) -> NoReturn:
        raise PipelineError(f"{message} (see --help)")


def stage_parser(module_doc: str | None, **kwargs: Any) -> CliParser:
    """A parser whose --help shows the module's docstring (inputs, outputs, params); kwargs go to argparse."""
    doc = (module_doc or "").strip()
    summary, _, details = doc.partition("\n")
    script = Path(sys.argv[0])
    if script.parent.name in ("stages", "tools") and script.suffix == ".py":  # usage: python -m stages.train
        kwargs.setdefault("prog", f"python -m {script.parent.name}.{script.stem}")
    return CliParser(
        description=summary,
        epilog=details.strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )


def run_cli(main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None) -> None:
    """Run a stage's main(); a PipelineError becomes one line on stderr and exit status 1."""
    try:
        main(argv)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
