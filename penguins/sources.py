"""Where the raw data comes from: the CSV shipped in the palmerpenguins package (offline), or a URL with a checksum."""

from __future__ import annotations

import hashlib
import http.client
import threading
import time
import urllib.error
import urllib.request
from importlib import resources
from typing import Any

from penguins.errors import PipelineError
from penguins.params import FetchParams

PACKAGE, PACKAGE_FILE = "palmerpenguins", "data/penguins.csv"


def read_package_csv() -> bytes:
    """The penguins CSV bundled with the palmerpenguins package."""
    try:
        return resources.files(PACKAGE).joinpath(PACKAGE_FILE).read_bytes()
    except ModuleNotFoundError:
        raise PipelineError(f"package {PACKAGE!r} is not installed; run `make install`") from None
    except FileNotFoundError:
        raise PipelineError(f"package {PACKAGE!r} has no {PACKAGE_FILE}; reinstall it from requirements.txt") from None


CHUNK = 1 << 16


def _read_all(url: str, timeout_s: float, deadline: float, received: list[int]) -> bytes:
    """urlopen and read in chunks until the end or the deadline; ``received`` counts the bytes as they come.

    read1 returns as soon as some bytes arrive, so a server that trickles is noticed at the deadline (a plain
    read() waits for the whole body, and the socket timeout only bounds each wait between bytes)."""
    chunks = []
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (schemes checked by download)
        while chunk := response.read1(CHUNK):
            chunks.append(chunk)
            received[0] += len(chunk)
            if time.monotonic() > deadline:
                raise TimeoutError("deadline passed")
    return b"".join(chunks)


def download(url: str, timeout_s: float) -> bytes:
    """The bytes at ``url`` (http(s):// or file://), all of them within ``timeout_s`` seconds, or one line.

    fetch.timeout_s is a deadline for the whole download (name lookup, connection, every byte): the download
    runs in a daemon thread that this thread waits for at most timeout_s. A thread stuck past it (e.g. in a
    name lookup, which no socket timeout bounds) ends with the process, or on its own at its next read."""
    if not url.startswith(("http://", "https://", "file://")):
        raise PipelineError(f"fetch.url {url!r} must start with http://, https:// or file://")
    deadline = time.monotonic() + timeout_s
    outcome: dict[str, Any] = {}
    received = [0]

    def work() -> None:
        try:
            outcome["data"] = _read_all(url, timeout_s, deadline, received)
        except BaseException as exc:  # handed to the waiting thread, which turns it into one line
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="penguins-download", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    error = outcome.get("error")
    if worker.is_alive() or isinstance(error, TimeoutError):
        raise PipelineError(
            f"could not download fetch.url {url!r} within fetch.timeout_s={timeout_s:g} s "
            f"({received[0]} bytes received); check the network or the server, raise fetch.timeout_s, "
            "or set fetch.source: package"
        )
    if isinstance(error, (urllib.error.URLError, http.client.HTTPException, OSError, ValueError)):
        raise PipelineError(failure_message(url, error)) from None
    if error is not None:
        raise error  # a bug, not a download problem: its traceback is wanted
    return outcome["data"]


def failure_message(url: str, exc: BaseException) -> str:
    """One line for a failed download: a local file:// path is not a network problem."""
    reason = getattr(exc, "reason", exc)
    if url.startswith("file://"):
        text = getattr(reason, "strerror", None) or str(reason)
        return f"could not read fetch.url {url!r}: {text}; check the path (a file:// URL is a local file)"
    return f"could not download fetch.url {url!r}: {reason}; check the network or set fetch.source: package"


def verify_sha256(data: bytes, expected: str | None, origin: str) -> None:
    """Raise if ``data`` does not hash to ``expected`` (skipped when expected is None)."""
    if expected is None:
        return
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected.lower():
        raise PipelineError(
            f"{origin}: sha256 mismatch (expected fetch.sha256 {expected}, got {actual}); "
            "the file changed upstream or the param is wrong"
        )


def fetch(params: FetchParams) -> bytes:
    """Return the raw CSV bytes from the configured source, checked against fetch.sha256."""
    if params.source == "package":
        data, origin = read_package_csv(), f"{PACKAGE} package"
    else:
        data, origin = download(params.url, params.timeout_s), params.url
    verify_sha256(data, params.sha256, origin)
    if not data.strip():
        raise PipelineError(f"{origin}: the fetched file is empty")
    return data
