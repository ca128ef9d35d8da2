"""The error type of every problem a user can fix (bad param, bad input file), printed as one line."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo


class PipelineError(Exception):
    """A problem the user can fix. `penguins.cli.run_cli` prints it as `error: ...` and exits with status 1."""


def warn(message: str) -> None:
    """Something the user should know that does not stop the stage (a bound applied, a doubtful input): one
    `warning: ...` line on stderr, which DVC shows."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Hint:
    """Field metadata (``Annotated[int, Field(le=...), Hint("...")]``): what to say after "must be less than ..."
    for a value above a field's upper bound (why the bound, and what to do), appended by one_line."""

    above: str


TOO_LARGE = ("less_than_equal", "less_than", "too_long")


def _field(model: type[BaseModel], loc: tuple[int | str, ...]) -> FieldInfo | None:
    """The field an error location points to (its innermost named field: train.hidden_units[1] -> hidden_units)."""
    found, fields = None, model.model_fields
    for part in loc:
        if isinstance(part, str) and part in fields:
            found = fields[part]
            annotation = found.annotation
            fields = (
                annotation.model_fields if isinstance(annotation, type) and issubclass(annotation, BaseModel) else {}
            )
    return found


def distinct_names(values: tuple[str, ...], key: str) -> None:
    """A pydantic rule: ``values`` (features, classes) name each thing once."""
    if len(set(values)) != len(values):
        duplicate = next(v for v in values if values.count(v) > 1)
        raise ValueError(f"{key} must be distinct names, {duplicate!r} is listed twice")


def _location(loc: tuple[int | str, ...]) -> str:
    """Pydantic's error location as a dotted key: ('train', 'hidden_units', 1) -> train.hidden_units[1]."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not re.fullmatch(r"function-.*|[a-z-]+\[.*\]", part):  # names of validators pydantic adds to loc
            text += f".{part}" if text else part
    return text


def one_line(error: ValidationError, model: type[BaseModel], source: str) -> str:
    """The first problem pydantic found in a mapping validated as ``model``, as one line naming the key and value."""
    first = error.errors(include_url=False)[0]
    key, kind, message = _location(first["loc"]), first["type"], first["msg"]
    if kind == "extra_forbidden":
        *parents, _ = key.split(".")
        fields = model
        for parent in parents:  # the known keys of the mapping that has the unknown one
            fields = fields.model_fields[parent].annotation
        where = f" in '{'.'.join(parents)}'" if parents else ""
        return f"{source}: unknown key {key} (known{where}: {', '.join(fields.model_fields)})"
    if kind == "missing":
        return f"{source}: {key} must be set"
    if kind == "value_error":  # a model's own rule: its message names the keys already
        return f"{source}: {message.removeprefix('Value error, ')}"
    text = re.sub(r"^(Input|String|Tuple|List) should", "must", message)
    text = re.sub(r" after validation, not \d+$", "", text)  # "must have at least 2 items"
    text = text.replace("a valid tuple", "a list").replace("a valid dictionary", "a mapping")
    text = re.sub(r" or instance of \w+$", "", text)
    field = _field(model, first["loc"]) if kind in TOO_LARGE else None
    hint = next((m.above for m in field.metadata if isinstance(m, Hint)), None) if field else None
    given = first["input"]
    # a long list (10,001 classes) is counted, not quoted: the line stays one readable line
    got = f"{len(given)} items" if isinstance(given, list | tuple) and len(given) > 20 else repr(given)
    return f"{source}: {key} {text}, got {got}" + (f"; {hint}" if hint else "")
