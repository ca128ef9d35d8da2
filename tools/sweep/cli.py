"""sweep: one experiment grid over many machines (CI runners, a SLURM job array), one `dvc exp show`.

`dvc queue` runs experiments on one machine. A sweep here is plain git + a DVC remote instead: every
worker is a clone of the repository that runs its share of the grid with `dvc exp run --pull
--allow-missing -S ...` and pushes each finished experiment (what `dvc exp push --run-cache` sends:
DVC outputs, run-cache, git ref); any clone then fetches them all and compares them.

  python -m tools.sweep plan    -S GRID [-S GRID ...] [--name NAME] [--shards N] [--json]
  python -m tools.sweep worker  -S GRID [-S GRID ...] [--name NAME] --shard I/N [-j K] [--target STAGE]
  python -m tools.sweep collect -S GRID [-S GRID ...] [--name NAME] [--metric M] [--over KEY] [--md]
                                [--apply | --branch BRANCH]

GRID is `dvc exp run -S` syntax, Hydra's override grammar parsed by hydra-core as DVC does:
'train.seed=0,1,2', 'train.seed=range(5)', 'train.learning_rate=choice(0.001,0.01)'; several -S make
a product. Every experiment is checked like the validate_params stage does before anything runs, and
is named after the sweep and its param values (NAME-<10 hex digits>), so running it again is a no-op.
The experiments, sorted by name, are dealt round-robin to N shards.

plan     print every experiment, its shard and its overrides (--json for programs).
worker   run shard I of N (counted from 0) in this clone, -j K at a time (`dvc exp run --temp`), and
         push each finished experiment: data and run-cache to the default DVC remote, then its ref
         (refs/exps/...) to --git-remote (default origin).
         Experiments already on the git remote are skipped; one that finished here but was not pushed
         is pushed without running again. Runs the stages up to --target (default evaluate: the
         validation and test metrics, no pictures). Each experiment's log: .dvc/tmp/sweep/NAME.log.
collect  fetch the sweep's experiments (git refs only, no data), print the comparison, and name the
         best by a validation metric (--metric, default eval.accuracy; ties by --tiebreak).
         Metrics of the stages that read the test split are shown, marked (test), and can never pick
         the best. --over train.seed also ranks the settings (experiments that differ only in that
         key) by their mean. --apply brings the best into the workspace and completes its pipeline
         (`dvc repro --pull`: pictures for the best only); --branch NAME keeps it as a git branch.
         Exit status 1 if a planned experiment is not on the remote (after printing what is).

Workers and collect must use the same commit (the experiments' baseline), GRID, NAME and --target.
See README, "Sweeps on many machines".
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from dvc.utils.collections import to_omegaconf
from dvc.utils.hydra import get_hydra_sweeps, to_hydra_overrides
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.core.override_parser.types import ValueType
from hydra.errors import ConfigCompositionException, HydraException, OverrideParseException
from omegaconf import OmegaConf

if __package__ in (None, ""):  # run as `python tools/sweep.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from penguins.cli import run_cli, stage_parser
from penguins.errors import PipelineError
from penguins.params import parse_params, read_yaml, section_names
from penguins.paths import Paths
from tools.workspace import BIN, flatten, last_error

PARAMS_FILE = "params.yaml"
DEFAULT_NAME = "sweep"
DEFAULT_TARGET = "evaluate"  # validation (train) and test (evaluate) metrics; pictures only for the best
DEFAULT_METRIC = "eval.accuracy"  # dvclive/metrics.json: accuracy on the validation rows at the last epoch
DEFAULT_TIEBREAK = "eval.loss"  # validation accuracy on 54 rows moves in steps of 1/54: ties are common
DEFAULT_SHOW = ("accuracy", "f1_macro", "loss", "trainable_params")  # as `make exp-show`
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,59}")  # one git ref component, short enough to read
DIGITS = 10  # hex digits of the params hash in a name: a collision in 1,000 experiments has odds ~5e-7
GIT_TIMEOUT_S = 120  # ls-remote: an unreachable remote fails, it does not hang
TRANSFER_TIMEOUT_S = 1800  # the data of one experiment, to or from the DVC remote
PUSH_ATTEMPTS = 3  # a failed push (network, a ref locked on the remote) is retried after 2 s, then 4 s
LOG_DIR = Path(".dvc/tmp/sweep")  # git-ignored (.dvc/.gitignore)
# A worker has no terminal: git and DVC must fail rather than wait for a password.
QUIET_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "SSH_ASKPASS": "true", "DVC_NO_ANALYTICS": "1"}


# ---- the grid ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Experiment:
    """One point of the grid: its name, the `-S` overrides that make it, and their parsed values."""

    name: str
    overrides: tuple[str, ...]
    values: tuple[tuple[str, Any], ...]

    def describe(self) -> str:
        return " ".join(self.overrides)


def grid_overrides(grid: Sequence[str]) -> list[str]:
    """The -S values without their optional `params.yaml:` prefix; another params file is refused."""
    if not grid:
        raise PipelineError("no grid: give at least one -S KEY=VALUES, e.g. -S 'train.seed=0,1,2'")
    overrides = []
    for item in grid:
        head, sep, value = item.partition("=")
        path, colon, key = head.rpartition(":")
        if colon and path != PARAMS_FILE:
            raise PipelineError(f"grid: -S {item!r} sets a param in {path}; a sweep sets params.yaml keys only")
        overrides.append(f"{key}{sep}{value}" if colon else item)
    return overrides


def expand_grid(grid: Sequence[str]) -> list[tuple[str, ...]]:
    """Every experiment of the grid as a tuple of single-valued overrides, expanded by hydra-core as
    `dvc exp run --queue -S` expands it (a product over the -S options, in their order)."""
    overrides = grid_overrides(grid)
    for item in overrides:
        try:
            (parsed,) = to_hydra_overrides([item])
        except OverrideParseException as exc:
            first = str(exc).strip().splitlines()[0]
            expected = "KEY=VALUE, KEY=A,B,C, KEY=range(...) or KEY=choice(...)"
            raise PipelineError(f"grid: cannot parse -S {item!r} ({first}); expected {expected}") from None
        if parsed.value_type in (ValueType.GLOB_CHOICE_SWEEP, ValueType.INTERVAL_SWEEP):
            kind = "glob()" if parsed.value_type == ValueType.GLOB_CHOICE_SWEEP else "interval()"
            raise PipelineError(f"grid: -S {item!r}: {kind} is not a list of values; use A,B,C, range() or choice()")
    try:
        sweeps = get_hydra_sweeps({PARAMS_FILE: overrides})
    except HydraException as exc:
        raise PipelineError(f"grid: {str(exc).strip().splitlines()[0]}") from None
    return [tuple(sweep[PARAMS_FILE]) for sweep in sweeps]


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """params.yaml's mapping with the overrides applied as `dvc exp run -S` applies them.

    DVC refuses a key that is not in the file (Hydra's struct mode). Such a key is added here instead,
    so that parse_params names it with the validate_params stage's own message (unknown param ...)."""
    parsed = to_hydra_overrides(list(overrides))
    for struct in (True, False):
        config = OmegaConf.create(to_omegaconf(dict(raw)), flags={"allow_objects": True})
        OmegaConf.set_struct(config, struct)
        try:
            ConfigLoaderImpl._apply_overrides_to_config(parsed, config)
        except ConfigCompositionException as exc:
            if struct:
                continue
            raise PipelineError(f"grid: {' '.join(overrides)}: {str(exc).strip().splitlines()[0]}") from None
        applied = OmegaConf.to_object(config)
        assert isinstance(applied, dict)
        return applied
    raise AssertionError("unreachable: the second pass returns or raises")


def lookup(tree: Mapping[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def override_key(override: str) -> str:
    """'train.seed=1' -> 'train.seed' (so are '+train.seed=1' and '~train.seed')."""
    return override.partition("=")[0].lstrip("+~")


def experiment_name(sweep: str, values: Iterable[tuple[str, Any]]) -> str:
    """NAME-<hash of the param values>: the same values give the same name whatever their spelling
    (1e-2 or 0.01) and whatever the order of the -S options."""
    canonical = json.dumps(sorted(values), sort_keys=True, separators=(",", ":"))
    return f"{sweep}-{hashlib.sha256(canonical.encode()).hexdigest()[:DIGITS]}"


def check_sweep_name(name: str) -> str:
    if not NAME_RE.fullmatch(name) or ".." in name or name.endswith((".", ".lock")):
        raise PipelineError(
            f"--name {name!r} cannot start experiment names: use 1-60 letters, digits, '.', '_' or '-', "
            "beginning with a letter or digit"
        )
    return name


def plan_sweep(raw_params: Mapping[str, Any], grid: Sequence[str], sweep: str) -> list[Experiment]:
    """Expand and check the grid: each experiment's params must pass parse_params, the validate_params
    stage's check, before anything runs. Returns the experiments sorted by name."""
    check_sweep_name(sweep)
    experiments: dict[str, Experiment] = {}
    for overrides in expand_grid(grid):
        where = f" (grid experiment: {' '.join(overrides)})"
        applied = apply_overrides(raw_params, overrides)
        try:
            parse_params(applied, PARAMS_FILE)
        except PipelineError as exc:
            raise PipelineError(f"{exc}{where}") from None
        keys = [override_key(o) for o in overrides]
        values = tuple((key, lookup(applied, key)) for key in keys)
        exp = Experiment(experiment_name(sweep, values), tuple(overrides), values)
        if exp.name in experiments:
            raise PipelineError(f"grid: the same experiment is listed twice: {exp.describe()}; drop the repeated value")
        experiments[exp.name] = exp
    return sorted(experiments.values(), key=lambda e: e.name)


def grid_keys(experiments: Sequence[Experiment]) -> list[str]:
    return list(dict.fromkeys(key for exp in experiments for key, _ in exp.values))


def parse_shard(text: str) -> tuple[int, int]:
    """'1/3' -> (1, 3): shard 1 of 3, counted from 0 like SLURM_ARRAY_TASK_ID and a CI matrix index."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise PipelineError(f"--shard {text!r}: expected I/N with 0 <= I < N, e.g. 0/4 for the first of four")
    return int(match[1]), int(match[2])


def shard_index(experiments: Sequence[Experiment], count: int) -> dict[str, int]:
    """{name: shard}: the experiments sorted by name and dealt round-robin, so shard sizes differ by at
    most one, and the -S order or a value's spelling changes nothing."""
    return {exp.name: i % count for i, exp in enumerate(sorted(experiments, key=lambda e: e.name))}


def shard_of(experiments: Sequence[Experiment], index: int, count: int) -> list[Experiment]:
    shards = shard_index(experiments, count)
    return [exp for exp in sorted(experiments, key=lambda e: e.name) if shards[exp.name] == index]


# ---- git and DVC ---------------------------------------------------------------------------------

_running: set[subprocess.Popen[str]] = set()
_running_lock = threading.Lock()


def kill_tree(pid: int) -> None:
    """Kill a process and everything it started (dvc runs each stage in a process of its own)."""
    try:
        parent = psutil.Process(pid)
        family = [*parent.children(recursive=True), parent]
    except psutil.Error:
        return
    for proc in family:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def command(
    cmd: Sequence[str], cwd: Path, timeout: float | None = None, log: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run git/dvc with the virtualenv first on PATH and no stdin; output captured, or appended to ``log``.
    On timeout (or when the worker is stopped) the command and its children are killed."""
    env = {**os.environ, **QUIET_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = log.open("a") if log else None
    if out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
    try:
        with subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, text=True,
            stdout=out or subprocess.PIPE, stderr=subprocess.STDOUT if out else subprocess.PIPE,
        ) as proc:  # fmt: skip
            with _running_lock:
                _running.add(proc)
            try:
                stdout, stderr = proc.communicate(timeout=timeout)
            except BaseException:
                kill_tree(proc.pid)
                proc.wait()
                raise
            finally:
                with _running_lock:
                    _running.discard(proc)
            return subprocess.CompletedProcess(list(cmd), proc.returncode, stdout or "", stderr or "")
    except subprocess.TimeoutExpired:
        what = " ".join([Path(cmd[0]).name, *cmd[1:4]])
        raise PipelineError(
            f"`{what} ...` did not finish within {timeout:.0f} s; check the remote and the network"
        ) from None
    finally:
        if out:
            out.close()


def stop_children(signum: int, _frame: Any) -> None:
    """SIGTERM (scancel, a cancelled CI job): stop the running dvc commands too, then exit."""
    with _running_lock:
        for proc in list(_running):
            kill_tree(proc.pid)
    print(f"error: stopped by signal {signum}; run the worker again to finish its shard", file=sys.stderr)
    os._exit(128 + signum)


def dvc_cmd(*args: str) -> list[str]:
    return [str(BIN / "dvc"), "--wait-for-lock", *args]  # the -j K runs of a worker share the repository's lock


def git(repo: Path, *args: str) -> str:
    proc = command(["git", *args], cwd=repo, timeout=GIT_TIMEOUT_S)
    if proc.returncode != 0:
        raise PipelineError(f"git {' '.join(args)}: {last_error(proc.stderr + proc.stdout)}")
    return proc.stdout


def baseline_of(repo: Path) -> str:
    proc = command(["git", "rev-parse", "--verify", "HEAD^{commit}"], cwd=repo)
    if proc.returncode != 0:
        raise PipelineError(f"{repo}: not a git checkout with a commit; run the sweep in a clone of the project")
    return proc.stdout.strip()


def exp_ref_prefix(baseline: str) -> str:
    """Where DVC keeps the experiments of a baseline commit: refs/exps/ab/cdef.../NAME."""
    return f"refs/exps/{baseline[:2]}/{baseline[2:]}/"


def parse_refs(listing: str, baseline: str) -> dict[str, str]:
    """{experiment name: commit} of one baseline, from `git ls-remote` or `git for-each-ref` lines."""
    prefix, found = exp_ref_prefix(baseline), {}
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-1].startswith(prefix):
            found[parts[-1][len(prefix) :]] = parts[0]
    return found


def remote_experiments(repo: Path, git_remote: str, baseline: str, name: str = "*") -> dict[str, str]:
    """The baseline's experiments on the git remote (or the one called ``name``: a check after a push
    lists one ref, not all of a 1,000-experiment sweep)."""
    return parse_refs(git(repo, "ls-remote", git_remote, f"{exp_ref_prefix(baseline)}{name}"), baseline)


def local_experiments(repo: Path, baseline: str) -> dict[str, str]:
    return parse_refs(
        git(repo, "for-each-ref", "--format=%(objectname) %(refname)", exp_ref_prefix(baseline)), baseline
    )


def check_remotes(repo: Path, git_remote: str) -> None:
    """Fail early, in one line, when the git remote or the default DVC remote is not set up."""
    is_url = "/" in git_remote or ":" in git_remote
    if not is_url and command(["git", "remote", "get-url", git_remote], cwd=repo).returncode != 0:
        raise PipelineError(f"git remote {git_remote!r} is not configured: `git remote add {git_remote} URL`")
    # `dvc exp run --pull` and `dvc repro --pull` use the default DVC remote only: it is the sweep's.
    if command([str(BIN / "dvc"), "remote", "default"], cwd=repo).returncode != 0:
        raise PipelineError(
            "no default DVC remote: add one with `dvc remote add -d NAME URL` (--local: this clone only)"
        )


def check_full_history(repo: Path) -> None:
    """`dvc exp run --temp` in a shallow clone exits 0 without recording the experiment (DVC 3.67)."""
    if git(repo, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise PipelineError(
            "this clone is shallow, and DVC records no experiment in one: clone with full history "
            "(`git fetch --unshallow`; actions/checkout: fetch-depth: 0)"
        )


def check_clean(repo: Path, when: str) -> None:
    """`dvc exp run --temp` runs the workspace as it is, uncommitted edits included. Refuse them, so that
    an experiment is exactly the baseline commit plus its params."""
    dirty = git(repo, "status", "--porcelain", "--untracked-files=no").strip()
    if dirty:
        first = dirty.splitlines()[0].strip()
        raise PipelineError(
            f"uncommitted changes {when} ({first}): a sweep runs the committed code; commit or stash them"
        )


def read_params(repo: Path) -> dict[str, Any]:
    try:
        raw = read_yaml(repo / PARAMS_FILE)  # as DVC reads it (YAML 1.2: 1e-3 is a number)
    except FileNotFoundError:
        raise PipelineError(f"{PARAMS_FILE} not found in {repo}; run from a clone of the project") from None
    if not isinstance(raw, dict):
        raise PipelineError(f"{PARAMS_FILE}: expected a mapping of sections ({section_names()})")
    return raw


def read_pipeline(repo: Path) -> dict[str, Any]:
    try:
        return read_yaml(repo / "dvc.yaml") or {}
    except FileNotFoundError:
        raise PipelineError(f"dvc.yaml not found in {repo}; run from a clone of the project") from None


def out_path(entry: str | Mapping[str, Any]) -> str:
    """dvc.yaml lists a dep or out as a path, or as {path: options}."""
    return entry if isinstance(entry, str) else next(iter(entry))


def check_target(stages: Mapping[str, Any], target: str) -> None:
    if target not in stages:
        raise PipelineError(f"--target {target!r} is not a stage of dvc.yaml (stages: {', '.join(stages)})")


def upstream_stages(pipeline: Mapping[str, Any], target: str) -> list[str]:
    """The stages whose outputs the target stage reads (`dvc repro` of them also brings all before)."""
    stages = pipeline.get("stages", {})
    check_target(stages, target)
    producers = {out_path(out): stage for stage, spec in stages.items() for out in spec.get("outs", [])}
    deps = [out_path(dep) for dep in stages[target].get("deps", [])]
    return sorted({producers[dep] for dep in deps if dep in producers})


def outputs_not_run(pipeline: Mapping[str, Any], target: str) -> list[str]:
    """Outputs of the stages a `dvc exp run TARGET` does not run (neither TARGET nor upstream of it).
    An experiment's commit still holds their git-tracked files, but from its baseline: stale."""
    stages = pipeline.get("stages", {})
    check_target(stages, target)
    producers = {out_path(out): stage for stage, spec in stages.items() for out in spec.get("outs", [])}
    ran, todo = set(), [target]
    while todo:
        stage = todo.pop()
        if stage not in ran:
            ran.add(stage)
            todo += [producers[d] for d in map(out_path, stages[stage].get("deps", [])) if d in producers]
    return [out for out, stage in producers.items() if stage not in ran]


# ---- the worker ----------------------------------------------------------------------------------


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
    if command(dvc_cmd(*args), cwd=repo, log=log).returncode != 0:
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
DATA = (
    "import sys; from dvc.repo import Repo; "
    "repo = Repo('.', _wait_for_lock=True); "
    "n = getattr(repo, sys.argv[1])(revs=[sys.argv[2]], workspace=False, run_cache=sys.argv[1] == 'push'); "
    "print(f'dvc {sys.argv[1]}: {n} files')"
)


def transfer_data(repo: Path, how: str, commit: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``how`` is push or fetch: the DVC-tracked outputs of one commit, to or from the default DVC remote."""
    return command([str(BIN / "python"), "-c", DATA, how, commit], cwd=repo, timeout=TRANSFER_TIMEOUT_S, log=log)


def push_experiment(repo: Path, name: str, commit: str, *, git_remote: str, baseline: str, log: Path) -> str:
    """Push one experiment, data then ref, retried on failure, until the git remote has the ref. A ref
    already there from another worker is kept (same name, so same params). Returns a note or ''."""
    ref = exp_ref_prefix(baseline) + name
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        if transfer_data(repo, "push", commit, log).returncode == 0:
            command(["git", "push", "--quiet", git_remote, f"{commit}:{ref}"], cwd=repo, timeout=GIT_TIMEOUT_S, log=log)
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
    if command(dvc_cmd("repro", "--pull", *upstream), cwd=repo, log=log).returncode != 0:
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


# ---- collect -------------------------------------------------------------------------------------


@dataclass
class Row:
    """One experiment as `dvc exp show --json` gives it: params and metrics flattened to dotted keys."""

    name: str
    rev: str
    params: dict[str, Any]
    metrics: dict[str, dict[str, Any]]  # {metrics file: {key: value}}

    def metric(self, file_key: tuple[str, str] | None) -> Any:
        return self.metrics.get(file_key[0], {}).get(file_key[1]) if file_key else None


@dataclass(frozen=True)
class Column:
    header: str
    file: str
    key: str
    test: bool


def rows_from_exp_show(shown: Sequence[Mapping[str, Any]], names: Iterable[str]) -> list[Row]:
    """The experiments called ``names`` in `dvc exp show --json` output, each once."""
    wanted, rows = set(names), {}
    for baseline in shown:
        for exp in baseline.get("experiments") or []:
            for rev in exp.get("revs") or []:
                name = rev.get("name") or exp.get("name")
                if name not in wanted or name in rows:
                    continue
                data = rev.get("data") or {}
                params = ((data.get("params") or {}).get(PARAMS_FILE) or {}).get("data") or {}
                metrics = {
                    file: flatten(entry.get("data") or {}) for file, entry in (data.get("metrics") or {}).items()
                }
                rows[name] = Row(name, rev.get("rev", ""), flatten(params), metrics)
    return list(rows.values())


def match_metric(rows: Sequence[Row], spec: str) -> list[tuple[str, str]]:
    """The (file, key) pairs a metric name stands for: KEY in any metrics file, or FILE:KEY."""
    file, colon, key = spec.rpartition(":")
    found = {(f, k) for row in rows for f, metrics in row.metrics.items() for k in metrics if k == key}
    return sorted(pair for pair in found if not colon or pair[0] == file)


def outputs_from_test_split(pipeline: Mapping[str, Any], test_split: str = str(Paths.TEST)) -> list[str]:
    """Outputs of the stages that read the test split: a metric in them was measured on the test set."""
    stages = pipeline.get("stages", {}).values()
    return [
        out_path(out)
        for spec in stages
        if test_split in [out_path(dep) for dep in spec.get("deps", [])]
        for out in spec.get("outs", [])
    ]


def on_any(file: str, outputs: Iterable[str]) -> bool:
    """Is the file one of the outputs, or inside an output directory?"""
    return any(file == out or file.startswith(out.rstrip("/") + "/") for out in outputs)


def resolve_metric(rows: Sequence[Row], spec: str, test_outputs: Sequence[str], option: str) -> tuple[str, str]:
    """The one (file, key) a --metric or --tiebreak names. Unknown, ambiguous and test-set metrics are refused."""
    found = match_metric(rows, spec)
    if not found:
        known = sorted({key for row in rows for metrics in row.metrics.values() for key in metrics})
        raise PipelineError(
            f"{option} {spec!r}: no such metric in the experiments (have: {', '.join(known) or 'none'})"
        )
    if len(found) > 1:
        listed = ", ".join(f"{file}:{key}" for file, key in found)
        raise PipelineError(f"{option} {spec!r} is in several files ({listed}); name one as FILE:KEY")
    file, key = found[0]
    if on_any(file, test_outputs):
        raise PipelineError(
            f"{option} {file}:{key} is measured on the test split ({Paths.TEST}); the test set must not pick the "
            f"model: choose by a validation metric, e.g. {DEFAULT_METRIC}"
        )
    return file, key


def lower_is_better(key: str) -> bool:
    leaf = key.rsplit(".", 1)[-1]
    return "loss" in leaf or leaf.endswith(("error", "mse", "mae", "rmse"))


def score(value: Any, key: str) -> float:
    """A value to sort on, best lowest: missing or non-numeric values rank last."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return math.inf
    return float(value) if lower_is_better(key) else -float(value)


def metric_columns(rows: Sequence[Row], specs: Sequence[str], test_outputs: Sequence[str]) -> list[Column]:
    """A column per metric name asked for, found by name in whatever files the experiments have. A name
    found in several files gets a column per file, headed FILE:KEY. Test-set columns are marked."""
    columns: list[Column] = []
    for spec in specs:
        found = match_metric(rows, spec)
        for file, key in found:
            if any((c.file, c.key) == (file, key) for c in columns):
                continue
            test = on_any(file, test_outputs)
            header = (f"{file}:{key}" if len(found) > 1 else key) + (" (test)" if test else "")
            columns.append(Column(header, file, key, test))
    return columns


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.5g}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(fmt(v) for v in value) + "]"
    return str(value)


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = [headers, *rows]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines)


@dataclass
class Setting:
    """The experiments that differ only in the --over key (e.g. the seeds of one setting)."""

    label: str
    rows: list[Row]
    mean: float | None
    tie_mean: float | None


def mean_of(rows: Sequence[Row], file_key: tuple[str, str] | None) -> float | None:
    values = [row.metric(file_key) for row in rows]
    if not file_key or not values or any(score(v, "") == math.inf for v in values):
        return None
    return statistics.fmean(values)


def group_settings(
    rows: Sequence[Row], keys: Sequence[str], over: str, metric: tuple[str, str], tiebreak: tuple[str, str] | None
) -> list[Setting]:
    """Settings best first: by the mean of the metric over ``over``, then the tie-break's mean, then label."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        label = " ".join(f"{k}={fmt(row.params.get(k))}" for k in keys if k != over) or "(all)"
        groups.setdefault(label, []).append(row)
    settings = [
        Setting(label, group, mean_of(group, metric), mean_of(group, tiebreak)) for label, group in groups.items()
    ]
    tie_key = tiebreak[1] if tiebreak else ""
    return sorted(settings, key=lambda s: (score(s.mean, metric[1]), score(s.tie_mean, tie_key), s.label))


@dataclass
class Comparison:
    text: str
    best: Row | None


def compare(
    rows: Sequence[Row], experiments: Sequence[Experiment], pipeline: Mapping[str, Any], *, metric: str,
    tiebreak: str | None, show: Sequence[str], over: str | None, markdown: bool,
) -> Comparison:  # fmt: skip
    """The comparison table (best first), the per-setting ranking (--over) and the best experiment."""
    if not rows:
        return Comparison("No experiment of this sweep is on the remote yet.", None)
    test_outputs = outputs_from_test_split(pipeline)
    chosen = resolve_metric(rows, metric, test_outputs, "--metric")
    tie = (
        resolve_metric(rows, tiebreak, test_outputs, "--tiebreak")
        if tiebreak and match_metric(rows, tiebreak)
        else None
    )
    keys = grid_keys(experiments)
    specs = [f"{f}:{k}" for f, k in (chosen, *([tie] if tie else []))] + list(show)
    columns = metric_columns(rows, specs, test_outputs)

    def rank(row: Row) -> tuple[float, float, str]:
        return score(row.metric(chosen), chosen[1]), score(row.metric(tie), tie[1] if tie else ""), row.name

    ordered = sorted(rows, key=rank)
    table = render(
        ["Experiment", *keys, *(c.header for c in columns)],
        [
            [r.name, *(fmt(r.params.get(k)) for k in keys), *(fmt(r.metric((c.file, c.key))) for c in columns)]
            for r in ordered
        ],
        markdown,
    )
    how = f"{'lower' if lower_is_better(chosen[1]) else 'higher'} is better" + (f", ties by {tie[1]}" if tie else "")
    parts = [table, ""]
    if over:
        settings = group_settings(rows, keys, over, chosen, tie)
        values = sorted({fmt(r.params.get(over)) for r in rows}, key=lambda v: (len(v), v))
        test_column = next((c for c in columns if c.test), None)
        headers = ["setting", f"mean {chosen[1]}", *(f"{over}={v}" for v in values)]
        if test_column:
            headers += [f"{test_column.header} {over}={v}" for v in values]
        body = []
        for s in settings:
            by_value = {fmt(r.params.get(over)): r for r in s.rows}
            cells = [s.label, fmt(s.mean), *(fmt(by_value[v].metric(chosen)) if v in by_value else "-" for v in values)]
            if test_column:
                cells += [
                    fmt(by_value[v].metric((test_column.file, test_column.key))) if v in by_value else "-"
                    for v in values
                ]
            body.append(cells)
        parts += [f"Settings by mean {chosen[1]} over {over} ({how}):", "", render(headers, body, markdown), ""]
        parts.append(f"Best setting by validation: {settings[0].label} (mean {chosen[1]} {fmt(settings[0].mean)})")
    best = ordered[0]
    values_text = " ".join(f"{k}={fmt(best.params.get(k))}" for k in keys)
    parts.append(
        f"Best experiment by {chosen[0]}:{chosen[1]} (validation, {how}): {best.name}  {values_text}  "
        f"{chosen[1]}={fmt(best.metric(chosen))}"
    )
    return Comparison("\n".join(parts), best)


def fetch_experiments(repo: Path, git_remote: str, baseline: str, names: Sequence[str]) -> None:
    """Fetch the named experiments' refs (commits, with their git-tracked metrics; no DVC data), 200 per
    `git fetch` so that a 1,000-experiment sweep stays below ARG_MAX. The remote's copy wins ('+')."""
    prefix = exp_ref_prefix(baseline)
    for start in range(0, len(names), 200):
        refspecs = [f"+{prefix}{name}:{prefix}{name}" for name in names[start : start + 200]]
        git(repo, "fetch", "--quiet", "--no-tags", git_remote, *refspecs)


def dvc_or_fail(repo: Path, *args: str) -> str:
    proc = command(dvc_cmd(*args), cwd=repo)
    if proc.returncode != 0:
        raise PipelineError(f"dvc {' '.join(args)}: {last_error(proc.stderr + proc.stdout)}")
    return proc.stdout


def collect(
    repo: Path, grid: Sequence[str], sweep: str, *, git_remote: str, target: str, metric: str, tiebreak: str | None,
    show: Sequence[str], over: str | None, markdown: bool, apply: bool, branch: str | None,
    say: Callable[[str], None] = print,
) -> None:  # fmt: skip
    """Pull what the workers pushed (refs only), compare, name the best; apply or branch it on request."""
    experiments = plan_sweep(read_params(repo), grid, sweep)
    if over and over not in grid_keys(experiments):
        raise PipelineError(f"--over {over!r} is not a key of the grid (keys: {', '.join(grid_keys(experiments))})")
    baseline = baseline_of(repo)
    on_remote = remote_experiments(repo, git_remote, baseline)
    present = [exp.name for exp in experiments if exp.name in on_remote]
    missing = [exp for exp in experiments if exp.name not in on_remote]
    if present:
        fetch_experiments(repo, git_remote, baseline, present)
    pipeline = read_pipeline(repo)
    stale = outputs_not_run(pipeline, target)
    rows = rows_from_exp_show(json.loads(dvc_or_fail(repo, "exp", "show", "--json")), present)
    for row in rows:  # the baseline's copies of what the workers did not run must not pass for results
        row.metrics = {file: values for file, values in row.metrics.items() if not on_any(file, stale)}
    result = compare(
        rows, experiments, pipeline, metric=metric, tiebreak=tiebreak, show=show, over=over, markdown=markdown
    )
    heading = f"Sweep '{sweep}' on {baseline[:7]}: {len(rows)} of {len(experiments)} experiments from {git_remote}"
    say(f"{'## ' if markdown else ''}{heading}\n\n{result.text}")
    if missing:
        say(f"\nMissing ({len(missing)}): " + ", ".join(f"{exp.name} ({exp.describe()})" for exp in missing))
    if result.best and (apply or branch):
        fetched = transfer_data(repo, "fetch", on_remote[result.best.name])
        if fetched.returncode != 0:
            raise PipelineError(
                f"fetching the outputs of {result.best.name}: {last_error(fetched.stderr + fetched.stdout)}"
            )
        if branch:
            dvc_or_fail(repo, "exp", "branch", result.best.name, branch)
            say(
                f"Branch '{branch}' holds {result.best.name}; check it out and `dvc repro --pull` to draw its pictures."
            )
        else:
            dvc_or_fail(repo, "exp", "apply", result.best.name)
            dvc_or_fail(repo, "repro", "--pull")
            say(f"Applied {result.best.name} to the workspace and completed its pipeline (dvc repro --pull).")
    if missing:
        raise PipelineError(
            f"{len(missing)} of {len(experiments)} experiments are not on {git_remote}: run their shards' workers"
        )


# ---- CLI -----------------------------------------------------------------------------------------


def add_grid_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-S", "--set-param", dest="grid", action="append", default=[], metavar="KEY=VALUES", help="a grid axis"
    )
    parser.add_argument(
        "--name", default=DEFAULT_NAME, help=f"sweep name, its experiments' prefix (default {DEFAULT_NAME})"
    )
    parser.add_argument("--repo", type=Path, default=Path(), help="the clone to work in (default: here)")


def build_parser() -> argparse.ArgumentParser:
    parser = stage_parser(__doc__, prog="python -m tools.sweep")
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="print the experiments and their shards; refuse bad values")
    add_grid_options(plan)
    plan.add_argument("--shards", type=int, default=1, help="number of shards (default 1)")
    plan.add_argument("--json", action="store_true", help="JSON for programs")
    run = commands.add_parser("worker", help="run and push one shard's experiments")
    add_grid_options(run)
    run.add_argument("--shard", required=True, help="I/N: shard I of N, counted from 0")
    run.add_argument("-j", "--jobs", type=int, default=1, help="experiments at a time (default 1)")
    run.add_argument("--target", default=DEFAULT_TARGET, help=f"last stage to run (default {DEFAULT_TARGET})")
    run.add_argument("--git-remote", default="origin", help="git remote for the experiments (default origin)")
    show = commands.add_parser("collect", help="pull the sweep's experiments, compare them, name the best")
    add_grid_options(show)
    show.add_argument("--git-remote", default="origin", help="git remote the workers pushed to (default origin)")
    show.add_argument("--target", default=DEFAULT_TARGET, help=f"the workers' --target (default {DEFAULT_TARGET})")
    show.add_argument(
        "--metric", default=DEFAULT_METRIC, help=f"validation metric that picks (default {DEFAULT_METRIC})"
    )
    show.add_argument("--tiebreak", default=DEFAULT_TIEBREAK, help=f"for ties (default {DEFAULT_TIEBREAK}; '' none)")
    show.add_argument("--show", default=",".join(DEFAULT_SHOW), help="other metrics to show, comma-separated")
    show.add_argument("--over", metavar="KEY", help="also rank settings by their mean over this key (e.g. train.seed)")
    show.add_argument("--md", action="store_true", help="Markdown (for a CI job summary)")
    best = show.add_mutually_exclusive_group()
    best.add_argument("--apply", action="store_true", help="dvc exp apply the best, then dvc repro --pull")
    best.add_argument("--branch", metavar="BRANCH", help="dvc exp branch the best into BRANCH")
    return parser


def print_plan(experiments: Sequence[Experiment], sweep: str, shards: int, as_json: bool) -> None:
    index = shard_index(experiments, shards)
    if as_json:
        listed = [{"name": e.name, "shard": index[e.name], "overrides": list(e.overrides)} for e in experiments]
        print(json.dumps({"sweep": sweep, "shards": list(range(shards)), "experiments": listed}, indent=1))
        return
    print(f"sweep '{sweep}': {len(experiments)} experiments in {shards} shard(s)")
    ordered = sorted(experiments, key=lambda e: (index[e.name], e.name))
    print(
        render(
            ["shard", "experiment", "overrides"],
            [[f"{index[e.name]}/{shards}", e.name, e.describe()] for e in ordered],
            False,
        )
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    repo = args.repo.resolve()
    if args.command == "plan":
        if args.shards < 1:
            raise PipelineError(f"--shards {args.shards}: need at least 1")
        print_plan(plan_sweep(read_params(repo), args.grid, args.name), args.name, args.shards, args.json)
    elif args.command == "worker":
        signal.signal(signal.SIGTERM, stop_children)
        shard = parse_shard(args.shard)
        outcomes = worker(
            repo, args.grid, args.name, shard=shard, jobs=args.jobs, target=args.target, git_remote=args.git_remote
        )
        counts = {
            status: sum(o.status == status for o in outcomes) for status in ("ran", "pushed", "skipped", "failed")
        }
        print("done: " + ", ".join(f"{n} {status}" for status, n in counts.items()), flush=True)
        failed = [o for o in outcomes if o.status == "failed"]
        if failed:
            first = failed[0].detail
            raise PipelineError(
                f"{len(failed)} of {len(outcomes)} failed, first: {first}; run the worker again to retry"
            )
    else:
        show = [name for name in args.show.split(",") if name]
        collect(
            repo, args.grid, args.name, git_remote=args.git_remote, target=args.target, metric=args.metric,
            tiebreak=args.tiebreak or None,
            show=show, over=args.over, markdown=args.md, apply=args.apply, branch=args.branch,
        )  # fmt: skip


if __name__ == "__main__":
    run_cli(main)
