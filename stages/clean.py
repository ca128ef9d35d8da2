"""clean: keep the feature columns and the target, drop rows with missing measurements.

Input:  data/raw/penguins.csv
Output: data/clean/penguins.csv (target column first, then data.features)
Params: data.features, data.target, data.classes

Fails with one clear message if a column is missing, a feature value is not a number,
a target label is empty or not one of data.classes, or no rows are left.
"""

from __future__ import annotations

from collections.abc import Sequence

from penguins.cli import run_stage, stage_parser
from penguins.data import clean
from penguins.io import read_csv, write_csv
from penguins.params import load_params
from penguins.paths import Paths


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    data = load_params().data
    write_csv(Paths.CLEAN, clean(read_csv(Paths.RAW, labels=[data.target]), data))


if __name__ == "__main__":
    run_stage(main)
