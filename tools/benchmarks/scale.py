"""bench-scale: the whole pipeline on synthetic penguins of growing size, each stage's wall time and peak memory.

    python -m tools.benchmarks.scale [--rows 10000 100000 1000000] [--epochs 1]     (or: make bench-scale)

For each size it writes a synthetic data set (the real 344 rows resampled with replacement, every
measurement multiplied by 1 + 1 % Gaussian noise, seeded: `synthetic_penguins`), makes a fresh clone of
this working tree whose params.yaml fetches that file (`fetch.source: url`, a file:// URL and its sha256)
and trains `--epochs` epochs, then runs a cold `dvc repro` there, the real CLI. It prints, per stage,
the wall time (from the moment DVC prints "Running stage" to the next stage's line), the CPU time of
the stage's process (user + system: on a shared machine a steadier measure than the wall time) and its
peak resident memory (VmHWM), both read from /proc while it runs (Linux only), plus the total and the
sizes of the git-tracked outputs. Every row carries the load average before and after it:
the machine may be shared. A benchmark, not a test: nothing is asserted. About 2 minutes for the three
default sizes on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from penguins.sources import read_package_csv
from penguins.text_table import render
from tools.benchmarks.measure import STREAM_ENV, load, spans
from tools.repo.clones import clone_worktree
from tools.repo.internals import modify_yaml
from tools.repo.run import BIN, run

MEASUREMENTS = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
NOISE = 0.01  # relative standard deviation of the noise on each measurement
DEFAULT_ROWS = (10_000, 100_000, 1_000_000)
POLL_S = 0.05  # how often the stage processes' memory high-water marks are read
# Outputs that git tracks (cache: false in dvc.yaml): they must stay small whatever the data size.
GIT_TRACKED = ("metrics", "plots", "dvclive")


def synthetic_penguins(rows: int, seed: int = 0, noise: float = NOISE) -> pd.DataFrame:
    """``rows`` rows drawn with replacement from the real penguins (every column, missing values kept), each
    measurement multiplied by 1 + ``noise`` x N(0, 1) and rounded to 1 decimal, so no two rows repeat exactly.
    Class proportions are those of the real data, up to sampling noise."""
    real = pd.read_csv(io.BytesIO(read_package_csv()))
    rng = np.random.default_rng(seed)
    sample = real.iloc[rng.integers(0, len(real), size=rows)].reset_index(drop=True)
    for column in MEASUREMENTS:
        jitter = 1.0 + noise * rng.standard_normal(rows)
        sample[column] = (sample[column].to_numpy("float64") * jitter).round(1)
    return sample


def write_synthetic(path: Path, rows: int, seed: int = 0) -> str:
    """Write the synthetic CSV to ``path``; return its sha256 (what fetch.sha256 must say)."""
    data = synthetic_penguins(rows, seed).to_csv(index=False, lineterminator="\n").encode()
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def point_params(repo: Path, data_file: Path, sha256: str, epochs: int) -> None:
    """Make the clone's params.yaml fetch ``data_file`` and train ``epochs`` epochs; commit it."""
    with modify_yaml(repo / "params.yaml") as params:  # as DVC reads and writes it (YAML 1.2, comments kept)
        params["fetch"].update(source="url", url=data_file.resolve().as_uri(), sha256=sha256)
        params["train"]["epochs"] = epochs
    run(["git", "commit", "-q", "-am", f"bench-scale: {data_file.name}, {epochs} epoch(s)"], cwd=repo)


@dataclass
class StageRecord:
    seconds: float = 0.0
    peak_bytes: int = 0
    cpu_s: float = 0.0


@dataclass
class Run:
    stages: dict[str, StageRecord] = field(default_factory=dict)
    total_s: float = 0.0
    startup_s: float = 0.0


def high_water_mark(pid: int) -> int:
    """Peak resident memory of a live process (VmHWM), in bytes; 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def stage_name(process: psutil.Process) -> str | None:
    """'train' for a process running `python -m stages.train`, else None."""
    try:
        cmdline = process.cmdline()
    except (psutil.Error, OSError):
        return None
    for i, arg in enumerate(cmdline[:-1]):
        if arg == "-m" and cmdline[i + 1].startswith("stages."):
            return cmdline[i + 1].removeprefix("stages.")
    return None


def watch_stages(root_pid: int, peaks: dict[str, int], cpu: dict[str, float], stop: threading.Event) -> None:
    """Until ``stop``: the largest VmHWM and CPU time seen per stage among ``root_pid``'s descendants. Both only
    grow, so what is missed is a stage's last POLL_S seconds."""
    try:
        root = psutil.Process(root_pid)
    except psutil.Error:
        return
    while not stop.is_set():
        try:
            children = root.children(recursive=True)
        except psutil.Error:
            return
        for child in children:
            name = stage_name(child)
            if name:
                peaks[name] = max(peaks.get(name, 0), high_water_mark(child.pid))
                try:
                    times = child.cpu_times()
                except psutil.Error:
                    continue
                cpu[name] = max(cpu.get(name, 0.0), times.user + times.system)
        stop.wait(POLL_S)


def cold_repro(repo: Path) -> Run:
    """`dvc repro` in ``repo``, its wall time split at DVC's "Running stage" lines, peak memory per stage."""
    result, peaks, cpu, stop = Run(), {}, {}, threading.Event()
    marks: list[tuple[str, float]] = []
    start = time.perf_counter()
    with subprocess.Popen([str(BIN / "dvc"), "repro"], cwd=repo, env=STREAM_ENV, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:  # fmt: skip
        watcher = threading.Thread(target=watch_stages, args=(proc.pid, peaks, cpu, stop), daemon=True)
        watcher.start()
        assert proc.stdout is not None
        output = []
        for line in proc.stdout:
            output.append(line)
            if line.startswith("Running stage '"):
                marks.append((line.split("'")[1], time.perf_counter() - start))
        proc.wait()
        stop.set()
        watcher.join()
    result.total_s = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"dvc repro exited {proc.returncode} in {repo}:\n{''.join(output)}")
    result.startup_s = marks[0][1] if marks else result.total_s
    for name, seconds in spans(marks, result.total_s).items():
        result.stages[name] = StageRecord(seconds, peaks.get(name, 0), cpu.get(name, 0.0))
    return result


def tracked_sizes(repo: Path) -> dict[str, int]:
    """Bytes of every file under the git-tracked output directories, largest first."""
    files = [p for d in GIT_TRACKED for p in (repo / d).rglob("*") if p.is_file()]
    sizes = {str(p.relative_to(repo)): p.stat().st_size for p in files}
    return dict(sorted(sizes.items(), key=lambda kv: -kv[1]))


def bench(rows: int, epochs: int, root: Path) -> tuple[Run, dict[str, int], str]:
    data_file = root / f"penguins-{rows}.csv"
    sha256 = write_synthetic(data_file, rows)
    repo = clone_worktree(root / f"repo-{rows}")
    point_params(repo, data_file, sha256, epochs)
    before = load()
    result = cold_repro(repo)
    return result, tracked_sizes(repo), f"{before} → {load()}"


def table(rows: int, result: Run, sizes: dict[str, int], loads: str) -> str:
    lines = [
        f"### {rows:,} rows (load average 1/5/15 min: {loads})",
        "",
    ]
    body = [["DVC start-up", f"{result.startup_s:.1f}", "", ""]]
    for name, record in result.stages.items():
        body.append([name, f"{record.seconds:.1f}", f"{record.cpu_s:.1f}", f"{record.peak_bytes / 2**20:.0f}"])
    cpu_total = sum(record.cpu_s for record in result.stages.values())
    body.append(["**cold `dvc repro`, total**", f"**{result.total_s:.1f}**", f"{cpu_total:.1f} (stages)", ""])
    headers = ["stage", "wall seconds", "CPU seconds", "peak memory (MB)"]
    lines.append(render(headers, body, markdown=True, align=["left", "right", "right", "right"]))
    largest = next(iter(sizes.items()), ("(none)", 0))
    lines += ["", f"Largest git-tracked output: `{largest[0]}`, {largest[1] / 1024:.0f} KB "]
    lines[-1] += f"(all {len(sizes)} files: {sum(sizes.values()) / 1024:.0f} KB)."
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS), help="data set sizes")
    parser.add_argument("--epochs", type=int, default=1, help="train.epochs in each run (default 1)")
    args = parser.parse_args(argv)
    print(f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}\n")
    with tempfile.TemporaryDirectory(prefix="penguins-bench-scale-") as tmp:
        for rows in args.rows:
            result, sizes, loads = bench(rows, args.epochs, Path(tmp))
            print(table(rows, result, sizes, loads) + "\n", flush=True)


if __name__ == "__main__":
    main()
