"""`make check-repro` (tools/check_repro.py) in fresh clones: it passes when nothing changed and fails,
naming the stage or the output, when the lock is stale or a committed md5 was tampered with."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from dvc.utils.serialize import modify_yaml

from tests.conftest import BIN, edit_params, run
from tools.workspace import clone_worktree

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
    assert "| train | `models/model.keras` |" in proc.stdout and "❌" not in proc.stdout
    assert "The model is byte-identical to the committed one." in proc.stdout
    assert "### 3. Changes against `HEAD~1`" in proc.stdout
    assert (fresh_clone / "reports/check-repro.md").read_text() == proc.stdout


def test_params_edited_without_rerun_fails_naming_the_stage(fresh_clone: Path) -> None:
    edit_params(fresh_clone, train__epochs=50)
    proc = check(fresh_clone)
    assert proc.returncode == 1
    assert "dvc.lock out of step: stage 'train': param train.epochs modified in params.yaml" in proc.stdout
    assert "nothing was re-run" in proc.stdout and "### 2." not in proc.stdout


def test_tampered_md5_fails_naming_the_output(fresh_clone: Path) -> None:
    set_lock_md5(fresh_clone, "data/split/test.csv", "0" * 32)
    commit(fresh_clone, "tamper")
    proc = check(fresh_clone)
    assert proc.returncode == 1
    assert f"output data/split/test.csv (stage split): committed md5 {'0' * 32}, reproduced " in proc.stdout
    assert "(data must match exactly)" in proc.stdout


@pytest.mark.parametrize(("accuracy_shift", "passes"), [(0.01, True), (0.2, False)])
def test_other_platform_is_judged_by_metric_tolerance(fresh_clone: Path, accuracy_shift: float, passes: bool) -> None:
    """As if committed from another CPU: the model's md5 and the metrics differ from what this machine makes,
    and a second training run here agrees with the first, so the metrics must stay within the tolerance."""
    metrics_file = fresh_clone / "metrics/metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics["accuracy"] = round(metrics["accuracy"] - accuracy_shift, 6)
    metrics_file.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    set_lock_md5(fresh_clone, "metrics/metrics.json")
    set_lock_md5(fresh_clone, "models/model.keras", "f" * 32)
    commit(fresh_clone, "as committed on another platform")

    proc = check(fresh_clone)
    assert "a second training run here gave the same bytes again" in proc.stdout
    assert "≈ differs (other platform: metrics checked below)" in proc.stdout
    assert "| metrics/metrics.json | accuracy |" in proc.stdout
    assert "- cpu: " in proc.stdout and "- packages.keras: " in proc.stdout  # this machine, to explain a difference
    assert (proc.returncode == 0) == passes, proc.stdout
    if not passes:
        assert "metric accuracy (metrics/metrics.json): committed" in proc.stdout
        assert "beyond tolerance 0.05" in proc.stdout


def test_deleted_lock_is_one_line(fresh_clone: Path) -> None:
    (fresh_clone / "dvc.lock").unlink()
    proc = check(fresh_clone)
    assert proc.returncode == 1
    failures = [line for line in proc.stdout.splitlines() if line.startswith("- ")]
    assert failures == [
        "- dvc.lock is deleted in the working tree: `git checkout dvc.lock` restores the committed one "
        "(the check stops here, nothing was re-run)",
        "- ❌ dvc.lock is deleted in the working tree: `git checkout dvc.lock` restores the committed one",
    ], proc.stdout
