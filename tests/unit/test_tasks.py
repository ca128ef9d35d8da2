"""tasks.py (the no-make path for Windows learners) does what the Makefile does, and its parts work."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tasks
from tests.conftest import ROOT, run
from tools.workspace import clone_worktree

MAKEFILE = (ROOT / "Makefile").read_text()
VENV = Path(sys.prefix)
# Commands that install or run something; the rest of a recipe (test -x, touch, echo, [ ... ]) is control flow.
SHELL_WORDS = {"&&", "||", ";", "|", "(", ")", "{", "}", "if", "then", "else", "fi", "!"}


def commands(lines: list[str], bindir: Path) -> set[tuple[str, ...]]:
    """The shell commands in printed recipe lines that create the venv, install, lock, run dvc or pytest,
    with the venv's bin/ directory dropped from program names (make runs `python` off PATH)."""
    found = set()
    for line in lines:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words, current = [], []
        for token in lexer:
            if token in SHELL_WORDS:
                words.append(current)
                current = []
            else:
                current.append(token)
        words.append(current)
        for cmd in filter(None, words):
            program = cmd[0].removeprefix(f"{bindir}/")
            normalised = (program, *cmd[1:])
            if program in {"uv", "dvc"} or (program.startswith("python") and cmd[1:2] == ["-m"]):
                found.add(normalised)
    return found


# What a calling make hands its children: `make test PYTEST_ARGS=...` would put its options into `make -n test`.
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "PYTEST_ARGS")


def make_dry_run(target: str, venv: Path) -> list[str]:
    """The recipe lines `make -n target` prints, whatever make variables the caller of the tests set."""
    env = {k: v for k, v in os.environ.items() if k not in MAKE_VARIABLES}
    cmd = ["make", "--no-print-directory", "-n", target, f"VENV={venv}", f"PYTHON={sys.executable}"]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    return out.replace("\\\n", " ").splitlines()  # recipe lines continued with a backslash are one command


def tasks_dry_run(target: str, venv: Path, installer: str) -> list[str]:
    cmd = [sys.executable, "tasks.py", "--dry-run", "--venv", str(venv), "--installer", installer, target]
    return run(cmd, cwd=ROOT).stdout.splitlines()


@pytest.mark.skipif(os.name == "nt" or shutil.which("make") is None, reason="compares with the Makefile's recipes")
@pytest.mark.parametrize("target", ["install", "run", "test", "lock", "reset"])
def test_tasks_runs_what_make_runs(target: str, tmp_path: Path) -> None:
    venv = tmp_path / "venv"  # missing, so both print the whole set-up
    bindir = tasks.venv_bin(venv, windows=False)
    from_make = commands(make_dry_run(target, venv), bindir)
    # make -n prints both branches of the install recipe (uv, and pip as the fallback)
    from_tasks = commands(tasks_dry_run(target, venv, "uv") + tasks_dry_run(target, venv, "pip"), bindir)
    assert from_make, f"no command found in make -n {target}"
    assert from_tasks == from_make


@pytest.mark.skipif(os.name == "nt" or shutil.which("make") is None, reason="runs make")
def test_options_passed_to_make_test_do_not_change_the_comparison(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`make test PYTEST_ARGS="--durations=15"` (as the README passes options) runs this file under a make whose
    MAKEFLAGS carry the option: the dry run above must still print the plain recipe."""
    plain = make_dry_run("test", tmp_path / "venv")
    monkeypatch.setenv("MAKEFLAGS", " -- PYTEST_ARGS=--durations=15")
    monkeypatch.setenv("PYTEST_ARGS", "--durations=15")
    assert make_dry_run("test", tmp_path / "venv") == plain
    assert not [line for line in plain if "--durations" in line]


def test_the_stamp_and_python_range_match_the_makefile() -> None:
    prerequisites = re.search(r"^\$\(VENV\)/\.installed: (.*)$", MAKEFILE, flags=re.M)
    assert prerequisites is not None
    named = [
        re.sub(r"^\$\(wildcard (.*)\)$", r"\1", word)
        for word in re.findall(r"\$\(wildcard [^)]*\)|\S+", prerequisites.group(1))
    ]
    assert tuple(named) == tasks.STAMP_INPUTS
    assert f"{tasks.PYTHON_MIN} <= v <= {tasks.PYTHON_MAX}" in MAKEFILE


def test_python_range_gives_one_clear_line() -> None:
    assert tasks.python_error((3, 12, 1)) is None
    assert tasks.python_error((3, 11, 0)) is None
    message = tasks.python_error((3, 14, 0))
    assert message is not None
    assert "Python 3.14" in message
    assert "3.11 to 3.13" in message
    assert "\n" not in message


def test_windows_and_posix_venv_layouts() -> None:
    venv = Path("v")
    assert tasks.program(venv, "python", windows=True) == str(Path("v/Scripts/python.exe"))
    assert tasks.program(venv, "dvc", windows=False) == str(Path("v/bin/dvc"))


def test_uv_pin_comes_from_the_lock() -> None:
    pin = tasks.uv_pin((ROOT / "requirements.txt").read_text())
    assert pin is not None
    assert re.fullmatch(r"uv==\d+(\.\d+)+", pin)
    assert tasks.uv_pin("dvc==3.67.1\n") is None


def test_needs_install_follows_the_stamp(tmp_path: Path) -> None:
    root, venv = tmp_path / "repo", tmp_path / "venv"
    root.mkdir()
    venv.mkdir()
    (root / "requirements.txt").write_text("x==1\n")
    (root / "pyproject.toml").write_text("")
    assert tasks.needs_install(venv, root)  # no stamp
    (venv / tasks.STAMP).touch()
    os.utime(venv / tasks.STAMP, (2e9, 2e9))
    assert not tasks.needs_install(venv, root)
    (root / "penguins").mkdir()
    (root / "penguins/__init__.py").write_text("")
    os.utime(root / "penguins/__init__.py", (2e9 + 1, 2e9 + 1))  # the package appeared after the install
    assert tasks.needs_install(venv, root)


def test_unknown_task_is_refused() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tasks.py"), "deploy"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "invalid choice: 'deploy'" in proc.stderr


def test_tasks_test_runs_pytest_in_the_venv(tmp_path: Path) -> None:
    """`python tasks.py test ARGS` in a clone: the installed venv is used as is, pytest gets ARGS, and an
    empty selection fails like `make test` does."""
    assert not tasks.needs_install(VENV, ROOT), "the test venv is older than requirements.txt: run make install"
    repo = clone_worktree(tmp_path)
    base = [sys.executable, "tasks.py", "--venv", str(VENV), "test"]
    passed = run(
        [*base, "tests/unit/test_tasks.py", "-k", "layouts or uv_pin", "-q", "-p", "no:cacheprovider"], cwd=repo
    )
    assert re.search(r"^2 passed", passed.stdout, flags=re.M), passed.stdout
    assert f"{tasks.program(VENV, 'python')} -m pytest" in passed.stdout
    empty = run(
        [*base, "tests/unit/test_tasks.py", "-k", "no_such_test", "-p", "no:cacheprovider"], cwd=repo, check=False
    )
    assert empty.returncode == 5
    assert "pytest collected no tests (exit 5): treated as a failure" in empty.stderr
