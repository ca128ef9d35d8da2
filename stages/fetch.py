"""fetch: copy the raw Palmer penguins CSV into data/raw/penguins.csv.

Sources (params.yaml, section fetch):
  source: package   the CSV shipped inside the `palmerpenguins` package (offline, the default)
  source: url       download `url` (http(s):// or file:///absolute/path) and require its `sha256`; the
                    whole download must finish within timeout_s seconds and be at most max_mb MB
                    (streamed to disk, hashed as it comes; a gzip Content-Encoding is decoded)
If `sha256` is set it is checked for either source. A failed fetch writes nothing, but `dvc repro`
has already deleted the previous data/raw/penguins.csv before running this stage, as it does for every
stage's outputs; it stays in DVC's cache, and `dvc checkout data/raw/penguins.csv` brings it back.
(It is not declared `persist: true` in dvc.yaml: DVC keeps no run-cache record of such a stage.)

Output: data/raw/penguins.csv (bytes exactly as published)
Params: fetch.*
"""

from __future__ import annotations

from collections.abc import Sequence

from penguins.cli import run_stage, stage_parser
from penguins.params import load_params
from penguins.paths import Paths
from penguins.sources import fetch


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    fetch(load_params().fetch, Paths.RAW)


if __name__ == "__main__":
    run_stage(main)
