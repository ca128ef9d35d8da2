"""make reset (tools/reset.py) compares files by content, not by git's timestamps, and says in one line what
`dvc checkout` could not restore."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from dulwich.index import index_entry_from_stat
from dulwich.repo import Repo

from tools import reset


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_reset_finds_a_change_that_the_index_hides(tmp_path: Path) -> None:
    """DVC's git library records params.yaml's stat in git's index while the file still holds the committed text,
    then the file is rewritten with the same size in the same second: git takes it for unchanged. Made here with
    dulwich (what DVC's scmrepo uses), the index entry of HEAD's blob carrying the rewritten file's stat."""
    git(tmp_path, "init", "-q")
    params = tmp_path / "params.yaml"
    params.write_text("train:\n  epochs: 100\n")
    git(tmp_path, "add", "params.yaml")
    git(tmp_path, "commit", "-qm", "baseline")
    params.write_text("train:\n  epochs: abc\n")
    earlier = params.stat().st_mtime - 10  # written seconds before git next writes its index: not "racily clean"
    os.utime(params, (earlier, earlier))
    index = Repo(str(tmp_path)).open_index()
    entry = index[b"params.yaml"]
    index[b"params.yaml"] = index_entry_from_stat(params.stat(), entry.sha, mode=entry.mode)
    index.write()
    git(tmp_path, "checkout", "--", ".")  # the old advice restores nothing
    assert git(tmp_path, "status", "--porcelain") == ""
    assert "abc" in params.read_text()

    assert reset.differing_files(tmp_path) == ["params.yaml"]


def test_porcelain_paths() -> None:
    assert reset.parse_status(" M params.yaml\0 D metrics/metrics.json\0") == ["params.yaml", "metrics/metrics.json"]
    assert reset.parse_status("") == []


def test_outputs_missing_from_the_cache_are_one_line() -> None:
    output = (
        "ERROR: Checkout failed for following targets:\nmodels/model.keras\ndata/raw/penguins.csv\n"
        "Is your cache up to date?\n<https://error.dvc.org/missing-files>\n"
    )
    assert reset.checkout_problem(output) == (
        "dvc checkout: 2 output(s) missing from the DVC cache (data/raw/penguins.csv, models/model.keras); "
        "the git-tracked files are restored; `dvc pull` (from a remote) or `dvc repro` makes the rest"
    )
    assert reset.checkout_problem("ERROR: unable to acquire lock\n") == "dvc checkout failed: unable to acquire lock"


def test_restored_files_are_not_listed_as_missing() -> None:
    """`dvc checkout` prints what it restored (stdout) and what it could not (stderr): only the latter is missing."""
    stderr = "ERROR: Checkout failed for following targets:\nmodels/model.keras\nIs your cache up to date?\n"
    stdout = "A       data/raw/penguins.csv\nM       data/clean/penguins.csv\n"
    assert reset.checkout_problem(stderr + stdout) == (
        "dvc checkout: 1 output(s) missing from the DVC cache (models/model.keras); "
        "the git-tracked files are restored; `dvc pull` (from a remote) or `dvc repro` makes the rest"
    )
