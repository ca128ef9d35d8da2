"""penguins-predict's input: the options the card defines, reading a CSV (bounded), and the checks of every value.

Values are a NumPy matrix (rows x the card's features, float64): one penguin given as options never imports pandas
(~0.3 s of a light prediction's ~0.3 s, docs/benchmarks.md); a CSV is read with pandas (penguins.io.parse_csv).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import select
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from penguins.card import ModelCard
from penguins.errors import PipelineError
from penguins.pathkinds import NOT_FOUND, file_problem
from penguins.paths import ROOT, resolve

if TYPE_CHECKING:
    import pandas as pd

STDIN = "-"
OWN_OPTIONS = (
    "-h",
    "--help",
    "--model",
    "--card",
    "--light",
    "--keras",
    "--csv",
    "--ignore-extra",
    "--format",
    "--json",
)
# predict reads its whole input before answering (a table's columns are aligned over every row): at most this much
# text, ~5 million rows of the lesson's four measurements. `yes 39.1,18.7,181,3750` grew to 16.9 GB without it.
MAX_INPUT_CHARS = 128 * 2**20
PIPE_WAIT = 60.0  # seconds a named pipe given as --csv may stay silent before its first byte (no writer: no hang)

# A feature's range in the training rows comes from the model card (ModelCard.ranges). A value outside it is an
# extrapolation: accepted with a warning. Outside the plausible range derived from it, refused.
Ranges = Mapping[str, tuple[float, float]]
PLAUSIBLE_FACTOR = 2.0  # positive features: plausible = [smallest / 2, largest * 2] (a typo or a wrong unit)
# A feature whose training values span less than this fraction of their magnitude tells the model nothing it can
# use: the model sees float32 inputs (rounded by up to 2**-24 of their magnitude) and its Normalization divides by
# their spread, so below sqrt(float32 epsilon) = 2**-11.5 (~3.5e-4) the inputs' rounding alone moves a scaled value
# by more than ~3.5e-4 of its own size (the table's third decimal), growing without bound as the spread shrinks:
# (5, 5.000001) was a spread of 2 float32 steps, and 5.5 a "confident" answer 500,000 spreads away.
NEAR_CONSTANT = float(np.finfo(np.float32).eps) ** 0.5
NO_RANGES = (
    "the model card has no feature ranges (written before they were recorded), so values are not checked for "
    "plausibility; re-run `dvc repro train` to record them"
)


def option_for(feature: str) -> str:
    """The command-line option of a feature: bill_length_mm -> --bill-length-mm."""
    return "--" + re.sub(r"[^a-z0-9]+", "-", feature.lower()).strip("-")


def feature_options(features: Sequence[str]) -> dict[str, str]:
    """feature -> its option; a name whose option would be empty, repeated or one of predict's own gets none."""
    options: dict[str, str] = {}
    for feature in features:
        option = option_for(feature)
        if option != "--" and option not in OWN_OPTIONS and option not in options.values():
            options[feature] = option
    return options


def user_path(text: str) -> Path:
    """A path typed by the user is relative to the working directory (pipeline paths are relative to the
    repository root); kept relative to the root when inside it, so messages show what was typed."""
    full = Path(text).expanduser().absolute()
    try:
        return full.relative_to(ROOT)
    except ValueError:
        return full


def finite_number(text: str) -> float:
    """argparse type of the one-penguin options."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


# --------------------------------------------------------------------------------------------
# Checks (pure)
# --------------------------------------------------------------------------------------------


def near_constant(low: float, high: float) -> bool:
    """A feature's training values (smallest, largest) that never varied, or by less than the model resolves."""
    return high - low <= NEAR_CONSTANT * max(abs(low), abs(high))


def number(x: float) -> str:
    """Short (%g) where that is exact, else the digits that read back to ``x``."""
    return f"{x:g}" if float(f"{x:g}") == x else repr(x)


def span(low: float, high: float) -> str:
    """ "low to high" with as many digits as it takes to tell them apart (5 to 5.000001, not 5 to 5)."""
    digits = next((d for d in range(6, 17) if f"{low:.{d}g}" != f"{high:.{d}g}"), 17)
    return f"{low:.{digits}g} to {high:.{digits}g}"


def plausible_range(low: float, high: float) -> tuple[float, float]:
    """The range outside which a value is refused, from a feature's smallest and largest training value.

    All positive (sizes, masses, counts): half the smallest to twice the largest, so a negative value or a wrong
    unit (kilograms for grams, cm for mm) is refused. Otherwise, where ratios mean nothing (a temperature, a
    standardised score): the range widened by its own width on each side. A feature that never varied (low ==
    high) admits that value only: the model divides by its zero spread, so any other value gives a confident
    answer that means nothing. So does one whose spread is too small for the model (near_constant): it admits
    the values seen only."""
    if near_constant(low, high):
        return low, high
    if low > 0:
        return low / PLAUSIBLE_FACTOR, high * PLAUSIBLE_FACTOR
    width = high - low
    return low - width, high + width


def problem(feature: str, value: float, ranges: Ranges | None) -> str | None:
    """Why one measurement cannot be used (None if it can), phrased to follow the cell's name."""
    if not math.isfinite(value):
        return (
            "is empty (NA); every measurement is needed" if math.isnan(value) else f"is not a finite number ({value})"
        )
    low, high = ranges[feature] if ranges is not None else (-math.inf, math.inf)
    bounds = plausible_range(low, high)
    if bounds[0] <= value <= bounds[1]:
        return None
    if near_constant(low, high):
        return never_varied(feature, value, low, high)
    if value < 0 and low > 0:
        return f"is negative ({value:g}); the model's training rows have {span(low, high)}, all positive"
    return (
        f"value {value:g} is not plausible: the model's training rows have {span(low, high)}, "
        f"predict accepts {span(*bounds)}; check the unit"
    )


def usable(values: np.ndarray, features: Sequence[str], ranges: Ranges | None) -> np.ndarray:
    """Per cell: finite, and inside its feature's plausible range (if ranges are known)."""
    ok = np.isfinite(values)
    for j, feature in enumerate(features if ranges is not None else ()):
        low, high = plausible_range(*ranges[feature])
        ok[:, j] &= (values[:, j] >= low) & (values[:, j] <= high)
    return ok


def first_problem(values: np.ndarray, features: Sequence[str], ranges: Ranges | None) -> tuple[int, str, str] | None:
    """(row, column, reason) of the first unusable value in reading order (row 0 is the first), or None."""
    bad = ~usable(values, features, ranges)
    if not bad.any():
        return None
    row, column = divmod(int(np.argmax(bad.ravel())), len(features))
    return row, features[column], str(problem(features[column], float(values[row, column]), ranges))


def never_varied(feature: str, value: float, low: float, high: float) -> str:
    if low == high:
        seen, give = f"is {number(low)} in every training row of the model", number(low)
    else:
        seen = f"spans only {span(low, high)} in the model's training rows, too little for the model to resolve"
        give = f"a value from {span(low, high)}"
    return (
        f"value {number(value)} cannot be predicted: {feature} {seen}, so it tells the model nothing and any other "
        f"value gives an answer that means nothing; give {give}, or retrain without {feature} (data.features in "
        "params.yaml)"
    )


@dataclass(frozen=True)
class Extrapolation:
    """Values of one feature outside its range in the training rows (but plausible)."""

    column: str
    count: int
    first_row: int
    first_value: float
    low: float
    high: float


def extrapolations(values: np.ndarray, features: Sequence[str], ranges: Ranges | None) -> list[Extrapolation]:
    """Per feature, the values outside its range in the training rows, in the order of their first row."""
    found = []
    for j, feature in enumerate(features if ranges is not None else ()):
        low, high = ranges[feature]
        outside = (values[:, j] < low) | (values[:, j] > high)
        if outside.any():
            row = int(np.argmax(outside))
            found.append(Extrapolation(feature, int(outside.sum()), row, float(values[row, j]), low, high))
    return sorted(found, key=lambda e: e.first_row)


Locate = Callable[[int, str], str]  # (row, column) -> where that cell is, for messages


def csv_cell(source: str) -> Locate:
    return lambda row, column: f"{source}: line {row + 2}: column {column!r}"


def option_cell(row: int, column: str) -> str:
    return option_for(column)


def check_values(values: np.ndarray, features: Sequence[str], locate: Locate, ranges: Ranges | None) -> list[str]:
    """Raise on the first unusable value; return the warnings (extrapolations, or no ranges), one line each."""
    found = first_problem(values, features, ranges)
    if found is not None:
        row, column, reason = found
        raise PipelineError(f"{locate(row, column)} {reason}")
    return ([NO_RANGES] if ranges is None else []) + [
        f"{locate(e.first_row, e.column)} value {e.first_value:g} "
        f"is outside the model's training rows' {span(e.low, e.high)}"
        + ("" if e.count == 1 else " (as is 1 more row)" if e.count == 2 else f" (as are {e.count - 1} more rows)")
        + "; the prediction is an extrapolation"
        for e in extrapolations(values, features, ranges)
    ]


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def select_features(frame: pd.DataFrame, card: ModelCard, source: str, ignore_extra: bool) -> pd.DataFrame:
    """The card's feature columns in card order; a missing column, or an extra one unless ignore_extra, is an error."""
    from penguins.io import require_columns

    require_columns(frame, card.features, source, hint=f"the model needs {', '.join(card.features)}")
    extra = [str(c) for c in frame.columns if c not in card.features]
    if extra and not ignore_extra:
        raise PipelineError(
            f"{source}: unexpected column {extra[0]!r}; the model uses only {', '.join(card.features)} "
            "(remove it, or pass --ignore-extra to ignore such columns)"
        )
    return frame[list(card.features)]


def values_from_csv(
    frame: pd.DataFrame, card: ModelCard, source: str, ignore_extra: bool
) -> tuple[np.ndarray, list[str]]:
    """Measurements read from a CSV as floats in card order, and the warnings about them."""
    from penguins.tables import to_numeric_features

    features = select_features(frame, card, source, ignore_extra)
    values = to_numeric_features(
        features, card.features, source, hint="every measurement must be a number", column_hint=None
    ).to_numpy("float64")
    return values, check_values(values, card.features, csv_cell(source), card.ranges)


def values_from_options(
    given: Mapping[str, float | None], card: ModelCard, options: Mapping[str, str]
) -> tuple[np.ndarray, list[str]]:
    """The one penguin given as options (every one required), as a one-row matrix in card order."""
    unnamed = [f for f in card.features if f not in options]
    if unnamed:
        raise PipelineError(
            f"the model's feature {unnamed[0]!r} has no command-line option (its name clashes); use --csv FILE"
        )
    missing = [options[f] for f in card.features if given.get(f) is None]
    if missing:
        raise PipelineError(
            f"missing {', '.join(missing)}: one penguin needs all of {', '.join(options.values())} (or use --csv FILE)"
        )
    values = np.array([[given[f] for f in card.features]], dtype=np.float64)
    return values, check_values(values, card.features, option_cell, card.ranges)


class BoundedText:
    """A text stream whose read() returns at most MAX_INPUT_CHARS characters and refuses more in one line."""

    def __init__(self, stream: IO[str], name: str, limit: int = MAX_INPUT_CHARS) -> None:
        self.stream, self.name, self.limit = stream, name, limit

    def read(self, size: int = -1) -> str:
        text = self.stream.read(self.limit + 1)
        if len(text) > self.limit:
            raise PipelineError(
                f"{self.name}: more than {self.limit / 2**20:g} MiB of CSV; predict reads its whole input before "
                f"answering: split it into parts (e.g. `split -l 1000000`) and call predict on each"
            )
        return text


def open_stream(path: Path, kind: str) -> IO[str]:
    """A pipe or device opened for reading as text. A named pipe is opened without waiting for a writer (a plain
    open blocks until one comes), then given PIPE_WAIT seconds for its first byte or its writer's end: a FIFO
    nobody writes to is one line, not a hang. `<(...)`'s writer is already there."""
    if not kind.startswith("a named pipe"):
        return resolve(path).open(encoding="utf-8", errors="surrogateescape", newline="")
    fd = os.open(resolve(path), os.O_RDONLY | os.O_NONBLOCK)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP)
        if not poller.poll(PIPE_WAIT * 1000):
            raise PipelineError(
                f"{path}: a named pipe nobody wrote to in {PIPE_WAIT:g} s; start its writer first, or pipe the "
                "writer into predict (`writer | penguins-predict --csv -`), which waits as long as it takes"
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, encoding="utf-8", errors="surrogateescape", newline="")  # the caller closes it
    except BaseException:
        os.close(fd)
        raise


def read_input(arg: str, stdin: IO[str], limit: int = MAX_INPUT_CHARS) -> tuple[pd.DataFrame, str]:
    """The CSV named by --csv (relative to the working directory; a file, or a pipe such as <(...)), or stdin for -;
    at most ``limit`` characters."""
    from penguins.io import parse_csv

    if arg == STDIN:
        return parse_csv(BoundedText(stdin, "stdin", limit), "stdin"), "stdin"  # type: ignore[arg-type]
    path = user_path(arg)
    kind = file_problem(path)
    if kind == NOT_FOUND:
        raise PipelineError(f"{path}: file not found")
    if kind is None:
        size = resolve(path).stat().st_size
        if size > limit:
            raise PipelineError(
                f"{path}: {size / 2**20:.0f} MiB, more than predict reads at once ({limit / 2**20:g} MiB): split it "
                "into parts (e.g. `split -l 1000000`) and call predict on each"
            )
        return parse_csv(resolve(path), str(path)), str(path)
    if kind.startswith("a named pipe") or kind == "a device":  # process substitution, /dev/stdin: read as a stream
        with open_stream(path, kind) as stream:
            return parse_csv(BoundedText(stream, str(path), limit), str(path)), str(path)  # type: ignore[arg-type]
    if kind.startswith("unreadable"):
        raise PipelineError(f"{path}: {kind}")
    raise PipelineError(f"{path}: is {kind}, not a CSV file; give --csv FILE (- for stdin)")
