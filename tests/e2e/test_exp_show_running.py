"""`make exp-show` while a real `dvc exp run` trains: the Running row shows DVCLive's epochs so far, never the
test metrics another run left in metrics/metrics.json."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import BIN, run
from tools.repo.run import ENV

pytestmark = pytest.mark.e2e

EPOCHS = 600  # long enough to be caught running (about 20 s of training here), short if it is not killed
DEADLINE_S = 240


def exp_show_rows(repo: Path) -> tuple[list[dict[str, str]], str]:
    proc = run([str(BIN / "python"), "-m", "tools.exp_show", "--csv"], cwd=repo)
    return list(csv.DictReader(io.StringIO(proc.stdout))), proc.stderr


def test_running_row_shows_epochs_so_far_and_no_other_experiments_metrics(pipeline_copy: Path) -> None:
    # The workspace's metrics/metrics.json is the default run's (accuracy 1 or near): what DVC would show.
    before, _ = exp_show_rows(pipeline_copy)
    assert before[0]["rev"] == "workspace" and before[0]["accuracy"]
    proc = subprocess.Popen(
        [str(BIN / "dvc"), "exp", "run", "-n", "long", "-S", f"train.epochs={EPOCHS}"],
        cwd=pipeline_copy, env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    seen: list[dict[str, str]] = []
    try:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline and proc.poll() is None:
            rows, stderr = exp_show_rows(pipeline_copy)
            running = [row for row in rows if row.get("State") == "Running"]
            if running:
                assert "still running, shown with DVCLive's epochs so far" in stderr
                seen += running
                workspace = next(row for row in rows if row["rev"] == "workspace" and row["typ"] == "baseline")
                for row in (*running, workspace):  # the run is in the workspace: its files are the run's
                    assert (row["accuracy"], row["f1_macro"], row["loss"]) == ("", "", ""), row
                if running[0].get("epochs"):
                    break
            time.sleep(1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    assert seen, f"`dvc exp run` never showed as Running within {DEADLINE_S} s (exit status {proc.returncode})"
    epochs = [int(row["epochs"]) for row in seen if row.get("epochs")]
    assert epochs and 1 <= epochs[-1] <= EPOCHS, seen  # DVCLive's count so far, from 1
    assert seen[-1]["Experiment"] == "long" and seen[-1]["train.epochs"] == str(EPOCHS)
