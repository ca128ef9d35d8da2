"""Large data sets (issue 14): explore's stratified plot sample, the synthetic data of `make bench-scale`, the
confusion matrix as aggregated counts in git and the DVC template that draws them."""

from __future__ import annotations

import copy
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from penguins.data import clean, encode, split
from penguins.evaluation import confusion_counts
from penguins.io import write_csv
from penguins.params import DataParams
from penguins.plotting import confusion_table, pairplot, theme
from penguins.sources import read_package_csv
from penguins.summary import complete_rows, plot_sample, sample_quotas
from penguins.yamlio import read_yaml
from tools.benchmarks.scale import MEASUREMENTS, synthetic_penguins
from tools.report.pictures import static_spec

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


# ---- the confusion matrix in git: aggregated counts ------------------------------------------

CLASSES = ("Adelie", "Chinstrap", "Gentoo")
ACTUAL = ["Adelie"] * 5 + ["Chinstrap"] * 2 + ["Gentoo"] * 3
PREDICTED = ["Adelie"] * 4 + ["Gentoo"] + ["Chinstrap"] * 2 + ["Gentoo"] * 3
TEMPLATE = Path(__file__).resolve().parents[2] / ".dvc/plots/confusion_counts.json"


def test_confusion_counts_have_every_pair_of_classes_whatever_the_test_size() -> None:
    counts = confusion_counts(ACTUAL * 1000, PREDICTED * 1000, CLASSES)
    assert list(counts.columns) == ["actual", "predicted", "count"] and len(counts) == 9
    assert counts["count"].tolist() == [4000, 0, 1000, 0, 2000, 0, 0, 0, 3000]
    assert counts[["actual", "predicted"]].to_numpy().tolist()[:2] == [["Adelie", "Adelie"], ["Adelie", "Chinstrap"]]


def test_heatmap_table_from_counts_equals_the_one_from_samples() -> None:
    samples = pd.DataFrame({"actual": ACTUAL, "predicted": PREDICTED})
    counts = confusion_counts(ACTUAL, PREDICTED, CLASSES)
    assert confusion_table(counts, CLASSES, "c.csv").equals(confusion_table(samples, CLASSES, "c.csv"))


def test_the_template_is_dvcs_confusion_template_weighted_by_count() -> None:
    from dvc_render.vega_templates import ConfusionTemplate

    ours = json.loads(TEMPLATE.read_text())
    transform = ours["spec"].pop("transform")
    assert ours["facet"]["column"].pop("header") == {"title": None}  # no stray "rev" above the matrix
    dvcs = copy.deepcopy(ConfusionTemplate.DEFAULT_CONTENT)  # a dvc-render upgrade that changes it fails here
    dvcs_transform = dvcs["spec"].pop("transform")
    assert {k: v for k, v in ours.items() if k != "description"} == dvcs
    assert transform[0]["as"] == "xy_weight" and transform[2:] == dvcs_transform[1:]


@pytest.mark.parametrize("kind", ["aggregated (now)", "per sample (older revisions)"])
def test_the_template_draws_the_right_matrix(kind: str) -> None:
    """Rendered offline (vl-convert), as `make report` renders it: the cells show the counts."""
    import vl_convert as vlc
    from dvc_render import VegaRenderer

    counts = confusion_counts(ACTUAL, PREDICTED, CLASSES).astype({"count": str})  # DVC reads CSV cells as text
    rows = counts if kind.startswith("aggregated") else pd.DataFrame({"actual": ACTUAL, "predicted": PREDICTED})
    datapoints = [{**row, "rev": "workspace"} for row in rows.to_dict("records")]
    renderer = VegaRenderer(
        datapoints, "plots/confusion.csv", template=str(TEMPLATE), x="predicted", y="actual", title="t"
    )
    svg = vlc.vegalite_to_svg(static_spec(renderer.get_filled_template()), allowed_base_urls=[])
    numbers = re.findall(r'<text[^>]*class="[^"]*"[^>]*>(\d+)</text>|>(\d+)</text>', svg)
    shown = sorted(int(a or b) for a, b in numbers)
    assert [n for n in (4, 1, 2, 3) if n in shown] == [4, 1, 2, 3]
    assert shown.count(0) >= 5  # the empty cells say 0


# ---- prediction in bounded chunks --------------------------------------------------------------


def test_chunked_prediction_is_bit_identical_to_one_call(default_params: Any) -> None:
    from penguins import modeling

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(1000, 4)) * [5, 2, 14, 800] + [44, 17, 200, 4200]).astype("float32")
    modeling.configure_determinism(0, op_determinism=True)
    model = modeling.build_model(4, 3, default_params.train, x[:100])
    one_call = model.predict(x, batch_size=16, verbose=0)
    chunked = modeling.predict(model, x, batch=16, chunk=16 * 7)  # 1000 = 8 chunks of 112 rows and 104 more
    np.testing.assert_array_equal(chunked, one_call)
    assert modeling.predict(model, x[:0], batch=64, chunk=128).shape == (0, 3)
    with pytest.raises(ValueError, match="must be a multiple of batch"):
        modeling.predict(model, x, batch=64, chunk=100)


# ---- split: scikit-learn's stratify labels made once per distinct row -----------------------------


@pytest.mark.parametrize("rows", [342, 20_000])
def test_split_is_the_one_scikit_learn_makes_of_the_one_hot_frame(default_params: Any, rows: int) -> None:
    from sklearn.model_selection import train_test_split

    raw = pd.read_csv(io.BytesIO(read_package_csv())) if rows == 342 else synthetic_penguins(rows, seed=2)
    encoded = encode(clean(raw, default_params.data), default_params.data)
    onehot = [c for c in encoded.columns if c.startswith("species_")]
    train, test = split(encoded, default_params.split, onehot, default_params.data.classes)
    s = default_params.split
    expected = train_test_split(encoded, test_size=s.test_size, random_state=s.random_state, stratify=encoded[onehot])
    assert train.equals(expected[0]) and test.equals(expected[1])
    assert train.index.equals(expected[0].index)


def test_write_csv_writes_the_bytes_pandas_writes(tmp_path: Path) -> None:
    awkward = [39.1, -0.0, 0.0, np.nan, 1e-7, 1e16, 123456789.123, np.inf, -np.inf, 1 / 3, 3750.0, 2.5e-310]
    frame = pd.DataFrame(
        {
            "species": ["Adelie", "Gentoo, ok", None] * 4,
            "x": awkward,
            "y": np.array(awkward[::-1]),
            "n": np.arange(12),
            "f32": np.array(awkward, dtype="float32"),
        }
    )
    write_csv(tmp_path / "a.csv", frame)
    assert (tmp_path / "a.csv").read_bytes() == frame.to_csv(index=False, lineterminator="\n").encode()
    assert frame["x"].iloc[1] == 0 and np.signbit(frame["x"].iloc[1])  # the frame itself is left as it was


# ---- make bench-scale's bookkeeping ----------------------------------------------------------------


def test_bench_points_a_clone_at_the_synthetic_file(tmp_path: Path) -> None:
    import subprocess

    from tools.benchmarks.scale import point_params, write_synthetic

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "params.yaml").write_text((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    for cmd in (
        ["git", "init", "-q"],
        ["git", "config", "user.name", "t"],
        ["git", "config", "user.email", "t@t.invalid"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "x"],
    ):
        subprocess.run(cmd, cwd=repo, check=True)
    sha256 = write_synthetic(tmp_path / "data.csv", 2000)
    point_params(repo, tmp_path / "data.csv", sha256, epochs=1)
    params = read_yaml(repo / "params.yaml")
    assert params["fetch"] | {"timeout_s": None} == {
        "source": "url",
        "url": (tmp_path / "data.csv").as_uri(),
        "sha256": sha256,
        "timeout_s": None,
        "max_mb": 200,
    }
    assert params["train"]["epochs"] == 1
    assert len((tmp_path / "data.csv").read_text().splitlines()) == 2001


# Issue 29: many classes (1,000 x 5 rows) made a 14 MB plots/confusion.csv and a heatmap that drew for minutes.
MANY = [f"c{i:04d}" for i in range(1000)]


def test_confusion_counts_above_the_bound_list_only_the_pairs_that_occur() -> None:
    from penguins.evaluation import CONFUSION_ALL_PAIRS_MAX_CLASSES, confusion_note

    actual = [name for name in MANY for _ in range(5)]
    predicted = [name if k < 3 else MANY[(i + 1) % 1000] for i, name in enumerate(MANY) for k in range(5)]
    counts = confusion_counts(actual, predicted, MANY)
    assert len(counts) == 2000 and (counts["count"] > 0).all()
    assert counts[["actual", "predicted"]].to_numpy().tolist()[:2] == [["c0000", "c0000"], ["c0000", "c0001"]]
    text = io.StringIO()
    counts.to_csv(text, index=False)
    assert len(text.getvalue()) < 100_000
    note = confusion_note(len(MANY), counts, len(actual))
    assert note is not None and "2,000 pairs" in note and "left out" not in note and "\n" not in note
    assert confusion_note(CONFUSION_ALL_PAIRS_MAX_CLASSES, counts, len(actual)) is None
    capped = confusion_counts(actual, predicted, MANY, max_pairs=1500)
    assert len(capped) == 1500 and capped["count"].min() == 2 and (capped["count"] == 3).sum() == 1000
    note = confusion_note(len(MANY), capped, len(actual))
    assert note is not None and "1,000 test rows are in pairs left out" in note
    few = confusion_counts(ACTUAL, PREDICTED, CLASSES)
    assert len(few) == 9  # up to the bound, every pair: the default file is unchanged


def test_a_heatmap_of_a_thousand_classes_is_bounded_and_quick() -> None:
    import time

    from penguins.plotting import HEATMAP_MAX_CLASSES, confusion_heatmap, heatmap_classes, heatmap_note

    actual = MANY * 5
    predicted = MANY[:10] * 302 + MANY[10:] * 2  # the first 10 classes predicted most
    start = time.perf_counter()
    table = confusion_table(confusion_counts(actual, predicted, MANY), MANY, "c.csv")
    drawn = heatmap_classes(table)
    assert len(drawn) == HEATMAP_MAX_CLASSES and list(drawn.index) == list(drawn.columns)
    assert list(drawn.index[:10]) == MANY[:10] and list(drawn.index) == sorted(drawn.index)
    with theme():
        figure = confusion_heatmap(drawn, "species", of_classes=len(table))
        assert f"{HEATMAP_MAX_CLASSES} of 1000 classes" in figure.axes[0].get_title()
        figure.savefig(io.BytesIO(), format="png")
        plt.close(figure)
    assert time.perf_counter() - start < 30
    assert "30 of the 1000 classes" in heatmap_note(1000) and heatmap_note(3) is None


def test_a_pairplot_of_forty_features_draws_the_first_eight_and_says_so() -> None:
    from penguins.plotting import PAIRPLOT_MAX_FEATURES, pairplot_note

    rng = np.random.default_rng(0)
    features = [f"f{i}" for i in range(40)]
    frame = pd.DataFrame(rng.normal(size=(30, 40)), columns=features).assign(species=["Adelie", "Gentoo"] * 15)
    with theme():
        figure = pairplot(frame, features, "species", ["Adelie", "Gentoo"])
        assert len({ax.get_xlabel() for ax in figure.axes} - {""}) == PAIRPLOT_MAX_FEATURES
        assert f"the first {PAIRPLOT_MAX_FEATURES} of 40 features" in figure.get_suptitle()
        plt.close(figure)
    assert "first 8 of the 40" in pairplot_note(40) and pairplot_note(4, 3) is None


def test_a_pairplot_of_a_thousand_classes_colours_ten() -> None:
    from penguins.plotting import PAIRPLOT_MAX_CLASSES, pairplot_hue, pairplot_note

    labels = pd.Series([name for i, name in enumerate(MANY) for _ in range(1 + (i % 7 == 0))])
    coloured, order = pairplot_hue(labels, MANY)
    assert len(order) == PAIRPLOT_MAX_CLASSES and order[-1] == f"other ({1000 - PAIRPLOT_MAX_CLASSES + 1} classes)"
    assert order[:3] == ["c0000", "c0007", "c0014"] and set(coloured) == set(order)
    few = pd.Series(["Adelie", "Gentoo"])
    assert pairplot_hue(few, ["Adelie", "Chinstrap", "Gentoo"])[1] == ["Adelie", "Chinstrap", "Gentoo"]
    assert "colours the 9 of the 1000 classes" in pairplot_note(4, 1000)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(5000, 2)), columns=["a_mm", "b_mm"]).assign(species=MANY * 5)
    start = time.process_time()
    with theme():
        figure = pairplot(frame, ["a_mm", "b_mm"], "species", MANY)
        assert "9 of 1000 classes coloured" in figure.get_suptitle()
        figure.savefig(io.BytesIO(), format="png")
        plt.close(figure)
    assert time.process_time() - start < 30
