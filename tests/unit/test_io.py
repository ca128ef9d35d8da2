"""penguins/io.py: reading and writing files, every read problem one line naming the file (delimiter, encoding,
header), writes atomic (a failed or disk-full write leaves the previous file and no temporary), one md5 of a file."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from penguins.io import file_md5, parse_csv, read_csv, read_json, write_bytes, write_csv, write_json
from tests.helpers.faults import leftovers, message_of

# ---- io: every read problem is one line naming the file -------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found; run the stage that makes it first (dvc repro)"),
        (b"", "file is empty; expected a CSV with a header row"),
        (b"a,b\n", "has a header but no data rows"),
        (
            b"a,b\n1,2,3\n",  # pandas would silently make the extra leading field an index
            "the data rows have more fields than the header's 2 names; check the header and the delimiter",
        ),
        (b'a,b\n"1,2\n', "not a readable CSV (Error tokenizing data. "),  # then pandas' reason
        (b"a\n\xff\n", "not UTF-8 text (byte 0xff at offset 2, e.g. Latin-1 or Windows-1252); re-save it as UTF-8"),
        (b"a\n1\n", "missing column 'b' (has: a); check data.features / data.target in params.yaml"),
    ],
)
def test_read_csv_problems(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_bytes(content)
    text = message_of(read_csv, path, required=["a", "b"])
    assert text.startswith(f"{path}: {message}")
    assert "\n" not in text


def test_parse_csv_names_its_source_and_hint() -> None:
    """A stream (predict's stdin) is named as given, and the caller's hint replaces the params one."""
    assert message_of(parse_csv, io.StringIO("a\n1\n"), "stdin", ["b"], hint="use b") == (
        "stdin: missing column 'b' (has: a); use b"
    )


def test_read_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    assert message_of(read_json, path).startswith(f"{path}: file not found")
    path.write_text("{bad")
    assert message_of(read_json, path) == (
        f"{path}: not valid JSON (Expecting property name enclosed in double quotes at line 1)"
    )
    write_json(path, {"b": 1, "a": [1, 2]})
    assert path.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'  # stable: sorted, indented
    assert read_json(path) == {"a": [1, 2], "b": 1}


def test_failed_write_leaves_previous_file_intact(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("previous\n")

    class Boom(pd.DataFrame):
        def to_csv(self, *args: object, **kwargs: object) -> None:
            Path(str(args[0])).write_text("half")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_csv(target, Boom({"a": [1]}))
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


# ---- disk full while a stage writes -------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (root only); skipped with the reason otherwise, a failure under CI=true."""
    mount = tmp_path / "small"
    mount.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)]
    proc = subprocess.run(command, capture_output=True, check=False)
    if proc.returncode != 0:
        reason = f"cannot mount a small tmpfs (needs root): {proc.stderr.decode().strip() or proc.returncode}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_disk_full_is_one_line_naming_the_file_and_the_free_space(small_disk: Path) -> None:
    target = small_disk / "clean.csv"
    write_bytes(target, b"previous\n")
    message = message_of(write_csv, target, pd.DataFrame({"x": range(100_000)}))
    assert message.startswith(f"{target}: disk full while writing it (")
    assert re.search(
        rf"\(\d+ KiB free in {re.escape(str(small_disk))}\); nothing was replaced: "
        r"free some space and re-run the stage$",
        message,
    )
    assert target.read_bytes() == b"previous\n" and leftovers(small_disk) == []


# ---- messages: delimiter, encoding, duplicated header --------------------------------------------------


def test_a_semicolon_delimited_file_names_the_delimiter() -> None:
    assert message_of(parse_csv, io.StringIO("species;island\nAdelie;Dream\n"), "raw.csv", ["species"]) == (
        "raw.csv: missing column 'species' (has: species;island); the header is one column holding ';': the file "
        "is semicolon-delimited, the pipeline reads comma-separated CSV; re-save it with commas"
    )


def test_latin1_bytes_say_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "raw.csv"
    path.write_bytes("species,island\nAdelie,Bj\xf8rn\n".encode("latin-1"))
    assert message_of(read_csv, path) == (
        f"{path}: not UTF-8 text (byte 0xf8 at offset 24, e.g. Latin-1 or Windows-1252); re-save it as UTF-8, "
        f"e.g. `iconv -f latin1 -t utf-8 {path} > fixed.csv`"
    )


def test_a_duplicated_header_column_is_named_as_written() -> None:
    """predict named pandas' renamed copy, body_mass_g.1."""
    text = "bill_length_mm,body_mass_g,body_mass_g\n39.1,3750,3750\n"
    assert message_of(parse_csv, io.StringIO(text), "stdin") == (
        "stdin: column 'body_mass_g' appears twice in the header (columns 2 and 3); keep one"
    )


# ---- empty header names (trailing commas) are not duplicates ----------------------------------------


def test_trailing_empty_header_names_are_not_repeated_columns() -> None:
    frame = parse_csv(io.StringIO("a,b,,\n1,2,,\n"), "new.csv")
    assert list(frame.columns) == ["a", "b", "Unnamed: 2", "Unnamed: 3"]
    assert message_of(parse_csv, io.StringIO("a,b,a,\n1,2,3,\n"), "new.csv") == (
        "new.csv: column 'a' appears twice in the header (columns 1 and 3); keep one"
    )


# ---- one md5 of a file ----------------------------------------------------------------------------------


def test_one_file_md5(tmp_path: Path) -> None:
    from penguins import card
    from tools.repo import pipeline

    path = tmp_path / "f"
    path.write_bytes(b"x" * 3_000_000)
    assert file_md5(path) == hashlib.md5(path.read_bytes()).hexdigest()
    assert not hasattr(pipeline, "md5_of")
    assert card.file_md5 is file_md5
