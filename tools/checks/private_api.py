"""private_api: private DVC, DVCLive, Hydra and CPython APIs are used only inside the two fence modules.

    python -m tools.checks.private_api    exit 1 naming file:line of each use outside the fences (make lint)

The fences are penguins/internals.py (the pipeline's side: DVCLive, CPython's atexit) and tools/repo/internals.py
(the tools' side: DVC, Hydra); each call there names the version it was checked against and has a canary test.
Anywhere else in penguins/, stages/, tools/ and tasks.py this check refuses:

- an import of `dvc` or `dvc.*` other than `dvc.api`, and any import of `hydra` or `hydra.*`;
- the import of a private name or module of DVC, DVCLive, Hydra or the standard library (`from atexit import
  _run_exitfuncs`, `import dvclive._utils`, `from dvc.api import _x`);
- a private attribute (a name starting with `_`, not a dunder), read as `obj._x` or `getattr(obj, "_x")` (also
  hasattr, setattr, delattr), of a watched object: a DVC, DVCLive, Hydra or standard library module, a builtin
  exception, or a name bound in the same file to an object from one. A small data flow over the file finds those
  names: imports; assignments (`x = Live()`, `a, b = atexit, sys`, `self.live = Live()`, `d[k] = sys`, walrus);
  `with ... as`, `for`, comprehensions, `except ... as`; parameters annotated with a watched type (`live: Live`,
  `Live | None`, quoted) or defaulting to a watched object; class fields annotated with one and functions (or
  properties) returning one;
- in a subclass of a watched class, a private attribute of `self` or `super()`: any, for a DVC, DVCLive or Hydra
  base; for a standard library base, only one the base defines (its class attributes, and its instances' as its
  source assigns them), so `self._mine` in an argparse.ArgumentParser subclass is the subclass's own.

`os._exit` and named tuples' `_replace`, `_asdict`, ... are public (documented as such). tests/ is exempt: a
canary test must name the private parts it guards. Imports are read with the stage-deps reader
(tools.checks.stage_deps.imports); only the standard library modules a class here subclasses are imported, and
nothing of the project is run.

Not seen: names are per file, not per scope (a name bound to a watched object anywhere in a file is watched all
through it, which errs towards refusing); what flows through a call of the project's own (`x = helper(sys)`),
through another file, or through an instance of a subclass (`CliParser()._x`); a subclass of a subclass defined
here; `getattr` with a computed name; `match` captures; top-level private stdlib modules (`_thread`).
"""

from __future__ import annotations

import argparse
import ast
import builtins
import functools
import importlib
import inspect
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from tools.checks.stage_deps import imports
from tools.repo.run import ROOT

FENCES = ("penguins/internals.py", "tools/repo/internals.py")
CHECKED = ("penguins", "stages", "tools", "tasks.py")
PRIVATE_PACKAGES = ("dvc", "dvclive", "hydra")  # whose private attributes are fenced (dvclive's public API is free)
PUBLIC_UNDERSCORE = {("os", "_exit")}  # documented as public
BUILTIN_EXCEPTIONS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}
TYPING_MODULES = {"typing", "typing_extensions", "collections.abc"}  # Any, Optional, Iterable: not objects of theirs
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
    if (module == "dvc" or module.startswith("dvc.")) and not (full == "dvc.api" or full.startswith("dvc.api.")):
        return f"import of {full}: only dvc.api is DVC's public Python API (fence: tools/repo/internals.py)"
    root, *inner = full.split(".")  # a private name or module below the top: atexit's _run_exitfuncs, dvclive's _utils
    if _watched_module(module) and any(map(_private, inner)) and (root, name) not in PUBLIC_UNDERSCORE:
        return f"import of private {full} (fences: {', '.join(FENCES)})"
    return None


def _dotted(node: ast.expr) -> str | None:
    """The names of a chain, its calls and subscripts stepped over: `a.b.c` for a.b.c and for a(...).b[0].c."""
    parts = []
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
        node = node.func if isinstance(node, ast.Call) else node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None


def _lookup(watched: dict[str, str], node: ast.expr) -> str | None:
    """The watched module a chain starts from: its shortest prefix that is watched (`self.live` in self.live.x)."""
    parts = (_dotted(node) or "").split(".")
    return next((watched[key] for i in range(1, len(parts) + 1) if (key := ".".join(parts[:i])) in watched), None)


def _source(watched: dict[str, str], node: ast.expr | None) -> str | None:
    """The watched module a value may come from: a chain built on one, or a part of a literal (`[sys]`,
    `{"a": sys}`), of `x if c else y`, `x or y`, `(y := x)`, `await x`, `*x`."""
    if isinstance(node, ast.Starred | ast.NamedExpr | ast.Await):
        return _source(watched, node.value)
    parts: list[ast.expr | None] = []
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        parts = list(node.elts)
    elif isinstance(node, ast.Dict | ast.BoolOp):
        parts = list(node.values)
    elif isinstance(node, ast.IfExp):
        parts = [node.body, node.orelse]
    elif node is not None:
        return _lookup(watched, node)
    return next(filter(None, (_source(watched, part) for part in parts)), None)


def _annotated(watched: dict[str, str], node: ast.expr | None) -> str | None:
    """The watched module a type annotation names (`Live`, `Live | None`, `Optional["Live"]`, `list[Live]`);
    typing's and collections.abc's own names do not count (`Any`, `Iterable[str]`)."""
    for inner in ast.walk(node) if node is not None else ():
        if isinstance(inner, ast.Constant) and isinstance(inner.value, str):  # a quoted annotation
            try:
                module = _annotated(watched, ast.parse(inner.value, mode="eval").body)
            except SyntaxError:
                module = None
        else:
            module = _lookup(watched, inner) if isinstance(inner, ast.Name | ast.Attribute) else None
        if module and module not in TYPING_MODULES:
            return module
    return None


class Binding(NamedTuple):
    """`target` (a name, `self.attr`, or an assignment target) is bound to `value`, or to an instance of the type
    annotation `value` when `annotation`."""

    target: ast.expr | str
    value: ast.expr | None
    annotation: bool = False


def _function_bindings(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[Binding]:
    """Its parameters, by annotation (`def f(live: Live)`) or default (`lambda m=atexit: m._x`), and its own name
    by its return annotation (`def make() -> Live`: a call to make() is a Live)."""
    args = node.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, *filter(None, [args.vararg, args.kwarg])]
    found = [Binding(arg.arg, arg.annotation, annotation=True) for arg in every]
    positional = [*args.posonlyargs, *args.args][len(args.posonlyargs) + len(args.args) - len(args.defaults) :]
    defaults = [*zip(positional, args.defaults, strict=True), *zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    found += [Binding(arg.arg, value) for arg, value in defaults if value is not None]
    if not isinstance(node, ast.Lambda):
        found.append(Binding(node.name, node.returns, annotation=True))
    return found


def _class_bindings(node: ast.ClassDef) -> list[Binding]:
    """`self.live` for a field `live: Live` in its body and for a method (a property) `def live(self) -> Live`."""
    found = []
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            found.append(Binding(f"self.{item.target.id}", item.annotation, annotation=True))
        elif isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(Binding(f"self.{item.name}", item.returns, annotation=True))
    return found


def _bindings(tree: ast.AST) -> list[Binding]:
    """Every place a name (or an attribute, `self.live = ...`) is bound in ``tree``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            found += [Binding(target, node.value) for target in node.targets]
        elif isinstance(node, ast.AnnAssign):
            found += [Binding(node.target, node.value), Binding(node.target, node.annotation, annotation=True)]
        elif isinstance(node, ast.NamedExpr):
            found.append(Binding(node.target, node.value))
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):  # for module in sys.modules.values()
            found.append(Binding(node.target, node.iter))
        elif isinstance(node, ast.With | ast.AsyncWith):
            found += [Binding(item.optional_vars, item.context_expr) for item in node.items if item.optional_vars]
        elif isinstance(node, ast.ExceptHandler) and node.name:  # except OSError as error
            found.append(Binding(node.name, node.type, annotation=True))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            found += _function_bindings(node)
        if isinstance(node, ast.ClassDef):
            found += _class_bindings(node)
    return found


def _targets(target: ast.expr | str, value: ast.expr | None) -> list[tuple[str, ast.expr | None]]:
    """(name, value) per name ``target`` binds: `a, b = x, y` pairwise; `a, b = f()` both to f(); `d[k] = x` binds d."""
    if isinstance(target, str):
        return [(target, value)]
    if isinstance(target, ast.Tuple | ast.List):
        pairwise = isinstance(value, ast.Tuple | ast.List) and len(value.elts) == len(target.elts)
        values = value.elts if pairwise else [value] * len(target.elts)  # type: ignore[union-attr]
        return [pair for t, v in zip(target.elts, values, strict=True) for pair in _targets(t, v)]
    if isinstance(target, ast.Starred):
        return _targets(target.value, value)
    if isinstance(target, ast.Subscript):
        return _targets(target.value, value)
    name = _dotted(target)
    return [(name, value)] if name else []


def _watched_names(tree: ast.AST) -> dict[str, str]:
    """{name or `self.attr` bound in this file: the watched module it comes from}: names imported from a watched
    module, and names bound (assigned, annotated, iterated over, caught, ...) to an object from one."""
    watched = dict.fromkeys(BUILTIN_EXCEPTIONS, "builtins")  # except OSError as error: error._x
    watched |= {i.bound: i.module for i in imports(tree) if _watched_module(i.module)}
    bindings = _bindings(tree)
    changed = True
    while changed:  # an instance made from an instance: repo = Repo(); index = repo.index
        changed = False
        for binding in bindings:
            for name, value in _targets(binding.target, binding.value):
                if name in watched:
                    continue
                module = _annotated(watched, value) if binding.annotation else _source(watched, value)
                if module is not None:
                    watched[name] = module
                    changed = True
    return watched


def _private_uses(tree: ast.AST) -> Iterator[tuple[int, ast.expr, str]]:
    """(line, object, name) per private attribute read or written: obj._x, and getattr(obj, "_x") (also hasattr,
    setattr, delattr) with the name written out."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            yield node.lineno, node.value, node.attr
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr", "setattr", "delattr")
            and len(node.args) >= 2
            and isinstance(name := node.args[1], ast.Constant)
            and isinstance(name.value, str)
            and _private(name.value)
        ):
            yield node.lineno, node.args[0], name.value


@functools.cache
def _defined_by(module: str, path: str) -> frozenset[str] | None:
    """The attributes a standard library class defines, its instances' included (`self._actions = []` in its
    source), or None if it cannot be imported. Only the standard library is imported."""
    try:
        found = importlib.import_module(module)
        for attr in path.split("."):
            found = getattr(found, attr)
    except (ImportError, AttributeError):
        return None
    names = set(dir(found))
    for cls in getattr(found, "__mro__", ()):
        try:
            source = textwrap.dedent(inspect.getsource(cls))
        except (OSError, TypeError):  # a class written in C: dir() is all there is
            continue
        names.update(
            n.attr for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Attribute) and _dotted(n.value) == "self"
        )
    return frozenset(names)


def _subclass_problems(tree: ast.AST, watched: dict[str, str], fences: str) -> list[tuple[int, str]]:
    """Private attributes of `self` and `super()` in subclasses of watched classes: any, for a DVC, DVCLive or
    Hydra base; for a standard library base, only those the base defines (a subclass's own `self._x` is its own)."""
    # where each name comes from: `from M import N` is (M, "N"), `import M` is (M, ""), a builtin (builtins, its name)
    imported = {n: ("builtins", n) for n in BUILTIN_EXCEPTIONS} | {
        i.bound: (i.module, i.name or "") for i in imports(tree)
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for base in node.bases:
            module = _lookup(watched, base)
            if module is None:
                continue
            defined = None  # every private name counts
            dotted, package = _dotted(base) or "", module.split(".")[0]
            first, _, rest = dotted.partition(".")
            if package not in PRIVATE_PACKAGES and first in imported:  # from M import N: N.rest; import M: rest
                origin, attr = imported[first]
                defined = _defined_by(origin, ".".join(filter(None, [attr, rest])))
            found += [
                (line, f"private attribute .{name} of {package}'s {node.name} base (fences: {fences})")
                for line, obj, name in _private_uses(node)
                if _dotted(obj) in ("self", "super")
                and name not in NAMEDTUPLE_API
                and (defined is None or name in defined)
            ]
    return found


def problems_in(source: str, path: str) -> list[str]:
    """One `path:line: what` per private use in ``source``."""
    tree = ast.parse(source)
    fences = ", ".join(FENCES)
    found = [(item.line, why) for item in imports(tree) if (why := _refused_import(item.module, item.name)) is not None]
    watched = _watched_names(tree)
    found += _subclass_problems(tree, watched, fences)
    for line, obj, name in _private_uses(tree):
        module = _lookup(watched, obj)
        if module is None or (module.split(".")[0], name) in PUBLIC_UNDERSCORE or name in NAMEDTUPLE_API:
            continue
        what = _dotted(obj) or "object"
        found.append((line, f"private attribute .{name} of {module.split('.')[0]}'s {what} (fences: {fences})"))
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
