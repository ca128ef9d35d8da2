"""Asserting a fault's message: the one line a PipelineError says, and what an atomic write left behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from penguins.errors import PipelineError


def message_of(call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """The message of the PipelineError that call(*args, **kwargs) raises; it must be one line."""
    with pytest.raises(PipelineError) as err:
        call(*args, **kwargs)
    text = str(err.value)
    assert "\n" not in text
    return text


def leftovers(directory: Path) -> list[str]:
    """Hidden temporaries (penguins.io's atomic writes) left in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))
