"""What every benchmark measures with: wall time, the load average beside it, time split at marks, and an
environment in which DVC's lines arrive when printed (to be timed)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from tools.repo.run import ENV

STREAM_ENV = {**ENV, "PYTHONUNBUFFERED": "1"}  # DVC's lines must arrive when printed, to be timed


def timed(action: Callable[[], object]) -> float:
    """Seconds (wall) that ``action()`` takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def load() -> str:
    """The load average (1/5/15 min), e.g. "1.3/1.8/2.4": benchmarks print it with their figures."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def spans(marks: list[tuple[str, float]], total: float) -> dict[str, float]:
    """Seconds per part from [(part, started at)] marks and the end time ``total`` (a part may recur: summed)."""
    parts: dict[str, float] = {}
    for (name, at), (_, until) in zip(marks, [*marks[1:], ("end", total)], strict=True):
        parts[name] = parts.get(name, 0.0) + until - at
    return parts
