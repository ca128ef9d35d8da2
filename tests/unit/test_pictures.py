"""explore and figures on tiny in-test data: the data summary (penguins/summary.py), the confusion table and the
pictures (penguins/plotting.py): bad input, labels, byte-stable PNGs without metadata."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from penguins.errors import PipelineError
from penguins.params import DataParams, ExploreParams
from penguins.plotting import (
    HEATMAP_MAX_CLASSES,
    axis_label,
    confusion_heatmap,
    confusion_table,
    explore_pairplot,
    pairplot,
    save_png,
    theme,
    training_curves,
)
from penguins.summary import class_order, complete_rows, data_summary

DATA = DataParams(
    features=("bill_length_mm", "body_mass_g"), target="species", classes=("Adelie", "Chinstrap", "Gentoo")
)
RAW = """species,island,bill_length_mm,body_mass_g,sex
Adelie,Torgersen,39.1,3750,male
Adelie,Torgersen,NA,NA,
Adelie,Dream,37.8,3400,female
Chinstrap,Dream,46.5,3500,female
Chinstrap,Dream,49.0,3900,male
Gentoo,Biscoe,46.1,4500,female
Gentoo,Biscoe,50.0,,
Gentoo,Biscoe,48.7,5200,male
"""
HISTORY = pd.DataFrame(
    {
        "epoch": [1, 2, 3],
        "loss": [1.1, 0.8, 0.6],
        "accuracy": [0.3, 0.6, 0.8],
        "val_loss": [1.0, 0.9, 0.7],
        "val_accuracy": [0.4, 0.5, 0.7],
    }
)


def frame(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk of a PNG file."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


@pytest.mark.parametrize(
    ("column", "label"),
    [
        ("bill_length_mm", "Bill length (mm)"),
        ("body_mass_g", "Body mass (g)"),
        ("year", "Year"),
        ("g", "G"),
        ("x_y", "X y"),
        ("wing_span_cm", "Wing span (cm)"),
    ],
)
def test_axis_label(column: str, label: str) -> None:
    assert axis_label(column) == label


# ---- explore ---------------------------------------------------------------------------------


def test_data_summary_counts_rows_missing_values_and_classes() -> None:
    raw = frame(RAW)
    summary = data_summary(raw, complete_rows(raw, DATA), DATA)
    assert summary == {
        "rows": 8,
        "columns": 5,
        "rows_complete": 6,
        "missing": {"species": 0, "island": 0, "bill_length_mm": 1, "body_mass_g": 2, "sex": 2},
        "class_counts": {"Adelie": 3, "Chinstrap": 2, "Gentoo": 3},
        "class_fractions": {"Adelie": 0.375, "Chinstrap": 0.25, "Gentoo": 0.375},
    }


def test_labels_outside_data_classes_are_shown_not_hidden() -> None:
    raw = frame(RAW.replace("Gentoo,Biscoe,48.7", "Emperor,Biscoe,48.7"))
    assert class_order(raw["species"], DATA.classes) == ["Adelie", "Chinstrap", "Gentoo", "Emperor"]
    summary = data_summary(raw, complete_rows(raw, DATA), DATA)
    assert summary["class_counts"] == {"Adelie": 3, "Chinstrap": 2, "Gentoo": 2, "Emperor": 1}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("species,bill_length_mm\nAdelie,39.1\n", "raw.csv: "),  # a missing column
        ("species,bill_length_mm,body_mass_g\nAdelie,39.1,heavy\n", "raw.csv: line 2: "),
    ],
)
def test_explore_names_the_file_line_and_column(text: str, where: str) -> None:
    """The checks' wording is said in test_data_stages.py; here that explore names the right place."""
    with pytest.raises(PipelineError) as err:
        complete_rows(frame(text), DATA, source="raw.csv")
    assert str(err.value).startswith(where)
    assert "'body_mass_g'" in str(err.value)


def test_explore_needs_a_complete_row() -> None:
    with pytest.raises(PipelineError) as err:
        complete_rows(frame("species,bill_length_mm,body_mass_g\nAdelie,NA,3750\n,39.1,3750\n"), DATA, "raw.csv")
    assert str(err.value) == "raw.csv: no row has a species label and every one of data.features"


# ---- figures ---------------------------------------------------------------------------------


def test_confusion_table_is_square_in_class_order() -> None:
    pairs = pd.DataFrame(
        {"actual": ["Gentoo", "Adelie", "Adelie", "Gentoo"], "predicted": ["Gentoo", "Adelie", "Gentoo", "Gentoo"]}
    )
    table = confusion_table(pairs, DATA.classes, "c.csv")
    assert list(table.index) == list(table.columns) == ["Adelie", "Chinstrap", "Gentoo"]
    assert table.to_numpy().tolist() == [[1, 0, 1], [0, 0, 0], [0, 0, 2]]


@pytest.mark.parametrize("column", ["actual", "predicted"])
def test_confusion_table_rejects_an_unknown_label(column: str) -> None:
    pairs = pd.DataFrame({"actual": ["Adelie"], "predicted": ["Adelie"]})
    pairs.loc[0, column] = "Emperor"
    with pytest.raises(PipelineError) as err:
        confusion_table(pairs, DATA.classes, source="plots/confusion.csv")
    assert str(err.value) == (
        f"plots/confusion.csv: column '{column}' has label 'Emperor', not one of data.classes "
        "(Adelie, Chinstrap, Gentoo); run `dvc repro` so evaluate and figures use the same params"
    )


def test_training_curves_with_and_without_validation() -> None:
    with theme():
        both = training_curves(HISTORY)
        train_only = training_curves(HISTORY[["epoch", "loss", "accuracy"]])
    assert [len(ax.lines) for ax in both.axes] == [2, 2]
    assert [len(ax.lines) for ax in train_only.axes] == [1, 1]
    assert [ax.get_ylabel() for ax in both.axes] == ["Loss (categorical cross-entropy)", "Accuracy"]
    plt.close(both)
    plt.close(train_only)


def test_heatmap_shows_classes_in_order_on_both_axes() -> None:
    pairs = pd.DataFrame({"actual": ["Gentoo", "Adelie"], "predicted": ["Adelie", "Adelie"]})
    table = confusion_table(pairs, DATA.classes, "c.csv")
    with theme():
        figure = confusion_heatmap(table, "species")
    ax = figure.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Predicted species", "Actual species")
    assert (
        [t.get_text() for t in ax.get_xticklabels()]
        == [t.get_text() for t in ax.get_yticklabels()]
        == list(DATA.classes)
    )
    assert ax.get_title() == "Confusion matrix (test set, 2 samples)"
    plt.close(figure)


def test_heatmap_draws_at_most_its_bound_of_classes_whoever_calls_it() -> None:
    classes = tuple(f"c{i}" for i in range(HEATMAP_MAX_CLASSES + 5))
    pairs = pd.DataFrame({"actual": classes, "predicted": classes})
    with theme():
        figure = confusion_heatmap(confusion_table(pairs, classes, "c.csv"), "species")  # the whole table
    ax = figure.axes[0]
    assert len(ax.get_xticklabels()) == len(ax.get_yticklabels()) == HEATMAP_MAX_CLASSES
    assert f"{HEATMAP_MAX_CLASSES} of {len(classes)} classes" in ax.get_title()
    plt.close(figure)


def test_explores_pairplot_draws_at_most_max_points_rows(capsys: pytest.CaptureFixture[str]) -> None:
    rows = pd.DataFrame(
        {
            "species": [c for c in DATA.classes for _ in range(100)],
            "bill_length_mm": np.arange(300.0),
            "body_mass_g": np.arange(300.0) * 2,
        }
    )
    with theme():
        figure = explore_pairplot(rows, DATA, ExploreParams(max_points=100, seed=0), "pairplot.png")
    drawn = sum(len(c.get_offsets()) for c in figure.axes[1].collections)  # an off-diagonal scatter panel
    assert drawn == 100
    assert "a random sample of 100 of the 300 rows" in figure.get_suptitle()
    assert capsys.readouterr().err == ""  # two features, three classes: nothing left out to warn about
    plt.close(figure)


def test_pngs_are_byte_identical_and_carry_no_metadata(tmp_path: Path) -> None:
    pairs = pd.DataFrame({"actual": ["Adelie", "Gentoo"], "predicted": ["Adelie", "Adelie"]})
    table = confusion_table(pairs, DATA.classes, "c.csv")
    complete = complete_rows(frame(RAW), DATA)
    hue_order = class_order(complete["species"], DATA.classes)
    for name, make in [
        ("curves", lambda: training_curves(HISTORY)),
        ("heatmap", lambda: confusion_heatmap(table, "species")),
        ("pairplot", lambda: pairplot(complete, DATA.features, DATA.target, hue_order)),
    ]:
        for run in (1, 2):
            with theme():
                save_png(make(), tmp_path / f"{name}{run}.png")
        first = (tmp_path / f"{name}1.png").read_bytes()
        assert first == (tmp_path / f"{name}2.png").read_bytes(), name
        chunks = png_chunks(first)
        kinds = {kind for kind, _ in chunks}
        assert not kinds & {b"tEXt", b"zTXt", b"iTXt", b"tIME"}, (name, kinds)
        assert chunks[0][0] == b"IHDR" and chunks[0][1][9] == 3, name  # colour type 3: a palette, not RGBA
        assert b"PLTE" in kinds, name
    expected = sorted(f"{name}{run}.png" for name in ("curves", "heatmap", "pairplot") for run in (1, 2))
    assert sorted(p.name for p in tmp_path.iterdir()) == expected  # no temporary files left


def test_explore_names_a_feature_empty_in_every_row() -> None:
    raw = pd.read_csv(io.StringIO(RAW)).assign(body_mass_g=float("nan"))
    with pytest.raises(PipelineError, match=r"^raw.csv: column 'body_mass_g' of data.features is empty in every one"):
        complete_rows(raw, DATA, source="raw.csv")


def test_the_data_summary_is_bounded_in_labels_and_columns() -> None:
    """metrics/data_summary.json is tracked by git: a target column of IDs, or a file of 5,000 columns, stays small."""
    import json

    from penguins.summary import SUMMARY_MAX_COLUMNS, SUMMARY_MAX_OTHER_LABELS

    rows = 3000
    raw = pd.DataFrame({"species": ["Adelie"] * 500 + [f"id{i}" for i in range(rows - 500)], "bill_length_mm": 1.0,
                        "body_mass_g": 2.0})  # fmt: skip
    raw = pd.concat([raw, pd.DataFrame(0, index=raw.index, columns=[f"x{i}" for i in range(5000)])], axis=1)
    summary = data_summary(raw, complete_rows(raw, DATA), DATA)
    assert len(summary["class_counts"]) == 3 + SUMMARY_MAX_OTHER_LABELS + 1
    assert summary["class_counts"]["(2400 other labels)"] == 2400 and sum(summary["class_counts"].values()) == rows
    assert len(summary["missing"]) <= SUMMARY_MAX_COLUMNS and "body_mass_g" in summary["missing"]
    assert summary["columns"] == 5003 and len(json.dumps(summary)) < 20_000


def test_the_bounded_summary_keeps_the_target_and_features_wherever_they_are_in_the_file() -> None:
    """5,000 columns with missing values before the target and features: theirs are the counts kept first."""
    from penguins.summary import SUMMARY_MAX_COLUMNS

    noise = pd.DataFrame(float("nan"), index=range(20), columns=[f"x{i}" for i in range(5000)])
    wanted = pd.DataFrame({DATA.target: ["Adelie"] * 19 + [None], **dict.fromkeys(DATA.features, 1.0)})
    raw = pd.concat([noise, wanted], axis=1)
    missing = data_summary(raw, complete_rows(raw, DATA), DATA)["missing"]
    assert len(missing) == SUMMARY_MAX_COLUMNS
    assert {DATA.target, *DATA.features} <= missing.keys() and missing[DATA.target] == 1
    assert list(missing)[:3] == ["x0", "x1", "x2"]  # the others in file order, up to the bound


def test_integer_labels_get_one_colour_per_class() -> None:
    """seaborn draws a numeric hue on a continuous colour scale: integer codes 1, 2, 3 must be drawn as the
    same three category colours as the labels '1', '2', '3'."""
    import matplotlib.pyplot as plt

    from penguins.plotting import pairplot, theme

    rng = np.random.default_rng(0)
    measured = pd.DataFrame({"bill_length_mm": rng.normal(40, 5, 30), "body_mass_g": rng.normal(4000, 300, 30)})

    def colours(labels: list[Any]) -> list[tuple[float, ...]]:
        frame = measured.assign(species=pd.Series(labels * 10, dtype=object))
        with theme():
            figure = pairplot(frame, ["bill_length_mm", "body_mass_g"], "species", labels)
        scatter = figure.axes[1].collections[0]  # an off-diagonal panel: one point per row
        drawn = [tuple(np.round(c, 6)) for c in scatter.get_facecolors()]
        plt.close(figure)
        return drawn

    assert colours([1, 2, 3]) == colours(["1", "2", "3"])
