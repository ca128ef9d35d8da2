"""penguins-predict run in-process as `python -m penguins.predict` would, for the tests of predict."""

from __future__ import annotations

import io
import sys

import pytest

from penguins.cli import run_cli
from penguins.predict import main


def cli(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str = ""
) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of predict with ``argv`` and ``stdin``."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        run_cli(main, argv)
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err
