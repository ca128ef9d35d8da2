"""The penguins package's promises about itself: only penguins.modeling imports TensorFlow (a stage or command
that needs no model starts in a second, not five), importing penguins.plotting selects the headless Agg
backend whatever the environment asks, and the module map in penguins/__init__.py names every module."""

from __future__ import annotations

import json
import pkgutil
import re
import subprocess
import sys
from typing import Any

import pytest

import penguins
from tools.repo.run import ENV, ROOT

MODULES = sorted(f"penguins.{m.name}" for m in pkgutil.iter_modules(penguins.__path__))
WITHOUT_TENSORFLOW = [m for m in MODULES if m != "penguins.modeling"]

PROBE = """
import json, sys
for name in sys.argv[1:]:
    __import__(name)
import matplotlib
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "keras", "dvclive"})
print(json.dumps({"heavy": heavy, "backend": matplotlib.get_backend(), "loaded": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def imported() -> dict[str, Any]:
    """Every module but penguins.modeling, imported in a fresh Python whose environment asks for another
    matplotlib backend (MPLBACKEND=svg); what that Python then holds."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *WITHOUT_TENSORFLOW],
        env={**ENV, "MPLBACKEND": "svg"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def test_the_probe_saw_every_module(imported: dict[str, Any]) -> None:
    assert len(WITHOUT_TENSORFLOW) >= 15
    assert set(WITHOUT_TENSORFLOW) <= set(imported["loaded"])


def test_only_modeling_imports_tensorflow_keras_or_dvclive(imported: dict[str, Any]) -> None:
    assert imported["heavy"] == []


def test_plotting_selects_the_agg_backend(imported: dict[str, Any]) -> None:
    assert str(imported["backend"]).lower() == "agg"


def test_the_module_map_names_every_module() -> None:
    listed = set(re.findall(r"^ {4}(\w+) ", penguins.__doc__ or "", flags=re.MULTILINE))
    assert {m.removeprefix("penguins.") for m in MODULES} == listed


@pytest.mark.parametrize("command", ["tools.reset", "tools.check_repro", "tools.sweep", "tools.report"])
def test_tools_run_from_a_subdirectory(command: str) -> None:
    """`cd stages && python -m tools.reset` found no module 'tools': the editable install maps it too."""
    proc = subprocess.run(
        [sys.executable, "-m", command, "--help"],
        cwd=ROOT / "stages",
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout


def test_nothing_outside_tests_imports_tests() -> None:
    """Production code (the package, the stages, the tools) never depends on test plumbing (tests/helpers)."""
    from tools.checks.stage_deps import imported_modules

    files = [ROOT / "tasks.py", *(p for top in ("penguins", "stages", "tools") for p in (ROOT / top).rglob("*.py"))]
    importing = [
        str(f.relative_to(ROOT))
        for f in files
        if any(m == "tests" or m.startswith("tests.") for m in imported_modules(f.read_text(encoding="utf-8")))
    ]
    assert importing == [], f"these import tests/: {importing}"


def imported_after(code: str, names: set[str]) -> list[str]:
    """Which of ``names`` a fresh interpreter has imported after running ``code``."""
    return imported_after_each([code], names)[0]


def imported_after_each(steps: list[str], names: set[str]) -> list[list[str]]:
    """Which of ``names`` one fresh interpreter has imported after each step of ``steps``, run in turn (one
    TensorFlow import for all of them: about 3 CPU s each)."""
    show = f"\nimport json, sys; print(json.dumps(sorted(set({sorted(names)!r}) & set(sys.modules))))\n"
    code = "".join(step + show for step in steps)
    proc = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in proc.stdout.strip().splitlines()[-len(steps) :]]


SCORE = "import numpy as np; score(['a', 'b'], np.array([[0.9, 0.1], [0.2, 0.8]], dtype='float32'), ['a', 'b'])"


@pytest.mark.parametrize(
    ("code", "not_imported"),
    [
        # validate_params (re-run by every experiment) and fetch read and write no table: penguins.io imports pandas
        # only where a table is read or written, and fetch finds the palmerpenguins CSV without importing that
        # package (which imports pandas)
        (
            "import stages.validate_params, stages.fetch, penguins.sources\n"
            "assert penguins.sources.read_package_csv().startswith(b'species,')",
            {"pandas", "numpy"},
        ),
        # scikit-learn is split's alone (imported inside penguins.data.split)
        ("import stages.clean, stages.encode", {"sklearn", "scipy", "matplotlib", "tensorflow"}),
    ],
    ids=["validate_params and fetch", "clean and encode"],
)
def test_what_a_stage_does_not_import(code: str, not_imported: set[str]) -> None:
    """Each costs a stage a large share of its start-up (docs/benchmarks.md)."""
    assert imported_after(code, not_imported) == []


SCIENCE = {"sklearn", "scipy", "matplotlib"}


@pytest.fixture(scope="module")
def after_keras() -> list[list[str]]:
    """Which of SCIENCE one fresh interpreter has imported after each of: Keras, the pictures, the evaluate stage
    scoring, scikit-learn's metrics (the tests below share its one TensorFlow import)."""
    steps = [
        "import penguins.modeling",
        "import penguins.plotting",
        f"import stages.evaluate\nfrom penguins.evaluation import score\n{SCORE}",
        "import sklearn.metrics",
    ]
    return imported_after_each(steps, SCIENCE)


def test_evaluate_scores_without_scikit_learn(after_keras: list[list[str]]) -> None:
    """evaluate scores with NumPy (penguins.evaluation.score): scikit-learn would cost its start-up a large share."""
    assert "sklearn" not in after_keras[2]


def test_keras_and_seaborn_start_without_scikit_learn_and_scipy_which_still_import_after(
    after_keras: list[list[str]],
) -> None:
    """penguins.optional.without: Keras (for its unused scikit-learn wrappers and keras.visualization) is imported
    without scikit-learn, SciPy and matplotlib, seaborn (for statistics the pictures do not draw) without SciPy;
    each still imports as usual afterwards."""
    assert [after_keras[0], after_keras[1], after_keras[3]] == [[], ["matplotlib"], sorted(SCIENCE)]


def test_without_blocks_a_module_inside_the_block_only() -> None:
    from penguins.optional import without

    with without("penguins_no_such_module_before", "json"), pytest.raises(ImportError):
        import penguins_no_such_module_before  # noqa: F401
    assert "penguins_no_such_module_before" not in sys.modules  # no None left behind: imports as usual again
    with without("json"):
        import json as again  # already imported: untouched

        assert again is json


def test_no_garbage_collection_pauses_the_collector_then_freezes_what_was_made() -> None:
    """In a process of its own: gc.freeze is process-wide, and this test's own checks would undo it."""
    code = (
        "import gc\n"
        "from penguins.optional import no_garbage_collection\n"
        "frozen = gc.get_freeze_count()\n"
        "with no_garbage_collection():\n"
        "    inside = gc.isenabled()\n"
        "    made = [[i] for i in range(1000)]\n"
        "print(inside, gc.isenabled(), gc.get_freeze_count() >= frozen + len(made))"  # later collections skip them
    )
    proc = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False True True"
