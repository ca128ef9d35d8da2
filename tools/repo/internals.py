"""The tools' fence around DVC's and Hydra's Python internals: no other module of tools/ imports dvc.* or hydra.*.

(The pipeline's side has its own fence, penguins/internals.py; `make lint` checks that no other module crosses
either.) Each function says in its docstring which version it was checked against (DVC 3.67.1, Hydra 1.3, as pinned
in requirements.txt) and what it relies on; tests/unit/test_repo_internals.py fails, naming the function, when an
upgrade changes that. Before upgrading DVC or Hydra, run that test first.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from penguins.errors import PipelineError
from tools.repo.output import last_error


def save_run_cache(root: Path) -> list[str]:
    """Record in the run-cache every stage whose outputs match dvc.lock; returns the stages recorded.

    DVC 3.67.1 never saves a stage with a `cache: false` output that is not a stage-level metric or plot, though it
    restores one from a record fine (docs/sharing.md has the details). Relies on: Repo.lock,
    Repo.index.stages, Stage.changed(), Stage.addressing and the private Repo.stage_cache.save(stage), which also
    puts the stage's `cache: false` outputs in the cache, as a record needs.
    A repository another dvc command holds (dvc.lock.LockError) is a PipelineError."""
    from dvc.lock import LockError
    from dvc.repo import Repo

    saved = []
    try:
        with Repo(str(root)) as repo, repo.lock:
            for stage in repo.index.stages:
                if stage.cmd and not stage.changed():
                    repo.stage_cache.save(stage)  # no-op for a stage it cannot hash (validate_params: persist)
                    saved.append(stage.addressing)
    except LockError as exc:
        raise PipelineError(f"the DVC repository is busy (another dvc command runs in it): {exc}") from exc
    return saved


def push_run_cache_outputs(root: Path, remote: str) -> tuple[int, int]:
    """Push every object the local run-cache records point to and the remote lacks: (sent, failed).

    `dvc push --run-cache` (DVC 3.67.1) sends the records and the workspace's cached outputs only, not the
    `cache: false` outputs the records name. Relies on: Repo.cache.legacy.path (the records live in its runs/
    folder as runs/XX/HASH/RECORD), Repo.stage_cache.get_used_objs(entries) -> {..: objects with .value},
    Repo.cache.local.exists(oid) and Repo.cloud.push(objs, remote=NAME) -> result with .transferred/.failed."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        runs = Path(repo.cache.legacy.path) / "runs"
        entries = [(p.parent.name, p.name) for p in sorted(runs.glob("*/*/*")) if p.is_file()]
        sent = failed = 0
        for objs in repo.stage_cache.get_used_objs(entries).values():
            present = {obj for obj in objs if repo.cache.local.exists(obj.value)}
            result = repo.cloud.push(present, remote=remote)
            sent += len(result.transferred)
            failed += len(result.failed)
    return sent, failed


def cache_path(repo: Path, md5: str) -> Path:
    """Where ``repo``'s DVC cache keeps (or would keep) the file with this md5: DVC's own layout and cache.dir.

    DVC 3.67.1: Repo.cache.local.oid_to_path(md5) (files/md5/XX/REST)."""
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc_repo:
        return Path(dvc_repo.cache.local.oid_to_path(md5))


def remove_from_cache(repo: Path, md5: str) -> None:
    """Drop a cache object (whose bytes are not its md5), so that nothing reuses it. DVC makes cache files
    read-only; checked against DVC 3.67.1 through cache_path."""
    path = cache_path(repo, md5)
    if path.exists():
        path.chmod(0o644)
        path.unlink()


def copy_into_cache(source: Path, repo: Path, md5: str) -> None:
    """Put a file into ``repo``'s DVC cache as the object ``md5`` (the caller vouches for its md5), so that
    `dvc checkout` there finds it without a remote. DVC 3.67.1 layout, through cache_path."""
    target = cache_path(repo, md5)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """params.yaml's mapping with `-S` overrides applied as `dvc exp run -S` applies them, on a copy.

    DVC (public dvc.utils.hydra.apply_overrides, 3.67.1, on Hydra 1.3) refuses a key that is not in the file with
    "Invalid `--set-param` value", the Hydra error as its __cause__. Such a key is then added (Hydra's `+KEY=`),
    so that the caller's own validation can name it. A bad value raises PipelineError with Hydra's first line."""
    from dvc.exceptions import InvalidArgumentError
    from dvc.utils.hydra import apply_overrides as dvc_apply_overrides
    from ruamel.yaml import YAML

    from penguins.yamlio import read_yaml

    def missing(override: str) -> bool:
        node: Any = raw
        for part in override.partition("=")[0].split("."):
            if not isinstance(node, Mapping) or part not in node:
                return True
            node = node[part]
        return False

    added = [f"+{o}" if not o.startswith(("+", "~")) and missing(o) else o for o in overrides]
    with tempfile.TemporaryDirectory(prefix="penguins-params-") as tmp:
        path = Path(tmp) / "params.yaml"
        for attempt in dict.fromkeys([tuple(overrides), tuple(added)]):
            with path.open("w", encoding="utf-8") as out:
                YAML().dump(dict(raw), out)  # round-trip dumper: keys keep their order
            try:
                dvc_apply_overrides(path, list(attempt))
            except InvalidArgumentError as exc:
                problem = str(exc.__cause__ or exc).strip().splitlines()[0]
                continue
            applied = read_yaml(path)
            assert isinstance(applied, dict)
            return applied
    raise PipelineError(f"grid: {' '.join(overrides)}: {problem}")


def exp_ref_prefix(baseline: str) -> str:
    """Where DVC keeps the experiments of a baseline commit: refs/exps/ab/cdef.../NAME (DVC 3.67.1:
    dvc.repo.experiments.refs.ExpRefInfo, EXPS_NAMESPACE "refs/exps")."""
    return f"refs/exps/{baseline[:2]}/{baseline[2:]}/"


# An experiment's data, to or from the default DVC remote: what `dvc exp push` / `dvc exp pull` do for one commit
# (Repo.push / Repo.fetch with revs=[commit], workspace=False, run_cache on push). Repo(..., _wait_for_lock=True):
# the -j K runs of one worker share the repository's lock (DVC 3.67.1; private keyword).
EXP_DATA = (
    "import sys; from dvc.repo import Repo; "
    "repo = Repo('.', _wait_for_lock=True); "
    "n = getattr(repo, sys.argv[1])(revs=[sys.argv[2]], workspace=False, run_cache=sys.argv[1] == 'push'); "
    "print(f'dvc {sys.argv[1]}: {n} files')"
)


def exp_data_command(python: str, how: str, commit: str) -> list[str]:
    """The command that pushes or fetches (``how``) one experiment commit's DVC data (see EXP_DATA)."""
    return [python, "-c", EXP_DATA, how, commit]


def queue_worker_pids(repo: Path) -> list[int]:
    """The pids of ``repo``'s `dvc queue` workers, from DVC's worker records (DVC 3.67.1, celery:
    .dvc/tmp/exps/celery/dvc-exp-worker-*.json, each with a "pid")."""
    pids = []
    for record in (repo / ".dvc/tmp/exps/celery").glob("dvc-exp-worker-*.json"):
        try:
            pids.append(int(json.loads(record.read_text())["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return pids


# DVC 3.67.1's executor info files: .dvc/tmp/exps/run/NAME/NAME.run (dvc.repo.experiments.utils EXEC_TMP_DIR
# "exps", EXEC_PID_DIR "run"; BaseExecutor.INFOFILE_EXT ".run"), NAME "workspace" for `dvc exp run` in the workspace
# (WorkspaceQueue._EXEC_NAME), else the experiment's stash commit; `dvc exp run --temp` keeps them under
# .dvc/tmp/exps/standalone/run/ (queue.tempdir._STANDALONE_TMP_DIR). "status": TaskStatus, RUNNING = 2.
EXEC_INFO_DIRS = (".dvc/tmp/exps/run", ".dvc/tmp/exps/standalone/run")
EXEC_WORKSPACE = "workspace"
EXEC_RUNNING = 2


def exp_stages_started(repo: Path, executor_name: str | None, rev: str | None) -> float | None:
    """When DVC began running the stages of a running experiment (seconds since the epoch), or None if unknown:
    the mtime of its executor info file while that file says RUNNING.

    DVC 3.67.1 (BaseExecutor._repro_dvc) writes the file with status RUNNING once it has set the experiment's files
    up (stash, merge, `-S` params: which may rewrite dvclive/ with the previous run's data) and just before the
    first stage, and again only when the run ends. So a file an experiment's stage wrote is newer than it. Named
    by ``executor_name`` "workspace" (`dvc exp show --json`'s executor.name for a run in the workspace), else by
    the experiment's stash commit (its revs[0].rev there). Layout: EXEC_INFO_DIRS above."""
    names = [EXEC_WORKSPACE] if executor_name == EXEC_WORKSPACE else ([rev] if rev else [])
    for folder in EXEC_INFO_DIRS:
        for name in names:
            try:
                with (repo / folder / name / f"{name}.run").open(encoding="utf-8") as handle:
                    written = os.fstat(handle.fileno()).st_mtime
                    info = json.load(handle)
            except (OSError, ValueError):
                continue
            if isinstance(info, dict) and info.get("status") == EXEC_RUNNING:
                return written
    return None


def dvc_config(root: Path, level: str | None = None) -> dict[str, Any]:
    """DVC's config of ``root``: merged as DVC uses it (``level`` None), or one file's ("repo" .dvc/config,
    "local" .dvc/config.local). DVC 3.67.1: Repo(root).config, a dict, and Config.read(level).
    `dvc config --list` prints text, not the merged, validated mapping (remote sections, defaults) read here."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        return dict(repo.config if level is None else repo.config.read(level))


def dvc_cli(args: Sequence[str]) -> int:
    """Run one dvc command in this process (dvc.cli.main, DVC 3.67.1), in the current directory: its exit status.
    In-process so that several settings do not each pay DVC's start-up; its output goes to ours."""
    from dvc.cli import main

    return int(main(list(args)))


def metrics_and_params(root: Path, revs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """{"metrics": ..., "params": ...}: what `dvc metrics show --json` / `dvc params show --json` print, for any
    list of revisions at once, errors returned per revision and file (DVC 3.67.1: Repo.metrics.show and
    Repo.params.show with revs=, on_error="return"; the CLI takes only --all-commits or a single rev range).
    A failure of the whole call (unknown revision, broken dvc.yaml) is a PipelineError."""
    from dvc.repo import Repo

    shown: dict[str, dict[str, Any]] = {}
    with Repo(str(root)) as repo:
        for kind, show in (("metrics", repo.metrics.show), ("params", repo.params.show)):
            try:
                shown[kind] = show(revs=list(revs), on_error="return")
            except Exception as exc:  # unknown revision, broken dvc.yaml, a held lock: DVC raises many types
                raise PipelineError(f"cannot read {kind}: {last_error(str(exc), bare=True, repo=root)}") from None
    return shown


def override_problem(override: str) -> str | None:
    """Why one `-S` override is no list of values for a sweep, parsed by Hydra's grammar as `dvc exp run -S`
    parses it: "glob()" or "interval()" (sweeps of no listed values), else None. One that does not parse raises
    ValueError with Hydra's first line. Hydra 1.3 via DVC 3.67.1: dvc.utils.hydra.to_hydra_overrides,
    hydra.errors.OverrideParseException, hydra.core.override_parser.types.ValueType."""
    from dvc.utils.hydra import to_hydra_overrides
    from hydra.core.override_parser.types import ValueType
    from hydra.errors import OverrideParseException

    try:
        (parsed,) = to_hydra_overrides([override])
    except OverrideParseException as exc:
        raise ValueError(str(exc).strip().splitlines()[0]) from None
    kinds = {ValueType.GLOB_CHOICE_SWEEP: "glob()", ValueType.INTERVAL_SWEEP: "interval()"}
    return kinds.get(parsed.value_type)


def override_key(override: str) -> str:
    """The params key one `-S` override sets, as Hydra's grammar reads it (what `dvc exp run -S` applies it to):
    'train.epochs' for 'train.epochs=1', '+train.epochs=1', '++train.epochs=1' and '~train.epochs'. One that does
    not parse raises ValueError with Hydra's first line. Hydra 1.3 via DVC 3.67.1: dvc.utils.hydra.to_hydra_overrides,
    Override.key_or_group (the key Hydra's _apply_overrides_to_config updates)."""
    from dvc.utils.hydra import to_hydra_overrides
    from hydra.errors import OverrideParseException

    try:
        (parsed,) = to_hydra_overrides([override])
    except OverrideParseException as exc:
        raise ValueError(str(exc).strip().splitlines()[0]) from None
    return str(parsed.key_or_group)


def hydra_sweeps(params_file: str, overrides: Sequence[str]) -> list[list[str]]:
    """Each point of the product of ``overrides`` as single-valued overrides, as `dvc exp run --queue -S` expands
    them; a Hydra error raises ValueError with its first line. DVC 3.67.1: dvc.utils.hydra.get_hydra_sweeps
    ({file: overrides}) -> [{file: [override, ...]}, ...]; hydra.errors.HydraException (Hydra 1.3)."""
    from dvc.utils.hydra import get_hydra_sweeps
    from hydra.errors import HydraException

    try:
        sweeps = get_hydra_sweeps({params_file: list(overrides)})
    except HydraException as exc:
        raise ValueError(str(exc).strip().splitlines()[0]) from None
    return [list(sweep[params_file]) for sweep in sweeps]


def modify_yaml(path: Path) -> Iterator[Any]:
    """DVC's round-trip YAML editor (dvc.utils.serialize.modify_yaml, 3.67.1): a context manager giving the
    parsed file, written back on exit as `dvc exp run -S` writes it."""
    from dvc.utils.serialize import modify_yaml as dvc_modify_yaml

    return dvc_modify_yaml(path)


__all__ = [
    "EXEC_INFO_DIRS", "EXEC_RUNNING", "EXEC_WORKSPACE", "EXP_DATA", "apply_overrides", "cache_path", "copy_into_cache",
    "dvc_cli", "dvc_config", "exp_data_command", "exp_ref_prefix", "exp_stages_started", "hydra_sweeps",
    "metrics_and_params", "modify_yaml", "override_key", "override_problem", "push_run_cache_outputs",
    "queue_worker_pids", "remove_from_cache", "save_run_cache",
]  # fmt: skip
