"""End-to-end checks of issue 13's hardening that need the real `dvc` (the rest are unit tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from stages import fetch as fetch_stage
from tests.conftest import dvc, edit_params

pytestmark = pytest.mark.e2e


def test_fetch_help_tells_what_dvc_does_to_the_previous_raw_file(pipeline_copy: Path) -> None:
    """A failed fetch under `dvc repro`: DVC has deleted the previous raw file (as --help now says, instead of
    "left untouched"), `dvc checkout` brings it back, and a missing file:// path is not called a network problem."""
    raw = pipeline_copy / "data/raw/penguins.csv"
    before = raw.read_bytes()
    missing = (pipeline_copy / "nowhere.csv").as_uri()
    edit_params(pipeline_copy, fetch__source="url", fetch__url=missing, fetch__sha256="0" * 64)
    proc = dvc("repro", "fetch", cwd=pipeline_copy, check=False)
    assert proc.returncode != 0
    assert (
        f"error: could not read fetch.url '{missing}': No such file or directory; "
        "check the path (a file:// URL is a local file)\n"
    ) in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not raw.exists()
    assert "left untouched" not in fetch_stage.__doc__
    assert "`dvc checkout data/raw/penguins.csv` brings it back" in fetch_stage.__doc__  # --help shows it
    dvc("checkout", "data/raw/penguins.csv", cwd=pipeline_copy)
    assert raw.read_bytes() == before


def test_the_card_records_each_features_range_in_the_fitted_rows(pipeline: dict[str, Any]) -> None:
    """predict's checks come from these (issue 13 item 8): the rows fitted on, not the validation rows."""
    repo = pipeline["repo"]
    card = json.loads((repo / "models/model.json").read_text())
    fitted = pd.read_csv(repo / "data/split/train.csv").iloc[:219]  # 273 rows, the last 54 validate
    assert card["ranges"] == {f: [fitted[f].min(), fitted[f].max()] for f in card["features"]}
    assert card["ranges"]["body_mass_g"] == [2700.0, 6300.0]
