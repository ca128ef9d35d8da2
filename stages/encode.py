"""encode: one-hot encode the target as numeric columns and record the class order.

Input:  data/clean/penguins.csv
Output: data/encoded/penguins.csv  (data.features, then one float 0/1 column per class: species_Adelie, ...)
        data/encoded/classes.json  (target, classes in column order, features, one-hot column names)
Params: data.features, data.target, data.classes (their order is the class order)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

if __package__ in (None, ""):  # run as `python stages/encode.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stages.clean import check_target
from stages.common import DataParams, Paths, load_params, read_csv, run_cli, stage_parser, target_columns, write_csv, write_json


def encode(clean: pd.DataFrame, data: DataParams, source: str = str(Paths.CLEAN)) -> pd.DataFrame:
    """Features plus one float one-hot column per class, in data.classes order."""
    check_target(clean[data.target], data.classes, source)
    labels = pd.Categorical(clean[data.target], categories=list(data.classes))
    onehot = pd.get_dummies(labels, dtype="float64")
    onehot.columns = target_columns(data.classes, data.target)
    onehot.index = clean.index
    return pd.concat([clean[list(data.features)], onehot], axis=1)


def class_record(data: DataParams) -> dict[str, Any]:
    """What evaluate and predict need to turn model outputs back into names."""
    return {
        "target": data.target,
        "classes": list(data.classes),
        "columns": target_columns(data.classes, data.target),
        "features": list(data.features),
    }


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    data = load_params().data
    clean = read_csv(Paths.CLEAN, required=[data.target, *data.features])
    write_csv(Paths.ENCODED, encode(clean, data))
    write_json(Paths.CLASSES, class_record(data))


if __name__ == "__main__":
    run_cli(main)
