"""How long a test may wait for real work (a queued experiment, a server start) before it calls it a hang.

A fixed guess fails on a loaded machine: one of three fresh-clone `make test` runs beside a CPU-bound job (load
4-6 on 2 cores) failed. A wait's limit is what the work takes on an idle machine, times a margin, times how
many runnable processes share each core now (the 1-minute load average per logical CPU, at least 1).
"""

from __future__ import annotations

import os

MARGIN = 4  # an idle machine's time x 4 before a wait is called a hang


def load_factor() -> float:
    """Runnable processes per logical CPU now (1-minute load average), at least 1."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available (Windows)
        return 1.0
    return max(1.0, load / (os.cpu_count() or 1))


def limit_s(idle_s: float) -> float:
    """Seconds to wait for work that takes ``idle_s`` seconds on an idle machine, at the present load."""
    return idle_s * MARGIN * load_factor()
