"""Temporaries of atomic writes (penguins/io.py, penguins/paths.py): a writer killed mid-write (SIGKILL) leaves its
temporary beside the output; the next stage to start removes it, and never one a live process is writing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from penguins import cli
from penguins.paths import remove_stale_temporaries, stale_temporaries, temporary_prefix

KILLED_WHILE_SAVING = """
import sys, time
from pathlib import Path
from penguins.io import atomic_path
with atomic_path(Path(sys.argv[1]), suffix=".keras") as tmp:
    tmp.write_bytes(b"half a model")
    print(tmp, flush=True)
    time.sleep(60)
"""


def test_a_writer_killed_while_saving_leaves_a_temporary_the_next_stage_removes(tmp_path: Path) -> None:
    model = tmp_path / "model.keras"
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WHILE_SAVING, str(model)], stdout=subprocess.PIPE, text=True
    )
    try:
        temporary = Path(writer.stdout.readline().strip())  # type: ignore[union-attr]
        assert temporary.parent == tmp_path and temporary.name.startswith(f".model.keras.{writer.pid}.")
        assert stale_temporaries(model) == []  # its writer is alive: not stale
    finally:
        writer.kill()  # SIGKILL (TerminateProcess on Windows): no clean-up runs
        writer.wait(10)
        writer.stdout.close()  # type: ignore[union-attr]
    assert temporary.exists() and not model.exists()  # what SIGKILL left
    assert remove_stale_temporaries([model]) == [temporary]
    assert sorted(tmp_path.iterdir()) == []


def test_what_counts_as_stale(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = int(gone.stdout)
    alive = os.getppid()
    names = {
        f".model.keras.{dead}.abcd_123.keras": True,  # a killed writer's temporary
        f".model.keras.{dead}.abcd_123.unnormalised.keras": True,  # save_model's second temporary
        ".model.keras.x1y2z3w4.keras": True,  # named before process ids were added
        f".model.keras.{os.getpid()}.abcd_123.keras": True,  # this process has written nothing yet
        f".model.keras.{alive}.abcd_123.keras": False,  # being written by a live process
        ".model.keras.notes.txt": False,
        "model.keras": False,
        f".model.json.{dead}.abcd_123.json": False,  # another output's (not asked for here)
    }
    for name in names:
        (tmp_path / name).write_text("")
    stale = sorted(tmp_path / name for name, is_stale in names.items() if is_stale)
    assert stale_temporaries(tmp_path / "model.keras") == stale
    assert stale_temporaries(tmp_path / "missing_dir" / "model.keras") == []


def test_atomic_writes_name_their_writer() -> None:
    assert temporary_prefix(Path("models/model.keras")) == f".model.keras.{os.getpid()}."


def test_every_stage_start_removes_stale_temporaries(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(cli, "remove_stale_temporaries", lambda: calls.append("cleaned"))
    cli.run_cli(lambda argv: calls.append("main"), [])
    assert calls == ["cleaned", "main"]


def test_no_time_wasted_without_temporaries() -> None:
    start = time.perf_counter()
    remove_stale_temporaries()  # the repository's own outputs: nothing stale there, nothing removed
    assert time.perf_counter() - start < 1.0
