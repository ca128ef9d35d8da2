"""slurm/sweep.sbatch and slurm/collect.sbatch on a real one-node SLURM cluster (python -m tools.slurm up): a
bare git origin, a local-directory DVC remote (and, for one task, an S3 one: moto on 127.0.0.1), job arrays
submitted with sbatch as the docs show, and the faults a scheduler makes: scancel, a --time limit, the same array
twice at once (the timed-out task's, with enough time), an unreachable DVC remote. Job states come from the
cluster's jobcomp file, SLURM's own record (no slurmdbd, so no sacct); dependencies are SLURM's
(`--dependency=afterany`). Experiments train 2 epochs and stop at the train stage.

Every job is submitted when the module starts (the `jobs` fixture), so that the cluster runs them side by side
while the tests look at those that have ended: the job that runs into its one-minute --time limit goes first
and is checked last, with the two that run its task again. The node offers one CPU more than the machine has,
for that job, frozen (SIGSTOP) and using none. Each group of jobs has a scratch directory of its own, so that
each test sees its tasks' clones gone.

Without root or apt-get the tests skip, even under CI=true (GitHub's runners are not root); as root under CI=true
a SLURM that cannot be installed or started fails them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest

from penguins.yamlio import loads_yaml
from tests.conftest import run
from tests.helpers.remote import free_port
from tools import slurm, sweep
from tools.benchmarks.s3 import S3Server
from tools.repo.run import BIN, ENV

pytestmark = pytest.mark.e2e

EPOCHS = "train.epochs=2"
TARGET = "train"  # validation metrics are enough; evaluate would only add a TensorFlow start-up per experiment
NAME = "hpc"
S3_PREFIX = "slurm"  # this module's part of the session's bucket (tests/conftest.py's `s3`)
TIMEOUT_S = 900  # waiting for one job; the machine is shared and slow, a hang still ends
T = TypeVar("T")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A one-node cluster for the module; its daemons are stopped by pid whatever the tests did. One CPU more
    than the machine's, for the frozen job of the time-limit test. A cluster that does not start fails."""
    state = tmp_path_factory.mktemp("slurm")
    try:
        slurm.install()
    except slurm.SlurmUnavailable as exc:
        reason = slurm.skip_reason(exc, in_ci())
        if reason is None:
            pytest.fail(f"CI=true and root, and {exc}")
        pytest.skip(reason)
    try:
        slurm.up(state, say=lambda _: None, cpus=len(os.sched_getaffinity(0)) + 1)
        yield state
    finally:
        slurm.down(state, say=lambda _: None)


@dataclass
class Origin:
    root: Path
    git: Path  # bare repository every task clones
    store: Path  # the default DVC remote, committed in .dvc/config
    s3: S3Server  # S3_PREFIX there holds what store held before the jobs: every output and the run-cache
    s3_env: dict[str, str]  # what a client of it needs (keys, region, nothing from ~/.aws)
    cluster: Path
    baseline: str

    @property
    def env(self) -> dict[str, str]:
        return {
            **ENV, **slurm.env(self.cluster),
            "SWEEP_NAME": NAME, "SWEEP_TARGET": TARGET, "SWEEP_VENV": sys.prefix,
        }  # fmt: skip

    def scratch(self, group: str) -> Path:
        return self.root / "scratch" / group

    def clone(self, name: str) -> Path:
        dest = self.root / name
        run(["git", "clone", "-q", str(self.git), str(dest)], cwd=self.root)
        return dest

    def sbatch(self, submit: Path, group: str, *args: str, env: dict[str, str] | None = None) -> str:
        """Submit with --parsable from ``submit``, the tasks' clones in scratch/GROUP; returns the job id."""
        self.scratch(group).mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            ["sbatch", "--parsable", *args], cwd=submit,
            env={**self.env, "SWEEP_SCRATCH": str(self.scratch(group)), **(env or {})}, capture_output=True,
            text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout.strip().split(";")[0]

    def experiments(self) -> dict[str, str]:
        listing = run(["git", "for-each-ref", "--format=%(objectname) %(refname)", "refs/exps"], cwd=self.git).stdout
        return sweep.parse_refs(listing, self.baseline)

    def records(self) -> dict[str, dict[str, str]]:
        """The jobcomp file's records by job name (as parse_jobcomp names them), the last of each."""
        path = self.cluster / "jobcomp.txt"
        records = {}
        for line in (path.read_text() if path.exists() else "").splitlines():
            if name := list(slurm.parse_jobcomp(line)):
                records[name[0]] = dict(field.split("=", 1) for field in line.split() if "=" in field)
        return records

    def states(self, *jobs: str, timeout_s: float = TIMEOUT_S) -> dict[str, str]:
        """The named jobs' final states from the jobcomp file, waiting (bounded) until all are written."""
        deadline = time.monotonic() + timeout_s
        while True:
            path = self.cluster / "jobcomp.txt"
            states = slurm.parse_jobcomp(path.read_text() if path.exists() else "")
            if all(job in states for job in jobs) or time.monotonic() > deadline:
                return {job: states.get(job, "(not in jobcomp)") for job in jobs}
            time.sleep(0.5)

    def model_in_store(self, commit: str) -> bool:
        md5 = model_md5(run(["git", "show", f"{commit}:dvc.lock"], cwd=self.git).stdout)
        return (self.store / "files/md5" / md5[:2] / md5[2:]).is_file()

    def model_in_bucket(self, commit: str) -> bool:
        md5 = model_md5(run(["git", "show", f"{commit}:dvc.lock"], cwd=self.git).stdout)
        return f"{S3_PREFIX}/files/md5/{md5[:2]}/{md5[2:]}" in self.s3.keys(f"{S3_PREFIX}/files/md5/{md5[:2]}/")


def grid(*values: str) -> list[str]:
    return ["-S", EPOCHS, "-S", f"train.seed={','.join(values)}"]


def model_md5(lock_text: str) -> str:
    lock = loads_yaml(lock_text)
    return {out["path"]: out["md5"] for out in lock["stages"]["train"]["outs"]}["models/model.keras"]


def seed_of(origin: Origin, commit: str) -> int:
    return loads_yaml(run(["git", "show", f"{commit}:params.yaml"], cwd=origin.git).stdout)["train"]["seed"]


def seeds_on(origin: Origin, among: tuple[int, ...] | None = None) -> list[int]:
    """The seeds of the experiments on origin (those in ``among``), one entry per experiment."""
    seeds = [seed_of(origin, commit) for commit in origin.experiments().values()]
    return sorted(seed for seed in seeds if among is None or seed in among)


def seed_commits(origin: Origin, *seeds: int) -> dict[str, str]:
    """The experiments on origin with one of these seeds: {name: commit}."""
    return {name: commit for name, commit in origin.experiments().items() if seed_of(origin, commit) in seeds}


@pytest.fixture(scope="module")
def origin(cluster: Path, s3: S3Server, pipeline: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Origin:
    """The session's pipeline clone (the default pipeline ran: every output an experiment's dvc.lock names, as
    `dvc exp pull` fetches them all) with a local-directory DVC remote committed, as a bare repository; its
    outputs and run-cache pushed there, and to the S3 one too (S3_PREFIX: a remote in the source clone's
    .dvc/config.local, not committed). Not a `dvc repro` of its own: that would run a second default pipeline
    for outputs the session's clone already holds."""
    root = tmp_path_factory.mktemp("hpc")
    src, store = root / "src", root / "store"
    shutil.copytree(pipeline["repo"], src, symlinks=True)
    store.mkdir()
    run([str(BIN / "dvc"), "remote", "add", "-d", "store", str(store)], cwd=src)
    run(["git", "commit", "-q", "-am", "DVC remote for the cluster"], cwd=src)
    run([str(BIN / "dvc"), "push", "--run-cache"], cwd=src)
    s3_env = s3.env(root)
    for args in (["remote", "add", "--local", "s3", s3.url(S3_PREFIX)],
                 ["remote", "modify", "--local", "s3", "endpointurl", s3.endpoint]):  # fmt: skip
        run([str(BIN / "dvc"), *args], cwd=src)
    seeded = subprocess.run(
        [str(BIN / "dvc"), "push", "--run-cache", "-r", "s3"], cwd=src, env={**ENV, **s3_env},
        capture_output=True, text=True, timeout=TIMEOUT_S, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    run(["git", "clone", "-q", "--bare", str(src), str(root / "origin.git")], cwd=root)
    baseline = run(["git", "rev-parse", "HEAD"], cwd=src).stdout.strip()
    return Origin(root, root / "origin.git", store, s3, s3_env, cluster, baseline)


def in_background(work: Callable[[], T]) -> Future[T]:
    """``work`` in a daemon thread (nothing waits for it at exit); its result or exception in the future."""
    future: Future[T] = Future()

    def target() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # pytest.fail too: the test that asks re-raises it
            future.set_exception(exc)

    threading.Thread(target=target, daemon=True).start()
    return future


@dataclass
class Jobs:
    submit: Path  # the clone the docs' lines are run from
    cached: Path  # a clone whose .dvc/config.local has a --local default remote (SWEEP_CACHE's test)
    unreachable: Path  # a clone whose .dvc/config.local names an S3 endpoint nothing listens on
    dead_endpoint: str
    timed_out: str  # --time=1, frozen while it trains
    frozen: Future[None]
    array: str  # the docs' array, of 2 tasks (a third added a job and no check)...
    collect: str  # ...and its collect job
    missing: str  # a collect job after the array, of a grid with one point more
    cancelled: str  # 2 tasks with one shared cache; task 1 is cancelled while it trains...
    cancelled_again: Future[str]  # ...and then submitted alone
    twice: tuple[str, str]  # the timed-out task after it, with enough time, twice at once
    to_s3: Path  # a clone whose .dvc/config.local has an S3 default remote (moto), its keys in the environment
    s3_job: str
    unreachable_job: str

    def all(self) -> list[str]:
        return [
            f"{self.timed_out}_0", *(f"{self.array}_{task}" for task in range(2)),
            self.collect, self.missing, f"{self.cancelled}_0", f"{self.cancelled}_1",
            f"{self.cancelled_again.result(TIMEOUT_S)}_1", *(f"{job}_0" for job in self.twice),
            f"{self.s3_job}_0", f"{self.unreachable_job}_0",
        ]  # fmt: skip


@pytest.fixture(scope="module")
def jobs(origin: Origin) -> Jobs:
    """Every job of the module, submitted now; the job that will time out first, as it waits longest."""
    sweep_sh = "slurm/sweep.sbatch"
    submit = origin.clone("submit")
    timed_out = origin.sbatch(submit, "timeout", "--array=0", "--time=1", sweep_sh, *grid("20"))
    # Frozen as soon as its training starts, so that it outlasts the limit without using the CPU.
    frozen = in_background(lambda: wait_for_training(timed_out, 0).send_signal(signal.SIGSTOP))
    # The same task again with enough time, submitted twice at once (both released when it ends), from the
    # submit directory with SWEEP_VENV relative to it: the rerun after a time-out and the race in two jobs.
    venv = {"SWEEP_VENV": os.path.relpath(sys.prefix, submit)}
    again = [f"--dependency=afterany:{timed_out}", "--array=0", "--time=30", sweep_sh, *grid("20")]
    twice = tuple(origin.sbatch(submit, "twice", *again, env=venv) for _ in range(2))
    # The docs' two lines: the array, and its collect job taking the array's id from --parsable.
    array = origin.sbatch(submit, "sweep", "--array=0-1", sweep_sh, *grid("0", "1"))
    collect = origin.sbatch(
        submit, "collect", f"--dependency=afterany:{array}", "slurm/collect.sbatch", *grid("0", "1")
    )
    # The SWEEP_CACHE case from a clone with the remote and its credentials in .dvc/config.local, as the sbatch
    # header says; SWEEP_CACHE relative to the submit directory (made absolute before the task cds).
    cached = origin.clone("cached")
    run([str(BIN / "dvc"), "remote", "add", "--local", "-d", "cluster", str(origin.store)], cwd=cached)
    cache_env = {"SWEEP_CACHE": "../shared-cache"}
    cancelled = origin.sbatch(cached, "cancel", "--array=0-1", sweep_sh, *grid("10", "11"), env=cache_env)

    def cancel_then_again() -> str:
        wait_for_training(cancelled, 1)
        subprocess.run(["scancel", f"{cancelled}_1"], env=origin.env, check=True, timeout=60)
        return origin.sbatch(
            cached, "cancel", f"--dependency=afterany:{cancelled}", "--array=1", sweep_sh, *grid("10", "11"),
            env={**cache_env, "SWEEP_SHARDS": "2"},
        )  # fmt: skip

    cancelled_again = in_background(cancel_then_again)
    # An S3 remote as sharing.md sets one up: `dvc remote add --local -d`, its endpoint, the keys in the
    # environment (sbatch passes the submitting one on; moto refuses a request without them).
    to_s3 = origin.clone("s3")
    for args in (["remote", "add", "--local", "-d", "s3", origin.s3.url(S3_PREFIX)],
                 ["remote", "modify", "--local", "s3", "endpointurl", origin.s3.endpoint]):  # fmt: skip
        run([str(BIN / "dvc"), *args], cwd=to_s3)
    s3_job = origin.sbatch(to_s3, "s3", "--array=0", sweep_sh, *grid("50"), env=origin.s3_env)
    unreachable, dead = origin.clone("unreachable"), f"http://127.0.0.1:{free_port()}"
    for args in (["remote", "add", "--local", "-d", "dead", "s3://nowhere/penguins"],
                 ["remote", "modify", "--local", "dead", "endpointurl", dead]):  # fmt: skip
        run([str(BIN / "dvc"), *args], cwd=unreachable)
    keys = {"AWS_ACCESS_KEY_ID": "fake", "AWS_SECRET_ACCESS_KEY": "fake", "AWS_EC2_METADATA_DISABLED": "true"}
    unreachable_job = origin.sbatch(
        unreachable, "unreachable", "--array=0", "--time=10", sweep_sh, *grid("40"), env=keys
    )
    missing = origin.sbatch(
        submit, "missing", f"--dependency=afterany:{array}", "slurm/collect.sbatch", *grid("0", "1", "2"),
        env={"SWEEP_REPORT": "missing.md"},  # relative: in the submit directory, not in the job's clone
    )  # fmt: skip
    return Jobs(
        submit, cached, unreachable, dead, timed_out, frozen, array, collect, missing, cancelled,
        cancelled_again, twice, to_s3, s3_job, unreachable_job,
    )  # fmt: skip


def scratch_left(origin: Origin, group: str) -> list[Path]:
    return list(origin.scratch(group).iterdir())


def wait_for_training(job: str, task: int, timeout_s: float = TIMEOUT_S) -> psutil.Process:
    """The train stage process of an array task (found by SLURM's variables in its environment)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for proc in psutil.process_iter(["cmdline"]):
            try:
                if "stages.train" not in " ".join(proc.info["cmdline"] or []):
                    continue
                environ = proc.environ()
            except psutil.Error:
                continue
            if environ.get("SLURM_ARRAY_JOB_ID") == job and environ.get("SLURM_ARRAY_TASK_ID") == str(task):
                return proc
        time.sleep(0.3)
    pytest.fail(f"task {job}_{task} did not start training within {timeout_s} s")


@pytest.mark.usefixtures("jobs")  # the module's jobs run meanwhile
def test_up_and_down_stop_exactly_the_daemons_they_started(cluster: Path, tmp_path: Path) -> None:
    """A second cluster beside the module's: `down` stops its three daemons by pid and leaves the other's."""
    other = slurm.running(cluster)
    state = tmp_path / "second"
    slurm.up(state, say=lambda _: None)
    started = slurm.running(state)
    assert sorted(started) == sorted(slurm.DAEMONS)
    assert "idle" in slurm.status(state)
    slurm.down(state, say=lambda _: None)
    assert not any(psutil.pid_exists(pid) for pid in started.values())
    assert slurm.running(state) == {}
    assert slurm.running(cluster) == other  # the module's cluster still runs
    shown = subprocess.run(
        [sys.executable, "-m", "tools.slurm", "status", "--dir", str(state)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.stdout.splitlines() == [f"{daemon}: not running" for daemon in slurm.DAEMONS]


def test_array_sweep_then_collect_job_compares_every_experiment_once(origin: Origin, jobs: Jobs) -> None:
    job, submit = jobs.array, jobs.submit
    assert origin.states(f"{job}_0", f"{job}_1", jobs.collect) == dict.fromkeys(
        [f"{job}_0", f"{job}_1", jobs.collect], "COMPLETED"
    )
    for task in range(2):
        out = (submit / f"slurm-sweep-{job}_{task}.out").read_text()
        assert f"worker {task}/2 of sweep '{NAME}'" in out
        assert "done: 1 ran, 0 pushed, 0 skipped, 0 failed" in out, out
    assert seeds_on(origin, (0, 1)) == [0, 1]
    swept = seed_commits(origin, 0, 1)
    assert all(origin.model_in_store(commit) for commit in swept.values())
    report = (submit / f"sweep-{NAME}.md").read_text()
    assert report.startswith(f"## Sweep '{NAME}' on {origin.baseline[:7]}: 2 of 2 experiments from origin")
    rows = [line for line in report.splitlines() if line.startswith(f"| {NAME}-")]
    assert sorted(row.split("|")[1].strip() for row in rows) == sorted(swept)  # each exactly once
    assert all("| - |" not in row for row in rows), report  # every one with its metrics
    assert report.rstrip().splitlines()[-1].startswith("Best experiment by dvclive/metrics.json:eval.accuracy")
    assert (submit / f"slurm-collect-{jobs.collect}.out").read_text().strip() == report.strip()
    assert scratch_left(origin, "sweep") == scratch_left(origin, "collect") == []  # every task removed its clone


def test_collect_job_exits_1_and_reports_what_is_missing(origin: Origin, jobs: Jobs) -> None:
    job = jobs.missing
    assert origin.states(job) == {job: "FAILED"}
    text = (jobs.submit / "missing.md").read_text()  # SWEEP_REPORT=missing.md, relative to the submit directory
    assert "2 of 3 experiments from origin" in text
    assert "Missing (1)" in text and "train.seed=2" in text
    err = (jobs.submit / f"slurm-collect-{job}.out").read_text()
    assert "error: 1 of 3 experiments are not on origin: run their shards' workers" in err
    assert scratch_left(origin, "missing") == []


def test_plain_dvc_on_the_results_in_a_fresh_clone(origin: Origin, jobs: Jobs) -> None:
    """What a user does without tools.sweep: dvc exp pull, exp show, exp apply, pull; and the model is the one
    `dvc exp run -S` makes for the same point."""
    origin.states(*(f"{jobs.array}_{task}" for task in range(2)))
    repo = origin.clone("plain")
    swept = seed_commits(origin, 0, 1)
    names = sorted(swept)
    run([str(BIN / "dvc"), "exp", "pull", "origin", *names], cwd=repo)
    shown = json.loads(run([str(BIN / "dvc"), "exp", "show", "--json"], cwd=repo).stdout)
    exps = [e for b in shown for e in b.get("experiments") or []]
    assert sorted(e["name"] for e in exps) == names
    assert all("dvclive/metrics.json" in e["revs"][0]["data"]["metrics"] for e in exps)
    seed1 = next(iter(seed_commits(origin, 1)))
    run([str(BIN / "dvc"), "exp", "apply", seed1], cwd=repo)
    run([str(BIN / "dvc"), "pull", TARGET], cwd=repo)
    assert (repo / "models/model.keras").is_file()
    assert "up to date" in run([str(BIN / "dvc"), "status", TARGET], cwd=repo).stdout
    cluster_md5 = model_md5((repo / "dvc.lock").read_text())

    local = origin.clone("local-run")
    run([str(BIN / "dvc"), "exp", "run", TARGET, "--pull", "-S", EPOCHS, "-S", "train.seed=1"], cwd=local)
    assert model_md5((local / "dvc.lock").read_text()) == cluster_md5


def test_scancel_mid_training_then_the_task_alone_with_a_shared_cache(origin: Origin, jobs: Jobs) -> None:
    """Two tasks at once with one DVC cache (SWEEP_CACHE, relative to the submit directory) from a clone whose
    default DVC remote is in .dvc/config.local; task 1 is cancelled while it trains and submitted again alone:
    each experiment once on origin, each with its model in the DVC remote and in the shared cache, whose
    objects have the group permissions DVC gives a `cache.shared group` cache."""
    job, rerun, cache = jobs.cancelled, jobs.cancelled_again.result(TIMEOUT_S), origin.root / "shared-cache"
    assert origin.states(f"{job}_0", f"{job}_1", f"{rerun}_1") == {
        f"{job}_0": "COMPLETED", f"{job}_1": "CANCELLED", f"{rerun}_1": "COMPLETED",
    }  # fmt: skip
    cancelled = (jobs.cached / f"slurm-sweep-{job}_1.out").read_text()
    assert "error: stopped by signal 15; run the worker again to finish its shard" in cancelled
    assert "done: 1 ran, 0 pushed, 0 skipped, 0 failed" in (jobs.cached / f"slurm-sweep-{rerun}_1.out").read_text()
    assert seeds_on(origin, (10, 11)) == [10, 11]  # no duplicate, none missing
    made = seed_commits(origin, 10, 11).values()
    assert all(origin.model_in_store(commit) for commit in made)  # nothing half-pushed
    for commit in made:  # made in the one cache, group-writable directories (setgid) and group-readable files
        md5 = model_md5(run(["git", "show", f"{commit}:dvc.lock"], cwd=origin.git).stdout)
        obj = cache / "files/md5" / md5[:2] / md5[2:]
        assert obj.is_file()
        assert stat.S_IMODE(obj.stat().st_mode) in (0o664, 0o444), oct(obj.stat().st_mode)  # 0o444: protected
        for folder in (obj.parent, obj.parent.parent, obj.parent.parent.parent):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o2775, (folder, oct(folder.stat().st_mode))
    assert scratch_left(origin, "cancel") == []


def test_an_array_task_pushes_its_experiment_to_an_s3_remote(origin: Origin, jobs: Jobs) -> None:
    """The submitting clone's config.local names the S3 remote (copied into the task's clone), the keys come
    from the environment sbatch passed on (moto refuses a request without them). The bucket holds every output
    and the run-cache; the model goes there, not to the committed local-directory remote, and the ref to origin,
    once."""
    job = f"{jobs.s3_job}_0"
    assert origin.states(job) == {job: "COMPLETED"}
    out = (jobs.to_s3 / f"slurm-sweep-{job}.out").read_text()
    assert "done: 1 ran, 0 pushed, 0 skipped, 0 failed" in out, out
    assert seeds_on(origin, (50,)) == [50]
    (commit,) = seed_commits(origin, 50).values()
    assert origin.model_in_bucket(commit), origin.s3.keys(S3_PREFIX)
    assert not origin.model_in_store(commit)
    assert scratch_left(origin, "s3") == []


def test_unreachable_dvc_remote_fails_in_bounded_time_with_one_line(origin: Origin, jobs: Jobs) -> None:
    """The submitting clone's config.local (copied into the task's clone) names an S3 endpoint nothing listens on."""
    job = f"{jobs.unreachable_job}_0"
    assert origin.states(job) == {job: "FAILED"}
    record = origin.records()[job]
    ran = datetime.fromisoformat(record["EndTime"]) - datetime.fromisoformat(record["StartTime"])
    assert ran.total_seconds() < 300, record  # botocore retries a refused connection a few times, then gives up
    out = (jobs.unreachable / f"slurm-sweep-{job}.out").read_text()
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out
    assert errors[0].startswith("error: preparing the inputs of 'train' (dvc repro --pull"), errors[0]
    assert f'Could not connect to the endpoint URL: "{jobs.dead_endpoint}/' in errors[0], errors[0]
    assert 40 not in seeds_on(origin)
    assert scratch_left(origin, "unreachable") == []


def test_task_past_its_time_limit_times_out_then_runs_with_enough_time(origin: Origin, jobs: Jobs) -> None:
    """--time=1 (SLURM's smallest, a minute); the training was frozen (SIGSTOP) so that it outlasts the limit
    without using the CPU. SLURM ends the task (TIMEOUT); the same task with enough time then completes (the
    `twice` pair, submitted after it). Submitted first, checked last: the minute passed while the other tests ran."""
    jobs.frozen.result(TIMEOUT_S)
    job, reruns = jobs.timed_out, [f"{rerun}_0" for rerun in jobs.twice]
    assert origin.states(f"{job}_0", *reruns) == {f"{job}_0": "TIMEOUT", **dict.fromkeys(reruns, "COMPLETED")}
    assert "DUE TO TIME LIMIT" in (jobs.submit / f"slurm-sweep-{job}_0.out").read_text()
    assert seeds_on(origin, (20,)) == [20]
    assert all(origin.model_in_store(commit) for commit in seed_commits(origin, 20).values())
    assert scratch_left(origin, "timeout") == []


def test_the_same_array_submitted_twice_at_once_lands_each_experiment_once(origin: Origin, jobs: Jobs) -> None:
    """Both from the submit directory with SWEEP_VENV relative to it: the timed-out task's, released together
    when it ended."""
    first, second = jobs.twice
    assert origin.states(f"{first}_0", f"{second}_0") == {f"{first}_0": "COMPLETED", f"{second}_0": "COMPLETED"}
    assert seeds_on(origin, (20,)) == [20]
    assert all(origin.model_in_store(commit) for commit in seed_commits(origin, 20).values())
    # Whichever way the race went: the later task found it on origin and skipped it, or trained it too and kept
    # the first push ("already had it from another worker"), or made the very same commit (same outputs, same
    # parent, committed in the same second) so that its push was a no-op. Never a failure, never two refs.
    outputs = [(jobs.submit / f"slurm-sweep-{job}_0.out").read_text() for job in (first, second)]
    assert all("done: " in out and ", 0 failed" in out for out in outputs), outputs
    assert scratch_left(origin, "twice") == []


def test_every_experiment_once_on_origin_after_all_the_jobs(origin: Origin, jobs: Jobs) -> None:
    """The jobs ran side by side: together they left each of their experiments exactly once, nothing else, each
    with its model in its DVC remote (the S3 one's in the bucket), and nothing running on the cluster."""
    states = origin.states(*jobs.all())
    assert "(not in jobcomp)" not in states.values(), states
    assert seeds_on(origin) == [0, 1, 10, 11, 20, 50]
    for commit in origin.experiments().values():
        assert origin.model_in_bucket(commit) if seed_of(origin, commit) == 50 else origin.model_in_store(commit)
    queue = subprocess.run(
        ["squeue", "--noheader"], env=origin.env, capture_output=True, text=True, check=True, timeout=60
    )
    assert queue.stdout.strip() == ""
