"""explore: look at the raw data first: the lesson's pairplot and a short summary of the data.

Input:  data/raw/penguins.csv
Output: plots/pairplot.png          seaborn pairplot of data.features coloured by data.target (rows with
                                    every measurement; the lesson's first picture)
        metrics/data_summary.json   rows, columns, rows_complete (what clean keeps), missing values per
                                    column, class balance (class_counts, class_fractions)
Params: data.features, data.target, data.classes (the colour order; other labels found are added after)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

if __package__ in (None, ""):  # run as `python stages/explore.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stages.clean import to_numeric_features
from stages.common import DataParams, Paths, PipelineError, load_params, read_csv, require_columns, run_cli, stage_parser, write_json
from stages.plotting import axis_label, save_png, theme  # selects the non-interactive Agg backend

FRACTION_DIGITS = 4


def complete_rows(raw: pd.DataFrame, data: DataParams, source: str = str(Paths.RAW)) -> pd.DataFrame:
    """Target and numeric features of the rows that have all of them (the rows clean keeps)."""
    columns = [data.target, *data.features]
    require_columns(raw, columns, source)
    complete = to_numeric_features(raw[columns], data.features, source).dropna().reset_index(drop=True)
    if complete.empty:
        raise PipelineError(f"{source}: no row has a {data.target} label and every one of data.features")
    return complete


def class_order(labels: pd.Series, classes: Sequence[str]) -> list[str]:
    """data.classes first, then any other label found, so the pictures hide nothing."""
    extra = sorted(set(labels.dropna().astype(str)) - set(classes))
    return [*classes, *extra]


def data_summary(raw: pd.DataFrame, complete: pd.DataFrame, data: DataParams) -> dict[str, Any]:
    """Rows, columns, missing values per column and class balance of the raw table."""
    labels = raw[data.target].dropna().astype(str)
    counts = labels.value_counts()
    order = class_order(labels, data.classes)
    return {
        "rows": len(raw),
        "columns": raw.shape[1],
        "rows_complete": len(complete),
        "missing": {str(column): int(raw[column].isna().sum()) for column in raw.columns},
        "class_counts": {name: int(counts.get(name, 0)) for name in order},
        "class_fractions": {name: round(int(counts.get(name, 0)) / max(len(labels), 1), FRACTION_DIGITS) for name in order},
    }


def pairplot(complete: pd.DataFrame, data: DataParams) -> Figure:
    """The lesson's ``sns.pairplot(penguins, hue="species")`` on data.features, with readable labels."""
    labels = {feature: axis_label(feature) for feature in data.features}
    grid = sns.pairplot(
        complete.rename(columns=labels),
        vars=list(labels.values()),
        hue=data.target,
        hue_order=class_order(complete[data.target], data.classes),
        height=2.2,
        plot_kws={"s": 16, "alpha": 0.75, "linewidth": 0},
    )
    grid.figure.suptitle(
        f"Palmer penguins: measurements by {data.target} ({len(complete)} rows with every measurement)",
        y=1.02, fontsize="large", fontweight="bold",
    )  # fmt: skip
    return grid.figure


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    params = load_params()
    raw = read_csv(Paths.RAW)
    complete = complete_rows(raw, params.data)
    with theme():
        save_png(pairplot(complete, params.data), Paths.PAIRPLOT)
    write_json(Paths.DATA_SUMMARY, data_summary(raw, complete, params.data))


if __name__ == "__main__":
    run_cli(main)
