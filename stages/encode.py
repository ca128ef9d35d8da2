"""encode: one-hot encode the target as numeric columns and record the class order.

Input:  data/clean/penguins.csv
Output: data/encoded/penguins.csv  (data.features, then one float 0/1 column per class: species_Adelie, ...)
        data/encoded/classes.json  (target, classes in column order, features, one-hot column names)
Params: data.features, data.target, data.classes (their order is the class order)
"""

from __future__ import annotations

from collections.abc import Sequence

from penguins.cli import run_stage, stage_parser
from penguins.data import class_record, encode
from penguins.io import read_csv, write_csv, write_json
from penguins.params import load_params
from penguins.paths import Paths


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    data = load_params().data
    clean = read_csv(Paths.CLEAN, required=[data.target, *data.features], labels=[data.target])
    write_csv(Paths.ENCODED, encode(clean, data))
    write_json(Paths.CLASSES, class_record(data))


if __name__ == "__main__":
    run_stage(main)
