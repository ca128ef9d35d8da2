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
metrics stay empty; --md and --csv work, other arguments wait until nothing runs.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from penguins.cli import run_cli
from penguins.errors import PipelineError
from tools.repo.pipeline import flatten
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
            f"exp-show: {len(running)} experiment(s) still running, shown with DVCLive's epochs so far and no test "
            f"metrics yet: {', '.join(running)} (`dvc queue status`)"
        )
    return lines


# The running table: test metrics come from evaluate (rewritten only when the run ends), the rest from DVCLive
# (rewritten every epoch).
TEST_METRICS = ("metrics/metrics.json", ("accuracy", "f1_macro", "loss"))
LIVE_METRICS = ("dvclive/metrics.json", ("eval.accuracy", "step", "trainable_params"))


def row_values(rev: Mapping[str, Any], running: bool) -> dict[str, Any]:
    """One row's metrics (flattened) and params.yaml values; a running row gets no test metrics, and "epochs"
    (DVCLive's step + 1) instead of "step". A file DVC could not read (DVCLive mid-write) gives nothing."""
    data = rev.get("data") or {}
    metrics = data.get("metrics") or {}
    values: dict[str, Any] = {}
    for (path, keys), wanted in ((TEST_METRICS, not running), (LIVE_METRICS, True)):
        found = flatten((metrics.get(path) or {}).get("data") or {})
        values.update({key: found[key] for key in keys if wanted and key in found})
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


def running_rows(shown: Iterable[Mapping[str, Any]]) -> list[Row]:
    """The rows `dvc exp show --hide-failed --hide-queued` lists. The workspace row is blank too while an
    experiment runs in the workspace: its files are that run's."""
    shown = list(shown)
    in_workspace = any(
        (exp.get("executor") or {}).get("state") == "running" and (exp.get("executor") or {}).get("name") == "workspace"
        for baseline in shown
        for exp in baseline.get("experiments") or []
    )
    rows = []
    for baseline in shown:
        name = baseline.get("name") or short(baseline.get("rev"))
        stamp = str((baseline.get("data") or {}).get("timestamp") or "")
        blank = name == "workspace" and in_workspace
        rows.append(Row("", name, "baseline", stamp, "-", row_values(baseline, running=blank)))
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
            values = row_values(rev, running=state == "Running")
            rows.append(
                Row(exp.get("name") or rev.get("name") or "", short(rev.get("rev")), typ, created, state, values)
            )
    return rows


def running_table(shown: Iterable[Mapping[str, Any]], args: Sequence[str]) -> str:
    """The table while an experiment runs: the KEEP metrics, epochs so far, and the params that differ.
    --csv has DVC's own first columns (Experiment, rev, typ, Created) and full-precision values."""
    from tabulate import tabulate

    rows = running_rows(shown)
    metrics = ["accuracy", "f1_macro", "loss", "eval.accuracy", "epochs", "trainable_params"]
    metrics = [m for m in metrics if any(m in row.values for row in rows)]
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
        raise PipelineError(f"dvc exp show --json failed: {last_error(listed.stderr + listed.stdout)}")
    shown = json.loads(listed.stdout or "[]")
    states = unfinished(shown)
    if states.get("running"):
        sys.stdout.write(running_table(shown, args))
        if ignored := [a for a in args if a not in ("--md", "--csv")]:
            print(f"exp-show: ignored while an experiment runs: {' '.join(ignored)}", file=sys.stderr)
        code = 0
    else:
        code = subprocess.run(show_command(states, args), env=ENV, check=False).returncode
    for line in notes(states):
        print(line, file=sys.stderr)
    if code != 0:
        raise PipelineError(f"dvc exp show exited with status {code} (its output is above)")


if __name__ == "__main__":
    run_cli(main)
