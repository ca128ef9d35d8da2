"""bench-sweep: what one experiment costs, stage by stage, and a sweep on one machine vs two workers.

    python -m tools.benchmarks.sweep [--experiments 8]        (or: make bench-sweep)

In fresh clones of this working tree, with the real dvc, git and Keras, it measures:
  1. where the time of one experiment goes: `dvc exp run -S train.learning_rate=...` (every stage it
     re-runs: validate_params, train, evaluate, figures), then what a sweep worker runs instead,
     `dvc exp run --temp evaluate --pull --allow-missing` and `... train ...`, each split by stage from
     the moment DVC prints each stage's start; plus the imports that dominate (TensorFlow, matplotlib)
     and a worker's push of one experiment;
  2. a grid of N experiments (default 8): one machine with `dvc queue start -j 2` (the whole pipeline,
     as users queue today, and up to evaluate, as a worker runs it) against two workers pinned to one
     core each (`taskset -c 0` / `-c 1`), each in its own clone, pushing to a bare git origin and a
     local DVC remote, then `collect` in a fresh clone; wall time from the start to the comparison.
Every figure is printed with the load average before and after it (the machine may be shared).
Each per-experiment variant runs 3 times (--repeat), in turn; medians are shown. It is a benchmark, not a
test: nothing is asserted. How long it takes: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tools.benchmarks.measure import STREAM_ENV, load, spans, timed
from tools.repo.clones import clone_worktree, stop_queue_workers
from tools.repo.run import BIN, ENV, dvc, run


def stage_times(cmd: Sequence[str], cwd: Path) -> tuple[list[tuple[str, float]], float]:
    """Run a `dvc exp run` and split its wall time at the lines where DVC starts or skips a stage.

    Returns [(part, seconds)], parts being 'start-up' (until the first stage line), each stage run, and
    'finish' (after the last stage: DVC records the experiment), and the total wall time."""
    start = time.perf_counter()
    marks: list[tuple[str, float]] = [("start-up", 0.0)]
    with subprocess.Popen(cmd, cwd=cwd, env=STREAM_ENV, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as proc:  # fmt: skip
        assert proc.stdout is not None
        output = []
        for line in proc.stdout:
            now = time.perf_counter() - start
            output.append(line)
            if line.startswith("Running stage '"):
                marks.append((line.split("'")[1], now))
            elif line.startswith("Stage '") and ("didn't change" in line or "is cached" in line):
                marks.append(("(checks of unchanged stages)", now))
            elif line.startswith(("Ran experiment", "Experiment results have been applied")):
                marks.append(("finish", now))
                break
        proc.stdout.read()
    total = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{''.join(output)}")
    return list(spans(marks, total).items()), total


def sweep_origin(root: Path) -> tuple[Path, Path]:
    """A source clone with the pipeline run, a local DVC remote holding its data, and a bare `origin`."""
    src = clone_worktree(root / "src")
    dvc("repro", cwd=src)
    store = root / "store"
    store.mkdir()
    dvc("remote", "add", "-d", "store", str(store), cwd=src)
    run(["git", "commit", "-q", "-am", "DVC remote"], cwd=src)
    dvc("push", "--run-cache", cwd=src)
    run(["git", "clone", "-q", "--bare", str(src), str(root / "origin.git")], cwd=root)
    return root / "origin.git", store


def two_workers(root: Path, grid: Sequence[str]) -> tuple[float, float, float]:
    """Two workers (clone + worker), pinned to cores 0 and 1, then collect in a fresh clone.
    Returns the seconds until both workers are done, the collect's seconds, and the total."""
    origin, _ = sweep_origin(root)
    sets = [arg for axis in grid for arg in ("-S", axis)]
    start = time.perf_counter()
    procs = []
    for core in (0, 1):
        script = (
            f"git clone -q {origin} w{core} && cd w{core} && "
            f"{BIN / 'python'} -m tools.sweep worker {shlex.join(sets)} --name bench --shard {core}/2"
        )
        pinned = ["taskset", "-c", str(core), "bash", "-c", script]
        procs.append(subprocess.Popen(pinned, cwd=root, env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))  # fmt: skip
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"a worker failed:\n{out}")
    workers = time.perf_counter() - start
    run(["git", "clone", "-q", str(origin), str(root / "collector")], cwd=root)
    collect = timed(
        lambda: run(
            [str(BIN / "python"), "-m", "tools.sweep", "collect", *sets, "--name", "bench"], cwd=root / "collector"
        )
    )
    return workers, collect, time.perf_counter() - start


def one_machine_queue(root: Path, grid: Sequence[str], count: int, target: str | None) -> float:
    """`dvc exp run --queue` of the grid in a clone where the pipeline ran, `dvc queue start -j 2`, until
    every experiment is recorded, plus `dvc exp show` (what collect does on one machine)."""
    repo = clone_worktree(root)
    dvc("repro", cwd=repo)
    sets = [arg for axis in grid for arg in ("-S", axis)]
    dvc("exp", "run", "--queue", *([target] if target else []), *sets, cwd=repo)
    baseline = run(["git", "rev-parse", "HEAD"], cwd=repo).stdout.strip()
    recorded = ["git", "for-each-ref", "--format=%(refname)", f"refs/exps/{baseline[:2]}/{baseline[2:]}/"]
    start = time.perf_counter()
    try:
        subprocess.run([str(BIN / "dvc"), "queue", "start", "-j", "2"], cwd=repo, env=ENV, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # fmt: skip
        # Finished experiments are counted by their git refs, every 0.5 s: polling `dvc queue status`
        # instead would start DVC each time and take CPU from the experiments being timed. It is
        # asked every 30 s only, for a failed experiment (which never gets a ref).
        next_check = start + 30
        while len(run(recorded, cwd=repo).stdout.split()) < count:
            now = time.perf_counter()
            if now > next_check:
                status = dvc("queue", "status", cwd=repo).stdout
                if "Failed" in status or now - start > 3600:
                    raise RuntimeError(f"the queue in {repo} did not finish:\n{status}")
                next_check = now + 30
            time.sleep(0.5)
        dvc("exp", "show", "--no-pager", cwd=repo)
        return time.perf_counter() - start
    finally:
        stop_queue_workers(repo)


def worker_run(target: str, name: str, learning_rate: str) -> list[str]:
    return [
        "exp",
        "run",
        "--temp",
        target,
        "--pull",
        "--allow-missing",
        "-n",
        name,
        "-S",
        f"train.learning_rate={learning_rate}",
    ]


def per_experiment(root: Path, repeat: int) -> None:
    """Part 1: imports, one experiment split by stage (as users run it, as a worker runs it), one push."""
    python = str(BIN / "python")
    print("| import, for scale | seconds | load before -> after |\n| --- | ---: | --- |")
    imports = (
        ("pandas + pydantic (penguins.io, penguins.params)", "penguins.io, penguins.params"),
        ("TensorFlow + Keras (penguins.modeling)", "penguins.modeling"),
        ("matplotlib + seaborn (penguins.plotting)", "penguins.plotting"),
    )
    for what, module in imports:
        before = load()
        seconds = timed(lambda module=module: run([python, "-c", f"import {module}"], cwd=Path.cwd()))
        print(f"| {what} | {seconds:.1f} | {before} -> {load()} |")

    origin, _ = sweep_origin(root / "one")
    worker = root / "one-worker"
    run(["git", "clone", "-q", str(origin), str(worker)], cwd=root)
    dvc("repro", "--pull", "split", "encode", cwd=worker)  # what a worker does once, before its experiments
    local = clone_worktree(root / "local")
    dvc("repro", cwd=local)
    variants = [
        ("`dvc exp run -S train.learning_rate=...` (workspace: every stage it affects)", local,
         lambda i: ["exp", "run", "-S", f"train.learning_rate=0.00{i + 2}"]),
        ("worker: `dvc exp run --temp evaluate --pull --allow-missing -S ...`", worker,
         lambda i: worker_run("evaluate", f"e{i}", f"0.01{i + 2}")),
        ("worker: `dvc exp run --temp train --pull --allow-missing -S ...`", worker,
         lambda i: worker_run("train", f"t{i}", f"0.02{i + 2}")),
    ]  # fmt: skip
    results: list[list[tuple[dict[str, float], float, str]]] = [[] for _ in variants]
    for i in range(repeat):  # the variants in turn, so that a change of load hits them alike
        for runs, (_, repo, dvc_args) in zip(results, variants, strict=True):
            before = load()
            parts, total = stage_times([str(BIN / "dvc"), *dvc_args(i)], repo)
            runs.append((dict(parts), total, f"{before} -> {load()}"))
    for (title, _, _), runs in zip(variants, results, strict=True):
        totals = sorted(total for _, total, _ in runs)
        loads = "; ".join(span for _, _, span in runs)
        spread = f"{totals[0]:.1f}-{totals[-1]:.1f}"
        print(f"\n{title}: median {statistics.median(totals):.1f} s of {repeat} runs ({spread}; load {loads})")
        print("\n| part | median seconds |\n| --- | ---: |")
        for name in runs[0][0]:
            print(f"| {name} | {statistics.median(parts.get(name, 0.0) for parts, _, _ in runs):.1f} |")

    from tools import sweep  # imports DVC and Hydra: not needed before this point

    baseline = run(["git", "rev-parse", "HEAD"], cwd=worker).stdout.strip()
    commit = sweep.local_experiments(worker, baseline)["e0"]
    before = load()
    log = root / "push.log"
    push = timed(lambda: sweep.push_experiment(worker, "e0", commit, git_remote="origin", baseline=baseline, log=log))
    print(f"\npush of one experiment (data + run-cache, then the ref): {push:.1f} s (load {before} -> {load()})")


def whole_grid(root: Path, experiments: int, workers_first: bool) -> None:
    """Part 2: the grid on one machine with dvc queue, and over two pinned workers."""
    grid = [f"train.seed=range({experiments})", "train.learning_rate=0.002"]
    print(f"\n{experiments} experiments ({' '.join(grid)}):\n")
    print("| how | seconds | load before -> after |\n| --- | ---: | --- |")

    def queue(target: str | None) -> None:
        before = load()
        seconds = one_machine_queue(root / f"queue-{target or 'all'}", grid, experiments, target)
        what = "whole pipeline" if target is None else f"up to {target}"
        print(
            f"| one machine, `dvc queue start -j 2`, {what} (+ `dvc exp show`) | {seconds:.1f} | {before} -> {load()} |"
        )

    def workers() -> None:
        before = load()
        run_s, collect_s, total = two_workers(root / "two", grid)
        what = "two workers, one core each (taskset), up to evaluate: clone, run, push"
        print(f"| {what} | {run_s:.1f} | {before} -> {load()} |")
        print(f"| then `collect` in a fresh clone | {collect_s:.1f} | |")
        print(f"| two workers, whole sweep | {total:.1f} | |")

    steps = [lambda: queue(None), lambda: queue("evaluate"), workers]
    for step in reversed(steps) if workers_first else steps:
        step()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=8, help="size of the grid (seeds 0..N-1)")
    parser.add_argument("--part", choices=("all", "experiment", "grid"), default="all", help="what to measure")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each per-experiment variant (medians shown)")
    parser.add_argument("--workers-first", action="store_true", help="time the workers before the queues (load drifts)")
    args = parser.parse_args(argv)
    machine = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    print(f"Machine: {machine}; load average (1/5/15 min) at start {load()}\n")
    with tempfile.TemporaryDirectory(prefix="penguins-sweep-bench-") as tmp:
        if args.part in ("all", "experiment"):
            per_experiment(Path(tmp), args.repeat)
        if args.part in ("all", "grid"):
            whole_grid(Path(tmp), args.experiments, args.workers_first)


if __name__ == "__main__":
    main()
