"""The README promises what the project has: every param documented, every make target it names exists."""

from __future__ import annotations

import re

from penguins.params import read_yaml
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_every_param_is_documented_in_the_readme() -> None:
    params = read_yaml(ROOT / "params.yaml")
    documented = set(re.findall(r"`([a-z_]+\.[a-z_0-9]+)`", README))
    missing = [
        f"{section}.{key}"
        for section, values in params.items()
        for key in values
        if f"{section}.{key}" not in documented
    ]
    assert not missing, f"params missing from README's Params table: {missing}"


def test_make_targets_named_in_the_readme_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    named = set(re.findall(r"make ([a-z][a-z-]+)", README))
    assert named <= targets, f"README names make targets that do not exist: {sorted(named - targets)}"
    assert {"run", "test"} <= named


def test_stages_named_in_the_readme_are_the_pipeline() -> None:
    stages = read_yaml(ROOT / "dvc.yaml")["stages"]
    for stage in stages:
        assert f"| `{stage}` |" in README, f"stage {stage} missing from README's pipeline table"
