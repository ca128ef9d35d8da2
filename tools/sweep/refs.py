"""A sweep's experiments in git and DVC: the baseline, the experiment refs here and on the git remote, the
checks a clone must pass, and the pipeline a worker runs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from penguins.errors import PipelineError
from penguins.params import section_names
from penguins.paths import PARAMS_FILE
from penguins.yamlio import read_yaml
from tools.repo import internals, pipeline
from tools.repo.run import BIN, run
from tools.repo.run import git as run_git

GIT_TIMEOUT_S = 120  # ls-remote: an unreachable remote fails, it does not hang


def git(repo: Path, *args: str) -> str:
    """`git ARGS` in ``repo`` (its stdout), timed out: a failure is one line quoting git's error."""
    return run_git(repo, *args, timeout=GIT_TIMEOUT_S)


def dvc_cmd(*args: str) -> list[str]:
    return [str(BIN / "dvc"), "--wait-for-lock", *args]  # the -j K runs of a worker share the repository's lock


def baseline_of(repo: Path) -> str:
    proc = run(["git", "rev-parse", "--verify", "HEAD^{commit}"], check=False, cwd=repo)
    if proc.returncode != 0:
        raise PipelineError(f"{repo}: not a git checkout with a commit; run the sweep in a clone of the project")
    return proc.stdout.strip()


exp_ref_prefix = internals.exp_ref_prefix


def parse_refs(listing: str, baseline: str) -> dict[str, str]:
    """{experiment name: commit} of one baseline, from `git ls-remote` or `git for-each-ref` lines."""
    prefix, found = exp_ref_prefix(baseline), {}
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-1].startswith(prefix):
            found[parts[-1][len(prefix) :]] = parts[0]
    return found


def remote_experiments(repo: Path, git_remote: str, baseline: str, name: str = "*") -> dict[str, str]:
    """The baseline's experiments on the git remote (or the one called ``name``: a check after a push
    lists one ref, not all of a 1,000-experiment sweep)."""
    return parse_refs(git(repo, "ls-remote", git_remote, f"{exp_ref_prefix(baseline)}{name}"), baseline)


def local_experiments(repo: Path, baseline: str) -> dict[str, str]:
    return parse_refs(
        git(repo, "for-each-ref", "--format=%(objectname) %(refname)", exp_ref_prefix(baseline)), baseline
    )


def check_remotes(repo: Path, git_remote: str) -> None:
    """Fail early, in one line, when the git remote or the default DVC remote is not set up."""
    is_url = "/" in git_remote or ":" in git_remote
    if not is_url and run(["git", "remote", "get-url", git_remote], check=False, cwd=repo).returncode != 0:
        raise PipelineError(f"git remote {git_remote!r} is not configured: `git remote add {git_remote} URL`")
    # `dvc exp run --pull` and `dvc repro --pull` use the default DVC remote only: it is the sweep's.
    if run([str(BIN / "dvc"), "remote", "default"], check=False, cwd=repo).returncode != 0:
        raise PipelineError(
            "no default DVC remote: add one with `dvc remote add -d NAME URL` (--local: this clone only)"
        )


def check_full_history(repo: Path) -> None:
    """`dvc exp run --temp` in a shallow clone exits 0 without recording the experiment (DVC 3.67)."""
    if git(repo, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise PipelineError(
            "this clone is shallow, and DVC records no experiment in one: clone with full history "
            "(`git fetch --unshallow`; actions/checkout: fetch-depth: 0)"
        )


def check_clean(repo: Path, when: str) -> None:
    """`dvc exp run --temp` runs the workspace as it is, uncommitted edits included. Refuse them, so that
    an experiment is exactly the baseline commit plus its params."""
    dirty = git(repo, "status", "--porcelain", "--untracked-files=no").strip()
    if dirty:
        first = dirty.splitlines()[0].strip()
        raise PipelineError(
            f"uncommitted changes {when} ({first}): a sweep runs the committed code; commit or stash them"
        )


def read_params(repo: Path) -> dict[str, Any]:
    try:
        raw = read_yaml(repo / PARAMS_FILE.name)  # as DVC reads it (YAML 1.2: 1e-3 is a number)
    except FileNotFoundError:
        raise PipelineError(f"{PARAMS_FILE.name} not found in {repo}; run from a clone of the project") from None
    if not isinstance(raw, dict):
        raise PipelineError(f"{PARAMS_FILE.name}: expected a mapping of sections ({section_names()})")
    return raw


read_pipeline = pipeline.read_pipeline
out_path = pipeline.out_path


def check_target(stages: Mapping[str, Any], target: str) -> None:
    if target not in stages:
        raise PipelineError(f"--target {target!r} is not a stage of dvc.yaml (stages: {', '.join(stages)})")


def upstream_stages(dvc_yaml: Mapping[str, Any], target: str) -> list[str]:
    """The stages whose outputs the target stage reads (`dvc repro` of them also brings all before)."""
    check_target(pipeline.stages(dvc_yaml), target)
    return pipeline.direct_upstream(dvc_yaml, target)


def outputs_not_run(dvc_yaml: Mapping[str, Any], target: str) -> list[str]:
    """Outputs of the stages a `dvc exp run TARGET` does not run (neither TARGET nor upstream of it).
    An experiment's commit still holds their git-tracked files, but from its baseline: stale."""
    check_target(pipeline.stages(dvc_yaml), target)
    return pipeline.outputs_outside(dvc_yaml, {target, *pipeline.upstream(dvc_yaml, target)})
