"""dvc.lock's outputs, the one view every reader uses: the tools (tools/repo/pipeline.py re-exports it) and the
lesson notebook (penguins.notebook.locked_md5). Here, in penguins, because tools import penguins and never the
reverse: what both need lives in the lower layer."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from penguins.yamlio import read_yaml


def read_lock(repo: Path) -> dict[str, Any]:
    """``repo``'s dvc.lock, parsed; {} when there is none."""
    lock = repo / "dvc.lock"
    return (read_yaml(lock) or {}) if lock.is_file() else {}


class Locked(NamedTuple):
    """One output as dvc.lock records it."""

    stage: str
    md5: str  # "" when dvc.lock gives none
    size: int  # bytes (0 when dvc.lock gives none)


def lock_outputs(lock: Mapping[str, Any]) -> dict[str, Locked]:
    """{output path: Locked(stage, md5, size)}: the one view of a parsed dvc.lock's outputs."""
    return {
        out["path"]: Locked(stage, out.get("md5", ""), out.get("size", 0))
        for stage, entry in (lock.get("stages") or {}).items()
        for out in entry.get("outs", [])
    }
