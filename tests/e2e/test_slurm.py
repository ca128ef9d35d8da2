"""slurm/sweep.sbatch and slurm/collect.sbatch on a real one-node SLURM cluster (python -m tools.slurm up): a
bare git origin, a local-directory DVC remote, job arrays submitted with sbatch as the docs show and waited
for with SLURM's own means (`sbatch --wait`, `--dependency`), and the faults a scheduler makes: scancel, a
--time limit, the same array twice at once, an unreachable DVC remote. Job states come from the cluster's
jobcomp file (no slurmdbd, so no sacct). Experiments train 2 epochs and stop at the train stage.

Without SLURM and no way to install it (not root, no apt-get) the tests skip; under CI=true they fail."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from penguins.params import loads_yaml
from tests.conftest import run
from tests.helpers.remote import free_port
from tools import slurm, sweep
from tools.repo.run import BIN, ENV

pytestmark = pytest.mark.e2e

EPOCHS = "train.epochs=2"
TARGET = "train"  # validation metrics are enough; evaluate would only add a TensorFlow start-up per experiment
NAME = "hpc"
TIMEOUT_S = 900  # one sbatch --wait; the machine is shared and slow, a hang still ends


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A one-node cluster for the module; its daemons are stopped by pid whatever the tests did."""
    state = tmp_path_factory.mktemp("slurm")
    try:
        slurm.install()
    except slurm.SlurmUnavailable as exc:
        if in_ci():
            pytest.fail(f"CI=true and {exc}")
        pytest.skip(str(exc))
    try:
        slurm.up(state, say=lambda _: None)
        yield state
    finally:
        slurm.down(state, say=lambda _: None)


@dataclass
class Origin:
    root: Path
    git: Path  # bare repository every task clones
    store: Path  # the default DVC remote, committed in .dvc/config
    cluster: Path
    baseline: str

    @property
    def env(self) -> dict[str, str]:
        return {
            **ENV, **slurm.env(self.cluster),
            "SWEEP_NAME": NAME, "SWEEP_TARGET": TARGET, "SWEEP_VENV": sys.prefix,
            "SWEEP_SCRATCH": str(self.root / "scratch"),
        }  # fmt: skip

    def clone(self, name: str) -> Path:
        dest = self.root / name
        run(["git", "clone", "-q", str(self.git), str(dest)], cwd=self.root)
        return dest

    def sbatch(
        self, submit: Path, *args: str, env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["sbatch", *args], cwd=submit, env={**self.env, **(env or {})}, capture_output=True, text=True,
            timeout=TIMEOUT_S, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert not check or proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    def experiments(self) -> dict[str, str]:
        listing = run(["git", "for-each-ref", "--format=%(objectname) %(refname)", "refs/exps"], cwd=self.git).stdout
        return sweep.parse_refs(listing, self.baseline)

    def states(self, *jobs: str) -> dict[str, str]:
        """The named jobs' final states from the jobcomp file, waiting (bounded) until all are written."""
        deadline = time.monotonic() + 60
        while True:
            path = self.cluster / "jobcomp.txt"
            states = slurm.parse_jobcomp(path.read_text() if path.exists() else "")
            if all(job in states for job in jobs) or time.monotonic() > deadline:
                return {job: states.get(job, "(not in jobcomp)") for job in jobs}
            time.sleep(0.5)

    def model_in_store(self, commit: str) -> bool:
        md5 = model_md5(run(["git", "show", f"{commit}:dvc.lock"], cwd=self.git).stdout)
        return (self.store / "files/md5" / md5[:2] / md5[2:]).is_file()


def grid(*values: str) -> list[str]:
    return ["-S", EPOCHS, "-S", f"train.seed={','.join(values)}"]


def model_md5(lock_text: str) -> str:
    lock = loads_yaml(lock_text)
    return {out["path"]: out["md5"] for out in lock["stages"]["train"]["outs"]}["models/model.keras"]


def seeds_on(origin: Origin) -> list[int]:
    seeds = []
    for commit in origin.experiments().values():
        seeds.append(loads_yaml(run(["git", "show", f"{commit}:params.yaml"], cwd=origin.git).stdout)["train"]["seed"])
    return sorted(seeds)


@pytest.fixture(scope="module")
def origin(pipeline: dict[str, Any], cluster: Path, tmp_path_factory: pytest.TempPathFactory) -> Origin:
    """The shared pipeline clone with a local-directory DVC remote committed and its data pushed there, as a
    bare repository; plus an empty scratch directory for the tasks' clones."""
    root = tmp_path_factory.mktemp("hpc")
    src, store = root / "src", root / "store"
    shutil.copytree(pipeline["repo"], src, symlinks=True)
    store.mkdir()
    (root / "scratch").mkdir()
    run([str(BIN / "dvc"), "remote", "add", "-d", "store", str(store)], cwd=src)
    run(["git", "commit", "-q", "-am", "DVC remote for the cluster"], cwd=src)
    run([str(BIN / "dvc"), "push", "--run-cache"], cwd=src)
    run(["git", "clone", "-q", "--bare", str(src), str(root / "origin.git")], cwd=root)
    baseline = run(["git", "rev-parse", "HEAD"], cwd=src).stdout.strip()
    return Origin(root, root / "origin.git", store, cluster, baseline)


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


@pytest.fixture(scope="module")
def swept(origin: Origin) -> dict[str, Any]:
    """The docs' two sbatch lines: a 3-task array, and a collect job after it (taking the array's id from
    --parsable); `sbatch --wait` on the collect job waits for both."""
    submit = origin.clone("submit")
    array = origin.sbatch(submit, "--parsable", "--array=0-2", "slurm/sweep.sbatch", *grid("0", "1", "2"))
    job = array.stdout.strip().split(";")[0]
    collect = origin.sbatch(
        submit, "--parsable", "--wait", f"--dependency=afterany:{job}", "slurm/collect.sbatch", *grid("0", "1", "2")
    )
    collect_job = collect.stdout.strip().split(";")[0]
    return {"submit": submit, "job": job, "collect_job": collect_job}


def test_array_sweep_then_collect_job_compares_every_experiment_once(origin: Origin, swept: dict[str, Any]) -> None:
    job, submit = swept["job"], swept["submit"]
    assert origin.states(f"{job}_0", f"{job}_1", f"{job}_2", swept["collect_job"]) == dict.fromkeys(
        [f"{job}_0", f"{job}_1", f"{job}_2", swept["collect_job"]], "COMPLETED"
    )
    for task in range(3):
        out = (submit / f"slurm-sweep-{job}_{task}.out").read_text()
        assert f"worker {task}/3 of sweep '{NAME}'" in out
        assert "done: 1 ran, 0 pushed, 0 skipped, 0 failed" in out, out
    assert seeds_on(origin) == [0, 1, 2]
    assert all(origin.model_in_store(commit) for commit in origin.experiments().values())
    report = (submit / f"sweep-{NAME}.md").read_text()
    assert report.startswith(f"## Sweep '{NAME}' on {origin.baseline[:7]}: 3 of 3 experiments from origin")
    rows = [line for line in report.splitlines() if line.startswith(f"| {NAME}-")]
    assert sorted(row.split("|")[1].strip() for row in rows) == sorted(origin.experiments())  # each exactly once
    assert all("| - |" not in row for row in rows), report  # every one with its metrics
    assert report.rstrip().splitlines()[-1].startswith("Best experiment by dvclive/metrics.json:eval.accuracy")
    assert (submit / f"slurm-collect-{swept['collect_job']}.out").read_text().strip() == report.strip()
    assert list((origin.root / "scratch").iterdir()) == []  # every task removed its clone


def test_collect_job_exits_1_and_reports_what_is_missing(origin: Origin, swept: dict[str, Any]) -> None:
    submit = swept["submit"]
    report = submit / "missing.md"
    done = origin.sbatch(
        submit, "--parsable", "--wait", "slurm/collect.sbatch", *grid("0", "1", "2", "3"),
        env={"SWEEP_REPORT": str(report)}, check=False,
    )  # fmt: skip
    job = done.stdout.strip()
    assert origin.states(job) == {job: "FAILED"}
    text = report.read_text()
    assert "3 of 4 experiments from origin" in text
    assert "Missing (1)" in text and "train.seed=3" in text
    err = (submit / f"slurm-collect-{job}.out").read_text()
    assert "error: 1 of 4 experiments are not on origin: run their shards' workers" in err


def test_plain_dvc_on_the_results_in_a_fresh_clone(origin: Origin, swept: dict[str, Any]) -> None:
    """What a user does without tools.sweep: dvc exp pull, exp show, exp apply, pull; and the model is the one
    `dvc exp run -S` makes for the same point."""
    repo = origin.clone("plain")
    names = sorted(origin.experiments())
    run([str(BIN / "dvc"), "exp", "pull", "origin", *names], cwd=repo)
    shown = json.loads(run([str(BIN / "dvc"), "exp", "show", "--json"], cwd=repo).stdout)
    exps = [e for b in shown for e in b.get("experiments") or []]
    assert sorted(e["name"] for e in exps) == names
    assert all("dvclive/metrics.json" in e["revs"][0]["data"]["metrics"] for e in exps)
    seed1 = next(n for n, c in origin.experiments().items() if c in seed_commits(origin, 1))
    run([str(BIN / "dvc"), "exp", "apply", seed1], cwd=repo)
    run([str(BIN / "dvc"), "pull", TARGET], cwd=repo)
    assert (repo / "models/model.keras").is_file()
    assert "up to date" in run([str(BIN / "dvc"), "status", TARGET], cwd=repo).stdout
    cluster_md5 = model_md5((repo / "dvc.lock").read_text())

    local = origin.clone("local-run")
    run([str(BIN / "dvc"), "exp", "run", TARGET, "--pull", "-S", EPOCHS, "-S", "train.seed=1"], cwd=local)
    assert model_md5((local / "dvc.lock").read_text()) == cluster_md5


def seed_commits(origin: Origin, seed: int) -> set[str]:
    return {
        commit
        for commit in origin.experiments().values()
        if loads_yaml(run(["git", "show", f"{commit}:params.yaml"], cwd=origin.git).stdout)["train"]["seed"] == seed
    }


def test_scancel_mid_training_then_the_task_alone_with_a_shared_cache(origin: Origin, swept: dict[str, Any]) -> None:
    """Two tasks at once with one DVC cache (SWEEP_CACHE); task 1 is cancelled while it trains and submitted
    again alone: each experiment once on origin, each with its model in the DVC remote."""
    submit, cache = swept["submit"], origin.root / "shared-cache"
    env = {"SWEEP_CACHE": str(cache)}
    job = origin.sbatch(submit, "--parsable", "--array=0-1", "slurm/sweep.sbatch", *grid("10", "11"), env=env)
    job = job.stdout.strip()
    wait_for_training(job, 1)
    subprocess.run(["scancel", f"{job}_1"], env=origin.env, check=True, timeout=60)
    again = origin.sbatch(
        submit, "--parsable", "--wait", f"--dependency=afterany:{job}", "--array=1", "slurm/sweep.sbatch",
        *grid("10", "11"), env={**env, "SWEEP_SHARDS": "2"},
    )  # fmt: skip
    rerun = again.stdout.strip()
    assert origin.states(f"{job}_0", f"{job}_1", f"{rerun}_1") == {
        f"{job}_0": "COMPLETED", f"{job}_1": "CANCELLED", f"{rerun}_1": "COMPLETED",
    }  # fmt: skip
    cancelled = (submit / f"slurm-sweep-{job}_1.out").read_text()
    assert "error: stopped by signal 15; run the worker again to finish its shard" in cancelled
    assert "done: 1 ran, 0 pushed, 0 skipped, 0 failed" in (submit / f"slurm-sweep-{rerun}_1.out").read_text()
    assert seeds_on(origin) == [0, 1, 2, 10, 11]  # no duplicate, none missing
    assert all(origin.model_in_store(commit) for commit in origin.experiments().values())  # nothing half-pushed
    for commit in seed_commits(origin, 10) | seed_commits(origin, 11):  # made in the one cache
        md5 = model_md5(run(["git", "show", f"{commit}:dvc.lock"], cwd=origin.git).stdout)
        assert (cache / "files/md5" / md5[:2] / md5[2:]).is_file()
    assert list((origin.root / "scratch").iterdir()) == []


def test_task_past_its_time_limit_times_out_then_runs_with_enough_time(origin: Origin, swept: dict[str, Any]) -> None:
    """--time=1 (SLURM's smallest, a minute); the training is frozen (SIGSTOP) so that it outlasts the limit
    without using the CPU. SLURM ends the task (TIMEOUT); the same task with enough time then completes."""
    submit = swept["submit"]
    job = origin.sbatch(submit, "--parsable", "--array=0", "--time=1", "slurm/sweep.sbatch", *grid("20"))
    job = job.stdout.strip()
    wait_for_training(job, 0).send_signal(signal.SIGSTOP)
    again = origin.sbatch(
        submit, "--parsable", "--wait", f"--dependency=afterany:{job}", "--array=0", "--time=30",
        "slurm/sweep.sbatch", *grid("20"),
    )  # fmt: skip
    rerun = again.stdout.strip()
    assert origin.states(f"{job}_0", f"{rerun}_0") == {f"{job}_0": "TIMEOUT", f"{rerun}_0": "COMPLETED"}
    assert "DUE TO TIME LIMIT" in (submit / f"slurm-sweep-{job}_0.out").read_text()
    assert seeds_on(origin).count(20) == 1
    assert all(origin.model_in_store(commit) for commit in seed_commits(origin, 20))


def test_the_same_array_submitted_twice_at_once_lands_each_experiment_once(
    origin: Origin, swept: dict[str, Any]
) -> None:
    submit = swept["submit"]
    first = origin.sbatch(submit, "--parsable", "--array=0", "slurm/sweep.sbatch", *grid("30")).stdout.strip()
    second = origin.sbatch(submit, "--parsable", "--array=0", "slurm/sweep.sbatch", *grid("30")).stdout.strip()
    origin.sbatch(submit, "--wait", f"--dependency=afterany:{first}:{second}", "--wrap", "true")
    assert origin.states(f"{first}_0", f"{second}_0") == {f"{first}_0": "COMPLETED", f"{second}_0": "COMPLETED"}
    assert seeds_on(origin).count(30) == 1
    assert all(origin.model_in_store(commit) for commit in seed_commits(origin, 30))
    # Whichever way the race went: the later task found it on origin and skipped it, or trained it too and kept
    # the first push ("already had it from another worker"), or made the very same commit (same outputs, same
    # parent, committed in the same second) so that its push was a no-op. Never a failure, never two refs.
    outputs = [(submit / f"slurm-sweep-{job}_0.out").read_text() for job in (first, second)]
    assert all("done: " in out and ", 0 failed" in out for out in outputs), outputs


def test_unreachable_dvc_remote_fails_in_bounded_time_with_one_line(origin: Origin, swept: dict[str, Any]) -> None:
    """The submitting clone's config.local (copied into the task's clone) names an S3 endpoint nothing listens on."""
    submit = origin.clone("unreachable")
    dead = f"http://127.0.0.1:{free_port()}"
    for args in (["remote", "add", "--local", "-d", "dead", "s3://nowhere/penguins"],
                 ["remote", "modify", "--local", "dead", "endpointurl", dead]):  # fmt: skip
        run([str(BIN / "dvc"), *args], cwd=submit)
    keys = {"AWS_ACCESS_KEY_ID": "fake", "AWS_SECRET_ACCESS_KEY": "fake", "AWS_EC2_METADATA_DISABLED": "true"}
    start = time.monotonic()
    done = origin.sbatch(
        submit, "--parsable", "--wait", "--array=0", "--time=10", "slurm/sweep.sbatch", *grid("40"), env=keys,
        check=False,
    )  # fmt: skip
    job = done.stdout.strip()
    assert origin.states(f"{job}_0") == {f"{job}_0": "FAILED"}
    assert time.monotonic() - start < 300  # botocore retries a refused connection a few times, then gives up
    out = (submit / f"slurm-sweep-{job}_0.out").read_text()
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out
    assert errors[0].startswith("error: preparing the inputs of 'train' (dvc repro --pull"), errors[0]
    assert f'Could not connect to the endpoint URL: "{dead}/' in errors[0], errors[0]
    assert 40 not in seeds_on(origin)
