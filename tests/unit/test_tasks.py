"""tasks.py (the no-make path for Windows learners) does what the Makefile does, and its parts work."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

import tasks
from tests.conftest import ROOT, run
from tools import make_args
from tools.repo.clones import clone_worktree

MAKEFILE = (ROOT / "Makefile").read_text()
MAKEFILE_LOCK = (ROOT / "requirements.txt").read_text()
VENV = Path(sys.prefix)
# Commands that install or run something; the rest of a recipe (test -x, touch, echo, [ ... ]) is control flow.
SHELL_WORDS = {"&&", "||", ";", "|", "(", ")", "{", "}", "if", "then", "else", "fi", "!"}


def commands(lines: list[str], bindir: Path, assignments: Sequence[str] = ()) -> set[tuple[str, ...]]:
    """The shell commands in printed recipe lines that create the venv, install, lock, run dvc or pytest,
    with the venv's bin/ directory dropped from program names (make runs `python` off PATH); a command run
    through tools.make_args is the one it runs, given make's variable ``assignments``."""
    given = dict(assignment.split("=", 1) for assignment in assignments)
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
        for printed in filter(None, words):
            cmd = make_args.expand(printed[3:], given) if printed[1:3] == ["-m", "tools.make_args"] else printed
            program = cmd[0].removeprefix(f"{bindir}/")
            normalised = (program, *cmd[1:])
            if program in {"uv", "dvc"} or (program.startswith("python") and cmd[1:2] == ["-m"]):
                found.add(normalised)
    return found


# What a user passes to make (`make test PYTEST_ARGS=...`) reaches the make this test runs, through MAKEFLAGS or
# the environment: the dry run starts from an environment without any of it, and passes its own.
MAKE_INPUTS = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS", "PYTEST_ARGS"}
MAKE_INPUTS |= set(re.findall(r"^([A-Z_]+) *\?=", MAKEFILE, flags=re.M))
NEEDS_MAKE = pytest.mark.skipif(os.name == "nt" or shutil.which("make") is None, reason="runs the Makefile")


def make_dry_run(target: str, venv: Path, *assignments: str) -> list[str]:
    env = {key: value for key, value in os.environ.items() if key not in MAKE_INPUTS}
    cmd = ["make", "--no-print-directory", "-n", target, f"VENV={venv}", f"PYTHON={sys.executable}", *assignments]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.replace("\\\n", " ").splitlines()  # lines continued with a backslash are one command


def tasks_dry_run(target: str, venv: Path, installer: str, *args: str) -> list[str]:
    cmd = [sys.executable, "tasks.py", "--dry-run", "--venv", str(venv), "--installer", installer, target, *args]
    return run(cmd, cwd=ROOT).stdout.splitlines()


@NEEDS_MAKE
@pytest.mark.parametrize(
    ("target", "make_args", "task_args"),
    [
        pytest.param("install", (), (), id="install"),
        pytest.param("run", (), (), id="run"),
        pytest.param("test", (), (), id="test"),
        # the README's way to pass options, with a quoted one
        pytest.param("test", ("PYTEST_ARGS=--durations=15 -k 'lesson or numbers'",),
                     ("--durations=15", "-k", "lesson or numbers"), id="test-with-options"),
        pytest.param("lock", (), (), id="lock"),
        pytest.param("reset", (), (), id="reset"),
    ],
)  # fmt: skip
def test_tasks_runs_what_make_runs(target: str, make_args: tuple[str, ...], task_args: tuple[str, ...],
                                   tmp_path: Path) -> None:  # fmt: skip
    venv = tmp_path / "venv"  # missing, so both print the whole set-up
    bindir = tasks.venv_bin(venv, windows=False)
    from_make = commands(make_dry_run(target, venv, *make_args), bindir, make_args)
    # make -n prints both branches of the install recipe (uv, and pip as the fallback)
    from_tasks = commands(
        tasks_dry_run(target, venv, "uv", *task_args) + tasks_dry_run(target, venv, "pip", *task_args), bindir
    )
    assert from_make, f"no command found in make -n {target}"
    assert from_tasks == from_make


@NEEDS_MAKE
def test_the_comparison_ignores_what_the_user_passed_to_make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under `make test PYTEST_ARGS=--durations=15`, this file's own `make -n test` must not inherit the option."""
    monkeypatch.setenv("MAKEFLAGS", " -- PYTEST_ARGS=--durations=15")
    monkeypatch.setenv("PYTEST_ARGS", "--durations=15")
    lines = make_dry_run("test", tmp_path / "venv")
    assert any("-m pytest" in line for line in lines), lines
    assert not any("--durations" in line for line in lines), lines


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
    (root / "stages").mkdir(parents=True)
    (root / "stages/__init__.py").write_text("")  # the stages' packages all there
    tasks.venv_bin(venv).mkdir(parents=True)
    Path(tasks.program(venv, "python")).symlink_to(sys.executable)
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


@pytest.mark.skipif(os.name == "nt", reason="a POSIX venv layout")
@pytest.mark.parametrize("python", ["dangling", "deleted"])
def test_a_venv_whose_python_does_not_run_is_made_again(tmp_path: Path, python: str) -> None:
    """Issue 29: its python deleted or a dangling link, `make install` said "Nothing to be done"."""
    venv = tmp_path / "venv"
    tasks.venv_bin(venv).mkdir(parents=True)
    if python == "dangling":
        Path(tasks.program(venv, "python")).symlink_to(tmp_path / "gone/python3")
    (venv / tasks.STAMP).touch()
    os.utime(venv / tasks.STAMP, (4e9, 4e9))  # newer than every input: only the python is wrong
    assert tasks.needs_install(venv)
    assert not tasks.python_runs(venv)
    assert "--clear" in tasks.venv_command(venv)
    if shutil.which("make"):
        lines = make_dry_run("install", venv)
        assert any("-m venv --clear" in line for line in lines), lines


@pytest.mark.skipif(os.name == "nt", reason="a POSIX venv layout")
def test_a_venv_that_lost_a_package_is_installed_again(tmp_path: Path) -> None:
    """Its python runs, but the stages' packages are not all there: make install must not say "Nothing to be done"."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    (bare / tasks.STAMP).touch()
    os.utime(bare / tasks.STAMP, (4e9, 4e9))
    assert tasks.python_runs(bare) and not tasks.has_stage_packages(bare)
    assert tasks.needs_install(bare)
    if shutil.which("make"):
        lines = make_dry_run("install", bare)
        assert any("requirements.txt" in line for line in lines), lines
    assert tasks.has_stage_packages(VENV)  # the test suite's own venv has them all


def test_the_stages_say_in_one_line_when_python_is_not_the_projects(tmp_path: Path) -> None:
    """`.venv/bin/dvc repro` without activating .venv runs `python -m stages.X` with another Python."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    cmd = [tasks.program(bare, "python"), "-m", "stages.validate_params"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "lacks the project's packages" in proc.stderr and "source .venv/bin/activate" in proc.stderr


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
    # -n 0: no pytest-xdist workers (pytest.ini's -n logical would start three, each importing what the run imports)
    base = [sys.executable, "tasks.py", "--venv", str(VENV), "test", "-n", "0", "-p", "no:cacheprovider"]
    passed = run([*base, "tests/unit/test_tasks.py", "-k", "layouts or uv_pin", "-q"], cwd=repo)
    assert re.search(r"^2 passed", passed.stdout, flags=re.M), passed.stdout
    assert f"{tasks.program(VENV, 'python')} -m pytest" in passed.stdout
    empty = run([*base, "tests/unit/test_tasks.py", "-k", "no_such_test"], cwd=repo, check=False)
    assert empty.returncode == 5
    assert "pytest collected no tests (exit 5): treated as a failure" in empty.stderr


def test_next_steps_name_what_to_look_at_and_the_missing_remote() -> None:
    alone = tasks.next_steps(has_remote=False, windows=False)
    for step in ("make report", "make exp-show", "dvc exp run -S train.epochs=50", "source .venv/bin/activate"):
        assert step in alone
    assert alone.endswith(tasks.NO_REMOTE)
    assert "docs/sharing.md" in tasks.NO_REMOTE
    shared = tasks.next_steps(has_remote=True, windows=True)
    assert "`dvc push`" not in shared  # with a remote, DVC's own hint above is right
    assert r".venv\Scripts\Activate.ps1" in shared
    assert "python -m tools.exp_show" in shared and "make " not in shared  # no make on most Windows machines
    named = set(re.findall(r"make ([a-z][a-z-]+)", alone))
    assert named == {"report", "exp-show"} <= set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, flags=re.M))


def test_has_default_remote_asks_the_real_dvc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for level in ("DVC_GLOBAL_CONFIG_DIR", "DVC_SYSTEM_CONFIG_DIR"):  # this machine's own DVC config stays out
        monkeypatch.setenv(level, str(tmp_path / level))
    dvc = tasks.program(VENV, "dvc")
    run(["git", "init", "-q"], cwd=tmp_path)
    run([dvc, "init", "-q"], cwd=tmp_path)
    assert not tasks.has_default_remote(dvc, tmp_path)
    # What `dvc remote add --local storage PATH`, then `dvc remote default --local storage`, write (two dvc
    # processes less: only the question is DVC's).
    remote = f"['remote \"storage\"']\n    url = {tmp_path / 'store'}\n"
    (tmp_path / ".dvc/config.local").write_text(remote)
    assert not tasks.has_default_remote(dvc, tmp_path)  # a remote, but no default: `dvc push` still fails
    (tmp_path / ".dvc/config.local").write_text("[core]\n    remote = storage\n" + remote)
    assert tasks.has_default_remote(dvc, tmp_path)
    assert not tasks.has_default_remote(str(tmp_path / "no-such-dvc"), tmp_path)


# Stand-ins for the venv's programs: each logs its full path and arguments (one per [..]); `python tasks.py`
# runs the real tasks.py (make run's last line); `dvc remote default` answers as FAKE_REMOTE says.
FAKE_PROGRAM = """#!/bin/sh
if [ "$(basename "$0")" = python ] && [ "$1" = tasks.py ]; then exec "$REAL_PYTHON" "$@"; fi
{ printf '%s' "$0"; for a in "$@"; do printf ' [%s]' "$a"; done; echo; } >> "$LOG"
case "$(basename "$0") $1 $2" in
  "dvc repro "*) echo 'Use `dvc push` to send your updates to remote storage.' ;;
  "dvc remote default") [ -n "$FAKE_REMOTE" ] && echo storage || { echo 'No default remote set' >&2; exit 1; } ;;
esac
"""


def spaced_checkout(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The Makefile and tasks.py in "My Projects/pingüinos", with a fake, installed .venv."""
    repo = tmp_path / "My Projects" / "pingüinos"
    (repo / "penguins").mkdir(parents=True)
    (repo / "tools").mkdir()
    for name in (
        "Makefile",
        "tasks.py",
        "requirements.txt",
        "pyproject.toml",
        "penguins/__init__.py",
        "tools/plots_page.py",
    ):
        shutil.copy(ROOT / name, repo / name)
    bindir = repo / ".venv" / "bin"
    bindir.mkdir(parents=True)
    for name in ("python", "dvc", "uv", "ruff"):
        (bindir / name).write_text(FAKE_PROGRAM)
        (bindir / name).chmod(0o755)
    (repo / ".venv" / ".installed").touch()
    env = {key: value for key, value in os.environ.items() if key not in MAKE_INPUTS | {"VIRTUAL_ENV"}}
    env.update(LOG=str(repo / "calls.log"), REAL_PYTHON=sys.executable, CHROMIUM="sh")  # sh: "a browser is there"
    return repo, env


def calls(repo: Path) -> list[str]:
    log = repo / "calls.log"
    lines = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return lines


@NEEDS_MAKE
def test_every_target_and_task_works_in_a_path_with_spaces_and_accents(tmp_path: Path) -> None:
    repo, env = spaced_checkout(tmp_path)
    bindir = f"{repo}/.venv/bin"

    def make(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(["make", "--no-print-directory", *args], cwd=repo, env=env, capture_output=True,
                              text=True, check=False)  # fmt: skip
        assert proc.returncode == 0, f"make {' '.join(args)}: {proc.stdout}{proc.stderr}"
        return proc

    targets = re.findall(r"^([a-z][a-z-]*):.*## ", MAKEFILE, flags=re.M)
    for target in [t for t in targets if t != "clean-venv"]:
        make(target)
        assert all(line.startswith(f"{bindir}/") for line in calls(repo)), target
    # A stale stamp: the install runs the venv's pip and uv, each path one word.
    os.utime(repo / ".venv" / ".installed", (1e9, 1e9))
    make("install")
    installed = calls(repo)
    assert f"{bindir}/python [-m] [pip] [install] [--quiet] [--no-input] [{tasks.uv_pin(MAKEFILE_LOCK)}]" in installed
    assert any(line.startswith(f"{bindir}/uv [pip] [install] [--python] [{bindir}/python]") for line in installed)
    # make run ends with what to look at next, after DVC's hint; with a remote, DVC's hint stands alone.
    ran = make("run").stdout
    assert ran.rstrip("\n").endswith(tasks.next_steps(has_remote=False)), ran
    assert ran.index("Use `dvc push`") < ran.index("What to look at next")
    assert f"{bindir}/dvc [repro]" in calls(repo)
    env["FAKE_REMOTE"] = "1"
    assert make("run").stdout.rstrip("\n").endswith(tasks.next_steps(has_remote=True))
    del env["FAKE_REMOTE"]
    calls(repo)

    # tasks.py, the same checkout
    def task(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "tasks.py", *args], cwd=repo, env=env, capture_output=True,
                              text=True, check=False)  # fmt: skip
        assert proc.returncode == 0, f"tasks.py {' '.join(args)}: {proc.stdout}{proc.stderr}"
        return proc

    assert task("run").stdout.rstrip("\n").endswith(tasks.next_steps(has_remote=False))
    assert task("test", "-k", "a b").returncode == 0
    assert f"{bindir}/python [-m] [pytest] [-k] [a b]" in calls(repo)
    os.utime(repo / ".venv" / ".installed", (1e9, 1e9))
    task("install")
    assert any(line.startswith(f"{bindir}/uv [pip] [install] [--python] [{bindir}/python]") for line in calls(repo))

    make("clean-venv")
    assert not (repo / ".venv").exists()
    assert (repo / "Makefile").exists()


@NEEDS_MAKE
def test_make_help_lists_the_learners_targets_first_and_every_target_once() -> None:
    env = {key: value for key, value in os.environ.items() if key not in MAKE_INPUTS}
    out = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert "\033" not in out  # stdout is a pipe: no colour codes
    listed = re.findall(r"^  make (\S+)", out, flags=re.M)
    assert listed[:5] == ["run", "test", "report", "exp-show", "reset"]
    assert out.startswith("Start here:\n")
    documented = re.findall(r"^([a-z][a-z-]*):.*## ", MAKEFILE, flags=re.M)
    assert sorted(listed) == sorted(documented)
    headings = re.findall(r"^(\S.*):$", out, flags=re.M)
    assert headings[:2] == ["Start here", "Experiments and sweeps"]
    assert "Other" not in headings, "a target in no group of HELP_GROUPS (Makefile): add it to one"


def test_make_run_checks_params_before_dvc_reads_them() -> None:
    """`make run` and `python tasks.py run` run validate_params --check before `dvc repro` (DVC expands
    aliases and fails on a list before any stage runs); the check writes nothing."""
    dry = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = dry.splitlines()
    check = lines.index("python -m stages.validate_params --check")
    assert lines.index("dvc repro") == check + 1
