"""`make check-repro` (tools/check_repro/) in fresh clones: it passes when nothing changed and fails,
naming the stage or the output, when the lock is stale or a committed md5 was tampered with."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from dvc.utils.serialize import modify_yaml

from penguins.card import parse_card
from tests.conftest import BIN, dvc, edit_params, run
from tools.repo.clones import clone_worktree

pytestmark = pytest.mark.e2e


def check(repo: Path) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "python"), "-m", "tools.check_repro", "--repo", str(repo)], cwd=repo, check=False)


def commit(repo: Path, message: str) -> None:
    run(["git", "commit", "-q", "-am", message], cwd=repo)


def set_lock_md5(repo: Path, path: str, md5: str | None = None) -> None:
    """Write ``md5`` (default: the file's real md5) for output ``path`` into dvc.lock."""
    lock_file = repo / "dvc.lock"
    with modify_yaml(lock_file) as lock:  # as DVC reads and writes it
        for entry in lock["stages"].values():
            for out in entry.get("outs", []):
                if out["path"] == path and md5:
                    out["md5"] = md5
                elif out["path"] == path:
                    out["md5"] = hashlib.md5((repo / path).read_bytes()).hexdigest()
                    out["size"] = (repo / path).stat().st_size


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    repo = clone_worktree(tmp_path / "repo")
    (repo / "extra.txt").write_text("a second commit, so HEAD~1 exists for the diff section\n")
    run(["git", "add", "extra.txt"], cwd=repo)
    commit(repo, "second")
    return repo


def test_unchanged_clone_passes(fresh_clone: Path) -> None:
    proc = check(fresh_clone)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "**Result: PASS**" in proc.stdout
    assert re.search(r"\| train +\| `models/model.keras` +\|", proc.stdout) and "❌" not in proc.stdout
    assert "The model is byte-identical to the committed one." in proc.stdout
    assert "### 3. Changes against `HEAD~1`" in proc.stdout
    assert (fresh_clone / "reports/check-repro.md").read_text() == proc.stdout


def test_params_edited_without_rerun_fails_naming_the_stage(fresh_clone: Path) -> None:
    edit_params(fresh_clone, train__epochs=50)
    proc = check(fresh_clone)
    assert proc.returncode == 1
    assert "dvc.lock out of step: stage 'train': param train.epochs modified in params.yaml" in proc.stdout
    assert "nothing was re-run" in proc.stdout and "### 2." not in proc.stdout


def shift_accuracy(repo: Path, shift: float) -> None:
    metrics_file = repo / "metrics/metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics["accuracy"] = round(metrics["accuracy"] - shift, 6)
    metrics_file.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def rezip(path: Path) -> None:
    """The same model in another zip (with a comment): other bytes, the same weights, as if saved elsewhere."""
    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info)) for info in src.infolist()]
    made = path.with_name("rezipped.keras")
    with zipfile.ZipFile(made, "w") as dst:
        for info, data in entries:
            dst.writestr(info, data)
        dst.comment = b"saved on another platform"
    path.unlink()  # DVC may have linked it to its cache
    made.rename(path)
    card = path.with_suffix(".json")  # and its card, naming it, as train there writes it
    light = path.with_suffix(".safetensors")  # unchanged: the same weights
    signed = parse_card(json.loads(card.read_text()), str(card)).for_model(path, light).as_json()
    card.unlink()
    card.write_text(json.dumps(signed, indent=2, sort_keys=True) + "\n")


def test_other_platform_is_judged_by_metric_tolerance(fresh_clone: Path) -> None:
    """As if committed from another CPU, the committed model not at hand: the model's md5 and the metrics differ
    from what this machine makes, a second training run here agrees with the first, so the metrics must stay
    within the tolerance (beyond it: tests/unit/test_check_repro_logic.py)."""
    shift_accuracy(fresh_clone, 0.01)
    set_lock_md5(fresh_clone, "metrics/metrics.json")
    set_lock_md5(fresh_clone, "models/model.keras", "f" * 32)
    commit(fresh_clone, "as committed on another platform")

    proc = check(fresh_clone)
    assert "a second training run here gave the same bytes again" in proc.stdout
    assert "≈ differs (other platform: metrics checked below)" in proc.stdout
    assert re.search(r"\| metrics/metrics.json +\| accuracy +\|", proc.stdout)
    assert "- cpu: " in proc.stdout and "- packages.keras: " in proc.stdout  # this machine, to explain a difference
    assert "The committed model is not in this repository's DVC cache" in proc.stdout
    assert proc.returncode == 0, proc.stdout


# Last in this file: the only test here that needs the shared pipeline clone (conftest.LONGEST_FIRST).
def test_tampered_md5_and_edited_metrics_fail_when_the_committed_model_is_cached(pipeline_copy: Path) -> None:
    """One commit with two faults, each named by one clean-clone re-run (a second would cost a whole pipeline):
    - a data output's md5 tampered with in dvc.lock: it must match exactly, all it derives from being identical;
    - as if committed from another CPU, with the model in the DVC cache: the metrics file edited by 0.001 (well
      within the tolerance) and its md5 written into dvc.lock. evaluate, re-run on the committed model, cannot
      make that file, so the check fails although every metric is within the tolerance."""
    rezip(pipeline_copy / "models/model.keras")
    shift_accuracy(pipeline_copy, 0.001)
    dvc("commit", "--force", "train", "evaluate", cwd=pipeline_copy)  # the md5s into dvc.lock, the model cached
    set_lock_md5(pipeline_copy, "data/split/test.csv", "0" * 32)
    (pipeline_copy / "data/split/test.csv").unlink()  # absent, as in a fresh clone: `dvc status` does not object
    commit(pipeline_copy, "as committed on another platform, metrics edited by hand, an md5 tampered with")

    proc = check(pipeline_copy)
    assert proc.returncode == 1, proc.stdout
    assert f"output data/split/test.csv (stage split): committed md5 {'0' * 32}, reproduced " in proc.stdout
    assert "(must match exactly: all it is derived from reproduced byte-identically)" in proc.stdout
    assert "a second training run here gave the same bytes again" in proc.stdout
    assert "Re-derived from the committed model (from this repository's DVC cache: evaluate, figures" in proc.stdout
    assert "- output metrics/metrics.json (stage evaluate): committed md5 " in proc.stdout
    assert ", re-derived from the committed model " in proc.stdout
    assert "beyond tolerance" not in proc.stdout  # only the exact check catches it
    assert re.search(r"\| figures +\| `plots/confusion_heatmap.png` +\|", proc.stdout)
