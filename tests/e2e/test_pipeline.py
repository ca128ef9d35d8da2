"""End-to-end: the real `dvc repro` in a fresh temporary clone, the lesson's numbers, byte-reproducibility."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import BIN, dvc, run

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
    train_metrics = json.loads((repo / "metrics/train.json").read_text())
    assert train_metrics["trainable_params"] == 83
    assert train_metrics["epochs"] == 100


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
    """`dvc repro -f` reproduces every output md5, the Keras model included."""
    assert "models/model.keras" in outs(pipeline["second_lock"], "train")
    assert {*outs(pipeline["second_lock"], "explore"), *outs(pipeline["second_lock"], "figures")} >= set(IMAGE_PLOTS)
    assert pipeline["first_lock"] == pipeline["second_lock"]


def test_committed_pairplot_is_the_one_a_fresh_clone_makes(pipeline: dict[str, Any]) -> None:
    """explore depends on the data only, so, like the data stages, it matches the committed dvc.lock
    (figures depends on training, whose float results may differ on other CPUs)."""
    assert outs(pipeline["first_lock"], "explore") == outs(pipeline["committed_lock"], "explore")


def test_reloaded_model_predicts_what_evaluate_wrote(pipeline: dict[str, Any]) -> None:
    from stages import modeling

    repo = pipeline["repo"]
    card = json.loads((repo / "models/model.json").read_text())
    written = pd.read_csv(repo / "data/predictions/test.csv")
    test = pd.read_csv(repo / "data/split/test.csv")
    probabilities = modeling.load_model(repo / "models/model.keras").predict(test[card["features"]].to_numpy("float32"), verbose=0)
    np.testing.assert_array_equal(written[[f"prob_{c}" for c in card["classes"]]].to_numpy(), probabilities.astype("float64"))
    assert written["predicted"].tolist() == [card["classes"][i] for i in probabilities.argmax(axis=1)]
    confusion = pd.read_csv(repo / "plots/confusion.csv")
    assert list(confusion.columns) == ["actual", "predicted"] and len(confusion) == 69


def test_metrics_and_plots_are_declared_for_dvc(pipeline: dict[str, Any], tmp_path: Path) -> None:
    repo = pipeline["repo"]
    shown = json.loads(dvc("metrics", "show", "--json", cwd=repo).stdout)
    (workspace,) = (rev["data"] for rev in shown.values())  # a single revision: the workspace
    assert workspace["metrics/metrics.json"]["data"]["n_test"] == 69
    assert workspace["metrics/train.json"]["data"]["trainable_params"] == 83
    assert workspace["metrics/data_summary.json"]["data"]["rows_complete"] == 342
    plots = json.loads(dvc("plots", "show", "--json", "--split", "-o", str(tmp_path), cwd=repo).stdout)["data"]
    assert list(plots) == [IMAGE_PLOTS[0], "Loss", "Accuracy", IMAGE_PLOTS[1], "plots/confusion.csv", IMAGE_PLOTS[2]]
    assert all(plots[name][0]["type"] == "image" for name in IMAGE_PLOTS)
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
    assert "Output:" in proc.stdout or "Output" in proc.stdout


def md5s(repo: Path, lock: dict[str, Any]) -> dict[str, bytes]:
    return {path: (repo / path).read_bytes() for stage in STAGES for path in outs(lock, stage)}


@pytest.mark.parametrize(
    ("stage", "section", "key", "value", "message"),
    [
        ("split", "split", "test_size", 1.5, "error: params.yaml: split.test_size must be a number in (0, 1), got 1.5"),
        ("train", "train", "epochs", 0, "error: params.yaml: train.epochs must be an integer >= 1, got 0"),
        ("train", "train", "activation", "sigmoidal", "error: params.yaml: train.activation must be one of relu,"),
        ("train", "train", "seed", 0.5, "error: params.yaml: train.seed must be an integer >= 0, got 0.5"),
        ("fetch", "fetch", "source", "url", "error: params.yaml: fetch.source is 'url' so fetch.sha256 is required"),
    ],
)
def test_bad_param_one_line_and_outputs_intact(
    pipeline: dict[str, Any], pipeline_copy: Path, stage: str, section: str, key: str, value: Any, message: str
) -> None:
    from tests.conftest import edit_params

    before = md5s(pipeline_copy, pipeline["second_lock"])
    edit_params(pipeline_copy, **{f"{section}__{key}": value})
    proc = run([str(BIN / "python"), "-m", f"stages.{stage}"], cwd=pipeline_copy, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(message) and proc.stderr.count("\n") == 1, proc.stderr
    assert md5s(pipeline_copy, pipeline["second_lock"]) == before


def test_bad_param_under_dvc_repro(pipeline_copy: Path) -> None:
    from tests.conftest import edit_params

    edit_params(pipeline_copy, train__epochs=0)
    proc = dvc("repro", cwd=pipeline_copy, check=False)
    assert proc.returncode != 0
    assert "error: params.yaml: train.epochs must be an integer >= 1, got 0" in proc.stderr
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
