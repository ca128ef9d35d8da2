"""make exp-show (tools/exp_show.py) names failed and unfinished experiments instead of showing their baseline's
metrics. make reset (tools/reset.py): test_reset.py."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tools.exp_show import (
    is_current,
    live_metrics,
    no_epoch_yet,
    notes,
    running_rows,
    running_table,
    show_command,
    unfinished,
)

# Shaped as `dvc exp show --json` prints it (DVC 3.67): a failed queued experiment carries its baseline's data.
SHOWN = [
    {"rev": "workspace", "name": None, "data": {}, "error": None, "experiments": None},
    {
        "rev": "89ed21f",
        "name": "main",
        "data": {},
        "experiments": [
            {"name": "seed-1", "executor": None, "revs": [{"rev": "1d57ab5", "name": "seed-1"}]},
            {"name": "done", "executor": {"state": "success"}, "revs": [{"rev": "aaaaaaa"}]},
            {
                "name": "bad-epochs",
                "executor": {"state": "failed", "local": {"returncode": 255}},
                "revs": [{"rev": "2a65858", "name": "bad-epochs", "error": {"msg": "Experiment run failed"}}],
            },
            {"name": None, "executor": {"state": "queued"}, "revs": [{"rev": "3b7c9d1e0f", "name": None}]},
            {"name": "seed-3", "executor": {"state": "running"}, "revs": [{"rev": "4c4c4c4"}]},
        ],
    },
]


def test_failed_queued_and_running_experiments_are_found() -> None:
    assert unfinished(SHOWN) == {"failed": ["bad-epochs"], "queued": ["3b7c9d1"], "running": ["seed-3"]}
    assert unfinished(SHOWN[:1]) == {}


def test_failed_and_queued_are_hidden_and_named() -> None:
    states = {"failed": ["bad-epochs"], "queued": ["q1", "q2"]}
    cmd = show_command(["--md"])
    assert {"--hide-failed", "--hide-queued", "--only-changed"} <= set(cmd) and cmd[-1] == "--md"
    assert "|State$" in cmd[cmd.index("--drop") + 1]  # nothing running: the State column is not needed
    assert notes(states) == [
        "exp-show: left out 1 failed experiment(s), which have no results of their own: bad-epochs "
        "(why: `dvc queue logs bad-epochs`; `dvc queue remove --failed` forgets them)",
        "exp-show: left out 2 queued experiment(s), not run yet: q1, q2 (`dvc queue start` runs them)",
    ]


def test_a_running_experiment_is_named_in_a_note() -> None:
    assert notes({"running": ["seed-3"]})[0].startswith("exp-show: 1 experiment(s) still running")


def metrics(accuracy: float, step: int | str) -> dict[str, object]:
    live = {"data": {"eval": {"accuracy": 0.98}, "step": step, "trainable_params": 83}}
    return {"metrics/metrics.json": {"data": {"accuracy": accuracy, "f1_macro": accuracy, "loss": 0.05}},
            "dvclive/metrics.json": live}  # fmt: skip


def params(epochs: int) -> dict[str, object]:
    return {"params.yaml": {"data": {"train": {"epochs": epochs, "seed": 0}}}}


def live_run(root: Path, step: int, age_s: float | None = None, status: int = 2) -> dict[str, object]:
    """The executor `dvc exp show --json` gives a run in the workspace ``root`` (the current directory), whose
    stages DVC started 60 s ago (its executor info file, DVC 3.67.1 layout, says so with ``status``: 2 RUNNING),
    where DVCLive's file has logged ``step`` just now, or, given ``age_s``, that long before the run started
    (the previous run's file, or one `dvc exp run` put back as it set the run up)."""
    info = root / ".dvc/tmp/exps/run/workspace/workspace.run"
    info.parent.mkdir(parents=True, exist_ok=True)
    info.write_text(json.dumps({"location": "workspace", "root_dir": str(root), "name": "long", "status": status}))
    started = time.time() - 60
    os.utime(info, (started, started))
    live = root / "dvclive" / "metrics.json"
    live.parent.mkdir(parents=True, exist_ok=True)
    live.write_text(json.dumps({"trainable_params": 99, "eval": {"accuracy": 0.96}, "step": step}))
    if age_s is not None:
        os.utime(live, (started - age_s, started - age_s))
    return {"state": "running", "name": "workspace", "local": {"root": str(root), "pid": os.getpid()}}


def running_shown(executor: dict[str, object]) -> list[dict[str, object]]:
    """`dvc exp show --json` during `dvc exp run` in the workspace: the running row and the workspace carry the
    previous run's metrics/metrics.json and dvclive/metrics.json (100 epochs)."""
    stale = metrics(0.97, 99)
    return [
        {"rev": "workspace", "name": None, "data": {"metrics": stale, "params": params(500)}, "experiments": None},
        {
            "rev": "921ef03376fa",
            "name": "main",
            "data": {"timestamp": "2026-12-03T12:53:26", "metrics": metrics(1.0, 99), "params": params(100)},
            "experiments": [
                {"name": "long", "executor": executor,
                 "revs": [{"rev": "workspace", "data": {"metrics": stale, "params": params(500)}}]},
                {"name": "old", "executor": {"state": "failed"}, "revs": [{"rev": "bbbbbbbb", "data": {}}]},
                {"name": "first", "executor": None,
                 "revs": [{"rev": "d2a5335c31", "data": {"timestamp": "2026-12-03T12:54:01", "metrics": stale,
                                                          "params": params(30)}}]},
            ],
        },
    ]  # fmt: skip


def test_the_running_row_has_no_test_metrics_but_the_epochs_so_far(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DVCLive's file is this run's (written after its process started): the running row and the workspace show
    its epochs so far, read from the run's root, not the data `dvc exp show` read, and no test metrics."""
    monkeypatch.chdir(tmp_path)
    shown = running_shown(live_run(tmp_path, step=41))
    assert running_table(shown, ["--csv"]).splitlines() == [
        "Experiment,rev,typ,Created,State,accuracy,f1_macro,loss,eval.accuracy,epochs,trainable_params,train.epochs",
        ",workspace,baseline,,-,,,,0.96,42,99,500",
        ",main,baseline,2026-12-03T12:53:26,-,1.0,1.0,0.05,0.98,,83,100",
        "long,workspace,branch_commit,,Running,,,,0.96,42,99,500",
        "first,d2a5335,branch_base,2026-12-03T12:54:01,-,0.97,0.97,0.05,0.98,,83,30",
    ]
    drawn = running_table(shown, []).splitlines()
    assert drawn[0].split() == ["Experiment", "Created", "State", "accuracy", "f1_macro", "loss", "eval.accuracy",
                                "epochs", "trainable_params", "train.epochs"]  # fmt: skip
    assert drawn[4].split() == ["├──", "workspace", "[long]", "-", "Running", "0.96", "42", "99", "500"]
    assert drawn[5].split()[:4] == ["└──", "d2a5335", "[first]", "12:54"]
    assert "| Experiment" in running_table(shown, ["--md"])
    assert no_epoch_yet(running_rows(shown)) == []


def test_the_previous_run_s_dvclive_file_is_never_shown_as_the_running_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the train stage starts, dvclive/metrics.json is still the previous run's (older than the run's
    stages): the running row and the workspace are blank, and the note says no epoch is logged yet."""
    monkeypatch.chdir(tmp_path)
    shown = running_shown(live_run(tmp_path, step=99, age_s=5))
    assert running_table(shown, ["--csv"]).splitlines() == [
        "Experiment,rev,typ,Created,State,accuracy,f1_macro,loss,eval.accuracy,epochs,trainable_params,train.epochs",
        ",workspace,baseline,,-,,,,,,,500",
        ",main,baseline,2026-12-03T12:53:26,-,1.0,1.0,0.05,0.98,,83,100",
        "long,workspace,branch_commit,,Running,,,,,,,500",
        "first,d2a5335,branch_base,2026-12-03T12:54:01,-,0.97,0.97,0.05,0.98,,83,30",
    ]
    assert no_epoch_yet(running_rows(shown)) == ["long"]
    assert notes({"running": ["long"], "no epoch yet": ["long"]})[1] == (
        "exp-show: training has not logged an epoch yet (its row is blank until it does): long"
    )
    assert notes({"running": ["long"], "no epoch yet": []})[1:] == []
    # No root, no DVCLive file, DVC still setting the run up (PREPARING), no executor info, half-written: blank.
    assert running_table(running_shown({"state": "running", "name": "workspace"}), ["--csv"]).splitlines()[3] == (
        "long,workspace,branch_commit,,Running,,,,,,,500"
    )
    executor = live_run(tmp_path, step=3)
    assert live_metrics(executor) == {"eval.accuracy": 0.96, "step": 3, "trainable_params": 99}
    assert live_metrics({**executor, "local": {"root": str(tmp_path / "elsewhere")}}) is None
    assert live_metrics(executor, repo=tmp_path / "elsewhere") is None
    assert live_metrics(live_run(tmp_path, step=3, status=1)) is None
    executor = live_run(tmp_path, step=3)
    (tmp_path / "dvclive" / "metrics.json").write_text('{"step": 4, "eval": {"accu')
    assert live_metrics(executor) is None


def test_dvclive_s_file_is_the_run_s_only_when_written_after_the_run_started() -> None:
    assert is_current(logged_at=1000.5, started_at=1000.0)
    assert not is_current(logged_at=999.0, started_at=1000.0)  # the previous run's, left until train starts
    assert not is_current(logged_at=1000.0, started_at=1000.0)
    assert not is_current(logged_at=None, started_at=1000.0)  # no file yet (DVC removed dvclive/)
    assert not is_current(logged_at=1000.5, started_at=None)  # the run's process is unknown or gone
