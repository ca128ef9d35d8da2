"""Collect a sweep: fetch its experiments' refs, compare them in one table, name the best by a validation
metric (never a test-set one), and apply or branch it on request."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from penguins.errors import PipelineError
from penguins.metric_names import TEST_METRICS, VAL_ACCURACY, VAL_LOSS
from penguins.paths import PARAMS_FILE, Paths
from penguins.text_table import render
from tools.repo import pipeline
from tools.repo.output import last_error
from tools.repo.pipeline import flatten
from tools.repo.run import run
from tools.sweep.grid import Experiment, grid_keys, plan_sweep
from tools.sweep.refs import (
    baseline_of,
    dvc_cmd,
    exp_ref_prefix,
    git,
    outputs_not_run,
    read_params,
    read_pipeline,
    remote_experiments,
)
from tools.sweep.worker import transfer_data

DEFAULT_METRIC = VAL_ACCURACY  # dvclive/metrics.json: accuracy on the validation rows at the last epoch
DEFAULT_TIEBREAK = VAL_LOSS  # validation accuracy on few rows moves in steps of 1/rows: ties are common
DEFAULT_SHOW = (*TEST_METRICS, "trainable_params")  # as `make exp-show`


@dataclass
class Row:
    """One experiment as `dvc exp show --json` gives it: params and metrics flattened to dotted keys."""

    name: str
    rev: str
    params: dict[str, Any]
    metrics: dict[str, dict[str, Any]]  # {metrics file: {key: value}}

    def metric(self, file_key: tuple[str, str] | None) -> Any:
        return self.metrics.get(file_key[0], {}).get(file_key[1]) if file_key else None


@dataclass(frozen=True)
class Column:
    header: str
    file: str
    key: str
    test: bool


def rows_from_exp_show(shown: Sequence[Mapping[str, Any]], names: Iterable[str]) -> list[Row]:
    """The experiments called ``names`` in `dvc exp show --json` output, each once."""
    wanted, rows = set(names), {}
    for baseline in shown:
        for exp in baseline.get("experiments") or []:
            for rev in exp.get("revs") or []:
                name = rev.get("name") or exp.get("name")
                if name not in wanted or name in rows:
                    continue
                data = rev.get("data") or {}
                params = ((data.get("params") or {}).get(PARAMS_FILE.name) or {}).get("data") or {}
                metrics = {
                    file: flatten(entry.get("data") or {}) for file, entry in (data.get("metrics") or {}).items()
                }
                rows[name] = Row(name, rev.get("rev", ""), flatten(params), metrics)
    return list(rows.values())


def match_metric(rows: Sequence[Row], spec: str) -> list[tuple[str, str]]:
    """The (file, key) pairs a metric name stands for: KEY in any metrics file, or FILE:KEY."""
    file, colon, key = spec.rpartition(":")
    found = {(f, k) for row in rows for f, metrics in row.metrics.items() for k in metrics if k == key}
    return sorted(pair for pair in found if not colon or pair[0] == file)


def outputs_from_test_split(dvc_yaml: Mapping[str, Any], test_split: str = str(Paths.TEST)) -> list[str]:
    """Outputs of the stages that read the test split: a metric in them was measured on the test set."""
    return pipeline.outputs_reading(dvc_yaml, test_split)


def on_any(file: str, outputs: Iterable[str]) -> bool:
    """Is the file one of the outputs, or inside an output directory?"""
    return any(file == out or file.startswith(out.rstrip("/") + "/") for out in outputs)


def resolve_metric(rows: Sequence[Row], spec: str, test_outputs: Sequence[str], option: str) -> tuple[str, str]:
    """The one (file, key) a --metric or --tiebreak names. Unknown, ambiguous and test-set metrics are refused."""
    found = match_metric(rows, spec)
    if not found:
        known = sorted({key for row in rows for metrics in row.metrics.values() for key in metrics})
        raise PipelineError(
            f"{option} {spec!r}: no such metric in the experiments (have: {', '.join(known) or 'none'})"
        )
    if len(found) > 1:
        listed = ", ".join(f"{file}:{key}" for file, key in found)
        raise PipelineError(f"{option} {spec!r} is in several files ({listed}); name one as FILE:KEY")
    file, key = found[0]
    if on_any(file, test_outputs):
        raise PipelineError(
            f"{option} {file}:{key} is measured on the test split ({Paths.TEST}); the test set must not pick the "
            f"model: choose by a validation metric, e.g. {DEFAULT_METRIC}"
        )
    return file, key


def lower_is_better(key: str) -> bool:
    leaf = key.rsplit(".", 1)[-1]
    return "loss" in leaf or leaf.endswith(("error", "mse", "mae", "rmse"))


def score(value: Any, key: str) -> float:
    """A value to sort on, best lowest: missing or non-numeric values rank last."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return math.inf
    return float(value) if lower_is_better(key) else -float(value)


def metric_columns(rows: Sequence[Row], specs: Sequence[str], test_outputs: Sequence[str]) -> list[Column]:
    """A column per metric name asked for, found by name in whatever files the experiments have. A name
    found in several files gets a column per file, headed FILE:KEY. Test-set columns are marked."""
    columns: list[Column] = []
    for spec in specs:
        found = match_metric(rows, spec)
        for file, key in found:
            if any((c.file, c.key) == (file, key) for c in columns):
                continue
            test = on_any(file, test_outputs)
            header = (f"{file}:{key}" if len(found) > 1 else key) + (" (test)" if test else "")
            columns.append(Column(header, file, key, test))
    return columns


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.5g}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(fmt(v) for v in value) + "]"
    return str(value)


@dataclass
class Setting:
    """The experiments that differ only in the --over key (e.g. the seeds of one setting)."""

    label: str
    rows: list[Row]
    mean: float | None
    tie_mean: float | None


def mean_of(rows: Sequence[Row], file_key: tuple[str, str] | None) -> float | None:
    values = [row.metric(file_key) for row in rows]
    if not file_key or not values or any(score(v, "") == math.inf for v in values):
        return None
    return statistics.fmean(values)


def group_settings(
    rows: Sequence[Row], keys: Sequence[str], over: str, metric: tuple[str, str], tiebreak: tuple[str, str] | None
) -> list[Setting]:
    """Settings best first: by the mean of the metric over ``over``, then the tie-break's mean, then label."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        label = " ".join(f"{k}={fmt(row.params.get(k))}" for k in keys if k != over) or "(all)"
        groups.setdefault(label, []).append(row)
    settings = [
        Setting(label, group, mean_of(group, metric), mean_of(group, tiebreak)) for label, group in groups.items()
    ]
    tie_key = tiebreak[1] if tiebreak else ""
    return sorted(settings, key=lambda s: (score(s.mean, metric[1]), score(s.tie_mean, tie_key), s.label))


@dataclass
class Comparison:
    text: str
    best: Row | None


def compare(
    rows: Sequence[Row], experiments: Sequence[Experiment], dvc_yaml: Mapping[str, Any], *, metric: str,
    tiebreak: str | None, show: Sequence[str], over: str | None, markdown: bool,
) -> Comparison:  # fmt: skip
    """The comparison table (best first), the per-setting ranking (--over) and the best experiment."""
    if not rows:
        return Comparison("No experiment of this sweep is on the remote yet.", None)
    test_outputs = outputs_from_test_split(dvc_yaml)
    chosen = resolve_metric(rows, metric, test_outputs, "--metric")
    tie = (
        resolve_metric(rows, tiebreak, test_outputs, "--tiebreak")
        if tiebreak and match_metric(rows, tiebreak)
        else None
    )
    keys = grid_keys(experiments)
    specs = [f"{f}:{k}" for f, k in (chosen, *([tie] if tie else []))] + list(show)
    columns = metric_columns(rows, specs, test_outputs)

    def rank(row: Row) -> tuple[float, float, str]:
        return score(row.metric(chosen), chosen[1]), score(row.metric(tie), tie[1] if tie else ""), row.name

    ordered = sorted(rows, key=rank)
    table = render(
        ["Experiment", *keys, *(c.header for c in columns)],
        [
            [r.name, *(fmt(r.params.get(k)) for k in keys), *(fmt(r.metric((c.file, c.key))) for c in columns)]
            for r in ordered
        ],
        markdown=markdown,
    )
    how = f"{'lower' if lower_is_better(chosen[1]) else 'higher'} is better" + (f", ties by {tie[1]}" if tie else "")
    parts = [table, ""]
    if over:
        settings = group_settings(rows, keys, over, chosen, tie)
        values = sorted({fmt(r.params.get(over)) for r in rows}, key=lambda v: (len(v), v))
        test_column = next((c for c in columns if c.test), None)
        headers = ["setting", f"mean {chosen[1]}", *(f"{over}={v}" for v in values)]
        if test_column:
            headers += [f"{test_column.header} {over}={v}" for v in values]
        body = []
        for s in settings:
            by_value = {fmt(r.params.get(over)): r for r in s.rows}
            cells = [s.label, fmt(s.mean), *(fmt(by_value[v].metric(chosen)) if v in by_value else "-" for v in values)]
            if test_column:
                cells += [
                    fmt(by_value[v].metric((test_column.file, test_column.key))) if v in by_value else "-"
                    for v in values
                ]
            body.append(cells)
        parts += [
            f"Settings by mean {chosen[1]} over {over} ({how}):",
            "",
            render(headers, body, markdown=markdown),
            "",
        ]
        parts.append(f"Best setting by validation: {settings[0].label} (mean {chosen[1]} {fmt(settings[0].mean)})")
    best = ordered[0]
    values_text = " ".join(f"{k}={fmt(best.params.get(k))}" for k in keys)
    parts.append(
        f"Best experiment by {chosen[0]}:{chosen[1]} (validation, {how}): {best.name}  {values_text}  "
        f"{chosen[1]}={fmt(best.metric(chosen))}"
    )
    return Comparison("\n".join(parts), best)


def fetch_experiments(repo: Path, git_remote: str, baseline: str, names: Sequence[str]) -> None:
    """Fetch the named experiments' refs (commits, with their git-tracked metrics; no DVC data), 200 per
    `git fetch` so that a 1,000-experiment sweep stays below ARG_MAX. The remote's copy wins ('+')."""
    prefix = exp_ref_prefix(baseline)
    for start in range(0, len(names), 200):
        refspecs = [f"+{prefix}{name}:{prefix}{name}" for name in names[start : start + 200]]
        git(repo, "fetch", "--quiet", "--no-tags", git_remote, *refspecs)


def dvc_or_fail(repo: Path, *args: str) -> str:
    proc = run(dvc_cmd(*args), check=False, cwd=repo)
    if proc.returncode != 0:
        raise PipelineError(f"dvc {' '.join(args)}: {last_error(proc.stderr + proc.stdout, repo=repo)}")
    return proc.stdout


def collect(
    repo: Path, grid: Sequence[str], sweep: str, *, git_remote: str, target: str, metric: str, tiebreak: str | None,
    show: Sequence[str], over: str | None, markdown: bool, apply: bool, branch: str | None,
    say: Callable[[str], None] = print,
) -> None:  # fmt: skip
    """Pull what the workers pushed (refs only), compare, name the best; apply or branch it on request."""
    experiments = plan_sweep(read_params(repo), grid, sweep)
    if over and over not in grid_keys(experiments):
        raise PipelineError(f"--over {over!r} is not a key of the grid (keys: {', '.join(grid_keys(experiments))})")
    baseline = baseline_of(repo)
    on_remote = remote_experiments(repo, git_remote, baseline)
    present = [exp.name for exp in experiments if exp.name in on_remote]
    missing = [exp for exp in experiments if exp.name not in on_remote]
    if present:
        fetch_experiments(repo, git_remote, baseline, present)
    dvc_yaml = read_pipeline(repo)
    stale = outputs_not_run(dvc_yaml, target)
    rows = rows_from_exp_show(json.loads(dvc_or_fail(repo, "exp", "show", "--json")), present)
    for row in rows:  # the baseline's copies of what the workers did not run must not pass for results
        row.metrics = {file: values for file, values in row.metrics.items() if not on_any(file, stale)}
    result = compare(
        rows, experiments, dvc_yaml, metric=metric, tiebreak=tiebreak, show=show, over=over, markdown=markdown
    )
    heading = f"Sweep '{sweep}' on {baseline[:7]}: {len(rows)} of {len(experiments)} experiments from {git_remote}"
    say(f"{'## ' if markdown else ''}{heading}\n\n{result.text}")
    if missing:
        say(f"\nMissing ({len(missing)}): " + ", ".join(f"{exp.name} ({exp.describe()})" for exp in missing))
    if result.best and (apply or branch):
        fetched = transfer_data(repo, "fetch", on_remote[result.best.name])
        if fetched.returncode != 0:
            raise PipelineError(
                f"fetching the outputs of {result.best.name}: {last_error(fetched.stderr + fetched.stdout)}"
            )
        if branch:
            dvc_or_fail(repo, "exp", "branch", result.best.name, branch)
            say(
                f"Branch '{branch}' holds {result.best.name}; check it out and `dvc repro --pull` to draw its pictures."
            )
        else:
            dvc_or_fail(repo, "exp", "apply", result.best.name)
            dvc_or_fail(repo, "repro", "--pull")
            say(f"Applied {result.best.name} to the workspace and completed its pipeline (dvc repro --pull).")
    if missing:
        raise PipelineError(
            f"{len(missing)} of {len(experiments)} experiments are not on {git_remote}: run their shards' workers"
        )
