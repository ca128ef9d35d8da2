"""tools/benchmarks/suite.py's bookkeeping: the per-file table over the workers' reports, the cgroup fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.benchmarks import suite


def test_the_table_sums_each_file_over_the_workers_costliest_first(tmp_path: Path) -> None:
    prefix = tmp_path / "cpu"
    (tmp_path / "cpu.gw0.json").write_text(json.dumps({"tests/a.py": [10.0, 20.0, 2], "tests/b.py": [1.0, 2.0, 1]}))
    (tmp_path / "cpu.gw1.json").write_text(json.dumps({"tests/b.py": [30.0, 40.0, 3]}))
    table, total = suite.file_table(prefix)
    assert total == pytest.approx(41.0)
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    assert rows == [["31.0", "42.0", "4", "tests/b.py"], ["10.0", "20.0", "2", "tests/a.py"]]


def test_no_writable_cgroup_means_rusage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suite, "cgroup_root", lambda: None)
    assert suite.make_cgroup() is None
