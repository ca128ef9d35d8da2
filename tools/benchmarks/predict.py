"""bench-predict: what one `penguins-predict` call costs, on the light path (NumPy) and with --keras (TensorFlow).

    python -m tools.benchmarks.predict [--repeat 5] [--rows 100000]     (or: make bench-predict)

Runs the installed `penguins-predict` on this checkout's model (`dvc repro` first), as a user would, alternating
the two paths: one penguin given as options, then a CSV of ``--rows`` penguins (the test split's rows repeated,
`--format csv` to /dev/null). Per process: wall time, CPU time (user + system) and peak memory (ru_maxrss, from
os.wait4), medians over ``--repeat`` runs, with the load average before and after (the machine may be shared).
Then, in a process each, the in-process cost of import + load + one prediction. A benchmark, nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from penguins.paths import ROOT, Paths
from penguins.text_table import render
from tools.repo.run import BIN

PENGUIN = ["--bill-length-mm", "39.1", "--bill-depth-mm", "18.7", "--flipper-length-mm", "181", "--body-mass-g", "3750"]
PATHS = {"light": [], "keras": ["--keras"]}
# import + load + one prediction, timed inside a fresh interpreter (what the whole process adds on top: start-up,
# the card, the checks, the output)
IN_PROCESS = {
    "light": "from penguins.light import read_light; m = read_light(p.with_suffix('.safetensors'), '', ''); "
    "m.predict(x)",
    "keras": "from penguins import modeling; m = modeling.load_model(p); modeling.predict(m, x)",
}
PROBE = """
import time, resource
t0, c0 = time.perf_counter(), time.process_time()
from pathlib import Path
import numpy as np
p, x = Path({model!r}), np.array([[39.1, 18.7, 181.0, 3750.0]], dtype="float32")
{code}
r = resource.getrusage(resource.RUSAGE_SELF)
print(time.perf_counter() - t0, time.process_time() - c0, r.ru_maxrss)
"""


def process_cost(command: Sequence[str], stdout: int | None = subprocess.DEVNULL) -> tuple[float, float, float]:
    """(wall s, CPU s, peak MB) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=stdout, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def big_csv(rows: int, directory: Path) -> Path:
    """The test split's feature columns, repeated to ``rows`` rows."""
    lines = (ROOT / Paths.TEST).read_text().splitlines()
    columns = lines[0].split(",")[:4]
    body = [",".join(line.split(",")[:4]) for line in lines[1:]]
    path = directory / f"penguins_{rows}.csv"
    path.write_text("\n".join([",".join(columns), *(body[i % len(body)] for i in range(rows))]) + "\n")
    return path


def median_row(name: str, runs: list[tuple[float, float, float]]) -> list[str]:
    wall, cpu, peak = (statistics.median(r[i] for r in runs) for i in range(3))
    return [name, f"{wall:.2f}", f"{cpu:.2f}", f"{peak:.0f}"]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    predict = [str(BIN / "penguins-predict")]
    print(f"load average before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        csv = big_csv(args.rows, Path(tmp))
        runs: dict[str, list[tuple[float, float, float]]] = {}
        for _ in range(args.repeat):
            for name, extra in PATHS.items():
                runs.setdefault(f"one penguin, {name}", []).append(process_cost([*predict, *PENGUIN, *extra]))
                command = [*predict, "--csv", str(csv), "--format", "csv", *extra]
                runs.setdefault(f"{args.rows:,} rows from CSV, {name}", []).append(process_cost(command))
                probe = PROBE.format(model=str(ROOT / Paths.MODEL), code=IN_PROCESS[name])
                out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
                wall, cpu, peak = map(float, out.split())
                runs.setdefault(f"in-process import + load + 1 prediction, {name}", []).append((wall, cpu, peak / 1024))
    rows = [median_row(name, found) for name, found in sorted(runs.items())]
    print(
        render(["what", "wall s", "CPU s", "peak MB"], rows, markdown=True, align=["left", "right", "right", "right"])
    )
    print(f"medians of {args.repeat}; load average after: {os.getloadavg()[0]:.2f}", file=sys.stderr)


if __name__ == "__main__":
    main()
