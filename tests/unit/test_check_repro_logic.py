"""tools/check_repro.py's pure parts on tiny inputs: what counts as a stale lock, what depends on the model."""

from __future__ import annotations

import pytest

from tools.check_repro import (
    compare_metrics,
    environment_lines,
    lock_problems,
    markdown_table_or,
    model_dependent_stages,
    model_verdict,
    numeric_leaves,
)

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
