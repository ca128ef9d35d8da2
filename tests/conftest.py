"""Fixtures shared by the unit and end-to-end tests.

End-to-end tests work in temporary clones of this repository (what `git ls-files` would commit, so
uncommitted edits are tested too) and run the real `dvc` CLI of the virtualenv running pytest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from penguins.params import Params, load_params
from penguins.yamlio import loads_yaml, read_yaml
from tools.benchmarks.s3 import S3Server, s3_server
from tools.repo import clones as workspace
from tools.repo.clones import BIN, clone_worktree
from tools.repo.internals import modify_yaml

ROOT = Path(__file__).resolve().parent.parent


def run(
    cmd: list[str], cwd: Path, check: bool = True, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """tools.repo.run.run, but an unexpected exit status fails the test (with both streams shown)."""
    try:
        return workspace.run(cmd, cwd=cwd, check=check, stdin=stdin, env=env)
    except RuntimeError as exc:
        pytest.fail(str(exc))


def dvc(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "dvc"), *args], cwd=cwd, check=check)


DATA_URI = re.compile(r"data:[\w/+.-]*(?:;[\w=.-]+)*,[^\"'\s)>]*")
FETCHING = re.compile(
    r"""\b(?:src|srcset|href|xlink:href|action|formaction|poster|data|background)\s*=\s*(?!["']?\s*(?:data:|\#))"""
    r"""|url\(\s*(?!["']?\s*(?:data:|\#))|@import""",
    re.IGNORECASE,
)


def network_references(page: str) -> list[str]:
    """What in an HTML page could make a browser fetch: attributes, CSS url() and @import that do not
    point to a data: URI or an in-page #anchor, and any http(s):// or //host outside table cells (where
    params such as fetch.url are shown as text)."""
    page = DATA_URI.sub("data:,", page)
    found = [m.group(0) for m in FETCHING.finditer(page)]
    outside_cells = re.sub(r"<td[^>]*>[^<]*</td>", "", page)
    return found + re.findall(r"(?:https?:)?//[\w.-]+", outside_cells)


def edit_params(repo: Path, **changes: Any) -> None:
    """Set params.yaml keys given as section__key=value (e.g. train__epochs=5), as `dvc exp run -S` writes them
    (DVC's own YAML reader and writer, comments kept)."""
    with modify_yaml(repo / "params.yaml") as params:
        for dotted, value in changes.items():
            section, key = dotted.split("__")
            params[section][key] = value


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """moto's S3 server in this process (tools/benchmarks/s3.py), one per session: moto's backends and its auth
    switch are global to a process, so two such servers in one would share both. Each user keeps to a prefix of
    its own in the bucket (the remote tests, the SLURM tests)."""
    with s3_server() as server:
        yield server


@pytest.fixture(scope="session")
def default_params() -> Params:
    return load_params(ROOT / "params.yaml")


@pytest.fixture
def raw_params() -> dict[str, Any]:
    """params.yaml as a fresh, mutable mapping."""
    return read_yaml(ROOT / "params.yaml")


def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory every pytest-xdist worker of this run sees (its own base temp dir without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


# make in a clone, with the virtualenv running the tests: `-o` keeps make from ever re-installing it (a clone's
# files may be newer than its stamp: the editable install would then point the venv at the temporary clone).
MAKE = ["make", "-o", f"{sys.prefix}/.installed", f"VENV={sys.prefix}"]


def build_pipeline(dest: Path) -> dict[str, Any]:
    """A fresh clone in ``dest`` where the default pipeline ran once, with the README's `make run`; returns what
    the tests read about the run. (A second run, `dvc repro -f`, is not needed to show that training is
    deterministic: every output, the model included, must equal the committed dvc.lock's, which another run
    made. It cost a whole pipeline that every test of the clone waited for: docs/benchmarks.md.)"""
    repo = clone_worktree(dest)
    committed_lock = (repo / "dvc.lock").read_text()
    run([*MAKE, "run"], cwd=repo)
    first_lock = (repo / "dvc.lock").read_text()
    status_after_first = dvc("status", cwd=repo).stdout
    return {"committed_lock": committed_lock, "first_lock": first_lock, "status_after_first": status_after_first}


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One fresh clone where the default pipeline ran once: the README's `make run`.

    `make run` uses the virtualenv running the tests (VENV=sys.prefix): it is installed and stamped
    newer than the clone's requirements.txt, so make goes straight to `dvc repro`.
    Built once per test run: the first pytest-xdist worker to need it builds it (the others wait on a file
    lock), and each worker gets its own copy, so that no two workers run dvc in the same clone at once.
    Shared by the end-to-end tests that only read it; tests that change files copy it first.
    """
    shared = shared_dir(tmp_path_factory)
    built, record = shared / "pipeline-built", shared / "pipeline-built.json"
    with FileLock(shared / "pipeline-built.lock"):
        if not record.is_file():  # a worker whose build failed left none: the next one tries again
            shutil.rmtree(built, ignore_errors=True)
            built.mkdir()
            record.write_text(json.dumps(build_pipeline(built)))
    runs = json.loads(record.read_text())
    repo = tmp_path_factory.mktemp("pipeline") / "repo"
    shutil.copytree(built, repo, symlinks=True)
    return {
        "repo": repo,
        "committed_lock": loads_yaml(runs["committed_lock"]),
        "first_lock": loads_yaml(runs["first_lock"]),
        "status_after_first": runs["status_after_first"],
    }


@pytest.fixture
def pipeline_copy(pipeline: dict[str, Any], tmp_path: Path) -> Path:
    """A private copy of the shared pipeline clone (with its outputs and DVC cache) to modify freely."""
    dest = tmp_path / "repo"
    shutil.copytree(pipeline["repo"], dest, symlinks=True)
    return dest


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n logical` (pytest.ini): one worker per logical CPU, plus one. End-to-end tests spend much of their time
    waiting (on `dvc queue`, the SLURM scheduler, S3 time-outs, file locks): a third worker fills those waits.
    On 2 cores the suite took 325 s instead of 353 s (docs/benchmarks.md). PYTEST_XDIST_AUTO_NUM_WORKERS still
    decides when set (pytest-xdist's own hook reads it)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") or config.option.numprocesses != "logical":
        return None
    import psutil

    return (psutil.cpu_count(logical=True) or os.cpu_count() or 1) + 1


# `make test` runs the files on the workers, a file per worker (pytest.ini: -n logical --dist loadfile
# --no-loadscope-reorder), in this order: the longest first, so that no long file starts last and runs alone.
# check_repro's first tests need no pipeline clone: that worker does not wait while another one builds it.
LONGEST_FIRST = (
    "tests/e2e/test_remote.py",
    "tests/e2e/test_slurm.py",
    "tests/e2e/test_check_repro.py",
    "tests/e2e/test_sweep.py",
    "tests/e2e/test_pipeline.py",
    "tests/e2e/test_experiments.py",
    "tests/e2e/test_tasks_fresh_venv.py",
    "tests/e2e/test_make_report.py",
    "tests/e2e/test_exp_show_running.py",
    "tests/e2e/test_notebooks.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of LONGEST_FIRST first, in that order; every other file after them, as collected."""
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
