"""split: divide the encoded data into train and test sets (scikit-learn's train_test_split).

Input:  data/encoded/penguins.csv, data/encoded/classes.json
Output: data/split/train.csv, data/split/test.csv (same columns as the input)
Params: data.features, split.test_size, split.random_state, split.shuffle, split.stratify
        (the lesson: 0.2, 0, true, true -> 273 train / 69 test rows)

Every class must get rows in both parts: a stratified split refuses a class with fewer rows than
split.test_size makes necessary (5 for 0.2), and says which split.test_size works; an unstratified split is
checked after splitting. Test rows equal to a training row (features and class, in float32 as the model sees
them: duplicated data) are counted: above 5% of the test rows a warning line, above 50% an error (the test scores
would measure memory). train counts its validation rows equal to a fitted row the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from penguins.cli import run_stage, stage_parser
from penguins.data import split_checked
from penguins.io import read_csv, read_json, write_csv
from penguins.params import load_params
from penguins.paths import Paths


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    params = load_params()
    record = read_json(Paths.CLASSES)
    columns = record["columns"]
    encoded = read_csv(Paths.ENCODED, required=[*params.data.features, *columns])
    train, test = split_checked(
        encoded,
        params.split,
        features=params.data.features,
        onehot_columns=columns,
        classes=record["classes"],
        test_source=str(Paths.TEST),
    )
    write_csv(Paths.TRAIN, train)
    write_csv(Paths.TEST, test)


if __name__ == "__main__":
    run_stage(main)
