"""Where the raw data comes from: the CSV shipped in the palmerpenguins package (offline), or a URL with a checksum."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from importlib import resources

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


def download(url: str, timeout_s: float) -> bytes:
    """The bytes at ``url`` (http(s):// or file://); any failure within ``timeout_s`` is one line."""
    if not url.startswith(("http://", "https://", "file://")):
        raise PipelineError(f"fetch.url {url!r} must start with http://, https:// or file://")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (schemes checked above)
            return response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PipelineError(
            f"could not download fetch.url {url!r}: {reason}; check the network or set fetch.source: package"
        ) from None


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
