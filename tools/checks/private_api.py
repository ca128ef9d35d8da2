"""private_api: private DVC, DVCLive, Hydra and CPython APIs are used only inside the two fence modules.

    python -m tools.checks.private_api    exit 1 naming file:line of each use outside the fences (make lint)

The fences are penguins/internals.py (the pipeline's side: DVCLive, CPython's atexit) and tools/repo/internals.py
(the tools' side: DVC, Hydra); each call there names the version it was checked against and has a canary test.
Anywhere else in penguins/, stages/, tools/ and tasks.py this check refuses:

- an import of `dvc` or `dvc.*` other than `dvc.api`, and any import of `hydra` or `hydra.*`;
- a private attribute (a name starting with `_`, not a dunder) of a DVC, DVCLive or Hydra module, or of an object
  from one (a name imported from it, an instance made from one, `with ... as` one, `self` and `super()` in a
  subclass of one), or of a CPython standard library module (`atexit._run_exitfuncs`, `sys._getframe`), and the
  import of such a private name.

`os._exit` and named tuples' `_replace`, `_asdict`, ... are public (documented as such). tests/ is exempt: a
canary test must name the private parts it guards. Imports are read with the stage-deps reader
(tools.checks.stage_deps.imports); nothing is executed. What is reached through getattr() with a string is not
seen.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable
from pathlib import Path

from tools.checks.stage_deps import imports
from tools.repo.run import ROOT

FENCES = ("penguins/internals.py", "tools/repo/internals.py")
CHECKED = ("penguins", "stages", "tools", "tasks.py")
PRIVATE_PACKAGES = ("dvc", "dvclive", "hydra")  # whose private attributes are fenced (dvclive's public API is free)
PUBLIC_UNDERSCORE = {("os", "_exit")}  # documented as public
NAMEDTUPLE_API = {"_replace", "_asdict", "_fields", "_make", "_field_defaults"}  # public, on any named tuple


def _watched_module(module: str) -> bool:
    root = module.split(".", maxsplit=1)[0]
    return root in PRIVATE_PACKAGES or root in sys.stdlib_module_names


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _refused_import(module: str, name: str | None) -> str | None:
    """Why an import is refused outside the fences, or None."""
    full = f"{module}.{name}" if name else module
    if module == "hydra" or module.startswith("hydra."):
        return f"import of {full}: Hydra is private here (fence: tools/repo/internals.py)"
    if module == "dvc" or module.startswith("dvc."):
        if full == "dvc.api" or full.startswith("dvc.api."):
            return None
        return f"import of {full}: only dvc.api is DVC's public Python API (fence: tools/repo/internals.py)"
    public = (module.split(".", maxsplit=1)[0], name) in PUBLIC_UNDERSCORE
    if name and _private(name) and _watched_module(module) and not public:
        return f"import of private {full} (fences: {', '.join(FENCES)})"
    return None


def _root_name(node: ast.expr) -> str | None:
    """The name an attribute chain starts from: `a` for a.b.c and for a(...).b."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _watched_names(tree: ast.AST) -> dict[str, str]:
    """{name bound in this file: the module it comes from}, for names bound to a watched module or an object from
    one: imported names, and names assigned (=, with ... as) from an expression built on one."""
    watched = {i.bound: i.module for i in imports(tree) if _watched_module(i.module)}
    changed = True
    while changed:  # an instance made from an instance: repo = Repo(); index = repo.index
        changed = False
        for node in ast.walk(tree):
            pairs: Iterable[tuple[ast.expr, ast.expr | None]] = []
            if isinstance(node, ast.Assign):
                pairs = [(target, node.value) for target in node.targets]
            elif isinstance(node, ast.AnnAssign | ast.NamedExpr):
                pairs = [(node.target, node.value)]
            elif isinstance(node, ast.With | ast.AsyncWith):
                pairs = [(item.optional_vars, item.context_expr) for item in node.items if item.optional_vars]
            for target, value in pairs:
                source = _root_name(value) if value is not None else None
                if isinstance(target, ast.Name) and source in watched and target.id not in watched:
                    watched[target.id] = watched[source]
                    changed = True
    return watched


def problems_in(source: str, path: str) -> list[str]:
    """One `path:line: what` per private use in ``source``."""
    tree = ast.parse(source)
    fences = ", ".join(FENCES)
    found = [(item.line, why) for item in imports(tree) if (why := _refused_import(item.module, item.name)) is not None]
    watched = _watched_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(_root_name(base) in watched for base in node.bases):
            package = next(watched[r] for b in node.bases if (r := _root_name(b)) in watched).split(".")[0]
            found += [
                (inner.lineno, f"private attribute .{inner.attr} of {package}'s {node.name} base (fences: {fences})")
                for inner in ast.walk(node)
                if isinstance(inner, ast.Attribute) and _private(inner.attr) and _root_name(inner) in ("self", "super")
            ]
        if not (isinstance(node, ast.Attribute) and _private(node.attr)):
            continue
        root = _root_name(node)
        if root not in watched or (root, node.attr) in PUBLIC_UNDERSCORE or node.attr in NAMEDTUPLE_API:
            continue
        package = watched[root].split(".")[0]
        found.append((node.lineno, f"private attribute .{node.attr} of {package}'s {root} (fences: {fences})"))
    return [f"{path}:{line}: {why}" for line, why in sorted(set(found))]


def checked_files(root: Path = ROOT) -> list[Path]:
    files = []
    for name in CHECKED:
        target = root / name
        files += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    return [f for f in files if f.relative_to(root).as_posix() not in FENCES]


def problems(root: Path = ROOT) -> list[str]:
    found = []
    for path in checked_files(root):
        found += problems_in(path.read_text(encoding="utf-8"), path.relative_to(root).as_posix())
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    found = problems()
    for line in found:
        print(f"error: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
