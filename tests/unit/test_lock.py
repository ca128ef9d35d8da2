"""requirements.txt is one lock for every platform: in step with pyproject.toml, and installable everywhere it claims.

Each test asks uv (the lock's own pin, in the virtualenv running the tests) with its cache only first and
asks the package index only when the cache lacks something. When the index cannot be reached, the test is
skipped with the reason, except under CI=true, where it fails.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import tasks
from tests.conftest import ROOT
from tools.repo.clones import ENV, clone_worktree

pytestmark = pytest.mark.index

UV = tasks.program(Path(sys.prefix), "uv")
LOCK = ROOT / "requirements.txt"
# uv's names for the platforms the README promises, each with the environment markers it has.
# Linux: manylinux_2_28 (glibc 2.28+: Debian 10, Ubuntu 20.04, RHEL 8 and later); glibc 2.17 lacks contourpy.
# macOS arm64 is checked for macOS 12, the oldest TensorFlow 2.21 supports (MACOSX_DEPLOYMENT_TARGET below).


def _markers(sys_platform: str, machine: str, system: str) -> dict[str, str]:
    return {"sys_platform": sys_platform, "platform_machine": machine, "platform_system": system,
            "os_name": "nt" if system == "Windows" else "posix"}  # fmt: skip


PLATFORMS = {
    "linux-x86_64": ("x86_64-manylinux_2_28", _markers("linux", "x86_64", "Linux")),
    "linux-aarch64": ("aarch64-manylinux_2_28", _markers("linux", "aarch64", "Linux")),
    "macos-arm64": ("aarch64-apple-darwin", _markers("darwin", "arm64", "Darwin")),
    "windows-x86_64": ("x86_64-pc-windows-msvc", _markers("win32", "AMD64", "Windows")),
}
PYTHONS = [f"3.{minor}" for minor in range(tasks.PYTHON_MIN[1], tasks.PYTHON_MAX[1] + 1)]
TENSORFLOW = {"linux-x86_64": "tensorflow-cpu", "windows-x86_64": "tensorflow-cpu"}  # else "tensorflow"
# Pins published as source only. Allowed because they are pure Python (checked below), so they build anywhere.
SDIST_ONLY = ("antlr4-python3-runtime",)
# uv's words for a failed download, as opposed to a resolution that says "no".
UNREACHABLE = re.compile(r"(?i)failed to fetch|error sending request|dns error|connection (refused|reset)|timed out"
                         r"|network is unreachable|could not connect|request failed after")  # fmt: skip


def uv_cached_first(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command that calls uv, offline (UV_OFFLINE=1) first; again with the index if that failed.
    Skip (fail under CI=true) when the index is unreachable."""
    base = {**ENV, **(env or {})}
    offline = {**base, "UV_OFFLINE": "1"}
    proc = subprocess.run(cmd, cwd=cwd, env=offline, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode == 0:
        return proc
    proc = subprocess.run(cmd, cwd=cwd, env=base, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0 and "No solution found" not in proc.stderr and UNREACHABLE.search(proc.stderr):
        reason = f"package index unreachable: {proc.stderr.strip().splitlines()[-1]}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return proc


def pins(text: str, environment: dict[str, str] | None = None) -> dict[str, str]:
    """{normalised name: version} of a requirements file; only the lines whose markers hold in ``environment``."""
    found = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        if environment is None or req.marker is None or req.marker.evaluate(environment):
            found[re.sub(r"[-_.]+", "-", req.name).lower()] = str(req.specifier).removeprefix("==")
    return found


def relock(repo: Path) -> subprocess.CompletedProcess[str]:
    """The README's re-lock command in ``repo``: `make lock`, or tasks.py where there is no make (Windows)."""
    if shutil.which("make") and os.name != "nt":
        cmd = ["make", "--no-print-directory", "lock", f"VENV={sys.prefix}"]
    else:
        cmd = [sys.executable, "tasks.py", "--venv", sys.prefix, "lock"]
    return uv_cached_first(cmd, cwd=repo)


def test_lock_is_in_step_with_pyproject(tmp_path: Path) -> None:
    repo = clone_worktree(tmp_path)
    proc = relock(repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (repo / "requirements.txt").read_text() == LOCK.read_text(), (
        "requirements.txt is stale against pyproject.toml: run `make lock` (or `python tasks.py lock`) and commit it"
    )


def test_a_stale_lock_is_caught(tmp_path: Path) -> None:
    repo = clone_worktree(tmp_path)
    pyproject = repo / "pyproject.toml"
    declared = pyproject.read_text()
    assert '"palmerpenguins==0.1.6",' in declared
    pyproject.write_text(declared.replace('"palmerpenguins==0.1.6",', ""))
    proc = relock(repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    relocked = (repo / "requirements.txt").read_text()
    assert relocked != LOCK.read_text()
    assert "palmerpenguins" in pins(LOCK.read_text())
    assert "palmerpenguins" not in pins(relocked)


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_pin_has_a_wheel(platform: str, python: str) -> None:
    """uv resolves the lock for that platform and Python with wheels only (pure-Python sdists excepted):
    nothing is downloaded or installed, the index's file lists are checked against the platform's tags."""
    target, markers = PLATFORMS[platform]
    no_binary = [arg for name in SDIST_ONLY for arg in ("--no-binary", name)]
    cmd = [UV, "pip", "compile", "requirements.txt", "--no-deps", "--only-binary", ":all:", *no_binary,
           "--python-platform", target, "--python-version", python,
           "--no-header", "--no-annotate", "--quiet"]  # fmt: skip
    proc = uv_cached_first(cmd, cwd=ROOT, env={"MACOSX_DEPLOYMENT_TARGET": "12.0"})
    assert proc.returncode == 0, f"{platform}, Python {python}: {proc.stderr}"
    environment = {**markers, "python_version": python, "python_full_version": f"{python}.0",
                   "implementation_name": "cpython", "platform_python_implementation": "CPython"}  # fmt: skip
    expected = pins(LOCK.read_text(), environment)
    assert pins(proc.stdout) == expected
    assert TENSORFLOW.get(platform, "tensorflow") in expected


def test_the_wheel_check_sees_a_missing_platform(tmp_path: Path) -> None:
    """The same check on Intel macOS fails: TensorFlow 2.21 ships no wheel for it (the README says so)."""
    tensorflow = pins(LOCK.read_text(), PLATFORMS["macos-arm64"][1] | {"python_version": "3.11"})["tensorflow"]
    (tmp_path / "tf.txt").write_text(f"tensorflow=={tensorflow}\n")
    cmd = [UV, "pip", "compile", "tf.txt", "--no-deps", "--only-binary", ":all:", "--no-header", "--quiet",
           "--python-platform", "x86_64-apple-darwin", "--python-version", "3.11"]  # fmt: skip
    proc = uv_cached_first(cmd, cwd=tmp_path)
    assert proc.returncode != 0
    assert "tensorflow" in proc.stderr
    assert "matching platform tag" in proc.stderr, proc.stderr


@pytest.mark.parametrize("name", SDIST_ONLY)
def test_sdist_only_pins_are_pure_python(name: str) -> None:
    """The wheel built from the sdist (when make install installed it here) is py3-none-any."""
    assert name in pins(LOCK.read_text())
    wheel = importlib.metadata.distribution(name).read_text("WHEEL") or ""
    assert "Root-Is-Purelib: true" in wheel
    assert "Tag: py3-none-any" in wheel, wheel
