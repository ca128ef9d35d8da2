"""validate_params: check every value in params.yaml before any other stage runs.

The first stage of the pipeline (fetch depends on its output), re-run whenever params.yaml changes.
An invalid value (e.g. `dvc exp run -S train.epochs=0`) stops the run here with one line naming
the param, before DVC removes any stage's previous outputs. Its output never changes, so a valid
edit re-runs only the stages that use the edited params.

Input:  params.yaml (all of it)
Output: data/params.ok (constant text)
"""

from __future__ import annotations

from collections.abc import Sequence

from penguins.cli import run_cli, stage_parser
from penguins.io import write_bytes
from penguins.params import load_params
from penguins.paths import Paths

VALID = b"params.yaml passed validation (penguins/params.py)\n"


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    load_params()
    write_bytes(Paths.PARAMS_OK, VALID)


if __name__ == "__main__":
    run_cli(main)
