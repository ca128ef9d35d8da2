"""exp_show: a compact `dvc exp show` that never dresses a failed or unfinished experiment as a result.

    python -m tools.exp_show [DVC_EXP_SHOW_ARGS...]      (or: make exp-show ARGS=--md)

Keeps test accuracy, macro F1 and loss, the validation accuracy DVCLive logged at the last epoch (eval.accuracy)
and the parameter count, plus only the params that differ; other arguments (--md, --csv, --sort-by ...) go to
`dvc exp show`.

A queued experiment that failed (or has not run yet) has no results of its own, but `dvc exp show` lists it with
the metrics of the commit it started from, its baseline's; without the State column that reads as a result.
So failed and queued experiments are left out of the table (`--hide-failed --hide-queued`) and named after it
on stderr, with the command that says why.

While an experiment runs, `dvc exp show` would give its row the test metrics (accuracy, f1_macro, loss) of files
the run has not rewritten yet: another experiment's. So then this draws the table itself from
`dvc exp show --json`: the Running row shows only what DVCLive logged so far (epochs, eval.accuracy), its test
metrics stay empty; --md and --csv work, other arguments wait until nothing runs. DVCLive's file, too, is the
previous run's until the train stage starts (DVC removes dvclive/ then): its values are shown only when the file
was written after the run's stages started (DVC's executor info, tools/repo/internals.py; `dvc exp show --json`
gives where it runs, executor.local.root); before that the row is blank, with a note that no epoch is logged yet.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from penguins.cli import run_cli
from penguins.errors import PipelineError
from penguins.metric_names import ACCURACY, LOSS, TEST_METRICS, VAL_ACCURACY
from penguins.paths import Paths
from tools.repo.internals import exp_stages_started
from tools.repo.output import last_error
from tools.repo.pipeline import flatten
from tools.repo.run import BIN, ENV, dvc

# Columns: the metrics that matter and the params that differ; eval.accuracy is DVCLive's last-epoch accuracy on
# the validation rows (what to choose a setting by).
SHOWN = (*TEST_METRICS, VAL_ACCURACY)  # the metrics that matter, in the tables' order
DROP = (
    rf"^(per_class|train\.{LOSS}|train\.{ACCURACY}|eval\.{LOSS}|step$|n_test$|Executor$|"
    r"data/|models/|plots/|stages/|penguins/|dvclive)"
)
KEEP = rf"^(Experiment|Created|{'|'.join(map(re.escape, SHOWN))}|trainable_params)$"
STATE = "|State$"  # dropped too: the State column only matters while an experiment runs (running_table)


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


def show_command(args: Sequence[str]) -> list[str]:
    """`dvc exp show` when nothing runs (a running experiment's table is drawn by running_table)."""
    drop = DROP[:-1] + STATE + ")"
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
            f"exp-show: {len(running)} experiment(s) still running, shown with DVCLive's epochs so far and no test "
            f"metrics yet: {', '.join(running)} (`dvc queue status`)"
        )
    if waiting := states.get("no epoch yet"):
        lines.append(
            f"exp-show: training has not logged an epoch yet (its row is blank until it does): {', '.join(waiting)}"
        )
    return lines


# The running table: test metrics come from evaluate (rewritten only when the run ends), the rest from DVCLive
# (rewritten every epoch).
TEST_FILE = (Paths.METRICS.as_posix(), TEST_METRICS)
LIVE_METRICS = (f"{Paths.LIVE.as_posix()}/metrics.json", (VAL_ACCURACY, "step", "trainable_params"))


def is_current(logged_at: float | None, started_at: float | None) -> bool:
    """Whether DVCLive's metrics file, last written at ``logged_at`` (its mtime), belongs to the run whose stages
    started at ``started_at`` (both seconds since the epoch; None: unknown). Only a file written after the start
    is the run's own: an older one is the previous run's, left until the train stage removes dvclive/ (or put
    back by `dvc exp run` itself as it sets the run's files up, before its first stage)."""
    return logged_at is not None and started_at is not None and logged_at > started_at


def live_metrics(
    executor: Mapping[str, Any] | None, rev: Any = None, repo: Path | None = None
) -> dict[str, Any] | None:
    """DVCLive's values so far (the LIVE_METRICS keys, flattened) for a running experiment, read from where it runs
    (`dvc exp show --json`'s executor.local.root), or None when they are not the run's own: the file is missing,
    half-written, or not newer than the start of the run's stages (internals.exp_stages_started, from DVC's
    executor info in ``repo``, the current directory by default; ``rev``: the experiment's revs[0].rev), so another
    run's. Its mtime is taken from the open file, so the values read are that file's, never a newer one swapped in
    between."""
    executor = executor or {}
    root = (executor.get("local") or {}).get("root")
    started = exp_stages_started(repo or Path.cwd(), executor.get("name"), str(rev) if rev else None)
    if not root or started is None:
        return None
    for attempt in range(3):  # DVCLive rewrites the file in place each epoch: one read may catch it half-written
        if attempt:
            time.sleep(0.05)
        try:
            with (Path(root) / LIVE_METRICS[0]).open(encoding="utf-8") as handle:
                logged_at = os.fstat(handle.fileno()).st_mtime
                text = handle.read()
        except OSError:
            return None
        if not is_current(logged_at, started):
            return None
        try:
            found = flatten(json.loads(text))
        except (ValueError, TypeError, AttributeError):
            continue
        return {key: found[key] for key in LIVE_METRICS[1] if key in found}
    return None


def row_values(rev: Mapping[str, Any], running: bool, live: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One row's metrics (flattened) and params.yaml values; a running row gets no test metrics, and, from
    ``live`` (live_metrics: None when DVCLive has logged nothing of this run yet), "epochs" (DVCLive's step + 1)
    instead of "step". A file DVC could not read (DVCLive mid-write) gives nothing."""
    data = rev.get("data") or {}
    metrics = data.get("metrics") or {}
    values: dict[str, Any] = {}
    if running:
        values.update(live or {})
    else:
        for path, keys in (TEST_FILE, LIVE_METRICS):
            found = flatten((metrics.get(path) or {}).get("data") or {})
            values.update({key: found[key] for key in keys if key in found})
    if "step" in values:
        step = values.pop("step")
        if running and isinstance(step, int):
            values["epochs"] = step + 1
    params = flatten(((data.get("params") or {}).get("params.yaml") or {}).get("data") or {})
    values.update({f"params:{key}": value for key, value in params.items()})
    return values


def short(rev: Any) -> str:
    """A commit as `dvc exp show` names it (7 hex digits); "workspace" as it is."""
    rev = str(rev or "?")
    return rev if rev == "workspace" else rev[:7]


@dataclass(frozen=True)
class Row:
    """One row of the running table, with the columns `dvc exp show --csv` has (Experiment, rev, typ, Created)."""

    name: str  # the experiment's name; "" for a baseline, as DVC's CSV
    rev: str  # "workspace", a branch name, or 7 hex digits
    typ: str  # baseline, branch_commit or branch_base (the last experiment of a baseline), as DVC's CSV
    created: str  # ISO time, or ""
    state: str  # Running, or "-"
    values: dict[str, Any]

    @property
    def label(self) -> str:
        """The Experiment cell of the drawn table, as `dvc exp show` draws it."""
        if self.typ == "baseline":
            return self.rev
        return f"{'└──' if self.typ == 'branch_base' else '├──'} {self.rev} [{self.name}]"


def live_rev(exp: Mapping[str, Any]) -> Any:
    """An experiment's first rev in `dvc exp show --json` (for a queued run, its stash commit)."""
    return ((exp.get("revs") or [{}])[0] or {}).get("rev")


def running_rows(shown: Iterable[Mapping[str, Any]]) -> list[Row]:
    """The rows `dvc exp show --hide-failed --hide-queued` lists. The workspace row is blank too while an
    experiment runs in the workspace: its files are that run's (so it shows that run's DVCLive values, if any)."""
    shown = list(shown)
    in_workspace = [
        exp
        for baseline in shown
        for exp in baseline.get("experiments") or []
        if (exp.get("executor") or {}).get("state") == "running"
        and (exp.get("executor") or {}).get("name") == "workspace"
    ]
    rows = []
    for baseline in shown:
        name = baseline.get("name") or short(baseline.get("rev"))
        stamp = str((baseline.get("data") or {}).get("timestamp") or "")
        blank = name == "workspace" and bool(in_workspace)
        live = live_metrics(in_workspace[0].get("executor"), live_rev(in_workspace[0])) if blank else None
        rows.append(Row("", name, "baseline", stamp, "-", row_values(baseline, running=blank, live=live)))
        experiments = [
            exp
            for exp in baseline.get("experiments") or []
            if ((exp.get("executor") or {}).get("state") or "success") in ("success", "running")
        ]
        for i, exp in enumerate(experiments):
            rev = (exp.get("revs") or [{}])[0]
            state = "Running" if (exp.get("executor") or {}).get("state") == "running" else "-"
            typ = "branch_base" if i == len(experiments) - 1 else "branch_commit"
            created = str((rev.get("data") or {}).get("timestamp") or "")
            live = live_metrics(exp.get("executor"), rev.get("rev")) if state == "Running" else None
            values = row_values(rev, running=state == "Running", live=live)
            rows.append(
                Row(exp.get("name") or rev.get("name") or "", short(rev.get("rev")), typ, created, state, values)
            )
    return rows


def no_epoch_yet(rows: Iterable[Row]) -> list[str]:
    """The running experiments whose DVCLive has logged no epoch of their own yet (their rows are blank)."""
    return [row.name or row.rev for row in rows if row.state == "Running" and "epochs" not in row.values]


def running_table(shown: Iterable[Mapping[str, Any]], args: Sequence[str], rows: list[Row] | None = None) -> str:
    """The table while an experiment runs: the KEEP metrics, epochs so far, and the params that differ (``rows``:
    running_rows(shown), if already made). --csv has DVC's own first columns (Experiment, rev, typ, Created) and
    full-precision values. The epochs and eval.accuracy columns are always there, blank until DVCLive logs."""
    from tabulate import tabulate

    rows = running_rows(shown) if rows is None else rows
    metrics = [*SHOWN, "epochs", "trainable_params"]
    live = (VAL_ACCURACY, "epochs")
    metrics = [m for m in metrics if m in live or any(m in row.values for row in rows)]
    params = list(dict.fromkeys(k for row in rows for k in row.values if k.startswith("params:")))
    changed = [p for p in params if len({json.dumps(row.values.get(p)) for row in rows}) > 1]
    columns = [*metrics, *(p.removeprefix("params:") for p in changed)]
    keys = [*metrics, *changed]
    if "--csv" in args:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["Experiment", "rev", "typ", "Created", "State", *columns])
        for row in rows:
            cells = [cell(row.values.get(key), exact=True) for key in keys]
            writer.writerow([row.name, row.rev, row.typ, row.created, row.state, *cells])
        return out.getvalue()
    body = [[row.label, row.created[11:16] or "-", row.state, *(cell(row.values.get(k)) for k in keys)] for row in rows]
    fmt = "github" if "--md" in args else "simple"
    return tabulate(body, ["Experiment", "Created", "State", *columns], tablefmt=fmt, disable_numparse=True) + "\n"


def cell(value: Any, exact: bool = False) -> str:
    """A value as table text: nothing for a missing one, floats to 5 significant digits unless exact."""
    if value is None:
        return ""
    if isinstance(value, float) and not exact:
        return f"{value:.5g}"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return
    listed = dvc("exp", "show", "--json", cwd=Path.cwd(), check=False)
    if listed.returncode != 0:
        raise PipelineError(f"dvc exp show --json failed: {last_error(listed.stderr + listed.stdout, repo=Path.cwd())}")
    shown = json.loads(listed.stdout or "[]")
    states = unfinished(shown)
    if states.get("running"):
        rows = running_rows(shown)
        states = {**states, "no epoch yet": no_epoch_yet(rows)}
        sys.stdout.write(running_table(shown, args, rows))
        if ignored := [a for a in args if a not in ("--md", "--csv")]:
            print(f"exp-show: ignored while an experiment runs: {' '.join(ignored)}", file=sys.stderr)
        code = 0
    else:
        code = subprocess.run(show_command(args), env=ENV, check=False).returncode
    for line in notes(states):
        print(line, file=sys.stderr)
    if code != 0:
        raise PipelineError(f"dvc exp show exited with status {code} (its output is above)")


if __name__ == "__main__":
    run_cli(main)
