"""tools/repo/pipeline.py: the one view of dvc.lock and the one md5-against-dvc.lock checker (used by make reset
and tools.remote pull)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from penguins.io import file_md5
from tools.repo.pipeline import Locked, damaged_objects, damaged_outputs, lock_md5s, lock_outputs


def test_lock_outputs_is_the_one_view_of_dvc_lock() -> None:
    lock = {
        "stages": {
            "s": {"outs": [{"path": "a.csv", "md5": "0" * 32, "size": 3}, {"path": "d", "md5": "1" * 32 + ".dir"}]},
            "t": {"outs": [{"path": "x", "hash": "md5"}]},
        }
    }
    assert lock_outputs(lock) == {
        "a.csv": Locked("s", "0" * 32, 3),
        "d": Locked("s", "1" * 32 + ".dir", 0),
        "x": Locked("t", "", 0),
    }
    assert lock_md5s(lock) == {"a.csv": "0" * 32, "d": "1" * 32 + ".dir"}
    assert lock_outputs({}) == {}


def test_damaged_outputs_are_files_and_directories_unlike_the_lock(tmp_path: Path) -> None:
    (tmp_path / "good.csv").write_text("a\n")
    (tmp_path / "bad.csv").write_text("b\n")
    (tmp_path / "log").mkdir()
    (tmp_path / "log/metrics.json").write_text("{}\n")
    entries = [{"md5": file_md5(tmp_path / "log/metrics.json"), "relpath": "metrics.json"}]
    manifest = tmp_path / "manifest"
    manifest.write_text(json.dumps(entries))
    md5s = {
        "good.csv": file_md5(tmp_path / "good.csv"),
        "bad.csv": "f" * 32,
        "log": file_md5(manifest) + ".dir",
        "absent.csv": "e" * 32,
    }
    paths = ["good.csv", "bad.csv", "log", "absent.csv"]
    assert list(damaged_outputs(tmp_path, md5s, paths, lambda md5: manifest)) == ["bad.csv"]
    (tmp_path / "log/metrics.json").write_text("{} \n")  # a file inside the directory
    assert list(damaged_outputs(tmp_path, md5s, paths, lambda md5: manifest)) == ["bad.csv", "log"]
    (tmp_path / "log/metrics.json").write_text("{}\n")
    (tmp_path / "log/extra.tsv").write_text("x\n")  # a file the manifest does not list
    assert list(damaged_outputs(tmp_path, md5s, paths, lambda md5: manifest)) == ["bad.csv", "log"]
    (tmp_path / "log/extra.tsv").unlink()
    manifest.write_text(json.dumps(entries) + " ")  # the manifest itself damaged
    assert list(damaged_outputs(tmp_path, md5s, paths, lambda md5: manifest)) == ["bad.csv", "log"]


def test_without_a_cache_only_files_are_checked_with_the_md5_they_have(tmp_path: Path) -> None:
    (tmp_path / "good.csv").write_text("a\n")
    (tmp_path / "bad.csv").write_text("b\n")
    expected = {"good.csv": file_md5(tmp_path / "good.csv"), "bad.csv": "f" * 32, "dir": "e" * 32 + ".dir"}
    (tmp_path / "dir").mkdir()
    pulled = ["good.csv", "bad.csv", "dir/", "unknown.csv"]  # what `dvc pull` wrote (tools/remote.py checks it)
    assert damaged_outputs(tmp_path, expected, pulled) == {"bad.csv": file_md5(tmp_path / "bad.csv")}


def test_damaged_objects_are_the_file_or_the_directorys_bad_members(tmp_path: Path) -> None:
    """What make reset removes from the cache, so that `dvc pull` fetches it again instead of skipping it."""
    cache = tmp_path / "cache"
    cache.mkdir()

    def put(data: bytes, name: str | None = None) -> str:
        md5 = hashlib.md5(data).hexdigest()
        (cache / (name or md5)).write_bytes(data)
        return md5

    good, bad = put(b"good\n"), put(b"bad\n")
    (cache / bad).write_bytes(b"rotten\n")
    manifest = json.dumps([{"md5": good, "relpath": "a"}, {"md5": bad, "relpath": "b"}]).encode()
    listing = put(manifest) + ".dir"
    (cache / listing).write_bytes(manifest)
    where = lambda md5: cache / md5  # noqa: E731
    assert damaged_objects(good, where) == []
    assert damaged_objects(bad, where) == [cache / bad]
    assert damaged_objects(listing, where) == [cache / bad]  # the manifest is sound, one member is not
    (cache / listing).write_bytes(manifest + b" ")
    assert damaged_objects(listing, where) == [cache / listing]
    assert damaged_objects("0" * 32, where) == []  # not in the cache: nothing to remove
