"""report: the result, then every plot, metric and param of the workspace (and chosen revisions), in one HTML file.

It opens with the answer: how many test penguins each revision classifies correctly, the recall per species
and the confusion matrix. Then each plot once (matplotlib's PNG twins of the Vega charts are not repeated),
then the metrics and params tables. One self-contained file: the Vega-Lite plots drawn here by vl-convert
(offline, with its own fonts), every picture embedded as a data: URI; its Content-Security-Policy forbids
the browser to fetch anything. An image plot that is identical in several revisions is shown once.
(`dvc plots show` also works offline in a clone after `make install`: tools/plots_page.py.)

Usage:  python -m tools.report [REV ...] [-o FILE|DIR]     or     make report REVS="REV ..."
  REV   git revisions or experiment names to show beside the workspace (e.g. main exp-a): plots as in
        `dvc plots diff workspace REV ...`, metrics and params side by side, differing rows marked.
Output: reports/index.html (git-ignored build product; -o DIR writes DIR/index.html). The page comes from
        tools/templates/report.html.j2. It shows the workspace as it is: `dvc repro` first.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from penguins.cli import run_cli, stage_parser
from penguins.errors import PipelineError
from penguins.io import output_problem, write_bytes
from penguins.paths import ROOT, resolve
from tools.repo import internals
from tools.repo.output import last_error
from tools.repo.pipeline import flatten
from tools.repo.run import dvc
from tools.report.page import Values, class_bound_note, headlines, report_html
from tools.report.pictures import NOT_REPEATED, WORKSPACE, render_plots

REPORT = Path("reports/index.html")


# --------------------------------------------------------------------------------------------
# Collecting: dvc plots (CLI JSON), metrics and params (DVC's Python API)
# --------------------------------------------------------------------------------------------


def dvc_json(*args: str, quiet_args: Sequence[str] = ()) -> Any:
    """Run `dvc ARGS --json QUIET_ARGS` at the repository root and parse what it prints (errors name ARGS)."""
    proc = dvc(*args, "--json", *quiet_args, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise PipelineError(
            f"`dvc {' '.join(args)}` failed: {last_error(proc.stderr + proc.stdout, bare=True, repo=ROOT)}"
        )
    return json.loads(proc.stdout)


def stale_stages() -> list[str]:
    """Stages whose outputs do not match dvc.lock (`dvc status`): the workspace plots may be outdated."""
    return sorted(name.split(":")[-1] for name in dvc_json("status"))


def revisions(revs: Sequence[str]) -> list[str]:
    """The workspace first, then each requested revision once."""
    return list(dict.fromkeys([WORKSPACE, *revs]))


def collect_plots(revs: Sequence[str], image_dir: Path) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """`dvc plots show` (workspace only) or `dvc plots diff` (with revs) as JSON: plots and error lines.

    Without --split DVC fills the Vega-Lite specs with the data; image plots are written to image_dir."""
    shown_revs = revisions(revs)
    command = ["plots", "diff", *shown_revs] if len(shown_revs) > 1 else ["plots", "show"]
    shown = dvc_json(*command, quiet_args=["-o", str(image_dir)])
    errors = [
        ": ".join(str(e[key]) for key in ("rev", "name", "source", "msg") if e.get(key))
        for e in shown.get("errors", [])
    ]
    return shown.get("data", {}), errors


def collect_values(revs: Sequence[str]) -> tuple[Values, Values, list[str]]:
    """Metrics and params per file and revision, keys flattened ('per_class.Adelie.f1'), and error lines.

    DVC's repo API returns what `dvc metrics show --json` prints, but for any list of revisions."""
    shown_revs = revisions(revs)
    tables: dict[str, Values] = {"metrics": {}, "params": {}}
    errors: list[str] = []
    for kind, raw in internals.metrics_and_params(ROOT, shown_revs).items():
        for rev in shown_revs:
            result = raw.get(rev, {})
            if "error" in result:
                errors.append(f"{rev}: {kind}: {result['error']}")
            for path, content in result.get("data", {}).items():
                if "error" in content:
                    errors.append(f"{rev}: {path}: {content['error']}")
                tables[kind].setdefault(path, {})[rev] = flatten(content.get("data", {}))
    return tables["metrics"], tables["params"], errors


def build_report(revs: Sequence[str]) -> tuple[str, int, list[str], list[str]]:
    """The report's HTML for the workspace and ``revs``, the number of plots, DVC's problems and the report's
    own warnings (classes left out)."""
    with tempfile.TemporaryDirectory(prefix="report-images-") as image_dir:
        shown, problems = collect_plots(revs, Path(image_dir))
        plots = render_plots(shown, revisions(revs))
        results = headlines(shown, revisions(revs))
    if not plots:
        raise PipelineError("dvc found no plots to show; run `dvc repro` (or `make run`) first")
    metrics, params, value_problems = collect_values(revs)
    stale = stale_stages()
    if stale:
        problems.insert(
            0,
            f"{WORKSPACE}: not reproduced, `dvc status` lists {', '.join(stale)}; run `dvc repro` for up-to-date plots",
        )
    problems += value_problems
    not_repeated = {name: twin for name, twin in NOT_REPEATED.items() if name in shown}
    page = report_html(revisions(revs), plots, metrics, params, problems, results, not_repeated)
    return page, len(plots), problems, [note] if (note := class_bound_note(results, metrics)) else []


def main(argv: Sequence[str] | None = None) -> None:
    parser = stage_parser(__doc__, prog="python -m tools.report")
    parser.add_argument(
        "revs", nargs="*", metavar="REV", help="git revision or experiment name to show beside the workspace"
    )
    parser.add_argument(
        "-o",
        "--output",
        default=None,
        help=f"HTML file, or a directory (existing, or written DIR/) for its index.html (default: {REPORT})",
    )
    args = parser.parse_args(argv)
    output = Path(args.output).absolute() if args.output else resolve(REPORT)  # a symlink is not followed
    if output.is_dir() or (args.output or "").endswith(("/", os.sep)):  # `-o reports`: its index.html
        output = output / REPORT.name
    if problem := output_problem(output):  # before DVC's work: a parent that is a file, no permission, ...
        given = f"-o {args.output}" if args.output else str(output)
        raise PipelineError(f"{given}: cannot write the report: {problem}; nothing was written")
    page, n_plots, problems, notes = build_report(args.revs)
    write_bytes(output, page.encode())
    for problem in [*problems, *notes]:
        print(f"warning: {problem}", file=sys.stderr)
    shown = os.path.relpath(output) if output.is_relative_to(Path.cwd()) else str(output)
    print(
        f"wrote {shown}: {n_plots} plots, {len(revisions(args.revs))} revision(s), {len(page) // 1024} KiB; "
        f"open {output.as_uri()}"
    )


if __name__ == "__main__":
    run_cli(main)
