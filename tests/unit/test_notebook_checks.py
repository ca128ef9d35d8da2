"""tools/checks/notebooks.py (make lint): committed notebooks carry no outputs and match their jupytext scripts;
and tests/helpers/notebooks.py, which runs them in the suite, names the cell that failed and its error."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT
from tests.helpers.notebooks import NotebookCellFailed, execute
from tools.checks import notebooks as check

LESSON = ROOT / "notebooks" / "01-lesson.ipynb"


def copy_pair(tmp_path: Path, name: str = "01-lesson") -> Path:
    for suffix in (".ipynb", ".py"):
        shutil.copy2(ROOT / "notebooks" / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    return tmp_path / f"{name}.ipynb"


def test_the_committed_notebooks_pass() -> None:
    paths = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert len(paths) == 2 and check.problems(paths) == []


def test_outputs_and_counts_are_refused_naming_the_cell(tmp_path: Path) -> None:
    path = copy_pair(tmp_path)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[3].execution_count = 7
    notebook.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="344 rows\n")]
    nbformat.write(notebook, path)
    found = check.problems([path])
    assert found == [f"{path}: cell 4 has outputs committed; {check.FIX}"]


def test_a_script_out_of_step_with_its_notebook_is_refused(tmp_path: Path) -> None:
    path = copy_pair(tmp_path)
    script = path.with_suffix(".py")
    script.write_text(script.read_text().replace("len(penguins), len(cleaned)", "len(cleaned)"))
    assert check.problems([path]) == [
        f"{path}: 01-lesson.py and the notebook differ (one was edited without the other); {check.FIX}"
    ]
    script.unlink()
    assert "no paired script 01-lesson.py" in check.problems([path])[0]


def test_lint_exits_1_with_one_line_per_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = copy_pair(tmp_path)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x\n")]
    nbformat.write(notebook, path)
    with pytest.raises(SystemExit) as ended:
        check.run_cli(check.main, [str(path)])
    assert ended.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: cell 2 has outputs committed; {check.FIX}",
        "error: 1 notebook problem(s) above",
    ]


def test_a_failing_cell_is_named_with_its_error(tmp_path: Path) -> None:
    """A real kernel: the runner stops at the first failing cell and says which and why."""
    (tmp_path / "notebooks").mkdir()
    notebook = nbformat.v4.new_notebook()
    cells = ("x = 1", "# load\nint('forty')", "never = 1")
    notebook.cells = [nbformat.v4.new_markdown_cell("# t"), *map(nbformat.v4.new_code_cell, cells)]
    nbformat.write(notebook, tmp_path / "notebooks" / "t.ipynb")
    with pytest.raises(NotebookCellFailed) as failed:
        execute(tmp_path, "t.ipynb")
    assert str(failed.value) == (
        "t.ipynb: cell 3 ('# load') failed: ValueError: invalid literal for int() with base 10: 'forty'"
    )


def test_a_notebook_that_is_not_json_is_one_line_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A merge left conflict markers in the .ipynb: one problem line, no traceback."""
    path = copy_pair(tmp_path)
    text = path.read_text()
    path.write_text(f"<<<<<<< HEAD\n{text}=======\n{text}>>>>>>> other\n")
    with pytest.raises(SystemExit) as ended:
        check.run_cli(check.main, [str(path)])
    assert ended.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{path}: not a readable notebook (")
    assert lines[0].endswith(f"resolve the merge or `git checkout {path}`")
