"""split: divide the encoded data into train and test sets (scikit-learn's train_test_split).

Input:  data/encoded/penguins.csv, data/encoded/classes.json
Output: data/split/train.csv, data/split/test.csv (same columns as the input)
Params: split.test_size, split.random_state, split.shuffle, split.stratify
        (the lesson: 0.2, 0, true, true -> 273 train / 69 test rows)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

if __package__ in (None, ""):  # run as `python stages/split.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stages.common import Paths, PipelineError, SplitParams, load_params, read_csv, read_json, run_cli, stage_parser, write_csv


def split(encoded: pd.DataFrame, params: SplitParams, target_columns: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The lesson's split; stratifying on the one-hot target exactly as the lesson passes it."""
    stratify = encoded[list(target_columns)] if params.stratify else None
    try:
        train, test = train_test_split(
            encoded,
            test_size=params.test_size,
            random_state=params.random_state,
            shuffle=params.shuffle,
            stratify=stratify,
        )
    except ValueError as exc:
        raise PipelineError(f"cannot split {len(encoded)} rows with split params {params}: {exc}") from None
    return train, test


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    params = load_params()
    columns = read_json(Paths.CLASSES)["columns"]
    encoded = read_csv(Paths.ENCODED, required=[*params.data.features, *columns])
    train, test = split(encoded, params.split, columns)
    write_csv(Paths.TRAIN, train)
    write_csv(Paths.TEST, test)


if __name__ == "__main__":
    run_cli(main)
