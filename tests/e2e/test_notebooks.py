"""Every notebook in notebooks/ run top to bottom by a real Jupyter kernel in a clone where the pipeline ran:
the lesson reaches the pipeline's own result, the experiments are DVC's, and nothing else changes."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from penguins.io import file_md5
from tests.conftest import MAKE, ROOT, dvc, edit_params, run
from tests.helpers.notebooks import NotebookCellFailed, execute, images, outputs
from tools.notebook import free_port
from tools.repo.clones import clone_worktree

pytestmark = pytest.mark.e2e

NOTEBOOKS = sorted(path.name for path in (ROOT / "notebooks").glob("*.ipynb"))
LESSON, EXPERIMENTS = "01-lesson.ipynb", "02-experiments.ipynb"


def test_every_notebook_is_tested() -> None:
    assert NOTEBOOKS == [LESSON, EXPERIMENTS], "a new notebook needs a test of what it shows here"


def unchanged(repo: Path) -> None:
    """What a notebook run may leave: nothing git or DVC tracks (its own files are in git-ignored scratch/)."""
    assert run(["git", "status", "--porcelain"], cwd=repo).stdout == ""
    assert "up to date" in dvc("status", cwd=repo).stdout


def test_lesson_notebook_trains_the_pipelines_model(pipeline_copy: Path) -> None:
    executed = execute(pipeline_copy, LESSON)
    scratch = pipeline_copy / "notebooks" / "scratch"
    # The pipeline's own outputs in this clone (made by `make run`), not only what dvc.lock says.
    assert file_md5(scratch / "model.keras") == file_md5(pipeline_copy / "models/model.keras")
    last = outputs(executed.notebook.cells[-1])
    assert "the model's md5 equals dvc.lock's: True; the scores equal metrics/metrics.json: True" in last, last
    assert "69 of 69 test penguins correct" in last, last
    assert images(executed.notebook) == 3  # the pairplot, the training curves, the confusion heatmap
    unchanged(pipeline_copy)
    print(f"{LESSON}: {executed.wall_s:.1f} s")


def test_experiments_notebook_records_dvc_experiments(pipeline_copy: Path) -> None:
    lock = (pipeline_copy / "dvc.lock").read_bytes()
    executed = execute(pipeline_copy, EXPERIMENTS)
    found = {}
    for baseline in json.loads(dvc("exp", "show", "--json", cwd=pipeline_copy).stdout):
        for exp in baseline.get("experiments") or []:
            data = exp["revs"][0]["data"]
            found[exp["name"]] = (
                data["params"]["params.yaml"]["data"]["train"],
                data["metrics"]["metrics/metrics.json"]["data"],
                data["metrics"]["dvclive/metrics.json"]["data"],
            )
    assert set(found) == {"nb-lr-0.01", "nb-lr-0.001"}, found
    for params, metrics, live in found.values():
        assert params["epochs"] == 20 and {"accuracy", "f1_macro", "loss"} <= set(metrics)
        assert live["step"] == 19 and "accuracy" in live["eval"]  # DVCLive's 20 epochs, counted from 0
    best = max(found, key=lambda name: found[name][2]["eval"]["accuracy"])
    chosen = next(cell for cell in executed.notebook.cells if "idxmax" in cell.source)
    assert f"best by validation accuracy: {best} " in outputs(chosen)
    assert images(executed.notebook) == 1  # the validation curves, once
    assert (pipeline_copy / "dvc.lock").read_bytes() == lock  # --temp: the workspace is untouched
    unchanged(pipeline_copy)
    print(f"{EXPERIMENTS}: {executed.wall_s:.1f} s")


def test_bad_params_is_one_line_in_the_cell(tmp_path: Path) -> None:
    repo = clone_worktree(tmp_path)  # a fresh clone: the first code cell reads params.yaml, before any data
    edit_params(repo, train__epochs=0)
    with pytest.raises(NotebookCellFailed) as failed:
        execute(repo, LESSON)
    assert failed.value.number == 2 and "load_params()" in failed.value.cell.source
    assert failed.value.ename == "PipelineError"  # the cell failed, so "Run all" stopped there
    assert outputs(failed.value.cell) == "error: params.yaml: train.epochs must be greater than or equal to 1, got 0\n"
    assert [out.output_type for out in failed.value.cell.outputs] == ["stream"]  # no traceback


def lines_of(proc: subprocess.Popen) -> queue.Queue[str]:
    """The process's output, line by line, readable with a timeout."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    return lines


def interruptible(command: list[str], cwd: Path) -> subprocess.Popen:
    """``command`` in a session of its own, stopped by SIGINT as by Ctrl-C in a terminal: a test run started in the
    background (`pytest ... &`) ignores SIGINT, which its children would inherit (the server outlived the SIGINT)."""
    interrupt = signal.getsignal(signal.SIGINT)
    if interrupt == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # reset to the default in the child by exec
    try:
        return subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, interrupt)


def git_status_after_saving_a_run(api: str, token: str, repo: Path) -> str:
    """Save the lesson notebook with an output and a count through JupyterLab's contents API, as autosave does."""
    ran = json.loads((repo / "notebooks" / "01-lesson.ipynb").read_text())
    for cell in ran["cells"]:  # sources as JupyterLab sends them: one string each, not the file's lines
        cell["source"] = "".join(cell["source"])
    ran["cells"][1].update(execution_count=1, outputs=[{"output_type": "stream", "name": "stdout", "text": "x"}])
    body = json.dumps({"type": "notebook", "content": ran}).encode()
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    put = urllib.request.Request(f"{api}/contents/notebooks/01-lesson.ipynb", data=body, method="PUT", headers=headers)  # noqa: S310
    urllib.request.urlopen(put, timeout=30).close()  # noqa: S310 (http://127.0.0.1)
    status = ["git", "status", "--porcelain", "notebooks"]
    return subprocess.run(status, cwd=repo, capture_output=True, text=True, check=True).stdout


@pytest.mark.index
def test_make_notebook_prints_the_url_of_jupyterlab_with_the_venv_as_kernel(tmp_path: Path) -> None:
    """On first use `make notebook` downloads JupyterLab from the package index (requirements-notebook.txt) into the
    suite's .venv, hence the index mark; then the URL, the .venv's kernel, and a notebook saved stripped."""
    repo = clone_worktree(tmp_path)
    port = free_port(0)
    started = time.monotonic()
    command = [*MAKE, "-o", ".dvc/plots_page.html", "notebook", f"ARGS=--port {port}"]
    proc = interruptible(command, repo)
    try:
        lines, seen, url, installed_at = lines_of(proc), [], None, None
        while url is None and time.monotonic() - started < 180:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            seen.append(line)
            if "installing JupyterLab (first use)" in line:
                installed_at = time.monotonic()  # the first use installs it: the 15 s count after that
            if found := re.search(r"open (http://127\.0\.0\.1:\d+/\S+)", line):
                url = found.group(1)
        assert url, "".join(seen)
        took = time.monotonic() - started
        assert installed_at is not None or took < 15, f"the URL came after {took:.1f} s"
        assert url.startswith(f"http://127.0.0.1:{port}/lab/tree/notebooks/01-lesson.ipynb?token=")
        token = url.split("token=")[1]
        api = f"http://127.0.0.1:{port}/api"

        def get(path: str) -> dict:
            headers = {"Authorization": f"token {token}"}
            request = urllib.request.Request(f"{api}/{path}", headers=headers)  # noqa: S310 (http://127.0.0.1)
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return json.load(response)

        specs = get("kernelspecs")
        kernel = specs["kernelspecs"][specs["default"]]["spec"]
        assert kernel["argv"][:3] == ["python", "-m", "ipykernel_launcher"]  # "python": the server's own Python
        server = next(p for p in psutil.Process(proc.pid).children(recursive=True) if "jupyterlab" in p.cmdline())
        assert server.cmdline()[0] == str(Path(sys.prefix) / "bin" / "python")  # the .venv
        listed = {item["name"] for item in get("contents/notebooks")["content"]}
        assert {"01-lesson.ipynb", "02-experiments.ipynb"} <= listed  # served from the repository
        assert git_status_after_saving_a_run(api, token, repo) == ""  # the pre-save hook stripped it
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        print(f"make notebook: the URL after {took:.1f} s" if url else "make notebook: no URL")
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # the server stopped with it
