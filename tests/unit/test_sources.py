"""penguins/sources.py: where the raw CSV comes from (the package's copy or fetch.url), checked by sha256,
bounded in time and size, every download problem one line and nothing half-written kept."""

from __future__ import annotations

import errno
import gzip
import hashlib
import http.server
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from penguins import sources
from penguins.params import FetchParams
from tests.helpers.faults import leftovers, message_of
from tests.helpers.http import serving
from tests.helpers.samples import RAW

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


# ---- bounded downloads, and the download messages -------------------------------------------------------


def download_params(url: str, sha256: str = "0" * 64, max_mb: int = 200) -> FetchParams:
    """fetch.url params for the size and HTTP tests: a time-out (20 s) none of them should reach."""
    return FetchParams(source="url", url=url, sha256=sha256, timeout_s=20, max_mb=max_mb)


def test_an_endless_source_stops_at_max_mb(tmp_path: Path) -> None:
    target = tmp_path / "raw.csv"
    target.write_bytes(b"previous\n")
    start = time.process_time()
    message = message_of(sources.fetch, download_params("file:///dev/zero", max_mb=1), target)
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
    assert message_of(sources.fetch, download_params(server + path), tmp_path / "raw.csv") == (
        f"could not download fetch.url '{server}{path}': {message}"
    )
    assert leftovers(tmp_path) == [] and not (tmp_path / "raw.csv").exists()


def test_a_truncated_download_is_named_truncated(server: str, tmp_path: Path) -> None:
    assert message_of(sources.fetch, download_params(server + "/short"), tmp_path / "raw.csv") == (
        f"the download of fetch.url '{server}/short' was truncated: 10 of the 100 bytes the server announced "
        "(Content-Length); nothing kept: try again, or check the server"
    )
    assert leftovers(tmp_path) == []


def test_a_gzip_encoded_download_is_decoded_and_bounded(server: str, tmp_path: Path) -> None:
    sources.fetch(download_params(server + "/gzip", hashlib.sha256(CSV).hexdigest()), tmp_path / "raw.csv")
    assert (tmp_path / "raw.csv").read_bytes() == CSV  # the file, as sha256sum of the decoded file says
    message = message_of(sources.fetch, download_params(server + "/bomb", max_mb=1), tmp_path / "bomb.csv")
    assert message.startswith(f"fetch.url '{server}/bomb' is larger than fetch.max_mb=1 MB")
    assert not (tmp_path / "bomb.csv").exists()


# ---- a full disk while downloading fetch.url -------------------------------------------------------


class FullDisk(io.RawIOBase):
    name = "/nowhere/.raw.csv.tmp"

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_downloading_is_not_a_network_problem(tmp_path: Path) -> None:
    source = tmp_path / "penguins.csv"
    source.write_text("species\nAdelie\n")
    target = tmp_path / "raw.csv"
    message = message_of(sources.download, source.as_uri(), 5, FullDisk(), target=target)
    assert message.startswith(f"{target}: disk full while writing it (")
    assert message.endswith(f" in {tmp_path}); nothing was replaced: free some space and re-run the stage")
