"""No make? The README's two commands in plain Python, for Windows, macOS and Linux (standard library only).

    python tasks.py run  [DVC_REPRO_ARGS...]   set up .venv (only when needed), then `dvc repro`    = make run
    python tasks.py test [PYTEST_ARGS...]      the same set-up, then the test suite                = make test
    python tasks.py install                    only the set-up: .venv, the lock, the project       = make install
    python tasks.py lock [UV_COMPILE_ARGS...]  re-lock requirements.txt from pyproject.toml        = make lock
    python tasks.py reset                      back to HEAD after a failed experiment (git + dvc)  = make reset
    python tasks.py notebook [ARGS...]         JupyterLab with .venv as the kernel; prints the URL  = make notebook
    python tasks.py next-steps                 what to look at after a run (how `make run` ends)

Options go before the command: --venv DIR (default .venv, or $VENV), --installer uv|pip, --dry-run.

Run it with Python 3.11, 3.12 or 3.13 (Windows: `py -3.12 tasks.py run`); it works in its own directory. The
set-up creates .venv with that Python, installs uv (pinned in requirements.txt) into it with pip, installs
the lock with uv (with pip if uv cannot be installed) and the project itself editable, without
dependencies, then writes DVC's offline plots page (python -m tools.plots_page, when missing or older than
the install). It shares its stamp file (.venv/.installed) with the Makefile, so the two can be mixed.
Arguments after the command go to dvc, pytest or uv unchanged (`python tasks.py test -m "not e2e"`).
After a successful run both say what to look at next (`python tasks.py next-steps` prints it alone).
Unlike `make test`, this does not install Chromium: the report's browser test runs when Chrome or
Chromium is on PATH, else it is skipped.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LOCK = "requirements.txt"
NOTEBOOK_LOCK = "requirements-notebook.txt"  # JupyterLab's, installed by `notebook` on first use (tools/notebook.py)
# Re-install when one of these is newer than the stamp (the Makefile's prerequisites of $(VENV)/.installed).
STAMP_INPUTS = ("requirements.txt", "pyproject.toml", "penguins/__init__.py")
STAMP = ".installed"
# The Python versions the lock has a wheel of every package for (tests/unit/test_lock.py proves it).
PYTHON_MIN, PYTHON_MAX = (3, 11), (3, 13)
PIP_INSTALL = ("-m", "pip", "install", "--quiet", "--no-input")
# The project itself: editable, no deps (the lock has them all), built with the lock's setuptools (no download).
EDITABLE = ("--no-deps", "--no-build-isolation", "-e", ".")
LOCK_COMPILE = ("pip", "compile", "pyproject.toml", "--extra", "dev", "--universal", "--python-version", "3.11",
                "--quiet", "--custom-compile-command", "make lock")  # fmt: skip
WINDOWS = os.name == "nt"


class TaskError(Exception):
    """A failure reported as one `error: ...` line."""


def python_error(version: Sequence[int]) -> str | None:
    """Why this Python cannot run the lock, or None when it can."""
    major_minor = tuple(version[:2])
    if PYTHON_MIN <= major_minor <= PYTHON_MAX:
        return None
    lo, hi = (".".join(map(str, v)) for v in (PYTHON_MIN, PYTHON_MAX))
    return (f"this is Python {major_minor[0]}.{major_minor[1]}; requirements.txt has wheels for Python {lo} to {hi} "
            f"only: run tasks.py with one of those (Windows: py -3.12 tasks.py ...)")  # fmt: skip


def venv_bin(venv: Path, windows: bool = WINDOWS) -> Path:
    """Where a virtualenv keeps its programs: Scripts\\ on Windows, bin/ elsewhere."""
    return venv / ("Scripts" if windows else "bin")


def program(venv: Path, name: str, windows: bool = WINDOWS) -> str:
    """Full path of a program in the virtualenv. Full, because Windows looks a bare name up on the caller's
    PATH, not on the PATH given to the child."""
    return str(venv_bin(venv, windows) / (f"{name}.exe" if windows else name))


def uv_pin(lock_text: str) -> str | None:
    """The `uv==X` requirement of the lock, or None if it pins no uv."""
    found = re.search(r"^(uv==[^\s;]+)", lock_text, flags=re.M)
    return found.group(1) if found else None


def python_runs(venv: Path) -> bool:
    """False when the venv's python is missing or does not start (deleted, or a link to a Python that moved)."""
    try:
        return (
            subprocess.run([program(venv, "python"), "-I", "-c", ""], capture_output=True, check=False).returncode == 0
        )
    except OSError:
        return False


def has_stage_packages(venv: Path, root: Path = ROOT) -> bool:
    """False when the venv's python lacks a package the stages import (stages/__init__.py checks them) or does not
    run at all."""
    try:
        cmd = [program(venv, "python"), "-c", "import stages"]
        return subprocess.run(cmd, cwd=root, capture_output=True, check=False).returncode == 0
    except OSError:
        return False


def needs_install(venv: Path, root: Path = ROOT) -> bool:
    """True when the stamp is missing or older than one of its inputs (make's rule), or the venv's python does
    not run or lacks a package the stages import (make's .venv-broken)."""
    stamp = venv / STAMP
    if not stamp.exists() or not has_stage_packages(venv, root):
        return True
    made = stamp.stat().st_mtime
    return any((root / name).exists() and (root / name).stat().st_mtime > made for name in STAMP_INPUTS)


def uv_install_commands(venv: Path, windows: bool = WINDOWS) -> list[list[str]]:
    """The lock, then the project itself (editable, no deps: the lock has them all), with uv."""
    uv = [program(venv, "uv", windows), "pip", "install", "--python", program(venv, "python", windows), "--quiet"]
    uv.append("--compile-bytecode")  # as the Makefile (see its UV line): .pyc files written once, at install
    return [[*uv, "-r", LOCK], [*uv, *EDITABLE]]


def pip_install_commands(venv: Path, windows: bool = WINDOWS) -> list[list[str]]:
    pip = [program(venv, "python", windows), *PIP_INSTALL]
    return [[*pip, "-r", LOCK], [*pip, *EDITABLE]]


def venv_command(venv: Path, python: str = sys.executable) -> list[str]:
    """--clear: a venv whose python does not run is made again, not left as it is."""
    return [python, "-m", "venv", "--clear", str(venv)]


def uv_bootstrap_command(venv: Path, pin: str, windows: bool = WINDOWS) -> list[str]:
    return [program(venv, "python", windows), *PIP_INSTALL, pin]


def task_command(task: str, venv: Path, args: Sequence[str], windows: bool = WINDOWS) -> list[str]:
    """What a task runs after the set-up (the Makefile's recipe of the same name)."""
    if task == "run":
        return [program(venv, "dvc", windows), "repro", *args]
    if task == "test":
        return [program(venv, "python", windows), "-m", "pytest", *args]
    if task == "lock":
        return [program(venv, "uv", windows), *LOCK_COMPILE, *args, "-o", LOCK]
    if task == "reset":
        return [program(venv, "python", windows), "-m", "tools.reset", *args]
    if task == "notebook":
        return [program(venv, "python", windows), "-m", "tools.notebook", *args]
    raise ValueError(task)


def notebook_lock_command(venv: Path, args: Sequence[str], windows: bool = WINDOWS) -> list[str]:
    """make lock's second line: JupyterLab's lock, the notebook extra on top of requirements.txt's pins."""
    compile_all = [*LOCK_COMPILE[:5], "--extra", "notebook", *LOCK_COMPILE[5:]]
    return [program(venv, "uv", windows), *compile_all, "-c", LOCK, *args, "-o", NOTEBOOK_LOCK]


def kernel_problem(venv: Path) -> str | None:
    """Why the .venv cannot run the notebooks' kernel (a Python that is gone, packages missing), or None."""
    check = [program(venv, "python"), "-c", "import ipykernel, penguins"]
    try:
        ok = subprocess.run(check, cwd=ROOT, capture_output=True, check=False).returncode == 0
    except OSError:
        ok = False
    if ok:
        return None
    return (f"{venv} cannot run the notebooks' kernel (its Python or packages are missing or broken); "
            f"delete {venv} and run `python tasks.py install`")  # fmt: skip


NEXT_STEPS = """\
What to look at next:
  {report:<32} every plot, metric and param in one offline page: reports/index.html
  dvc exp run -S train.epochs=50   an experiment: train and the stages after it run again
  {exp_show:<32} your experiments side by side
  ({venv_note}: {activate})"""
# DVC ends every `dvc repro` that ran a stage with "Use `dvc push` to send your updates to remote storage."
# (dvc/commands/repro.py, unconditional); without a remote that command fails, so say so after it.
NO_REMOTE = ("No DVC remote is configured, so `dvc push` has nowhere to send to; nothing here needs one\n"
             "(docs/sharing.md sets one up, to share data, models and finished runs).")  # fmt: skip


def next_steps(has_remote: bool, windows: bool = WINDOWS) -> str:
    """The lines `make run` and `python tasks.py run` end with (on Windows, where make is rare, without make)."""
    if windows:
        steps = {"report": "python -m tools.report", "exp_show": "python -m tools.exp_show",
                 "venv_note": "these run in .venv", "activate": r".venv\Scripts\Activate.ps1"}  # fmt: skip
    else:
        steps = {"report": "make report", "exp_show": "make exp-show",
                 "venv_note": "dvc and penguins-predict are in .venv",
                 "activate": "source .venv/bin/activate"}  # fmt: skip
    text = NEXT_STEPS.format(**steps)
    return text if has_remote else f"{text}\n{NO_REMOTE}"


def has_default_remote(dvc: str, repo: Path = ROOT) -> bool:
    """True when DVC has a default remote (`dvc remote default` names one, from any config level)."""
    try:
        proc = subprocess.run([dvc, "remote", "default"], cwd=repo, capture_output=True, text=True, check=False)
    except OSError:
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip())


def show(cmd: Sequence[str]) -> str:
    return subprocess.list2cmdline(cmd) if WINDOWS else shlex.join(cmd)


class Runner:
    """Runs (or, dry, only prints) commands from the repository root with the virtualenv first on PATH."""

    def __init__(self, venv: Path, dry_run: bool) -> None:
        self.venv, self.dry_run = venv, dry_run
        # As the Makefile: dvc.yaml's `python -m stages.X` must find the venv's Python first.
        self.env = {**os.environ, "PATH": f"{venv_bin(venv)}{os.pathsep}{os.environ.get('PATH', '')}",
                    "PIP_DISABLE_PIP_VERSION_CHECK": "1"}  # fmt: skip

    def __call__(self, cmd: Sequence[str], check: bool = True) -> int:
        print(show(cmd), flush=True)
        if self.dry_run:
            return 0
        try:
            code = subprocess.run(list(cmd), cwd=ROOT, env=self.env, check=False).returncode
        except OSError as exc:
            raise TaskError(f"cannot run {cmd[0]}: {exc.strerror or exc}") from None
        if check and code != 0:
            raise TaskError(f"'{show(cmd)}' exited with status {code} (its output is above)")
        return code


def install(run: Runner, installer: str, force: bool = False) -> None:
    """make install: create the venv if missing, then install the lock and the project when the stamp is stale."""
    venv = run.venv
    if not (force or needs_install(venv)):
        return
    if not python_runs(venv):
        if venv.exists():
            print(f"tasks.py: {venv}'s python does not run: making {venv} again", file=sys.stderr)
        run(venv_command(venv))
    pin = uv_pin((ROOT / LOCK).read_text(encoding="utf-8"))
    use_uv = installer == "uv" and pin is not None and run(uv_bootstrap_command(venv, pin), check=False) == 0
    if installer == "uv" and not use_uv:
        print(f"tasks.py: could not install {pin or 'uv (no uv== pin in requirements.txt)'} with pip: "
              "installing with pip (slower)", file=sys.stderr)  # fmt: skip
    for cmd in uv_install_commands(venv) if use_uv else pip_install_commands(venv):
        run(cmd)
    if not run.dry_run:
        (venv / STAMP).touch()


def plots_page(run: Runner, force: bool = False) -> None:
    """make install's .dvc/plots_page.html: DVC's plots page with Vega inlined (tools/plots_page.py)."""
    page = ROOT / ".dvc/plots_page.html"
    if force or not page.exists() or page.stat().st_mtime < (run.venv / STAMP).stat().st_mtime:
        run([program(run.venv, "python"), "-m", "tools.plots_page"])


def ensure_uv(run: Runner) -> None:
    """make lock's first line: a venv with uv in it, without installing the whole lock."""
    if Path(program(run.venv, "uv")).exists():
        return
    if not python_runs(run.venv):
        run(venv_command(run.venv))
    pin = uv_pin((ROOT / LOCK).read_text(encoding="utf-8"))
    if pin is None:
        raise TaskError(f"{LOCK} pins no uv==VERSION; add it to pyproject.toml's dev extras and lock once by hand")
    run(uv_bootstrap_command(run.venv, pin))


TASKS = ("run", "test", "install", "lock", "reset", "notebook", "next-steps")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """tasks.py's options come before the task; everything after it goes to dvc, pytest or uv unchanged."""
    split = next((i + 1 for i, arg in enumerate(argv) if arg in TASKS), len(argv))
    parser = argparse.ArgumentParser(
        prog="tasks.py",
        usage="%(prog)s [--venv DIR] [--installer {uv,pip}] [--dry-run] {" + ",".join(TASKS) + "} [ARGS...]",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("task", choices=TASKS)
    parser.add_argument("--venv", type=Path, default=Path(os.environ.get("VENV", ".venv")),
                        help="the virtualenv (default: .venv, or $VENV)")  # fmt: skip
    parser.add_argument("--installer", choices=("uv", "pip"), default=os.environ.get("INSTALLER", "uv"),
                        help="uv (default; pip if uv cannot be installed) or pip alone")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="print the commands (as for a fresh .venv); run none")
    args = parser.parse_args(argv[:split])
    rest = list(argv[split:])
    args.args = rest[1:] if rest[:1] == ["--"] else rest
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    venv = (args.venv if args.venv.is_absolute() else ROOT / args.venv).absolute()
    run = Runner(venv, args.dry_run)
    if args.task == "next-steps":  # make run's last lines; its dvc is the one on PATH (the venv's, from make)
        print(next_steps(has_default_remote(shutil.which("dvc") or program(venv, "dvc"))))
        return 0
    try:
        if not Path(program(venv, "python")).exists() and (reason := python_error(sys.version_info)):
            raise TaskError(reason)
        if args.task == "lock":
            ensure_uv(run)
            return run(task_command("lock", venv, args.args)) or run(notebook_lock_command(venv, args.args))
        install(run, args.installer, force=args.dry_run)
        plots_page(run, force=args.dry_run)
        if args.task == "install":
            return 0
        if args.task == "notebook" and not args.dry_run and (problem := kernel_problem(venv)):
            raise TaskError(problem)
        # run, as the Makefile: params.yaml checked first, since DVC reads it (aliases, a list) before any stage runs
        checked = (
            run([program(venv, "python"), "-m", "stages.validate_params", "--check"], check=False)
            if args.task == "run"
            else 0
        )
        code = checked or run(task_command(args.task, venv, args.args), check=False)
        if args.task == "run" and code == 0 and not args.dry_run:
            print(next_steps(has_default_remote(program(venv, "dvc"))), flush=True)
        if args.task == "test" and code == 5:
            print("tasks.py test: pytest collected no tests (exit 5): treated as a failure", file=sys.stderr)
        return code
    except TaskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
