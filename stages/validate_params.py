"""validate_params: check every value in params.yaml before any other stage runs.

The first stage of the pipeline (fetch depends on its output), re-run whenever params.yaml changes.
An invalid value (e.g. `dvc exp run -S train.epochs=0`) stops the run here with one line naming
the param, before DVC removes any stage's previous outputs. Its output never changes, so a valid
edit re-runs only the stages that use the edited params.

--check checks without writing anything: `make run` and `python tasks.py run` do it before `dvc repro`,
because DVC reads params.yaml itself before any stage runs (for dvc.yaml's templating): it expands YAML
aliases (a few nested ones grow to gigabytes) and says "failed to parse 'vars'" for a list. This stage
refuses both in one line.

Input:  params.yaml (all of it)
Output: data/params.ok (constant text)
"""

from __future__ import annotations

from collections.abc import Sequence

from penguins.cli import run_stage, stage_parser
from penguins.io import write_bytes
from penguins.params import load_params
from penguins.paths import Paths

VALID = b"params.yaml passed validation (penguins/params.py)\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--check", action="store_true", help="check params.yaml only; write nothing")
    args = parser.parse_args(argv)
    load_params(checked=False)  # this stage is the check
    if not args.check:
        write_bytes(Paths.PARAMS_OK, VALID)


if __name__ == "__main__":
    run_stage(main)
