"""tools/repo/output.py: what git's and DVC's output says (the checkout failures: tests/unit/test_remote_logic.py,
on DVC's real messages)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from penguins.errors import PipelineError
from tools.repo.output import last_error
from tools.repo.run import BIN
from tools.report import cli as report_cli


def test_last_error_prefers_the_first_error_line() -> None:
    assert last_error("Running stage 'x'\nERROR: first\nerror: second\n") == "ERROR: first"
    assert last_error("a\n\nlast line\n") == "last line"
    assert last_error("") == "(no output)"


def test_bare_last_error_drops_dvc_s_prefix_and_wrapper() -> None:
    dvc = "ERROR: failed to push data to the cloud - 2 files failed to upload\nHaving any troubles? dvc.org/support\n"
    assert last_error(dvc) == "ERROR: failed to push data to the cloud - 2 files failed to upload"
    assert last_error(dvc, bare=True) == "2 files failed to upload"
    assert last_error("fatal: not a git repository\n") == "fatal: not a git repository"


# What DVC 3.67 printed for `dvc status` in a checkout mounted read-only (`mount -o remount,ro,bind`)
READ_ONLY = """ERROR: unexpected error - [Errno 30] Read-only file system: '/w/penguins/.dvc/tmp/lock'

Having any troubles? Hit us up at https://dvc.org/support, we are always happy to help!
"""


def test_dvc_s_boilerplate_is_never_the_error_and_a_read_only_checkout_says_what_to_do() -> None:
    assert last_error(READ_ONLY, bare=True) == (
        "[Errno 30] Read-only file system: '/w/penguins/.dvc/tmp/lock'; DVC must write in /w/penguins/.dvc/tmp, "
        "even for a command that only reads: make the checkout writable, or work in a writable clone (`git clone`)"
    )
    footer = "WARNING: something minor\n\nHaving any troubles? Hit us up at https://dvc.org/support, we are ...\n"
    assert last_error(footer) == "WARNING: something minor"


@pytest.fixture(scope="module")
def dvc_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DVC repository (no git) with one stage whose output another command may hold."""
    repo = tmp_path_factory.mktemp("dvc-repo")
    subprocess.run([str(BIN / "dvc"), "init", "--no-scm", "-q"], cwd=repo, check=True)
    (repo / "a").write_text("1\n")
    (repo / "dvc.yaml").write_text("stages:\n  s:\n    cmd: cp a b\n    deps: [a]\n    outs: [b]\n")
    return repo


def dvc_status_error(repo: Path) -> str:
    proc = subprocess.run([str(BIN / "dvc"), "status", "--json"], cwd=repo, capture_output=True, text=True, check=False)
    assert proc.returncode != 0, proc.stdout
    return proc.stderr


def test_an_output_held_by_a_running_dvc_command_is_said_so_with_its_process(
    dvc_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DVC's own message ends in advice to delete .dvc/tmp/rwlock, which the old reader quoted while `dvc exp run`
    was training: DVC lists live holders only, so the line says to wait, naming the process."""
    with subprocess.Popen(["sleep", "60"]) as holder:
        try:
            cmd = f"{BIN / 'dvc'} exp run -S train.epochs=3"
            holders = {"write": {str(dvc_repo / "b"): {"pid": holder.pid, "cmd": cmd}}}  # as `dvc exp run` writes it
            (dvc_repo / ".dvc" / "tmp" / "rwlock").write_text(json.dumps(holders))
            text = dvc_status_error(dvc_repo)
            assert "you can manually remove" in text  # what the old reader quoted
            assert (
                last_error(text)
                == last_error(text, bare=True)
                == (
                    f"another DVC command holds the workspace (pid {holder.pid}: dvc exp run -S train.epochs=3); wait "
                    "for it to finish, then run this again (do not delete DVC's lock files while it runs)"
                )
            )
            monkeypatch.setattr(report_cli, "ROOT", dvc_repo)
            with pytest.raises(PipelineError) as refused:  # the report's reader is this one
                report_cli.dvc_json("status")
            assert str(refused.value) == f"`dvc status` failed: {last_error(text)}"
        finally:
            holder.kill()
            (dvc_repo / ".dvc" / "tmp" / "rwlock").unlink()
    assert last_error(text) == (
        f"another DVC command held the workspace (pid {holder.pid}: dvc exp run -S train.epochs=3) and has ended "
        "since: run this again"
    )


def test_the_repository_lock_held_names_its_process_when_the_repository_is_known(dvc_repo: Path) -> None:
    hold = (
        "import time, zc.lockfile; lock = zc.lockfile.LockFile('.dvc/tmp/lock'); print(1, flush=True); time.sleep(60)"
    )
    with subprocess.Popen([sys.executable, "-c", hold], cwd=dvc_repo, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "1\n"
            text = dvc_status_error(dvc_repo)  # DVC tries for 3 s
            assert "Unable to acquire lock" in text
            wait = "wait for it to finish, then run this again (do not delete DVC's lock files while it runs)"
            assert last_error(text) == f"another DVC command holds the workspace; {wait}"
            shown = last_error(text, repo=dvc_repo)
            assert shown.startswith(f"another DVC command holds the workspace (pid {holder.pid}: python")
            assert "zc.lockfile" in shown and shown.endswith(wait) and len(shown) < 300
        finally:
            holder.kill()


def test_the_report_quotes_dvc_s_cause_not_its_support_footer(dvc_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error (here .dvc/tmp is a file; a read-only checkout fails the same way) ends with DVC's
    "Having any troubles? Hit us up at dvc.org/support" line, which the report used to quote as the cause."""
    tmp = dvc_repo / ".dvc" / "tmp"
    tmp.rename(dvc_repo / "tmp.kept")
    tmp.write_text("")
    monkeypatch.setattr(report_cli, "ROOT", dvc_repo)
    try:
        with pytest.raises(PipelineError) as refused:
            report_cli.dvc_json("status")
    finally:
        tmp.unlink()
        (dvc_repo / "tmp.kept").rename(tmp)
    assert str(refused.value) == f"`dvc status` failed: [Errno 17] File exists: '{tmp}'"
