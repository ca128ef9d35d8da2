"""exp_show: a compact `dvc exp show` that never dresses a failed or unfinished experiment as a result.

    python -m tools.exp_show [DVC_EXP_SHOW_ARGS...]      (or: make exp-show ARGS=--md)

Keeps test accuracy, macro F1 and loss, the validation accuracy DVCLive logged at the last epoch (eval.accuracy)
and the parameter count, plus only the params that differ; other arguments (--md, --csv, --sort-by ...) go to
`dvc exp show`.

A queued experiment that failed (or has not run yet) has no results of its own, but `dvc exp show` lists it with
the metrics of the commit it started from, its baseline's; without the State column that reads as a result.
So failed and queued experiments are left out of the table (`--hide-failed --hide-queued`) and named after it
on stderr, with the command that says why. A running experiment's metrics are those of the epochs so far: while
one runs, the table keeps its State column, so the row says Running.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from penguins.cli import run_cli
from penguins.errors import PipelineError
from tools.repo.run import BIN, ENV, dvc, last_error

# Columns: the metrics that matter and the params that differ; eval.accuracy is DVCLive's last-epoch accuracy on
# the validation rows (what to choose a setting by).
DROP = (
    r"^(per_class|train\.loss|train\.accuracy|eval\.loss|step$|n_test$|Executor$|"
    r"data/|models/|plots/|stages/|penguins/|dvclive)"
)
KEEP = r"^(Experiment|Created|accuracy|f1_macro|loss|eval\.accuracy|trainable_params)$"
STATE = "|State$"  # dropped too, unless an experiment is running


def unfinished(shown: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """{"failed"|"queued"|"running": [experiment names]} from `dvc exp show --json` (DVC's executor state;
    an experiment that finished has none, or "success")."""
    found: dict[str, list[str]] = {}
    for baseline in shown:
        for exp in baseline.get("experiments") or []:
            state = (exp.get("executor") or {}).get("state") or "success"
            if state != "success":
                revs = exp.get("revs") or [{}]
                name = exp.get("name") or revs[0].get("name") or str(revs[0].get("rev", "?"))[:7]
                found.setdefault(state, []).append(name)
    return found


def show_command(states: Mapping[str, Sequence[str]], args: Sequence[str]) -> list[str]:
    drop = DROP if states.get("running") else DROP[:-1] + STATE + ")"
    return [str(BIN / "dvc"), "exp", "show", "--no-pager", "--only-changed", "--hide-failed", "--hide-queued",
            "--drop", drop, "--keep", KEEP, *args]  # fmt: skip


def notes(states: Mapping[str, Sequence[str]]) -> list[str]:
    """What the table leaves out or shows unfinished, one line each."""
    lines = []
    if failed := states.get("failed"):
        lines.append(
            f"exp-show: left out {len(failed)} failed experiment(s), which have no results of their own: "
            f"{', '.join(failed)} (why: `dvc queue logs {failed[0]}`; `dvc queue remove --failed` forgets them)"
        )
    if queued := states.get("queued"):
        lines.append(
            f"exp-show: left out {len(queued)} queued experiment(s), not run yet: {', '.join(queued)} "
            "(`dvc queue start` runs them)"
        )
    if running := states.get("running"):
        lines.append(
            f"exp-show: {len(running)} experiment(s) still running, their metrics are the epochs so far: "
            f"{', '.join(running)} (`dvc queue status`)"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return
    listed = dvc("exp", "show", "--json", cwd=Path.cwd(), check=False)
    if listed.returncode != 0:
        raise PipelineError(f"dvc exp show --json failed: {last_error(listed.stderr + listed.stdout)}")
    states = unfinished(json.loads(listed.stdout or "[]"))
    code = subprocess.run(show_command(states, args), env=ENV, check=False).returncode
    for line in notes(states):
        print(line, file=sys.stderr)
    if code != 0:
        raise PipelineError(f"dvc exp show exited with status {code} (its output is above)")


if __name__ == "__main__":
    run_cli(main)
