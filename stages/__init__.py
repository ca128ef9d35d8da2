"""The pipeline's stages, one module each (python -m stages.X, as dvc.yaml runs them).

dvc.yaml runs `python`: the first one on PATH. When that is not the project's environment (`.venv/bin/dvc repro`
without activating .venv, or a .venv whose python is gone, so the shell finds the system's), every stage would
end in a ModuleNotFoundError traceback; this says so in one line, and what to do, before any stage imports
anything (standard library only; find_spec looks modules up without importing them).
"""

from __future__ import annotations

import importlib.util
import sys

# Every package the stages import from the lock (a Python with some of them, e.g. pandas alone, fails the same
# way), and the one fetch reads its CSV from: tests/unit/test_dvc_yaml_deps.py derives the list from the stages'
# imports (tools.checks.stage_deps.third_party_imports) and fails when this one differs.
NEEDED = (
    "PIL", "dvclive", "keras", "matplotlib", "numpy", "palmerpenguins", "pandas", "psutil", "pydantic", "ruamel",
    "scipy", "seaborn", "sklearn", "tensorflow",
)  # fmt: skip


def missing_module(names: tuple[str, ...] = NEEDED) -> str | None:
    """The first of ``names`` this Python cannot import, or None."""
    return next((name for name in names if importlib.util.find_spec(name) is None), None)


def wrong_python_message(missing: str, executable: str = sys.executable) -> str:
    return (
        f"error: the stages run with {executable or 'python'}, which lacks the project's packages (no module "
        f"{missing!r}): activate the project's environment first (source .venv/bin/activate; `make install` "
        "creates or repairs it), or run the pipeline with `make run`"
    )


if (_missing := missing_module()) is not None:
    sys.exit(wrong_python_message(_missing))
