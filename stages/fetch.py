"""fetch: copy the raw Palmer penguins CSV into data/raw/penguins.csv.

Sources (params.yaml, section fetch):
  source: package   the CSV shipped inside the `palmerpenguins` package (offline, the default)
  source: url       download `url` (http(s):// or file://, within timeout_s) and require its `sha256`
If `sha256` is set it is checked for either source. On any failure the previous
data/raw/penguins.csv is left untouched.

Output: data/raw/penguins.csv (bytes exactly as published)
Params: fetch.*
"""

from __future__ import annotations

from collections.abc import Sequence

from penguins.cli import run_cli, stage_parser
from penguins.io import write_bytes
from penguins.params import load_params
from penguins.paths import Paths
from penguins.sources import fetch


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    write_bytes(Paths.RAW, fetch(load_params().fetch))


if __name__ == "__main__":
    run_cli(main)
