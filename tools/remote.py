"""Share data, the model and finished runs through a DVC remote: DVC's own commands, with one-line errors.

Usage:
  python -m tools.remote add NAME URL [--endpoint URL] [--default] [--local] [--force]
  python -m tools.remote push [--run-cache] [-r NAME] [other `dvc push` options and targets]   (make push)
  python -m tools.remote pull [--run-cache] [-r NAME] [other `dvc pull` options and targets]   (make pull)

add   runs `dvc remote add` plus the settings this project recommends, and prints each dvc command it
      runs: `verify true` (DVC re-hashes what it downloads and refuses a corrupt file) and, for s3://,
      `connect_timeout 5` and `read_timeout 10` (seconds; an endpoint that never answers fails in bounded
      time). Credentials never go here: `dvc remote modify --local NAME access_key_id ...` (and
      secret_access_key), or the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment variables.
push  `dvc push`. With --run-cache it first records in DVC's run-cache the stages that DVC leaves out of it
      (those with a `cache: false` output: train, evaluate, explore, figures) when their outputs match
      dvc.lock, i.e. what you just ran; then `dvc push --run-cache`; then also the files those records
      name that DVC does not push (the `cache: false` ones). Without all three, another machine's
      `dvc exp run --pull` / `dvc repro --pull` runs those stages again instead of restoring them.
pull  `dvc pull`, then the md5 of every file it wrote is checked against dvc.lock: a file that does not
      match (a corrupt copy in the remote, pulled from a remote without `verify true`) is removed from
      the workspace and the cache, and reported.

DVC's own output passes through. On failure: one `error: ...` line naming the remote, what went wrong and
what to do; exit status 1. AWS_MAX_ATTEMPTS defaults to 2 here (botocore's own default is 5, and s3fs
retries 5 times on top): an S3 endpoint that never answers fails after about 5 x 2 x read_timeout seconds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from penguins.cli import run_cli, stage_parser
from penguins.errors import PipelineError
from tools.repo import internals
from tools.repo.output import checkout_failures
from tools.repo.output import last_error as run_last_error
from tools.repo.pipeline import damaged_outputs, lock_md5s, read_lock
from tools.repo.run import BIN, ROOT, run

# Settings `add` gives every remote it creates (all remotes: verify; s3 only: timeouts).
VERIFY = ("verify", "true")
S3_TIMEOUTS = (("connect_timeout", "5"), ("read_timeout", "10"))
AWS_MAX_ATTEMPTS = "2"
ADD_HINT = (
    "add one: `dvc remote add -d storage /path/to/shared/dir` (or an s3:// URL; docs/sharing.md), or name one with -r"
)


@dataclass(frozen=True)
class Remote:
    """What an error message may say about a remote: never its credentials."""

    name: str
    url: str
    endpoint: str | None = None
    read_timeout: float | None = None
    verify: bool = False

    @property
    def where(self) -> str:
        return f"remote '{self.name}' ({self.url}{f' at {self.endpoint}' if self.endpoint else ''})"

    @property
    def bucket(self) -> str:
        return self.url.removeprefix("s3://").split("/", 1)[0]


# --------------------------------------------------------------------------------------------
# Pure functions: which remote, what an error means, what a pull wrote, what dvc.lock expects
# --------------------------------------------------------------------------------------------


def team_umask(mask: int) -> int:
    """The umask for writing to a team's local remote: the group may always read and enter what is pushed
    (umask 077 made 0700 directories no teammate could read); what the user allows beyond that stays."""
    return mask & 0o027


def is_local(url: str) -> bool:
    """A remote in a directory (a shared file system), not behind a URL scheme such as s3://."""
    return "://" not in url or url.startswith("file://")


def remote_from_config(config: Mapping[str, Any], name: str | None) -> Remote | None:
    """The remote `-r name` (or the default one) from DVC's merged config; None when there is none."""
    name = name or config.get("core", {}).get("remote")
    if not name:
        return None
    section = config.get("remote", {}).get(name)
    if section is None:
        raise PipelineError(f"there is no DVC remote named '{name}' (`dvc remote list` shows them); {ADD_HINT}")
    timeout = section.get("read_timeout")
    return Remote(
        name=name,
        url=str(section.get("url", "")),
        endpoint=section.get("endpointurl"),
        read_timeout=float(timeout) if timeout is not None else None,
        verify=bool(section.get("verify", False)),
    )


def add_commands(
    name: str, url: str, *, endpoint: str | None, default: bool, local: bool, force: bool
) -> list[list[str]]:
    """The dvc commands that create a remote with this project's recommended settings."""
    scope = ["--local"] if local else []
    add = ["remote", "add", *scope, *(["-d"] if default else []), *(["-f"] if force else []), name, url]
    settings = [VERIFY]
    if url.startswith("s3://"):
        settings += [*S3_TIMEOUTS, *([("endpointurl", endpoint)] if endpoint else [])]
    elif endpoint:
        raise PipelineError(f"--endpoint is for s3:// remotes; {url!r} is not one")
    return [add, *(["remote", "modify", *scope, name, key, value] for key, value in settings)]


CREDENTIALS = re.compile(
    r"InvalidAccessKeyId|SignatureDoesNotMatch|Unable to locate credentials|InvalidToken|ExpiredToken|"
    r"AccessDenied|Access Denied|Forbidden|NoCredentialsError|PartialCredentialsError"
)


def explain(output: str, remote: Remote | None, command: str) -> str:  # noqa: PLR0911 (one return per kind of failure)
    """One line for a failed `dvc push/pull/fetch` from its stderr: what went wrong with which remote, what to do."""
    where = remote.where if remote else "the DVC remote"
    name = remote.name if remote else "NAME"
    if "No remote provided and no default remote set" in output or "no remote specified" in output:
        return f"no DVC remote is configured for `dvc {command}`: {ADD_HINT}"
    if found := CREDENTIALS.search(output):
        code = "403 Forbidden" if found.group(0) == "Forbidden" else found.group(0)  # HEAD: a status, no error code
        return (
            f"{where} refused the credentials ({code}): set them with `dvc remote modify --local {name} "
            f"access_key_id ...` and `... secret_access_key ...`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if "NoSuchBucket" in output or "bucket does not exist" in output:
        bucket = remote.bucket if remote else "the bucket"
        return (
            f"{where}: bucket '{bucket}' does not exist there: create it, "
            f"or fix the URL with `dvc remote modify {name} url s3://BUCKET/PATH`"
        )
    if "Read timeout on endpoint URL" in output or "ReadTimeoutError" in output:
        limit = f"read_timeout={remote.read_timeout:g} s" if remote and remote.read_timeout else "the read timeout"
        return (
            f"{where} accepted the connection but did not answer within {limit}, several tries: "
            f"is it the right endpoint, and is the service up? (`dvc remote modify {name} endpointurl URL`)"
        )
    if "Could not connect to the endpoint URL" in output or "Connect timeout on endpoint URL" in output:
        return (
            f"cannot connect to {where}: nothing answers there; check the address "
            f"(`dvc remote modify {name} endpointurl URL`) and the network"
        )
    if "Checkout failed for following targets" in output or "Missing cache files" in output:
        missing = checkout_failures(output)
        files = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        return (
            f"{command}: {files or 'some files'} could not be taken from {where}: missing there, or corrupt "
            f"(failed the md5 check); push them from a machine that has them (`dvc push`), or run `dvc repro`"
        )
    return f"`dvc {command}` failed with {where}: {last_error(output)}"


def last_error(output: str) -> str:
    """DVC's error line without its `ERROR:` prefix and wrapping phrase (tools.repo.output.last_error, bare)."""
    return run_last_error(output, bare=True)


def pulled_paths(stdout: str) -> list[str]:
    """The files `dvc pull`/`dvc checkout` wrote: its `A  path` (added) and `M  path` (modified) lines."""
    return [m.group(1) for m in re.finditer(r"^[AM]\s+(\S.*?)\s*$", stdout, re.MULTILINE)]


# --------------------------------------------------------------------------------------------
# DVC: its CLI for the work, its Python API only for what the CLI cannot do
# --------------------------------------------------------------------------------------------


def run_dvc(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run dvc with its stdout passed through and its stderr captured (to explain a failure in one line)."""
    proc = run([str(BIN / "dvc"), *args], cwd=cwd, check=False)
    sys.stdout.write(proc.stdout)
    sys.stdout.flush()
    return proc


def find_remote(root: Path, name: str | None) -> Remote | None:
    return remote_from_config(internals.dvc_config(root), name)


def push_run_cache_outputs(root: Path, remote: Remote) -> tuple[int, int]:
    """Push the objects the local run-cache records point to and the remote lacks: `dvc push --run-cache`
    sends the records but not the `cache: false` outputs they name. Returns (objects sent, objects that failed)."""
    return internals.push_run_cache_outputs(root, remote.name)


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def cmd_add(args: Any, root: Path) -> None:
    commands = add_commands(
        args.name, args.url, endpoint=args.endpoint, default=args.default, local=args.local, force=args.force
    )
    level = "local" if args.local else "repo"
    if args.name in internals.dvc_config(root, level).get("remote", {}) and not args.force:
        where = ".dvc/config.local" if args.local else ".dvc/config"
        raise PipelineError(f"remote '{args.name}' already exists in {where}: --force replaces it")
    os.chdir(root)
    for command in commands:
        print("dvc " + " ".join(command))
        if internals.dvc_cli(command) != 0:  # in-process: no second start-up of DVC per setting
            raise PipelineError(f"`dvc {' '.join(command)}` failed: see DVC's message above")


def cmd_transfer(command: str, args: Any, extra: Sequence[str], root: Path) -> None:
    remote = find_remote(root, args.remote)
    if remote is None:
        raise PipelineError(f"no DVC remote is configured for `dvc {command}`: {ADD_HINT}")
    options = [*(["-r", args.remote] if args.remote else []), *(["--run-cache"] if args.run_cache else []), *extra]
    if command == "push" and is_local(remote.url):
        os.umask(team_umask(os.umask(0o022)))  # os.umask sets and returns the old one: read, then set
    if command == "push" and args.run_cache:
        internals.save_run_cache(root)  # a busy repository: one line
    proc = run_dvc([command, *options], root)
    if command == "pull":  # also after a pull that failed half-way: what it did write is checked
        check_pulled(root, proc.stdout, remote)
    if proc.returncode != 0:
        raise PipelineError(explain(proc.stderr, remote, command))
    sys.stderr.write(proc.stderr)  # warnings of a run that worked
    if command == "push" and args.run_cache:
        try:
            sent, failed = push_run_cache_outputs(root, remote)
        except Exception as exc:  # DVC/botocore errors: the same one line as from the CLI
            raise PipelineError(explain(f"ERROR: {exc}", remote, command)) from exc
        if failed:
            raise PipelineError(f"{failed} run-cache file(s) failed to upload to {remote.where}: run it again")
        print(f"{sent} run-cache output file(s) pushed")


def check_pulled(root: Path, stdout: str, remote: Remote) -> None:
    """Every file the pull wrote must have dvc.lock's md5; one that does not is removed (workspace and cache)."""
    expected = lock_md5s(read_lock(root))
    bad = damaged_outputs(root, expected, pulled_paths(stdout))  # files; directories: DVC's own `verify`
    for rel in bad:
        (root / rel).unlink()
        internals.remove_from_cache(root, expected[rel])
    if bad:
        rel, got = next(iter(bad.items()))
        want = expected[rel]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise PipelineError(
            f"{rel}{more} from {remote.where} is corrupt: md5 {got}, dvc.lock says {want}; removed it. "
            f"Push it again from a machine that has it, or run `dvc repro`; "
            f"`dvc remote modify {remote.name} verify true` makes DVC refuse such files itself"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="dvc remote add + the recommended settings")
    add.add_argument("name")
    add.add_argument("url", help="a directory, or s3://BUCKET/PATH")
    add.add_argument("--endpoint", help="S3-compatible endpoint URL (MinIO, Ceph, R2, ...); not for AWS itself")
    add.add_argument("--default", "-d", action="store_true", help="make it the default remote")
    add.add_argument("--local", action="store_true", help="in .dvc/config.local (not committed), not .dvc/config")
    add.add_argument("--force", "-f", action="store_true", help="replace a remote of that name")
    for name in ("push", "pull"):
        transfer = sub.add_parser(name, help=f"dvc {name} with one-line errors (other options go to dvc {name})")
        transfer.add_argument("-r", "--remote", help="remote name (default: the default remote)")
        transfer.add_argument("--run-cache", action="store_true", help="also the run-cache")
    args, extra = parser.parse_known_args(argv)
    if extra and args.command == "add":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    os.environ.setdefault("AWS_MAX_ATTEMPTS", AWS_MAX_ATTEMPTS)
    root = Path.cwd() if (Path.cwd() / ".dvc").is_dir() else ROOT
    if args.command == "add":
        cmd_add(args, root)
    else:
        cmd_transfer(args.command, args, extra, root)


if __name__ == "__main__":
    run_cli(main)
