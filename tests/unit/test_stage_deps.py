"""tools/checks/stage_deps.py's parts on a tiny made-up repository: which imports it sees and how it follows them.

Its verdict on the real dvc.yaml, and the wording of that verdict, are tested in test_dvc_yaml_deps.py."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tools.checks.stage_deps import (
    declared_code,
    imported_modules,
    local_imports,
    module_file,
    stage_modules,
    third_party_imports,
)


@pytest.mark.parametrize(
    ("source", "modules"),
    [
        ("import os", {"os"}),
        ("import a.b.c as d", {"a", "a.b", "a.b.c"}),  # importing a.b.c runs a and a.b first
        ("from pkg import name, sub", {"pkg", "pkg.name", "pkg.sub"}),  # either may be a submodule
        ("from pkg.mod import f", {"pkg", "pkg.mod", "pkg.mod.f"}),
        ("def main():\n    from pkg import late\n", {"pkg", "pkg.late"}),  # imported only when main() runs
        ("class C:\n    def m(self):\n        import deep.er\n", {"deep", "deep.er"}),
        ("try:\n    import fast\nexcept ImportError:\n    import slow\n", {"fast", "slow"}),
        ("x = 'import not_code'\n# import not_code_either", set()),
    ],
)
def test_imported_modules(source: str, modules: set[str]) -> None:
    assert imported_modules(source) == modules


def make_repo(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """stages/one imports a, which imports b (from-import of a submodule), which imports c inside a function;
    c and a import each other; d is imported by nobody; stages/two imports d and numpy."""
    return make_repo(
        tmp_path,
        {
            "penguins/__init__.py": '"""the package"""\n',
            "penguins/a.py": "from penguins import b\n",
            "penguins/b.py": "import json\n\ndef later():\n    import penguins.c\n",
            "penguins/c.py": "from penguins.a import b\n",
            "penguins/d.py": "import numpy\n",
            "stages/one.py": "from penguins.a import b\n",
            "stages/two.py": "import numpy\nfrom penguins import d\n",
        },
    )


def test_module_file_is_ours_or_none(repo: Path) -> None:
    assert module_file("penguins", repo) == repo / "penguins/__init__.py"
    assert module_file("penguins.a", repo) == repo / "penguins/a.py"
    assert module_file("penguins.a.b", repo) is None  # a name inside a module, not a module
    assert module_file("stages", repo) is None  # a directory without __init__.py runs no code
    assert module_file("numpy", repo) is None


def test_local_imports_are_transitive(repo: Path) -> None:
    found = {path.relative_to(repo).as_posix() for path in local_imports("stages.one", repo)}
    assert found == {"stages/one.py", "penguins/__init__.py", "penguins/a.py", "penguins/b.py", "penguins/c.py"}


def test_local_imports_refuse_a_module_that_is_not_ours(repo: Path) -> None:
    with pytest.raises(ValueError, match=r"^numpy is not a module of this repository$"):
        local_imports("numpy", repo)


def test_stage_modules_follow_each_python_command(repo: Path) -> None:
    pipeline = {
        "stages": {
            "one": {"cmd": "python -m stages.one --flag"},
            "two": {"cmd": ["echo start", "python  -m  stages.two"]},
            "shell": {"cmd": "cp a b"},  # no project code: nothing to check
        }
    }
    assert stage_modules(pipeline, repo) == {
        "one": {"stages/one.py", "penguins/__init__.py", "penguins/a.py", "penguins/b.py", "penguins/c.py"},
        "two": {"stages/two.py", "penguins/__init__.py", "penguins/d.py"},
    }


def test_declared_code_is_the_python_deps() -> None:
    assert declared_code(["stages/one.py", "data/raw.csv", "penguins/a.py", "dvclive"]) == {
        "stages/one.py",
        "penguins/a.py",
    }


def test_third_party_imports_are_top_level_names_outside_the_stdlib_and_project(tmp_path: Path) -> None:
    source = "import os.path\nimport numpy as np\nfrom sklearn.model_selection import x\nfrom penguins import io\n"
    source += "def f():\n    import PIL.Image\n    from __future__ import annotations\n    from . import y\n"
    (tmp_path / "m.py").write_text(source)
    assert third_party_imports([tmp_path / "m.py"]) == {"numpy", "sklearn", "PIL"}
