"""What a path the user typed is, when it is not the regular file expected: said in messages instead of "not found"
(a directory, a named pipe), without opening it (opening a FIFO blocks until someone writes to it)."""

from __future__ import annotations

import stat
from pathlib import Path

from penguins.paths import resolve

NOT_FOUND = "not found"


def file_problem(path: Path) -> str | None:
    """None for a regular file (or a link to one); else what ``path`` is: "not found", "a directory", ..."""
    try:
        mode = resolve(path).stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return NOT_FOUND
    except OSError as exc:
        return f"unreadable ({exc.strerror or type(exc).__name__})"
    kinds = {
        stat.S_ISREG: None,
        stat.S_ISDIR: "a directory",
        stat.S_ISFIFO: "a named pipe (FIFO)",
        stat.S_ISSOCK: "a socket",
    }
    return next((kind for test, kind in kinds.items() if test(mode)), "a device")


def require_file(path: Path, what: str, hint: str) -> None:
    """Raise one line if ``path`` is not a regular file: "models: is a directory, not a model file; <hint>"."""
    from penguins.errors import PipelineError

    problem = file_problem(path)
    if problem == NOT_FOUND:
        raise PipelineError(f"{path}: {what} not found; {hint}")
    if problem is not None and problem.startswith("unreadable"):
        raise PipelineError(f"{path}: {what} {problem}; {hint}")
    if problem is not None:
        raise PipelineError(f"{path}: is {problem}, not a {what}; {hint}")
