"""notebooks/01-lesson.py: each step calls the very function its stage calls, so no stage's checks, sampling or
bounds are left out of the lesson (issue 27: no second copy of any logic)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

LESSON = ROOT / "notebooks" / "01-lesson.py"
# (stage, the function of penguins that does its step in one call: checks, sampling and bounds included)
SHARED = [
    ("explore", "explore_pairplot"),
    ("split", "split_checked"),
    ("train", "train_model"),
    ("figures", "confusion_heatmap"),
]
# The parts those functions wrap: called directly, a step would skip or repeat the stage's own handling.
WRAPPED = {"rows_to_fit", "configure_determinism", "build_model", "fit", "plot_sample", "pairplot", "split",
           "heatmap_classes", "check_features_vary", "check_variance_fits", "check_rows_of_every_class"}  # fmt: skip


def called(path: Path) -> set[str]:
    """The names of the functions ``path`` calls (``f(...)`` and ``module.f(...)`` alike)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


@pytest.mark.parametrize(("stage", "function"), SHARED)
def test_the_lesson_calls_the_stages_own_function(stage: str, function: str) -> None:
    assert function in called(ROOT / "stages" / f"{stage}.py")
    assert function in called(LESSON), f"the lesson's {stage} step does not call {function}, as the stage does"


def test_the_lesson_repeats_none_of_what_those_functions_do() -> None:
    assert not called(LESSON) & WRAPPED
