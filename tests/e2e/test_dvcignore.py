"""`dvc ls .` in a clone lists the project, not the virtualenv or what tools and tests generate (.dvcignore)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import dvc
from tools.repo.clones import clone_worktree

pytestmark = pytest.mark.e2e

GENERATED = [".venv/bin/python", "reports/index.html", "dvc_plots/index.html", ".pytest_cache/README.md",
             ".ruff_cache/x", "penguins/__pycache__/cli.cpython-311.pyc", "penguins.egg-info/PKG-INFO"]  # fmt: skip


def test_dvc_ls_leaves_out_the_virtualenv_and_generated_folders(tmp_path: Path) -> None:
    repo = clone_worktree(tmp_path / "repo")
    for name in GENERATED:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("generated\n")
    top = {entry["path"] for entry in json.loads(dvc("ls", ".", "--json", cwd=repo).stdout)}
    assert {"dvc.yaml", "params.yaml", "penguins", "stages", "data", "models"} <= top
    assert not top & {".venv", "reports", "dvc_plots", ".pytest_cache", ".ruff_cache", "penguins.egg-info"}, top
    inside = {entry["path"] for entry in json.loads(dvc("ls", ".", "penguins", "--json", cwd=repo).stdout)}
    assert "cli.py" in inside and "__pycache__" not in inside
