"""explore: look at the raw data first: the lesson's pairplot and a short summary of the data.

Input:  data/raw/penguins.csv
Output: plots/pairplot.png          seaborn pairplot of data.features coloured by data.target (rows with
                                    every measurement; the lesson's first picture). Above explore.max_points
                                    such rows it draws a seeded sample of that many, stratified by class, and
                                    its title says so: the picture costs the same at any data size.
                                    At most the first 8 of data.features are drawn and 10 classes
                                    coloured (the rest as one "other"), said in its title and a line
        metrics/data_summary.json   rows, columns, rows_complete (what clean keeps), missing values per
                                    column, class balance (class_counts, class_fractions)
Params: data.features, data.target, data.classes (the colour order; other labels found are added after),
        explore.max_points, explore.seed
"""

from __future__ import annotations

from collections.abc import Sequence

from penguins.cli import run_stage, stage_parser
from penguins.io import read_csv, write_json
from penguins.params import load_params
from penguins.paths import Paths
from penguins.plotting import explore_pairplot, save_png, theme
from penguins.summary import complete_rows, data_summary


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    params = load_params()
    data = params.data
    raw = read_csv(Paths.RAW, labels=[data.target])  # every column: the summary counts missing values in each
    complete = complete_rows(raw, data)
    with theme():
        figure = explore_pairplot(complete, data, params.explore, str(Paths.PAIRPLOT))
        save_png(figure, Paths.PAIRPLOT)
    write_json(Paths.DATA_SUMMARY, data_summary(raw, complete, data))


if __name__ == "__main__":
    run_stage(main)
