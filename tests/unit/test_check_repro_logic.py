"""tools/check_repro/: its pure parts on tiny inputs: what counts as a stale lock, what depends on the model."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from penguins.yamlio import read_yaml
from tests.conftest import ROOT
from tools.check_repro.cli import check_lock_in_step, default_base, diff_against_base, missing_lock, unknown_base
from tools.check_repro.cli import main as check_repro_main
from tools.check_repro.verdicts import (
    DERIVED,
    IDENTICAL,
    MUST_MATCH,
    OTHER_PLATFORM,
    Report,
    compare_metrics,
    compare_outputs,
    environment_lines,
    lock_problems,
    markdown_table_or,
    model_dependent_stages,
    model_verdict,
    numeric_leaves,
    output_verdicts,
)
from tools.repo.pipeline import lock_outputs, produced_paths, stage_order
from tools.repo.run import BIN

PIPELINE = {
    "stages": {
        "split": {"deps": ["data/in.csv"], "outs": ["data/train.csv"]},
        "train": {"deps": ["data/train.csv"], "outs": ["models/m.keras", {"dvclive": {"cache": False}}]},
        "evaluate": {"deps": ["models/m.keras"], "outs": [{"metrics/metrics.json": {"cache": False}}]},
        "figures": {"deps": ["dvclive"], "outs": ["plots/f.png"]},
        "explore": {"deps": ["data/in.csv"], "outs": ["plots/pair.png"]},
    }
}


def test_model_dependent_stages_follow_the_dag() -> None:
    assert model_dependent_stages(PIPELINE) == {"train", "evaluate", "figures"}


def test_missing_outputs_of_a_fresh_clone_are_not_stale() -> None:
    status = {
        "split": [{"changed outs": {"data/train.csv": "not in cache"}}],
        "train": [{"changed deps": {"data/train.csv": "deleted"}}, {"changed outs": {"models/m.keras": "deleted"}}],
    }
    assert lock_problems(status, ["data/train.csv", "models/m.keras"]) == []


def test_changed_params_code_outputs_and_commands_are_stale() -> None:
    status = {
        "train": [
            {"changed deps": {"params.yaml": {"train.epochs": "modified"}, "stages/train.py": "modified"}},
            {"changed outs": {"models/m.keras": "modified"}},
            "changed command",
        ],
        "split": [{"changed deps": {"data/in.csv": "deleted"}}],  # a source file, not made by any stage
    }
    assert lock_problems(status, ["data/train.csv", "models/m.keras"]) == [
        "stage 'train': param train.epochs modified in params.yaml",
        "stage 'train': dependency stages/train.py modified",
        "stage 'train': output models/m.keras modified (its md5 differs from dvc.lock)",
        "stage 'train': changed command",
        "stage 'split': dependency data/in.csv deleted",
    ]


def test_metrics_within_and_beyond_tolerance() -> None:
    committed = {"m.json": numeric_leaves({"accuracy": 0.97, "per_class": {"A": {"f1": 0.9}}, "name": "x"})}
    assert committed == {"m.json": {"accuracy": 0.97, "per_class.A.f1": 0.9}}
    rows, failures = compare_metrics(committed, {"m.json": {"accuracy": 0.96, "per_class.A.f1": 0.7}}, tolerance=0.05)
    assert len(rows) == 2
    assert failures == ["metric per_class.A.f1 (m.json): committed 0.9, reproduced 0.7, beyond tolerance 0.05"]
    _, failures = compare_metrics(committed, {"m.json": {"accuracy": 0.97}}, tolerance=0.05)
    assert failures == ["metric per_class.A.f1 (m.json) missing after re-run"]


def test_environment_is_listed_flat() -> None:
    record = {"python": "3.11.7", "packages": {"keras": "3.15.1", "numpy": "2.4.6"}}
    assert environment_lines(record) == ["- python: 3.11.7", "- packages.keras: 3.15.1", "- packages.numpy: 2.4.6"]


@pytest.mark.parametrize(
    ("first", "second", "verdict"),
    [("a", None, "identical"), ("b", "c", "nondeterministic"), ("b", "b", "other platform")],
)
def test_model_verdict_tells_nondeterminism_from_another_platform(first: str, second: str | None, verdict: str) -> None:
    assert model_verdict("a", first, second) == verdict


def test_empty_dvc_diff_table_reads_as_no_changes() -> None:
    header = "| Path   | Param   | HEAD~1   | workspace   |\n|--------|---------|----------|-------------|\n"
    assert markdown_table_or(header, "No param changes.") == "No param changes."
    assert markdown_table_or("", "No param changes.") == "No param changes."
    row = header + "| params.yaml | train.epochs | 100 | 200 |\n"
    assert markdown_table_or(row, "none") == row.strip()


# ---- the derivation graph: what may differ, and why ---------------------------------------------------------

GRAPH = {
    "stages": {
        "split": {"deps": ["data/in.csv"], "outs": ["data/train.csv", "data/test.csv"]},
        "explore": {"deps": ["data/in.csv"], "outs": ["plots/pair.png"]},
        "train": {"deps": ["data/train.csv"], "outs": ["models/m.keras", {"dvclive": {"cache": False}}]},
        "figures": {"deps": ["dvclive/metrics.json", "metrics/metrics.json"], "outs": ["plots/f.png"]},
        "evaluate": {"deps": ["models/m.keras", "data/test.csv"], "outs": [{"metrics/metrics.json": {"cache": False}}]},
    }
}
STAGE_OF = {out: stage for stage, spec in GRAPH["stages"].items() for out in produced_paths({"stages": {stage: spec}})}


def locks(changed: set[str]) -> tuple[dict, dict]:
    """Committed and reproduced dvc.lock contents where exactly the ``changed`` outputs differ."""

    def lock(suffix: str) -> dict:
        stages: dict = {}
        for path, stage in STAGE_OF.items():
            md5 = f"{path}-{suffix if path in changed else 'same'}"
            stages.setdefault(stage, {"outs": []})["outs"].append({"path": path, "md5": md5})
        return {"stages": stages}

    return lock("committed"), lock("reproduced")


def test_stages_are_ordered_by_what_they_read() -> None:
    order = stage_order(GRAPH)
    assert order.index("evaluate") < order.index("figures")  # figures reads evaluate's metrics (dvc.yaml: after)
    assert order.index("split") < order.index("train") < order.index("evaluate")


def test_hand_edited_metrics_of_an_identical_model_fail_even_on_another_platform() -> None:
    """The verdict "other platform" excuses the model stage only: metrics derived from byte-identical inputs must
    be byte-identical, so an edited metrics file with its md5 written into dvc.lock cannot pass as rounding."""
    committed, reproduced = locks({"metrics/metrics.json"})
    for verdict in ("identical", "other platform"):
        rows, failures, tolerated = compare_outputs(GRAPH, committed, reproduced, verdict)
        assert failures == [
            "output metrics/metrics.json (stage evaluate): committed md5 metrics/metrics.json-committed, reproduced "
            "metrics/metrics.json-reproduced (must match exactly: all it is derived from reproduced byte-identically)"
        ]
        assert tolerated == set()
        assert sum("❌" in " ".join(row) for row in rows) == 1


def test_what_derives_from_a_model_of_another_platform_may_differ_and_nothing_else() -> None:
    committed, reproduced = locks({"models/m.keras", "metrics/metrics.json", "plots/f.png", "plots/pair.png"})
    judged = output_verdicts(GRAPH, lock_outputs(committed), lock_outputs(reproduced), "other platform")
    assert judged["models/m.keras"] == (OTHER_PLATFORM, "the model stage, on another platform")
    assert judged["metrics/metrics.json"] == (DERIVED, "derived from models/m.keras, which differs")
    assert judged["plots/f.png"] == (DERIVED, "derived from metrics/metrics.json, which differs")
    assert judged["dvclive"] == (IDENTICAL, "")
    assert judged["plots/pair.png"][0] == MUST_MATCH  # data pictures: derived from identical inputs only
    _, failures, tolerated = compare_outputs(GRAPH, committed, reproduced, "other platform")
    assert tolerated == {"models/m.keras", "metrics/metrics.json", "plots/f.png"}
    assert [f.split(" (stage")[0] for f in failures] == ["output plots/pair.png"]


def test_a_model_differing_on_the_same_platform_fails_and_excuses_what_derives_from_it() -> None:
    committed, reproduced = locks({"models/m.keras", "metrics/metrics.json"})
    for verdict in ("identical", "nondeterministic"):  # identical: dvclive matched but the model file did not
        _, failures, _ = compare_outputs(GRAPH, committed, reproduced, verdict)
        assert [f.split(" (stage")[0] for f in failures] == ["output models/m.keras"]
        assert failures[0].endswith("(must match exactly on the same platform)")


def test_a_differing_data_output_excuses_its_downstream_but_is_itself_a_failure() -> None:
    committed, reproduced = locks({"data/train.csv", "models/m.keras", "dvclive"})
    judged = output_verdicts(GRAPH, lock_outputs(committed), lock_outputs(reproduced), "identical")
    assert judged["data/train.csv"][0] == MUST_MATCH
    assert judged["models/m.keras"] == (DERIVED, "derived from data/train.csv, which differs")
    assert judged["dvclive"] == (DERIVED, "derived from data/train.csv, which differs")


def test_a_missing_lock_is_one_line(tmp_path: Path) -> None:
    for cmd in (["git", "init", "-q"], ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                                        "--allow-empty", "-m", "empty"]):  # fmt: skip
        subprocess.run(cmd, cwd=tmp_path, check=True)
    assert missing_lock(tmp_path) == "dvc.lock is not committed: run `dvc repro` and commit dvc.lock"
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\n")
    subprocess.run(["git", "add", "dvc.lock"], cwd=tmp_path, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "lock"], cwd=tmp_path, check=True
    )
    assert missing_lock(tmp_path) is None
    (tmp_path / "dvc.lock").unlink()
    assert missing_lock(tmp_path) == (
        "dvc.lock is deleted in the working tree: `git checkout dvc.lock` restores the committed one"
    )
    report = Report()
    check_lock_in_step(tmp_path, {"stages": {}}, report)  # stops before `dvc status` (45 lines of "modified")
    assert report.failures == [
        "dvc.lock is deleted in the working tree: `git checkout dvc.lock` restores the committed one "
        "(the check stops here, nothing was re-run)"
    ]
    assert report.markdown().count("\n- ") == 2  # the verdict's line and step 1's


def test_a_mistyped_base_is_refused_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "empty"], cwd=tmp_path, check=True)
    # no params.yaml, no dvc.lock: a check that got past the base would fail on those instead
    assert check_repro_main(["--repo", str(tmp_path), "--base", "mian"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"error: --base mian names no commit in {tmp_path}: did you mean main? (nothing was checked)"
    assert not (tmp_path / "reports").exists()


def commits(repo: Path, count: int) -> None:
    """A git repository on main with ``count`` empty commits."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    for n in range(count):
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", f"c{n}"], cwd=repo, check=True)


def test_a_shallow_clone_fails_step_3_saying_how_to_deepen_it(tmp_path: Path) -> None:
    """`git clone --depth 1` (actions/checkout's default) has main checked out but not its parent: the check used to
    pass saying "no `main` branch and no parent commit"."""
    (origin := tmp_path / "origin").mkdir()
    commits(origin, 2)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", origin.as_uri(), str(clone)], check=True)
    assert default_base(clone) is None
    report = Report()
    diff_against_base(clone, None, report)
    deepen = "deepen it with `git fetch --unshallow` (actions/checkout: `fetch-depth: 0`) and run the check again"
    assert report.failures == [
        "this clone is shallow (`git clone --depth 1`, actions/checkout's default), so it holds neither `main` nor "
        f"HEAD's parent to diff params and metrics against: {deepen}"
    ]
    assert report.markdown().startswith("## Reproducibility check\n\n**Result: FAIL**")
    assert unknown_base(clone, "HEAD~1").endswith(
        f"HEAD~1 may be in the history it lacks: {deepen} (nothing was checked)"
    )
    subprocess.run(["git", "fetch", "-q", "--unshallow"], cwd=clone, check=True)
    assert default_base(clone) == "HEAD~1"


def test_no_base_at_all_passes_only_in_a_full_clone(tmp_path: Path) -> None:
    commits(tmp_path, 1)  # a first commit: nothing to compare with, and nothing missing
    report = Report()
    diff_against_base(tmp_path, default_base(tmp_path), report)
    assert report.failures == []
    assert "No base revision (no `main` branch and no parent commit)." in report.markdown()


def test_a_comparison_dvc_cannot_make_fails_in_one_line(tmp_path: Path) -> None:
    commits(tmp_path, 2)
    subprocess.run([str(BIN / "dvc"), "init", "-q"], cwd=tmp_path, check=True)
    shutil.rmtree(tmp_path / ".dvc" / "tmp", ignore_errors=True)
    (tmp_path / ".dvc" / "tmp").write_text("")  # every dvc command now fails: "unexpected error - [Errno 17] ..."
    report = Report()
    diff_against_base(tmp_path, "HEAD~1", report)
    assert report.failures == [
        "params and metrics could not be compared with HEAD~1: `dvc params diff HEAD~1 --md` failed: "
        f"[Errno 17] File exists: '{tmp_path / '.dvc' / 'tmp'}'"
    ]


def test_a_dvc_command_the_check_needs_failing_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commits(tmp_path, 1)
    for name in ("params.yaml", "dvc.yaml", "dvc.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "p"], cwd=tmp_path, check=True)
    assert check_repro_main(["--repo", str(tmp_path)]) == 1  # no .dvc: `dvc status` fails
    err = capsys.readouterr().err
    assert err.startswith("error: `dvc status --json` failed: you are not inside of a DVC repository")
    assert err.endswith("(the check stopped; no report written)\n") and err.count("\n") == 1
    assert not (tmp_path / "reports").exists()


def test_every_workflow_job_that_compares_revisions_checks_out_full_history() -> None:
    """make check-repro diffs against the base branch or HEAD~1, and a sweep worker records no experiment in a
    shallow clone: every job running either must check out with fetch-depth: 0 (actions/checkout's default is 1)."""
    needs_history = ("check-repro", "tools.check_repro", "sweep-worker", "tools.sweep worker")
    checked = 0
    for workflow in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for name, job in read_yaml(workflow)["jobs"].items():
            steps = job.get("steps", [])
            if not any(word in str(step.get("run", "")) for step in steps for word in needs_history):
                continue
            checkouts = [step for step in steps if str(step.get("uses", "")).startswith("actions/checkout")]
            assert checkouts, f"{workflow.name}: job {name} runs no actions/checkout"
            for step in checkouts:
                assert step.get("with", {}).get("fetch-depth") == 0, f"{workflow.name}: job {name}: fetch-depth 0"
            checked += 1
    assert checked >= 2  # pipeline.yml's test-and-check and sweep.yml's worker


def test_a_repo_that_is_no_git_checkout_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for repo in (tmp_path, tmp_path / "missing"):
        assert check_repro_main(["--repo", str(repo)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: --repo {repo}: not a git checkout (") and err.count("\n") == 1
