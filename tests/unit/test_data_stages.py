"""The data stages' logic on tiny in-test data: checks of tabular input (penguins/tables.py) and clean, encode, split
(penguins/data.py), with labels as the file has them. The raw data's sources: test_sources.py; reading and writing
files: test_io.py.

Each module's messages are said once, in its own table; the steps built on them are checked for naming the
file, line and column of the problem."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from penguins.data import (
    allowed_test_sizes,
    class_record,
    clean,
    encode,
    rows_per_class_for_stratified_split,
    split,
    split_checked,
)
from penguins.io import read_csv, write_csv
from penguins.params import DataParams, Params, SplitParams, parse_params
from penguins.summary import complete_rows, data_summary
from penguins.tables import check_target, csv_line, duplicate_note, rows_seen_in_training, to_numeric_features
from penguins.yamlio import read_yaml
from tests.conftest import ROOT
from tests.helpers.faults import message_of
from tests.helpers.samples import RAW

DATA = DataParams(
    features=("bill_length_mm", "body_mass_g"), target="species", classes=("Adelie", "Chinstrap", "Gentoo")
)
HEADER = "species,bill_length_mm,body_mass_g\n"


def frame(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


# ---- tables: bad cells are named by CSV line and column -------------------------------------------


def test_csv_line_counts_the_header() -> None:
    assert [csv_line(i) for i in (0, 1, 41)] == [2, 3, 43]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('species\nAdelie\n""\n', "line 3: column 'species' is empty; every row needs a label"),
        (
            "species\nAdelie\nEmperor\n",
            "line 3: column 'species' has unknown label 'Emperor' "
            "(expected one of Adelie, Chinstrap, Gentoo; add it to data.classes in params.yaml if it is real)",
        ),
    ],
)
def test_check_target(text: str, message: str) -> None:
    labels = frame(text)["species"]
    check_target(labels[:1], DATA.classes, "t.csv")
    assert message_of(check_target, labels, DATA.classes, "t.csv") == f"t.csv: {message}"


def test_to_numeric_features() -> None:
    table = frame("x,y\n1,2\n3,\n")
    converted = to_numeric_features(table, ["x", "y"], "t.csv")
    assert converted.dtypes.tolist() == ["float64", "float64"]
    assert converted["y"].isna().tolist() == [False, True]  # missing stays missing: clean drops the row
    assert message_of(to_numeric_features, frame("x,y\n1,2\n3,heavy\n"), ["x", "y"], "t.csv") == (
        "t.csv: line 3: column 'y' has non-numeric value 'heavy'; "
        "fix the file or leave the cell empty (NA) to drop the row"
    )
    assert message_of(to_numeric_features, frame("x\n1\nabc\n"), ["x"], "t.csv", hint="re-run").endswith(
        "'abc'; re-run"
    )


def test_a_text_column_listed_as_a_feature_hints_at_data_features() -> None:
    """island in data.features: not a bad cell to fix in the file, but a wrong entry in params.yaml."""
    text = frame("x,island\n1,Dream\n2,\n3,Biscoe\n")
    assert message_of(to_numeric_features, text, ["x", "island"], "t.csv") == (
        "t.csv: line 2: column 'island' has non-numeric value 'Dream' and no number in any row; "
        "data.features lists numeric input columns only: check data.features in params.yaml"
    )
    assert message_of(to_numeric_features, text, ["island"], "t.csv", column_hint=None).endswith(
        "'Dream'; fix the file or leave the cell empty (NA) to drop the row"
    )


# ---- clean, encode, split ---------------------------------------------------------------------------


def test_clean_keeps_target_and_features_and_drops_missing() -> None:
    out = clean(frame(RAW), DATA)
    assert list(out.columns) == ["species", "bill_length_mm", "body_mass_g"]
    assert out["species"].tolist() == ["Adelie", "Chinstrap", "Gentoo"]
    assert out["body_mass_g"].dtype == "float64"
    assert out.index.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    ("text", "where", "column"),
    [
        ("species,bill_length_mm\nAdelie,39.1\n", "raw.csv: ", "body_mass_g"),  # a missing column
        (f"{HEADER}Adelie,39.1,3750\nAdelie,39.1,heavy\n", "raw.csv: line 3: ", "body_mass_g"),
        (f"{HEADER}Adelie,39.1,3750\n,40.0,3800\n", "raw.csv: line 3: ", "species"),
        (f"{HEADER}Adelie,1,2\nEmperor,39.1,3750\n", "raw.csv: line 3: ", "species"),
    ],
)
def test_clean_names_the_file_line_and_column(text: str, where: str, column: str) -> None:
    """The checks' wording is said above (io, tables); here that clean names the right place."""
    message = message_of(clean, frame(text), DATA, source="raw.csv")
    assert message.startswith(where)
    assert f"'{column}'" in message


def test_clean_needs_a_complete_row() -> None:
    assert message_of(clean, frame(f"{HEADER}Adelie,NA,3750\nGentoo,39.1,NA\n"), DATA, source="raw.csv") == (
        "raw.csv: no rows left after dropping rows with missing values"
    )


CHINSTRAP_INCOMPLETE = """species,bill_length_mm,body_mass_g
Adelie,39.1,3750
Chinstrap,46.5,
Gentoo,46.1,4500
Chinstrap,NA,3500
"""


def test_clean_refuses_a_class_left_without_rows() -> None:
    """Every Chinstrap misses a measurement: the pipeline used to go on and report accuracy 1.0, support 0."""
    assert message_of(clean, frame(CHINSTRAP_INCOMPLETE), DATA, source="raw.csv") == (
        "raw.csv: class 'Chinstrap' of data.classes has no rows left after cleaning (all 2 of its rows miss a value "
        "of data.features); fix the data, change data.features, or remove 'Chinstrap' from data.classes"
    )
    only_two = DataParams(features=DATA.features, target="species", classes=("Adelie", "Gentoo", "Emperor"))
    no_emperor = frame(CHINSTRAP_INCOMPLETE.replace("Chinstrap", "Gentoo"))
    assert message_of(clean, no_emperor, only_two, source="raw.csv").startswith(
        "raw.csv: class 'Emperor' of data.classes has no rows left after cleaning (it has no rows); "
    )


def test_encode_refuses_a_class_without_rows() -> None:
    rows = pd.DataFrame({"species": ["Adelie", "Gentoo"], "bill_length_mm": [1.0, 2.0], "body_mass_g": [3.0, 4.0]})
    assert message_of(encode, rows, DATA, source="clean.csv") == (
        "clean.csv: class 'Chinstrap' of data.classes has no rows; "
        "re-run clean (dvc repro) or remove 'Chinstrap' from data.classes"
    )


@pytest.mark.parametrize(
    ("n_rows", "test_size", "needed"),
    [(342, 0.2, 5), (30, 0.2, 5), (31, 0.2, 5), (30, 0.5, 2), (30, 0.9, 10), (100, 0.01, 100), (3, 0.9, 4)],
)
def test_rows_per_class_for_stratified_split(n_rows: int, test_size: float, needed: int) -> None:
    """n / n_test and n / n_train rounded up, at least 2; (3, 0.9): no training row at all, so more than n."""
    assert rows_per_class_for_stratified_split(n_rows, test_size) == needed


def test_rows_per_class_suffice_for_every_seed() -> None:
    """The minimum puts the small class in both parts whatever the seed; one row fewer fails for some seed."""
    columns = class_record(DATA)["columns"]
    rows = pd.DataFrame({"species": ["Adelie"] * 20 + ["Chinstrap"] * 5 + ["Gentoo"] * 20})
    rows["bill_length_mm"], rows["body_mass_g"] = range(len(rows)), 1.0
    assert rows_per_class_for_stratified_split(45, 0.2) == 5
    for seed in range(20):
        params = SplitParams(test_size=0.2, random_state=seed, shuffle=True, stratify=True)
        train, test = split(encode(rows, DATA), params, columns, DATA.classes)
        assert train["species_Chinstrap"].sum() >= 1 and test["species_Chinstrap"].sum() >= 1
    params = SplitParams(test_size=0.2, random_state=0, shuffle=True, stratify=True)
    assert message_of(split, encode(rows.drop(index=24), DATA), params, columns, DATA.classes).startswith(
        "data/encoded/penguins.csv: class 'Chinstrap' has 4 rows, too few: a stratified split"
    )


def test_unstratified_split_checks_both_parts() -> None:
    rows = pd.DataFrame({"species": ["Adelie"] * 8 + ["Gentoo"] * 8 + ["Chinstrap"]})
    rows["bill_length_mm"], rows["body_mass_g"] = range(len(rows)), 1.0
    params = SplitParams(test_size=0.2, random_state=0, shuffle=False, stratify=False)
    message = message_of(split, encode(rows, DATA), params, class_record(DATA)["columns"], DATA.classes, "e.csv")
    assert message == (
        "e.csv: class 'Chinstrap' has no rows in the train part (all 1 of its rows are in test, "
        "split.stratify: false); "
        "set split.stratify: true (from 5 rows per class it puts each class in both), "
        "or change split.random_state or split.test_size"
    )


def test_encode_one_hot_is_numeric_in_class_order() -> None:
    out = encode(clean(frame(RAW), DATA), DATA)
    onehot = ["species_Adelie", "species_Chinstrap", "species_Gentoo"]
    assert list(out.columns) == ["bill_length_mm", "body_mass_g", *onehot]
    assert all(out[c].dtype == "float64" for c in onehot)
    assert out[onehot].to_numpy().tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert class_record(DATA) == {
        "target": "species",
        "classes": ["Adelie", "Chinstrap", "Gentoo"],
        "columns": onehot,
        "features": ["bill_length_mm", "body_mass_g"],
    }


def test_encode_checks_labels_again() -> None:
    """A label clean did not see (e.g. data.classes changed since) is named, not encoded as all zeros."""
    bad = pd.DataFrame({"species": ["Adelie", "Emperor"], "bill_length_mm": [1.0, 2.0], "body_mass_g": [3.0, 4.0]})
    message = message_of(encode, bad, DATA, source="clean.csv")
    assert message.startswith("clean.csv: line 3: ")
    assert "'Emperor'" in message


def encoded_rows(n_per_class: int) -> pd.DataFrame:
    rows = pd.DataFrame({"species": [c for c in DATA.classes for _ in range(n_per_class)]})
    rows["bill_length_mm"] = range(len(rows))
    rows["body_mass_g"] = 1.0
    return encode(rows, DATA)


def test_split_is_stratified_and_seeded(default_params: Params) -> None:
    data = encoded_rows(10)
    columns = class_record(DATA)["columns"]
    train, test = split(data, default_params.split, columns, DATA.classes)
    assert (len(train), len(test)) == (24, 6)
    assert test[columns].sum().tolist() == [2, 2, 2]
    again, _ = split(data, default_params.split, columns, DATA.classes)
    assert train.equals(again)


def test_split_impossible_stratification_names_the_class() -> None:
    """scikit-learn's own error named the class by its one-hot row ('0.0 1.0 0.0'); now it is named, up front."""
    params = SplitParams(test_size=0.2, random_state=0, shuffle=True, stratify=True)
    message = message_of(split, encoded_rows(1), params, class_record(DATA)["columns"], DATA.classes, "enc.csv")
    assert message == (
        "enc.csv: every class is short (a stratified split with split.test_size=0.2 of 3 rows needs at least 3 per "
        "class; the smallest, 'Adelie', has 1); no split.test_size works with 1 row in a class: add rows or remove "
        "'Adelie' from data.classes"
    )


# ---- an empty feature, a test size too small for every class, duplicated rows ----------------------


@pytest.mark.parametrize("empty", ["bill_length_mm", "body_mass_g"])
def test_clean_names_a_feature_empty_in_every_row(empty: str) -> None:
    rows = frame(RAW).assign(**{empty: float("nan")})
    assert message_of(clean, rows, DATA, source="raw.csv") == (
        f"raw.csv: column {empty!r} of data.features is empty in every one of its 5 rows; "
        f"remove {empty!r} from data.features or fill it in"
    )


PENGUIN_COUNTS = {"Adelie": 151, "Chinstrap": 68, "Gentoo": 123}


def penguin_rows(counts: dict[str, int]) -> pd.DataFrame:
    rows = pd.DataFrame({"species": [name for name, n in counts.items() for _ in range(n)]})
    rows["bill_length_mm"], rows["body_mass_g"] = range(len(rows)), 1.0
    return encode(rows, DATA)


@pytest.mark.parametrize(("test_size", "says"), [(0.001, "smallest split.test_size that works is 0.02"),
                                                 (0.999, "largest split.test_size that works is 0.98")])  # fmt: skip
def test_a_test_size_every_class_is_short_of_says_so_and_what_works(test_size: float, says: str) -> None:
    params = SplitParams(test_size=test_size, random_state=0, shuffle=True, stratify=True)
    message = message_of(split, penguin_rows(PENGUIN_COUNTS), params, class_record(DATA)["columns"], DATA.classes)
    assert "every class is short" in message and says in message, message
    assert "remove" not in message and "\n" not in message
    lo = float(says.rsplit(" ", 1)[1])
    works = SplitParams(test_size=lo, random_state=0, shuffle=True, stratify=True)
    train, test = split(penguin_rows(PENGUIN_COUNTS), works, class_record(DATA)["columns"], DATA.classes)
    assert (test[class_record(DATA)["columns"]].sum() >= 1).all() and (
        train[class_record(DATA)["columns"]].sum() >= 1
    ).all()


def test_allowed_test_sizes_is_exact_at_its_ends() -> None:
    for n_rows, smallest in [(342, 68), (277, 3), (10, 5), (342, 2), (5000, 5), (1000, 2)]:
        lo, hi = allowed_test_sizes(n_rows, smallest)
        assert rows_per_class_for_stratified_split(n_rows, lo) <= smallest
        assert rows_per_class_for_stratified_split(n_rows, hi) <= smallest
        assert rows_per_class_for_stratified_split(n_rows, round(lo - 0.01, 2)) > smallest or lo <= 0.01
    assert allowed_test_sizes(342, 1) is None


def test_duplicated_rows_are_counted_warned_and_refused() -> None:
    rows = penguin_rows(PENGUIN_COUNTS)
    params = SplitParams(test_size=0.2, random_state=0, shuffle=True, stratify=True)
    columns = class_record(DATA)["columns"]
    seen_by_model = [*DATA.features, *columns]
    train, test = split(rows, params, columns, DATA.classes)
    assert rows_seen_in_training(train, test, seen_by_model) == 0 and duplicate_note(0, len(test), "t.csv") is None
    train, test = split(pd.concat([rows] * 100, ignore_index=True), params, columns, DATA.classes)
    seen = rows_seen_in_training(train, test, seen_by_model)
    assert seen > 0.99 * len(test)
    message = message_of(duplicate_note, seen, len(test), "t.csv")
    assert message.startswith(f"t.csv: {seen} of the {len(test)} test rows (") and "duplicate" in message
    note = duplicate_note(10, 100, "t.csv")
    assert note is not None and "10 of the 100 test rows (10.0%)" in note


def test_rows_the_model_sees_alike_are_duplicates_whatever_their_float64_digits() -> None:
    """The model computes in float32: 39.1 and 39.1 + 1e-9 are one value to it, so one row; columns it does not
    see (another column of the file) do not make a copy new."""
    columns = ["bill_length_mm", "body_mass_g", "Adelie", "Gentoo"]
    train = pd.DataFrame({"bill_length_mm": [39.1, 46.5], "body_mass_g": [3750.0, 4200.0], "Adelie": [1, 0],
                          "Gentoo": [0, 1], "island": ["Dream", "Biscoe"]})  # fmt: skip
    test = train.assign(bill_length_mm=train["bill_length_mm"] + 1e-9, island=["Torgersen", "Torgersen"])
    assert (test["bill_length_mm"] != train["bill_length_mm"]).all()
    assert rows_seen_in_training(train, test, columns) == 2
    assert rows_seen_in_training(train, test.assign(Adelie=[0, 1], Gentoo=[1, 0]), columns) == 0  # another class


def test_split_checked_warns_of_duplicated_rows_as_the_stage_does(capsys: pytest.CaptureFixture[str]) -> None:
    rows = penguin_rows(PENGUIN_COUNTS)
    params = SplitParams(test_size=0.2, random_state=0, shuffle=True, stratify=True)
    columns = class_record(DATA)["columns"]
    keywords = {"features": DATA.features, "onehot_columns": columns, "classes": DATA.classes, "test_source": "t.csv"}
    twice = pd.concat([rows, rows.iloc[:60]], ignore_index=True)  # some rows twice: warned, not refused
    train, test = split_checked(twice, params, **keywords)
    assert len(train) + len(test) == len(twice) and capsys.readouterr().err.startswith("warning: t.csv: ")
    assert "refused" in message_of(split_checked, pd.concat([rows] * 100), params, **keywords)


def test_clean_names_a_feature_empty_in_every_row_of_a_class() -> None:
    rows = frame(CHINSTRAP_INCOMPLETE.replace("Chinstrap,46.5,", "Chinstrap,,3600"))
    assert "(all 2 of its rows miss a value of data.features; 'bill_length_mm' is empty in every one)" in message_of(
        clean, rows, DATA, source="raw.csv"
    )


# ---- non-finite and float32-overflowing measurements ---------------------------------------------------

TWO_CLASSES = DataParams(features=("bill_length_mm", "body_mass_g"), target="species", classes=("Adelie", "Gentoo"))


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "1e308", "-4e38"])
def test_non_finite_or_float32_overflow_is_refused_by_clean_and_explore(value: str) -> None:
    raw = pd.read_csv(io.StringIO(f"species,bill_length_mm,body_mass_g\nAdelie,39.1,3750\nGentoo,46.1,{value}\n"))
    expected = (
        f"data/raw/penguins.csv: line 3: column 'body_mass_g' has value {float(value):g}, not a finite float32 "
        "number "
        "(the model computes in float32: at most 3.4e38 in size); "
    )
    assert message_of(clean, raw, TWO_CLASSES).startswith(expected)
    assert message_of(complete_rows, raw, TWO_CLASSES).startswith(expected)  # explore: before scipy sees it


def test_the_largest_float32_is_accepted() -> None:
    frame = pd.DataFrame({"x": ["3.4e38", "1", None]})
    assert to_numeric_features(frame, ["x"], "t.csv")["x"].tolist()[:2] == [3.4e38, 1.0]


# ---- integer and boolean class labels, and a class named NA --------------------------------------------


@pytest.mark.parametrize(
    ("classes", "column", "expected"),
    [
        ([1, 2, 3], ["1", "2", "3", "2"], [1, 2, 3, 2]),
        ([True, False], ["true", "False", "TRUE", "false"], [True, False, True, False]),
        (["NA", "NB"], ["NA", "NB", "NA", "NB"], ["NA", "NB", "NA", "NB"]),  # pandas' na_values would eat NA
    ],
)
def test_labels_as_the_file_has_them(
    tmp_path: Path, classes: list[Any], column: list[str], expected: list[Any]
) -> None:
    raw = dict(ROOT_PARAMS)
    raw["data"] = {"features": ["x"], "target": "label", "classes": classes}
    data = parse_params(raw).data  # written naturally: `data.classes: [1, 2, 3]`
    assert list(data.classes) == classes
    path = tmp_path / "raw.csv"
    path.write_text("label,x\n" + "".join(f"{label},{i}.5\n" for i, label in enumerate(column)))
    cleaned = clean(read_csv(path, labels=["label"]), data, "raw.csv")
    assert cleaned["label"].tolist() == expected
    write_csv(tmp_path / "clean.csv", cleaned)
    encoded = encode(read_csv(tmp_path / "clean.csv", labels=["label"]), data)
    assert encoded[[f"label_{c}" for c in classes]].to_numpy().argmax(axis=1).tolist() == [
        classes.index(e) for e in expected
    ]
    assert class_record(data)["classes"] == classes  # train copies these into the card, as given
    summary = data_summary(read_csv(path, labels=["label"]), cleaned, data)
    assert summary["class_counts"] == {str(c): expected.count(c) for c in classes}
    assert summary["missing"]["label"] == 0


ROOT_PARAMS = read_yaml(ROOT / "params.yaml")


def test_an_unknown_coded_label_says_what_to_do() -> None:
    raw = pd.read_csv(io.StringIO("label,x\n1,1.0\n4,2.0\n"), dtype={"label": str})
    data = DataParams(features=("x",), target="label", classes=(1, 2))
    assert message_of(clean, raw, data, "raw.csv") == (
        "raw.csv: line 3: column 'label' has unknown label '4' (expected one of 1, 2; "
        "add it to data.classes in params.yaml if it is real)"
    )
    assert message_of(parse_params, ROOT_PARAMS | {"data": {**ROOT_PARAMS["data"], "classes": [1, "1"]}}) == (
        "params.yaml: data.classes mixes integers and text (1, '1'); labels are all text, all integers or all "
        "booleans: quote every one (e.g. '1', 'x') to match them as text"
    )
    assert message_of(parse_params, ROOT_PARAMS | {"data": {**ROOT_PARAMS["data"], "classes": ["True", "true"]}}) == (
        "params.yaml: data.classes must be distinct names, 'true' is listed twice"
    )
