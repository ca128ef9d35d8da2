"""The one error line of a command's output (git's `fatal:`, DVC's `ERROR:`, a stage's `error:`), said for a user:
the tools (tools/repo/output.py re-exports it) and the notebooks' `dvc` (penguins.notebook) quote the same line.
Here, in penguins, because tools import penguins and never the reverse."""

from __future__ import annotations

import re
from pathlib import Path

import psutil

# DVC wraps the cause of a failed transfer in these; the cause is what a user can act on.
DVC_WRAPPERS = re.compile(r"^(unexpected error|failed to (push|pull|fetch) data (to|from) the cloud) - ")
# DVC's lines that are never the cause: its support footer after an unexpected error, and the advice under a held
# lock to delete .dvc/tmp/rwlock (wrong while the process that holds it runs: DVC lists live processes only).
BOILERPLATE = re.compile(r"Having any troubles\?|dvc\.org/support|^If there are no processes with such PIDs")
# DVC 3.67's two lock messages: the read/write lock on outputs (dvc/rwlock.py, with its holders as
# "  (PID 123): dvc exp run"), and the repository lock (dvc/lock.py FAILED_TO_LOCK_MESSAGE, .dvc/tmp/lock).
RWLOCK_HELD = "is busy, it is being blocked by:"
REPO_LOCK_HELD = "Unable to acquire lock"
HOLDER = re.compile(r"^\(PID (\d+)\): (.+)$")
# A write refused under .dvc/ (a read-only checkout): DVC writes its lock there even to read.
READ_ONLY = re.compile(r"\[Errno (30|13)\] [^:]+: '([^']*[/\\]\.dvc[/\\][^']*)'")


def last_error(text: str, *, bare: bool = False, repo: Path | None = None) -> str:
    """The first error line of a command's output (git's `fatal:`, DVC's `ERROR:`, a stage's `error:`), else
    its last line, DVC's boilerplate skipped. ``bare``: without `ERROR:` and DVC's wrapping phrase.

    A DVC lock held by another command is said as such, with its process when known (DVC names it for its
    output locks; for its repository lock, .dvc/tmp/lock in ``repo`` does), never as advice to delete the lock."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not BOILERPLATE.search(line.strip())]
    if held := lock_held(lines, repo):
        return held
    errors = [line for line in lines if line.startswith(("error:", "ERROR:", "fatal:"))]
    line = errors[0] if errors else (lines[-1] if lines else "(no output)")
    if found := READ_ONLY.search(line):
        line += (
            f"; DVC must write in {Path(found[2]).parent}, even for a command that only reads: make the checkout "
            "writable, or work in a writable clone (`git clone`)"
        )
    return DVC_WRAPPERS.sub("", line.removeprefix("ERROR:").strip()) if bare else line


def lock_held(lines: list[str], repo: Path | None) -> str | None:
    """The one line for DVC's "busy" and "Unable to acquire lock" errors, None for any other output."""
    if any(RWLOCK_HELD in line for line in lines):
        holders = [(int(m[1]), m[2]) for line in lines if (m := HOLDER.match(line))]
    elif any(REPO_LOCK_HELD in line for line in lines):
        holders = [holder] if repo is not None and (holder := repo_lock_holder(repo)) else []
    else:
        return None
    holders = list(dict.fromkeys(holders))
    live = [(pid, cmd) for pid, cmd in holders if psutil.pid_exists(pid)]
    if holders and not live:
        return f"another DVC command held the workspace ({named(holders)}) and has ended since: run this again"
    who = f" ({named(live)})" if live else ""
    return (
        f"another DVC command holds the workspace{who}; wait for it to finish, then run this again "
        "(do not delete DVC's lock files while it runs)"
    )


def named(holders: list[tuple[int, str]]) -> str:
    """ "pid 123: dvc exp run -S train.epochs=3", the program without its directory, at most 100 characters."""
    shown = []
    for pid, cmd in holders:
        program, _, args = cmd.partition(" ")
        text = " ".join([Path(program).name, args]).strip()
        shown.append(f"pid {pid}: {text if len(text) <= 100 else text[:99] + '…'}")
    return ", ".join(shown)


def repo_lock_holder(repo: Path) -> tuple[int, str] | None:
    """The process holding DVC's repository lock: zc.lockfile (DVC 3.67) writes " PID" into .dvc/tmp/lock when it
    takes it (the file keeps the last holder's pid afterwards, so this is read only while the lock is held)."""
    try:
        pid = int((repo / ".dvc" / "tmp" / "lock").read_text().strip())
        return pid, " ".join(psutil.Process(pid).cmdline())
    except (OSError, ValueError, psutil.Error):
        return None
