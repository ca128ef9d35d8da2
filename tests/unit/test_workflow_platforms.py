"""The workflow's platforms job installs the lock and runs the pipeline and unit tests on the three systems."""

from __future__ import annotations

import yaml

import tasks
from tests.conftest import ROOT

JOB = yaml.safe_load((ROOT / ".github/workflows/pipeline.yml").read_text())["jobs"]["platforms"]


def test_matrix_covers_linux_macos_and_windows() -> None:
    systems = {name.split("-")[0] for name in JOB["strategy"]["matrix"]["os"]}
    assert systems == {"ubuntu", "macos", "windows"}
    assert JOB["strategy"]["fail-fast"] is False  # one system failing must not hide the others
    for version in JOB["strategy"]["matrix"]["python"]:
        assert tasks.PYTHON_MIN <= tuple(int(part) for part in version.split(".")) <= tasks.PYTHON_MAX


def test_steps_are_the_no_make_commands() -> None:
    commands = [step["run"] for step in JOB["steps"] if "run" in step]
    assert commands[:3] == ["python tasks.py install", "python tasks.py run", 'python tasks.py test -m "not e2e"']
    cache = next(step for step in JOB["steps"] if step.get("uses", "").startswith("actions/cache"))
    assert "requirements.txt" in cache["with"]["key"]
