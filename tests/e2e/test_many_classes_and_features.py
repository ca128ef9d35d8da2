"""End-to-end: the picture stages on data far wider than the lesson's (issue 29: 1,000 classes of 5 rows drew an
annotated 1000x1000 heatmap for 8 minutes in 10 GB; 40 features a 40x40 pairplot for 4 minutes). Run as DVC runs
them, in a fresh clone: each finishes in bounded time with one warning line saying what it left out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from penguins.evaluation import confusion_counts
from tests.conftest import edit_params
from tools.repo.clones import clone_worktree

pytestmark = pytest.mark.e2e

CLASSES = [f"c{i:04d}" for i in range(1000)]
FEATURES = [f"f{i:02d}_mm" for i in range(40)]


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = clone_worktree(tmp_path_factory.mktemp("wide") / "repo")
    edit_params(repo, data__features=FEATURES, data__classes=CLASSES)
    rng = np.random.default_rng(0)
    labels = [name for name in CLASSES for _ in range(5)]
    raw = pd.DataFrame(rng.normal(size=(len(labels), len(FEATURES))).round(3), columns=FEATURES)
    raw.insert(0, "species", labels)
    (repo / "data/raw").mkdir(parents=True, exist_ok=True)
    raw.to_csv(repo / "data/raw/penguins.csv", index=False)
    confusion = confusion_counts(labels, list(rng.choice(CLASSES, size=len(labels))), CLASSES)
    confusion.to_csv(repo / "plots/confusion.csv", index=False)
    return repo


def stage(repo: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"stages.{name}"], cwd=repo, capture_output=True, text=True, check=False, timeout=120
    )


def test_figures_draws_thirty_of_a_thousand_classes_and_says_so(wide: Path) -> None:
    proc = stage(wide, "figures")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "draws 30 of the 1000 classes" in warnings[0], proc.stderr
    with Image.open(wide / "plots/confusion_heatmap.png") as image:
        assert max(image.size) < 2000


def test_explore_draws_eight_of_forty_features_and_says_so(wide: Path) -> None:
    proc = stage(wide, "explore")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "first 8 of the 40 data.features" in warnings[0], proc.stderr
    with Image.open(wide / "plots/pairplot.png") as image:
        assert max(image.size) < 2500
