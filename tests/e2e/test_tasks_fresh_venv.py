"""A learner without make: `python tasks.py run` builds a fresh .venv from the lock, and it gives the same bytes.

Works in a copy of the shared pipeline clone, so only the `evaluate` stage is re-run (forced) with the fresh
venv: TensorFlow loads the model and predicts, and dvc.lock must not change. The install uses uv's cache
(filled by `make install`), so it takes seconds; the package index is asked only for what the cache lacks. That
cache is a copy holding the bytecode this test's venv already has, but for COMPILED (tests/helpers/uv_cache.py):
uv compiles only the rest, not all of TensorFlow again (30 CPU s), and COMPILED still shows it did.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import tasks
from tests.conftest import run
from tests.helpers.uv_cache import cache_with_bytecode

pytestmark = [pytest.mark.e2e, pytest.mark.index]


def locked_here(lock_text: str) -> dict[str, str]:
    """{normalised name: version} of the lock's pins whose markers hold on this machine."""
    found = {}
    for raw in lock_text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and ((req := Requirement(line)).marker is None or req.marker.evaluate()):
            found[re.sub(r"[-_.]+", "-", req.name).lower()] = str(req.specifier).removeprefix("==")
    return found


# A module nothing imports: only the install's bytecode compilation can write its .pyc.
COMPILED = "site-packages/pandas/io/excel/__pycache__/_openpyxl.*.pyc"


def test_tasks_run_with_a_fresh_venv(pipeline_copy: Path, tmp_path: Path) -> None:
    repo, venv = pipeline_copy, pipeline_copy / ".venv"
    assert not venv.exists()
    tasks_py = [sys.executable, "tasks.py"]
    cache = cache_with_bytecode(tmp_path / "uv-cache", leave_out="*/pandas/io/excel/_openpyxl.py")
    env = {"UV_CACHE_DIR": str(cache)} if cache else {}
    try:
        first = run([*tasks_py, "run", "--force", "--single-item", "evaluate"], cwd=repo, env=env)
        assert "uv pip install" in first.stdout, first.stdout  # installed with uv, not the pip fallback
        assert f"{tasks.program(venv, 'dvc')} repro" in first.stdout
        # no remote here: the run ends with what to look at next, not with DVC's `dvc push` hint alone
        assert first.stdout.rstrip("\n").endswith(tasks.next_steps(has_remote=False)), first.stdout
        assert (venv / tasks.STAMP).exists()
        # bytecode written at install (uv --compile-bytecode), also for a module nothing imported: where
        # PYTHONDONTWRITEBYTECODE=1 is set, Python would otherwise compile TensorFlow on every stage start
        assert [*venv.glob(f"lib/*/{COMPILED}"), *venv.glob(f"Lib/{COMPILED}")], "no .pyc files in the fresh venv"
        # exactly the lock's versions, plus pip (from the venv) and the project itself, editable
        freeze = run([tasks.program(venv, "uv"), "pip", "freeze", "--python", tasks.program(venv, "python")], cwd=repo)
        installed = {
            re.sub(r"[-_.]+", "-", name).lower(): version
            for name, version in re.findall(r"^([\w.-]+)==(\S+)$", freeze.stdout, flags=re.M)
        }
        installed.pop("pip", None)
        assert installed == locked_here((repo / "requirements.txt").read_text())
        assert re.search(r"^-e file://.*/repo$", freeze.stdout, flags=re.M), freeze.stdout
        # evaluate ran in the fresh venv and wrote the committed bytes
        assert "Running stage 'evaluate'" in first.stdout
        assert run(["git", "status", "--porcelain", "dvc.lock"], cwd=repo).stdout == ""
        # the stamp is newer than its inputs: the second run installs nothing and finds the pipeline up to date
        second = run([*tasks_py, "run"], cwd=repo, env=env)
        assert "pip install" not in second.stdout
        assert "Data and pipelines are up to date" in second.stdout
    finally:
        shutil.rmtree(venv, ignore_errors=os.name == "nt")
