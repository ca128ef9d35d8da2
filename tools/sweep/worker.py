"""The sweep worker: run one shard's experiments in this clone, `-j K` at a time, and push each one."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from penguins.errors import PipelineError
from tools.repo import internals
from tools.repo.output import last_error
from tools.repo.run import BIN, run
from tools.sweep.grid import Experiment, plan_sweep, shard_of
from tools.sweep.refs import (
    GIT_TIMEOUT_S,
    baseline_of,
    check_clean,
    check_full_history,
    check_remotes,
    dvc_cmd,
    exp_ref_prefix,
    local_experiments,
    read_params,
    read_pipeline,
    remote_experiments,
    upstream_stages,
)

TRANSFER_TIMEOUT_S = 1800  # the data of one experiment, to or from the DVC remote
PUSH_ATTEMPTS = 3  # a failed push (network, a ref locked on the remote) is retried after 2 s, then 4 s
LOG_DIR = Path(".dvc/tmp/sweep")  # git-ignored (.dvc/.gitignore)


@dataclass
class Outcome:
    name: str
    status: str  # ran | pushed (had run here before) | skipped (already on the remote) | failed
    detail: str = ""
    run_s: float = 0.0
    push_s: float = 0.0


def run_experiment(repo: Path, exp: Experiment, *, target: str, baseline: str, log: Path) -> str:
    """`dvc exp run --temp` one experiment; returns its commit."""
    sets = [arg for override in exp.overrides for arg in ("-S", override)]
    args = ["exp", "run", "--temp", target, "--pull", "--allow-missing", "-n", exp.name, *sets]
    if run(dvc_cmd(*args), check=False, cwd=repo, log=log).returncode != 0:
        raise PipelineError(f"{exp.name}: `dvc exp run` failed: {last_error(log.read_text())} ({log})")
    commit = local_experiments(repo, baseline).get(exp.name)
    if not commit:  # seen in a shallow clone: the run succeeds and no experiment is recorded
        raise PipelineError(f"{exp.name}: `dvc exp run` ended without recording the experiment ({log})")
    return commit


# How an experiment travels: its data (the outputs of its commit, and the run-cache) through the DVC
# remote, with the calls `dvc exp push` / `dvc exp pull` make (Repo.push / Repo.fetch of its commit); its
# git ref with the git CLI. Two reasons not to call `dvc exp push` itself: it sends the ref first and
# the data after, so a push stopped half-way leaves a ref without its data, which a restarted worker
# would then skip for good (here a ref on the remote means its data are there); and its built-in git
# client (dulwich, via scmrepo) does not honour all of what the git CLI is set up with, such as the
# `http.extraheader` token actions/checkout writes (treeverse/scmrepo#262).
def transfer_data(repo: Path, how: str, commit: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``how`` is push or fetch: the DVC-tracked outputs of one commit, to or from the default DVC remote."""
    return run(
        internals.exp_data_command(str(BIN / "python"), how, commit),
        check=False,
        cwd=repo,
        timeout=TRANSFER_TIMEOUT_S,
        log=log,
    )


def push_experiment(repo: Path, name: str, commit: str, *, git_remote: str, baseline: str, log: Path) -> str:
    """Push one experiment, data then ref, retried on failure, until the git remote has the ref. A ref
    already there from another worker is kept (same name, so same params). Returns a note or ''."""
    ref = exp_ref_prefix(baseline) + name
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        if transfer_data(repo, "push", commit, log).returncode == 0:
            run(
                ["git", "push", "--quiet", git_remote, f"{commit}:{ref}"],
                check=False,
                cwd=repo,
                timeout=GIT_TIMEOUT_S,
                log=log,
            )
            remote = remote_experiments(repo, git_remote, baseline, name).get(name)
            if remote == commit:
                return ""
            if remote:
                return f"{git_remote} already had it from another worker ({remote[:7]}); kept that one"
        if attempt < PUSH_ATTEMPTS:
            time.sleep(2**attempt)
    raise PipelineError(f"{name}: push failed {PUSH_ATTEMPTS} times: {last_error(log.read_text())} ({log})")


def work(repo: Path, exp: Experiment, *, target: str, git_remote: str, baseline: str, pushed: Iterable[str]) -> Outcome:
    """Run (unless it already ran here) and push one experiment. Never raises: failures are outcomes."""
    if exp.name in pushed:
        return Outcome(exp.name, "skipped", f"already on {git_remote}")
    log = repo / LOG_DIR / f"{exp.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    try:
        start, status = time.perf_counter(), "pushed"  # "pushed": it ran here before the worker stopped
        commit = local_experiments(repo, baseline).get(exp.name)
        if not commit:
            commit, status = run_experiment(repo, exp, target=target, baseline=baseline, log=log), "ran"
        run_s, start = time.perf_counter() - start, time.perf_counter()
        note = push_experiment(repo, exp.name, commit, git_remote=git_remote, baseline=baseline, log=log)
        return Outcome(
            exp.name, status, note, run_s=run_s if status == "ran" else 0.0, push_s=time.perf_counter() - start
        )
    except PipelineError as exc:
        return Outcome(exp.name, "failed", str(exc))
    except Exception as exc:  # one experiment's surprise must not end the shard's other experiments
        return Outcome(exp.name, "failed", f"{type(exc).__name__}: {exc} ({log})")


def prepare_inputs(repo: Path, target: str, upstream: Sequence[str]) -> float:
    """Bring the target's inputs at the baseline: pulled if the DVC remote has them, else made here once
    (`dvc exp run --allow-missing` would otherwise fail on a remote that lacks them)."""
    start = time.perf_counter()
    log = repo / LOG_DIR / "inputs.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    prepare = f"dvc repro --pull {' '.join(upstream)}"
    if run(dvc_cmd("repro", "--pull", *upstream), check=False, cwd=repo, log=log).returncode != 0:
        raise PipelineError(f"preparing the inputs of '{target}' ({prepare}) failed: {last_error(log.read_text())}")
    check_clean(repo, f"after `{prepare}` (this machine made other data than dvc.lock says)")
    return time.perf_counter() - start


def worker(
    repo: Path, grid: Sequence[str], sweep: str, *, shard: tuple[int, int], jobs: int, target: str, git_remote: str,
    say: Callable[[str], None] = print,
) -> list[Outcome]:  # fmt: skip
    """Run one shard: check the whole grid and the remotes, bring the target's inputs, then run and push
    the shard's experiments that the git remote does not have yet, ``jobs`` at a time. A failed
    experiment is reported and the others still run."""
    if jobs < 1:
        raise PipelineError(f"-j {jobs}: run at least one experiment at a time")
    experiments = plan_sweep(read_params(repo), grid, sweep)
    upstream = upstream_stages(read_pipeline(repo), target)
    mine = shard_of(experiments, *shard)
    check_remotes(repo, git_remote)
    check_full_history(repo)
    check_clean(repo, "in the worker's clone")
    baseline = baseline_of(repo)
    pushed = set(remote_experiments(repo, git_remote, baseline))
    todo = [exp for exp in mine if exp.name not in pushed]
    say(
        f"worker {shard[0]}/{shard[1]} of sweep '{sweep}' (baseline {baseline[:7]}): {len(mine)} of {len(experiments)} "
        f"experiments, {len(mine) - len(todo)} already on {git_remote}; stages up to '{target}', -j {jobs}"
    )
    if todo and upstream:
        seconds = prepare_inputs(repo, target, upstream)
        say(f"inputs of '{target}' ready in {seconds:.1f} s (dvc repro --pull {' '.join(upstream)})")

    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def one(exp: Experiment) -> None:
        outcome = work(repo, exp, target=target, git_remote=git_remote, baseline=baseline, pushed=pushed)
        times = (
            f" (run {outcome.run_s:.1f} s, push {outcome.push_s:.1f} s)" if outcome.status in ("ran", "pushed") else ""
        )
        detail = f": {outcome.detail}" if outcome.detail else ""
        with lock:
            outcomes.append(outcome)
            say(f"[{len(outcomes)}/{len(mine)}] {exp.name}  {exp.describe()}: {outcome.status}{times}{detail}")

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, mine))
    return outcomes
