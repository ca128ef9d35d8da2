"""penguins.archive: .keras files saved byte-stable, and what a model file may unpack to, checked before Keras
opens it (no TensorFlow here but for the one test through modeling.load_model)."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

from penguins.archive import archive_bound_problem, renumber_shared_objects
from penguins.errors import PipelineError


def test_renumber_shared_objects_keeps_sharing() -> None:
    config = {"a": {"shared_object_id": 140001}, "b": [{"shared_object_id": 999}, {"shared_object_id": 140001}]}
    assert renumber_shared_objects(config) == {
        "a": {"shared_object_id": 1},
        "b": [{"shared_object_id": 2}, {"shared_object_id": 1}],
    }


def test_a_zip_bomb_model_is_refused_from_its_directory(tmp_path: Path) -> None:
    from penguins import modeling

    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", "{}")
        archive.writestr("config.json", bytes(65 * 2**20))  # 65 MiB of zeros: a 64 KB file
    assert bomb.stat().st_size < 2**20
    start = time.process_time()
    with pytest.raises(PipelineError) as err:
        modeling.load_model(bomb)
    assert str(err.value).startswith(
        f"{bomb}: cannot load as a Keras model (config.json unpacks to 65 MiB (at most 64 MiB accepted): "
        "a zip bomb, not a model); "
    )
    assert time.process_time() - start < 1  # nothing inflated
    many = [zipfile.ZipInfo(f"m{i}") for i in range(65)]
    assert archive_bound_problem(many) == "65 members in the zip, a .keras model has a few (at most 64 accepted)"
    huge = zipfile.ZipInfo("model.weights.h5")
    huge.file_size = 16 * 2**30
    assert archive_bound_problem([huge]) == (
        "its members unpack to 16384 MiB (at most 512 MiB accepted): a zip bomb, not a model of this project"
    )
