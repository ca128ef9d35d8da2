"""penguins-predict: classify new penguins with the trained model (a command for people and programs, not a stage).

Examples:
  penguins-predict --bill-length-mm 39.1 --bill-depth-mm 18.7 --flipper-length-mm 181 --body-mass-g 3750
  penguins-predict --csv new_penguins.csv
  cat new_penguins.csv | python -m penguins.predict --csv - --json

Model:  --model PATH is relative to the working directory, as every path you type. By default it is the
        model `dvc repro` trained in this repository (models/model.keras of the checkout penguins-predict
        is installed from), whatever directory you run it from. Its card (--card, default: the .json beside the
        model, written by the train stage) lists the features in input order and the classes in output
        order; the one-penguin options are generated from it. Predictions come from the light model train
        exported beside it (--light, default: the .safetensors beside the model; NumPy, ~0.3 s), which the card
        binds and evaluate proves equal to the Keras model on the test rows (max |difference| 1e-5); --keras
        predicts with Keras itself (TensorFlow, seconds), loaded with Keras' safe mode on: a model that carries
        Python code (e.g. a Lambda layer) is refused. A card that names no light model (trained before
        they were written) predicts with Keras, with a warning.
Input:  --csv FILE (or - for stdin): a header naming the card's features (any order; any other column is
        an error unless --ignore-extra), one penguin per row. Or every one-penguin option, for one penguin.
        A named pipe is read as a stream; one that sends nothing in 60 s is refused (no writer).
Checks: refused with the line and column: a missing column, a non-number, an empty (NA) or infinite
        value and, for every feature, a value outside its plausible range, derived from the feature's
        smallest and largest value in the rows the model was fitted on (the card's ranges): half the
        smallest to twice the largest for a feature whose values are all positive (catches negative
        sizes and wrong units), else that range widened by its own width on each side. Accepted with a
        warning on stderr: a value inside the plausible range but outside the training rows' own (the
        prediction is an extrapolation). A card without ranges (written before they were recorded)
        gets a warning and no range checks. A feature that never varied in those rows
        (or by less than ~3.5e-4 of its size: too little for the model) admits the values seen only.
        Input is read whole before answering: at most 128 MiB.
Output: table (default)   row, predicted class and one probability per class (3 decimals)
        --format csv      row, the features, predicted, prob_<class> (full precision; evaluate's file rounds to 4)
        --format json     {"model", "features", "classes", "predictions": [{"row", "input", "predicted",
        (or --json)        "probabilities"}]} with full-precision probabilities
        row is the data row's number: row 1 is line 2 of the CSV file.
Exit:   0 on success; 1 with one `error: ...` line on stderr for any problem.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from penguins.card import ModelCard, card_path_for, check_card_belongs, read_card
from penguins.cli import CliParser, run_cli, stage_parser
from penguins.columns import split_unit
from penguins.errors import PipelineError
from penguins.light import light_path_for, read_light
from penguins.pathkinds import NOT_FOUND, file_problem, require_file
from penguins.paths import ROOT, Paths, resolve
from penguins.predict_input import (
    feature_options,
    finite_number,
    read_input,
    span,
    user_path,
    values_from_csv,
    values_from_options,
)
from penguins.predict_output import FORMATS, render, result_table

__all__ = ["cli", "main", "read_input", "render", "result_table", "run_cli"]  # what other modules' tests import

MODEL_HINT = "run `dvc repro train` or pass another --model"
REGENERATE = "regenerate it with `dvc repro train` (or `dvc checkout train` for the committed files)"


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


def predict_keras(model_path: Path, values: np.ndarray, card: ModelCard, card_source: str) -> np.ndarray:
    """Load the Keras model (safe mode), check it against its card, and predict every row in bounded chunks."""
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
    return modeling.predict(model, values.astype("float32"))


def predict_light(light_path: Path, values: np.ndarray, card: ModelCard, card_source: str) -> np.ndarray:
    """The light model's probabilities (NumPy; the file already bound to the card by its md5)."""
    model = read_light(resolve(light_path), str(light_path), REGENERATE)
    check_model_fits_card([(None, model.n_inputs)], [(None, model.n_outputs)], card, str(light_path), card_source)
    return model.predict(values)


def check_finite_probabilities(probabilities: np.ndarray, model: Path, from_csv: bool) -> None:
    """As evaluate: a row whose probabilities are not all finite (an overflow inside the network, e.g. an
    `exponential` activation far from the training rows) is refused in one line naming it, never answered."""
    bad = np.flatnonzero(~np.isfinite(probabilities).all(axis=1))
    if bad.size:
        where = f"row {bad[0] + 1} (line {bad[0] + 2} of the CSV)" if from_csv else "the penguin given"
        more = f", and {bad.size - 1} more rows" if bad.size > 1 else ""
        raise PipelineError(
            f"{model}: outputs non-finite probabilities for {where}{more}: the network overflows on this input "
            "(check the values, or retrain, e.g. without an exponential activation)"
        )


def choose_light(args: Any, card: ModelCard, card_path: Path) -> tuple[Path | None, str | None]:
    """The light model to predict with, or None and the one-line warning saying why Keras is used instead."""
    if args.keras:
        if args.light is not None:
            raise PipelineError("give --light PATH or --keras, not both: --keras predicts with the Keras model itself")
        return None, None
    light = args.light or light_path_for(args.model)
    kind = file_problem(light)
    if args.light is None and card.light_md5 is None:
        return None, (
            f"{card_path} names no light model (written before train exported one); predicting with Keras "
            "(seconds): `dvc repro train` writes one"
        )
    if args.light is None and kind == NOT_FOUND:
        return None, f"{light}: light model not found; predicting with Keras (seconds): {REGENERATE}"
    require_file(light, "light model file", "pass another --light, or --keras to predict with Keras")
    if card.light_md5 is None:
        raise PipelineError(f"{card_path}: names no light model (older), so {light} cannot be checked; {REGENERATE}")
    return light, None


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
        help="a .keras model, relative to the working directory (default: the last line below)",
    )
    # On a line of its own: argparse wraps option help at hyphens, and a path cut at /work/wt-... cannot be copied.
    parser.epilog = f"{parser.epilog or ''}\n\nDefault model, from any directory: {ROOT / Paths.MODEL}".strip()
    model.add_argument(
        "--card", metavar="PATH", type=user_path, help="its model card (default: the model's path with .json)"
    )
    model.add_argument(
        "--light", metavar="PATH", type=user_path, help="its light model (default: the model's path with .safetensors)"
    )
    model.add_argument("--keras", action="store_true", help="predict with the Keras model itself (TensorFlow: seconds)")
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
        seen = f" (training rows: {span(*bounds)})" if bounds else ""
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
        if file_problem(model_path) not in (None, NOT_FOUND):  # `--model models`: say what it is, not "no card"
            require_file(model_path, "model file", MODEL_HINT)
        require_file(card_path, "model card", f"it names the features and classes of {model_path}; "
                     "train with `dvc repro` or pass --card PATH")  # fmt: skip
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

    require_file(args.model, "model file", MODEL_HINT)
    light, fallback = choose_light(args, card, card_path)
    check_card_belongs(card, str(card_path), args.model, light)  # the card must be this model's own, not a stale copy
    if light is not None:
        probabilities = predict_light(light, values, card, str(card_path))
    else:
        probabilities = predict_keras(args.model, values, card, str(card_path))
    check_finite_probabilities(probabilities, light or args.model, args.csv is not None)
    for warning in ([fallback] if fallback else []) + warnings:
        print(f"warning: {warning}", file=sys.stderr)
    emit(render(result_table(values, probabilities, card.classes), args.format, card, str(args.model)))


def cli() -> None:
    """The `penguins-predict` console script (also `python -m penguins.predict`)."""
    run_cli(main)


if __name__ == "__main__":
    cli()
