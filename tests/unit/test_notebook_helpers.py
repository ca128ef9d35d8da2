"""penguins/notebook.py: PipelineError as one line in IPython, dvc run from the kernel, the experiments table,
what dvc.lock records."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from penguins import notebook
from penguins.dvclock import lock_outputs, read_lock
from penguins.errors import PipelineError
from tests.conftest import ROOT


@pytest.fixture
def shell() -> InteractiveShell:
    shell = InteractiveShell.instance()
    notebook.start(shell)
    yield shell
    shell.set_custom_exc((), None)
    InteractiveShell.clear_instance()


def test_pipeline_error_is_one_line_and_fails_the_cell(shell: InteractiveShell, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    bad = tmp_path / "params.yaml"
    bad.write_text((ROOT / "params.yaml").read_text().replace("epochs: 100", "epochs: 0"))
    result = shell.run_cell(
        f"from penguins.params import load_params\nload_params(__import__('pathlib').Path({str(bad)!r}))"
    )
    assert isinstance(result.error_in_exec, PipelineError)  # the cell fails: "Run all" stops there
    shown = capsys.readouterr()
    assert (shown.out, shown.err) == (
        "",
        "error: params.yaml: train.epochs must be greater than or equal to 1, got 0\n",
    )


def test_other_errors_keep_their_traceback(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_cell("def f():\n    raise ValueError('boom')\nf()")
    shown = capsys.readouterr()
    assert "ValueError" in shown.out + shown.err and "Traceback" in shown.out + shown.err


def test_start_outside_ipython_does_nothing() -> None:
    notebook.start(None)  # a notebook's script run with plain python: no shell, no error


def test_dvc_failure_is_one_line_with_dvcs_own_error(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as failed:
        notebook.dvc("status", cwd=tmp_path)  # the real dvc, outside any DVC repository
    message = str(failed.value)
    assert message.startswith("`dvc status` failed (exit status 25")
    assert "not inside of a DVC repository" in message and "\n" not in message


def test_dvc_runs_with_the_kernels_python_first_on_path() -> None:
    first = notebook.dvc_environment()["PATH"].split(":")[0]
    assert Path(first) == Path(notebook.dvc_program()).parent


ROWS = [
    {"Experiment": None, "rev": "workspace", "typ": "baseline", "Created": None, "accuracy": 1.0, "f1_macro": 1.0,
     "loss": 0.02, "eval.accuracy": 0.98, "eval.loss": 0.04, "train.accuracy": 1.0, "trainable_params": 83.0,
     "train.learning_rate": 0.01, "train.epochs": 100.0, "train.seed": 0.0, "n_test": 69.0},
    {"Experiment": None, "rev": "main", "typ": "baseline", "Created": "06:05 AM", "accuracy": 1.0, "f1_macro": 1.0,
     "loss": 0.02, "eval.accuracy": 0.98, "eval.loss": 0.04, "train.accuracy": 1.0, "trainable_params": 83.0,
     "train.learning_rate": 0.01, "train.epochs": 100.0, "train.seed": 0.0, "n_test": 69.0},
    {"Experiment": "a", "rev": "24aabd6", "typ": "branch_commit", "Created": "06:07 AM", "accuracy": 0.8,
     "f1_macro": 0.6, "loss": 0.5, "eval.accuracy": 0.85, "eval.loss": 0.5, "train.accuracy": 0.8,
     "trainable_params": 83.0, "train.learning_rate": 0.001, "train.epochs": 20.0, "train.seed": 0.0, "n_test": 69.0},
    {"Experiment": "old", "rev": "0f62a88", "typ": "branch_base", "Created": "06:06 AM", "accuracy": 0.9,
     "f1_macro": 0.9, "loss": 0.1, "eval.accuracy": 0.9, "eval.loss": 0.1, "train.accuracy": 0.9,
     "trainable_params": 83.0, "train.learning_rate": 0.01, "train.epochs": 20.0, "train.seed": 1.0, "n_test": 69.0},
]  # fmt: skip


def test_experiments_table_keeps_what_make_exp_show_shows() -> None:
    table = notebook.experiments_table(ROWS, names=["a"])
    assert list(table.index) == ["workspace", "main", "a"]
    assert list(table.columns) == [
        "rev",
        "Created",
        "accuracy",
        "f1_macro",
        "loss",
        "eval.accuracy",
        "trainable_params",
        "train.learning_rate",
        "train.epochs",
    ]  # fmt: skip  (DVCLive's train.accuracy is a metric, not a param; train.seed is the same in the rows shown)
    assert table.loc["a", "eval.accuracy"] == 0.85


def test_locked_md5_reads_dvc_lock() -> None:
    md5 = notebook.locked_md5("models/model.keras")
    assert len(md5) == 32 and md5 in (ROOT / "dvc.lock").read_text()
    with pytest.raises(PipelineError, match=r"no output models/other\.keras"):
        notebook.locked_md5("models/other.keras")


def test_dvc_failure_says_what_the_tools_say(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The notebooks' dvc quotes DVC's error as every tool does (penguins.dvc_output.last_error): a lock held by a
    command that has ended is said as such, not as DVC's advice to delete the lock."""
    fake = tmp_path / "dvc"
    fake.write_text(
        "#!/bin/sh\necho \"ERROR: 'dvc.yaml' is busy, it is being blocked by:\"\n"
        "echo '  (PID 999999999): dvc exp run'\n"
        "echo \"If there are no processes with such PIDs, you can manually remove '.dvc/tmp/rwlock'\"\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr(notebook, "dvc_program", lambda: str(fake))
    with pytest.raises(PipelineError) as failed:
        notebook.dvc("exp", "run", cwd=tmp_path)
    assert str(failed.value) == (
        "`dvc exp run` failed (exit status 1): another DVC command held the workspace (pid 999999999: dvc exp run) "
        "and has ended since: run this again"
    )


def committed_live_dir(repo: Path, eval_loss: str) -> str:
    """A DVC repository whose one commit holds DVCLive's log of 2 epochs, eval/loss.tsv as given; its rev."""
    for args in (["git", "init", "-q"], [notebook.dvc_program(), "init", "-q"]):
        subprocess.run(args, cwd=repo, check=True)
    logs = {"train/loss": "step\tloss\n0\t1.0\n1\t0.5\n", "train/accuracy": "step\taccuracy\n0\t0.4\n1\t0.8\n",
            "eval/loss": eval_loss, "eval/accuracy": "step\taccuracy\n0\t0.3\n1\t0.7\n"}  # fmt: skip
    for name, text in logs.items():
        (repo / "dvclive/plots/metrics" / f"{name}.tsv").parent.mkdir(parents=True, exist_ok=True)
        (repo / "dvclive/plots/metrics" / f"{name}.tsv").write_text(text)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "run"], cwd=repo, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_live_history_reads_an_experiments_log_with_the_figures_stages_checks(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    history = notebook.live_history(committed_live_dir(good, "step\tloss\n0\t0.9\n1\t0.6\n"), repo=good)
    assert history.to_dict("list") == {"epoch": [1, 2], "loss": [0.9, 0.6], "accuracy": [0.3, 0.7]}
    bad = tmp_path / "bad"
    bad.mkdir()
    rev = committed_live_dir(bad, "step\tloss\n0\t0.9\n0\t0.6\n")  # a step twice: two runs' logs mixed
    with pytest.raises(
        PipelineError,
        match=rf"^{rev}: dvclive/plots/metrics/eval/loss\.tsv: line 3: step 0 is missing, not a whole number",
    ):
        notebook.live_history(rev, repo=bad)


def test_locked_md5_is_the_tools_view_of_dvc_lock(tmp_path: Path) -> None:
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\nstages:\n  s:\n    cmd: x\n    outs:\n    - path: out\n")
    with pytest.raises(PipelineError, match=r"^dvc\.lock: no output out; run `dvc repro`"):
        notebook.locked_md5("out", tmp_path)  # an output without an md5 (not a KeyError)
    assert notebook.locked_md5("models/model.keras") == lock_outputs(read_lock(ROOT))["models/model.keras"].md5
