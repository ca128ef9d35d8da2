"""Large data sets (issue 14): explore's stratified plot sample, the synthetic data of `make bench-scale`."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from penguins.params import DataParams
from penguins.plotting import pairplot, theme
from penguins.sources import read_package_csv
from penguins.summary import complete_rows, plot_sample, sample_quotas
from tools.bench_scale import MEASUREMENTS, synthetic_penguins

DATA = DataParams(features=MEASUREMENTS, target="species", classes=("Adelie", "Chinstrap", "Gentoo"))


@pytest.mark.parametrize(
    ("counts", "size", "quotas"),
    [
        ([152, 68, 124], 100, [44, 20, 36]),  # 44.19, 19.77, 36.05: the one left over goes to Chinstrap's .77
        ([1, 1, 1], 2, [1, 1, 0]),  # ties: the earlier class
        ([9998, 1, 1], 100, [98, 1, 1]),  # a rare class keeps one row, taken from the largest
        ([5, 0, 5], 4, [2, 0, 2]),  # an absent class takes nothing
    ],
)
def test_sample_quotas_are_proportional_and_keep_every_class(counts: list[int], size: int, quotas: list[int]) -> None:
    assert sample_quotas(counts, size) == quotas
    assert sum(quotas) == size


def test_plot_sample_is_seeded_stratified_and_in_row_order() -> None:
    labels = np.repeat(["Adelie", "Chinstrap", "Gentoo"], [6000, 1000, 3000])
    complete = pd.DataFrame({"species": labels, "x": np.arange(len(labels), dtype="float64")})
    sample = plot_sample(complete, "species", max_points=1000, seed=0)
    assert len(sample) == 1000
    assert sample["species"].value_counts().to_dict() == {"Adelie": 600, "Gentoo": 300, "Chinstrap": 100}
    assert sample["x"].is_monotonic_increasing and sample["x"].is_unique  # original order, no row twice
    assert sample.equals(plot_sample(complete, "species", max_points=1000, seed=0))
    assert not sample.equals(plot_sample(complete, "species", max_points=1000, seed=1))


def test_small_data_is_drawn_whole() -> None:
    complete = complete_rows(pd.read_csv(io.BytesIO(read_package_csv())), DATA)
    assert plot_sample(complete, "species", max_points=5000, seed=0) is complete  # the default: all 342 rows


def test_the_pairplot_says_when_it_shows_a_sample() -> None:
    complete = complete_rows(synthetic_penguins(400, seed=1), DATA)
    sample = plot_sample(complete, "species", max_points=100, seed=0)
    with theme():
        figure = pairplot(sample, DATA.features[:2], DATA.target, DATA.classes, of_rows=len(complete))
    title = figure.get_suptitle()
    plt.close(figure)
    assert f"a random sample of 100 of the {len(complete):,} rows with every measurement, stratified" in title


def test_synthetic_penguins_are_seeded_with_the_real_class_balance() -> None:
    real = pd.read_csv(io.BytesIO(read_package_csv()))
    data = synthetic_penguins(20_000, seed=0)
    assert list(data.columns) == list(real.columns) and len(data) == 20_000
    assert data.equals(synthetic_penguins(20_000, seed=0))
    assert not data.equals(synthetic_penguins(20_000, seed=1))
    expected = real["species"].value_counts(normalize=True)
    observed = data["species"].value_counts(normalize=True)
    assert (observed - expected).abs().max() < 0.015  # 3.5 standard errors at 20,000 rows
    # 1 % noise: the mean of each measurement stays within 1 % of the real one; missing values stay missing
    for column in MEASUREMENTS:
        assert abs(data[column].mean() / real[column].mean() - 1) < 0.01
        assert data[column].isna().mean() == pytest.approx(real[column].isna().mean(), abs=0.005)
    assert data.duplicated(subset=list(MEASUREMENTS)).mean() < 0.05
