"""report: every plot, metric and param of the workspace (and chosen revisions) in one offline HTML file.

`dvc plots show` writes HTML that loads Vega from a CDN, so it stays blank without network (HPC nodes,
air-gapped machines). This writes one self-contained file instead: the Vega-Lite plots rendered here by
vl-convert (offline, with its own fonts), every picture embedded as a data: URI, the metrics and params
as tables. The file references nothing outside itself, and its Content-Security-Policy forbids the
browser to fetch anything. An image plot that is identical in several revisions is shown once.

Usage:  python -m tools.report [REV ...] [-o FILE]     or     make report REVS="REV ..."
  REV   git revisions or experiment names to show beside the workspace (e.g. main exp-a): plots as in
        `dvc plots diff workspace REV ...`, metrics and params side by side, differing rows marked.
Output: reports/index.html (git-ignored build product). It shows the workspace as it is: `dvc repro` first.
"""

from __future__ import annotations

import base64
import copy
import html
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
    from dvc.repo import Repo

    shown_revs = revisions(revs)
    tables: dict[str, Values] = {"metrics": {}, "params": {}}
    errors: list[str] = []
    with Repo(str(ROOT)) as repo:
        for kind, show in (("metrics", repo.metrics.show), ("params", repo.params.show)):
            try:
                raw = show(revs=shown_revs, on_error="return")
            except Exception as exc:  # unknown revision, broken dvc.yaml: DVC raises many types
                raise PipelineError(f"cannot read {kind}: {exc}") from None
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


def render_vega(name: str, entry: Mapping[str, Any]) -> list[Picture]:
    """One DVC Vega-Lite plot (all its revisions in one chart) as a PNG drawn offline by vl-convert."""
    import vl_convert as vlc

    spec = entry["content"]
    try:
        png = vlc.vegalite_to_png(
            static_spec(spec),
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


def render_plots(shown: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Plot]:
    """Every plot of `dvc plots show/diff --json`, in dvc.yaml order."""
    plots = []
    for name, entries in shown.items():
        pictures = [p for e in entries if e.get("type") == "vega" for p in render_vega(name, e)]
        pictures += embed_images(name, [e for e in entries if e.get("type") == "image"])
        if pictures:
            plots.append(Plot(name, tuple(pictures)))
    return plots


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

STYLE = """
:root { color-scheme: light; --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --mark: #fff3c4; --card: #fff; }
* { box-sizing: border-box; }
body { margin: 0; background: #f5f7fa; color: var(--ink);
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Liberation Sans", sans-serif; }
header, main { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 28px 0 12px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0 0 10px; font-family: ui-monospace, "DejaVu Sans Mono", monospace; color: var(--muted); }
p.meta { color: var(--muted); margin: 0; }
nav a { color: #2f6fab; text-decoration: none; margin-right: 14px; }
.grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
.card.wide { grid-column: 1 / -1; }
.pictures { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; justify-content: center; }
figure { margin: 0; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 13px; text-align: center; margin-top: 4px; }
.tables { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
table { border-collapse: collapse; background: var(--card); border: 1px solid var(--line); font-size: 14px; }
caption { text-align: left; font-weight: 600; padding: 4px 0;
          font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
thead th { background: #eef2f7; }
tr.changed td { background: var(--mark); }
.problems { background: #fde8e8; border: 1px solid #f5b5b5; border-radius: 8px; padding: 8px 16px; }
footer { max-width: 1280px; margin: 32px auto; padding: 0 24px; color: var(--muted); font-size: 13px; }
"""


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


def values_table(path: str, per_rev: Mapping[str, Mapping[str, Any]], revs: Sequence[str]) -> str:
    """One file's metrics or params: a row per key, a column per revision; differing rows marked."""
    keys = list(dict.fromkeys(key for rev in revs for key in per_rev.get(rev, {})))
    head = "".join(f"<th>{html.escape(rev)}</th>" for rev in revs)
    rows = []
    for key in keys:
        cells = [format_value(per_rev[rev][key]) if key in per_rev.get(rev, {}) else EMPTY for rev in revs]
        changed = ' class="changed"' if len(set(cells)) > 1 else ""
        numbers = [per_rev.get(rev, {}).get(key) for rev in revs]
        td = (
            '<td class="num">'
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers)
            else "<td>"
        )
        tds = "".join(f"{td}{html.escape(c)}</td>" for c in cells)
        rows.append(f'<tr{changed}><th scope="row">{html.escape(key)}</th>{tds}</tr>')
    return (
        f"<table><caption>{html.escape(path)}</caption><thead><tr><th></th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def picture_html(name: str, picture: Picture) -> str:
    width = f' width="{picture.width}"' if picture.width else ""
    alt = html.escape(f"{name} ({picture.caption})")
    caption = html.escape(picture.caption)
    return f'<figure><img src="{picture.uri}"{width} alt="{alt}"><figcaption>{caption}</figcaption></figure>'


def plot_card(index: int, plot: Plot) -> str:
    wide = " wide" if sum(p.width for p in plot.pictures) > WIDE_PX else ""
    figures = "".join(picture_html(plot.name, p) for p in plot.pictures)
    title = html.escape(plot.name)
    return (
        f'<section class="card{wide}" id="plot-{index}"><h3>{title}</h3><div class="pictures">{figures}</div></section>'
    )


def report_html(
    revs: Sequence[str],
    plots: Sequence[Plot],
    metrics: Values,
    params: Values,
    problems: Sequence[str],
) -> str:
    """The whole page: header, problems (if any), metrics, plots, params. No external reference."""
    esc = html.escape
    shown = ", ".join(f"<b>{esc(r)}</b>" for r in revs)
    nav = "".join(f'<a href="#plot-{i}">{esc(p.name)}</a>' for i, p in enumerate(plots, 1))
    problem_box = (
        '<div class="problems"><b>DVC reported problems:</b><ul>'
        + "".join(f"<li>{esc(p)}</li>" for p in problems)
        + "</ul></div>"
        if problems else ""
    )  # fmt: skip
    marked = " Rows whose values differ between revisions are highlighted." if len(revs) > 1 else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(TITLE)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>{esc(TITLE)}</h1>
<p class="meta">Revisions: {shown}. {len(plots)} plots from <code>dvc plots</code>, metrics and params from DVC;
self-contained, works offline.</p>
<nav><a href="#metrics">Metrics</a>{nav}<a href="#params">Params</a></nav>
</header>
<main>
{problem_box}
<h2 id="metrics">Metrics</h2>
<p class="meta">From <code>dvc metrics show</code>.{marked}</p>
<div class="tables">
{chr(10).join(values_table(path, per_rev, revs) for path, per_rev in metrics.items())}
</div>
<h2 id="plots">Plots</h2>
<div class="grid">
{chr(10).join(plot_card(i, p) for i, p in enumerate(plots, 1))}
</div>
<h2 id="params">Params</h2>
<div class="tables">
{chr(10).join(values_table(path, per_rev, revs) for path, per_rev in params.items())}
</div>
</main>
<footer>Made by <code>make report</code> (tools/report.py): Vega-Lite plots drawn by vl-convert,
every picture embedded.</footer>
</body>
</html>
"""


def build_report(revs: Sequence[str]) -> tuple[str, int, list[str]]:
    """The report's HTML for the workspace and ``revs``, the number of plots and DVC's problems."""
    with tempfile.TemporaryDirectory(prefix="report-images-") as image_dir:
        shown, problems = collect_plots(revs, Path(image_dir))
        plots = render_plots(shown)
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
    return report_html(revisions(revs), plots, metrics, params, problems), len(plots), problems


def main(argv: Sequence[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument(
        "revs", nargs="*", metavar="REV", help="git revision or experiment name to show beside the workspace"
    )
    parser.add_argument("-o", "--output", type=Path, default=None, help=f"HTML file to write (default: {REPORT})")
    args = parser.parse_args(argv)
    output = args.output.resolve() if args.output else resolve(REPORT)
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
