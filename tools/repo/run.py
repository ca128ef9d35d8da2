"""One runner for the git and dvc subprocesses of every tool, benchmark and test helper.

`run` starts a command with the virtualenv first on PATH, no terminal prompts and no stdin (or the text given),
captures its output (or appends it to a log file), can time it out, and kills it with its children when
interrupted (`kill_running` kills them all, for a SIGTERM handler). What their output says: tools/repo/output.py.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

from penguins.errors import PipelineError
from penguins.paths import ROOT
from tools.repo.output import last_error

__all__ = ["BIN", "ENV", "ROOT", "CommandFailed", "dvc", "git", "kill_running", "last_error", "run"]

BIN = Path(sys.executable).parent  # the virtualenv running us: its dvc and python
# No prompt may wait for an answer nobody gives (CI, a batch job): git fails instead of asking.
QUIET_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "SSH_ASKPASS": "true", "DVC_NO_ANALYTICS": "1"}


def current_env() -> dict[str, str]:
    """This process's environment as it is now (a tool may set variables in main), the virtualenv first on PATH."""
    return {**os.environ, **QUIET_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


ENV = current_env()  # as at start-up: for the tests and benchmarks that pass it on

_running: set[subprocess.Popen[str]] = set()
_running_lock = threading.Lock()


def run(
    cmd: Sequence[str],
    cwd: Path,
    check: bool = True,
    stdin: str | None = None,
    *,
    timeout: float | None = None,
    log: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command with the virtualenv first on PATH (``stdin`` as its input, else none; ``env`` on top
    of the current environment); output captured, or appended to ``log``. If check, a non-zero exit raises
    with both streams. On timeout, or when interrupted, the command and its children are killed."""
    out = log.open("a") if log else None
    if out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
    try:
        with subprocess.Popen(
            list(cmd), cwd=cwd, env={**current_env(), **(env or {})}, text=True,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=out or subprocess.PIPE, stderr=subprocess.STDOUT if out else subprocess.PIPE,
        ) as proc:  # fmt: skip
            with _running_lock:
                _running.add(proc)
            try:
                stdout, stderr = proc.communicate(input=stdin, timeout=timeout)
            except BaseException:
                kill_tree(proc.pid)
                proc.wait()
                raise
            finally:
                with _running_lock:
                    _running.discard(proc)
    except subprocess.TimeoutExpired:
        what = " ".join([Path(cmd[0]).name, *cmd[1:4]])
        raise PipelineError(
            f"`{what} ...` did not finish within {timeout:.0f} s; check the remote and the network"
        ) from None
    finally:
        if out:
            out.close()
    done = subprocess.CompletedProcess(list(cmd), proc.returncode, stdout or "", stderr or "")
    if check and done.returncode != 0:
        raise CommandFailed(done, cwd)
    return done


class CommandFailed(RuntimeError):
    """A command `run` ran with check=True exited non-zero: the message holds both streams whole (for a log or a
    report), ``line`` the one line a user is shown: `dvc status` failed: <its error, as last_error reads it>."""

    def __init__(self, done: subprocess.CompletedProcess[str], cwd: Path) -> None:
        cmd = [Path(done.args[0]).name, *done.args[1:]]
        super().__init__(
            f"{' '.join(done.args)} exited {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
        self.line = f"`{' '.join(cmd)}` failed: {last_error(done.stderr + done.stdout, bare=True, repo=cwd)}"


def dvc(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`dvc ARGS` of this virtualenv, run as `run` does."""
    return run([str(BIN / "dvc"), *args], cwd=cwd, check=check)


def git(repo: Path, *args: str, timeout: float | None = None) -> str:
    """`git ARGS` in ``repo``: its stdout; a failure is a PipelineError quoting git's error line."""
    proc = run(["git", *args], cwd=repo, check=False, timeout=timeout)
    if proc.returncode != 0:
        raise PipelineError(f"git {' '.join(args)}: {last_error(proc.stderr + proc.stdout)}")
    return proc.stdout


def kill_tree(pid: int) -> None:
    """Kill a process and everything it started (dvc runs each stage in a process of its own)."""
    try:
        parent = psutil.Process(pid)
        family = [*parent.children(recursive=True), parent]
    except psutil.Error:
        return
    for proc in family:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def kill_running() -> None:
    """Kill every command `run` is running now, with its children (for a SIGTERM handler: scancel, a cancelled
    CI job)."""
    with _running_lock:
        for proc in list(_running):
            kill_tree(proc.pid)
