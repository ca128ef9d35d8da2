"""The check's judgements, pure functions over parsed dvc.yaml / dvc.lock / `dvc status` (tested on tiny inputs):
what counts as a stale lock, which outputs may differ and why, metrics against the tolerance, the Markdown report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tools.repo.pipeline import Locked, flatten, lock_outputs, produced_paths, producer_of, stage_order
from tools.repo.pipeline import downstream as downstream_of

MISSING_STATES = {"deleted", "not in cache"}  # an output (or a dep made by another stage) not produced yet
MODEL_STAGE = "train"
METRIC_HEADERS = ("file", "metric", "committed", "reproduced", "change", "ok")
METRIC_ALIGN = ("left", "left", "right", "right", "right", "left")


@dataclass
class Report:
    """Markdown sections plus the reasons the check failed (empty list: passed)."""

    sections: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        verdict = (
            "**Result: PASS**"
            if not self.failures
            else "**Result: FAIL**\n\n" + "\n".join(f"- {f}" for f in self.failures)
        )
        return "\n\n".join(["## Reproducibility check", verdict, *self.sections]) + "\n"


def model_dependent_stages(pipeline: Mapping[str, Any], model_stage: str = MODEL_STAGE) -> set[str]:
    """The model stage and every stage that (transitively) depends on one of its outputs."""
    return downstream_of(pipeline, model_stage)


def lock_problems(status: Mapping[str, Any], produced: Iterable[str]) -> list[str]:
    """Turn `dvc status --json` into reasons why dvc.lock is out of step, ignoring outputs not built yet."""
    produced = set(produced)
    problems = []
    for stage, entries in status.items():
        for entry in entries:
            if isinstance(entry, str):  # e.g. "changed command", "always changed"
                problems.append(f"stage '{stage}': {entry}")
                continue
            for kind, changes in entry.items():
                if not isinstance(changes, dict):
                    problems.append(f"stage '{stage}': {kind} {changes}")
                    continue
                for path, state in changes.items():
                    if isinstance(state, dict):  # a params file: {key: "modified" | "new" | "deleted"}
                        problems += [f"stage '{stage}': param {key} {how} in {path}" for key, how in state.items()]
                    elif state in MISSING_STATES and (kind == "changed outs" or path in produced):
                        continue
                    elif kind == "changed outs":
                        problems.append(f"stage '{stage}': output {path} {state} (its md5 differs from dvc.lock)")
                    else:
                        problems.append(f"stage '{stage}': dependency {path} {state}")
    return problems


def numeric_leaves(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in flatten(metrics).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def compare_metrics(
    committed: Mapping[str, Mapping[str, float]], reproduced: Mapping[str, Mapping[str, float]], tolerance: float
) -> tuple[list[list[str]], list[str]]:
    """Table rows (METRIC_HEADERS) and failure reasons for metrics differing by more than ``tolerance``."""
    rows, failures = [], []
    for path in sorted(committed):
        for name in sorted(committed[path]):
            old, new = committed[path][name], reproduced.get(path, {}).get(name)
            if new is None:
                failures.append(f"metric {name} ({path}) missing after re-run")
                rows.append([path, name, f"{old:g}", "missing", "", "❌"])
                continue
            ok = abs(new - old) <= tolerance
            rows.append([path, name, f"{old:g}", f"{new:g}", f"{new - old:+.4g}", "✅" if ok else "❌"])
            if not ok:
                failures.append(
                    f"metric {name} ({path}): committed {old:g}, reproduced {new:g}, beyond tolerance {tolerance:g}"
                )
    return rows, failures


def environment_lines(record: Mapping[str, Any]) -> list[str]:
    """This machine's environment record as Markdown list items: "- packages.numpy: 2.4.6"."""
    return [f"- {key}: {value}" for key, value in flatten(record).items()]


def model_verdict(committed: str, first: str, second: str | None) -> str:
    """How the model's md5 after a re-run compares: "identical", "nondeterministic" (two re-runs on this machine
    differ) or "other platform" (re-runs agree with each other, not with the commit). ``second`` is the md5 of a
    second training run, made only when the first differs from the commit."""
    if first == committed:
        return "identical"
    return "nondeterministic" if second != first else "other platform"


IDENTICAL, DERIVED, OTHER_PLATFORM, MUST_MATCH = "identical", "derived", "other platform", "must match"
ABSENT = Locked("", "-", 0)  # an output one of the two locks does not list


def output_verdicts(
    pipeline: Mapping[str, Any],
    committed: Mapping[str, Locked],
    reproduced: Mapping[str, Locked],
    verdict: str,
    model_stage: str = MODEL_STAGE,
) -> dict[str, tuple[str, str]]:
    """{output: (judgement, why)} along the derivation graph. An output may differ from the committed one only
    when something it is derived from differs (DERIVED, naming that input), or when it is the model's and the
    model was made on another platform (OTHER_PLATFORM: two re-runs here agree, the commit does not). An output
    whose inputs all reproduced byte-identically must be identical itself (MUST_MATCH when it is not), whatever
    the platform: so a hand-edited metrics file fails even when the model it derives from differs elsewhere."""
    producers = produced_paths(pipeline)
    differs = {
        p for p in set(committed) | set(reproduced) if committed.get(p, ABSENT).md5 != reproduced.get(p, ABSENT).md5
    }
    judged: dict[str, tuple[str, str]] = {}
    for stage in stage_order(pipeline):
        spec = pipeline["stages"][stage]
        changed_inputs = sorted(
            {out for dep in spec.get("deps", []) if (out := producer_of(dep, producers)) and out in differs}
        )
        for path in (p for p, owner in producers.items() if owner == stage):
            if path not in differs:
                judged[path] = (IDENTICAL, "")
            elif changed_inputs:
                judged[path] = (DERIVED, f"derived from {', '.join(changed_inputs)}, which differs")
            elif stage == model_stage and verdict == "other platform":
                judged[path] = (OTHER_PLATFORM, "the model stage, on another platform")
            elif stage == model_stage:
                judged[path] = (MUST_MATCH, "must match exactly on the same platform")
            else:
                judged[path] = (
                    MUST_MATCH,
                    "must match exactly: all it is derived from reproduced byte-identically",
                )
    return judged


def compare_outputs(
    pipeline: Mapping[str, Any], committed_lock: Mapping[str, Any], reproduced_lock: Mapping[str, Any], verdict: str
) -> tuple[list[list[str]], list[str], set[str]]:
    """Table rows (stage, output, md5s, result), failure reasons, and the outputs allowed to differ."""
    old, new = lock_outputs(committed_lock), lock_outputs(reproduced_lock)
    judged = output_verdicts(pipeline, old, new, verdict)
    order = stage_order(pipeline)
    rows, failures = [], []
    for path in sorted(set(old) | set(new), key=lambda p: (order.index((old.get(p) or new[p]).stage), p)):
        stage, old_md5 = old[path][:2] if path in old else (new[path].stage, "-")
        new_md5 = new.get(path, ABSENT).md5
        judgement, why = judged.get(path, (MUST_MATCH, "not declared in dvc.yaml"))
        if judgement == IDENTICAL:
            result = "✅ identical"
        elif judgement == OTHER_PLATFORM:
            result = "≈ differs (other platform: metrics checked below)"
        elif judgement == DERIVED:
            result = f"≈ differs ({why})"
        else:
            result = "❌ differs"
            failures.append(f"output {path} (stage {stage}): committed md5 {old_md5}, reproduced {new_md5} ({why})")
        rows.append([stage, f"`{path}`", f"`{old_md5[:12]}`", f"`{new_md5[:12]}`", result])
    return rows, failures, {p for p, (judgement, _) in judged.items() if judgement in (DERIVED, OTHER_PLATFORM)}


def rederived_rows(
    committed_lock: Mapping[str, Any], rederived: Mapping[str, Locked]
) -> tuple[list[list[str]], list[str]]:
    """Rows and failures for outputs re-made from the committed model: they must equal the committed ones."""
    committed = lock_outputs(committed_lock)
    rows, failures = [], []
    for path, (stage, md5, _) in rederived.items():
        old_md5 = committed[path].md5
        if md5 == old_md5:
            rows.append([stage, f"`{path}`", f"`{old_md5[:12]}`", f"`{md5[:12]}`", "✅ identical"])
            continue
        rows.append([stage, f"`{path}`", f"`{old_md5[:12]}`", f"`{md5[:12]}`", "❌ differs"])
        failures.append(
            f"output {path} (stage {stage}): committed md5 {old_md5}, re-derived from the committed model {md5} "
            "(must match exactly: the committed model is byte-identical to itself on any platform)"
        )
    return rows, failures


def markdown_table_or(table: str, empty: str) -> str:
    """DVC's --md output, or ``empty`` when it is blank or a header with no rows."""
    lines = [line for line in table.strip().splitlines() if line.strip()]
    return "\n".join(lines) if len(lines) > 2 else empty
