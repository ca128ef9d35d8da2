"""Issue 20, the pipeline side: no silent wrong result (a card that is not its model's, params changed under a
running repro, non-finite numbers), your own labels, bounded downloads and model files, one line for every fault.

Each test asserts the one line (key, file, value) and that nothing was lost or half-written."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from penguins import sources
from penguins.card import ModelCard, check_card_belongs
from penguins.data import class_record, clean, encode
from penguins.errors import PipelineError
from penguins.io import parse_csv, read_csv, write_bytes, write_csv
from penguins.params import DataParams, FetchParams, load_params, parse_params
from penguins.summary import complete_rows, data_summary
from penguins.tables import to_numeric_features
from penguins.yamlio import read_yaml
from tests.conftest import ROOT
from tests.helpers.http import serving


def message_of(call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    with pytest.raises(PipelineError) as err:
        call(*args, **kwargs)
    text = str(err.value)
    assert "\n" not in text
    return text


def leftovers(directory: Path) -> list[str]:
    """Hidden temporaries (penguins.io's atomic writes) left in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


# ---- 1. the card names the model it describes --------------------------------------------------------


CARD = ModelCard(
    features=("bill_length_mm", "body_mass_g"),
    target="species",
    classes=("Adelie", "Chinstrap", "Gentoo"),
    ranges={"bill_length_mm": (32.1, 59.6), "body_mass_g": (2700.0, 6300.0)},
)


@pytest.fixture
def model_and_card(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    model = tmp_path / "model.keras"
    model.write_bytes(b"the model's bytes")  # only its md5 matters here
    return model, CARD.for_model(model).as_json()


def test_train_names_the_model_in_its_card(model_and_card: tuple[Path, dict[str, Any]]) -> None:
    model, card = model_and_card
    assert card["model_md5"] == hashlib.md5(model.read_bytes()).hexdigest()
    check_card_belongs(ModelCard.model_validate(card), "models/model.json", model)  # its own: accepted


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda card, model: card | {"classes": card["classes"][::-1]},  # hand-edited: Adelie -> Gentoo
            "models/model.json: the card was edited after train wrote it (checksum mismatch); "
            "regenerate it with `dvc repro train` (or `dvc checkout train` for the committed pair: ",
        ),
        (
            lambda card, model: model.write_bytes(b"another experiment's model") and card,
            "models/model.json: the card describes another model (model_md5 ",
        ),
        (
            lambda card, model: {k: v for k, v in card.items() if k not in ("model_md5", "checksum")},
            "models/model.json: the card does not name its model (no model_md5/checksum: older); regenerate it",
        ),
    ],
)
def test_a_card_that_is_not_the_models_is_refused(
    model_and_card: tuple[Path, dict[str, Any]], edit: Callable[..., Any], message: str
) -> None:
    model, card = model_and_card
    edited = ModelCard.model_validate(edit(card, model))
    assert message_of(check_card_belongs, edited, "models/model.json", model).startswith(message)


def test_predict_refuses_a_reversed_card_before_predicting(
    model_and_card: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's example: the textbook Adelie came out "Gentoo" with exit 0."""
    from penguins import predict

    model, card = model_and_card
    (model.parent / "model.json").write_text(json.dumps(card | {"classes": card["classes"][::-1]}))
    args = ["--model", str(model), "--bill-length-mm", "39.1", "--body-mass-g", "3750"]
    with pytest.raises(SystemExit) as exit_:
        predict.run_cli(predict.main, args)
    assert exit_.value.code == 1
    err = capsys.readouterr()
    assert err.out == ""
    assert err.err.startswith(f"error: {model.parent / 'model.json'}: the card was edited after train wrote it")
    assert err.err.count("\n") == 1


# ---- 4. non-finite and float32-overflowing measurements ---------------------------------------------------

DATA = DataParams(features=("bill_length_mm", "body_mass_g"), target="species", classes=("Adelie", "Gentoo"))


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "1e308", "-4e38"])
def test_non_finite_or_float32_overflow_is_refused_by_clean_and_explore(value: str) -> None:
    raw = pd.read_csv(io.StringIO(f"species,bill_length_mm,body_mass_g\nAdelie,39.1,3750\nGentoo,46.1,{value}\n"))
    expected = (
        f"data/raw/penguins.csv: line 3: column 'body_mass_g' has value {float(value):g}, not a finite float32 "
        "number "
        "(the model computes in float32: at most 3.4e38 in size); "
    )
    assert message_of(clean, raw, DATA).startswith(expected)
    assert message_of(complete_rows, raw, DATA).startswith(expected)  # explore: before scipy sees it


def test_the_largest_float32_is_accepted() -> None:
    frame = pd.DataFrame({"x": ["3.4e38", "1", None]})
    assert to_numeric_features(frame, ["x"], "t.csv")["x"].tolist()[:2] == [3.4e38, 1.0]


# ---- 5. integer and boolean class labels, and a class named NA --------------------------------------------


@pytest.mark.parametrize(
    ("classes", "column", "expected"),
    [
        ([1, 2, 3], ["1", "2", "3", "2"], [1, 2, 3, 2]),
        ([True, False], ["true", "False", "TRUE", "false"], [True, False, True, False]),
        (["NA", "NB"], ["NA", "NB", "NA", "NB"], ["NA", "NB", "NA", "NB"]),  # pandas' na_values would eat NA
    ],
)
def test_labels_as_the_file_has_them(
    tmp_path: Path, classes: list[Any], column: list[str], expected: list[Any]
) -> None:
    raw = dict(ROOT_PARAMS)
    raw["data"] = {"features": ["x"], "target": "label", "classes": classes}
    data = parse_params(raw).data  # written naturally: `data.classes: [1, 2, 3]`
    assert list(data.classes) == classes
    path = tmp_path / "raw.csv"
    path.write_text("label,x\n" + "".join(f"{label},{i}.5\n" for i, label in enumerate(column)))
    cleaned = clean(read_csv(path, labels=["label"]), data, "raw.csv")
    assert cleaned["label"].tolist() == expected
    write_csv(tmp_path / "clean.csv", cleaned)
    encoded = encode(read_csv(tmp_path / "clean.csv", labels=["label"]), data)
    assert encoded[[f"label_{c}" for c in classes]].to_numpy().argmax(axis=1).tolist() == [
        classes.index(e) for e in expected
    ]
    assert class_record(data)["classes"] == classes  # train copies these into the card, as given
    summary = data_summary(read_csv(path, labels=["label"]), cleaned, data)
    assert summary["class_counts"] == {str(c): expected.count(c) for c in classes}
    assert summary["missing"]["label"] == 0


ROOT_PARAMS = read_yaml(ROOT / "params.yaml")


def test_an_unknown_coded_label_says_what_to_do() -> None:
    raw = pd.read_csv(io.StringIO("label,x\n1,1.0\n4,2.0\n"), dtype={"label": str})
    data = DataParams(features=("x",), target="label", classes=(1, 2))
    assert message_of(clean, raw, data, "raw.csv") == (
        "raw.csv: line 3: column 'label' has unknown label '4' (expected one of 1, 2; "
        "add it to data.classes in params.yaml if it is real)"
    )
    assert message_of(parse_params, ROOT_PARAMS | {"data": {**ROOT_PARAMS["data"], "classes": [1, "1"]}}) == (
        "params.yaml: data.classes mixes integers and text (1, '1'); labels are all text, all integers or all "
        "booleans: quote every one (e.g. '1', 'x') to match them as text"
    )
    assert message_of(parse_params, ROOT_PARAMS | {"data": {**ROOT_PARAMS["data"], "classes": ["True", "true"]}}) == (
        "params.yaml: data.classes must be distinct names, 'true' is listed twice"
    )


def test_metrics_of_mixed_labels_are_valid_json() -> None:
    """JSON keys are text: 1 and 'x' as labels of one model used to make json.dumps(sort_keys=True) fail."""
    from penguins.evaluation import score

    probabilities = pd.DataFrame([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]).to_numpy()
    metrics = json.loads(json.dumps(score([1, "x", 1], probabilities, [1, "x"]), sort_keys=True))
    assert metrics["per_class"]["1"]["support"] == 2 and metrics["per_class"]["x"]["support"] == 1


def test_a_card_reports_coded_labels_as_given() -> None:
    from penguins.predict import render, result_table

    card = ModelCard(features=("x",), target="label", classes=(1, 2, 3))
    table = result_table(pd.DataFrame({"x": [1.0]}), pd.DataFrame([[0.1, 0.7, 0.2]]).to_numpy(), card.classes)
    document = json.loads(render(table, "json", card, "m.keras"))
    assert document["classes"] == [1, 2, 3]
    assert document["predictions"][0]["predicted"] == 2
    assert render(table, "table", card, "m.keras").splitlines()[1].split()[:2] == ["1", "2"]


# ---- 6. bounded downloads, and the download messages -------------------------------------------------------


def url_params(url: str, sha256: str = "0" * 64, max_mb: int = 200) -> FetchParams:
    return FetchParams(source="url", url=url, sha256=sha256, timeout_s=20, max_mb=max_mb)


def test_an_endless_source_stops_at_max_mb(tmp_path: Path) -> None:
    target = tmp_path / "raw.csv"
    target.write_bytes(b"previous\n")
    start = time.process_time()
    message = message_of(sources.fetch, url_params("file:///dev/zero", max_mb=1), target)
    assert message.startswith(
        "fetch.url 'file:///dev/zero' is larger than fetch.max_mb=1 MB (more than 1000000 bytes; nothing kept): "
    )
    assert message.endswith("check the URL, or raise fetch.max_mb (at most 20000) if the file is that big")
    assert time.process_time() - start < 5
    assert target.read_bytes() == b"previous\n" and leftovers(tmp_path) == []


class Server(http.server.BaseHTTPRequestHandler):
    """/404, /500, /short (Content-Length 100, 10 bytes sent), /gzip (the CSV gzip-encoded), /bomb (gzip of
    zeros far beyond max_mb)."""

    def do_GET(self) -> None:
        if self.path in ("/404", "/500"):
            self.send_error(int(self.path[1:]))
            return
        body, headers = CSV, {}
        if self.path == "/short":
            headers = {"Content-Length": "100"}
            body = CSV[:10]
        elif self.path == "/gzip":
            body = gzip.compress(CSV)
            headers = {"Content-Encoding": "gzip", "Content-Length": str(len(body))}
        elif self.path == "/bomb":
            body = gzip.compress(bytes(3_000_000))
            headers = {"Content-Encoding": "gzip", "Content-Length": str(len(body))}
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def log_message(self, *args: Any) -> None:
        pass


CSV = b"species,bill_length_mm\nAdelie,39.1\n"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(Server) as base:
        yield base


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/404", "the server answered HTTP 404 Not Found; check the URL (fetch.url): the server has no such file"),
        (
            "/500",
            "the server answered HTTP 500 Internal Server Error; the server failed: try again later, "
            "or set fetch.source: package",
        ),
    ],
)
def test_http_errors_say_the_status_and_the_right_hint(server: str, path: str, message: str, tmp_path: Path) -> None:
    assert message_of(sources.fetch, url_params(server + path), tmp_path / "raw.csv") == (
        f"could not download fetch.url '{server}{path}': {message}"
    )
    assert leftovers(tmp_path) == [] and not (tmp_path / "raw.csv").exists()


def test_a_truncated_download_is_named_truncated(server: str, tmp_path: Path) -> None:
    assert message_of(sources.fetch, url_params(server + "/short"), tmp_path / "raw.csv") == (
        f"the download of fetch.url '{server}/short' was truncated: 10 of the 100 bytes the server announced "
        "(Content-Length); nothing kept: try again, or check the server"
    )
    assert leftovers(tmp_path) == []


def test_a_gzip_encoded_download_is_decoded_and_bounded(server: str, tmp_path: Path) -> None:
    sources.fetch(url_params(server + "/gzip", hashlib.sha256(CSV).hexdigest()), tmp_path / "raw.csv")
    assert (tmp_path / "raw.csv").read_bytes() == CSV  # the file, as sha256sum of the decoded file says
    message = message_of(sources.fetch, url_params(server + "/bomb", max_mb=1), tmp_path / "bomb.csv")
    assert message.startswith(f"fetch.url '{server}/bomb' is larger than fetch.max_mb=1 MB")
    assert not (tmp_path / "bomb.csv").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "ftp://example.org/penguins.csv",
            "fetch.url must start with http://, https:// or file://, got 'ftp://example.org/penguins.csv'; "
            "download other sources yourself and use a file:// URL",
        ),
        (
            "file://data/orig.csv",
            "fetch.url 'file://data/orig.csv' reads as host 'data', path '/orig.csv': a file:// URL takes an "
            "absolute path, three slashes: file:///home/me/penguins.csv",
        ),
    ],
)
def test_validate_params_refuses_urls_fetch_cannot_use(url: str, message: str) -> None:
    """Before DVC deletes data/raw (it did for ftp://, and file://data/orig.csv opened /orig.csv)."""
    raw = ROOT_PARAMS | {"fetch": {**ROOT_PARAMS["fetch"], "url": url}}
    assert message_of(parse_params, raw) == f"params.yaml: {message}"


def test_max_mb_is_checked_like_the_other_params() -> None:
    raw = ROOT_PARAMS | {"fetch": {**ROOT_PARAMS["fetch"], "max_mb": 50_000}}
    assert message_of(parse_params, raw).startswith("params.yaml: fetch.max_mb must be less than or equal to 20000")


# ---- 7. a params.yaml that is a list (the alias bomb: tests/unit/test_yamlio.py) -------------------------------


def test_a_params_file_that_is_a_list(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("- fetch\n- data\n")
    assert message_of(load_params, params) == (
        "params.yaml: expected a mapping of sections (fetch, data, explore, split, train, check), got a list"
    )


def test_make_run_checks_params_before_dvc_reads_them() -> None:
    """`make run` and `python tasks.py run` run validate_params --check before `dvc repro` (DVC expands
    aliases and fails on a list before any stage runs); the check writes nothing."""
    dry = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = dry.splitlines()
    check = lines.index("python -m stages.validate_params --check")
    assert lines.index("dvc repro") == check + 1


# ---- 8. disk full while a stage writes -------------------------------------------------------------------


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
