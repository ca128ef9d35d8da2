"""make notebook / python tasks.py notebook (tools/notebook.py): the command JupyterLab gets, a broken .venv in
one line, the same commands from make and tasks.py, and JupyterLab's lock in step with requirements.txt."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import tasks
from tests.conftest import ROOT
from tests.unit.test_tasks import NEEDS_MAKE, commands, make_dry_run, tasks_dry_run
from tools import notebook
from tools.checks import notebooks as check

BROKEN = "cannot run the notebooks' kernel (its Python or packages are missing or broken)"


def test_jupyterlab_listens_locally_offline_without_a_browser() -> None:
    command = notebook.lab_command(8899, ["--ServerApp.log_level=WARN"])
    assert command[1:3] == ["-m", "jupyterlab"] and command[0] == sys.executable  # this .venv, so its kernel
    assert {"--no-browser", "--ServerApp.ip=127.0.0.1", "--ServerApp.port=8899", "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={ROOT}", *notebook.OFFLINE} <= set(command)  # fmt: skip
    assert command[-1] == "--ServerApp.log_level=WARN"
    assert notebook.url(8899, "abc") == "http://127.0.0.1:8899/lab/tree/notebooks/01-lesson.ipynb?token=abc"


def test_a_busy_port_gives_another() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert notebook.free_port(taken) != taken


def test_jupyterlab_is_installed_from_its_lock_with_the_venvs_uv() -> None:
    command = notebook.install_command()
    assert command[-2:] == ["-r", str(ROOT / "requirements-notebook.txt")]
    assert Path(command[0]).name in ("uv", "uv.exe", Path(sys.executable).name)


def test_jupyterlab_is_never_installed_outside_a_virtual_environment() -> None:
    assert notebook.install_refusal("/work/.venv", "/usr") is None
    refusal = notebook.install_refusal("/usr", "/usr")
    assert refusal is not None and "not a virtual environment" in refusal and "nothing was installed" in refusal


def broken_venv(tmp_path: Path) -> Path:
    """A .venv whose Python is gone (the system Python it linked to was upgraded away), stamped as installed."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(tmp_path / "python3.9-removed")
    newest = max(
        (ROOT / name).stat().st_mtime for name in ("requirements.txt", "pyproject.toml", "penguins/__init__.py")
    )
    (venv / ".installed").touch()
    os.utime(venv / ".installed", (newest + 1, newest + 1))
    return venv


@NEEDS_MAKE
def test_make_notebook_checks_the_kernel_in_one_line(tmp_path: Path) -> None:
    """`make install` remakes a .venv whose python does not run (-o here: it is not what is tested); what it leaves
    without the kernel's packages, `make notebook` refuses in one line before starting anything."""
    venv = broken_venv(tmp_path)
    command = ["make", "--no-print-directory", "-o", f"{venv}/.installed", "-o", ".dvc/plots_page.html", "notebook",
               f"VENV={venv}"]  # fmt: skip
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode != 0
    assert proc.stderr.splitlines()[0] == f"make notebook: error: {venv} {BROKEN}; run: make clean-venv install"
    # make's own "make: *** [notebook] Error 1" (make[1] under `make test`) follows: not the recipe's words
    assert len([line for line in proc.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]) == 1, (
        proc.stderr
    )


def test_tasks_notebook_checks_the_kernel_in_one_line(tmp_path: Path) -> None:
    venv = broken_venv(tmp_path)
    problem = tasks.kernel_problem(venv)
    assert problem == f"{venv} {BROKEN}; delete {venv} and run `python tasks.py install`"
    assert tasks.kernel_problem(Path(sys.prefix)) is None  # the .venv running these tests has the kernel


@NEEDS_MAKE
@pytest.mark.parametrize("target", ["notebook", "lock"])
def test_tasks_runs_what_make_runs(target: str, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    bindir = venv / "bin"
    from_make = commands(make_dry_run(target, venv), bindir)
    from_tasks = commands(tasks_dry_run(target, venv, "uv") + tasks_dry_run(target, venv, "pip"), bindir)
    assert from_make and from_tasks == from_make


def pins(text: str) -> dict[tuple[str, str], str]:
    return {(m[1].lower(), m[3].strip()): m[2] for m in re.finditer(r"^([\w.\-\[\]]+)==(\S+)(.*)$", text, flags=re.M)}


def test_the_notebook_lock_keeps_every_pin_of_the_main_lock() -> None:
    """`make notebook` adds JupyterLab to a .venv installed from requirements.txt: it must change no package there."""
    main = pins((ROOT / "requirements.txt").read_text())
    lab = pins((ROOT / "requirements-notebook.txt").read_text())
    by_name = {name: version for (name, _), version in lab.items()}
    assert {name: version for (name, _), version in main.items() if by_name.get(name) != version} == {}
    assert "jupyterlab" in by_name and "jupyterlab" not in {name for name, _ in main}
    assert {"ipykernel", "nbclient"} <= {name for name, _ in main}  # the kernel and the runner of the tests


def test_vscode_recommends_jupyter_and_dvc_and_uses_the_venv() -> None:
    import json

    recommended = json.loads((ROOT / ".vscode/extensions.json").read_text())["recommendations"]
    assert {"ms-python.python", "ms-toolsai.jupyter", "lakeFS.lakefs-dvc"} <= set(recommended)  # DVC's, renamed 2026-01
    settings = json.loads((ROOT / ".vscode/settings.json").read_text())
    assert settings["python.defaultInterpreterPath"] == "${workspaceFolder}/.venv/bin/python"


@pytest.mark.parametrize("port", ["70000", "0", "-1", "eighty"])
def test_a_bad_port_is_refused_before_anything_is_installed(
    port: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("installed or started for a port that cannot be")

    monkeypatch.setattr(notebook, "lab_installed", lambda: False)
    monkeypatch.setattr(notebook.subprocess, "run", never)
    monkeypatch.setattr(notebook.subprocess, "Popen", never)
    with pytest.raises(SystemExit) as ended:
        notebook.run_cli(notebook.main, ["--port", port])
    assert ended.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: argument --port: {port!r} is not a TCP port (1 to 65535) (see --help)"
    ]


@pytest.mark.parametrize(("status", "exit_code"), [(0, None), (1, 1), (2, 1)])
def test_jupyterlabs_exit_status_is_passed_on(
    status: int, exit_code: int | None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """JupyterLab ending on its own: 0 is success, anything else one error line and exit status 1."""
    monkeypatch.setattr(notebook, "lab_installed", lambda: True)
    monkeypatch.setattr(notebook, "wait_until_up", lambda *args: None)
    monkeypatch.setattr(notebook, "lab_command", lambda *args: [sys.executable, "-c", f"raise SystemExit({status})"])
    if exit_code is None:
        notebook.run_cli(notebook.main, ["--port", "8899"], teardown=True)
        return
    with pytest.raises(SystemExit) as ended:
        notebook.run_cli(notebook.main, ["--port", "8899"])
    assert ended.value.code == exit_code
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: JupyterLab exited with status {status} (its output is above)"
    )


def test_saved_notebooks_are_stripped_of_outputs_and_counts() -> None:
    """The pre-save hook JupyterLab gets (the check's own rule), on a notebook model as the contents API sends it."""
    assert "--ContentsManager.pre_save_hook=tools.notebook.strip_on_save" in notebook.lab_command(8899)
    cell = nbformat.v4.new_code_cell(
        "1 + 1",
        execution_count=3,
        outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)],
    )
    model = {"type": "notebook", "content": nbformat.v4.new_notebook(cells=[cell])}
    notebook.strip_on_save(model=model, path="notebooks/x.ipynb", contents_manager=None)
    assert model["content"]["cells"][0]["outputs"] == [] and model["content"]["cells"][0]["execution_count"] is None
    text = {"type": "file", "format": "text", "content": "# %%\n1 + 1\n"}
    notebook.strip_on_save(model=dict(text), path="notebooks/x.py", contents_manager=None)  # the paired script


def test_jupytexts_contents_manager_saves_notebooks_stripped(tmp_path: Path) -> None:
    """In-process, the contents manager `make notebook` runs (jupytext's, pairing the .py) with the hook: a notebook
    saved after a run is written without outputs, and its script as jupytext writes it. Needs JupyterLab's server
    (installed by `make notebook`, not by make install)."""
    pytest.importorskip("jupyter_server")
    from jupytext import AsyncTextFileContentsManager  # what jupytext's server extension makes JupyterLab use

    manager = AsyncTextFileContentsManager(root_dir=str(tmp_path), pre_save_hook="tools.notebook.strip_on_save")

    for suffix in (".ipynb", ".py"):
        shutil.copy2(ROOT / "notebooks" / f"01-lesson{suffix}", tmp_path / f"01-lesson{suffix}")
    script = (tmp_path / "01-lesson.py").read_text()
    ran = nbformat.read(tmp_path / "01-lesson.ipynb", as_version=4)
    ran.cells[1].execution_count = 1
    ran.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="344 rows\n")]
    asyncio.run(manager.save({"type": "notebook", "content": ran}, "01-lesson.ipynb"))
    saved = nbformat.read(tmp_path / "01-lesson.ipynb", as_version=4)
    assert saved.cells[1].outputs == [] and saved.cells[1].execution_count is None
    assert (tmp_path / "01-lesson.py").read_text() == script
    assert check.problems([tmp_path / "01-lesson.ipynb"]) == []
