"""dvc.yaml's deps of every stage are exactly the project modules its command imports (tools/checks/stage_deps.py)."""

from __future__ import annotations

import copy

from penguins.yamlio import read_yaml
from tests.conftest import ROOT
from tools.checks.stage_deps import problems


def pipeline() -> dict:
    return read_yaml(ROOT / "dvc.yaml")


def test_every_stage_lists_exactly_the_modules_it_imports() -> None:
    assert problems(pipeline()) == []


def test_a_missed_module_is_named_with_its_stage() -> None:
    edited = copy.deepcopy(pipeline())
    edited["stages"]["train"]["deps"].remove("penguins/modeling.py")
    assert problems(edited) == ["stage 'train' imports penguins/modeling.py but dvc.yaml does not list it in deps"]


def test_a_module_listed_in_excess_is_named_too() -> None:
    edited = copy.deepcopy(pipeline())
    edited["stages"]["clean"]["deps"].append("penguins/plotting.py")
    assert problems(edited) == ["stage 'clean' lists penguins/plotting.py in deps but does not import it"]


def test_no_stage_imports_another_stage_or_predict() -> None:
    for stage, spec in pipeline()["stages"].items():
        code = [dep for dep in spec["deps"] if dep.endswith(".py")]
        assert [dep for dep in code if dep.startswith("stages/")] == [f"stages/{stage}.py"], stage
        assert "penguins/predict.py" not in code, stage
