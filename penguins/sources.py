"""Where the raw data comes from: the CSV shipped in the palmerpenguins package (offline), or a URL with a checksum."""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import threading
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any, BinaryIO

from penguins.errors import PipelineError
from penguins.io import atomic_path, disk_full
from penguins.params import MAX_MB_LIMIT, FetchParams

PACKAGE, PACKAGE_FILE = "palmerpenguins", "data/penguins.csv"


def read_package_csv() -> bytes:
    """The penguins CSV bundled with the palmerpenguins package, found without importing the package: its
    __init__ imports pandas (a share of fetch's CPU) for load_penguins, which fetch does not call."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PipelineError(f"package {PACKAGE!r} is not installed; run `make install`")
    try:
        return Path(spec.submodule_search_locations[0], PACKAGE_FILE).read_bytes()
    except FileNotFoundError:
        raise PipelineError(f"package {PACKAGE!r} has no {PACKAGE_FILE}; reinstall it from requirements.txt") from None


CHUNK = 1 << 16
MB = 1_000_000


class TooLarge(Exception):
    """More bytes than fetch.max_mb allows."""


class Truncated(Exception):
    """The connection ended before the Content-Length the server announced (or inside a gzip stream)."""


class Download:
    """Bytes streamed into an open file, hashed as they come and counted against a cap: memory stays at one
    chunk whatever the source sends (an endless one, file:///dev/zero, stops at the cap)."""

    def __init__(self, out: BinaryIO, max_bytes: int) -> None:
        self.out, self.max_bytes = out, max_bytes
        self.hasher = hashlib.sha256()
        self.received = 0  # from the network or file (compressed, if it is)
        self.written = 0  # into the file (decoded)
        self.write_error: OSError | None = None  # writing the file failed (a full disk), not reading the source

    def write(self, data: bytes) -> None:
        self.written += len(data)
        if self.written > self.max_bytes:
            raise TooLarge
        self.hasher.update(data)
        try:
            self.out.write(data)
        except OSError as exc:
            self.write_error = exc
            raise


def _decoder(response: Any) -> Any:
    """A zlib decoder for a gzip Content-Encoding (servers send it unasked), None for none; others refused."""
    encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding != "identity":
        raise ValueError(f"the server sent it with Content-Encoding {encoding!r}, which fetch cannot decode")
    return None


def _read_all(url: str, timeout_s: float, deadline: float, into: Download) -> None:
    """urlopen and stream ``into`` the download in chunks until the end, the deadline or the size cap.

    read1 returns as soon as some bytes arrive, so a server that trickles is noticed at the deadline (a plain
    read() waits for the whole body, and the socket timeout only bounds each wait between bytes)."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (schemes checked by download)
        decoder = _decoder(response)
        announced = response.headers.get("Content-Length") if not url.startswith("file:") else None
        while chunk := response.read1(CHUNK):
            into.received += len(chunk)
            if decoder is None:
                into.write(chunk)
            else:  # decoded at most one byte past the cap at a time: a gzip bomb stops at the cap too
                into.write(decoder.decompress(chunk, into.max_bytes - into.written + 1))
                if decoder.unconsumed_tail:
                    raise TooLarge
            if time.monotonic() > deadline:
                raise TimeoutError("deadline passed")
        if decoder is not None:
            into.write(decoder.flush())
            if not decoder.eof:
                raise Truncated(f"the gzip stream ends early ({into.received} bytes received)")
        if announced is not None and announced.isdigit() and into.received < int(announced):
            raise Truncated(f"{into.received} of the {int(announced)} bytes the server announced (Content-Length)")


def download(url: str, timeout_s: float, out: BinaryIO, max_mb: float = 200, target: Path | None = None) -> Download:
    """Stream the bytes at ``url`` (http(s):// or file://) into ``out``, all of them within ``timeout_s``
    seconds and at most ``max_mb`` MB, or one line; returns what was written (size, sha256).

    fetch.timeout_s is a deadline for the whole download (name lookup, connection, every byte): the download
    runs in a daemon thread that this thread waits for at most timeout_s. A thread stuck past it (e.g. in a
    name lookup, which no socket timeout bounds) ends with the process, or on its own at its next read.
    ``target``: the file ``out`` becomes, named when writing it fails (a full disk)."""
    if not url.startswith(("http://", "https://", "file://")):
        raise PipelineError(f"fetch.url {url!r} must start with http://, https:// or file://")
    deadline = time.monotonic() + timeout_s
    outcome: dict[str, BaseException] = {}
    into = Download(out, int(max_mb * MB))

    def work() -> None:
        try:
            _read_all(url, timeout_s, deadline, into)
        except BaseException as exc:  # handed to the waiting thread, which turns it into one line
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="penguins-download", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    error = outcome.get("error")
    if error is not None and error is into.write_error:  # the disk, not the network
        shown = target or Path(getattr(out, "name", "the fetched file"))
        raise disk_full(shown, error) or PipelineError(
            f"{shown}: cannot write the download of fetch.url {url!r} ({error.strerror or error}); nothing kept: "
            "check the directory's permissions and space, then re-run fetch"
        ) from None
    if worker.is_alive() or isinstance(error, TimeoutError):
        raise PipelineError(
            f"could not download fetch.url {url!r} within fetch.timeout_s={timeout_s:g} s "
            f"({into.received} bytes received); check the network or the server, raise fetch.timeout_s, "
            "or set fetch.source: package"
        )
    if isinstance(error, TooLarge):
        raise PipelineError(
            f"fetch.url {url!r} is larger than fetch.max_mb={max_mb:g} MB (more than {into.max_bytes} bytes; "
            f"nothing kept): check the URL, or raise fetch.max_mb (at most {MAX_MB_LIMIT}) if the file is that big"
        )
    if isinstance(error, (Truncated, http.client.IncompleteRead)):
        detail = str(error) if isinstance(error, Truncated) else f"{into.received} bytes received"
        raise PipelineError(
            f"the download of fetch.url {url!r} was truncated: {detail}; nothing kept: try again, or check the server"
        )
    if isinstance(error, (urllib.error.URLError, http.client.HTTPException, OSError, ValueError)):
        raise PipelineError(failure_message(url, error)) from None
    if error is not None:
        raise error  # a bug, not a download problem: its traceback is wanted
    return into


def failure_message(url: str, exc: BaseException) -> str:
    """One line for a failed download: the HTTP status and what it means, or a local file:// path's problem."""
    if isinstance(exc, urllib.error.HTTPError):
        code = exc.code
        if code in (401, 403):
            hint = "the server refuses access; use a URL that needs no login"
        elif 400 <= code < 500:
            hint = "check the URL (fetch.url): the server has no such file"
        else:
            hint = "the server failed: try again later, or set fetch.source: package"
        return f"could not download fetch.url {url!r}: the server answered HTTP {code} {exc.reason}; {hint}"
    reason = getattr(exc, "reason", exc)
    if url.startswith("file://"):
        text = getattr(reason, "strerror", None) or str(reason)
        return f"could not read fetch.url {url!r}: {text}; check the path (a file:// URL is a local file)"
    if isinstance(exc, ValueError):
        return f"could not download fetch.url {url!r}: {exc}; download it yourself and use a file:// URL"
    return f"could not download fetch.url {url!r}: {reason}; check the network or set fetch.source: package"


def verify_sha256(actual: str, expected: str | None, origin: str) -> None:
    """Raise if the sha256 ``actual`` (hex) is not ``expected`` (skipped when expected is None)."""
    if expected is None:
        return
    if actual != expected.lower():
        raise PipelineError(
            f"{origin}: sha256 mismatch (expected fetch.sha256 {expected}, got {actual}); "
            "the file changed upstream or the param is wrong"
        )


def fetch(params: FetchParams, path: Path) -> None:
    """Write the raw CSV from the configured source to ``path``, checked against fetch.sha256; nothing is
    written unless every check passes (streamed into a temporary file beside it, renamed at the end)."""
    with atomic_path(path) as tmp, tmp.open("wb") as out:
        if params.source == "package":
            data, origin = read_package_csv(), f"{PACKAGE} package"
            out.write(data)
            digest, size = hashlib.sha256(data).hexdigest(), len(data)
        else:
            got, origin = download(params.url, params.timeout_s, out, params.max_mb, path), params.url
            digest, size = got.hasher.hexdigest(), got.written
        out.flush()
        verify_sha256(digest, params.sha256, origin)
        if size < CHUNK and not tmp.read_bytes().strip():
            raise PipelineError(f"{origin}: the fetched file is empty")
