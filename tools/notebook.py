"""notebook: JupyterLab on this repository, with this .venv as the kernel, offline (make notebook).

    python -m tools.notebook [--port N] [JUPYTERLAB_ARGS...]     (or: make notebook, python tasks.py notebook)

JupyterLab is not in requirements.txt (`make run` does not need it): on first use it is installed into this .venv
from requirements-notebook.txt, the lock of pyproject.toml's `notebook` extra (the same pins for every shared
package). It listens on 127.0.0.1 only, opens no browser, fetches no news, checks for no updates and lists no
extensions from the package index; once it answers, the URL to open is printed (with its token). Ctrl-C stops it
(exit status 130); JupyterLab failing is a non-zero exit with one error line.
The kernel is this .venv's Python (ipykernel, in the lock), so a notebook imports this checkout's `penguins`.
Notebooks are saved stripped of outputs and execution counts (strip_on_save), so `git status` stays clean.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from penguins.cli import run_cli, stage_parser
from penguins.errors import PipelineError
from penguins.paths import ROOT

LOCK = ROOT / "requirements-notebook.txt"
FIRST = "notebooks/01-lesson.ipynb"
DEFAULT_PORT = 8888
STARTUP_S = 60  # a cold first start compiles nothing, but a loaded machine is slow
# Nothing leaves the machine: no news feed, no update check, no extension listing from the package index.
OFFLINE = ("--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly")  # fmt: skip
# Saved notebooks are stripped (git status stays clean after a run); jupytext's manager runs it for the .ipynb.
STRIP = "--ContentsManager.pre_save_hook=tools.notebook.strip_on_save"


def lab_installed() -> bool:
    return importlib.util.find_spec("jupyterlab") is not None


def install_refusal(prefix: str = sys.prefix, base_prefix: str = sys.base_prefix) -> str | None:
    """Why JupyterLab must not be installed into the Python running this, or None: only into a virtual environment
    (the project's .venv), never into a system Python, which `python -m tools.notebook` run by hand could be."""
    if prefix != base_prefix:
        return None
    return (f"{sys.executable} is not a virtual environment: JupyterLab is installed only into the project's .venv; "
            "run `make notebook` (or `python tasks.py notebook`); nothing was installed")  # fmt: skip


def install_command(python: str = sys.executable) -> list[str]:
    """JupyterLab from its lock into this environment: with the .venv's uv (as make install), else pip."""
    uv = Path(python).parent / ("uv.exe" if os.name == "nt" else "uv")
    if uv.exists():
        return [str(uv), "pip", "install", "--python", python, "--quiet", "--compile-bytecode", "-r", str(LOCK)]
    return [python, "-m", "pip", "install", "--quiet", "--no-input", "-r", str(LOCK)]


def free_port(preferred: int = DEFAULT_PORT) -> int:
    """``preferred`` when nothing listens on it on 127.0.0.1, else one the system picks."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise PipelineError("no free TCP port on 127.0.0.1 for JupyterLab")


def strip_on_save(model: dict[str, Any], **_: Any) -> None:
    """JupyterLab's pre-save hook (ContentsManager.pre_save_hook, jupytext's manager included): a notebook is saved
    without outputs, execution counts or per-run metadata (tools.checks.notebooks' rule), so saving after a run
    leaves `git status` clean; the outputs stay on screen until the notebook is closed."""
    if model.get("type") == "notebook" and model.get("content") is not None:
        from tools.checks.notebooks import stripped

        model["content"] = stripped(model["content"])


def lab_command(port: int, extra: Sequence[str] = (), python: str = sys.executable) -> list[str]:
    """JupyterLab serving the repository on 127.0.0.1:``port``, offline, without a browser."""
    root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []  # containers, CI: it refuses
    return [python, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--ServerApp.root_dir={ROOT}", *OFFLINE, STRIP, *root, *extra]  # fmt: skip


def url(port: int, token: str, path: str = FIRST) -> str:
    return f"http://127.0.0.1:{port}/lab/tree/{path}?token={token}"


def wait_until_up(proc: subprocess.Popen, port: int, token: str, timeout_s: float = STARTUP_S) -> None:
    """Return once the server answers its API with the token; one-line error if it exits or never answers."""
    deadline = time.monotonic() + timeout_s
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status", headers={"Authorization": f"token {token}"})
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PipelineError(f"JupyterLab exited with status {proc.returncode} before serving (its output is above)")
        try:
            with urllib.request.urlopen(request, timeout=2):  # noqa: S310 (http://127.0.0.1 only)
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise PipelineError(f"JupyterLab did not answer on 127.0.0.1:{port} within {timeout_s:.0f} s")


def port_number(text: str) -> int:
    """argparse's type for --port: a TCP port, 1 to 65535 (checked before anything is installed or started)."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1 to 65535)")
    return port


def main(argv: Sequence[str] | None = None) -> None:
    parser = stage_parser(__doc__, prog="python -m tools.notebook")
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT, help="first port tried (default 8888)")
    args, extra = parser.parse_known_args(argv)
    if not lab_installed():
        if refusal := install_refusal():
            raise PipelineError(refusal)
        print(f"notebook: installing JupyterLab (first use) from {LOCK.name}", flush=True)
        if subprocess.run(install_command(), check=False).returncode != 0:
            raise PipelineError(
                f"could not install JupyterLab from {LOCK.name} (output above); `make notebook` retries"
            )
    port, token = free_port(args.port), secrets.token_hex(24)
    # The token in the environment, not on the command line, where other users of the machine could read it.
    proc = subprocess.Popen(lab_command(port, extra), cwd=ROOT, env={**os.environ, "JUPYTER_TOKEN": token})
    interrupted = False
    try:
        wait_until_up(proc, port, token)
        print(f"\nJupyterLab is running; open {url(port, token)}\n(Ctrl-C stops it)\n", flush=True)
        proc.wait()
    except KeyboardInterrupt:  # Ctrl-C: JupyterLab is stopped below; the shell's convention for it, 130
        interrupted = True
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    if interrupted:
        raise SystemExit(130)
    if proc.returncode != 0:  # its own error is in its output above
        raise PipelineError(f"JupyterLab exited with status {proc.returncode} (its output is above)")


if __name__ == "__main__":
    run_cli(main)
