"""Run a notebook of a clone top to bottom with a real Jupyter kernel (nbclient, ipykernel from the lock)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CELL_TIMEOUT_S = 300


class NotebookCellFailed(AssertionError):
    """A cell raised: the message names the notebook, the cell (number and first line) and the error."""

    def __init__(self, notebook: str, number: int, cell: nbformat.NotebookNode, error: CellExecutionError) -> None:
        first = next((line for line in cell.source.splitlines() if line.strip()), "")
        super().__init__(f"{notebook}: cell {number} ({first!r}) failed: {error.ename}: {error.evalue}")
        self.number, self.cell, self.ename, self.evalue = number, cell, error.ename, error.evalue


@dataclass
class Executed:
    notebook: nbformat.NotebookNode
    wall_s: float


def execute(repo: Path, name: str, timeout_s: float = CELL_TIMEOUT_S) -> Executed:
    """Run notebooks/``name`` of ``repo`` cell by cell in a fresh kernel started in notebooks/, as Jupyter does.

    The kernel imports ``repo``'s own penguins (PYTHONPATH): the editable install of the virtualenv running the
    tests maps `penguins` to the checkout the tests come from, not to this clone. The first failing cell raises
    NotebookCellFailed; the executed notebook (outputs up to there) is on the exception's ``cell``."""
    notebook = nbformat.read(repo / "notebooks" / name, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout_s, kernel_name="python3", resources={"metadata": {"path": str(repo / "notebooks")}}
    )
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(repo)}
    with client.setup_kernel(env=env):
        for number, cell in enumerate(notebook.cells, start=1):
            try:
                client.execute_cell(cell, number - 1)
            except CellExecutionError as exc:
                raise NotebookCellFailed(name, number, cell, exc) from None
    return Executed(notebook, time.perf_counter() - started)


def outputs(cell: nbformat.NotebookNode, kind: str = "stream") -> str:
    """The text of a cell's outputs of ``kind`` (stream: stdout and stderr; error: the traceback lines)."""
    if kind == "error":
        return "\n".join(line for out in cell.outputs if out.output_type == "error" for line in out.traceback)
    return "".join(out.text for out in cell.outputs if out.output_type == kind)


def images(notebook: nbformat.NotebookNode) -> int:
    """How many pictures the notebook shows (PNG outputs)."""
    return sum("image/png" in out.get("data", {}) for cell in notebook.cells for out in cell.get("outputs", []))
