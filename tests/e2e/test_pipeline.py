"""End-to-end: the real `dvc repro` in a fresh temporary clone, the lesson's numbers, byte-reproducibility."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from penguins.environment import environment_record
from tests.conftest import BIN, dvc, edit_params, run

pytestmark = pytest.mark.e2e

DATA_STAGES = ("validate_params", "fetch", "clean", "encode", "split")
PICTURE_STAGES = ("explore", "figures")
STAGES = (*DATA_STAGES, "train", "evaluate", *PICTURE_STAGES)
IMAGE_PLOTS = ("plots/pairplot.png", "plots/training_curves.png", "plots/confusion_heatmap.png")


def outs(lock: dict[str, Any], stage: str) -> dict[str, str]:
    return {out["path"]: out["md5"] for out in lock["stages"][stage]["outs"]}


def rows(path: Path) -> int:
    return len(pd.read_csv(path))


def test_lesson_numbers(pipeline: dict[str, Any]) -> None:
    repo = pipeline["repo"]
    assert rows(repo / "data/raw/penguins.csv") == 344
    assert rows(repo / "data/clean/penguins.csv") == 342
    assert (rows(repo / "data/split/train.csv"), rows(repo / "data/split/test.csv")) == (273, 69)
    live = json.loads((repo / "dvclive/metrics.json").read_text())
    assert live["trainable_params"] == 83
    assert live["step"] == 99  # DVCLive counts epochs from 0
    assert len(pd.read_csv(repo / "dvclive/plots/metrics/train/loss.tsv", sep="\t")) == 100


def test_default_params_reach_97_percent(pipeline: dict[str, Any]) -> None:
    metrics = json.loads((pipeline["repo"] / "metrics/metrics.json").read_text())
    assert metrics["n_test"] == 69
    assert metrics["accuracy"] >= 0.97
    assert set(metrics) >= {"accuracy", "loss", "f1_macro", "per_class"}
    assert set(metrics["per_class"]) == {"Adelie", "Chinstrap", "Gentoo"}


def test_fresh_clone_is_up_to_date_and_data_matches_committed_lock(pipeline: dict[str, Any]) -> None:
    assert "Data and pipelines are up to date." in pipeline["status_after_first"]
    for stage in DATA_STAGES:
        assert outs(pipeline["first_lock"], stage) == outs(pipeline["committed_lock"], stage), stage


def test_two_runs_are_byte_identical(pipeline: dict[str, Any]) -> None:
    """The fresh clone's run reproduces every output md5 of the committed dvc.lock, which another run made: the
    Keras model and the pictures included (what `make check-repro` checks in CI, tests/e2e/test_check_repro.py)."""
    assert "models/model.keras" in outs(pipeline["first_lock"], "train")
    assert {*outs(pipeline["first_lock"], "explore"), *outs(pipeline["first_lock"], "figures")} >= set(IMAGE_PLOTS)
    for stage in STAGES:
        assert outs(pipeline["first_lock"], stage) == outs(pipeline["committed_lock"], stage), stage


def test_committed_pairplot_is_the_one_a_fresh_clone_makes(pipeline: dict[str, Any]) -> None:
    """explore depends on the data only, so, like the data stages, it matches the committed dvc.lock
    (figures depends on training, whose float results may differ on other CPUs)."""
    assert outs(pipeline["first_lock"], "explore") == outs(pipeline["committed_lock"], "explore")


def test_reloaded_model_predicts_what_evaluate_wrote(pipeline: dict[str, Any]) -> None:
    from penguins import modeling

    repo = pipeline["repo"]
    card = json.loads((repo / "models/model.json").read_text())
    written = pd.read_csv(repo / "data/predictions/test.csv")
    test = pd.read_csv(repo / "data/split/test.csv")
    model = modeling.load_model(repo / "models/model.keras")
    probabilities = model.predict(test[card["features"]].to_numpy("float32"), verbose=0).astype("float64")
    np.testing.assert_array_equal(written[[f"prob_{c}" for c in card["classes"]]].to_numpy(), probabilities.round(4))
    assert written["predicted"].tolist() == [card["classes"][i] for i in probabilities.argmax(axis=1)]
    confusion = pd.read_csv(repo / "plots/confusion.csv")  # aggregated: 3 x 3 rows whatever the test set's size
    assert list(confusion.columns) == ["actual", "predicted", "count"] and len(confusion) == 9
    pairs = pd.crosstab(written["actual"], written["predicted"]).stack()
    assert confusion.set_index(["actual", "predicted"])["count"][pairs.index].tolist() == pairs.tolist()
    assert confusion["count"].sum() == 69


def test_metrics_and_plots_are_declared_for_dvc(pipeline: dict[str, Any], tmp_path: Path) -> None:
    repo = pipeline["repo"]
    shown = json.loads(dvc("metrics", "show", "--json", cwd=repo).stdout)
    (workspace,) = (rev["data"] for rev in shown.values())  # a single revision: the workspace
    assert workspace["metrics/metrics.json"]["data"]["n_test"] == 69
    assert workspace["dvclive/metrics.json"]["data"]["trainable_params"] == 83
    assert workspace["metrics/data_summary.json"]["data"]["rows_complete"] == 342
    plots = json.loads(dvc("plots", "show", "--json", "--split", "-o", str(tmp_path), cwd=repo).stdout)["data"]
    assert list(plots) == [IMAGE_PLOTS[0], "Loss", "Accuracy", IMAGE_PLOTS[1], "plots/confusion.csv", IMAGE_PLOTS[2]]
    assert all(plots[name][0]["type"] == "image" for name in IMAGE_PLOTS)
    # the confusion plot sums `count` (.dvc/plots/confusion_counts.json): DVC's `confusion` template counts rows
    confusion = plots["plots/confusion.csv"][0]
    assert {"op": "sum", "field": "xy_weight", "as": "xy_count"} in confusion["content"]["spec"]["transform"][1][
        "aggregate"
    ]
    assert "Data and pipelines are up to date." in dvc("status", cwd=repo).stdout


def test_data_stages_do_not_import_tensorflow(pipeline_copy: Path) -> None:
    for stage in (*DATA_STAGES, *PICTURE_STAGES):
        proc = run([str(BIN / "python"), "-X", "importtime", "-m", f"stages.{stage}"], cwd=pipeline_copy)
        imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
        assert not imported & {"tensorflow", "keras"}, stage


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_has_help_and_runs_as_a_script(pipeline: dict[str, Any], stage: str) -> None:
    proc = run([str(BIN / "python"), f"stages/{stage}.py", "--help"], cwd=pipeline["repo"])
    assert proc.stdout.startswith(f"usage: python -m stages.{stage} ")
    assert "Output:" in proc.stdout


def contents(path: Path) -> bytes | dict[str, bytes]:
    """A file's bytes, or every file's bytes in a directory output (DVCLive's)."""
    if path.is_dir():
        return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file()}
    return path.read_bytes()


def md5s(repo: Path, lock: dict[str, Any]) -> dict[str, bytes | dict[str, bytes]]:
    return {path: contents(repo / path) for stage in STAGES for path in outs(lock, stage)}


@pytest.mark.parametrize(
    ("stage", "key", "value"),
    [
        ("split", "split.test_size", 1.5),
        ("train", "train.epochs", 0),
        ("train", "train.activation", "sigmoidal"),
        ("train", "train.seed", 0.5),
        ("fetch", "fetch.source", "url"),  # a cross-field rule: source url needs sha256
    ],
)
def test_bad_param_one_line_and_outputs_intact(
    pipeline: dict[str, Any], pipeline_copy: Path, stage: str, key: str, value: Any
) -> None:
    """The messages themselves are tested once, in tests/unit/test_params.py; here: one line naming the key."""
    before = md5s(pipeline_copy, pipeline["first_lock"])
    edit_params(pipeline_copy, **{key.replace(".", "__"): value})
    proc = run([str(BIN / "python"), "-m", f"stages.{stage}"], cwd=pipeline_copy, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: params.yaml: ") and key in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert md5s(pipeline_copy, pipeline["first_lock"]) == before


def test_bad_param_under_dvc_repro(pipeline_copy: Path) -> None:
    edit_params(pipeline_copy, train__epochs=0)
    proc = dvc("repro", cwd=pipeline_copy, check=False)
    assert proc.returncode != 0
    assert "error: params.yaml: train.epochs " in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    edit_params(pipeline_copy, train__epochs=100)
    assert "Data and pipelines are up to date." in dvc("status", cwd=pipeline_copy).stdout  # nothing was deleted


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("species,island\nAdelie,Dream\n", "error: data/raw/penguins.csv: missing column 'bill_length_mm'"),
        ("", "error: data/raw/penguins.csv: file is empty"),
    ],
)
def test_bad_raw_data_one_line_and_clean_output_intact(pipeline_copy: Path, content: str, message: str) -> None:
    clean_before = (pipeline_copy / "data/clean/penguins.csv").read_bytes()
    raw = pipeline_copy / "data/raw/penguins.csv"
    raw.unlink()  # DVC may have linked it to the cache; replace rather than write through
    raw.write_text(content)
    proc = run([str(BIN / "python"), "-m", "stages.clean"], cwd=pipeline_copy, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(message) and proc.stderr.count("\n") == 1, proc.stderr
    assert (pipeline_copy / "data/clean/penguins.csv").read_bytes() == clean_before


@pytest.mark.parametrize(
    ("module", "stages"),
    [
        ("penguins/predict.py", []),  # the predict command: no stage imports it
        ("penguins/plotting.py", ["explore", "figures"]),  # pictures only: no training
        ("penguins/modeling.py", ["evaluate", "train"]),
    ],
)
def test_editing_a_module_changes_only_the_stages_that_import_it(
    pipeline_copy: Path, module: str, stages: list[str]
) -> None:
    """`dvc status` after a harmless edit (a comment, as a --help wording change would be) names only the stages
    that import the module: nothing else would re-run."""
    path = pipeline_copy / module
    path.write_text(path.read_text() + "# an edit\n")
    assert sorted(json.loads(dvc("status", "--json", cwd=pipeline_copy).stdout)) == stages


def test_no_output_names_this_machine_or_carries_float_noise(pipeline: dict[str, Any]) -> None:
    """What DVC hashes must be the same on any machine that makes the same model: no CPU or host name in any
    output, and per-row probabilities only to the 4 decimals that are stable across CPUs."""
    repo = pipeline["repo"]
    machine = [environment_record()["cpu"], platform.node()]
    for stage in STAGES:
        for path in outs(pipeline["first_lock"], stage):
            files = sorted((repo / path).rglob("*")) if (repo / path).is_dir() else [repo / path]
            for file in (f for f in files if f.is_file() and f.suffix != ".png"):
                text = file.read_bytes().decode("utf-8", errors="replace")
                assert not [name for name in machine if name and name in text], file
    probabilities = pd.read_csv(repo / "data/predictions/test.csv").filter(like="prob_")
    assert (probabilities.round(4) == probabilities).all().all()
