"""Fresh copies of this repository for benchmarks and tests, and the `dvc queue` they run (with the real CLIs)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tools.repo import internals
from tools.repo.run import BIN, ENV, ROOT, dvc, run


def run_queue(repo: Path, jobs: int, timeout_s: float = 600, poll_s: float = 1) -> tuple[str, float]:
    """`dvc queue start -j jobs`, wait until no experiment is queued or running (`dvc queue status` every
    ``poll_s`` seconds: each call starts DVC anew, on the cores the experiments need), then stop the workers.

    Returns the final `dvc queue status` and the seconds from start until it said so. The workers are daemons
    that inherit the caller's stdout and stderr, so they are given /dev/null: waiting for `dvc queue start` must
    not mean waiting for them.
    A DVC worker can miss its own shutdown (seen here: its monitor fired while a task was running and
    the process stayed idle for good), so the workers are always stopped at the end, killed if need be.
    """
    start = time.perf_counter()
    try:
        subprocess.run(
            [str(BIN / "dvc"), "queue", "start", "-j", str(jobs)],
            cwd=repo,
            env=ENV,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        deadline = time.monotonic() + timeout_s
        while True:
            status = dvc("queue", "status", cwd=repo).stdout
            if "Queued" not in status and "Running" not in status:
                return status, time.perf_counter() - start
            if time.monotonic() > deadline:
                raise TimeoutError(f"dvc queue still busy after {timeout_s:.0f} s in {repo}:\n{status}")
            time.sleep(poll_s)
    finally:
        stop_queue_workers(repo)


def stop_queue_workers(repo: Path, grace_s: float = 20) -> None:
    """`dvc queue stop`, then SIGKILL any worker process (from DVC's worker records) still alive after grace_s."""
    dvc("queue", "stop", cwd=repo, check=False)
    pids = internals.queue_worker_pids(repo)
    deadline = time.monotonic() + grace_s
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        time.sleep(0.5)
    for pid in pids:
        with contextlib.suppress(OSError):  # it exited after all
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a finished child of ours that nobody reaped is a zombie: not alive
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def clone_worktree(dest: Path, src: Path = ROOT) -> Path:
    """Copy what git would commit from ``src`` (tracked and untracked-not-ignored files, so uncommitted
    edits too, but no outputs, caches or .venv) into ``dest`` and commit it there as a new repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=src,
        capture_output=True,
        check=True,
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


__all__ = ["BIN", "ENV", "ROOT", "clone_worktree", "dvc", "run", "run_queue", "stop_queue_workers"]
