"""tools.slurm's pure parts: the configuration text, the jobcomp file's job states, when the SLURM tests skip
or fail; and `up` and `down` with the daemons and SLURM's commands replaced."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from penguins.errors import PipelineError
from tools import slurm

NODE = slurm.Node("vm", 2, 21694)


def conf_settings(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines if not line.startswith(("NodeName=", "PartitionName=")))


def test_conf_is_one_node_controller_with_everything_under_the_state_dir() -> None:
    text = slurm.slurm_conf(Path("/s"), NODE, 7001, 7002)
    settings = conf_settings(text)
    assert settings["SlurmctldHost"] == "vm(127.0.0.1)"
    assert (settings["SlurmctldPort"], settings["SlurmdPort"]) == ("7001", "7002")
    assert settings["SlurmUser"] == "root"
    for key in ("StateSaveLocation", "SlurmdSpoolDir", "SlurmctldPidFile", "SlurmdPidFile", "SlurmctldLogFile",
                "SlurmdLogFile", "JobCompLoc"):  # fmt: skip
        assert settings[key].startswith("/s/"), key
    assert settings["AuthInfo"] == "socket=/s/munge/munge.socket"
    assert settings["ProctrackType"] == "proctrack/linuxproc"
    assert settings["TaskPlugin"] == "task/none"
    assert settings["SelectType"] == "select/cons_tres"
    assert settings["AccountingStorageType"] == "accounting_storage/none"
    assert settings["JobCompType"] == "jobcomp/filetxt"
    assert "NodeName=vm NodeAddr=127.0.0.1 CPUs=2 RealMemory=21694 State=UNKNOWN" in text.splitlines()
    assert "PartitionName=main Nodes=vm Default=YES MaxTime=INFINITE State=UP" in text.splitlines()


def test_node_memory_is_a_little_under_the_machines() -> None:
    total = 24 * 2**30
    assert slurm.node_memory_mb(total) == int(24 * 1024 * 0.9)
    assert slurm.node_memory_mb(total) < total // 2**20


def test_jobcomp_states_name_array_tasks_as_squeue_does() -> None:
    text = (
        "JobId=2 UserId=root(0) Name=sweep JobState=COMPLETED Partition=main ArrayJobId=1 ArrayTaskId=0 ExitCode=0:0\n"
        "JobId=1 UserId=root(0) Name=sweep JobState=TIMEOUT Partition=main ArrayJobId=1 ArrayTaskId=1 ExitCode=0:1\n"
        "JobId=3 UserId=root(0) Name=collect JobState=FAILED Partition=main ArrayJobId= ArrayTaskId= ExitCode=1:0\n"
        "JobId=4 UserId=root(0) Name=wrap JobState=CANCELLED Partition=main\n"
        "\n"
        "not a record\n"
    )
    assert slurm.parse_jobcomp(text) == {"1_0": "COMPLETED", "1_1": "TIMEOUT", "3": "FAILED", "4": "CANCELLED"}


def test_jobcomp_keeps_the_last_state_of_a_job_that_ran_twice() -> None:
    text = "JobId=5 JobState=NODE_FAIL\nJobId=5 JobState=COMPLETED\n"
    assert slurm.parse_jobcomp(text) == {"5": "COMPLETED"}


def test_conf_overrides_only_for_more_cpus_than_the_machine_has() -> None:
    assert "SlurmdParameters" not in slurm.slurm_conf(Path("/s"), NODE, 7001, 7002)
    text = slurm.slurm_conf(Path("/s"), slurm.Node("vm", 3, 21694), 7001, 7002, overrides=True)
    assert conf_settings(text)["SlurmdParameters"] == "config_overrides"
    assert "NodeName=vm NodeAddr=127.0.0.1 CPUs=3 RealMemory=21694 State=UNKNOWN" in text.splitlines()


def test_not_root_is_a_reason_to_skip_even_with_slurm_installed_and_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub's runners run `make test` as a non-root user with CI=true: the SLURM tests skip there."""
    monkeypatch.setattr(slurm.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(slurm, "missing_commands", list)
    with pytest.raises(slurm.SlurmUnavailable, match=r"^not root: .*SlurmUser=root") as raised:
        slurm.install()
    assert slurm.skip_reason(raised.value, ci=True) == slurm.skip_reason(raised.value, ci=False) == str(raised.value)


def test_missing_slurm_without_apt_get_names_the_packages_and_skips_even_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(slurm.os, "geteuid", lambda: 0)
    monkeypatch.setattr(slurm, "missing_commands", lambda: ["munged", "sbatch"])
    monkeypatch.setattr(slurm.shutil, "which", lambda _name: None)
    with pytest.raises(slurm.SlurmUnavailable) as raised:
        slurm.install()
    assert str(raised.value) == (
        "munged, sbatch not found (Debian: apt-get install slurmctld slurmd slurm-client munge); "
        "no apt-get to install them with"
    )
    assert slurm.skip_reason(raised.value, ci=True) == str(raised.value)


def test_failed_apt_get_as_root_skips_here_but_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our CI (.ci/run) runs as root: there a SLURM that cannot be installed is a failure, not a skip."""
    monkeypatch.setattr(slurm.os, "geteuid", lambda: 0)
    monkeypatch.setattr(slurm, "missing_commands", lambda: ["slurmd"])
    monkeypatch.setattr(slurm.shutil, "which", lambda _name: "/usr/bin/apt-get")
    monkeypatch.setattr(
        slurm.subprocess, "run", lambda cmd, **_kw: subprocess.CompletedProcess(cmd, 100, b"", b"E: no network")
    )
    with pytest.raises(slurm.SlurmUnavailable, match=r"failed$") as raised:
        slurm.install()
    assert slurm.skip_reason(raised.value, ci=False) == str(raised.value)
    assert slurm.skip_reason(raised.value, ci=True) is None
    assert slurm.skip_reason(PipelineError("slurmd did not start: ..."), ci=True) is None


def test_up_stops_the_daemons_it_started_when_one_does_not_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started, downs = [], []

    def start(cmd: list[str], what: str, state: Path) -> None:
        if what == "slurmd":
            raise PipelineError("slurmd did not start: Unable to bind listen port (logs in ...)")
        started.append(what)

    monkeypatch.setattr(slurm, "install", lambda: None)
    monkeypatch.setattr(slurm, "start", start)
    monkeypatch.setattr(slurm, "down", lambda state, say: downs.append(state))
    with pytest.raises(PipelineError, match=r"^slurmd did not start"):
        slurm.up(tmp_path / "state", say=lambda _: None)
    assert started == ["munged", "slurmctld"]
    assert downs == [(tmp_path / "state").resolve()]


def test_down_cancels_the_jobs_whenever_slurmctld_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """slurmd gone (crashed, or never started): the controller's jobs are still cancelled before it stops."""
    commands, stopped = [], []
    monkeypatch.setattr(slurm, "running", lambda _state: {"slurmctld": 11, "munged": 12})
    monkeypatch.setattr(
        slurm, "slurm", lambda _state, *args, **_kw: commands.append(args) or subprocess.CompletedProcess(args, 0, "")
    )
    monkeypatch.setattr(slurm, "stop", stopped.append)
    slurm.down(tmp_path, say=lambda _: None)
    assert commands == [("scancel", "--full", "--user=root")]  # no waiting for jobs that no slurmd runs
    assert stopped == [11, 12]
