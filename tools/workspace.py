"""Helpers for tools and tests that work on a fresh copy of this repository with the real CLIs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the virtualenv running us: its dvc and python
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "DVC_NO_ANALYTICS": "1"}


def run(cmd: list[str], cwd: Path, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command with the virtualenv first on PATH (``stdin`` as its input, else none);
    raise with both streams on failure if check."""
    feed = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, **feed)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return proc


def dvc(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "dvc"), *args], cwd=cwd, check=check)


def clone_worktree(dest: Path, src: Path = ROOT) -> Path:
    """Copy what git would commit from ``src`` (tracked and untracked-not-ignored files, so uncommitted
    edits too, but no outputs, caches or .venv) into ``dest`` and commit it there as a new repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=src, capture_output=True, check=True
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        if (src / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, dest / rel)
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "config", "user.name", "penguins tools"],  # dvc exp commits experiments
        ["git", "config", "user.email", "tools@penguins.invalid"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "clone of the working tree"],
    ):
        run(cmd, cwd=dest)
    return dest


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level of dotted keys, in their original order: {"per_class.Adelie.f1": 0.96}."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
