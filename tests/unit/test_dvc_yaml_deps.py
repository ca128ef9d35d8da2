"""dvc.yaml's deps of every stage are exactly the project modules its command imports (tools/checks/stage_deps.py)."""

from __future__ import annotations

import copy

import stages
from penguins.sources import PACKAGE
from penguins.yamlio import read_yaml
from tests.conftest import ROOT
from tools.checks.stage_deps import problems, stage_modules, third_party_imports


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


def test_the_wrong_python_check_looks_for_every_package_the_stages_import() -> None:
    """stages/__init__.py refuses, in one line, a Python without the project's packages: it must look for every
    one the stages import (a Python with 9 of them but not sklearn ended in a traceback), and fetch's CSV
    package (found by find_spec, not imported); itself standard library only, so that check cannot fail."""
    files = {ROOT / path for modules in stage_modules(pipeline()).values() for path in modules}
    assert set(stages.NEEDED) == third_party_imports(files) | {PACKAGE}
    assert third_party_imports([ROOT / "stages" / "__init__.py"]) == set()
