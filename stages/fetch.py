"""fetch: copy the raw Palmer penguins CSV into data/raw/penguins.csv.

Sources (params.yaml, section fetch):
  source: package   the CSV shipped inside the `palmerpenguins` package (offline, the default)
  source: url       download `url` (http(s):// or file://) and require its `sha256`
If `sha256` is set it is checked for either source. On any failure the previous
data/raw/penguins.csv is left untouched.

Output: data/raw/penguins.csv (bytes exactly as published).
"""

from __future__ import annotations

import hashlib
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

if __package__ in (None, ""):  # run as `python stages/fetch.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stages.common import FetchParams, Paths, PipelineError, load_params, run_cli, stage_parser, write_bytes

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
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (url is a user param)
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


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    params = load_params()
    write_bytes(Paths.RAW, fetch(params.fetch))


if __name__ == "__main__":
    run_cli(main)
