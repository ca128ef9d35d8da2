"""The grid of a sweep: -S values parsed with Hydra's grammar (as `dvc exp run -S`), expanded, checked,
named after their values, and dealt to shards."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from penguins.errors import PipelineError
from penguins.params import parse_params
from penguins.paths import PARAMS_FILE
from tools.repo import internals

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,59}")  # one git ref component, short enough to read
DIGITS = 10  # hex digits of the params hash in a name: a collision in 1,000 experiments has odds ~5e-7


@dataclass(frozen=True)
class Experiment:
    """One point of the grid: its name, the `-S` overrides that make it, and their parsed values."""

    name: str
    overrides: tuple[str, ...]
    values: tuple[tuple[str, Any], ...]

    def describe(self) -> str:
        return " ".join(self.overrides)


def grid_overrides(grid: Sequence[str]) -> list[str]:
    """The -S values without their optional `params.yaml:` prefix; another params file is refused."""
    if not grid:
        raise PipelineError("no grid: give at least one -S KEY=VALUES, e.g. -S 'train.seed=0,1,2'")
    overrides = []
    for item in grid:
        head, sep, value = item.partition("=")
        path, colon, key = head.rpartition(":")
        if colon and path != PARAMS_FILE.name:
            raise PipelineError(f"grid: -S {item!r} sets a param in {path}; a sweep sets params.yaml keys only")
        overrides.append(f"{key}{sep}{value}" if colon else item)
    return overrides


def expand_grid(grid: Sequence[str]) -> list[tuple[str, ...]]:
    """Every experiment of the grid as a tuple of single-valued overrides, expanded by hydra-core as
    `dvc exp run --queue -S` expands it (a product over the -S options, in their order)."""
    overrides = grid_overrides(grid)
    for item in overrides:
        try:
            kind = internals.override_problem(item)
        except ValueError as exc:
            expected = "KEY=VALUE, KEY=A,B,C, KEY=range(...) or KEY=choice(...)"
            raise PipelineError(f"grid: cannot parse -S {item!r} ({exc}); expected {expected}") from None
        if kind:
            raise PipelineError(f"grid: -S {item!r}: {kind} is not a list of values; use A,B,C, range() or choice()")
    refuse_repeated_keys(grid, [internals.override_key(item) for item in overrides])
    try:
        sweeps = internals.hydra_sweeps(PARAMS_FILE.name, overrides)
    except ValueError as exc:
        raise PipelineError(f"grid: {exc}") from None
    if not sweeps:  # an empty range() or choice() makes the whole product empty: a sweep of nothing
        empty = next(item for item in overrides if not internals.hydra_sweeps(PARAMS_FILE.name, [item]))
        raise PipelineError(
            f"grid: -S {empty!r} expands to no value, so the sweep has no experiment; "
            "give at least one value (range(START, STOP) counts up from START: range(0,5) is 0 to 4)"
        )
    return [tuple(sweep) for sweep in sweeps]


def refuse_repeated_keys(grid: Sequence[str], keys: Sequence[str]) -> None:
    """A key set by two -S options (whatever their spelling: `params.yaml:train.epochs`, `+train.epochs`), or a
    section and a key inside it, is refused: Hydra applies the options in order, so the later one silently
    replaces the earlier (`train.epochs=1,2 train.epochs=3` is one experiment, epochs 3)."""
    for later, key in enumerate(keys):
        for earlier, other in enumerate(keys[:later]):
            if key == other:
                raise PipelineError(
                    f"grid: -S {grid[earlier]!r} and -S {grid[later]!r} both set {key} (only the last would count); "
                    f"give all its values in one -S, e.g. -S '{key}=A,B,C'"
                )
            if key.startswith(f"{other}.") or other.startswith(f"{key}."):
                section, inner = sorted((key, other), key=len)
                raise PipelineError(
                    f"grid: -S {grid[earlier]!r} and -S {grid[later]!r} overlap ({section} holds {inner}; the later "
                    "would replace what they share); set each key in one -S only"
                )


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """params.yaml's mapping with the overrides applied as `dvc exp run -S` applies them. A key that is not in
    the file is added (DVC refuses it), so that parse_params names it with the validate_params stage's message."""
    return internals.apply_overrides(raw, overrides)


def lookup(tree: Mapping[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def experiment_name(sweep: str, values: Iterable[tuple[str, Any]]) -> str:
    """NAME-<hash of the param values>: the same values give the same name whatever their spelling
    (1e-2 or 0.01) and whatever the order of the -S options."""
    canonical = json.dumps(sorted(values), sort_keys=True, separators=(",", ":"))
    return f"{sweep}-{hashlib.sha256(canonical.encode()).hexdigest()[:DIGITS]}"


def check_sweep_name(name: str) -> str:
    if not NAME_RE.fullmatch(name) or ".." in name or name.endswith((".", ".lock")):
        raise PipelineError(
            f"--name {name!r} cannot start experiment names: use 1-60 letters, digits, '.', '_' or '-', "
            "beginning with a letter or digit"
        )
    return name


def plan_sweep(raw_params: Mapping[str, Any], grid: Sequence[str], sweep: str) -> list[Experiment]:
    """Expand and check the grid: each experiment's params must pass parse_params, the validate_params
    stage's check, before anything runs. Returns the experiments sorted by name."""
    check_sweep_name(sweep)
    experiments: dict[str, Experiment] = {}
    for overrides in expand_grid(grid):
        where = f" (grid experiment: {' '.join(overrides)})"
        applied = apply_overrides(raw_params, overrides)
        try:
            parse_params(applied, PARAMS_FILE.name)
        except PipelineError as exc:
            raise PipelineError(f"{exc}{where}") from None
        keys = [internals.override_key(o) for o in overrides]  # as Hydra reads it, as the repeated-key check does
        values = tuple((key, lookup(applied, key)) for key in keys)
        exp = Experiment(experiment_name(sweep, values), tuple(overrides), values)
        if exp.name in experiments:
            raise PipelineError(f"grid: the same experiment is listed twice: {exp.describe()}; drop the repeated value")
        experiments[exp.name] = exp
    return sorted(experiments.values(), key=lambda e: e.name)


def grid_keys(experiments: Sequence[Experiment]) -> list[str]:
    return list(dict.fromkeys(key for exp in experiments for key, _ in exp.values))


def parse_shard(text: str) -> tuple[int, int]:
    """'1/3' -> (1, 3): shard 1 of 3, counted from 0 like SLURM_ARRAY_TASK_ID and a CI matrix index."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise PipelineError(f"--shard {text!r}: expected I/N with 0 <= I < N, e.g. 0/4 for the first of four")
    return int(match[1]), int(match[2])


def shard_index(experiments: Sequence[Experiment], count: int) -> dict[str, int]:
    """{name: shard}: the experiments sorted by name and dealt round-robin, so shard sizes differ by at
    most one, and the -S order or a value's spelling changes nothing."""
    return {exp.name: i % count for i, exp in enumerate(sorted(experiments, key=lambda e: e.name))}


def shard_of(experiments: Sequence[Experiment], index: int, count: int) -> list[Experiment]:
    shards = shard_index(experiments, count)
    return [exp for exp in sorted(experiments, key=lambda e: e.name) if shards[exp.name] == index]
