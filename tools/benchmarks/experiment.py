"""What one experiment costs, stage by stage and phase by phase, against the lesson run as one script.

    python -m tools.benchmarks.experiment [--repeat 3] [--cold 1] [--compare REV] [--repro]
    (or: make bench-experiment ARGS="--compare main")

First, --cold times (at least once), in turn: a cold `dvc repro --force` (every stage, empty cache; without
--force, explore and figures are skipped: their git-tracked PNGs are already what they make) in a fresh clone of
this working tree (and, with --compare, one of git revision REV: its code, run with this checkout's .venv, so a
change of the lock is not compared), and the lesson as one script with its pictures
(tools.benchmarks.lesson). Then, in the first clones, --repeat times in turn: the lesson without pictures and
`dvc exp run -S train.seed=<new>` in each clone (--repro: then `dvc repro` after the same kind of edit, DVC's
experiment bookkeeping left out). Figures are whole-process CPU seconds, user+sys of every child process as
/usr/bin/time counts them (the machine may be shared: CPU, not wall, is the measure), medians of the runs.

Each Python process (dvc, each stage) is split by tools/benchmarks/probe/sitecustomize.py: interpreter start-up,
imports, params (read and validate params.yaml), reading inputs, the work, writing outputs; DVC's own process
into its bookkeeping before the first stage, between stages and after the last. What no Python process accounts
for (the shell DVC starts each stage with, git, interpreter shut-down) is "other". It is a benchmark, not a test:
nothing is asserted. What a run costs: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tools.benchmarks.measure import load
from tools.repo.clones import clone_worktree
from tools.repo.run import BIN, ENV, ROOT, run

PROBE = Path(__file__).resolve().parent / "probe"
PHASES = ("interpreter", "imports", "params", "reading", "work", "writing")
DVC_SPANS = ("before stages", "between stages", "after stages")


@dataclass
class Measured:
    """One command: its children's CPU seconds (user+sys) and wall seconds, and its Python processes' records."""

    cpu: float
    wall: float
    records: list[dict] = field(default_factory=list)

    def stages(self) -> dict[str, dict]:
        return {Path(r["argv"][0]).stem: r for r in self.records if Path(r["argv"][0]).parent.name == "stages"}

    def dvc(self) -> dict | None:
        return next((r for r in self.records if Path(r["argv"][0]).name == "dvc"), None)


def measure(cmd: list[str], cwd: Path, probe: bool = True) -> Measured:
    """Run ``cmd``; user+sys of every process it waited for (getrusage of children, as /usr/bin/time)."""
    with tempfile.TemporaryDirectory(prefix="penguins-probe-") as records:
        env = {**ENV, "PYTHONPATH": str(PROBE), "PENGUINS_PROBE_DIR": records} if probe else ENV
        before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        proc = subprocess.run(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        return Measured(cpu, wall, [json.loads(p.read_text()) for p in Path(records).glob("*.json")])


def dvc_spans(record: dict) -> dict[str, tuple[float, float]]:
    """DVC's own process: (CPU, wall) before its first stage starts, between stages, after the last one ends."""
    marks = record["marks"]
    if not marks:
        return {"before stages": (record["cpu"], record["wall"])}
    spans = {
        "before stages": (marks[0][1], marks[0][2]),
        "after stages": (record["cpu"] - marks[-1][1], record["wall"] - marks[-1][2]),
    }
    gaps = [(b[1] - a[1], b[2] - a[2]) for a, b in itertools.pairwise(marks) if a[0].startswith("end")]
    spans["between stages"] = (sum(g[0] for g in gaps), sum(g[1] for g in gaps))
    return spans


def phase_row(label: str, records: list[dict]) -> list[str]:
    """A table row for one kind of process: medians of its whole CPU, its CPU by phase, its wall."""
    median = statistics.median
    cells = [median(rec["cpu_by"].get(p, 0.0) for rec in records) for p in PHASES]
    total, wall = median(rec["cpu"] for rec in records), median(rec["wall"] for rec in records)
    return [label, f"{total:.2f}", *(f"{c:.2f}" for c in cells), f"{wall:.2f}"]


def rows(runs: list[Measured]) -> list[list[str]]:
    """Per stage, DVC's spans, other and the total: medians over ``runs`` of CPU by phase and wall."""
    median, blank = statistics.median, [""] * len(PHASES)
    order = sorted((rec["started"], name) for r in runs[:1] for name, rec in r.stages().items())
    table = [phase_row(f"stage {name}", [r.stages()[name] for r in runs if name in r.stages()]) for _, name in order]
    dvc_records = [rec for r in runs if (rec := r.dvc())]
    for span in DVC_SPANS if dvc_records else ():
        values = [dvc_spans(rec).get(span, (0.0, 0.0)) for rec in dvc_records]
        table.append(
            [f"dvc: {span}", f"{median(v[0] for v in values):.2f}", *blank, f"{median(v[1] for v in values):.2f}"]
        )
    if dvc_records:
        imports = median(rec["cpu_by"].get("imports", 0.0) + rec["cpu_by"]["interpreter"] for rec in dvc_records)
        table.append(["(of which dvc's interpreter + imports)", f"{imports:.2f}", *blank, ""])
    if not order and not dvc_records and all(r.records for r in runs):  # the lesson: one process
        table.append(phase_row("the script", [r.records[0] for r in runs]))
    other = median(r.cpu - sum(rec["cpu"] for rec in r.records) for r in runs)
    table.append(["other (sh, git, interpreter exit)", f"{other:.2f}", *blank, ""])
    total, wall = median(r.cpu for r in runs), median(r.wall for r in runs)
    table.append(["**total (user+sys of children)**", f"**{total:.2f}**", *blank, f"**{wall:.2f}**"])
    return table


def markdown(title: str, table: list[list[str]]) -> str:
    head = ["part", "CPU s", *(f"{p} CPU" for p in PHASES), "wall s"]
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in table), ""])


def clone_rev(rev: str, dest: Path) -> Path:
    """A fresh git clone of this repository at ``rev`` (no DVC cache, no outputs), ready for `dvc exp run`."""
    run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(dest)], cwd=ROOT)
    for cmd in (
        ["git", "checkout", "-q", "-b", "bench", rev],
        ["git", "config", "user.name", "penguins tools"],
        ["git", "config", "user.email", "tools@penguins.invalid"],
    ):
        run(cmd, cwd=dest)
    return dest


def set_seed(params_file: Path, seed: int) -> None:
    """train.seed in params.yaml, written as `dvc exp run -S` writes it (DVC's own YAML round trip)."""
    from tools.repo.internals import modify_yaml

    with modify_yaml(params_file) as params:
        params["train"]["seed"] = seed


def cpu_model() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="experiments per clone (and lesson runs), in turn")
    parser.add_argument("--cold", type=int, default=1, help="cold `dvc repro` runs per clone (and lesson --pictures)")
    parser.add_argument("--compare", metavar="REV", help="also a clone of this git revision, alternated (e.g. main)")
    parser.add_argument("--repro", action="store_true", help="also `dvc repro` after the same edit, in turn")
    parser.add_argument("--no-probe", action="store_true", help="whole-process totals only, no per-phase split")
    args = parser.parse_args()
    probe = not args.no_probe
    python, dvc = str(BIN / "python"), str(BIN / "dvc")
    lesson = [python, "-m", "tools.benchmarks.lesson"]
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {cpu_model()}, {os.cpu_count()} CPUs, load {load()}\n")
    runs: dict[str, list[Measured]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="penguins-bench-exp-") as tmp:
        root = Path(tmp)

        def new_clone(variant: str, n: int) -> Path:
            dest = root / f"{variant}-{n}"
            return clone_rev(args.compare, dest) if variant != "this tree" else clone_worktree(dest)

        variants = ["this tree", *([args.compare] if args.compare else [])]
        clones = {}
        for n in range(max(args.cold, 1)):  # the first cold repro also prepares the clones for the experiments
            for variant in variants:
                repo = new_clone(variant, n)
                runs[f"cold `dvc repro -f`, {variant}"].append(measure([dvc, "repro", "--force"], repo, probe))
                clones.setdefault(variant, repo)
            runs["lesson script with pictures"].append(measure([*lesson, "--pictures"], ROOT, probe))
        loads = [load()]
        for n in range(args.repeat):
            runs["lesson script"].append(measure(lesson, ROOT, probe))
            for variant in variants:
                seed = f"train.seed={1000 + n}"  # new to the run-cache: the experiment runs
                runs[f"`dvc exp run -S train.seed=...`, {variant}"].append(
                    measure([dvc, "exp", "run", "-S", seed], clones[variant], probe)
                )
                if args.repro:  # the same change without the experiment's bookkeeping: DVC's share of exp run
                    set_seed(clones[variant] / "params.yaml", 2000 + n)
                    runs[f"`dvc repro` after the same edit, {variant}"].append(
                        measure([dvc, "repro"], clones[variant], probe)
                    )
        loads.append(load())

    references = ("lesson script", "lesson script with pictures")
    lesson_cpu = {name: statistics.median(r.cpu for r in runs[name]) for name in references}
    print(f"Load average (1/5/15 min) around the experiments: {' -> '.join(loads)}\n")
    print("| run | n | CPU s (user+sys) | wall s | CPU / lesson's |\n| --- | ---: | ---: | ---: | ---: |")
    for name, measured in runs.items():
        reference = lesson_cpu[
            "lesson script with pictures" if "pictures" in name or "cold" in name else "lesson script"
        ]
        cpu, wall = statistics.median(m.cpu for m in measured), statistics.median(m.wall for m in measured)
        print(f"| {name} | {len(measured)} | {cpu:.2f} | {wall:.2f} | {cpu / reference:.2f}x |")
    print()
    if probe:
        for name, measured in runs.items():
            print(markdown(name, rows(measured)))


if __name__ == "__main__":
    main()
