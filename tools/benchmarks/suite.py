"""Measure the test suite itself: `make test` in a fresh clone, its whole CPU and wall time, CPU per test file.

    python -m tools.benchmarks.suite [--rev REV] [--keep] [-- PYTEST_ARGS...]      (or: make bench-suite)

Clones REV (default HEAD: commit first what you want measured) into a temporary directory and runs `make test`
there (the clone's own `make install` included, from uv's cache). The run is put in a cgroup v2 of its own when
one can be made (as root, with cgroup2 mounted): its CPU then includes every daemon the tests start (dvc queue
workers, SLURM's slurmd and its jobs, the moto servers). Otherwise the CPU is the rusage of `make test` and of
the children it waited for, and the report says that daemons are missing from it. A pytest plugin
(tools/benchmarks/suite_cpu.py, loaded with -p) records each file's CPU (the worker process and the children it
waited for; daemons not included) and wall time; the table lists them, the costliest first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from penguins.text_table import render
from tools.benchmarks.measure import load as run_load
from tools.repo.run import ROOT, run

PLUGIN = "tools.benchmarks.suite_cpu"


def cgroup_root() -> Path | None:
    """A writable cgroup v2 directory to make ours in, or None (not root, no cgroup2 mount)."""
    for line in Path("/proc/mounts").read_text().splitlines() if Path("/proc/mounts").is_file() else []:
        fields = line.split()
        if len(fields) > 2 and fields[2] == "cgroup2" and os.access(fields[1], os.W_OK):
            return Path(fields[1])
    return None


def make_cgroup() -> Path | None:
    root = cgroup_root()
    if root is None:
        return None
    group = root / f"bench-suite-{os.getpid()}"
    try:
        group.mkdir()
    except OSError:
        return None
    return group


def cgroup_cpu(group: Path) -> float:
    stat = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())
    return int(stat["usage_usec"]) / 1e6


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_suite(clone: Path, pytest_args: list[str], report: Path) -> tuple[int, float, float, str]:
    """`make test` in ``clone``: (exit status, CPU s, wall s, how the CPU was measured)."""
    env = {**os.environ, "BENCH_SUITE_REPORT": str(report)}
    env["PYTEST_ADDOPTS"] = f"{env.get('PYTEST_ADDOPTS', '')} -p {PLUGIN}".strip()
    for name in (
        "VIRTUAL_ENV",
        "MAKEFLAGS",
        "MFLAGS",
        "MAKELEVEL",
    ):  # the clone's make: its own .venv, no flags of ours
        env.pop(name, None)
    cmd = ["make", "test", *([f"PYTEST_ARGS={' '.join(pytest_args)}"] if pytest_args else [])]
    group = make_cgroup()
    procs = str(group / "cgroup.procs") if group else None

    def enter_cgroup() -> None:  # in the child, before exec: it and all it starts are counted
        if procs:
            Path(procs).write_text(str(os.getpid()))

    before, start = children_cpu(), time.perf_counter()
    status = subprocess.run(cmd, cwd=clone, env=env, preexec_fn=enter_cgroup, check=False).returncode
    wall = time.perf_counter() - start
    if group is None:
        how = "rusage of make test and the children it waited for (no writable cgroup v2: daemons NOT included)"
        return status, children_cpu() - before, wall, how
    time.sleep(1)  # daemons the tests stopped last: let their exit be accounted
    cpu = cgroup_cpu(group)
    for pid in (group / "cgroup.procs").read_text().split():  # a daemon that outlived the suite
        print(f"warning: process {pid} still running in {group}", file=sys.stderr)
    if not (group / "cgroup.procs").read_text().split():
        group.rmdir()
    return status, cpu, wall, f"cgroup v2 {group.name} (every process the suite started, daemons included)"


def file_table(report_prefix: Path) -> tuple[str, float]:
    """The per-file table from the plugin's JSON files (one per xdist worker), costliest first, and its CPU sum."""
    files: dict[str, list[float]] = {}
    for part in report_prefix.parent.glob(f"{report_prefix.name}.*.json"):
        for name, (cpu, wall, tests) in json.loads(part.read_text()).items():
            total = files.setdefault(name, [0.0, 0.0, 0])
            total[0] += cpu
            total[1] += wall
            total[2] += tests
    rows = [[f"{c:.1f}", f"{w:.1f}", str(n), name] for name, (c, w, n) in sorted(files.items(), key=lambda i: -i[1][0])]
    headers = ["CPU s", "wall s", "tests", "file"]
    return render(headers, rows, markdown=True, align=("right", "right", "right", "left")), sum(
        c for c, _, _ in files.values()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", default="HEAD", help="the commit to measure (default HEAD)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest as make's PYTEST_ARGS")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-suite-"))
    clone = tmp / "penguins"
    commit = run(["git", "rev-parse", "--verify", f"{args.rev}^{{commit}}"], cwd=ROOT).stdout.strip()
    run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], cwd=tmp)
    run(["git", "checkout", "--quiet", "--detach", commit], cwd=clone)
    rev = run(["git", "rev-parse", "--short", "HEAD"], cwd=clone).stdout.strip()
    report = tmp / "cpu"
    load_before = run_load()
    status, cpu, wall, how = run_suite(clone, args.pytest_args, report)
    table, counted = file_table(report)
    print(f"\n## `make test` at {rev} in a fresh clone ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n")
    print(f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs")
    print(f"- load average before: {load_before}; after: {run_load()}")
    print(f"- exit status {status}; wall {wall:.0f} s ({wall / 60:.1f} min)")
    print(f"- CPU {cpu:.0f} s: {how}")
    print(f"- of which per test file (worker processes and the children they waited for): {counted:.0f} s\n")
    print(table)
    if args.keep:
        print(f"\nthe clone: {clone}")
    else:
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return status


if __name__ == "__main__":
    sys.exit(main())
