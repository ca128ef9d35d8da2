"""The pipeline's one fence around private APIs: DVCLive's and CPython's internals, and nothing else.

Each function names the version it was checked against; tests/unit/test_internals.py fails, naming the
function, when an upgrade changes what it relies on (run it first after upgrading dvclive or Python). The tools'
fence is tools/repo/internals.py; `make lint` (tools/checks/private_api.py) refuses a private call anywhere else.
"""

from __future__ import annotations

import atexit
import functools
import os
import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from dvclive import Live


@functools.cache
def pipeline_live() -> type[Live]:
    """DVCLive's Live, minus opening DVC's repository when DVC runs the stage (DVC_ROOT set): most of Live's start
    under DVC is importing dvc.repo, for what this logger never does there (save an experiment, write dvc.yaml,
    track its directory in git: dvc.yaml declares it an output; docs/benchmarks.md). Run by hand, it is DVCLive's
    own. Under DVC, Studio's live updates, unused here, then come from DVC_STUDIO_* environment variables only.

    Relies on Live._init_dvc, _init_dvc_pipeline, _init_dvc_file, _inside_dvc_pipeline and _dvc_file, checked
    against dvclive 3.49.1. The class is made on first use: dvclive is imported by train only, not by every stage
    that imports this module."""
    from dvclive import Live

    class PipelineLive(Live):
        def _init_dvc(self) -> None:
            if not os.environ.get("DVC_ROOT"):
                super()._init_dvc()
                return
            self._inside_dvc_pipeline = True
            self._init_dvc_pipeline()  # what DVCLive itself does first under DVC: dvc exp run or dvc repro, no saving
            self._dvc_file = self._init_dvc_file()  # and last: Live.dvc_file as it would be

    return PipelineLive


def exit_without_teardown() -> NoReturn:
    """End the process with status 0 as exit() would, minus the interpreter's teardown.

    The atexit handlers run and stdout/stderr are flushed; what is skipped is freeing every module and object one
    by one, which after TensorFlow, matplotlib or even pandas is a share of a stage's CPU (docs/benchmarks.md) and
    writes nothing: the outputs are complete and renamed into place (penguins.io) before main() returns.

    Relies on atexit._run_exitfuncs (what exit() runs first; os._exit alone would skip the handlers), checked
    against CPython 3.11 to 3.13."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)
