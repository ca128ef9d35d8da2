"""penguins-predict: classify new penguins with the trained model (a command for people and programs, not a stage).

Examples:
  penguins-predict --bill-length-mm 39.1 --bill-depth-mm 18.7 --flipper-length-mm 181 --body-mass-g 3750
  penguins-predict --csv new_penguins.csv
  cat new_penguins.csv | python -m penguins.predict --csv - --json

Model:  --model PATH is relative to the working directory, as every path you type. By default it is the
        model `dvc repro` trained in this repository (models/model.keras of the checkout penguins-predict
        is installed from), whatever directory you run it from. It is loaded with Keras' safe mode on: a
        model that carries Python code (e.g. a Lambda layer) is refused. Its card (--card, default: the .json beside the
        model, written by the train stage) lists the features in input order and the classes in output
        order; the one-penguin options are generated from it.
Input:  --csv FILE (or - for stdin): a header naming the card's features (any order; any other column is
        an error unless --ignore-extra), one penguin per row. Or every one-penguin option, for one penguin.
Checks: refused with the line and column: a missing column, a non-number, an empty (NA) or infinite
        value and, for every feature, a value outside its plausible range, derived from the feature's
        smallest and largest value in the rows the model was fitted on (the card's ranges): half the
        smallest to twice the largest for a feature whose values are all positive (catches negative
        sizes and wrong units), else that range widened by its own width on each side. Accepted with a
        warning on stderr: a value inside the plausible range but outside the training rows' own (the
        prediction is an extrapolation). A card without ranges (written before they were recorded)
        gets a warning and no range checks.
Output: table (default)   row, predicted class and one probability per class (3 decimals)
        --format csv      row, the features, predicted, prob_<class> (full precision; evaluate's file rounds to 4)
        --format json     {"model", "features", "classes", "predictions": [{"row", "input", "predicted",
        (or --json)        "probabilities"}]} with full-precision probabilities
        row is the data row's number: row 1 is line 2 of the CSV file.
Exit:   0 on success; 1 with one `error: ...` line on stderr for any problem.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from penguins import text_table
from penguins.card import ModelCard, card_path_for, check_card_belongs, read_card
from penguins.cli import CliParser, run_cli, stage_parser
from penguins.columns import split_unit
from penguins.errors import PipelineError
from penguins.evaluation import prediction_table
from penguins.io import parse_csv, require_columns
from penguins.paths import ROOT, Paths, resolve
from penguins.tables import csv_line, to_numeric_features

STDIN = "-"
FORMATS = ("table", "json", "csv")
OWN_OPTIONS = ("-h", "--help", "--model", "--card", "--csv", "--ignore-extra", "--format", "--json")

# A feature's range in the training rows comes from the model card (ModelCard.ranges). A value outside it is an
# extrapolation: accepted with a warning. Outside the plausible range derived from it, refused.
Ranges = Mapping[str, tuple[float, float]]
PLAUSIBLE_FACTOR = 2.0  # positive features: plausible = [smallest / 2, largest * 2] (a typo or a wrong unit)
NO_RANGES = (
    "the model card has no feature ranges (written before they were recorded), so values are not checked for "
    "plausibility; re-run `dvc repro train` to record them"
)


# --------------------------------------------------------------------------------------------
# The model card and the options it defines
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Input checks (pure)
# --------------------------------------------------------------------------------------------


def finite_number(text: str) -> float:
    """argparse type of the one-penguin options."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def plausible_range(low: float, high: float) -> tuple[float, float]:
    """The range outside which a value is refused, from a feature's smallest and largest training value.

    All positive (sizes, masses, counts): half the smallest to twice the largest, so a negative value or a wrong
    unit (kilograms for grams, cm for mm) is refused. Otherwise, where ratios mean nothing (a temperature, a
    standardised score): the range widened by its own width on each side (by 1 if all values were equal)."""
    if low > 0:
        return low / PLAUSIBLE_FACTOR, high * PLAUSIBLE_FACTOR
    width = (high - low) or 1.0
    return low - width, high + width


def select_features(frame: pd.DataFrame, card: ModelCard, source: str, ignore_extra: bool) -> pd.DataFrame:
    """The card's feature columns in card order; a missing column, or an extra one unless ignore_extra, is an error."""
    require_columns(frame, card.features, source, hint=f"the model needs {', '.join(card.features)}")
    extra = [str(c) for c in frame.columns if c not in card.features]
    if extra and not ignore_extra:
        raise PipelineError(
            f"{source}: unexpected column {extra[0]!r}; the model uses only {', '.join(card.features)} "
            "(remove it, or pass --ignore-extra to ignore such columns)"
        )
    return frame[list(card.features)]


def problem(feature: str, value: float, ranges: Ranges | None) -> str | None:
    """Why one measurement cannot be used (None if it can), phrased to follow the cell's name."""
    if math.isnan(value):
        return "is empty (NA); every measurement is needed"
    if math.isinf(value):
        return f"is not a finite number ({value})"
    if ranges is None:
        return None
    low, high = ranges[feature]
    bounds = plausible_range(low, high)
    if bounds[0] <= value <= bounds[1]:
        return None
    if value < 0 and low > 0:
        return f"is negative ({value:g}); the model's training rows have {low:g} to {high:g}, all positive"
    return (
        f"value {value:g} is not plausible: the model's training rows have {low:g} to {high:g}, "
        f"predict accepts {bounds[0]:g} to {bounds[1]:g}; check the unit"
    )


def first_problem(values: pd.DataFrame, ranges: Ranges | None) -> tuple[Any, str, str] | None:
    """(row label, column, reason) of the first unusable value in reading order, or None."""
    ok = pd.DataFrame(np.isfinite(values.to_numpy("float64")), index=values.index, columns=values.columns)
    for feature in values.columns:
        if ranges is not None:
            ok[feature] &= values[feature].between(*plausible_range(*ranges[feature]))
    bad_rows = ~ok.all(axis=1)
    if not bad_rows.any():
        return None
    row = bad_rows.idxmax()
    column = str((~ok.loc[row]).idxmax())
    return row, column, str(problem(column, float(values.at[row, column]), ranges))


@dataclass(frozen=True)
class Extrapolation:
    """Values of one feature outside its range in the training rows (but plausible)."""

    column: str
    count: int
    first_row: Any
    first_value: float
    low: float
    high: float


def extrapolations(values: pd.DataFrame, ranges: Ranges | None) -> list[Extrapolation]:
    """Per feature, the values outside its range in the training rows: the model never saw such penguins."""
    found = []
    for feature in values.columns if ranges is not None else ():
        low, high = ranges[feature]
        outside = ~values[feature].between(low, high)
        if outside.any():
            row = outside.idxmax()
            found.append(Extrapolation(feature, int(outside.sum()), row, float(values.at[row, feature]), low, high))
    return found


Locate = Callable[[Any, str], str]  # (row label, column) -> where that cell is, for messages


def csv_cell(source: str) -> Locate:
    return lambda row, column: f"{source}: line {csv_line(row)}: column {column!r}"


def option_cell(row: Any, column: str) -> str:
    return option_for(column)


def check_values(values: pd.DataFrame, locate: Locate, ranges: Ranges | None) -> list[str]:
    """Raise on the first unusable value; return the warnings (extrapolations, or no ranges), one line each."""
    found = first_problem(values, ranges)
    if found is not None:
        row, column, reason = found
        raise PipelineError(f"{locate(row, column)} {reason}")
    return ([NO_RANGES] if ranges is None else []) + [
        f"{locate(e.first_row, e.column)} value {e.first_value:g} "
        f"is outside the model's training rows' {e.low:g} to {e.high:g}"
        + ("" if e.count == 1 else " (as is 1 more row)" if e.count == 2 else f" (as are {e.count - 1} more rows)")
        + "; the prediction is an extrapolation"
        for e in sorted(extrapolations(values, ranges), key=lambda e: values.index.get_loc(e.first_row))
    ]


def values_from_csv(
    frame: pd.DataFrame, card: ModelCard, source: str, ignore_extra: bool
) -> tuple[pd.DataFrame, list[str]]:
    """Measurements read from a CSV as floats in card order, and the warnings about them."""
    features = select_features(frame, card, source, ignore_extra)
    values = to_numeric_features(
        features, card.features, source, hint="every measurement must be a number", column_hint=None
    )
    return values, check_values(values, csv_cell(source), card.ranges)


def values_from_options(
    given: Mapping[str, float | None], card: ModelCard, options: Mapping[str, str]
) -> tuple[pd.DataFrame, list[str]]:
    """The one penguin given as options (every one required), as a one-row frame in card order."""
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
    values = pd.DataFrame({f: [given[f]] for f in card.features}, dtype="float64")
    return values, check_values(values, option_cell, card.ranges)


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


def check_model_fits_card(
    inputs: Sequence[tuple[Any, ...]], outputs: Sequence[tuple[Any, ...]], card: ModelCard, model: str, source: str
) -> None:
    """One input of width len(features) and one output of width len(classes), else the card is not this model's."""
    if len(inputs) != 1 or len(inputs[0]) != 2:
        raise PipelineError(
            f"{model}: takes inputs of shape {', '.join(map(str, inputs))}; "
            "predict needs one table of measurements (None, n_features)"
        )
    if inputs[0][1] != len(card.features):
        raise PipelineError(
            f"{model}: takes {inputs[0][1]} features but the card {source} lists {len(card.features)} "
            f"({', '.join(card.features)}); the model was trained on other features: "
            "pass its own --card or retrain (dvc repro)"
        )
    if len(outputs) != 1 or len(outputs[0]) != 2 or outputs[0][1] != len(card.classes):
        raise PipelineError(
            f"{model}: outputs {', '.join(map(str, outputs))} but the card {source} lists {len(card.classes)} classes "
            f"({', '.join(card.classes)}); pass the model's own --card or retrain (dvc repro)"
        )


def predict(model_path: Path, values: pd.DataFrame, card: ModelCard, card_source: str) -> np.ndarray:
    """Load the model (safe mode), check it against its card, and predict every row in one call."""
    from penguins import modeling  # TensorFlow: imported only once the input is known to be good

    model = modeling.load_model(model_path)

    def shapes(tensors: Sequence[Any] | None) -> list[tuple[Any, ...]]:
        return [tuple(t.shape) for t in tensors or ()]

    check_model_fits_card(
        shapes(getattr(model, "inputs", None)),
        shapes(getattr(model, "outputs", None)),
        card,
        str(model_path),
        card_source,
    )
    # Exactly evaluate's call (in bounded chunks of whole batches): the same rows give the same bits.
    return modeling.predict(model, values[list(card.features)].to_numpy("float32"))


# --------------------------------------------------------------------------------------------
# Output (pure)
# --------------------------------------------------------------------------------------------


def result_table(values: pd.DataFrame, probabilities: np.ndarray, classes: Sequence[str]) -> pd.DataFrame:
    """row (1-based), the features, predicted and prob_<class>: evaluate's prediction table with row numbers."""
    table = prediction_table(values, probabilities, classes)
    table.insert(0, "row", range(1, len(table) + 1))
    return table


def render_table(table: pd.DataFrame, classes: Sequence[str]) -> str:
    """For people: row, predicted and one probability column per class, aligned."""
    header = ["row", "predicted", *map(str, classes)]
    body = [
        [str(row), str(predicted), *(f"{p:.3f}" for p in probs)]
        for row, predicted, *probs in table[["row", "predicted", *(f"prob_{c}" for c in classes)]].itertuples(
            index=False
        )
    ]
    align = ["right", "left", *(["right"] * len(classes))]  # the class name left-aligned, numbers right-aligned
    return text_table.render(header, body, align=align) + "\n"


def render_csv(table: pd.DataFrame) -> str:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def render_json(table: pd.DataFrame, card: ModelCard, model: str) -> str:
    predictions = [
        {
            "row": int(record["row"]),
            "input": {f: float(record[f]) for f in card.features},
            "predicted": as_given(record["predicted"]),  # a coded label stays a number: 2, not "2"
            "probabilities": {str(c): float(record[f"prob_{c}"]) for c in card.classes},
        }
        for record in table.to_dict("records")
    ]
    document = {
        "model": model,
        "features": list(card.features),
        "classes": list(card.classes),
        "predictions": predictions,
    }
    return json.dumps(document, indent=2) + "\n"


def as_given(label: Any) -> Any:
    """A label from a NumPy array as the plain Python value the card has (str, int or bool)."""
    return label.item() if hasattr(label, "item") else label


def render(table: pd.DataFrame, fmt: str, card: ModelCard, model: str) -> str:
    if fmt == "json":
        return render_json(table, card, model)
    if fmt == "csv":
        return render_csv(table)
    return render_table(table, card.classes)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def locate_model(argv: Sequence[str]) -> tuple[Path, Path | None]:
    """--model and --card, read before the full parser (whose options come from the card)."""
    pre = CliParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--model", type=user_path, default=Paths.MODEL)
    pre.add_argument("--card", type=user_path)
    known, _ = pre.parse_known_args(argv)
    return known.model, known.card


def build_parser(card: ModelCard | None, options: Mapping[str, str], card_problem: str | None = None) -> CliParser:
    parser = stage_parser(__doc__, allow_abbrev=False)
    model = parser.add_argument_group("model")
    model.add_argument(
        "--model",
        metavar="PATH",
        type=user_path,
        default=Paths.MODEL,
        help=f"a .keras model, relative to the working directory (default, from any directory: {ROOT / Paths.MODEL})",
    )
    model.add_argument(
        "--card", metavar="PATH", type=user_path, help="its model card (default: the model's path with .json)"
    )
    source = parser.add_argument_group("input: a CSV file, or one penguin as options")
    source.add_argument("--csv", metavar="FILE", help="CSV with a header naming the features; - reads stdin")
    source.add_argument(
        "--ignore-extra", action="store_true", help="ignore columns the model does not use (default: refuse them)"
    )
    if card is None:
        source.description = f"(the one-penguin options come from the model card, which cannot be read: {card_problem})"
    for feature, option in options.items():
        bounds = card.ranges.get(feature) if card and card.ranges else None
        unit = (split_unit(feature)[1] or "value").upper()
        seen = f" (training rows: {bounds[0]:g} to {bounds[1]:g})" if bounds else ""
        source.add_argument(
            option, dest=f"feature {feature}", metavar=unit, type=finite_number, help=f"{feature}{seen}"
        )
    output = parser.add_argument_group("output").add_mutually_exclusive_group()
    output.add_argument(
        "--format", choices=FORMATS, default="table", help="table for people (default), json or csv for programs"
    )
    output.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    return parser


def asks_for_help(argv: Sequence[str]) -> bool:
    before = list(argv)[: list(argv).index("--")] if "--" in argv else argv
    return any(a in ("-h", "--help") for a in before)


def read_input(arg: str, stdin: IO[str]) -> tuple[pd.DataFrame, str]:
    """The CSV named by --csv (relative to the working directory), or stdin for -."""
    if arg == STDIN:
        return parse_csv(stdin, "stdin"), "stdin"
    path = user_path(arg)
    try:
        return parse_csv(resolve(path), str(path)), str(path)
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found") from None


def emit(text: str) -> None:
    """Write to stdout; a reader that stops early (`| head`) is not an error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python exits


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    model_path, card_path = locate_model(argv)
    card_path = card_path or card_path_for(model_path)
    try:
        card: ModelCard | None = read_card(card_path, model_path)
        problem_text = None
    except PipelineError as exc:
        if not asks_for_help(argv):
            raise
        card, problem_text = None, str(exc)
    options = feature_options(card.features) if card else {}
    args = build_parser(card, options, problem_text).parse_args(argv)
    if card is None:  # --help was not what it seemed (e.g. the value of another option)
        raise PipelineError(str(problem_text))

    given = {f: getattr(args, f"feature {f}", None) for f in card.features}
    if args.csv is not None:
        if any(v is not None for v in given.values()):
            raise PipelineError("give either --csv FILE or the one-penguin options, not both")
        frame, source = read_input(args.csv, sys.stdin)
        values, warnings = values_from_csv(frame, card, source, args.ignore_extra)
    elif all(v is None for v in given.values()):
        raise PipelineError(
            "no input: give --csv FILE (- for stdin) or one penguin with "
            + " ".join(f"{option} X" for option in options.values())
        )
    else:
        values, warnings = values_from_options(given, card, options)

    check_card_belongs(card, str(card_path), args.model)  # the card must be this model's own, not a stale copy
    probabilities = predict(args.model, values, card, str(card_path))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    emit(render(result_table(values, probabilities, card.classes), args.format, card, str(args.model)))


def cli() -> None:
    """The `penguins-predict` console script (also `python -m penguins.predict`)."""
    run_cli(main)


if __name__ == "__main__":
    cli()
