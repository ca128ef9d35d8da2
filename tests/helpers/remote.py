"""Fixtures of the DVC remote tests: a local-directory remote beside the moto S3 server (`s3`, tests/conftest.py),
clone A (a copy of the shared pipeline clone, already run) with both remotes in its committed .dvc/config and its
data pushed to both, fresh git clones B of it, and helpers to run the real dvc with an S3 client's environment.

Imported by tests/e2e/test_remote.py: `from tests.helpers.remote import *` brings the fixtures in.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tools.benchmarks.s3 import S3Server
from tools.repo import clones as workspace
from tools.repo.clones import BIN

KINDS = ("local", "s3")
REMOTE_TOOL = [str(BIN / "python"), "-m", "tools.remote"]


def sh(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run a command like tools.repo.clones.run, with extra environment variables; fail the test on an
    unexpected exit status (both streams shown)."""
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env={**workspace.ENV, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return proc


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def snapshot(repo: Path) -> dict[str, str]:
    """{path: md5} of every file of a clone but git's and DVC's bookkeeping (.git, .dvc/tmp): the workspace,
    its outputs and the DVC cache. Equal before and after a failed command = nothing lost or half-written."""
    return {
        str(p.relative_to(repo)): md5(p)
        for p in sorted(repo.rglob("*"))
        if p.is_file() and not p.is_symlink() and p.relative_to(repo).parts[0] != ".git"
        and p.relative_to(repo).parts[:2] != (".dvc", "tmp")
    }  # fmt: skip


def one_error_line(stderr: str) -> str:
    """The tool's stderr must be exactly one `error: ...` line; return it."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


@dataclass
class Remotes:
    """Clone A and the two remotes it pushed to; ``env`` is what a dvc process needs for the S3 one."""

    origin: Path
    local_dir: Path
    s3: S3Server
    env: dict[str, str]
    push_output: dict[str, str]

    def clone(self, dest: Path) -> Path:
        """A fresh machine: `git clone` of A (its committed .dvc/config names both remotes), nothing else."""
        subprocess.run(["git", "clone", "-q", str(self.origin), str(dest)], check=True)
        for key, value in (("user.name", "penguins tests"), ("user.email", "tests@penguins.invalid")):
            subprocess.run(["git", "config", key, value], cwd=dest, check=True)  # dvc exp commits experiments
        return dest


@pytest.fixture(scope="session")
def s3_env(s3: S3Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return s3.env(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="session")
def remotes(
    pipeline: dict[str, Any], s3: S3Server, s3_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Remotes:
    """Clone A: a copy of the shared pipeline clone with a local-directory remote `local` (the default) and an S3
    remote `s3` committed with `python -m tools.remote add`, then pushed to both with `make push`'s command.
    Credentials only in the environment, as the README says."""
    base = tmp_path_factory.mktemp("remotes")
    origin = base / "A"
    shutil.copytree(pipeline["repo"], origin, symlinks=True)
    local_dir = base / "local-remote"
    sh([*REMOTE_TOOL, "add", "local", str(local_dir), "--default"], cwd=origin)
    sh([*REMOTE_TOOL, "add", "s3", s3.url("penguins"), "--endpoint", s3.endpoint], cwd=origin)
    sh(["git", "add", ".dvc/config"], cwd=origin)
    sh(["git", "commit", "-q", "-m", "DVC remotes: local (default) and s3"], cwd=origin)
    pushed = {
        kind: sh([*REMOTE_TOOL, "push", "--run-cache", "-r", kind], cwd=origin, env=s3_env).stdout for kind in KINDS
    }
    return Remotes(origin, local_dir, s3, s3_env, pushed)


@pytest.fixture(scope="session")
def pulled_once(remotes: Remotes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone B with the default pipeline's data pulled from the local-directory remote; never changed."""
    repo = remotes.clone(tmp_path_factory.mktemp("pulled") / "B")
    sh([str(BIN / "dvc"), "pull", "-r", "local"], cwd=repo)
    return repo


@pytest.fixture
def pulled(pulled_once: Path, tmp_path: Path) -> Path:
    """A fresh clone B with the default pipeline's data pulled from the local-directory remote: a private copy
    (git, workspace and DVC cache) of one pulled once, to change freely."""
    return Path(shutil.copytree(pulled_once, tmp_path / "B", symlinks=True))


@pytest.fixture
def fresh(remotes: Remotes, tmp_path: Path) -> Path:
    """A fresh clone B with no data: what a colleague's `git clone` gives."""
    return remotes.clone(tmp_path / "fresh")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers: a hung service, or a firewall that drops replies."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                continue

    def close(self) -> None:
        self.stopped.set()
        for conn in self.conns:
            conn.close()
        self.sock.close()


class CuttingProxy:
    """An HTTP proxy to moto on 127.0.0.1 that forwards the first ``puts`` object uploads, then holds every
    later request unanswered: a push cut off half-way (the test then kills the client)."""

    def __init__(self, target_port: int, puts: int) -> None:
        self.target_port, self.puts = target_port, puts
        self.forwarded = 0
        self.cut = threading.Event()
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.released.is_set():
            try:
                conn = self.sock.accept()[0]
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(30)
            while not self.released.is_set():
                try:
                    request = read_http_message(conn)
                except OSError:
                    return
                if request is None:
                    return
                with self.lock:
                    is_put = request.startswith(b"PUT ")
                    allowed = not (is_put and self.forwarded >= self.puts)
                    if allowed and is_put:
                        self.forwarded += 1
                if not allowed:
                    self.cut.set()
                    self.released.wait(60)  # hold the request unanswered until the test is done
                    return
                try:
                    conn.sendall(forward(request, self.target_port))
                except OSError:
                    return

    def close(self) -> None:
        self.released.set()
        self.sock.close()


def read_http_message(conn: socket.socket) -> bytes | None:
    """One HTTP/1.1 request with a Content-Length body (what botocore sends), without its `Expect: 100-continue`
    (answered here: aiobotocore waits for it before sending the body); None when the peer closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length, kept = 0, []
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        if name.strip().lower() == b"expect":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            continue
        kept.append(line)
    head = b"\r\n".join(kept)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


def forward(request: bytes, port: int) -> bytes:
    """Send one request to 127.0.0.1:port as it is (same Host header: the signature stays valid); its response."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as upstream:
        head, _, body = request.partition(b"\r\n\r\n")
        lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
        upstream.sendall(b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body)
        chunks = []
        while chunk := upstream.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    head, _, body = response.partition(b"\r\n\r\n")
    # Keep the client's connection open: drop the upstream's "Connection: close"; moto sends Content-Length.
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def wait_for(event: threading.Event, timeout: float, what: str) -> None:
    if not event.wait(timeout):
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def elapsed(start: float) -> float:
    return time.perf_counter() - start
