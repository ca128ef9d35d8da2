"""The command-line shell of every stage and tool: --help from the module docstring, one-line errors."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from penguins.errors import PipelineError
from penguins.internals import exit_without_teardown
from penguins.paths import remove_stale_temporaries


class CliParser(argparse.ArgumentParser):
    """argparse whose usage errors are PipelineErrors: one `error: ...` line and exit status 1, like every other."""

    def error(self, message: str) -> NoReturn:
        raise PipelineError(f"{message} (see --help)")


def stage_parser(module_doc: str | None, **kwargs: Any) -> CliParser:
    """A parser whose --help shows the module's docstring (inputs, outputs, params); kwargs go to argparse."""
    doc = (module_doc or "").strip()
    summary, _, details = doc.partition("\n")
    script = Path(sys.argv[0])
    if script.suffix == ".py" and script.parent.name in ("stages", "tools", "penguins"):
        kwargs.setdefault("prog", f"python -m {script.parent.name}.{script.stem}")  # usage: python -m stages.train
    return CliParser(
        description=summary,
        epilog=details.strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )


def run_cli(
    main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None, *, teardown: bool = True
) -> None:
    """Run a stage's main(); a PipelineError becomes one line on stderr and exit status 1. Under DVC (DVC_STAGE
    set), params.yaml is checked again when main() returns (penguins.guards.recheck_params): changed meanwhile,
    the stage fails and DVC records none of its outputs.

    First, the temporaries that killed writers left beside the pipeline's outputs are removed (a stage killed
    while saving its model leaves models/.model.keras.<pid>.<random>.keras; nothing else ever removes it).
    teardown=False: when main() succeeds, the process ends at once (penguins.internals.exit_without_teardown)."""
    try:
        remove_stale_temporaries()
        main(argv)
        if "DVC_STAGE" in os.environ:  # run by dvc repro: params.yaml must still be what the outputs were made with
            from penguins.guards import recheck_params  # only stages (under DVC) need it

            recheck_params()
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    if not teardown:
        exit_without_teardown()


def run_stage(main: Callable[[Sequence[str] | None], None]) -> None:
    """Every stage's entry point: run_cli without the interpreter's teardown. A stage's process ends with its
    outputs written and renamed into place; freeing the modules it imported one by one (pandas, scikit-learn,
    matplotlib, TensorFlow) writes nothing and is CPU spent for nothing (docs/benchmarks.md)."""
    run_cli(main, teardown=False)
