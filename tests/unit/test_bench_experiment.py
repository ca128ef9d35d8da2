"""tools/benchmarks/experiment.py's accounting: the probe splits a process's CPU by phase, DVC's process is split at
its stages' starts and ends, and what no Python process accounts for is "other"."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tools.benchmarks.experiment import Measured, dvc_spans, measure, rows

SCRIPT = """
import sys
from pathlib import Path
import penguins.io
penguins.io.write_json(Path(sys.argv[1]), {"a": 1})
sum(range(3_000_000))  # work
"""


def test_the_probe_splits_a_process_by_phase(tmp_path: Path) -> None:
    measured = measure([sys.executable, "-c", SCRIPT, str(tmp_path / "out.json")], cwd=tmp_path)
    (record,) = measured.records
    by = record["cpu_by"]
    assert by["imports"] > 0 and by["work"] > 0 and by["writing"] > 0 and by["interpreter"] > 0
    assert sum(by.values()) == pytest.approx(record["cpu"], abs=0.01)
    assert (tmp_path / "out.json").read_text() == '{\n  "a": 1\n}\n'
    assert measured.cpu >= record["cpu"]  # the whole process as its parent sees it, exit included


def test_dvc_spans_and_other() -> None:
    dvc = {"argv": ["/venv/bin/dvc"], "cpu": 3.0, "wall": 10.0, "cpu_by": {"interpreter": 0.1, "imports": 0.4},
           "marks": [("start train", 1.0, 2.0), ("end train", 1.1, 6.0), ("start evaluate", 1.6, 7.0),
                     ("end evaluate", 1.7, 9.0)]}  # fmt: skip
    assert dvc_spans(dvc) == {"before stages": (1.0, 2.0), "between stages": (0.5, 1.0), "after stages": (1.3, 1.0)}
    stage = {"argv": ["/repo/stages/train.py"], "started": 0, "cpu": 4.0, "wall": 4.0,
             "cpu_by": {"interpreter": 0.02, "imports": 3.0, "work": 0.98}}  # fmt: skip
    table = {row[0]: row for row in rows([Measured(cpu=8.0, wall=12.0, records=[dvc, stage])])}
    assert table["stage train"][1] == "4.00"
    assert table["other (sh, git, interpreter exit)"][1] == "1.00"  # 8 - 3 - 4
    assert table["**total (user+sys of children)**"][1] == "**8.00**"
