"""benchmarks.slurm: one grid on this machine with `dvc queue start -j 2` and as a SLURM job array of 2 tasks.

    python -m tools.benchmarks.slurm [--experiments 8] [--epochs E]

In one run, on a one-node cluster it starts (python -m tools.slurm up) and stops again: a source clone with
the pipeline run, a local DVC remote with its data and a bare git origin; then the grid train.seed=range(N)
  1. `dvc exp run --queue` + `dvc queue start -j 2` up to evaluate in a clone where the pipeline ran, until
     every experiment is recorded, plus `dvc exp show` (tools.benchmarks.sweep's measure);
  2. `sbatch --array=0-1 slurm/sweep.sbatch` (1 CPU per task) then `sbatch --wait --dependency=afterany:ID
     slurm/collect.sbatch`: from the first sbatch until the comparison is written, so with every task's
     clone, input pull and push, and the collect job;
  3. the same with SWEEP_CACHE (one DVC cache for both tasks), empty at the start;
  4. the same again with that cache now warm (another sweep name: new experiments, inputs already cached).
Wall seconds, with the load average before and after each (the machine may be shared), and the SLURM version.
A benchmark, not a test: nothing is asserted beyond every job completing.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tools import slurm
from tools.benchmarks.measure import load
from tools.benchmarks.sweep import one_machine_queue, sweep_origin
from tools.repo.run import ENV, run

TIMEOUT_S = 3600


def cgroup_cpu_s() -> float | None:
    """CPU seconds used so far by this process's cgroup (v1 cpuacct) and everything in it, SLURM's jobs
    included (slurmstepd is not our child, but stays in our cgroup); None when we are in the root cgroup.
    Run the benchmark in a cgroup of its own to get them (docs/benchmarks.md shows how)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(",") and path != "/":
            usage = Path("/sys/fs/cgroup/cpuacct", path.lstrip("/"), "cpuacct.usage")
            return int(usage.read_text()) / 1e9 if usage.exists() else None
    return None


def cpu_since(start: float | None) -> str:
    now = cgroup_cpu_s()
    return f"{now - start:.0f}" if now is not None and start is not None else "-"


def sbatch(cwd: Path, env: dict[str, str], *args: str) -> str:
    """sbatch --parsable ...; returns the job id. With --wait, returns when the job has ended."""
    proc = subprocess.run(
        ["sbatch", "--parsable", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
        check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"sbatch {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout.strip().split(";")[0]


def slurm_sweep(submit: Path, env: dict[str, str], grid: Sequence[str]) -> float:
    """The docs' two sbatch lines; seconds from the first until the collect job has ended."""
    sets = [arg for axis in grid for arg in ("-S", axis)]
    start = time.perf_counter()
    array = sbatch(submit, env, "--array=0-1", "slurm/sweep.sbatch", *sets)
    sbatch(submit, env, "--wait", f"--dependency=afterany:{array}", "slurm/collect.sbatch", *sets)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=8, help="size of the grid (seeds 0..N-1)")
    parser.add_argument("--epochs", type=int, help="train.epochs for every experiment (default: params.yaml's)")
    args = parser.parse_args(argv)
    grid = [f"train.seed=range({args.experiments})", *([f"train.epochs={args.epochs}"] if args.epochs else [])]
    with tempfile.TemporaryDirectory(prefix="penguins-slurm-bench-") as tmp:
        root = Path(tmp)
        state = root / "cluster"
        slurm.up(state, say=lambda _: None)
        try:
            machine = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
            print(f"Machine: {machine}, {slurm.version(state)}")
            print(f"Load average (1/5/15 min) at start {load()}; grid {' '.join(grid)}\n")
            print("| how | wall seconds | CPU seconds | load before -> after |\n| --- | ---: | ---: | --- |")
            origin, _ = sweep_origin(root)
            submit = root / "submit"
            run(["git", "clone", "-q", str(origin), str(submit)], cwd=root)
            (root / "scratch").mkdir()
            env = {
                **ENV, **slurm.env(state), "SWEEP_VENV": sys.prefix, "SWEEP_SCRATCH": str(root / "scratch"),
            }  # fmt: skip

            before, cpu = load(), cgroup_cpu_s()
            seconds = one_machine_queue(root / "queue", grid, args.experiments, "evaluate")
            what = "`dvc queue start -j 2`, up to evaluate (+ `dvc exp show`; CPU incl. the untimed set-up repro)"
            print(f"| {what} | {seconds:.1f} | {cpu_since(cpu)} | {before} -> {load()} |", flush=True)
            cache = root / "shared-cache"
            shared = {"SWEEP_CACHE": str(cache)}
            runs = (
                ("`sbatch --array=0-1`, own caches, + collect job", {"SWEEP_NAME": "own"}),
                ("`sbatch --array=0-1`, SWEEP_CACHE empty, + collect job", {"SWEEP_NAME": "cold", **shared}),
                ("`sbatch --array=0-1`, SWEEP_CACHE warm, + collect job", {"SWEEP_NAME": "warm", **shared}),
            )
            for what, settings in runs:
                before, cpu = load(), cgroup_cpu_s()
                seconds = slurm_sweep(submit, {**env, **settings}, grid)
                print(f"| {what} | {seconds:.1f} | {cpu_since(cpu)} | {before} -> {load()} |", flush=True)
        finally:
            slurm.down(state, say=lambda _: None)


if __name__ == "__main__":
    main()
