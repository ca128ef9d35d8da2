"""What git's and DVC's output says: the one error line a message quotes, the paths a checkout could not restore."""

from __future__ import annotations

import re

# DVC wraps the cause of a failed transfer in these; the cause is what a user can act on.
DVC_WRAPPERS = re.compile(r"^(unexpected error|failed to (push|pull|fetch) data (to|from) the cloud) - ")


def last_error(text: str, *, bare: bool = False) -> str:
    """The first error line of a command's output (git's `fatal:`, DVC's `ERROR:`, a stage's `error:`), else
    its last line but DVC's support boilerplate. ``bare``: without `ERROR:` and DVC's wrapping phrase."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and "dvc.org/support" not in line]
    errors = [line for line in lines if line.startswith(("error:", "ERROR:", "fatal:"))]
    line = errors[0] if errors else (lines[-1] if lines else "(no output)")
    return DVC_WRAPPERS.sub("", line.removeprefix("ERROR:").strip()) if bare else line


def checkout_failures(output: str) -> list[str]:
    """The paths `dvc checkout`/`dvc pull` list after 'Checkout failed for following targets:' (one per line)."""
    _, found, rest = output.partition("Checkout failed for following targets:")
    if not found:
        return []
    paths = []
    for line in map(str.strip, rest.splitlines()):
        if line.startswith(("Is your cache", "<http", "ERROR:", "WARNING:")):
            break
        if line:
            paths.append(line)
    return paths
