"""`make exp-show` while a real `dvc exp run` trains: the Running row shows DVCLive's epochs so far, or nothing,
never another run's numbers: neither the test metrics another run left in metrics/metrics.json, nor, in the
seconds before the train stage starts (and DVC removes dvclive/), the previous run's dvclive/metrics.json."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import BIN, run
from tools.repo.run import ENV

pytestmark = pytest.mark.e2e

EPOCHS = 600  # long enough to be caught running (about 10-20 s of training here), short if it is not killed
DEADLINE_S = 240
# The run differs from the baseline in what DVCLive logs from its first epoch on: hidden_units [12] has 99
# trainable parameters, the default [10] 83. So a row showing 83 shows the previous run's file, even at an epoch
# where (training being deterministic) both runs log the same accuracy.
HIDDEN = 12
NEW_PARAMS = 4 * HIDDEN + HIDDEN + HIDDEN * 3 + 3


def exp_show_rows(repo: Path) -> tuple[list[dict[str, str]], str]:
    proc = run([str(BIN / "python"), "-m", "tools.exp_show", "--csv"], cwd=repo)
    return list(csv.DictReader(io.StringIO(proc.stdout))), proc.stderr


def test_running_row_shows_only_this_run_s_epochs_so_far_from_the_very_start(pipeline_copy: Path) -> None:
    # The workspace's files are the default run's, committed too: metrics/metrics.json (test accuracy 1 or near)
    # and dvclive/metrics.json (100 epochs): what DVC would show for the new run until it rewrites them.
    before, _ = exp_show_rows(pipeline_copy)
    assert before[0]["rev"] == "workspace" and before[0]["accuracy"]
    baseline = json.loads((pipeline_copy / "dvclive/metrics.json").read_text())
    committed = run(["git", "show", "HEAD:dvclive/metrics.json"], cwd=pipeline_copy).stdout
    assert baseline["step"] == 99 and json.loads(committed)["step"] == 99, baseline  # the 100-epoch default run
    old = (str(baseline["step"] + 1), str(baseline["eval"]["accuracy"]), str(baseline["trainable_params"]))
    assert old[2] != str(NEW_PARAMS)

    proc = subprocess.Popen(
        [str(BIN / "dvc"), "exp", "run", "-n", "long", "-S", f"train.epochs={EPOCHS}",
         "-S", f"train.hidden_units=[{HIDDEN}]"],
        cwd=pipeline_copy, env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    sightings: list[tuple[float, dict[str, str], str]] = []  # (seconds since the start, row, stderr)
    started = time.monotonic()
    try:
        while time.monotonic() < started + DEADLINE_S and proc.poll() is None:  # from the very start: no sleep
            rows, stderr = exp_show_rows(pipeline_copy)
            running = [row for row in rows if row.get("State") == "Running"]
            if running:
                workspace = next(row for row in rows if row["rev"] == "workspace" and row["typ"] == "baseline")
                sightings += [(time.monotonic() - started, row, stderr) for row in (*running, workspace)]
                if sum(1 for _, row, _ in sightings if row["State"] == "Running" and row.get("epochs")) >= 3:
                    break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    assert sightings, f"`dvc exp run` never showed as Running within {DEADLINE_S} s (exit status {proc.returncode})"
    shown = [(t, row) for t, row, _ in sightings if row.get("epochs") or row.get("eval.accuracy")]
    for t, row in shown:  # never the previous run's DVCLive file
        live = (row["epochs"], row["eval.accuracy"], row.get("trainable_params", ""))
        assert live != old and row.get("trainable_params") == str(NEW_PARAMS), (t, row, shown)
        assert 1 <= int(row["epochs"]) <= EPOCHS, (t, row)
    for t, row, stderr in sightings:
        assert "still running, shown with DVCLive's epochs so far" in stderr, stderr
        # The run is in the workspace: the workspace's files are the run's, as the Running row's.
        assert (row["accuracy"], row["f1_macro"], row["loss"]) == ("", "", ""), (t, row)
        if not row.get("epochs"):
            assert row.get("eval.accuracy", "") == "" and row.get("trainable_params", "") == "", (t, row)
            if row["State"] == "Running":
                assert "training has not logged an epoch yet" in stderr, (t, stderr)
    running_epochs = [int(row["epochs"]) for _, row in shown if row["State"] == "Running"]
    assert running_epochs, f"no Running row showed epochs: {sightings}"
    assert running_epochs == sorted(running_epochs), shown  # DVCLive's count so far only grows
    last = [row for _, row, _ in sightings if row["State"] == "Running"][-1]
    assert last["Experiment"] == "long" and last["train.epochs"] == str(EPOCHS)
