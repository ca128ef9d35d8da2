"""sweep: one experiment grid over many machines (CI runners, a SLURM job array), one `dvc exp show`.

`dvc queue` runs experiments on one machine. A sweep here is plain git + a DVC remote instead: every
worker is a clone of the repository that runs its share of the grid with `dvc exp run --pull
--allow-missing -S ...` and pushes each finished experiment (what `dvc exp push --run-cache` sends:
DVC outputs, run-cache, git ref); any clone then fetches them all and compares them.

  python -m tools.sweep plan    -S GRID [-S GRID ...] [--name NAME] [--shards N] [--json]
  python -m tools.sweep worker  -S GRID [-S GRID ...] [--name NAME] --shard I/N [-j K] [--target STAGE]
  python -m tools.sweep collect -S GRID [-S GRID ...] [--name NAME] [--metric M] [--over KEY] [--md]
                                [--apply | --branch BRANCH]

GRID is `dvc exp run -S` syntax, Hydra's override grammar parsed by hydra-core as DVC does:
'train.seed=0,1,2', 'train.seed=range(5)', 'train.learning_rate=choice(0.001,0.01)'; several -S make
a product. Every experiment is checked like the validate_params stage does before anything runs, and
is named after the sweep and its param values (NAME-<10 hex digits>), so running it again is a no-op.
The experiments, sorted by name, are dealt round-robin to N shards.

plan     print every experiment, its shard and its overrides (--json for programs).
worker   run shard I of N (counted from 0) in this clone, -j K at a time (`dvc exp run --temp`), and
         push each finished experiment: data and run-cache to the default DVC remote, then its ref
         (refs/exps/...) to --git-remote (default origin).
         Experiments already on the git remote are skipped; one that finished here but was not pushed
         is pushed without running again. Runs the stages up to --target (default evaluate: the
         validation and test metrics, no pictures). Each experiment's log: .dvc/tmp/sweep/NAME.log.
collect  fetch the sweep's experiments (git refs only, no data), print the comparison, and name the
         best by a validation metric (--metric, default eval.accuracy; ties by --tiebreak).
         Metrics of the stages that read the test split are shown, marked (test), and can never pick
         the best. --over train.seed also ranks the settings (experiments that differ only in that
         key) by their mean. --apply brings the best into the workspace and completes its pipeline
         (`dvc repro --pull`: pictures for the best only); --branch NAME keeps it as a git branch.
         Exit status 1 if a planned experiment is not on the remote (after printing what is).

Workers and collect must use the same commit (the experiments' baseline), GRID, NAME and --target.
See docs/sweeps.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from penguins.cli import run_cli, stage_parser
from penguins.errors import PipelineError
from tools.repo.run import kill_running
from tools.sweep.collect import DEFAULT_METRIC, DEFAULT_SHOW, DEFAULT_TIEBREAK, collect, render
from tools.sweep.grid import Experiment, parse_shard, plan_sweep, shard_index
from tools.sweep.refs import read_params
from tools.sweep.worker import worker

DEFAULT_NAME = "sweep"
DEFAULT_TARGET = "evaluate"  # validation (train) and test (evaluate) metrics; pictures only for the best


def add_grid_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-S", "--set-param", dest="grid", action="append", default=[], metavar="KEY=VALUES", help="a grid axis"
    )
    parser.add_argument(
        "--name", default=DEFAULT_NAME, help=f"sweep name, its experiments' prefix (default {DEFAULT_NAME})"
    )
    parser.add_argument("--repo", type=Path, default=Path(), help="the clone to work in (default: here)")


def build_parser() -> argparse.ArgumentParser:
    parser = stage_parser(__doc__, prog="python -m tools.sweep")
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="print the experiments and their shards; refuse bad values")
    add_grid_options(plan)
    plan.add_argument("--shards", type=int, default=1, help="number of shards (default 1)")
    plan.add_argument("--json", action="store_true", help="JSON for programs")
    run = commands.add_parser("worker", help="run and push one shard's experiments")
    add_grid_options(run)
    run.add_argument("--shard", required=True, help="I/N: shard I of N, counted from 0")
    run.add_argument("-j", "--jobs", type=int, default=1, help="experiments at a time (default 1)")
    run.add_argument("--target", default=DEFAULT_TARGET, help=f"last stage to run (default {DEFAULT_TARGET})")
    run.add_argument("--git-remote", default="origin", help="git remote for the experiments (default origin)")
    show = commands.add_parser("collect", help="pull the sweep's experiments, compare them, name the best")
    add_grid_options(show)
    show.add_argument("--git-remote", default="origin", help="git remote the workers pushed to (default origin)")
    show.add_argument("--target", default=DEFAULT_TARGET, help=f"the workers' --target (default {DEFAULT_TARGET})")
    show.add_argument(
        "--metric", default=DEFAULT_METRIC, help=f"validation metric that picks (default {DEFAULT_METRIC})"
    )
    show.add_argument("--tiebreak", default=DEFAULT_TIEBREAK, help=f"for ties (default {DEFAULT_TIEBREAK}; '' none)")
    show.add_argument("--show", default=",".join(DEFAULT_SHOW), help="other metrics to show, comma-separated")
    show.add_argument("--over", metavar="KEY", help="also rank settings by their mean over this key (e.g. train.seed)")
    show.add_argument("--md", action="store_true", help="Markdown (for a CI job summary)")
    best = show.add_mutually_exclusive_group()
    best.add_argument("--apply", action="store_true", help="dvc exp apply the best, then dvc repro --pull")
    best.add_argument("--branch", metavar="BRANCH", help="dvc exp branch the best into BRANCH")
    return parser


def print_plan(experiments: Sequence[Experiment], sweep: str, shards: int, as_json: bool) -> None:
    index = shard_index(experiments, shards)
    if as_json:
        listed = [{"name": e.name, "shard": index[e.name], "overrides": list(e.overrides)} for e in experiments]
        print(json.dumps({"sweep": sweep, "shards": list(range(shards)), "experiments": listed}, indent=1))
        return
    print(f"sweep '{sweep}': {len(experiments)} experiments in {shards} shard(s)")
    ordered = sorted(experiments, key=lambda e: (index[e.name], e.name))
    print(
        render(
            ["shard", "experiment", "overrides"],
            [[f"{index[e.name]}/{shards}", e.name, e.describe()] for e in ordered],
        )
    )


def stop_worker(signum: int, _frame: Any) -> None:
    """The worker's SIGTERM handler: stop the running commands too, then exit."""
    kill_running()
    print(f"error: stopped by signal {signum}; run the worker again to finish its shard", file=sys.stderr)
    os._exit(128 + signum)


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    repo = args.repo.resolve()
    if args.command == "plan":
        if args.shards < 1:
            raise PipelineError(f"--shards {args.shards}: need at least 1")
        print_plan(plan_sweep(read_params(repo), args.grid, args.name), args.name, args.shards, args.json)
    elif args.command == "worker":
        signal.signal(signal.SIGTERM, stop_worker)  # scancel, a cancelled CI job: the dvc commands stop with us
        shard = parse_shard(args.shard)
        outcomes = worker(
            repo, args.grid, args.name, shard=shard, jobs=args.jobs, target=args.target, git_remote=args.git_remote
        )
        counts = {
            status: sum(o.status == status for o in outcomes) for status in ("ran", "pushed", "skipped", "failed")
        }
        print("done: " + ", ".join(f"{n} {status}" for status, n in counts.items()), flush=True)
        failed = [o for o in outcomes if o.status == "failed"]
        if failed:
            first = failed[0].detail
            raise PipelineError(
                f"{len(failed)} of {len(outcomes)} failed, first: {first}; run the worker again to retry"
            )
    else:
        show = [name for name in args.show.split(",") if name]
        collect(
            repo, args.grid, args.name, git_remote=args.git_remote, target=args.target, metric=args.metric,
            tiebreak=args.tiebreak or None,
            show=show, over=args.over, markdown=args.md, apply=args.apply, branch=args.branch,
        )  # fmt: skip


if __name__ == "__main__":
    run_cli(main)
