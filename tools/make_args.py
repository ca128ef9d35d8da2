"""How a make target hands the user's variables to its tool: as the same words, never as shell code.

    python -m tools.make_args PROGRAM [ARG | @NAME ...]      (the Makefile's recipes; standard library only)

The Makefile exports every variable of VARIABLES unexpanded (make's `$(value NAME)`: a `$(date)` in a git
branch name stays `$(date)`) and each recipe runs its tool through this module. An argument `@NAME` becomes
NAME's words, as VARIABLES says; every other argument is passed on as it is. No shell ever sees a value, so
`;`, `|`, `>`, `&`, `$(...)` and backquotes in a branch, an experiment name or an option reach the tool as
characters. The tool replaces this process (exec), so the target's exit status is the tool's.

A value that cannot be split (an unclosed quote in ARGS) is refused in one `make: error:` line, status 2.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence


class MakeArgsError(Exception):
    """A value refused, in one line."""


def shell_words(name: str, value: str) -> list[str]:
    """Options, split as a shell splits them (quotes group words) but with nothing expanded or run."""
    try:
        return shlex.split(value)
    except ValueError as exc:
        raise MakeArgsError(
            f"{name}={value!r} cannot be split into words ({exc}); close the quote, e.g. {name}=\"-k 'a or b'\""
        ) from None


def names(name: str, value: str) -> list[str]:
    """Git revisions, experiment names, numbers: separated by whitespace, which none of them can hold (a quote
    in a git branch name is one of its characters)."""
    return value.split()


def one(name: str, value: str) -> list[str]:
    """One value, whatever characters it holds."""
    return [value]


def optional(option: str) -> Callable[[str, str], list[str]]:
    """``option VALUE`` when the value is not empty, nothing otherwise."""
    return lambda name, value: [option, value] if value else []


def each(option: str) -> Callable[[str, str], list[str]]:
    """``option WORD`` for every whitespace-separated word."""
    return lambda name, value: [word for axis in names(name, value) for word in (option, axis)]


# Every variable a user or CI hands to a target (the Makefile's RAW_VARS), and how its value becomes words.
VARIABLES: dict[str, Callable[[str, str], list[str]]] = {
    "ARGS": shell_words,  # a tool's options: ARGS="--over train.seed --md"
    "PYTEST_ARGS": shell_words,  # PYTEST_ARGS="-m 'not e2e'"
    "LOCK_ARGS": shell_words,  # LOCK_ARGS="--upgrade-package dvc"
    "REVS": names,  # REVS="main exp-a"
    "ROWS": names,  # ROWS="10000 100000"
    "GRID": each("-S"),  # GRID="train.seed=range(5) train.learning_rate=0.001,0.01": one -S per axis
    "BASE": optional("--base"),  # one git revision, or nothing: check_repro's default
    "SWEEP": one,
    "SHARDS": one,
    "SHARD": one,
    "JOBS": one,
}


def expand(argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """``argv`` with every ``@NAME`` of VARIABLES replaced by the words of ``env[NAME]`` (none when unset)."""
    out: list[str] = []
    for arg in argv:
        name = arg[1:] if arg.startswith("@") else None
        if name in VARIABLES:
            out.extend(VARIABLES[name](name, env.get(name, "")))
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        cmd = expand(args, os.environ)
    except MakeArgsError as exc:
        print(f"make: error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.flush()
    try:
        os.execvp(cmd[0], cmd)  # noqa: S606 (no shell: that is the point)
    except OSError as exc:
        print(f"make: error: cannot run {cmd[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 127
    return 0  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main())
