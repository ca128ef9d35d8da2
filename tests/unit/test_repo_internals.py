"""tools/repo/internals.py: one test per fenced DVC/Hydra call. Each fails naming the function whose assumption a
DVC or Hydra upgrade broke (signatures via inspect, attributes, a tiny real use in a temporary repository)."""

from __future__ import annotations

import hashlib
import inspect
import json
import subprocess
from pathlib import Path

import pytest

from tools.repo import internals
from tools.repo.run import BIN


@pytest.fixture(scope="module")
def dvc_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("dvc-repo")
    subprocess.run([str(BIN / "dvc"), "init", "--no-scm", "-q"], cwd=repo, check=True)
    return repo


def params(fn: object) -> list[str]:
    return list(inspect.signature(fn).parameters)  # type: ignore[arg-type]


def test_save_run_cache_relies_on_stage_cache_save_and_the_index(dvc_repo: Path) -> None:
    from dvc.repo import Repo
    from dvc.stage import Stage
    from dvc.stage.cache import StageCache

    why = "internals.save_run_cache: "
    assert params(StageCache.save)[:2] == ["self", "stage"], why + "StageCache.save(stage) changed"
    assert all(hasattr(Stage, a) for a in ("changed", "addressing", "cmd")) or "cmd" in params(Stage.__init__), (
        why + "Stage.changed / .addressing / .cmd changed"
    )
    with Repo(str(dvc_repo)) as repo:
        assert all(hasattr(repo, a) for a in ("stage_cache", "index", "lock")), why + "Repo attributes"
        assert isinstance(repo.stage_cache, StageCache), why + "Repo.stage_cache"


def test_save_run_cache_runs_on_an_empty_repository(dvc_repo: Path) -> None:
    assert internals.save_run_cache(dvc_repo) == [], "internals.save_run_cache: failed on an empty repository"


def test_push_run_cache_outputs_relies_on_get_used_objs_cloud_push_and_the_legacy_cache(dvc_repo: Path) -> None:
    from dvc.data_cloud import DataCloud
    from dvc.repo import Repo
    from dvc.stage.cache import StageCache

    why = "internals.push_run_cache_outputs: "
    assert params(StageCache.get_used_objs)[:2] == ["self", "used_run_cache"], why + "StageCache.get_used_objs"
    assert {"objs", "remote"} <= set(params(DataCloud.push)), why + "DataCloud.push(objs, remote=...)"
    with Repo(str(dvc_repo)) as repo:
        assert Path(repo.cache.legacy.path).is_relative_to(dvc_repo / ".dvc" / "cache"), why + "cache.legacy.path"
        assert callable(repo.cache.local.exists), why + "cache.local.exists"
    assert internals.push_run_cache_outputs.__doc__ and "3.67.1" in internals.push_run_cache_outputs.__doc__


def test_cache_path_copy_into_cache_and_remove_from_cache_use_dvc_s_layout(dvc_repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "model.keras"
    source.write_bytes(b"weights")
    md5 = hashlib.md5(b"weights", usedforsecurity=False).hexdigest()
    path = internals.cache_path(dvc_repo, md5)
    assert path == dvc_repo / ".dvc/cache/files/md5" / md5[:2] / md5[2:], "internals.cache_path: oid_to_path moved"
    internals.copy_into_cache(source, dvc_repo, md5)
    assert path.read_bytes() == b"weights", "internals.copy_into_cache"
    path.chmod(0o444)
    internals.remove_from_cache(dvc_repo, md5)
    assert not path.exists(), "internals.remove_from_cache"


def test_apply_overrides_is_dvc_s_own_and_adds_unknown_keys() -> None:
    raw = {"train": {"seed": 0, "learning_rate": 0.01}}
    assert internals.apply_overrides(raw, ["train.seed=3", "train.learning_rate=1e-5"]) == {
        "train": {"seed": 3, "learning_rate": 1e-05}
    }, "internals.apply_overrides: dvc.utils.hydra.apply_overrides changed what it writes"
    assert internals.apply_overrides(raw, ["train.extra=1"])["train"]["extra"] == 1, (
        "internals.apply_overrides: an unknown key is no longer added with Hydra's +KEY"
    )
    assert raw == {"train": {"seed": 0, "learning_rate": 0.01}}, "internals.apply_overrides changed its input"


def test_exp_ref_prefix_is_dvc_s_experiment_ref_layout() -> None:
    from dvc.repo.experiments.refs import ExpRefInfo

    baseline = "ab" + "c" * 38
    assert str(ExpRefInfo(baseline, "exp-1")) == internals.exp_ref_prefix(baseline) + "exp-1", (
        "internals.exp_ref_prefix: DVC keeps experiment refs elsewhere"
    )


def test_exp_data_command_s_private_repo_keyword_and_transfer_options_exist() -> None:
    from dvc.repo import Repo

    why = "internals.exp_data_command (EXP_DATA): "
    assert "_wait_for_lock" in params(Repo.__init__), why + "Repo(..., _wait_for_lock=True) is gone"
    for method in (Repo.push, Repo.fetch):
        assert {"revs", "workspace", "run_cache"} <= set(params(method)), why + f"Repo.{method.__name__} options"
    assert internals.exp_data_command("python", "push", "c0ffee")[-2:] == ["push", "c0ffee"]


def test_queue_worker_pids_reads_dvc_s_celery_worker_records(tmp_path: Path) -> None:
    from dvc.repo.experiments.queue.celery import LocalCeleryQueue
    from dvc.repo.experiments.utils import EXEC_TMP_DIR

    why = "internals.queue_worker_pids: "
    assert (EXEC_TMP_DIR, LocalCeleryQueue.CELERY_DIR) == ("exps", "celery"), why + "the workers' folder moved"
    assert '"dvc-exp-worker-' in inspect.getsource(LocalCeleryQueue), why + "the workers' names changed"
    records = tmp_path / ".dvc/tmp/exps/celery"
    records.mkdir(parents=True)
    (records / "dvc-exp-worker-1.json").write_text(json.dumps({"pid": 4242}))
    (records / "dvc-exp-worker-2.json").write_text("not json")
    assert internals.queue_worker_pids(tmp_path) == [4242], why + "records not read"


def test_modify_yaml_is_dvc_s_round_trip_editor(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  seed: 0  # kept\n")
    with internals.modify_yaml(path) as data:
        data["train"]["seed"] = 1
    assert path.read_text() == "train:\n  seed: 1  # kept\n", "internals.modify_yaml: dvc's modify_yaml changed"


def test_exp_stages_started_reads_dvc_s_executor_info_where_dvc_writes_it(dvc_repo: Path) -> None:
    from dvc.repo import Repo
    from dvc.repo.experiments.executor.base import BaseExecutor, ExecutorInfo, TaskStatus
    from dvc.repo.experiments.queue.tempdir import _STANDALONE_TMP_DIR
    from dvc.repo.experiments.queue.workspace import WorkspaceQueue
    from dvc.repo.experiments.utils import EXEC_PID_DIR, EXEC_TMP_DIR

    why = "internals.exp_stages_started: "
    with Repo(str(dvc_repo)) as repo:
        tmp = Path(repo.tmp_dir)
    assert tmp == dvc_repo / ".dvc/tmp", why + "Repo.tmp_dir moved"
    assert [str(tmp / EXEC_TMP_DIR / EXEC_PID_DIR), str(tmp / _STANDALONE_TMP_DIR / EXEC_PID_DIR)] == [
        str(dvc_repo / folder) for folder in internals.EXEC_INFO_DIRS
    ], why + "the executor info folders moved"
    assert (BaseExecutor.INFOFILE_EXT, WorkspaceQueue._EXEC_NAME) == (".run", internals.EXEC_WORKSPACE), (
        why + "the info file's name changed"
    )
    assert int(TaskStatus.RUNNING) == internals.EXEC_RUNNING, why + "TaskStatus.RUNNING changed"
    # Written as BaseExecutor._repro_dvc writes it (status RUNNING, just before the first stage), and only then.
    source = inspect.getsource(BaseExecutor._repro_dvc)
    running = source.index("info.status = TaskStatus.RUNNING")
    assert source.index("info.dump_json(infofile)") > running > source.index("with Repo("), (
        why + "_repro_dvc no longer marks the info file RUNNING as it starts"
    )
    assert source.count("info.dump_json(infofile)") == 2, why + "_repro_dvc writes the info file more often"
    assert internals.exp_stages_started(dvc_repo, "workspace", None) is None, why + "no info file: not started"
    info = ExecutorInfo("file:///x", "a" * 40, "workspace", str(dvc_repo), ".dvc", name="long")
    path = dvc_repo / internals.EXEC_INFO_DIRS[0] / "workspace/workspace.run"
    info.status = TaskStatus.PREPARING
    info.dump_json(str(path))
    assert internals.exp_stages_started(dvc_repo, "workspace", None) is None, why + "PREPARING read as started"
    info.status = TaskStatus.RUNNING
    info.dump_json(str(path))
    assert internals.exp_stages_started(dvc_repo, "workspace", None) == path.stat().st_mtime, why + "RUNNING not read"
    queued = dvc_repo / internals.EXEC_INFO_DIRS[0] / ("b" * 40) / f"{'b' * 40}.run"
    info.dump_json(str(queued))
    assert internals.exp_stages_started(dvc_repo, None, "b" * 40) == queued.stat().st_mtime, why + "a queued run's"
    assert internals.exp_stages_started(dvc_repo, None, None) is None
    assert "3.67.1" in (internals.exp_stages_started.__doc__ or "")


def test_save_run_cache_names_a_busy_repository_in_one_line(dvc_repo: Path) -> None:
    from dvc.lock import LockError
    from dvc.repo import Repo

    from penguins.errors import PipelineError

    assert issubclass(LockError, Exception), "internals.save_run_cache: dvc.lock.LockError is gone"
    with Repo(str(dvc_repo)) as repo, repo.lock, pytest.raises(PipelineError, match="busy"):
        internals.save_run_cache(dvc_repo)


def test_dvc_config_reads_the_merged_config_and_one_file(dvc_repo: Path) -> None:
    why = "internals.dvc_config: "
    (dvc_repo / ".dvc/config.local").write_text("[core]\n    remote = team\n['remote \"team\"']\n    url = /srv/x\n")
    try:
        merged = internals.dvc_config(dvc_repo)
        assert merged["core"]["remote"] == "team", why + "Repo.config no longer merges config.local"
        assert merged["remote"]["team"]["url"] == "/srv/x", why + "remote sections changed"
        assert "team" in internals.dvc_config(dvc_repo, "local")["remote"], why + "Config.read('local')"
        assert "team" not in internals.dvc_config(dvc_repo, "repo").get("remote", {}), why + "Config.read('repo')"
    finally:
        (dvc_repo / ".dvc/config.local").unlink()


def test_dvc_cli_runs_dvc_in_process_and_returns_its_exit_status(
    dvc_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(dvc_repo)
    why = "internals.dvc_cli (dvc.cli.main): "
    assert internals.dvc_cli(["config", "--local", "core.autostage", "true"]) == 0, why + "a command failed"
    try:
        assert "autostage = true" in (dvc_repo / ".dvc/config.local").read_text(), why + "nothing was written"
        assert internals.dvc_cli(["remote", "modify", "no-such-remote", "verify", "true"]) != 0, why + "exit status"
    finally:
        (dvc_repo / ".dvc/config.local").unlink()


def test_metrics_and_params_returns_dvc_s_show_results_per_revision(dvc_repo: Path) -> None:
    from penguins.errors import PipelineError

    why = "internals.metrics_and_params: "
    (dvc_repo / "dvc.yaml").write_text("metrics:\n  - m.json\nparams:\n  - p.yaml\n")
    (dvc_repo / "m.json").write_text('{"accuracy": 0.9}')
    (dvc_repo / "p.yaml").write_text("seed: 1\n")
    try:
        shown = internals.metrics_and_params(dvc_repo, ["workspace"])
        assert shown["metrics"]["workspace"]["data"]["m.json"]["data"] == {"accuracy": 0.9}, why + "metrics.show"
        assert shown["params"]["workspace"]["data"]["p.yaml"]["data"] == {"seed": 1}, why + "params.show"
        with pytest.raises(PipelineError, match="cannot read metrics"):  # --no-scm: no revision but the workspace
            internals.metrics_and_params(dvc_repo, ["workspace", "no-such-rev"])
    finally:
        for name in ("dvc.yaml", "m.json", "p.yaml"):
            (dvc_repo / name).unlink()


def test_override_problem_and_hydra_sweeps_parse_as_dvc_exp_run_s_does() -> None:
    why = "internals.override_problem / hydra_sweeps: "
    assert internals.override_problem("train.seed=0,1") is None, why + "a list of values"
    assert internals.override_problem("train.seed=glob(*)") == "glob()", why + "glob() not recognised"
    assert internals.override_problem("train.lr=interval(0,1)") == "interval()", why + "interval() not recognised"
    with pytest.raises(ValueError, match=r"\S"):
        internals.override_problem("train.seed=[")
    assert internals.hydra_sweeps("params.yaml", ["a=1,2", "b=x"]) == [["a=1", "b=x"], ["a=2", "b=x"]], why + "product"
    assert internals.hydra_sweeps("params.yaml", ["a=range(0,0)"]) == [], why + "an empty range"
    with pytest.raises(ValueError, match=r"\S"):
        internals.hydra_sweeps("params.yaml", ["a=range(1,5,0)"])  # HydraException: "range() arg 3 must not be zero"


def test_override_key_is_the_key_hydra_applies_the_override_to() -> None:
    why = "internals.override_key: "
    for spelling in ("train.epochs=1,2", "+train.epochs=3", "++train.epochs=3", "~train.epochs", "train.epochs=null"):
        assert internals.override_key(spelling) == "train.epochs", why + spelling
    assert internals.override_key("train={epochs: 3}") == "train", why + "a whole section"
    with pytest.raises(ValueError, match=r"\S"):
        internals.override_key("train.epochs =1")
