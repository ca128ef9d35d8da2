"""What the notebooks in notebooks/ need beyond the stages' own functions: errors as one line, dvc run from the
kernel, the experiments as a table, DVCLive's curves of an experiment, and what dvc.lock records.

No logic of the pipeline is here: the notebooks call the very functions the stages call (penguins.data,
penguins.modeling, ...); this module only connects them to Jupyter and to DVC (docs/notebooks.md).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from penguins.dvc_output import last_error
from penguins.dvclock import Locked, lock_outputs, read_lock
from penguins.errors import PipelineError
from penguins.history import SERIES, metric_file, read_history
from penguins.io import write_bytes
from penguins.paths import ROOT

# Where the lesson notebook writes what it makes (git-ignored): never the pipeline's outputs, which dvc.lock
# describes, so running a notebook never leaves dvc.lock claiming files it did not produce.
SCRATCH = ROOT / "notebooks" / "scratch"
# The columns `make exp-show` shows (tools/exp_show.py), besides the params that differ.
LIVE_METRICS = ("train.loss", "train.accuracy", "eval.loss", "eval.accuracy")  # DVCLive's, not params
EXP_COLUMNS = ("Experiment", "rev", "Created", "accuracy", "f1_macro", "loss", "eval.accuracy", "trainable_params")


def one_line_error(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> list[str]:
    """IPython's handler for PipelineError: the project's one `error: ...` line on stderr, as the stages print it,
    instead of a traceback through the package (the error names what, where and what to do already). The cell still
    fails (its reply says PipelineError), so "Run all" stops there; no traceback is handed on (an empty one)."""
    print(f"error: {value}", file=sys.stderr, flush=True)
    return []


def start(shell: Any = None) -> None:
    """The first cell of every notebook: a PipelineError shows as one line (the cell still fails, so "Run all" stops
    there), and pictures show in the notebook. ``shell``: the IPython shell (default: the running one)."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:  # plain Python (a script made from the notebook): errors are ordinary tracebacks
        return
    shell.set_custom_exc((PipelineError,), one_line_error)
    # penguins.plotting selects matplotlib's Agg backend (same pixels everywhere); the inline backend, selected
    # first, has registered Jupyter's display of figures, so a cell ending with a figure shows it.
    with contextlib.suppress(NotImplementedError):  # a shell without a display (IPython, not a Jupyter kernel)
        shell.run_line_magic("matplotlib", "inline")


def dvc_program() -> str:
    """The dvc of the kernel's own environment (.venv), whatever the PATH Jupyter was started with."""
    return str(Path(sys.executable).parent / ("dvc.exe" if os.name == "nt" else "dvc"))


def dvc_environment() -> dict[str, str]:
    """The kernel's environment with its own scripts first on PATH, as `make` and tasks.py run dvc: dvc.yaml's
    `python -m stages.X` must be the .venv's Python, not the first one on the PATH Jupyter was started with."""
    scripts = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")])}


def dvc(*args: str, cwd: Path = ROOT) -> str:
    """Run `dvc ARGS...` (a list of arguments, never a shell line), show its output in the cell as it comes, and
    return it. A failure raises PipelineError with dvc's own error line (e.g. a bad -S value)."""
    command = [dvc_program(), *args]
    lines: list[str] = []
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=dvc_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            print(line, end="", flush=True)
    if proc.returncode != 0:  # the line the tools quote too (penguins.dvc_output)
        why = last_error("".join(lines), bare=True, repo=cwd)
        raise PipelineError(f"`dvc {' '.join(args)}` failed (exit status {proc.returncode}): {why}")
    return "".join(lines)


def experiments_table(rows: Sequence[dict[str, Any]], names: Sequence[str] = ()) -> pd.DataFrame:
    """`dvc.api.exp_show()` as `make exp-show` shows it: test accuracy, macro F1 and loss, validation accuracy
    (eval.accuracy, DVCLive's last epoch) and the parameter count, plus the train.* params that differ between
    the rows shown; ``names``: only the baseline and these experiments."""
    table = pd.DataFrame(list(rows))
    if names:
        table = table[(table["typ"] == "baseline") | table["Experiment"].isin(list(names))]
    params = [
        c
        for c in table.columns
        if c.startswith(("train.", "split.", "data.")) and c not in LIVE_METRICS and table[c].nunique() > 1
    ]
    table = table[[c for c in (*EXP_COLUMNS, *params) if c in table.columns]]
    return table.set_index(table["Experiment"].fillna(table["rev"])).drop(columns=["Experiment"])


def live_history(rev: str, split: str = "eval", repo: Path = ROOT) -> pd.DataFrame:
    """An experiment's per-epoch loss and accuracy as DVCLive logged them (``split``: eval for the validation rows,
    train for the training rows), read from its git commit: epoch (1-based), loss, accuracy. Read with
    penguins.history, as the figures stage reads them (the same checks of steps and gaps)."""
    import dvc.api

    with tempfile.TemporaryDirectory() as tmp:
        live_dir = Path(tmp) / "dvclive"
        for name, _ in SERIES:
            path = f"dvclive/plots/metrics/{name}.tsv"
            try:
                text = dvc.api.read(path, repo=str(repo), rev=rev)
            except Exception as exc:  # dvc.api raises several types for "not in that commit"
                if name.startswith(split):
                    raise PipelineError(
                        f"{rev}: no {path} in that experiment ({type(exc).__name__}); did train run?"
                    ) from None
                continue
            write_bytes(metric_file(live_dir, name), text.encode())
        try:
            history = read_history(live_dir)
        except PipelineError as exc:  # name the experiment's files, not this temporary copy of them
            raise PipelineError(str(exc).replace(str(live_dir), f"{rev}: dvclive")) from None
    prefix = "val_" if split == "eval" else ""  # read_history's names: val_loss for DVCLive's eval/loss
    columns = {"epoch": "epoch", f"{prefix}loss": "loss", f"{prefix}accuracy": "accuracy"}
    return history[list(columns)].rename(columns=columns)


def locked_md5(path: str, repo: Path = ROOT) -> str:
    """The md5 dvc.lock records for the output ``path`` (as written in dvc.yaml, e.g. models/model.keras), read with
    the tools' own view of dvc.lock (penguins.dvclock)."""
    md5 = lock_outputs(read_lock(repo)).get(path, Locked("", "", 0)).md5
    if not md5:
        raise PipelineError(f"dvc.lock: no output {path}; run `dvc repro` and commit dvc.lock")
    return md5
