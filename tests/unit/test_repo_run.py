"""tools/repo/run.py: the one runner's promises that the tools rely on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from penguins.errors import PipelineError
from tools.repo.run import run

PRINT_ENV = [
    sys.executable,
    "-c",
    "import os; print(os.environ.get('AWS_MAX_ATTEMPTS'), os.environ['GIT_TERMINAL_PROMPT'])",
]


def test_the_environment_is_taken_when_the_command_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tools.remote sets AWS_MAX_ATTEMPTS in main(), after this module was imported: dvc must see it."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    assert run(PRINT_ENV, cwd=tmp_path).stdout.split() == ["2", "0"]
    assert run(PRINT_ENV, cwd=tmp_path, env={"AWS_MAX_ATTEMPTS": "7"}).stdout.split() == ["7", "0"]


def test_input_check_log_and_timeout(tmp_path: Path) -> None:
    echo = [sys.executable, "-c", "import sys; print(sys.stdin.read().upper()); sys.exit(3)"]
    assert run(echo, cwd=tmp_path, check=False, stdin="abc").stdout == "ABC\n"
    assert run(echo, cwd=tmp_path, check=False).stdout == "\n"  # no stdin: /dev/null, never the terminal
    with pytest.raises(RuntimeError, match="exited 3"):
        run(echo, cwd=tmp_path)
    log = tmp_path / "log"
    run(echo, cwd=tmp_path, check=False, stdin="x", log=log)
    assert log.read_text().endswith("X\n")
    with pytest.raises(PipelineError, match=r"did not finish within 1 s"):
        run([sys.executable, "-c", "import time; time.sleep(30)"], cwd=tmp_path, timeout=1)


def test_kill_running_kills_the_running_commands_and_their_children(tmp_path: Path) -> None:
    """What the sweep worker's SIGTERM handler relies on: a command run() waits for dies with its children."""
    import threading
    import time

    from tools.repo.run import kill_running

    sleeper = [
        sys.executable,
        "-c",
        "import subprocess, sys; subprocess.run([sys.executable, '-c', 'import time; time.sleep(60)'])",
    ]
    done: list[int] = []
    waiter = threading.Thread(target=lambda: done.append(run(sleeper, cwd=tmp_path, check=False).returncode))
    start = time.monotonic()
    waiter.start()
    time.sleep(1)
    kill_running()
    waiter.join(timeout=30)
    assert done and done[0] != 0 and time.monotonic() - start < 30
