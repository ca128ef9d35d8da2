"""YAML read exactly as DVC reads it: params.yaml for the stages, dvc.yaml and dvc.lock for the tools.

ruamel.yaml's safe loader, YAML 1.2, as DVC's, so that the stages and DVC never disagree about a value: `1e-3`
and the `1e-05` that `dvc exp run -S train.learning_rate=0.00001` writes are numbers, `yes` is the string 'yes'.
PyYAML (YAML 1.1) would read `1e-3` as a string.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from penguins.errors import PipelineError


def read_yaml(path: Path) -> Any:
    """A YAML file (params.yaml, dvc.yaml, dvc.lock) read exactly as DVC reads it (see loads_yaml).
    Raises FileNotFoundError, and PipelineError for invalid YAML."""
    return loads_yaml(path.read_text(encoding="utf-8"), path.name)


def loads_yaml(text: str, source: str = "YAML text") -> Any:
    """YAML text read as DVC reads it (ruamel.yaml's safe loader, YAML 1.2; an empty text is an empty mapping),
    so that a value means here what it means to DVC. Invalid YAML is a one-line PipelineError."""
    from ruamel.yaml import YAML, YAMLError  # imported when a file is read: stages that read none start sooner

    try:
        return YAML(typ="safe").load(text) or {}
    except YAMLError as exc:
        raise PipelineError(f"{source} is not valid YAML: {_yaml_problem(exc)}") from None


def _yaml_problem(exc: BaseException) -> str:
    """ruamel's error as one line: "found duplicate key 'a' (line 2, column 1)"."""
    problem, mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    if not problem:
        return str(exc).strip().splitlines()[0]
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{problem.splitlines()[0].rstrip(' .')}{where}"


def refuse_aliases(text: str, source: str) -> None:
    """A YAML alias (*name, repeating an &name anchor) is refused: DVC expands every one when it reads
    params.yaml (for dvc.yaml's templating, before any stage runs), so a few nested aliases ("billion laughs")
    grow to gigabytes. Checked on parsing events, which expand nothing."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError as RuamelError
    from ruamel.yaml.events import AliasEvent

    try:
        alias = next((e for e in YAML(typ="safe").parse(text) if isinstance(e, AliasEvent)), None)  # as DVC parses
    except RuamelError:
        return  # invalid YAML: loads_yaml says where
    if alias is not None:
        raise PipelineError(
            f"{source}: line {alias.start_mark.line + 1}: YAML alias *{alias.anchor} refused; DVC expands "
            "aliases before any stage runs (nested ones grow to gigabytes): write the values out instead"
        )
