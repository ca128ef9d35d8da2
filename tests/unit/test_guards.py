"""penguins.guards: a stage run by DVC refuses a params.yaml rewritten since validate_params checked it, at its
start, before train saves, and when main() returns (penguins.cli.run_cli)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from penguins.cli import run_cli
from penguins.errors import PipelineError
from penguins.guards import require_unchanged
from penguins.params import load_params
from penguins.yamlio import read_yaml
from tests.conftest import ROOT


def message_of(call: Callable[..., Any], *args: Any) -> str:
    with pytest.raises(PipelineError) as err:
        call(*args)
    return str(err.value)


def test_a_stage_refuses_params_changed_since_validate_params(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    params = tmp_path / "params.yaml"
    params.write_text((ROOT / "params.yaml").read_text())
    checked = read_yaml(params)
    (tmp_path / "dvc.lock").write_text(
        json.dumps({"schema": "2.0", "stages": {"validate_params": {"params": {"params.yaml": checked}}}})
    )
    monkeypatch.setenv("DVC_STAGE", "train")
    load_params(params)  # what validate_params checked: accepted
    params.write_text(params.read_text() + "# a comment changes nothing DVC compares\n")
    load_params(params)
    params.write_text(params.read_text().replace("epochs: 100", "epochs: 3"))  # `dvc exp run -S train.epochs=3`
    assert message_of(load_params, params) == (
        "params.yaml changed after validate_params checked it in this run (train.epochs: 100 then, 3 now); "
        "another command rewrote it meanwhile (e.g. a `dvc exp run -S` refused because `dvc repro` held the "
        "lock): this stage stopped before writing anything; check params.yaml and run `dvc repro` again"
    )
    load_params(params, checked=False)  # validate_params itself
    monkeypatch.delenv("DVC_STAGE")
    load_params(params)  # run by hand, not by DVC: the stage validated it itself


def test_train_refuses_to_save_when_params_changed_while_it_ran(tmp_path: Path) -> None:
    """DVC records params.yaml as it is when the stage ends: 100 epochs trained, 3 recorded."""
    params = tmp_path / "params.yaml"
    params.write_text((ROOT / "params.yaml").read_text())
    loaded = load_params(params)
    require_unchanged(loaded, params)
    params.write_text(params.read_text().replace("epochs: 100", "epochs: 3"))
    assert message_of(require_unchanged, loaded, params) == (
        "params.yaml changed while this stage ran (train.epochs: 100 then, 3 now); another command rewrote it "
        "(e.g. a `dvc exp run -S` refused because `dvc repro` held the lock): nothing saved; check params.yaml and "
        "run `dvc repro` again"
    )


def test_run_cli_rechecks_params_when_a_stage_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    params = tmp_path / "params.yaml"
    params.write_text((ROOT / "params.yaml").read_text())
    lock = {"schema": "2.0", "stages": {"validate_params": {"params": {"params.yaml": read_yaml(params)}}}}
    (tmp_path / "dvc.lock").write_text(json.dumps(lock))
    monkeypatch.setattr("penguins.guards.PARAMS_FILE", params)
    monkeypatch.setattr("penguins.cli.remove_stale_temporaries", lambda: None)

    def rewritten(argv: Any) -> None:  # `dvc exp run -S train.epochs=3` while the stage runs
        params.write_text(params.read_text().replace("epochs: 100", "epochs: 3"))

    monkeypatch.setenv("DVC_STAGE", "evaluate")
    run_cli(lambda argv: None, [])  # unchanged: accepted
    with pytest.raises(SystemExit) as exit_:
        run_cli(rewritten, [])
    assert exit_.value.code == 1
    assert capsys.readouterr().err == (
        "error: params.yaml changed after validate_params checked it in this run (train.epochs: 100 then, 3 now); "
        "another command rewrote it meanwhile (e.g. a `dvc exp run -S` refused because `dvc repro` held the "
        "lock): this stage's outputs were made with the old values and are not recorded (the stage failed); "
        "check params.yaml and run `dvc repro` again\n"
    )
    monkeypatch.setenv("DVC_STAGE", "validate_params")  # its lock entry is the previous run's until it ends
    run_cli(lambda argv: None, [])
    monkeypatch.delenv("DVC_STAGE")  # run by hand
    run_cli(lambda argv: None, [])
