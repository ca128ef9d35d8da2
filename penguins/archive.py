"""`.keras` archives without TensorFlow: byte-stable saving, and the checks a model file passes before Keras opens it.

A .keras file is a zip of three members (metadata.json, config.json, model.weights.h5). penguins.modeling saves
through normalise_keras_archive and loads only what archive_problem accepts.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # earliest time a zip entry can carry

# What a model file may unpack to, read from its zip directory before anything is inflated: a zip bomb (a small
# file whose config.json inflates to gigabytes) is refused before it costs memory or minutes.
ARCHIVE_MAX_MEMBERS = 64
ARCHIVE_MAX_JSON = 64 * 2**20  # config.json and metadata.json are read into memory whole
# All members together: far above the largest network params.yaml allows (8 layers of 1024 units, Adam's state
# saved with it; docs/benchmarks.md).
ARCHIVE_MAX_TOTAL = 512 * 2**20


def renumber_shared_objects(config: Any, ids: dict[int, int] | None = None) -> Any:
    """Replace Keras' ``shared_object_id`` values (Python id()s, i.e. memory addresses) by 1, 2, ...
    in order of first appearance; objects that shared an id still share one."""
    ids = {} if ids is None else ids
    if isinstance(config, dict):
        return {
            key: ids.setdefault(value, len(ids) + 1)
            if key == "shared_object_id"
            else renumber_shared_objects(value, ids)
            for key, value in config.items()
        }
    if isinstance(config, list):
        return [renumber_shared_objects(item, ids) for item in config]
    return config


def normalise_keras_archive(src: Path, dst: Path) -> None:
    """Copy a .keras zip without what changes from save to save of the same model:
    metadata.json's date_saved, memory addresses in config.json and zip entry timestamps."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "metadata.json":
                metadata = json.loads(data)
                metadata.pop("date_saved", None)
                data = json.dumps(metadata, sort_keys=True).encode()
            elif info.filename == "config.json":
                data = json.dumps(renumber_shared_objects(json.loads(data))).encode()
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            entry.compress_type = info.compress_type
            entry.external_attr = 0o644 << 16
            zout.writestr(entry, data)


def archive_bound_problem(members: list[zipfile.ZipInfo]) -> str | None:
    """Why a zip directory describes more than a model may unpack to (ARCHIVE_MAX_*), or None."""
    if len(members) > ARCHIVE_MAX_MEMBERS:
        return f"{len(members)} members in the zip, a .keras model has a few (at most {ARCHIVE_MAX_MEMBERS} accepted)"
    for info in members:
        if info.filename.endswith(".json") and info.file_size > ARCHIVE_MAX_JSON:
            return (
                f"{info.filename} unpacks to {info.file_size / 2**20:.0f} MiB "
                f"(at most {ARCHIVE_MAX_JSON // 2**20} MiB accepted): a zip bomb, not a model"
            )
    total = sum(info.file_size for info in members)
    if total > ARCHIVE_MAX_TOTAL:
        return (
            f"its members unpack to {total / 2**20:.0f} MiB (at most {ARCHIVE_MAX_TOTAL // 2**20} MiB accepted): "
            "a zip bomb, not a model of this project"
        )
    return None


def archive_problem(path: Path) -> str | None:
    """Why a file cannot be a .keras archive (a zip), or None: truncated (no zip directory at its end), more than a
    model unpacks to (archive_bound_problem, from the directory alone), damaged (a member fails its CRC)."""
    if not zipfile.is_zipfile(path):
        return f"not a complete .keras zip archive: truncated or not a model, {path.stat().st_size} bytes"
    try:
        with zipfile.ZipFile(path) as archive:
            too_large = archive_bound_problem(archive.infolist())
            if too_large:
                return too_large
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return f"a damaged .keras zip archive: {exc}"
    return f"a damaged .keras zip archive: {bad} fails its checksum" if bad else None
