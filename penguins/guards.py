"""Mid-run guards: a stage run by DVC refuses a params.yaml rewritten since validate_params checked it.

Another command can rewrite params.yaml while `dvc repro` runs (a `dvc exp run -S ...` refused because the
repository is locked has already written it); DVC records the file as it is when each stage ends. Without these
checks the running stages would use, or be recorded with, values nobody validated.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from penguins.errors import PipelineError
from penguins.paths import PARAMS_FILE
from penguins.yamlio import read_yaml

if TYPE_CHECKING:
    from penguins.params import Params


def check_validated(raw: Any, path: Path, ended: bool = False) -> None:
    """Under `dvc repro` / `dvc exp run`: refuse params.yaml when it is not what validate_params checked in this
    run (dvc.lock holds what it checked: DVC writes each stage's entry as soon as it ran). Another command can
    rewrite params.yaml meanwhile (`dvc exp run -S ...` refused because the repository is locked has already
    written it); without this, the running stages would use values nobody validated and record them.
    ``ended``: checked again when the stage's main() returned (penguins.cli.run_cli), since DVC records
    params.yaml as it is when the stage ends."""
    if "DVC_STAGE" not in os.environ:  # run by hand: this stage validates the file itself
        return
    try:
        lock = read_yaml(path.parent / "dvc.lock")
    except (FileNotFoundError, PipelineError):
        return
    stage = (lock.get("stages") or {}).get("validate_params") if isinstance(lock, dict) else None
    checked = ((stage or {}).get("params") or {}).get(path.name)
    if checked is None or checked == raw:
        return
    key = _first_difference(checked, raw)
    stopped = (
        "this stage's outputs were made with the old values and are not recorded (the stage failed)"
        if ended
        else "this stage stopped before writing anything"
    )
    raise PipelineError(
        f"{path.name} changed after validate_params checked it in this run ({key}); another command rewrote it "
        f"meanwhile (e.g. a `dvc exp run -S` refused because `dvc repro` held the lock): {stopped}; "
        f"check {path.name} and run `dvc repro` again"
    )


def recheck_params(path: Path | None = None) -> None:
    """When a stage run by DVC has done its work: refuse params.yaml if it is no longer what validate_params
    checked in this run (check_validated, as every stage does at its start), so that DVC does not record outputs
    made with the old values against the new ones. validate_params itself is not checked: its lock entry is
    the previous run's until it ends (the next stage's start check covers it)."""
    if os.environ.get("DVC_STAGE") in (None, "validate_params"):
        return
    path = path or PARAMS_FILE
    try:
        raw = read_yaml(path)
    except FileNotFoundError:
        raise PipelineError(
            f"{path.name} not found at {path} when this stage ended; restore it, run `dvc repro`"
        ) from None
    check_validated(raw, path, ended=True)


def require_unchanged(params: Params, path: Path = PARAMS_FILE) -> None:
    """Refuse to save what was made with ``params`` when params.yaml now says otherwise: DVC records the file as it
    is when the stage ends, so a model trained for 100 epochs would be recorded as trained for 3."""
    from penguins.params import load_params  # params.py calls check_validated when it loads

    now = load_params(path, checked=False)
    if now != params:
        key = _first_difference(params.model_dump(mode="json"), now.model_dump(mode="json"))
        raise PipelineError(
            f"{path.name} changed while this stage ran ({key}); another command rewrote it (e.g. a `dvc exp run "
            "-S` refused because `dvc repro` held the lock): nothing saved; "
            f"check {path.name} and run `dvc repro` again"
        )


def _first_difference(old: Any, new: Any, key: str = "") -> str:
    """Where two parsed params files first differ, as "train.epochs: 100 then, 3 now"."""
    if isinstance(old, dict) and isinstance(new, dict):
        for name in [*old, *(k for k in new if k not in old)]:
            if old.get(name) != new.get(name):
                return _first_difference(old.get(name), new.get(name), f"{key}.{name}" if key else str(name))
    return f"{key or 'the file'}: {old!r} then, {new!r} now"
