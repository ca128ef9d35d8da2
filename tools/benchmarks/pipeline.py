"""Time the pipeline and experiment workflows in a fresh clone; print a Markdown table.

    python -m tools.benchmarks.pipeline        (or: make bench)

Measures, in one run on this machine: importing TensorFlow; a cold `dvc repro`; a no-op `dvc repro`;
one `dvc exp run -S train.epochs=150`; four queued experiments run with `dvc queue start -j 2` and
four with `-j 1`; and, as a reference for the fixed costs of processes and DVC, the same work done in
one plain Python process (every stage's main() in a row, then four train+evaluate+figures runs).
It is a benchmark, not a test: nothing is asserted. How long it takes: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

from tools.benchmarks.measure import timed
from tools.repo.clones import clone_worktree, run_queue
from tools.repo.run import BIN, dvc, run

IN_PROCESS = """
import time
from pathlib import Path
from tools.repo.internals import modify_yaml
from stages import validate_params, fetch, explore, clean, encode, split, train, evaluate, figures
start = time.perf_counter()
for stage in (validate_params, fetch, explore, clean, encode, split, train, evaluate, figures):
    stage.main([])
pipeline = time.perf_counter() - start
start = time.perf_counter()
params_file = Path("params.yaml")
for seed in (11, 12, 13, 14):
    with modify_yaml(params_file) as params:  # as `dvc exp run -S train.seed=...` writes it
        params["train"]["seed"] = seed
    for stage in (train, evaluate, figures):  # what a train-param experiment re-runs
        stage.main([])
print(pipeline, time.perf_counter() - start)
"""


def queue_seeds(repo: Path, seeds: str, jobs: int) -> float:
    """Queue one experiment per seed (seeds not run before in this clone, so DVC's run-cache cannot skip
    them), run them; seconds from `dvc queue start` until all are done (stopping the workers not counted)."""
    dvc("exp", "run", "--queue", "-S", f"train.seed={seeds}", cwd=repo)
    status, seconds = run_queue(repo, jobs)
    if "Failed" in status:
        raise RuntimeError(f"a queued experiment failed: see `dvc queue logs` in {repo}\n{status}")
    return seconds


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="penguins-bench-") as tmp:
        repo = clone_worktree(Path(tmp) / "dvc")
        python = str(BIN / "python")
        rows.append(
            (
                "`import tensorflow` (via penguins.modeling), for scale",
                timed(lambda: run([python, "-c", "import penguins.modeling"], cwd=repo)),
            )
        )
        rows.append(("cold `dvc repro` (fresh clone, every stage)", timed(lambda: dvc("repro", cwd=repo))))
        rows.append(("no-op `dvc repro` (everything up to date)", timed(lambda: dvc("repro", cwd=repo))))
        rows.append(
            (
                "`dvc exp run -S train.epochs=150` (train, evaluate, figures)",
                timed(lambda: dvc("exp", "run", "-S", "train.epochs=150", cwd=repo)),
            )
        )
        rows.append(("4 queued experiments, `dvc queue start -j 2`", queue_seeds(repo, "1,2,3,4", jobs=2)))
        rows.append(("4 queued experiments, `dvc queue start -j 1`", queue_seeds(repo, "5,6,7,8", jobs=1)))

        reference = clone_worktree(Path(tmp) / "plain")
        pipeline_s, four_s = map(float, run([python, "-c", IN_PROCESS], cwd=reference).stdout.split())
        rows.append(("reference: every stage's main() in one Python process", pipeline_s))
        rows.append(("reference: 4 train+evaluate+figures runs in that same process", four_s))

    print(
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()} ({sys.platform})\n"
    )
    print("| what | seconds |\n| --- | ---: |")
    for what, seconds in rows:
        print(f"| {what} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
