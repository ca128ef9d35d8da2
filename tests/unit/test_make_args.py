"""What a user or CI hands to a make target (REVS, BASE, ARGS, GRID, ...) reaches the tool as the same words,
through the real make and a stand-in venv whose `python` records the words it was given; the target's status
is the tool's; nothing of a value runs as shell code (tools/make_args.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tools import make_args

pytestmark = pytest.mark.skipif(os.name == "nt" or shutil.which("make") is None, reason="runs the Makefile")

MAKEFILE = (ROOT / "Makefile").read_text()
# Names git allows in a branch and `dvc exp run -n` in an experiment, each a shell hazard.
HOSTILE = ["try;date>pwned1", "$(date)", "`date>pwned2`", "a|date>pwned3", "a&&date>pwned4", "x$$y", "it's"]
# A stand-in for the venv's python: tools.make_args runs for real, every other command is recorded.
FAKE_PYTHON = """#!/bin/sh
if [ "$1" = -m ] && [ "$2" = tools.make_args ]; then exec {python} "$@"; fi
{python} -c 'import json, os, sys; open(os.environ["ARGV_LOG"], "a").write(json.dumps(sys.argv[1:]) + "\\n")' "$@"
exit "${{FAKE_STATUS:-0}}"
"""
# Variables the recipes use that no user sets, or that the Makefile checks itself (VENV, PYTHON, INSTALLER).
INTERNAL = {"BIN", "VENV", "PYTHON", "INSTALLER", "UV", "PIP", "UV_PIN", "SELF", "HELP_GROUPS", "BROWSERS", "RUN",
            "SWEEP_ARGS", "PYTHON_OK", "CURDIR", "MAKE", "NOTEBOOKS"}  # fmt: skip


@pytest.fixture
def fake_venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for name in ("python", "uv"):
        script = venv / "bin" / name
        script.write_text(FAKE_PYTHON.format(python=sys.executable))
        script.chmod(0o755)
    return venv


def make(venv: Path, target: str, *assignments: str, status: int = 0, **env: str) -> tuple[int, list[list[str]], str]:
    """Run the real make (the install skipped) in a scratch copy of the Makefile's directory; returns its
    status, the argv of every recorded command, and stderr."""
    log = venv.parent / "argv.log"
    log.unlink(missing_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MAKE") and k not in make_args.VARIABLES}
    cmd = ["make", "--no-print-directory", "-s", "-o", f"{venv}/.installed", "-o", ".dvc/plots_page.html",
           target, f"VENV={venv}", *assignments]  # fmt: skip
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, check=False,
        env={**clean, **env, "ARGV_LOG": str(log), "FAKE_STATUS": str(status), "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    recorded = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return proc.returncode, recorded, proc.stderr


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_revision_reaches_the_report_as_one_word(fake_venv: Path, name: str) -> None:
    status, recorded, stderr = make(fake_venv, "report", f"REVS=main {name}")
    assert status == 0, stderr
    assert recorded == [["-m", "tools.report", "main", name]]
    assert not list(ROOT.glob("pwned*"))


@pytest.mark.parametrize(
    ("target", "assignments", "expected"),
    [
        ("check-repro", ["BASE=origin/a;date>pwned1"], ["-m", "tools.check_repro", "--base", "origin/a;date>pwned1"]),
        ("check-repro", ["BASE="], ["-m", "tools.check_repro"]),
        ("exp-show", ["ARGS=--no-such-option;date>pwned3 -k 'a b' $(date)"],
         ["-m", "tools.exp_show", "--no-such-option;date>pwned3", "-k", "a b", "$(date)"]),
        ("reset", ["ARGS=--x`date`"], ["-m", "tools.reset", "--x`date`"]),
        ("test", ["PYTEST_ARGS=-m 'not e2e' -k $(x)|y"], ["-m", "pytest", "-m", "not e2e", "-k", "$(x)|y"]),
        ("sweep-plan", ["GRID=train.seed=range(5) x='$(date)'", "SWEEP=s;date", "SHARDS=2", "ARGS=--json"],
         ["-m", "tools.sweep", "plan", "-S", "train.seed=range(5)", "-S", "x='$(date)'", "--name", "s;date",
          "--shards", "2", "--json"]),
        ("sweep-worker", ["GRID=a=1", "SHARD=0/2;date", "JOBS=`date`"],
         ["-m", "tools.sweep", "worker", "-S", "a=1", "--name", "sweep", "--shard", "0/2;date", "-j", "`date`"]),
        ("sweep-collect", ["ARGS=--over 'a b'"], ["-m", "tools.sweep", "collect", "--name", "sweep", "--over", "a b"]),
        ("bench-scale", ["ROWS=10 $(x)"], ["-m", "tools.benchmarks.scale", "--rows", "10", "$(x)"]),
        ("bench-experiment", ["ARGS=--compare a;b"], ["-m", "tools.benchmarks.experiment", "--compare", "a;b"]),
        ("push", ["ARGS=-r $(x)"], ["-m", "tools.remote", "push", "--run-cache", "-r", "$(x)"]),
        ("pull", ["ARGS=-r a>b"], ["-m", "tools.remote", "pull", "--run-cache", "-r", "a>b"]),
        ("lock", ["LOCK_ARGS=--upgrade-package $(x)"],  # two commands: the main lock, then the notebook one
         [["pip", "compile", "pyproject.toml", "--extra", "dev", "--universal", "--python-version", "3.11", "--quiet",
           "--custom-compile-command", "make lock", "--upgrade-package", "$(x)", "-o", "requirements.txt"],
          ["pip", "compile", "pyproject.toml", "--extra", "dev", "--extra", "notebook", "--universal",
           "--python-version", "3.11", "--quiet", "--custom-compile-command", "make lock", "-c", "requirements.txt",
           "--upgrade-package", "$(x)", "-o", "requirements-notebook.txt"]]),
    ],
)  # fmt: skip
def test_every_target_passes_its_variables_as_the_same_words(
    fake_venv: Path, target: str, assignments: list[str], expected: list[str]
) -> None:
    status, recorded, stderr = make(fake_venv, target, *assignments)
    assert status == 0, stderr
    assert recorded == (expected if isinstance(expected[0], list) else [expected])
    assert not list(ROOT.glob("pwned*"))


def test_a_value_from_the_environment_is_not_expanded_either(fake_venv: Path) -> None:
    """CI passes BASE from a base branch's name: `make check-repro BASE="${BASE_REF:+origin/$BASE_REF}"`."""
    status, recorded, stderr = make(fake_venv, "check-repro", BASE="origin/$(date)")
    assert status == 0, stderr
    assert recorded == [["-m", "tools.check_repro", "--base", "origin/$(date)"]]


@pytest.mark.parametrize("target", ["report", "check-repro", "exp-show", "sweep-plan", "test"])
def test_the_target_fails_when_the_tool_fails(fake_venv: Path, target: str) -> None:
    status, recorded, _ = make(fake_venv, target, "ARGS=x;true", "REVS=x;true", status=3)
    assert recorded, "the tool did not run"
    assert status != 0


def test_an_unsplittable_value_is_refused_in_one_line(fake_venv: Path) -> None:
    status, recorded, stderr = make(fake_venv, "exp-show", "ARGS=-k 'unclosed")
    assert status != 0
    assert recorded == []
    lines = stderr.strip().splitlines()
    assert lines[0].startswith("make: error: ARGS=") and "quote" in lines[0], stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("VENV", "v$(date)"), ("VENV", 'v";date;"'), ("PYTHON", "py`date`"), ("PYTHON", "x';date>pwned;'")],
)
def test_a_path_make_pastes_into_recipes_is_refused_when_unsafe(name: str, value: str) -> None:
    cmd = ["make", "-n", "help", f"{name}={value}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert f"{name}=" in proc.stderr and "cannot pass on safely" in proc.stderr


@pytest.mark.parametrize("name", ["VENV", "PYTHON", "INSTALLER"])
@pytest.mark.parametrize("given", ["command line", "environment"])
def test_an_unsafe_path_is_refused_before_make_expands_it(tmp_path: Path, name: str, given: str) -> None:
    """Refused before anything (BIN := ...$(VENV)...) expands it: make's own $(shell ...) never runs."""
    marker = tmp_path / "pwned"
    value = f"$(shell touch {marker}).venv"
    env = {**os.environ, name: value} if given == "environment" else None
    cmd = ["make", "-n", "help", *([f"{name}={value}"] if given == "command line" else [])]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    assert proc.returncode != 0
    assert f"{name}=" in proc.stderr and "cannot pass on safely" in proc.stderr
    assert not marker.exists(), f"make ran the $(shell ...) in {name}"


def test_every_user_variable_goes_through_make_args() -> None:
    """The class, not the examples: a recipe may use a variable with $(...) only if no user sets it."""
    raw = set(re.search(r"^RAW_VARS := (.*)$", MAKEFILE, flags=re.M).group(1).split())
    assert set(make_args.VARIABLES) <= raw
    recipes = "\n".join(line for line in MAKEFILE.splitlines() if line.startswith("\t"))
    pasted = set(re.findall(r"\$\(([A-Z_]+)\)", recipes)) - INTERNAL
    assert not pasted, f"recipes paste these into the shell: {pasted}"
    defaults = set(re.findall(r"^([A-Z_]+) *\?=", MAKEFILE, flags=re.M)) - {"VENV", "PYTHON", "INSTALLER"}
    assert defaults <= raw
    documented = set(re.findall(r"\b([A-Z_]+)=", " ".join(re.findall(r"## (.*)$", MAKEFILE, flags=re.M))))
    assert documented - {"INSTALLER"} <= raw


def test_expand_keeps_words_and_refuses_an_open_quote() -> None:
    env = {"GRID": "a=1 b='x y", "REVS": "it's $(x)", "ARGS": "-k 'a b'"}
    assert make_args.expand(["t", "@GRID", "@REVS", "@ARGS", "@OTHER", "@BASE"], env) == [
        "t", "-S", "a=1", "-S", "b='x", "-S", "y", "it's", "$(x)", "-k", "a b", "@OTHER"
    ]  # fmt: skip
    with pytest.raises(make_args.MakeArgsError, match="ARGS="):
        make_args.expand(["@ARGS"], {"ARGS": "'open"})
