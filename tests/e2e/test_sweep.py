"""tools.sweep with real git, DVC and Keras: a bare repository as `origin`, an S3 API on 127.0.0.1 (a moto
server) as the default DVC remote, two worker clones run as separate processes at once (one killed mid-shard
and started again), collect in a third, fresh clone; two pushes at once to a local-directory remote.
Experiments train 2 epochs and stop at the train stage."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from penguins.yamlio import loads_yaml, read_yaml
from tests.conftest import run
from tests.helpers.remote import free_port, sh
from tests.helpers.waits import limit_s
from tools import sweep
from tools.benchmarks.s3 import S3Server
from tools.repo.run import BIN, ENV

pytestmark = pytest.mark.e2e

# 3 experiments: shards of 2 (killed mid-shard) and 1. Workers at once, uneven shards and the kill need no
# third shard (it cost one more worker and experiment); how shards are dealt is unit-tested.
GRID = ("train.epochs=2", "train.seed=0,1,2")
NAME = "t"
TARGET = "train"  # plumbing: validation metrics are enough, evaluate would only add a TensorFlow start-up
SHARDS = 2
TIMEOUT_S = 600


def sweep_args(command: str, *grid: str) -> list[str]:
    sets = [arg for axis in grid or GRID for arg in ("-S", axis)]
    return [sys.executable, "-m", "tools.sweep", command, *sets, "--name", NAME]


@dataclass
class Origin:
    root: Path
    git: Path  # bare repository: the workers' `origin`
    s3: S3Server  # the default DVC remote of the committed .dvc/config
    env: dict[str, str]  # what every process needs to reach it (keys, region; nothing outside 127.0.0.1)
    baseline: str

    def sh(self, cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh(cmd, cwd=cwd, env=self.env, check=check)

    def dvc(self, *args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.sh([str(BIN / "dvc"), *args], cwd=cwd, check=check)

    def clone(self, name: str) -> Path:
        dest = self.root / name
        run(["git", "clone", "-q", str(self.git), str(dest)], cwd=self.root)
        return dest

    def experiments(self) -> dict[str, str]:
        listing = run(["git", "for-each-ref", "--format=%(objectname) %(refname)", "refs/exps"], cwd=self.git).stdout
        return sweep.parse_refs(listing, self.baseline)


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server in a process of its own on 127.0.0.1, without IAM auth (fake keys). Not the remote
    tests' in-process server: moto's auth switch is global to a process, and theirs has it on."""
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + limit_s(10)  # a few seconds idle; a crash is seen at once (poll)
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "moto_server did not start"
                time.sleep(0.1)
        endpoint = f"http://127.0.0.1:{port}"
        s3 = S3Server(endpoint, "sweep", "fake-key-id", "fake-secret")
        s3.client().create_bucket(Bucket=s3.bucket)
        yield s3
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def origin(pipeline: dict[str, Any], s3: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Origin:
    """The shared pipeline clone with its S3 remote committed (the default; keys only in the environment)
    and its data pushed there, as `git clone --bare`."""
    root = tmp_path_factory.mktemp("sweep")
    src = root / "src"
    shutil.copytree(pipeline["repo"], src, symlinks=True)
    env = s3.env(root)
    origin = Origin(root, root / "origin.git", s3, env, baseline="")
    origin.dvc("remote", "add", "-d", "s3", s3.url("penguins"), cwd=src)
    origin.dvc("remote", "modify", "s3", "endpointurl", s3.endpoint, cwd=src)
    run(["git", "add", "-A"], cwd=src)
    run(["git", "commit", "-q", "-m", "DVC remote for the sweep"], cwd=src)
    origin.dvc("push", "--run-cache", cwd=src)
    run(["git", "clone", "-q", "--bare", str(src), str(origin.git)], cwd=root)
    origin.baseline = run(["git", "rev-parse", "HEAD"], cwd=src).stdout.strip()
    return origin


def model_md5(lock_text: str) -> str:
    lock = loads_yaml(lock_text)
    return {out["path"]: out["md5"] for out in lock["stages"]["train"]["outs"]}["models/model.keras"]


def start_worker(origin: Origin, repo: Path, shard: int, log: Path, jobs: int = 1) -> subprocess.Popen[bytes]:
    """A worker in its own process group, so that it can be killed with everything it started."""
    args = [*sweep_args("worker"), "--shard", f"{shard}/{SHARDS}", "--target", TARGET, "-j", str(jobs)]
    with log.open("wb") as out:
        return subprocess.Popen(
            args,
            cwd=repo,
            env={**ENV, **origin.env},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait(proc: subprocess.Popen[bytes], log: Path) -> str:
    proc.wait(timeout=TIMEOUT_S)
    output = log.read_text()
    assert proc.returncode == 0, output
    return output


@pytest.fixture(scope="module")
def swept(origin: Origin) -> dict[str, Any]:
    """Both workers at once; shard 0 (two experiments) is killed once its first experiment is on origin,
    then started again. Returns the planned experiments, the logs and what origin held after the kill."""
    planned = sweep.plan_sweep(read_yaml(origin.root / "src/params.yaml"), GRID, NAME)
    shard0 = {exp.name for exp in sweep.shard_of(planned, 0, SHARDS)}
    assert len(shard0) == 2
    clones = [origin.clone(f"worker{i}") for i in range(SHARDS)]
    logs = [origin.root / f"worker{i}.log" for i in range(SHARDS)]
    procs = [start_worker(origin, clone, i, log) for i, (clone, log) in enumerate(zip(clones, logs, strict=True))]

    deadline = time.monotonic() + TIMEOUT_S
    while not shard0 & set(origin.experiments()):
        assert procs[0].poll() is None, f"shard 0 ended before it was killed:\n{logs[0].read_text()}"
        assert time.monotonic() < deadline, logs[0].read_text()
        time.sleep(0.2)
    os.killpg(procs[0].pid, signal.SIGKILL)
    procs[0].wait()
    after_kill = shard0 & set(origin.experiments())
    first_log = logs[0].read_text()

    outputs = {1: wait(procs[1], logs[1])}
    restart = start_worker(origin, clones[0], 0, logs[0], jobs=2)  # the skipped one and the other side by side
    outputs[0] = wait(restart, logs[0])
    return {
        "planned": planned, "shard0": shard0, "after_kill": after_kill, "first_log": first_log,
        "outputs": outputs, "clones": clones,
    }  # fmt: skip


def test_bad_grid_value_is_refused_by_plan_and_worker_before_training(origin: Origin) -> None:
    repo = origin.clone("refused")
    dvc_run = origin.dvc("exp", "run", "-S", "train.epochs=0", "-S", "train.seed=0", cwd=repo, check=False)
    message = next(
        line for line in dvc_run.stderr.splitlines() if line.startswith("error: params.yaml:")
    )  # validate_params
    run(["git", "checkout", "--", "params.yaml"], cwd=repo)  # what `dvc exp run -S` wrote
    plan = origin.sh(
        [*sweep_args("plan", "train.epochs=2,0", "train.seed=0,1"), "--shards", "2"], cwd=repo, check=False
    )
    assert plan.returncode == 1
    assert plan.stderr.splitlines() == [f"{message} (grid experiment: train.epochs=0 train.seed=0)"]
    worker = origin.sh(
        [*sweep_args("worker", "train.epochs=2,0", "train.seed=0,1"), "--shard", "0/2"], cwd=repo, check=False
    )
    assert worker.returncode == 1
    assert worker.stderr == plan.stderr
    assert worker.stdout == ""  # nothing ran: no experiment, no inputs pulled
    assert not (repo / sweep.LOG_DIR).exists()
    assert not (repo / "data/split/train.csv").exists()


def test_shards_then_collect_in_a_fresh_clone_lists_every_experiment_once(
    origin: Origin, swept: dict[str, Any]
) -> None:
    names = {exp.name for exp in swept["planned"]}
    assert set(origin.experiments()) == names
    in_s3 = set(origin.s3.keys("penguins/"))
    for commit in origin.experiments().values():  # each pushed with its model, to the S3 remote
        md5 = model_md5(run(["git", "show", f"{commit}:dvc.lock"], cwd=origin.git).stdout)
        assert f"penguins/files/md5/{md5[:2]}/{md5[2:]}" in in_s3
    repo = origin.clone("collector")
    shown = origin.sh([*sweep_args("collect"), "--target", TARGET], cwd=repo).stdout
    table = [line.split() for line in shown.splitlines() if line.startswith(f"{NAME}-")]
    assert sorted(row[0] for row in table) == sorted(names)  # each exactly once
    assert all(len(row) == len(table[0]) and row[3] != "-" for row in table), shown  # epochs, seed, val accuracy
    assert "accuracy (test)" not in shown  # the baseline's test metrics are stale here: evaluate did not run
    best = shown.splitlines()[-1]
    assert best.startswith("Best experiment by dvclive/metrics.json:eval.accuracy (validation")

    exps = [
        e for b in json.loads(origin.dvc("exp", "show", "--json", cwd=repo).stdout) for e in b.get("experiments") or []
    ]
    assert sorted(e["name"] for e in exps) == sorted(names)
    assert all(e["revs"][0]["data"]["metrics"]["dvclive/metrics.json"]["data"]["step"] == 1 for e in exps)  # 2 epochs

    more = run(
        [*sweep_args("collect", "train.epochs=2", "train.seed=0,1,2,3"), "--target", TARGET], cwd=repo, check=False
    )
    assert more.returncode == 1
    assert "Missing (1)" in more.stdout
    assert "train.seed=3" in more.stdout
    assert more.stderr.strip() == "error: 1 of 4 experiments are not on origin: run their shards' workers"


def test_killed_worker_run_again_leaves_no_duplicate_and_no_missing_experiment(
    origin: Origin, swept: dict[str, Any]
) -> None:
    assert len(swept["after_kill"]) == 1, swept["first_log"]  # killed with one of its two experiments pushed
    again = swept["outputs"][0]
    assert "2 of 3 experiments, 1 already on origin; stages up to 'train', -j 2" in again
    assert "done: 1 ran, 0 pushed, 1 skipped, 0 failed" in again, again
    assert swept["shard0"] <= set(origin.experiments())
    # no experiment twice: every exp commit on origin has a distinct seed, and their number is the grid's
    seeds = []
    for commit in origin.experiments().values():
        params = loads_yaml(run(["git", "show", f"{commit}:params.yaml"], cwd=origin.git).stdout)
        seeds.append(params["train"]["seed"])
    assert sorted(seeds) == [0, 1, 2]


def test_worker_model_is_byte_identical_to_a_local_run(origin: Origin, swept: dict[str, Any]) -> None:
    exp = next(e for e in swept["planned"] if dict(e.values)["train.seed"] == 1)
    remote_md5 = model_md5(run(["git", "show", f"{origin.experiments()[exp.name]}:dvc.lock"], cwd=origin.git).stdout)

    local = origin.clone("local-run")
    origin.dvc("exp", "run", TARGET, "--pull", "-S", "train.epochs=2", "-S", "train.seed=1", cwd=local)
    assert model_md5((local / "dvc.lock").read_text()) == remote_md5


def test_collect_apply_brings_the_best_and_draws_its_pictures_only(origin: Origin, swept: dict[str, Any]) -> None:
    repo = origin.clone("apply")
    shown = origin.sh([*sweep_args("collect"), "--target", TARGET, "--apply"], cwd=repo).stdout
    best = shown.split("(validation, higher is better, ties by eval.loss): ")[1].split()[0]
    applied = read_yaml(repo / "dvc.lock")
    remote = loads_yaml(run(["git", "show", f"{origin.experiments()[best]}:dvc.lock"], cwd=origin.git).stdout)
    assert applied["stages"]["train"] == remote["stages"]["train"]
    assert "Data and pipelines are up to date." in origin.dvc("status", cwd=repo).stdout  # evaluate and figures ran
    changed = run(["git", "status", "--porcelain"], cwd=repo).stdout
    assert "plots/training_curves.png" in changed
    assert "metrics/metrics.json" in changed
    run(["git", "commit", "-q", "-am", f"Adopt {best}"], cwd=repo)


def test_two_workers_pushing_at_the_same_moment_both_land(origin: Origin, swept: dict[str, Any]) -> None:
    """Two clones push an experiment each to a fresh git remote and DVC remote, released together."""
    second_git, second_store = origin.root / "second.git", origin.root / "second-store"
    run(["git", "clone", "-q", "--bare", str(origin.git), str(second_git)], cwd=origin.root)  # no refs/exps
    second_store.mkdir()
    pushers = []
    for clone in swept["clones"]:  # the restarted worker's too
        run(["git", "remote", "add", "second", str(second_git)], cwd=clone)
        origin.dvc("remote", "add", "--local", "-d", "second", str(second_store), cwd=clone)
        (name, commit), *_ = sweep.local_experiments(clone, origin.baseline).items()
        pushers.append((clone, name, commit))

    barrier, errors = threading.Barrier(len(pushers)), []

    def push(clone: Path, name: str, commit: str) -> None:
        barrier.wait()
        try:
            log = clone / sweep.LOG_DIR / "second.log"
            sweep.push_experiment(clone, name, commit, git_remote="second", baseline=origin.baseline, log=log)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=push, args=pusher) for pusher in pushers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_S)
    assert not errors
    landed = sweep.remote_experiments(swept["clones"][1], str(second_git), origin.baseline)
    assert landed == {name: commit for _, name, commit in pushers}
    for _, _, commit in pushers:  # with its model in the DVC remote
        md5 = model_md5(run(["git", "show", f"{commit}:dvc.lock"], cwd=second_git).stdout)
        assert (second_store / "files/md5" / md5[:2] / md5[2:]).is_file()


def test_slurm_array_task_runs_its_shard_in_a_scratch_clone(
    origin: Origin, swept: dict[str, Any], tmp_path: Path
) -> None:
    """slurm/sweep.sbatch as array task 0 of 2 (SLURM's variables set by hand): it clones origin into
    scratch, finds its shard already pushed, skips it, and removes the clone."""
    submit = origin.clone("submit")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {
        **ENV, **origin.env,
        "SLURM_ARRAY_JOB_ID": "77", "SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": str(SHARDS),
        "SLURM_SUBMIT_DIR": str(submit), "SWEEP_NAME": NAME, "SWEEP_TARGET": TARGET, "SWEEP_VENV": sys.prefix,
        "SWEEP_SCRATCH": str(scratch),
    }  # fmt: skip
    task = sbatch(submit, env)
    assert task.returncode == 0, task.stdout + task.stderr
    assert (
        f"worker 0/2 of sweep '{NAME}' (baseline {origin.baseline[:7]}): 2 of 3 experiments, 2 already" in task.stdout
    )
    assert "done: 0 ran, 0 pushed, 2 skipped, 0 failed" in task.stdout
    assert list(scratch.iterdir()) == []

    task = sbatch(submit, {k: v for k, v in env.items() if k != "SLURM_ARRAY_TASK_ID"})
    assert task.returncode == 1
    assert task.stderr.startswith("error: not an array task: submit with sbatch --array=0-(N-1)")


def sbatch(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    grid = [arg for axis in GRID for arg in ("-S", axis)]
    return subprocess.run(
        ["bash", "slurm/sweep.sbatch", *grid], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
