"""`dvc exp` in a temporary clone: -S experiments, a queued pair run with -j 2, and bad -S values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MAKE, dvc, run
from tests.helpers.waits import limit_s
from tools.repo.clones import run_queue

pytestmark = pytest.mark.e2e


def experiments(repo: Path) -> dict[str, dict[str, Any]]:
    """{experiment name: {"params": train params, "metrics": metrics.json}} from `dvc exp show --json`."""
    found = {}
    for baseline in json.loads(dvc("exp", "show", "--json", cwd=repo).stdout):
        for exp in baseline.get("experiments") or []:
            rev = exp["revs"][0]
            data = rev["data"]
            found[exp["name"]] = {
                "params": data["params"]["params.yaml"]["data"]["train"],
                "metrics": data["metrics"]["metrics/metrics.json"]["data"],
                "live": data["metrics"]["dvclive/metrics.json"]["data"],
            }
    return found


def test_exp_run_reruns_only_training_and_shows_params_and_metrics(pipeline_copy: Path) -> None:
    few = dvc("exp", "run", "-n", "few-epochs", "-S", "train.epochs=3", cwd=pipeline_copy)
    for stage in ("fetch", "clean", "encode", "split"):
        assert f"Stage '{stage}' didn't change, skipping" in few.stdout
    assert "Running stage 'train'" in few.stdout and "Running stage 'evaluate'" in few.stdout
    # up to evaluate: its metrics are what this test compares; figures ran in the first one
    wider = ["-n", "wider", "-S", "train.epochs=3", "-S", "train.hidden_units=[16,8]"]
    dvc("exp", "run", "evaluate", *wider, cwd=pipeline_copy)

    shown = experiments(pipeline_copy)
    assert shown["few-epochs"]["params"]["epochs"] == 3
    assert shown["wider"]["params"]["hidden_units"] == [16, 8]
    assert shown["few-epochs"]["live"]["trainable_params"] == 83
    assert shown["few-epochs"]["live"]["step"] == 2  # DVCLive logged 3 epochs, counted from 0
    assert shown["wider"]["live"]["trainable_params"] == 4 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3
    assert shown["few-epochs"]["metrics"]["loss"] != shown["wider"]["metrics"]["loss"]

    diff = dvc("exp", "diff", "few-epochs", "wider", cwd=pipeline_copy).stdout
    assert "train.hidden_units" in diff and "loss" in diff

    table = run([*MAKE, "exp-show", "ARGS=--csv"], cwd=pipeline_copy).stdout
    header = next(line for line in table.splitlines() if line.startswith("Experiment,")).split(",")
    wanted = {"accuracy", "f1_macro", "loss", "eval.accuracy", "trainable_params", "train.epochs", "train.hidden_units"}
    assert wanted <= set(header), header
    unwanted = ("per_class", "stages/", "data/", "penguins/", "dvclive", "models/", "plots/", "step")
    assert not [c for c in header if c.startswith(unwanted) or c in ("train.seed", "split.test_size")], header


def test_queued_pair_runs_in_parallel(pipeline_copy: Path) -> None:
    # up to train, as the sweeps: the queue's plumbing is under test, evaluate and figures would add two
    # TensorFlow and matplotlib start-ups per experiment in the queue's workers
    dvc("exp", "run", "--queue", "train", "-S", "train.epochs=2", "-S", "train.seed=1,2", cwd=pipeline_copy)
    # about 40 s on an idle machine; the polls compete with the two runs
    status, _ = run_queue(pipeline_copy, jobs=2, timeout_s=limit_s(60), poll_s=5)
    assert status.count("Success") == 2, status
    seeds = sorted(exp["params"]["seed"] for exp in experiments(pipeline_copy).values())
    assert seeds == [1, 2]

    # An experiment with no results of its own (queued here; a failed one alike: unit-tested) is named
    # after the table, not listed with its baseline's metrics as if they were its own.
    dvc("exp", "run", "--queue", "-n", "bad-epochs", "-S", "train.epochs=abc", cwd=pipeline_copy)
    shown = run([*MAKE, "exp-show", "ARGS=--csv"], cwd=pipeline_copy)
    assert "bad-epochs" not in shown.stdout, shown.stdout
    rows = [line.split(",") for line in shown.stdout.splitlines() if line.count(",") > 3]
    assert rows[0][:2] == ["Experiment", "rev"], shown.stdout
    assert len([row for row in rows[1:] if row[1] not in ("workspace", "main")]) == 2, shown.stdout  # the seeds
    assert "exp-show: left out 1 queued experiment(s), not run yet: bad-epochs" in shown.stderr, shown.stderr


@pytest.mark.parametrize("override", ["train.epochs=0", "train.activation=relu6x", "split.test_size=1.5"])
def test_bad_set_param_fails_fast_and_keeps_outputs(pipeline_copy: Path, override: str) -> None:
    before = {p: p.read_bytes() for p in (pipeline_copy / "metrics").iterdir()}
    proc = dvc("exp", "run", "-S", override, cwd=pipeline_copy, check=False)
    assert proc.returncode != 0
    key = override.split("=", maxsplit=1)[0]
    assert f"error: params.yaml: {key} " in proc.stderr, proc.stderr
    assert "failed to reproduce 'validate_params'" in proc.stderr  # stopped before any real stage ran
    assert {p: p.read_bytes() for p in (pipeline_copy / "metrics").iterdir()} == before
