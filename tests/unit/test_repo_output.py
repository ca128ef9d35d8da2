"""tools/repo/output.py: what git's and DVC's output says (the checkout failures: tests/unit/test_remote_logic.py,
on DVC's real messages)."""

from __future__ import annotations

from tools.repo.output import last_error


def test_last_error_prefers_the_first_error_line() -> None:
    assert last_error("Running stage 'x'\nERROR: first\nerror: second\n") == "ERROR: first"
    assert last_error("a\n\nlast line\n") == "last line"
    assert last_error("") == "(no output)"


def test_bare_last_error_drops_dvc_s_prefix_and_wrapper() -> None:
    dvc = "ERROR: failed to push data to the cloud - 2 files failed to upload\nHaving any troubles? dvc.org/support\n"
    assert last_error(dvc) == "ERROR: failed to push data to the cloud - 2 files failed to upload"
    assert last_error(dvc, bare=True) == "2 files failed to upload"
    assert last_error("fatal: not a git repository\n") == "fatal: not a git repository"
