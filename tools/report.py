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

import base64
import copy
import json
import mimetypes
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from penguins.cli import run_cli, stage_parser
from penguins.errors import PipelineError
from penguins.io import write_bytes
from penguins.paths import ROOT, resolve
from tools.repo import internals
from tools.repo.pipeline import flatten
from tools.repo.run import dvc

REPORT = Path("reports/index.html")
WORKSPACE = "workspace"
EMPTY = "\u2013"  # an en dash in a table cell that has no value
TITLE = "Penguins classification: pipeline report"
# Nothing may be fetched: images only from data: URIs, styles only inline, no scripts, no fonts, no frames.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
WIDE_PX = 700  # plots whose pictures are wider than this together get a whole row of the grid
# Vega-Lite plots become PNGs drawn by vl-convert at VEGA_SCALE x and shown VEGA_ZOOM x their CSS size
# (Vega's default fonts are small). Not SVG: its text is laid out with vl-convert's font but drawn with
# the viewer's, and a wider viewer font clips legend labels.
VEGA_SCALE, VEGA_ZOOM = 2, 1.3


@dataclass(frozen=True)
class Picture:
    caption: str  # the revision(s) it shows
    uri: str  # data: URI
    width: int  # pixels, as shown


@dataclass(frozen=True)
class Plot:
    name: str  # the plot's id in dvc.yaml
    pictures: tuple[Picture, ...]


# --------------------------------------------------------------------------------------------
# Collecting: dvc plots (CLI JSON), metrics and params (DVC's Python API)
# --------------------------------------------------------------------------------------------


def dvc_json(*args: str, quiet_args: Sequence[str] = ()) -> Any:
    """Run `dvc ARGS --json QUIET_ARGS` at the repository root and parse what it prints (errors name ARGS)."""
    proc = dvc(*args, "--json", *quiet_args, cwd=ROOT, check=False)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        reason = lines[-1].removeprefix("ERROR: ") if lines else f"exit status {proc.returncode}"
        raise PipelineError(f"`dvc {' '.join(args)}` failed: {reason}")
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


Values = dict[str, dict[str, dict[str, Any]]]  # file -> revision -> flattened key -> value


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


# --------------------------------------------------------------------------------------------
# Rendering: Vega-Lite -> SVG offline, images -> data: URIs
# --------------------------------------------------------------------------------------------


def static_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A spec for a still picture: DVC's confusion template hides the counts behind a checkbox; show them."""
    still = copy.deepcopy(dict(spec))
    for param in still.get("params", []):
        if param.get("name") == "showValues":
            param["value"] = True
    return still


def vega_lite_version(spec: Mapping[str, Any], available: Iterable[str]) -> str | None:
    """The newest available Vega-Lite with the major version of the spec's $schema (None: the newest)."""
    match = re.search(r"/v(\d+)(?:\.[\d.]+)?\.json$", str(spec.get("$schema", "")))
    same_major = [v for v in available if match and v.split(".")[0] == match.group(1)]
    return max(same_major, key=lambda v: tuple(int(p) for p in v.split("."))) if same_major else None


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def png_width(data: bytes) -> int:
    """Pixel width from a PNG's header (0 if it is not a PNG)."""
    return int.from_bytes(data[16:20], "big") if data[:8] == b"\x89PNG\r\n\x1a\n" else 0


def render_vega(name: str, entry: Mapping[str, Any], revs: Sequence[str] = (WORKSPACE,)) -> list[Picture]:
    """One DVC Vega-Lite plot (all its revisions in one chart) as a PNG drawn offline by vl-convert."""
    import vl_convert as vlc

    spec = entry["content"]
    try:
        png = vlc.vegalite_to_png(
            readable_spec(static_spec(spec), revs),
            vl_version=vega_lite_version(spec, vlc.get_vegalite_versions()),
            scale=VEGA_SCALE,
            allowed_base_urls=[],  # the data is inline; never fetch anything
        )
    except Exception as exc:  # vl-convert raises ValueError with the JavaScript error on a later line
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
        reason = next((line.removeprefix("Error: ") for line in lines if line.startswith("Error:")), lines[0])
        raise PipelineError(f"plot {name!r}: vl-convert cannot render its Vega-Lite spec ({reason})") from None
    width = round(png_width(png) / VEGA_SCALE * VEGA_ZOOM)
    return [Picture(", ".join(entry.get("revisions", [])), data_uri(png, "image/png"), width)]


def embed_images(name: str, entries: Sequence[Mapping[str, Any]]) -> list[Picture]:
    """An image plot's revisions (files dvc wrote into the image dir) as data: URIs; identical ones once."""
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    revs_by_image: dict[bytes, list[str]] = {}
    for entry in entries:
        revs_by_image.setdefault(Path(entry["url"]).read_bytes(), []).extend(entry.get("revisions", []))
    return [Picture(", ".join(revs), data_uri(data, mime), png_width(data)) for data, revs in revs_by_image.items()]


def render_plots(shown: Mapping[str, Sequence[Mapping[str, Any]]], revs: Sequence[str] = (WORKSPACE,)) -> list[Plot]:
    """Every plot of `dvc plots show/diff --json` but those in NOT_REPEATED, in dvc.yaml order."""
    plots = []
    for name, entries in shown.items():
        if name in NOT_REPEATED:
            continue
        pictures = [p for e in entries if e.get("type") == "vega" for p in render_vega(name, e, revs)]
        pictures += embed_images(name, [e for e in entries if e.get("type") == "image"])
        if pictures:
            plots.append(Plot(name, tuple(pictures)))
    return plots


# --------------------------------------------------------------------------------------------
# The answer first: accuracy, per-class recall and the confusion matrix of each revision
# --------------------------------------------------------------------------------------------

CONFUSION_PLOT = "plots/confusion.csv"
# matplotlib's drawings of what the report already shows (as Vega charts, or as the headline's confusion
# matrix): one drawing of each thing. Still written by the pipeline, and shown by `dvc plots show`.
NOT_REPEATED = {
    "plots/training_curves.png": "Loss and Accuracy",
    "plots/confusion_heatmap.png": "the confusion matrix",
    CONFUSION_PLOT: "the confusion matrix",
}


@dataclass(frozen=True)
class Headline:
    rev: str
    correct: int
    total: int
    classes: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]  # rows: actual, columns: predicted, in ``classes`` order

    def recall(self) -> list[tuple[str, int, int]]:
        """(class, correctly predicted, test penguins of that class) per class."""
        return [(c, self.matrix[i][i], sum(self.matrix[i])) for i, c in enumerate(self.classes)]


def headlines(shown: Mapping[str, Sequence[Mapping[str, Any]]], revs: Sequence[str]) -> list[Headline]:
    """Each revision's confusion counts from dvc's plot data (rows actual, predicted[, count]: a row without
    a count is one penguin, as in older revisions); revisions without the plot are left out."""
    counts: dict[str, dict[tuple[str, str], int]] = {}
    for entry in shown.get(CONFUSION_PLOT, []):
        for row in (entry.get("content") or {}).get("data", {}).get("values", []):
            cell = (str(row.get("actual")), str(row.get("predicted")))
            n = int(float(row["count"])) if str(row.get("count", "")).strip() else 1
            per_rev = counts.setdefault(str(row.get("rev")), {})
            per_rev[cell] = per_rev.get(cell, 0) + n
    found = []
    for rev in revs:
        if not (cells := counts.get(rev)):
            continue
        classes = tuple(sorted({c for cell in cells for c in cell}))
        matrix = tuple(tuple(cells.get((a, p), 0) for p in classes) for a in classes)
        correct = sum(matrix[i][i] for i in range(len(classes)))
        found.append(Headline(rev, correct, sum(map(sum, matrix)), classes, matrix))
    return found


def readable_spec(spec: Mapping[str, Any], revs: Sequence[str]) -> dict[str, Any]:
    """DVC's linear plot of DVCLive's logs, drawn as the matplotlib curves are: epochs from 1, colour per
    series named train / validation (not eval/loss.tsv), a line style per revision only when there are several."""
    still = copy.deepcopy(dict(spec))
    files = sorted(
        {str(v.get("filename")) for v in still.get("data", {}).get("values", [])}, key=lambda f: "eval/" in f
    )
    if not all("train/" in f or "eval/" in f for f in files):
        return still  # not a DVCLive train/eval plot: as DVC made it
    still["transform"] = [{"calculate": "toNumber(datum.step) + 1", "as": "step"}, *still.get("transform", [])]
    series = {
        "field": "filename",
        "type": "nominal",
        "title": "series",
        "scale": {"domain": files, "range": [SERIES_COLOURS["eval/" in f] for f in files]},
        "legend": {"labelExpr": "indexof(datum.label, 'eval/') >= 0 ? 'validation' : 'train'", "symbolType": "stroke"},
    }
    dashes = {"field": "rev", "title": "revision", "scale": {"domain": list(revs), "range": DASHES[: len(revs)]},
              "legend": {"symbolType": "stroke", "symbolStrokeColor": "grey", "symbolSize": 500}}  # fmt: skip

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            encoding = node.get("encoding")
            if isinstance(encoding, dict):
                if (encoding.get("x") or {}).get("field") == "step":
                    encoding["x"].update(title="Epoch", scale={"zero": False, "nice": False})
                if (encoding.get("color") or {}).get("field") == "rev":
                    encoding["color"] = series if node is still else {"field": "filename", "type": "nominal"}
                if "strokeDash" in encoding:
                    encoding.pop("strokeDash")
                    if len(revs) > 1:
                        encoding["strokeDash"] = dashes
            for value in node.values():
                fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)

    fix(still)
    return still


SERIES_COLOURS = {False: "#1f77b4", True: "#ff7f0e"}  # train, validation: matplotlib's first two, as the PNG
DASHES = [[1, 0], [8, 4], [2, 3], [12, 3, 2, 3]]


# --------------------------------------------------------------------------------------------
# HTML: tools/templates/report.html.j2, autoescaped
# --------------------------------------------------------------------------------------------

TEMPLATES = Path(__file__).resolve().parent / "templates"


def format_value(value: Any) -> str:
    """A metric or param as table text: floats to 5 significant digits, lists comma-separated."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.5g}"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


@dataclass(frozen=True)
class Row:
    key: str
    cells: tuple[str, ...]
    changed: bool  # differs between revisions
    numeric: bool  # right-aligned


@dataclass(frozen=True)
class Table:
    path: str
    rows: tuple[Row, ...]


def values_table(path: str, per_rev: Mapping[str, Mapping[str, Any]], revs: Sequence[str]) -> Table:
    """One file's metrics or params: a row per key, a column per revision; differing rows marked."""
    keys = list(dict.fromkeys(key for rev in revs for key in per_rev.get(rev, {})))
    rows = []
    for key in keys:
        cells = tuple(format_value(per_rev[rev][key]) if key in per_rev.get(rev, {}) else EMPTY for rev in revs)
        numbers = [per_rev.get(rev, {}).get(key) for rev in revs]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers)
        rows.append(Row(key, cells, len(set(cells)) > 1, numeric))
    return Table(path, tuple(rows))


def report_html(
    revs: Sequence[str],
    plots: Sequence[Plot],
    metrics: Values,
    params: Values,
    problems: Sequence[str],
    results: Sequence[Headline] = (),
    not_repeated: Mapping[str, str] | None = None,
) -> str:
    """The whole page: the answer (results), problems (if any), plots, metrics, params. No external reference."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(
        title=TITLE,
        csp=CSP,
        revs=list(revs),
        results=list(results),
        problems=list(problems),
        plots=[(plot, sum(p.width for p in plot.pictures) > WIDE_PX) for plot in plots],
        not_repeated=dict(not_repeated or {}),
        metrics=[values_table(path, per_rev, revs) for path, per_rev in metrics.items()],
        params=[values_table(path, per_rev, revs) for path, per_rev in params.items()],
    )


def build_report(revs: Sequence[str]) -> tuple[str, int, list[str]]:
    """The report's HTML for the workspace and ``revs``, the number of plots and DVC's problems."""
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
    return page, len(plots), problems


def main(argv: Sequence[str] | None = None) -> None:
    parser = stage_parser(__doc__)
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
    output = Path(args.output).resolve() if args.output else resolve(REPORT)
    if output.is_dir() or (args.output or "").endswith(("/", os.sep)):  # `-o reports`: its index.html
        output = output / REPORT.name
    page, n_plots, problems = build_report(args.revs)
    write_bytes(output, page.encode())
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    shown = os.path.relpath(output) if output.is_relative_to(Path.cwd()) else str(output)
    print(
        f"wrote {shown}: {n_plots} plots, {len(revisions(args.revs))} revision(s), {len(page) // 1024} KiB; "
        f"open {output.as_uri()}"
    )


if __name__ == "__main__":
    run_cli(main)
