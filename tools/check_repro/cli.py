"""Reproducibility check: prove that what is committed is what the code produces.

    python -m tools.check_repro [--base REV] [--report FILE] [--repo DIR]     (or: make check-repro)

1. dvc.lock in step: `dvc status` of this checkout must report no changed code, param, source data or
   command for any stage (outputs that are merely absent, as in a fresh clone, are fine), and dvc.lock
   must have no uncommitted changes. Failing here names the stage and what changed; nothing is re-run.
2. Re-run: `git clone` HEAD into a temporary directory, `dvc repro` there and compare every output's md5
   with the committed dvc.lock, along the derivation graph: an output may differ only when something it is
   derived from differs, so everything derived from byte-identical outputs must be byte-identical (data stages,
   and, when the model reproduces, evaluate and the pictures: a hand-edited metrics file fails whatever the
   platform). When the model differs, train is run once more: a second model unlike the first means training is
   not deterministic on this machine (a failure); two equal models mean the committed one was made on another
   platform (other CPU, OS or build). Then the committed model, if this repository's DVC cache has it, is put in
   place and the stages downstream of it are re-run: their outputs must equal the committed ones exactly.
   Without it (`dvc pull` brings it), what derives from the model is judged by params.yaml's
   check.metric_tolerance only. This machine's environment (CPU, versions, pinned knobs) is printed in the
   report: it is not a pipeline output, so it never makes dvc.lock differ between machines. A missing dvc.lock
   is reported in one line.
3. Changes against a base revision (default: `main` when HEAD is not main, else HEAD~1):
   `dvc params diff` and `dvc metrics diff` as Markdown, for a pull-request comment. A comparison that cannot be
   made fails the check: in a shallow clone (`git clone --depth 1`, actions/checkout's default) with neither
   revision, deepen it first (`git fetch --unshallow`; actions/checkout: `fetch-depth: 0`).

The Markdown report goes to stdout and to --report (default reports/check-repro.md). Exit status 1 on failure.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from penguins.environment import environment_record
from penguins.errors import PipelineError
from penguins.io import output_problem, write_bytes
from penguins.params import load_params
from penguins.paths import PARAMS_FILE
from penguins.text_table import render
from tools.check_repro.verdicts import (
    METRIC_ALIGN,
    METRIC_HEADERS,
    MODEL_STAGE,
    Report,
    compare_metrics,
    compare_outputs,
    environment_lines,
    lock_problems,
    markdown_table_or,
    model_dependent_stages,
    model_verdict,
    numeric_leaves,
    rederived_rows,
)
from tools.repo import internals
from tools.repo.output import last_error
from tools.repo.pipeline import Locked, lock_outputs, produced_paths, read_lock, read_pipeline, stage_order
from tools.repo.run import CommandFailed, dvc, run

# ---- steps -------------------------------------------------------------------------------------


def missing_lock(repo: Path) -> str | None:
    """One line when there is no dvc.lock to check against (then `dvc status` would call every output changed)."""
    if (repo / "dvc.lock").is_file():
        return None
    if run(["git", "cat-file", "-e", "HEAD:dvc.lock"], cwd=repo, check=False).returncode == 0:
        return "dvc.lock is deleted in the working tree: `git checkout dvc.lock` restores the committed one"
    return "dvc.lock is not committed: run `dvc repro` and commit dvc.lock"


def check_lock_in_step(repo: Path, pipeline: Mapping[str, Any], report: Report) -> None:
    if missing := missing_lock(repo):
        report.failures.append(f"{missing} (the check stops here, nothing was re-run)")
        report.sections.append(f"### 1. dvc.lock in step with code, params and data\n\n- ❌ {missing}")
        return
    status = json.loads(dvc("status", "--json", cwd=repo).stdout or "{}")
    problems = lock_problems(status, produced_paths(pipeline))
    if run(["git", "status", "--porcelain", "--", "dvc.lock"], cwd=repo).stdout.strip():
        problems.append("dvc.lock has uncommitted changes: commit it (or `git checkout dvc.lock`)")
    if problems:
        report.failures += [f"dvc.lock out of step: {p}" for p in problems]
        report.failures.append("run `dvc repro` and commit dvc.lock (the check stops here, nothing was re-run)")
    body = (
        "✅ `dvc status`: dvc.lock matches the code, params and data."
        if not problems
        else "\n".join(f"- ❌ {p}" for p in problems)
    )
    report.sections.append(f"### 1. dvc.lock in step with code, params and data\n\n{body}")


def read_metrics(repo: Path, paths: Iterable[str]) -> dict[str, dict[str, float]]:
    return {p: numeric_leaves(json.loads((repo / p).read_text())) for p in paths if (repo / p).is_file()}


def output_md5(lock: Mapping[str, Any], path: str) -> str:
    return lock_outputs(lock).get(path, Locked("", "-", 0)).md5


def cached_object(repo: Path, md5: str) -> Path | None:
    """The file with this md5 in ``repo``'s DVC cache, or None when it is not there."""
    path = internals.cache_path(repo, md5)
    return path if path.is_file() else None


def rederive_from_committed_model(
    repo: Path, clone: Path, pipeline: Mapping[str, Any], committed_lock: Mapping[str, Any]
) -> tuple[dict[str, Locked], str] | None:
    """Put the committed model stage's outputs (from ``repo``'s DVC cache) into ``clone`` and re-run the stages
    downstream of it there: {output: Locked(stage, md5, size)} of what they made, and the stages re-run. None when the
    committed model is not in the cache (a clean clone without `dvc pull`)."""
    committed = lock_outputs(committed_lock)
    model_outs = [(path, out.md5) for path, out in committed.items() if out.stage == MODEL_STAGE]
    found = {}
    for path, md5 in model_outs:
        if (repo / path).is_dir() or md5.endswith(".dir"):
            continue  # a directory output (DVCLive's, git-tracked here): restored by git below
        if (source := cached_object(repo, md5)) is None:
            return None
        found[md5] = source
    for md5, source in found.items():
        internals.copy_into_cache(source, clone, md5)
    # The committed dvc.lock and git-tracked outputs, compared by content (read-tree drops the index's timestamps)
    run(["git", "read-tree", "HEAD"], cwd=clone)
    run(["git", "checkout", "--", "."], cwd=clone)
    dvc("checkout", "--force", MODEL_STAGE, cwd=clone)
    downstream = [s for s in stage_order(pipeline) if s in model_dependent_stages(pipeline) - {MODEL_STAGE}]
    for stage in downstream:
        dvc("repro", "--force", "--single-item", stage, cwd=clone)
    made = lock_outputs(read_lock(clone))
    return {path: made[path] for path, out in committed.items() if out.stage in downstream and path in made}, (
        ", ".join(downstream)
    )


def check_rerun(repo: Path, pipeline: Mapping[str, Any], tolerance: float, report: Report) -> None:
    metric_files = list(pipeline.get("metrics", []))
    model_path = next(iter(produced_paths({"stages": {MODEL_STAGE: pipeline["stages"][MODEL_STAGE]}})))
    with tempfile.TemporaryDirectory(prefix="check-repro-") as tmp:
        clone = Path(tmp) / "clone"
        run(["git", "clone", "--quiet", "--no-hardlinks", str(repo), str(clone)], cwd=repo)
        head = run(["git", "rev-parse", "--short", "HEAD"], cwd=clone).stdout.strip()
        committed_lock = read_lock(clone)
        committed_metrics = read_metrics(clone, metric_files)
        repro = dvc("repro", cwd=clone, check=False)
        if repro.returncode != 0:
            cause = last_error(repro.stderr + repro.stdout, bare=True, repo=clone)
            report.failures.append(f"`dvc repro` failed in a clean clone of {head}: {cause}")
            output = (repro.stdout + repro.stderr)[-3000:]
            report.sections.append(f"### 2. Re-run from a clean clone of {head}\n\n```\n{output}\n```")
            return
        reproduced_lock = read_lock(clone)
        reproduced_metrics = read_metrics(clone, metric_files)
        committed_model, first_model = output_md5(committed_lock, model_path), output_md5(reproduced_lock, model_path)
        second_model = None
        rederived = None
        if first_model != committed_model:  # another platform, or training that is not deterministic here?
            dvc("repro", "--force", "--single-item", MODEL_STAGE, cwd=clone)
            second_model = output_md5(read_lock(clone), model_path)
            if second_model == first_model:  # another platform: what derives from the committed model is exact
                try:
                    rederived = rederive_from_committed_model(repo, clone, pipeline, committed_lock)
                except RuntimeError as exc:  # a dvc command failed: its output, shortened, in the report
                    report.failures.append("re-deriving the outputs from the committed model failed (see below)")
                    report.sections.append(
                        f"### 2. Re-derived from the committed model\n\n```\n{str(exc)[-3000:]}\n```"
                    )

    verdict = model_verdict(committed_model, first_model, second_model)
    rows, failures, tolerated = compare_outputs(pipeline, committed_lock, reproduced_lock, verdict)
    report.failures += failures

    model_text = {
        "identical": "The model is byte-identical to the committed one.",
        "nondeterministic": (
            f"The model differs from the committed one, and a second training run here gave yet another "
            f"(`{first_model[:12]}` then `{(second_model or '-')[:12]}`): "
            "training is not deterministic on this machine."
        ),
        "other platform": (
            "The model differs from the committed one, but a second training run here gave the same bytes "
            "again: the committed model was made on another platform (CPU, OS or package build). "
            "Its metrics must stay within the tolerance."
        ),
    }[verdict]
    if verdict == "nondeterministic":
        report.failures.append(
            f"training is not deterministic on this machine: two runs gave models {first_model} and {second_model}"
        )
    table = render(["stage", "output", "committed", "reproduced", "result"], rows, markdown=True)
    machine = "This machine (what a cross-machine difference depends on):\n\n" + "\n".join(
        environment_lines(environment_record())
    )
    section = [f"### 2. Re-run from a clean clone of {head}", model_text, table, machine]
    if verdict == "other platform" and rederived is None:
        section.append(
            "The committed model is not in this repository's DVC cache, so what derives from it could not be "
            "re-made from it exactly (`dvc pull` first for that check): it is judged by the metric tolerance only."
        )
    elif rederived is not None:
        outputs, stages = rederived
        exact_rows, exact_failures = rederived_rows(committed_lock, outputs)
        report.failures += exact_failures
        section.append(
            f"Re-derived from the committed model (from this repository's DVC cache: {stages} re-run on it); "
            "these must match the commit exactly:\n\n"
            + render(["stage", "output", "committed", "re-derived", "result"], exact_rows, markdown=True)
        )
    checked = {path: values for path, values in committed_metrics.items() if path in tolerated}
    if verdict == "other platform" and checked:  # metrics of byte-identical inputs were compared exactly above
        metric_rows, metric_failures = compare_metrics(checked, reproduced_metrics, tolerance)
        report.failures += metric_failures
        section.append(
            f"Metrics (tolerance ±{tolerance:g}, `check.metric_tolerance` in params.yaml):\n\n"
            + render(METRIC_HEADERS, metric_rows, markdown=True, align=METRIC_ALIGN)
        )
    report.sections.append("\n\n".join(section))


def default_base(repo: Path) -> str | None:
    """`main` when HEAD is another branch; else HEAD~1; None when neither exists."""
    branch = run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=repo).stdout.strip()
    for candidate in (["main"] if branch != "main" else []) + ["HEAD~1"]:
        if commit_exists(repo, candidate):
            return candidate
    return None


def commit_exists(repo: Path, rev: str) -> bool:
    return run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=repo, check=False).returncode == 0


def is_shallow(repo: Path) -> bool:
    """A clone made with --depth (actions/checkout's default): its history stops at a grafted commit."""
    return run(["git", "rev-parse", "--is-shallow-repository"], cwd=repo).stdout.strip() == "true"


def shallow(what: str) -> str:
    return (
        f"this clone is shallow (`git clone --depth 1`, actions/checkout's default), so {what}: deepen it with "
        "`git fetch --unshallow` (actions/checkout: `fetch-depth: 0`) and run the check again"
    )


def unknown_base(repo: Path, rev: str) -> str:
    """The one line for a --base that names no commit, with the nearest branch or tag names as a hint."""
    refs = run(["git", "for-each-ref", "--format=%(refname:short)", "refs/heads", "refs/tags"], cwd=repo).stdout.split()
    near = difflib.get_close_matches(rev, refs, n=3)
    hint = f"did you mean {' or '.join(near)}?" if near else "give a branch, tag or commit, e.g. --base HEAD~1"
    if is_shallow(repo):
        hint = shallow(f"{rev} may be in the history it lacks")
    return f"--base {rev} names no commit in {repo}: {hint} (nothing was checked)"


def diff_against_base(repo: Path, base: str | None, report: Report) -> None:
    """Step 3; a comparison that could not be made is a failure (never a pass that compared nothing), except in
    a full clone that has no base to compare with (a first commit off any `main`)."""
    if base is None:
        if is_shallow(repo):
            line = shallow("it holds neither `main` nor HEAD's parent to diff params and metrics against")
            report.failures.append(line)
            report.sections.append(f"### 3. Changes against a base revision\n\n- ❌ {line}")
            return
        report.sections.append(
            "### 3. Changes against a base revision\n\nNo base revision (no `main` branch and no parent commit)."
        )
        return
    try:
        params = markdown_table_or(dvc("params", "diff", base, "--md", cwd=repo).stdout, "No param changes.")
        metrics = markdown_table_or(dvc("metrics", "diff", base, "--md", cwd=repo).stdout, "No metric changes.")
    except CommandFailed as exc:
        line = f"params and metrics could not be compared with {base}: {exc.line}"
        report.failures.append(line)
        report.sections.append(f"### 3. Changes against `{base}`\n\n- ❌ {line}")
        return
    report.sections.append(f"### 3. Changes against `{base}`\n\n#### Params\n\n{params}\n\n#### Metrics\n\n{metrics}")


def preflight(repo_arg: Path, report_arg: Path, base: str | None) -> tuple[Path, Path, float, dict[str, Any]]:
    """The repository's top, where the report goes, the metric tolerance and dvc.yaml, checked before the minutes
    of re-running: a PipelineError names what is wrong (nothing was checked)."""
    try:
        repo = Path(run(["git", "rev-parse", "--show-toplevel"], cwd=repo_arg).stdout.strip())
    except (CommandFailed, OSError) as exc:  # no such directory, or not in a git repository
        why = exc.line if isinstance(exc, CommandFailed) else exc.strerror or exc
        raise PipelineError(f"--repo {repo_arg}: not a git checkout ({why}) (nothing was checked)") from None
    output = report_arg if report_arg.is_absolute() else repo / report_arg
    if problem := output_problem(output):
        raise PipelineError(f"--report {report_arg}: cannot write it: {problem} (nothing was checked)")
    if base is not None and not commit_exists(repo, base):
        raise PipelineError(unknown_base(repo, base))
    return repo, output, load_params(repo / PARAMS_FILE.name).check.metric_tolerance, read_pipeline(repo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.check_repro", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repo", type=Path, default=Path.cwd(), help="repository to check (default: current directory)"
    )
    parser.add_argument("--base", help="revision to diff params and metrics against (default: main or HEAD~1)")
    parser.add_argument(
        "--report", type=Path, default=Path("reports/check-repro.md"), help="where to write the Markdown report"
    )
    args = parser.parse_args(argv)
    try:
        repo, output, tolerance, pipeline = preflight(args.repo, args.report, args.base)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    report = Report()
    try:
        check_lock_in_step(repo, pipeline, report)
        if not report.failures:
            check_rerun(repo, pipeline, tolerance, report)
        diff_against_base(repo, args.base or default_base(repo), report)
    except CommandFailed as exc:  # a git or dvc command the check cannot go on without (a held lock, a full disk)
        print(f"error: {exc.line} (the check stopped; no report written)", file=sys.stderr)
        return 1

    text = report.markdown()
    sys.stdout.write(text)
    try:
        write_bytes(output, text.encode())
    except PipelineError as exc:  # found only when writing: a full disk, a path changed meanwhile
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
