"""fetch, clean, encode and split as pure functions on tiny in-test data, including every bad input."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pandas as pd
import pytest

from stages.clean import clean
from stages.common import DataParams, FetchParams, Params, PipelineError, SplitParams, read_csv, write_csv
from stages.encode import class_record, encode
from stages.fetch import fetch
from stages.split import split

DATA = DataParams(features=("bill_length_mm", "body_mass_g"), target="species", classes=("Adelie", "Chinstrap", "Gentoo"))
RAW = """species,island,bill_length_mm,body_mass_g
Adelie,Torgersen,39.1,3750
Adelie,Torgersen,NA,NA
Chinstrap,Dream,46.5,3500
Gentoo,Biscoe,46.1,4500
Gentoo,Biscoe,50.0,
"""


def frame(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


# ---- fetch -----------------------------------------------------------------------------------


def url_params(url: str, sha256: str | None) -> FetchParams:
    return FetchParams(source="url", url=url, sha256=sha256, timeout_s=5)


def test_fetch_package_is_the_344_row_csv() -> None:
    data = fetch(FetchParams(source="package", url="unused", sha256=None, timeout_s=5))
    assert data.startswith(b"species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year\n")
    assert data.count(b"\n") == 345


def test_fetch_url_checks_sha256(tmp_path: Path) -> None:
    source = tmp_path / "penguins.csv"
    source.write_bytes(RAW.encode())
    digest = hashlib.sha256(RAW.encode()).hexdigest()
    assert fetch(url_params(source.as_uri(), digest)) == RAW.encode()
    with pytest.raises(PipelineError, match=f"sha256 mismatch \\(expected fetch.sha256 {'0' * 64}, got {digest}\\)"):
        fetch(url_params(source.as_uri(), "0" * 64))


def test_fetch_network_error_names_the_url() -> None:
    url = "http://127.0.0.1:9/penguins.csv"  # discard port on loopback: connection refused at once
    with pytest.raises(PipelineError, match=r"could not download fetch.url 'http://127.0.0.1:9/penguins.csv'"):
        fetch(url_params(url, "0" * 64))


def test_fetch_rejects_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(PipelineError, match="the fetched file is empty"):
        fetch(url_params((tmp_path / "empty.csv").as_uri(), hashlib.sha256(b"").hexdigest()))


# ---- clean -----------------------------------------------------------------------------------


def test_clean_keeps_target_and_features_and_drops_missing() -> None:
    out = clean(frame(RAW), DATA)
    assert list(out.columns) == ["species", "bill_length_mm", "body_mass_g"]
    assert out["species"].tolist() == ["Adelie", "Chinstrap", "Gentoo"]
    assert out["body_mass_g"].dtype == "float64"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("species,bill_length_mm\nAdelie,39.1\n", "raw.csv: missing column 'body_mass_g' (has: species, bill_length_mm)"),
        ("species,bill_length_mm,body_mass_g\nAdelie,39.1,heavy\n", "raw.csv: line 2: column 'body_mass_g' has non-numeric value 'heavy'"),
        ("species,bill_length_mm,body_mass_g\nAdelie,39.1,3750\n,40.0,3800\n", "raw.csv: line 3: column 'species' is empty"),
        ("species,bill_length_mm,body_mass_g\nEmperor,39.1,3750\n", "raw.csv: line 2: column 'species' has unknown label 'Emperor' (expected one of Adelie, Chinstrap, Gentoo"),
        ("species,bill_length_mm,body_mass_g\nAdelie,NA,3750\n", "raw.csv: no rows left after dropping rows with missing values"),
    ],
)  # fmt: skip
def test_clean_bad_input(text: str, message: str) -> None:
    with pytest.raises(PipelineError) as err:
        clean(frame(text), DATA, source="raw.csv")
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "file is empty"), (b"species,bill_length_mm\n", "has a header but no data rows"), (None, "file not found")],
)
def test_read_csv_bad_files(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(PipelineError, match=message):
        read_csv(path)


# ---- encode ----------------------------------------------------------------------------------


def test_encode_one_hot_is_numeric_in_class_order() -> None:
    out = encode(clean(frame(RAW), DATA), DATA)
    onehot = ["species_Adelie", "species_Chinstrap", "species_Gentoo"]
    assert list(out.columns) == ["bill_length_mm", "body_mass_g", *onehot]
    assert all(out[c].dtype == "float64" for c in onehot)
    assert out[onehot].to_numpy().tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert class_record(DATA)["classes"] == ["Adelie", "Chinstrap", "Gentoo"]


def test_encode_rejects_a_label_it_cannot_encode() -> None:
    bad = pd.DataFrame({"species": ["Adelie", "Emperor"], "bill_length_mm": [1.0, 2.0], "body_mass_g": [3.0, 4.0]})
    with pytest.raises(PipelineError, match="unknown label 'Emperor'"):
        encode(bad, DATA)


# ---- split -----------------------------------------------------------------------------------


def encoded_rows(n_per_class: int) -> pd.DataFrame:
    rows = pd.DataFrame({"species": [c for c in DATA.classes for _ in range(n_per_class)]})
    rows["bill_length_mm"] = range(len(rows))
    rows["body_mass_g"] = 1.0
    return encode(rows, DATA)


def test_split_is_stratified_and_seeded(default_params: Params) -> None:
    data = encoded_rows(10)
    columns = class_record(DATA)["columns"]
    train, test = split(data, default_params.split, columns)
    assert (len(train), len(test)) == (24, 6)
    assert test[columns].sum().tolist() == [2, 2, 2]
    again, _ = split(data, default_params.split, columns)
    assert train.equals(again)


def test_split_impossible_stratification_is_one_clear_error() -> None:
    params = SplitParams(test_size=0.2, random_state=0, shuffle=True, stratify=True)
    with pytest.raises(PipelineError, match=r"cannot split 3 rows with split params .*least populated class"):
        split(encoded_rows(1), params, class_record(DATA)["columns"])


# ---- atomic writes -----------------------------------------------------------------------------


def test_failed_write_leaves_previous_file_intact(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("previous\n")

    class Boom(pd.DataFrame):
        def to_csv(self, *args: object, **kwargs: object) -> None:
            Path(args[0]).write_text("half")  # type: ignore[arg-type]
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_csv(target, Boom({"a": [1]}))
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
