"""stage_deps: the project modules each stage imports, and whether dvc.yaml lists exactly those as deps.

    python -m tools.checks.stage_deps          print, per stage, the .py files its command imports (transitively)
    python -m tools.checks.stage_deps --check  exit 1 naming each stage and module dvc.yaml misses or lists in excess

A stage whose deps miss a module it imports gives stale results when that module changes (DVC does not
re-run it); one that lists a module it does not import re-runs for nothing. Imports are read with `ast`,
including those inside functions (e.g. the TensorFlow module imported only once inputs are checked), so
nothing is executed. Only this repository's modules count (penguins/, stages/, tools/).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from penguins.yamlio import read_yaml
from tools.repo.run import ROOT

PROJECT_PACKAGES = ("penguins", "stages", "tools")
STAGE_CMD = re.compile(r"\bpython\s+-m\s+([\w.]+)")


def module_file(module: str, root: Path = ROOT) -> Path | None:
    """The file of a project module (a package's __init__.py), or None if it is not one of ours."""
    if module.split(".", maxsplit=1)[0] not in PROJECT_PACKAGES:
        return None
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


class Import(NamedTuple):
    """One imported name: `import a.b` is (line, "a.b", None, "a"); `from a import b as c` is (line, "a", "b", "c")."""

    line: int
    module: str
    name: str | None
    bound: str


def imports(tree: ast.AST) -> list[Import]:
    """Every absolute `import` and `from ... import` in ``tree``, anywhere (inside functions too), with its line."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(node.lineno, a.name, None, a.asname or a.name.split(".")[0]) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [Import(node.lineno, node.module, a.name, a.asname or a.name) for a in node.names]
    return found


def imported_modules(source: str) -> set[str]:
    """Every module an `import` or `from ... import` in ``source`` may load: for `from pkg import name`,
    both pkg and pkg.name (name may be a submodule); for a.b.c also its parents a and a.b."""
    found: set[str] = set()
    for item in imports(ast.parse(source)):
        found.add(item.module)
        if item.name is not None:
            found.add(f"{item.module}.{item.name}")
    with_parents = set()
    for name in found:
        parts = name.split(".")
        with_parents.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return with_parents


def local_imports(module: str, root: Path = ROOT) -> set[Path]:
    """The project files ``module`` runs when imported: itself and, transitively, every project module it imports."""
    start = module_file(module, root)
    if start is None:
        raise ValueError(f"{module} is not a module of this repository")
    seen, todo = {start}, [start]
    while todo:
        for name in imported_modules(todo.pop().read_text()):
            path = module_file(name, root)
            if path is not None and path not in seen:
                seen.add(path)
                todo.append(path)
    return seen


def stage_modules(pipeline: Mapping[str, Any], root: Path = ROOT) -> dict[str, set[str]]:
    """{stage: the repository-relative .py files its `python -m` command imports}."""
    found = {}
    for stage, spec in pipeline["stages"].items():
        match = STAGE_CMD.search(str(spec["cmd"]))
        if match is None:
            continue
        found[stage] = {path.relative_to(root).as_posix() for path in local_imports(match.group(1), root)}
    return found


def third_party_imports(files: Iterable[Path]) -> set[str]:
    """The top-level names of what ``files`` import from outside the project and the standard library (the
    packages a Python must have to run them: stages/__init__.py's NEEDED is checked against these)."""
    names = {name.split(".")[0] for path in files for name in imported_modules(path.read_text())}
    return names - set(sys.stdlib_module_names) - set(PROJECT_PACKAGES) - {"__future__"}


def declared_code(deps: Iterable[Any]) -> set[str]:
    return {str(dep) for dep in deps if str(dep).endswith(".py")}


def problems(pipeline: Mapping[str, Any], root: Path = ROOT) -> list[str]:
    """One line per module a stage imports but does not list in deps, or lists but does not import."""
    lines = []
    for stage, modules in stage_modules(pipeline, root).items():
        declared = declared_code(pipeline["stages"][stage].get("deps", []))
        lines += [
            f"stage '{stage}' imports {m} but dvc.yaml does not list it in deps" for m in sorted(modules - declared)
        ]
        lines += [f"stage '{stage}' lists {m} in deps but does not import it" for m in sorted(declared - modules)]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with dvc.yaml's deps; exit 1 on a difference")
    args = parser.parse_args(argv)
    pipeline = read_yaml(ROOT / "dvc.yaml")
    if args.check:
        found = problems(pipeline)
        for line in found:
            print(f"error: {line}", file=sys.stderr)
        return 1 if found else 0
    for stage, modules in stage_modules(pipeline).items():
        print(
            f"{stage}:\n" + "".join(f"  - {m}\n" for m in sorted(modules, key=lambda m: (m.startswith("penguins"), m)))
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
