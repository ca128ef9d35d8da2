"""Time sharing the pipeline's results through DVC remotes; print a Markdown table.

    python -m tools.benchmarks.remote [--no-timeouts]      (or: make bench-remote)

In one run on this machine, in fresh clones: A runs the default pipeline (`dvc repro`) and pushes its data
(`dvc push`) to a local-directory remote and to S3 (moto on 127.0.0.1); fresh clones B pull it (`dvc pull`)
and run a no-op `dvc repro`. Then A runs an experiment (`dvc exp run -S train.seed=11`, full 100 epochs) and
pushes data and run-cache with `make push`'s command; fresh clones restore it (`dvc exp run --pull -S
train.seed=11`), checked to have run no stage but validate_params. Last (skip with --no-timeouts), how long
an S3 endpoint takes to fail with this project's settings (read_timeout 10 s, AWS_MAX_ATTEMPTS 2): one where
nothing listens, one that accepts connections and never answers. It is a benchmark: the only checks are that
the restores ran no stage. How long it takes: docs/benchmarks.md.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from penguins.cli import run_cli, stage_parser
from tools.benchmarks.measure import load as run_load
from tools.benchmarks.measure import timed
from tools.benchmarks.s3 import s3_server
from tools.repo.clones import clone_worktree
from tools.repo.pipeline import lock_outputs, read_lock
from tools.repo.run import BIN, run

SEED = "train.seed=11"  # not the default: A's run is a new experiment


def sh(cmd: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(cmd, cwd=cwd, check=check, env=env)


def load() -> str:
    return f"load average {run_load()}"


def data_size(repo: Path) -> tuple[int, int]:
    """(files, bytes) of the DVC-cached outputs in dvc.lock: what a push or pull moves."""
    outs = {path: out for path, out in lock_outputs(read_lock(repo)).items() if (repo / path).exists()}
    cached = [
        out
        for path, out in outs.items()
        if not sh(["git", "ls-files", "--error-unmatch", path], repo, {}, False).stdout
    ]
    return len(cached), sum(out.size for out in cached)


def clone(origin: Path, dest: Path, remote: str) -> Path:
    run(["git", "clone", "-q", str(origin), str(dest)], cwd=dest.parent)
    for key, value in (("user.name", "bench"), ("user.email", "bench@penguins.invalid")):
        run(["git", "config", key, value], cwd=dest)
    sh([str(BIN / "dvc"), "remote", "default", "--local", remote], dest, {})
    return dest


def silent_endpoint() -> tuple[str, Callable[[], None]]:
    """127.0.0.1 port that accepts connections and never answers; returns (endpoint, stop)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()

    def close() -> None:
        stop.set()
        for conn in held:
            conn.close()
        server.close()

    return f"http://127.0.0.1:{server.getsockname()[1]}", close


def closed_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--no-timeouts", action="store_true", help="skip timing the broken endpoints (the slow part)")
    args = parser.parse_args(argv)
    dvc, tool = str(BIN / "dvc"), [str(BIN / "python"), "-m", "tools.remote"]
    rows: list[tuple[str, str]] = []
    loads = [load()]
    with tempfile.TemporaryDirectory(prefix="penguins-bench-remote-") as tmp, s3_server() as s3:
        tmp_path = Path(tmp)
        env = s3.env(tmp_path)
        origin = clone_worktree(tmp_path / "A")
        rows.append(
            ("A: cold `dvc repro` (every stage), for scale", f"{timed(lambda: sh([dvc, 'repro'], origin, env)):.1f}")
        )
        sh([*tool, "add", "local", str(tmp_path / "local-remote"), "--default"], origin, env)
        sh([*tool, "add", "s3", s3.url("penguins"), "--endpoint", s3.endpoint], origin, env)
        sh(["git", "commit", "-q", "-am", "remotes"], origin, env)
        files, size = data_size(origin)
        for kind, label in (("local", "local directory"), ("s3", "S3 (moto, 127.0.0.1)")):
            push_s = timed(lambda kind=kind: sh([dvc, "push", "-r", kind], origin, env))
            rows.append((f"A: `dvc push` to {label} ({files} files, {size / 1024:.0f} KiB)", f"{push_s:.1f}"))
            b = clone(origin, tmp_path / f"B-{kind}", kind)
            rows.append((f"B: `dvc pull` from {label}", f"{timed(lambda b=b: sh([dvc, 'pull'], b, env)):.1f}"))
            repro = sh([dvc, "repro"], b, env).stdout
            if "Running stage" in repro:
                raise RuntimeError(f"dvc repro after pull ran a stage:\n{repro}")
        rows.append(
            ("B: `dvc repro` after the pull (no stage runs)", f"{timed(lambda: sh([dvc, 'repro'], b, env)):.1f}")
        )

        ran_s = timed(lambda: sh([dvc, "exp", "run", "-S", SEED], origin, env))
        rows.append((f"A: `dvc exp run -S {SEED}` (train, evaluate, figures run)", f"{ran_s:.1f}"))
        for kind, label in (("local", "local directory"), ("s3", "S3")):
            push_s = timed(lambda kind=kind: sh([*tool, "push", "--run-cache", "-r", kind], origin, env))
            rows.append((f"A: `make push` (data + run-cache) to {label}", f"{push_s:.1f}"))
            c = clone(origin, tmp_path / f"C-{kind}", kind)
            start = time.perf_counter()
            out = sh([dvc, "exp", "run", "--pull", "-S", SEED], c, env).stdout
            restored_s = time.perf_counter() - start
            ran = [
                line for line in out.splitlines() if line.startswith("Running stage") and "validate_params" not in line
            ]
            if ran:
                raise RuntimeError(f"the restore ran stages: {ran}\n{out}")
            rows.append(
                (f"C: the same experiment restored from {label}: `dvc exp run --pull -S {SEED}`", f"{restored_s:.1f}")
            )

        if not args.no_timeouts:
            d = clone(origin, tmp_path / "D", "local")  # no data: a pull must ask the remote
            for what, endpoint, stop in (
                ("where nothing listens", closed_endpoint(), None),
                ("that never answers", *silent_endpoint()),
            ):
                sh([*tool, "add", "broken", s3.url("penguins"), "--endpoint", endpoint, "--local", "--force"], d, env)
                start = time.perf_counter()
                failed = sh([*tool, "pull", "-r", "broken"], d, env, check=False)
                failed_s = time.perf_counter() - start
                if stop:
                    stop()
                rows.append((f"`make pull` from an S3 endpoint {what}: fails after", f"{failed_s:.1f}"))
                print(f"({what}) {failed.stderr.strip()}", file=sys.stderr)
    loads.append(load())

    print(
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()} ({sys.platform});"
    )
    print(f"{loads[0]} at the start, {loads[1]} at the end\n")
    print("| what | seconds |\n| --- | ---: |")
    for what, seconds in rows:
        print(f"| {what} | {seconds} |")


if __name__ == "__main__":
    run_cli(main)
