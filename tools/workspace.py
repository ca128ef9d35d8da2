"""Helpers for tools and tests that work on a fresh copy of this repository with the real CLIs."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
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
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, check=False, **feed)
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc


def dvc(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "dvc"), *args], cwd=cwd, check=check)


STREAM_ENV = {**ENV, "PYTHONUNBUFFERED": "1"}  # for benchmarks: DVC's lines must arrive when printed, to be timed


def load() -> str:
    """The load average (1/5/15 min), e.g. "1.3/1.8/2.4": benchmarks print it with their figures."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def spans(marks: list[tuple[str, float]], total: float) -> dict[str, float]:
    """Seconds per part from [(part, started at)] marks and the end time ``total`` (a part may recur: summed)."""
    parts: dict[str, float] = {}
    for (name, at), (_, until) in zip(marks, [*marks[1:], ("end", total)], strict=True):
        parts[name] = parts.get(name, 0.0) + until - at
    return parts


def last_error(text: str) -> str:
    """The first error line of a command's output (git's, DVC's or a stage's), else its last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("error:", "ERROR:", "fatal:"))]
    return errors[0] if errors else (lines[-1] if lines else "(no output)")


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
    pids = []
    for record in (repo / ".dvc/tmp/exps/celery").glob("dvc-exp-worker-*.json"):
        try:
            pids.append(int(json.loads(record.read_text())["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
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
