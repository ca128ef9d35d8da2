"""slurm: a one-node SLURM cluster on this machine, to try slurm/*.sbatch and for the tests.

  python -m tools.slurm up     [--dir DIR] [--cpus N]  start munged, slurmctld and slurmd; wait until the node is idle
  python -m tools.slurm status [--dir DIR]             the daemons started in DIR, and `sinfo`
  python -m tools.slurm down   [--dir DIR]             cancel the cluster's jobs, stop exactly the daemons `up` started

`up` installs Debian's slurmctld, slurmd, slurm-client and munge with apt-get when they are missing and it
runs as root; it writes slurm.conf (this host as the only node: CPUs from nproc, a little less memory than the
machine has) and a munge key into DIR (default .slurm, here), with the daemons' state, spool, logs and
pid files. The daemons run as root, on free ports, so they do not meet a cluster the machine already has.
Then point SLURM's commands at it:

  export SLURM_CONF=DIR/slurm.conf
  sbatch --array=0-2 slurm/sweep.sbatch -S 'train.seed=range(3)'

No slurmdbd, so `sacct` has nothing to read: finished jobs and their states (COMPLETED, FAILED, TIMEOUT,
CANCELLED) are in DIR/jobcomp.txt (JobCompType=jobcomp/filetxt), and in `scontrol show job` for MinJobAge.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from penguins.cli import run_cli, stage_parser
from penguins.errors import PipelineError
from penguins.io import output_problem, write_bytes

DEFAULT_DIR = Path(".slurm")  # git-ignored; not /tmp, where anyone could have made it first
PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
COMMANDS = ("munged", "slurmctld", "slurmd", "sbatch", "sinfo")  # what PACKAGES provide and `up` runs
DAEMONS = ("slurmd", "slurmctld", "munged")  # the order `down` stops them: the node first, munge last
IDLE_TIMEOUT_S = 60  # slurmd registers within seconds; a node that never shows idle is a broken config
STOP_TIMEOUT_S = 30
APT_TIMEOUT_S = 600


class SlurmUnavailable(PipelineError):
    """SLURM is not installed and cannot be installed here (not root, no apt-get, apt-get failed).

    ``no_means``: this machine has no way to run the cluster (not root, or no apt-get to install SLURM with),
    as opposed to a way that failed (apt-get install failed)."""

    def __init__(self, message: str, *, no_means: bool) -> None:
        super().__init__(message)
        self.no_means = no_means


def skip_reason(exc: PipelineError, ci: bool) -> str | None:
    """Why the SLURM tests skip, or None when they must fail instead: without root or apt-get they skip
    everywhere (GitHub's runners are not root); under CI (which runs as root) a failed install or start fails."""
    if isinstance(exc, SlurmUnavailable) and exc.no_means:
        return str(exc)
    return None if ci else str(exc)


@dataclass(frozen=True)
class Node:
    name: str
    cpus: int
    memory_mb: int


def node_memory_mb(total_bytes: int) -> int:
    """What the node offers jobs: 90 % of the machine's memory, so that the daemons and the system keep some."""
    return int(total_bytes * 0.9) // 2**20


def slurm_conf(state: Path, node: Node, ctld_port: int, slurmd_port: int, *, overrides: bool = False) -> str:
    """slurm.conf for one node that is also the controller, everything it writes under ``state``.

    ``overrides``: the node offers more CPUs than the machine has (slurmd would otherwise drain it)."""
    extra = "# More CPUs than the machine has, on purpose (up --cpus).\nSlurmdParameters=config_overrides\n"
    extra = extra if overrides else ""
    return f"""\
# Written by python -m tools.slurm up: a one-node cluster (docs/sweeps.md, "Trying it on one machine").
ClusterName=penguins
SlurmctldHost={node.name}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket={state / "munge/munge.socket"}
StateSaveLocation={state / "ctld"}
SlurmdSpoolDir={state / "spool/%n"}
SlurmctldPidFile={state / "slurmctld.pid"}
SlurmdPidFile={state / "slurmd.pid"}
SlurmctldLogFile={state / "slurmctld.log"}
SlurmdLogFile={state / "slurmd.log"}
# No cgroups needed: plain process tracking, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
MpiDefault=none
DefMemPerCPU=1024
SwitchType=switch/none
MailProg=/bin/true
# No slurmdbd: finished jobs' states go to a text file (sacct needs slurmdbd).
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={state / "jobcomp.txt"}
# Quick to notice a job past its --time and to kill it after SIGTERM; finished jobs stay visible to scontrol.
KillWait=5
OverTimeLimit=0
MinJobAge=3600
ReturnToService=2
InactiveLimit=0
{extra}NodeName={node.name} NodeAddr=127.0.0.1 CPUs={node.cpus} RealMemory={node.memory_mb} State=UNKNOWN
PartitionName=main Nodes={node.name} Default=YES MaxTime=INFINITE State=UP
"""


def parse_jobcomp(text: str) -> dict[str, str]:
    """Job states from a jobcomp/filetxt file: {"12": "COMPLETED", "13_0": "TIMEOUT", ...}.

    Array tasks are named ARRAYJOB_TASK as squeue and sacct name them. A job that ran more than once (requeued)
    keeps its last state."""
    states: dict[str, str] = {}
    for line in text.splitlines():
        fields = dict(field.split("=", 1) for field in line.split() if "=" in field)
        if "JobId" not in fields or "JobState" not in fields:
            continue
        array_job, task = fields.get("ArrayJobId", ""), fields.get("ArrayTaskId", "")
        name = f"{array_job}_{task}" if array_job and task.isdigit() else fields["JobId"]
        states[name] = fields["JobState"]
    return states


def env(state: Path = DEFAULT_DIR) -> dict[str, str]:
    """What SLURM's commands need to talk to this cluster."""
    return {"SLURM_CONF": str(state / "slurm.conf")}


def missing_commands() -> list[str]:
    return [name for name in COMMANDS if not shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin")]


def install() -> None:
    """As root, apt-get install the Debian packages if a command is missing (as `make browser` installs Chromium)."""
    if os.geteuid() != 0:
        raise SlurmUnavailable(
            "not root: this one-node cluster runs SLURM's daemons as root (SlurmUser=root)", no_means=True
        )
    missing = missing_commands()
    if not missing:
        return
    what = f"{', '.join(missing)} not found (Debian: apt-get install {' '.join(PACKAGES)})"
    if not shutil.which("apt-get"):
        raise SlurmUnavailable(f"{what}; no apt-get to install them with", no_means=True)
    apt = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install_cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]
    for cmds in ([install_cmd], [["apt-get", "update", "-qq"], install_cmd]):  # the lists may be stale
        if all(
            subprocess.run(cmd, env=apt, capture_output=True, timeout=APT_TIMEOUT_S, check=False).returncode == 0
            for cmd in cmds
        ):
            return
    raise SlurmUnavailable(f"{what}; `{' '.join(install_cmd)}` failed", no_means=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sbin(name: str) -> str:
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin") or name


def pid_file(state: Path, daemon: str) -> Path:
    return state / f"{daemon}.pid"


def running(state: Path) -> dict[str, int]:
    """The daemons started in ``state`` that are still alive: pid file present, and that pid runs that daemon."""
    alive = {}
    for daemon in DAEMONS:
        try:
            pid = int(pid_file(state, daemon).read_text().split()[0])
            proc = psutil.Process(pid)
            if proc.status() != psutil.STATUS_ZOMBIE and Path(proc.exe()).name.startswith(daemon):
                alive[daemon] = pid
        except (OSError, ValueError, IndexError, psutil.Error):
            continue
    return alive


def start(cmd: Sequence[str], what: str, state: Path) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=STOP_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise PipelineError(f"{what} did not start: {detail[-1] if detail else proc.returncode} (logs in {state})")


def slurm(state: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """A SLURM command (sinfo, squeue, scancel...) against this cluster."""
    return subprocess.run(
        list(args), env={**os.environ, **env(state)}, capture_output=True, text=True, timeout=timeout, check=False
    )


def node_state(state: Path) -> str:
    try:
        return slurm(state, "sinfo", "--noheader", "--format=%T", timeout=10).stdout.strip()
    except subprocess.TimeoutExpired:
        return ""


def up(state: Path = DEFAULT_DIR, say: Callable[[str], None] = print, cpus: int | None = None) -> None:
    """Install if needed, configure, start the three daemons and wait (bounded) until the node is idle.

    ``cpus``: CPUs the node offers (default: those this process may run on, as nproc counts them). More than
    that lets jobs that use no CPU, such as the test suite's job frozen with SIGSTOP, hold none of the real ones."""
    if problem := output_problem(state, directory=True):
        raise PipelineError(f"--dir {state}: cannot hold the cluster's state: {problem}")
    install()
    if running(state):
        raise PipelineError(
            f"a cluster is already running in {state}: `python -m tools.slurm down --dir {state}` first"
        )
    state = state.resolve()
    for sub in ("munge", "ctld", "spool"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)  # munged refuses a key or socket directory others can write to
    (state / "munge").chmod(0o700)
    nproc = len(os.sched_getaffinity(0))
    node = Node(socket.gethostname().split(".")[0], cpus or nproc, node_memory_mb(psutil.virtual_memory().total))
    conf_text = slurm_conf(state, node, free_port(), free_port(), overrides=node.cpus > nproc)
    write_bytes(state / "slurm.conf", conf_text.encode())
    key = state / "munge/munge.key"
    if not key.exists():
        write_bytes(key, os.urandom(1024))
    key.chmod(0o400)
    conf = str(state / "slurm.conf")
    try:  # a daemon that does not start, or a node never idle: stop those that did start before saying so
        start(
            [
                sbin("munged"), "--force", f"--key-file={key}", f"--socket={state / 'munge/munge.socket'}",
                f"--pid-file={pid_file(state, 'munged')}", f"--log-file={state / 'munged.log'}",
                f"--seed-file={state / 'munge/munge.seed'}",
            ],
            "munged", state,
        )  # fmt: skip
        start([sbin("slurmctld"), "-f", conf, "-c"], "slurmctld", state)  # -c: no jobs from an earlier run
        start([sbin("slurmd"), "-f", conf, "-N", node.name], "slurmd", state)
        deadline = time.monotonic() + IDLE_TIMEOUT_S
        while (shown := node_state(state)) != "idle":
            if time.monotonic() > deadline:
                raise PipelineError(
                    f"the node did not become idle within {IDLE_TIMEOUT_S} s (sinfo: {shown or 'no answer'}); "
                    f"see {state}/slurmctld.log and slurmd.log"
                )
            time.sleep(0.5)
    except BaseException:
        down(state, say=lambda _: None)
        raise
    say(f"SLURM up in {state}: node {node.name}, {node.cpus} CPUs, {node.memory_mb} MB; export SLURM_CONF={conf}")


def stop(pid: int, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM, then SIGKILL after timeout_s."""
    with contextlib.suppress(psutil.Error):
        proc = psutil.Process(pid)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except psutil.TimeoutExpired:
            proc.kill()
            proc.wait(timeout_s)


def down(state: Path = DEFAULT_DIR, say: Callable[[str], None] = print) -> None:
    """Cancel every job of the cluster (their processes would outlive slurmd), then stop its daemons by pid."""
    alive = running(state)
    if "slurmctld" in alive:  # without slurmd too: its pending jobs must not start on a later slurmd
        slurm(state, "scancel", "--full", "--user=root")
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while "slurmd" in alive and slurm(state, "squeue", "--noheader", "--states=RUNNING,COMPLETING").stdout.strip():
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
    for daemon in DAEMONS:
        if daemon in alive:
            stop(alive[daemon])
    say(f"SLURM down in {state}: stopped {', '.join(alive) or 'nothing (no daemon was running)'}")


def version(state: Path = DEFAULT_DIR) -> str:
    """SLURM's version, e.g. "slurm-wlm 22.05.8" (its commands want a configuration even for that)."""
    return slurm(state, "sinfo", "--version").stdout.strip()


def status(state: Path = DEFAULT_DIR) -> str:
    alive = running(state)
    lines = [f"{daemon}: {'pid ' + str(alive[daemon]) if daemon in alive else 'not running'}" for daemon in DAEMONS]
    if {"slurmctld", "slurmd"} <= alive.keys():
        lines += [version(state), slurm(state, "sinfo").stdout.rstrip()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = stage_parser(__doc__, prog="python -m tools.slurm")
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=f"state directory (default {DEFAULT_DIR})")
    parser.add_argument("--cpus", type=int, help="CPUs the node offers (up; default: nproc)")
    args = parser.parse_args(argv)
    if args.command == "up":
        up(args.dir, cpus=args.cpus)
    elif args.command == "down":
        down(args.dir)
    else:
        print(status(args.dir))


if __name__ == "__main__":
    run_cli(main)
