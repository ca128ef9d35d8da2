"""tools.slurm's pure parts: the configuration text and the jobcomp file's job states."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def test_not_root_is_a_reason_to_skip_even_with_slurm_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slurm.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(slurm, "missing_commands", list)
    with pytest.raises(slurm.SlurmUnavailable, match=r"^not root: .*SlurmUser=root"):
        slurm.install()


def test_missing_slurm_without_apt_get_names_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slurm.os, "geteuid", lambda: 0)
    monkeypatch.setattr(slurm, "missing_commands", lambda: ["munged", "sbatch"])
    monkeypatch.setattr(slurm.shutil, "which", lambda _name: None)
    with pytest.raises(slurm.SlurmUnavailable) as raised:
        slurm.install()
    assert str(raised.value) == (
        "munged, sbatch not found (Debian: apt-get install slurmctld slurmd slurm-client munge); "
        "no apt-get to install them with"
    )
