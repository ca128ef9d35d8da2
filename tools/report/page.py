"""The report's page: the answer first (each revision's correct count, recall per class, confusion matrix), then
tools/templates/report.html.j2 rendered, autoescaped, with the plots and the metrics and params tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.report.pictures import CONFUSION_PLOT, Plot

EMPTY = "\u2013"  # an en dash in a table cell that has no value
TITLE = "Penguins classification: pipeline report"
# Nothing may be fetched: images only from data: URIs, styles only inline, no scripts, no fonts, no frames.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
WIDE_PX = 700  # plots whose pictures are wider than this together get a whole row of the grid
Values = dict[str, dict[str, dict[str, Any]]]  # file -> revision -> flattened key -> value


# --------------------------------------------------------------------------------------------
# The answer first: accuracy, per-class recall and the confusion matrix of each revision
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# HTML: tools/templates/report.html.j2, autoescaped
# --------------------------------------------------------------------------------------------

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"  # tools/templates


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
