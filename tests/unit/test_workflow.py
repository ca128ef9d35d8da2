"""The GitHub Actions workflow users copy passes actionlint (and actionlint does catch a broken one)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import BIN, ROOT, run

WORKFLOW = ROOT / ".github/workflows/pipeline.yml"


def actionlint(repo: Path) -> tuple[int, str]:
    proc = run([str(BIN / "actionlint"), "-no-color"], cwd=repo, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_workflow_passes_actionlint() -> None:
    code, output = actionlint(ROOT)
    assert code == 0, output


def test_workflow_runs_the_readme_commands() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["test-and-check"]["steps"]
    commands = " ".join(step.get("run", "") for step in steps)
    assert "make test" in commands and "make check-repro" in commands
    checkout = next(step for step in steps if step.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0


def lint_broken(tmp_path: Path, workflow: Path, old: str, new: str) -> tuple[int, str]:
    """actionlint on a copy of ``workflow`` with ``old`` replaced by ``new``, in a git repository of its own."""
    assert old in workflow.read_text(), old  # else the "broken" copy would be the original
    (tmp_path / ".github/workflows").mkdir(parents=True)
    (tmp_path / ".github/workflows" / workflow.name).write_text(workflow.read_text().replace(old, new))
    run(["git", "init", "-q"], cwd=tmp_path)
    return actionlint(tmp_path)


def test_actionlint_rejects_a_broken_workflow(tmp_path: Path) -> None:
    code, output = lint_broken(tmp_path, WORKFLOW, "fetch-depth: 0", "fetch-dept: 0")
    assert code != 0 and 'input "fetch-dept" is not defined' in output


SWEEP = ROOT / ".github/workflows/sweep.yml"


def test_sweep_workflow_plans_runs_a_job_per_shard_and_collects_into_the_summary() -> None:
    workflow = yaml.safe_load(SWEEP.read_text())
    inputs = workflow[True]["workflow_dispatch"]["inputs"]  # YAML 1.1 reads the key `on` as True
    assert {"grid", "shards", "name", "target"} <= set(inputs)
    assert inputs["shards"]["type"] == "number"
    jobs = workflow["jobs"]
    assert workflow["permissions"]["contents"] == "write"  # workers push refs/exps/...
    assert jobs["worker"]["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.plan.outputs.shards) }}"
    assert jobs["worker"]["strategy"]["fail-fast"] is False
    worker_steps = jobs["worker"]["steps"]
    assert worker_steps[0]["with"]["fetch-depth"] == 0
    assert any("make sweep-worker" in step.get("run", "") for step in worker_steps)
    assert jobs["collect"]["needs"] == "worker"
    assert jobs["collect"]["if"].startswith("always()")
    collect = " ".join(step.get("run", "") for step in jobs["collect"]["steps"])
    assert "sweep-collect" in collect
    assert "$GITHUB_STEP_SUMMARY" in collect


def test_actionlint_rejects_a_broken_sweep_workflow(tmp_path: Path) -> None:
    code, output = lint_broken(tmp_path, SWEEP, "needs.plan.outputs.shards", "needs.plan.outputs.shard")
    assert code != 0
    assert 'property "shard" is not defined' in output
