"""The data stages' logic on tiny in-test data: the raw data's sources (penguins/sources.py), reading and writing
files (penguins/io.py), checks of tabular input (penguins/tables.py) and clean, encode, split (penguins/data.py).

Each module's messages are said once, in its own table; the steps built on them are checked for naming the
file, line and column of the problem."""

from __future__ import annotations

import hashlib
import http.server
import io
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from penguins import sources
from penguins.data import (
    allowed_test_sizes,
    class_record,
    clean,
    duplicate_note,
    encode,
    rows_per_class_for_stratified_split,
    rows_seen_in_training,
    split,
)
from penguins.errors import PipelineError
from penguins.io import parse_csv, read_csv, read_json, write_csv, write_json
from penguins.params import DataParams, FetchParams, Params, SplitParams
from penguins.tables import check_target, csv_line, to_numeric_features
from tests.helpers.http import serving

DATA = DataParams(
    features=("bill_length_mm", "body_mass_g"), target="species", classes=("Adelie", "Chinstrap", "Gentoo")
)
HEADER = "species,bill_length_mm,body_mass_g\n"
RAW = """species,island,bill_length_mm,body_mass_g
Adelie,Torgersen,39.1,3750
Adelie,Torgersen,NA,NA
Chinstrap,Dream,46.5,3500
Gentoo,Biscoe,46.1,4500
Gentoo,Biscoe,50.0,
"""


def frame(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


def message_of(call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """The message of the PipelineError that call(*args, **kwargs) raises."""
    with pytest.raises(PipelineError) as err:
        call(*args, **kwargs)
    return str(err.value)


# ---- sources: where the raw CSV comes from -------------------------------------------------------


def url_params(url: str, sha256: str | None, max_mb: int = 200) -> FetchParams:
    return FetchParams(source="url", url=url, sha256=sha256, timeout_s=5, max_mb=max_mb)


def fetched(params: FetchParams, path: Path) -> bytes:
    """What sources.fetch writes to ``path``."""
    sources.fetch(params, path)
    return path.read_bytes()


def download(url: str, timeout_s: float, max_mb: int = 200) -> bytes:
    """sources.download into memory (the stage streams into a file)."""
    out = io.BytesIO()
    sources.download(url, timeout_s, out, max_mb)  # type: ignore[arg-type]
    return out.getvalue()


def test_fetch_package_is_the_344_row_csv(tmp_path: Path) -> None:
    params = FetchParams(source="package", url="https://unused.invalid/", sha256=None, timeout_s=5, max_mb=1)
    data = fetched(params, tmp_path / "raw.csv")
    assert data.startswith(b"species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year\n")
    assert data.count(b"\n") == 345


def test_fetch_url_checks_sha256(tmp_path: Path) -> None:
    source = tmp_path / "penguins.csv"
    source.write_bytes(RAW.encode())
    digest = hashlib.sha256(RAW.encode()).hexdigest()
    assert fetched(url_params(source.as_uri(), digest), tmp_path / "raw.csv") == RAW.encode()
    assert message_of(sources.fetch, url_params(source.as_uri(), "0" * 64), tmp_path / "raw.csv") == (
        f"{source.as_uri()}: sha256 mismatch (expected fetch.sha256 {'0' * 64}, got {digest}); "
        "the file changed upstream or the param is wrong"
    )


def test_fetch_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refused_port = "http://127.0.0.1:9/penguins.csv"  # discard port on loopback: connection refused at once
    assert message_of(sources.fetch, url_params(refused_port, "0" * 64), tmp_path / "raw.csv").startswith(
        f"could not download fetch.url {refused_port!r}: "
    )
    assert message_of(download, "ftp://example.org/p.csv", 5) == (
        "fetch.url 'ftp://example.org/p.csv' must start with http://, https:// or file://"
    )
    (tmp_path / "empty.csv").write_bytes(b"")
    empty = (tmp_path / "empty.csv").as_uri()
    assert message_of(sources.fetch, url_params(empty, hashlib.sha256(b"").hexdigest()), tmp_path / "raw.csv") == (
        f"{empty}: the fetched file is empty"
    )
    monkeypatch.setattr(sources, "PACKAGE_FILE", "data/none.csv")
    assert message_of(sources.read_package_csv) == (
        "package 'palmerpenguins' has no data/none.csv; reinstall it from requirements.txt"
    )
    monkeypatch.setattr(sources, "PACKAGE", "no_such_package_here")
    assert message_of(sources.read_package_csv) == "package 'no_such_package_here' is not installed; run `make install`"


class Trickle(http.server.BaseHTTPRequestHandler):
    """Sends a 25-byte body one byte every 0.2 s: each read waits far less than any timeout, the whole takes 5 s."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "25")
        self.end_headers()
        try:
            for _ in range(25):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:  # the client gave up: what the test wants
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def trickling_url() -> Iterator[str]:
    with serving(Trickle) as base:
        yield f"{base}/penguins.csv"


def test_fetch_timeout_is_a_deadline_for_the_whole_download(trickling_url: str) -> None:
    """A server that trickles bytes used to keep fetch running as long as it liked (timeout_s bounded each read)."""
    start = time.monotonic()
    message = message_of(download, trickling_url, 1.0)
    elapsed = time.monotonic() - start
    assert elapsed < 2.0, f"download ran {elapsed:.1f} s with fetch.timeout_s=1"
    assert re.fullmatch(
        rf"could not download fetch\.url '{re.escape(trickling_url)}' within fetch\.timeout_s=1 s \(\d+ bytes "
        r"received\); check the network or the server, raise fetch\.timeout_s, or set fetch\.source: package",
        message,
    ), message


def test_a_missing_file_url_is_not_a_network_problem(tmp_path: Path) -> None:
    url = (tmp_path / "nowhere.csv").as_uri()
    assert message_of(download, url, 5) == (
        f"could not read fetch.url {url!r}: No such file or directory; check the path (a file:// URL is a local file)"
    )


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


# ---- tables: bad cells are named by CSV line and column -------------------------------------------


def test_csv_line_counts_the_header() -> None:
    assert [csv_line(i) for i in (0, 1, 41)] == [2, 3, 43]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('species\nAdelie\n""\n', "line 3: column 'species' is empty; every row needs a label"),
        (
            "species\nAdelie\nEmperor\n",
            "line 3: column 'species' has unknown label 'Emperor' "
            "(expected one of Adelie, Chinstrap, Gentoo; add it to data.classes in params.yaml if it is real)",
        ),
    ],
)
def test_check_target(text: str, message: str) -> None:
    labels = frame(text)["species"]
    check_target(labels[:1], DATA.classes, "t.csv")
    assert message_of(check_target, labels, DATA.classes, "t.csv") == f"t.csv: {message}"


def test_to_numeric_features() -> None:
    table = frame("x,y\n1,2\n3,\n")
    converted = to_numeric_features(table, ["x", "y"], "t.csv")
    assert converted.dtypes.tolist() == ["float64", "float64"]
    assert converted["y"].isna().tolist() == [False, True]  # missing stays missing: clean drops the row
    assert message_of(to_numeric_features, frame("x,y\n1,2\n3,heavy\n"), ["x", "y"], "t.csv") == (
        "t.csv: line 3: column 'y' has non-numeric value 'heavy'; "
        "fix the file or leave the cell empty (NA) to drop the row"
    )
    assert message_of(to_numeric_features, frame("x\n1\nabc\n"), ["x"], "t.csv", hint="re-run").endswith(
        "'abc'; re-run"
    )


def test_a_text_column_listed_as_a_feature_hints_at_data_features() -> None:
    """island in data.features: not a bad cell to fix in the file, but a wrong entry in params.yaml."""
    text = frame("x,island\n1,Dream\n2,\n3,Biscoe\n")
    assert message_of(to_numeric_features, text, ["x", "island"], "t.csv") == (
        "t.csv: line 2: column 'island' has non-numeric value 'Dream' and no number in any row; "
        "data.features lists numeric input columns only: check data.features in params.yaml"
    )
    assert message_of(to_numeric_features, text, ["island"], "t.csv", column_hint=None).endswith(
        "'Dream'; fix the file or leave the cell empty (NA) to drop the row"
    )


# ---- clean, encode, split ---------------------------------------------------------------------------


def test_clean_keeps_target_and_features_and_drops_missing() -> None:
    out = clean(frame(RAW), DATA)
    assert list(out.columns) == ["species", "bill_length_mm", "body_mass_g"]
    assert out["species"].tolist() == ["Adelie", "Chinstrap", "Gentoo"]
    assert out["body_mass_g"].dtype == "float64"
    assert out.index.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    ("text", "where", "column"),
    [
        ("species,bill_length_mm\nAdelie,39.1\n", "raw.csv: ", "body_mass_g"),  # a missing column
        (f"{HEADER}Adelie,39.1,3750\nAdelie,39.1,heavy\n", "raw.csv: line 3: ", "body_mass_g"),
        (f"{HEADER}Adelie,39.1,3750\n,40.0,3800\n", "raw.csv: line 3: ", "species"),
        (f"{HEADER}Adelie,1,2\nEmperor,39.1,3750\n", "raw.csv: line 3: ", "species"),
    ],
)
def test_clean_names_the_file_line_and_column(text: str, where: str, column: str) -> None:
    """The checks' wording is said above (io, tables); here that clean names the right place."""
    message = message_of(clean, frame(text), DATA, source="raw.csv")
    assert message.startswith(where)
    assert f"'{column}'" in message


def test_clean_needs_a_complete_row() -> None:
    assert message_of(clean, frame(f"{HEADER}Adelie,NA,3750\nGentoo,39.1,NA\n"), DATA, source="raw.csv") == (
        "raw.csv: no rows left after dropping rows with missing values"
    )


CHINSTRAP_INCOMPLETE = """species,bill_length_mm,body_mass_g
Adelie,39.1,3750
Chinstrap,46.5,
Gentoo,46.1,4500
Chinstrap,NA,3500
"""


def test_clean_refuses_a_class_left_without_rows() -> None:
    """Every Chinstrap misses a measurement: the pipeline used to go on and report accuracy 1.0, support 0."""
    assert message_of(clean, frame(CHINSTRAP_INCOMPLETE), DATA, source="raw.csv") == (
        "raw.csv: class 'Chinstrap' of data.classes has no rows left after cleaning (all 2 of its rows miss a value "
        "of data.features); fix the data, change data.features, or remove 'Chinstrap' from data.classes"
    )
    only_two = DataParams(features=DATA.features, target="species", classes=("Adelie", "Gentoo", "Emperor"))
    no_emperor = frame(CHINSTRAP_INCOMPLETE.replace("Chinstrap", "Gentoo"))
    assert message_of(clean, no_emperor, only_two, source="raw.csv").startswith(
        "raw.csv: class 'Emperor' of data.classes has no rows left after cleaning (it has no rows); "
    )


def test_encode_refuses_a_class_without_rows() -> None:
    rows = pd.DataFrame({"species": ["Adelie", "Gentoo"], "bill_length_mm": [1.0, 2.0], "body_mass_g": [3.0, 4.0]})
    assert message_of(encode, rows, DATA, source="clean.csv") == (
        "clean.csv: class 'Chinstrap' of data.classes has no rows; "
        "re-run clean (dvc repro) or remove 'Chinstrap' from data.classes"
    )


@pytest.mark.parametrize(
    ("n_rows", "test_size", "needed"),
    [(342, 0.2, 5), (30, 0.2, 5), (31, 0.2, 5), (30, 0.5, 2), (30, 0.9, 10), (100, 0.01, 100), (3, 0.9, 4)],
)
def test_rows_per_class_for_stratified_split(n_rows: int, test_size: float, needed: int) -> None:
    """n / n_test and n / n_train rounded up, at least 2; (3, 0.9): no training row at all, so more than n."""
    assert rows_per_class_for_stratified_split(n_rows, test_size) == needed


def test_rows_per_class_suffice_for_every_seed() -> None:
    """The minimum puts the small class in both parts whatever the seed; one row fewer fails for some seed."""
    columns = class_record(DATA)["columns"]
    rows = pd.DataFrame({"species": ["Adelie"] * 20 + ["Chinstrap"] * 5 + ["Gentoo"] * 20})
    rows["bill_length_mm"], rows["body_mass_g"] = range(len(rows)), 1.0
    assert rows_per_class_for_stratified_split(45, 0.2) == 5
    for seed in range(20):
        params = SplitParams(test_size=0.2, random_state=seed, shuffle=True, stratify=True)
        train, test = split(encode(rows, DATA), params, columns, DATA.classes)
        assert train["species_Chinstrap"].sum() >= 1 and test["species_Chinstrap"].sum() >= 1
    params = SplitParams(test_size=0.2, random_state=0, shuffle=True, stratify=True)
    assert message_of(split, encode(rows.drop(index=24), DATA), params, columns, DATA.classes).startswith(
        "data/encoded/penguins.csv: class 'Chinstrap' has 4 rows, too few: a stratified split"
    )


def test_unstratified_split_checks_both_parts() -> None:
    rows = pd.DataFrame({"species": ["Adelie"] * 8 + ["Gentoo"] * 8 + ["Chinstrap"]})
    rows["bill_length_mm"], rows["body_mass_g"] = range(len(rows)), 1.0
    params = SplitParams(test_size=0.2, random_state=0, shuffle=False, stratify=False)
    message = message_of(split, encode(rows, DATA), params, class_record(DATA)["columns"], DATA.classes, "e.csv")
    assert message == (
        "e.csv: class 'Chinstrap' has no rows in the train part (all 1 of its rows are in test, "
        "split.stratify: false); "
        "set split.stratify: true (from 5 rows per class it puts each class in both), "
        "or change split.random_state or split.test_size"
    )


def test_encode_one_hot_is_numeric_in_class_order() -> None:
    out = encode(clean(frame(RAW), DATA), DATA)
    onehot = ["species_Adelie", "species_Chinstrap", "species_Gentoo"]
    assert list(out.columns) == ["bill_length_mm", "body_mass_g", *onehot]
    assert all(out[c].dtype == "float64" for c in onehot)
    assert out[onehot].to_numpy().tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert class_record(DATA) == {
        "target": "species",
        "classes": ["Adelie", "Chinstrap", "Gentoo"],
        "columns": onehot,
        "features": ["bill_length_mm", "body_mass_g"],
    }


def test_encode_checks_labels_again() -> None:
    """A label clean did not see (e.g. data.classes changed since) is named, not encoded as all zeros."""
    bad = pd.DataFrame({"species": ["Adelie", "Emperor"], "bill_length_mm": [1.0, 2.0], "body_mass_g": [3.0, 4.0]})
    message = message_of(encode, bad, DATA, source="clean.csv")
    assert message.startswith("clean.csv: line 3: ")
    assert "'Emperor'" in message


def encoded_rows(n_per_class: int) -> pd.DataFrame:
    rows = pd.DataFrame({"species": [c for c in DATA.classes for _ in range(n_per_class)]})
    rows["bill_length_mm"] = range(len(rows))
    rows["body_mass_g"] = 1.0
    return encode(rows, DATA)


def test_split_is_stratified_and_seeded(default_params: Params) -> None:
    data = encoded_rows(10)
    columns = class_record(DATA)["columns"]
    train, test = split(data, default_params.split, columns, DATA.classes)
    assert (len(train), len(test)) == (24, 6)
    assert test[columns].sum().tolist() == [2, 2, 2]
    again, _ = split(data, default_params.split, columns, DATA.classes)
    assert train.equals(again)


def test_split_impossible_stratification_names_the_class() -> None:
    """scikit-learn's own error named the class by its one-hot row ('0.0 1.0 0.0'); now it is named, up front."""
    params = SplitParams(test_size=0.2, random_state=0, shuffle=True, stratify=True)
    message = message_of(split, encoded_rows(1), params, class_record(DATA)["columns"], DATA.classes, "enc.csv")
    assert message == (
        "enc.csv: every class is short (a stratified split with split.test_size=0.2 of 3 rows needs at least 3 per "
        "class; the smallest, 'Adelie', has 1); no split.test_size works with 1 row in a class: add rows or remove "
        "'Adelie' from data.classes"
    )


# ---- issue 29: an empty feature, a test size too small for every class, duplicated rows ----------------------


@pytest.mark.parametrize("empty", ["bill_length_mm", "body_mass_g"])
def test_clean_names_a_feature_empty_in_every_row(empty: str) -> None:
    rows = frame(RAW).assign(**{empty: float("nan")})
    assert message_of(clean, rows, DATA, source="raw.csv") == (
        f"raw.csv: column {empty!r} of data.features is empty in every one of its 5 rows; "
        f"remove {empty!r} from data.features or fill it in"
    )


PENGUIN_COUNTS = {"Adelie": 151, "Chinstrap": 68, "Gentoo": 123}


def penguin_rows(counts: dict[str, int]) -> pd.DataFrame:
    rows = pd.DataFrame({"species": [name for name, n in counts.items() for _ in range(n)]})
    rows["bill_length_mm"], rows["body_mass_g"] = range(len(rows)), 1.0
    return encode(rows, DATA)


@pytest.mark.parametrize(("test_size", "says"), [(0.001, "smallest split.test_size that works is 0.02"),
                                                 (0.999, "largest split.test_size that works is 0.98")])  # fmt: skip
def test_a_test_size_every_class_is_short_of_says_so_and_what_works(test_size: float, says: str) -> None:
    params = SplitParams(test_size=test_size, random_state=0, shuffle=True, stratify=True)
    message = message_of(split, penguin_rows(PENGUIN_COUNTS), params, class_record(DATA)["columns"], DATA.classes)
    assert "every class is short" in message and says in message, message
    assert "remove" not in message and "\n" not in message
    lo = float(says.rsplit(" ", 1)[1])
    works = SplitParams(test_size=lo, random_state=0, shuffle=True, stratify=True)
    train, test = split(penguin_rows(PENGUIN_COUNTS), works, class_record(DATA)["columns"], DATA.classes)
    assert (test[class_record(DATA)["columns"]].sum() >= 1).all() and (
        train[class_record(DATA)["columns"]].sum() >= 1
    ).all()


def test_allowed_test_sizes_is_exact_at_its_ends() -> None:
    for n_rows, smallest in [(342, 68), (277, 3), (10, 5), (342, 2), (5000, 5), (1000, 2)]:
        lo, hi = allowed_test_sizes(n_rows, smallest)
        assert rows_per_class_for_stratified_split(n_rows, lo) <= smallest
        assert rows_per_class_for_stratified_split(n_rows, hi) <= smallest
        assert rows_per_class_for_stratified_split(n_rows, round(lo - 0.01, 2)) > smallest or lo <= 0.01
    assert allowed_test_sizes(342, 1) is None


def test_duplicated_rows_are_counted_warned_and_refused() -> None:
    rows = penguin_rows(PENGUIN_COUNTS)
    params = SplitParams(test_size=0.2, random_state=0, shuffle=True, stratify=True)
    columns = class_record(DATA)["columns"]
    train, test = split(rows, params, columns, DATA.classes)
    assert rows_seen_in_training(train, test) == 0 and duplicate_note(0, len(test), "t.csv") is None
    train, test = split(pd.concat([rows] * 100, ignore_index=True), params, columns, DATA.classes)
    seen = rows_seen_in_training(train, test)
    assert seen > 0.99 * len(test)
    message = message_of(duplicate_note, seen, len(test), "t.csv")
    assert message.startswith(f"t.csv: {seen} of the {len(test)} test rows (") and "duplicate" in message
    note = duplicate_note(10, 100, "t.csv")
    assert note is not None and "10 of the 100 test rows (10.0%)" in note


def test_clean_names_a_feature_empty_in_every_row_of_a_class() -> None:
    rows = frame(CHINSTRAP_INCOMPLETE.replace("Chinstrap,46.5,", "Chinstrap,,3600"))
    assert "(all 2 of its rows miss a value of data.features; 'bill_length_mm' is empty in every one)" in message_of(
        clean, rows, DATA, source="raw.csv"
    )
