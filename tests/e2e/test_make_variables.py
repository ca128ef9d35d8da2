"""End-to-end: git branch names that are shell code, handed to the real make's targets in a fresh clone, reach
the real tools as names; a failed tool fails the target (tests/unit/test_make_args.py checks every target)."""

from __future__ import annotations

import html
import subprocess
from pathlib import Path

import pytest

from tests.conftest import MAKE
from tools.repo.clones import clone_worktree

pytestmark = pytest.mark.e2e

BRANCHES = ["try;date>pwned1", "$(date)", "`date>pwned2`|x&y"]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = clone_worktree(tmp_path_factory.mktemp("make-variables") / "repo")
    for name in BRANCHES:
        subprocess.run(["git", "branch", name], cwd=repo, check=True)
    return repo


def make(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [*MAKE, "-o", ".dvc/plots_page.html", "--no-print-directory", *args]
    return subprocess.run(cmd, cwd=repo, capture_output=True, text=True, check=False)


def test_report_compares_branches_named_as_shell_code(clone: Path) -> None:
    proc = make(clone, "report", f"REVS={' '.join(BRANCHES)}")
    assert proc.returncode == 0, proc.stderr
    page = (clone / "reports/index.html").read_text()
    for name in BRANCHES:
        assert html.escape(name) in page, name
    assert not list(clone.glob("pwned*"))


def test_check_repro_fails_on_a_base_that_names_no_commit(clone: Path) -> None:
    proc = make(clone, "check-repro", "BASE=nope;date>pwned3")
    assert proc.returncode != 0
    assert "nope;date>pwned3" in proc.stderr
    assert not list(clone.glob("pwned*"))


def test_exp_show_fails_on_an_unknown_option(clone: Path) -> None:
    proc = make(clone, "exp-show", "ARGS=--no-such-option;date>pwned4")
    assert proc.returncode != 0
    assert "--no-such-option;date>pwned4" in proc.stderr
    assert not list(clone.glob("pwned*"))
