"""validate_params: check every value in params.yaml before any other stage runs.

The first stage of the pipeline (fetch depends on its output), re-run whenever params.yaml changes.
An invalid value (e.g. `dvc exp run -S train.epochs=0`) stops the run here with one line naming
the param, before DVC removes any stage's previous outputs. Its output never changes, so a valid
edit re-runs only the stages that use the edited params.

Input:  params.yaml (all of it)
Output: data/params.ok (constant text)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as `python stages/validate_params.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stages.common import Paths, load_params, run_cli, stage_parser, write_bytes

VALID = b"params.yaml passed validation (stages/common.py: parse_params)\n"


def main(argv: Sequence[str] | None = None) -> None:
    stage_parser(__doc__).parse_args(argv)
    load_params()
    write_bytes(Paths.PARAMS_OK, VALID)


if __name__ == "__main__":
    run_cli(main)
