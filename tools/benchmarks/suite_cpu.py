"""A pytest plugin for `make bench-suite` (tools/benchmarks/suite.py): each test file's CPU and wall time.

Loaded with `-p tools.benchmarks.suite_cpu` when BENCH_SUITE_REPORT names a path prefix; every pytest process
(each xdist worker) writes PREFIX.<worker>.json: {file: [CPU s, wall s, tests]}. CPU is the process's own and
that of the children it waited for (rusage), so daemons that outlive a test (dvc queue workers, slurmd jobs)
are not in it: the cgroup total is.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_files: dict[str, list[float]] = {}
# Some tests run pytest themselves (tasks.py test), with this environment: only the outermost pytest and its own
# xdist workers record, or an inner run's workers would overwrite PREFIX.gw1.json with their few tests.
OWNER = "BENCH_SUITE_PYTEST"
_state = {"record": False}


def pytest_configure(config: Any) -> None:
    owner = os.environ.get(OWNER)
    if owner is None:  # the outermost pytest (xdist's controller, or the only process with -n 0)
        os.environ[OWNER] = str(os.getpid())  # before xdist starts its workers: they inherit it
        _state["record"] = True
    else:
        _state["record"] = owner == str(os.getppid())  # a worker of the outermost pytest


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    cpu, wall = _cpu(), time.perf_counter()
    yield
    totals = _files.setdefault(item.nodeid.split("::")[0], [0.0, 0.0, 0])
    totals[0] += _cpu() - cpu
    totals[1] += time.perf_counter() - wall
    totals[2] += 1


def pytest_sessionfinish(session: Any) -> None:
    if (prefix := os.environ.get("BENCH_SUITE_REPORT")) and _state["record"]:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        Path(f"{prefix}.{worker}.json").write_text(json.dumps(_files))
