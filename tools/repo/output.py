"""What git's and DVC's output says: the one error line a message quotes, the paths a checkout could not restore."""

from __future__ import annotations

# last_error, re-exported for the tools: its home is penguins.dvc_output (the notebooks' dvc quotes it too; penguins
# never imports tools)
from penguins.dvc_output import last_error  # noqa: F401


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
