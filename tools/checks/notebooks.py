"""notebooks: every notebook in notebooks/ is committed reviewable (make lint runs this).

    python -m tools.checks.notebooks [NOTEBOOK.ipynb ...]     (default: notebooks/*.ipynb)

Each notebook must be
  - stripped: no outputs, no execution counts, no per-run metadata (what nbstripout removes; its own rules), so a
    diff shows code and text, never pictures as base64 or counts that change on every run;
  - paired with its py:percent script (jupytext), which must be exactly what jupytext writes from the notebook:
    the script is what a review reads, the notebook what a learner opens.
`make format` fixes both: jupytext --sync (the newer of the pair wins), ruff on the scripts, nbstripout.
Exits 1 with one line per problem; docs/notebooks.md says why this design.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from penguins.cli import run_cli, stage_parser
from penguins.errors import PipelineError
from penguins.paths import ROOT

NOTEBOOKS = ROOT / "notebooks"
SCRIPT_FORMAT = "py:percent"
FIX = "run `make format` (jupytext --sync, then nbstripout)"


def stripped(notebook: dict) -> Any:
    """``notebook`` (nbformat's dict, left as it is) as nbstripout leaves it: no outputs, counts or per-run metadata,
    cell ids numbered. The rule of this check, of `make format`, and of saving in `make notebook`'s JupyterLab."""
    import nbformat
    from nbstripout import strip_output

    return strip_output(nbformat.from_dict(copy.deepcopy(notebook)), keep_output=False, keep_count=False, keep_id=False)


def output_problem(notebook: dict, name: str) -> str | None:
    """Why ``notebook`` (nbformat's dict) is not as nbstripout leaves it, or None: the first cell with outputs or an
    execution count, else "metadata"."""
    expected = stripped(notebook)
    if expected == notebook:
        return None
    for number, (cell, clean) in enumerate(zip(notebook["cells"], expected["cells"], strict=True), start=1):
        if cell != clean:
            what = (
                "outputs"
                if cell.get("outputs")
                else "an execution count"
                if cell.get("execution_count")
                else "metadata"
            )
            return f"{name}: cell {number} has {what} committed; {FIX}"
    return f"{name}: its notebook metadata has per-run entries; {FIX}"


def pairing_problem(notebook: dict, script: Path, name: str) -> str | None:
    """Why ``script`` is not what jupytext writes from ``notebook``, or None."""
    import jupytext

    if not script.is_file():
        return f"{name}: no paired script {script.name} (jupytext formats ipynb,{SCRIPT_FORMAT}); {FIX}"
    expected = jupytext.writes(jupytext.reads(jupytext.writes(notebook, "ipynb"), "ipynb"), SCRIPT_FORMAT)
    if script.read_text(encoding="utf-8") != expected:
        return f"{name}: {script.name} and the notebook differ (one was edited without the other); {FIX}"
    return None


def problems(paths: Sequence[Path]) -> list[str]:
    """Every problem of the notebooks ``paths``, one line each; a script without its notebook is one too."""
    import nbformat

    found = []
    for path in paths:
        name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        try:
            notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        except (nbformat.reader.NotJSONError, ValueError, UnicodeDecodeError) as exc:  # e.g. merge-conflict markers
            why = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            found.append(f"{name}: not a readable notebook ({why}); resolve the merge or `git checkout {name}`")
            continue
        found += filter(
            None, [output_problem(notebook, name), pairing_problem(notebook, path.with_suffix(".py"), name)]
        )
    notebooks = {path.with_suffix("") for path in paths}
    for script in sorted(NOTEBOOKS.glob("*.py")):
        if script.with_suffix("") not in notebooks and not script.with_suffix(".ipynb").exists():
            found.append(
                f"{script.relative_to(ROOT)}: a script without its notebook; `jupytext --sync {script}` makes it"
            )
    return found


def main(argv: Sequence[str] | None = None) -> None:
    parser = stage_parser(__doc__, prog="python -m tools.checks.notebooks")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    args = parser.parse_args(argv)
    paths = [path.resolve() for path in args.notebooks] or sorted(NOTEBOOKS.glob("*.ipynb"))
    found = problems(paths)
    if found:
        print("\n".join(found), file=sys.stderr)
        raise PipelineError(f"{len(found)} notebook problem(s) above")
    print(f"{len(paths)} notebooks stripped and paired with their scripts")


if __name__ == "__main__":
    run_cli(main)
